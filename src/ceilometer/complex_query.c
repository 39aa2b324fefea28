/*-------------------------------------------------------------------------
 *
 * complex_query.c
 *	  Ceilometer's complex query (POST /v2/query/samples) translated into
 *	  SQL: the filter expression into a WHERE clause and the orderby list
 *	  into an ORDER BY clause, over a samples relation aliased "s" with
 *	  Ceilometer's storage column names.
 *
 *	  A user's filter becomes SQL only this way: every field is looked up
 *	  in a whitelist (with Ceilometer's aliases), every value is quoted with
 *	  quote_literal or written from a parsed number, metadata paths are
 *	  quoted element by element, nesting is at most VS_CQ_MAX_DEPTH deep and
 *	  an "in" list at most VS_CQ_MAX_IN long.  Anything else is a VS400
 *	  error with Ceilometer's message prefix.
 *
 *	  "not" is three-valued logic made two-valued: NOT coalesce(e, false).
 *	  So a sample without a metadata field matches not(field = x), as in
 *	  Ceilometer's MongoDB driver (its SQL driver would not match it).
 *
 *-------------------------------------------------------------------------
 */
#include "ceilometer/ceilometer.h"

#include <errno.h>
#include <math.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#define VS_CQ_MAX_DEPTH 32
#define VS_CQ_MAX_IN 1000

typedef enum CqType
{
	CQ_TEXT, CQ_NUMBER, CQ_TIME, CQ_METADATA
} CqType;

typedef struct CqField
{
	const char *name;
	const char *column;
	CqType		type;
} CqField;

static const CqField fields[] = {
	{"source", "source", CQ_TEXT},
	{"counter_name", "counter_name", CQ_TEXT},
	{"counter_type", "counter_type", CQ_TEXT},
	{"counter_unit", "counter_unit", CQ_TEXT},
	{"counter_volume", "counter_volume", CQ_NUMBER},
	{"user_id", "user_id", CQ_TEXT},
	{"project_id", "project_id", CQ_TEXT},
	{"resource_id", "resource_id", CQ_TEXT},
	{"timestamp", "timestamp", CQ_TIME},
	{"recorded_at", "recorded_at", CQ_TIME},
	{"resource_metadata", "resource_metadata", CQ_METADATA},
	{"message_id", "message_id", CQ_TEXT},
	{"message_signature", "message_signature", CQ_TEXT},
	/* aliases */
	{"user", "user_id", CQ_TEXT},
	{"project", "project_id", CQ_TEXT},
	{"resource", "resource_id", CQ_TEXT},
	{"meter", "counter_name", CQ_TEXT},
	{"type", "counter_type", CQ_TEXT},
	{"unit", "counter_unit", CQ_TEXT},
	{"volume", "counter_volume", CQ_NUMBER},
};

static void BadFilter(const char *fmt, const char *arg) pg_attribute_noreturn();

static void
BadFilter(const char *fmt, const char *arg)
{
	ereport(ERROR,
			(errcode(ERRCODE_VS_BAD_REQUEST),
			 errmsg("Filter expression not valid: %s", psprintf(fmt, arg))));
}

static const CqField *
LookupField(const char *name)
{
	for (size_t i = 0; i < lengthof(fields); i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

/* OnlyKey returns the single key of an object container and its value */
static char *
OnlyKey(JsonbContainer *c, JsonbValue *value, const char *what)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (!JsonContainerIsObject(c) || JsonContainerSize(c) != 1)
		BadFilter("%s must be an object with exactly one key", what);
	it = JsonbIteratorInit(c);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
			*value = v;
	}
	return key;
}

static void
AppendScalar(StringInfo out, const JsonbValue *v, CqType type, const char *field)
{
	switch (v->type)
	{
		case jbvString:
			{
				char	   *s = pnstrdup(v->val.string.val, v->val.string.len);

				if (type == CQ_NUMBER)
					BadFilter("%s takes a number", field);
				if (type == CQ_TIME)
				{
					TimestampTz ts;

					/* ISO 8601, UTC unless it has an offset: not the session's zone */
					if (!VsCeiloParseTs(s, &ts))
						ereport(ERROR,
								(errcode(ERRCODE_VS_BAD_REQUEST),
								 errmsg("Failed to parse the timestamp value %s", s)));
					appendStringInfo(out, "%s::timestamptz",
									 quote_literal_cstr(psprintf("%s+00", VsCeiloFormatTs(ts))));
				}
				else
					appendStringInfoString(out, quote_literal_cstr(s));
				break;
			}
		case jbvNumeric:
			{
				char	   *n = DatumGetCString(DirectFunctionCall1(numeric_out,
																	NumericGetDatum(v->val.numeric)));

				if (type == CQ_TIME)
					BadFilter("%s takes an ISO 8601 timestamp string", field);
				if (type == CQ_NUMBER)
				{
					double		d;

					/* as float8in does: overflow, or underflow to zero, is out of range */
					errno = 0;
					d = strtod(n, NULL);
					if (errno == ERANGE && (d == 0.0 || isinf(d)))
						BadFilter("%s: a number is out of the range of double precision", field);
				}
				if (type == CQ_TEXT)
					appendStringInfoString(out, quote_literal_cstr(n));
				else
					appendStringInfo(out, "%s::double precision", n);	/* digits only */
				break;
			}
		case jbvBool:
			if (type != CQ_TEXT)
				BadFilter("%s does not take a boolean", field);
			appendStringInfoString(out, quote_literal_cstr(v->val.boolean ? "True" : "False"));
			break;
		default:
			BadFilter("the value of %s must be a string, number or boolean", field);
	}
}

