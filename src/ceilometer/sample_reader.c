/*-------------------------------------------------------------------------
 *
 * sample_reader.c
 *	  The samples reader: the Ceilometer samples of some series over
 *	  [start, end), from the head (rows of vscope.samples) and the blocks
 *	  (vscope.sample_blocks) together, series by series in (ts, seq) order;
 *	  at an equal key a row wins over a block sample (a write after the
 *	  day was compressed).  Built like the points reader (store/reader.c):
 *	  two SPI cursors in series order, a block decoded at a time, and for
 *	  the statistics a block given as its summary when that stands for it.
 *
 *	  The SQL functions on top of it: vscope._ceilo_read_samples() (the
 *	  samples of some series, or the newest few), vscope._ceilo_read_series()
 *	  (the ceilometer_samples view), vscope._ceilo_sample_bounds() (first
 *	  and last sample of each series within a range) and
 *	  vscope.sample_reader_stats().
 *
 *-------------------------------------------------------------------------
 */
#include "ceilometer/samples.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"

#include "store/reader.h"
#include "store/store.h"

#define VS_SREADER_BATCH 8192
#define VS_SREADER_BLOCK_BATCH 64

struct VsSampleReader
{
	MemoryContext cxt;
	TimestampTz start;
	TimestampTz end;

	/* head rows in (series, ts, seq) order, a batch at a time */
	Portal		head;
	int32	   *h_series;
	TimestampTz *h_ts;
	int32	   *h_seq;
	double	   *h_volume;
	TimestampTz *h_recorded;
	int			h_n;
	int			h_pos;
	bool		h_done;

	/* block rows in (series, first_ts) order, a batch at a time */
	Portal		blocks;
	MemoryContext b_cxt;
	int32	   *b_series;
	bytea	  **b_data;
	bytea	  **b_extra;
	VsSampleSummary *b_sum;
	int			b_n;
	int			b_pos;
	bool		b_done;

	/* the series being read and its current block's samples */
	bool		have_cur;
	int32		cur;
	VsSampleColumns dec;
	int			d_pos;

	/* summaries (vs_sreader_use_summaries), or extents (bounds only) */
	bool		sums;
	bool		extents;
	int64		period;
	TimestampTz origin;
	bool		sum_ready;
	VsSampleSummary sum;

	/* a run of one head row */
	TimestampTz one_ts;
	int32		one_seq;
	double		one_volume;
	TimestampTz one_recorded;
};

static SPIPlanPtr head_plan = NULL;
static SPIPlanPtr blocks_plan = NULL;

/* what this backend's samples readers have read (vscope.sample_reader_stats()) */
static int64 stat_decoded = 0;
static int64 stat_summarized = 0;
static int64 stat_head = 0;
static int64 stat_samples = 0;
static int64 stat_days_probed = 0;
static int64 stat_days_skipped = 0;

static int
Int32Cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* VsAfter: the exclusive end of an inclusive upper bound */
TimestampTz
VsAfter(TimestampTz hi)
{
	if (TIMESTAMP_NOT_FINITE(hi) || hi >= END_TIMESTAMP - 1)
		return TIMESTAMP_IS_NOBEGIN(hi) ? hi : DT_NOEND;
	return hi + 1;
}

/*
 * VsBucketOf is date_bin(period microseconds, ts, origin): the start of the
 * bucket of ts on the grid from origin.  Computed here when ts is at or
 * after origin (as date_bin does: origin + the difference less its
 * remainder); otherwise, or if the difference overflows, by date_bin
 * itself.
 */
TimestampTz
VsBucketOf(TimestampTz ts, int64 period, TimestampTz origin)
{
	int64		diff;

	if (ts >= origin && !pg_sub_s64_overflow(ts, origin, &diff) &&
		!TIMESTAMP_NOT_FINITE(ts) && !TIMESTAMP_NOT_FINITE(origin))
		return origin + (diff - diff % period);
	{
		Interval   *stride = palloc0(sizeof(Interval));

		stride->time = period;
		return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_bin, IntervalPGetDatum(stride),
													   TimestampTzGetDatum(ts),
													   TimestampTzGetDatum(origin)));
	}
}

/* the first microsecond of ts's UTC day */
static inline TimestampTz
DayStart(TimestampTz ts)
{
	TimestampTz d = ts - ts % USECS_PER_DAY;

	if (ts % USECS_PER_DAY < 0)
		d -= USECS_PER_DAY;
	return d;
}

