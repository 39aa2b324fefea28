/*-------------------------------------------------------------------------
 *
 * warpscript_core.c
 *	  WarpScript's core functions: the stack, variables, macros and
 *	  control flow, lists and maps, arithmetic, comparison and logic,
 *	  conversions, JSON, time units and ISO 8601 times.  Each follows the
 *	  Warp 10 function of the same name (argument order, result types,
 *	  error messages).
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warpscript.h"

#include <math.h>
#include <limits.h>

#include "datatype/timestamp.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

extern void ws_exec_string(WsState *st, const char *s, int len);

/* ---------------------------------------------------------------------
 * argument helpers (shared with the other files)
 * ---------------------------------------------------------------------
 */

WsValue
ws_pop_type(WsState *st, WsType t, const char *fname, const char *what)
{
	WsValue		v = ws_pop(st);

	if (v.type != t)
		ws_error(st, "%s %s", fname, what);
	return v;
}

int64
ws_pop_long(WsState *st, const char *fname, const char *what)
{
	WsValue		v = ws_pop(st);

	if (v.type != WS_LONG)
		ws_error(st, "%s %s", fname, what);
	return v.u.l;
}

/* Java's (long) cast of a double: NaN is 0, out of range saturates */
static int64
JavaD2L(double d)
{
	if (isnan(d))
		return 0;
	if (d >= 9223372036854775807.0)
		return PG_INT64_MAX;
	if (d <= -9223372036854775808.0)
		return PG_INT64_MIN;
	return (int64) d;
}

/* Java's Math.round: floor(x + 0.5), saturating */
static int64
JavaRound(double d)
{
	return JavaD2L(floor(d + 0.5));
}

/* ---------------------------------------------------------------------
 * stack
 * ---------------------------------------------------------------------
 */

static void
FnDrop(WsState *st, const WsFuncDef *def)
{
	ws_pop(st);
}

static void
FnDup(WsState *st, const WsFuncDef *def)
{
	ws_push(st, *ws_peek(st, 0));
}

static void
FnSwap(WsState *st, const WsFuncDef *def)
{
	WsValue		a = ws_pop(st);
	WsValue		b = ws_pop(st);

	ws_push(st, a);
	ws_push(st, b);
}

static void
FnRot(WsState *st, const WsFuncDef *def)
{
	WsValue		c = ws_pop(st);
	WsValue		b = ws_pop(st);
	WsValue		a = ws_pop(st);

	ws_push(st, b);
	ws_push(st, c);
	ws_push(st, a);
}

static int64
PopCount(WsState *st)
{
	WsValue		v = ws_pop(st);

	if (v.type != WS_LONG)
		ws_error(st, "Unexpected type, expecting a numerical value.");
	return v.u.l;
}

/* PICK: 1 PICK is DUP */
static void
FnPick(WsState *st, const WsFuncDef *def)
{
	int64		n = PopCount(st);

	if (n < 0 || n > st->depth || n == 0)
		ws_error(st, "Index out of bound.");
	ws_push(st, st->stack[st->depth - n]);
}

static void
FnDupn(WsState *st, const WsFuncDef *def)
{
	int64		n = PopCount(st);

	if (n < 0 || n > st->depth)
		ws_error(st, "Index out of bound.");
	for (int64 i = 0; i < n; i++)
		ws_push(st, st->stack[st->depth - n]);
}

static void
FnDropn(WsState *st, const WsFuncDef *def)
{
	int64		n = PopCount(st);

	if (n < 0 || n > st->depth)
		ws_error(st, "Index out of bound.");
	st->depth -= n;
}

/* ROLL: n ROLL moves the n-th element to the top; ROLLD the reverse */
static void
FnRoll(WsState *st, const WsFuncDef *def)
{
	int64		n = PopCount(st);
	WsValue		tmp;

	if (n < 0 || n > st->depth)
		ws_error(st, "Index out of bound.");
	if (n <= 1)
		return;
	if (def->op == 0)
	{
		tmp = st->stack[st->depth - n];
		memmove(&st->stack[st->depth - n], &st->stack[st->depth - n + 1], sizeof(WsValue) * (n - 1));
		st->stack[st->depth - 1] = tmp;
	}
	else
	{
		tmp = st->stack[st->depth - 1];
		memmove(&st->stack[st->depth - n + 1], &st->stack[st->depth - n], sizeof(WsValue) * (n - 1));
		st->stack[st->depth - n] = tmp;
	}
}

static void
FnClear(WsState *st, const WsFuncDef *def)
{
	st->depth = 0;
}

static void
FnDepth(WsState *st, const WsFuncDef *def)
{
	ws_push(st, ws_long(st->depth));
}

static void
FnNull(WsState *st, const WsFuncDef *def)
{
	ws_push(st, ws_null());
}

static void
FnMark(WsState *st, const WsFuncDef *def)
{
	ws_push(st, ws_mark());
}

/* counts the elements above the nearest mark; -1 without one */
static int
CountToMark(WsState *st)
{
	for (int i = st->depth - 1; i >= 0; i--)
		if (st->stack[i].type == WS_MARK)
			return st->depth - 1 - i;
	return -1;
}

/* ] : the elements above the mark, bottom first, become a list */
static void
FnEndList(WsState *st, const WsFuncDef *def)
{
	int			n = CountToMark(st);
	WsList	   *l;

	if (n < 0)
		ws_error(st, "Cannot find a matching start of list. (Index out of bound.)");
	l = ws_list_new(n);
	memcpy(l->items, &st->stack[st->depth - n], sizeof(WsValue) * n);
	l->n = n;
	st->depth -= n + 1;
	ws_push(st, ws_list_value(l));
}

static WsMap *
MapFromStack(WsState *st, int n)
{
	WsMap	   *m;
	WsValue    *e = &st->stack[st->depth - n];

	if (n % 2 != 0)
		ws_error(st, "Odd number of elements, cannot create map.");
	m = ws_map_new(n / 2);
	for (int i = 0; i < n; i += 2)
	{
		if (ws_map_get(m, e[i]) != NULL)
		{
			StringInfoData k;

			initStringInfo(&k);
			if (e[i].type == WS_STRING)
				appendStringInfoString(&k, e[i].u.s->data);
			else
				ws_append_snapshot(&k, e[i]);
			ws_error(st, "Duplicate map key '%s'", k.data);
		}
		ws_map_put(st, m, e[i], e[i + 1]);
	}
	return m;
}

static void
FnEndMap(WsState *st, const WsFuncDef *def)
{
	int			n = CountToMark(st);
	WsMap	   *m;

	if (n < 0)
		ws_error(st, "Cannot find a matching start of map. (Index out of bound.)");
	m = MapFromStack(st, n);
	st->depth -= n + 1;
	ws_push(st, ws_map_value(m));
}

static void
FnEmptyList(WsState *st, const WsFuncDef *def)
{
	ws_push(st, ws_list_value(ws_list_new(4)));
}

static void
FnEmptyMap(WsState *st, const WsFuncDef *def)
{
	ws_push(st, ws_map_value(ws_map_new(4)));
}

/* ->LIST: n elements (count on top) into a list */
static void
FnToList(WsState *st, const WsFuncDef *def)
{
	WsValue		c = ws_pop(st);
	WsList	   *l;
	int64		n;

	if (c.type == WS_LIST)
	{
		ws_push(st, c);
		return;
	}
	if (c.type != WS_LONG)
		ws_error(st, "->LIST expects a LIST, SET or a LONG number of elements to pack into a LIST.");
	n = c.u.l;
	if (n < 0 || n > st->depth)
		ws_error(st, "Index out of bound.");
	l = ws_list_new(n);
	memcpy(l->items, &st->stack[st->depth - n], sizeof(WsValue) * n);
	l->n = n;
	st->depth -= n;
	ws_push(st, ws_list_value(l));
}

