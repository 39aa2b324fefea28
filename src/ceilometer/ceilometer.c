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

#include <float.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
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
#define CEILO_END_TS	VS_CEILO_END_TS	/* 10000-01-01 00:00:00 */

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

/*
 * FormatTs writes ts as Ceilometer does into buf (at least 27 bytes),
 * returning its length: YYYY-MM-DDTHH:MM:SS, and .ffffff when there are
 * microseconds.  Digit by digit (it runs for every timestamp of every
 * statistics row): the same as timestamp2tm in UTC and a printf would give.
 */
static int64 cached_day = PG_INT64_MIN;
static char cached_date[11];

static int
FormatTs(char *buf, TimestampTz ts)
{
	int64		days;
	int64		t;
	int			y,
				m,
				d,
				hh,
				mi,
				ss,
				us;
	char	   *p = buf;

	if (!InCeiloRange(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for Ceilometer"),
				 errdetail("Ceilometer times have years 1 to 9999.")));
	days = ts / USECS_PER_DAY;
	t = ts % USECS_PER_DAY;
	if (t < 0)
	{
		t += USECS_PER_DAY;
		days--;
	}
	/* the date of the last day formatted is kept: most times share theirs */
	if (days != cached_day)
	{
		j2date((int) (days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
		cached_date[0] = '0' + y / 1000;
		cached_date[1] = '0' + y / 100 % 10;
		cached_date[2] = '0' + y / 10 % 10;
		cached_date[3] = '0' + y % 10;
		cached_date[4] = '-';
		cached_date[5] = '0' + m / 10;
		cached_date[6] = '0' + m % 10;
		cached_date[7] = '-';
		cached_date[8] = '0' + d / 10;
		cached_date[9] = '0' + d % 10;
		cached_date[10] = 'T';
		cached_day = days;
	}
	memcpy(p, cached_date, 11);
	p += 11;
	hh = (int) (t / USECS_PER_HOUR);
	t -= (int64) hh * USECS_PER_HOUR;
	mi = (int) (t / USECS_PER_MINUTE);
	t -= (int64) mi * USECS_PER_MINUTE;
	ss = (int) (t / USECS_PER_SEC);
	us = (int) (t - (int64) ss * USECS_PER_SEC);
	*p++ = '0' + hh / 10;
	*p++ = '0' + hh % 10;
	*p++ = ':';
	*p++ = '0' + mi / 10;
	*p++ = '0' + mi % 10;
	*p++ = ':';
	*p++ = '0' + ss / 10;
	*p++ = '0' + ss % 10;
	if (us != 0)
	{
		*p++ = '.';
		for (int div = 100000; div > 0; div /= 10)
			*p++ = '0' + us / div % 10;
	}
	*p = '\0';
	return (int) (p - buf);
}

/* VsCeiloFormatTs writes ts as Ceilometer does (years 1 to 9999) */
char *
VsCeiloFormatTs(TimestampTz ts)
{
	char		buf[32];

	FormatTs(buf, ts);
	return pstrdup(buf);
}

/* VsCeiloAppendTs appends ts as Ceilometer writes it, as a JSON string */
void
VsCeiloAppendTs(StringInfo b, TimestampTz ts)
{
	char		buf[32];
	int			len = FormatTs(buf, ts);

	appendStringInfoCharMacro(b, '"');
	appendBinaryStringInfo(b, buf, len);
	appendStringInfoCharMacro(b, '"');
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
 * FormatNumber writes a double as Ceilometer (Python) writes a float into
 * buf (at least 40 bytes): the digits float8out gives (the shortest that
 * round-trip, unless extra_float_digits asks for fewer), always with a '.'
 * or an exponent (10.0, not 10); null when it is not finite.  Into a
 * buffer: it runs several times for every statistics row.
 */
static int
FormatNumber(char *buf, double v)
{
	int			len;

	if (isnan(v) || isinf(v))
	{
		strcpy(buf, "null");
		return 4;
	}
	if (extra_float_digits > 0)
		len = double_to_shortest_decimal_buf(v, buf);
	else
		len = pg_strfromd(buf, 32, DBL_DIG + extra_float_digits, v);
	if ((int) strspn(buf, "-0123456789") == len)
	{
		buf[len++] = '.';
		buf[len++] = '0';
		buf[len] = '\0';
	}
	return len;
}

/* VsCeiloAppendNumber appends a double as Ceilometer writes a float */
void
VsCeiloAppendNumber(StringInfo b, double v)
{
	char		buf[40];
	int			len = FormatNumber(buf, v);

	appendBinaryStringInfo(b, buf, len);
}

static void
AppendNumber(StringInfo b, double v)
{
	VsCeiloAppendNumber(b, v);
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

/* AppendTsField appends , "key": and the time, or null */
static void
AppendTsField(StringInfo b, const char *key, const TimestampTz *ts)
{
	appendStringInfoString(b, ", \"");
	appendStringInfoString(b, key);
	appendStringInfoString(b, "\": ");
	if (ts == NULL)
		appendStringInfoString(b, "null");
	else
		VsCeiloAppendTs(b, *ts);
}

/*
 * VsCeiloRowLayoutInit works out, once for a whole answer, which keys a
 * statistics row has and in which order.  sel NULL means the five
 * standard values; otherwise those of count, sum, min, max and avg that it
 * names appear at the top and every selected one in "aggregate" (the k-th
 * cardinality/x takes the k-th cardinality value; stddev and
 * cardinalities are never top-level).  Each key is kept with its JSON
 * punctuation, ready to append.
 */
void
VsCeiloRowLayoutInit(VsCeiloRowLayout *l, const char *const *sel, int nsel, int ncard)
{
	static const char *const stdnames[] = {"count", "sum", "min", "max", "avg", "stddev"};
	int			n = sel ? nsel : 5;

	memset(l, 0, sizeof(*l));
	l->has_aggregate = sel != NULL;
	l->keys = palloc(sizeof(VsCeiloRowKey) * Max(2 * n, 1));
	for (int pass = 0; pass < 2; pass++)
	{
		int			k = 0;		/* cardinalities used so far */
		bool		first = true;

		if (pass == 1 && sel == NULL)
			break;
		if (pass == 1)
			l->ntop = l->nkeys;
		for (int i = 0; i < n; i++)
		{
			const char *name = sel ? sel[i] : stdnames[i];
			int			which = -1;
			VsCeiloRowKey *key;
			StringInfoData kb;

			for (int j = 0; j < 6; j++)
				if (strcmp(name, stdnames[j]) == 0)
					which = j;
			if (which < 0 && strncmp(name, "cardinality/", 12) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("statistics row: unknown aggregate \"%s\"", name)));
			if (which < 0 && k >= ncard)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("statistics row: more cardinalities selected than given")));
			if (pass == 0 && (which < 0 || which == 5))
			{
				if (which < 0)
					k++;
				continue;
			}
			key = &l->keys[l->nkeys++];
			key->which = which;
			key->card = which < 0 ? k++ : -1;
			initStringInfo(&kb);
			if (pass == 0 || !first)
				appendStringInfoString(&kb, ", ");
			first = false;
			escape_json(&kb, name);
			appendStringInfoString(&kb, ": ");
			key->text = kb.data;
			key->len = kb.len;
		}
	}
	if (sel == NULL)
		l->ntop = l->nkeys;
}

/*
 * VsCeiloRowHead is a row's start up to its period: {"unit": "...",
 * "period": N (a group's unit is the same in all its rows)
 */
char *
VsCeiloRowHead(const char *unit, int64 period)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"unit\": ");
	if (unit == NULL)
		appendStringInfoString(&b, "null");
	else
		escape_json(&b, unit);
	appendStringInfo(&b, ", \"period\": " INT64_FORMAT, period);
	return b.data;
}

