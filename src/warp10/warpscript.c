/*-------------------------------------------------------------------------
 *
 * warpscript.c
 *	  The WarpScript interpreter: vscope.warp10_exec(script), its settings
 *	  (Warp 10's warpscript.* limits), the lexer (Warp 10's
 *	  MemoryWarpScriptStack rules: per line, strings ending at a quote
 *	  followed by whitespace, comments, multiline strings, macros), the
 *	  stack, symbols, macro execution and error reporting.
 *
 *	  A script runs line by line on one stack.  Every error, whatever
 *	  raised it (a function, a limit, a statement timeout, FETCH's SQL),
 *	  is caught once in vscope_warp10_exec() and raised again with SQLSTATE
 *	  VSW00, Warp 10's message ("Exception at '...=>STMT<=...' in section
 *	  [TOP] (cause)") built from the frames that were running, and the
 *	  line, operation count and fetched points in the detail, which
 *	  vscoped turns into X-Warp10-Error-Line and the other headers.
 *
 *	  All memory of a run is in one context made per call.
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warpscript.h"

#include <math.h>
#include <limits.h>

#include "access/htup_details.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* settings: Warp 10's defaults (etc/conf.templates/standalone/20-warpscript.conf) */
int			ws_max_ops = 100000;
int			ws_max_fetch = 1000000;
int			ws_max_gts = 100000;
int			ws_max_buckets = 100000;
int			ws_max_depth = 1000;
int			ws_max_recursion = 16;
int			ws_max_loop_ms = 5000;
int			ws_max_symbols = 64;
int			ws_max_memory_kb = 256 * 1024;

/*
 * WsInitSettings registers the vscope.warp10_* settings.  Only a superuser
 * may change them: exec is open to anyone, its role must not lift them.
 */
