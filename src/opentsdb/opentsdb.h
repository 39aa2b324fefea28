/*-------------------------------------------------------------------------
 *
 * opentsdb.h
 *	  The OpenTSDB query engine: shared types.
 *
 *	  Times inside the engine are Unix epoch milliseconds (int64), as in
 *	  OpenTSDB.  A value carries its kind: an int64 or a double; the rules
 *	  for when arithmetic stays integral are OpenTSDB's (see tsdb_merge.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_TSDB_H
#define VSCOPE_TSDB_H

#include "core/vscope.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

/* one data point in the engine */
typedef struct TsPoint
{
	int64		ts;				/* Unix ms */
	bool		is_int;
	int64		i;
	double		d;				/* the value as a double, always set */
} TsPoint;

/* a growable run of points of one series, in time order */
typedef struct TsSeries
{
	TsPoint    *p;
	int			n;
	int			cap;
} TsSeries;

extern void ts_append(TsSeries *s, TsPoint pt);
extern void ts_reserve(TsSeries *s, int n);

/* ---- aggregators (tsdb_agg.c) ---- */

typedef enum TsInterp
{
	INTERP_LERP,
	INTERP_ZIM,
	INTERP_MAX,
	INTERP_MIN,
	INTERP_PREV
} TsInterp;

typedef enum TsAggKind
{
	AGG_SUM, AGG_MIN, AGG_MAX, AGG_AVG, AGG_NONE, AGG_MEDIAN, AGG_MULT, AGG_DEV,
	AGG_DIFF, AGG_COUNT, AGG_FIRST, AGG_LAST, AGG_SQUARESUM, AGG_PCT, AGG_EPCT_R3,
	AGG_EPCT_R7
} TsAggKind;

typedef struct TsAgg
{
	const char *name;
	TsAggKind	kind;
	TsInterp	interp;
	double		pct;			/* for the percentiles */
} TsAgg;

extern const TsAgg *ts_agg_lookup(const char *name);
extern void ts_agg_names(StringInfo buf);
extern int64 ts_agg_long(const TsAgg *agg, int64 *v, int n);
extern double ts_agg_double(const TsAgg *agg, double *v, int n);
extern double ts_percentile(double *v, int n, double p, TsAggKind how);

/* ---- time (tsdb_time.c) ---- */

extern int64 ts_now_ms(void);
extern int64 ts_parse_time(const char *s, const char *tz, bool is_end);
extern int64 ts_parse_duration(const char *s);

/* ---- downsampling and rate (tsdb_series.c) ---- */

typedef enum TsFill
{
	FILL_NONE, FILL_NAN, FILL_NULL, FILL_ZERO
} TsFill;

typedef struct TsDownsample
{
	bool		present;
	char	   *spec;			/* as given */
	int64		interval;		/* ms */
	bool		all;			/* 0all: one bucket over [start, end) */
	bool		calendar;
	char		unit;			/* calendar unit: s m h d w n y */
	int			count;			/* calendar multiple */
	const TsAgg *agg;
	TsFill		fill;
	struct pg_tz *zone;			/* calendar buckets' zone: ts_downsample_set_zone */
} TsDownsample;

typedef struct TsRate
{
	bool		present;
	bool		counter;
	int64		counter_max;
	int64		reset_value;
	bool		drop_resets;
} TsRate;

extern void ts_parse_downsample(const char *spec, TsDownsample *ds, bool use_calendar);
extern void ts_downsample_set_zone(TsDownsample *ds, const char *tz);
extern void ts_downsample_range(const TsDownsample *ds, int64 start, int64 end,
								int64 *from, int64 *to);
extern void ts_downsample(const TsSeries *in, const TsDownsample *ds, int64 start,
						  int64 end, const char *tz, TsSeries *out);
extern void ts_rate(const TsSeries *in, const TsRate *rate, TsSeries *out);

/* ---- merging a group (tsdb_merge.c) ---- */