/* LIST->: the elements, then their count */
static void
FnListTo(WsState *st, const WsFuncDef *def)
{
	WsValue		l = ws_pop(st);

	if (l.type != WS_LIST)
		ws_error(st, "LIST-> operates on a list.");
	for (int i = 0; i < l.u.list->n; i++)
		ws_push(st, l.u.list->items[i]);
	ws_push(st, ws_long(l.u.list->n));
}

static void
FnToMap(WsState *st, const WsFuncDef *def)
{
	WsValue		c = ws_pop(st);
	WsMap	   *m;

	if (c.type == WS_LIST)
	{
		/* a list of key value pairs */
		int			base = st->depth;

		for (int i = 0; i < c.u.list->n; i++)
			ws_push(st, c.u.list->items[i]);
		m = MapFromStack(st, st->depth - base);
		st->depth = base;
		ws_push(st, ws_map_value(m));
		return;
	}
	if (c.type != WS_LONG)
		ws_error(st, "->MAP expects a LONG number of elements or a LIST.");
	if (c.u.l < 0 || c.u.l > st->depth)
		ws_error(st, "Index out of bound.");
	m = MapFromStack(st, (int) c.u.l);
	st->depth -= c.u.l;
	ws_push(st, ws_map_value(m));
}

static void
FnMapTo(WsState *st, const WsFuncDef *def)
{
	WsValue		m = ws_pop(st);

	if (m.type != WS_MAP)
		ws_error(st, "Invalid type, expected a map.");
	for (int i = 0; i < m.u.map->n; i++)
	{
		ws_push(st, m.u.map->keys[i]);
		ws_push(st, m.u.map->vals[i]);
	}
	ws_push(st, ws_long(m.u.map->n * 2));
}

static void
FnSize(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);

	switch (v.type)
	{
		case WS_LIST:
			ws_push(st, ws_long(v.u.list->n));
			break;
		case WS_MAP:
			ws_push(st, ws_long(v.u.map->n));
			break;
		case WS_STRING:
			ws_push(st, ws_long(pg_mbstrlen_with_len(v.u.s->data, v.u.s->len)));
			break;
		case WS_GTS:
			ws_push(st, ws_long(v.u.gts->n));
			break;
		case WS_MACRO:
			ws_push(st, ws_long(v.u.macro->n));
			break;
		default:
			ws_error(st, "SIZE operates on a MAP, a collection, a STRING, a byte array, a GTS or GTS Encoder, a GEOSHAPE or a Macro.");
	}
}

/* GET: list index (negative from the end) or map key; consumes the collection */
static void
FnGet(WsState *st, const WsFuncDef *def)
{
	WsValue		key = ws_pop(st);
	WsValue		coll = ws_pop(st);

	if (coll.type == WS_MAP)
	{
		WsValue    *v = ws_map_get(coll.u.map, key);

		ws_push(st, v ? *v : ws_null());
	}
	else if (coll.type == WS_LIST)
	{
		int64		i;
		int			n = coll.u.list->n;

		if (key.type != WS_LONG)
			ws_error(st, "GET failed. (Getting on LIST requires a LONG.)");
		i = key.u.l;
		if (i >= n)
			ws_error(st, "GET failed. (Index out of bound, " INT64_FORMAT " >= %d)", i, n);
		if (i < 0)
		{
			if (i + n < 0)
				ws_error(st, "GET failed. (Index out of bound, " INT64_FORMAT " < -%d)", i, n);
			i += n;
		}
		ws_push(st, coll.u.list->items[i]);
	}
	else
		ws_error(st, "GET failed. (Invalid OBJECT to GET on.)");
}

/* PUT: map value key PUT, the map stays */
static void
FnPut(WsState *st, const WsFuncDef *def)
{
	WsValue		key = ws_pop(st);
	WsValue		val = ws_pop(st);
	WsValue    *coll = ws_peek(st, 0);

	if (coll->type == WS_MAP)
		ws_map_put(st, coll->u.map, key, val);
	else if (coll->type == WS_LIST)
	{
		if (key.type != WS_LONG)
			ws_error(st, "PUT expects a key which is an integer when operating on a list.");
		if (key.u.l < 0 || key.u.l >= coll->u.list->n)
			ws_error(st, "Index " INT64_FORMAT " out of bounds for length %d", key.u.l, coll->u.list->n);
		coll->u.list->items[key.u.l] = val;
	}
	else
		ws_error(st, "PUT operates on a map or list.");
}

/* REMOVE: list index or map key; pushes the collection and the removed value */
static void
FnRemove(WsState *st, const WsFuncDef *def)
{
	WsValue		key = ws_pop(st);
	WsValue		coll = ws_pop(st);

	if (coll.type == WS_MAP)
	{
		WsValue    *v = ws_map_get(coll.u.map, key);
		WsValue		old = v ? *v : ws_null();

		ws_map_remove(coll.u.map, key);
		ws_push(st, coll);
		ws_push(st, old);
	}
	else if (coll.type == WS_LIST && key.type == WS_LONG)
	{
		WsList	   *l = coll.u.list;
		int64		i = key.u.l < 0 ? key.u.l + l->n : key.u.l;
		WsValue		old = ws_null();

		if (i >= 0 && i < l->n)
		{
			old = l->items[i];
			memmove(&l->items[i], &l->items[i + 1], sizeof(WsValue) * (l->n - i - 1));
			l->n--;
		}
		ws_push(st, coll);
		ws_push(st, old);
	}
	else
		ws_error(st, "REMOVE operates on a MAP, a LIST with a LONG index.");
}

/* APPEND: list list, or map map; modifies the first */
static void
FnAppend(WsState *st, const WsFuncDef *def)
{
	WsValue		top = ws_pop(st);
	WsValue		under = ws_pop(st);

	if (under.type == WS_LIST && top.type == WS_LIST)
	{
		/* room made once, then one copy (top may be under itself) */
		int			n = top.u.list->n;

		ws_list_reserve(st, under.u.list, n);
		memcpy(under.u.list->items + under.u.list->n, top.u.list->items, sizeof(WsValue) * n);
		under.u.list->n += n;
		ws_push(st, under);
	}
	else if (under.type == WS_MAP && top.type == WS_MAP)
	{
		for (int i = 0; i < top.u.map->n; i++)
			ws_map_put(st, under.u.map, top.u.map->keys[i], top.u.map->vals[i]);
		ws_push(st, under);
	}
	else
		ws_error(st, "APPEND can only operate on 2 collections (LIST, SET, VECTOR), 2 MAPs or 2 GTSs.");
}

static void
Flatten(WsState *st, WsList *out, WsList *in, int depth)
{
	if (depth > 16)
		ws_error(st, "FLATTEN cannot flatten lists nested more than 16 levels");
	for (int i = 0; i < in->n; i++)
	{
		if (in->items[i].type == WS_LIST)
			Flatten(st, out, in->items[i].u.list, depth + 1);
		else
			ws_list_append(st, out, in->items[i]);
	}
}

static void
FnFlatten(WsState *st, const WsFuncDef *def)
{
	WsValue		l = ws_pop(st);
	WsList	   *out;

	if (l.type != WS_LIST)
	{
		ws_push(st, l);
		return;
	}
	out = ws_list_new(l.u.list->n);
	Flatten(st, out, l.u.list, 0);
	ws_push(st, ws_list_value(out));
}

static void
FnUnique(WsState *st, const WsFuncDef *def)
{
	WsValue		l = ws_pop(st);
	WsMap	   *seen;
	WsList	   *out;

	if (l.type != WS_LIST)
		ws_error(st, "UNIQUE operates on a list.");
	seen = ws_map_new(l.u.list->n);
	out = ws_list_new(l.u.list->n);
	for (int i = 0; i < l.u.list->n; i++)
		if (ws_map_get(seen, l.u.list->items[i]) == NULL)
		{
			ws_map_put(st, seen, l.u.list->items[i], ws_null());
			ws_list_append(st, out, l.u.list->items[i]);
		}
	ws_push(st, ws_list_value(out));
}

