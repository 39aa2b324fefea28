/*-------------------------------------------------------------------------
 *
 * warpscript_gts.c
 *	  Geo Time Series: the structure (one value type fixed by the first
 *	  value, Warp 10's conversions for the later ones), labels, sorting,
 *	  the JSON form of exec answers, and the GTS functions: NEWGTS,
 *	  ADDVALUE, NAME, LABELS, ATTRIBUTES, VALUES, TICKS, LASTTICK,
 *	  FIRSTTICK, SORT, RSORT, RENAME, RELABEL, SETATTRIBUTES, CLONE,
 *	  CLONEEMPTY, TIMECLIP, TIMESHIFT, SHRINK, UNBUCKETIZE, BUCKETSPAN,
 *	  BUCKETCOUNT, LASTBUCKET and the fills (FILLPREVIOUS, FILLNEXT,
 *	  FILLVALUE, INTERPOLATE).  vscope has no geo: locations and
 *	  elevations must be NaN.
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warpscript.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

/* ---------------------------------------------------------------------
 * the structure
 * ---------------------------------------------------------------------
 */

WsGts *
ws_gts_new(int cap)
{
	WsGts	   *g = palloc0(sizeof(WsGts));

	g->cls = "";
	g->cap = cap;
	g->sorted = true;
	return g;
}

/*
 * Reserve makes room for n points; the value array is the one of the
 * GTS's type, which is set before the first point is stored.
 */
static void
Reserve(WsState *st, WsGts *g, int n)
{
	int			cap;

	if (g->ticks != NULL && n <= g->cap)
		return;
	cap = g->ticks == NULL ? Max(n, Max(g->cap, 8)) : Max(n, g->cap * 2);
	if (st != NULL)
		ws_check_alloc(st, (Size) cap * 16);
	if ((Size) cap * sizeof(int64) > MaxAllocSize)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("WarpScript Geo Time Series too long")));
	g->ticks = g->ticks ? repalloc(g->ticks, sizeof(int64) * cap) : palloc(sizeof(int64) * cap);
	switch (g->type)
	{
		case GTS_LONG:
		case GTS_BOOLEAN:
			g->lv = g->lv ? repalloc(g->lv, sizeof(int64) * cap) : palloc(sizeof(int64) * cap);
			break;
		case GTS_DOUBLE:
			g->dv = g->dv ? repalloc(g->dv, sizeof(double) * cap) : palloc(sizeof(double) * cap);
			break;
		case GTS_STRING:
			g->sv = g->sv ? repalloc(g->sv, sizeof(WsString *) * cap) : palloc(sizeof(WsString *) * cap);
			break;
		case GTS_UNDEFINED:
			break;
	}
	g->cap = cap;
}

/* Java's (long) of a double */
static int64
D2L(double d)
{
	if (isnan(d))
		return 0;
	if (d >= 9223372036854775807.0)
		return PG_INT64_MAX;
	if (d <= -9223372036854775808.0)
		return PG_INT64_MIN;
	return (int64) d;
}

/* Java's (long) of a double, for whoever converts points to a LONG GTS */
int64
ws_double_to_long(double d)
{
	return D2L(d);
}

static WsString *
ToWsString(WsValue v)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (v.type == WS_LONG)
		appendStringInfo(&buf, INT64_FORMAT, v.u.l);
	else if (v.type == WS_DOUBLE)
		ws_append_double(&buf, v.u.d);
	else if (v.type == WS_BOOLEAN)
		appendStringInfoString(&buf, v.u.b ? "T" : "F");
	return ws_string(buf.data, buf.len).u.s;
}

/*
 * ws_gts_add appends a point as GTSHelper.setValue does: the first value
 * fixes the type, later ones are converted to it (a DOUBLE in a LONG GTS
 * is truncated); a NULL value adds nothing.
 */
void
ws_gts_add(WsState *st, WsGts *g, int64 tick, WsValue v)
{
	int			i;

	if (v.type == WS_NULL)
		return;
	if (v.type != WS_LONG && v.type != WS_DOUBLE && v.type != WS_BOOLEAN && v.type != WS_STRING)
		return;
	if (g->type == GTS_UNDEFINED)
	{
		g->type = v.type == WS_LONG ? GTS_LONG : v.type == WS_DOUBLE ? GTS_DOUBLE :
			v.type == WS_BOOLEAN ? GTS_BOOLEAN : GTS_STRING;
		g->ticks = NULL;		/* allocated below, with the values */
	}
	if (g->ticks == NULL || g->n >= g->cap)
		Reserve(st, g, g->n + 1);
	i = g->n;
	if (g->n == 0)
	{
		g->sorted = true;
		g->reversed = false;
	}
	else if (g->n == 1)
	{
		g->sorted = true;
		g->reversed = g->ticks[0] > tick;
	}
	else if (g->sorted)
		g->sorted = g->reversed ? g->ticks[g->n - 1] >= tick : g->ticks[g->n - 1] <= tick;
	g->ticks[i] = tick;
	switch (g->type)
	{
		case GTS_LONG:
			g->lv[i] = v.type == WS_LONG ? v.u.l : v.type == WS_DOUBLE ? D2L(v.u.d) :
				v.type == WS_BOOLEAN ? (v.u.b ? 1 : 0) : 0;
			if (v.type == WS_STRING)
			{
				char	   *end;
				long long	l;

				errno = 0;
				l = strtoll(v.u.s->data, &end, 10);
				if (*end != '\0' || errno != 0 || v.u.s->len == 0)
				{
					double		d = strtod(v.u.s->data, &end);

					l = (*end == '\0' && v.u.s->len > 0) ? D2L(d) : 0;
				}
				g->lv[i] = l;
			}
			break;
		case GTS_DOUBLE:
			if (v.type == WS_STRING)
			{
				char	   *end;
				double		d = strtod(v.u.s->data, &end);

				g->dv[i] = (*end == '\0' && v.u.s->len > 0) ? d : 0.0;
			}
			else
				g->dv[i] = v.type == WS_LONG ? (double) v.u.l : v.type == WS_DOUBLE ? v.u.d :
					(v.u.b ? 1.0 : 0.0);
			break;
		case GTS_BOOLEAN:
			g->lv[i] = v.type == WS_BOOLEAN ? v.u.b : v.type == WS_LONG ? v.u.l != 0 :
				v.type == WS_DOUBLE ? v.u.d != 0 : v.u.s->len > 0;
			break;
		case GTS_STRING:
			g->sv[i] = v.type == WS_STRING ? v.u.s : ToWsString(v);
			break;
		case GTS_UNDEFINED:
			break;
	}
	g->n++;
}

