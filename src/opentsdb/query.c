/*-------------------------------------------------------------------------
 *
 * query.c
 *	  vscope.tsdb_query(request jsonb) returns json: OpenTSDB's /api/query.
 *
 *	  For each sub-query, in order: validate (OpenTSDB's order and
 *	  messages), select the metric's series and apply the filters, group
 *	  them, read their points over the hour-aligned scan range through the
 *	  reader, downsample and rate each series, merge each group with the
 *	  aggregator's interpolation, trim to [start, end] and serialize in
 *	  OpenTSDB's shape: metric, tags, aggregateTags, query, dps.  Integers
 *	  come out as integers and doubles the way Java's Double.toString writes
 *	  them.  Everything is allocated in a per-call context.
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/opentsdb.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "portability/instr_time.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "store/reader.h"

#define UNIX_EPOCH_MS_OFFSET \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000)
#define HOUR_MS INT64CONST(3600000)
#define DAY_MS INT64CONST(86400000)

typedef struct SubQuery
{
	int			index;
	const TsAgg *agg;
	char	   *metric;
	TsDownsample ds;
	TsRate		rate;
	bool		rate_options;	/* rateOptions was given (showQuery echoes it) */
	TsFilter   *filters;
	int			nfilters;
	bool		explicit_tags;
	bool		metric_given;	/* showQuery echoes null when not */
	/* tsuids: the series by id (a TSUID is a series id in hex) */
	char	  **tsuid_text;
	int32	   *tsuids;
	int			ntsuids;
} SubQuery;

struct TsQuery
{
	int64		start;
	int64		end;
	char	   *tz;
	bool		ms_resolution;
	bool		show_query;
	bool		show_tsuids;
	bool		show_summary;
	bool		show_stats;
	bool		arrays;
	bool		use_calendar;
	bool		no_annotations;
	bool		global_annotations;
	int32		tenant;
	bool		has_annotations;	/* the tenant has annotations of series */
	char	   *globals;		/* globalAnnotations' JSON array, or NULL */
	SubQuery   *subs;
	int			nsubs;
	/* a deleting query (vscope.tsdb_query_delete): the series it selected */
	bool		deleting;
	int32	   *del_ids;
	int			ndel;
};

/* a selected series: id and tags (opentsdb.h) */
typedef TsSeriesInfo SeriesInfo;

/*
 * SubStats: what showStats and showSummary report of a sub-query, under
 * OpenTSDB's QueryStats names (times in ms).  vscope's phases map onto
 * them: selecting the series by metric and filters is stringToUidTime,
 * reading (with downsampling and rate, done per series as it is read) is
 * queryScanTime, grouping is groupByTime, merging a group and writing its
 * dps is aggregationTime, writing the whole group is serializationTime.
 * Series stand for OpenTSDB's rows: rowsPreFilter counts the metric's
 * series, rowsPostFilter those the filters kept; points read are both
 * dpsPreFilter and dpsPostFilter (filters act before reading).
 */
typedef struct SubStats
{
	double		select_ms;
	double		scan_ms;
	double		group_ms;
	int64		rows_pre;
	int64		rows_post;
	int64		dps;
	/* per group, then summed over the sub-query's groups */
	double		agg_ms;
	double		ser_ms;
	int64		emitted;
	double		agg_ms_sum;
	double		ser_ms_sum;
	int64		emitted_sum;
} SubStats;

static double
MsSince(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_MILLISEC(now);
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void Bad(const char *msg) pg_attribute_noreturn();

static void
Bad(const char *msg)
{
	ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("%s", msg)));
}

/*
 * CheckDeleteAllowed refuses a deleting query in OpenTSDB's words unless
 * vscope.query_allow_delete is on (its tsd.http.query.allow_delete).
 */
static void
CheckDeleteAllowed(void)
{
	if (!vs_query_allow_delete)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("bad request"),
						errdetail("Deleting data is not enabled (tsd.http.query.allow_delete=false)")));
}

/* ---- reading the request ---- */

static JsonbValue *
Field(JsonbContainer *c, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(c, JB_FOBJECT, &k);
}

/* ScalarText: a string, number or boolean as text; NULL for null or absent */
static char *
ScalarText(JsonbValue *v)
{
	if (v == NULL || v->type == jbvNull)
		return NULL;
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			return NULL;
	}
}

static bool
BoolField(JsonbContainer *c, const char *key)
{
	JsonbValue *v = Field(c, key);

	if (v == NULL)
		return false;
	if (v->type == jbvBool)
		return v->val.boolean;
	if (v->type == jbvString)
		return v->val.string.len == 4 && pg_strncasecmp(v->val.string.val, "true", 4) == 0;
	return false;
}

static int64
Int64Field(JsonbContainer *c, const char *key, int64 dflt)
{
	char	   *s = ScalarText(Field(c, key));
	int64		v;
	char	   *end;

	if (s == NULL)
		return dflt;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("invalid %s: %s", key, s),
						errdetail("Expected a whole number.")));
	return v;
}

static void
AddFilter(SubQuery *sq, int *cap, TsFilter *f)
{
	if (sq->nfilters == *cap)
	{
		*cap = *cap ? *cap * 2 : 4;
		sq->filters = sq->filters ? repalloc(sq->filters, sizeof(TsFilter) * *cap)
			: palloc(sizeof(TsFilter) * *cap);
	}
	sq->filters[sq->nfilters++] = *f;
}

/*
 * ParseTsuid reads a TSUID: the hex series id that showTSUIDs,
 * /api/search/lookup and /api/query/last answer (1 to 8 digits)
 */
static int32
ParseTsuid(const char *t)
{
	int			len = strlen(t);
	uint32		v = 0;

	for (int i = 0; i < len && len <= 8; i++)
	{
		int			d = hex_digit(t[i]);

		if (d < 0)
		{
			len = 0;
			break;
		}
		v = (v << 4) | (uint32) d;
	}
	if (len == 0 || len > 8 || v == 0 || v > (uint32) PG_INT32_MAX)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("Invalid TSUID: %s", t),
						errdetail("A tsuid is the hexadecimal series id /api/search/lookup answers, such as 0000002A.")));
	return (int32) v;
}

static void
ParseSubQuery(JsonbContainer *c, int index, bool use_calendar, SubQuery *sq)
{
	char	   *agg = ScalarText(Field(c, "aggregator"));
	char	   *ds = ScalarText(Field(c, "downsample"));
	JsonbValue *v;
	int			cap = 0;

	memset(sq, 0, sizeof(*sq));
	sq->index = index;
	if (agg == NULL || agg[0] == '\0')
		Bad("missing the aggregation function");
	sq->agg = ts_agg_lookup(agg);
	if (sq->agg == NULL)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("no such aggregation function: %s", agg)));
	sq->metric = ScalarText(Field(c, "metric"));
	sq->metric_given = sq->metric != NULL && sq->metric[0] != '\0';
	v = Field(c, "tsuids");
	if (v != NULL && v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
	{
		int			n = JsonContainerSize(v->val.binary.data);

		sq->tsuid_text = palloc(sizeof(char *) * Max(n, 1));
		sq->tsuids = palloc(sizeof(int32) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			char	   *t = ScalarText(getIthJsonbValueFromContainer(v->val.binary.data, i));

			if (t == NULL)
				Bad("tsuids must be an array of strings");
			sq->tsuid_text[sq->ntsuids] = t;
			sq->tsuids[sq->ntsuids++] = ParseTsuid(t);
		}
	}
	else if (v != NULL && v->type != jbvNull)
		Bad("tsuids must be an array of strings");
	if (!sq->metric_given && sq->ntsuids == 0)
		Bad("missing the metric or tsuids, provide at least one");
	if (ds != NULL && ds[0] != '\0')
		ts_parse_downsample(ds, &sq->ds, use_calendar);

	sq->rate.present = BoolField(c, "rate");
	sq->rate.counter_max = PG_INT64_MAX;
	v = Field(c, "rateOptions");
	if (v != NULL && v->type == jbvBinary)
	{
		JsonbContainer *ro = v->val.binary.data;

		sq->rate.counter = BoolField(ro, "counter");
		sq->rate.counter_max = Int64Field(ro, "counterMax", PG_INT64_MAX);
		sq->rate.reset_value = Int64Field(ro, "resetValue", 0);
		sq->rate.drop_resets = BoolField(ro, "dropResets");
		sq->rate_options = true;
	}

	/* filters */
	v = Field(c, "filters");
	if (v != NULL && v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
	{
		JsonbContainer *arr = v->val.binary.data;
		int			n = JsonContainerSize(arr);

		for (int i = 0; i < n; i++)
		{
			JsonbValue *fv = getIthJsonbValueFromContainer(arr, i);
			TsFilter	f;
			char	   *type;
			int			t;

			if (fv == NULL || fv->type != jbvBinary || !JsonContainerIsObject(fv->val.binary.data))
				Bad("each filter is an object with type, tagk and filter");
			memset(&f, 0, sizeof(f));
			type = ScalarText(Field(fv->val.binary.data, "type"));
			f.tagk = ScalarText(Field(fv->val.binary.data, "tagk"));
			f.filter = ScalarText(Field(fv->val.binary.data, "filter"));
			f.group_by = BoolField(fv->val.binary.data, "groupBy");
			if (type == NULL)
				Bad("missing the filter type");
			t = (int) ts_filter_type(type);
			if (t < 0)
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("could not find a filter of the type: %s", type)));
			f.type = (TsFilterType) t;
			if (f.tagk == NULL || f.tagk[0] == '\0')
				Bad("missing the tag key (tagk) of a filter");
			if (f.filter == NULL)
				f.filter = pstrdup("");
			ts_filter_prepare(&f);
			AddFilter(sq, &cap, &f);
		}
	}
	else if (v != NULL && v->type != jbvNull)
		Bad("filters must be an array");

	/* legacy tags: every one a group-by filter */
	v = Field(c, "tags");
	if (v != NULL && v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	kv;
		JsonbIteratorToken tok;
		char	   *key = NULL;

		while ((tok = JsonbIteratorNext(&it, &kv, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
				key = pnstrdup(kv.val.string.val, kv.val.string.len);
			else if (tok == WJB_VALUE)
			{
				TsFilter	f;
				char	   *val = ScalarText(&kv);

				if (val == NULL)
					ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
									errmsg("tag \"%s\" needs a value", key)));
				ts_tag_to_filter(key, val, true, &f);
				AddFilter(sq, &cap, &f);
			}
		}
	}
	sq->explicit_tags = BoolField(c, "explicitTags");
	/* as in OpenTSDB, tsuids take precedence: the metric and tags are ignored */
	if (sq->ntsuids > 0)
	{
		sq->nfilters = 0;
		sq->explicit_tags = false;
	}
}

