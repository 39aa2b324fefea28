/*-------------------------------------------------------------------------
 *
 * vscope.h
 *	  Declarations shared by the modules of the vscope extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_H
#define VSCOPE_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/timestamp.h"

#include "vscope_errors.h"

/* declares and defines an SQL-callable function in one go */
#define VS_FUNCTION_INFO_V1(fn) \
	PG_FUNCTION_INFO_V1(fn); \
	extern PGDLLEXPORT Datum fn(PG_FUNCTION_ARGS)

/* GUCs (vscope.c) */
extern int	vs_max_tags;
extern char *vs_retention;
extern int	vs_max_future_secs;
extern int	vs_max_put_points;
extern int	vs_max_new_partitions;
extern int	vs_max_buckets;
extern TimestampTz VsRetentionCutoff(void);

/* a prepared SPI plan kept for the life of the backend (vscope.c); an SPIPlanPtr */
extern struct _SPI_plan *VsKeepPlan(const char *sql, int nargs, Oid *types, int cursor_options);

/* the longest canonical series identity, metric{k=v,...} */
#define VS_MAX_SERIES_KEY 2048

/* ceilometer.c */
extern bool VsCeiloParseTs(const char *s, TimestampTz *out);
extern char *VsCeiloFormatTs(TimestampTz ts);
extern bool VsCeiloParseMessageId(const char *s, int32 *series_id, TimestampTz *ts, int32 *seq);

/* tenancy.c */
extern int32 VsCurrentTenant(bool *isnull);
extern int32 VsRequireTenant(void);

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

/* partition.c */
extern void VsEnsurePartitions(VsPointIn *points, int npoints);
extern void VsPartitionInit(void);

/* ingest.c */
extern int64 VsStorePoints(int32 tenant, VsPointIn *points, int npoints);
extern char *VsCheckName(const char *what, const char *ctx, const char *s);
extern TimestampTz VsUnixMsToTimestamp(int64 ms);

/* series.c */
extern void VsSeriesCacheInit(void);

#endif							/* VSCOPE_H */
