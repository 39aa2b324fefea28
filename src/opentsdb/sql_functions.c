/*-------------------------------------------------------------------------
 *
 * sql_functions.c
 *	  OpenTSDB's building blocks as plain SQL, for BI tools that do not
 *	  speak OpenTSDB:
 *	  - vscope.downsample(series, start, end, spec[, timezone]): the
 *		downsampled points of each series, the same buckets and fill as
 *		/api/query;
 *	  - vscope.percentile / percentile_r3 / percentile_r7 (value, p): the
 *		percentile estimators of OpenTSDB's pNN and epNNr3/r7, as ordinary
 *		aggregates (GROUP BY, window, parallel).  Their state is a float8[]
 *		[p, v1, v2, ...], grown in place as an expanded array in the
 *		aggregate's context; the combine function concatenates.
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/opentsdb.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

#include "store/reader.h"

#define UNIX_EPOCH_MS_OFFSET \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000)

static int
CmpInt32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

VS_FUNCTION_INFO_V1(vscope_downsample);

/*
 * vscope_downsample returns (series_id, ts, value) for each series in
 * [start, end]: buckets of the spec ("<interval>-<agg>[-<fill>]"), epoch
 * aligned (or calendar with a "c" interval, in the timezone), fill values
 * included; NaN fills are NULL with "-null", NaN otherwise.
 */
Datum
vscope_downsample(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	TimestampTz start;
	TimestampTz end;
	char	   *spec;
	char	   *tz;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TsDownsample ds;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int32	   *ids;
	int			nids = 0;
	int64		s_ms;
	int64		e_ms;
	int64		from;
	int64		to;
	MemoryContext series_cxt;
	int32		tenant;
	VsReader   *r;
	int32		sid;
	VsPoint		pt;
	int32		cur = -1;
	TsSeries	raw = {0};

	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							errmsg("series, start, end and spec must not be null")));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	start = PG_GETARG_TIMESTAMPTZ(1);
	end = PG_GETARG_TIMESTAMPTZ(2);
	spec = text_to_cstring(PG_GETARG_TEXT_PP(3));
	tz = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	tenant = VsRequireTenant();
	InitMaterializedSRF(fcinfo, 0);

	if (TIMESTAMP_NOT_FINITE(start) || TIMESTAMP_NOT_FINITE(end))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("start and end must be finite")));
	if (end < start)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("end must not be before start")));
	ts_parse_downsample(spec, &ds, false);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						errmsg("series must be a one-dimensional array")));
	deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &nelems);
	ids = palloc(sizeof(int32) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
		if (!nulls[i])
			ids[nids++] = DatumGetInt32(elems[i]);
	qsort(ids, nids, sizeof(int32), CmpInt32);

	s_ms = start / 1000 + UNIX_EPOCH_MS_OFFSET;
	e_ms = end / 1000 + UNIX_EPOCH_MS_OFFSET;
	if (!ds.all &&
		(((double) e_ms - (double) s_ms) / (double) ds.interval + 2) * Max(nids, 1) > vs_max_buckets)
		ereport(ERROR,
				(errcode(ERRCODE_VS_BAD_REQUEST),
				 errmsg("downsampling '%s' over this range makes too many buckets", spec),
				 errdetail("At most %d over all the series (vscope.max_buckets).", vs_max_buckets)));
	/* read the whole buckets at both ends, no more: the rule of /api/query */
	ts_downsample_set_zone(&ds, tz);
	ts_downsample_range(&ds, s_ms, e_ms, &from, &to);
	/* what one series needs while it is downsampled is freed before the next */
	series_cxt = AllocSetContextCreate(CurrentMemoryContext, "vscope.downsample series",
									   ALLOCSET_DEFAULT_SIZES);

	SPI_connect();
	r = vs_reader_open(tenant, ids, nids, (from - UNIX_EPOCH_MS_OFFSET) * 1000,
					   (to - UNIX_EPOCH_MS_OFFSET) * 1000);
	for (;;)
	{
		bool		more = vs_reader_next(r, &sid, &pt);

		if (cur >= 0 && (!more || sid != cur))
		{
			MemoryContext old = MemoryContextSwitchTo(series_cxt);
			TsSeries	out = {0};

			ts_downsample(&raw, &ds, s_ms, e_ms, tz, &out);
			for (int k = 0; k < out.n; k++)
			{
				Datum		values[3];
				bool		isnull[3] = {false, false, false};

				if (out.p[k].ts < s_ms || out.p[k].ts > e_ms)
					continue;
				values[0] = Int32GetDatum(cur);
				values[1] = TimestampTzGetDatum((out.p[k].ts - UNIX_EPOCH_MS_OFFSET) * 1000);
				values[2] = Float8GetDatum(out.p[k].d);
				isnull[2] = isnan(out.p[k].d) && ds.fill == FILL_NULL;
				/* (the tuplestore copies the row into its own context) */
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(series_cxt);
			raw.n = 0;
		}
		if (!more)
			break;
		cur = sid;
		{
			TsPoint		tp = {.ts = pt.ts / 1000 + UNIX_EPOCH_MS_OFFSET, .is_int = pt.is_int,
			.i = pt.ivalue, .d = pt.value};

			ts_append(&raw, tp);
		}
	}
	vs_reader_close(r);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ---- percentile aggregates ---- */

/*
 * PctCheckSize refuses a percentile state of more than
 * vscope.percentile_max_values values: the state keeps every value (an exact
 * percentile, as OpenTSDB computes it, needs them all), so it is bounded by
 * a documented cap rather than left to grow to PostgreSQL's 1 GB limit.
 */
static void
PctCheckSize(int64 nvalues)
{
	if (nvalues > vs_pct_max_values)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a percentile may rank at most %d values (vscope.percentile_max_values)",
						vs_pct_max_values),
				 errdetail("An exact percentile keeps every value of its group in memory, about 40 bytes each."),
				 errhint("Downsample first (a pNN downsampler ranks each interval on its own), "
						 "query a shorter time range or fewer series, or raise vscope.percentile_max_values.")));
}

