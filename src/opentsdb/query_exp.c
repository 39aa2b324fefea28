/*-------------------------------------------------------------------------
 *
 * query_exp.c
 *	  vscope.tsdb_query_exp(request jsonb) returns json: OpenTSDB 2.4's
 *	  /api/query/exp, the expression query (net.opentsdb.query.pojo.Query
 *	  run by its QueryExecutor).
 *
 *	  The request has a time section (start, end, timezone, aggregator,
 *	  downsampler, rate), filters (an id and tag filters), metrics (an id,
 *	  a metric, a filter id, an aggregator and a fill policy of their own),
 *	  expressions over metric and expression ids (expression.c) with a join
 *	  and a fill policy, and outputs (ids to write, with an alias).  Each
 *	  metric becomes a sub-query of /api/query (downsampled with the time
 *	  section's interval and aggregator: as in OpenTSDB 2.4, the
 *	  downsampler's fill policy is read but not applied) run by query.c;
 *	  each expression joins and computes its variables' series (nested
 *	  expressions first, a self or circular reference being an error); the
 *	  outputs are written as OpenTSDB writes them: per output the rows
 *	  [timestamp ms, value of each series...], dpsMeta, meta (the series'
 *	  metrics, common and aggregated tags), then the query as OpenTSDB
 *	  echoes it.
 *
 *	  Status codes are OpenTSDB's: what it finds wrong while reading and
 *	  checking the request (before any data is read) is a 500 (ERRCODE_VS_
 *	  SERVER_ERROR), what it finds while running (unknown names, joins
 *	  without a series, references between expressions) a 400.
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/expression.h"

#include <ctype.h>
#include <math.h>

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

typedef enum FillKind
{
	NF_NONE, NF_ZERO, NF_NAN, NF_NULL, NF_SCALAR
} FillKind;

static const char *const fill_names[] = {"none", "zero", "nan", "null", "scalar"};

/* a NumericFillPolicy */
typedef struct ExpFill
{
	bool		present;
	FillKind	policy;
	double		value;
} ExpFill;

typedef struct ExpFilter
{
	char	   *id;
	JsonbContainer *tags;		/* the tag filters (an array), or NULL */
	bool		explicit_tags;
} ExpFilter;

typedef struct ExpMetric
{
	char	   *id;
	char	   *metric;
	char	   *filter;
	char	   *time_offset;
	char	   *aggregator;
	ExpFill		fill;
} ExpMetric;

typedef struct ExpExpr
{
	char	   *id;
	char	   *expr;
	bool		intersection;
	bool		use_query_tags;
	bool		include_agg_tags;
	ExpFill		fill;
	TsExpr	   *parsed;
	TsJoinSet  *result;			/* once evaluated */
	int			state;			/* for the reference walk: 0, 1 visiting, 2 done */
} ExpExpr;

typedef struct ExpOutput
{
	char	   *id;
	char	   *alias;
} ExpOutput;

typedef struct ExpQuery
{
	char	   *name;
	bool		has_time;
	char	   *start;
	char	   *end;
	char	   *timezone;
	char	   *aggregator;
	bool		rate;
	bool		has_ds;
	char	   *ds_interval;
	char	   *ds_aggregator;
	ExpFill		ds_fill;
	ExpFilter  *filters;		/* NULL when absent (or null) */
	int			nfilters;
	ExpMetric  *metrics;
	int			nmetrics;
	ExpExpr    *exprs;
	int			nexprs;
	ExpOutput  *outputs;
	int			noutputs;
	int64		start_ms;
	int64		end_ms;
} ExpQuery;

/* ---- reading the request (Jackson's part) ---- */

static void Unreadable(const char *detail) pg_attribute_noreturn();

static void
Unreadable(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_VS_BAD_REQUEST),
			 errmsg("unable to parse the query"),
			 errdetail("%s", detail)));
}

static JsonbValue *
Field(JsonbContainer *c, const char *key)
{
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(c, JB_FOBJECT, &k);
	return (v == NULL || v->type == jbvNull) ? NULL : v;
}

/* StrField: a string field (Jackson reads numbers and booleans as text) */
static char *
StrField(JsonbContainer *c, const char *key, const char *where)
{
	JsonbValue *v = Field(c, key);

	if (v == NULL)
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
			Unreadable(psprintf("\"%s\" of %s must be a string.", key, where));
			return NULL;
	}
}

static bool
BoolField(JsonbContainer *c, const char *key, bool dflt, const char *where)
{
	JsonbValue *v = Field(c, key);

	if (v == NULL)
		return dflt;
	if (v->type == jbvBool)
		return v->val.boolean;
	if (v->type == jbvString)
	{
		if (v->val.string.len == 4 && pg_strncasecmp(v->val.string.val, "true", 4) == 0)
			return true;
		if (v->val.string.len == 5 && pg_strncasecmp(v->val.string.val, "false", 5) == 0)
			return false;
	}
	Unreadable(psprintf("\"%s\" of %s must be true or false.", key, where));
	return false;
}

/* ObjField: an object field, or NULL */
static JsonbContainer *
ObjField(JsonbContainer *c, const char *key, const char *where)
{
	JsonbValue *v = Field(c, key);

	if (v == NULL)
		return NULL;
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		Unreadable(psprintf("\"%s\" of %s must be an object.", key, where));
	return v->val.binary.data;
}