/* AppendMetadataPath writes s.resource_metadata #> ARRAY['a','b'] (or #>>) */
static void
AppendMetadataPath(StringInfo out, const char *path, bool as_text)
{
	char	   *copy = pstrdup(path);
	char	   *save = NULL;
	bool		first = true;

	if (path[0] == '\0')
		BadFilter("%s", "metadata. needs a field name");
	appendStringInfo(out, "(s.resource_metadata %s ARRAY[", as_text ? "#>>" : "#>");
	for (char *part = strtok_r(copy, ".", &save); part != NULL; part = strtok_r(NULL, ".", &save))
	{
		if (!first)
			appendStringInfoChar(out, ',');
		first = false;
		appendStringInfoString(out, quote_literal_cstr(part));
	}
	appendStringInfoString(out, "]::text[])");
}

/*
 * AppendMessageIds writes message_id IN (ids) as a probe of the samples
 * vscope._ceilo_find_samples() finds by those ids (the publisher's, kept in
 * vscope.sample_ids, or made from where a sample is stored): message_id
 * itself is computed, so comparing it would scan.  ids are quoted already.
 */
static void
AppendMessageIds(StringInfo out, const char *ids)
{
	appendStringInfo(out, "((s.tenant_id, s.series_id, s.\"timestamp\", s.seq) IN "
					 "(SELECT f.tenant_id, f.series_id, f.ts, f.seq FROM vscope._ceilo_find_samples(ARRAY[%s]::text[]) f))",
					 ids);
}

static const char *
SqlOperator(const char *op)
{
	if (strcmp(op, "=") == 0)
		return "=";
	if (strcmp(op, "!=") == 0)
		return "<>";
	if (strcmp(op, "<") == 0)
		return "<";
	if (strcmp(op, "<=") == 0 || strcmp(op, "=<") == 0)
		return "<=";
	if (strcmp(op, ">") == 0)
		return ">";
	if (strcmp(op, ">=") == 0 || strcmp(op, "=>") == 0)
		return ">=";
	if (strcmp(op, "=~") == 0)
		return "~";
	return NULL;
}

static void
Leaf(StringInfo out, const char *op, JsonbValue *arg)
{
	JsonbValue	value;
	char	   *field;
	const char *sqlop = SqlOperator(op);

	if (arg->type != jbvBinary)
		BadFilter("the operand of %s must be an object {field: value}", op);
	field = OnlyKey(arg->val.binary.data, &value, "a comparison");
	if (value.type == jbvBinary || value.type == jbvNull)
		BadFilter("the value of %s must be a string, number or boolean", field);

	if (strncmp(field, "metadata.", 9) == 0)
	{
		const char *path = field + 9;

		if (strcmp(sqlop, "~") == 0 && value.type != jbvString)
			BadFilter("%s: =~ takes a string", field);
		if (value.type == jbvNumeric)
		{
			/* compare as numbers, only where the metadata value is a number */
			appendStringInfoString(out, "(jsonb_typeof(");
			AppendMetadataPath(out, path, false);
			appendStringInfoString(out, ") = 'number' AND (");
			AppendMetadataPath(out, path, true);
			appendStringInfo(out, ")::double precision %s ", sqlop);
			AppendScalar(out, &value, CQ_NUMBER, field);
			appendStringInfoChar(out, ')');
		}
		else if (value.type == jbvBool)
		{
			if (strcmp(sqlop, "=") != 0 && strcmp(sqlop, "<>") != 0)
				BadFilter("%s: a boolean is compared with = or != only", field);
			appendStringInfoChar(out, '(');
			AppendMetadataPath(out, path, false);
			appendStringInfo(out, " %s '%s'::jsonb)", sqlop, value.val.boolean ? "true" : "false");
		}
		else
		{
			appendStringInfoChar(out, '(');
			AppendMetadataPath(out, path, true);
			appendStringInfo(out, " %s ", sqlop);
			AppendScalar(out, &value, CQ_TEXT, field);
			appendStringInfoChar(out, ')');
		}
		return;
	}
	{
		const CqField *f = LookupField(field);

		if (f == NULL)
			BadFilter("unknown field %s", field);
		if (f->type == CQ_METADATA)
			BadFilter("%s: compare metadata.<field> instead", field);
		if (strcmp(sqlop, "~") == 0 && f->type != CQ_TEXT)
			BadFilter("%s: =~ applies to text fields", field);
		if (strcmp(f->column, "message_id") == 0 && strcmp(sqlop, "=") == 0 &&
			value.type == jbvString)
		{
			AppendMessageIds(out, quote_literal_cstr(pnstrdup(value.val.string.val, value.val.string.len)));
			return;
		}
		appendStringInfo(out, "(s.%s %s ", f->column, sqlop);
		AppendScalar(out, &value, f->type, field);
		appendStringInfoChar(out, ')');
	}
}

