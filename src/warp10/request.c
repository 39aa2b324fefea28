/*-------------------------------------------------------------------------
 *
 * request.c
 *	  GET /api/v0/fetch and GET /api/v0/find as SQL functions, so that
 *	  vscoped makes one call: vscope.warp10_fetch_request(token, args) and
 *	  vscope.warp10_find_request(token, args), args being the query-string
 *	  parameters as a JSON object of strings (null for a parameter given
 *	  without a value).
 *
 *	  Fetch checks its parameters in Warp 10's order and words
 *	  (EgressFetchHandler, FETCH.computeTimeRange): time parameters first,
 *	  then the token, then the selector.  The range:
 *	  - now, end and stop are one parameter (two of them: an error); start
 *	    and the end are Unix microseconds, ISO 8601, or "now";
 *	  - a negative integer timespan -n means count = n;
 *	  - start and end: [start, end] (swapped if reversed); end and timespan:
 *	    (end - timespan, end]; start and timespan: [start, start + timespan);
 *	    end and count alone: the count newest points up to end.
 *	  Errors are VS400 (bad parameters), VS403 (token), as Warp 10 answers.
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warp10.h"

#include "common/int.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* Arg: a parameter's value, "" when given without one, NULL when absent */
static const char *
Arg(Jsonb *args, const char *name)
{
	JsonbValue *v;

	if (args == NULL || !JB_ROOT_IS_OBJECT(args))
		return NULL;
	v = getKeyJsonValueFromContainer(&args->root, name, strlen(name), NULL);
	if (v == NULL)
		return NULL;
	if (v->type == jbvNull)
		return "";
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_VS_BAD_REQUEST),
				 errmsg("Invalid format for parameter '%s'.", name),
				 errdetail("Query-string parameters are strings.")));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static void BadParam(const char *name) pg_attribute_noreturn();

static void
BadParam(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_VS_BAD_REQUEST),
			 errmsg("Invalid format for parameter '%s'.", name),
			 errdetail("A time is Unix microseconds, ISO 8601 (2023-11-14T22:13:20Z) or now.")));
}

/* GetTimestamp reads a time parameter: Unix microseconds, ISO 8601 or now */
static bool
GetTimestamp(const char *s, const char *name, int64 now, int64 *ts)
{
	if (s == NULL)
		return false;
	if (strcmp(s, "now") == 0)
		*ts = now;
	else if (!w10_parse_long(s, ts) && !w10_parse_iso8601(s, ts))
		BadParam(name);
	return true;
}

static void
RangeError(const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_VS_BAD_REQUEST),
			 errmsg("%s", msg)));
}

/*
 * ComputeTimeRange is FETCH.computeTimeRange: the inclusive range of the
 * parameters, Java's long arithmetic and messages included.
 */
