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

#include "ceilometer/stats.h"

#define NSTATE VS_STATS_N

static double *
StateValues(ArrayType *a, const char *caller)
{
	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != NSTATE || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the state must be a one-dimensional float8 array of %d elements without nulls",
						caller, NSTATE)));
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
	double		v[NSTATE];

	if (PG_ARGISNULL(1))
		PG_RETURN_ARRAYTYPE_P(state);
	if (AggCheckCallContext(fcinfo, NULL))
	{
		/* the state is ours: update it in place */
		vs_stats_add(s, PG_GETARG_FLOAT8(1));
		PG_RETURN_ARRAYTYPE_P(state);
	}
	memcpy(v, s, sizeof(v));
	vs_stats_add(v, PG_GETARG_FLOAT8(1));
	PG_RETURN_ARRAYTYPE_P(NewState(v));
}

VS_FUNCTION_INFO_V1(vscope_stats_combine);

/* vscope_stats_combine merges two partial states (Chan et al.) */
Datum
vscope_stats_combine(PG_FUNCTION_ARGS)
{
	double	   *a = StateValues(PG_GETARG_ARRAYTYPE_P(0), "vscope_stats_combine");
	double	   *b = StateValues(PG_GETARG_ARRAYTYPE_P(1), "vscope_stats_combine");
	double		v[NSTATE];

	if (AggCheckCallContext(fcinfo, NULL))
	{
		/* the first state is the aggregate's own: update it in place */
		vs_stats_combine(a, b);
		PG_RETURN_ARRAYTYPE_P(PG_GETARG_ARRAYTYPE_P(0));
	}
	memcpy(v, a, sizeof(v));
	vs_stats_combine(v, b);
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

	if (!vs_stats_final(s, v))
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(NewState(v));
}
