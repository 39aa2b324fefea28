/*-------------------------------------------------------------------------
 *
 * query_get.c
 *	  The GET form of /api/query: query-string arguments (as a jsonb object
 *	  of arrays, {"m": ["sum:1h-avg:rate:sys.cpu{host=*}{dc=lga}"], ...})
 *	  translated into the POST body, which then runs the same way.
 *
 *	  m = <agg>:[<modifiers>:]<metric>[{group-by filters}][{other filters}]
 *	  split on ':' into 2 to 5 parts; modifiers in any order: rate or
 *	  rate{counter|dropcounter[,max[,reset]]}, a downsample spec (starts
 *	  with a digit), explicit_tags; others of OpenTSDB's (pre-agg,
 *	  rollup_*, percentiles[...], show-histogram-buckets) are accepted and
 *	  ignored.  Duplicate m values count once.
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/opentsdb.h"

#include <ctype.h>
#include <errno.h>

#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

/* the values of a query-string key; NULL entries for bare keys */
static char **
ArgValues(Jsonb *args, const char *key, int *n)
{
	JsonbValue	k;
	JsonbValue *v;
	char	  **out;

	*n = 0;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&args->root, JB_FOBJECT, &k);
	if (v == NULL)
		return NULL;
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("query-string arguments must be arrays of values")));
	*n = JsonContainerSize(v->val.binary.data);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(v->val.binary.data, i);

		out[i] = (e != NULL && e->type == jbvString)
			? pnstrdup(e->val.string.val, e->val.string.len) : NULL;
	}
	return out;
}

static const char *
Arg(Jsonb *args, const char *key)
{
	int			n;
	char	  **v = ArgValues(args, key, &n);

	return n > 0 ? (v[0] ? v[0] : "") : NULL;
}

static bool
Flag(Jsonb *args, const char *key)
{
	int			n;
	char	  **v = ArgValues(args, key, &n);

	/* present with no value, or with anything but false */
	return n > 0 && (v[0] == NULL || pg_strcasecmp(v[0], "false") != 0);
}

static void BadM(const char *m, const char *why) pg_attribute_noreturn();

static void
BadM(const char *m, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_VS_BAD_REQUEST),
			 errmsg("invalid parameter m=%s", m),
			 errdetail("%s", why)));
}

/* AppendFilters writes the filters of one {k=v,...} group */
static void
AppendFilters(StringInfo buf, bool *first, const char *body, bool group_by, const char *m)
{
	char	   *copy = pstrdup(body);
	char	   *p = copy;

	if (*p == '\0')
		return;
	for (;;)
	{
		char	   *comma = strchr(p, ',');
		char	   *eq;
		TsFilter	f;

		if (comma)
			*comma = '\0';
		eq = strchr(p, '=');
		if (eq == NULL || eq == p || eq[1] == '\0')
			BadM(m, psprintf("\"%s\" is not a tag=value pair.", p));
		*eq = '\0';
		ts_tag_to_filter(p, eq + 1, group_by, &f);
		if (!*first)
			appendStringInfoChar(buf, ',');
		*first = false;
		appendStringInfo(buf, "{\"type\":\"%s\",\"tagk\":", ts_filter_type_name(f.type));
		escape_json(buf, f.tagk);
		appendStringInfoString(buf, ",\"filter\":");
		escape_json(buf, f.filter);
		appendStringInfo(buf, ",\"groupBy\":%s}", group_by ? "true" : "false");
		if (!comma)
			break;
		p = comma + 1;
	}
}

/*
 * SplitAt cuts s in place at each sep into at most max parts, and returns how
 * many there are, or max + 1 when there would be more.
 */
static int
SplitAt(char *s, char sep, char **parts, int max)
{
	int			n = 0;

	for (;;)
	{
		char	   *at = strchr(s, sep);

		if (n == max)
			return max + 1;
		parts[n++] = s;
		if (at == NULL)
			return n;
		*at = '\0';
		s = at + 1;
	}
}