/* REVERSE: a list in place, or a string */
static void
FnReverse(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);

	if (v.type == WS_LIST)
	{
		WsList	   *l = v.u.list;

		for (int i = 0, j = l->n - 1; i < j; i++, j--)
		{
			WsValue		t = l->items[i];

			l->items[i] = l->items[j];
			l->items[j] = t;
		}
		ws_push(st, v);
	}
	else if (v.type == WS_STRING)
	{
		/* by character */
		char	   *out = palloc(v.u.s->len + 1);
		int			o = v.u.s->len;
		int			i = 0;

		while (i < v.u.s->len)
		{
			int			l = pg_mblen(v.u.s->data + i);

			if (i + l > v.u.s->len)
				l = v.u.s->len - i;
			o -= l;
			memcpy(out + o, v.u.s->data + i, l);
			i += l;
		}
		ws_push(st, ws_string(out, v.u.s->len));
	}
	else
		ws_error(st, "REVERSE operates on a list, byte array or String.");
}

static void
FnContains(WsState *st, const WsFuncDef *def)
{
	WsValue		x = ws_pop(st);
	WsValue		l = ws_pop(st);
	bool		found = false;

	if (l.type != WS_LIST)
		ws_error(st, "CONTAINS operates on a list or set.");
	for (int i = 0; i < l.u.list->n && !found; i++)
		found = ws_value_equal(l.u.list->items[i], x);
	ws_push(st, l);
	ws_push(st, ws_bool(found));
}

static void
FnContainsKey(WsState *st, const WsFuncDef *def)
{
	WsValue		k = ws_pop(st);
	WsValue		m = ws_pop(st);

	if (m.type != WS_MAP)
		ws_error(st, "CONTAINSKEY operates on a map.");
	ws_push(st, m);
	ws_push(st, ws_bool(ws_map_get(m.u.map, k) != NULL));
}

static void
FnKeyList(WsState *st, const WsFuncDef *def)
{
	WsValue		m = ws_pop(st);
	WsList	   *l;

	if (m.type != WS_MAP)
		ws_error(st, "%s expects a map on top of the stack.", def->name);
	l = ws_list_new(m.u.map->n);
	for (int i = 0; i < m.u.map->n; i++)
		ws_list_append(st, l, def->op == 0 ? m.u.map->keys[i] : m.u.map->vals[i]);
	ws_push(st, ws_list_value(l));
}

/* ---------------------------------------------------------------------
 * variables, macros, control flow
 * ---------------------------------------------------------------------
 */

/* STORE: value 'name' STORE, or [ values ] [ 'a' 'b' ] STORE */
static void
FnStore(WsState *st, const WsFuncDef *def)
{
	WsValue		name = ws_pop(st);

	if (name.type == WS_STRING)
		ws_store(st, name.u.s->data, ws_pop(st));
	else if (name.type == WS_LIST)
	{
		WsList	   *names = name.u.list;

		if (names->n > st->depth)
			ws_error(st, "STORE expects %d elements on the stack, only found %d", names->n, st->depth);
		for (int i = names->n - 1; i >= 0; i--)
		{
			WsValue		v = ws_pop(st);

			if (names->items[i].type == WS_NULL)
				continue;
			if (names->items[i].type != WS_STRING)
				ws_error(st, "STORE expects a variable name or register number or a list thereof on top of the stack.");
			ws_store(st, names->items[i].u.s->data, v);
		}
	}
	else
		ws_error(st, "STORE expects a variable name or register number or a list thereof on top of the stack.");
}

static void
FnLoad(WsState *st, const WsFuncDef *def)
{
	WsValue		name = ws_pop(st);
	WsValue		v;

	if (name.type != WS_STRING)
		ws_error(st, "LOAD expects a variable name (STRING) or a register number (LONG) on top of the stack.");
	if (!ws_load(st, name.u.s->data, &v))
		ws_error(st, "LOAD symbol '%s' does not exist.", name.u.s->data);
	ws_push(st, v);
}

static void
FnForget(WsState *st, const WsFuncDef *def)
{
	WsValue		name = ws_pop(st);

	if (name.type != WS_STRING)
		ws_error(st, "FORGET expects a symbol name on top of the stack.");
	for (int i = 0; i < st->nsym; i++)
		if (strcmp(st->symnames[i], name.u.s->data) == 0)
		{
			st->nsym--;
			st->symnames[i] = st->symnames[st->nsym];
			st->symvals[i] = st->symvals[st->nsym];
			break;
		}
}

static void
FnEval(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);

	if (v.type == WS_MACRO)
		ws_exec_macro(st, v.u.macro);
	else if (v.type == WS_STRING)
		ws_exec_string(st, v.u.s->data, v.u.s->len);
	else if (v.type == WS_FUNC && v.u.func->def->kind == WS_FK_FUNCTION)
		v.u.func->def->fn(st, v.u.func->def);
	else
		ws_error(st, "EVAL expects a Macro, a function or a String.");
}

/* RUN: 'name' RUN runs the stored macro */
static void
FnRun(WsState *st, const WsFuncDef *def)
{
	WsValue		name = ws_pop(st);
	WsValue		m;

	if (name.type != WS_STRING)
		ws_error(st, "RUN expects macro name to be a STRING or a register number (LONG).");
	if (!ws_load(st, name.u.s->data, &m))
		ws_error(st, "Unknown macro '%s'", name.u.s->data);
	if (m.type != WS_MACRO)
		ws_error(st, "'%s' is not a macro.", name.u.s->data);
	ws_exec_macro(st, m.u.macro);
}

static bool
PopCondition(WsState *st, const char *fname)
{
	WsValue		v = ws_pop(st);

	if (v.type != WS_BOOLEAN)
		ws_error(st, "%s expects its 'IF' macro to leave a boolean on top of the stack.", fname);
	return v.u.b;
}

/* IFT: cond-or-macro then-macro */
static void
FnIft(WsState *st, const WsFuncDef *def)
{
	WsValue		then = ws_pop(st);
	WsValue		cond = ws_pop(st);
	bool		c;

	if (then.type != WS_MACRO)
		ws_error(st, "IFT expects a *THEN* macro on top of the stack.");
	if (cond.type == WS_MACRO)
	{
		ws_exec_macro(st, cond.u.macro);
		c = PopCondition(st, "IFT");
	}
	else if (cond.type == WS_BOOLEAN)
		c = cond.u.b;
	else
		ws_error(st, "IFT expects an *IF* macro or a boolean below the *THEN* macro.");
	if (c)
		ws_exec_macro(st, then.u.macro);
}

static void
FnIfte(WsState *st, const WsFuncDef *def)
{
	WsValue		els = ws_pop(st);
	WsValue		then = ws_pop(st);
	WsValue		cond = ws_pop(st);
	bool		c;

	if (els.type != WS_MACRO || then.type != WS_MACRO ||
		(cond.type != WS_MACRO && cond.type != WS_BOOLEAN))
		ws_error(st, "IFTE expects three macros or two macros and a boolean on top of the stack.");
	if (cond.type == WS_MACRO)
	{
		ws_exec_macro(st, cond.u.macro);
		c = PopCondition(st, "IFTE");
	}
	else
		c = cond.u.b;
	ws_exec_macro(st, c ? then.u.macro : els.u.macro);
}

static void
FnAssert(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);

	if (v.type != WS_BOOLEAN)
		ws_error(st, "ASSERT expects a boolean on top of the stack.");
	if (!v.u.b)
		ws_error(st, "ASSERT failed.");
}

static bool
PopPushIndex(WsState *st, bool dflt)
{
	if (st->depth > 0 && ws_peek(st, 0)->type == WS_BOOLEAN)
		return ws_pop(st).u.b;
	return dflt;
}