/*
 * ws_gts_add_points appends n points (each a LONG in lv or a DOUBLE in dv,
 * as is_int says) as n calls of ws_gts_add would, without a WsValue each:
 * the same type, conversions, order flags and memory checks.
 */
void
ws_gts_add_points(WsState *st, WsGts *g, int n, const int64 *ticks,
				  const bool *is_int, const int64 *lv, const double *dv)
{
	int			base;

	if (n <= 0)
		return;
	if (g->type == GTS_UNDEFINED)
	{
		g->type = is_int[0] ? GTS_LONG : GTS_DOUBLE;
		g->ticks = NULL;		/* allocated below, with the values */
	}
	if (g->type != GTS_LONG && g->type != GTS_DOUBLE)
	{
		for (int i = 0; i < n; i++)
			ws_gts_add(st, g, ticks[i], is_int[i] ? ws_long(lv[i]) : ws_double(dv[i]));
		return;
	}
	/* the capacities ws_gts_add would have reached, so memory checks match */
	while (g->ticks == NULL || g->n + n > g->cap)
		Reserve(st, g, g->ticks == NULL ? g->n + 1 : g->cap + 1);
	base = g->n;
	for (int i = 0; i < n; i++)
	{
		int64		tick = ticks[i];
		int			k = base + i;

		if (k == 0)
		{
			g->sorted = true;
			g->reversed = false;
		}
		else if (k == 1)
		{
			g->sorted = true;
			g->reversed = g->ticks[0] > tick;
		}
		else if (g->sorted)
			g->sorted = g->reversed ? g->ticks[k - 1] >= tick : g->ticks[k - 1] <= tick;
		g->ticks[k] = tick;
	}
	if (g->type == GTS_LONG)
		for (int i = 0; i < n; i++)
			g->lv[base + i] = is_int[i] ? lv[i] : D2L(dv[i]);
	else
		for (int i = 0; i < n; i++)
			g->dv[base + i] = is_int[i] ? (double) lv[i] : dv[i];
	g->n += n;
}

WsValue
ws_gts_value_at(const WsGts *g, int i)
{
	switch (g->type)
	{
		case GTS_LONG:
			return ws_long(g->lv[i]);
		case GTS_DOUBLE:
			return ws_double(g->dv[i]);
		case GTS_BOOLEAN:
			return ws_bool(g->lv[i] != 0);
		case GTS_STRING:
			{
				WsValue		v;

				v.type = WS_STRING;
				v.u.s = g->sv[i];
				return v;
			}
		default:
			return ws_null();
	}
}

static WsLabels
CopyLabels(const WsLabels *l)
{
	WsLabels	c;

	c.n = l->n;
	c.k = l->n ? palloc(sizeof(char *) * l->n) : NULL;
	c.v = l->n ? palloc(sizeof(char *) * l->n) : NULL;
	if (l->n)
	{
		memcpy(c.k, l->k, sizeof(char *) * l->n);
		memcpy(c.v, l->v, sizeof(char *) * l->n);
	}
	return c;
}

WsLabels
ws_labels_copy(const WsLabels *l)
{
	return CopyLabels(l);
}

/* ws_gts_clone copies the metadata, and the points with_values */
WsGts *
ws_gts_clone(WsGts *g, bool with_values)
{
	WsGts	   *c = palloc(sizeof(WsGts));

	*c = *g;
	c->labels = CopyLabels(&g->labels);
	c->attrs = CopyLabels(&g->attrs);
	c->ticks = NULL;
	c->lv = NULL;
	c->dv = NULL;
	c->sv = NULL;
	c->n = 0;
	c->cap = 0;
	if (!with_values)
	{
		c->type = GTS_UNDEFINED;
		c->sorted = true;
		c->reversed = false;
		return c;
	}
	if (g->n > 0)
	{
		c->cap = g->n;
		c->n = g->n;
		c->ticks = palloc(sizeof(int64) * g->n);
		memcpy(c->ticks, g->ticks, sizeof(int64) * g->n);
		if (g->lv)
		{
			c->lv = palloc(sizeof(int64) * g->n);
			memcpy(c->lv, g->lv, sizeof(int64) * g->n);
		}
		if (g->dv)
		{
			c->dv = palloc(sizeof(double) * g->n);
			memcpy(c->dv, g->dv, sizeof(double) * g->n);
		}
		if (g->sv)
		{
			c->sv = palloc(sizeof(WsString *) * g->n);
			memcpy(c->sv, g->sv, sizeof(WsString *) * g->n);
		}
	}
	return c;
}