/* ArrField: an array field, or NULL */
static JsonbContainer *
ArrField(JsonbContainer *c, const char *key, const char *where)
{
	JsonbValue *v = Field(c, key);

	if (v == NULL)
		return NULL;
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		Unreadable(psprintf("\"%s\" of %s must be an array.", key, where));
	return v->val.binary.data;
}

/* Element: the i-th element of an array, which must be an object */
static JsonbContainer *
Element(JsonbContainer *arr, int i, const char *what)
{
	JsonbValue *v = getIthJsonbValueFromContainer(arr, i);

	if (v == NULL || v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		Unreadable(psprintf("Each of %s is an object.", what));
	return v->val.binary.data;
}

/*
 * ValidateId is OpenTSDB's Query.validateId: letters and digits only (any
 * non-ASCII byte counts as a letter), not a single digit.  Jackson calls
 * it as it reads an "id" that is there, even null.
 */
static void
ValidateId(const char *id)
{
	if (id == NULL || id[0] == '\0')
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("the ID cannot be null or empty")));
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char) *p) && !IS_HIGHBIT_SET(*p))
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("invalid id (\"%s\"): illegal character: %c", id, *p)));
	if (id[1] == '\0' && isdigit((unsigned char) id[0]))
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("the ID cannot be an integer")));
}

static char *
IdField(JsonbContainer *c, const char *where)
{
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = "id";
	k.val.string.len = 2;
	v = findJsonbValueFromContainer(c, JB_FOBJECT, &k);
	if (v == NULL)
		return NULL;			/* absent: checked later, as missing */
	if (v->type == jbvNull)
		ValidateId(NULL);
	{
		char	   *id = StrField(c, "id", where);

		ValidateId(id);
		return id;
	}
}

/* ParseDouble reads a fill value: a number, or text Java's parseDouble reads */
static double
ParseDouble(JsonbValue *v)
{
	char	   *s;
	char	   *end;
	double		d;

	if (v->type == jbvNumeric)
		s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	else if (v->type == jbvString)
		s = pnstrdup(v->val.string.val, v->val.string.len);
	else
	{
		Unreadable("The \"value\" of a fill policy must be a number.");
		return 0;
	}
	if (strcmp(s, "NaN") == 0)
		return NAN;
	if (strcmp(s, "Infinity") == 0 || strcmp(s, "+Infinity") == 0)
		return INFINITY;
	if (strcmp(s, "-Infinity") == 0)
		return -INFINITY;
	errno = 0;
	d = strtod(s, &end);
	if (end == s || *end != '\0' || isnan(d) || isinf(d))
		Unreadable(psprintf("The fill value \"%s\" is not a number.", s));
	return d;
}

/* FillField reads and checks a NumericFillPolicy */
static void
FillField(JsonbContainer *c, const char *key, const char *where, ExpFill *f)
{
	JsonbContainer *o = ObjField(c, key, where);
	char	   *policy;
	JsonbValue *value;

	memset(f, 0, sizeof(*f));
	if (o == NULL)
		return;
	f->present = true;
	policy = StrField(o, "policy", "a fill policy");
	value = Field(o, "value");
	f->value = value ? ParseDouble(value) : 0;
	if (policy == NULL)
	{
		f->policy = f->value == 0 ? NF_ZERO : isnan(f->value) ? NF_NAN : NF_SCALAR;
		return;
	}
	f->policy = (FillKind) -1;
	for (int i = 0; i < (int) lengthof(fill_names); i++)
		if (pg_strcasecmp(policy, fill_names[i]) == 0)
			f->policy = (FillKind) i;
	switch ((int) f->policy)
	{
		case NF_NONE:
		case NF_NAN:
			if (f->value != 0 && !isnan(f->value))
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("the value for NONE and NAN must be NaN")));
			f->value = NAN;
			break;
		case NF_ZERO:
			if (f->value != 0)
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("the value for ZERO must be 0")));
			f->value = 0;
			break;
		case NF_NULL:
			if (f->value != 0 && !isnan(f->value))
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("the value for NULL must be 0")));
			f->value = NAN;
			break;
		case NF_SCALAR:
			break;
		default:
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("unrecognized fill policy: %s", policy)));
	}
}