static void
ComputeTimeRange(const char *start, const char *end, const char *endname,
				 const char *timespan, bool have_count, int64 *from, int64 *to)
{
	int64		now = w10_timestamptz_to_us(GetCurrentTimestamp());
	int64		s = 0;
	int64		e = 0;
	bool		has_s = GetTimestamp(start, "start", now, &s);
	bool		has_e = GetTimestamp(end, endname, now, &e);

	if (!has_s && !has_e)
		RangeError(psprintf("Missing either 'start' or '%s' parameter.", endname));
	if (has_s && has_e && s > e)
	{
		int64		t = s;

		s = e;
		e = t;
	}
	if (timespan != NULL)
	{
		int64		span;

		if (has_s && has_e)
			RangeError(psprintf("Invalid time range specification: 'start', '%s' and 'timespan' cannot all be defined. Only 2 out of those 3 parameters should be defined.", endname));
		if (timespan[0] == '\0')
			RangeError("Parameter 'timespan' is empty.");
		if (timespan[0] == 'P')
		{
			const char *err;

			if (!w10_parse_duration(timespan, &span, &err))
				RangeError(psprintf("Invalid format for parameter 'timespan'. (%s)", err));
		}
		else if (!w10_parse_long(timespan, &span))
			RangeError("Invalid format for parameter 'timespan'.");
		if (span < 0)
			RangeError("'timespan' cannot be negative.");
		if (!has_s)
		{
			if (span == 0 && e == PG_INT64_MAX)
				RangeError(psprintf("Cannot set 'timespan' to 0 and '%s' to MAX_VALUE.", endname));
			if (pg_sub_s64_overflow(e, span, &s))
				s = PG_INT64_MIN;
			else
				s += 1;
		}
		else
		{
			if (span == 0 && s == PG_INT64_MIN)
				RangeError("Cannot set 'timespan' to 0 and 'start' to MIN_VALUE.");
			if (pg_add_s64_overflow(s, span, &e))
				e = PG_INT64_MAX;
			else
				e -= 1;
		}
		has_s = has_e = true;
	}
	if (!has_e)
		RangeError(psprintf("Missing '%s' or 'start' and 'timespan' parameter.", endname));
	if (!has_s)
	{
		if (!have_count)
			RangeError("Invalid time range specification: 'count' is mandatory if 'start' and 'timespan' are not specified.");
		s = PG_INT64_MIN;
	}
	*from = s;
	*to = e;
}

static W10Format
FormatArg(const char *f)
{
	if (f == NULL)
		return W10_TEXT;
	if (strcmp(f, "fulltext") == 0)
		return W10_FULLTEXT;
	if (strcmp(f, "json") == 0)
		return W10_JSON;
	if (strcmp(f, "tsv") == 0)
		return W10_TSV;
	if (strcmp(f, "fulltsv") == 0)
		return W10_FULLTSV;
	return W10_TEXT;
}

/* the token argument: a missing one is refused as Warp 10 refuses it */
static const char *
TokenArg(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(0)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_VS_FORBIDDEN),
				 errmsg("Missing token."),
				 errdetail("Send a read token in the X-Warp10-Token header or the token parameter.")));
	return TextDatumGetCString(PG_GETARG_DATUM(0));
}

VS_FUNCTION_INFO_V1(vscope_warp10_fetch_request);

/*
 * vscope_warp10_fetch_request answers GET /api/v0/fetch: the body in the
 * format asked for (text, fulltext, json, tsv, fulltsv).
 */
