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
 * Series come in ascending id order; the points of one series in time order.
 */
extern VsReader *vs_reader_open(int32 tenant, const int32 *series, int nseries,
								TimestampTz start, TimestampTz end);

/* the next point, and its series; false at the end */
extern bool vs_reader_next(VsReader *r, int32 *series_id, VsPoint *pt);

/* a run of points of one series, in time order, in columns */
typedef struct VsPointRun
{
	int			n;
	const TimestampTz *ts;
	const uint8 *is_int;
	const int64 *ivalue;
	const double *value;		/* always set: ivalue as a double when is_int */
} VsPointRun;

/*
 * the next run of points of one series, and its series; false at the end.
 * The same points as vs_reader_next, many at a time; the arrays are the
 * reader's and stay valid until the next call.
 */
extern bool vs_reader_next_run(VsReader *r, int32 *series_id, VsPointRun *run);

extern void vs_reader_close(VsReader *r);

#endif							/* VSCOPE_READER_H */
