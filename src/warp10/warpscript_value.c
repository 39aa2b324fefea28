/*-------------------------------------------------------------------------
 *
 * warpscript_value.c
 *	  WarpScript values: constructors, lists, maps (insertion-ordered,
 *	  hashed once they grow), equality, Java's Double.toString, string
 *	  percent-decoding and encoding (WarpURLDecoder/WarpURLEncoder), the
 *	  JSON writer of exec answers (Jackson as Warp 10 configures it:
 *	  non-ASCII escaped, NaN and Infinity bare) and the JSON reader of
 *	  JSON->.
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warpscript.h"

#include <math.h>

#include "common/hashfn.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/memutils.h"

/* ---------------------------------------------------------------------
 * constructors
 * ---------------------------------------------------------------------
 */

WsValue
ws_long(int64 l)
{
	WsValue		v;

	v.type = WS_LONG;
	v.u.l = l;
	return v;
}

WsValue
ws_double(double d)
{
	WsValue		v;

	v.type = WS_DOUBLE;
	v.u.d = d;
	return v;
}

WsValue
ws_bool(bool b)
{
	WsValue		v;

	v.type = WS_BOOLEAN;
	v.u.b = b;
	return v;
}

WsValue
ws_null(void)
{
	WsValue		v;

	v.type = WS_NULL;
	v.u.l = 0;
	return v;
}

WsValue
ws_mark(void)
{
	WsValue		v;

	v.type = WS_MARK;
	v.u.l = 0;
	return v;
}

WsValue
ws_string(const char *s, int len)
{
	WsValue		v;
	WsString   *ws = palloc(offsetof(WsString, data) + len + 1);

	ws->len = len;
	memcpy(ws->data, s, len);
	ws->data[len] = '\0';
	v.type = WS_STRING;
	v.u.s = ws;
	return v;
}

WsValue
ws_cstring(const char *s)
{
	return ws_string(s, strlen(s));
}

WsValue
ws_list_value(WsList *l)
{
	WsValue		v;

	v.type = WS_LIST;
	v.u.list = l;
	return v;
}

WsValue
ws_map_value(WsMap *m)
{
	WsValue		v;

	v.type = WS_MAP;
	v.u.map = m;
	return v;
}

WsValue
ws_gts_value(WsGts *g)
{
	WsValue		v;

	v.type = WS_GTS;
	v.u.gts = g;
	return v;
}

bool
ws_is_number(WsValue v)
{
	return v.type == WS_LONG || v.type == WS_DOUBLE;
}

double
ws_to_double(WsValue v)
{
	return v.type == WS_LONG ? (double) v.u.l : v.u.d;
}

/* the type names TYPEOF gives */
const char *
ws_type_name(WsValue v)
{
	switch (v.type)
	{
		case WS_NULL:
			return "NULL";
		case WS_LONG:
			return "LONG";
		case WS_DOUBLE:
			return "DOUBLE";
		case WS_BOOLEAN:
			return "BOOLEAN";
		case WS_STRING:
			return "STRING";
		case WS_LIST:
			return "LIST";
		case WS_MAP:
			return "MAP";
		case WS_MACRO:
			return "MACRO";
		case WS_MARK:
			return "MARK";
		case WS_FUNC:
			if (v.u.func->def->kind == WS_FK_FILTER)
				return "FILTER";
			if (v.u.func->def->kind == WS_FK_AGGREGATOR)
			{
				if (strncmp(v.u.func->def->name, "bucketizer.", 11) == 0)
					return "BUCKETIZER";
				if (strncmp(v.u.func->def->name, "mapper.", 7) == 0)
					return "MAPPER";
				if (strncmp(v.u.func->def->name, "reducer.", 8) == 0)
					return "REDUCER";
				return "AGGREGATOR";
			}
			return "FUNCTION";
		case WS_GTS:
			return "GTS";
	}
	return "UNKNOWN";
}

/* ---------------------------------------------------------------------
 * lists
 * ---------------------------------------------------------------------
 */

WsList *
ws_list_new(int cap)
{
	WsList	   *l = palloc(sizeof(WsList));

	l->n = 0;
	l->cap = Max(cap, 4);
	l->items = palloc(sizeof(WsValue) * l->cap);
	return l;
}

/*
 * ws_list_reserve makes room in l for more items (doubling its capacity,
 * or more if that is not enough), the new array checked against the run's
 * memory limit first (st may be NULL: not counted).
 */