static void
ReadRequest(Jsonb *req, ExpQuery *q)
{
	JsonbContainer *c = &req->root;
	JsonbContainer *t;
	JsonbContainer *arr;

	memset(q, 0, sizeof(*q));
	if (!JB_ROOT_IS_OBJECT(req))
		Unreadable("The query must be a JSON object.");
	q->name = StrField(c, "name", "the query");

	/* time */
	t = ObjField(c, "time", "the query");
	if (t != NULL)
	{
		JsonbContainer *ds;

		q->has_time = true;
		q->start = StrField(t, "start", "time");
		q->end = StrField(t, "end", "time");
		q->timezone = StrField(t, "timezone", "time");
		q->aggregator = StrField(t, "aggregator", "time");
		q->rate = BoolField(t, "rate", false, "time");
		ds = ObjField(t, "downsampler", "time");
		if (ds != NULL)
		{
			q->has_ds = true;
			q->ds_interval = StrField(ds, "interval", "the downsampler");
			q->ds_aggregator = StrField(ds, "aggregator", "the downsampler");
			FillField(ds, "fillPolicy", "the downsampler", &q->ds_fill);
		}
	}

	/* filters */
	arr = ArrField(c, "filters", "the query");
	if (arr != NULL)
	{
		q->nfilters = JsonContainerSize(arr);
		q->filters = palloc0(sizeof(ExpFilter) * Max(q->nfilters, 1));
		for (int i = 0; i < q->nfilters; i++)
		{
			JsonbContainer *f = Element(arr, i, "the filters");
			ExpFilter  *ef = &q->filters[i];

			ef->id = IdField(f, "a filter");
			ef->tags = ArrField(f, "tags", "a filter");
			ef->explicit_tags = BoolField(f, "explicitTags", false, "a filter");
			/* Jackson makes each tag filter: a type it knows and a tag key */
			for (int k = 0; ef->tags != NULL && k < (int) JsonContainerSize(ef->tags); k++)
			{
				JsonbContainer *tf = Element(ef->tags, k, "the tag filters");
				char	   *type = StrField(tf, "type", "a tag filter");
				char	   *tagk = StrField(tf, "tagk", "a tag filter");

				if (type == NULL || type[0] == '\0')
					ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
									errmsg("missing the filter type")));
				if ((int) ts_filter_type(type) < 0)
					ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
									errmsg("could not find a filter of the type: %s", type)));
				if (tagk == NULL || tagk[0] == '\0')
					ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
									errmsg("missing the tag key (tagk) of a filter")));
				(void) StrField(tf, "filter", "a tag filter");
				(void) BoolField(tf, "groupBy", false, "a tag filter");
			}
		}
	}

	/* metrics */
	arr = ArrField(c, "metrics", "the query");
	if (arr != NULL)
	{
		q->nmetrics = JsonContainerSize(arr);
		q->metrics = palloc0(sizeof(ExpMetric) * Max(q->nmetrics, 1));
		for (int i = 0; i < q->nmetrics; i++)
		{
			JsonbContainer *m = Element(arr, i, "the metrics");
			ExpMetric  *em = &q->metrics[i];

			em->metric = StrField(m, "metric", "a metric");
			em->id = IdField(m, "a metric");
			em->filter = StrField(m, "filter", "a metric");
			em->time_offset = StrField(m, "timeOffset", "a metric");
			em->aggregator = StrField(m, "aggregator", "a metric");
			FillField(m, "fillPolicy", "a metric", &em->fill);
		}
	}

	/* expressions */
	arr = ArrField(c, "expressions", "the query");
	if (arr != NULL)
	{
		q->nexprs = JsonContainerSize(arr);
		q->exprs = palloc0(sizeof(ExpExpr) * Max(q->nexprs, 1));
		for (int i = 0; i < q->nexprs; i++)
		{
			JsonbContainer *e = Element(arr, i, "the expressions");
			ExpExpr    *ee = &q->exprs[i];
			JsonbContainer *join;

			ee->id = IdField(e, "an expression");
			ee->expr = StrField(e, "expr", "an expression");
			/* a missing join is a union (Expression.validate) */
			ee->include_agg_tags = true;
			join = ObjField(e, "join", "an expression");
			if (join != NULL)
			{
				char	   *op = StrField(join, "operator", "a join");

				if (op != NULL)
				{
					if (pg_strcasecmp(op, "intersection") == 0)
						ee->intersection = true;
					else if (pg_strcasecmp(op, "union") != 0)
						ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
										errmsg("unrecognized set operator: %s", op)));
				}
				ee->use_query_tags = BoolField(join, "useQueryTags", false, "a join");
				ee->include_agg_tags = BoolField(join, "includeAggTags", true, "a join");
			}
			FillField(e, "fillPolicy", "an expression", &ee->fill);
		}
	}

	/* outputs */
	arr = ArrField(c, "outputs", "the query");
	if (arr != NULL)
	{
		q->noutputs = JsonContainerSize(arr);
		q->outputs = palloc0(sizeof(ExpOutput) * Max(q->noutputs, 1));
		for (int i = 0; i < q->noutputs; i++)
		{
			JsonbContainer *o = Element(arr, i, "the outputs");

			q->outputs[i].id = IdField(o, "an output");
			q->outputs[i].alias = StrField(o, "alias", "an output");
		}
	}
}

/* ---- checking it (Query.validate and the QueryExecutor) ---- */

/* Invalid raises OpenTSDB's wrapping message with the cause as detail */
static void Invalid(const char *msg, const char *cause) pg_attribute_noreturn();

static void
Invalid(const char *msg, const char *cause)
{
	ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
					errmsg("%s", msg),
					errdetail("%s", cause)));
}

/*
 * Cause runs a check that may raise an error and, if it does, raises msg
 * instead with the error's message as detail.
 */
typedef void (*CheckFn) (ExpQuery *q, int i);

static void
Wrapped(const char *msg, CheckFn fn, ExpQuery *q, int i)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		fn(q, i);
	}
	PG_CATCH();
	{
		ErrorData  *err;

		MemoryContextSwitchTo(cxt);
		err = CopyErrorData();
		if (err->sqlerrcode != ERRCODE_VS_BAD_REQUEST)
			PG_RE_THROW();
		FlushErrorState();
		{
			char	   *cause = err->message;

			/* Java's messages start with a capital, as vscoped shows them */
			if (cause != NULL && cause[0] >= 'a' && cause[0] <= 'z')
				cause[0] = (char) (cause[0] - 'a' + 'A');
			Invalid(msg, cause ? cause : "");
		}
	}
	PG_END_TRY();
}

/* KnownAggregator: Aggregators.get(name.toLowerCase()) */
static bool
KnownAggregator(const char *agg)
{
	char	   *lower = pstrdup(agg);

	for (char *p = lower; *p; p++)
		*p = (char) pg_ascii_tolower((unsigned char) *p);
	return ts_agg_lookup(lower) != NULL;
}