/* FOREACH: list/map/GTS/string macro [push index] */
static void
FnForeach(WsState *st, const WsFuncDef *def)
{
	bool		pushindex = PopPushIndex(st, false);
	WsValue		m = ws_pop(st);
	WsValue		obj = ws_pop(st);
	int64		started = ws_loop_start();
	int64		index = 0;

	if (m.type != WS_MACRO)
		ws_error(st, "FOREACH expects a macro on top of the stack.");
	if (obj.type == WS_LIST)
	{
		WsList	   *l = obj.u.list;

		for (int i = 0; i < l->n; i++)
		{
			ws_loop_check(st, "FOREACH", started);
			ws_push(st, l->items[i]);
			if (pushindex)
				ws_push(st, ws_long(index++));
			ws_exec_macro(st, m.u.macro);
		}
	}
	else if (obj.type == WS_MAP)
	{
		WsMap	   *map = obj.u.map;

		for (int i = 0; i < map->n; i++)
		{
			ws_loop_check(st, "FOREACH", started);
			ws_push(st, map->keys[i]);
			ws_push(st, map->vals[i]);
			if (pushindex)
				ws_push(st, ws_long(index++));
			ws_exec_macro(st, m.u.macro);
		}
	}
	else if (obj.type == WS_GTS)
	{
		WsGts	   *g = obj.u.gts;

		for (int i = 0; i < g->n; i++)
		{
			WsList	   *e = ws_list_new(5);

			ws_loop_check(st, "FOREACH", started);
			ws_list_append(st, e, ws_long(g->ticks[i]));
			ws_list_append(st, e, ws_double(NAN));
			ws_list_append(st, e, ws_double(NAN));
			ws_list_append(st, e, ws_double(NAN));
			ws_list_append(st, e, ws_gts_value_at(g, i));
			ws_push(st, ws_list_value(e));
			if (pushindex)
				ws_push(st, ws_long(index++));
			ws_exec_macro(st, m.u.macro);
		}
	}
	else if (obj.type == WS_STRING)
	{
		int			i = 0;

		while (i < obj.u.s->len)
		{
			int			l = pg_mblen(obj.u.s->data + i);

			ws_loop_check(st, "FOREACH", started);
			ws_push(st, ws_string(obj.u.s->data + i, Min(l, obj.u.s->len - i)));
			if (pushindex)
				ws_push(st, ws_long(index++));
			ws_exec_macro(st, m.u.macro);
			i += l;
		}
	}
	else
		ws_error(st, "FOREACH operates on a list, map, Geo Time Series, ENCODER, STRING, iterator or iterable.");
}

/* LMAP: list macro [push index] -> list of the macro's results */
static void
FnLmap(WsState *st, const WsFuncDef *def)
{
	bool		pushindex = PopPushIndex(st, true);
	WsValue		m = ws_pop(st);
	WsValue		l;
	WsList	   *out;
	int64		started = ws_loop_start();

	if (m.type != WS_MACRO)
		ws_error(st, "LMAP expects a macro on top of the stack.");
	l = ws_pop(st);
	if (l.type != WS_LIST)
		ws_error(st, "LMAP expects a list below the macro on top of the stack.");
	out = ws_list_new(l.u.list->n);
	for (int i = 0; i < l.u.list->n; i++)
	{
		ws_loop_check(st, "LMAP", started);
		ws_push(st, l.u.list->items[i]);
		if (pushindex)
			ws_push(st, ws_long(i));
		ws_exec_macro(st, m.u.macro);
		ws_list_append(st, out, ws_pop(st));
	}
	ws_push(st, ws_list_value(out));
}

/* FOR: from to macro [push counter] */
static void
FnFor(WsState *st, const WsFuncDef *def)
{
	bool		push = PopPushIndex(st, true);
	WsValue		m = ws_pop(st);
	WsValue		to = ws_pop(st);
	WsValue		from = ws_pop(st);
	int64		started = ws_loop_start();

	if (m.type != WS_MACRO)
		ws_error(st, "FOR expects a macro on top of the stack.");
	if (!ws_is_number(to) || !ws_is_number(from))
		ws_error(st, "FOR expects numbers as its range.");
	if (from.type == WS_DOUBLE || to.type == WS_DOUBLE)
	{
		double		d = ws_to_double(from),
					e = ws_to_double(to);

		for (; d <= e; d += 1.0)
		{
			ws_loop_check(st, "FOR", started);
			if (push)
				ws_push(st, ws_double(d));
			ws_exec_macro(st, m.u.macro);
		}
	}
	else
	{
		for (int64 i = from.u.l; i <= to.u.l; i++)
		{
			ws_loop_check(st, "FOR", started);
			if (push)
				ws_push(st, ws_long(i));
			ws_exec_macro(st, m.u.macro);
			if (i == PG_INT64_MAX)
				break;
		}
	}
}

static bool
PopConditionLoop(WsState *st, const char *fname, const char *which)
{
	WsValue		v = ws_pop(st);

	if (v.type != WS_BOOLEAN)
		ws_error(st, "%s expects its '%s' macro to leave a boolean on top of the stack.", fname, which);
	return v.u.b;
}

/* WHILE: cond-macro run-macro; UNTIL: run-macro cond-macro */
static void
FnWhile(WsState *st, const WsFuncDef *def)
{
	bool		push = PopPushIndex(st, false);
	WsValue		second = ws_pop(st);
	WsValue		first = ws_pop(st);
	int64		started = ws_loop_start();
	int64		counter = 0;
	bool		until = def->op == 1;

	if (first.type != WS_MACRO || second.type != WS_MACRO)
		ws_error(st, "%s expects two macros on top of the stack.", def->name);
	for (;;)
	{
		ws_loop_check(st, def->name, started);
		if (!until)
		{
			ws_exec_macro(st, first.u.macro);
			if (!PopConditionLoop(st, def->name, "WHILE"))
				break;
			if (push)
				ws_push(st, ws_long(counter++));
			ws_exec_macro(st, second.u.macro);
		}
		else
		{
			if (push)
				ws_push(st, ws_long(counter++));
			ws_exec_macro(st, first.u.macro);
			ws_exec_macro(st, second.u.macro);
			if (PopConditionLoop(st, def->name, "UNTIL"))
				break;
		}
	}
}

/* SECTION: names the section errors report */
static void
FnSection(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);

	if (v.type != WS_STRING)
		ws_error(st, "SECTION expects a STRING.");
	st->section = pstrdup(v.u.s->data);
}

static void
FnLineon(WsState *st, const WsFuncDef *def)
{
	st->lineon = def->op == 0;
}

static void
FnNoop(WsState *st, const WsFuncDef *def)
{
}

/* ---------------------------------------------------------------------
 * arithmetic, comparison, logic
 * ---------------------------------------------------------------------
 */

static void
FnAdd(WsState *st, const WsFuncDef *def)
{
	WsValue		b = ws_pop(st);
	WsValue		a = ws_pop(st);

	if (ws_is_number(a) && ws_is_number(b))
	{
		if (a.type == WS_DOUBLE || b.type == WS_DOUBLE)
			ws_push(st, ws_double(ws_to_double(a) + ws_to_double(b)));
		else
			ws_push(st, ws_long((int64) ((uint64) a.u.l + (uint64) b.u.l)));
	}
	else if (a.type == WS_STRING && b.type == WS_STRING)
	{
		char	   *s;

		ws_check_alloc(st, (Size) a.u.s->len + b.u.s->len);
		s = palloc((Size) a.u.s->len + b.u.s->len + 1);
		memcpy(s, a.u.s->data, a.u.s->len);
		memcpy(s + a.u.s->len, b.u.s->data, b.u.s->len);
		ws_push(st, ws_string(s, a.u.s->len + b.u.s->len));
	}
	else if (a.type == WS_LIST)
	{
		WsList	   *l = ws_list_new(a.u.list->n + 1);

		for (int i = 0; i < a.u.list->n; i++)
			ws_list_append(st, l, a.u.list->items[i]);
		ws_list_append(st, l, b);
		ws_push(st, ws_list_value(l));
	}
	else if (a.type == WS_MACRO && b.type == WS_MACRO)
	{
		WsMacro    *m = palloc0(sizeof(WsMacro));

		m->n = m->cap = a.u.macro->n + b.u.macro->n;
		m->stmts = palloc(sizeof(WsStmt) * Max(m->cap, 1));
		memcpy(m->stmts, a.u.macro->stmts, sizeof(WsStmt) * a.u.macro->n);
		memcpy(m->stmts + a.u.macro->n, b.u.macro->stmts, sizeof(WsStmt) * b.u.macro->n);
		ws_push(st, (WsValue)
				{
				.type = WS_MACRO,.u.macro = m
				});
	}
	else
		ws_error(st, "+ can only operate on numeric, string, lists, matrices, vectors, macros and GTS values.");
}

