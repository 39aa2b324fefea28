/*-------------------------------------------------------------------------
 *
 * time.c
 *	  OpenTSDB's times and durations: 10 digits or fewer are seconds, more
 *	  are milliseconds; "<10 digits>.<1-3 digits>" has its dot removed;
 *	  "<n>ms"; "now"; "<duration>-ago"; and absolute yyyy/MM/dd[ HH:mm[:ss]]
 *	  dates in the query's timezone (the session's when none is given).
 *	  Errors are VS400 with OpenTSDB's messages.
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/opentsdb.h"

#include <ctype.h>

#include "access/xact.h"
#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#define UNIX_EPOCH_MS_OFFSET \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000)

static void BadTime(const char *msg, const char *s) pg_attribute_noreturn();

static void
BadTime(const char *msg, const char *s)
{
	ereport(ERROR,
			(errcode(ERRCODE_VS_BAD_REQUEST),
			 errmsg("%s: %s", msg, s)));
}

/* ts_now_ms is the statement's "now" in Unix ms (stable within a query) */
int64
ts_now_ms(void)
{
	return GetCurrentStatementStartTimestamp() / 1000 + UNIX_EPOCH_MS_OFFSET;
}

static bool
AllDigits(const char *s, int len)
{
	if (len <= 0)
		return false;
	for (int i = 0; i < len; i++)
		if (!isdigit((unsigned char) s[i]))
			return false;
	return true;
}

static int64
ParseDigits(const char *s, const char *whole)
{
	int64		v = 0;

	for (; *s; s++)
	{
		if (v > (PG_INT64_MAX - (*s - '0')) / 10)
			BadTime("invalid time", whole);
		v = v * 10 + (*s - '0');
	}
	return v;
}

/*
 * ts_parse_duration parses "<positive integer><unit>" to ms: units ms, s,
 * m, h, d, w (7 d), n (30 d), y (365 d), the last character read without
 * case.
 */
int64
ts_parse_duration(const char *s)
{
	int			len = strlen(s);
	int			unit = 0;
	int64		n = 0;
	int64		mult;
	char		u;

	if (len == 0)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("cannot parse null or empty duration")));
	while (unit < len && isdigit((unsigned char) s[unit]))
		unit++;
	if (unit >= len)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("invalid duration, must have an integer and unit: %s", s)));
	if (unit == 0)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("invalid duration (number): %s", s)));
	for (int i = 0; i < unit; i++)
	{
		if (n > (PG_INT64_MAX - (s[i] - '0')) / 10)
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("invalid duration (number): %s", s)));
		n = n * 10 + (s[i] - '0');
	}
	if (n <= 0)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("zero or negative duration: %s", s)));
	u = tolower((unsigned char) s[len - 1]);
	if (u == 's' && len >= 2 && tolower((unsigned char) s[len - 2]) == 'm')
	{
		if (unit != len - 2)
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("invalid duration (suffix): %s", s)));
		return n;
	}
	if (unit != len - 1)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("invalid duration (suffix): %s", s)));
	switch (u)
	{
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		case 'w':
			mult = 7 * 86400;
			break;
		case 'n':
			mult = 30 * 86400;
			break;
		case 'y':
			mult = 365 * 86400;
			break;
		default:
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("invalid duration (suffix): %s", s)));
			mult = 0;
	}
	mult *= 1000;
	/* longer than the span of timestamps (about 317 years) is no duration */
	if (n > INT64CONST(9999999999999) / mult)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("duration is longer than timestamps can span (about 317 years): %s", s)));
	return n * mult;
}

/*
 * AbsoluteDate parses yyyy/MM/dd, yyyy/MM/dd HH:mm, yyyy/MM/dd-HH:mm and
 * the same with :ss, in the zone tz (the session's when NULL or empty).
 */