static void
Expr(StringInfo out, JsonbContainer *c, int depth)
{
	JsonbValue	arg;
	char	   *op;

	CHECK_FOR_INTERRUPTS();
	check_stack_depth();
	if (depth > VS_CQ_MAX_DEPTH)
		BadFilter("nested deeper than %s levels", CppAsString2(VS_CQ_MAX_DEPTH));
	op = OnlyKey(c, &arg, "each expression");
	for (char *p = op; *p; p++)
		*p = pg_tolower((unsigned char) *p);

	if (strcmp(op, "and") == 0 || strcmp(op, "or") == 0)
	{
		int			n;

		if (arg.type != jbvBinary || !JsonContainerIsArray(arg.val.binary.data) ||
			(n = JsonContainerSize(arg.val.binary.data)) < 2)
			BadFilter("%s takes a list of at least two expressions", op);
		appendStringInfoChar(out, '(');
		for (int i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(arg.val.binary.data, i);

			if (e->type != jbvBinary)
				BadFilter("the operands of %s must be expressions", op);
			if (i > 0)
				appendStringInfoString(out, strcmp(op, "and") == 0 ? " AND " : " OR ");
			Expr(out, e->val.binary.data, depth + 1);
		}
		appendStringInfoChar(out, ')');
	}
	else if (strcmp(op, "not") == 0)
	{
		if (arg.type != jbvBinary || !JsonContainerIsObject(arg.val.binary.data))
			BadFilter("%s takes one expression", op);
		appendStringInfoString(out, "(NOT coalesce(");
		Expr(out, arg.val.binary.data, depth + 1);
		appendStringInfoString(out, ", false))");
	}
	else if (strcmp(op, "in") == 0)
	{
		JsonbValue	list;
		char	   *field;
		const CqField *f;
		int			n;

		if (arg.type != jbvBinary)
			BadFilter("%s takes {field: [values]}", op);
		field = OnlyKey(arg.val.binary.data, &list, "an in expression");
		if (strncmp(field, "metadata.", 9) == 0)
			BadFilter("%s: in does not apply to metadata", field);
		f = LookupField(field);
		if (f == NULL)
			BadFilter("unknown field %s", field);
		if (f->type == CQ_METADATA)
			BadFilter("%s: in does not apply to metadata", field);
		if (list.type != jbvBinary || !JsonContainerIsArray(list.val.binary.data) ||
			(n = JsonContainerSize(list.val.binary.data)) < 1)
			BadFilter("%s: in takes a non-empty list of values", field);
		if (n > VS_CQ_MAX_IN)
			BadFilter("in takes at most %s values", CppAsString2(VS_CQ_MAX_IN));
		if (strcmp(f->column, "message_id") == 0)
		{
			StringInfoData ids;

			initStringInfo(&ids);
			for (int i = 0; i < n; i++)
			{
				JsonbValue *e = getIthJsonbValueFromContainer(list.val.binary.data, i);

				if (e->type != jbvString)
					BadFilter("%s: in takes strings", field);
				if (i > 0)
					appendStringInfoString(&ids, ", ");
				appendStringInfoString(&ids, quote_literal_cstr(pnstrdup(e->val.string.val, e->val.string.len)));
			}
			AppendMessageIds(out, ids.data);
			return;
		}
		appendStringInfo(out, "(s.%s IN (", f->column);
		for (int i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(list.val.binary.data, i);

			if (e->type != jbvString && e->type != jbvNumeric)
				BadFilter("%s: in takes strings and numbers", field);
			if (i > 0)
				appendStringInfoString(out, ", ");
			AppendScalar(out, e, f->type, field);
		}
		appendStringInfoString(out, "))");
	}
	else if (SqlOperator(op) != NULL)
		Leaf(out, op, &arg);
	else
		BadFilter("unknown operator %s", op);
}