/* - * / % ** on numbers: LONG op LONG stays LONG, else DOUBLE */
static void
FnArith(WsState *st, const WsFuncDef *def)
{
	WsValue		b = ws_pop(st);
	WsValue		a = ws_pop(st);
	char		op = def->name[0];

	if (!ws_is_number(a) || !ws_is_number(b))
		ws_error(st, "%s can only operate on numeric values.", def->name);
	if (strcmp(def->name, "**") == 0)
	{
		ws_push(st, ws_double(pow(ws_to_double(a), ws_to_double(b))));
		return;
	}
	if (a.type == WS_LONG && b.type == WS_LONG)
	{
		int64		x = a.u.l,
					y = b.u.l;

		switch (op)
		{
			case '-':
				ws_push(st, ws_long((int64) ((uint64) x - (uint64) y)));
				break;
			case '*':
				ws_push(st, ws_long((int64) ((uint64) x * (uint64) y)));
				break;
			case '/':
				if (y == 0)
					ws_error(st, "/ by zero");
				ws_push(st, ws_long(y == -1 ? (int64) (0 - (uint64) x) : x / y));
				break;
			case '%':
				if (y == 0)
					ws_error(st, "/ by zero");
				ws_push(st, ws_long(y == -1 ? 0 : x % y));
				break;
		}
	}
	else
	{
		double		x = ws_to_double(a),
					y = ws_to_double(b);

		switch (op)
		{
			case '-':
				ws_push(st, ws_double(x - y));
				break;
			case '*':
				ws_push(st, ws_double(x * y));
				break;
			case '/':
				ws_push(st, ws_double(x / y));
				break;
			case '%':
				ws_push(st, ws_double(fmod(x, y)));
				break;
		}
	}
}

/* Java's Double.compare */
static int
JavaDoubleCompare(double a, double b)
{
	if (a < b)
		return -1;
	if (a > b)
		return 1;
	if (isnan(a) || isnan(b))
		return isnan(a) ? (isnan(b) ? 0 : 1) : -1;
	if (a == 0 && b == 0 && signbit(a) != signbit(b))
		return signbit(a) ? -1 : 1;
	return 0;
}

/* EQ.compare: exact across LONG and DOUBLE */
int			ws_compare_numbers(WsValue a, WsValue b);

int
ws_compare_numbers(WsValue a, WsValue b)
{
	if (a.type == WS_LONG && b.type == WS_LONG)
		return a.u.l < b.u.l ? -1 : a.u.l > b.u.l;
	if (a.type == WS_DOUBLE && b.type == WS_DOUBLE)
		return JavaDoubleCompare(a.u.d, b.u.d);
	{
		long double x = a.type == WS_LONG ? (long double) a.u.l : (long double) a.u.d;
		long double y = b.type == WS_LONG ? (long double) b.u.l : (long double) b.u.d;

		return x < y ? -1 : x > y;
	}
}

/* == != < > <= >=, with Warp 10's NaN rules */
static void
FnCompare(WsState *st, const WsFuncDef *def)
{
	WsValue		b = ws_pop(st);
	WsValue		a = ws_pop(st);
	const char *n = def->name;
	bool		eq = strcmp(n, "==") == 0,
				ne = strcmp(n, "!=") == 0;
	bool		one_nan = ne;	/* one NaN operand: true only for != */
	bool		two_nan = eq || strcmp(n, "<=") == 0 || strcmp(n, ">=") == 0;
	int			c;

	if (a.type == WS_DOUBLE && b.type == WS_DOUBLE && isnan(a.u.d) && isnan(b.u.d))
	{
		ws_push(st, ws_bool(two_nan));
		return;
	}
	if ((a.type == WS_DOUBLE && isnan(a.u.d) && b.type != WS_GTS) ||
		(b.type == WS_DOUBLE && isnan(b.u.d) && a.type != WS_GTS))
	{
		if (eq || ne)
		{
			if (ws_is_number(a) && ws_is_number(b))
			{
				ws_push(st, ws_bool(one_nan));
				return;
			}
		}
		else
		{
			ws_push(st, ws_bool(one_nan));
			return;
		}
	}
	if (ws_is_number(a) && ws_is_number(b))
		c = ws_compare_numbers(a, b);
	else if (a.type == WS_STRING && b.type == WS_STRING)
	{
		int			l = Min(a.u.s->len, b.u.s->len);

		c = memcmp(a.u.s->data, b.u.s->data, l);
		if (c == 0)
			c = a.u.s->len < b.u.s->len ? -1 : a.u.s->len > b.u.s->len;
	}
	else if (eq || ne)
	{
		bool		same = ws_value_equal(a, b);

		ws_push(st, ws_bool(eq ? same : !same));
		return;
	}
	else
		ws_error(st, "%s can only operate on homogeneous numeric, string, bytes or boolean types.", n);

	if (eq)
		ws_push(st, ws_bool(c == 0));
	else if (ne)
		ws_push(st, ws_bool(c != 0));
	else if (n[0] == '<')
		ws_push(st, ws_bool(n[1] == '=' ? c <= 0 : c < 0));
	else
		ws_push(st, ws_bool(n[1] == '=' ? c >= 0 : c > 0));
}

static void
FnLogic(WsState *st, const WsFuncDef *def)
{
	WsValue		b = ws_pop(st);
	WsValue		a = ws_pop(st);

	if (a.type != WS_BOOLEAN || b.type != WS_BOOLEAN)
		ws_error(st, "%s can only operate on boolean values.", def->name);
	ws_push(st, ws_bool(def->op == 0 ? (a.u.b && b.u.b) : (a.u.b || b.u.b)));
}

static void
FnNot(WsState *st, const WsFuncDef *def)
{
	WsValue		a = ws_pop(st);

	if (a.type != WS_BOOLEAN)
		ws_error(st, "%s can only operate on a boolean value.", def->name);
	ws_push(st, ws_bool(!a.u.b));
}

static void
FnConst(WsState *st, const WsFuncDef *def)
{
	switch (def->op)
	{
		case 0:
			ws_push(st, ws_long(PG_INT64_MAX));
			break;
		case 1:
			ws_push(st, ws_long(PG_INT64_MIN));
			break;
		case 2:
			ws_push(st, ws_double(NAN));
			break;
		case 3:
			ws_push(st, ws_double(M_PI));
			break;
		case 4:
			ws_push(st, ws_double(M_E));
			break;
	}
}

/* ABS, and MIN / MAX of two numbers */
static void
FnAbs(WsState *st, const WsFuncDef *def)
{
	WsValue		a = ws_pop(st);

	if (a.type == WS_LONG)
		ws_push(st, ws_long(a.u.l == PG_INT64_MIN ? a.u.l : (a.u.l < 0 ? -a.u.l : a.u.l)));
	else if (a.type == WS_DOUBLE)
		ws_push(st, ws_double(fabs(a.u.d)));
	else
		ws_error(st, "ABS can only operate on numeric values.");
}