/* ReaderOpen opens a reader, of the head rows too or of the blocks only */
static VsSampleReader *
ReaderOpen(int32 tenant, const int32 *series, int nseries, TimestampTz start, TimestampTz end,
		   bool with_head)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "vscope samples reader",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	VsSampleReader *r = palloc0(sizeof(VsSampleReader));
	Datum	   *d = palloc(sizeof(Datum) * Max(nseries, 1));
	int32	   *ids = palloc(sizeof(int32) * Max(nseries, 1));
	int			nids = 0;
	Datum		args[5];
	TimestampTz first_after;
	TimestampTz hs;
	TimestampTz he;

	r->cxt = cxt;
	r->start = start;
	r->end = end;
	r->h_series = palloc(sizeof(int32) * VS_SREADER_BATCH);
	r->h_ts = palloc(sizeof(TimestampTz) * VS_SREADER_BATCH);
	r->h_seq = palloc(sizeof(int32) * VS_SREADER_BATCH);
	r->h_volume = palloc(sizeof(double) * VS_SREADER_BATCH);
	r->h_recorded = palloc(sizeof(TimestampTz) * VS_SREADER_BATCH);
	r->b_cxt = AllocSetContextCreate(cxt, "vscope samples reader blocks", ALLOCSET_DEFAULT_SIZES);
	r->b_series = palloc(sizeof(int32) * VS_SREADER_BLOCK_BATCH);
	r->b_data = palloc(sizeof(bytea *) * VS_SREADER_BLOCK_BATCH);
	r->b_extra = palloc(sizeof(bytea *) * VS_SREADER_BLOCK_BATCH);
	r->b_sum = palloc(sizeof(VsSampleSummary) * VS_SREADER_BLOCK_BATCH);
	VsSampleColumnsInit(&r->dec, 1440);

	memcpy(ids, series, sizeof(int32) * nseries);
	qsort(ids, nseries, sizeof(int32), Int32Cmp);
	for (int i = 0; i < nseries; i++)
		if (i == 0 || ids[i] != ids[i - 1])
			d[nids++] = Int32GetDatum(ids[i]);

	args[0] = Int32GetDatum(tenant);
	args[1] = PointerGetDatum(construct_array(d, nids, INT4OID, 4, true, TYPALIGN_INT));
	args[2] = TimestampTzGetDatum(start);
	args[3] = TimestampTzGetDatum(end);
	/* a block lies within a UTC day: one that reaches start began after start - 24h */
	if (TIMESTAMP_NOT_FINITE(start) || start < MIN_TIMESTAMP + USECS_PER_DAY)
		first_after = TIMESTAMP_IS_NOEND(start) ? start : DT_NOBEGIN;
	else
		first_after = start - USECS_PER_DAY;
	args[4] = TimestampTzGetDatum(first_after);

	if (head_plan == NULL)
	{
		Oid			types[4] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};

		/* series by series, each by its primary key; a custom plan (pruned) */
		head_plan = VsKeepPlan("SELECT x.series_id, x.ts, x.seq, x.volume, x.recorded_at "
							   "FROM unnest($2) AS s(id) CROSS JOIN LATERAL "
							   "(SELECT series_id, ts, seq, volume, recorded_at FROM vscope.samples "
							   "WHERE tenant_id = $1 AND series_id = s.id "
							   "AND ts >= $3 AND ts < $4 ORDER BY ts, seq) x",
							   4, types, CURSOR_OPT_CUSTOM_PLAN);
	}
	if (blocks_plan == NULL)
	{
		Oid			types[5] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID};

		blocks_plan = VsKeepPlan("SELECT b.series_id, b.first_ts, b.last_ts, b.n, b.flags, b.vsum, "
								 "b.vmin, b.vmax, b.vmean, b.vm2, b.data, b.extra "
								 "FROM unnest($2) AS s(id) CROSS JOIN LATERAL "
								 "(SELECT * FROM vscope.sample_blocks "
								 "WHERE tenant_id = $1 AND series_id = s.id "
								 "AND first_ts < $4 AND first_ts > $5 "
								 "AND last_ts >= $3 ORDER BY first_ts) b",
								 5, types, VsDistributedReadOptions(CURSOR_OPT_GENERIC_PLAN));
	}
	MemoryContextSwitchTo(old);
	if (with_head && nids > 0 && start < end &&
		VsHeadRange("samples", start, end, &hs, &he, &stat_days_probed, &stat_days_skipped))
	{
		Datum		hargs[4] = {args[0], args[1], TimestampTzGetDatum(hs), TimestampTzGetDatum(he)};

		r->head = SPI_cursor_open(NULL, head_plan, hargs, NULL, true);
	}
	else
		r->h_done = true;
	if (nids > 0 && start < end)
		r->blocks = SPI_cursor_open(NULL, blocks_plan, args, NULL, true);
	else
		r->b_done = true;
	return r;
}