/* ParseJson parses text as jsonb, errors prefixed for the API */
static Jsonb *
ParseJson(const char *text, const char *prefix)
{
	MemoryContext cxt = CurrentMemoryContext;
	Jsonb	   *volatile j = NULL;
	char	   *volatile msg = NULL;

	PG_TRY();
	{
		j = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();

		/*
		 * Only the parser's own verdict on the text (class 22, data
		 * exception) is the caller's mistake; anything else (cancel,
		 * statement timeout, out of memory, stack depth on deep nesting)
		 * goes on as it was raised.  Nothing is carried on after the catch:
		 * the request error below aborts the transaction as well.
		 */
		if (ERRCODE_TO_CATEGORY(e->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		FlushErrorState();
		msg = e->detail ? psprintf("%s: %s", e->message, e->detail) : e->message;
	}
	PG_END_TRY();
	if (j == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_VS_BAD_REQUEST),
				 errmsg("%s: %s", prefix, msg ? msg : "invalid JSON")));
	return j;
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_filter_sql);

/*
 * vscope_ceilometer_filter_sql returns the WHERE clause (over alias s) of a
 * complex-query filter; "true" for no filter.
 */
Datum
vscope_ceilometer_filter_sql(PG_FUNCTION_ARGS)
{
	StringInfoData out;
	char	   *src;
	Jsonb	   *j;

	if (PG_ARGISNULL(0))
		PG_RETURN_TEXT_P(cstring_to_text("true"));
	src = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (src[0] == '\0')
		PG_RETURN_TEXT_P(cstring_to_text("true"));
	j = ParseJson(src, "Filter expression not valid");
	if (!JB_ROOT_IS_OBJECT(j))
		BadFilter("%s", "the filter must be a JSON object");
	initStringInfo(&out);
	Expr(&out, &j->root, 1);
	PG_RETURN_TEXT_P(cstring_to_text(out.data));
}

static void BadOrder(const char *fmt, const char *arg) pg_attribute_noreturn();

static void
BadOrder(const char *fmt, const char *arg)
{
	ereport(ERROR,
			(errcode(ERRCODE_VS_BAD_REQUEST),
			 errmsg("Order-by expression not valid: %s", psprintf(fmt, arg))));
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_orderby_sql);

/*
 * vscope_ceilometer_orderby_sql returns the ORDER BY list (over alias s) of
 * a complex-query orderby: [{"field": "asc|desc"}, ...]; the default is
 * s.timestamp DESC.
 */
Datum
vscope_ceilometer_orderby_sql(PG_FUNCTION_ARGS)
{
	StringInfoData out;
	char	   *src;
	Jsonb	   *j;
	int			n;

	if (PG_ARGISNULL(0) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(0)) == 0)
		PG_RETURN_TEXT_P(cstring_to_text("s.timestamp DESC"));
	src = text_to_cstring(PG_GETARG_TEXT_PP(0));
	j = ParseJson(src, "Order-by expression not valid");
	if (!JB_ROOT_IS_ARRAY(j) || JB_ROOT_IS_SCALAR(j))
		BadOrder("%s", "orderby must be a list of {field: asc|desc}");
	n = JsonContainerSize(&j->root);
	if (n == 0)
		PG_RETURN_TEXT_P(cstring_to_text("s.timestamp DESC"));
	if (n > (int) lengthof(fields))
		BadOrder("%s", "too many order-by fields");
	initStringInfo(&out);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(&j->root, i);
		JsonbValue	dir;
		char	   *field;
		const CqField *f;
		char	   *d;

		if (e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data) ||
			JsonContainerSize(e->val.binary.data) != 1)
			BadOrder("%s", "each element is {field: asc|desc}");
		field = OnlyKey(e->val.binary.data, &dir, "an order-by element");
		f = LookupField(field);
		if (f == NULL || f->type == CQ_METADATA)
			BadOrder("unknown field %s", field);
		if (dir.type != jbvString)
			BadOrder("the direction of %s must be asc or desc", field);
		d = pnstrdup(dir.val.string.val, dir.val.string.len);
		if (pg_strcasecmp(d, "asc") != 0 && pg_strcasecmp(d, "desc") != 0)
			BadOrder("the direction must be asc or desc, not \"%s\"", d);
		appendStringInfo(&out, "%ss.%s %s", i ? ", " : "", f->column,
						 pg_strcasecmp(d, "asc") == 0 ? "ASC" : "DESC");
	}
	PG_RETURN_TEXT_P(cstring_to_text(out.data));
}