static void
FnMinMax(WsState *st, const WsFuncDef *def)
{
	WsValue		b = ws_pop(st);
	WsValue		a = ws_pop(st);
	int			c;

	if (!ws_is_number(a) || !ws_is_number(b))
		ws_error(st, "%s can only operate on numeric values.", def->name);
	if ((a.type == WS_DOUBLE && isnan(a.u.d)) || (b.type == WS_DOUBLE && isnan(b.u.d)))
	{
		ws_push(st, ws_double(NAN));
		return;
	}
	c = ws_compare_numbers(a, b);
	if (def->op == 0)
		ws_push(st, c <= 0 ? a : b);
	else
		ws_push(st, c >= 0 ? a : b);
}

/* ---------------------------------------------------------------------
 * conversions
 * ---------------------------------------------------------------------
 */

static void
AppendToString(StringInfo buf, WsValue v)
{
	switch (v.type)
	{
		case WS_LONG:
			appendStringInfo(buf, INT64_FORMAT, v.u.l);
			break;
		case WS_DOUBLE:
			ws_append_double(buf, v.u.d);
			break;
		case WS_BOOLEAN:
			appendStringInfoString(buf, v.u.b ? "true" : "false");
			break;
		case WS_STRING:
			appendBinaryStringInfo(buf, v.u.s->data, v.u.s->len);
			break;
		case WS_NULL:
			appendStringInfoString(buf, "null");
			break;
		default:
			ws_append_snapshot(buf, v);
	}
}

static void
FnToString(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);
	StringInfoData buf;

	initStringInfo(&buf);
	AppendToString(&buf, v);
	ws_push(st, ws_string(buf.data, buf.len));
}

/* Java's Double.parseDouble over a WarpScript string */
static bool
ParseJavaDouble(const char *s, double *out)
{
	char	   *end;
	const char *p = s;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strcmp(p, "NaN") == 0 || strcmp(p, "+NaN") == 0 || strcmp(p, "-NaN") == 0)
	{
		*out = NAN;
		return true;
	}
	if (strcmp(p, "Infinity") == 0 || strcmp(p, "+Infinity") == 0)
	{
		*out = INFINITY;
		return true;
	}
	if (strcmp(p, "-Infinity") == 0)
	{
		*out = -INFINITY;
		return true;
	}
	if (*p == '\0' || pg_strncasecmp(p, "inf", 3) == 0 || pg_strncasecmp(p, "nan", 3) == 0 ||
		pg_strncasecmp(p, "-inf", 4) == 0 || pg_strncasecmp(p, "0x", 2) == 0)
		return false;
	*out = strtod(p, &end);
	while (*end == ' ' || *end == '\t' || *end == 'd' || *end == 'D' || *end == 'f' || *end == 'F')
		end++;
	return *end == '\0';
}

static void
FnToDouble(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);
	double		d;

	switch (v.type)
	{
		case WS_LONG:
			ws_push(st, ws_double((double) v.u.l));
			break;
		case WS_DOUBLE:
			ws_push(st, v);
			break;
		case WS_BOOLEAN:
			ws_push(st, ws_double(v.u.b ? 1.0 : 0.0));
			break;
		case WS_STRING:
			if (!ParseJavaDouble(v.u.s->data, &d))
				ws_error(st, "TODOUBLE cannot parse '%s' as a DOUBLE.", v.u.s->data);
			ws_push(st, ws_double(d));
			break;
		default:
			ws_error(st, "TODOUBLE can only operate on numeric, boolean or string values.");
	}
}

static void
FnToLong(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);

	switch (v.type)
	{
		case WS_LONG:
			ws_push(st, v);
			break;
		case WS_DOUBLE:
			ws_push(st, ws_long(JavaD2L(v.u.d)));
			break;
		case WS_BOOLEAN:
			ws_push(st, ws_long(v.u.b ? 1 : 0));
			break;
		case WS_STRING:
			{
				char	   *end;
				long long	l;

				errno = 0;
				l = strtoll(v.u.s->data, &end, 10);
				if (v.u.s->len == 0 || *end != '\0' || errno == ERANGE)
					ws_error(st, "TOLONG cannot parse '%s' as a LONG.", v.u.s->data);
				ws_push(st, ws_long(l));
			}
			break;
		default:
			ws_error(st, "TOLONG can only operate on numeric, boolean or string values.");
	}
}

static void
FnToBoolean(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);

	switch (v.type)
	{
		case WS_LONG:
			ws_push(st, ws_bool(v.u.l != 0));
			break;
		case WS_DOUBLE:
			ws_push(st, ws_bool(v.u.d != 0));
			break;
		case WS_BOOLEAN:
			ws_push(st, v);
			break;
		case WS_STRING:
			ws_push(st, ws_bool(pg_strcasecmp(v.u.s->data, "true") == 0));
			break;
		default:
			ws_error(st, "TOBOOLEAN can only operate on numeric, boolean or string values.");
	}
}

static void
FnTypeof(WsState *st, const WsFuncDef *def)
{
	ws_push(st, ws_cstring(ws_type_name(ws_pop(st))));
}

static void
FnIsNull(WsState *st, const WsFuncDef *def)
{
	ws_push(st, ws_bool(ws_pop(st).type == WS_NULL));
}

static void
FnIsNaN(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);

	ws_push(st, ws_bool(v.type == WS_DOUBLE && isnan(v.u.d)));
}

static void
FnToJson(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);
	StringInfoData buf;

	initStringInfo(&buf);
	ws_append_json(st, &buf, v, 0);
	ws_push(st, ws_string(buf.data, buf.len));
}

static void
FnFromJson(WsState *st, const WsFuncDef *def)
{
	WsValue		v = ws_pop(st);

	if (v.type != WS_STRING)
		ws_error(st, "JSON-> expects a STRING.");
	ws_push(st, ws_from_json(st, v.u.s->data, v.u.s->len));
}

/* ---------------------------------------------------------------------
 * strings
 * ---------------------------------------------------------------------
 */

/* REOPTALT: a list of strings as one regex alternation */
static void
FnReoptalt(WsState *st, const WsFuncDef *def)
{
	WsValue		l = ws_pop(st);
	StringInfoData buf;

	if (l.type != WS_LIST)
		ws_error(st, "REOPTALT expects a list of strings on top of the stack.");
	initStringInfo(&buf);
	appendStringInfoString(&buf, "(?:");
	for (int i = 0; i < l.u.list->n; i++)
	{
		WsValue		s = l.u.list->items[i];

		if (s.type != WS_STRING)
			ws_error(st, "REOPTALT expects a list of strings on top of the stack.");
		if (i > 0)
			appendStringInfoChar(&buf, '|');
		/* quote regex metacharacters */
		for (int j = 0; j < s.u.s->len; j++)
		{
			if (strchr("\\^$.|?*+()[]{}", s.u.s->data[j]) && s.u.s->data[j] != '\0')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, s.u.s->data[j]);
		}
	}
	appendStringInfoChar(&buf, ')');
	ws_push(st, ws_string(buf.data, buf.len));
}

/* TEMPLATE: 'a {{x}} b' { 'x' 'y' } TEMPLATE */
static void
FnTemplate(WsState *st, const WsFuncDef *def)
{
	WsValue		m = ws_pop(st);
	WsValue		t = ws_pop(st);
	StringInfoData buf;
	const char *p;

	if (m.type != WS_MAP || t.type != WS_STRING)
		ws_error(st, "TEMPLATE expects a map on top of a template STRING.");
	initStringInfo(&buf);
	p = t.u.s->data;
	while (*p)
	{
		const char *open = strstr(p, "{{");
		const char *close;

		if (open == NULL || (close = strstr(open + 2, "}}")) == NULL)
		{
			appendStringInfoString(&buf, p);
			break;
		}
		appendBinaryStringInfo(&buf, p, open - p);
		{
			WsValue		key = ws_string(open + 2, close - open - 2);
			WsValue    *v = ws_map_get(m.u.map, key);

			if (v != NULL)
				AppendToString(&buf, *v);
			else
				appendBinaryStringInfo(&buf, open, close + 2 - open);
		}
		p = close + 2;
	}
	ws_push(st, ws_string(buf.data, buf.len));
}