void
ws_list_reserve(WsState *st, WsList *l, int more)
{
	Size		need = (Size) l->n + (Size) more;

	if (need > (Size) l->cap)
	{
		Size		newcap = Max((Size) l->cap * 2, need);

		if (st != NULL)
			ws_check_alloc(st, newcap * sizeof(WsValue));
		if (newcap * sizeof(WsValue) > MaxAllocSize)
			ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							errmsg("WarpScript list too long")));
		l->items = repalloc(l->items, sizeof(WsValue) * newcap);
		l->cap = (int) newcap;
	}
}

void
ws_list_append(WsState *st, WsList *l, WsValue v)
{
	if (l->n >= l->cap)
		ws_list_reserve(st, l, 1);
	l->items[l->n++] = v;
}

/* ---------------------------------------------------------------------
 * maps
 * ---------------------------------------------------------------------
 */

static uint32
HashValue(WsValue v)
{
	switch (v.type)
	{
		case WS_NULL:
			return 0;
		case WS_LONG:
			return hash_bytes_uint32((uint32) v.u.l) ^ hash_bytes_uint32((uint32) (v.u.l >> 32));
		case WS_DOUBLE:
			{
				int64		bits;

				memcpy(&bits, &v.u.d, sizeof(bits));
				return hash_bytes_uint32((uint32) bits) ^ hash_bytes_uint32((uint32) (bits >> 32)) ^ 1;
			}
		case WS_BOOLEAN:
			return v.u.b ? 2 : 3;
		case WS_STRING:
			return hash_bytes((const unsigned char *) v.u.s->data, v.u.s->len);
		default:
			/* containers compare by content: one bucket chain for all */
			return 7;
	}
}

WsMap *
ws_map_new(int cap)
{
	WsMap	   *m = palloc0(sizeof(WsMap));

	m->cap = Max(cap, 4);
	m->keys = palloc(sizeof(WsValue) * m->cap);
	m->vals = palloc(sizeof(WsValue) * m->cap);
	return m;
}

static void
MapReindex(WsMap *m)
{
	int			size = 64;

	while (size < m->n * 2 + 2)
		size *= 2;
	if (m->index)
		pfree(m->index);
	m->index = palloc(sizeof(int) * size);
	m->index_size = size;
	memset(m->index, -1, sizeof(int) * size);
	for (int i = 0; i < m->n; i++)
	{
		uint32		h = HashValue(m->keys[i]) & (size - 1);

		while (m->index[h] >= 0)
			h = (h + 1) & (size - 1);
		m->index[h] = i;
	}
}

static int
MapFind(WsMap *m, WsValue k)
{
	if (m->index == NULL)
	{
		for (int i = 0; i < m->n; i++)
			if (ws_value_equal(m->keys[i], k))
				return i;
		return -1;
	}
	else
	{
		uint32		h = HashValue(k) & (m->index_size - 1);

		while (m->index[h] >= 0)
		{
			if (ws_value_equal(m->keys[m->index[h]], k))
				return m->index[h];
			h = (h + 1) & (m->index_size - 1);
		}
		return -1;
	}
}

WsValue *
ws_map_get(WsMap *m, WsValue k)
{
	int			i = MapFind(m, k);

	return i < 0 ? NULL : &m->vals[i];
}

/* ws_map_put adds or replaces; a new key goes last */
void
ws_map_put(WsState *st, WsMap *m, WsValue k, WsValue v)
{
	int			i = MapFind(m, k);

	if (i >= 0)
	{
		m->vals[i] = v;
		return;
	}
	if (m->n >= m->cap)
	{
		Size		newcap = (Size) m->cap * 2;

		if (st != NULL)
			ws_check_alloc(st, newcap * 2 * sizeof(WsValue));
		if (newcap * sizeof(WsValue) > MaxAllocSize)
			ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							errmsg("WarpScript map too large")));
		m->keys = repalloc(m->keys, sizeof(WsValue) * newcap);
		m->vals = repalloc(m->vals, sizeof(WsValue) * newcap);
		m->cap = newcap;
	}
	m->keys[m->n] = k;
	m->vals[m->n] = v;
	m->n++;
	if (m->index != NULL && m->n * 2 + 2 <= m->index_size)
	{
		uint32		h = HashValue(k) & (m->index_size - 1);

		while (m->index[h] >= 0)
			h = (h + 1) & (m->index_size - 1);
		m->index[h] = m->n - 1;
	}
	else if (m->n > 16)
		MapReindex(m);
}

