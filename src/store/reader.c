/*-------------------------------------------------------------------------
 *
 * reader.c
 *	  The one reader: the points of some series over [start, end), from
 *	  the head (rows of vscope.points) and the compressed blocks
 *	  (vscope.blocks) together.  Two SPI cursors, both in series order: the
 *	  head rows by (series, ts), fetched VS_READER_BATCH at a time, and the
 *	  blocks overlapping the range by (series, first_ts), decoded one at a
 *	  time.  Per series the two are merged in time order, a head row
 *	  winning over a block point at the same timestamp (a write after the
 *	  day was compressed).  The SQL functions vscope.read_points() and
 *	  vscope._read_series() (the datapoints view) expose it.
 *
 *-------------------------------------------------------------------------
 */
#include "store/reader.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "partitioning/partdesc.h"
#include "storage/bufmgr.h"
#include "utils/datetime.h"

#include "store/block.h"
#include "store/store.h"

#define VS_READER_BATCH 8192
#define VS_READER_BLOCK_BATCH 64

struct VsReader
{
	MemoryContext cxt;
	TimestampTz start;
	TimestampTz end;

	/* rows of the head, in (series, ts) order, a batch at a time */
	Portal		head;
	int32	   *h_series;
	VsPoint    *h_points;
	int			h_n;
	int			h_pos;
	bool		h_done;

	/* block rows, in (series, first_ts) order, a batch at a time */
	Portal		blocks;
	MemoryContext b_cxt;		/* the batch's copies of block data */
	int32	   *b_series;
	TimestampTz *b_first;
	bytea	  **b_data;
	VsBlockSummary *b_sum;
	int			b_n;
	int			b_pos;
	bool		b_done;

	/* the series being read, and the points of its current block */
	bool		have_cur;
	int32		cur;
	VsColumns	dec;
	int			d_pos;

	/* summaries for whole blocks inside [sum_lo, sum_hi) (vs_reader_use_summaries) */
	bool		sums;
	TimestampTz sum_lo;
	TimestampTz sum_hi;
	bool		sum_ready;		/* the current series' next block comes as sum */
	VsBlockSummary sum;

	/* a run of one head row (vs_reader_next_run) */
	TimestampTz one_ts;
	uint8		one_is_int;
	int64		one_ivalue;
	double		one_value;
};

static SPIPlanPtr head_plan = NULL;
static SPIPlanPtr blocks_plan = NULL;

/* what this backend's readers have read (vscope.reader_stats()) */
static int64 stat_decoded = 0;
static int64 stat_summarized = 0;
static int64 stat_head = 0;
static int64 stat_points = 0;
static int64 stat_days_probed = 0;
static int64 stat_days_skipped = 0;

static int
Int32Cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* BlocksHaveFlags: does vscope.blocks have its flags column (0.2.1 on)? */
static bool
BlocksHaveFlags(void)
{
	bool		isnull;
	int			ret = SPI_execute("SELECT count(*) FROM pg_catalog.pg_attribute "
								  "WHERE attrelid = 'vscope.blocks'::regclass "
								  "AND attname = 'flags' AND NOT attisdropped",
								  true, 1);

	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "looking up vscope.blocks failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									   1, &isnull)) > 0;
}

/*
 * VsHeadRange narrows [start, end) to the days whose partition of
 * vscope.<parent> (points or samples) has any page at all, into [*hs,
 * *he); false when none has; counts the days probed and skipped.
 * Once a day is compressed its partition is emptied, and once vacuumed it
 * has no page: a long range then costs the head query nothing for it,
 * where it would cost an index probe per series and day.  A partition
 * with pages is read even if they hold nothing visible.  Safe against
 * writers: a row the caller's snapshot can see was written, and its page
 * added, before the snapshot was taken, so before this looks.  A partition
 * not named <parent>_YYYYMMDD (made by hand) keeps the whole range, and
 * so does every partition where Citus is installed: there the rows are in
 * the shards, on the workers, and the partitions here are empty shells.
 */