/* the order of points: tick, then position (stable) */
typedef struct SortItem
{
	int64		tick;
	int			pos;
} SortItem;

static int
CompareSortItems(const void *a, const void *b)
{
	const SortItem *x = a,
			   *y = b;

	if (x->tick != y->tick)
		return x->tick < y->tick ? -1 : 1;
	return x->pos - y->pos;
}

/* ws_gts_sort orders the points by tick, ascending or (reverse) descending */
void
ws_gts_sort(WsGts *g, bool reverse)
{
	SortItem   *items;
	int64	   *ticks;

	if (g->n <= 1)
	{
		g->sorted = true;
		g->reversed = reverse;
		return;
	}
	if (g->sorted && g->reversed == reverse)
		return;
	if (g->sorted && g->reversed != reverse)
	{
		/* sorted the other way (a fetched GTS is newest first): reverse it */
		for (int i = 0, j = g->n - 1; i < j; i++, j--)
		{
			int64		t = g->ticks[i];

			g->ticks[i] = g->ticks[j];
			g->ticks[j] = t;
			if (g->lv)
			{
				int64		x = g->lv[i];

				g->lv[i] = g->lv[j];
				g->lv[j] = x;
			}
			if (g->dv)
			{
				double		x = g->dv[i];

				g->dv[i] = g->dv[j];
				g->dv[j] = x;
			}
			if (g->sv)
			{
				WsString   *x = g->sv[i];

				g->sv[i] = g->sv[j];
				g->sv[j] = x;
			}
		}
		g->reversed = reverse;
		return;
	}
	items = palloc(sizeof(SortItem) * g->n);
	for (int i = 0; i < g->n; i++)
	{
		items[i].tick = g->ticks[i];
		items[i].pos = i;
	}
	qsort(items, g->n, sizeof(SortItem), CompareSortItems);
	if (reverse)
		for (int i = 0, j = g->n - 1; i < j; i++, j--)
		{
			SortItem	t = items[i];

			items[i] = items[j];
			items[j] = t;
		}
	ticks = palloc(sizeof(int64) * g->cap);
	for (int i = 0; i < g->n; i++)
		ticks[i] = items[i].tick;
	g->ticks = ticks;
	if (g->lv)
	{
		int64	   *v = palloc(sizeof(int64) * g->cap);

		for (int i = 0; i < g->n; i++)
			v[i] = g->lv[items[i].pos];
		g->lv = v;
	}
	if (g->dv)
	{
		double	   *v = palloc(sizeof(double) * g->cap);

		for (int i = 0; i < g->n; i++)
			v[i] = g->dv[items[i].pos];
		g->dv = v;
	}
	if (g->sv)
	{
		WsString  **v = palloc(sizeof(WsString *) * g->cap);

		for (int i = 0; i < g->n; i++)
			v[i] = g->sv[items[i].pos];
		g->sv = v;
	}
	g->sorted = true;
	g->reversed = reverse;
}

int64
ws_gts_last_tick(const WsGts *g)
{
	int64		t = PG_INT64_MIN;

	if (g->bucketized)
		return g->lastbucket;
	for (int i = 0; i < g->n; i++)
		if (g->ticks[i] > t)
			t = g->ticks[i];
	return t;
}

int64
ws_gts_first_tick(const WsGts *g)
{
	int64		t = PG_INT64_MAX;

	if (g->bucketized)
		return g->lastbucket - (g->bucketcount - 1) * g->bucketspan;
	for (int i = 0; i < g->n; i++)
		if (g->ticks[i] < t)
			t = g->ticks[i];
	return t;
}

/* ---------------------------------------------------------------------
 * labels
 * ---------------------------------------------------------------------
 */

