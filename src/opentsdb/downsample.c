/*-------------------------------------------------------------------------
 *
 * downsample.c
 *	  What happens to one series before series are merged: downsampling
 *	  (buckets aligned to the Unix epoch and labelled with their start,
 *	  values always doubles, fill policies none/nan/null/zero, 0all over
 *	  [start, end), calendar buckets in a timezone) and then rate (per
 *	  second, exact int64 differences when both values are integers,
 *	  counters with counterMax, resetValue and dropResets).
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/opentsdb.h"

#include <ctype.h>

#include "miscadmin.h"
#include <math.h>

#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#define UNIX_EPOCH_MS_OFFSET \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000)

/* ts_reserve makes room for n points in all (at least doubling) */
void
ts_reserve(TsSeries *s, int n)
{
	int			cap = s->cap ? s->cap : 64;

	if (n <= s->cap)
		return;
	while (cap < n)
		cap *= 2;
	s->p = s->p ? repalloc_huge(s->p, sizeof(TsPoint) * cap)
		: palloc(sizeof(TsPoint) * cap);
	s->cap = cap;
}

/* ts_append adds one point at the end */
void
ts_append(TsSeries *s, TsPoint pt)
{
	if (s->n == s->cap)
		ts_reserve(s, s->n + 1);
	s->p[s->n++] = pt;
}

static void
BadSpec(const char *spec)
{
	ereport(ERROR,
			(errcode(ERRCODE_VS_BAD_REQUEST),
			 errmsg("invalid downsampling specifier '%s' in [%s]", spec, spec),
			 errdetail("A downsampler is <interval>-<function>[-<fill>], e.g. 1h-avg or 20m-max-zero.")));
}

/*
 * ts_parse_downsample parses "<interval>-<function>[-<fill>]".
 */
void
ts_parse_downsample(const char *spec, TsDownsample *ds, bool use_calendar)
{
	char	   *copy = pstrdup(spec);
	char	   *parts[4];
	int			nparts = 0;
	char	   *p = copy;
	char	   *iv;
	int			ivlen;

	memset(ds, 0, sizeof(*ds));
	ds->present = true;
	ds->spec = pstrdup(spec);
	for (;;)
	{
		char	   *dash = strchr(p, '-');

		if (nparts == 4)
			BadSpec(spec);
		parts[nparts++] = p;
		if (dash == NULL)
			break;
		*dash = '\0';
		p = dash + 1;
	}
	if (nparts < 2 || nparts > 3)
		BadSpec(spec);

	/* the function */
	if (strcmp(parts[1], "none") == 0)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("cannot use the NONE aggregator for downsampling")));
	ds->agg = ts_agg_lookup(parts[1]);
	if (ds->agg == NULL)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("no such downsampling function: %s", parts[1])));

	/* the fill policy */
	ds->fill = FILL_NONE;
	if (nparts == 3)
	{
		if (pg_strcasecmp(parts[2], "none") == 0)
			ds->fill = FILL_NONE;
		else if (pg_strcasecmp(parts[2], "nan") == 0)
			ds->fill = FILL_NAN;
		else if (pg_strcasecmp(parts[2], "null") == 0)
			ds->fill = FILL_NULL;
		else if (pg_strcasecmp(parts[2], "zero") == 0)
			ds->fill = FILL_ZERO;
		else
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("unrecognized fill policy: %s", parts[2])));
	}

	/* the interval */
	iv = parts[0];
	ivlen = strlen(iv);
	if (strstr(iv, "all") != NULL)
	{
		ds->all = true;
		return;
	}
	if (ivlen > 1 && iv[ivlen - 1] == 'c')
	{
		ds->calendar = true;
		iv[--ivlen] = '\0';
	}
	else
		ds->calendar = use_calendar;
	ds->interval = ts_parse_duration(iv);
	if (ds->calendar)
	{
		ds->unit = tolower((unsigned char) iv[ivlen - 1]);
		if (ds->unit == 's' && ivlen >= 2 && tolower((unsigned char) iv[ivlen - 2]) == 'm')
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("calendar downsampling needs a unit of a second or more: %s", spec)));
		{
			int64		unit_ms = ds->unit == 's' ? 1000 : ds->unit == 'm' ? 60000
				: ds->unit == 'h' ? 3600000 : ds->unit == 'd' ? 86400000
				: ds->unit == 'w' ? 604800000 : ds->unit == 'n' ? INT64CONST(2592000000)
				: INT64CONST(31536000000);

			if (ds->interval / unit_ms > 1000)
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("calendar interval too long: %s", spec),
								errdetail("At most 1000 units.")));
			ds->count = (int) (ds->interval / unit_ms);
		}
	}
}