bool
ws_map_remove(WsMap *m, WsValue k)
{
	int			i = MapFind(m, k);

	if (i < 0)
		return false;
	memmove(&m->keys[i], &m->keys[i + 1], sizeof(WsValue) * (m->n - i - 1));
	memmove(&m->vals[i], &m->vals[i + 1], sizeof(WsValue) * (m->n - i - 1));
	m->n--;
	if (m->index != NULL)
		MapReindex(m);
	return true;
}

/*
 * ws_value_equal is Java's equals(): a LONG never equals a DOUBLE, lists
 * and maps compare by content, GTS and macros by identity.
 */
bool
ws_value_equal(WsValue a, WsValue b)
{
	if (a.type != b.type)
		return false;
	switch (a.type)
	{
		case WS_NULL:
		case WS_MARK:
			return true;
		case WS_LONG:
			return a.u.l == b.u.l;
		case WS_DOUBLE:
			/* Double.equals: bitwise, so NaN equals NaN and 0.0 differs from -0.0 */
			return memcmp(&a.u.d, &b.u.d, sizeof(double)) == 0 ||
				(isnan(a.u.d) && isnan(b.u.d));
		case WS_BOOLEAN:
			return a.u.b == b.u.b;
		case WS_STRING:
			return a.u.s->len == b.u.s->len && memcmp(a.u.s->data, b.u.s->data, a.u.s->len) == 0;
		case WS_LIST:
			check_stack_depth();
			if (a.u.list == b.u.list)
				return true;
			if (a.u.list->n != b.u.list->n)
				return false;
			for (int i = 0; i < a.u.list->n; i++)
				if (!ws_value_equal(a.u.list->items[i], b.u.list->items[i]))
					return false;
			return true;
		case WS_MAP:
			check_stack_depth();
			if (a.u.map == b.u.map)
				return true;
			if (a.u.map->n != b.u.map->n)
				return false;
			for (int i = 0; i < a.u.map->n; i++)
			{
				WsValue    *o = ws_map_get(b.u.map, a.u.map->keys[i]);

				if (o == NULL || !ws_value_equal(a.u.map->vals[i], *o))
					return false;
			}
			return true;
		case WS_MACRO:
			return a.u.macro == b.u.macro;
		case WS_FUNC:
			return a.u.func == b.u.func ||
				(a.u.func->def == b.u.func->def && !a.u.func->has_param && !b.u.func->has_param);
		case WS_GTS:
			return a.u.gts == b.u.gts;
	}
	return false;
}

/* ---------------------------------------------------------------------
 * numbers as Java prints them
 * ---------------------------------------------------------------------
 */

/*
 * ws_append_double writes Java's Double.toString(d): the shortest digits
 * that read back as d; plain notation with at least one decimal for
 * 1e-3 <= |d| < 1e7, else d.dddE[-]n.
 */