VsSampleReader *
vs_sreader_open(int32 tenant, const int32 *series, int nseries, TimestampTz start, TimestampTz end)
{
	return ReaderOpen(tenant, series, nseries, start, end, true);
}

static void
FetchHead(VsSampleReader *r)
{
	CHECK_FOR_INTERRUPTS();
	SPI_cursor_fetch(r->head, true, VS_SREADER_BATCH);
	r->h_n = (int) SPI_processed;
	r->h_pos = 0;
	stat_head += r->h_n;
	if (r->h_n == 0)
		r->h_done = true;
	for (int i = 0; i < r->h_n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		r->h_series[i] = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		r->h_ts[i] = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
		r->h_seq[i] = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		r->h_volume[i] = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
		r->h_recorded[i] = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
}

static void
FetchBlocks(VsSampleReader *r)
{
	MemoryContext old;

	CHECK_FOR_INTERRUPTS();
	SPI_cursor_fetch(r->blocks, true, VS_SREADER_BLOCK_BATCH);
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
		VsSampleSummary *sum = &r->b_sum[i];

		r->b_series[i] = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		sum->first_ts = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
		sum->last_ts = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
		sum->n = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		sum->flags = DatumGetInt16(SPI_getbinval(tup, desc, 5, &isnull));
		sum->st[0] = sum->n;
		for (int k = 1; k < VS_STATS_N; k++)
			sum->st[k] = DatumGetFloat8(SPI_getbinval(tup, desc, 5 + k, &isnull));
		r->b_data[i] = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 11, &isnull));
		r->b_extra[i] = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 12, &isnull));
	}
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
}

static bool
HeadPeek(VsSampleReader *r)
{
	if (r->h_pos < r->h_n)
		return true;
	if (r->h_done)
		return false;
	FetchHead(r);
	return r->h_pos < r->h_n;
}

static bool
BlockPeek(VsSampleReader *r)
{
	if (r->b_pos < r->b_n)
		return true;
	if (r->b_done)
		return false;
	FetchBlocks(r);
	return r->b_pos < r->b_n;
}

/*
 * SummaryUsable: may the current series' block at b come as its summary?
 * For extents, whenever it lies inside the range.  For statistics, when it
 * is the series' whole UTC day, every volume a number, inside the range,
 * its samples in one bucket, and no head row of the series falls on its
 * day (head rows not fetched yet are not looked for: when the batch ends
 * before the day does, the block is decoded).
 */
static bool
SummaryUsable(VsSampleReader *r, int b)
{
	const VsSampleSummary *sum = &r->b_sum[b];
	TimestampTz day_start;
	TimestampTz day_end;

	if (sum->first_ts < r->start || sum->last_ts >= r->end)
		return false;
	if (r->extents)
		return true;
	if (!r->sums ||
		(sum->flags & (VS_SBLOCK_WHOLE_DAY | VS_SBLOCK_NUMBERS)) != (VS_SBLOCK_WHOLE_DAY | VS_SBLOCK_NUMBERS))
		return false;
	if (r->period > 0 &&
		VsBucketOf(sum->first_ts, r->period, r->origin) != VsBucketOf(sum->last_ts, r->period, r->origin))
		return false;
	day_start = DayStart(sum->first_ts);
	day_end = day_start + USECS_PER_DAY;
	for (int k = r->h_pos; k < r->h_n; k++)
	{
		if (r->h_series[k] != r->cur || r->h_ts[k] >= day_end)
			return true;
		if (r->h_ts[k] >= day_start)
			return false;
	}
	return r->h_done;
}

/*
 * NextBlockSample makes dec[d_pos] the current series' next block sample
 * inside the range (decoding its next block when one is used up), or sets
 * sum_ready; false when the series has no block left.
 */
