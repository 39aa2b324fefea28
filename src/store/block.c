/*-------------------------------------------------------------------------
 *
 * block.c
 *	  Blocks as rows: decoding a vscope.blocks row's data with errors that
 *	  name the series and day, and writing a series' points of one day as
 *	  block rows with their summaries.  The encoding itself is codec.c's.
 *
 *	  A block row must fit a heap page (the table's toast_tuple_target
 *	  keeps it inline and uncompressed): a day whose points encode larger
 *	  is split into several blocks, each covering a run of the day.
 *
 *-------------------------------------------------------------------------
 */
#include "store/block.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/timestamp.h"

#include "store/codec.h"

/* the most bytes of encoded data in one block row */
#define VS_BLOCK_MAX_BYTES 7900

/*
 * VsColumnsInit makes an empty set of columns with room for cap points.
 */
void
VsColumnsInit(VsColumns *c, int cap)
{
	c->n = 0;
	c->cap = Max(cap, 16);
	c->ts = palloc(sizeof(TimestampTz) * c->cap);
	c->is_int = palloc(sizeof(uint8) * c->cap);
	c->ivalue = palloc(sizeof(int64) * c->cap);
	c->value = palloc(sizeof(double) * c->cap);
}

/*
 * VsColumnsReserve makes room for n points in all.
 */
void
VsColumnsReserve(VsColumns *c, int n)
{
	int			cap = c->cap;

	if (n <= cap)
		return;
	while (cap < n)
		cap *= 2;
	c->ts = repalloc(c->ts, sizeof(TimestampTz) * cap);
	c->is_int = repalloc(c->is_int, sizeof(uint8) * cap);
	c->ivalue = repalloc(c->ivalue, sizeof(int64) * cap);
	c->value = repalloc(c->value, sizeof(double) * cap);
	c->cap = cap;
}

/*
 * VsColumnsAppend adds one point at the end.
 */
void
VsColumnsAppend(VsColumns *c, TimestampTz ts, bool is_int, int64 ivalue, double value)
{
	if (c->n == c->cap)
		VsColumnsReserve(c, c->n + 1);
	c->ts[c->n] = ts;
	c->is_int[c->n] = is_int ? 1 : 0;
	c->ivalue[c->n] = is_int ? ivalue : 0;
	c->value[c->n] = is_int ? (double) ivalue : value;
	c->n++;
}

/*
 * BlockCorrupt raises the error of a block that cannot be decoded.  Series
 * ids are numbered per tenant: a tenant other than 0 is named too (work
 * across tenants, such as compaction).
 */
static void
BlockCorrupt(int32 tenant, int32 series_id, TimestampTz first_ts, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 tenant != 0 ?
			 errmsg("compressed block of series %d of tenant %d starting at %s is corrupt",
					series_id, tenant, timestamptz_to_str(first_ts)) :
			 errmsg("compressed block of series %d starting at %s is corrupt",
					series_id, timestamptz_to_str(first_ts)),
			 errdetail("%s", why),
			 errhint("Restore that row of vscope.blocks from a backup, or delete it to give up "
					 "its points; the series' other blocks stay readable.")));
}

static void
BlockDecode(const bytea *data, int32 tenant, int32 series_id, TimestampTz first_ts, VsColumns *out)
{
	const uint8 *bytes = (const uint8 *) VARDATA_ANY(data);
	size_t		len = VARSIZE_ANY_EXHDR(data);
	int			n = vs_block_npoints(bytes, len);
	const char *err = NULL;

	if (n < 0)
		BlockCorrupt(tenant, series_id, first_ts, "Its header is not a block header.");
	VsColumnsReserve(out, n);
	if (vs_block_decode(bytes, len, out->ts, out->is_int, out->ivalue, out->value, &err) != n)
		BlockCorrupt(tenant, series_id, first_ts,
					 psprintf("Decoding stopped: %s.", err ? err : "fewer points than the header says"));
	out->n = n;
	if (n > 0 && out->ts[0] != first_ts)
		BlockCorrupt(tenant, series_id, first_ts, "Its first timestamp is not the row's first_ts.");
}

/*
 * VsBlockDecode replaces out's points with those of the block (of a series
 * of the current tenant).
 */