void
ws_append_double(StringInfo buf, double d)
{
	char		tmp[40];
	char		digits[24];
	int			nd = 0;
	int			exp10;
	char	   *p;
	double		a = fabs(d);

	if (isnan(d))
	{
		appendStringInfoString(buf, "NaN");
		return;
	}
	if (isinf(d))
	{
		appendStringInfoString(buf, d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	if (d == 0)
	{
		appendStringInfoString(buf, signbit(d) ? "-0.0" : "0.0");
		return;
	}
	for (int prec = 1; prec <= 17; prec++)
	{
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, a);
		if (strtod(tmp, NULL) == a)
			break;
	}
	/* tmp is d[.ddd]e[+-]XX */
	for (p = tmp; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	exp10 = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';

	if (d < 0)
		appendStringInfoChar(buf, '-');
	if (a >= 1e-3 && a < 1e7)
	{
		if (exp10 >= 0)
		{
			for (int i = 0; i <= exp10; i++)
				appendStringInfoChar(buf, i < nd ? digits[i] : '0');
			appendStringInfoChar(buf, '.');
			if (nd > exp10 + 1)
				appendStringInfoString(buf, digits + exp10 + 1);
			else
				appendStringInfoChar(buf, '0');
		}
		else
		{
			appendStringInfoString(buf, "0.");
			for (int i = 0; i < -exp10 - 1; i++)
				appendStringInfoChar(buf, '0');
			appendStringInfoString(buf, digits);
		}
	}
	else
	{
		appendStringInfoChar(buf, digits[0]);
		appendStringInfoChar(buf, '.');
		if (nd > 1)
			appendStringInfoString(buf, digits + 1);
		else
			appendStringInfoChar(buf, '0');
		appendStringInfo(buf, "E%d", exp10);
	}
}

char *
ws_format_double(double d)
{
	StringInfoData buf;

	initStringInfo(&buf);
	ws_append_double(&buf, d);
	return buf.data;
}

/* ---------------------------------------------------------------------
 * percent encoding
 * ---------------------------------------------------------------------
 */

static int
HexDigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * ws_percent_decode decodes %XX sequences only (a '+' stays a '+'), as
 * WarpURLDecoder; bytes that are not UTF-8 become U+FFFD as Java's
 * decoder makes them.  A malformed escape is Java's error.
 */
char *
ws_percent_decode(WsState *st, const char *s, int len, int *outlen)
{
	StringInfoData raw;
	StringInfoData out;
	int			i;

	if (memchr(s, '%', len) == NULL)
	{
		*outlen = len;
		return pnstrdup(s, len);
	}
	initStringInfo(&raw);
	for (i = 0; i < len; i++)
	{
		if (s[i] != '%')
		{
			appendStringInfoChar(&raw, s[i]);
			continue;
		}
		if (i + 2 >= len)
			ws_error(st, "URLDecoder: Incomplete trailing escape (%%) pattern");
		{
			int			h = HexDigit(s[i + 1]),
						l = HexDigit(s[i + 2]);

			if (h < 0 || l < 0)
				ws_error(st, "URLDecoder: Illegal hex characters in escape (%%) pattern - Error at index 0 in: \"%.2s\"",
						 s + i + 1);
			appendStringInfoChar(&raw, (char) (h * 16 + l));
			i += 2;
		}
	}
	/* keep valid UTF-8, replace the rest */
	initStringInfo(&out);
	for (i = 0; i < raw.len;)
	{
		const unsigned char *c = (const unsigned char *) raw.data + i;
		int			l = pg_utf_mblen(c);

		if (i + l <= raw.len && pg_utf8_islegal(c, l))
		{
			appendBinaryStringInfo(&out, (const char *) c, l);
			i += l;
		}
		else
		{
			appendStringInfoString(&out, "\xEF\xBF\xBD");
			i++;
		}
	}
	*outlen = out.len;
	return out.data;
}

/* ws_append_percent_encoded is WarpURLEncoder: keeps A-Z a-z 0-9 . - * _ */
void
ws_append_percent_encoded(StringInfo buf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			*p == '.' || *p == '-' || *p == '*' || *p == '_')
			appendStringInfoChar(buf, *p);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hex[*p >> 4]);
			appendStringInfoChar(buf, hex[*p & 15]);
		}
	}
}

/* ---------------------------------------------------------------------
 * snapshots: how Warp 10 prints macros and parametrised functions
 * ---------------------------------------------------------------------
 */

void
ws_append_snapshot(StringInfo buf, WsValue v)
{
	check_stack_depth();
	switch (v.type)
	{
		case WS_NULL:
			appendStringInfoString(buf, "NULL");
			break;
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
			appendStringInfoChar(buf, '\'');
			ws_append_percent_encoded(buf, v.u.s->data);
			appendStringInfoChar(buf, '\'');
			break;
		case WS_LIST:
			appendStringInfoString(buf, "[ ");
			for (int i = 0; i < v.u.list->n; i++)
			{
				ws_append_snapshot(buf, v.u.list->items[i]);
				appendStringInfoChar(buf, ' ');
			}
			appendStringInfoChar(buf, ']');
			break;
		case WS_MAP:
			appendStringInfoString(buf, "{ ");
			for (int i = 0; i < v.u.map->n; i++)
			{
				ws_append_snapshot(buf, v.u.map->keys[i]);
				appendStringInfoChar(buf, ' ');
				ws_append_snapshot(buf, v.u.map->vals[i]);
				appendStringInfoChar(buf, ' ');
			}
			appendStringInfoChar(buf, '}');
			break;
		case WS_MACRO:
			appendStringInfoString(buf, "<% ");
			for (int i = 0; i < v.u.macro->n; i++)
			{
				const WsStmt *s = &v.u.macro->stmts[i];

				switch (s->kind)
				{
					case WS_ST_PUSH:
						ws_append_snapshot(buf, s->v);
						break;
					case WS_ST_CALL:
						appendStringInfoString(buf, s->fn->name);
						break;
					case WS_ST_LOAD:
						ws_append_snapshot(buf, s->v);
						appendStringInfoString(buf, " LOAD");
						break;
					case WS_ST_RUN:
						ws_append_snapshot(buf, s->v);
						appendStringInfoString(buf, " RUN");
						break;
				}
				appendStringInfoChar(buf, ' ');
			}
			appendStringInfoString(buf, "%>");
			break;
		case WS_MARK:
			appendStringInfoString(buf, "MARK");
			break;
		case WS_FUNC:
			if (v.u.func->has_param)
			{
				ws_append_snapshot(buf, v.u.func->param);
				appendStringInfoChar(buf, ' ');
			}
			appendStringInfoString(buf, v.u.func->def->name);
			break;
		case WS_GTS:
			appendStringInfoString(buf, "GTS");
			break;
	}
}