bool
VsHeadRange(const char *parent_name, TimestampTz start, TimestampTz end,
			TimestampTz *hs, TimestampTz *he, int64 *probed, int64 *skipped)
{
	Oid			nsp = get_namespace_oid("vscope", true);
	Oid			parent = OidIsValid(nsp) ? get_relname_relid(parent_name, nsp) : InvalidOid;
	size_t		plen = strlen(parent_name);
	Relation	rel;
	PartitionDesc pd;
	bool		any = false;
	TimestampTz lo = 0;
	TimestampTz hi = 0;

	*hs = start;
	*he = end;
	if (!OidIsValid(parent) || VsCitusInstalled())
		return true;
	rel = table_open(parent, AccessShareLock);
	pd = RelationGetPartitionDesc(rel, true);
	for (int i = 0; i < pd->nparts; i++)
	{
		char	   *name = get_rel_name(pd->oids[i]);
		int			y,
					m,
					d;
		char		tail;
		TimestampTz day_start;
		TimestampTz day_end;
		Relation	part;
		bool		has_pages;

		if (name == NULL || strncmp(name, parent_name, plen) != 0 ||
			sscanf(name + plen, "_%4d%2d%2d%c", &y, &m, &d, &tail) != 3 ||
			!IS_VALID_JULIAN(y, m, d))
		{
			table_close(rel, NoLock);
			return true;
		}
		day_start = (TimestampTz) (date2j(y, m, d) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY;
		day_end = day_start + USECS_PER_DAY;
		if (day_end <= start || day_start >= end)
			continue;
		part = table_open(pd->oids[i], AccessShareLock);
		has_pages = RelationGetNumberOfBlocks(part) > 0;
		table_close(part, NoLock);
		if (!has_pages)
		{
			(*skipped)++;
			continue;
		}
		(*probed)++;
		if (!any || day_start < lo)
			lo = day_start;
		if (!any || day_end > hi)
			hi = day_end;
		any = true;
	}
	table_close(rel, NoLock);
	if (!any)
		return false;
	*hs = Max(start, lo);
	*he = Min(end, hi);
	return *hs < *he;
}

VsReader *
vs_reader_open(int32 tenant, const int32 *series, int nseries,
			   TimestampTz start, TimestampTz end)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "vscope reader",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	VsReader   *r = palloc0(sizeof(VsReader));
	Datum	   *d = palloc(sizeof(Datum) * Max(nseries, 1));
	int32	   *ids = palloc(sizeof(int32) * Max(nseries, 1));
	int			nids = 0;
	Datum		args[5];
	TimestampTz first_after;

	r->cxt = cxt;
	r->start = start;
	r->end = end;
	r->h_series = palloc(sizeof(int32) * VS_READER_BATCH);
	r->h_points = palloc(sizeof(VsPoint) * VS_READER_BATCH);
	r->b_cxt = AllocSetContextCreate(cxt, "vscope reader blocks", ALLOCSET_DEFAULT_SIZES);
	r->b_series = palloc(sizeof(int32) * VS_READER_BLOCK_BATCH);
	r->b_first = palloc(sizeof(TimestampTz) * VS_READER_BLOCK_BATCH);
	r->b_data = palloc(sizeof(bytea *) * VS_READER_BLOCK_BATCH);
	r->b_sum = palloc(sizeof(VsBlockSummary) * VS_READER_BLOCK_BATCH);
	VsColumnsInit(&r->dec, 1440);

	/* the series once each, in ascending order: the order they come out in */
	memcpy(ids, series, sizeof(int32) * nseries);
	qsort(ids, nseries, sizeof(int32), Int32Cmp);
	for (int i = 0; i < nseries; i++)
		if (i == 0 || ids[i] != ids[i - 1])
			d[nids++] = Int32GetDatum(ids[i]);

	args[0] = Int32GetDatum(tenant);
	args[1] = PointerGetDatum(construct_array(d, nids, INT4OID, 4, true, TYPALIGN_INT));
	args[2] = TimestampTzGetDatum(start);
	args[3] = TimestampTzGetDatum(end);

	/*
	 * A block spans less than 24 hours, so one that reaches start begins
	 * after start - 24h.  Computed here in microseconds: SQL's "- interval
	 * '1 day'" is a calendar day in the session's TimeZone (23 hours across
	 * a DST change, which would skip a block) and fails near the lowest
	 * timestamp.
	 */
	if (TIMESTAMP_NOT_FINITE(start) || start < MIN_TIMESTAMP + USECS_PER_DAY)
		first_after = TIMESTAMP_IS_NOEND(start) ? start : DT_NOBEGIN;
	else
		first_after = start - USECS_PER_DAY;
	args[4] = TimestampTzGetDatum(first_after);
	if (head_plan == NULL)
	{
		Oid			types[4] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};

		/*
		 * Series by series, in the order of the (sorted) array, each read by
		 * its primary key in time order: no sort of the range's points.  A
		 * custom plan: the planner prunes the partitions outside the range
		 * before anything is locked.
		 */
		head_plan = VsKeepPlan("SELECT p.series_id, p.ts, p.value, p.ivalue "
							   "FROM unnest($2) AS s(id) CROSS JOIN LATERAL "
							   "(SELECT series_id, ts, value, ivalue FROM vscope.points "
							   "WHERE tenant_id = $1 AND series_id = s.id "
							   "AND ts >= $3 AND ts < $4 ORDER BY ts) p",
							   4, types, CURSOR_OPT_CUSTOM_PLAN);
	}
	/* (a database not yet updated to 0.2.0 has no blocks: rows only) */
	if (blocks_plan == NULL && VsStoreHasTable("blocks"))
	{
		Oid			types[5] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID};

		/*
		 * A block spans less than a day: the range bounds first_ts both
		 * ways.  Series by series like the head, by the primary key.
		 */
		blocks_plan = VsKeepPlan(psprintf("SELECT b.series_id, b.first_ts, b.data, b.last_ts, "
										  "b.n, b.vmin, b.vmax, b.vsum, %s "
										  "FROM unnest($2) AS s(id) CROSS JOIN LATERAL "
										  "(SELECT * FROM vscope.blocks "
										  "WHERE tenant_id = $1 AND series_id = s.id "
										  "AND first_ts < $4 AND first_ts > $5 "
										  "AND last_ts >= $3 ORDER BY first_ts) b",
										  BlocksHaveFlags() ? "b.flags" : "0::smallint"),
								 5, types, VsDistributedReadOptions(CURSOR_OPT_GENERIC_PLAN));
	}
	MemoryContextSwitchTo(old);
	{
		Datum		hargs[4] = {args[0], args[1], args[2], args[3]};
		TimestampTz hs;
		TimestampTz he;

		if (VsHeadRange("points", start, end, &hs, &he, &stat_days_probed, &stat_days_skipped))
		{
			hargs[2] = TimestampTzGetDatum(hs);
			hargs[3] = TimestampTzGetDatum(he);
			r->head = SPI_cursor_open(NULL, head_plan, hargs, NULL, true);
		}
		else
			r->h_done = true;	/* no day of the range has a row */
	}
	if (blocks_plan != NULL)
		r->blocks = SPI_cursor_open(NULL, blocks_plan, args, NULL, true);
	else
		r->b_done = true;
	return r;
}