const char *
ws_labels_get(const WsLabels *l, const char *k)
{
	int			lo = 0,
				hi = l->n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(k, l->k[mid]);

		if (c == 0)
			return l->v[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ws_gts_set_label sets k to v (NULL or "" removes it), keeping keys sorted */
void
ws_gts_set_label(WsLabels *l, const char *k, const char *v)
{
	int			i;

	for (i = 0; i < l->n; i++)
	{
		int			c = strcmp(k, l->k[i]);

		if (c == 0)
		{
			if (v == NULL || v[0] == '\0')
			{
				memmove(&l->k[i], &l->k[i + 1], sizeof(char *) * (l->n - i - 1));
				memmove(&l->v[i], &l->v[i + 1], sizeof(char *) * (l->n - i - 1));
				l->n--;
			}
			else
				l->v[i] = pstrdup(v);
			return;
		}
		if (c < 0)
			break;
	}
	if (v == NULL || v[0] == '\0')
		return;
	l->k = l->k ? repalloc(l->k, sizeof(char *) * (l->n + 1)) : palloc(sizeof(char *));
	l->v = l->v ? repalloc(l->v, sizeof(char *) * (l->n + 1)) : palloc(sizeof(char *));
	memmove(&l->k[i + 1], &l->k[i], sizeof(char *) * (l->n - i));
	memmove(&l->v[i + 1], &l->v[i], sizeof(char *) * (l->n - i));
	l->k[i] = pstrdup(k);
	l->v[i] = pstrdup(v);
	l->n++;
}

WsValue
ws_labels_map(WsState *st, const WsLabels *l)
{
	WsMap	   *m = ws_map_new(l->n);

	for (int i = 0; i < l->n; i++)
		ws_map_put(st, m, ws_cstring(l->k[i]), ws_cstring(l->v[i]));
	return ws_map_value(m);
}

/* order of series in answers: class, then the sorted labels */
int
ws_gts_compare_meta(const WsGts *a, const WsGts *b)
{
	int			c = strcmp(a->cls, b->cls);

	if (c != 0)
		return c;
	for (int i = 0; i < a->labels.n && i < b->labels.n; i++)
	{
		c = strcmp(a->labels.k[i], b->labels.k[i]);
		if (c != 0)
			return c;
		c = strcmp(a->labels.v[i], b->labels.v[i]);
		if (c != 0)
			return c;
	}
	return a->labels.n - b->labels.n;
}

/* ---------------------------------------------------------------------
 * JSON
 * ---------------------------------------------------------------------
 */

static void
AppendLabelsJson(StringInfo buf, const WsLabels *l)
{
	appendStringInfoChar(buf, '{');
	for (int i = 0; i < l->n; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		ws_append_json_string(buf, l->k[i], strlen(l->k[i]));
		appendStringInfoChar(buf, ':');
		ws_append_json_string(buf, l->v[i], strlen(l->v[i]));
	}
	appendStringInfoChar(buf, '}');
}

/* {"c":..,"l":{..},"a":{..},"la":0,"v":[[tick,value],..]}, points in their order */
void
ws_append_gts_json(StringInfo buf, const WsGts *g)
{
	appendStringInfoString(buf, "{\"c\":");
	ws_append_json_string(buf, g->cls, strlen(g->cls));
	appendStringInfoString(buf, ",\"l\":");
	AppendLabelsJson(buf, &g->labels);
	appendStringInfoString(buf, ",\"a\":");
	AppendLabelsJson(buf, &g->attrs);
	appendStringInfo(buf, ",\"la\":" INT64_FORMAT ",\"v\":[", g->la);
	for (int i = 0; i < g->n; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		appendStringInfo(buf, "[" INT64_FORMAT ",", g->ticks[i]);
		switch (g->type)
		{
			case GTS_LONG:
				appendStringInfo(buf, INT64_FORMAT, g->lv[i]);
				break;
			case GTS_DOUBLE:
				ws_append_double(buf, g->dv[i]);
				break;
			case GTS_BOOLEAN:
				appendStringInfoString(buf, g->lv[i] ? "true" : "false");
				break;
			case GTS_STRING:
				ws_append_json_string(buf, g->sv[i]->data, g->sv[i]->len);
				break;
			default:
				appendStringInfoString(buf, "null");
		}
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoString(buf, "]}");
}

/* ---------------------------------------------------------------------
 * argument helpers
 * ---------------------------------------------------------------------
 */

WsGts *
ws_pop_gts(WsState *st, const char *fname)
{
	WsValue		v = ws_pop(st);

	if (v.type != WS_GTS)
		ws_error(st, "%s expects a Geo Time Series or encoder instance on top of the stack.", fname);
	return v.u.gts;
}

/* ws_collect_gts adds v's GTS (a GTS, or a list of GTS) to out */
void
ws_collect_gts(WsState *st, WsValue v, WsList *out, const char *fname)
{
	if (v.type == WS_GTS)
		ws_list_append(st, out, v);
	else if (v.type == WS_LIST)
	{
		for (int i = 0; i < v.u.list->n; i++)
		{
			if (v.u.list->items[i].type != WS_GTS)
				ws_error(st, "%s expects a Geo Time Series or a list thereof.", fname);
			ws_list_append(st, out, v.u.list->items[i]);
		}
	}
	else
		ws_error(st, "%s expects a Geo Time Series or a list thereof.", fname);
}

/*
 * ApplyEach runs fn on a GTS, or on each GTS of a list (giving a new
 * list), as Warp 10's element-or-list functions do.
 */
typedef WsValue (*GtsOp) (WsState *st, WsGts *g, void *arg);

static void
ApplyEach(WsState *st, WsValue v, GtsOp op, void *arg, const char *errmsg)
{
	if (v.type == WS_GTS)
		ws_push(st, op(st, v.u.gts, arg));
	else if (v.type == WS_LIST)
	{
		WsList	   *out = ws_list_new(v.u.list->n);

		for (int i = 0; i < v.u.list->n; i++)
		{
			WsValue		e = v.u.list->items[i];

			if (e.type == WS_GTS)
				ws_list_append(st, out, op(st, e.u.gts, arg));
			else if (e.type == WS_LIST)
			{
				ApplyEach(st, e, op, arg, errmsg);
				ws_list_append(st, out, ws_pop(st));
			}
			else
				ws_error(st, "%s", errmsg);
		}
		ws_push(st, ws_list_value(out));
	}
	else
		ws_error(st, "%s", errmsg);
}

/* ---------------------------------------------------------------------
 * functions
 * ---------------------------------------------------------------------
 */

static void
FnNewGts(WsState *st, const WsFuncDef *def)
{
	ws_push(st, ws_gts_value(ws_gts_new(0)));
}

static bool
IsNaNValue(WsValue v)
{
	return v.type == WS_DOUBLE && isnan(v.u.d);
}

/* ADDVALUE: gts tick lat lon elev value ADDVALUE (geo must be NaN) */
static void
FnAddValue(WsState *st, const WsFuncDef *def)
{
	WsValue		value = ws_pop(st);
	WsValue		elev,
				lon,
				lat,
				tick,
				g;

	if (value.type == WS_LIST)
		ws_error(st, "ADDVALUE with a list of parameters is not supported by vscope.");
	if (value.type != WS_LONG && value.type != WS_DOUBLE && value.type != WS_STRING &&
		value.type != WS_BOOLEAN)
		ws_error(st, "ADDVALUE expects a LONG, DOUBLE, STRING, byte array or BOOLEAN value or a Geo Time Series or ENCODER.");
	elev = ws_pop(st);
	if (!ws_is_number(elev))
		ws_error(st, "ADDVALUE expects the elevation to be numeric or NaN.");
	lon = ws_pop(st);
	if (!ws_is_number(lon))
		ws_error(st, "ADDVALUE expects the longitude to be numeric or NaN.");
	lat = ws_pop(st);
	if (!ws_is_number(lat))
		ws_error(st, "ADDVALUE expects the latitude to be numeric or NaN.");
	tick = ws_pop(st);
	if (!ws_is_number(tick))
		ws_error(st, "ADDVALUE expects the tick to be numeric.");
	if (!IsNaNValue(elev) || !IsNaNValue(lat) || !IsNaNValue(lon))
		ws_error(st, "ADDVALUE: vscope stores no locations or elevations, give NaN NaN NaN.");
	g = ws_pop(st);
	if (g.type != WS_GTS)
		ws_error(st, "ADDVALUE operates on a single Geo Time Series or GTS Encoder.");
	ws_gts_add(st, g.u.gts, tick.type == WS_LONG ? tick.u.l : D2L(tick.u.d), value);
	ws_push(st, g);
}

static void
FnName(WsState *st, const WsFuncDef *def)
{
	ws_push(st, ws_cstring(ws_pop_gts(st, "NAME")->cls));
}

static void
FnLabels(WsState *st, const WsFuncDef *def)
{
	WsGts	   *g = ws_pop_gts(st, def->name);

	ws_push(st, ws_labels_map(st, def->op == 0 ? &g->labels : &g->attrs));
}

static WsValue
ValuesOf(WsState *st, WsGts *g, void *arg)
{
	WsList	   *l = ws_list_new(g->n);

	for (int i = 0; i < g->n; i++)
		ws_list_append(st, l, ws_gts_value_at(g, i));
	return ws_list_value(l);
}

static void
FnValues(WsState *st, const WsFuncDef *def)
{
	ApplyEach(st, ws_pop(st), ValuesOf, NULL,
			  "VALUES expects a GeoTimeSeries, a GTSEncoder or a list thereof on top of the stack.");
}

static int
CompareInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/* TICKS: the distinct ticks, ascending, of a GTS or a list of GTS */
static void
FnTicks(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);
	WsList	   *gl = ws_list_new(4);
	int			total = 0,
				n = 0;
	int64	   *all;
	WsList	   *out;

	if (v.type != WS_GTS && v.type != WS_LIST)
		ws_error(st, "TICKS expects a Geo Time Series or a list thereof on top of the stack.");
	if (v.type == WS_LIST)
		for (int i = 0; i < v.u.list->n; i++)
			if (v.u.list->items[i].type != WS_GTS)
				ws_error(st, "TICKS expects a Geo Time Series or a list thereof on top of the stack.");
	ws_collect_gts(st, v, gl, "TICKS");
	for (int i = 0; i < gl->n; i++)
		total += gl->items[i].u.gts->n;
	all = palloc(sizeof(int64) * Max(total, 1));
	for (int i = 0; i < gl->n; i++)
	{
		WsGts	   *g = gl->items[i].u.gts;

		memcpy(all + n, g->ticks, sizeof(int64) * g->n);
		n += g->n;
	}
	qsort(all, n, sizeof(int64), CompareInt64);
	out = ws_list_new(n);
	for (int i = 0; i < n; i++)
		if (i == 0 || all[i] != all[i - 1])
			ws_list_append(st, out, ws_long(all[i]));
	ws_push(st, ws_list_value(out));
}

/* LASTTICK / FIRSTTICK of a GTS (lastbucket if bucketized) or a list */
static void
FnLastTick(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);
	bool		last = def->op == 0;

	if (v.type == WS_GTS)
		ws_push(st, ws_long(last ? ws_gts_last_tick(v.u.gts) : ws_gts_first_tick(v.u.gts)));
	else if (v.type == WS_LIST)
	{
		int64		t = last ? PG_INT64_MIN : PG_INT64_MAX;

		for (int i = 0; i < v.u.list->n; i++)
		{
			int64		x;

			if (v.u.list->items[i].type != WS_GTS)
				ws_error(st, "%s expects a Geo Time Series or a list thereof on top of the stack.", def->name);
			x = last ? ws_gts_last_tick(v.u.list->items[i].u.gts) : ws_gts_first_tick(v.u.list->items[i].u.gts);
			if (last ? x > t : x < t)
				t = x;
		}
		ws_push(st, ws_long(t));
	}
	else
		ws_error(st, "%s expects a Geo Time Series or a list thereof on top of the stack.", def->name);
}

/* SORT / RSORT: the points by tick, in place */
static void
FnSort(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);

	if (v.type == WS_GTS)
		ws_gts_sort(v.u.gts, def->op == 1);
	else if (v.type == WS_LIST)
	{
		for (int i = 0; i < v.u.list->n; i++)
		{
			if (v.u.list->items[i].type != WS_GTS)
				ws_error(st, "%s expects a Geo Time Series or a list thereof.", def->name);
			ws_gts_sort(v.u.list->items[i].u.gts, def->op == 1);
		}
	}
	else
		ws_error(st, "%s expects a Geo Time Series or a list thereof.", def->name);
	ws_push(st, v);
}