static bool
NextBlockSample(VsSampleReader *r)
{
	for (;;)
	{
		if (r->sum_ready)
			return true;
		if (r->d_pos < r->dec.n)
		{
			if (r->dec.ts[r->d_pos] >= r->end)
				r->d_pos = r->dec.n;
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
		VsSampleBlockDecode(r->b_data[r->b_pos], r->b_extra[r->b_pos], 0, r->cur,
							r->b_sum[r->b_pos].first_ts, &r->dec);
		stat_decoded++;
		r->b_pos++;
		r->d_pos = 0;
		while (r->d_pos < r->dec.n && r->dec.ts[r->d_pos] < r->start)
			r->d_pos++;
	}
}

static bool
NextSource(VsSampleReader *r, bool *have_block, bool *have_head)
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
		*have_block = NextBlockSample(r);
		*have_head = HeadPeek(r) && r->h_series[r->h_pos] == r->cur;
		if (*have_block || *have_head)
			return true;
		r->have_cur = false;
	}
}

/* KeyLess: (ts1, seq1) before (ts2, seq2) */
static inline bool
KeyLess(TimestampTz ts1, int32 seq1, TimestampTz ts2, int32 seq2)
{
	return ts1 < ts2 || (ts1 == ts2 && seq1 < seq2);
}

/*
 * vs_sreader_next_run: the longest run of the current block's samples that
 * no head row comes between, or one head row, or a whole block as its
 * summary; the arrays stay valid until the next call.
 */
bool
vs_sreader_next_run(VsSampleReader *r, int32 *series_id, VsSampleRun *run)
{
	bool		have_block;
	bool		have_head;
	int			k;

	if (!NextSource(r, &have_block, &have_head))
		return false;
	*series_id = r->cur;
	run->summary = NULL;
	if (r->sum_ready && (!have_head || r->sum.first_ts < r->h_ts[r->h_pos]))
	{
		r->sum_ready = false;
		run->n = r->sum.n;
		run->ts = NULL;
		run->seq = NULL;
		run->volume = NULL;
		run->recorded = NULL;
		run->summary = &r->sum;
		stat_samples += run->n;
		return true;
	}
	if (r->sum_ready)
		have_block = false;		/* head rows of earlier days first */
	if (have_block &&
		(!have_head || KeyLess(r->dec.ts[r->d_pos], r->dec.seq[r->d_pos],
							   r->h_ts[r->h_pos], r->h_seq[r->h_pos])))
	{
		k = r->d_pos;
		while (k < r->dec.n && r->dec.ts[k] < r->end &&
			   (!have_head || KeyLess(r->dec.ts[k], r->dec.seq[k], r->h_ts[r->h_pos], r->h_seq[r->h_pos])))
			k++;
		run->n = k - r->d_pos;
		run->ts = r->dec.ts + r->d_pos;
		run->seq = r->dec.seq + r->d_pos;
		run->volume = r->dec.volume + r->d_pos;
		run->recorded = r->dec.recorded + r->d_pos;
		r->d_pos = k;
		stat_samples += run->n;
		return true;
	}
	/* one head row, which wins over a block sample with its key */
	if (have_block && r->dec.ts[r->d_pos] == r->h_ts[r->h_pos] &&
		r->dec.seq[r->d_pos] == r->h_seq[r->h_pos])
		r->d_pos++;
	r->one_ts = r->h_ts[r->h_pos];
	r->one_seq = r->h_seq[r->h_pos];
	r->one_volume = r->h_volume[r->h_pos];
	r->one_recorded = r->h_recorded[r->h_pos];
	r->h_pos++;
	run->n = 1;
	run->ts = &r->one_ts;
	run->seq = &r->one_seq;
	run->volume = &r->one_volume;
	run->recorded = &r->one_recorded;
	stat_samples++;
	return true;
}

void
vs_sreader_use_summaries(VsSampleReader *r, int64 period, TimestampTz origin)
{
	r->sums = true;
	r->period = period;
	r->origin = origin;
}

/* extents only: any block inside the range may come as its summary */
static void
UseExtents(VsSampleReader *r)
{
	r->extents = true;
}

void
vs_sreader_close(VsSampleReader *r)
{
	if (r->head != NULL)
		SPI_cursor_close(r->head);
	if (r->blocks != NULL)
		SPI_cursor_close(r->blocks);
	MemoryContextDelete(r->cxt);
}