static void
CheckAggregator(const char *agg)
{
	if (agg == NULL || agg[0] == '\0')
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("missing or empty aggregator")));
	if (!KnownAggregator(agg))
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("invalid aggregator")));
}

static void
CheckTime(ExpQuery *q, int i)
{
	const char *tz = q->timezone && q->timezone[0] ? q->timezone : NULL;

	if (q->start == NULL || q->start[0] == '\0')
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("missing or empty start")));
	q->start_ms = ts_parse_time(q->start, tz, false);
	q->end_ms = (q->end != NULL && q->end[0] != '\0') ? ts_parse_time(q->end, tz, true) : ts_now_ms();
	if (q->has_ds)
	{
		if (q->ds_interval == NULL || q->ds_interval[0] == '\0')
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("missing or empty interval")));
		(void) ts_parse_duration(q->ds_interval);
		CheckAggregator(q->ds_aggregator);
	}
	CheckAggregator(q->aggregator);
}

static void
CheckMetric(ExpQuery *q, int i)
{
	ExpMetric  *m = &q->metrics[i];

	if (m->metric == NULL || m->metric[0] == '\0')
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("missing or empty metric")));
	if (m->id == NULL || m->id[0] == '\0')
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("missing or empty id")));
	if (m->time_offset != NULL)
		(void) ts_parse_time(m->time_offset, NULL, false);
	if (m->aggregator != NULL && m->aggregator[0] != '\0' && !KnownAggregator(m->aggregator))
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("invalid aggregator")));
}

static void
CheckFilter(ExpQuery *q, int i)
{
	if (q->filters[i].id == NULL || q->filters[i].id[0] == '\0')
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("missing or empty id")));
}

static void
CheckExpr(ExpQuery *q, int i)
{
	ExpExpr    *e = &q->exprs[i];

	if (e->id == NULL || e->id[0] == '\0')
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("missing or empty id")));
	if (e->expr == NULL || e->expr[0] == '\0')
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("missing or empty expr")));
}

static bool
Named(const char *a, const char *b)
{
	return a != NULL && b != NULL ? strcmp(a, b) == 0 : a == b;
}

static int
MetricIndex(const ExpQuery *q, const char *id)
{
	for (int i = 0; i < q->nmetrics; i++)
		if (Named(q->metrics[i].id, id))
			return i;
	return -1;
}

static int
ExprIndex(const ExpQuery *q, const char *id)
{
	for (int i = 0; i < q->nexprs; i++)
		if (Named(q->exprs[i].id, id))
			return i;
	return -1;
}

/* Validate is Query.validate, in its order and with its messages */
static void
Validate(ExpQuery *q)
{
	if (!q->has_time)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("missing time")));
	Wrapped("invalid time", CheckTime, q, 0);
	if (q->nmetrics == 0)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("missing or empty metrics")));
	for (int i = 0; i < q->nmetrics; i++)
		if (MetricIndex(q, q->metrics[i].id) < i)
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("duplicated metric id: %s", q->metrics[i].id ? q->metrics[i].id : "null")));
	for (int i = 0; i < q->nfilters; i++)
		for (int j = 0; j < i; j++)
			if (Named(q->filters[i].id, q->filters[j].id))
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("duplicated filter id: %s", q->filters[i].id ? q->filters[i].id : "null")));
	for (int i = 0; i < q->nexprs; i++)
		if (MetricIndex(q, q->exprs[i].id) >= 0 || ExprIndex(q, q->exprs[i].id) < i)
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("duplicated variable or expression id: %s",
								   q->exprs[i].id ? q->exprs[i].id : "null")));
	for (int i = 0; i < q->nmetrics; i++)
		Wrapped(psprintf("invalid metric at index %d", i), CheckMetric, q, i);
	for (int i = 0; i < q->nfilters; i++)
		Wrapped(psprintf("invalid filter at index %d", i), CheckFilter, q, i);
	for (int i = 0; i < q->nexprs; i++)
	{
		ExpExpr    *e = &q->exprs[i];
		char	   *error;

		Wrapped(psprintf("invalid expression at index %d", i), CheckExpr, q, i);
		e->parsed = ts_expr_parse(e->expr, &error);
		if (e->parsed == NULL && error[0] >= 'a' && error[0] <= 'z')
			error[0] = (char) (error[0] - 'a' + 'A');
		if (e->parsed == NULL)
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("unable to parse the expression [%s]", e->expr),
							errdetail("%s.", error)));
	}
	/* every metric's filter is a filter's id (when there are filters) */
	if (q->filters != NULL)
		for (int i = 0; i < q->nmetrics; i++)
		{
			const char *f = q->metrics[i].filter;
			bool		found = false;

			if (f == NULL || f[0] == '\0')
				continue;
			for (int j = 0; j < q->nfilters && !found; j++)
				found = Named(q->filters[j].id, f);
			if (!found)
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("unrecognized filter id %s in metric %s", f, q->metrics[i].id)));
		}
	/* every variable is a metric's or an expression's id */
	for (int i = 0; i < q->nexprs; i++)
	{
		const TsExpr *e = q->exprs[i].parsed;

		for (int v = 0; v < ts_expr_nvars(e); v++)
			if (MetricIndex(q, ts_expr_var(e, v)) < 0 && ExprIndex(q, ts_expr_var(e, v)) < 0)
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("expression [%s] was missing input %s",
									   q->exprs[i].expr, ts_expr_var(e, v))));
	}
}

