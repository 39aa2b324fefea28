/*-------------------------------------------------------------------------
 *
 * delete.c
 *	  vscope.delete_points(series, start_ts, end_ts): the points of some
 *	  series of the current tenant in [start_ts, end_ts) removed from
 *	  both forms of the store, for OpenTSDB's deleting queries.
 *
 *	  In order:
 *	  1. the series' rows of vscope.series_last are locked, in series
 *		 order as every writer takes them (ingest.c): a writer of one of
 *		 these series waits until the delete commits, and a writer holding
 *		 one is waited for, so its points are either all before the delete
 *		 or all after it;
 *	  2. each UTC day with blocks of the series in the range has its
 *		 partition locked as compaction locks it (compact.c), so that no
 *		 compress() or decompress() of that day runs meanwhile; then each
 *		 series' blocks of that day are read again (a fresh snapshot,
 *		 after the lock), decoded, the range's points dropped, and what is
 *		 left written back as blocks of the day by the same code that
 *		 compresses (VsBlocksWrite: summaries and flags made anew);
 *	  3. the head rows in the range are deleted;
 *	  4. a series whose newest point was in the range gets its newest
 *		 remaining point in series_last (found through the reader), or
 *		 loses its row when it has none: writers rely on that row bounding
 *		 every stored point.
 *	  Runs as the extension's owner (SECURITY DEFINER; executable by
 *	  vscope_writer) and names the current tenant in every statement.
 *
 *-------------------------------------------------------------------------
 */
#include "store/block.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "store/reader.h"
#include "store/store.h"