static WsValue
RenameOp(WsState *st, WsGts *g, void *arg)
{
	WsString   *name = arg;

	if (name->len > 0 && name->data[0] == '+')
		g->cls = psprintf("%s%s", g->cls, name->data + 1);
	else
		g->cls = pstrdup(name->data);
	return ws_gts_value(g);
}

static void
FnRename(WsState *st, const WsFuncDef *def)
{
	WsValue		name = ws_pop(st);

	if (name.type != WS_STRING)
		ws_error(st, "RENAME expects a name (STRING) on top of the stack.");
	ApplyEach(st, ws_pop(st), RenameOp, name.u.s,
			  "RENAME expects a GeoTimeSeries, a GTSEncoder or a list thereof under the new name.");
}

typedef struct RelabelArg
{
	WsMap	   *map;
	bool		attrs;
} RelabelArg;

static WsValue
RelabelOp(WsState *st, WsGts *g, void *arg)
{
	RelabelArg *ra = arg;
	WsLabels   *l = ra->attrs ? &g->attrs : &g->labels;
	WsLabels	result;

	result = ws_map_get(ra->map, ws_null()) != NULL ? (WsLabels)
	{
		0, NULL, NULL
	}
	: CopyLabels(l);
	for (int i = 0; i < ra->map->n; i++)
	{
		WsValue		k = ra->map->keys[i];
		WsValue		v = ra->map->vals[i];

		if (v.type == WS_NULL || (v.type == WS_STRING && v.u.s->len == 0))
		{
			if (k.type == WS_STRING)
				ws_gts_set_label(&result, k.u.s->data, NULL);
			continue;
		}
		if (k.type == WS_STRING)
			ws_gts_set_label(&result, k.u.s->data, v.u.s->data);
	}
	*l = result;
	return ws_gts_value(g);
}