/* ----------------------------------------------------------------
 * SQL functions
 * ----------------------------------------------------------------
 */

static void
PutSample(ReturnSetInfo *rsinfo, int32 tenant, int32 series, TimestampTz ts, int32 seq,
		  double volume, TimestampTz recorded)
{
	Datum		values[6];
	bool		isnull[6] = {false, false, false, false, false, false};

	values[0] = Int32GetDatum(tenant);
	values[1] = Int32GetDatum(series);
	values[2] = TimestampTzGetDatum(ts);
	values[3] = Int32GetDatum(seq);
	values[4] = Float8GetDatum(volume);
	values[5] = TimestampTzGetDatum(recorded);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
}

/* one sample and its series, for the newest-first listing */
typedef struct Newest
{
	TimestampTz ts;
	int32		series;
	int32		seq;
	double		volume;
	TimestampTz recorded;
	bool		head;
} Newest;

/* NewerThan: a before b in (ts DESC, series, seq) order */
static inline bool
NewerThan(const Newest *a, const Newest *b)
{
	if (a->ts != b->ts)
		return a->ts > b->ts;
	if (a->series != b->series)
		return a->series < b->series;
	return a->seq < b->seq;
}

/* a bounded heap of the newest samples: its root is the oldest kept */
typedef struct NewestHeap
{
	Newest	   *e;
	int			n;
	int			cap;
} NewestHeap;

static void
HeapSiftDown(NewestHeap *h, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1;
		int			r = l + 1;
		int			m = i;
		Newest		t;

		if (l < h->n && NewerThan(&h->e[m], &h->e[l]))
			m = l;
		if (r < h->n && NewerThan(&h->e[m], &h->e[r]))
			m = r;
		if (m == i)
			return;
		t = h->e[i];
		h->e[i] = h->e[m];
		h->e[m] = t;
		i = m;
	}
}