/* JOIN: list sep JOIN, or n-strings sep n JOIN */
static void
FnJoin(WsState *st, const WsFuncDef *def)
{
	WsValue		top = ws_pop(st);
	WsList	   *items;
	WsValue		sep;
	StringInfoData buf;

	if (top.type == WS_STRING)
	{
		sep = top;
		top = ws_pop(st);
		if (top.type != WS_LIST)
			ws_error(st, "JOIN expects a list of strings below the separator.");
		items = top.u.list;
	}
	else
		ws_error(st, "JOIN expects a separator STRING on top of the stack.");
	initStringInfo(&buf);
	for (int i = 0; i < items->n; i++)
	{
		if (i > 0)
			appendBinaryStringInfo(&buf, sep.u.s->data, sep.u.s->len);
		AppendToString(&buf, items->items[i]);
	}
	ws_push(st, ws_string(buf.data, buf.len));
}

/* SPLIT: 'a,b' ',' SPLIT -> [ 'a' 'b' ] (one separator character) */
static void
FnSplit(WsState *st, const WsFuncDef *def)
{
	WsValue		sep = ws_pop(st);
	WsValue		s = ws_pop(st);
	WsList	   *l;
	int			b = 0;

	if (sep.type != WS_STRING || s.type != WS_STRING || sep.u.s->len == 0)
		ws_error(st, "SPLIT expects a STRING and a delimiter STRING.");
	l = ws_list_new(4);
	for (int i = 0; i <= s.u.s->len; i++)
	{
		if (i == s.u.s->len ||
			(i + sep.u.s->len <= s.u.s->len && memcmp(s.u.s->data + i, sep.u.s->data, sep.u.s->len) == 0))
		{
			ws_list_append(st, l, ws_string(s.u.s->data + b, i - b));
			if (i == s.u.s->len)
				break;
			i += sep.u.s->len - 1;
			b = i + 1;
		}
	}
	ws_push(st, ws_list_value(l));
}

static void
FnCase(WsState *st, const WsFuncDef *def)
{
	WsValue		s = ws_pop(st);
	char	   *o;

	if (s.type != WS_STRING)
		ws_error(st, "%s operates on a STRING.", def->name);
	o = pnstrdup(s.u.s->data, s.u.s->len);
	for (int i = 0; i < s.u.s->len; i++)
		o[i] = def->op == 0 ? pg_toupper((unsigned char) o[i]) : pg_tolower((unsigned char) o[i]);
	ws_push(st, ws_string(o, s.u.s->len));
}

/* ---------------------------------------------------------------------
 * time
 * ---------------------------------------------------------------------
 */

static void
FnNow(WsState *st, const WsFuncDef *def)
{
	ws_push(st, ws_long(ws_now_us()));
}

/* time units: w d h m s ms us ns ps, factor in ms, result rounded to µs */
static void
FnUnit(WsState *st, const WsFuncDef *def)
{
	static const double factors[] = {7 * 86400000.0, 86400000.0, 3600000.0, 60000.0, 1000.0,
	1.0, 0.001, 0.000001, 0.000000001};
	WsValue		v = ws_pop(st);

	if (!ws_is_number(v))
		ws_error(st, "%s can only operate on numeric values.", def->name);
	ws_push(st, ws_long(JavaRound(ws_to_double(v) * factors[def->op] * 1000.0)));
}

