/*-------------------------------------------------------------------------
 *
 * store.h
 *	  The metric store's write side: series identities and their cache,
 *	  which days may be written, and storing validated points (last write
 *	  wins per series and timestamp).  Reading is in reader.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_STORE_H
#define VSCOPE_STORE_H

#include "core/vscope.h"

/* the longest canonical series identity, metric{k=v,...} */
#define VS_MAX_SERIES_KEY 2048

/* One parsed, validated data point on its way to storage. */
typedef struct VsPointIn
{
	int32		series_id;
	TimestampTz ts;
	bool		is_int;
	int64		ivalue;
	double		value;
	int			ordinal;		/* position in the request: the last one wins */
} VsPointIn;

/* series.c: series identities and the per-backend cache */
typedef struct VsTag
{
	char	   *key;
	char	   *value;
	int			ord;			/* input position: of two equal keys the last wins */
} VsTag;

/* A series to resolve: metric and tags, sorted and without duplicate keys. */
typedef struct VsSeriesRef
{
	const char *metric;
	VsTag	   *tags;
	int			ntags;
	int32		series_id;		/* out */
} VsSeriesRef;

extern int	VsSortTags(VsTag *tags, int ntags);
extern void VsResolveSeries(int32 tenant, VsSeriesRef *refs, int n);

/* partition.c: a point is written only to a day whose partition exists */
extern const char *VsDayNotWritable(TimestampTz ts);
extern void VsRequireWritableDay(TimestampTz ts);
extern void VsPartitionInit(void);

/* planner.c: the datapoints view reads only the range a query asks for */
extern void VsPlannerInit(void);
extern bool VsIsVscopeFunction(Oid funcid, const char *name);

/* reader_agg.c: aggregates over read_points() computed in the reader */
extern void VsReaderAggInit(void);

/* ingest.c */
extern int64 VsStorePoints(int32 tenant, VsPointIn *points, int npoints);
extern void VsValueArrayArgs(int n, Datum *ts, Datum *fv, Datum *iv, const bool *is_int,
							 Datum *args);
extern char *VsCheckName(const char *what, const char *ctx, const char *s);
extern TimestampTz VsUnixMsToTimestamp(int64 ms);

/* series.c */
extern void VsSeriesCacheInit(void);

/*
 * Whether a table of the store exists in this database: the library may be
 * newer than the extension's SQL until ALTER EXTENSION vscope UPDATE has
 * run, and must keep working meanwhile (ingest.c).
 */
extern bool VsStoreHasTable(const char *name);

#endif							/* VSCOPE_STORE_H */
