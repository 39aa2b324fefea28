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
 * microseconds, not terminated.  Digit by digit (it runs for every
 * timestamp of every statistics row): the same as timestamp2tm in UTC and
 * a printf would give.
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
	/* seconds of the day in 32 bits: the divisions by constants are cheap */
	{
		int32		secs = (int32) (t / USECS_PER_SEC);

		us = (int) (t - (int64) secs * USECS_PER_SEC);
		hh = secs / 3600;
		secs -= hh * 3600;
		mi = secs / 60;
		ss = secs - mi * 60;
	}
	p[0] = '0' + hh / 10;
	p[1] = '0' + hh % 10;
	p[2] = ':';
	p[3] = '0' + mi / 10;
	p[4] = '0' + mi % 10;
	p[5] = ':';
	p[6] = '0' + ss / 10;
	p[7] = '0' + ss % 10;
	p += 8;
	if (us != 0)
	{
		*p++ = '.';
		for (int div = 100000; div > 0; div /= 10)
			*p++ = '0' + us / div % 10;
	}
	return (int) (p - buf);
}

/* PutTs writes ts as a JSON string at p (at least 29 bytes), returning its end */
static inline char *
PutTs(char *p, TimestampTz ts)
{
	*p++ = '"';
	p += FormatTs(p, ts);
	*p++ = '"';
	return p;
}