/*
 * VsCeiloStatsRowL appends one row of GET .../statistics to b: its head,
 * period_start/_end, duration_start/_end (NULL pointers: null), the
 * group-by object as JSON text (NULL: null), and the layout's aggregates
 * from st, [count, sum, min, max, avg, stddev] (NULL: every one null), and
 * the cardinalities.  Each number is formatted once.
 */
void
VsCeiloStatsRowL(StringInfo b, const VsCeiloRowLayout *l, const char *head,
				 const TimestampTz *ps, const TimestampTz *pe, const TimestampTz *ds,
				 const TimestampTz *de, const char *groupby, const double *st, const double *card)
{
	char		num[6][40];
	int			numlen[6] = {-1, -1, -1, -1, -1, -1};

	appendStringInfoString(b, head);
	AppendTsField(b, "period_start", ps);
	AppendTsField(b, "period_end", pe);
	AppendTsField(b, "duration_start", ds);
	AppendTsField(b, "duration_end", de);
	appendStringInfoString(b, ", \"duration\": ");
	if (ds == NULL || de == NULL)
		appendStringInfoString(b, "null");
	else
		AppendNumber(b, (double) (*de - *ds) / USECS_PER_SEC);
	appendStringInfoString(b, ", \"groupby\": ");
	appendStringInfoString(b, groupby == NULL ? "null" : groupby);
	for (int i = 0; i < l->nkeys; i++)
	{
		const VsCeiloRowKey *key = &l->keys[i];
		int			which = key->which;

		if (i == l->ntop)
			appendStringInfoString(b, ", \"aggregate\": {");
		appendBinaryStringInfo(b, key->text, key->len);
		if (which < 0)
			AppendNumber(b, card[key->card]);
		else if (st == NULL)
			appendStringInfoString(b, "null");
		else
		{
			if (numlen[which] < 0 && which == 0)
			{
				if (!(st[0] >= 0 && st[0] <= 9.0e15))	/* NaN too */
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("statistics row: count %g is not a count", st[0])));
				numlen[0] = pg_lltoa((int64) st[0], num[0]);
			}
			else if (numlen[which] < 0)
				numlen[which] = FormatNumber(num[which], st[which]);
			appendBinaryStringInfo(b, num[which], numlen[which]);
		}
	}
	if (l->has_aggregate)
	{
		if (l->ntop == l->nkeys)
			appendStringInfoString(b, ", \"aggregate\": {");
		appendStringInfoChar(b, '}');
	}
	appendStringInfoChar(b, '}');
}

