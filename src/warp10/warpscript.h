/*-------------------------------------------------------------------------
 *
 * warpscript.h
 *	  The WarpScript interpreter behind vscope.warp10_exec(): values, the
 *	  stack, Geo Time Series (GTS), the function table, and what every
 *	  warpscript*.c file shares.
 *
 *	  Memory: everything an execution makes lives in one memory context
 *	  made per call (WsState.cxt) and dropped at its end; nothing is freed
 *	  piecemeal.  Lists, maps, macros and GTS are shared by reference, as
 *	  in Warp 10 (DUP copies the reference, SORT and PUT work in place).
 *
 *	  Errors: ws_error() raises an ERROR with SQLSTATE VSW00 carrying only
 *	  Warp 10's own message; warp10_exec() catches every error once, at the
 *	  top, and rewrites it into Warp 10's "Exception at '...' in section
 *	  [TOP] (...)" form from the frames that were running (WsFrame).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_WARPSCRIPT_H
#define VSCOPE_WARPSCRIPT_H

#include "core/vscope.h"

#include "lib/stringinfo.h"

/* a script error: vscoped answers it 500 with the X-Warp10-Error-* headers */
#define ERRCODE_VS_WARPSCRIPT	MAKE_SQLSTATE('V','S','W','0','0')

/* settings (warpscript.c), Warp 10's warpscript.* defaults */
extern int	ws_max_ops;
extern int	ws_max_fetch;
extern int	ws_max_gts;
extern int	ws_max_buckets;
extern int	ws_max_depth;
extern int	ws_max_recursion;
extern int	ws_max_loop_ms;
extern int	ws_max_symbols;
extern int	ws_max_memory_kb;
extern void WsInitSettings(void);

typedef enum WsType
{
	WS_NULL,
	WS_LONG,
	WS_DOUBLE,
	WS_BOOLEAN,
	WS_STRING,
	WS_LIST,
	WS_MAP,
	WS_MACRO,
	WS_MARK,
	WS_FUNC,
	WS_GTS
} WsType;

typedef struct WsString WsString;
typedef struct WsList WsList;
typedef struct WsMap WsMap;
typedef struct WsMacro WsMacro;
typedef struct WsFunc WsFunc;
typedef struct WsGts WsGts;
typedef struct WsState WsState;
typedef struct WsFuncDef WsFuncDef;

typedef struct WsValue
{
	WsType		type;
	union
	{
		int64		l;
		double		d;
		bool		b;
		WsString   *s;
		WsList	   *list;
		WsMap	   *map;
		WsMacro    *macro;
		WsFunc	   *func;
		WsGts	   *gts;
	}			u;
} WsValue;

/* a string: UTF-8, may hold NUL bytes (percent-decoded %00) */
struct WsString
{
	int			len;
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* NUL-terminated too */
};

struct WsList
{
	int			n;
	int			cap;
	WsValue    *items;
};

/* insertion-ordered map; a hash index over the keys once it grows */
struct WsMap
{
	int			n;
	int			cap;
	WsValue    *keys;
	WsValue    *vals;
	int		   *index;			/* open addressing, -1 empty; NULL while small */
	int			index_size;
};

/* one statement of a macro */
typedef enum WsStmtKind
{
	WS_ST_PUSH,					/* push v */
	WS_ST_CALL,					/* call fn */
	WS_ST_LOAD,					/* $name: push the variable v.s */
	WS_ST_RUN					/* @name: run the macro stored as v.s */
} WsStmtKind;

typedef struct WsStmt
{
	WsStmtKind	kind;
	const WsFuncDef *fn;
	WsValue		v;
} WsStmt;

struct WsMacro
{
	int			n;
	int			cap;
	WsStmt	   *stmts;
};

/*
 * A function object on the stack: a bucketizer, mapper, reducer, filter or
 * any function pushed by name; param is the constant a parametrised one
 * took (42 mapper.add), WS_NULL type with has_param false otherwise.
 */
struct WsFunc
{
	const WsFuncDef *def;
	bool		has_param;
	WsValue		param;
	WsValue		param2;			/* percentile's type */
	void	   *extra;			/* a filter's compiled matchers */
};

/* GTS value types; a GTS holds one, fixed by its first value */
typedef enum WsGtsType
{
	GTS_UNDEFINED,
	GTS_LONG,
	GTS_DOUBLE,
	GTS_BOOLEAN,
	GTS_STRING
} WsGtsType;