/* ---------------------------------------------------------------------
 * JSON out
 * ---------------------------------------------------------------------
 */

/*
 * ws_append_json_string escapes as Jackson with ESCAPE_NON_ASCII: \" \\
 * \b \t \n \f \r, other control characters and everything beyond ASCII
 * as \uXXXX (upper-case hex, surrogate pairs past U+FFFF).
 */
void
ws_append_json_string(StringInfo buf, const char *s, int len)
{
	static const char hex[] = "0123456789ABCDEF";
	int			i = 0;

	appendStringInfoChar(buf, '"');
	while (i < len)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x80)
		{
			switch (c)
			{
				case '"':
					appendStringInfoString(buf, "\\\"");
					break;
				case '\\':
					appendStringInfoString(buf, "\\\\");
					break;
				case '\b':
					appendStringInfoString(buf, "\\b");
					break;
				case '\t':
					appendStringInfoString(buf, "\\t");
					break;
				case '\n':
					appendStringInfoString(buf, "\\n");
					break;
				case '\f':
					appendStringInfoString(buf, "\\f");
					break;
				case '\r':
					appendStringInfoString(buf, "\\r");
					break;
				default:
					if (c < 0x20)
						appendStringInfo(buf, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
					else
						appendStringInfoChar(buf, c);
			}
			i++;
		}
		else
		{
			int			l = pg_utf_mblen((const unsigned char *) s + i);
			pg_wchar	cp;

			if (i + l > len)
				l = len - i;
			cp = utf8_to_unicode((const unsigned char *) s + i);
			if (cp > 0xFFFF)
			{
				pg_wchar	v = cp - 0x10000;
				unsigned	hi = 0xD800 + (v >> 10),
							lo = 0xDC00 + (v & 0x3FF);

				appendStringInfo(buf, "\\u%c%c%c%c\\u%c%c%c%c",
								 hex[(hi >> 12) & 15], hex[(hi >> 8) & 15], hex[(hi >> 4) & 15], hex[hi & 15],
								 hex[(lo >> 12) & 15], hex[(lo >> 8) & 15], hex[(lo >> 4) & 15], hex[lo & 15]);
			}
			else
				appendStringInfo(buf, "\\u%c%c%c%c",
								 hex[(cp >> 12) & 15], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15], hex[cp & 15]);
			i += Max(l, 1);
		}
	}
	appendStringInfoChar(buf, '"');
}

/* ws_append_json writes one value as exec's JSON answer has it */
void
ws_append_json(WsState *st, StringInfo buf, WsValue v, int depth)
{
	check_stack_depth();
	if (depth > 1000)
		ws_error(st, "Recursive data structures exceeded 1000 levels.");
	switch (v.type)
	{
		case WS_NULL:
		case WS_MARK:
			appendStringInfoString(buf, "null");
			break;
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
			ws_append_json_string(buf, v.u.s->data, v.u.s->len);
			break;
		case WS_LIST:
			appendStringInfoChar(buf, '[');
			for (int i = 0; i < v.u.list->n; i++)
			{
				if (i > 0)
					appendStringInfoChar(buf, ',');
				ws_append_json(st, buf, v.u.list->items[i], depth + 1);
			}
			appendStringInfoChar(buf, ']');
			break;
		case WS_MAP:
			appendStringInfoChar(buf, '{');
			for (int i = 0; i < v.u.map->n; i++)
			{
				WsValue		k = v.u.map->keys[i];

				if (i > 0)
					appendStringInfoChar(buf, ',');
				if (k.type == WS_STRING)
					ws_append_json_string(buf, k.u.s->data, k.u.s->len);
				else if (k.type == WS_NULL)
					appendStringInfoString(buf, "\"null\"");
				else
				{
					/* keys are stringified */
					StringInfoData kb;

					initStringInfo(&kb);
					if (k.type == WS_LONG || k.type == WS_DOUBLE || k.type == WS_BOOLEAN)
						ws_append_json(st, &kb, k, depth + 1);
					else
						ws_append_snapshot(&kb, k);
					ws_append_json_string(buf, kb.data, kb.len);
				}
				appendStringInfoChar(buf, ':');
				ws_append_json(st, buf, v.u.map->vals[i], depth + 1);
			}
			appendStringInfoChar(buf, '}');
			break;
		case WS_MACRO:
		case WS_FUNC:
			{
				StringInfoData sb;

				initStringInfo(&sb);
				ws_append_snapshot(&sb, v);
				ws_append_json_string(buf, sb.data, sb.len);
			}
			break;
		case WS_GTS:
			ws_append_gts_json(buf, v.u.gts);
			break;
	}
}