/* days since 1970-01-01 of a proleptic Gregorian date */
static int64
DaysFromCivil(int64 y, int m, int d)
{
	int64		era;
	int			yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (int) (y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
ReadDigits(const char **p, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + (*p)[i] - '0';
	}
	*p += n;
	*out = v;
	return true;
}

/*
 * ws_parse_iso8601 reads YYYY-MM-DDThh:mm[:ss[.fraction]] then Z, +hh:mm
 * or -hh:mm (and an optional [Region/City], ignored when an offset is
 * given); no zone is UTC.  The fraction is truncated to µs.
 */
bool
ws_parse_iso8601(const char *s, int64 *out)
{
	const char *p = s;
	int			y,
				mo,
				d,
				h,
				mi,
				sec = 0,
				offset = 0;
	int64		frac = 0;
	int64		days;

	if (!ReadDigits(&p, 4, &y) || *p++ != '-' || !ReadDigits(&p, 2, &mo) || *p++ != '-' ||
		!ReadDigits(&p, 2, &d) || *p++ != 'T' || !ReadDigits(&p, 2, &h) || *p++ != ':' ||
		!ReadDigits(&p, 2, &mi))
		return false;
	if (*p == ':')
	{
		p++;
		if (!ReadDigits(&p, 2, &sec))
			return false;
		if (*p == '.' || *p == ',')
		{
			int			nd = 0;

			p++;
			if (*p < '0' || *p > '9')
				return false;
			while (*p >= '0' && *p <= '9')
			{
				if (nd < 6)
					frac = frac * 10 + (*p - '0');
				nd++;
				p++;
			}
			if (nd > 9)
				return false;
			for (; nd < 6; nd++)
				frac *= 10;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return false;
	if (d > day_tab[isleap(y)][mo - 1])
		return false;
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		int			oh,
					om = 0;
		int			sign = *p == '-' ? -1 : 1;

		p++;
		if (!ReadDigits(&p, 2, &oh))
			return false;
		if (*p == ':')
		{
			p++;
			if (!ReadDigits(&p, 2, &om))
				return false;
		}
		else if (*p >= '0' && *p <= '9' && !ReadDigits(&p, 2, &om))
			return false;
		if (oh > 18 || om > 59)
			return false;
		offset = sign * (oh * 3600 + om * 60);
	}
	if (*p == '[')
	{
		const char *e = strchr(p, ']');

		if (e == NULL || e[1] != '\0')
			return false;
		p = e + 1;
	}
	if (*p != '\0')
		return false;
	days = DaysFromCivil(y, mo, d);
	*out = ((days * 86400 + h * 3600 + mi * 60 + sec) - offset) * (int64) 1000000 + frac;
	return true;
}

/* ws_format_iso8601 is ISO8601's UTC form: 6 decimals and Z */
char *
ws_format_iso8601(int64 us)
{
	int64		secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
	int64		micro = us - secs * 1000000;
	int64		days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64		rem = secs - days * 86400;
	int64		z = days + 719468;
	int64		era = (z >= 0 ? z : z - 146096) / 146097;
	int64		doe = z - era * 146097;
	int64		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64		y = yoe + era * 400;
	int64		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64		mp = (5 * doy + 2) / 153;
	int64		d = doy - (153 * mp + 2) / 5 + 1;
	int64		m = mp + (mp < 10 ? 3 : -9);

	y += m <= 2;
	return psprintf("%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ",
					(long long) y, (long long) m, (long long) d,
					(long long) (rem / 3600), (long long) (rem % 3600 / 60), (long long) (rem % 60),
					(long long) micro);
}

/* ISO8601: µs [zone] -> string */
static void
FnIso8601(WsState *st, const WsFuncDef *def)
{
	WsValue		top = ws_pop(st);
	WsValue		ts;

	if (top.type == WS_STRING)
	{
		pg_tz	   *tz;
		TimestampTz t;
		struct pg_tm tm;
		fsec_t		fsec;
		int			tzoff;
		int64		usec;

		ts = ws_pop(st);
		if (ts.type != WS_LONG)
			ws_error(st, "ISO8601 operates on a timestamp or a timestamp + timezone.");
		if (strcmp(top.u.s->data, "UTC") == 0 || strcmp(top.u.s->data, "Z") == 0)
		{
			ws_push(st, ws_cstring(ws_format_iso8601(ts.u.l)));
			return;
		}
		tz = pg_tzset(top.u.s->data);
		if (tz == NULL)
			ws_error(st, "The datetime zone id '%s' is not recognised", top.u.s->data);
		t = ts.u.l - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
		if (timestamp2tm(t, &tzoff, &tm, &fsec, NULL, tz) != 0)
			ws_error(st, "ISO8601 timestamp out of range.");
		usec = fsec;
		ws_push(st, ws_cstring(psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06lld%c%02d:%02d",
										tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min,
										tm.tm_sec, (long long) usec, tzoff <= 0 ? '+' : '-',
										abs(tzoff) / 3600, abs(tzoff) % 3600 / 60)));
		return;
	}
	if (top.type != WS_LONG)
		ws_error(st, "ISO8601 operates on a timestamp or a timestamp + timezone.");
	ws_push(st, ws_cstring(ws_format_iso8601(top.u.l)));
}

static void
FnToTimestamp(WsState *st, const WsFuncDef *def)
{
	WsValue		s = ws_pop(st);
	int64		us;

	if (s.type != WS_STRING)
		ws_error(st, "TOTIMESTAMP expects an ISO8601 timestamp as a String.");
	if (!ws_parse_iso8601(s.u.s->data, &us))
		ws_error(st, "Text '%s' could not be parsed", s.u.s->data);
	ws_push(st, ws_long(us));
}

/* DURATION: ISO 8601 duration (P..W..DT..H..M..S) -> µs */
static void
FnDuration(WsState *st, const WsFuncDef *def)
{
	WsValue		s = ws_pop(st);
	const char *p;
	bool		in_time = false;
	bool		any = false;
	long double total = 0;
	int			sign = 1;

	if (s.type != WS_STRING)
		ws_error(st, "DURATION expects an ISO8601 duration as a STRING.");
	p = s.u.s->data;
	if (*p == '-')
	{
		sign = -1;
		p++;
	}
	if (*p++ != 'P')
		ws_error(st, "DURATION cannot parse '%s' as an ISO8601 duration.", s.u.s->data);
	while (*p)
	{
		char	   *end;
		double		n;

		if (*p == 'T')
		{
			in_time = true;
			p++;
			continue;
		}
		n = strtod(p, &end);
		if (end == p)
			ws_error(st, "DURATION cannot parse '%s' as an ISO8601 duration.", s.u.s->data);
		p = end;
		any = true;
		switch (*p)
		{
			case 'W':
				total += (long double) n * 7 * 86400;
				break;
			case 'D':
				total += (long double) n * 86400;
				break;
			case 'H':
				total += (long double) n * 3600;
				break;
			case 'M':
				if (!in_time)
					ws_error(st, "DURATION cannot handle months or years.");
				total += (long double) n * 60;
				break;
			case 'S':
				total += n;
				break;
			case 'Y':
				ws_error(st, "DURATION cannot handle months or years.");
				break;
			default:
				ws_error(st, "DURATION cannot parse '%s' as an ISO8601 duration.", s.u.s->data);
		}
		p++;
	}
	if (!any)
		ws_error(st, "DURATION cannot parse '%s' as an ISO8601 duration.", s.u.s->data);
	ws_push(st, ws_long(JavaD2L((double) (total * 1000000 * sign))));
}

/* ---------------------------------------------------------------------
 * the table
 * ---------------------------------------------------------------------
 */

#define F(name, fn) {name, fn, WS_FK_FUNCTION, NULL, NULL, 0, 0}
#define FO(name, fn, op) {name, fn, WS_FK_FUNCTION, NULL, NULL, op, 0}

const WsFuncDef ws_core_functions[] = {
	F("DROP", FnDrop),
	F("DUP", FnDup),
	F("SWAP", FnSwap),
	F("ROT", FnRot),
	F("PICK", FnPick),
	F("DUPN", FnDupn),
	F("DROPN", FnDropn),
	FO("ROLL", FnRoll, 0),
	FO("ROLLD", FnRoll, 1),
	F("CLEAR", FnClear),
	F("DEPTH", FnDepth),
	F("NULL", FnNull),
	F("MARK", FnMark),
	F("[", FnMark),
	F("]", FnEndList),
	F("{", FnMark),
	F("}", FnEndMap),
	F("[]", FnEmptyList),
	F("{}", FnEmptyMap),
	F("->LIST", FnToList),
	F("LIST->", FnListTo),
	F("->MAP", FnToMap),
	F("MAP->", FnMapTo),
	F("SIZE", FnSize),
	F("GET", FnGet),
	F("PUT", FnPut),
	F("REMOVE", FnRemove),
	F("APPEND", FnAppend),
	F("FLATTEN", FnFlatten),
	F("UNIQUE", FnUnique),
	F("REVERSE", FnReverse),
	F("CONTAINS", FnContains),
	F("CONTAINSKEY", FnContainsKey),
	FO("KEYLIST", FnKeyList, 0),
	FO("VALUELIST", FnKeyList, 1),
	F("STORE", FnStore),
	F("LOAD", FnLoad),
	F("FORGET", FnForget),
	F("EVAL", FnEval),
	F("RUN", FnRun),
	F("IFT", FnIft),
	F("IFTE", FnIfte),
	F("ASSERT", FnAssert),
	F("FOREACH", FnForeach),
	F("LMAP", FnLmap),
	F("FOR", FnFor),
	FO("WHILE", FnWhile, 0),
	FO("UNTIL", FnWhile, 1),
	F("SECTION", FnSection),
	FO("LINEON", FnLineon, 0),
	FO("LINEOFF", FnLineon, 1),
	F("NOOP", FnNoop),
	F("+", FnAdd),
	F("-", FnArith),
	F("*", FnArith),
	F("/", FnArith),
	F("%", FnArith),
	F("**", FnArith),
	F("==", FnCompare),
	F("!=", FnCompare),
	F("<", FnCompare),
	F(">", FnCompare),
	F("<=", FnCompare),
	F(">=", FnCompare),
	FO("&&", FnLogic, 0),
	FO("AND", FnLogic, 0),
	FO("||", FnLogic, 1),
	FO("OR", FnLogic, 1),
	F("!", FnNot),
	F("NOT", FnNot),
	FO("MAXLONG", FnConst, 0),
	FO("MINLONG", FnConst, 1),
	FO("NaN", FnConst, 2),
	FO("pi", FnConst, 3),
	FO("PI", FnConst, 3),
	FO("e", FnConst, 4),
	FO("E", FnConst, 4),
	F("ABS", FnAbs),
	FO("MIN", FnMinMax, 0),
	FO("MAX", FnMinMax, 1),
	F("TOSTRING", FnToString),
	F("TODOUBLE", FnToDouble),
	F("TOLONG", FnToLong),
	F("TOBOOLEAN", FnToBoolean),
	F("TYPEOF", FnTypeof),
	F("ISNULL", FnIsNull),
	F("ISNaN", FnIsNaN),
	F("->JSON", FnToJson),
	F("JSON->", FnFromJson),
	F("REOPTALT", FnReoptalt),
	F("TEMPLATE", FnTemplate),
	F("JOIN", FnJoin),
	F("SPLIT", FnSplit),
	FO("TOUPPER", FnCase, 0),
	FO("TOLOWER", FnCase, 1),
	F("NOW", FnNow),
	FO("w", FnUnit, 0),
	FO("d", FnUnit, 1),
	FO("h", FnUnit, 2),
	FO("m", FnUnit, 3),
	FO("s", FnUnit, 4),
	FO("ms", FnUnit, 5),
	FO("us", FnUnit, 6),
	FO("ns", FnUnit, 7),
	FO("ps", FnUnit, 8),
	F("ISO8601", FnIso8601),
	F("TOTIMESTAMP", FnToTimestamp),
	F("DURATION", FnDuration),
};

const int	ws_core_nfunctions = lengthof(ws_core_functions);