/* TruncZone is date_trunc(field, ts, zone) on Unix ms */
static int64
TruncZone(int64 ts, const char *field, const char *tz)
{
	TimestampTz t = (ts - UNIX_EPOCH_MS_OFFSET) * 1000;
	TimestampTz b;

	b = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_trunc_zone,
												CStringGetTextDatum(field),
												TimestampTzGetDatum(t),
												CStringGetTextDatum(tz && tz[0] ? tz : "UTC")));
	return b / 1000 + UNIX_EPOCH_MS_OFFSET;
}

static int64
FloorMod(int64 a, int64 n)
{
	int64		r = a % n;

	return r < 0 ? r + n : r;
}

/*
 * CalendarBucket returns the start (Unix ms) of the calendar bucket of ts
 * in the zone: the unit truncated in local time; then, for a multiple,
 * down to a whole multiple: of seconds, minutes or hours within the next
 * larger unit (2hc: 00:00, 02:00, ... local), of days, weeks, months or
 * years counted from 1970 in local calendar terms (weeks from Monday
 * 1970-01-05).
 */
static int64
CalendarBucket(int64 ts, const TsDownsample *ds, const char *tz)
{
	static const char *const fields[] = {"second", "minute", "hour", "day", "week", "month", "year"};
	const char *units = "smhdwny";
	int			u = strchr(units, ds->unit) - units;
	int64		b = TruncZone(ts, fields[u], tz);

	if (ds->count <= 1)
		return b;
	if (u <= 2)
	{
		int64		unit_ms = ds->unit == 's' ? 1000 : ds->unit == 'm' ? 60000 : 3600000;
		int64		outer = TruncZone(ts, fields[u + 1], tz);

		return b - ((b - outer) / unit_ms % ds->count) * unit_ms;
	}
	else
	{
		pg_tz	   *zone = pg_tzset(tz && tz[0] ? tz : "UTC");
		struct pg_tm tm;
		fsec_t		fsec;
		int			offset;
		TimestampTz t = (b - UNIX_EPOCH_MS_OFFSET) * 1000;
		TimestampTz out;
		int			epoch = date2j(1970, 1, 1);

		if (zone == NULL || timestamp2tm(t, &offset, &tm, &fsec, NULL, zone) != 0)
			ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							errmsg("timestamp out of range for calendar downsampling")));
		if (ds->unit == 'd' || ds->unit == 'w')
		{
			int64		jd = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
			int64		step = ds->unit == 'd' ? 1 : 7;
			int64		base = ds->unit == 'd' ? epoch : date2j(1970, 1, 5);

			jd -= FloorMod((jd - base) / step, ds->count) * step;
			j2date((int) jd, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
		}
		else if (ds->unit == 'n')
		{
			int64		idx = (int64) tm.tm_year * 12 + (tm.tm_mon - 1);

			idx -= FloorMod(idx - 1970 * 12, ds->count);
			tm.tm_year = (int) (idx / 12);
			tm.tm_mon = (int) (idx % 12) + 1;
			tm.tm_mday = 1;
		}
		else
		{
			tm.tm_year -= (int) FloorMod(tm.tm_year - 1970, ds->count);
			tm.tm_mon = 1;
			tm.tm_mday = 1;
		}
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		offset = DetermineTimeZoneOffset(&tm, zone);
		if (tm2timestamp(&tm, 0, &offset, &out) != 0)
			ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							errmsg("timestamp out of range for calendar downsampling")));
		return out / 1000 + UNIX_EPOCH_MS_OFFSET;
	}
}

static int64
BucketOf(int64 ts, const TsDownsample *ds, const char *tz)
{
	if (ds->calendar)
		return CalendarBucket(ts, ds, tz);
	return ts - ts % ds->interval;		/* ts > 0 */
}

static int64
NextBucket(int64 b, const TsDownsample *ds, const char *tz)
{
	int64		guess;

	if (!ds->calendar)
		return b + ds->interval;
	/* calendar units vary in length: step past the bucket and re-align */
	guess = b + (ds->unit == 'n' ? 32LL * 86400000 * ds->count
				 : ds->unit == 'y' ? 367LL * 86400000 * ds->count
				 : ds->interval + (ds->unit == 'd' || ds->unit == 'w' ? 7200000 : 0));
	return BucketOf(guess, ds, tz);
}

