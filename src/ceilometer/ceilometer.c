/*-------------------------------------------------------------------------
 *
 * ceilometer.c
 *	  Small helpers of the Ceilometer API, in C because they run once per
 *	  answered row or per query value: Ceilometer's timestamps (naive UTC
 *	  ISO 8601 out, microseconds only when there are some; ISO 8601 in,
 *	  UTC unless an offset is given, whatever the session's TimeZone or
 *	  DateStyle) and message ids.
 *
 *-------------------------------------------------------------------------
 */
#include "ceilometer/ceilometer.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

/* Ceilometer's times (Python's datetime): from year 1 to the end of 9999, UTC */
#define CEILO_MIN_TS	INT64CONST(-63082281600000000)	/* 0001-01-01 00:00:00 */
#define CEILO_END_TS	INT64CONST(252455616000000000)	/* 10000-01-01 00:00:00 */

static bool
InCeiloRange(TimestampTz ts)
{
	return ts >= CEILO_MIN_TS && ts < CEILO_END_TS;
}

static int
Digits(const char **p, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	return v;
}

/*
 * VsCeiloParseTs reads YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|(+|-)HH[[:]MM]]
 * (years 1 to 9999) into *out; without an offset the time is UTC.  False
 * when s is anything else.
 */
bool
VsCeiloParseTs(const char *s, TimestampTz *out)
{
	const char *p = s;
	struct pg_tm tm;
	fsec_t		fsec = 0;
	int			offset = 0;		/* seconds east of UTC */
	Timestamp	ts;

	memset(&tm, 0, sizeof(tm));
	if ((tm.tm_year = Digits(&p, 4)) < 1 || *p++ != '-' ||
		(tm.tm_mon = Digits(&p, 2)) < 1 || tm.tm_mon > 12 || *p++ != '-' ||
		(tm.tm_mday = Digits(&p, 2)) < 1 ||
		tm.tm_mday > day_tab[isleap(tm.tm_year)][tm.tm_mon - 1])
		return false;
	if (*p == 'T' || *p == ' ')
	{
		p++;
		if ((tm.tm_hour = Digits(&p, 2)) < 0 || tm.tm_hour > 23 || *p++ != ':' ||
			(tm.tm_min = Digits(&p, 2)) < 0 || tm.tm_min > 59)
			return false;
		if (*p == ':')
		{
			p++;
			if ((tm.tm_sec = Digits(&p, 2)) < 0 || tm.tm_sec > 59)
				return false;
			if (*p == '.')
			{
				int			scale = 100000;

				p++;
				if (*p < '0' || *p > '9')
					return false;
				for (int n = 0; *p >= '0' && *p <= '9'; p++, n++)
				{
					if (n >= 9)
						return false;
					fsec += (*p - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-')
		{
			int			sign = *p++ == '-' ? -1 : 1;
			int			h = Digits(&p, 2);
			int			m = 0;

			if (h < 0 || h > 15)
				return false;
			if (*p == ':' && p[1] == '\0')
				return false;	/* "+05:" */
			if (*p == ':')
				p++;
			if (*p != '\0' && ((m = Digits(&p, 2)) < 0 || m > 59))
				return false;
			offset = sign * (h * 3600 + m * 60);
		}
	}
	if (*p != '\0')
		return false;
	if (tm2timestamp(&tm, fsec, NULL, &ts) != 0)
		return false;
	*out = ts - (int64) offset * USECS_PER_SEC;
	/* the offset may carry it out of Ceilometer's years */
	return InCeiloRange(*out);
}

/* VsCeiloFormatTs writes ts as Ceilometer does (years 1 to 9999) */
char *
VsCeiloFormatTs(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (!InCeiloRange(ts) || timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for Ceilometer"),
				 errdetail("Ceilometer times have years 1 to 9999.")));
	if (fsec != 0)
		return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06d",
						tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02d",
					tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_parse_ts);

/* vscope_ceilometer_parse_ts: an ISO 8601 time (UTC without an offset), or NULL */
Datum
vscope_ceilometer_parse_ts(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz ts;

	if (!VsCeiloParseTs(s, &ts))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(ts);
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_ts);

/*
 * vscope_ceilometer_ts formats a timestamptz as Ceilometer does:
 * 2012-09-25T10:30:00, or 2012-09-25T10:30:00.250000 with microseconds.
 */
Datum
vscope_ceilometer_ts(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(VsCeiloFormatTs(PG_GETARG_TIMESTAMPTZ(0))));
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_message_id);

/*
 * vscope_ceilometer_message_id makes a sample's id from where it is stored:
 * series_id (8 hex digits), microseconds since 1970 (16), seq (8), laid out
 * like a UUID.  vscope._ceilo_parse_message_id() reads it back.
 */
Datum
vscope_ceilometer_message_id(PG_FUNCTION_ARGS)
{
	uint32		series = (uint32) PG_GETARG_INT32(0);
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(1);
	uint32		seq = (uint32) PG_GETARG_INT32(2);
	uint64		us;
	char		hex[33];
	char		buf[37];

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("a sample's time must be finite")));
	us = (uint64) (ts + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
	snprintf(hex, sizeof(hex), "%08x%016llx%08x", series, (unsigned long long) us, seq);
	snprintf(buf, sizeof(buf), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}

/* the value of a lower-case hex digit (ids are written lower-case), or -1 */
static int
HexDigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * VsCeiloParseMessageId reads back what vscope_ceilometer_message_id made;
 * false when s is not such an id.
 */
bool
VsCeiloParseMessageId(const char *s, int32 *series_id, TimestampTz *ts, int32 *seq)
{
	uint64		parts[3] = {0, 0, 0};
	static const int widths[3] = {8, 16, 8};
	int			k = 0;
	int			n = 0;

	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
	{
		int			d;

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
			continue;
		}
		if ((d = HexDigit(s[i])) < 0)
			return false;
		parts[k] = parts[k] << 4 | (uint64) d;
		if (++n == widths[k])
		{
			k++;
			n = 0;
		}
	}
	*series_id = (int32) (uint32) parts[0];
	*ts = (TimestampTz) parts[1] - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	*seq = (int32) (uint32) parts[2];
	return InCeiloRange(*ts);
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_message_id_ok);

/* vscope_ceilometer_message_id_ok: whether s is a message id vscope made */
Datum
vscope_ceilometer_message_id_ok(PG_FUNCTION_ARGS)
{
	int32		series;
	TimestampTz ts;
	int32		seq;

	PG_RETURN_BOOL(VsCeiloParseMessageId(text_to_cstring(PG_GETARG_TEXT_PP(0)), &series, &ts, &seq));
}

/*
 * AppendNumber writes a double as Ceilometer (Python) writes a float: the
 * shortest round-trip digits, always with a '.' or an exponent (10.0, not
 * 10); null when it is not finite.
 */
static void
AppendNumber(StringInfo b, double v)
{
	char	   *s;

	if (isnan(v) || isinf(v))
	{
		appendStringInfoString(b, "null");
		return;
	}
	s = float8out_internal(v);
	appendStringInfoString(b, s);
	if (strspn(s, "-0123456789") == strlen(s))
		appendStringInfoString(b, ".0");
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_float);

/* vscope_ceilometer_float: a float8 as a JSON float, as Ceilometer writes it */
Datum
vscope_ceilometer_float(PG_FUNCTION_ARGS)
{
	StringInfoData b;

	initStringInfo(&b);
	AppendNumber(&b, PG_GETARG_FLOAT8(0));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(b.data, b.len));
}