/* HeapOffer keeps s when it is among the cap newest so far */
static void
HeapOffer(NewestHeap *h, const Newest *s)
{
	if (h->n < h->cap)
	{
		int			i = h->n++;

		h->e[i] = *s;
		while (i > 0 && NewerThan(&h->e[(i - 1) / 2], &h->e[i]))
		{
			Newest		t = h->e[i];

			h->e[i] = h->e[(i - 1) / 2];
			h->e[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
		return;
	}
	if (!NewerThan(s, &h->e[0]))
		return;
	h->e[0] = *s;
	HeapSiftDown(h, 0);
}

static int
NewestCmp(const void *a, const void *b)
{
	const Newest *x = a;
	const Newest *y = b;

	if (NewerThan(x, y))
		return -1;
	if (NewerThan(y, x))
		return 1;
	/* the same key: the head row first (it wins) */
	return (int) y->head - (int) x->head;
}

/*
 * ReadNewest puts the lim newest samples of the series in [start, end) in
 * (ts DESC, series, seq) order.  The head: one query over the (tenant,
 * ts) index, newest first, with a limit.  The blocks: those overlapping
 * the range, newest end first (their bounds sorted, then the data of each
 * block needed by its key), each decoded and read from its end, until
 * lim samples are kept (rows or block samples) and the next block ends
 * before the oldest of them.  A head row and a block sample with one key
 * are one sample (the row's).
 */
static void
ReadNewest(ReturnSetInfo *rsinfo, int32 tenant, ArrayType *ids, TimestampTz start,
		   TimestampTz end, int lim)
{
	static SPIPlanPtr bplan = NULL;
	static SPIPlanPtr dplan = NULL;
	NewestHeap	h;
	Newest	   *all;
	int			nall = 0;
	Datum		args[5];
	Oid			types[5] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID};
	TimestampTz hs;
	TimestampTz he;
	VsSampleColumns one;
	MemoryContext callcxt = CurrentMemoryContext;
	int			nhead = 0;
	TimestampTz floor = DT_NOBEGIN;	/* nothing older can be kept */

	h.cap = lim;
	h.n = 0;
	h.e = palloc(sizeof(Newest) * lim);
	all = palloc(sizeof(Newest) * 2 * lim);
	VsSampleColumnsInit(&one, 1440);
	args[0] = Int32GetDatum(tenant);
	args[1] = PointerGetDatum(ids);

	/* the head, newest first (planned with these values: pruned) */
	if (VsHeadRange("samples", start, end, &hs, &he, &stat_days_probed, &stat_days_skipped))
	{
		args[2] = TimestampTzGetDatum(hs);
		args[3] = TimestampTzGetDatum(he);
		args[4] = Int32GetDatum(lim);
		if (SPI_execute_with_args("SELECT series_id, ts, seq, volume, recorded_at FROM vscope.samples "
								  "WHERE tenant_id = $1 AND series_id = ANY ($2) AND ts >= $3 AND ts < $4 "
								  "ORDER BY ts DESC, series_id, seq LIMIT $5",
								  5, types, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading the newest samples failed");
		stat_head += SPI_processed;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			Newest	   *s = &all[nall++];

			s->series = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
			s->ts = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
			s->seq = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
			s->volume = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
			s->recorded = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
			s->head = true;
		}
		nhead = nall;
		/* lim rows already: an older block sample cannot be among the newest */
		if (nhead == lim)
			floor = all[nhead - 1].ts;
	}

	/*
	 * The blocks, newest end first: their bounds only, sorted (light rows),
	 * then the data of each one needed, by its primary key.
	 */
	if (bplan == NULL)
	{
		Oid			btypes[5] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
		Oid			dtypes[3] = {INT4OID, INT4OID, TIMESTAMPTZOID};

		bplan = VsKeepPlan("SELECT series_id, first_ts, last_ts FROM vscope.sample_blocks "
						   "WHERE tenant_id = $1 AND series_id = ANY ($2) AND first_ts < $4 "
						   "AND first_ts > $5 AND last_ts >= $3 ORDER BY last_ts DESC",
						   5, btypes, CURSOR_OPT_GENERIC_PLAN);
		dplan = VsKeepPlan("SELECT data, extra FROM vscope.sample_blocks "
						   "WHERE tenant_id = $1 AND series_id = $2 AND first_ts = $3",
						   3, dtypes, CURSOR_OPT_GENERIC_PLAN);
	}
	args[2] = TimestampTzGetDatum(start);
	args[3] = TimestampTzGetDatum(end);
	args[4] = TimestampTzGetDatum(TIMESTAMP_NOT_FINITE(start) || start < MIN_TIMESTAMP + USECS_PER_DAY
								  ? (TIMESTAMP_IS_NOEND(start) ? start : DT_NOBEGIN)
								  : start - USECS_PER_DAY);
	if (SPI_execute_plan(bplan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading the newest samples blocks failed");
	{
		SPITupleTable *bounds = SPI_tuptable;
		uint64		nbounds = SPI_processed;

		for (uint64 b = 0; b < nbounds; b++)
		{
			HeapTuple	tup = bounds->vals[b];
			TupleDesc	desc = bounds->tupdesc;
			bool		isnull;
			int32		series = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
			TimestampTz first = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
			TimestampTz last = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
			Datum		dargs[3];
			MemoryContext old;

			if (last < floor || (h.n == h.cap && last < h.e[0].ts))
				break;
			CHECK_FOR_INTERRUPTS();
			dargs[0] = Int32GetDatum(tenant);
			dargs[1] = Int32GetDatum(series);
			dargs[2] = TimestampTzGetDatum(first);
			if (SPI_execute_plan(dplan, dargs, NULL, true, 1) != SPI_OK_SELECT)
				elog(ERROR, "reading a samples block failed");
			if (SPI_processed != 1)
				continue;		/* (gone meanwhile: not in this snapshot's view) */
			old = MemoryContextSwitchTo(callcxt);
			VsSampleBlockDecode(DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
								DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)),
								0, series, first, &one);
			MemoryContextSwitchTo(old);
			SPI_freetuptable(SPI_tuptable);
			stat_decoded++;
			for (int i = one.n - 1; i >= 0; i--)
			{
				Newest		s;

				if (one.ts[i] >= end)
					continue;
				if (one.ts[i] < start || one.ts[i] < floor ||
					(h.n == h.cap && one.ts[i] < h.e[0].ts))
					break;
				s.ts = one.ts[i];
				s.series = series;
				s.seq = one.seq[i];
				s.volume = one.volume[i];
				s.recorded = one.recorded[i];
				s.head = false;
				HeapOffer(&h, &s);
			}
		}
		SPI_freetuptable(bounds);
	}

	/* both together, newest first, one sample a key */
	memcpy(all + nhead, h.e, sizeof(Newest) * h.n);
	nall = nhead + h.n;
	qsort(all, nall, sizeof(Newest), NewestCmp);
	for (int i = 0, put = 0; i < nall && put < lim; i++)
	{
		if (i > 0 && all[i].ts == all[i - 1].ts && all[i].series == all[i - 1].series &&
			all[i].seq == all[i - 1].seq)
			continue;
		PutSample(rsinfo, tenant, all[i].series, all[i].ts, all[i].seq, all[i].volume, all[i].recorded);
		put++;
		stat_samples++;
	}
}

VS_FUNCTION_INFO_V1(vscope_ceilo_read_samples);

/*
 * vscope_ceilo_read_samples(series int[], lo, hi, newest): the current
 * tenant's samples of these series with lo <= ts <= hi, as rows of
 * vscope.samples, in (series, ts, seq) order; with newest, only that many
 * of the newest, in (ts DESC, series, seq) order.
 */
Datum
vscope_ceilo_read_samples(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz start;
	TimestampTz end;
	int32		tenant;
	int			nseries;
	int32	   *series;

	InitMaterializedSRF(fcinfo, 0);
	/* no series or no bound: no sample (newest NULL means all of them) */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_VOID();
	tenant = VsRequireTenant();
	start = PG_GETARG_TIMESTAMPTZ(1);
	end = VsAfter(PG_GETARG_TIMESTAMPTZ(2));
	series = vs_reader_series(PG_GETARG_ARRAYTYPE_P(0), &nseries);
	if (nseries == 0 || start >= end)
		PG_RETURN_VOID();
	SPI_connect();
	if (!PG_ARGISNULL(3))
	{
		int			lim = PG_GETARG_INT32(3);
		Datum	   *d = palloc(sizeof(Datum) * nseries);

		if (lim < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the number of newest samples cannot be negative")));
		for (int i = 0; i < nseries; i++)
			d[i] = Int32GetDatum(series[i]);
		if (lim > 0)
			ReadNewest(rsinfo, tenant, construct_array(d, nseries, INT4OID, 4, true, TYPALIGN_INT),
					   start, end, lim);
	}
	else
	{
		VsSampleReader *r = vs_sreader_open(tenant, series, nseries, start, end);
		int32		sid;
		VsSampleRun run;

		while (vs_sreader_next_run(r, &sid, &run))
			for (int i = 0; i < run.n; i++)
				PutSample(rsinfo, tenant, sid, run.ts[i], run.seq[i], run.volume[i], run.recorded[i]);
		vs_sreader_close(r);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

VS_FUNCTION_INFO_V1(vscope_ceilo_read_series);

/*
 * vscope_ceilo_read_series(tenant, series, start, end): one series'
 * samples in [start, end), for the ceilometer_samples view (whose bounds
 * on "timestamp" the planner hook passes in, as for datapoints).  Row-level
 * security on samples and blocks decides what the caller sees.
 */
Datum
vscope_ceilo_read_series(PG_FUNCTION_ARGS)
{
	int32		tenant = PG_GETARG_INT32(0);
	int32		series = PG_GETARG_INT32(1);
	TimestampTz start = PG_GETARG_TIMESTAMPTZ(2);
	TimestampTz end = PG_GETARG_TIMESTAMPTZ(3);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	VsSampleReader *r;
	int32		sid;
	VsSampleRun run;

	InitMaterializedSRF(fcinfo, 0);
	if (start >= end)
		PG_RETURN_VOID();
	SPI_connect();
	r = vs_sreader_open(tenant, &series, 1, start, end);
	while (vs_sreader_next_run(r, &sid, &run))
		for (int i = 0; i < run.n; i++)
		{
			Datum		values[4];
			bool		isnull[4] = {false, false, false, false};

			values[0] = TimestampTzGetDatum(run.ts[i]);
			values[1] = Int32GetDatum(run.seq[i]);
			values[2] = Float8GetDatum(run.volume[i]);
			values[3] = TimestampTzGetDatum(run.recorded[i]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
		}
	vs_sreader_close(r);
	SPI_finish();
	PG_RETURN_VOID();
}

VS_FUNCTION_INFO_V1(vscope_ceilo_sample_bounds);

/*
 * vscope_ceilo_sample_bounds(series int[], lo, hi): for each of these series
 * of the current tenant with samples in lo <= ts <= hi, its first and last
 * one there.  The head by two index probes per series and day (min and
 * max); a block inside the range by its first_ts and last_ts, one that
 * the range cuts by decoding it.
 */
Datum
vscope_ceilo_sample_bounds(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	TimestampTz start = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz end = VsAfter(PG_GETARG_TIMESTAMPTZ(2));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		tenant = VsRequireTenant();
	int			nseries;
	int32	   *series;
	int32	   *ids;
	int			nids = 0;
	TimestampTz *first;
	TimestampTz *last;
	bool	   *found;
	TimestampTz hs;
	TimestampTz he;

	InitMaterializedSRF(fcinfo, 0);
	series = vs_reader_series(arr, &nseries);
	if (nseries == 0 || start >= end)
		PG_RETURN_VOID();
	ids = palloc(sizeof(int32) * nseries);
	memcpy(ids, series, sizeof(int32) * nseries);
	qsort(ids, nseries, sizeof(int32), Int32Cmp);
	for (int i = 0; i < nseries; i++)
		if (i == 0 || ids[i] != ids[nids - 1])
			ids[nids++] = ids[i];
	first = palloc(sizeof(TimestampTz) * nids);
	last = palloc(sizeof(TimestampTz) * nids);
	found = palloc0(sizeof(bool) * nids);
	SPI_connect();

	/* the head: min and max per series, by the primary key */
	if (VsHeadRange("samples", start, end, &hs, &he, &stat_days_probed, &stat_days_skipped))
	{
		Oid			types[4] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
		Datum		args[4];
		Datum	   *d = palloc(sizeof(Datum) * nids);

		for (int i = 0; i < nids; i++)
			d[i] = Int32GetDatum(ids[i]);
		args[0] = Int32GetDatum(tenant);
		args[1] = PointerGetDatum(construct_array(d, nids, INT4OID, 4, true, TYPALIGN_INT));
		args[2] = TimestampTzGetDatum(hs);
		args[3] = TimestampTzGetDatum(he);
		if (SPI_execute_with_args("SELECT s.id, b.f, b.l FROM unnest($2) WITH ORDINALITY AS s(id, k) "
								  "CROSS JOIN LATERAL (SELECT min(x.ts) AS f, max(x.ts) AS l "
								  "FROM vscope.samples x WHERE x.tenant_id = $1 AND x.series_id = s.id "
								  "AND x.ts >= $3 AND x.ts < $4) b WHERE b.f IS NOT NULL ORDER BY s.k",
								  4, types, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading the first and last samples failed");
		for (uint64 i = 0, j = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int32		id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));

			while (ids[j] != id)
				j++;
			first[j] = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
			last[j] = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
			found[j] = true;
		}
		SPI_freetuptable(SPI_tuptable);
	}

	/* the blocks: extents when inside the range, else decoded */
	{
		VsSampleReader *r = ReaderOpen(tenant, ids, nids, start, end, false);
		int32		sid;
		VsSampleRun run;
		int			j = 0;

		UseExtents(r);
		while (vs_sreader_next_run(r, &sid, &run))
		{
			TimestampTz f = run.summary ? run.summary->first_ts : run.ts[0];
			TimestampTz l = run.summary ? run.summary->last_ts : run.ts[run.n - 1];

			while (ids[j] != sid)
				j++;
			if (!found[j] || f < first[j])
				first[j] = f;
			if (!found[j] || l > last[j])
				last[j] = l;
			found[j] = true;
		}
		vs_sreader_close(r);
	}
	SPI_finish();
	for (int i = 0; i < nids; i++)
		if (found[i])
		{
			Datum		values[3];
			bool		isnull[3] = {false, false, false};

			values[0] = Int32GetDatum(ids[i]);
			values[1] = TimestampTzGetDatum(first[i]);
			values[2] = TimestampTzGetDatum(last[i]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
		}
	PG_RETURN_VOID();
}

VS_FUNCTION_INFO_V1(vscope_sample_reader_stats);

/* vscope_sample_reader_stats: what this backend's samples readers have read */
Datum
vscope_sample_reader_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[6];
	bool		isnull[6] = {false, false, false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int64GetDatum(stat_decoded);
	values[1] = Int64GetDatum(stat_summarized);
	values[2] = Int64GetDatum(stat_head);
	values[3] = Int64GetDatum(stat_samples);
	values[4] = Int64GetDatum(stat_days_probed);
	values[5] = Int64GetDatum(stat_days_skipped);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, isnull)));
}
