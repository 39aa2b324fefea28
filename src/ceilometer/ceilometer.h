/*-------------------------------------------------------------------------
 *
 * ceilometer.h
 *	  Ceilometer's times, numbers, message ids and statistics rows, shared
 *	  by the Ceilometer modules.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_CEILOMETER_H
#define VSCOPE_CEILOMETER_H

#include "core/vscope.h"
#include "lib/stringinfo.h"

extern bool VsCeiloParseTs(const char *s, TimestampTz *out);
extern char *VsCeiloFormatTs(TimestampTz ts);
extern bool VsCeiloParseMessageId(const char *s, int32 *series_id, TimestampTz *ts, int32 *seq);

/* Ceilometer's times (Python's datetime) end with year 9999: 10000-01-01 */
#define VS_CEILO_END_TS INT64CONST(252455616000000000)

/* a time and a float as Ceilometer writes them in JSON */
extern void VsCeiloAppendTs(StringInfo b, TimestampTz ts);
extern void VsCeiloAppendNumber(StringInfo b, double v);

/* a statistics row's keys, worked out once for an answer (ceilometer.c) */
typedef struct VsCeiloRowKey
{
	char	   *text;			/* , "name": (or "name": first in aggregate) */
	int			len;
	int			which;			/* 0..5: count, sum, min, max, avg, stddev; -1: a cardinality */
	int			card;			/* which cardinality */
} VsCeiloRowKey;

typedef struct VsCeiloRowLayout
{
	VsCeiloRowKey *keys;
	int			nkeys;
	int			ntop;			/* keys[0..ntop) at the top, the rest in "aggregate" */
	bool		has_aggregate;
	int			row_max;		/* the most bytes of a row besides its head and group-by */
	/* the last head and period written, kept for the next row (ceilometer.c) */
	MemoryContext cxt;
	char	   *prefix;
	int			prefix_len;
	int			prefix_cap;
	int			prefix_headlen;
	bool		prefix_valid;
	TimestampTz prefix_ps;
	TimestampTz prefix_pe;
} VsCeiloRowLayout;

extern void VsCeiloRowLayoutInit(VsCeiloRowLayout *l, const char *const *sel, int nsel, int ncard);
extern char *VsCeiloRowHead(const char *unit, int64 period);
extern void VsCeiloStatsRowL(StringInfo b, VsCeiloRowLayout *l, const char *head,
							 int headlen, const TimestampTz *ps, const TimestampTz *pe,
							 const TimestampTz *ds, const TimestampTz *de, const char *groupby,
							 int groupbylen, const double *st, const double *card);

/* one row of the statistics as JSON (NULL pointers: null) */
extern void VsCeiloStatsRow(StringInfo b, const char *unit, int64 period, const TimestampTz *ps,
							const TimestampTz *pe, const TimestampTz *ds, const TimestampTz *de,
							const char *groupby, const double *st, const char *const *sel,
							int nsel, const double *card, int ncard);

#endif							/* VSCOPE_CEILOMETER_H */
