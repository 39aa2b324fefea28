/*-------------------------------------------------------------------------
 *
 * encoding.c
 *	  Warp 10's text forms: names percent-encoded and decoded as
 *	  WarpURLEncoder and WarpURLDecoder do, doubles as Java's
 *	  Double.toString writes them, ISO 8601 dates and durations as
 *	  java.time and Joda read them, and microseconds since the Unix epoch
 *	  against PostgreSQL's timestamptz.
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warp10.h"

#include <math.h>

#include "common/int.h"
#include "mb/pg_wchar.h"
#include "pgtime.h"
#include "utils/datetime.h"

#include "opentsdb/opentsdb.h"

static int
HexValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * w10_decode percent-decodes len bytes of s (WarpURLDecoder): a string
 * without '%' is taken as it is, '+' is never a space.  Returns a palloc'd
 * string, or NULL with *err set.
 */
char *
w10_decode(const char *s, int len, const char **err)
{
	char	   *out = palloc(len + 1);
	int			n = 0;

	*err = NULL;
	for (int i = 0; i < len; i++)
	{
		if (s[i] != '%')
		{
			out[n++] = s[i];
			continue;
		}
		if (i + 2 >= len)
		{
			*err = "Incomplete trailing escape (%) pattern";
			return NULL;
		}
		{
			int			hi = HexValue(s[i + 1]);
			int			lo = HexValue(s[i + 2]);

			if (hi < 0 || lo < 0)
			{
				*err = "Illegal hex characters in escape (%) pattern";
				return NULL;
			}
			out[n++] = (char) (hi * 16 + lo);
			i += 2;
		}
	}
	out[n] = '\0';
	if (memchr(out, '\0', n) != NULL || !pg_verifymbstr(out, n, true))
	{
		*err = "The decoded text is not valid UTF-8";
		return NULL;
	}
	return out;
}

/*
 * w10_append_encoded appends s as Java's URLEncoder (UTF-8) writes it, with
 * '+' for a space replaced by %20: letters, digits and . - * _ as they
 * are, every other byte as %XX in upper-case hex.
 */
void
w10_append_encoded(StringInfo buf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		unsigned char c = *p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '-' || c == '*' || c == '_')
			appendStringInfoChar(buf, (char) c);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hex[c >> 4]);
			appendStringInfoChar(buf, hex[c & 15]);
		}
	}
}

/*
 * w10_append_double writes d as Java's Double.toString: shortest digits
 * that read back exactly, plain between 1e-3 and 1e7, else d.dddE<n>;
 * NaN, Infinity and -Infinity bare (Warp 10 writes them so in JSON too).
 */
void
w10_append_double(StringInfo buf, double d)
{
	if (isnan(d))
		appendStringInfoString(buf, "NaN");
	else if (isinf(d))
		appendStringInfoString(buf, d > 0 ? "Infinity" : "-Infinity");
	else
		ts_append_double(buf, d);
}

/* w10_parse_long reads [+-]?[0-9]+ into an int64, as Java's Long.parseLong */
bool
w10_parse_long(const char *s, int64 *v)
{
	bool		neg = false;
	int64		r = 0;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (*s == '\0')
		return false;
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9')
			return false;
		/* accumulate negatively: -2^63 has no positive twin */
		if (pg_mul_s64_overflow(r, 10, &r) || pg_sub_s64_overflow(r, *s - '0', &r))
			return false;
	}
	if (!neg)
	{
		if (r == PG_INT64_MIN)
			return false;
		r = -r;
	}
	*v = r;
	return true;
}

/* reads exactly n digits at *p into *v, advancing *p */
static bool
Digits(const char **p, int n, int *v)
{
	int			r = 0;

	for (int i = 0; i < n; i++)
	{
		char		c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		r = r * 10 + (c - '0');
	}
	*p += n;
	*v = r;
	return true;
}

/*
 * w10_parse_iso8601 reads YYYY-MM-DDThh:mm[:ss[.f{1,9}]] and a zone (Z,
 * +hh:mm[:ss], -hh:mm[:ss], optionally [Region/City]; a region alone is
 * looked up in PostgreSQL's time zone database; no zone at all is UTC, as
 * Warp 1.x read it), into Unix microseconds.  Digits beyond the
 * microsecond are dropped, as Warp 10 does.
 */
