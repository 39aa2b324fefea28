/*-------------------------------------------------------------------------
 *
 * sample_blocks.c
 *	  Ceilometer samples in blocks: a series' samples of one UTC day as
 *	  rows of vscope.sample_blocks (encoding, decoding, summaries), and
 *	  moving a day between its two forms: vscope.compress_samples(day) and
 *	  vscope.decompress_samples(day).  Also vscope._ceilo_block_max_seq(),
 *	  the highest seq that blocks hold at one instant of a series, which a
 *	  sample posted into a compressed day must step over.
 *
 *	  Compaction works as points' does (store/compact.c): the day's
 *	  partition of vscope.samples is taken in SHARE ROW EXCLUSIVE mode
 *	  (writers of that day wait, readers do not), its rows and the day's
 *	  blocks are read in (tenant, series) order, merged per series in
 *	  (ts, seq) order (a row wins over a block sample with the same key),
 *	  written as new blocks, and the partition is emptied; all in the
 *	  caller's transaction, as the extension's owner, across tenants.
 *	  A sample keeps its (series, ts, seq), so its message_id stays the
 *	  same.
 *
 *-------------------------------------------------------------------------
 */
#include "ceilometer/samples.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/memutils.h"

#include "store/block.h"
#include "store/codec.h"

/* the most bytes of encoded data (both columns) in one block row */
#define VS_SBLOCK_MAX_BYTES 7900

#define VS_SCOMPACT_BATCH 4096

void
VsSampleColumnsInit(VsSampleColumns *c, int cap)
{
	c->n = 0;
	c->cap = Max(cap, 16);
	c->ts = palloc(sizeof(TimestampTz) * c->cap);
	c->seq = palloc(sizeof(int32) * c->cap);
	c->volume = palloc(sizeof(double) * c->cap);
	c->recorded = palloc(sizeof(TimestampTz) * c->cap);
	c->is_int = palloc(sizeof(uint8) * c->cap);
	c->scratch = palloc(sizeof(int64) * c->cap);
	c->scratch2 = palloc(sizeof(int64) * c->cap);
}

void
VsSampleColumnsReserve(VsSampleColumns *c, int n)
{
	int			cap = c->cap;

	if (n <= cap)
		return;
	while (cap < n)
		cap *= 2;
	c->ts = repalloc(c->ts, sizeof(TimestampTz) * cap);
	c->seq = repalloc(c->seq, sizeof(int32) * cap);
	c->volume = repalloc(c->volume, sizeof(double) * cap);
	c->recorded = repalloc(c->recorded, sizeof(TimestampTz) * cap);
	c->is_int = repalloc(c->is_int, sizeof(uint8) * cap);
	c->scratch = repalloc(c->scratch, sizeof(int64) * cap);
	c->scratch2 = repalloc(c->scratch2, sizeof(int64) * cap);
	c->cap = cap;
}

void
VsSampleColumnsAppend(VsSampleColumns *c, TimestampTz ts, int32 seq, double volume,
					  TimestampTz recorded)
{
	if (c->n == c->cap)
		VsSampleColumnsReserve(c, c->n + 1);
	c->ts[c->n] = ts;
	c->seq[c->n] = seq;
	c->volume[c->n] = volume;
	c->recorded[c->n] = recorded;
	c->n++;
}

static void
SampleBlockCorrupt(int32 tenant, int32 series_id, TimestampTz first_ts, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 tenant != 0 ?
			 errmsg("compressed samples block of series %d of tenant %d starting at %s is corrupt",
					series_id, tenant, timestamptz_to_str(first_ts)) :
			 errmsg("compressed samples block of series %d starting at %s is corrupt",
					series_id, timestamptz_to_str(first_ts)),
			 errdetail("%s", why),
			 errhint("Restore that row of vscope.sample_blocks from a backup, or delete it to give "
					 "up its samples; the series' other blocks stay readable.")));
}

/*
 * VsSampleBlockDecode decodes a block row: the (ts, volume) block, then
 * seq and recorded_at - ts from the int columns; the keys must come in
 * strictly increasing (ts, seq) order.
 */