extern void ts_merge(TsSeries *series, int nseries, const TsAgg *agg, bool rate,
					 bool doubles_only, TsSeries *out);

/* ---- filters (tsdb_filter.c) ---- */

typedef enum TsFilterType
{
	TF_LITERAL_OR, TF_ILITERAL_OR, TF_NOT_LITERAL_OR, TF_NOT_ILITERAL_OR,
	TF_WILDCARD, TF_IWILDCARD, TF_REGEXP, TF_NOT_KEY
} TsFilterType;

typedef struct TsFilter
{
	TsFilterType type;
	char	   *tagk;
	char	   *filter;			/* the expression as given */
	bool		group_by;
	char	  **literals;		/* literal_or family */
	int			nliterals;
} TsFilter;

extern TsFilterType ts_filter_type(const char *name);
extern const char *ts_filter_type_name(TsFilterType t);
extern void ts_filter_types(StringInfo buf);
extern void ts_filter_prepare(TsFilter *f);
extern bool ts_filter_match(const TsFilter *f, const char *value);
extern void ts_tag_to_filter(const char *tagk, const char *value, bool group_by, TsFilter *f);

/* ---- the GET form (tsdb_get.c) ---- */

extern char *ts_get_to_request(Jsonb *args);

/* ---- number formatting (tsdb_query.c) ---- */

extern void ts_append_double(StringInfo buf, double d);

/*
 * ---- running /api/query's sub-queries for other endpoints (query.c) ----
 *
 * The expression endpoints (query_exp.c, gexp.c) parse an /api/query body,
 * run its sub-queries and get each one's groups back instead of JSON.
 * SPI must be connected, and stay connected while the results are used:
 * SPI's calls leave its procedure context current, which SPI_finish frees.
 */

/* a selected series: id, tags (in key order) and points */
typedef struct TsSeriesInfo
{
	int32		id;
	int			ntags;
	char	  **keys;
	char	  **vals;
	TsSeries	data;			/* raw, then downsampled and rated */
} TsSeriesInfo;

/* one result of a sub-query: its series and their merged points */
typedef struct TsResultGroup
{
	TsSeriesInfo **members;
	int			n;
	TsSeries	data;			/* merged (the one series' own with "none") */
	double		merge_ms;		/* the time merging took (showStats) */
} TsResultGroup;

typedef struct TsSubResult
{
	const char *metric;
	TsResultGroup *groups;		/* oldest series first, as /api/query */
	int			ngroups;
	char	  **filter_tagks;	/* the tag keys of every filter, distinct */
	int			nfilter_tagks;
	bool		fill_null;		/* the downsampler fills with null */
} TsSubResult;

typedef struct TsQuery TsQuery;

/* a result as /api/query writes it, from whatever made it */
typedef struct TsOutSeries
{
	const char *metric;
	int			ntags;
	char	  **tagk;
	char	  **tagv;
	int			nagg;
	char	  **agg;
	int			query_index;	/* the sub-query "query" names */
	TsSeriesInfo **members;		/* for tsuids and annotations; may be none */
	int			nmembers;
	const TsSeries *data;		/* written within [start, end] */
	bool		fill_null;		/* NaN written as null */
} TsOutSeries;

extern TsQuery *ts_query_parse(Jsonb *req);
extern int	ts_query_nsubs(const TsQuery *q);
extern void ts_query_range(const TsQuery *q, int64 *start, int64 *end);
extern TsSubResult *ts_query_run_subs(TsQuery *q, int32 tenant);
extern void ts_group_tags(TsSeriesInfo **members, int n, int *ntags, char ***keys,
						  char ***vals, int *nagg, char ***agg);
extern void ts_query_write_series(StringInfo buf, bool *first, const TsQuery *q,
								  const TsOutSeries *s);

/* ---- the GET form's sub-queries, for /api/query/gexp (query_get.c) ---- */

extern char *ts_get_to_request_with(Jsonb *args, char **extra_m, int nextra,
									int **index_of_extra);

#endif							/* VSCOPE_TSDB_H */