static void
ParseQuery(Jsonb *req, TsQuery *q, bool deleting)
{
	JsonbContainer *c = &req->root;
	char	   *start;
	char	   *end;
	JsonbValue *v;

	memset(q, 0, sizeof(*q));
	q->deleting = deleting;
	if (!JB_ROOT_IS_OBJECT(req))
		Bad("the query must be a JSON object");
	q->tz = ScalarText(Field(c, "timezone"));
	if (q->tz != NULL && q->tz[0] != '\0')
		(void) DirectFunctionCall2(timestamptz_zone, CStringGetTextDatum(q->tz),
								   TimestampTzGetDatum(0)); /* unknown zone: error */
	start = ScalarText(Field(c, "start"));
	if (start == NULL || start[0] == '\0')
		Bad("missing start time");
	q->start = ts_parse_time(start, q->tz, false);
	end = ScalarText(Field(c, "end"));
	q->end = (end == NULL || end[0] == '\0') ? ts_now_ms() : ts_parse_time(end, q->tz, true);
	if (q->end < q->start)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("end time [" INT64_FORMAT "] must be greater than or equal to the start time [" INT64_FORMAT "]",
							   q->end, q->start)));
	q->ms_resolution = BoolField(c, "msResolution") || BoolField(c, "ms");
	q->show_query = BoolField(c, "showQuery");
	q->show_tsuids = BoolField(c, "showTSUIDs");
	q->show_summary = BoolField(c, "showSummary");
	q->show_stats = BoolField(c, "showStats");
	q->arrays = BoolField(c, "arrays");
	q->use_calendar = BoolField(c, "useCalendar");
	q->no_annotations = BoolField(c, "noAnnotations");
	q->global_annotations = BoolField(c, "globalAnnotations");
	if (BoolField(c, "delete") && !deleting)
	{
		CheckDeleteAllowed();
		/* a read-only function cannot delete: the daemon calls the other */
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("a deleting query runs through vscope.tsdb_query_delete()"),
						errhint("vscope.tsdb_query() only reads.")));
	}

	v = Field(c, "queries");
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerSize(v->val.binary.data) == 0)
		Bad("missing queries");
	q->nsubs = JsonContainerSize(v->val.binary.data);
	q->subs = palloc(sizeof(SubQuery) * q->nsubs);
	for (int i = 0; i < q->nsubs; i++)
	{
		JsonbValue *sv = getIthJsonbValueFromContainer(v->val.binary.data, i);

		if (sv == NULL || sv->type != jbvBinary || !JsonContainerIsObject(sv->val.binary.data))
			Bad("each query is an object");
		ParseSubQuery(sv->val.binary.data, i, q->use_calendar, &q->subs[i]);
		/* a calendar downsampler's zone, looked up once for the query */
		ts_downsample_set_zone(&q->subs[i].ds, q->tz);
	}
}

/* ---- selecting series ---- */

static const char *
TagValue(const SeriesInfo *s, const char *key)
{
	for (int i = 0; i < s->ntags; i++)
		if (strcmp(s->keys[i], key) == 0)
			return s->vals[i];
	return NULL;
}

static void
NoSuchName(const char *kind, const char *name)
{
	ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
					errmsg("no such name for '%s': '%s'", kind, name)));
}

static bool
Exists(const char *sql, int32 tenant, const char *a, const char *b)
{
	Oid			types[3] = {INT4OID, TEXTOID, TEXTOID};
	Datum		args[3];
	int			ret;
	bool		isnull;

	args[0] = Int32GetDatum(tenant);
	args[1] = CStringGetTextDatum(a);
	args[2] = CStringGetTextDatum(b ? b : "");
	ret = SPI_execute_with_args(sql, 3, types, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "name lookup failed");
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * CheckNames raises OpenTSDB's "No such name" for a tag key, or a literal
 * value, that no series of the tenant has ever carried.  A name that a
 * selected series carries exists: only the others are looked up, so the
 * common query asks the database nothing.
 */
static void
CheckNames(int32 tenant, const SubQuery *sq, SeriesInfo *sel, int nsel)
{
	for (int i = 0; i < sq->nfilters; i++)
	{
		const TsFilter *f = &sq->filters[i];

		if (f->type != TF_NOT_KEY && nsel > 0)
			;					/* every selected series has the key */
		else if (!Exists("SELECT EXISTS (SELECT FROM vscope.series WHERE tenant_id = $1 AND tags ? $2 AND $3 = $3)",
						 tenant, f->tagk, NULL))
			NoSuchName("tagk", f->tagk);
		if (f->type == TF_LITERAL_OR)
			for (int k = 0; k < f->nliterals; k++)
			{
				bool		seen = false;

				for (int j = 0; j < nsel && !seen; j++)
				{
					const char *v = TagValue(&sel[j], f->tagk);

					seen = v != NULL && strcmp(v, f->literals[k]) == 0;
				}
				if (!seen &&
					!Exists("SELECT EXISTS (SELECT FROM vscope.series WHERE tenant_id = $1 "
							"AND jsonb_path_exists(tags, '$.* ? (@ == $v)', jsonb_build_object('v', $2)) "
							"AND $3 = $3)", tenant, f->literals[k], NULL))
					NoSuchName("tagv", f->literals[k]);
			}
	}
}

static bool
SeriesMatches(const SeriesInfo *s, const SubQuery *sq)
{
	for (int i = 0; i < sq->nfilters; i++)
	{
		const TsFilter *f = &sq->filters[i];
		const char *v = TagValue(s, f->tagk);

		if (f->type == TF_NOT_KEY)
		{
			if (v != NULL)
				return false;
			continue;
		}
		if (v == NULL || !ts_filter_match(f, v))
			return false;
	}
	if (sq->explicit_tags)
	{
		/* the series' keys are exactly the filtered keys */
		for (int k = 0; k < s->ntags; k++)
		{
			bool		named = false;

			for (int i = 0; i < sq->nfilters && !named; i++)
				named = strcmp(sq->filters[i].tagk, s->keys[k]) == 0;
			if (!named)
				return false;
		}
	}
	return true;
}

/*
 * ResolveTsuids checks that a sub-query's tsuids are series of the tenant
 * that share one metric (OpenTSDB's rule), and takes that metric as the
 * sub-query's.
 */
static void
ResolveTsuids(int32 tenant, SubQuery *sq)
{
	Oid			types[2] = {INT4OID, INT4ARRAYOID};
	Datum		args[2];
	Datum	   *ids;
	uint64		nrows;

	if (sq->ntsuids == 0)
		return;
	ids = palloc(sizeof(Datum) * sq->ntsuids);
	for (int i = 0; i < sq->ntsuids; i++)
		ids[i] = Int32GetDatum(sq->tsuids[i]);
	args[0] = Int32GetDatum(tenant);
	args[1] = PointerGetDatum(construct_array(ids, sq->ntsuids, INT4OID, sizeof(int32), true, TYPALIGN_INT));
	if (SPI_execute_with_args("SELECT series_id, metric FROM vscope.series WHERE tenant_id = $1 AND series_id = ANY ($2)",
							  2, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "looking up tsuids failed");
	nrows = SPI_processed;
	for (int i = 0; i < sq->ntsuids; i++)
	{
		bool		found = false;

		for (uint64 r = 0; r < nrows && !found; r++)
		{
			bool		isnull;

			found = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull)) == sq->tsuids[i];
		}
		if (!found)
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("No such unique ID for 'tsuid': '%s'", sq->tsuid_text[i]),
							errdetail("No series of this tenant has that TSUID.")));
	}
	for (uint64 r = 0; r < nrows; r++)
	{
		char	   *m = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);

		if (r == 0)
			sq->metric = m;
		else if (strcmp(m, sq->metric) != 0)
			Bad("One or more TSUIDs did not share the same metric");
	}
	SPI_freetuptable(SPI_tuptable);
}

