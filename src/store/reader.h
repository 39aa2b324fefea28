/*-------------------------------------------------------------------------
 *
 * reader.h
 *	  The one way vscope reads points: for these series and this time range,
 *	  (ts, value) in time order, series by series.  Everything that reads
 *	  points (queries, statistics, live views) goes through it, so the
 *	  storage under it can change (row store today, compressed blocks later)
 *	  without touching them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_READER_H
#define VSCOPE_READER_H

#include "core/vscope.h"
#include "utils/array.h"

typedef struct VsPoint
{
	TimestampTz ts;
	bool		is_int;
	int64		ivalue;			/* when is_int */
	double		value;			/* always set: ivalue as a double when is_int */
} VsPoint;

typedef struct VsReader VsReader;

/*
 * Opens a reader over [start, end) of the given series of the tenant.  The
 * caller is connected to SPI and keeps the connection until vs_reader_close.
 * Series come in ascending id order, each once however often it is given;
 * the points of one series in time order.
 */
extern VsReader *vs_reader_open(int32 tenant, const int32 *series, int nseries,
								TimestampTz start, TimestampTz end);

/* the next point, and its series; false at the end */
extern bool vs_reader_next(VsReader *r, int32 *series_id, VsPoint *pt);

/* a block's summary: what it holds, without decoding it */
typedef struct VsBlockSummary
{
	TimestampTz first_ts;
	TimestampTz last_ts;
	int32		n;
	int16		flags;			/* VS_BLOCK_* (store/block.h) */
	double		vmin;
	double		vmax;
	double		vsum;			/* summed in time order from 0, as a day is */
} VsBlockSummary;

/*
 * a run of points of one series, in time order, in columns; or, when
 * summary is set (only after vs_reader_use_summaries), the n points of a
 * whole block (all of its series' points on that UTC day, in whole
 * milliseconds) given by their summary, the arrays NULL
 */
typedef struct VsPointRun
{
	int			n;
	const TimestampTz *ts;
	const uint8 *is_int;
	const int64 *ivalue;
	const double *value;		/* always set: ivalue as a double when is_int */
	const VsBlockSummary *summary;
} VsPointRun;

/*
 * the next run of points of one series, and its series; false at the end.
 * The same points as vs_reader_next, many at a time; the arrays are the
 * reader's and stay valid until the next call.
 */
extern bool vs_reader_next_run(VsReader *r, int32 *series_id, VsPointRun *run);

/*
 * vs_reader_use_summaries lets vs_reader_next_run give whole blocks inside
 * [lo, hi) as summaries; for callers that aggregate a series day by day.
 */
extern void vs_reader_use_summaries(VsReader *r, TimestampTz lo, TimestampTz hi);

extern void vs_reader_close(VsReader *r);

/*
 * the part of [start, end) whose days' partitions of vscope.<parent> have
 * any page (a compressed, vacuumed day has none); false when no day has
 */
extern bool VsHeadRange(const char *parent, TimestampTz start, TimestampTz end,
						TimestampTz *hs, TimestampTz *he, int64 *probed, int64 *skipped);

/* the series ids of an int4[] (read_points()' argument), NULLs left out */
extern int32 *vs_reader_series(ArrayType *arr, int *nseries);

#endif							/* VSCOPE_READER_H */