/* FetchHead reads the next batch of head rows */
static void
FetchHead(VsReader *r)
{
	CHECK_FOR_INTERRUPTS();
	SPI_cursor_fetch(r->head, true, VS_READER_BATCH);
	r->h_n = (int) SPI_processed;
	r->h_pos = 0;
	stat_head += r->h_n;
	if (r->h_n == 0)
		r->h_done = true;
	for (int i = 0; i < r->h_n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		VsPoint    *pt = &r->h_points[i];
		bool		isnull;
		Datum		v;

		r->h_series[i] = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		pt->ts = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
		v = SPI_getbinval(tup, desc, 3, &isnull);
		if (!isnull)
		{
			pt->is_int = false;
			pt->value = DatumGetFloat8(v);
			pt->ivalue = 0;
		}
		else
		{
			pt->is_int = true;
			pt->ivalue = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
			pt->value = (double) pt->ivalue;
		}
	}
	SPI_freetuptable(SPI_tuptable);
}

/* FetchBlocks reads the next batch of block rows, copying their data */
static void
FetchBlocks(VsReader *r)
{
	MemoryContext old;

	CHECK_FOR_INTERRUPTS();
	SPI_cursor_fetch(r->blocks, true, VS_READER_BLOCK_BATCH);
	MemoryContextReset(r->b_cxt);
	r->b_n = (int) SPI_processed;
	r->b_pos = 0;
	if (r->b_n == 0)
		r->b_done = true;
	old = MemoryContextSwitchTo(r->b_cxt);
	for (int i = 0; i < r->b_n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		VsBlockSummary *sum = &r->b_sum[i];

		r->b_series[i] = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		r->b_first[i] = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
		r->b_data[i] = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 3, &isnull));
		sum->first_ts = r->b_first[i];
		sum->last_ts = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull));
		sum->n = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
		sum->vmin = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &isnull));
		sum->vmax = DatumGetFloat8(SPI_getbinval(tup, desc, 7, &isnull));
		sum->vsum = DatumGetFloat8(SPI_getbinval(tup, desc, 8, &isnull));
		sum->flags = DatumGetInt16(SPI_getbinval(tup, desc, 9, &isnull));
	}
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
}

