/*-------------------------------------------------------------------------
 *
 * reader.c
 *	  The reader over the row store: one SPI cursor over the points table,
 *	  ordered by (series_id, ts), fetched in batches of VS_READER_BATCH rows
 *	  copied into the reader's own memory context.  The SQL function
 *	  vscope.read_points() exposes it for tests and psql.
 *
 *-------------------------------------------------------------------------
 */
#include "store/reader.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define VS_READER_BATCH 8192

struct VsReader
{
	MemoryContext cxt;
	Portal		portal;
	int32	   *series;			/* this batch, VS_READER_BATCH at most */
	VsPoint    *points;
	int			n;
	int			pos;
	bool		done;
};

static SPIPlanPtr read_plan = NULL;

VsReader *
vs_reader_open(int32 tenant, const int32 *series, int nseries,
			   TimestampTz start, TimestampTz end)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "vscope reader",
											  ALLOCSET_DEFAULT_SIZES);
	VsReader   *r = MemoryContextAllocZero(cxt, sizeof(VsReader));
	Datum	   *d = palloc(sizeof(Datum) * Max(nseries, 1));
	Datum		args[4];

	r->cxt = cxt;
	r->series = MemoryContextAlloc(cxt, sizeof(int32) * VS_READER_BATCH);
	r->points = MemoryContextAlloc(cxt, sizeof(VsPoint) * VS_READER_BATCH);
	for (int i = 0; i < nseries; i++)
		d[i] = Int32GetDatum(series[i]);

	args[0] = Int32GetDatum(tenant);
	args[1] = PointerGetDatum(construct_array(d, nseries, INT4OID, 4, true, TYPALIGN_INT));
	args[2] = TimestampTzGetDatum(start);
	args[3] = TimestampTzGetDatum(end);
	if (read_plan == NULL)
	{
		Oid			types[4] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
		read_plan = VsKeepPlan("SELECT series_id, ts, value, ivalue FROM vscope.points "
							   "WHERE tenant_id = $1 AND series_id = ANY ($2) "
							   "AND ts >= $3 AND ts < $4 ORDER BY series_id, ts",
							   4, types, CURSOR_OPT_GENERIC_PLAN);
	}
	r->portal = SPI_cursor_open(NULL, read_plan, args, NULL, true);
	return r;
}

static void
FetchBatch(VsReader *r)
{
	CHECK_FOR_INTERRUPTS();
	SPI_cursor_fetch(r->portal, true, VS_READER_BATCH);
	r->n = (int) SPI_processed;
	r->pos = 0;
	if (r->n == 0)
		r->done = true;
	for (int i = 0; i < r->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		v;

		r->series[i] = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		r->points[i].ts = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
		v = SPI_getbinval(tup, desc, 3, &isnull);
		if (!isnull)
		{
			r->points[i].is_int = false;
			r->points[i].value = DatumGetFloat8(v);
			r->points[i].ivalue = 0;
		}
		else
		{
			r->points[i].is_int = true;
			r->points[i].ivalue = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
			r->points[i].value = (double) r->points[i].ivalue;
		}
	}
	SPI_freetuptable(SPI_tuptable);
}

bool
vs_reader_next(VsReader *r, int32 *series_id, VsPoint *pt)
{
	if (r->pos >= r->n)
	{
		if (r->done)
			return false;
		FetchBatch(r);
		if (r->done)
			return false;
	}
	*series_id = r->series[r->pos];
	*pt = r->points[r->pos];
	r->pos++;
	return true;
}

void
vs_reader_close(VsReader *r)
{
	SPI_cursor_close(r->portal);
	MemoryContextDelete(r->cxt);
}

VS_FUNCTION_INFO_V1(vscope_read_points);

/*
 * vscope_read_points returns what the reader gives for the current tenant.
 */
Datum
vscope_read_points(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	TimestampTz start = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz end = PG_GETARG_TIMESTAMPTZ(2);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int32	   *series;
	int			nseries = 0;
	int32		tenant = VsRequireTenant();
	VsReader   *r;
	int32		sid;
	VsPoint		pt;

	InitMaterializedSRF(fcinfo, 0);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("series must be a one-dimensional array")));
	deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &nelems);
	series = palloc(sizeof(int32) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
		if (!nulls[i])
			series[nseries++] = DatumGetInt32(elems[i]);

	SPI_connect();
	r = vs_reader_open(tenant, series, nseries, start, end);
	while (vs_reader_next(r, &sid, &pt))
	{
		Datum		values[4];
		bool		isnull[4] = {false, false, false, false};

		values[0] = Int32GetDatum(sid);
		values[1] = TimestampTzGetDatum(pt.ts);
		values[2] = Float8GetDatum(pt.value);
		values[3] = Int64GetDatum(pt.ivalue);
		isnull[2] = pt.is_int;
		isnull[3] = !pt.is_int;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	vs_reader_close(r);
	SPI_finish();
	PG_RETURN_VOID();
}