static int64
AbsoluteDate(const char *s, const char *tz)
{
	int			len = strlen(s);
	int			Y,
				M,
				D,
				h = 0,
				m = 0,
				sec = 0;
	char		sep = ' ';
	int			got;
	char	   *iso;
	Timestamp	local;
	TimestampTz t;

	if (len == 10)
		got = sscanf(s, "%4d/%2d/%2d", &Y, &M, &D) == 3;
	else if (len == 16)
		got = sscanf(s, "%4d/%2d/%2d%c%2d:%2d", &Y, &M, &D, &sep, &h, &m) == 6;
	else if (len == 19)
		got = sscanf(s, "%4d/%2d/%2d%c%2d:%2d:%2d", &Y, &M, &D, &sep, &h, &m, &sec) == 7;
	else
	{
		BadTime("invalid absolute date", s);
		got = 0;
	}
	if (!got || (sep != ' ' && sep != '-'))
		BadTime("invalid date", s);
	if (M < 1 || M > 12 || D < 1 || D > day_tab[isleap(Y)][M - 1] ||
		h > 23 || m > 59 || sec > 59 || h < 0 || m < 0 || sec < 0)
		BadTime("invalid date", s);

	iso = psprintf("%04d-%02d-%02d %02d:%02d:%02d", Y, M, D, h, m, sec);
	local = DatumGetTimestamp(DirectFunctionCall3(timestamp_in, CStringGetDatum(iso),
												  ObjectIdGetDatum(InvalidOid),
												  Int32GetDatum(-1)));
	if (tz != NULL && tz[0] != '\0')
		t = DatumGetTimestampTz(DirectFunctionCall2(timestamp_zone,
													CStringGetTextDatum(tz),
													TimestampGetDatum(local)));
	else
		t = DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz,
													TimestampGetDatum(local)));
	return t / 1000 + UNIX_EPOCH_MS_OFFSET;
}

/*
 * ts_parse_time parses a start or end time to Unix ms.
 */
static int64 ParseNumericTime(const char *s, int len);

int64
ts_parse_time(const char *s, const char *tz, bool is_end)
{
	int			len = strlen(s);
	int64		t;

	if (len == 0)
		BadTime("invalid time", s);
	if (len > 2 && AllDigits(s, len - 2) && strcmp(s + len - 2, "ms") == 0)
		t = ParseDigits(pnstrdup(s, len - 2), s);
	else if (pg_strcasecmp(s, "now") == 0)
		t = ts_now_ms();
	else if (len > 4 && pg_strcasecmp(s + len - 4, "-ago") == 0)
		t = ts_now_ms() - ts_parse_duration(pnstrdup(s, len - 4));
	else if (strchr(s, '/') || strchr(s, ':'))
		t = AbsoluteDate(s, tz);
	else
		return ParseNumericTime(s, len);
	if (t < 0 || t > INT64CONST(9999999999999))
		BadTime("invalid time", s);
	return t;
}

/* the digits-only and dotted forms */
static int64
ParseNumericTime(const char *s, int len)
{
	const char *dot;
	int64		t;

	dot = strchr(s, '.');
	if (dot != NULL)
	{
		char	   *nodot;

		if (!(dot - s == 10 && AllDigits(s, 10) && len >= 12 && len <= 14 &&
			  AllDigits(dot + 1, len - 11)))
			ereport(ERROR,
					(errcode(ERRCODE_VS_BAD_REQUEST),
					 errmsg("invalid time: %s. Millisecond timestamps must be in the format <seconds>.<ms> where the milliseconds are limited to 3 digits", s)));
		nodot = psprintf("%.10s%s", s, dot + 1);
		t = ParseDigits(nodot, s);
	}
	else
	{
		if (s[0] == '-' && AllDigits(s + 1, len - 1))
			ereport(ERROR,
					(errcode(ERRCODE_VS_BAD_REQUEST),
					 errmsg("invalid time: %s. Negative timestamps are not supported.", s)));
		if (!AllDigits(s, len))
			BadTime("invalid time", s);
		t = ParseDigits(s, s);
	}
	if (len <= 10)
		t *= 1000;
	if (t > INT64CONST(9999999999999))
		BadTime("invalid time", s);
	return t;
}