static int
CmpInt32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* SeriesArg is the series ids as an int4[] argument */
static Datum
SeriesArg(const int32 *ids, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int32GetDatum(ids[i]);
	return PointerGetDatum(construct_array(d, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}

/*
 * DeleteFromBlocks removes the points in [lo, hi) from the blocks of the
 * series; returns how many points it removed.
 */
static int64
DeleteFromBlocks(int32 tenant, Datum series, TimestampTz lo, TimestampTz hi)
{
	Oid			types[4] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[4] = {Int32GetDatum(tenant), series, TimestampTzGetDatum(lo), TimestampTzGetDatum(hi)};
	DateADT    *days;
	int			ndays;
	int64		removed = 0;
	MemoryContext daycxt;

	/* the days that have blocks of these series in the range */
	if (SPI_execute_with_args("SELECT DISTINCT (first_ts AT TIME ZONE 'UTC')::date FROM vscope.blocks "
							  "WHERE tenant_id = $1 AND series_id = ANY ($2) AND first_ts < $4 AND last_ts >= $3 "
							  "ORDER BY 1", 4, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "finding the blocks to delete from failed");
	ndays = (int) SPI_processed;
	days = palloc(sizeof(DateADT) * Max(ndays, 1));
	for (int i = 0; i < ndays; i++)
	{
		bool		isnull;

		days[i] = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	/* every such day's partition first, in day order, as compaction takes one */
	for (int d = 0; d < ndays; d++)
		(void) VsLockDay(days[d]);

	daycxt = AllocSetContextCreate(CurrentMemoryContext, "vscope delete day", ALLOCSET_DEFAULT_SIZES);
	for (int d = 0; d < ndays; d++)
	{
		TimestampTz dlo = (TimestampTz) days[d] * USECS_PER_DAY;
		TimestampTz dhi = dlo + USECS_PER_DAY;
		Datum		dargs[4] = {Int32GetDatum(tenant), series, TimestampTzGetDatum(dlo), TimestampTzGetDatum(dhi)};
		uint64		nblocks;
		SPITupleTable *tab;
		uint64		b = 0;

		CHECK_FOR_INTERRUPTS();
		/* read after the lock (not read-only: a snapshot of now) */
		if (SPI_execute_with_args("SELECT series_id, first_ts, data FROM vscope.blocks "
								  "WHERE tenant_id = $1 AND series_id = ANY ($2) AND first_ts >= $3 AND first_ts < $4 "
								  "ORDER BY series_id, first_ts", 4, types, dargs, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading the blocks to delete from failed");
		tab = SPI_tuptable;
		nblocks = SPI_processed;
		while (b < nblocks)
		{
			bool		isnull;
			int32		sid = DatumGetInt32(SPI_getbinval(tab->vals[b], tab->tupdesc, 1, &isnull));
			VsColumns	kept;
			VsColumns	one;
			int64		gone = 0;
			MemoryContext old;

			MemoryContextReset(daycxt);
			old = MemoryContextSwitchTo(daycxt);
			VsColumnsInit(&kept, 1440);
			VsColumnsInit(&one, 1440);
			/* the series' blocks of the day, in time order */
			for (; b < nblocks; b++)
			{
				HeapTuple	tup = tab->vals[b];
				bytea	   *data;

				if (DatumGetInt32(SPI_getbinval(tup, tab->tupdesc, 1, &isnull)) != sid)
					break;
				data = DatumGetByteaPCopy(SPI_getbinval(tup, tab->tupdesc, 3, &isnull));
				VsBlockDecodeOf(data, tenant, sid,
								DatumGetTimestampTz(SPI_getbinval(tup, tab->tupdesc, 2, &isnull)), &one);
				VsColumnsReserve(&kept, kept.n + one.n);
				for (int i = 0; i < one.n; i++)
				{
					if (one.ts[i] >= lo && one.ts[i] < hi)
						gone++;
					else
						VsColumnsAppend(&kept, one.ts[i], one.is_int[i], one.ivalue[i], one.value[i]);
				}
			}
			if (gone > 0)
			{
				/* the day's blocks of the series made again from what is left */
				VsDeleteSeriesBlocks(tenant, sid, dlo, dhi);
				if (kept.n > 0)
					VsBlocksWrite(tenant, sid, &kept);
				removed += gone;
			}
			MemoryContextSwitchTo(old);
		}
		SPI_freetuptable(tab);
	}
	MemoryContextDelete(daycxt);
	return removed;
}

/*
 * RefreshLast gives each series whose newest point was in [lo, hi) its
 * newest remaining point in series_last, or deletes its row.
 */
static void
RefreshLast(int32 tenant, Datum series, TimestampTz lo, TimestampTz hi)
{
	Oid			types[4] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[4] = {Int32GetDatum(tenant), series, TimestampTzGetDatum(lo), TimestampTzGetDatum(hi)};
	int			n;
	int32	   *ids;
	TimestampTz *newest;
	bool	   *none;

	/* the newest stored time of each such series: its rows' or its blocks' */
	if (SPI_execute_with_args("SELECT l.series_id, greatest("
							  "(SELECT max(p.ts) FROM vscope.points p WHERE p.tenant_id = $1 AND p.series_id = l.series_id), "
							  "(SELECT max(b.last_ts) FROM vscope.blocks b WHERE b.tenant_id = $1 AND b.series_id = l.series_id)) "
							  "FROM vscope.series_last l "
							  "WHERE l.tenant_id = $1 AND l.series_id = ANY ($2) AND l.ts >= $3 AND l.ts < $4 "
							  "ORDER BY 1", 4, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "finding the newest points left failed");
	n = (int) SPI_processed;
	ids = palloc(sizeof(int32) * Max(n, 1));
	newest = palloc(sizeof(TimestampTz) * Max(n, 1));
	none = palloc(sizeof(bool) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		newest[i] = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &none[i]));
	}
	SPI_freetuptable(SPI_tuptable);

	for (int i = 0; i < n; i++)
	{
		Oid			utypes[5] = {INT4OID, INT4OID, TIMESTAMPTZOID, FLOAT8OID, INT8OID};
		Datum		uargs[5];
		char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
		VsReader   *r;
		int32		sid;
		VsPoint		pt;
		bool		found = false;

		if (!none[i])
		{
			/* the point at that time, as every reader sees it (a row wins) */
			r = vs_reader_open(tenant, &ids[i], 1, newest[i], newest[i] + 1);
			while (vs_reader_next(r, &sid, &pt))
				found = true;
			vs_reader_close(r);
		}
		uargs[0] = Int32GetDatum(tenant);
		uargs[1] = Int32GetDatum(ids[i]);
		if (!found)
		{
			if (SPI_execute_with_args("DELETE FROM vscope.series_last WHERE tenant_id = $1 AND series_id = $2",
									  2, utypes, uargs, NULL, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "deleting a latest point failed");
			continue;
		}
		uargs[2] = TimestampTzGetDatum(pt.ts);
		uargs[3] = Float8GetDatum(pt.value);
		uargs[4] = Int64GetDatum(pt.ivalue);
		nulls[pt.is_int ? 3 : 4] = 'n';
		if (SPI_execute_with_args("UPDATE vscope.series_last SET ts = $3, value = $4, ivalue = $5 "
								  "WHERE tenant_id = $1 AND series_id = $2",
								  5, utypes, uargs, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "updating a latest point failed");
	}
}

VS_FUNCTION_INFO_V1(vscope_delete_points);

/*
 * vscope_delete_points deletes the current tenant's points of these series
 * in [start_ts, end_ts), from rows and blocks; returns how many stored
 * points it removed (a point written again after its day was compressed
 * is stored twice, in its row and in its block, and counts twice).
 */
Datum
vscope_delete_points(PG_FUNCTION_ARGS)
{
	int32		tenant = VsRequireTenant();
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	TimestampTz lo = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz hi = PG_GETARG_TIMESTAMPTZ(2);
	int			n;
	int			m = 0;
	int32	   *ids = vs_reader_series(arr, &n);
	Datum		series;
	Oid			types[4] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[4];
	int64		removed;

	if (n == 0 || lo >= hi)
		PG_RETURN_INT64(0);
	/* sorted and distinct: the locks are taken in series order */
	qsort(ids, n, sizeof(int32), CmpInt32);
	for (int i = 0; i < n; i++)
		if (m == 0 || ids[m - 1] != ids[i])
			ids[m++] = ids[i];
	series = SeriesArg(ids, m);
	args[0] = Int32GetDatum(tenant);
	args[1] = series;
	args[2] = TimestampTzGetDatum(lo);
	args[3] = TimestampTzGetDatum(hi);

	SPI_connect();
	if (SPI_execute_with_args("SELECT FROM vscope.series_last WHERE tenant_id = $1 AND series_id = ANY ($2) "
							  "ORDER BY series_id FOR UPDATE", 2, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "locking the series failed");
	removed = DeleteFromBlocks(tenant, series, lo, hi);
	if (SPI_execute_with_args("DELETE FROM vscope.points WHERE tenant_id = $1 AND series_id = ANY ($2) "
							  "AND ts >= $3 AND ts < $4", 4, types, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "deleting points failed");
	removed += SPI_processed;
	RefreshLast(tenant, series, lo, hi);
	SPI_finish();
	PG_RETURN_INT64(removed);
}
