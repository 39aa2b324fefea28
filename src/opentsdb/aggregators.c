/*-------------------------------------------------------------------------
 *
 * aggregators.c
 *	  OpenTSDB's aggregators: the names /api/aggregators lists, how each one
 *	  fills a series' missing timestamps when series are merged, and what it
 *	  computes, in an int64 variant (every input an integer: integer
 *	  arithmetic, truncating like Java) and a double variant (NaN inputs are
 *	  skipped, except by mult; nothing left gives NaN).  Percentiles follow
 *	  commons-math: "legacy" estimation for pNN and for every double variant,
 *	  for the integer variants of epNNr3 and epNNr7.
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/opentsdb.h"

#include <math.h>

static const TsAgg aggs[] = {
	{"sum", AGG_SUM, INTERP_LERP, 0},
	{"min", AGG_MIN, INTERP_LERP, 0},
	{"max", AGG_MAX, INTERP_LERP, 0},
	{"avg", AGG_AVG, INTERP_LERP, 0},
	{"none", AGG_NONE, INTERP_ZIM, 0},
	{"median", AGG_MEDIAN, INTERP_LERP, 0},
	{"mult", AGG_MULT, INTERP_LERP, 0},
	{"dev", AGG_DEV, INTERP_LERP, 0},
	{"diff", AGG_DIFF, INTERP_LERP, 0},
	{"count", AGG_COUNT, INTERP_ZIM, 0},
	{"zimsum", AGG_SUM, INTERP_ZIM, 0},
	{"mimmin", AGG_MIN, INTERP_MAX, 0},
	{"mimmax", AGG_MAX, INTERP_MIN, 0},
	{"first", AGG_FIRST, INTERP_ZIM, 0},
	{"last", AGG_LAST, INTERP_ZIM, 0},
	{"pfsum", AGG_SUM, INTERP_PREV, 0},
	{"squareSum", AGG_SQUARESUM, INTERP_ZIM, 0},
	{"p999", AGG_PCT, INTERP_LERP, 99.9},
	{"p99", AGG_PCT, INTERP_LERP, 99},
	{"p95", AGG_PCT, INTERP_LERP, 95},
	{"p90", AGG_PCT, INTERP_LERP, 90},
	{"p75", AGG_PCT, INTERP_LERP, 75},
	{"p50", AGG_PCT, INTERP_LERP, 50},
	{"ep999r3", AGG_EPCT_R3, INTERP_LERP, 99.9},
	{"ep99r3", AGG_EPCT_R3, INTERP_LERP, 99},
	{"ep95r3", AGG_EPCT_R3, INTERP_LERP, 95},
	{"ep90r3", AGG_EPCT_R3, INTERP_LERP, 90},
	{"ep75r3", AGG_EPCT_R3, INTERP_LERP, 75},
	{"ep50r3", AGG_EPCT_R3, INTERP_LERP, 50},
	{"ep999r7", AGG_EPCT_R7, INTERP_LERP, 99.9},
	{"ep99r7", AGG_EPCT_R7, INTERP_LERP, 99},
	{"ep95r7", AGG_EPCT_R7, INTERP_LERP, 95},
	{"ep90r7", AGG_EPCT_R7, INTERP_LERP, 90},
	{"ep75r7", AGG_EPCT_R7, INTERP_LERP, 75},
	{"ep50r7", AGG_EPCT_R7, INTERP_LERP, 50},
};

/* ts_agg_lookup finds an aggregator by its exact (case-sensitive) name */
const TsAgg *
ts_agg_lookup(const char *name)
{
	for (size_t i = 0; i < lengthof(aggs); i++)
		if (strcmp(aggs[i].name, name) == 0)
			return &aggs[i];
	return NULL;
}

/* ts_agg_names appends the JSON array of every aggregator name */
void
ts_agg_names(StringInfo buf)
{
	appendStringInfoChar(buf, '[');
	for (size_t i = 0; i < lengthof(aggs); i++)
		appendStringInfo(buf, "%s\"%s\"", i ? "," : "", aggs[i].name);
	appendStringInfoChar(buf, ']');
}

static int
CmpInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

