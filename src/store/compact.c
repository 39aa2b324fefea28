/*-------------------------------------------------------------------------
 *
 * compact.c
 *	  Moving a UTC day between its two forms: rows in its daily partition
 *	  of vscope.points (the head) and per-series compressed blocks in
 *	  vscope.blocks.  vscope.compress(day) and vscope.decompress(day).
 *
 *	  Both run in the caller's transaction and take the day's partition in
 *	  SHARE ROW EXCLUSIVE mode first: writers to that day wait until the
 *	  transaction ends (readers do not), and two compactions of one day
 *	  run one after the other.  So every statement after the lock sees all
 *	  rows of the day and nothing changes them meanwhile: no point is lost
 *	  or doubled, and a crash rolls everything back.  That holds only
 *	  because the reads are not read-only SPI calls: those would use the
 *	  calling statement's snapshot, older than the lock, miss a writer that
 *	  committed while we waited for it, and then delete its rows with the
 *	  day's (a fresh snapshot is taken for each, after the lock).
 *
 *	  A day may have blocks and rows at once (a write after compaction):
 *	  compress() merges them, the row winning at an equal timestamp, as
 *	  the reader does.  Both functions work across tenants: they run as
 *	  the extension's owner, a superuser, to whom row-level security does
 *	  not apply.
 *
 *-------------------------------------------------------------------------
 */
#include "store/block.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "store/codec.h"
#include "store/store.h"

#define VS_COMPACT_BATCH 4096

/* a (tenant, series) key, ordered like the cursors */
typedef struct SeriesKey
{
	int32		tenant;
	int32		series;
} SeriesKey;

static int
KeyCmp(SeriesKey a, SeriesKey b)
{
	if (a.tenant != b.tenant)
		return a.tenant < b.tenant ? -1 : 1;
	if (a.series != b.series)
		return a.series < b.series ? -1 : 1;
	return 0;
}

/*
 * A cursor read in batches, each batch copied out of SPI's memory (other
 * statements run between fetches) into the stream's own context.
 */
typedef struct RowStream
{
	Portal		portal;
	MemoryContext cxt;
	bool		blocks;			/* rows of vscope.blocks, else of a partition */
	int			n;
	int			pos;
	bool		done;
	SeriesKey  *key;
	TimestampTz *ts;			/* ts, or a block's first_ts */
	bool	   *is_int;
	int64	   *ivalue;
	double	   *value;
	bytea	  **data;
} RowStream;

static void
StreamOpen(RowStream *s, Portal portal, bool blocks, MemoryContext parent)
{
	memset(s, 0, sizeof(RowStream));
	s->portal = portal;
	s->blocks = blocks;
	s->cxt = AllocSetContextCreate(parent, "vscope compaction stream", ALLOCSET_DEFAULT_SIZES);
}

/*
 * StreamFill makes sure the stream has a current row; false at the end.
 */
static bool
StreamFill(RowStream *s)
{
	MemoryContext old;

	if (s->pos < s->n)
		return true;
	if (s->done)
		return false;
	CHECK_FOR_INTERRUPTS();
	SPI_cursor_fetch(s->portal, true, VS_COMPACT_BATCH);
	MemoryContextReset(s->cxt);
	s->n = (int) SPI_processed;
	s->pos = 0;
	if (s->n == 0)
	{
		s->done = true;
		SPI_freetuptable(SPI_tuptable);
		return false;
	}
	old = MemoryContextSwitchTo(s->cxt);
	s->key = palloc(sizeof(SeriesKey) * s->n);
	s->ts = palloc(sizeof(TimestampTz) * s->n);
	if (s->blocks)
		s->data = palloc(sizeof(bytea *) * s->n);
	else
	{
		s->is_int = palloc(sizeof(bool) * s->n);
		s->ivalue = palloc(sizeof(int64) * s->n);
		s->value = palloc(sizeof(double) * s->n);
	}
	for (int i = 0; i < s->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		v;

		s->key[i].tenant = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		s->key[i].series = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		s->ts[i] = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
		if (s->blocks)
		{
			s->data[i] = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 4, &isnull));
			continue;
		}
		v = SPI_getbinval(tup, desc, 4, &isnull);
		s->is_int[i] = isnull;
		if (!isnull)
		{
			s->value[i] = DatumGetFloat8(v);
			s->ivalue[i] = 0;
		}
		else
		{
			s->ivalue[i] = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
			s->value[i] = (double) s->ivalue[i];
		}
	}
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
	return true;
}