static void
EmitBucket(TsSeries *out, int64 ts, const TsDownsample *ds, double *vals, int n)
{
	TsPoint		pt = {.ts = ts, .is_int = false};

	pt.d = n > 0 ? ts_agg_double(ds->agg, vals, n)
		: (ds->fill == FILL_ZERO ? 0.0 : NAN);
	ts_append(out, pt);
}

/*
 * ts_downsample turns a series into buckets.  With a fill policy, every
 * bucket from the one holding start to the one holding end is emitted.
 */
void
ts_downsample(const TsSeries *in, const TsDownsample *ds, int64 start, int64 end,
			  const char *tz, TsSeries *out)
{
	double	   *vals = palloc(sizeof(double) * Max(in->n, 1));
	int			nv = 0;
	int			i = 0;

	if (ds->all)
	{
		for (int k = 0; k < in->n; k++)
			if (in->p[k].ts >= start && in->p[k].ts < end)
				vals[nv++] = in->p[k].d;
		if (nv > 0 || ds->fill != FILL_NONE)
			EmitBucket(out, start, ds, vals, nv);
		pfree(vals);
		return;
	}

	if (ds->fill != FILL_NONE)
	{
		int64		b = BucketOf(start, ds, tz);

		/* data before the first filled bucket (from the wider scan range) */
		while (i < in->n && in->p[i].ts < b)
		{
			int64		cur = BucketOf(in->p[i].ts, ds, tz);

			nv = 0;
			while (i < in->n && BucketOf(in->p[i].ts, ds, tz) == cur && in->p[i].ts < b)
				vals[nv++] = in->p[i++].d;
			EmitBucket(out, cur, ds, vals, nv);
		}
		for (; b <= end; b = NextBucket(b, ds, tz))
		{
			int64		nb = NextBucket(b, ds, tz);

			CHECK_FOR_INTERRUPTS();
			if (nb <= b)
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("downsampling interval '%s' is out of range", ds->spec)));

			nv = 0;
			while (i < in->n && in->p[i].ts < nb)
				vals[nv++] = in->p[i++].d;
			EmitBucket(out, b, ds, vals, nv);
		}
	}
	/* the rest (no fill; or data after the last filled bucket) */
	while (i < in->n)
	{
		int64		cur = BucketOf(in->p[i].ts, ds, tz);

		CHECK_FOR_INTERRUPTS();
		nv = 0;
		while (i < in->n && BucketOf(in->p[i].ts, ds, tz) == cur)
			vals[nv++] = in->p[i++].d;
		EmitBucket(out, cur, ds, vals, nv);
	}
	pfree(vals);
}

/*
 * ts_rate turns a series into its per-second rate of change; the first
 * point gives nothing.
 */
void
ts_rate(const TsSeries *in, const TsRate *rate, TsSeries *out)
{
	const TsPoint *prev = NULL;

	for (int k = 0; k < in->n; k++)
	{
		const TsPoint *cur = &in->p[k];
		double		dt;
		double		r;
		TsPoint		pt = {.ts = cur->ts, .is_int = false};

		if (prev == NULL)
		{
			prev = cur;
			continue;
		}
		dt = (cur->ts - prev->ts) / 1000.0;
		if (prev->is_int && cur->is_int)
		{
			if (rate->counter && cur->i < prev->i)
			{
				if (rate->drop_resets)
				{
					prev = cur;
					continue;
				}
				/* wrapped: Java long arithmetic (wraps, like -fwrapv here) */
				r = (double) (rate->counter_max - prev->i + cur->i) / dt;
				if (rate->reset_value > 0 && r > (double) rate->reset_value)
					r = 0;
			}
			else
				r = (double) (cur->i - prev->i) / dt;
		}
		else
		{
			if (rate->counter && cur->d < prev->d)
			{
				if (rate->drop_resets)
				{
					prev = cur;
					continue;
				}
				r = ((double) rate->counter_max - prev->d + cur->d) / dt;
				if (rate->reset_value > 0 && r > (double) rate->reset_value)
					r = 0;
			}
			else
				r = (cur->d - prev->d) / dt;
		}
		pt.d = r;
		ts_append(out, pt);
		prev = cur;
	}
}