/* RELABEL / SETATTRIBUTES: { 'k' 'v' } adds or replaces, '' removes, a NULL key resets */
static void
FnRelabel(WsState *st, const WsFuncDef *def)
{
	WsValue		m = ws_pop(st);
	RelabelArg	ra;

	if (m.type != WS_MAP)
		ws_error(st, "%s expects a parameter map on top of the stack.", def->name);
	for (int i = 0; i < m.u.map->n; i++)
		if ((m.u.map->keys[i].type != WS_STRING && m.u.map->keys[i].type != WS_NULL) ||
			(m.u.map->vals[i].type != WS_STRING && m.u.map->vals[i].type != WS_NULL))
			ws_error(st, "%s expects a map of STRING keys and values.", def->name);
	ra.map = m.u.map;
	ra.attrs = def->op == 1;
	ApplyEach(st, ws_pop(st), RelabelOp, &ra,
			  "RELABEL expects a Geo Time Series, a GTSEncoder or a list thereof under the labels parameter.");
}

/* CLONE: pushes the original, then the copy on top */
static void
FnClone(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);
	WsValue		c;

	switch (v.type)
	{
		case WS_GTS:
			c = ws_gts_value(ws_gts_clone(v.u.gts, true));
			break;
		case WS_LIST:
			{
				WsList	   *l = ws_list_new(v.u.list->n);

				for (int i = 0; i < v.u.list->n; i++)
					ws_list_append(st, l, v.u.list->items[i]);
				c = ws_list_value(l);
			}
			break;
		case WS_MAP:
			{
				WsMap	   *m = ws_map_new(v.u.map->n);

				for (int i = 0; i < v.u.map->n; i++)
					ws_map_put(st, m, v.u.map->keys[i], v.u.map->vals[i]);
				c = ws_map_value(m);
			}
			break;
		default:
			ws_error(st, "CLONE operates on List, Map, Set, Vector, Geo Time Series or GTS Encoder.");
	}
	ws_push(st, v);
	ws_push(st, c);
}

static WsValue
CloneEmptyOp(WsState *st, WsGts *g, void *arg)
{
	return ws_gts_value(ws_gts_clone(g, false));
}

static void
FnCloneEmpty(WsState *st, const WsFuncDef *def)
{
	ApplyEach(st, ws_pop(st), CloneEmptyOp, NULL, "CLONEEMPTY expects a Geo Time Series or a list thereof.");
}

typedef struct Range
{
	int64		start;
	int64		end;
} Range;

static WsValue
TimeclipOp(WsState *st, WsGts *g, void *arg)
{
	Range	   *r = arg;
	WsGts	   *c = ws_gts_clone(g, false);

	if (g->sorted)
		c->reversed = g->reversed;
	for (int i = 0; i < g->n; i++)
		if (g->ticks[i] >= r->start && g->ticks[i] <= r->end)
			ws_gts_add(st, c, g->ticks[i], ws_gts_value_at(g, i));
	return ws_gts_value(c);
}