Datum
vscope_warp10_fetch_request(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	const char *start = Arg(args, "start");
	const char *end = Arg(args, "end");
	const char *stop = Arg(args, "stop");
	const char *now = Arg(args, "now");
	const char *timespan = Arg(args, "timespan");
	const char *count_arg = Arg(args, "count");
	const char *dedup_arg = Arg(args, "dedup");
	const char *endname = "end";
	const char *selector;
	const char *token;
	int64		count = -1;
	int64		from;
	int64		to;
	int64		span;
	W10Selector *sels;
	int			nsel;
	int32		tenant;
	W10Gts	   *gts;
	int			ngts;
	StringInfoData out;
	MemoryContext caller = CurrentMemoryContext;

	/* a negative timespan is a count */
	if (timespan != NULL && w10_parse_long(timespan, &span) && span < 0)
	{
		if (count_arg != NULL)
			RangeError("Cannot specify both 'count' and negative 'timespan'.");
		if (span == PG_INT64_MIN)
			RangeError("Invalid format for parameter 'timespan'.");
		timespan = NULL;
		count_arg = psprintf(INT64_FORMAT, -span);
	}
	/* stop, now and end are one parameter */
	if (stop != NULL)
	{
		if (end != NULL)
			RangeError("Cannot specify both 'end' and 'stop'.");
		end = stop;
		endname = "stop";
	}
	if (now != NULL)
	{
		if (end != NULL)
			RangeError("Cannot specify both 'end' and 'now'.");
		end = now;
		endname = "now";
	}
	ComputeTimeRange(start, end, endname, timespan, count_arg != NULL, &from, &to);
	if (count_arg != NULL)
	{
		if (!w10_parse_long(count_arg, &count))
			RangeError("Invalid format for parameter 'count'.");
		if (count < 0)
			count = -1;			/* Warp 10: no limit */
	}

	token = TokenArg(fcinfo);
	tenant = w10_bind_token(token, false);

	selector = Arg(args, "selector");
	if (selector == NULL)
		RangeError("Missing 'selector' parameter.");
	sels = w10_parse_selectors(selector, &nsel, ERRCODE_VS_BAD_REQUEST);

	SPI_connect();
	gts = w10_fetch(tenant, sels, nsel, from, to, count, vs_max_points, &ngts);
	MemoryContextSwitchTo(caller);

	/*
	 * The answer is written once, as the text returned: a text header, then
	 * the body, in a buffer sized from the points up front (about 32 bytes a
	 * point in the text forms) rather than doubled and copied as it grows.
	 */
	{
		int64		points = 0;
		Size		guess;

		for (int i = 0; i < ngts; i++)
			points += gts[i].n;
		guess = (Size) Min(points * 32 + 1024, (int64) (MaxAllocSize / 2));
		out.data = palloc(guess);
		out.maxlen = (int) guess;
		out.len = 0;
		out.cursor = 0;
		out.data[0] = '\0';
	}
	appendStringInfoSpaces(&out, VARHDRSZ);
	w10_format_fetch(&out, gts, ngts, FormatArg(Arg(args, "format")),
					 dedup_arg != NULL && strcmp(dedup_arg, "false") != 0,
					 Arg(args, "showattr") != NULL);
	SPI_finish();
	SET_VARSIZE(out.data, out.len);
	PG_RETURN_TEXT_P((text *) out.data);
}

/* a paging parameter of find: a non-negative integer */
static int64
PagingArg(Jsonb *args, const char *name, int64 dflt)
{
	const char *s = Arg(args, name);
	int64		v;

	if (s == NULL)
		return dflt;
	if (!w10_parse_long(s, &v))
		BadParam(name);
	return v;
}

VS_FUNCTION_INFO_V1(vscope_warp10_find_request);

/*
 * vscope_warp10_find_request answers GET /api/v0/find: the series the
 * selectors match, CLASS{LABELS} a line or, with format=json, as JSON;
 * gskip skips the first ones, limit (or gcount) keeps at most so many.
 */
Datum
vscope_warp10_find_request(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	const char *token = TokenArg(fcinfo);
	const char *selector;
	const char *format;
	int64		skip;
	int64		limit;
	W10Selector *sels;
	int			nsel;
	int32		tenant;
	W10Gts	   *gts;
	int			ngts;
	StringInfoData out;
	MemoryContext caller = CurrentMemoryContext;

	tenant = w10_bind_token(token, false);
	selector = Arg(args, "selector");
	if (selector == NULL)
		RangeError("Missing 'selector' parameter.");
	sels = w10_parse_selectors(selector, &nsel, ERRCODE_VS_BAD_REQUEST);
	skip = PagingArg(args, "gskip", 0);
	limit = PagingArg(args, "gcount", PagingArg(args, "limit", PG_INT64_MAX));
	format = Arg(args, "format");

	SPI_connect();
	gts = w10_find(tenant, sels, nsel, &ngts);
	MemoryContextSwitchTo(caller);
	if (skip > 0)
	{
		skip = Min(skip, ngts);
		gts += skip;
		ngts -= skip;
	}
	if (limit >= 0 && limit < ngts)
		ngts = (int) limit;
	else if (limit < 0)
		ngts = 0;
	initStringInfo(&out);
	w10_format_find(&out, gts, ngts, format != NULL && strcmp(format, "json") == 0,
					Arg(args, "showattr") != NULL);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}