/* AppendSubQuery writes the POST form of one m expression */
static void
AppendSubQuery(StringInfo buf, const char *m)
{
	char	   *copy = pstrdup(m);
	char	   *parts[5];
	int			nparts;
	char	   *metric;
	char	   *brace;
	bool		first = true;

	nparts = SplitAt(copy, ':', parts, 5);
	if (nparts > 5)
		BadM(m, "It has more than 5 parts separated by ':'.");
	if (nparts < 2)
		BadM(m, "It needs at least an aggregator and a metric: <aggregator>:<metric>.");

	appendStringInfoString(buf, "{\"aggregator\":");
	escape_json(buf, parts[0]);
	for (int i = 1; i < nparts - 1; i++)
	{
		char	   *mod = parts[i];

		if (strncmp(mod, "rate", 4) == 0 && (mod[4] == '\0' || mod[4] == '{'))
		{
			appendStringInfoString(buf, ",\"rate\":true");
			/* OpenTSDB's GET form always has rate options: the defaults without braces */
			if (mod[4] == '\0' || strcmp(mod + 4, "{}") == 0)
				appendStringInfoString(buf, ",\"rateOptions\":{}");
			else if (mod[4] == '{')
			{
				int			len = strlen(mod);
				char	   *opts;
				char	   *o[4];
				int			no = 0;

				if (mod[len - 1] != '}')
					BadM(m, "rate options end with '}'.");
				opts = pnstrdup(mod + 5, len - 6);
				if (opts[0] != '\0')
				{
					no = SplitAt(opts, ',', o, 3);
					if (no > 3)
						BadM(m, "rate takes at most 3 options: counter, max, reset.");
					appendStringInfo(buf, ",\"rateOptions\":{\"counter\":%s,\"dropResets\":%s",
									 (strcmp(o[0], "counter") == 0 || strcmp(o[0], "dropcounter") == 0) ? "true" : "false",
									 strcmp(o[0], "dropcounter") == 0 ? "true" : "false");
					for (int k = 1; k < no; k++)
					{
						const char *name = k == 1 ? "counterMax" : "resetValue";
						char	   *end;
						long long	v;

						if (o[k][0] == '\0')
							continue;	/* empty: the default */
						errno = 0;
						v = strtoll(o[k], &end, 10);
						if (*end != '\0' || errno != 0 || !isdigit((unsigned char) o[k][0]))
							BadM(m, psprintf("The rate option \"%s\" is not a whole number.", o[k]));
						appendStringInfo(buf, ",\"%s\":%lld", name, v);
					}
					appendStringInfoChar(buf, '}');
				}
			}
		}
		else if (isdigit((unsigned char) mod[0]))
		{
			appendStringInfoString(buf, ",\"downsample\":");
			escape_json(buf, mod);
		}
		else if (strcmp(mod, "explicit_tags") == 0)
			appendStringInfoString(buf, ",\"explicitTags\":true");
		/* pre-agg, rollup_*, percentiles[...], show-histogram-buckets: ignored */
	}

	/* metric{group-by}{others} */
	metric = parts[nparts - 1];
	brace = strchr(metric, '{');
	appendStringInfoString(buf, ",\"metric\":");
	if (brace == NULL)
		escape_json(buf, metric);
	else
	{
		char	   *close;
		char	   *second;

		*brace = '\0';
		escape_json(buf, metric);
		close = strchr(brace + 1, '}');
		if (close == NULL)
			BadM(m, "A '{' has no matching '}'.");
		*close = '\0';
		appendStringInfoString(buf, ",\"filters\":[");
		AppendFilters(buf, &first, brace + 1, true, m);
		second = close + 1;
		if (*second == '{')
		{
			close = strchr(second + 1, '}');
			if (close == NULL || close[1] != '\0')
				BadM(m, "The second '{' has no matching '}' at the end.");
			*close = '\0';
			AppendFilters(buf, &first, second + 1, false, m);
		}
		else if (*second != '\0')
			BadM(m, "Only filters in braces may follow the metric.");
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoChar(buf, '}');
}

/*
 * AppendTsuidSubQuery writes the POST form of one tsuid expression:
 * <agg>:[<modifiers>:]<tsuid>[,<tsuid>...], modifiers as for m (rate,
 * a downsample spec; percentiles and show-histogram-buckets ignored)
 */
static void
AppendTsuidSubQuery(StringInfo buf, const char *t)
{
	char	   *copy = pstrdup(t);
	char	   *parts[5];
	int			nparts = SplitAt(copy, ':', parts, 5);
	char	   *list;
	bool		first = true;

	if (nparts < 2 || nparts > 5)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("Invalid parameter m=%s (%s :-separated parts)", t,
							   nparts < 2 ? "not enough" : "too many")));
	appendStringInfoString(buf, "{\"aggregator\":");
	escape_json(buf, parts[0]);
	for (int i = 1; i < nparts - 1; i++)
	{
		char	   *mod = parts[i];

		if (pg_strncasecmp(mod, "rate", 4) == 0)
			appendStringInfoString(buf, ",\"rate\":true");
		else if (isdigit((unsigned char) mod[0]))
		{
			appendStringInfoString(buf, ",\"downsample\":");
			escape_json(buf, mod);
		}
	}
	appendStringInfoString(buf, ",\"tsuids\":[");
	list = parts[nparts - 1];
	for (;;)
	{
		char	   *comma = strchr(list, ',');

		if (comma)
			*comma = '\0';
		if (!first)
			appendStringInfoChar(buf, ',');
		first = false;
		escape_json(buf, list);
		if (!comma)
			break;
		list = comma + 1;
	}
	appendStringInfoString(buf, "]}");
}