void
WsInitSettings(void)
{
	DefineCustomIntVariable("vscope.warp10_max_ops",
							"Most operations one WarpScript execution may run (Warp 10's warpscript.maxops).",
							"Every statement counts, in macros too, and every macro run.",
							&ws_max_ops, 100000, 1, INT_MAX, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vscope.warp10_max_fetch",
							"Most data points one WarpScript execution may fetch (Warp 10's warpscript.maxfetch).",
							NULL,
							&ws_max_fetch, 1000000, 0, INT_MAX, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vscope.warp10_max_gts",
							"Most series one WarpScript execution may fetch or find (Warp 10's warpscript.maxgts).",
							NULL,
							&ws_max_gts, 100000, 0, INT_MAX, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vscope.warp10_max_buckets",
							"Most buckets one WarpScript BUCKETIZE may make per series (Warp 10's warpscript.maxbuckets).",
							NULL,
							&ws_max_buckets, 100000, 1, INT_MAX, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vscope.warp10_max_depth",
							"Most values the WarpScript stack may hold (Warp 10's warpscript.maxdepth).",
							NULL,
							&ws_max_depth, 1000, 1, 1000000, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vscope.warp10_max_recursion",
							"Deepest nesting of WarpScript macro runs (Warp 10's warpscript.maxrecursion).",
							"The script's line counts as the first level.",
							&ws_max_recursion, 16, 1, 1000, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vscope.warp10_max_loop",
							"Longest one WarpScript loop (WHILE, UNTIL, FOR, FOREACH, LMAP) may run (Warp 10's warpscript.maxloop).",
							"The whole script is bounded by statement_timeout.",
							&ws_max_loop_ms, 5000, 1, INT_MAX, PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vscope.warp10_max_symbols",
							"Most variables one WarpScript execution may store (Warp 10's warpscript.maxsymbols).",
							NULL,
							&ws_max_symbols, 64, 1, 100000, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vscope.warp10_max_memory",
							"Most memory one WarpScript execution may hold.",
							"vscope's own limit (Warp 10 has none): lists, strings and series a script builds count.",
							&ws_max_memory_kb, 256 * 1024, 1024, INT_MAX / 2, PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------
 * errors
 * ---------------------------------------------------------------------
 */

/*
 * ws_error raises a script error with Warp 10's message; the frames say
 * where, vscope_warp10_exec() adds that.
 */
void
ws_error(WsState *st, const char *fmt,...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	ereport(ERROR,
			(errcode(ERRCODE_VS_WARPSCRIPT),
			 errmsg_internal("%s", buf.data)));
	pg_unreachable();
}

/* ---------------------------------------------------------------------
 * the stack
 * ---------------------------------------------------------------------
 */

void
ws_push(WsState *st, WsValue v)
{
	if (st->depth >= st->maxdepth)
		ws_error(st, "Stack depth would exceed set limit of %d. Consider raising the limit or using capabilities.",
				 st->maxdepth);
	if (st->depth >= st->cap)
	{
		st->cap = Min(st->maxdepth, Max(16, st->cap * 2));
		st->stack = st->stack ? repalloc(st->stack, sizeof(WsValue) * st->cap)
			: palloc(sizeof(WsValue) * st->cap);
	}
	st->stack[st->depth++] = v;
}

WsValue
ws_pop(WsState *st)
{
	if (st->depth <= 0)
		ws_error(st, "Empty stack.");
	return st->stack[--st->depth];
}

WsValue *
ws_peek(WsState *st, int i)
{
	if (i < 0 || i >= st->depth)
		ws_error(st, i < 0 ? "Index out of bound." : "Empty stack.");
	return &st->stack[st->depth - 1 - i];
}

/* ---------------------------------------------------------------------
 * limits
 * ---------------------------------------------------------------------
 */

/* ws_count_op counts one operation against the cap, and lets interrupts in */
void
ws_count_op(WsState *st)
{
	CHECK_FOR_INTERRUPTS();
	st->ops++;
	if (st->ops > st->maxops)
		ws_error(st, "Operation count (" INT64_FORMAT ") exceeded maximum of " INT64_FORMAT ". Consider raising the limit or using capabilities.",
				 st->ops, st->maxops);
	if ((st->ops & 255) == 0)
		ws_check_alloc(st, 0);
}

/*
 * ws_check_alloc refuses to go on when the run holds, or is about to
 * allocate (more bytes), more than vscope.warp10_max_memory.
 */
void
ws_check_alloc(WsState *st, Size more)
{
	Size		held = MemoryContextMemAllocated(st->cxt, true);

	if (held + more > st->maxmemory || more > MaxAllocHugeSize)
		ws_error(st, "Memory use would exceed the limit of %zu kB (vscope.warp10_max_memory).",
				 st->maxmemory / 1024);
}

/* ws_now_us is the current time in Unix microseconds */
int64
ws_now_us(void)
{
	TimestampTz now = GetCurrentTimestamp();

	return now + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

int64
ws_loop_start(void)
{
	return GetCurrentTimestamp();
}

/* ws_loop_check stops a loop that ran longer than vscope.warp10_max_loop */
void
ws_loop_check(WsState *st, const char *fname, int64 started)
{
	if (st->maxloop_ms > 0 && GetCurrentTimestamp() - started > st->maxloop_ms * 1000)
		ws_error(st, "%s executed for too long (> " INT64_FORMAT " ms). Consider raising the limit or using capabilities.",
				 fname, st->maxloop_ms);
}

/* ---------------------------------------------------------------------
 * symbols
 * ---------------------------------------------------------------------
 */

void
ws_store(WsState *st, const char *name, WsValue v)
{
	for (int i = 0; i < st->nsym; i++)
		if (strcmp(st->symnames[i], name) == 0)
		{
			st->symvals[i] = v;
			return;
		}
	if (st->nsym >= st->maxsymbols)
		ws_error(st, "Symbol table has reached its maximum number of entries: %d", st->maxsymbols);
	if (st->nsym >= st->symcap)
	{
		st->symcap = Max(16, st->symcap * 2);
		st->symnames = st->symnames ? repalloc(st->symnames, sizeof(char *) * st->symcap)
			: palloc(sizeof(char *) * st->symcap);
		st->symvals = st->symvals ? repalloc(st->symvals, sizeof(WsValue) * st->symcap)
			: palloc(sizeof(WsValue) * st->symcap);
	}
	st->symnames[st->nsym] = pstrdup(name);
	st->symvals[st->nsym] = v;
	st->nsym++;
}

bool
ws_load(WsState *st, const char *name, WsValue *out)
{
	for (int i = 0; i < st->nsym; i++)
		if (strcmp(st->symnames[i], name) == 0)
		{
			*out = st->symvals[i];
			return true;
		}
	return false;
}

/* ---------------------------------------------------------------------
 * the function table: every file's table, merged and sorted once
 * ---------------------------------------------------------------------
 */

static const WsFuncDef **functions = NULL;
static int	nfunctions = 0;

static int
CompareFuncDefs(const void *a, const void *b)
{
	return strcmp((*(const WsFuncDef *const *) a)->name, (*(const WsFuncDef *const *) b)->name);
}

static void
BuildFunctionTable(void)
{
	const WsFuncDef *tables[] = {ws_core_functions, ws_gts_functions, ws_framework_functions,
	ws_fetch_functions};
	const int	sizes[] = {ws_core_nfunctions, ws_gts_nfunctions, ws_framework_nfunctions,
	ws_fetch_nfunctions};
	int			total = 0;
	const WsFuncDef **all;

	for (int t = 0; t < (int) lengthof(tables); t++)
		total += sizes[t];
	all = MemoryContextAlloc(TopMemoryContext, sizeof(WsFuncDef *) * total);
	total = 0;
	for (int t = 0; t < (int) lengthof(tables); t++)
		for (int i = 0; i < sizes[t]; i++)
			all[total++] = &tables[t][i];
	qsort(all, total, sizeof(WsFuncDef *), CompareFuncDefs);
	for (int i = 1; i < total; i++)
		if (strcmp(all[i - 1]->name, all[i]->name) == 0)
			elog(ERROR, "WarpScript function \"%s\" is defined twice", all[i]->name);
	nfunctions = total;
	functions = all;
}

/* ws_find_function returns the library function of that name, or NULL */
const WsFuncDef *
ws_find_function(const char *name)
{
	int			lo = 0,
				hi;

	if (functions == NULL)
		BuildFunctionTable();
	hi = nfunctions - 1;
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(name, functions[mid]->name);

		if (c == 0)
			return functions[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * frames and recursion
 * ---------------------------------------------------------------------
 */

static WsFrame *
PushFrame(WsState *st)
{
	if (++st->reclevel > st->maxrecursion)
		ws_error(st, "Maximum recursion level reached (%d)", st->reclevel);
	if (st->nframes >= st->framecap)
	{
		st->framecap = Max(8, st->framecap * 2);
		st->frames = st->frames ? repalloc(st->frames, sizeof(WsFrame) * st->framecap)
			: palloc(sizeof(WsFrame) * st->framecap);
	}
	memset(&st->frames[st->nframes], 0, sizeof(WsFrame));
	return &st->frames[st->nframes++];
}

static void
PopFrame(WsState *st)
{
	st->nframes--;
	st->reclevel--;
}

/* ---------------------------------------------------------------------
 * macros
 * ---------------------------------------------------------------------
 */

static void
MacroAdd(WsState *st, WsMacro *m, WsStmt s)
{
	if (m->n >= m->cap)
	{
		m->cap = Max(8, m->cap * 2);
		m->stmts = m->stmts ? repalloc(m->stmts, sizeof(WsStmt) * m->cap)
			: palloc(sizeof(WsStmt) * m->cap);
	}
	m->stmts[m->n++] = s;
}

static void
RunMacroNamed(WsState *st, const char *name)
{
	WsValue		v;

	if (!ws_load(st, name, &v))
		ws_error(st, "Unknown macro '%s'", name);
	if (v.type != WS_MACRO)
		ws_error(st, "'%s' is not a macro.", name);
	ws_exec_macro(st, v.u.macro);
}

/* ws_exec_macro runs a macro, a recursion level deeper */
void
ws_exec_macro(WsState *st, const WsMacro *m)
{
	WsFrame    *f;
	int			frame;

	ws_count_op(st);
	f = PushFrame(st);
	f->is_macro = true;
	f->macro = m;
	frame = st->nframes - 1;
	for (int i = 0; i < m->n; i++)
	{
		const WsStmt *s = &m->stmts[i];

		st->frames[frame].idx = i;
		ws_count_op(st);
		switch (s->kind)
		{
			case WS_ST_PUSH:
				ws_push(st, s->v);
				break;
			case WS_ST_CALL:
				s->fn->fn(st, s->fn);
				break;
			case WS_ST_LOAD:
				{
					WsValue		v;

					if (!ws_load(st, s->v.u.s->data, &v))
						ws_error(st, "LOAD symbol '%s' does not exist.", s->v.u.s->data);
					ws_push(st, v);
				}
				break;
			case WS_ST_RUN:
				RunMacroNamed(st, s->v.u.s->data);
				break;
		}
	}
	PopFrame(st);
}

/* ---------------------------------------------------------------------
 * the lexer
 * ---------------------------------------------------------------------
 */

/* ws_is_long_literal: [+-]?[0-9]+ (Warp 10's UnsafeString.isLong) */
static bool
IsLongLiteral(const char *s, int len)
{
	int			i = 0;

	if (len == 0)
		return false;
	if (s[0] == '+' || s[0] == '-')
		i++;
	if (i >= len)
		return false;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* IsDoubleLiteral follows UnsafeString.isDouble: digits first, one dot, one e */
static bool
IsDoubleLiteral(const char *s, int len)
{
	int			i = 0,
				ne = 0,
				nsign = 0,
				ndot = 0;

	if (len == 0)
		return false;
	if (s[0] == '+' || s[0] == '-')
	{
		i++;
		if (i >= len)
			return false;
	}
	if (len - i == 3 && strncmp(s + i, "NaN", 3) == 0)
		return true;
	if (len - i == 8 && strncmp(s + i, "Infinity", 8) == 0)
		return true;
	if (s[i] < '0' || s[i] > '9')
		return false;
	for (; i < len; i++)
	{
		char		c = s[i];

		if (c >= '0' && c <= '9')
			continue;
		if (c == 'e' || c == 'E')
		{
			if (nsign)
				return false;
			ne++;
		}
		else if (c == '-' || c == '+')
		{
			if (!ne)
				return false;
			nsign++;
		}
		else if (c == '.')
		{
			if (ne || nsign)
				return false;
			ndot++;
		}
		else
			return false;
	}
	if (ne > 1 || nsign > 1 || ndot > 1)
		return false;
	return ne || ndot;
}

/* ParseRadixLong reads 0x / 0b literals; more digits keep the low 64 bits */
static int64
ParseRadixLong(WsState *st, const char *s, int len, int radix)
{
	uint64		v = 0;

	for (int i = 2; i < len; i++)
	{
		int			d;
		char		c = s[i];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			d = 99;
		if (d >= radix)
			ws_error(st, "For input string: \"%.*s\"%s", len - 2, s + 2,
					 radix == 16 ? " under radix 16" : " under radix 2");
		v = v * radix + d;
	}
	return (int64) v;
}

static bool
IsWordCI(const char *s, int len, const char *w)
{
	return (int) strlen(w) == len && pg_strncasecmp(s, w, len) == 0;
}

/* Emit pushes a literal, or adds it to the macro being built */
static void
Emit(WsState *st, WsValue v)
{
	if (st->nbuilding > 0)
	{
		WsStmt		s = {WS_ST_PUSH, NULL, v};

		MacroAdd(st, st->building[st->nbuilding - 1], s);
	}
	else
		ws_push(st, v);
}

/* Statement handles one word that is not a string literal nor a comment */
static void
Statement(WsState *st, const char *w, int len)
{
	char	   *word = pnstrdup(w, len);

	if (strcmp(word, "%>") == 0)
	{
		WsMacro    *m;

		if (st->nbuilding == 0)
			ws_error(st, "Not inside a macro definition.");
		m = st->building[--st->nbuilding];
		Emit(st, (WsValue)
			 {
			 .type = WS_MACRO,.u.macro = m
			 });
	}
	else if (strcmp(word, "<%") == 0)
	{
		if (st->nbuilding >= st->buildcap)
		{
			st->buildcap = Max(8, st->buildcap * 2);
			st->building = st->building ? repalloc(st->building, sizeof(WsMacro *) * st->buildcap)
				: palloc(sizeof(WsMacro *) * st->buildcap);
		}
		st->building[st->nbuilding++] = palloc0(sizeof(WsMacro));
	}
	else if (len > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'b'))
		Emit(st, ws_long(ParseRadixLong(st, w, len, w[1] == 'x' ? 16 : 2)));
	else if (IsLongLiteral(w, len))
	{
		char	   *endp;
		long long	l;

		errno = 0;
		l = strtoll(word, &endp, 10);
		if (errno == ERANGE)
			ws_error(st, "For input string: \"%s\"", word);
		Emit(st, ws_long(l));
	}
	else if (IsDoubleLiteral(w, len))
		Emit(st, ws_double(strtod(word, NULL)));
	else if (IsWordCI(w, len, "T") || IsWordCI(w, len, "true"))
		Emit(st, ws_bool(true));
	else if (IsWordCI(w, len, "F") || IsWordCI(w, len, "false"))
		Emit(st, ws_bool(false));
	else if (w[0] == '$')
	{
		if (st->nbuilding > 0)
		{
			WsStmt		s = {WS_ST_LOAD, NULL, ws_cstring(word + 1)};

			MacroAdd(st, st->building[st->nbuilding - 1], s);
		}
		else
		{
			WsValue		v;

			if (!ws_load(st, word + 1, &v))
				ws_error(st, "Unknown symbol '%s'", word + 1);
			ws_push(st, v);
		}
	}
	else if (len > 1 && w[0] == '!' && w[1] == '$')
	{
		WsValue		v;

		if (!ws_load(st, word + 2, &v))
		{
			if (st->nbuilding > 1)
				ws_error(st, "Early binding is not possible inside a macro.");
			ws_error(st, "Unknown symbol '%s'", word + 2);
		}
		Emit(st, v);
	}
	else if (w[0] == '@')
	{
		if (st->nbuilding > 0)
		{
			WsStmt		s = {WS_ST_RUN, NULL, ws_cstring(word + 1)};

			MacroAdd(st, st->building[st->nbuilding - 1], s);
		}
		else
			RunMacroNamed(st, word + 1);
	}
	else
	{
		const WsFuncDef *f = ws_find_function(word);

		if (f == NULL)
			ws_error(st, "Unknown function '%s'", word);
		if (st->nbuilding > 0)
		{
			WsStmt		s = {WS_ST_CALL, f, {0}};

			MacroAdd(st, st->building[st->nbuilding - 1], s);
		}
		else
			f->fn(st, f);
	}
}

static bool
LineIs(const char *line, int len, const char *what)
{
	int			b = 0,
				e = len;

	while (b < e && (unsigned char) line[b] <= ' ')
		b++;
	while (e > b && (unsigned char) line[e - 1] <= ' ')
		e--;
	return e - b == (int) strlen(what) && strncmp(line + b, what, e - b) == 0;
}

static int
FindCommentEnd(const char *line, int len, int from)
{
	for (int i = from; i + 1 < len; i++)
		if (line[i] == '*' && line[i + 1] == '/')
			return i;
	return -1;
}

/*
 * ExecLine runs one line of script, as MemoryWarpScriptStack.exec(line)
 * does: a recursion level of its own, the frame records the statement for
 * the error message.
 */
static void
ExecLine(WsState *st, const char *line, int len)
{
	WsFrame    *f = PushFrame(st);
	int			frame = st->nframes - 1;
	int			start = 0;
	int			pos;
	int			trimmed;

	f->is_macro = false;
	f->line = line;
	f->linelen = len;

	if (st->in_multiline)
	{
		if (LineIs(line, len, "'>"))
		{
			WsValue		s;

			st->in_multiline = false;
			s = ws_string(st->multiline.data, st->multiline.len);
			resetStringInfo(&st->multiline);
			Emit(st, s);
		}
		else
		{
			if (st->multiline.len > 0)
				appendStringInfoChar(&st->multiline, '\n');
			appendBinaryStringInfo(&st->multiline, line, len);
		}
		PopFrame(st);
		return;
	}
	if (st->in_comment)
	{
		int			e = FindCommentEnd(line, len, 0);

		if (e < 0)
		{
			PopFrame(st);
			return;
		}
		start = e;
	}

	trimmed = len;
	while (trimmed > 0 && (unsigned char) line[trimmed - 1] <= ' ')
		trimmed--;

	for (pos = start; pos < len; pos++)
	{
		int			end;

		if ((unsigned char) line[pos] <= ' ')
			continue;
		st->frames[frame].pos = pos;
		st->frames[frame].end = pos + 1;

		if (pos < len - 1 && line[pos] == '/' && line[pos + 1] == '*')
		{
			int			e;

			st->in_comment = true;
			e = FindCommentEnd(line, len, pos + 2);
			if (e < 0)
				break;
			pos = e;
		}
		if (pos < len - 1 && line[pos] == '*' && line[pos + 1] == '/')
		{
			if (!st->in_comment)
				ws_error(st, "Not inside a comment.");
			if (pos == len - 2 || line[pos + 2] == ' ')
			{
				st->in_comment = false;
				pos = pos + 1;	/* the loop steps past the '/' */
				continue;
			}
			else
			{
				int			e = FindCommentEnd(line, len, pos + 2);

				if (e < 0)
					break;
				pos = e - 1;
				continue;
			}
		}
		if (st->in_comment)
			continue;
		if (line[pos] == '#' || (pos < len - 1 && line[pos] == '/' && line[pos + 1] == '/'))
			break;

		ws_count_op(st);

		if (trimmed == 0)
			break;
		if (line[pos] == '"' || line[pos] == '\'')
		{
			char		sep = line[pos];
			int			strend = -1;

			if (pos != trimmed - 1)
			{
				for (int i = pos + 1; i < trimmed; i++)
					if (line[i] == sep && (i == trimmed - 1 || line[i + 1] == ' '))
					{
						strend = i;
						break;
					}
			}
			if (strend < 0)
			{
				st->frames[frame].end = len;
				ws_error(st, "Cannot find end of string");
			}
			st->frames[frame].end = strend;
			{
				int			outlen;
				char	   *s = ws_percent_decode(st, line + pos + 1, strend - pos - 1, &outlen);

				Emit(st, ws_string(s, outlen));
			}
			pos = strend;		/* the loop steps past the quote */
			continue;
		}

		end = pos;
		while (end < len && (unsigned char) line[end] > ' ')
			end++;
		st->frames[frame].end = end;
		if (end - pos == 2 && line[pos] == '<' && line[pos + 1] == '\'')
		{
			if (!LineIs(line, len, "<'"))
				ws_error(st, "Can only start multiline strings by using <' on a line by itself.");
			st->in_multiline = true;
			resetStringInfo(&st->multiline);
			break;
		}
		Statement(st, line + pos, end - pos);
		pos = end - 1;
	}
	PopFrame(st);
}

/*
 * ws_exec_script runs a whole script (or a string given to EVAL) line by
 * line; lines end at \n, \r\n or \r.  count_lines: the script itself (its
 * line numbers are the error lines), not a nested EVAL.
 */
static void
ExecScript(WsState *st, const char *script, int len, bool count_lines)
{
	int			i = 0;

	while (i < len)
	{
		int			b = i;
		int			e;

		while (i < len && script[i] != '\n' && script[i] != '\r')
			i++;
		e = i;
		if (i < len && script[i] == '\r')
			i++;
		if (i < len && script[i] == '\n' && (i == e || script[i - 1] == '\r'))
			i++;
		if (count_lines)
		{
			st->lineno++;
			if (st->lineon && !st->in_multiline)
				st->section = psprintf("[Line #" INT64_FORMAT "]", st->lineno);
		}
		ExecLine(st, script + b, e - b);
	}
}

/* ws_exec_string runs a string as script (EVAL on a STRING) */
void		ws_exec_string(WsState *st, const char *s, int len);

void
ws_exec_string(WsState *st, const char *s, int len)
{
	ExecScript(st, s, len, false);
}

/* ---------------------------------------------------------------------
 * error messages in Warp 10's form
 * ---------------------------------------------------------------------
 */

/* AppendChars appends at most n characters (not bytes) of s[from, to) */
static void
AppendContext(StringInfo buf, const char *line, int from, int to)
{
	if (from < 0)
		from = 0;
	if (to > from)
		appendBinaryStringInfo(buf, line + from, to - from);
}

/* back up n characters from byte offset pos */
static int
CharsBack(const char *line, int pos, int n)
{
	while (n > 0 && pos > 0)
	{
		pos--;
		while (pos > 0 && ((unsigned char) line[pos] & 0xC0) == 0x80)
			pos--;
		n--;
	}
	return pos;
}

static int
CharsForward(const char *line, int len, int pos, int n)
{
	while (n > 0 && pos < len)
	{
		pos += pg_utf_mblen((const unsigned char *) line + pos);
		n--;
	}
	return Min(pos, len);
}

/* StatementText is how Warp 10 names a macro's statement in a message */
static void
AppendStatementText(StringInfo buf, const WsStmt *s)
{
	switch (s->kind)
	{
		case WS_ST_CALL:
			appendStringInfoString(buf, s->fn->name);
			break;
		case WS_ST_LOAD:
			appendStringInfoString(buf, "LOAD");
			break;
		case WS_ST_RUN:
			appendStringInfoString(buf, "RUN");
			break;
		case WS_ST_PUSH:
			if (s->v.type == WS_STRING)
				appendBinaryStringInfo(buf, s->v.u.s->data, s->v.u.s->len);
			else
				ws_append_snapshot(buf, s->v);
			break;
	}
}

/*
 * BuildMessage wraps the cause in one "Exception at ..." per frame, the
 * outermost first, as Warp 10's nested exceptions print.
 */
static char *
BuildMessage(WsState *st, const char *cause)
{
	StringInfoData buf;
	int			nwrapped = 0;

	initStringInfo(&buf);
	for (int i = 0; i < st->nframes; i++)
	{
		WsFrame    *f = &st->frames[i];

		if (f->is_macro)
		{
			appendStringInfoString(&buf, "Exception at '");
			if (f->idx < f->macro->n)
				AppendStatementText(&buf, &f->macro->stmts[f->idx]);
			appendStringInfo(&buf, "' in section '%s' (", st->section);
		}
		else
		{
			int			pos = Min(f->pos, Max(f->linelen - 1, 0));
			int			end = Max(Min(f->end, f->linelen), pos);

			appendStringInfoString(&buf, "Exception at '");
			AppendContext(&buf, f->line, CharsBack(f->line, pos, 30), pos);
			appendStringInfoString(&buf, "=>");
			AppendContext(&buf, f->line, pos, end);
			appendStringInfoString(&buf, "<=");
			AppendContext(&buf, f->line, end, CharsForward(f->line, f->linelen, end, 30));
			appendStringInfo(&buf, "' in section %s (", st->section);
		}
		nwrapped++;
	}
	appendStringInfoString(&buf, cause);
	for (int i = 0; i < nwrapped; i++)
		appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* ---------------------------------------------------------------------
 * vscope.warp10_exec(script)
 * ---------------------------------------------------------------------
 */

static WsState *
NewState(MemoryContext cxt)
{
	WsState    *st = palloc0(sizeof(WsState));

	st->cxt = cxt;
	st->maxops = ws_max_ops;
	st->maxfetch = ws_max_fetch;
	st->maxgts = ws_max_gts;
	st->maxbuckets = ws_max_buckets;
	st->maxdepth = ws_max_depth;
	st->maxrecursion = ws_max_recursion;
	st->maxloop_ms = ws_max_loop_ms;
	st->maxsymbols = ws_max_symbols;
	st->maxmemory = (Size) ws_max_memory_kb * 1024;
	st->section = "[TOP]";
	initStringInfo(&st->multiline);
	return st;
}

/* the stack as Warp 10's exec answers it: a JSON array, top first */
static char *
StackJson(WsState *st)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = st->depth - 1; i >= 0; i--)
	{
		if (i < st->depth - 1)
			appendStringInfoChar(&buf, ',');
		ws_append_json(st, &buf, st->stack[i], 0);
		if ((Size) buf.len > st->maxmemory)
			ws_error(st, "Memory use would exceed the limit of %zu kB (vscope.warp10_max_memory).",
					 st->maxmemory / 1024);
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

VS_FUNCTION_INFO_V1(vscope_warp10_exec);

/*
 * vscope_warp10_exec runs a WarpScript and returns (stack, ops, fetched):
 * the stack as Warp 10's JSON, the operations run and the points
 * fetched.  A failing script raises VSW00 with Warp 10's message and the
 * detail "line N, N operations, N points fetched".
 */
Datum
vscope_warp10_exec(PG_FUNCTION_ARGS)
{
	text	   *script = PG_GETARG_TEXT_PP(0);
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt;
	WsState    *volatile st;
	char	   *volatile json = NULL;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	cxt = AllocSetContextCreate(caller, "WarpScript", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	st = NewState(cxt);

	PG_TRY();
	{
		ExecScript(st, VARDATA_ANY(script), VARSIZE_ANY_EXHDR(script), true);
		st->nframes = 0;
		if (st->in_multiline)
			ws_error(st, "Unbalanced <' construct.");
		if (st->in_comment)
			ws_error(st, "Unbalanced /* construct.");
		if (st->nbuilding > 0)
			ws_error(st, "Unbalanced <%% construct.");
		json = StackJson(st);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *msg;
		const char *cause;
		int64		line = st->lineno;
		int64		ops = st->ops;
		int64		fetched = st->fetched;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		/* cancel, timeout, out of memory...: not the script's error */
		if (VsErrorMustPropagate(edata->sqlerrcode))
			PG_RE_THROW();
		FlushErrorState();
		/* the cause as Warp 10 words it, then where it struck */
		cause = edata->message ? edata->message : "error";
		if (st->sql_caller != NULL && edata->sqlerrcode != ERRCODE_VS_WARPSCRIPT)
		{
			/* FETCH or FIND failed in the functions they read through */
			if (edata->sqlerrcode == MAKE_SQLSTATE('V', 'S', '4', '0', '3'))
				cause = psprintf("%s given an invalid read token. (%s)", st->sql_caller, cause);
			else if (edata->sqlerrcode == ERRCODE_VS_TOO_LARGE)
				cause = psprintf("%s exceeded limit of " INT64_FORMAT " datapoints, current count is " INT64_FORMAT ". Consider raising the limit or using capabilities.",
								 st->sql_caller, st->read_limit, st->read_limit + 1);
			else
				cause = psprintf("%s failed. (%s)", st->sql_caller, cause);
		}
		msg = BuildMessage(st, cause);
		ereport(ERROR,
				(errcode(ERRCODE_VS_WARPSCRIPT),
				 errmsg_internal("%s", msg),
				 errdetail_internal("line " INT64_FORMAT ", " INT64_FORMAT " operations, " INT64_FORMAT " points fetched",
									line, ops, fetched)));
	}
	PG_END_TRY();

	MemoryContextSwitchTo(caller);
	values[0] = PointerGetDatum(cstring_to_text(json));
	values[1] = Int64GetDatum(st->ops);
	values[2] = Int64GetDatum(st->fetched);
	{
		HeapTuple	tup = heap_form_tuple(tupdesc, values, nulls);

		MemoryContextDelete(cxt);
		PG_RETURN_DATUM(HeapTupleGetDatum(tup));
	}
}