/* HeadPeek: is there a head row left (fetching if need be)? */
static bool
HeadPeek(VsReader *r)
{
	if (r->h_pos < r->h_n)
		return true;
	if (r->h_done)
		return false;
	FetchHead(r);
	return r->h_pos < r->h_n;
}

/* BlockPeek: is there a block row left (fetching if need be)? */
static bool
BlockPeek(VsReader *r)
{
	if (r->b_pos < r->b_n)
		return true;
	if (r->b_done)
		return false;
	FetchBlocks(r);
	return r->b_pos < r->b_n;
}

/*
 * SummaryUsable: may the current series' block at b_pos be given as its
 * summary?  Only when the block is the series' whole day in whole
 * milliseconds, lies inside [sum_lo, sum_hi), and no head row of the
 * series falls on its UTC day (a later write: then the day's points are
 * the merge, not the block).  Head rows not yet fetched are not looked
 * for: when the batch ends before the day does, the block is decoded.
 */
static bool
SummaryUsable(VsReader *r, int b)
{
	const VsBlockSummary *sum = &r->b_sum[b];
	TimestampTz day_start;
	TimestampTz day_end;
	int			k;

	if (!r->sums ||
		(sum->flags & (VS_BLOCK_WHOLE_DAY | VS_BLOCK_MS)) != (VS_BLOCK_WHOLE_DAY | VS_BLOCK_MS) ||
		sum->first_ts < r->sum_lo || sum->last_ts >= r->sum_hi)
		return false;
	day_start = sum->first_ts - sum->first_ts % USECS_PER_DAY;
	if (sum->first_ts % USECS_PER_DAY < 0)
		day_start -= USECS_PER_DAY;
	day_end = day_start + USECS_PER_DAY;
	for (k = r->h_pos; k < r->h_n; k++)
	{
		if (r->h_series[k] != r->cur || r->h_points[k].ts >= day_end)
			return true;
		if (r->h_points[k].ts >= day_start)
			return false;
	}
	return r->h_done;
}

/*
 * NextBlockPoint makes r->dec[r->d_pos] the current series' next block
 * point inside the range, decoding the series' next block when one is used
 * up, or sets r->sum_ready when that block is to be given as its summary;
 * false when the series has no block left.
 */
static bool
NextBlockPoint(VsReader *r)
{
	for (;;)
	{
		if (r->sum_ready)
			return true;
		if (r->d_pos < r->dec.n)
		{
			if (r->dec.ts[r->d_pos] >= r->end)
				r->d_pos = r->dec.n;	/* the rest of the block is past the range */
			else
				return true;
		}
		if (!BlockPeek(r) || r->b_series[r->b_pos] != r->cur)
			return false;
		if (SummaryUsable(r, r->b_pos))
		{
			r->sum = r->b_sum[r->b_pos++];
			r->sum_ready = true;
			stat_summarized++;
			return true;
		}
		VsBlockDecode(r->b_data[r->b_pos], r->cur, r->b_first[r->b_pos], &r->dec);
		stat_decoded++;
		r->b_pos++;
		r->d_pos = 0;
		while (r->d_pos < r->dec.n && r->dec.ts[r->d_pos] < r->start)
			r->d_pos++;
	}
}