/*
 * BuildQuery is the QueryExecutor's constructor: one /api/query sub-query
 * per metric, in order, parsed and checked by query.c.
 */
static TsQuery *
BuildQuery(ExpQuery *q)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"start\":");
	escape_json(&b, q->start);
	if (q->end != NULL && q->end[0] != '\0')
	{
		appendStringInfoString(&b, ",\"end\":");
		escape_json(&b, q->end);
	}
	if (q->timezone != NULL && q->timezone[0] != '\0')
	{
		appendStringInfoString(&b, ",\"timezone\":");
		escape_json(&b, q->timezone);
	}
	appendStringInfoString(&b, ",\"noAnnotations\":true,\"queries\":[");
	for (int i = 0; i < q->nmetrics; i++)
	{
		ExpMetric  *m = &q->metrics[i];

		if (i > 0)
			appendStringInfoChar(&b, ',');
		appendStringInfoString(&b, "{\"metric\":");
		escape_json(&b, m->metric);
		appendStringInfoString(&b, ",\"aggregator\":");
		escape_json(&b, m->aggregator != NULL ? m->aggregator : q->aggregator);
		if (q->has_ds)
		{
			appendStringInfoString(&b, ",\"downsample\":");
			escape_json(&b, psprintf("%s-%s", q->ds_interval, q->ds_aggregator));
		}
		appendStringInfo(&b, ",\"rate\":%s", q->rate ? "true" : "false");
		if (m->filter != NULL && m->filter[0] != '\0')
		{
			ExpFilter  *f = NULL;

			if (q->nfilters == 0)
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("no filter defined: %s", m->filter)));
			for (int j = 0; j < q->nfilters && f == NULL; j++)
				if (Named(q->filters[j].id, m->filter))
					f = &q->filters[j];
			if (f != NULL)
			{
				if (f->tags != NULL)
				{
					appendStringInfoString(&b, ",\"filters\":");
					(void) JsonbToCString(&b, f->tags, 0);
				}
				appendStringInfo(&b, ",\"explicitTags\":%s", f->explicit_tags ? "true" : "false");
			}
		}
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoString(&b, "]}");
	for (int i = 0; i < q->nexprs; i++)
		if (ts_expr_nvars(q->exprs[i].parsed) == 0)
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("the expression didn't appear to have any variables"),
							errdetail("Expression %s: %s", q->exprs[i].id, q->exprs[i].expr)));
	return ts_query_parse(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data))));
}

/*
 * ReadAndCheck reads, validates and compiles the request; whatever is wrong
 * with it is a 500, as OpenTSDB answers it.
 */
static TsQuery *
ReadAndCheck(Jsonb *req, ExpQuery *q)
{
	MemoryContext cxt = CurrentMemoryContext;
	TsQuery    *volatile tq = NULL;

	PG_TRY();
	{
		ReadRequest(req, q);
		Validate(q);
		tq = BuildQuery(q);
	}
	PG_CATCH();
	{
		ErrorData  *err;

		MemoryContextSwitchTo(cxt);
		err = CopyErrorData();
		if (err->sqlerrcode != ERRCODE_VS_BAD_REQUEST)
			PG_RE_THROW();
		FlushErrorState();
		err->sqlerrcode = ERRCODE_VS_SERVER_ERROR;
		ReThrowError(err);
	}
	PG_END_TRY();
	return tq;
}

/* ---- running it ---- */

/*
 * MetricSet makes a metric's variable: its results with a point in the
 * query's range (OpenTSDB has no result for a series without data), the
 * points in [start, end] as doubles; missing values are the metric's fill
 * (zero unless it has a fill policy).
 */
static TsJoinSet *
MetricSet(const ExpQuery *q, const ExpMetric *m, const TsSubResult *r)
{
	TsJoinSet  *set = palloc0(sizeof(TsJoinSet));

	set->s = palloc0(sizeof(TsJoinSeries) * Max(r->ngroups, 1));
	set->query_tagks = r->filter_tagks;
	set->nquery_tagks = r->nfilter_tagks;
	set->fill = m->fill.present ? m->fill.value : 0.0;
	for (int g = 0; g < r->ngroups; g++)
	{
		const TsResultGroup *grp = &r->groups[g];
		TsJoinSeries *s = &set->s[set->n];

		for (int k = 0; k < grp->data.n; k++)
		{
			TsPoint		pt = grp->data.p[k];

			if (pt.ts < q->start_ms || pt.ts > q->end_ms)
				continue;
			pt.d = pt.is_int ? (double) pt.i : pt.d;
			pt.is_int = false;
			ts_append(&s->data, pt);
		}
		if (s->data.n == 0)
			continue;
		s->metrics = palloc(sizeof(char *));
		s->metrics[0] = (char *) r->metric;
		s->nmetrics = 1;
		ts_group_tags(grp->members, grp->n, &s->ntags, &s->tagk, &s->tagv, &s->nagg, &s->agg);
		set->n++;
	}
	return set;
}

/*
 * CheckReferences finds what OpenTSDB's graph of nested expressions
 * refuses: an expression naming itself, then a cycle.
 */
static void
Walk(ExpQuery *q, int i)
{
	ExpExpr    *e = &q->exprs[i];

	check_stack_depth();
	e->state = 1;
	for (int v = 0; v < ts_expr_nvars(e->parsed); v++)
	{
		int			j = ExprIndex(q, ts_expr_var(e->parsed, v));

		if (j < 0 || q->exprs[j].state == 2)
			continue;
		if (q->exprs[j].state == 1)
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("circular reference found: %s", e->id),
							errdetail("Expression %s refers to %s, which refers back to it.",
									  e->id, q->exprs[j].id)));
		Walk(q, j);
	}
	e->state = 2;
}

