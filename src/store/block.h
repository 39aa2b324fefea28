/*-------------------------------------------------------------------------
 *
 * block.h
 *	  Compressed blocks as the store keeps them: the points of one series
 *	  over at most one UTC day, encoded by codec.c, in a row of
 *	  vscope.blocks beside their summary (count, min, max, sum, and flags
 *	  saying when the summary may stand for the points).
 *
 *	  Points travel column-wise (VsColumns): the codec's own layout, and
 *	  what a decoder fills fastest.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_BLOCK_H
#define VSCOPE_BLOCK_H

#include "core/vscope.h"
#include "utils/date.h"

/* a growable set of points in columns, palloc'd in one memory context */
typedef struct VsColumns
{
	int			n;
	int			cap;
	TimestampTz *ts;
	uint8	   *is_int;
	int64	   *ivalue;			/* when is_int */
	double	   *value;			/* always set: ivalue as a double when is_int */
} VsColumns;

extern void VsColumnsInit(VsColumns *c, int cap);
extern void VsColumnsReserve(VsColumns *c, int n);
extern void VsColumnsAppend(VsColumns *c, TimestampTz ts, bool is_int, int64 ivalue,
							double value);

/*
 * VsBlockDecode replaces the contents of out with the points of a block,
 * or raises a data-corrupted error naming the series and day.
 */
extern void VsBlockDecode(const bytea *data, int32 series_id, TimestampTz first_ts,
						  VsColumns *out);
/* the same for a block of any tenant (series ids are per tenant): errors name it */
extern void VsBlockDecodeOf(const bytea *data, int32 tenant, int32 series_id,
							TimestampTz first_ts, VsColumns *out);

/* vscope.blocks.flags */
#define VS_BLOCK_WHOLE_DAY	0x01	/* the series' only block of its day */
#define VS_BLOCK_MS			0x02	/* every timestamp a whole millisecond */

/*
 * VsBlocksWrite stores the points of one series of one day (time order,
 * one value per timestamp) as block rows of vscope.blocks, splitting them
 * where one block would not fit a heap page.  The caller is connected to
 * SPI and has removed the day's old blocks of the series.
 */
extern void VsBlocksWrite(int32 tenant, int32 series_id, const VsColumns *pts);

/*
 * compact.c's day lock (the day's partition in SHARE ROW EXCLUSIVE mode,
 * false when it has none), and the deletion of a series' blocks that
 * start in [lo, hi); for whatever rewrites blocks (delete.c)
 */
extern bool VsLockDay(DateADT day);
extern void VsDeleteSeriesBlocks(int32 tenant, int32 series_id, TimestampTz lo, TimestampTz hi);

/*
 * Compaction's days (compact.c): the bounds of a UTC day and the name of
 * its partition of vscope.<parent> (points or samples); taking such a
 * partition as VsLockDay does (false when it does not exist).
 */
extern void VsDayRange(DateADT day, const char *parent, TimestampTz *lo, TimestampTz *hi,
					   char *partname, size_t len);
extern bool VsLockPartition(const char *partname);

#endif							/* VSCOPE_BLOCK_H */