/*
 * NextSource moves to where the next point comes from: the current
 * series' next block point (*have_block) and/or its next head row
 * (*have_head), going on to the next series when one is used up; false at
 * the end.
 */
static bool
NextSource(VsReader *r, bool *have_block, bool *have_head)
{
	for (;;)
	{
		if (!r->have_cur)
		{
			bool		h = HeadPeek(r);
			bool		b = BlockPeek(r);

			if (!h && !b)
				return false;
			if (h && (!b || r->h_series[r->h_pos] <= r->b_series[r->b_pos]))
				r->cur = r->h_series[r->h_pos];
			else
				r->cur = r->b_series[r->b_pos];
			r->have_cur = true;
			r->dec.n = 0;
			r->d_pos = 0;
		}
		*have_block = NextBlockPoint(r);
		*have_head = HeadPeek(r) && r->h_series[r->h_pos] == r->cur;
		if (*have_block || *have_head)
			return true;
		r->have_cur = false;
	}
}

/*
 * vs_reader_next merges, series by series, the points of the blocks and the
 * head rows; at an equal timestamp the head row (written later) wins.
 */
bool
vs_reader_next(VsReader *r, int32 *series_id, VsPoint *pt)
{
	bool		have_block;
	bool		have_head;

	Assert(!r->sums);
	if (!NextSource(r, &have_block, &have_head))
		return false;
	*series_id = r->cur;
	stat_points++;
	if (have_head &&
		(!have_block || r->h_points[r->h_pos].ts <= r->dec.ts[r->d_pos]))
	{
		if (have_block && r->h_points[r->h_pos].ts == r->dec.ts[r->d_pos])
			r->d_pos++;			/* overwritten after compaction */
		*pt = r->h_points[r->h_pos++];
	}
	else
	{
		int			i = r->d_pos++;

		pt->ts = r->dec.ts[i];
		pt->is_int = r->dec.is_int[i] != 0;
		pt->ivalue = r->dec.ivalue[i];
		pt->value = r->dec.value[i];
	}
	return true;
}

/*
 * vs_reader_next_run is vs_reader_next by the run: the longest stretch of
 * the current block's points that no head row interleaves, or else one
 * point.  The arrays stay valid until the next call.
 */
bool
vs_reader_next_run(VsReader *r, int32 *series_id, VsPointRun *run)
{
	bool		have_block;
	bool		have_head;
	TimestampTz limit;
	int			k;

	if (!NextSource(r, &have_block, &have_head))
		return false;
	*series_id = r->cur;
	run->summary = NULL;
	if (r->sum_ready && (!have_head || r->sum.first_ts < r->h_points[r->h_pos].ts))
	{
		/* a whole block as its summary (no head row falls on its day) */
		r->sum_ready = false;
		run->n = r->sum.n;
		run->ts = NULL;
		run->is_int = NULL;
		run->ivalue = NULL;
		run->value = NULL;
		run->summary = &r->sum;
		stat_points += run->n;
		return true;
	}
	if (r->sum_ready)
		have_block = false;		/* head rows of earlier days come first */
	if (have_block &&
		(!have_head || r->dec.ts[r->d_pos] < r->h_points[r->h_pos].ts))
	{
		/* block points up to the next head row of the series, or the end */
		limit = have_head ? Min(r->h_points[r->h_pos].ts, r->end) : r->end;
		k = r->d_pos;
		while (k < r->dec.n && r->dec.ts[k] < limit)
			k++;
		run->n = k - r->d_pos;
		run->ts = r->dec.ts + r->d_pos;
		run->is_int = r->dec.is_int + r->d_pos;
		run->ivalue = r->dec.ivalue + r->d_pos;
		run->value = r->dec.value + r->d_pos;
		r->d_pos = k;
		stat_points += run->n;
		return true;
	}
	/* one head row (which wins over a block point at the same time) */
	if (have_block && r->dec.ts[r->d_pos] == r->h_points[r->h_pos].ts)
		r->d_pos++;
	r->one_ts = r->h_points[r->h_pos].ts;
	r->one_is_int = r->h_points[r->h_pos].is_int ? 1 : 0;
	r->one_ivalue = r->h_points[r->h_pos].ivalue;
	r->one_value = r->h_points[r->h_pos].value;
	r->h_pos++;
	run->n = 1;
	run->ts = &r->one_ts;
	run->is_int = &r->one_is_int;
	run->ivalue = &r->one_ivalue;
	run->value = &r->one_value;
	stat_points++;
	return true;
}