/* TIMECLIP: gts end duration, or gts endISO startISO */
static void
FnTimeclip(WsState *st, const WsFuncDef *def)
{
	WsValue		top = ws_pop(st);
	WsValue		under = ws_pop(st);
	Range		r;
	bool		iso = false;

	if (top.type == WS_STRING)
	{
		iso = true;
		if (!ws_parse_iso8601(top.u.s->data, &r.start))
			ws_error(st, "Text '%s' could not be parsed", top.u.s->data);
	}
	else if (top.type == WS_LONG)
		r.start = top.u.l;
	else
		ws_error(st, "TIMECLIP expects either an ISO8601 timestamp as the origin timestamp or a duration.");
	if (under.type == WS_STRING)
	{
		if (!ws_parse_iso8601(under.u.s->data, &r.end))
			ws_error(st, "Text '%s' could not be parsed", under.u.s->data);
	}
	else if (under.type == WS_LONG)
		r.end = under.u.l;
	else
		ws_error(st, "TIMECLIP expects either an ISO8601 timestamp or a delta since Unix Epoch as 'now' parameter.");
	if (!iso)
		r.start = r.end - r.start + 1;
	ApplyEach(st, ws_pop(st), TimeclipOp, &r,
			  "TIMECLIP expects a Geo Time Series, a GTSEncoder or a list thereof under the timeframe definition.");
}

static WsValue
TimeshiftOp(WsState *st, WsGts *g, void *arg)
{
	int64		delta = *(int64 *) arg;
	WsGts	   *c = ws_gts_clone(g, true);

	for (int i = 0; i < c->n; i++)
		c->ticks[i] = (int64) ((uint64) c->ticks[i] + (uint64) delta);
	if (c->bucketized)
		c->lastbucket += delta;
	return ws_gts_value(c);
}

static void
FnTimeshift(WsState *st, const WsFuncDef *def)
{
	int64		delta = ws_pop_long(st, "TIMESHIFT", "expects a LONG offset on top of the stack.");

	ApplyEach(st, ws_pop(st), TimeshiftOp, &delta,
			  "TIMESHIFT expects a Geo Time Series or a list thereof under the offset parameter.");
}

static WsValue
ShrinkOp(WsState *st, WsGts *g, void *arg)
{
	int64		to = *(int64 *) arg;
	int64		a = to < 0 ? -to : to;

	if (to > PG_INT64_MIN && g->n > a)
	{
		ws_gts_sort(g, to < 0);
		g->n = (int) a;
	}
	return ws_gts_value(g);
}

static void
FnShrink(WsState *st, const WsFuncDef *def)
{
	int64		to = ws_pop_long(st, "SHRINK", "expects a LONG size on top of the stack.");

	ApplyEach(st, ws_pop(st), ShrinkOp, &to, "SHRINK can only handle GTS and list thereof.");
}

static WsValue
UnbucketizeOp(WsState *st, WsGts *g, void *arg)
{
	g->bucketized = false;
	g->lastbucket = 0;
	g->bucketspan = 0;
	g->bucketcount = 0;
	return ws_gts_value(g);
}

static void
FnUnbucketize(WsState *st, const WsFuncDef *def)
{
	ApplyEach(st, ws_pop(st), UnbucketizeOp, NULL, "UNBUCKETIZE expects a Geo Time Series or a list thereof.");
}

/* BUCKETSPAN / BUCKETCOUNT / LASTBUCKET of one GTS (0 when not bucketized) */
static void
FnBucketInfo(WsState *st, const WsFuncDef *def)
{
	WsGts	   *g = ws_pop_gts(st, def->name);

	ws_push(st, ws_long(!g->bucketized ? 0 : def->op == 0 ? g->bucketspan :
						def->op == 1 ? g->bucketcount : g->lastbucket));
}

/* ---------------------------------------------------------------------
 * fills: on bucketized GTS only, a filled clone (points sorted, fills after)
 * ---------------------------------------------------------------------
 */

/* the index of the point at tick t in a sorted GTS, or -1 */
static int
FindTick(const WsGts *g, int n, int64 t)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (g->ticks[mid] == t)
		{
			while (mid > 0 && g->ticks[mid - 1] == t)
				mid--;
			return mid;
		}
		if (g->ticks[mid] < t)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

typedef struct FillArg
{
	int			kind;			/* 0 previous, 1 next, 2 value, 3 interpolate */
	WsValue		value;
} FillArg;

