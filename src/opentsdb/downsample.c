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

#include "parser/scansup.h"
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

static void BadSpec(const char *spec) pg_attribute_noreturn();

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

/*
 * ts_zone_lookup finds a zone the way date_trunc(field, ts, zone) does: a
 * fixed or dynamic abbreviation first (EST, CET), else a full name
 * (Europe/Paris) or a POSIX spec; UTC when none is given.  pg_tz structs
 * live in PostgreSQL's zone cache for the backend's life.
 */
static pg_tz *
ts_zone_lookup(const char *tz)
{
	char	   *lowzone;
	int			type;
	int			val;
	pg_tz	   *tzp = NULL;

	if (tz == NULL || tz[0] == '\0')
		tz = "UTC";
	if (strlen(tz) > TZ_STRLEN_MAX)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("time zone \"%s\" not recognized", tz)));
	lowzone = downcase_truncate_identifier(tz, strlen(tz), false);
	type = DecodeTimezoneAbbrev(0, lowzone, &val, &tzp);
	pfree(lowzone);
	if (type == TZ || type == DTZ)
		tzp = pg_tzset_offset(-val);
	else if (type != DYNTZ)
	{
		tzp = pg_tzset(tz);
		if (tzp == NULL)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("time zone \"%s\" not recognized", tz)));
	}
	return tzp;
}

/*
 * ts_downsample_set_zone looks up, once, the zone that calendar buckets
 * are cut in (nothing for other downsamplers).
 */
void
ts_downsample_set_zone(TsDownsample *ds, const char *tz)
{
	ds->zone = ds->present && ds->calendar ? ts_zone_lookup(tz) : NULL;
}

static int64
FloorMod(int64 a, int64 n)
{
	int64		r = a % n;

	return r < 0 ? r + n : r;
}

static void
CalendarRange(void)
{
	ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					errmsg("timestamp out of range for calendar downsampling")));
}

/* LocalMs is the instant (Unix ms) of a local time at UTC offset tz (seconds west) */
static int64
LocalMs(struct pg_tm *tm, int tz)
{
	TimestampTz out;

	if (tm2timestamp(tm, 0, &tz, &out) != 0)
		CalendarRange();
	return out / 1000 + UNIX_EPOCH_MS_OFFSET;
}

/* MidnightMs is the instant of local midnight of tm's date, the offset found again */
static int64
MidnightMs(struct pg_tm *tm, pg_tz *zone)
{
	tm->tm_hour = tm->tm_min = tm->tm_sec = 0;
	return LocalMs(tm, DetermineTimeZoneOffset(tm, zone));
}

/*
 * CalendarBucket returns the start (Unix ms) of the calendar bucket of ts
 * in the zone: the unit truncated in local time, as date_trunc(unit, ts,
 * zone) does (seconds, minutes and hours keep the offset of ts; days and
 * longer start at local midnight, its offset found again); then, for a
 * multiple, down to a whole multiple: of seconds, minutes or hours
 * elapsed since the top of the next larger unit (2hc: 00:00, 02:00, ...
 * local; on a day with a DST change the hours elapsed, as OpenTSDB adds
 * hours), of days, weeks, months or years counted from 1970 in local
 * calendar terms (weeks from Monday 1970-01-05).  No allocation: it runs
 * once a bucket.
 */
static int64
CalendarBucket(int64 ts, const TsDownsample *ds, pg_tz *zone)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	/* (a step past the last bucket may leave the timestamps' range) */
	if (ts < MIN_TIMESTAMP / 1000 + UNIX_EPOCH_MS_OFFSET ||
		ts >= END_TIMESTAMP / 1000 + UNIX_EPOCH_MS_OFFSET ||
		timestamp2tm((ts - UNIX_EPOCH_MS_OFFSET) * 1000, &tz, &tm, &fsec, NULL, zone) != 0)
		CalendarRange();
	if (ds->unit == 's' || ds->unit == 'm' || ds->unit == 'h')
	{
		int64		unit_ms = ds->unit == 's' ? 1000 : ds->unit == 'm' ? 60000 : 3600000;
		int64		b;
		int64		outer;

		/* the unit, then (for a multiple) the next larger unit it counts in */
		tm.tm_sec = 0;
		if (ds->unit == 's')
		{
			b = ts - FloorMod(ts, 1000);
			if (ds->count <= 1)
				return b;
			outer = LocalMs(&tm, tz);
		}
		else if (ds->unit == 'm')
		{
			b = LocalMs(&tm, tz);
			if (ds->count <= 1)
				return b;
			tm.tm_min = 0;
			outer = LocalMs(&tm, tz);
		}
		else
		{
			tm.tm_min = 0;
			b = LocalMs(&tm, tz);
			if (ds->count <= 1)
				return b;
			outer = MidnightMs(&tm, zone);
		}
		return b - ((b - outer) / unit_ms % ds->count) * unit_ms;
	}
	if (ds->unit == 'd' || ds->unit == 'w')
	{
		int64		jd = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);

		if (ds->unit == 'w')
		{
			/* back to Monday (j2day: 0 is Sunday), then whole weeks from 1970-01-05 */
			jd -= (j2day((int) jd) + 6) % 7;
			jd -= FloorMod((jd - date2j(1970, 1, 5)) / 7, ds->count) * 7;
		}
		else
			jd -= FloorMod(jd - date2j(1970, 1, 1), ds->count);
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
	return MidnightMs(&tm, zone);
}