void
VsSampleBlockDecode(const bytea *data, const bytea *extra, int32 tenant, int32 series_id,
					TimestampTz first_ts, VsSampleColumns *out)
{
	const uint8 *bytes = (const uint8 *) VARDATA_ANY(data);
	size_t		len = VARSIZE_ANY_EXHDR(data);
	int			n = vs_samples_npoints(bytes, len);
	const char *err = NULL;
	int64	   *cols[2];

	if (n < 0)
		SampleBlockCorrupt(tenant, series_id, first_ts, "Its header is not a samples block header.");
	VsSampleColumnsReserve(out, n);
	if (vs_samples_decode(bytes, len, out->ts, out->is_int, out->scratch, out->volume, &err) != n)
		SampleBlockCorrupt(tenant, series_id, first_ts,
						   psprintf("Decoding stopped: %s.", err ? err : "fewer samples than the header says"));
	cols[0] = out->scratch;
	cols[1] = out->scratch2;
	if (vs_ints_decode((const uint8 *) VARDATA_ANY(extra), VARSIZE_ANY_EXHDR(extra), cols, 2, n, &err) != n)
		SampleBlockCorrupt(tenant, series_id, first_ts,
						   psprintf("Decoding its sequence numbers and recording times stopped: %s.",
									err ? err : "another number of samples"));
	for (int i = 0; i < n; i++)
	{
		int64		seq = out->scratch[i];

		if (seq < 0 || seq > PG_INT32_MAX ||
			(i > 0 && out->ts[i] == out->ts[i - 1] && seq <= out->seq[i - 1]))
			SampleBlockCorrupt(tenant, series_id, first_ts,
							   psprintf("Sample %d has a sequence number out of order.", i));
		out->seq[i] = (int32) seq;
		/* wrapping arithmetic, as the offset was made */
		out->recorded[i] = (TimestampTz) ((uint64) out->ts[i] + (uint64) out->scratch2[i]);
	}
	out->n = n;
	if (n > 0 && out->ts[0] != first_ts)
		SampleBlockCorrupt(tenant, series_id, first_ts, "Its first timestamp is not the row's first_ts.");
}

static SPIPlanPtr insert_plan = NULL;

/*
 * WriteOne encodes samples [from, from + n) as one block row; false, with
 * nothing written, when they take more than a block may hold (and can
 * still be split).
 */
static bool
WriteOne(int32 tenant, int32 series_id, const VsSampleColumns *s, int from, int n, bool can_split)
{
	uint8	   *buf = palloc(vs_block_bound(n));
	uint8	   *xbuf = palloc(vs_ints_bound(n, 2));
	uint8	   *is_int = palloc0(Max(n, 1));
	int64	   *seq = palloc(sizeof(int64) * Max(n, 1));
	int64	   *off = palloc(sizeof(int64) * Max(n, 1));
	const int64 *cols[2] = {seq, off};
	size_t		len;
	size_t		xlen;
	bytea	   *data;
	bytea	   *extra;
	double		st[VS_STATS_N];
	int16		flags = VS_SBLOCK_NUMBERS;
	Datum		args[13];
	int			ret;

	for (int i = 0; i < n; i++)
	{
		seq[i] = s->seq[from + i];
		off[i] = (int64) ((uint64) s->recorded[from + i] - (uint64) s->ts[from + i]);
	}
	len = vs_samples_encode(s->ts + from, is_int, seq, s->volume + from, n, buf);
	xlen = vs_ints_encode(cols, 2, n, xbuf);
	if (len == 0 || xlen == 0)
		elog(ERROR, "samples of series %d are not in time order", series_id);
	if (len + xlen > VS_SBLOCK_MAX_BYTES && can_split)
		return false;

	vs_stats_init(st);
	for (int i = from; i < from + n; i++)
	{
		if (isnan(s->volume[i]))
			flags &= ~VS_SBLOCK_NUMBERS;
		vs_stats_add(st, s->volume[i]);
	}
	if (from == 0 && n == s->n)
		flags |= VS_SBLOCK_WHOLE_DAY;
	data = palloc(VARHDRSZ + len);
	SET_VARSIZE(data, VARHDRSZ + len);
	memcpy(VARDATA(data), buf, len);
	extra = palloc(VARHDRSZ + xlen);
	SET_VARSIZE(extra, VARHDRSZ + xlen);
	memcpy(VARDATA(extra), xbuf, xlen);

	if (insert_plan == NULL)
	{
		Oid			types[13] = {INT4OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID,
			FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, BYTEAOID, BYTEAOID, INT2OID};

		insert_plan = VsKeepPlan("INSERT INTO vscope.sample_blocks (tenant_id, series_id, first_ts, "
								 "last_ts, n, vsum, vmin, vmax, vmean, vm2, data, extra, flags) "
								 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
								 13, types, VS_WRITE_PLAN_OPTIONS);
	}
	args[0] = Int32GetDatum(tenant);
	args[1] = Int32GetDatum(series_id);
	args[2] = TimestampTzGetDatum(s->ts[from]);
	args[3] = TimestampTzGetDatum(s->ts[from + n - 1]);
	args[4] = Int32GetDatum(n);
	for (int i = 1; i < VS_STATS_N; i++)
		args[4 + i] = Float8GetDatum(st[i]);
	args[10] = PointerGetDatum(data);
	args[11] = PointerGetDatum(extra);
	args[12] = Int16GetDatum(flags);
	ret = SPI_execute_plan(insert_plan, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "storing a samples block failed: %s", SPI_result_code_string(ret));
	pfree(buf);
	pfree(xbuf);
	pfree(data);
	pfree(extra);
	return true;
}