static void
CheckReferences(ExpQuery *q)
{
	for (int i = 0; i < q->nexprs; i++)
	{
		const TsExpr *e = q->exprs[i].parsed;

		for (int v = 0; v < ts_expr_nvars(e); v++)
			if (strcmp(ts_expr_var(e, v), q->exprs[i].id) == 0)
				ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
								errmsg("self referencing expression found: %s", q->exprs[i].id)));
	}
	for (int i = 0; i < q->nexprs; i++)
		if (q->exprs[i].state == 0)
			Walk(q, i);
}

/* Evaluate computes an expression, those it names first */
static TsJoinSet *
Evaluate(ExpQuery *q, int i, TsJoinSet **metric_sets)
{
	ExpExpr    *e = &q->exprs[i];
	int			nvars = ts_expr_nvars(e->parsed);
	TsJoinSet **vars;

	if (e->result != NULL)
		return e->result;
	check_stack_depth();
	vars = palloc(sizeof(TsJoinSet *) * Max(nvars, 1));
	for (int v = 0; v < nvars; v++)
	{
		const char *name = ts_expr_var(e->parsed, v);
		int			m = MetricIndex(q, name);

		vars[v] = m >= 0 ? metric_sets[m] : Evaluate(q, ExprIndex(q, name), metric_sets);
	}
	e->result = ts_expr_eval(e->parsed, vars, e->intersection, e->use_query_tags,
							 e->include_agg_tags, true, e->id);
	e->result->fill = e->fill.present ? e->fill.value : NAN;
	pfree(vars);
	return e->result;
}

/* ---- writing the answer ---- */

static void
AppendStrOrNull(StringInfo b, const char *s)
{
	if (s == NULL)
		appendStringInfoString(b, "null");
	else
		escape_json(b, s);
}

static void
AppendMeta(StringInfo b, const TsJoinSet *set)
{
	appendStringInfoString(b, ",\"meta\":[{\"index\":0,\"metrics\":[\"timestamp\"]}");
	for (int i = 0; i < set->n; i++)
	{
		const TsJoinSeries *s = &set->s[i];

		appendStringInfo(b, ",{\"index\":%d,\"metrics\":[", i + 1);
		for (int k = 0; k < s->nmetrics; k++)
		{
			if (k > 0)
				appendStringInfoChar(b, ',');
			escape_json(b, s->metrics[k]);
		}
		appendStringInfoString(b, "],\"commonTags\":{");
		for (int k = 0; k < s->ntags; k++)
		{
			if (k > 0)
				appendStringInfoChar(b, ',');
			escape_json(b, s->tagk[k]);
			appendStringInfoChar(b, ':');
			escape_json(b, s->tagv[k]);
		}
		appendStringInfoString(b, "},\"aggregatedTags\":[");
		for (int k = 0; k < s->nagg; k++)
		{
			if (k > 0)
				appendStringInfoChar(b, ',');
			escape_json(b, s->agg[k]);
		}
		appendStringInfoString(b, "]}");
	}
	appendStringInfoChar(b, ']');
}

/*
 * AppendExprOutput writes an expression's output: the rows within
 * [start, end]; in dpsMeta the first row's timestamp and the last's, the
 * last only when there are two rows or more (0 otherwise), as OpenTSDB's
 * serializer counts them.
 */
static void
AppendExprOutput(StringInfo b, const ExpQuery *q, const TsJoinSet *set)
{
	int64		first = PG_INT64_MIN;
	int64		last = 0;
	int64		count = 0;
	int			nts = set->n > 0 ? set->s[0].data.n : 0;

	appendStringInfoString(b, ",\"dps\":[");
	for (int t = 0; t < nts; t++)
	{
		int64		ts = set->s[0].data.p[t].ts;

		if (ts < q->start_ms || ts > q->end_ms)
			continue;
		if (count > 0)
			appendStringInfoChar(b, ',');
		appendStringInfo(b, "[" INT64_FORMAT, ts);
		if (first == PG_INT64_MIN)
			first = ts;
		else
			last = ts;
		count++;
		for (int i = 0; i < set->n; i++)
		{
			appendStringInfoChar(b, ',');
			ts_append_double(b, set->s[i].data.p[t].d);
		}
		appendStringInfoChar(b, ']');
	}
	appendStringInfo(b, "],\"dpsMeta\":{\"firstTimestamp\":" INT64_FORMAT ",\"lastTimestamp\":" INT64_FORMAT
					 ",\"setCount\":" INT64_FORMAT ",\"series\":%d}",
					 first < 0 ? 0 : first, last, count, set->n);
	if (set->n > 0)
		AppendMeta(b, set);
}

/*
 * AppendMetricOutput writes a metric's output: its results side by side on
 * the union of their timestamps, a missing value 0; dpsMeta's
 * firstTimestamp is Long.MAX_VALUE when there is no row, as OpenTSDB's.
 */
