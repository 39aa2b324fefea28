/*-------------------------------------------------------------------------
 *
 * merge.c
 *	  Merging the series of one group into one, OpenTSDB's way
 *	  (AggregationIterator): the output timestamps are the union of the
 *	  series' timestamps; at each one, a series takes part only between its
 *	  own first and last point, with its value there, or else a value made
 *	  by the aggregator's interpolation (lerp, zero, the type's max or min,
 *	  or the previous value); with rate, the previous value is held flat.
 *	  The arithmetic is int64 (Java truncation) when there is no rate and no
 *	  series has a double at its current or next point; doubles otherwise.
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/opentsdb.h"

#include <float.h>

#include "miscadmin.h"
#include <math.h>

static int
CmpTs(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * ts_merge aggregates the group's series into out.  doubles_only forces
 * double arithmetic (downsampled or rated input is always double anyway).
 */
void
ts_merge(TsSeries *series, int nseries, const TsAgg *agg, bool rate,
		 bool doubles_only, TsSeries *out)
{
	int64	   *times;
	int			ntimes = 0;
	int			total = 0;
	int		   *cursor = palloc0(sizeof(int) * Max(nseries, 1));
	int64	   *lv = palloc(sizeof(int64) * Max(nseries, 1));
	double	   *dv = palloc(sizeof(double) * Max(nseries, 1));

	for (int s = 0; s < nseries; s++)
		total += series[s].n;
	if (total == 0)
		return;
	times = palloc(sizeof(int64) * total);
	for (int s = 0; s < nseries; s++)
		for (int k = 0; k < series[s].n; k++)
			times[ntimes++] = series[s].p[k].ts;
	qsort(times, ntimes, sizeof(int64), CmpTs);

	for (int t = 0; t < ntimes; t++)
	{
		int64		x = times[t];
		bool		integral = !rate && !doubles_only;
		int			n = 0;
		TsPoint		pt = {.ts = x};

		if (t > 0 && times[t - 1] == x)
			continue;
		if ((t & 1023) == 0)
			CHECK_FOR_INTERRUPTS();

		/* first pass: who takes part, and may we stay in integers? */
		for (int s = 0; s < nseries; s++)
		{
			TsSeries   *ser = &series[s];
			int			c = cursor[s];

			while (c < ser->n && ser->p[c].ts < x)
				c++;
			cursor[s] = c;
			if (ser->n == 0 || x < ser->p[0].ts || x > ser->p[ser->n - 1].ts)
				continue;
			/* current point: at x, or the one before; next: the one after */
			if (integral)
			{
				const TsPoint *cur = ser->p[c].ts == x ? &ser->p[c] : &ser->p[c - 1];
				const TsPoint *nxt = ser->p[c].ts == x ? (c + 1 < ser->n ? &ser->p[c + 1] : NULL)
					: &ser->p[c];

				if (!cur->is_int || (nxt != NULL && !nxt->is_int))
					integral = false;
			}
		}

		/* second pass: the values */
		for (int s = 0; s < nseries; s++)
		{
			TsSeries   *ser = &series[s];
			int			c = cursor[s];
			const TsPoint *p0;
			const TsPoint *p1;

			if (ser->n == 0 || x < ser->p[0].ts || x > ser->p[ser->n - 1].ts)
				continue;
			if (ser->p[c].ts == x)
			{
				if (integral)
					lv[n] = ser->p[c].i;
				else
					dv[n] = ser->p[c].d;
				n++;
				continue;
			}
			p0 = &ser->p[c - 1];
			p1 = &ser->p[c];
			if (rate)
			{
				dv[n++] = p0->d;
				continue;
			}
			switch (agg->interp)
			{
				case INTERP_LERP:
					if (integral)
						lv[n] = p0->i + (x - p0->ts) * (p1->i - p0->i) / (p1->ts - p0->ts);
					else
						dv[n] = p0->d + (double) (x - p0->ts) * (p1->d - p0->d) / (double) (p1->ts - p0->ts);
					break;
				case INTERP_ZIM:
					lv[n] = 0;
					dv[n] = 0;
					break;
				case INTERP_MAX:
					lv[n] = PG_INT64_MAX;
					dv[n] = DBL_MAX;
					break;
				case INTERP_MIN:
					lv[n] = PG_INT64_MIN;
					dv[n] = -DBL_MAX;
					break;
				case INTERP_PREV:
					lv[n] = p0->i;
					dv[n] = p0->d;
					break;
			}
			n++;
		}
		if (n == 0)
			continue;
		if (integral)
		{
			pt.is_int = true;
			pt.i = ts_agg_long(agg, lv, n);
			pt.d = (double) pt.i;
		}
		else
		{
			pt.is_int = false;
			pt.d = ts_agg_double(agg, dv, n);
		}
		ts_append(out, pt);
	}
}