/*
 * WriteRange writes samples [from, from + n), halving the run (at a change
 * of timestamp, so that no instant spans two blocks) until each part fits.
 * One instant with more samples than a block holds is written whole (the
 * row is then stored out of line).
 */
static void
WriteRange(int32 tenant, int32 series_id, const VsSampleColumns *s, int from, int n)
{
	int			mid = -1;

	CHECK_FOR_INTERRUPTS();
	if (n <= 0)
		return;
	/* the change of timestamp nearest the middle */
	for (int d = 0; d < n / 2 + 1 && mid < 0; d++)
	{
		int			a = from + n / 2 - d;
		int			b = from + n / 2 + d;

		if (a > from && s->ts[a] != s->ts[a - 1])
			mid = a;
		else if (b > from && b < from + n && s->ts[b] != s->ts[b - 1])
			mid = b;
	}
	if (n <= VS_BLOCK_MAX_POINTS && WriteOne(tenant, series_id, s, from, n, mid >= 0))
		return;
	if (mid < 0)
		elog(ERROR, "samples of series %d at one instant are too many for one block", series_id);
	WriteRange(tenant, series_id, s, from, mid - from);
	WriteRange(tenant, series_id, s, mid, from + n - mid);
}

void
VsSampleBlocksWrite(int32 tenant, int32 series_id, const VsSampleColumns *s)
{
	WriteRange(tenant, series_id, s, 0, s->n);
}

/* a (tenant, series) key, ordered like the cursors */
typedef struct SKey
{
	int32		tenant;
	int32		series;
} SKey;

static int
SKeyCmp(SKey a, SKey b)
{
	if (a.tenant != b.tenant)
		return a.tenant < b.tenant ? -1 : 1;
	if (a.series != b.series)
		return a.series < b.series ? -1 : 1;
	return 0;
}

/*
 * A cursor of rows (of a partition) or of block rows, read in batches
 * copied out of SPI's memory into the stream's own context.
 */
typedef struct SStream
{
	Portal		portal;
	MemoryContext cxt;
	bool		blocks;
	int			n;
	int			pos;
	bool		done;
	SKey	   *key;
	TimestampTz *ts;			/* ts, or first_ts */
	int32	   *seq;
	double	   *volume;
	TimestampTz *recorded;
	bytea	  **data;
	bytea	  **extra;
} SStream;

static void
SStreamOpen(SStream *s, Portal portal, bool blocks, MemoryContext parent)
{
	memset(s, 0, sizeof(SStream));
	s->portal = portal;
	s->blocks = blocks;
	s->cxt = AllocSetContextCreate(parent, "vscope samples compaction stream", ALLOCSET_DEFAULT_SIZES);
}

static bool
SStreamFill(SStream *s)
{
	MemoryContext old;

	if (s->pos < s->n)
		return true;
	if (s->done)
		return false;
	CHECK_FOR_INTERRUPTS();
	SPI_cursor_fetch(s->portal, true, VS_SCOMPACT_BATCH);
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
	s->key = palloc(sizeof(SKey) * s->n);
	s->ts = palloc(sizeof(TimestampTz) * s->n);
	if (s->blocks)
	{
		s->data = palloc(sizeof(bytea *) * s->n);
		s->extra = palloc(sizeof(bytea *) * s->n);
	}
	else
	{
		s->seq = palloc(sizeof(int32) * s->n);
		s->volume = palloc(sizeof(double) * s->n);
		s->recorded = palloc(sizeof(TimestampTz) * s->n);
	}
	for (int i = 0; i < s->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		s->key[i].tenant = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		s->key[i].series = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		s->ts[i] = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
		if (s->blocks)
		{
			s->data[i] = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 4, &isnull));
			s->extra[i] = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 5, &isnull));
			continue;
		}
		s->seq[i] = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		s->volume[i] = DatumGetFloat8(SPI_getbinval(tup, desc, 5, &isnull));
		s->recorded[i] = DatumGetTimestampTz(SPI_getbinval(tup, desc, 6, &isnull));
	}
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
	return true;
}