bool
w10_parse_iso8601(const char *s, int64 *us)
{
	const char *p = s;
	int			y,
				mo,
				d,
				h,
				mi,
				sec = 0;
	int64		frac = 0;
	int			offset = 0;		/* seconds east of UTC */
	bool		have_offset = false;
	int64		days;
	int64		local;

	if (!Digits(&p, 4, &y) || *p++ != '-' || !Digits(&p, 2, &mo) || *p++ != '-' ||
		!Digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
		return false;
	p++;
	if (!Digits(&p, 2, &h) || *p++ != ':' || !Digits(&p, 2, &mi))
		return false;
	if (*p == ':')
	{
		p++;
		if (!Digits(&p, 2, &sec))
			return false;
		if (*p == '.' || *p == ',')
		{
			int			nd = 0;
			int64		scale = 100000;

			p++;
			while (*p >= '0' && *p <= '9')
			{
				if (nd < 6)
					frac += (*p - '0') * scale;
				scale /= 10;
				nd++;
				p++;
			}
			if (nd == 0 || nd > 9)
				return false;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > day_tab[isleap(y)][mo - 1] ||
		h > 23 || mi > 59 || sec > 59)
		return false;

	if (*p == 'Z' || *p == 'z')
	{
		have_offset = true;
		p++;
	}
	else if (*p == '+' || *p == '-')
	{
		int			sign = *p++ == '-' ? -1 : 1;
		int			oh,
					om,
					os = 0;

		if (!Digits(&p, 2, &oh) || *p++ != ':' || !Digits(&p, 2, &om))
			return false;
		if (*p == ':')
		{
			p++;
			if (!Digits(&p, 2, &os))
				return false;
		}
		if (oh > 18 || om > 59 || os > 59)
			return false;
		offset = sign * (oh * 3600 + om * 60 + os);
		have_offset = true;
	}

	days = date2j(y, mo, d) - UNIX_EPOCH_JDATE;
	local = days * USECS_PER_DAY + ((int64) (h * 60 + mi) * 60 + sec) * USECS_PER_SEC + frac;

	if (*p == '[')
	{
		const char *close = strchr(p, ']');
		char	   *name;

		if (close == NULL || close[1] != '\0' || close == p + 1)
			return false;
		name = pnstrdup(p + 1, close - p - 1);
		if (!have_offset)
		{
			/* the region's offset at that local time */
			pg_tz	   *tz = pg_tzset(name);
			struct pg_tm tm = {0};
			int			tzoff;

			if (tz == NULL)
				return false;
			tm.tm_year = y;
			tm.tm_mon = mo;
			tm.tm_mday = d;
			tm.tm_hour = h;
			tm.tm_min = mi;
			tm.tm_sec = sec;
			tzoff = DetermineTimeZoneOffset(&tm, tz);
			/* PostgreSQL's offsets are seconds west of UTC */
			offset = -tzoff;
		}
		pfree(name);
		p = close + 1;
	}
	if (*p != '\0')
		return false;
	*us = local - (int64) offset * USECS_PER_SEC;
	return true;
}

/*
 * w10_parse_duration reads an ISO 8601 period as Joda's standard format
 * (PnYnMnWnDTnHnMnS, seconds with a fraction) into microseconds, days
 * being 24 hours; years and months are refused as Warp 10 refuses them.
 */
bool
w10_parse_duration(const char *s, int64 *us, const char **err)
{
	const char *p = s;
	bool		in_time = false;
	bool		any = false;
	int64		total = 0;

	*err = "Invalid ISO 8601 duration.";
	if (*p != 'P' && *p != 'p')
		return false;
	p++;
	while (*p)
	{
		int64		whole = 0;
		int64		frac = 0;	/* microseconds of a fractional second */
		bool		neg = false;
		int			nd = 0;
		int64		unit;
		char		u;

		if (*p == 'T' || *p == 't')
		{
			if (in_time)
				return false;
			in_time = true;
			p++;
			continue;
		}
		if (*p == '-')
		{
			neg = true;
			p++;
		}
		while (*p >= '0' && *p <= '9')
		{
			if (pg_mul_s64_overflow(whole, 10, &whole) ||
				pg_add_s64_overflow(whole, *p - '0', &whole))
				return false;
			p++;
			nd++;
		}
		if (*p == '.' || *p == ',')
		{
			int64		scale = 100000;

			p++;
			while (*p >= '0' && *p <= '9')
			{
				frac += (*p - '0') * scale;
				scale /= 10;
				p++;
				nd++;
			}
			if (*p != 'S' && *p != 's')
				return false;
		}
		if (nd == 0)
			return false;
		u = *p++;
		switch (u)
		{
			case 'Y':
			case 'y':
				if (in_time)
					return false;
				if (whole != 0)
				{
					*err = "No support for ambiguous durations containing years or months, please convert those to days.";
					return false;
				}
				unit = 0;
				break;
			case 'M':
			case 'm':
				if (!in_time && whole != 0)
				{
					*err = "No support for ambiguous durations containing years or months, please convert those to days.";
					return false;
				}
				unit = in_time ? 60 * USECS_PER_SEC : 0;
				break;
			case 'W':
			case 'w':
				if (in_time)
					return false;
				unit = 7 * USECS_PER_DAY;
				break;
			case 'D':
			case 'd':
				if (in_time)
					return false;
				unit = USECS_PER_DAY;
				break;
			case 'H':
			case 'h':
				if (!in_time)
					return false;
				unit = USECS_PER_HOUR;
				break;
			case 'S':
			case 's':
				if (!in_time)
					return false;
				unit = USECS_PER_SEC;
				break;
			default:
				return false;
		}
		if (pg_mul_s64_overflow(whole, unit, &whole) ||
			pg_add_s64_overflow(whole, frac, &whole) ||
			(neg ? pg_sub_s64_overflow(total, whole, &total)
			 : pg_add_s64_overflow(total, whole, &total)))
			return false;
		any = true;
	}
	if (!any)
		return false;
	*us = total;
	*err = NULL;
	return true;
}

/*
 * w10_us_to_timestamptz turns Unix microseconds into a timestamptz; what
 * lies beyond timestamptz's range becomes -infinity or infinity (a read's
 * bound: no point is there).
 */
TimestampTz
w10_us_to_timestamptz(int64 us)
{
	int64		ts;

	if (pg_sub_s64_overflow(us, W10_EPOCH_SHIFT, &ts) || ts < MIN_TIMESTAMP)
		return us < 0 ? DT_NOBEGIN : DT_NOEND;
	if (ts >= END_TIMESTAMP)
		return DT_NOEND;
	return ts;
}

/* w10_timestamptz_to_us turns a finite timestamptz into Unix microseconds */
int64
w10_timestamptz_to_us(TimestampTz ts)
{
	return ts + W10_EPOCH_SHIFT;
}
