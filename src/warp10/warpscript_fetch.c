/*-------------------------------------------------------------------------
 *
 * warpscript_fetch.c
 *	  WarpScript's FETCH (list and map forms, FETCHLONG, FETCHDOUBLE) and
 *	  FIND.  The data comes from what vscope.warp10_fetch() and
 *	  vscope.warp10_find() run (fetch.c), called in C: the token is
 *	  resolved, only its tenant's series are read, their points through
 *	  the store's reader, straight into GTS.  This file turns the
 *	  script's arguments into their selector and time range (Warp 10's
 *	  FETCH.computeTimeRange), counts fetched points and series against
 *	  the limits while it reads, and builds the GTS (newest point first;
 *	  the newest point's type is the GTS's type, older points are
 *	  converted to it).
 *
 *	  One tenant per script: the tenant the first token resolves to (the
 *	  vscope.tenant setting the functions leave) binds the execution; a
 *	  later FETCH or FIND landing in another tenant is an error.
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warpscript.h"
#include "warp10/warp10.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

/* a FETCH's parameters once read */
typedef struct FetchParams
{
	const char *fname;
	char	   *token;
	WsList	   *selectors;		/* STRING selectors class{labels} */
	bool		has_start;
	int64		start;
	int64		end;
	bool		has_count;
	int64		count;
	WsGtsType	force_type;
	bool		keepempty;
} FetchParams;

/* ---------------------------------------------------------------------
 * selectors
 * ---------------------------------------------------------------------
 */

/* a class or label selector part: =exact, ~regex, bare exact; encoded */
static void
AppendSelectorPart(StringInfo buf, const char *sel, bool is_class, const char *label)
{
	char		op = '=';
	const char *v = sel;

	if (sel[0] == '~')
	{
		op = '~';
		v = sel + 1;
	}
	else if (sel[0] == '=')
		v = sel + 1;
	if (is_class)
	{
		/* the class part is decoded before its prefix is read */
		appendStringInfoChar(buf, op);
		ws_append_percent_encoded(buf, v);
	}
	else
	{
		ws_append_percent_encoded(buf, label);
		appendStringInfoChar(buf, op);
		ws_append_percent_encoded(buf, v);
	}
}