static int
CmpDouble(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * Percentile of sorted values, by estimation: commons-math legacy, R-3 or
 * R-7 (p in 0..100).
 */
static double
Percentile(const double *v, int n, double p, TsAggKind how)
{
	double		pos;
	int			lo;

	if (n == 1)
		return v[0];
	if (how == AGG_EPCT_R3)
	{
		/* nearest order statistic, index rounded half to even */
		pos = rint(n * p / 100.0);
		if (pos < 1)
			pos = 1;
		if (pos > n)
			pos = n;
		return v[(int) pos - 1];
	}
	pos = how == AGG_EPCT_R7 ? (n - 1) * p / 100.0 + 1 : p * (n + 1) / 100.0;
	if (pos < 1)
		return v[0];
	if (pos >= n)
		return v[n - 1];
	lo = (int) floor(pos);
	return v[lo - 1] + (pos - lo) * (v[lo] - v[lo - 1]);
}

/*
 * ts_percentile sorts v (NaN removed first by the caller, or ignored here)
 * and returns its percentile p (0..100) by the estimator: AGG_PCT legacy,
 * AGG_EPCT_R3 or AGG_EPCT_R7.  NaN when v is empty.
 */
double
ts_percentile(double *v, int n, double p, TsAggKind how)
{
	int			m = 0;

	for (int i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[m++] = v[i];
	if (m == 0)
		return NAN;
	qsort(v, m, sizeof(double), CmpDouble);
	return Percentile(v, m, p, how);
}

/*
 * ts_agg_long aggregates integers (n >= 1) with integer arithmetic.
 * v may be reordered.
 */
int64
ts_agg_long(const TsAgg *agg, int64 *v, int n)
{
	int64		acc;

	switch (agg->kind)
	{
		case AGG_SUM:
			acc = 0;
			for (int i = 0; i < n; i++)
				acc += v[i];
			return acc;
		case AGG_MIN:
			acc = v[0];
			for (int i = 1; i < n; i++)
				if (v[i] < acc)
					acc = v[i];
			return acc;
		case AGG_MAX:
			acc = v[0];
			for (int i = 1; i < n; i++)
				if (v[i] > acc)
					acc = v[i];
			return acc;
		case AGG_AVG:
			acc = 0;
			for (int i = 0; i < n; i++)
				acc += v[i];
			return acc / n;		/* truncates toward zero, as Java does */
		case AGG_MULT:
			acc = 1;
			for (int i = 0; i < n; i++)
				acc *= v[i];
			return acc;
		case AGG_DIFF:
			return n == 1 ? 0 : v[n - 1] - v[0];
		case AGG_COUNT:
			return n;
		case AGG_FIRST:
			return v[0];
		case AGG_LAST:
			return v[n - 1];
		case AGG_SQUARESUM:
			acc = 0;
			for (int i = 0; i < n; i++)
				acc += v[i] * v[i];
			return acc;
		case AGG_MEDIAN:
			qsort(v, n, sizeof(int64), CmpInt64);
			return v[n / 2];
		case AGG_DEV:
		case AGG_PCT:
		case AGG_EPCT_R3:
		case AGG_EPCT_R7:
			{
				double	   *d = palloc(sizeof(double) * n);
				double		r;

				for (int i = 0; i < n; i++)
					d[i] = (double) v[i];
				if (agg->kind == AGG_DEV)
					r = ts_agg_double(agg, d, n);
				else
				{
					qsort(d, n, sizeof(double), CmpDouble);
					r = Percentile(d, n, agg->pct, agg->kind);
				}
				pfree(d);
				return (int64) r;	/* truncated */
			}
		case AGG_NONE:
			break;
	}
	elog(ERROR, "aggregator \"%s\" does not aggregate", agg->name);
	return 0;
}

/*
 * ts_agg_double aggregates doubles, skipping NaN (but for mult); NaN when
 * nothing is left.  v may be reordered.
 */
double
ts_agg_double(const TsAgg *agg, double *v, int n)
{
	int			m = 0;
	double		acc;

	if (agg->kind == AGG_MULT)
	{
		acc = 1;
		for (int i = 0; i < n; i++)
			acc *= v[i];
		return n > 0 ? acc : NAN;
	}
	/* compact away NaNs, keeping order (first, last and diff care) */
	for (int i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[m++] = v[i];
	if (agg->kind == AGG_COUNT)
		return m;
	if (m == 0)
		return NAN;
	switch (agg->kind)
	{
		case AGG_SUM:
			acc = 0;
			for (int i = 0; i < m; i++)
				acc += v[i];
			return acc;
		case AGG_MIN:
			acc = v[0];
			for (int i = 1; i < m; i++)
				if (v[i] < acc)
					acc = v[i];
			return acc;
		case AGG_MAX:
			acc = v[0];
			for (int i = 1; i < m; i++)
				if (v[i] > acc)
					acc = v[i];
			return acc;
		case AGG_AVG:
			acc = 0;
			for (int i = 0; i < m; i++)
				acc += v[i];
			return acc / m;
		case AGG_DIFF:
			return m == 1 ? 0 : v[m - 1] - v[0];
		case AGG_FIRST:
			return v[0];
		case AGG_LAST:
			return v[m - 1];
		case AGG_SQUARESUM:
			acc = 0;
			for (int i = 0; i < m; i++)
				acc += v[i] * v[i];
			return acc;
		case AGG_MEDIAN:
			qsort(v, m, sizeof(double), CmpDouble);
			return v[m / 2];
		case AGG_DEV:
			{
				/* Welford, population variance (divisor n) */
				double		mean = 0,
							m2 = 0;

				for (int i = 0; i < m; i++)
				{
					double		delta = v[i] - mean;

					mean += delta / (i + 1);
					m2 += delta * (v[i] - mean);
				}
				return sqrt(m2 / m);
			}
		case AGG_PCT:
		case AGG_EPCT_R3:
		case AGG_EPCT_R7:
			/* the double variants all use the legacy estimation */
			qsort(v, m, sizeof(double), CmpDouble);
			return Percentile(v, m, agg->pct, AGG_PCT);
		case AGG_COUNT:
		case AGG_MULT:
		case AGG_NONE:
			break;
	}
	elog(ERROR, "aggregator \"%s\" does not aggregate", agg->name);
	return 0;
}