/* VsCeiloStatsRow: one row as VsCeiloStatsRowL writes it, its layout made for it */
void
VsCeiloStatsRow(StringInfo b, const char *unit, int64 period, const TimestampTz *ps,
				const TimestampTz *pe, const TimestampTz *ds, const TimestampTz *de,
				const char *groupby, const double *st, const char *const *sel, int nsel,
				const double *card, int ncard)
{
	VsCeiloRowLayout l;

	VsCeiloRowLayoutInit(&l, sel, nsel, ncard);
	VsCeiloStatsRowL(b, &l, VsCeiloRowHead(unit, period), ps, pe, ds, de, groupby, st, card);
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_stats_row);

/*
 * vscope_ceilometer_stats_row writes one row of GET .../statistics:
 * (unit, period, period_start, period_end, duration_start, duration_end,
 * groupby json, st float8[] from vscope.sample_stats, selected text[],
 * cardinalities float8[]), as VsCeiloStatsRow does.
 */
Datum
vscope_ceilometer_stats_row(PG_FUNCTION_ARGS)
{
	StringInfoData b;
	double	   *st = NULL;
	const char **sel = NULL;
	int			nsel = 0;
	double	   *card = NULL;
	int			ncard = 0;
	TimestampTz ts[4];
	bool		have[4];

	if (!PG_ARGISNULL(7))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(7);

		if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != 6 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("statistics row: expected the 6-element state of vscope.sample_stats")));
		st = (double *) ((char *) a + ARR_OVERHEAD_NONULLS(1));	/* 1-D, no nulls */
	}
	if (!PG_ARGISNULL(8))
	{
		Datum	   *d;
		bool	   *dnull;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(8), TEXTOID, -1, false, TYPALIGN_INT,
						  &d, &dnull, &nsel);
		sel = palloc(sizeof(char *) * Max(nsel, 1));
		for (int i = 0; i < nsel; i++)
		{
			if (dnull[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("statistics row: the selected aggregates cannot contain NULL")));
			sel[i] = TextDatumGetCString(d[i]);
		}
	}
	if (!PG_ARGISNULL(9))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(9);

		if (ARR_NDIM(a) > 1 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("statistics row: expected a float8[] of cardinalities")));
		ncard = ARR_NDIM(a) == 1 ? ARR_DIMS(a)[0] : 0;
		card = ncard > 0 ? (double *) ((char *) a + ARR_OVERHEAD_NONULLS(1)) : NULL;
	}
	for (int i = 0; i < 4; i++)
	{
		have[i] = !PG_ARGISNULL(2 + i);
		ts[i] = have[i] ? PG_GETARG_TIMESTAMPTZ(2 + i) : 0;
	}

	initStringInfo(&b);
	VsCeiloStatsRow(&b, PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0)),
					PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1),
					have[0] ? &ts[0] : NULL, have[1] ? &ts[1] : NULL,
					have[2] ? &ts[2] : NULL, have[3] ? &ts[3] : NULL,
					PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6)),
					st, sel, nsel, card, ncard);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(b.data, b.len));
}