/* ---------------------------------------------------------------------
 * JSON in (JSON->)
 * ---------------------------------------------------------------------
 */

typedef struct JsonBuild
{
	WsState    *st;
	WsValue    *containers;		/* open lists and maps, innermost last */
	int			n;
	int			cap;
	char	   *key;			/* the field whose value comes next */
	int			keylen;
	WsValue		result;
	bool		done;
} JsonBuild;

static void
JsonAdd(JsonBuild *b, WsValue v)
{
	if (b->n == 0)
	{
		b->result = v;
		b->done = true;
		return;
	}
	if (b->containers[b->n - 1].type == WS_LIST)
		ws_list_append(b->st, b->containers[b->n - 1].u.list, v);
	else
		ws_map_put(b->st, b->containers[b->n - 1].u.map, ws_string(b->key, b->keylen), v);
}

static void
JsonOpen(JsonBuild *b, WsValue c)
{
	JsonAdd(b, c);
	if (b->n >= b->cap)
	{
		b->cap = Max(8, b->cap * 2);
		b->containers = b->containers ? repalloc(b->containers, sizeof(WsValue) * b->cap)
			: palloc(sizeof(WsValue) * b->cap);
	}
	b->containers[b->n++] = c;
}

static void
JsonObjectStart(void *state)
{
	JsonOpen(state, ws_map_value(ws_map_new(4)));
}

static void
JsonArrayStart(void *state)
{
	JsonOpen(state, ws_list_value(ws_list_new(4)));
}

static void
JsonClose(void *state)
{
	((JsonBuild *) state)->n--;
}

static void
JsonField(void *state, char *fname, bool isnull)
{
	JsonBuild  *b = state;

	b->key = fname;
	b->keylen = strlen(fname);
}

static void
JsonScalar(void *state, char *token, JsonTokenType type)
{
	JsonBuild  *b = state;
	WsValue		v;

	switch (type)
	{
		case JSON_TOKEN_STRING:
			v = ws_cstring(token);
			break;
		case JSON_TOKEN_NUMBER:
			{
				char	   *end;
				long long	l;

				errno = 0;
				l = strtoll(token, &end, 10);
				if (*end == '\0' && errno == 0)
					v = ws_long(l);
				else
					v = ws_double(strtod(token, NULL));
			}
			break;
		case JSON_TOKEN_TRUE:
			v = ws_bool(true);
			break;
		case JSON_TOKEN_FALSE:
			v = ws_bool(false);
			break;
		default:
			v = ws_null();
			break;
	}
	JsonAdd(b, v);
}

/* ws_from_json parses JSON text into lists, maps and scalars */
WsValue
ws_from_json(WsState *st, const char *json, int len)
{
	JsonBuild	b = {0};
	JsonSemAction sem = {0};
	JsonLexContext *lex;
	JsonParseErrorType err;

	b.st = st;
	b.result = ws_null();
	sem.semstate = &b;
	sem.object_start = JsonObjectStart;
	sem.object_end = JsonClose;
	sem.array_start = JsonArrayStart;
	sem.array_end = JsonClose;
	sem.object_field_start = JsonField;
	sem.scalar = JsonScalar;
	lex = makeJsonLexContextCstringLen(pnstrdup(json, len), len, PG_UTF8, true);
	err = pg_parse_json(lex, &sem);
	if (err != JSON_SUCCESS)
		ws_error(st, "JSON-> failed to parse the JSON: %s", json_errdetail(err, lex));
	return b.result;
}
