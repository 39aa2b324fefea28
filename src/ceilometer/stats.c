/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  vscope.sample_stats(value): count, sum, min, max, avg and population
 *	  standard deviation in one pass, as Ceilometer's statistics need them.
 *	  The state is a float8[6] [n, sum, min, max, mean, m2] (Welford), a
 *	  real SQL type so parallel plans and Citus can ship it; the combine
 *	  function merges two states with Chan's formula.  The transition
 *	  updates the state in place when called as an aggregate, as
 *	  PostgreSQL's float8_accum does.
 *
 *-------------------------------------------------------------------------
 */
#include "core/vscope.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

#define NSTATE 6

static double *
StateValues(ArrayType *a, const char *caller)
{
	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != NSTATE || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != FLOAT8OID)
		elog(ERROR, "%s: expected a %d-element float8 array", caller, NSTATE);
	/* no nulls (checked): the data follows the fixed header */
	return (double *) ((char *) a + ARR_OVERHEAD_NONULLS(1));
}

static ArrayType *
NewState(const double *v)
{
	Datum		d[NSTATE];

	for (int i = 0; i < NSTATE; i++)
		d[i] = Float8GetDatumFast(v[i]);
	return construct_array(d, NSTATE, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

VS_FUNCTION_INFO_V1(vscope_stats_accum);

/* vscope_stats_accum adds one value (NULLs and NaN are skipped) */
Datum
vscope_stats_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	double	   *s = StateValues(state, "vscope_stats_accum");
	double		x;
	double		n,
				delta;

	if (PG_ARGISNULL(1))
		PG_RETURN_ARRAYTYPE_P(state);
	x = PG_GETARG_FLOAT8(1);
	if (isnan(x))
		PG_RETURN_ARRAYTYPE_P(state);
	n = s[0] + 1;
	delta = x - s[4];
	if (AggCheckCallContext(fcinfo, NULL))
	{
		/* the state is ours: update it in place */
		s[0] = n;
		s[1] += x;
		s[2] = n == 1 ? x : Min(s[2], x);
		s[3] = n == 1 ? x : Max(s[3], x);
		s[4] += delta / n;
		s[5] += delta * (x - s[4]);
		PG_RETURN_ARRAYTYPE_P(state);
	}
	else
	{
		double		v[NSTATE];

		v[0] = n;
		v[1] = s[1] + x;
		v[2] = n == 1 ? x : Min(s[2], x);
		v[3] = n == 1 ? x : Max(s[3], x);
		v[4] = s[4] + delta / n;
		v[5] = s[5] + delta * (x - v[4]);
		PG_RETURN_ARRAYTYPE_P(NewState(v));
	}
}

VS_FUNCTION_INFO_V1(vscope_stats_combine);

/* vscope_stats_combine merges two partial states (Chan et al.) */
Datum
vscope_stats_combine(PG_FUNCTION_ARGS)
{
	double	   *a = StateValues(PG_GETARG_ARRAYTYPE_P(0), "vscope_stats_combine");
	double	   *b = StateValues(PG_GETARG_ARRAYTYPE_P(1), "vscope_stats_combine");
	double		v[NSTATE];
	double		n,
				delta;

	bool		in_agg = AggCheckCallContext(fcinfo, NULL);

	if (b[0] == 0)
		PG_RETURN_ARRAYTYPE_P(in_agg ? PG_GETARG_ARRAYTYPE_P(0) : NewState(a));
	if (a[0] == 0)
	{
		v[0] = b[0], v[1] = b[1], v[2] = b[2], v[3] = b[3], v[4] = b[4], v[5] = b[5];
	}
	else
	{
		n = a[0] + b[0];
		delta = b[4] - a[4];
		v[0] = n;
		v[1] = a[1] + b[1];
		v[2] = Min(a[2], b[2]);
		v[3] = Max(a[3], b[3]);
		v[4] = a[4] + delta * b[0] / n;
		v[5] = a[5] + b[5] + delta * delta * a[0] * b[0] / n;
	}
	if (in_agg)
	{
		/* the first state is the aggregate's own: update it in place */
		memcpy(a, v, sizeof(v));
		PG_RETURN_ARRAYTYPE_P(PG_GETARG_ARRAYTYPE_P(0));
	}
	PG_RETURN_ARRAYTYPE_P(NewState(v));
}

VS_FUNCTION_INFO_V1(vscope_stats_final);

/*
 * vscope_stats_final returns [count, sum, min, max, avg, stddev]; NULL when
 * nothing was counted (Ceilometer drops empty groups).
 */
Datum
vscope_stats_final(PG_FUNCTION_ARGS)
{
	double	   *s = StateValues(PG_GETARG_ARRAYTYPE_P(0), "vscope_stats_final");
	double		v[NSTATE];

	if (s[0] == 0)
		PG_RETURN_NULL();
	v[0] = s[0];
	v[1] = s[1];
	v[2] = s[2];
	v[3] = s[3];
	v[4] = s[1] / s[0];
	v[5] = sqrt(Max(s[5], 0) / s[0]);	/* population */
	PG_RETURN_ARRAYTYPE_P(NewState(v));
}