/*
 * ts_get_to_request_with builds the POST body of a GET /api/query: the
 * tsuid sub-queries first, then the m ones, as OpenTSDB orders them, then
 * extra_m (the metric queries of /api/query/gexp's expressions); an m
 * given twice is one sub-query.  When index_of_extra is given, it receives
 * the sub-query index of each extra_m.
 */
char *
ts_get_to_request_with(Jsonb *args, char **extra_m, int nextra, int **index_of_extra)
{
	StringInfoData buf;
	const char *start = Arg(args, "start");
	const char *end = Arg(args, "end");
	const char *tz = Arg(args, "tz");
	char	  **given;
	char	  **ms;
	int			ngiven;
	int			nm;
	char	  **ts;
	int			nt;
	int			nsubs = 0;
	int		   *subidx;

	if (!JB_ROOT_IS_OBJECT(args))
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("query-string arguments must be a JSON object")));
	if (start == NULL || start[0] == '\0')
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("missing parameter <code>start</code>")));
	given = ArgValues(args, "m", &ngiven);
	ts = ArgValues(args, "tsuid", &nt);
	nm = ngiven + nextra;
	ms = palloc(sizeof(char *) * Max(nm, 1));
	for (int i = 0; i < ngiven; i++)
		ms[i] = given[i];
	for (int i = 0; i < nextra; i++)
		ms[ngiven + i] = extra_m[i];
	if (nm == 0 && nt == 0)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("missing sub queries")));
	if (index_of_extra != NULL)
		*index_of_extra = palloc(sizeof(int) * Max(nextra, 1));

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"start\":");
	escape_json(&buf, start);
	if (end != NULL && end[0] != '\0')
	{
		appendStringInfoString(&buf, ",\"end\":");
		escape_json(&buf, end);
	}
	if (tz != NULL && tz[0] != '\0')
	{
		appendStringInfoString(&buf, ",\"timezone\":");
		escape_json(&buf, tz);
	}
	appendStringInfo(&buf, ",\"msResolution\":%s,\"showQuery\":%s,\"showTSUIDs\":%s,"
					 "\"showSummary\":%s,\"showStats\":%s,\"arrays\":%s",
					 Flag(args, "ms") ? "true" : "false",
					 Flag(args, "show_query") ? "true" : "false",
					 Flag(args, "show_tsuids") ? "true" : "false",
					 Flag(args, "show_summary") ? "true" : "false",
					 Flag(args, "show_stats") ? "true" : "false",
					 Flag(args, "arrays") ? "true" : "false");
	/* OpenTSDB's no_annotations and global_annotations, written only when set */
	if (Flag(args, "no_annotations"))
		appendStringInfoString(&buf, ",\"noAnnotations\":true");
	if (Flag(args, "global_annotations"))
		appendStringInfoString(&buf, ",\"globalAnnotations\":true");
	appendStringInfoString(&buf, ",\"queries\":[");
	for (int i = 0; i < nt; i++)
	{
		if (ts[i] == NULL || ts[i][0] == '\0')
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("The tsuid query string was empty")));
		if (nsubs++ > 0)
			appendStringInfoChar(&buf, ',');
		AppendTsuidSubQuery(&buf, ts[i]);
	}
	subidx = palloc(sizeof(int) * Max(nm, 1));
	for (int i = 0; i < nm; i++)
	{
		int			dup = -1;

		if (ms[i] == NULL || ms[i][0] == '\0')
			ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
							errmsg("missing sub queries")));
		for (int j = 0; j < i && dup < 0; j++)
			if (strcmp(ms[i], ms[j]) == 0)
				dup = subidx[j];
		if (dup < 0)
		{
			if (nsubs > 0)
				appendStringInfoChar(&buf, ',');
			AppendSubQuery(&buf, ms[i]);
			dup = nsubs++;
		}
		subidx[i] = dup;
		if (i >= ngiven && index_of_extra != NULL)
			(*index_of_extra)[i - ngiven] = dup;
	}
	appendStringInfoString(&buf, "]}");
	return buf.data;
}

/*
 * ts_get_to_request builds the POST body of a GET /api/query.
 */
char *
ts_get_to_request(Jsonb *args)
{
	return ts_get_to_request_with(args, NULL, 0, NULL);
}
