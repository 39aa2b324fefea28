/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  The arithmetic of Ceilometer's statistics, in one place: a state of
 *	  six doubles [n, sum, min, max, mean, m2] that takes values one at a
 *	  time (Welford) and merges with another (Chan et al.).  The aggregate
 *	  vscope.sample_stats (stats.c), the summaries of samples blocks
 *	  (sample_blocks.c) and the statistics engine (statistics.c) all use
 *	  these functions, so that a value summed here or there rounds the same
 *	  way: the same operations on the same values in the same order give
 *	  the same bits.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_CEILO_STATS_H
#define VSCOPE_CEILO_STATS_H

#include <math.h>

#define VS_STATS_N 6

/* the empty state: nothing counted */
static inline void
vs_stats_init(double *s)
{
	for (int i = 0; i < VS_STATS_N; i++)
		s[i] = 0;
}

/* vs_stats_add takes one value in (NaN is skipped, as NULL is) */
static inline void
vs_stats_add(double *s, double x)
{
	double		n;
	double		delta;

	if (isnan(x))
		return;
	n = s[0] + 1;
	delta = x - s[4];
	s[0] = n;
	s[1] += x;
	s[2] = n == 1 ? x : Min(s[2], x);
	s[3] = n == 1 ? x : Max(s[3], x);
	s[4] += delta / n;
	s[5] += delta * (x - s[4]);
}

/*
 * vs_stats_add_many takes n values in, in order: the very operations of n
 * calls of vs_stats_add, on a state kept in registers meanwhile.
 */
static inline void
vs_stats_add_many(double *s, const double *x, int n)
{
	double		c = s[0];
	double		sum = s[1];
	double		mn = s[2];
	double		mx = s[3];
	double		mean = s[4];
	double		m2 = s[5];

	for (int i = 0; i < n; i++)
	{
		double		v = x[i];
		double		nn;
		double		delta;

		if (isnan(v))
			continue;
		nn = c + 1;
		delta = v - mean;
		c = nn;
		sum += v;
		mn = nn == 1 ? v : Min(mn, v);
		mx = nn == 1 ? v : Max(mx, v);
		mean += delta / nn;
		m2 += delta * (v - mean);
	}
	s[0] = c;
	s[1] = sum;
	s[2] = mn;
	s[3] = mx;
	s[4] = mean;
	s[5] = m2;
}

/*
 * vs_stats_combine merges b into a (a first, then b: the order matters to
 * the last bit).  Merging into an empty state copies b.
 */
static inline void
vs_stats_combine(double *a, const double *b)
{
	double		n;
	double		delta;
	double		v[VS_STATS_N];

	if (b[0] == 0)
		return;
	if (a[0] == 0)
	{
		for (int i = 0; i < VS_STATS_N; i++)
			a[i] = b[i];
		return;
	}
	n = a[0] + b[0];
	delta = b[4] - a[4];
	v[0] = n;
	v[1] = a[1] + b[1];
	v[2] = Min(a[2], b[2]);
	v[3] = Max(a[3], b[3]);
	v[4] = a[4] + delta * b[0] / n;
	v[5] = a[5] + b[5] + delta * delta * a[0] * b[0] / n;
	for (int i = 0; i < VS_STATS_N; i++)
		a[i] = v[i];
}

/*
 * vs_stats_final turns a state into [count, sum, min, max, avg,
 * population stddev]; false when nothing was counted.
 */
static inline bool
vs_stats_final(const double *s, double *out)
{
	if (s[0] == 0)
		return false;
	out[0] = s[0];
	out[1] = s[1];
	out[2] = s[2];
	out[3] = s[3];
	out[4] = s[1] / s[0];
	out[5] = sqrt(Max(s[5], 0) / s[0]);
	return true;
}

#endif							/* VSCOPE_CEILO_STATS_H */