/*
 * VsDayRange gives the bounds of a UTC day and the name of its partition of
 * vscope.<parent> (points or samples).
 */
void
VsDayRange(DateADT day, const char *parent, TimestampTz *lo, TimestampTz *hi,
		   char *partname, size_t len)
{
	int			y,
				m,
				d;

	if (DATE_NOT_FINITE(day) || !IS_VALID_DATE(day) ||
		!IS_VALID_TIMESTAMP((int64) day * USECS_PER_DAY + USECS_PER_DAY))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("day must be a finite date within the timestamp range")));
	*lo = (TimestampTz) day * USECS_PER_DAY;
	*hi = *lo + USECS_PER_DAY;
	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	/*
	 * Partitions are named by to_char(day, 'YYYYMMDD'), which has no sign:
	 * a day before year 1 would name another day's partition (found by the
	 * SQL fuzzer: decompress('4713-01-01 BC') ended in an internal error)
	 */
	if (y < 1 || y > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("day must be between the years 1 and 9999")));
	snprintf(partname, len, "%s_%04d%02d%02d", parent, y, m, d);
}

/*
 * VsLockPartition takes a day's partition (vscope.<partname>) in SHARE ROW
 * EXCLUSIVE mode for the rest of the transaction; false when it does not
 * exist.
 */
bool
VsLockPartition(const char *partname)
{
	Oid			nsp = get_namespace_oid("vscope", false);
	char	   *sql;

	if (!OidIsValid(get_relname_relid(partname, nsp)))
		return false;
	sql = psprintf("LOCK TABLE vscope.%s IN SHARE ROW EXCLUSIVE MODE", quote_identifier(partname));
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "locking %s failed", partname);
	return true;
}

static Portal
OpenBlocksCursor(DateADT day)
{
	Oid			types[1] = {DATEOID};
	Datum		args[1] = {DateADTGetDatum(day)};

	return SPI_cursor_open_with_args(NULL,
									 "SELECT tenant_id, series_id, first_ts, data FROM vscope.blocks "
									 "WHERE (first_ts AT TIME ZONE 'UTC')::date = $1 "
									 "ORDER BY tenant_id, series_id, first_ts",
									 1, types, args, NULL, false, 0);
}

/*
 * MergeInto appends to out the points of a (block points) and b (rows),
 * both in time order, b winning at an equal timestamp.
 */
static void
MergeInto(const VsColumns *a, const VsColumns *b, VsColumns *out)
{
	int			i = 0,
				j = 0;

	VsColumnsReserve(out, a->n + b->n);
	while (i < a->n || j < b->n)
	{
		if (j >= b->n || (i < a->n && a->ts[i] < b->ts[j]))
		{
			VsColumnsAppend(out, a->ts[i], a->is_int[i], a->ivalue[i], a->value[i]);
			i++;
		}
		else
		{
			if (i < a->n && a->ts[i] == b->ts[j])
				i++;			/* the row was written later: it wins */
			VsColumnsAppend(out, b->ts[j], b->is_int[j], b->ivalue[j], b->value[j]);
			j++;
		}
	}
}

/*
 * VsLockDay takes the partition of a UTC day as compaction does (SHARE ROW
 * EXCLUSIVE), for the rest of the transaction; false when it has none.
 */
bool
VsLockDay(DateADT day)
{
	TimestampTz lo,
				hi;
	char		partname[32];

	VsDayRange(day, "points", &lo, &hi, partname, sizeof(partname));
	return VsLockPartition(partname);
}

static void
DeleteSeriesBlocks(SeriesKey k, TimestampTz lo, TimestampTz hi)
{
	static SPIPlanPtr plan = NULL;
	Datum		args[4];

	if (plan == NULL)
	{
		Oid			types[4] = {INT4OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID};

		plan = VsKeepPlan("DELETE FROM vscope.blocks WHERE tenant_id = $1 AND series_id = $2 "
						  "AND first_ts >= $3 AND first_ts < $4", 4, types, CURSOR_OPT_GENERIC_PLAN);
	}
	args[0] = Int32GetDatum(k.tenant);
	args[1] = Int32GetDatum(k.series);
	args[2] = TimestampTzGetDatum(lo);
	args[3] = TimestampTzGetDatum(hi);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "deleting old blocks failed");
}