static SPIPlanPtr select_plan = NULL;

static SeriesInfo *
SelectSeries(int32 tenant, const SubQuery *sq, int *nout, int64 *nrows_out)
{
	Oid			types[2] = {INT4OID, TEXTOID};
	Datum		args[2];
	int			ret;
	SeriesInfo *out;
	int			n = 0;
	uint64		nrows;

	args[0] = Int32GetDatum(tenant);
	if (sq->ntsuids > 0)
	{
		/* the series of the tsuids (ResolveTsuids checked they exist) */
		Oid			itypes[2] = {INT4OID, INT4ARRAYOID};
		Datum	   *ids = palloc(sizeof(Datum) * sq->ntsuids);

		for (int i = 0; i < sq->ntsuids; i++)
			ids[i] = Int32GetDatum(sq->tsuids[i]);
		args[1] = PointerGetDatum(construct_array(ids, sq->ntsuids, INT4OID, sizeof(int32), true, TYPALIGN_INT));
		ret = SPI_execute_with_args("SELECT series_id, tags FROM vscope.series "
									"WHERE tenant_id = $1 AND series_id = ANY ($2) ORDER BY series_id",
									2, itypes, args, NULL, true, 0);
	}
	else
	{
		args[1] = CStringGetTextDatum(sq->metric);
		if (select_plan == NULL)
		{
			select_plan = VsKeepPlan("SELECT series_id, tags FROM vscope.series "
									 "WHERE tenant_id = $1 AND metric = $2 ORDER BY series_id",
									 2, types, 0);
		}
		ret = SPI_execute_plan(select_plan, args, NULL, true, 0);
	}
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "selecting series failed");
	nrows = SPI_processed;
	*nrows_out = (int64) nrows;
	if (nrows == 0)
		NoSuchName("metrics", sq->metric);
	out = palloc0(sizeof(SeriesInfo) * nrows);
	for (uint64 r = 0; r < nrows; r++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[r];
		Jsonb	   *tags = DatumGetJsonbP(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		SeriesInfo *s = &out[n];
		JsonbIterator *it = JsonbIteratorInit(&tags->root);
		JsonbValue	kv;
		JsonbIteratorToken tok;
		int			cap = JB_ROOT_COUNT(tags);

		/* the slot may hold a series that did not match: start afresh */
		memset(s, 0, sizeof(SeriesInfo));
		s->id = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		s->keys = palloc(sizeof(char *) * Max(cap, 1));
		s->vals = palloc(sizeof(char *) * Max(cap, 1));
		while ((tok = JsonbIteratorNext(&it, &kv, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
				s->keys[s->ntags] = pnstrdup(kv.val.string.val, kv.val.string.len);
			else if (tok == WJB_VALUE)
				s->vals[s->ntags++] = kv.type == jbvString
					? pnstrdup(kv.val.string.val, kv.val.string.len) : pstrdup("");
		}
		if (SeriesMatches(s, sq))
			n++;
	}
	SPI_freetuptable(SPI_tuptable);
	*nout = n;
	return out;
}

/* ---- reading points ---- */

/*
 * ScanRange is the range of points read for a sub-query: the buckets'
 * own (ts_downsample_range), then whole hours, as OpenTSDB reads whole
 * rows (so interpolation and rate may see points just outside).
 */
static void
ScanRange(const TsQuery *q, const SubQuery *sq, int64 *from, int64 *to)
{
	int64		s;
	int64		e;

	ts_downsample_range(&sq->ds, q->start, q->end, &s, &e);
	s -= s % HOUR_MS;
	if (e % HOUR_MS != 0)
		e += HOUR_MS - e % HOUR_MS;
	*from = Max(s, 0);
	*to = e;
}

static int
CmpSeriesId(const void *a, const void *b)
{
	int32		x = ((const SeriesInfo *) a)->id;
	int32		y = ((const SeriesInfo *) b)->id;

	return (x > y) - (x < y);
}

/*
 * FinishSeries turns a series' raw points (in raw, which the caller reuses)
 * into what the sub-query needs of it: downsampled then rated, or the raw
 * points themselves.
 */
static void
FinishSeries(const TsQuery *q, const SubQuery *sq, SeriesInfo *s, TsSeries *raw)
{
	if (sq->ds.present)
	{
		TsSeries	ds = {0};

		ts_downsample(raw, &sq->ds, q->start, q->end, q->tz, &ds);
		s->data = ds;
		raw->n = 0;				/* the buffer serves the next series */
	}
	else
	{
		s->data = *raw;			/* the points are the answer: keep them */
		memset(raw, 0, sizeof(TsSeries));
	}
	if (sq->rate.present)
	{
		TsSeries	r = {0};

		ts_rate(&s->data, &sq->rate, &r);
		if (s->data.p)
			pfree(s->data.p);
		s->data = r;
	}
}

/*
 * Downsampling by day.  For the aggregators whose result composes from
 * parts (sum, count, min, max, avg) and buckets made of whole UTC days
 * (intervals of whole days, calendar days, weeks, months and years in UTC,
 * 0all), a bucket is computed from per-day parts: each day's points are
 * summed in time order from 0 (and their min, max and count taken), then
 * the days are combined in time order.  A block that is its series' whole
 * day holds exactly that day's part in its summary (block.c sums the same
 * way), so the reader can give the summary instead of the points and the
 * answer is the same to the last bit: the grouping, not the storage,
 * decides how the floating-point sums round.
 */
typedef struct DayParts
{
	const SubQuery *sq;
	bool		all;			/* 0all: only points in [lo_ms, hi_ms) count */
	int64		lo_ms;
	int64		hi_ms;
	/* the point not yet added (a later one in its millisecond replaces it) */
	bool		have_pending;
	int64		pending_ms;
	double		pending_v;
	/* the day being summed */
	bool		open;
	int64		day;
	int64		first_ms;
	double		sum;
	double		min;
	double		max;
	int64		n;
	/* the finished days: value (per aggregator) and count */
	TsSeries	val;
	TsSeries	cnt;
} DayParts;

static bool
UtcZone(const char *tz)
{
	return tz == NULL || tz[0] == '\0' || pg_strcasecmp(tz, "UTC") == 0 ||
		pg_strcasecmp(tz, "Etc/UTC") == 0;
}

/* ByDay: does the sub-query downsample in whole-day parts? */
static bool
ByDay(const TsQuery *q, const SubQuery *sq)
{
	const TsDownsample *ds = &sq->ds;

	if (!ds->present)
		return false;
	switch (ds->agg->kind)
	{
		case AGG_SUM:
		case AGG_MIN:
		case AGG_MAX:
		case AGG_AVG:
		case AGG_COUNT:
			break;
		default:
			return false;
	}
	if (ds->all)
		return true;
	if (ds->calendar)
		return strchr("dwny", ds->unit) != NULL && UtcZone(q->tz);
	return ds->interval % DAY_MS == 0;
}

static int64
FloorDiv(int64 a, int64 b)
{
	return a / b - (a % b < 0 ? 1 : 0);
}

static void
DayClose(DayParts *dp)
{
	TsPoint		v = {.ts = dp->first_ms, .is_int = false};
	TsPoint		c = {.ts = dp->first_ms, .is_int = false};

	if (!dp->open)
		return;
	switch (dp->sq->ds.agg->kind)
	{
		case AGG_MIN:
			v.d = dp->min;
			break;
		case AGG_MAX:
			v.d = dp->max;
			break;
		case AGG_COUNT:
			v.d = (double) dp->n;
			break;
		default:
			v.d = dp->sum;
			break;
	}
	c.d = (double) dp->n;
	ts_append(&dp->val, v);
	ts_append(&dp->cnt, c);
	dp->open = false;
}

static void
DayAdd(DayParts *dp, int64 ms, double v)
{
	int64		day = FloorDiv(ms, DAY_MS);

	if (dp->open && dp->day != day)
		DayClose(dp);
	if (!dp->open)
	{
		dp->open = true;
		dp->day = day;
		dp->first_ms = ms;
		dp->sum = 0;
		dp->min = v;
		dp->max = v;
		dp->n = 0;
	}
	dp->sum += v;
	if (v < dp->min)
		dp->min = v;
	if (v > dp->max)
		dp->max = v;
	dp->n++;
}

/* DayPoint takes one point; two in one millisecond: the later is kept */
static inline void
DayPoint(DayParts *dp, int64 ms, double v)
{
	if (dp->all && (ms < dp->lo_ms || ms >= dp->hi_ms))
		return;
	if (dp->have_pending && dp->pending_ms != ms)
		DayAdd(dp, dp->pending_ms, dp->pending_v);
	dp->have_pending = true;
	dp->pending_ms = ms;
	dp->pending_v = v;
}

/* DaySummary takes a whole block, alone on its day, by its summary */
static void
DaySummary(DayParts *dp, const VsBlockSummary *sum)
{
	if (dp->have_pending)
		DayAdd(dp, dp->pending_ms, dp->pending_v);
	dp->have_pending = false;
	DayClose(dp);
	dp->open = true;
	dp->day = FloorDiv(sum->first_ts / 1000 + UNIX_EPOCH_MS_OFFSET, DAY_MS);
	dp->first_ms = sum->first_ts / 1000 + UNIX_EPOCH_MS_OFFSET;
	dp->sum = sum->vsum;
	dp->min = sum->vmin;
	dp->max = sum->vmax;
	dp->n = sum->n;
	DayClose(dp);
}

/*
 * DayFinish downsamples a series from its day parts (the days' values
 * combined by sum, min or max; avg as the bucket's sum over its count) and
 * makes the parts ready for the next series.
 */
static void
DayFinish(const TsQuery *q, DayParts *dp, SeriesInfo *s)
{
	const TsDownsample *ds = &dp->sq->ds;
	TsDownsample by = *ds;
	TsSeries	out = {0};

	if (dp->have_pending)
		DayAdd(dp, dp->pending_ms, dp->pending_v);
	dp->have_pending = false;
	DayClose(dp);
	by.agg = ts_agg_lookup(ds->agg->kind == AGG_MIN ? "min" :
						   ds->agg->kind == AGG_MAX ? "max" : "sum");
	ts_downsample(&dp->val, &by, q->start, q->end, q->tz, &out);
	if (ds->agg->kind == AGG_AVG)
	{
		TsSeries	counts = {0};

		ts_downsample(&dp->cnt, &by, q->start, q->end, q->tz, &counts);
		Assert(counts.n == out.n);
		for (int i = 0; i < out.n && i < counts.n; i++)
			if (counts.p[i].d > 0)
				out.p[i].d /= counts.p[i].d;	/* else: the fill value */
		if (counts.p)
			pfree(counts.p);
	}
	s->data = out;
	if (dp->sq->rate.present)
	{
		TsSeries	r = {0};

		ts_rate(&s->data, &dp->sq->rate, &r);
		if (s->data.p)
			pfree(s->data.p);
		s->data = r;
	}
	dp->val.n = 0;
	dp->cnt.n = 0;
}

static void
CountPoints(int64 *npoints, int n)
{
	*npoints += n;
	if (vs_max_points > 0 && *npoints > vs_max_points)
		ereport(ERROR,
				(errcode(ERRCODE_VS_TOO_LARGE),
				 errmsg("Sorry, you have attempted to fetch more than our limit of %d data points. "
						"Please try filtering using more tags or decrease your time range.",
						vs_max_points),
				 errhint("The limit is the setting vscope.max_points.")));
}

/*
 * ReadPoints reads the series through the reader and finishes each as soon
 * as its points are in (FinishSeries, or DayFinish when downsampling by
 * day), so that only one series' points are held at a time.  A series
 * with no point in the range is finished with none.  *npoints counts the
 * points read against vscope.max_points.
 */
static void
ReadPoints(int32 tenant, const TsQuery *q, const SubQuery *sq, SeriesInfo *series, int n,
		   int64 from, int64 to, int64 *npoints)
{
	int32	   *ids = palloc(sizeof(int32) * Max(n, 1));
	VsReader   *r;
	int32		sid;
	VsPointRun	run;
	SeriesInfo *s = NULL;
	TsSeries	raw = {0};
	bool	   *done = palloc0(sizeof(bool) * Max(n, 1));
	bool		by_day = ByDay(q, sq);
	DayParts	dp = {.sq = sq, .all = sq->ds.all, .lo_ms = q->start, .hi_ms = q->end};

	for (int i = 0; i < n; i++)
		ids[i] = series[i].id;
	r = vs_reader_open(tenant, ids, n, (from - UNIX_EPOCH_MS_OFFSET) * 1000,
					   (to - UNIX_EPOCH_MS_OFFSET) * 1000);
	if (by_day && vs_use_summaries)
	{
		if (sq->ds.all)
			vs_reader_use_summaries(r, (q->start - UNIX_EPOCH_MS_OFFSET) * 1000,
									(q->end - UNIX_EPOCH_MS_OFFSET) * 1000);
		else
			vs_reader_use_summaries(r, DT_NOBEGIN, DT_NOEND);
	}
	while (vs_reader_next_run(r, &sid, &run))
	{
		CountPoints(npoints, run.n);
		/* points come series by series: look a series up once */
		if (s == NULL || s->id != sid)
		{
			SeriesInfo	key = {.id = sid};
			int			cap = raw.cap;

			if (s != NULL)
			{
				if (by_day)
					DayFinish(q, &dp, s);
				else
					FinishSeries(q, sq, s, &raw);
				done[s - series] = true;
				/* room for as many points as the last series had */
				if (raw.cap == 0 && cap > 0)
					ts_reserve(&raw, cap);
			}
			s = bsearch(&key, series, n, sizeof(SeriesInfo), CmpSeriesId);
			if (s == NULL)
				continue;
		}
		if (by_day)
		{
			if (run.summary != NULL)
				DaySummary(&dp, run.summary);
			else
				for (int i = 0; i < run.n; i++)
				{
					int64		ms = run.ts[i] / 1000 + UNIX_EPOCH_MS_OFFSET;

					if (run.ts[i] % 1000 < 0)
						ms--;
					DayPoint(&dp, ms, run.value[i]);
				}
			continue;
		}
		ts_reserve(&raw, raw.n + run.n);
		for (int i = 0; i < run.n; i++)
		{
			int64		ms = run.ts[i] / 1000 + UNIX_EPOCH_MS_OFFSET;
			TsPoint    *tp;

			/* floor, for the (unlikely) sub-millisecond timestamps before 1970 */
			if (run.ts[i] % 1000 < 0)
				ms--;
			/* two points in one millisecond: keep the later (as OpenTSDB would) */
			if (raw.n > 0 && raw.p[raw.n - 1].ts == ms)
				tp = &raw.p[raw.n - 1];
			else
				tp = &raw.p[raw.n++];
			/* filled in place: a TsPoint passed by value stalls on its padding */
			tp->ts = ms;
			tp->is_int = run.is_int[i] != 0;
			tp->i = run.ivalue[i];
			tp->d = run.value[i];
		}
	}
	vs_reader_close(r);
	if (s != NULL)
	{
		if (by_day)
			DayFinish(q, &dp, s);
		else
			FinishSeries(q, sq, s, &raw);
		done[s - series] = true;
	}
	for (int i = 0; i < n; i++)
	{
		if (!done[i])
		{
			TsSeries	empty = {0};

			if (by_day)
				DayFinish(q, &dp, &series[i]);
			else
				FinishSeries(q, sq, &series[i], &empty);
		}
	}
}

/* ---- output ---- */

/*
 * ts_append_double writes a finite double the way Java's Double.toString
 * does: shortest digits that read back exactly; plain decimal with at least
 * one fractional digit for 1e-3 <= |d| < 1e7, else d.dddE<n>.
 */
void
ts_append_double(StringInfo buf, double d)
{
	char		s[DOUBLE_SHORTEST_DECIMAL_LEN];
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];
	int			nd = 0;
	int			point = 0;		/* value = 0.<digits> * 10^point */
	int			exp10 = 0;
	bool		seen_point = false;
	const char *p;
	int			sci;

	if (isnan(d))
	{
		appendStringInfoString(buf, "\"NaN\"");
		return;
	}
	if (isinf(d))
	{
		appendStringInfoString(buf, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	if (d == 0)
	{
		appendStringInfoString(buf, signbit(d) ? "-0.0" : "0.0");
		return;
	}
	double_to_shortest_decimal_buf(d, s);
	p = s;
	if (*p == '-')
	{
		appendStringInfoChar(buf, '-');
		p++;
	}
	for (; *p && *p != 'e' && *p != 'E'; p++)
	{
		if (*p == '.')
		{
			seen_point = true;
			continue;
		}
		digits[nd++] = *p;
		if (!seen_point)
			point++;
	}
	if (*p == 'e' || *p == 'E')
		exp10 = atoi(p + 1);
	point += exp10;
	/* drop leading and trailing zeros */
	{
		int			lead = 0;

		while (lead < nd - 1 && digits[lead] == '0')
		{
			lead++;
			point--;
		}
		memmove(digits, digits + lead, nd - lead);
		nd -= lead;
		while (nd > 1 && digits[nd - 1] == '0')
			nd--;
	}
	sci = point - 1;
	if (sci >= -3 && sci < 7)
	{
		if (point <= 0)
		{
			appendStringInfoString(buf, "0.");
			for (int i = 0; i < -point; i++)
				appendStringInfoChar(buf, '0');
			appendBinaryStringInfo(buf, digits, nd);
		}
		else if (point >= nd)
		{
			appendBinaryStringInfo(buf, digits, nd);
			for (int i = nd; i < point; i++)
				appendStringInfoChar(buf, '0');
			appendStringInfoString(buf, ".0");
		}
		else
		{
			appendBinaryStringInfo(buf, digits, point);
			appendStringInfoChar(buf, '.');
			appendBinaryStringInfo(buf, digits + point, nd - point);
		}
	}
	else
	{
		appendStringInfoChar(buf, digits[0]);
		appendStringInfoChar(buf, '.');
		if (nd > 1)
			appendBinaryStringInfo(buf, digits + 1, nd - 1);
		else
			appendStringInfoChar(buf, '0');
		appendStringInfo(buf, "E%d", sci);
	}
}

static int
CmpStr(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * SoleValue returns the one value a tag key has across the group's series
 * (series without the key do not count), or NULL when it has several.
 */
static const char *
SoleValue(SeriesInfo **members, int n, const char *key)
{
	const char *value = NULL;

	for (int m = 0; m < n; m++)
	{
		const char *v = TagValue(members[m], key);

		if (v == NULL)
			continue;
		if (value == NULL)
			value = v;
		else if (strcmp(value, v) != 0)
			return NULL;
	}
	return value;
}

/*
 * ts_group_tags finds the "tags" and "aggregateTags" of a group: keys with
 * one value across the group's series are tags, keys with several are
 * aggregated; both in key order.
 */
void
ts_group_tags(SeriesInfo **members, int n, int *ntags, char ***tagk, char ***tagv,
			  int *nagg, char ***agg)
{
	char	  **keys = NULL;
	int			nkeys = 0;
	int			cap = 0;

	for (int m = 0; m < n; m++)
		for (int k = 0; k < members[m]->ntags; k++)
		{
			bool		have = false;

			for (int j = 0; j < nkeys && !have; j++)
				have = strcmp(keys[j], members[m]->keys[k]) == 0;
			if (have)
				continue;
			if (nkeys == cap)
			{
				cap = cap ? cap * 2 : 8;
				keys = keys ? repalloc(keys, sizeof(char *) * cap) : palloc(sizeof(char *) * cap);
			}
			keys[nkeys++] = members[m]->keys[k];
		}
	if (nkeys > 1)
		qsort(keys, nkeys, sizeof(char *), CmpStr);
	*ntags = 0;
	*nagg = 0;
	*tagk = palloc(sizeof(char *) * Max(nkeys, 1));
	*tagv = palloc(sizeof(char *) * Max(nkeys, 1));
	*agg = palloc(sizeof(char *) * Max(nkeys, 1));
	for (int j = 0; j < nkeys; j++)
	{
		const char *value = SoleValue(members, n, keys[j]);

		if (value != NULL)
		{
			(*tagk)[*ntags] = keys[j];
			(*tagv)[(*ntags)++] = (char *) value;
		}
		else
			(*agg)[(*nagg)++] = keys[j];
	}
	if (keys)
		pfree(keys);
}

/* AppendTagLists writes "tags" and "aggregateTags" from their lists */
static void
AppendTagLists(StringInfo buf, int ntags, char **tagk, char **tagv, int nagg, char **agg)
{
	appendStringInfoString(buf, ",\"tags\":{");
	for (int j = 0; j < ntags; j++)
	{
		if (j > 0)
			appendStringInfoChar(buf, ',');
		escape_json(buf, tagk[j]);
		appendStringInfoChar(buf, ':');
		escape_json(buf, tagv[j]);
	}
	appendStringInfoString(buf, "},\"aggregateTags\":[");
	for (int j = 0; j < nagg; j++)
	{
		if (j > 0)
			appendStringInfoChar(buf, ',');
		escape_json(buf, agg[j]);
	}
	appendStringInfoChar(buf, ']');
}

/* AppendTags writes "tags" and "aggregateTags" of a group */
static void
AppendTags(StringInfo buf, SeriesInfo **members, int n)
{
	int			ntags;
	int			nagg;
	char	  **tagk;
	char	  **tagv;
	char	  **agg;

	ts_group_tags(members, n, &ntags, &tagk, &tagv, &nagg, &agg);
	AppendTagLists(buf, ntags, tagk, tagv, nagg, agg);
	pfree(tagk);
	pfree(tagv);
	pfree(agg);
}

/*
 * AppendQueryEcho writes "query": always its index (README); with showQuery
 * the whole sub-query in the order OpenTSDB 2.4 serializes a TSSubQuery.
 * Fields vscope has no use for carry OpenTSDB's defaults (percentiles
 * null, useFuzzyFilter and useMultiGets true, rollupTable "raw"); filterTagKs,
 * OpenTSDB's tag-key UIDs, is empty: vscope has no UIDs.  "tags" holds the
 * group-by filters as type(filter), by key in byte order (OpenTSDB's is
 * hash order), the later filter of a key winning as in OpenTSDB.
 */
static void
AppendQueryEcho(StringInfo buf, const TsQuery *q, const SubQuery *sq)
{
	const TsFilter **gb;
	int			ngb = 0;

	if (!q->show_query)
	{
		appendStringInfo(buf, ",\"query\":{\"index\":%d}", sq->index);
		return;
	}
	appendStringInfoString(buf, ",\"query\":{\"aggregator\":");
	escape_json(buf, sq->agg->name);
	appendStringInfoString(buf, ",\"metric\":");
	if (sq->metric_given)
		escape_json(buf, sq->metric);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ",\"tsuids\":");
	if (sq->ntsuids == 0)
		appendStringInfoString(buf, "null");
	else
	{
		appendStringInfoChar(buf, '[');
		for (int i = 0; i < sq->ntsuids; i++)
		{
			if (i > 0)
				appendStringInfoChar(buf, ',');
			escape_json(buf, sq->tsuid_text[i]);
		}
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoString(buf, ",\"downsample\":");
	if (sq->ds.present)
		escape_json(buf, sq->ds.spec);
	else
		appendStringInfoString(buf, "null");
	appendStringInfo(buf, ",\"rate\":%s", sq->rate.present ? "true" : "false");
	appendStringInfoString(buf, ",\"filters\":[");
	for (int i = 0; i < sq->nfilters; i++)
	{
		const TsFilter *f = &sq->filters[i];

		if (i > 0)
			appendStringInfoChar(buf, ',');
		appendStringInfoString(buf, "{\"tagk\":");
		escape_json(buf, f->tagk);
		appendStringInfoString(buf, ",\"filter\":");
		escape_json(buf, f->filter);
		appendStringInfo(buf, ",\"group_by\":%s,\"type\":\"%s\"}",
						 f->group_by ? "true" : "false", ts_filter_type_name(f->type));
	}
	appendStringInfo(buf, "],\"percentiles\":null,\"index\":%d,\"rateOptions\":", sq->index);
	if (sq->rate_options)
		appendStringInfo(buf, "{\"counter\":%s,\"counterMax\":" INT64_FORMAT
						 ",\"resetValue\":" INT64_FORMAT ",\"dropResets\":%s}",
						 sq->rate.counter ? "true" : "false", sq->rate.counter_max,
						 sq->rate.reset_value, sq->rate.drop_resets ? "true" : "false");
	else
		appendStringInfoString(buf, "null");
	appendStringInfo(buf, ",\"filterTagKs\":[],\"explicitTags\":%s,\"useFuzzyFilter\":true,"
					 "\"preAggregate\":false,\"rollupUsage\":null,\"rollupTable\":\"raw\","
					 "\"showHistogramBuckets\":false,\"useMultiGets\":true,\"tags\":{",
					 sq->explicit_tags ? "true" : "false");
	/* the group-by filters, the last of each key, by key */
	gb = palloc(sizeof(TsFilter *) * Max(sq->nfilters, 1));
	for (int i = sq->nfilters - 1; i >= 0; i--)
	{
		bool		have = false;

		if (!sq->filters[i].group_by)
			continue;
		for (int j = 0; j < ngb && !have; j++)
			have = strcmp(gb[j]->tagk, sq->filters[i].tagk) == 0;
		if (!have)
			gb[ngb++] = &sq->filters[i];
	}
	for (int i = 1; i < ngb; i++)	/* insertion sort by key: a few filters */
		for (int j = i; j > 0 && strcmp(gb[j - 1]->tagk, gb[j]->tagk) > 0; j--)
		{
			const TsFilter *t = gb[j];

			gb[j] = gb[j - 1];
			gb[j - 1] = t;
		}
	for (int i = 0; i < ngb; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		escape_json(buf, gb[i]->tagk);
		appendStringInfoChar(buf, ':');
		escape_json(buf, psprintf("%s(%s)", ts_filter_type_name(gb[i]->type), gb[i]->filter));
	}
	appendStringInfoString(buf, "},\"histogramQuery\":false}");
}

static void
AppendMs(StringInfo buf, const char *key, double ms)
{
	appendStringInfo(buf, "\"%s\":", key);
	ts_append_double(buf, ms);
}

/*
 * AppendSubStats writes a sub-query's stats object, keys in byte order as
 * OpenTSDB's TreeMap has them.  In a result's "stats" the aggregation,
 * serialization and emittedDPs figures are the group's own (OpenTSDB
 * replaces them group by group); in the summary they are summed over the
 * sub-query's groups, and "scannerStats" is there, empty (no scanners).
 */
static void
AppendSubStats(StringInfo buf, const SubStats *st, int index, bool summary)
{
	appendStringInfoChar(buf, '{');
	AppendMs(buf, "aggregationTime", summary ? st->agg_ms_sum : st->agg_ms);
	appendStringInfo(buf, ",\"dpsPostFilter\":" INT64_FORMAT ",\"dpsPreFilter\":" INT64_FORMAT
					 ",\"emittedDPs\":" INT64_FORMAT ",", st->dps, st->dps,
					 summary ? st->emitted_sum : st->emitted);
	AppendMs(buf, "groupByTime", st->group_ms);
	appendStringInfo(buf, ",\"queryIndex\":%d,", index);
	AppendMs(buf, "queryScanTime", st->scan_ms);
	appendStringInfo(buf, ",\"rowsPostFilter\":" INT64_FORMAT ",\"rowsPreFilter\":" INT64_FORMAT ",",
					 st->rows_post, st->rows_pre);
	if (summary)
		appendStringInfoString(buf, "\"scannerStats\":{},");
	AppendMs(buf, "serializationTime", summary ? st->ser_ms_sum : st->ser_ms);
	appendStringInfoChar(buf, ',');
	AppendMs(buf, "stringToUidTime", st->select_ms);
	appendStringInfoChar(buf, '}');
}

static int
CmpMemberId(const void *a, const void *b)
{
	int32		x = (*(SeriesInfo *const *) a)->id;
	int32		y = (*(SeriesInfo *const *) b)->id;

	return (x > y) - (x < y);
}

/*
 * Annotations (sql/opentsdb.sql, vscope.annotations): those of a group's
 * series that overlap [start, end] (start_time <= end and end_time, or
 * start_time when open, >= start), in start time order, as
 * vscope.tsdb_annotation_json() writes them.  LoadAnnotations asks once per
 * query whether the tenant has any series annotation, so that a tenant
 * without pays one probe, and reads the global ones when asked for.
 */
#define ANNOTATION_WINDOW \
	"a.tenant_id = $1 AND a.start_time <= to_timestamp($3 / 1000.0) " \
	"AND coalesce(a.end_time, a.start_time) >= to_timestamp($2 / 1000.0)"

static void
LoadAnnotations(TsQuery *q, int32 tenant)
{
	Oid			types[3] = {INT4OID, FLOAT8OID, FLOAT8OID};
	Datum		args[3];
	bool		isnull;

	q->tenant = tenant;
	args[0] = Int32GetDatum(tenant);
	args[1] = Float8GetDatum((double) q->start);
	args[2] = Float8GetDatum((double) q->end);
	if (SPI_execute_with_args("SELECT EXISTS (SELECT FROM vscope.annotations a "
							  "WHERE a.tenant_id = $1 AND a.series_id IS NOT NULL AND $2 = $2 AND $3 = $3)",
							  3, types, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not look for annotations");
	q->has_annotations = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	if (!q->global_annotations)
		return;
	if (SPI_execute_with_args("SELECT '[' || string_agg(vscope.tsdb_annotation_json(a)::text, ',' ORDER BY a.start_time) || ']' "
							  "FROM vscope.annotations a WHERE a.series_id IS NULL AND " ANNOTATION_WINDOW,
							  3, types, args, NULL, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the global annotations");
	q->globals = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	SPI_freetuptable(SPI_tuptable);
}

/* AppendAnnotations writes ,"annotations":[...] when the group's series have some */
static void
AppendAnnotations(StringInfo buf, const TsQuery *q, SeriesInfo **members, int n)
{
	Oid			types[4] = {INT4OID, FLOAT8OID, FLOAT8OID, INT4ARRAYOID};
	Datum		args[4];
	Datum	   *ids;
	char	   *v;

	if (!q->has_annotations || n == 0)
		return;
	ids = palloc(sizeof(Datum) * n);
	for (int m = 0; m < n; m++)
		ids[m] = Int32GetDatum(members[m]->id);
	args[0] = Int32GetDatum(q->tenant);
	args[1] = Float8GetDatum((double) q->start);
	args[2] = Float8GetDatum((double) q->end);
	args[3] = PointerGetDatum(construct_array(ids, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
	if (SPI_execute_with_args("SELECT '[' || string_agg(vscope.tsdb_annotation_json(a)::text, ',' ORDER BY a.start_time, a.series_id) || ']' "
							  "FROM vscope.annotations a WHERE a.series_id = ANY ($4) AND " ANNOTATION_WINDOW,
							  4, types, args, NULL, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the annotations");
	v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (v != NULL)
	{
		appendStringInfoString(buf, ",\"annotations\":");
		appendStringInfoString(buf, v);
	}
	SPI_freetuptable(SPI_tuptable);
	pfree(ids);
}

/*
 * AppendTsuids writes "tsuids": the series ids as 8 upper hex digits, the
 * same text sql/opentsdb.sql makes for /api/search/lookup and
 * /api/query/last (upper(lpad(to_hex(id), 8, '0')), ids being positive),
 * in string order as OpenTSDB sorts them: for 8-digit hex, the order of
 * the ids.
 */
static void
AppendTsuids(StringInfo buf, SeriesInfo **members, int n)
{
	SeriesInfo **sorted = palloc(sizeof(SeriesInfo *) * Max(n, 1));

	if (n > 0)
		memcpy(sorted, members, sizeof(SeriesInfo *) * n);
	qsort(sorted, n, sizeof(SeriesInfo *), CmpMemberId);
	appendStringInfoString(buf, ",\"tsuids\":[");
	for (int m = 0; m < n; m++)
		appendStringInfo(buf, "%s\"%08X\"", m ? "," : "", (uint32) sorted[m]->id);
	appendStringInfoChar(buf, ']');
	pfree(sorted);
}

/*
 * AppendDps writes "dps", the points within [start, end], as an object or
 * (arrays) as [[ts, value], ...]; answers how many it wrote
 */
static int64
AppendDps(StringInfo buf, const TsQuery *q, const TsSeries *data, bool fill_null)
{
	bool		first = true;
	int64		emitted = 0;

	appendStringInfoString(buf, q->arrays ? ",\"dps\":[" : ",\"dps\":{");
	for (int k = 0; k < data->n; k++)
	{
		const TsPoint *pt = &data->p[k];
		int64		key = q->ms_resolution ? pt->ts : pt->ts / 1000;

		if (pt->ts < q->start || pt->ts > q->end)
			continue;
		if (!first)
			appendStringInfoChar(buf, ',');
		first = false;
		emitted++;
		if (q->arrays)
			appendStringInfo(buf, "[" INT64_FORMAT ",", key);
		else
			appendStringInfo(buf, "\"" INT64_FORMAT "\":", key);
		if (pt->is_int)
			appendStringInfo(buf, INT64_FORMAT, pt->i);
		else if (isnan(pt->d) && fill_null)
			appendStringInfoString(buf, "null");
		else
			ts_append_double(buf, pt->d);
		if (q->arrays)
			appendStringInfoChar(buf, ']');
	}
	appendStringInfoChar(buf, q->arrays ? ']' : '}');
	return emitted;
}

/*
 * AppendGroup writes one result: metric, tags, aggregateTags, query,
 * tsuids, annotations, globalAnnotations, dps (and stats), in OpenTSDB's
 * order.
 */
static void
AppendGroup(StringInfo buf, bool *first_group, const TsQuery *q, const SubQuery *sq,
			const TsResultGroup *g, SubStats *st)
{
	instr_time	started;

	INSTR_TIME_SET_CURRENT(started);
	if (!*first_group)
		appendStringInfoChar(buf, ',');
	*first_group = false;
	appendStringInfoString(buf, "{\"metric\":");
	escape_json(buf, sq->metric);
	AppendTags(buf, g->members, g->n);
	AppendQueryEcho(buf, q, sq);
	if (q->show_tsuids)
		AppendTsuids(buf, g->members, g->n);
	if (!q->no_annotations)
	{
		AppendAnnotations(buf, q, g->members, g->n);
		if (q->globals != NULL)
			appendStringInfo(buf, ",\"globalAnnotations\":%s", q->globals);
	}
	{
		instr_time	dps_started;

		INSTR_TIME_SET_CURRENT(dps_started);
		st->emitted = AppendDps(buf, q, &g->data, sq->ds.fill == FILL_NULL);
		st->agg_ms = g->merge_ms + MsSince(dps_started);
	}
	st->ser_ms = g->merge_ms + MsSince(started);
	st->agg_ms_sum += st->agg_ms;
	st->ser_ms_sum += st->ser_ms;
	st->emitted_sum += st->emitted;
	if (q->show_stats)
	{
		appendStringInfoString(buf, ",\"stats\":");
		AppendSubStats(buf, st, sq->index, false);
	}
	appendStringInfoChar(buf, '}');
}

/*
 * ts_query_write_series writes a result that another endpoint made (an
 * expression's), in AppendGroup's order: tsuids with showTSUIDs,
 * annotations of its series unless noAnnotations, the query's
 * globalAnnotations; no stats.
 */
void
ts_query_write_series(StringInfo buf, bool *first, const TsQuery *q, const TsOutSeries *s)
{
	if (!*first)
		appendStringInfoChar(buf, ',');
	*first = false;
	appendStringInfoString(buf, "{\"metric\":");
	escape_json(buf, s->metric);
	AppendTagLists(buf, s->ntags, s->tagk, s->tagv, s->nagg, s->agg);
	Assert(s->query_index >= 0 && s->query_index < q->nsubs);
	AppendQueryEcho(buf, q, &q->subs[s->query_index]);
	if (q->show_tsuids)
		AppendTsuids(buf, s->members, s->nmembers);
	if (!q->no_annotations)
	{
		AppendAnnotations(buf, q, s->members, s->nmembers);
		if (q->globals != NULL)
			appendStringInfo(buf, ",\"globalAnnotations\":%s", q->globals);
	}
	(void) AppendDps(buf, q, s->data, s->fill_null);
	appendStringInfoChar(buf, '}');
}

/* ---- running a sub-query ---- */

/*
 * CheckBuckets refuses a downsample that would make more buckets than
 * vscope.max_buckets across the sub-query's series (a fill policy makes
 * every bucket of the range, even with no data).
 */
static void
CheckBuckets(const TsQuery *q, const SubQuery *sq, int nseries)
{
	double		per;
	double		unit;

	if (!sq->ds.present || sq->ds.all)
		return;
	unit = sq->ds.calendar ? (sq->ds.unit == 'n' ? 28.0 * 86400000 * Max(sq->ds.count, 1)
							  : sq->ds.unit == 'y' ? 365.0 * 86400000 * Max(sq->ds.count, 1)
							  : (double) sq->ds.interval)
		: (double) sq->ds.interval;
	per = ((double) q->end - (double) q->start) / unit + 2;
	if (per * nseries > vs_max_buckets)
		ereport(ERROR,
				(errcode(ERRCODE_VS_BAD_REQUEST),
				 errmsg("downsampling '%s' over this range makes %.0f buckets for %d series, at most %d are allowed",
						sq->ds.spec, per * nseries, nseries, vs_max_buckets),
				 errhint("Use a longer interval or a shorter range (vscope.max_buckets).")));
}

typedef struct TsGroup
{
	char	   *key;
	int32		first_id;		/* orders groups, like OpenTSDB's UIDs: by age */
	SeriesInfo **members;
	int			n;
} TsGroup;

static int
CmpGroupKey(const void *a, const void *b)
{
	return strcmp(((const TsGroup *) a)->key, ((const TsGroup *) b)->key);
}

static int
CmpGroupAge(const void *a, const void *b)
{
	int32		x = ((const TsGroup *) a)->first_id;
	int32		y = ((const TsGroup *) b)->first_id;

	return (x > y) - (x < y);
}

/*
 * RunSubQueryGroups selects, reads, groups and merges a sub-query: its
 * results in the order /api/query writes them.
 */
static TsResultGroup *
RunSubQueryGroups(int32 tenant, TsQuery *q, const SubQuery *sq, int64 *npoints,
				  SubStats *st, int *nout)
{
	instr_time	t0;
	int64		points_before = *npoints;

	int			n;
	SeriesInfo *series;
	int64		from;
	int64		to;
	TsGroup	   *groups;
	TsResultGroup *out;
	int			ngroups = 0;
	char	  **gkeys = palloc(sizeof(char *) * Max(sq->nfilters, 1));
	int			ngkeys = 0;

	*nout = 0;
	INSTR_TIME_SET_CURRENT(t0);
	series = SelectSeries(tenant, sq, &n, &st->rows_pre);
	CheckNames(tenant, sq, series, n);
	st->rows_post = n;
	st->select_ms = MsSince(t0);
	if (n == 0)
		return NULL;
	if (q->deleting)
	{
		/* the series whose points in the range go once answered */
		q->del_ids = q->del_ids ? repalloc(q->del_ids, sizeof(int32) * (q->ndel + n))
			: palloc(sizeof(int32) * n);
		for (int i = 0; i < n; i++)
			q->del_ids[q->ndel++] = series[i].id;
	}
	CheckBuckets(q, sq, n);
	ScanRange(q, sq, &from, &to);
	/* per series, as it is read: downsample, then rate */
	INSTR_TIME_SET_CURRENT(t0);
	ReadPoints(tenant, q, sq, series, n, from, to, npoints);
	st->scan_ms = MsSince(t0);
	st->dps = *npoints - points_before;
	INSTR_TIME_SET_CURRENT(t0);

	/* the group-by keys, sorted and distinct */
	for (int i = 0; i < sq->nfilters; i++)
	{
		bool		have = false;

		/* OpenTSDB never groups on not_key (its series lack the key) */
		if (!sq->filters[i].group_by || sq->filters[i].type == TF_NOT_KEY)
			continue;
		for (int j = 0; j < ngkeys && !have; j++)
			have = strcmp(gkeys[j], sq->filters[i].tagk) == 0;
		if (!have)
			gkeys[ngkeys++] = sq->filters[i].tagk;
	}
	if (ngkeys > 1)
		qsort(gkeys, ngkeys, sizeof(char *), CmpStr);

	/* groups: one per series with "none", else by the group-by values */
	groups = palloc(sizeof(TsGroup) * n);
	for (int i = 0; i < n; i++)
	{
		StringInfoData k;

		initStringInfo(&k);
		if (sq->agg->kind == AGG_NONE)
			appendStringInfo(&k, "%010d", series[i].id);
		else
			for (int j = 0; j < ngkeys; j++)
			{
				const char *v = TagValue(&series[i], gkeys[j]);

				appendStringInfoString(&k, v ? v : "");
				appendStringInfoChar(&k, '\x01');
			}
		groups[i].key = k.data;
		groups[i].first_id = series[i].id;
		groups[i].members = palloc(sizeof(SeriesInfo *));
		groups[i].members[0] = &series[i];
		groups[i].n = 1;
	}
	qsort(groups, n, sizeof(TsGroup), CmpGroupKey);
	for (int i = 0; i < n; i++)
	{
		if (ngroups > 0 && strcmp(groups[ngroups - 1].key, groups[i].key) == 0)
		{
			TsGroup	   *g = &groups[ngroups - 1];

			g->members = repalloc(g->members, sizeof(SeriesInfo *) * (g->n + 1));
			g->members[g->n++] = groups[i].members[0];
			g->first_id = Min(g->first_id, groups[i].first_id);
		}
		else
			groups[ngroups++] = groups[i];
	}
	qsort(groups, ngroups, sizeof(TsGroup), CmpGroupAge);
	st->group_ms = MsSince(t0);

	/* merge each group with the aggregator's interpolation */
	out = palloc0(sizeof(TsResultGroup) * ngroups);
	for (int g = 0; g < ngroups; g++)
	{
		TsGroup    *grp = &groups[g];
		TsResultGroup *r = &out[g];

		r->members = grp->members;
		r->n = grp->n;
		if (sq->agg->kind == AGG_NONE)
			r->data = grp->members[0]->data;
		else
		{
			TsSeries   *in = palloc(sizeof(TsSeries) * grp->n);
			instr_time	started;

			INSTR_TIME_SET_CURRENT(started);
			for (int m = 0; m < grp->n; m++)
				in[m] = grp->members[m]->data;
			ts_merge(in, grp->n, sq->agg, sq->rate.present, sq->ds.present, &r->data);
			r->merge_ms = MsSince(started);
			pfree(in);
		}
	}
	*nout = ngroups;
	return out;
}

static void
RunSubQuery(int32 tenant, TsQuery *q, const SubQuery *sq, StringInfo out, bool *first_group,
			int64 *npoints, SubStats *st)
{
	int			ngroups;
	TsResultGroup *groups = RunSubQueryGroups(tenant, q, sq, npoints, st, &ngroups);

	for (int g = 0; g < ngroups; g++)
		AppendGroup(out, first_group, q, sq, &groups[g], st);
}

/* ---- the engine for other endpoints (opentsdb.h) ---- */

/* ts_query_parse reads an /api/query body (errors as tsdb_query's) */
TsQuery *
ts_query_parse(Jsonb *req)
{
	TsQuery    *q = palloc(sizeof(TsQuery));

	ParseQuery(req, q, false);
	return q;
}

int
ts_query_nsubs(const TsQuery *q)
{
	return q->nsubs;
}

void
ts_query_range(const TsQuery *q, int64 *start, int64 *end)
{
	*start = q->start;
	*end = q->end;
}

/*
 * ts_query_run_subs runs every sub-query of q for the tenant, in order, and
 * answers their results (an array of ts_query_nsubs()); it also loads the
 * annotations that ts_query_write_series writes.  SPI is connected.
 */
TsSubResult *
ts_query_run_subs(TsQuery *q, int32 tenant)
{
	TsSubResult *res = palloc0(sizeof(TsSubResult) * Max(q->nsubs, 1));
	int64		npoints = 0;

	if (!q->no_annotations)
		LoadAnnotations(q, tenant);
	else
		q->tenant = tenant;
	for (int i = 0; i < q->nsubs; i++)
	{
		const SubQuery *sq = &q->subs[i];
		TsSubResult *r = &res[i];
		SubStats	st = {0};

		r->metric = sq->metric;
		r->fill_null = sq->ds.present && sq->ds.fill == FILL_NULL;
		r->filter_tagks = palloc(sizeof(char *) * Max(sq->nfilters, 1));
		for (int f = 0; f < sq->nfilters; f++)
		{
			bool		have = false;

			for (int k = 0; k < r->nfilter_tagks && !have; k++)
				have = strcmp(r->filter_tagks[k], sq->filters[f].tagk) == 0;
			if (!have)
				r->filter_tagks[r->nfilter_tagks++] = sq->filters[f].tagk;
		}
		r->groups = RunSubQueryGroups(tenant, q, sq, &npoints, &st, &r->ngroups);
	}
	return res;
}

/*
 * AppendSummary writes showSummary's final element, {"statsSummary":
 * {...}}, keys in byte order as OpenTSDB's TreeMap: the counts summed over
 * the sub-queries; for aggregation, scan and serialization time their
 * average and maximum over the sub-queries; processingPreWriteTime, the
 * time from the call's start to this point; and each sub-query's stats as
 * queryIdx_NN.  OpenTSDB's totalTime is only known after the answer is
 * sent, so it is not in the answer (nor is it in OpenTSDB's).
 */
static void
AppendSummary(StringInfo buf, const TsQuery *q, const SubStats *stats, bool first_group,
			  double elapsed_ms)
{
	double		avg[3] = {0, 0, 0};
	double		max[3] = {0, 0, 0};
	int64		dps = 0;
	int64		emitted = 0;
	int64		rows_post = 0;
	int64		rows_pre = 0;

	for (int i = 0; i < q->nsubs; i++)
	{
		const SubStats *st = &stats[i];
		double		v[3] = {st->agg_ms_sum, st->scan_ms, st->ser_ms_sum};

		for (int k = 0; k < 3; k++)
		{
			avg[k] += v[k] / q->nsubs;
			max[k] = Max(max[k], v[k]);
		}
		dps += st->dps;
		emitted += st->emitted_sum;
		rows_post += st->rows_post;
		rows_pre += st->rows_pre;
	}
	if (!first_group)
		appendStringInfoChar(buf, ',');
	appendStringInfoString(buf, "{\"statsSummary\":{");
	AppendMs(buf, "avgAggregationTime", avg[0]);
	appendStringInfoChar(buf, ',');
	AppendMs(buf, "avgQueryScanTime", avg[1]);
	appendStringInfoChar(buf, ',');
	AppendMs(buf, "avgSerializationTime", avg[2]);
	appendStringInfo(buf, ",\"dpsPostFilter\":" INT64_FORMAT ",\"dpsPreFilter\":" INT64_FORMAT
					 ",\"emittedDPs\":" INT64_FORMAT ",", dps, dps, emitted);
	AppendMs(buf, "maxAggregationTime", max[0]);
	appendStringInfoChar(buf, ',');
	AppendMs(buf, "maxQueryScanTime", max[1]);
	appendStringInfoChar(buf, ',');
	AppendMs(buf, "maxSerializationTime", max[2]);
	appendStringInfoChar(buf, ',');
	AppendMs(buf, "processingPreWriteTime", elapsed_ms);
	for (int i = 0; i < q->nsubs; i++)
	{
		appendStringInfo(buf, ",\"queryIdx_%02d\":", i);
		AppendSubStats(buf, &stats[i], i, true);
	}
	appendStringInfo(buf, ",\"rowsPostFilter\":" INT64_FORMAT ",\"rowsPreFilter\":" INT64_FORMAT "}}",
					 rows_post, rows_pre);
}

/*
 * RunQuery answers a parsed request for the current tenant: a JSON array
 * of result groups, as text.
 */
/*
 * DeleteSelected deletes the points of the query's series in [start, end]
 * (OpenTSDB's range, both ends in, to the millisecond) through
 * vscope.delete_points(), which only a writer may call, and their
 * annotations that start in it (OpenTSDB keeps them in the rows it
 * deletes).
 */
static void
DeleteSelected(int32 tenant, const TsQuery *q)
{
	Oid			types[4] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[4];
	Datum	   *ids;

	if (q->ndel == 0)
		return;
	ids = palloc(sizeof(Datum) * q->ndel);
	for (int i = 0; i < q->ndel; i++)
		ids[i] = Int32GetDatum(q->del_ids[i]);
	args[0] = Int32GetDatum(tenant);
	args[1] = PointerGetDatum(construct_array(ids, q->ndel, INT4OID, sizeof(int32), true, TYPALIGN_INT));
	args[2] = TimestampTzGetDatum((q->start - UNIX_EPOCH_MS_OFFSET) * 1000);
	args[3] = TimestampTzGetDatum((q->end + 1 - UNIX_EPOCH_MS_OFFSET) * 1000);
	if (SPI_execute_with_args("SELECT vscope.delete_points($2, $3, $4) WHERE $1 IS NOT NULL",
							  4, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "deleting points failed");
	if (SPI_execute_with_args("DELETE FROM vscope.annotations WHERE tenant_id = $1 AND series_id = ANY ($2) "
							  "AND start_time >= $3 AND start_time < $4",
							  4, types, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "deleting annotations failed");
}

static text *
RunQuery(Jsonb *req, bool deleting)
{
	int32		tenant = VsRequireTenant();
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext work = AllocSetContextCreate(callcxt, "vscope tsdb query",
											   ALLOCSET_DEFAULT_SIZES);
	TsQuery		q;
	StringInfoData out;
	bool		first_group = true;
	int64		npoints = 0;
	text	   *result;
	SubStats   *stats;
	instr_time	began;

	INSTR_TIME_SET_CURRENT(began);
	MemoryContextSwitchTo(work);
	ParseQuery(req, &q, deleting);
	stats = palloc0(sizeof(SubStats) * q.nsubs);
	initStringInfo(&out);
	appendStringInfoChar(&out, '[');
	SPI_connect();
	if (!q.no_annotations)
		LoadAnnotations(&q, tenant);
	for (int i = 0; i < q.nsubs; i++)
		ResolveTsuids(tenant, &q.subs[i]);
	for (int i = 0; i < q.nsubs; i++)
		RunSubQuery(tenant, &q, &q.subs[i], &out, &first_group, &npoints, &stats[i]);
	if (deleting)
		DeleteSelected(tenant, &q);
	SPI_finish();
	if (q.show_summary)
		AppendSummary(&out, &q, stats, first_group, MsSince(began));
	appendStringInfoChar(&out, ']');
	MemoryContextSwitchTo(callcxt);
	result = cstring_to_text_with_len(out.data, out.len);
	MemoryContextDelete(work);
	return result;
}

VS_FUNCTION_INFO_V1(vscope_tsdb_query);

/*
 * vscope_tsdb_query answers an OpenTSDB /api/query request body.
 */
Datum
vscope_tsdb_query(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(RunQuery(PG_GETARG_JSONB_P(0), false));
}

VS_FUNCTION_INFO_V1(vscope_tsdb_query_get);

/*
 * vscope_tsdb_query_get answers the GET form, from its query-string
 * arguments ({"key": ["value", ...]}).
 */
Datum
vscope_tsdb_query_get(PG_FUNCTION_ARGS)
{
	char	   *body = ts_get_to_request(PG_GETARG_JSONB_P(0));
	Jsonb	   *req = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(body)));

	PG_RETURN_TEXT_P(RunQuery(req, false));
}

/*
 * CheckMayDelete refuses a deleting query to a role that cannot write
 * (vscope.delete_points() would refuse it anyway, after the query ran).
 */
static void
CheckMayDelete(void)
{
	Oid			writer = get_role_oid("vscope_writer", true);

	if (!OidIsValid(writer) || !has_privs_of_role(GetUserId(), writer))
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("permission denied to delete data"),
						errdetail("Deleting through /api/query needs a write or admin token (the vscope_writer role).")));
}

VS_FUNCTION_INFO_V1(vscope_tsdb_query_delete);

/*
 * vscope_tsdb_query_delete answers an /api/query body as tsdb_query does,
 * then deletes the points of every series it selected in its range (the
 * body's "delete" aside): OpenTSDB's deleting query.  Refused unless
 * vscope.query_allow_delete is on, and to roles that cannot write.
 */
Datum
vscope_tsdb_query_delete(PG_FUNCTION_ARGS)
{
	CheckDeleteAllowed();
	CheckMayDelete();
	PG_RETURN_TEXT_P(RunQuery(PG_GETARG_JSONB_P(0), true));
}

VS_FUNCTION_INFO_V1(vscope_tsdb_query_delete_get);

/* vscope_tsdb_query_delete_get is the same from the GET form's arguments */
Datum
vscope_tsdb_query_delete_get(PG_FUNCTION_ARGS)
{
	char	   *body;
	Jsonb	   *req;

	CheckDeleteAllowed();
	CheckMayDelete();
	body = ts_get_to_request(PG_GETARG_JSONB_P(0));
	req = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(body)));
	PG_RETURN_TEXT_P(RunQuery(req, true));
}

VS_FUNCTION_INFO_V1(vscope_tsdb_query_string);

/*
 * vscope_tsdb_query_string shows the POST body a GET form becomes.
 */
Datum
vscope_tsdb_query_string(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(ts_get_to_request(PG_GETARG_JSONB_P(0))));
}

VS_FUNCTION_INFO_V1(vscope_tsdb_filters);

/* vscope_tsdb_filters answers /api/config/filters */
Datum
vscope_tsdb_filters(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	ts_filter_types(&buf);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

VS_FUNCTION_INFO_V1(vscope_tsdb_aggregators);

/* vscope_tsdb_aggregators answers /api/aggregators */
Datum
vscope_tsdb_aggregators(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	ts_agg_names(&buf);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}