/* labels or attributes: sorted by key, keys unique */
typedef struct WsLabels
{
	int			n;
	char	  **k;
	char	  **v;
} WsLabels;

struct WsGts
{
	char	   *cls;
	WsLabels	labels;
	WsLabels	attrs;
	int64		la;				/* last activity */
	WsGtsType	type;
	int			n;
	int			cap;
	int64	   *ticks;
	int64	   *lv;				/* LONG and BOOLEAN values */
	double	   *dv;				/* DOUBLE values */
	WsString  **sv;				/* STRING values */
	bool		sorted;			/* ticks known to be in order ... */
	bool		reversed;		/* ... descending if so */
	bool		bucketized;
	int64		lastbucket;
	int64		bucketspan;
	int64		bucketcount;
};

/* a function of the library */
typedef void (*WsFn) (WsState *st, const WsFuncDef *def);

/* an aggregator: bucketizer, mapper or reducer over a window (frameworks) */
typedef struct WsWindow WsWindow;
typedef bool (*WsAggFn) (WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out);
typedef bool (*WsFilterFn) (WsState *st, const WsFunc *f, WsGts *g);

typedef enum WsFuncKind
{
	WS_FK_FUNCTION,				/* runs when called */
	WS_FK_AGGREGATOR,			/* a value: bucketizer/mapper/reducer */
	WS_FK_FILTER				/* a value: filter */
} WsFuncKind;

struct WsFuncDef
{
	const char *name;
	WsFn		fn;				/* what calling the name does */
	WsFuncKind	kind;
	WsAggFn		agg;
	WsFilterFn	filter;
	int			op;				/* a variant for functions sharing code */
	unsigned	roles;			/* WS_ROLE_* where an aggregator may serve */
};

#define WS_ROLE_BUCKETIZER	1
#define WS_ROLE_MAPPER		2
#define WS_ROLE_REDUCER		4

/* the values an aggregator sees */
struct WsWindow
{
	int64		tick;			/* the tick the result goes to */
	int			n;
	const int64 *ticks;			/* n ticks (reducers: member's tick or the tick) */
	const WsValue *values;		/* n values; WS_NULL type = the member has none */
	int			nnull;			/* how many values are null (reducers) */
	bool		reducer;
	WsLabels   *member_labels;	/* reducers: each member's labels (n) */
};

/* what was running when an error struck: for Warp 10's message */
typedef struct WsFrame
{
	bool		is_macro;
	/* a line being run */
	const char *line;
	int			linelen;
	int			pos;
	int			end;
	/* a macro being run */
	const WsMacro *macro;
	int			idx;
} WsFrame;

struct WsState
{
	MemoryContext cxt;

	WsValue    *stack;			/* stack[depth - 1] is the top */
	int			depth;
	int			cap;

	/* symbols: few (vscope.warp10_max_symbols), searched linearly */
	int			nsym;
	int			symcap;
	char	  **symnames;
	WsValue    *symvals;

	/* macros under construction, innermost last */
	int			nbuilding;
	int			buildcap;
	WsMacro   **building;

	/* lexer state across lines */
	bool		in_comment;
	bool		in_multiline;
	StringInfoData multiline;

	/* execution frames, frames[nframes - 1] innermost */
	int			nframes;
	int			framecap;
	WsFrame    *frames;
	int			reclevel;

	int64		lineno;
	const char *section;
	bool		lineon;

	/* counters and caps */
	int64		ops;
	int64		fetched;
	int64		gtscount;
	int64		maxops;
	int64		maxfetch;
	int64		maxgts;
	int64		maxbuckets;
	int			maxdepth;
	int			maxrecursion;
	int64		maxloop_ms;
	int			maxsymbols;
	Size		maxmemory;

	/* FETCH/FIND while they read through SQL: for the error message */
	const char *sql_caller;
	int64		read_limit;		/* the points total the read may reach */
};

/* ---- warpscript.c: the interpreter ---- */
extern void ws_error(WsState *st, const char *fmt,...) pg_attribute_printf(2, 3) pg_attribute_noreturn();
extern void ws_push(WsState *st, WsValue v);
extern WsValue ws_pop(WsState *st);
extern WsValue *ws_peek(WsState *st, int i);	/* i = 0 is the top */
extern void ws_exec_macro(WsState *st, const WsMacro *m);
extern void ws_count_op(WsState *st);
extern void ws_check_alloc(WsState *st, Size more);
extern void ws_store(WsState *st, const char *name, WsValue v);
extern bool ws_load(WsState *st, const char *name, WsValue *out);
extern const WsFuncDef *ws_find_function(const char *name);
extern int64 ws_now_us(void);
extern int64 ws_loop_start(void);
extern void ws_loop_check(WsState *st, const char *fname, int64 started);