/* VsDeleteSeriesBlocks deletes the blocks of a series starting in [lo, hi) */
void
VsDeleteSeriesBlocks(int32 tenant, int32 series_id, TimestampTz lo, TimestampTz hi)
{
	SeriesKey	k = {tenant, series_id};

	DeleteSeriesBlocks(k, lo, hi);
}

VS_FUNCTION_INFO_V1(vscope_compress);

/*
 * vscope_compress compresses the rows of a day into blocks; returns how many
 * points the day's blocks hold afterwards (0 when the day had no rows).
 */
Datum
vscope_compress(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0);
	TimestampTz lo,
				hi;
	char		partname[32];
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext groupcxt;
	RowStream	head,
				blocks;
	VsColumns	old_pts,
				new_pts,
				merged,
				one;
	int64		total = 0;

	VsDayRange(day, "points", &lo, &hi, partname, sizeof(partname));
	SPI_connect();
	if (!VsLockPartition(partname))
	{
		SPI_finish();
		PG_RETURN_INT64(0);
	}
	if (SPI_execute(psprintf("SELECT FROM vscope.%s LIMIT 1", quote_identifier(partname)),
					false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading %s failed", partname);
	if (SPI_processed == 0)
	{
		SPI_finish();
		PG_RETURN_INT64(0);
	}

	groupcxt = AllocSetContextCreate(callcxt, "vscope compaction group", ALLOCSET_DEFAULT_SIZES);
	StreamOpen(&head, SPI_cursor_open_with_args(NULL,
												psprintf("SELECT tenant_id, series_id, ts, value, ivalue "
														 "FROM vscope.%s ORDER BY tenant_id, series_id, ts",
														 quote_identifier(partname)),
												0, NULL, NULL, NULL, false, 0),
			   false, callcxt);
	StreamOpen(&blocks, OpenBlocksCursor(day), true, callcxt);

	for (;;)
	{
		bool		have_head = StreamFill(&head);
		bool		have_blocks = StreamFill(&blocks);
		SeriesKey	k;
		MemoryContext old;

		if (!have_head && !have_blocks)
			break;
		if (!have_blocks || (have_head && KeyCmp(head.key[head.pos], blocks.key[blocks.pos]) <= 0))
			k = head.key[head.pos];
		else
			k = blocks.key[blocks.pos];

		MemoryContextReset(groupcxt);
		old = MemoryContextSwitchTo(groupcxt);
		VsColumnsInit(&old_pts, 1440);
		VsColumnsInit(&new_pts, 1440);
		VsColumnsInit(&one, 1440);

		/* the series' blocks of the day, in time order: they do not overlap */
		while (StreamFill(&blocks) && KeyCmp(blocks.key[blocks.pos], k) == 0)
		{
			VsBlockDecodeOf(blocks.data[blocks.pos], k.tenant, k.series, blocks.ts[blocks.pos], &one);
			VsColumnsReserve(&old_pts, old_pts.n + one.n);
			for (int i = 0; i < one.n; i++)
				VsColumnsAppend(&old_pts, one.ts[i], one.is_int[i], one.ivalue[i], one.value[i]);
			blocks.pos++;
		}
		/* its rows */
		while (StreamFill(&head) && KeyCmp(head.key[head.pos], k) == 0)
		{
			VsColumnsAppend(&new_pts, head.ts[head.pos], head.is_int[head.pos],
							head.ivalue[head.pos], head.value[head.pos]);
			head.pos++;
		}

		if (new_pts.n == 0)
			total += old_pts.n; /* nothing new for this series */
		else
		{
			VsColumnsInit(&merged, old_pts.n + new_pts.n);
			MergeInto(&old_pts, &new_pts, &merged);
			if (old_pts.n > 0)
				DeleteSeriesBlocks(k, lo, hi);
			VsBlocksWrite(k.tenant, k.series, &merged);
			total += merged.n;
		}
		MemoryContextSwitchTo(old);
	}
	SPI_cursor_close(head.portal);
	SPI_cursor_close(blocks.portal);

	/* every row of the day is in a block now; nobody wrote since the lock */
	if (SPI_execute(psprintf("DELETE FROM vscope.%s", quote_identifier(partname)), false, 0) != SPI_OK_DELETE)
		elog(ERROR, "emptying %s failed", partname);
	SPI_finish();
	MemoryContextDelete(groupcxt);
	PG_RETURN_INT64(total);
}

VS_FUNCTION_INFO_V1(vscope_decompress);

/*
 * vscope_decompress turns the blocks of a day back into rows; rows already
 * there (written after compaction) keep their values.  Returns how many
 * points went back into rows.
 */
Datum
vscope_decompress(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0);
	TimestampTz lo,
				hi;
	char		partname[32];
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext groupcxt;
	RowStream	blocks;
	VsColumns	one;
	SPIPlanPtr	insert;
	int64		total = 0;
	Oid			types[5] = {INT4OID, INT4OID, TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID, INT8ARRAYOID};
	Datum		dayarg;
	Oid			dayargtype = INT4ARRAYOID;
	Datum		unixday;

	VsDayRange(day, "points", &lo, &hi, partname, sizeof(partname));
	SPI_connect();

	/* the day's partition, made now if expiry or nobody made it */
	unixday = Int32GetDatum(day + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE));
	dayarg = PointerGetDatum(construct_array(&unixday, 1, INT4OID, 4, true, TYPALIGN_INT));
	if (SPI_execute_with_args("SELECT vscope._ensure_partitions($1)", 1, &dayargtype, &dayarg,
							  NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "creating the partition of the day failed");
	if (!VsLockPartition(partname))
		elog(ERROR, "partition %s is missing", partname);

	insert = SPI_prepare("INSERT INTO vscope.points (tenant_id, series_id, ts, value, ivalue) "
						 "SELECT $1, $2, unnest($3), unnest($4), unnest($5) "
						 "ON CONFLICT (tenant_id, series_id, ts) DO NOTHING", 5, types);
	if (insert == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));

	groupcxt = AllocSetContextCreate(callcxt, "vscope decompression block", ALLOCSET_DEFAULT_SIZES);
	StreamOpen(&blocks, OpenBlocksCursor(day), true, callcxt);
	while (StreamFill(&blocks))
	{
		MemoryContext old;
		Datum	   *ts,
				   *fv,
				   *iv;
		bool	   *is_int;
		Datum		args[5];

		MemoryContextReset(groupcxt);
		old = MemoryContextSwitchTo(groupcxt);
		VsColumnsInit(&one, 1440);
		VsBlockDecodeOf(blocks.data[blocks.pos], blocks.key[blocks.pos].tenant,
						blocks.key[blocks.pos].series, blocks.ts[blocks.pos], &one);
		ts = palloc(sizeof(Datum) * Max(one.n, 1));
		fv = palloc(sizeof(Datum) * Max(one.n, 1));
		iv = palloc(sizeof(Datum) * Max(one.n, 1));
		is_int = palloc(sizeof(bool) * Max(one.n, 1));
		for (int i = 0; i < one.n; i++)
		{
			ts[i] = TimestampTzGetDatum(one.ts[i]);
			fv[i] = Float8GetDatum(one.value[i]);
			iv[i] = Int64GetDatum(one.ivalue[i]);
			is_int[i] = one.is_int[i] != 0;
		}
		args[0] = Int32GetDatum(blocks.key[blocks.pos].tenant);
		args[1] = Int32GetDatum(blocks.key[blocks.pos].series);
		VsValueArrayArgs(one.n, ts, fv, iv, is_int, args + 2);
		if (SPI_execute_plan(insert, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "writing points back failed");
		total += SPI_processed;
		MemoryContextSwitchTo(old);
		blocks.pos++;
	}
	SPI_cursor_close(blocks.portal);

	{
		Oid			dtypes[1] = {DATEOID};
		Datum		dargs[1] = {DateADTGetDatum(day)};

		if (SPI_execute_with_args("DELETE FROM vscope.blocks WHERE (first_ts AT TIME ZONE 'UTC')::date = $1",
								  1, dtypes, dargs, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "deleting the day's blocks failed");
	}
	SPI_finish();
	MemoryContextDelete(groupcxt);
	PG_RETURN_INT64(total);
}