/*
 * vs_reader_use_summaries lets vs_reader_next_run give a whole block as
 * its summary when the block lies inside [lo, hi) and is, alone, all the
 * points of its series and UTC day that the reader would give.
 */
void
vs_reader_use_summaries(VsReader *r, TimestampTz lo, TimestampTz hi)
{
	r->sums = true;
	r->sum_lo = Max(lo, r->start);
	r->sum_hi = Min(hi, r->end);
}

void
vs_reader_close(VsReader *r)
{
	if (r->head != NULL)
		SPI_cursor_close(r->head);
	if (r->blocks != NULL)
		SPI_cursor_close(r->blocks);
	MemoryContextDelete(r->cxt);
}

/*
 * vs_reader_series: the series ids of read_points()' array argument, NULL
 * elements left out.
 */
int32 *
vs_reader_series(ArrayType *arr, int *nseries)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int32	   *series;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("series must be a one-dimensional array")));
	deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &nelems);
	series = palloc(sizeof(int32) * Max(nelems, 1));
	*nseries = 0;
	for (int i = 0; i < nelems; i++)
		if (!nulls[i])
			series[(*nseries)++] = DatumGetInt32(elems[i]);
	return series;
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
	int			nseries;
	int32	   *series;
	int32		tenant = VsRequireTenant();
	VsReader   *r;
	int32		sid;
	VsPoint		pt;

	InitMaterializedSRF(fcinfo, 0);
	series = vs_reader_series(arr, &nseries);
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

VS_FUNCTION_INFO_V1(vscope_read_series);

/*
 * vscope_read_series returns the points of one series of a tenant in
 * [start, end), for the datapoints view (whose bounds on ts planner.c
 * passes in).  The tenant comes
 * from the series row the view joins; row-level security on points and
 * blocks still decides what the caller sees, so naming another tenant
 * yields nothing.
 */
Datum
vscope_read_series(PG_FUNCTION_ARGS)
{
	int32		tenant = PG_GETARG_INT32(0);
	int32		series = PG_GETARG_INT32(1);
	TimestampTz start = PG_GETARG_TIMESTAMPTZ(2);
	TimestampTz end = PG_GETARG_TIMESTAMPTZ(3);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	VsReader   *r;
	int32		sid;
	VsPoint		pt;

	InitMaterializedSRF(fcinfo, 0);
	if (start >= end)
		PG_RETURN_VOID();
	SPI_connect();
	r = vs_reader_open(tenant, &series, 1, start, end);
	while (vs_reader_next(r, &sid, &pt))
	{
		Datum		values[3];
		bool		isnull[3] = {false, false, false};

		values[0] = TimestampTzGetDatum(pt.ts);
		values[1] = Float8GetDatum(pt.value);
		values[2] = Int64GetDatum(pt.ivalue);
		isnull[1] = pt.is_int;
		isnull[2] = !pt.is_int;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	vs_reader_close(r);
	SPI_finish();
	PG_RETURN_VOID();
}

VS_FUNCTION_INFO_V1(vscope_reader_stats);

/*
 * vscope_reader_stats: what this backend's readers have read so far.
 */
Datum
vscope_reader_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[6];
	bool		isnull[6] = {false, false, false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int64GetDatum(stat_decoded);
	values[1] = Int64GetDatum(stat_summarized);
	values[2] = Int64GetDatum(stat_head);
	values[3] = Int64GetDatum(stat_points);
	values[4] = Int64GetDatum(stat_days_probed);
	values[5] = Int64GetDatum(stat_days_skipped);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, isnull)));
}