VS_FUNCTION_INFO_V1(vscope_pct_accum);

/*
 * vscope_pct_accum appends a value to the state [p, v1, ...]; NULL values
 * are skipped.  p is checked once, when the state is made.
 */
Datum
vscope_pct_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	Datum		state;
	ExpandedArrayHeader *eah;
	int			idx;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called by an aggregate", "vscope_pct_accum"),
				 errhint("Use the aggregate vscope.percentile().")));
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (PG_ARGISNULL(0))
	{
		float8		p;

		if (PG_ARGISNULL(2))
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							errmsg("the percentile must not be null")));
		p = PG_GETARG_FLOAT8(2);
		if (isnan(p) || p < 0 || p > 100)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("percentile %g is out of range", p),
							errdetail("A percentile is between 0 and 100, as in OpenTSDB's p50 and p999 (99.9).")));
		eah = construct_empty_expanded_array(FLOAT8OID, aggcxt, NULL);
		state = EOHPGetRWDatum(&eah->hdr);
		idx = 1;
		state = array_set_element(state, 1, &idx, Float8GetDatum(p), false,
								  -1, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	}
	else
	{
		state = PG_GETARG_DATUM(0);
		/* a state flattened by the combine step is expanded again, here */
		if (!VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(state)))
			state = expand_array(state, aggcxt, NULL);
	}
	eah = (ExpandedArrayHeader *) DatumGetEOHP(state);
	idx = eah->ndims == 0 ? 1 : eah->lbound[0] + eah->dims[0];
	/* element 1 is p: idx - 1 values once this one is in */
	PctCheckSize((int64) idx - 1);
	/* on a read-write expanded array this appends in place */
	state = array_set_element(state, 1, &idx, PG_GETARG_DATUM(1), false,
							  -1, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	PG_RETURN_DATUM(state);
}

VS_FUNCTION_INFO_V1(vscope_pct_combine);

/* vscope_pct_combine concatenates two states, keeping one p */
Datum
vscope_pct_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	ArrayType  *a;
	ArrayType  *b;
	Datum	   *av,
			   *bv,
			   *all;
	int			na,
				nb;
	ArrayType  *res;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called by an aggregate", "vscope_pct_combine"),
				 errhint("Use the aggregate vscope.percentile().")));
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	old = MemoryContextSwitchTo(aggcxt);
	b = PG_GETARG_ARRAYTYPE_P_COPY(1);
	if (PG_ARGISNULL(0))
	{
		MemoryContextSwitchTo(old);
		PG_RETURN_ARRAYTYPE_P(b);
	}
	a = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &av, NULL, &na);
	deconstruct_array(b, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &bv, NULL, &nb);
	PctCheckSize((int64) Max(na - 1, 0) + Max(nb - 1, 0));
	all = palloc(sizeof(Datum) * (na + nb));
	memcpy(all, av, sizeof(Datum) * na);
	if (nb > 1)
		memcpy(all + na, bv + 1, sizeof(Datum) * (nb - 1));
	res = construct_array(all, na + Max(nb - 1, 0), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	MemoryContextSwitchTo(old);
	PG_RETURN_ARRAYTYPE_P(res);
}

static Datum
PctFinal(FunctionCallInfo fcinfo, TsAggKind how)
{
	ArrayType  *a;
	Datum	   *elems;
	int			n;
	double	   *v;
	TsAgg		agg = {.name = "percentile", .kind = how, .interp = INTERP_LERP};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	a = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, NULL, &n);
	if (n < 2)
		PG_RETURN_NULL();
	agg.pct = DatumGetFloat8(elems[0]);
	/* the state's first element is the percentile, checked by the
	 * transition; a state made by hand is checked here (the SQL fuzzer
	 * found a NaN one crashing the backend) */
	if (isnan(agg.pct) || agg.pct < 0 || agg.pct > 100)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("percentile %g is out of range", agg.pct),
				 errdetail("The first element of a percentile state is the percentile, between 0 and 100.")));
	v = palloc(sizeof(double) * (n - 1));
	for (int i = 1; i < n; i++)
		v[i - 1] = DatumGetFloat8(elems[i]);
	if (how == AGG_PCT)
		PG_RETURN_FLOAT8(ts_agg_double(&agg, v, n - 1));
	/* are OpenTSDB's integer-variant estimators; here on doubles */
	PG_RETURN_FLOAT8(ts_percentile(v, n - 1, agg.pct, how));
}

VS_FUNCTION_INFO_V1(vscope_pct_final_legacy);
Datum
vscope_pct_final_legacy(PG_FUNCTION_ARGS)
{
	return PctFinal(fcinfo, AGG_PCT);
}

VS_FUNCTION_INFO_V1(vscope_pct_final_r3);
Datum
vscope_pct_final_r3(PG_FUNCTION_ARGS)
{
	return PctFinal(fcinfo, AGG_EPCT_R3);
}

VS_FUNCTION_INFO_V1(vscope_pct_final_r7);
Datum
vscope_pct_final_r7(PG_FUNCTION_ARGS)
{
	return PctFinal(fcinfo, AGG_EPCT_R7);
}