static void
AppendMetricOutput(StringInfo b, const TsJoinSet *set)
{
	int			nts;
	int64	   *ts = ts_join_set_timeline(set, &nts);
	int		   *cursor = palloc0(sizeof(int) * Max(set->n, 1));

	if (vs_max_points > 0 && (double) nts * set->n > vs_max_points)
		ereport(ERROR,
				(errcode(ERRCODE_VS_TOO_LARGE),
				 errmsg("the output would have %.0f values, more than the limit of %d",
						(double) nts * set->n, vs_max_points),
				 errhint("Downsample, filter with more tags or decrease the time range (vscope.max_points).")));
	appendStringInfoString(b, ",\"dps\":[");
	for (int t = 0; t < nts; t++)
	{
		if (t > 0)
			appendStringInfoChar(b, ',');
		appendStringInfo(b, "[" INT64_FORMAT, ts[t]);
		for (int i = 0; i < set->n; i++)
		{
			const TsSeries *d = &set->s[i].data;

			appendStringInfoChar(b, ',');
			if (cursor[i] < d->n && d->p[cursor[i]].ts == ts[t])
				ts_append_double(b, d->p[cursor[i]++].d);
			else
				ts_append_double(b, 0.0);
		}
		appendStringInfoChar(b, ']');
	}
	appendStringInfo(b, "],\"dpsMeta\":{\"firstTimestamp\":" INT64_FORMAT ",\"lastTimestamp\":" INT64_FORMAT
					 ",\"setCount\":%d,\"series\":%d}",
					 nts > 0 ? ts[0] : PG_INT64_MAX, nts > 0 ? ts[nts - 1] : INT64CONST(0), nts, set->n);
	if (set->n > 0)
		AppendMeta(b, set);
}

static void
AppendFill(StringInfo b, const ExpFill *f)
{
	if (!f->present)
	{
		appendStringInfoString(b, "null");
		return;
	}
	appendStringInfo(b, "{\"policy\":\"%s\",\"value\":", fill_names[f->policy]);
	ts_append_double(b, f->value);
	appendStringInfoChar(b, '}');
}

/*
 * AppendQueryEcho writes "query": the request as OpenTSDB's Jackson writes
 * its Query back: every field in its order, null when not given, the
 * checked fill policies and the default join of expressions.
 */
static void
AppendQueryEcho(StringInfo b, const ExpQuery *q)
{
	appendStringInfoString(b, ",\"query\":{\"name\":");
	AppendStrOrNull(b, q->name);
	appendStringInfoString(b, ",\"time\":{\"start\":");
	AppendStrOrNull(b, q->start);
	appendStringInfoString(b, ",\"end\":");
	AppendStrOrNull(b, q->end);
	appendStringInfoString(b, ",\"timezone\":");
	AppendStrOrNull(b, q->timezone);
	appendStringInfoString(b, ",\"downsampler\":");
	if (q->has_ds)
	{
		appendStringInfoString(b, "{\"interval\":");
		AppendStrOrNull(b, q->ds_interval);
		appendStringInfoString(b, ",\"aggregator\":");
		AppendStrOrNull(b, q->ds_aggregator);
		appendStringInfoString(b, ",\"fillPolicy\":");
		AppendFill(b, &q->ds_fill);
		appendStringInfoChar(b, '}');
	}
	else
		appendStringInfoString(b, "null");
	appendStringInfoString(b, ",\"aggregator\":");
	AppendStrOrNull(b, q->aggregator);
	appendStringInfo(b, ",\"rate\":%s},\"filters\":", q->rate ? "true" : "false");
	if (q->filters == NULL)
		appendStringInfoString(b, "null");
	else
	{
		appendStringInfoChar(b, '[');
		for (int i = 0; i < q->nfilters; i++)
		{
			const ExpFilter *f = &q->filters[i];

			if (i > 0)
				appendStringInfoChar(b, ',');
			appendStringInfoString(b, "{\"id\":");
			AppendStrOrNull(b, f->id);
			appendStringInfoString(b, ",\"tags\":");
			if (f->tags == NULL)
				appendStringInfoString(b, "null");
			else
			{
				int			n = JsonContainerSize(f->tags);

				appendStringInfoChar(b, '[');
				for (int k = 0; k < n; k++)
				{
					JsonbContainer *t = Element(f->tags, k, "the tag filters");
					char	   *type = StrField(t, "type", "a tag filter");
					int			kind = type ? (int) ts_filter_type(type) : -1;

					if (k > 0)
						appendStringInfoChar(b, ',');
					appendStringInfoString(b, "{\"tagk\":");
					AppendStrOrNull(b, StrField(t, "tagk", "a tag filter"));
					appendStringInfoString(b, ",\"filter\":");
					AppendStrOrNull(b, StrField(t, "filter", "a tag filter"));
					appendStringInfo(b, ",\"group_by\":%s,\"type\":",
									 BoolField(t, "groupBy", false, "a tag filter") ? "true" : "false");
					AppendStrOrNull(b, kind >= 0 ? ts_filter_type_name((TsFilterType) kind) : type);
					appendStringInfoChar(b, '}');
				}
				appendStringInfoChar(b, ']');
			}
			appendStringInfo(b, ",\"explicitTags\":%s}", f->explicit_tags ? "true" : "false");
		}
		appendStringInfoChar(b, ']');
	}
	appendStringInfoString(b, ",\"metrics\":[");
	for (int i = 0; i < q->nmetrics; i++)
	{
		const ExpMetric *m = &q->metrics[i];

		if (i > 0)
			appendStringInfoChar(b, ',');
		appendStringInfoString(b, "{\"metric\":");
		AppendStrOrNull(b, m->metric);
		appendStringInfoString(b, ",\"id\":");
		AppendStrOrNull(b, m->id);
		appendStringInfoString(b, ",\"filter\":");
		AppendStrOrNull(b, m->filter);
		appendStringInfoString(b, ",\"aggregator\":");
		AppendStrOrNull(b, m->aggregator);
		appendStringInfoString(b, ",\"fillPolicy\":");
		AppendFill(b, &m->fill);
		appendStringInfoString(b, ",\"timeOffset\":");
		AppendStrOrNull(b, m->time_offset);
		appendStringInfoChar(b, '}');
	}
	appendStringInfoString(b, "],\"expressions\":");
	if (q->exprs == NULL)
		appendStringInfoString(b, "null");
	else
	{
		appendStringInfoChar(b, '[');
		for (int i = 0; i < q->nexprs; i++)
		{
			const ExpExpr *e = &q->exprs[i];

			if (i > 0)
				appendStringInfoChar(b, ',');
			appendStringInfoString(b, "{\"id\":");
			AppendStrOrNull(b, e->id);
			appendStringInfoString(b, ",\"expr\":");
			AppendStrOrNull(b, e->expr);
			appendStringInfo(b, ",\"join\":{\"operator\":\"%s\",\"useQueryTags\":%s,\"includeAggTags\":%s}"
							 ",\"fillPolicy\":",
							 e->intersection ? "intersection" : "union",
							 e->use_query_tags ? "true" : "false",
							 e->include_agg_tags ? "true" : "false");
			AppendFill(b, &e->fill);
			appendStringInfoChar(b, '}');
		}
		appendStringInfoChar(b, ']');
	}
	appendStringInfoString(b, ",\"outputs\":");
	if (q->outputs == NULL)
		appendStringInfoString(b, "null");
	else
	{
		appendStringInfoChar(b, '[');
		for (int i = 0; i < q->noutputs; i++)
		{
			if (i > 0)
				appendStringInfoChar(b, ',');
			appendStringInfoString(b, "{\"id\":");
			AppendStrOrNull(b, q->outputs[i].id);
			appendStringInfoString(b, ",\"alias\":");
			AppendStrOrNull(b, q->outputs[i].alias);
			appendStringInfoChar(b, '}');
		}
		appendStringInfoChar(b, ']');
	}
	appendStringInfoChar(b, '}');
}