static WsValue
FillOp(WsState *st, WsGts *g, void *arg)
{
	FillArg    *fa = arg;
	WsGts	   *f = ws_gts_clone(g, true);
	int			n;
	int64		span = f->bucketspan;

	if (!f->bucketized)
		return ws_gts_value(f);
	if (f->bucketcount > st->maxbuckets)
		ws_error(st, "Bucket count (" INT64_FORMAT ") would exceed maximum value of " INT64_FORMAT ". Consider raising the limit or using capabilities.",
				 f->bucketcount, st->maxbuckets);
	ws_gts_sort(f, false);
	n = f->n;					/* the original points; fills are appended */
	if (fa->kind == 0)
	{
		WsValue		prev = ws_null();

		for (int64 k = f->bucketcount - 1; k >= 0; k--)
		{
			int64		t = f->lastbucket - k * span;
			int			i = FindTick(f, n, t);

			CHECK_FOR_INTERRUPTS();
			if (i >= 0)
				prev = ws_gts_value_at(f, i);
			else if (prev.type != WS_NULL)
				ws_gts_add(st, f, t, prev);
		}
	}
	else if (fa->kind == 1)
	{
		WsValue		next = ws_null();

		for (int64 k = 0; k < f->bucketcount; k++)
		{
			int64		t = f->lastbucket - k * span;
			int			i = FindTick(f, n, t);

			CHECK_FOR_INTERRUPTS();
			if (i >= 0)
				next = ws_gts_value_at(f, i);
			else if (next.type != WS_NULL)
				ws_gts_add(st, f, t, next);
		}
	}
	else if (fa->kind == 2)
	{
		if (fa->value.type == WS_NULL)
			return ws_gts_value(f);
		for (int64 k = f->bucketcount - 1; k >= 0; k--)
		{
			int64		t = f->lastbucket - k * span;

			CHECK_FOR_INTERRUPTS();
			if (FindTick(f, n, t) < 0)
				ws_gts_add(st, f, t, fa->value);
		}
	}
	else
	{
		/* linear between neighbouring points, no extrapolation */
		int64		bucket = f->lastbucket - f->bucketcount * span;

		if (n < 2)
			return ws_gts_value(f);
		if (f->type != GTS_LONG && f->type != GTS_DOUBLE)
			ws_error(st, "INTERPOLATE can only operate on numeric Geo Time Series.");
		for (int i = 1; i < n; i++)
		{
			double		v0 = f->type == GTS_LONG ? (double) f->lv[i - 1] : f->dv[i - 1];
			double		v1 = f->type == GTS_LONG ? (double) f->lv[i] : f->dv[i];
			int64		t0 = f->ticks[i - 1];
			double		rate = (v1 - v0) / (double) (f->ticks[i] - t0);

			while (bucket < f->lastbucket && bucket <= t0)
				bucket += span;
			if (bucket == f->ticks[i])
				continue;
			while (bucket < f->ticks[i])
			{
				CHECK_FOR_INTERRUPTS();
				ws_gts_add(st, f, bucket, ws_double(v0 + (double) (bucket - t0) * rate));
				bucket += span;
			}
			/* the points appended go after the originals: reread them from there */
		}
	}
	return ws_gts_value(f);
}

static void
FnFill(WsState *st, const WsFuncDef *def)
{
	FillArg		fa = {def->op, {0}};

	if (def->op == 2)
	{
		WsValue		p = ws_pop(st);

		if (p.type != WS_LIST || p.u.list->n != 4)
			ws_error(st, "FILLVALUE expects a LIST of 4 parameters: latitude longitude elevation value.");
		if (!IsNaNValue(p.u.list->items[0]) || !IsNaNValue(p.u.list->items[1]) ||
			!IsNaNValue(p.u.list->items[2]))
			ws_error(st, "FILLVALUE: vscope stores no locations or elevations, give NaN NaN NaN.");
		fa.value = p.u.list->items[3];
	}
	{
		WsValue		v = ws_pop(st);

		if (v.type == WS_LIST)
		{
			/* lists of GTS or of lists of GTS, flattened one level */
			WsList	   *out = ws_list_new(v.u.list->n);

			for (int i = 0; i < v.u.list->n; i++)
			{
				WsValue		e = v.u.list->items[i];

				if (e.type == WS_GTS)
					ws_list_append(st, out, FillOp(st, e.u.gts, &fa));
				else if (e.type == WS_LIST)
				{
					for (int j = 0; j < e.u.list->n; j++)
					{
						if (e.u.list->items[j].type != WS_GTS)
							ws_error(st, "%s expects a LIST or a Geo Time Series as input.", def->name);
						ws_list_append(st, out, FillOp(st, e.u.list->items[j].u.gts, &fa));
					}
				}
			}
			ws_push(st, ws_list_value(out));
		}
		else if (v.type == WS_GTS)
			ws_push(st, FillOp(st, v.u.gts, &fa));
		else
			ws_error(st, "%s expects a LIST or a Geo Time Series as input.", def->name);
	}
}

#define F(name, fn) {name, fn, WS_FK_FUNCTION, NULL, NULL, 0, 0}
#define FO(name, fn, op) {name, fn, WS_FK_FUNCTION, NULL, NULL, op, 0}

const WsFuncDef ws_gts_functions[] = {
	F("NEWGTS", FnNewGts),
	F("ADDVALUE", FnAddValue),
	F("NAME", FnName),
	FO("LABELS", FnLabels, 0),
	FO("ATTRIBUTES", FnLabels, 1),
	F("VALUES", FnValues),
	F("TICKS", FnTicks),
	FO("LASTTICK", FnLastTick, 0),
	FO("FIRSTTICK", FnLastTick, 1),
	FO("SORT", FnSort, 0),
	FO("RSORT", FnSort, 1),
	F("RENAME", FnRename),
	FO("RELABEL", FnRelabel, 0),
	FO("SETATTRIBUTES", FnRelabel, 1),
	F("CLONE", FnClone),
	F("CLONEEMPTY", FnCloneEmpty),
	F("TIMECLIP", FnTimeclip),
	F("TIMESHIFT", FnTimeshift),
	F("SHRINK", FnShrink),
	F("UNBUCKETIZE", FnUnbucketize),
	FO("BUCKETSPAN", FnBucketInfo, 0),
	FO("BUCKETCOUNT", FnBucketInfo, 1),
	FO("LASTBUCKET", FnBucketInfo, 2),
	FO("FILLPREVIOUS", FnFill, 0),
	FO("FILLNEXT", FnFill, 1),
	FO("FILLVALUE", FnFill, 2),
	FO("INTERPOLATE", FnFill, 3),
};

const int	ws_gts_nfunctions = lengthof(ws_gts_functions);