static Portal
OpenSampleBlocksCursor(DateADT day)
{
	Oid			types[1] = {DATEOID};
	Datum		args[1] = {DateADTGetDatum(day)};

	return SPI_cursor_open_with_args(NULL,
									 "SELECT tenant_id, series_id, first_ts, data, extra "
									 "FROM vscope.sample_blocks "
									 "WHERE (first_ts AT TIME ZONE 'UTC')::date = $1 "
									 "ORDER BY tenant_id, series_id, first_ts",
									 1, types, args, NULL, false, 0);
}

/* KeyLess: is (ts1, seq1) before (ts2, seq2)? */
static inline bool
KeyLess(TimestampTz ts1, int32 seq1, TimestampTz ts2, int32 seq2)
{
	return ts1 < ts2 || (ts1 == ts2 && seq1 < seq2);
}

/*
 * MergeSamples appends to out the samples of a (blocks) and b (rows), both
 * in (ts, seq) order; at an equal key the row (written later) wins.
 */
static void
MergeSamples(const VsSampleColumns *a, const VsSampleColumns *b, VsSampleColumns *out)
{
	int			i = 0,
				j = 0;

	VsSampleColumnsReserve(out, a->n + b->n);
	while (i < a->n || j < b->n)
	{
		if (j >= b->n || (i < a->n && KeyLess(a->ts[i], a->seq[i], b->ts[j], b->seq[j])))
		{
			VsSampleColumnsAppend(out, a->ts[i], a->seq[i], a->volume[i], a->recorded[i]);
			i++;
		}
		else
		{
			if (i < a->n && a->ts[i] == b->ts[j] && a->seq[i] == b->seq[j])
				i++;
			VsSampleColumnsAppend(out, b->ts[j], b->seq[j], b->volume[j], b->recorded[j]);
			j++;
		}
	}
}

static void
DeleteSeriesSampleBlocks(SKey k, TimestampTz lo, TimestampTz hi)
{
	static SPIPlanPtr plan = NULL;
	Datum		args[4];

	if (plan == NULL)
	{
		Oid			types[4] = {INT4OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID};

		plan = VsKeepPlan("DELETE FROM vscope.sample_blocks WHERE tenant_id = $1 AND series_id = $2 "
						  "AND first_ts >= $3 AND first_ts < $4", 4, types, CURSOR_OPT_GENERIC_PLAN);
	}
	args[0] = Int32GetDatum(k.tenant);
	args[1] = Int32GetDatum(k.series);
	args[2] = TimestampTzGetDatum(lo);
	args[3] = TimestampTzGetDatum(hi);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "deleting old samples blocks failed");
}

VS_FUNCTION_INFO_V1(vscope_compress_samples);

/*
 * vscope_compress_samples compresses the samples of a UTC day into blocks;
 * returns how many samples the day's blocks hold afterwards (0 when the
 * day had no rows).
 */