void
VsBlockDecode(const bytea *data, int32 series_id, TimestampTz first_ts, VsColumns *out)
{
	BlockDecode(data, 0, series_id, first_ts, out);
}

/*
 * VsBlockDecodeOf is VsBlockDecode for a block of any tenant: its errors
 * name the tenant too.
 */
void
VsBlockDecodeOf(const bytea *data, int32 tenant, int32 series_id, TimestampTz first_ts,
				VsColumns *out)
{
	BlockDecode(data, tenant, series_id, first_ts, out);
}

static SPIPlanPtr insert_plan = NULL;

/*
 * WriteOne encodes points [from, from + n) as one block row; false, with
 * nothing written, when they encode to more than a block may hold (and
 * more than one point is left to split).
 */
static bool
WriteOne(int32 tenant, int32 series_id, const VsColumns *pts, int from, int n)
{
	uint8	   *buf = palloc(vs_block_bound(n));
	size_t		len = vs_block_encode(pts->ts + from, pts->is_int + from, pts->ivalue + from,
									  pts->value + from, n, buf);
	bytea	   *data;
	double		vmin = pts->value[from];
	double		vmax = pts->value[from];
	double		vsum = 0;
	int16		flags = VS_BLOCK_MS;
	Datum		args[10];
	int			ret;

	if (len == 0)
		elog(ERROR, "points of series %d are not in strict time order", series_id);
	if (len > VS_BLOCK_MAX_BYTES && n > 1)
	{
		pfree(buf);
		return false;
	}
	for (int i = from; i < from + n; i++)
	{
		double		v = pts->value[i];

		if (float8_lt(v, vmin))
			vmin = v;
		if (float8_gt(v, vmax))
			vmax = v;
		vsum += v;
		if (pts->ts[i] % 1000 != 0)
			flags &= ~VS_BLOCK_MS;
	}
	if (from == 0 && n == pts->n)
		flags |= VS_BLOCK_WHOLE_DAY;
	data = palloc(VARHDRSZ + len);
	SET_VARSIZE(data, VARHDRSZ + len);
	memcpy(VARDATA(data), buf, len);
	pfree(buf);

	if (insert_plan == NULL)
	{
		Oid			types[10] = {INT4OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID,
		FLOAT8OID, FLOAT8OID, FLOAT8OID, BYTEAOID, INT2OID};

		insert_plan = VsKeepPlan("INSERT INTO vscope.blocks (tenant_id, series_id, first_ts, last_ts, "
								 "n, vmin, vmax, vsum, data, flags) "
								 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
								 10, types, VS_WRITE_PLAN_OPTIONS);
	}
	args[0] = Int32GetDatum(tenant);
	args[1] = Int32GetDatum(series_id);
	args[2] = TimestampTzGetDatum(pts->ts[from]);
	args[3] = TimestampTzGetDatum(pts->ts[from + n - 1]);
	args[4] = Int32GetDatum(n);
	args[5] = Float8GetDatum(vmin);
	args[6] = Float8GetDatum(vmax);
	args[7] = Float8GetDatum(vsum);
	args[8] = PointerGetDatum(data);
	args[9] = Int16GetDatum(flags);
	ret = SPI_execute_plan(insert_plan, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "storing a block failed: %s", SPI_result_code_string(ret));
	pfree(data);
	return true;
}

/*
 * WriteRange writes points [from, from + n), halving the run until each
 * part fits one block.
 */
static void
WriteRange(int32 tenant, int32 series_id, const VsColumns *pts, int from, int n)
{
	CHECK_FOR_INTERRUPTS();
	if (n <= 0)
		return;
	if (n <= VS_BLOCK_MAX_POINTS && WriteOne(tenant, series_id, pts, from, n))
		return;
	WriteRange(tenant, series_id, pts, from, n / 2);
	WriteRange(tenant, series_id, pts, from + n / 2, n - n / 2);
}

/*
 * VsBlocksWrite stores the points of one series of one day as blocks.
 */
void
VsBlocksWrite(int32 tenant, int32 series_id, const VsColumns *pts)
{
	WriteRange(tenant, series_id, pts, 0, pts->n);
}
