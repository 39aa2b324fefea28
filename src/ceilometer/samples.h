/*-------------------------------------------------------------------------
 *
 * samples.h
 *	  Ceilometer samples in the store: the head (rows of vscope.samples,
 *	  partitioned by day) and, once a day is complete, per-series blocks in
 *	  vscope.sample_blocks; the reader that merges both in (ts, seq) order.
 *
 *	  A samples block row holds the samples of one series over (part of)
 *	  one UTC day: data, the (ts, volume) pairs as a samples block of the
 *	  codec (version 2: timestamps repeat where samples share an instant),
 *	  and extra, two int columns: each sample's seq and its recorded_at -
 *	  ts.  Beside them the summary: the count and the statistics state of
 *	  the volumes taken in (ts, seq) order (stats.h), which is what the
 *	  statistics compute for those samples when they are a whole cell.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_SAMPLES_H
#define VSCOPE_SAMPLES_H

#include "core/vscope.h"

#include "ceilometer/stats.h"

/* samples of one series in columns, palloc'd in one memory context */
typedef struct VsSampleColumns
{
	int			n;
	int			cap;
	TimestampTz *ts;
	int32	   *seq;
	double	   *volume;
	TimestampTz *recorded;
	/* the codec's scratch: types and int values (every volume is a double) */
	uint8	   *is_int;
	int64	   *scratch;
	int64	   *scratch2;
} VsSampleColumns;

extern void VsSampleColumnsInit(VsSampleColumns *c, int cap);
extern void VsSampleColumnsReserve(VsSampleColumns *c, int n);
extern void VsSampleColumnsAppend(VsSampleColumns *c, TimestampTz ts, int32 seq, double volume,
								  TimestampTz recorded);

/* vscope.sample_blocks.flags */
#define VS_SBLOCK_WHOLE_DAY 0x01	/* the series' only block of its UTC day */
#define VS_SBLOCK_NUMBERS	0x02	/* no volume is NaN: the state counts them all */

/* a samples block's row without its data */
typedef struct VsSampleSummary
{
	TimestampTz first_ts;
	TimestampTz last_ts;
	int32		n;
	int16		flags;
	double		st[VS_STATS_N]; /* [n, sum, min, max, mean, m2] in (ts, seq) order */
} VsSampleSummary;

/*
 * VsSampleBlockDecode replaces out's samples with those of a block row
 * (tenant 0: the current tenant, not named in errors), or raises a
 * data-corrupted error naming the series and the block.
 */
extern void VsSampleBlockDecode(const bytea *data, const bytea *extra, int32 tenant,
								int32 series_id, TimestampTz first_ts, VsSampleColumns *out);

/*
 * VsSampleBlocksWrite stores a series' samples of one UTC day ((ts, seq)
 * order, no two with the same key) as rows of vscope.sample_blocks, split
 * where one block would not fit a heap page, never inside one instant.
 * The caller is connected to SPI and has removed the day's old blocks.
 */
extern void VsSampleBlocksWrite(int32 tenant, int32 series_id, const VsSampleColumns *s);

/* the samples reader: head rows and blocks, series by series, in (ts, seq) order */
typedef struct VsSampleReader VsSampleReader;

/* a run of samples of one series, or (summary set) a whole block by its summary */
typedef struct VsSampleRun
{
	int			n;
	const TimestampTz *ts;
	const int32 *seq;
	const double *volume;
	const TimestampTz *recorded;
	const VsSampleSummary *summary;
} VsSampleRun;

/*
 * vs_sreader_open reads [start, end) of the series (ascending, each once,
 * however given) of the tenant; the caller is connected to SPI until
 * vs_sreader_close.
 */
extern VsSampleReader *vs_sreader_open(int32 tenant, const int32 *series, int nseries,
									   TimestampTz start, TimestampTz end);

/*
 * vs_sreader_use_summaries: a block may come as its summary when it is its
 * series' whole UTC day, has no NaN volume, lies inside the range, no head
 * row of the series falls on that day, and its first and last samples fall
 * in one bucket of the grid (period microseconds from origin; period 0:
 * one bucket for all).
 */
extern void vs_sreader_use_summaries(VsSampleReader *r, int64 period, TimestampTz origin);

extern bool vs_sreader_next_run(VsSampleReader *r, int32 *series_id, VsSampleRun *run);
extern void vs_sreader_close(VsSampleReader *r);

/* the bucket of ts on the grid: date_bin(period, ts, origin) (period > 0) */
extern TimestampTz VsBucketOf(TimestampTz ts, int64 period, TimestampTz origin);

/* exclusive end of an inclusive bound: hi + 1 microsecond (infinity stays) */
extern TimestampTz VsAfter(TimestampTz hi);

#endif							/* VSCOPE_SAMPLES_H */
