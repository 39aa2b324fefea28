/*-------------------------------------------------------------------------
 *
 * warpscript_fetch.c
 *	  WarpScript's FETCH (list and map forms, FETCHLONG, FETCHDOUBLE) and
 *	  FIND.  The data comes from vscope.warp10_fetch() and
 *	  vscope.warp10_find() through SPI: they resolve the token and read
 *	  only its tenant's series, inside the database.  This file turns the
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
 * reading through SPI
 * ---------------------------------------------------------------------
 */

/* the labels of a row: two text arrays, keys and values, in key order */
static void
ReadLabels(WsLabels *l, Datum keys, Datum vals, bool isnull)
{
	Datum	   *k,
			   *v;
	bool	   *kn,
			   *vn;
	int			nk,
				nv;

	l->n = 0;
	l->k = l->v = NULL;
	if (isnull)
		return;
	deconstruct_array(DatumGetArrayTypeP(keys), TEXTOID, -1, false, TYPALIGN_INT, &k, &kn, &nk);
	deconstruct_array(DatumGetArrayTypeP(vals), TEXTOID, -1, false, TYPALIGN_INT, &v, &vn, &nv);
	l->k = palloc(sizeof(char *) * Max(nk, 1));
	l->v = palloc(sizeof(char *) * Max(nk, 1));
	for (int i = 0; i < nk && i < nv; i++)
	{
		if (kn[i] || vn[i])
			continue;
		l->k[l->n] = TextDatumGetCString(k[i]);
		l->v[l->n] = TextDatumGetCString(v[i]);
		l->n++;
	}
}

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

static SPIPlanPtr fetch_plan = NULL;
static SPIPlanPtr find_plan = NULL;

/*
 * Read opens a cursor over one of the two functions and reads it in
 * batches into GTS, counting series and points against the limits.
 */
static void
Read(WsState *st, FetchParams *fp, bool find, const char *selector, WsList *out, WsMap *seen)
{
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	Portal		portal;

	if (find)
	{
		if (find_plan == NULL)
		{
			Oid			types[2] = {TEXTOID, TEXTOID};

			find_plan = VsKeepPlan("SELECT f.class, "
								   "(SELECT array_agg(key ORDER BY key) FROM jsonb_each_text(f.labels)), "
								   "(SELECT array_agg(value ORDER BY key) FROM jsonb_each_text(f.labels)) "
								   "FROM vscope.warp10_find($1, $2) f",
								   2, types, CURSOR_OPT_NO_SCROLL);
		}
	}
	else if (fetch_plan == NULL)
	{
		Oid			types[5] = {TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID};

		fetch_plan = VsKeepPlan("SELECT f.class, "
								"(SELECT array_agg(key ORDER BY key) FROM jsonb_each_text(f.labels)), "
								"(SELECT array_agg(value ORDER BY key) FROM jsonb_each_text(f.labels)), "
								"f.ticks, f.lvalues, f.dvalues "
								"FROM vscope.warp10_fetch($1, $2, $3, $4, $5) f",
								5, types, CURSOR_OPT_NO_SCROLL);
	}
	args[0] = CStringGetTextDatum(fp->token);
	args[1] = CStringGetTextDatum(selector);
	if (!find)
	{
		args[2] = Int64GetDatum(fp->start);
		if (!fp->has_start)
			nulls[2] = 'n';
		args[3] = Int64GetDatum(fp->end);
		args[4] = Int64GetDatum(fp->count);
		if (!fp->has_count)
			nulls[4] = 'n';
	}
	portal = SPI_cursor_open(NULL, find ? find_plan : fetch_plan, args, nulls, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 64);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull,
						knull,
						vnull;
			Datum		cls = SPI_getbinval(tup, desc, 1, &isnull);
			Datum		keys = SPI_getbinval(tup, desc, 2, &knull);
			Datum		vals = SPI_getbinval(tup, desc, 3, &vnull);
			MemoryContext old = MemoryContextSwitchTo(st->cxt);
			WsGts	   *g = ws_gts_new(0);

			CHECK_FOR_INTERRUPTS();
			g->cls = isnull ? "" : TextDatumGetCString(cls);
			ReadLabels(&g->labels, keys, vals, knull || vnull);
			if (!find)
			{
				bool		tn,
							ln,
							dn;
				Datum		td = SPI_getbinval(tup, desc, 4, &tn);
				Datum		ld = SPI_getbinval(tup, desc, 5, &ln);
				Datum		dd = SPI_getbinval(tup, desc, 6, &dn);
				ArrayType  *ta = tn ? NULL : DatumGetArrayTypeP(td);
				ArrayType  *la = ln ? NULL : DatumGetArrayTypeP(ld);
				ArrayType  *da = dn ? NULL : DatumGetArrayTypeP(dd);
				int			n = ta ? ArrayGetNItems(ARR_NDIM(ta), ARR_DIMS(ta)) : 0;
				Datum	   *tv,
						   *lv = NULL,
						   *dv = NULL;
				bool	   *tnl,
						   *lnl = NULL,
						   *dnl = NULL;
				int			nt,
							nl = 0,
							ndv = 0;

				st->fetched += n;
				if (st->fetched > st->maxfetch)
					ws_error(st, "%s exceeded limit of " INT64_FORMAT " datapoints, current count is " INT64_FORMAT ". Consider raising the limit or using capabilities.",
							 fp->fname, st->maxfetch, st->fetched);
				if (n > 0)
				{
					deconstruct_array(ta, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &tv, &tnl, &nt);
					if (la)
						deconstruct_array(la, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &lv, &lnl, &nl);
					if (da)
						deconstruct_array(da, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &dv, &dnl, &ndv);
					if (fp->force_type != GTS_UNDEFINED)
						g->type = fp->force_type;
					for (int i = 0; i < nt; i++)
					{
						WsValue		v;

						if (tnl[i])
							continue;
						if (i < nl && !lnl[i])
							v = ws_long(DatumGetInt64(lv[i]));
						else if (i < ndv && !dnl[i])
							v = ws_double(DatumGetFloat8(dv[i]));
						else
							continue;
						ws_gts_add(st, g, DatumGetInt64(tv[i]), v);
					}
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
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
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