Datum
vscope_compress_samples(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0);
	TimestampTz lo,
				hi;
	char		partname[40];
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext groupcxt;
	SStream		head,
				blocks;
	int64		total = 0;

	VsDayRange(day, "samples", &lo, &hi, partname, sizeof(partname));
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

	groupcxt = AllocSetContextCreate(callcxt, "vscope samples compaction group", ALLOCSET_DEFAULT_SIZES);
	SStreamOpen(&head, SPI_cursor_open_with_args(NULL,
												 psprintf("SELECT tenant_id, series_id, ts, seq, volume, recorded_at "
														  "FROM vscope.%s ORDER BY tenant_id, series_id, ts, seq",
														  quote_identifier(partname)),
												 0, NULL, NULL, NULL, false, 0),
				false, callcxt);
	SStreamOpen(&blocks, OpenSampleBlocksCursor(day), true, callcxt);

	for (;;)
	{
		bool		have_head = SStreamFill(&head);
		bool		have_blocks = SStreamFill(&blocks);
		SKey		k;
		MemoryContext old;
		VsSampleColumns old_s,
					new_s,
					one;

		if (!have_head && !have_blocks)
			break;
		if (!have_blocks || (have_head && SKeyCmp(head.key[head.pos], blocks.key[blocks.pos]) <= 0))
			k = head.key[head.pos];
		else
			k = blocks.key[blocks.pos];

		MemoryContextReset(groupcxt);
		old = MemoryContextSwitchTo(groupcxt);
		VsSampleColumnsInit(&old_s, 1440);
		VsSampleColumnsInit(&new_s, 1440);
		VsSampleColumnsInit(&one, 1440);

		/* the series' blocks of the day, in order: they do not overlap */
		while (SStreamFill(&blocks) && SKeyCmp(blocks.key[blocks.pos], k) == 0)
		{
			VsSampleBlockDecode(blocks.data[blocks.pos], blocks.extra[blocks.pos], k.tenant, k.series,
								blocks.ts[blocks.pos], &one);
			VsSampleColumnsReserve(&old_s, old_s.n + one.n);
			for (int i = 0; i < one.n; i++)
				VsSampleColumnsAppend(&old_s, one.ts[i], one.seq[i], one.volume[i], one.recorded[i]);
			blocks.pos++;
		}
		while (SStreamFill(&head) && SKeyCmp(head.key[head.pos], k) == 0)
		{
			VsSampleColumnsAppend(&new_s, head.ts[head.pos], head.seq[head.pos],
								  head.volume[head.pos], head.recorded[head.pos]);
			head.pos++;
		}

		if (new_s.n == 0)
			total += old_s.n;
		else
		{
			VsSampleColumns merged;

			VsSampleColumnsInit(&merged, old_s.n + new_s.n);
			MergeSamples(&old_s, &new_s, &merged);
			if (old_s.n > 0)
				DeleteSeriesSampleBlocks(k, lo, hi);
			VsSampleBlocksWrite(k.tenant, k.series, &merged);
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

VS_FUNCTION_INFO_V1(vscope_decompress_samples);

/*
 * vscope_decompress_samples turns the samples blocks of a UTC day back
 * into rows; rows already there with the same key (written after
 * compaction) keep their values.  Returns how many samples went back.
 */
Datum
vscope_decompress_samples(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0);
	TimestampTz lo,
				hi;
	char		partname[40];
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext groupcxt;
	SStream		blocks;
	SPIPlanPtr	insert;
	int64		total = 0;
	Oid			types[6] = {INT4OID, INT4OID, TIMESTAMPTZARRAYOID, INT4ARRAYOID, FLOAT8ARRAYOID,
	TIMESTAMPTZARRAYOID};
	Oid			argtypes[2] = {INT4ARRAYOID, TEXTOID};
	Datum		dargs[2];
	Datum		unixday;

	VsDayRange(day, "samples", &lo, &hi, partname, sizeof(partname));
	SPI_connect();

	/* the day's partition, made now if expiry or nobody made it */
	unixday = Int32GetDatum(day + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE));
	dargs[0] = PointerGetDatum(construct_array(&unixday, 1, INT4OID, 4, true, TYPALIGN_INT));
	dargs[1] = CStringGetTextDatum("samples");
	if (SPI_execute_with_args("SELECT vscope._ensure_partitions($1, $2)", 2, argtypes, dargs,
							  NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "creating the partition of the day failed");
	if (!VsLockPartition(partname))
		elog(ERROR, "partition %s is missing", partname);

	insert = SPI_prepare("INSERT INTO vscope.samples (tenant_id, series_id, ts, seq, volume, recorded_at) "
						 "SELECT $1, $2, unnest($3), unnest($4), unnest($5), unnest($6) "
						 "ON CONFLICT (tenant_id, series_id, ts, seq) DO NOTHING", 6, types);
	if (insert == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));

	groupcxt = AllocSetContextCreate(callcxt, "vscope samples decompression block", ALLOCSET_DEFAULT_SIZES);
	SStreamOpen(&blocks, OpenSampleBlocksCursor(day), true, callcxt);
	while (SStreamFill(&blocks))
	{
		MemoryContext old;
		VsSampleColumns one;
		Datum	   *ts,
				   *seq,
				   *vol,
				   *rec;
		Datum		args[6];
		int			m;

		MemoryContextReset(groupcxt);
		old = MemoryContextSwitchTo(groupcxt);
		VsSampleColumnsInit(&one, 1440);
		VsSampleBlockDecode(blocks.data[blocks.pos], blocks.extra[blocks.pos], blocks.key[blocks.pos].tenant,
							blocks.key[blocks.pos].series, blocks.ts[blocks.pos], &one);
		m = Max(one.n, 1);
		ts = palloc(sizeof(Datum) * m);
		seq = palloc(sizeof(Datum) * m);
		vol = palloc(sizeof(Datum) * m);
		rec = palloc(sizeof(Datum) * m);
		for (int i = 0; i < one.n; i++)
		{
			ts[i] = TimestampTzGetDatum(one.ts[i]);
			seq[i] = Int32GetDatum(one.seq[i]);
			vol[i] = Float8GetDatum(one.volume[i]);
			rec[i] = TimestampTzGetDatum(one.recorded[i]);
		}
		args[0] = Int32GetDatum(blocks.key[blocks.pos].tenant);
		args[1] = Int32GetDatum(blocks.key[blocks.pos].series);
		args[2] = PointerGetDatum(construct_array(ts, one.n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[3] = PointerGetDatum(construct_array(seq, one.n, INT4OID, 4, true, TYPALIGN_INT));
		args[4] = PointerGetDatum(construct_array(vol, one.n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[5] = PointerGetDatum(construct_array(rec, one.n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		if (SPI_execute_plan(insert, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "writing samples back failed");
		total += SPI_processed;
		MemoryContextSwitchTo(old);
		blocks.pos++;
	}
	SPI_cursor_close(blocks.portal);
	{
		Oid			dtypes[1] = {DATEOID};
		Datum		dayarg[1] = {DateADTGetDatum(day)};

		if (SPI_execute_with_args("DELETE FROM vscope.sample_blocks "
								  "WHERE (first_ts AT TIME ZONE 'UTC')::date = $1",
								  1, dtypes, dayarg, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "deleting the day's samples blocks failed");
	}
	SPI_finish();
	MemoryContextDelete(groupcxt);
	PG_RETURN_INT64(total);
}

VS_FUNCTION_INFO_V1(vscope_ceilo_block_max_seq);

/*
 * vscope_ceilo_block_max_seq(tenant_id, series_id, ts): the highest seq of
 * the tenant's samples of that series at that instant held in blocks, or
 * NULL when the blocks hold none (or none the caller may see: row-level
 * security applies, as to the rows the caller may write).  No instant spans two blocks (they are split
 * between instants), so one block at most is decoded.  A sample written
 * into a compressed day takes a seq above both this and the rows' highest,
 * so that it never takes the key (and message_id) of a sample in a block.
 */
Datum
vscope_ceilo_block_max_seq(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	int32		tenant = PG_GETARG_INT32(0);
	int32		series = PG_GETARG_INT32(1);
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(2);
	Datum		args[4];
	bool		found = false;
	int32		best = 0;
	MemoryContext callcxt = CurrentMemoryContext;

	if (TIMESTAMP_NOT_FINITE(ts) || ts < MIN_TIMESTAMP + USECS_PER_DAY)
		PG_RETURN_NULL();
	SPI_connect();
	if (plan == NULL)
	{
		Oid			types[4] = {INT4OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID};

		plan = VsKeepPlan("SELECT data, extra, first_ts FROM vscope.sample_blocks "
						  "WHERE tenant_id = $1 AND series_id = $2 AND first_ts <= $3 "
						  "AND first_ts > $4 AND last_ts >= $3",
						  4, types, CURSOR_OPT_GENERIC_PLAN);
	}
	args[0] = Int32GetDatum(tenant);
	args[1] = Int32GetDatum(series);
	args[2] = TimestampTzGetDatum(ts);
	args[3] = TimestampTzGetDatum(ts - USECS_PER_DAY);
	if (SPI_execute_plan(plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading samples blocks failed");
	for (uint64 b = 0; b < SPI_processed; b++)
	{
		HeapTuple	tup = SPI_tuptable->vals[b];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		VsSampleColumns one;
		MemoryContext old = MemoryContextSwitchTo(callcxt);

		VsSampleColumnsInit(&one, 1440);
		VsSampleBlockDecode(DatumGetByteaPP(SPI_getbinval(tup, desc, 1, &isnull)),
							DatumGetByteaPP(SPI_getbinval(tup, desc, 2, &isnull)), tenant, series,
							DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull)), &one);
		MemoryContextSwitchTo(old);
		for (int i = 0; i < one.n; i++)
			if (one.ts[i] == ts && (!found || one.seq[i] > best))
			{
				best = one.seq[i];
				found = true;
			}
	}
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_INT32(best);
}