/*
 * AppendOutput writes one output: an expression's id first, else a
 * metric's; an id that is neither is left out, as OpenTSDB leaves it.
 */
static void
AppendOutput(StringInfo b, bool *first, ExpQuery *q, const char *id, const char *alias,
			 TsJoinSet **metric_sets)
{
	int			e = ExprIndex(q, id);
	int			m = MetricIndex(q, id);

	if (e < 0 && m < 0)
		return;
	if (!*first)
		appendStringInfoChar(b, ',');
	*first = false;
	appendStringInfoString(b, "{\"id\":");
	escape_json(b, id);
	if (alias != NULL)
	{
		appendStringInfoString(b, ",\"alias\":");
		escape_json(b, alias);
	}
	if (e >= 0)
		AppendExprOutput(b, q, q->exprs[e].result);
	else
		AppendMetricOutput(b, metric_sets[m]);
	appendStringInfoChar(b, '}');
}

static text *
RunExp(Jsonb *req)
{
	int32		tenant = VsRequireTenant();
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext work = AllocSetContextCreate(callcxt, "vscope tsdb exp query",
											   ALLOCSET_DEFAULT_SIZES);
	ExpQuery	q;
	TsQuery    *tq;
	TsSubResult *results;
	TsJoinSet **metric_sets;
	StringInfoData out;
	bool		first = true;
	text	   *answer;

	MemoryContextSwitchTo(work);
	tq = ReadAndCheck(req, &q);

	/*
	 * The answer is built in work; the results live in SPI's procedure
	 * context (current after any SPI call) until SPI_finish.
	 */
	initStringInfo(&out);
	SPI_connect();
	results = ts_query_run_subs(tq, tenant);

	metric_sets = palloc(sizeof(TsJoinSet *) * q.nmetrics);
	for (int i = 0; i < q.nmetrics; i++)
		metric_sets[i] = MetricSet(&q, &q.metrics[i], &results[i]);
	CheckReferences(&q);
	for (int i = 0; i < q.nexprs; i++)
		(void) Evaluate(&q, i, metric_sets);

	appendStringInfoString(&out, "{\"outputs\":[");
	if (q.noutputs > 0)
		for (int i = 0; i < q.noutputs; i++)
			AppendOutput(&out, &first, &q, q.outputs[i].id, q.outputs[i].alias, metric_sets);
	else if (q.nexprs > 0)
		for (int i = 0; i < q.nexprs; i++)
			AppendOutput(&out, &first, &q, q.exprs[i].id, NULL, metric_sets);
	else
		for (int i = 0; i < q.nmetrics; i++)
			AppendOutput(&out, &first, &q, q.metrics[i].id, NULL, metric_sets);
	appendStringInfoChar(&out, ']');
	AppendQueryEcho(&out, &q);
	appendStringInfoChar(&out, '}');
	SPI_finish();

	MemoryContextSwitchTo(callcxt);
	answer = cstring_to_text_with_len(out.data, out.len);
	MemoryContextDelete(work);
	return answer;
}

VS_FUNCTION_INFO_V1(vscope_tsdb_query_exp);

/*
 * vscope_tsdb_query_exp answers an OpenTSDB /api/query/exp request body.
 */
Datum
vscope_tsdb_query_exp(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(RunExp(PG_GETARG_JSONB_P(0)));
}