/* BuildSelector makes class{k=v,...} from a class selector and a labels map */
static char *
BuildSelector(WsState *st, const char *fname, WsValue cls, WsValue labels)
{
	StringInfoData buf;

	if (cls.type != WS_STRING)
		ws_error(st, "Class selector must be a string.");
	if (labels.type != WS_MAP)
		ws_error(st, "%s label selector must be a map.", fname);
	initStringInfo(&buf);
	AppendSelectorPart(&buf, cls.u.s->data, true, NULL);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < labels.u.map->n; i++)
	{
		WsValue		k = labels.u.map->keys[i];
		WsValue		v = labels.u.map->vals[i];

		if (k.type != WS_STRING || v.type != WS_STRING)
			ws_error(st, "%s keys and values of label selector must be STRINGs.", fname);
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		AppendSelectorPart(&buf, v.u.s->data, false, k.u.s->data);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* ---------------------------------------------------------------------
 * time range
 * ---------------------------------------------------------------------
 */

/* a timestamp parameter: LONG, 'now', a LONG as text, or ISO 8601 */
static bool
GetTimestamp(WsState *st, WsValue *v, const char *name, int64 *out)
{
	if (v == NULL || v->type == WS_NULL)
		return false;
	if (v->type == WS_LONG)
	{
		*out = v->u.l;
		return true;
	}
	if (v->type == WS_STRING)
	{
		char	   *end;
		long long	l;

		if (strcmp(v->u.s->data, "now") == 0)
		{
			*out = ws_now_us();
			return true;
		}
		errno = 0;
		l = strtoll(v->u.s->data, &end, 10);
		if (v->u.s->len > 0 && *end == '\0' && errno == 0)
		{
			*out = l;
			return true;
		}
		if (ws_parse_iso8601(v->u.s->data, out))
			return true;
	}
	ws_error(st, "Invalid format for parameter '%s'.", name);
	return false;
}

/*
 * ComputeRange applies Warp 10's rules: start+end inclusive (swapped if
 * reversed), end+timespan = (end - timespan, end], start+timespan, and a
 * count alone after end: the count newest points.
 */
static void
ComputeRange(WsState *st, FetchParams *fp, WsValue *start, WsValue *end, WsValue *timespan,
			 WsValue *count)
{
	int64		s = 0,
				e = 0,
				ts = 0;
	bool		has_s,
				has_e,
				has_ts = false;

	if (timespan && timespan->type == WS_LONG && timespan->u.l < 0)
	{
		if (count != NULL)
			ws_error(st, "%s cannot be given both 'count' and negative 'timespan'.", fp->fname);
		fp->has_count = true;
		fp->count = timespan->u.l == PG_INT64_MIN ? PG_INT64_MAX : -timespan->u.l;
		timespan = NULL;
	}
	if (count != NULL)
	{
		if (count->type != WS_LONG)
			ws_error(st, "%s given invalid parameters. (Invalid format for parameter 'count'.)", fp->fname);
		fp->has_count = true;
		fp->count = count->u.l;
	}
	has_s = GetTimestamp(st, start, "start", &s);
	has_e = GetTimestamp(st, end, "end", &e);
	if (!has_s && !has_e)
		ws_error(st, "%s given invalid parameters. (Missing either 'start' or 'end' parameter.)", fp->fname);
	if (has_s && has_e && s > e)
	{
		int64		t = s;

		s = e;
		e = t;
	}
	if (timespan != NULL && timespan->type != WS_NULL)
	{
		if (has_s && has_e)
			ws_error(st, "%s given invalid parameters. (Invalid time range specification: 'start', 'end' and 'timespan' cannot all be defined. Only 2 out of those 3 parameters should be defined.)", fp->fname);
		if (timespan->type == WS_LONG)
			ts = timespan->u.l;
		else if (timespan->type == WS_STRING)
		{
			char	   *endp;

			errno = 0;
			ts = strtoll(timespan->u.s->data, &endp, 10);
			if (timespan->u.s->len == 0 || *endp != '\0' || errno != 0)
				ws_error(st, "%s given invalid parameters. (Invalid format for parameter 'timespan'.)", fp->fname);
		}
		else
			ws_error(st, "%s given invalid parameters. (Invalid format for parameter 'timespan'.)", fp->fname);
		if (ts < 0)
			ws_error(st, "%s given invalid parameters. ('timespan' cannot be negative.)", fp->fname);
		has_ts = true;
		if (!has_s)
		{
			/* Math.subtractExact(end, timespan) + 1, MIN_VALUE on overflow */
			if (__builtin_sub_overflow(e, ts, &s))
				s = PG_INT64_MIN;
			else
				s = s + 1;
			has_s = true;
		}
		else
		{
			if (__builtin_add_overflow(s, ts, &e))
				e = PG_INT64_MAX;
			else
				e = e - 1;
			has_e = true;
		}
	}
	if (!has_e)
		ws_error(st, "%s given invalid parameters. (Missing 'end' or 'start' and 'timespan' parameter.)", fp->fname);
	if (!has_s && !fp->has_count)
		ws_error(st, "%s given invalid parameters. (Invalid time range specification: 'count' is mandatory if 'start' and 'timespan' are not specified.)", fp->fname);
	(void) has_ts;
	fp->has_start = has_s && s != PG_INT64_MIN;
	fp->start = s;
	fp->end = e;
}

/* the list form: [ token class labels A B ] */
static void
ParamsFromList(WsState *st, FetchParams *fp, WsList *l)
{
	WsValue		tok,
				a,
				b;

	if (l->n != 5)
		ws_error(st, "%s expects a list with 5 elements.", fp->fname);
	tok = l->items[0];
	a = l->items[3];
	b = l->items[4];
	if (tok.type != WS_STRING)
		ws_error(st, "%s given an invalid read token.", fp->fname);
	fp->token = tok.u.s->data;
	fp->selectors = ws_list_new(1);
	if (a.type == WS_LONG && b.type == WS_LONG)
		ComputeRange(st, fp, NULL, &a, &b, NULL);
	else if (a.type == WS_STRING && b.type == WS_STRING)
		ComputeRange(st, fp, &a, &b, NULL, NULL);
	else
		ws_error(st, "%s expects 'start' and 'end' to be Strings or 'end' and 'timespan' to be Longs.", fp->fname);
	ws_list_append(st, fp->selectors, ws_cstring(BuildSelector(st, fp->fname, l->items[1], l->items[2])));
}

static WsValue *
MapGet(WsMap *m, const char *key)
{
	return ws_map_get(m, ws_cstring(key));
}

/* the map form: { 'token' .. 'class' .. 'labels' .. | 'selector' | 'selectors', times } */
static void
ParamsFromMap(WsState *st, FetchParams *fp, WsMap *m)
{
	WsValue    *tok = MapGet(m, "token");
	WsValue    *v;

	if (tok == NULL)
		ws_error(st, "%s Missing 'token' parameter", fp->fname);
	if (tok->type != WS_STRING)
		ws_error(st, "%s given an invalid read token.", fp->fname);
	fp->token = tok->u.s->data;
	fp->selectors = ws_list_new(1);
	if ((v = MapGet(m, "selectors")) != NULL)
	{
		if (v->type != WS_LIST)
			ws_error(st, "%s Invalid parameter 'selectors'", fp->fname);
		for (int i = 0; i < v->u.list->n; i++)
		{
			if (v->u.list->items[i].type != WS_STRING)
				ws_error(st, "%s Invalid parameter 'selectors'", fp->fname);
			ws_list_append(st, fp->selectors, v->u.list->items[i]);
		}
	}
	else if ((v = MapGet(m, "selector")) != NULL)
	{
		if (v->type != WS_STRING)
			ws_error(st, "%s Invalid parameter 'selector'", fp->fname);
		ws_list_append(st, fp->selectors, *v);
	}
	else if (MapGet(m, "class") != NULL && MapGet(m, "labels") != NULL)
		ws_list_append(st, fp->selectors,
					   ws_cstring(BuildSelector(st, fp->fname, *MapGet(m, "class"), *MapGet(m, "labels"))));
	else
		ws_error(st, "%s Missing 'metaset', 'gts', 'selector', 'selectors' or 'class' and 'labels' parameters.", fp->fname);

	if ((v = MapGet(m, "type")) != NULL)
	{
		if (v->type != WS_STRING)
			ws_error(st, "%s Invalid value for parameter 'type'.", fp->fname);
		if (strcmp(v->u.s->data, "LONG") == 0)
			fp->force_type = GTS_LONG;
		else if (strcmp(v->u.s->data, "DOUBLE") == 0)
			fp->force_type = GTS_DOUBLE;
		else if (strcmp(v->u.s->data, "BOOLEAN") == 0)
			fp->force_type = GTS_BOOLEAN;
		else if (strcmp(v->u.s->data, "STRING") == 0)
			fp->force_type = GTS_STRING;
		else
			ws_error(st, "%s Invalid value for parameter 'type'.", fp->fname);
	}
	if ((v = MapGet(m, "keepempty")) != NULL)
		fp->keepempty = v->type == WS_BOOLEAN && v->u.b;
	ComputeRange(st, fp, MapGet(m, "start"), MapGet(m, "end"), MapGet(m, "timespan"),
				 MapGet(m, "count"));
}

/* ---------------------------------------------------------------------
 * reading through the reader
 * ---------------------------------------------------------------------
 */

static int
CompareGtsValues(const void *a, const void *b)
{
	return ws_gts_compare_meta(((const WsValue *) a)->u.gts, ((const WsValue *) b)->u.gts);
}

/* a GTS's identity, class and labels, as a string key */
static WsValue
MetaKey(WsGts *g)
{
	StringInfoData k;

	initStringInfo(&k);
	appendStringInfoString(&k, g->cls);
	for (int i = 0; i < g->labels.n; i++)
		appendStringInfo(&k, "%c%s%c%s", 1, g->labels.k[i], 1, g->labels.v[i]);
	return ws_string(k.data, k.len);
}

/* what FETCH's points go into, series by series */
typedef struct Building
{
	WsState    *st;
	FetchParams *fp;
	WsGts	  **gts;			/* by w10_find's order */
} Building;

/*
 * BuildGts makes one series' GTS from its points (oldest first): newest
 * first, typed by the newest point unless FETCH forces a type, older
 * points converted to it, as adding them one by one with ws_gts_add would.
 */
static void
BuildGts(void *arg, int idx, int n, const int64 *ticks, const bool *is_int,
		 const int64 *lv, const double *dv)
{
	Building   *b = (Building *) arg;
	WsState    *st = b->st;
	MemoryContext old = MemoryContextSwitchTo(st->cxt);
	WsGts	   *g = ws_gts_new(0);
	WsGtsType	type = b->fp->force_type;

	CHECK_FOR_INTERRUPTS();
	if (type == GTS_UNDEFINED)
		type = is_int[n - 1] ? GTS_LONG : GTS_DOUBLE;
	g->type = type;
	if (type == GTS_LONG || type == GTS_DOUBLE)
	{
		ws_check_alloc(st, (Size) n * 16);
		g->ticks = palloc(sizeof(int64) * n);
		if (type == GTS_LONG)
			g->lv = palloc(sizeof(int64) * n);
		else
			g->dv = palloc(sizeof(double) * n);
		g->cap = n;
		for (int i = 0; i < n; i++)
			g->ticks[i] = ticks[n - 1 - i];
		if (type == GTS_LONG)
			for (int i = 0; i < n; i++)
			{
				int			j = n - 1 - i;

				g->lv[i] = is_int[j] ? lv[j] : ws_double_to_long(dv[j]);
			}
		else
			for (int i = 0; i < n; i++)
			{
				int			j = n - 1 - i;

				g->dv[i] = is_int[j] ? (double) lv[j] : dv[j];
			}
		g->n = n;
		/* what ws_gts_add would have found of the order */
		g->sorted = true;
		g->reversed = n > 1 && g->ticks[0] > g->ticks[1];
		for (int i = 2; i < n && g->sorted; i++)
			g->sorted = g->reversed ? g->ticks[i - 1] >= g->ticks[i] : g->ticks[i - 1] <= g->ticks[i];
	}
	else
		for (int j = n - 1; j >= 0; j--)
			ws_gts_add(st, g, ticks[j], is_int[j] ? ws_long(lv[j]) : ws_double(dv[j]));
	b->gts[idx] = g;
	MemoryContextSwitchTo(old);
}

/*
 * Read reads one selector's series (and, for FETCH, their points) in C,
 * as vscope.warp10_find() and vscope.warp10_fetch() do, with the same
 * checks in the same order: a time range's points go from the store's
 * reader straight into GTS (BuildGts), a count's through w10_fetch.
 * Series and points are counted against the limits in the order of the
 * series (class, labels).  The caller is connected to SPI; what the reads
 * allocate outside the GTS goes with that connection.
 */
static void
Read(WsState *st, FetchParams *fp, bool find, const char *selector, WsList *out, WsMap *seen)
{
	int32		tenant;
	int			nsel;
	W10Selector *sels;
	W10Gts	   *gts;
	int			ngts;
	Building	b = {st, fp, NULL};

	tenant = w10_bind_token(fp->token, false);
	sels = w10_parse_selectors(selector, &nsel, ERRCODE_VS_BAD_REQUEST);
	if (find)
		gts = w10_find(tenant, sels, nsel, &ngts);
	else if (fp->has_count)
	{
		if (fp->count < 0)
			ereport(ERROR,
					(errcode(ERRCODE_VS_BAD_REQUEST),
					 errmsg("count must not be negative"),
					 errhint("NULL reads every point of the range.")));
		gts = w10_fetch(tenant, sels, nsel, fp->has_start ? fp->start : W10_NO_START,
						fp->end, fp->count, vs_max_points, &ngts);
	}
	else
	{
		gts = w10_find(tenant, sels, nsel, &ngts);
		b.gts = palloc0(sizeof(WsGts *) * Max(ngts, 1));
		w10_fetch_series(tenant, gts, ngts, fp->has_start ? fp->start : W10_NO_START,
						 fp->end, vs_max_points, BuildGts, &b);
	}
	for (int r = 0; r < ngts; r++)
	{
		W10Gts	   *w = &gts[r];
		MemoryContext old;
		WsGts	   *g;

		if (b.gts != NULL && b.gts[r] == NULL)
			continue;			/* no point: w10_fetch leaves it out */
		old = MemoryContextSwitchTo(st->cxt);
		g = b.gts != NULL && b.gts[r] != NULL ? b.gts[r] : ws_gts_new(0);
		CHECK_FOR_INTERRUPTS();
		g->cls = pstrdup(w->cls);
		g->labels.n = w->nlabels;
		g->labels.k = palloc(sizeof(char *) * Max(w->nlabels, 1));
		g->labels.v = palloc(sizeof(char *) * Max(w->nlabels, 1));
		for (int i = 0; i < w->nlabels; i++)
		{
			g->labels.k[i] = pstrdup(w->keys[i]);
			g->labels.v[i] = pstrdup(w->values[i]);
		}
		if (!find)
		{
			int			n = b.gts != NULL ? g->n : w->n;

			st->fetched += n;
			if (st->fetched > st->maxfetch)
				ws_error(st, "%s exceeded limit of " INT64_FORMAT " datapoints, current count is " INT64_FORMAT ". Consider raising the limit or using capabilities.",
						 fp->fname, st->maxfetch, st->fetched);
			if (b.gts == NULL && w->n > 0)
			{
				if (fp->force_type != GTS_UNDEFINED)
					g->type = fp->force_type;
				ws_gts_add_points(st, g, w->n, w->ticks, w->is_int, w->lvalues, w->dvalues);
			}
		}
		if (find || g->n > 0 || fp->keepempty)
		{
			WsValue		key = MetaKey(g);

			/* one GTS per series, over several selectors */
			if (ws_map_get(seen, key) == NULL)
			{
				ws_map_put(st, seen, key, ws_null());
				st->gtscount++;
				if (st->gtscount > st->maxgts)
					ws_error(st, "%s exceeded limit of " INT64_FORMAT " Geo Time Series, current count is " INT64_FORMAT ". Consider raising the limit or using capabilities.",
							 fp->fname, st->maxgts, st->gtscount);
				ws_list_append(st, out, ws_gts_value(g));
			}
		}
		MemoryContextSwitchTo(old);
	}
}

/* ReadAll runs the reads of one FETCH or FIND inside one SPI connection */
static WsList *
ReadAll(WsState *st, FetchParams *fp, bool find)
{
	WsList	   *out = ws_list_new(8);
	WsMap	   *seen;
	MemoryContext old = CurrentMemoryContext;
	int			nest;
	char		budget[32];
	int64		left = Max(st->maxfetch - st->fetched, 1);

	seen = ws_map_new(8);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * The reader stops at vscope.max_points.  A FETCH of a time range reads
	 * what it returns: the setting is lowered, for this read only, to what
	 * the script may still fetch, so that too much stops before it is all
	 * in memory.  A FETCH of a count reads more than it returns (windows
	 * back in time), and keeps the setting.
	 */
	nest = NewGUCNestLevel();
	st->read_limit = vs_max_points == 0 ? PG_INT64_MAX : st->fetched + vs_max_points;
	if (!find && !fp->has_count && (vs_max_points == 0 || left < vs_max_points))
	{
		st->read_limit = st->maxfetch;
		snprintf(budget, sizeof(budget), INT64_FORMAT, left);
		(void) set_config_option("vscope.max_points", budget, PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	for (int i = 0; i < fp->selectors->n; i++)
		Read(st, fp, find, fp->selectors->items[i].u.s->data, out, seen);
	AtEOXact_GUC(true, nest);
	/* keepempty: the matching series without points too, as FIND finds them */
	if (!find && fp->keepempty)
	{
		FetchParams fp2 = *fp;

		fp2.keepempty = false;
		for (int i = 0; i < fp->selectors->n; i++)
			Read(st, &fp2, true, fp->selectors->items[i].u.s->data, out, seen);
	}
	SPI_finish();
	MemoryContextSwitchTo(old);
	if (fp->selectors->n > 1 || fp->keepempty)
		qsort(out->items, out->n, sizeof(WsValue), CompareGtsValues);
	return out;
}

static void
FnFetch(WsState *st, const WsFuncDef *def)
{
	WsValue		top = ws_pop(st);
	FetchParams fp = {0};
	WsList	   *out;

	fp.fname = def->name;
	fp.force_type = (WsGtsType) def->op;
	if (top.type == WS_MAP)
		ParamsFromMap(st, &fp, top.u.map);
	else if (top.type == WS_LIST)
		ParamsFromList(st, &fp, top.u.list);
	else
		ws_error(st, "%s expects a map or a list as parameter.", def->name);
	st->sql_caller = def->name;
	out = ReadAll(st, &fp, false);
	st->sql_caller = NULL;
	ws_push(st, ws_list_value(out));
}

/* FIND: [ token class labels ] -> GTS without values */
static void
FnFind(WsState *st, const WsFuncDef *def)
{
	WsValue		top = ws_pop(st);
	FetchParams fp = {0};
	WsList	   *out;

	fp.fname = def->name;
	if (top.type == WS_LIST)
	{
		WsList	   *l = top.u.list;

		if (l->n != 3 && l->n != 4)
			ws_error(st, "FIND expects 3 or 4 parameters.");
		if (l->items[0].type != WS_STRING)
			ws_error(st, "Token must be a string.");
		fp.token = l->items[0].u.s->data;
		fp.selectors = ws_list_new(1);
		ws_list_append(st, fp.selectors, ws_cstring(BuildSelector(st, "FIND", l->items[1], l->items[2])));
	}
	else if (top.type == WS_MAP)
	{
		WsMap	   *m = top.u.map;
		WsValue    *v;

		if ((v = MapGet(m, "token")) == NULL || v->type != WS_STRING)
			ws_error(st, "Token must be a string.");
		fp.token = v->u.s->data;
		fp.selectors = ws_list_new(1);
		if ((v = MapGet(m, "selectors")) != NULL && v->type == WS_LIST)
		{
			for (int i = 0; i < v->u.list->n; i++)
				if (v->u.list->items[i].type == WS_STRING)
					ws_list_append(st, fp.selectors, v->u.list->items[i]);
		}
		else if ((v = MapGet(m, "selector")) != NULL && v->type == WS_STRING)
			ws_list_append(st, fp.selectors, *v);
		else if (MapGet(m, "class") != NULL && MapGet(m, "labels") != NULL)
			ws_list_append(st, fp.selectors,
						   ws_cstring(BuildSelector(st, "FIND", *MapGet(m, "class"), *MapGet(m, "labels"))));
		else
			ws_error(st, "FIND missing parameters 'class', 'labels', 'selector' or 'selectors'.");
	}
	else
		ws_error(st, "FIND expects a list or map of parameters.");
	st->sql_caller = def->name;
	out = ReadAll(st, &fp, true);
	st->sql_caller = NULL;
	ws_push(st, ws_list_value(out));
}

#define FO(name, fn, op) {name, fn, WS_FK_FUNCTION, NULL, NULL, op, 0}

const WsFuncDef ws_fetch_functions[] = {
	FO("FETCH", FnFetch, GTS_UNDEFINED),
	FO("FETCHLONG", FnFetch, GTS_LONG),
	FO("FETCHDOUBLE", FnFetch, GTS_DOUBLE),
	FO("FIND", FnFind, 0),
};

const int	ws_fetch_nfunctions = lengthof(ws_fetch_functions);