/*
 * Buckets walks the buckets of one downsampler over a series: the zone
 * looked up once, and the bucket last found kept as [lo, hi) so that the
 * points of a bucket (they come in time order) cost a comparison each.
 */
typedef struct Buckets
{
	const TsDownsample *ds;
	pg_tz	   *zone;
	int64		lo;				/* the bucket last found: its start ... */
	int64		hi;				/* ... and the next bucket's (lo == hi: none) */
} Buckets;

static void
BucketsInit(Buckets *bk, const TsDownsample *ds, pg_tz *zone)
{
	bk->ds = ds;
	bk->zone = zone;
	bk->lo = bk->hi = 0;
}

static int64
BucketStart(const Buckets *bk, int64 ts)
{
	if (bk->ds->calendar)
		return CalendarBucket(ts, bk->ds, bk->zone);
	return ts - FloorMod(ts, bk->ds->interval);
}

/* NextStart is the start of the bucket after the one that starts at b */
static int64
NextStart(Buckets *bk, int64 b)
{
	const TsDownsample *ds = bk->ds;
	int64		guess;

	if (b == bk->lo && bk->hi > bk->lo)
		return bk->hi;
	if (!ds->calendar)
		return b + ds->interval;
	/* calendar units vary in length: step into the next bucket and re-align */
	guess = b + (ds->unit == 'n' ? 32LL * 86400000 * ds->count
				 : ds->unit == 'y' ? 367LL * 86400000 * ds->count
				 : ds->interval + (ds->unit == 'd' || ds->unit == 'w' ? 7200000 : 0));
	return BucketStart(bk, guess);
}

/*
 * BucketOf returns the start of the bucket of ts: from the kept bucket
 * when ts is in it, else found and kept.  (Should a zone's clock change
 * make a bucket's start fall after its next bucket's, as no zone in use
 * does, nothing is kept and every point is looked up on its own.)
 */
static int64
BucketOf(Buckets *bk, int64 ts)
{
	int64		b;
	int64		n;

	if (ts >= bk->lo && ts < bk->hi)
		return bk->lo;
	b = BucketStart(bk, ts);
	bk->lo = bk->hi = 0;
	n = NextStart(bk, b);
	if (b <= ts && ts < n)
	{
		bk->lo = b;
		bk->hi = n;
	}
	return b;
}

/*
 * ts_downsample_range gives the span [*from, *to) of raw points that the
 * buckets reported for [start, end] need: from the start of the bucket
 * that holds start to the end of the bucket that holds end (a calendar
 * bucket's edges found in the zone); [start, end) for 0all; [start, end]
 * without a downsampler.  It is the one widening rule of /api/query and
 * vscope.downsample().
 */
void
ts_downsample_range(const TsDownsample *ds, int64 start, int64 end,
					int64 *from, int64 *to)
{
	Buckets		bk;

	if (!ds->present)
	{
		*from = start;
		*to = end + 1;
		return;
	}
	if (ds->all)
	{
		*from = start;
		*to = end;
		return;
	}
	if (ds->calendar && ds->zone == NULL)
		elog(ERROR, "calendar downsampler without a zone");
	BucketsInit(&bk, ds, ds->zone);
	*from = BucketOf(&bk, start);
	*to = NextStart(&bk, BucketOf(&bk, end));
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
 * Calendar buckets are cut in ds->zone (ts_downsample_set_zone), else in
 * tz.
 */
void
ts_downsample(const TsSeries *in, const TsDownsample *ds, int64 start, int64 end,
			  const char *tz, TsSeries *out)
{
	double	   *vals = palloc(sizeof(double) * Max(in->n, 1));
	int			nv = 0;
	int			i = 0;
	Buckets		bk;

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
	BucketsInit(&bk, ds, !ds->calendar ? NULL
				: ds->zone != NULL ? ds->zone : ts_zone_lookup(tz));

	if (ds->fill != FILL_NONE)
	{
		int64		b = BucketOf(&bk, start);

		/* data before the first filled bucket (from the wider scan range) */
		while (i < in->n && in->p[i].ts < b)
		{
			int64		cur = BucketOf(&bk, in->p[i].ts);

			nv = 0;
			while (i < in->n && in->p[i].ts < b && BucketOf(&bk, in->p[i].ts) == cur)
				vals[nv++] = in->p[i++].d;
			EmitBucket(out, cur, ds, vals, nv);
		}
		while (b <= end)
		{
			int64		nb = NextStart(&bk, b);

			CHECK_FOR_INTERRUPTS();
			if (nb <= b)
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("downsampling interval '%s' is out of range", ds->spec)));

			nv = 0;
			while (i < in->n && in->p[i].ts < nb)
				vals[nv++] = in->p[i++].d;
			EmitBucket(out, b, ds, vals, nv);
			b = nb;
		}
	}
	/* the rest (no fill; or data after the last filled bucket) */
	while (i < in->n)
	{
		int64		cur = BucketOf(&bk, in->p[i].ts);

		CHECK_FOR_INTERRUPTS();
		nv = 0;
		while (i < in->n && BucketOf(&bk, in->p[i].ts) == cur)
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