static void
AppendTs(StringInfo b, const char *key, FunctionCallInfo fcinfo, int arg)
{
	appendStringInfo(b, ", \"%s\": ", key);
	if (PG_ARGISNULL(arg))
		appendStringInfoString(b, "null");
	else
		escape_json(b, VsCeiloFormatTs(PG_GETARG_TIMESTAMPTZ(arg)));
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_stats_row);

/*
 * vscope_ceilometer_stats_row writes one row of GET .../statistics:
 * (unit, period, period_start, period_end, duration_start, duration_end,
 * groupby json, st float8[] from vscope.sample_stats, selected text[],
 * cardinalities float8[]).  selected NULL means the five standard values;
 * otherwise those of count, sum, min, max and avg that it names appear at
 * the top and every selected one in "aggregate" (the k-th cardinality/x
 * takes the k-th cardinality value).  Built directly as text: this runs
 * once per answered row, and json_build_object looks up the type of every
 * argument on every call.
 */
Datum
vscope_ceilometer_stats_row(PG_FUNCTION_ARGS)
{
	static const char *const stdnames[] = {"count", "sum", "min", "max", "avg", "stddev"};
	StringInfoData b;
	double	   *st = NULL;
	Datum	   *sel = NULL;
	bool	   *selnull = NULL;
	int			nsel = 0;
	double	   *card = NULL;
	int			ncard = 0;

	if (!PG_ARGISNULL(7))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(7);

		if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != 6 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT8OID)
			elog(ERROR, "statistics row: expected the 6-element state of vscope.sample_stats");
		st = (double *) ((char *) a + ARR_OVERHEAD_NONULLS(1));	/* 1-D, no nulls */
	}
	if (!PG_ARGISNULL(8))
	{
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(8), TEXTOID, -1, false, TYPALIGN_INT,
						  &sel, &selnull, &nsel);
		for (int i = 0; i < nsel; i++)
			if (selnull[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("statistics row: the selected aggregates cannot contain NULL")));
	}
	if (!PG_ARGISNULL(9))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(9);

		if (ARR_NDIM(a) > 1 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT8OID)
			elog(ERROR, "statistics row: expected a float8[] of cardinalities");
		ncard = ARR_NDIM(a) == 1 ? ARR_DIMS(a)[0] : 0;
		card = ncard > 0 ? (double *) ((char *) a + ARR_OVERHEAD_NONULLS(1)) : NULL;
	}

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"unit\": ");
	if (PG_ARGISNULL(0))
		appendStringInfoString(&b, "null");
	else
		escape_json(&b, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	appendStringInfo(&b, ", \"period\": " INT64_FORMAT, PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1));
	AppendTs(&b, "period_start", fcinfo, 2);
	AppendTs(&b, "period_end", fcinfo, 3);
	AppendTs(&b, "duration_start", fcinfo, 4);
	AppendTs(&b, "duration_end", fcinfo, 5);
	appendStringInfoString(&b, ", \"duration\": ");
	if (PG_ARGISNULL(4) || PG_ARGISNULL(5))
		appendStringInfoString(&b, "null");
	else
		AppendNumber(&b, (double) (PG_GETARG_TIMESTAMPTZ(5) - PG_GETARG_TIMESTAMPTZ(4)) / USECS_PER_SEC);
	appendStringInfoString(&b, ", \"groupby\": ");
	if (PG_ARGISNULL(6))
		appendStringInfoString(&b, "null");
	else
		appendStringInfoString(&b, text_to_cstring(PG_GETARG_TEXT_PP(6)));

	for (int pass = 0; pass < 2; pass++)
	{
		int			k = 0;		/* cardinalities used so far */
		bool		first = true;

		/* pass 0: the top-level keys; pass 1: "aggregate" (selected only) */
		if (pass == 1)
		{
			if (sel == NULL)
				break;
			appendStringInfoString(&b, ", \"aggregate\": {");
		}
		for (int i = 0; i < (sel ? nsel : 5); i++)
		{
			const char *name = sel ? TextDatumGetCString(sel[i]) : stdnames[i];
			int			which = -1;

			for (int j = 0; j < 6; j++)
				if (strcmp(name, stdnames[j]) == 0)
					which = j;
			if (which < 0 && strncmp(name, "cardinality/", 12) != 0)
				elog(ERROR, "statistics row: unknown aggregate \"%s\"", name);
			if (which < 0 && k >= ncard)
				elog(ERROR, "statistics row: more cardinalities selected than given");
			if (pass == 0 && (which < 0 || which == 5))
			{
				/* stddev and cardinality are never top-level */
				if (which < 0)
					k++;
				continue;
			}
			if (pass == 0 || !first)
				appendStringInfoString(&b, ", ");
			first = false;
			escape_json(&b, name);
			appendStringInfoString(&b, ": ");
			if (which < 0)
				AppendNumber(&b, card[k++]);
			else if (st == NULL)
				appendStringInfoString(&b, "null");
			else if (which == 0)
			{
				if (!(st[0] >= 0 && st[0] <= 9.0e15))	/* NaN too */
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("statistics row: count %g is not a count", st[0])));
				appendStringInfo(&b, INT64_FORMAT, (int64) st[0]);
			}
			else
				AppendNumber(&b, st[which]);
		}
		if (pass == 1)
			appendStringInfoChar(&b, '}');
	}
	appendStringInfoChar(&b, '}');
	PG_RETURN_TEXT_P(cstring_to_text_with_len(b.data, b.len));
}