/* ---- warpscript_value.c: values, strings, lists, maps, JSON ---- */
extern WsValue ws_long(int64 l);
extern WsValue ws_double(double d);
extern WsValue ws_bool(bool b);
extern WsValue ws_null(void);
extern WsValue ws_mark(void);
extern WsValue ws_string(const char *s, int len);
extern WsValue ws_cstring(const char *s);
extern WsValue ws_list_value(WsList *l);
extern WsValue ws_map_value(WsMap *m);
extern WsValue ws_gts_value(WsGts *g);
extern WsList *ws_list_new(int cap);
extern void ws_list_reserve(WsState *st, WsList *l, int more);
extern void ws_list_append(WsState *st, WsList *l, WsValue v);
extern WsMap *ws_map_new(int cap);
extern void ws_map_put(WsState *st, WsMap *m, WsValue k, WsValue v);
extern WsValue *ws_map_get(WsMap *m, WsValue k);
extern bool ws_map_remove(WsMap *m, WsValue k);
extern bool ws_value_equal(WsValue a, WsValue b);
extern const char *ws_type_name(WsValue v);
extern bool ws_is_number(WsValue v);
extern double ws_to_double(WsValue v);
extern void ws_append_double(StringInfo buf, double d);
extern void ws_append_json(WsState *st, StringInfo buf, WsValue v, int depth);
extern void ws_append_json_string(StringInfo buf, const char *s, int len);
extern void ws_append_snapshot(StringInfo buf, WsValue v);
extern char *ws_percent_decode(WsState *st, const char *s, int len, int *outlen);
extern void ws_append_percent_encoded(StringInfo buf, const char *s);
extern WsValue ws_from_json(WsState *st, const char *json, int len);
extern char *ws_format_double(double d);

/* ---- warpscript_gts.c: GTS ---- */
extern WsGts *ws_gts_new(int cap);
extern WsGts *ws_gts_clone(WsGts *g, bool with_values);
extern void ws_gts_add(WsState *st, WsGts *g, int64 tick, WsValue v);
extern int64 ws_double_to_long(double d);
extern void ws_gts_add_points(WsState *st, WsGts *g, int n, const int64 *ticks,
							  const bool *is_int, const int64 *lv, const double *dv);
extern WsValue ws_gts_value_at(const WsGts *g, int i);
extern void ws_gts_sort(WsGts *g, bool reverse);
extern void ws_gts_set_label(WsLabels *l, const char *k, const char *v);
extern const char *ws_labels_get(const WsLabels *l, const char *k);
extern WsLabels ws_labels_copy(const WsLabels *l);
extern WsValue ws_labels_map(WsState *st, const WsLabels *l);
extern void ws_append_gts_json(StringInfo buf, const WsGts *g);
extern int	ws_gts_compare_meta(const WsGts *a, const WsGts *b);
extern int64 ws_gts_last_tick(const WsGts *g);
extern int64 ws_gts_first_tick(const WsGts *g);

/* ---- warpscript_regex.c helpers (in warpscript_filter.c) ---- */
typedef struct WsMatcher WsMatcher;
extern WsMatcher *ws_matcher_new(WsState *st, const char *sel, bool bare_is_exact);
extern bool ws_matcher_match(WsMatcher *m, const char *s);

/* ---- function tables, one per file ---- */
extern const WsFuncDef ws_core_functions[];
extern const int ws_core_nfunctions;
extern const WsFuncDef ws_gts_functions[];
extern const int ws_gts_nfunctions;
extern const WsFuncDef ws_framework_functions[];
extern const int ws_framework_nfunctions;
extern const WsFuncDef ws_fetch_functions[];
extern const int ws_fetch_nfunctions;

/* argument helpers shared by the function files */
extern WsValue ws_pop_type(WsState *st, WsType t, const char *fname, const char *what);
extern int64 ws_pop_long(WsState *st, const char *fname, const char *what);
extern WsGts *ws_pop_gts(WsState *st, const char *fname);
extern void ws_collect_gts(WsState *st, WsValue v, WsList *out, const char *fname);

/* time helpers (warpscript_core.c) */
extern bool ws_parse_iso8601(const char *s, int64 *out);
extern char *ws_format_iso8601(int64 us);

#endif							/* VSCOPE_WARPSCRIPT_H */