/* VsCeiloFormatTs writes ts as Ceilometer does (years 1 to 9999) */
char *
VsCeiloFormatTs(TimestampTz ts)
{
	char		buf[32];

	buf[FormatTs(buf, ts)] = '\0';
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

/* two digits at a time */
static const char digit_pairs[] =
"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
"8081828384858687888990919293949596979899";

/* PutUInt writes n in decimal at p (at least 20 bytes), returning its length */
static inline int
PutUInt(char *p, uint64 n)
{
	int			nd = 1;
	char	   *e;

	for (uint64 t = 10; nd < 20 && n >= t; t *= 10)
		nd++;
	e = p + nd;
	while (n >= 100)
	{
		uint32		r = (uint32) (n % 100);

		e -= 2;
		e[0] = digit_pairs[2 * r];
		e[1] = digit_pairs[2 * r + 1];
		n /= 100;
	}
	if (n >= 10)
	{
		e[-2] = digit_pairs[2 * n];
		e[-1] = digit_pairs[2 * n + 1];
	}
	else
		e[-1] = '0' + (char) n;
	return nd;
}

/*
 * FormatDecimal4 writes v when it is the double nearest to a decimal with
 * at most four digits after the point and at most fifteen in all (sample
 * volumes often are: 50.23, 540.0), as float8out writes it, and returns
 * its length; -1 when v is not such a value (or is 0: float8out keeps the
 * sign of -0).  Such a decimal is float8out's answer: no other decimal of
 * fifteen digits or fewer reads back as the same double (DBL_DIG), so the
 * shortest that round-trips is this one, which it writes without an
 * exponent from 1e-4 on, as here.  The test is exact: v * 10^4 rounded to
 * an integer k, then k / 10^4 (correctly rounded, both exact doubles) is v
 * only when v is the double nearest that decimal.  A few operations instead
 * of the shortest-digits search; any other v goes to float8out's code.
 */
static inline int
FormatDecimal4(char *buf, double v)
{
	double		av = fabs(v);
	double		k;
	uint64		ip;
	uint32		fp;
	char	   *p = buf;

	if (!(av >= 1e-4 && av < 1e11))
		return -1;
	k = rint(av * 10000.0);
	if (k / 10000.0 != av)
		return -1;
	ip = (uint64) k / 10000;
	fp = (uint32) ((uint64) k - ip * 10000);
	if (v < 0)
		*p++ = '-';
	p += PutUInt(p, ip);
	*p++ = '.';
	if (fp == 0)
		*p++ = '0';
	else
	{
		int			nd = 4;

		/* four digits, less the trailing zeros */
		p[0] = '0' + fp / 1000;
		p[1] = '0' + fp / 100 % 10;
		p[2] = '0' + fp / 10 % 10;
		p[3] = '0' + fp % 10;
		while (p[nd - 1] == '0')
			nd--;
		p += nd;
	}
	return (int) (p - buf);
}

/*
 * FormatNumber writes a double as Ceilometer (Python) writes a float into
 * buf (at least VS_CEILO_NUMBER_MAX bytes), not terminated, and returns its
 * length: the digits float8out gives (the shortest that round-trip, unless
 * extra_float_digits asks for fewer), always with a '.' or an exponent
 * (10.0, not 10); null when it is not finite.  Into a buffer: it runs
 * several times for every statistics row.
 */
#define VS_CEILO_NUMBER_MAX 40

static inline int
FormatNumber(char *buf, double v)
{
	int			len;
	bool		integral = true;

	if (!isfinite(v))
	{
		memcpy(buf, "null", 4);
		return 4;
	}
	if (extra_float_digits > 0)
	{
		if ((len = FormatDecimal4(buf, v)) >= 0)
			return len;
		len = double_to_shortest_decimal_bufn(v, buf);
	}
	else
		len = pg_strfromd(buf, 32, DBL_DIG + extra_float_digits, v);
	for (int i = 0; i < len && integral; i++)
		integral = (buf[i] >= '0' && buf[i] <= '9') || buf[i] == '-';
	if (integral)
	{
		buf[len++] = '.';
		buf[len++] = '0';
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

/* the most a row's period takes after its head */
#define VS_CEILO_PREFIX_MAX ((int) (2 * (sizeof(", \"period_start\": ") + 2 + 32)))

/* PUT copies a string literal to p and moves p past it */
#define PUT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) += sizeof(lit) - 1)

/* PutTsOrNull writes the time as a JSON string, or null */
static inline char *
PutTsOrNull(char *p, const TimestampTz *ts)
{
	if (ts == NULL)
	{
		PUT(p, "null");
		return p;
	}
	return PutTs(p, *ts);
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
	l->cxt = CurrentMemoryContext;
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
			/* zeros after it, so that 16 bytes can be copied whatever its length */
			enlargeStringInfo(&kb, 16);
			memset(kb.data + kb.len, 0, 16);
			key->text = kb.data;
			key->len = kb.len;
		}
	}
	if (sel == NULL)
		l->ntop = l->nkeys;

	/*
	 * The most a row can take besides its head and group-by: the four times,
	 * the duration, the keys with a number each, and the punctuation around
	 * "aggregate" and at the end.
	 */
	l->row_max = 4 * (sizeof(", \"duration_start\": ") + 2 + 32) +
		sizeof(", \"duration\": ") + VS_CEILO_NUMBER_MAX +
		sizeof(", \"groupby\": ") + sizeof(", \"aggregate\": {") + 2 + 1;
	for (int i = 0; i < l->nkeys; i++)
		l->row_max += l->keys[i].len + VS_CEILO_NUMBER_MAX;
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
 * VsCeiloStatsRowL appends one row of GET .../statistics to b: its head
 * (headlen bytes), period_start/_end, duration_start/_end (NULL pointers:
 * null), the group-by object as JSON text of groupbylen bytes (NULL:
 * null), and the layout's aggregates from st, [count, sum, min, max, avg,
 * stddev] (NULL: every one null), and the cardinalities.  The room for the
 * longest such row is made once, then the row is written straight into b;
 * each number is formatted once (a second use copies the first).  It runs
 * for every row of an answer that can have hundreds of thousands.
 */
void
VsCeiloStatsRowL(StringInfo b, VsCeiloRowLayout *l, const char *head, int headlen,
				 const TimestampTz *ps, const TimestampTz *pe, const TimestampTz *ds,
				 const TimestampTz *de, const char *groupby, int groupbylen,
				 const double *st, const double *card)
{
	char	   *num[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
	int			numlen[6];
	char	   *p;

	enlargeStringInfo(b, headlen + (groupby == NULL ? 4 : groupbylen) + l->row_max);
	p = b->data + b->len;
	if (ps != NULL && pe != NULL)
	{
		/*
		 * The head and the period are the same for the rows of a period
		 * (and a unit): written once, then copied.
		 */
		if (!l->prefix_valid || *ps != l->prefix_ps || *pe != l->prefix_pe ||
			headlen != l->prefix_headlen || memcmp(head, l->prefix, headlen) != 0)
		{
			char	   *q;

			if (l->prefix_cap < headlen + VS_CEILO_PREFIX_MAX)
			{
				l->prefix_cap = headlen + VS_CEILO_PREFIX_MAX;
				l->prefix = l->prefix == NULL ? MemoryContextAlloc(l->cxt, l->prefix_cap) :
					repalloc(l->prefix, l->prefix_cap);
			}
			q = l->prefix;
			memcpy(q, head, headlen);
			q += headlen;
			PUT(q, ", \"period_start\": ");
			q = PutTs(q, *ps);
			PUT(q, ", \"period_end\": ");
			q = PutTs(q, *pe);
			l->prefix_len = q - l->prefix;
			l->prefix_headlen = headlen;
			l->prefix_ps = *ps;
			l->prefix_pe = *pe;
			l->prefix_valid = true;
		}
		memcpy(p, l->prefix, l->prefix_len);
		p += l->prefix_len;
	}
	else
	{
		memcpy(p, head, headlen);
		p += headlen;
		PUT(p, ", \"period_start\": ");
		p = PutTsOrNull(p, ps);
		PUT(p, ", \"period_end\": ");
		p = PutTsOrNull(p, pe);
	}
	PUT(p, ", \"duration_start\": ");
	p = PutTsOrNull(p, ds);
	PUT(p, ", \"duration_end\": ");
	p = PutTsOrNull(p, de);
	PUT(p, ", \"duration\": ");
	if (ds == NULL || de == NULL)
		PUT(p, "null");
	else
		p += FormatNumber(p, (double) (*de - *ds) / USECS_PER_SEC);
	PUT(p, ", \"groupby\": ");
	if (groupby == NULL)
		PUT(p, "null");
	else
	{
		memcpy(p, groupby, groupbylen);
		p += groupbylen;
	}
	for (int i = 0; i < l->nkeys; i++)
	{
		const VsCeiloRowKey *key = &l->keys[i];
		int			which = key->which;

		if (i == l->ntop)
			PUT(p, ", \"aggregate\": {");
		/* the keys' texts have room for 16 bytes, and so has the row after one */
		if (key->len <= 16)
			memcpy(p, key->text, 16);
		else
			memcpy(p, key->text, key->len);
		p += key->len;
		if (which < 0)
			p += FormatNumber(p, card[key->card]);
		else if (st == NULL)
			PUT(p, "null");
		else if (num[which] != NULL)
		{
			/* written before in this row: copied */
			memcpy(p, num[which], numlen[which]);
			p += numlen[which];
		}
		else
		{
			num[which] = p;
			if (which == 0)
			{
				if (!(st[0] >= 0 && st[0] <= 9.0e15))	/* NaN too */
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("statistics row: count %g is not a count", st[0])));
				numlen[0] = PutUInt(p, (uint64) st[0]);
			}
			else
				numlen[which] = FormatNumber(p, st[which]);
			p += numlen[which];
		}
	}
	if (l->has_aggregate)
	{
		if (l->ntop == l->nkeys)
			PUT(p, ", \"aggregate\": {");
		*p++ = '}';
	}
	*p++ = '}';
	b->len = p - b->data;
	Assert(b->len < b->maxlen);
	b->data[b->len] = '\0';
}

/* VsCeiloStatsRow: one row as VsCeiloStatsRowL writes it, its layout made for it */
void
VsCeiloStatsRow(StringInfo b, const char *unit, int64 period, const TimestampTz *ps,
				const TimestampTz *pe, const TimestampTz *ds, const TimestampTz *de,
				const char *groupby, const double *st, const char *const *sel, int nsel,
				const double *card, int ncard)
{
	VsCeiloRowLayout l;

	char	   *head;

	VsCeiloRowLayoutInit(&l, sel, nsel, ncard);
	head = VsCeiloRowHead(unit, period);
	VsCeiloStatsRowL(b, &l, head, strlen(head), ps, pe, ds, de,
					 groupby, groupby == NULL ? 0 : strlen(groupby), st, card);
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
