/*-------------------------------------------------------------------------
 *
 * expression.c
 *	  OpenTSDB 2.4's expression arithmetic without its script engine.
 *
 *	  OpenTSDB evaluates /api/query/exp's expressions with JEXL 2.1, a
 *	  scripting language; vscope reads only arithmetic: numbers, variables,
 *	  + - * / % (and JEXL's words div and mod), unary minus and
 *	  parentheses, within TS_EXPR_MAX_* bounds, and never runs anything
 *	  else.  The arithmetic is JEXL's (lenient, as OpenTSDB builds its
 *	  engine): a division or remainder by zero is 0; numbers without a
 *	  point are integers, so a part made of numbers only computes in
 *	  integers (3 / 2 is 1; 010 is octal 8; 0x10 is 16); numbers with a
 *	  point are floats (1.1 is the float 1.1 read back as a double, 1.1d a
 *	  double); once a variable is involved everything is a double.  The
 *	  parser writes the expression in postfix order, folding the parts made
 *	  of numbers only, so that evaluating a point is a loop over doubles.
 *
 *	  The join is OpenTSDB's UnionIterator and IntersectionIterator: each
 *	  variable's series are keyed by their tags (with useQueryTags only the
 *	  tag keys of the query's filters; with includeAggTags their aggregated
 *	  tag keys too; a series without tags has the empty key); the union
 *	  joins every key, a variable without a series of that key counting
 *	  as 0, the intersection only keys every variable has (none at all is
 *	  an error).  Within one variable the later series of a key wins.
 *	  Values are matched by timestamp (TimeSyncedIterator), on the union
 *	  of every joined series' timestamps (/api/query/exp writes them side
 *	  by side) or of each joined series' own (gexp's functions iterate
 *	  each on its own): where a series has no point, or a NaN, its
 *	  variable's fill value stands in.
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/expression.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>

#include "common/shortest_dec.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"

/* ---- the parsed expression: postfix code ---- */

typedef enum ExprOp
{
	EI_NUM, EI_VAR, EI_NEG, EI_ADD, EI_SUB, EI_MUL, EI_DIV, EI_MOD
} ExprOp;

/* a JEXL number: an integer (Integer, Long) or a floating point one */
typedef struct ExprNum
{
	bool		is_int;
	int64		i;
	double		d;				/* set for both */
} ExprNum;

typedef struct ExprInstr
{
	ExprOp		op;
	int			var;			/* EI_VAR */
	ExprNum		num;			/* EI_NUM */
} ExprInstr;

struct TsExpr
{
	ExprInstr  *code;
	int			ncode;
	int			maxstack;
	char	  **vars;			/* in order of first appearance */
	int			nvars;
};

typedef struct ExprParser
{
	const char *text;
	int			pos;
	int			depth;
	int			nodes;
	char	   *error;
	TsExpr	   *e;
	int			cap;
} ExprParser;

static const char *const jexl_words[] = {
	"and", "else", "empty", "eq", "false", "for", "foreach", "ge", "gt", "if", "in",
	"le", "lt", "ne", "new", "not", "null", "or", "return", "size", "true", "var", "while"
};

static bool
Fail(ExprParser *p, const char *fmt, const char *what)
{
	if (p->error == NULL)
		p->error = psprintf(fmt, what, p->pos + 1);
	return false;
}

static void
SkipSpace(ExprParser *p)
{
	while (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' || p->text[p->pos] == '\n' ||
		   p->text[p->pos] == '\r' || p->text[p->pos] == '\f')
		p->pos++;
}

static bool
IsIdentStart(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static bool
IsIdentChar(char c)
{
	return IsIdentStart(c) || (c >= '0' && c <= '9');
}

/* Word: is the word w next (not followed by an identifier character)? */
static bool
Word(ExprParser *p, const char *w)
{
	int			len = strlen(w);

	return strncmp(p->text + p->pos, w, len) == 0 && !IsIdentChar(p->text[p->pos + len]);
}

static bool
Emit(ExprParser *p, ExprInstr in)
{
	TsExpr	   *e = p->e;

	if (++p->nodes > TS_EXPR_MAX_NODES)
		return Fail(p, "the expression has too many terms (at most " CppAsString2(TS_EXPR_MAX_NODES) ")%s at position %d", "");
	if (e->ncode == p->cap)
	{
		p->cap = p->cap ? p->cap * 2 : 16;
		e->code = e->code ? repalloc(e->code, sizeof(ExprInstr) * p->cap)
			: palloc(sizeof(ExprInstr) * p->cap);
	}
	e->code[e->ncode++] = in;
	return true;
}

static double
IntToDouble(int64 i)
{
	return (double) i;
}

/* NumFrom128 makes an integer result, or a double when it leaves int64 */
static ExprNum
NumFrom128(__int128 v)
{
	ExprNum		n = {0};

	if (v >= PG_INT64_MIN && v <= PG_INT64_MAX)
	{
		n.is_int = true;
		n.i = (int64) v;
		n.d = IntToDouble(n.i);
	}
	else
		n.d = (double) v;
	return n;
}

static ExprNum
NumDouble(double d)
{
	ExprNum		n = {.is_int = false, .i = 0, .d = d};

	return n;
}

/*
 * DoubleOp is JexlArithmetic on doubles, lenient: dividing or taking the
 * remainder by zero answers 0.
 */
static inline double
DoubleOp(ExprOp op, double l, double r)
{
	switch (op)
	{
		case EI_ADD:
			return l + r;
		case EI_SUB:
			return l - r;
		case EI_MUL:
			return l * r;
		case EI_DIV:
			return r == 0.0 ? 0.0 : l / r;
		case EI_MOD:
			return r == 0.0 ? 0.0 : fmod(l, r);
		default:
			return NAN;
	}
}

/* NumOp is JexlArithmetic on two numbers: integers stay integers */
static ExprNum
NumOp(ExprOp op, ExprNum l, ExprNum r)
{
	__int128	a = l.i;
	__int128	b = r.i;

	if (!l.is_int || !r.is_int)
		return NumDouble(DoubleOp(op, l.d, r.d));
	switch (op)
	{
		case EI_ADD:
			return NumFrom128(a + b);
		case EI_SUB:
			return NumFrom128(a - b);
		case EI_MUL:
			return NumFrom128(a * b);
		case EI_DIV:
			/* BigInteger.divide truncates; by zero: lenient 0.0 */
			return b == 0 ? NumDouble(0.0) : NumFrom128(a / b);
		case EI_MOD:
			/* BigInteger.mod: never negative, and fails on a modulus <= 0 */
			return b <= 0 ? NumDouble(0.0) : NumFrom128(((a % b) + b) % b);
		default:
			return NumDouble(NAN);
	}
}

/* EmitBinary emits an operator, folding it when both operands are numbers */
static bool
EmitBinary(ExprParser *p, ExprOp op)
{
	TsExpr	   *e = p->e;
	ExprInstr	in = {.op = op};

	if (e->ncode >= 2 && e->code[e->ncode - 1].op == EI_NUM && e->code[e->ncode - 2].op == EI_NUM)
	{
		e->code[e->ncode - 2].num = NumOp(op, e->code[e->ncode - 2].num, e->code[e->ncode - 1].num);
		e->ncode--;
		return true;
	}
	return Emit(p, in);
}

/*
 * ParseNumber reads a JEXL number literal: integers in decimal, octal
 * (leading 0) or hex (0x), with an optional l/L or h/H suffix; reals as
 * digits.digits[e[+-]digits] with an optional suffix: d/D a double, b/B
 * a decimal (read as a double here), f/F or none a float.
 */
static bool
ParseNumber(ExprParser *p)
{
	const char *s = p->text + p->pos;
	int			n = 0;
	ExprInstr	in = {.op = EI_NUM};

	while (isdigit((unsigned char) s[n]))
		n++;
	if (s[n] == '.' && isdigit((unsigned char) s[n + 1]))
	{
		char	   *lit;
		char		suffix = 0;

		n++;
		while (isdigit((unsigned char) s[n]))
			n++;
		if ((s[n] == 'e' || s[n] == 'E') &&
			(isdigit((unsigned char) s[n + 1]) ||
			 ((s[n + 1] == '+' || s[n + 1] == '-') && isdigit((unsigned char) s[n + 2]))))
		{
			n += 2;
			while (isdigit((unsigned char) s[n]))
				n++;
		}
		lit = pnstrdup(s, n);
		if (strchr("dDfFbB", s[n]) && s[n] != '\0')
			suffix = s[n++];
		if (suffix == 'd' || suffix == 'D' || suffix == 'b' || suffix == 'B')
			in.num = NumDouble(strtod(lit, NULL));
		else
		{
			/* Float.valueOf, then Float.toString read back as a double */
			float		f = strtof(lit, NULL);

			if (isinf(f))
				in.num = NumDouble(f > 0 ? INFINITY : -INFINITY);
			else
			{
				char		buf[FLOAT_SHORTEST_DECIMAL_LEN];

				float_to_shortest_decimal_buf(f, buf);
				in.num = NumDouble(strtod(buf, NULL));
			}
		}
		pfree(lit);
	}
	else
	{
		int			base = 10;
		int			digits = 0;
		int			len;
		__int128	v = 0;
		double		approx = 0;
		bool		big = false;

		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char) s[2]))
		{
			base = 16;
			digits = 2;
			n = 2;
			while (isxdigit((unsigned char) s[n]))
				n++;
		}
		else if (s[0] == '0')
		{
			base = 8;
			n = 1;
			while (s[n] >= '0' && s[n] <= '7')
				n++;
		}
		len = n;
		for (int k = digits; k < len; k++)
		{
			int			d = isdigit((unsigned char) s[k]) ? s[k] - '0' : tolower((unsigned char) s[k]) - 'a' + 10;

			/* past int64 JEXL has a BigInteger: a double is near enough */
			approx = approx * base + d;
			if (v > ((__int128) PG_INT64_MAX) * 16)
				big = true;
			else
				v = v * base + d;
		}
		if (strchr("lLhH", s[n]) && s[n] != '\0')
			n++;
		in.num = big ? NumDouble(approx) : NumFrom128(v);
	}
	p->pos += n;
	return Emit(p, in);
}

static bool ParseAdditive(ExprParser *p);

/* Unexpected fails on what is at the current position: a word or a character */
static bool
Unexpected(ExprParser *p, const char *suffix)
{
	const char *at = p->text + p->pos;
	int			n = 0;

	if (IsIdentChar(*at))
		while (IsIdentChar(at[n]))
			n++;
	else
		n = pg_mblen(at);
	for (size_t k = 0; k < lengthof(jexl_words); k++)
		if (strlen(jexl_words[k]) == (size_t) n && strncmp(at, jexl_words[k], n) == 0)
			return Fail(p, "\"%s\" at position %d is not arithmetic: only numbers, variables, "
						"+ - * / %%, div, mod and parentheses are supported", pnstrdup(at, n));
	return Fail(p, psprintf("unexpected \"%%s\" at position %%d%s", suffix), pnstrdup(at, n));
}

static bool
ParsePrimary(ExprParser *p)
{
	char		c;

	SkipSpace(p);
	c = p->text[p->pos];
	if (c == '(')
	{
		if (++p->depth > TS_EXPR_MAX_DEPTH)
			return Fail(p, "the expression is nested too deeply (at most " CppAsString2(TS_EXPR_MAX_DEPTH) " levels)%s at position %d", "");
		p->pos++;
		if (!ParseAdditive(p))
			return false;
		SkipSpace(p);
		if (p->text[p->pos] != ')')
			return p->text[p->pos] == '\0'
				? Fail(p, "a parenthesis is not closed%s at position %d", "")
				: Unexpected(p, "");
		p->pos++;
		p->depth--;
		return true;
	}
	if (isdigit((unsigned char) c))
		return ParseNumber(p);
	if (IsIdentStart(c))
	{
		int			n = 0;
		char	   *name;
		ExprInstr	in = {.op = EI_VAR};
		TsExpr	   *e = p->e;

		while (IsIdentChar(p->text[p->pos + n]))
			n++;
		name = pnstrdup(p->text + p->pos, n);
		for (size_t k = 0; k < lengthof(jexl_words); k++)
			if (strcmp(name, jexl_words[k]) == 0)
				return Fail(p, "\"%s\" at position %d is not arithmetic: only numbers, variables, "
							"+ - * / %%, div, mod and parentheses are supported", name);
		if (strcmp(name, "div") == 0 || strcmp(name, "mod") == 0)
			return Fail(p, "\"%s\" at position %d needs a term before it", name);
		in.var = -1;
		for (int k = 0; k < e->nvars && in.var < 0; k++)
			if (strcmp(e->vars[k], name) == 0)
				in.var = k;
		if (in.var < 0)
		{
			e->vars = e->vars ? repalloc(e->vars, sizeof(char *) * (e->nvars + 1))
				: palloc(sizeof(char *));
			e->vars[e->nvars] = name;
			in.var = e->nvars++;
		}
		p->pos += n;
		return Emit(p, in);
	}
	if (c == '\0')
		return Fail(p, "the expression ends where a term was expected%s at position %d", "");
	if (c == '"' || c == '\'')
		return Fail(p, "strings are not supported (%s at position %d): only numbers, variables, "
					"+ - * / %%, div, mod and parentheses are", pnstrdup(&c, 1));
	return Unexpected(p, "");
}

static bool
ParseUnary(ExprParser *p)
{
	SkipSpace(p);
	if (p->text[p->pos] == '-')
	{
		TsExpr	   *e = p->e;
		ExprInstr	in = {.op = EI_NEG};

		if (++p->depth > TS_EXPR_MAX_DEPTH)
			return Fail(p, "the expression is nested too deeply (at most " CppAsString2(TS_EXPR_MAX_DEPTH) " levels)%s at position %d", "");
		p->pos++;
		if (!ParseUnary(p))
			return false;
		p->depth--;
		if (e->code[e->ncode - 1].op == EI_NUM)
		{
			ExprNum    *n = &e->code[e->ncode - 1].num;

			/* negate: Integer/Long wrap, doubles change sign */
			if (n->is_int)
			{
				n->i = (int64) (0 - (uint64) n->i);
				n->d = IntToDouble(n->i);
			}
			else
				n->d = -n->d;
			return true;
		}
		return Emit(p, in);
	}
	if (p->text[p->pos] == '!' || p->text[p->pos] == '~' || p->text[p->pos] == '+')
		return Unexpected(p, "");
	return ParsePrimary(p);
}

static bool
ParseMultiplicative(ExprParser *p)
{
	if (!ParseUnary(p))
		return false;
	for (;;)
	{
		ExprOp		op;

		SkipSpace(p);
		if (p->text[p->pos] == '*')
		{
			op = EI_MUL;
			p->pos++;
		}
		else if (p->text[p->pos] == '/')
		{
			op = EI_DIV;
			p->pos++;
		}
		else if (p->text[p->pos] == '%')
		{
			op = EI_MOD;
			p->pos++;
		}
		else if (Word(p, "div"))
		{
			op = EI_DIV;
			p->pos += 3;
		}
		else if (Word(p, "mod"))
		{
			op = EI_MOD;
			p->pos += 3;
		}
		else
			return true;
		if (!ParseUnary(p) || !EmitBinary(p, op))
			return false;
	}
}

static bool
ParseAdditive(ExprParser *p)
{
	if (!ParseMultiplicative(p))
		return false;
	for (;;)
	{
		ExprOp		op;

		SkipSpace(p);
		if (p->text[p->pos] == '+')
			op = EI_ADD;
		else if (p->text[p->pos] == '-')
			op = EI_SUB;
		else
			return true;
		p->pos++;
		if (!ParseMultiplicative(p) || !EmitBinary(p, op))
			return false;
	}
}

TsExpr *
ts_expr_parse(const char *text, char **error)
{
	ExprParser	p = {0};
	int			depth = 0;

	*error = NULL;
	if (strlen(text) > TS_EXPR_MAX_LEN)
	{
		*error = pstrdup("the expression is too long (at most " CppAsString2(TS_EXPR_MAX_LEN) " bytes)");
		return NULL;
	}
	p.text = text;
	p.e = palloc0(sizeof(TsExpr));
	if (ParseAdditive(&p))
	{
		SkipSpace(&p);
		if (p.text[p.pos] != '\0')
			(void) Unexpected(&p, p.text[p.pos] == ')' ? ": no parenthesis is open" : "");
	}
	if (p.error != NULL)
	{
		*error = p.error;
		return NULL;
	}
	/* the stack the postfix code needs */
	for (int k = 0; k < p.e->ncode; k++)
	{
		ExprOp		op = p.e->code[k].op;

		if (op == EI_NUM || op == EI_VAR)
			depth++;
		else if (op != EI_NEG)
			depth--;
		p.e->maxstack = Max(p.e->maxstack, depth);
	}
	return p.e;
}

int
ts_expr_nvars(const TsExpr *e)
{
	return e->nvars;
}

const char *
ts_expr_var(const TsExpr *e, int i)
{
	return e->vars[i];
}

/* Eval runs the postfix code on the variables' values */
static inline double
Eval(const TsExpr *e, const double *vars, double *stack)
{
	int			sp = 0;

	for (int k = 0; k < e->ncode; k++)
	{
		const ExprInstr *in = &e->code[k];

		switch (in->op)
		{
			case EI_NUM:
				stack[sp++] = in->num.d;
				break;
			case EI_VAR:
				stack[sp++] = vars[in->var];
				break;
			case EI_NEG:
				stack[sp - 1] = -stack[sp - 1];
				break;
			default:
				sp--;
				stack[sp - 1] = DoubleOp(in->op, stack[sp - 1], stack[sp]);
				break;
		}
	}
	return stack[0];
}

/* ---- the join ---- */

typedef struct JoinEntry
{
	char	   *key;
	int			var;
	int			idx;
} JoinEntry;

static int
CmpEntry(const void *a, const void *b)
{
	const JoinEntry *x = a;
	const JoinEntry *y = b;
	int			c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	if (x->var != y->var)
		return x->var < y->var ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static bool
InList(char **list, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* JoinKey flattens a series' tags (and aggregated tag keys) into its join key */
static char *
JoinKey(const TsJoinSeries *s, const TsJoinSet *set, bool use_query_tags, bool include_agg_tags)
{
	StringInfoData k;

	initStringInfo(&k);
	if (s->ntags == 0)
		return k.data;
	for (int t = 0; t < s->ntags; t++)
	{
		if (use_query_tags && !InList(set->query_tagks, set->nquery_tagks, s->tagk[t]))
			continue;
		appendStringInfo(&k, "%s\x01%s\x01", s->tagk[t], s->tagv[t]);
	}
	if (include_agg_tags)
		for (int a = 0; a < s->nagg; a++)
			appendStringInfo(&k, "\x02%s", s->agg[a]);
	return k.data;
}

static int
CmpInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

static int
CmpStrPtr(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* SortedUnion answers the sorted distinct strings of several lists */
static char **
SortedUnion(char ***lists, int *lens, int nlists, int *nout)
{
	int			total = 0;
	char	  **out;
	int			n = 0;

	for (int i = 0; i < nlists; i++)
		total += lens[i];
	out = palloc(sizeof(char *) * Max(total, 1));
	for (int i = 0; i < nlists; i++)
		for (int j = 0; j < lens[i]; j++)
			out[n++] = lists[i][j];
	if (n > 1)
		qsort(out, n, sizeof(char *), CmpStrPtr);
	total = n;
	n = 0;
	for (int i = 0; i < total; i++)
		if (n == 0 || strcmp(out[n - 1], out[i]) != 0)
			out[n++] = out[i];
	*nout = n;
	return out;
}

/* Timeline answers the sorted distinct timestamps of the given series */
static int64 *
Timeline(TsJoinSeries **series, int nseries, int *nout)
{
	int64		total = 0;
	int64	   *ts;
	int			n = 0;

	for (int i = 0; i < nseries; i++)
		total += series[i]->data.n;
	if (total > (int64) (MaxAllocSize / sizeof(int64)))
		ereport(ERROR, (errcode(ERRCODE_VS_TOO_LARGE),
						errmsg("the expression's series have too many points")));
	ts = palloc(sizeof(int64) * Max(total, 1));
	total = 0;
	for (int i = 0; i < nseries; i++)
		for (int k = 0; k < series[i]->data.n; k++)
			ts[total++] = series[i]->data.p[k].ts;
	if (total > 1)
		qsort(ts, total, sizeof(int64), CmpInt64);
	for (int64 k = 0; k < total; k++)
		if (n == 0 || ts[n - 1] != ts[k])
			ts[n++] = ts[k];
	*nout = n;
	return ts;
}

int64 *
ts_join_set_timeline(const TsJoinSet *set, int *n)
{
	TsJoinSeries **series = palloc(sizeof(TsJoinSeries *) * Max(set->n, 1));
	int64	   *ts;

	for (int i = 0; i < set->n; i++)
		series[i] = &set->s[i];
	ts = Timeline(series, set->n, n);
	pfree(series);
	return ts;
}

TsJoinSet *
ts_expr_eval(const TsExpr *e, TsJoinSet *const *vars, bool intersection, bool use_query_tags,
			 bool include_agg_tags, bool shared_timeline, const char *id)
{
	int			nvars = e->nvars;
	int			total = 0;
	JoinEntry  *entries;
	int			nentries = 0;
	int		  **slots;			/* per joined series, per variable: index or -1 */
	int			nout = 0;
	TsJoinSeries **active;
	int			nactive = 0;
	int64	   *ts = NULL;
	int			nts = 0;
	int64		produced = 0;
	TsJoinSet  *res = palloc0(sizeof(TsJoinSet));
	double	   *values = palloc(sizeof(double) * Max(nvars, 1));
	double	   *stack = palloc(sizeof(double) * Max(e->maxstack, 1));
	int		   *cursor = palloc(sizeof(int) * Max(nvars, 1));

	res->fill = NAN;
	for (int v = 0; v < nvars; v++)
		total += vars[v]->n;
	entries = palloc(sizeof(JoinEntry) * Max(total, 1));
	for (int v = 0; v < nvars; v++)
		for (int i = 0; i < vars[v]->n; i++)
		{
			entries[nentries].key = JoinKey(&vars[v]->s[i], vars[v], use_query_tags, include_agg_tags);
			entries[nentries].var = v;
			entries[nentries++].idx = i;
		}
	if (nentries > 1)
		qsort(entries, nentries, sizeof(JoinEntry), CmpEntry);

	/* one joined series per key (with every variable, for an intersection) */
	slots = palloc(sizeof(int *) * Max(nentries, 1));
	active = palloc(sizeof(TsJoinSeries *) * Max(nentries, 1));
	for (int a = 0; a < nentries;)
	{
		int			b = a;
		int		   *slot = palloc(sizeof(int) * Max(nvars, 1));
		bool		all = true;

		for (int v = 0; v < nvars; v++)
			slot[v] = -1;
		while (b < nentries && strcmp(entries[b].key, entries[a].key) == 0)
		{
			slot[entries[b].var] = entries[b].idx; /* the later one of a variable wins */
			b++;
		}
		for (int v = 0; v < nvars; v++)
			all = all && slot[v] >= 0;
		if (!intersection || all)
		{
			slots[nout++] = slot;
			for (int k = a; k < b; k++)
				active[nactive++] = &vars[entries[k].var]->s[entries[k].idx];
		}
		else
			pfree(slot);
		a = b;
	}
	if (intersection && total > 0 && nout == 0)
		ereport(ERROR,
				(errcode(ERRCODE_VS_BAD_REQUEST),
				 errmsg("no intersections found: %s", id),
				 errdetail("No tags (useQueryTags %s, includeAggTags %s) are found in the series of every variable of the expression.",
						   use_query_tags ? "true" : "false", include_agg_tags ? "true" : "false")));

	if (shared_timeline)
	{
		ts = Timeline(active, nactive, &nts);
		if (vs_max_points > 0 && (double) nts * nout > vs_max_points)
			ereport(ERROR,
					(errcode(ERRCODE_VS_TOO_LARGE),
					 errmsg("the expression %s would make %.0f values, more than the limit of %d",
							id, (double) nts * nout, vs_max_points),
					 errhint("Downsample, filter with more tags or decrease the time range (vscope.max_points).")));
	}

	res->n = nout;
	res->s = palloc0(sizeof(TsJoinSeries) * Max(nout, 1));
	for (int j = 0; j < nout; j++)
	{
		TsJoinSeries *out = &res->s[j];
		char	 ***lists = palloc(sizeof(char **) * Max(nvars, 1));
		int		   *lens = palloc(sizeof(int) * Max(nvars, 1));
		int			nl = 0;

		CHECK_FOR_INTERRUPTS();
		/* the metrics and aggregated tags of every variable, the first's tags */
		for (int v = 0; v < nvars; v++)
			if (slots[j][v] >= 0)
			{
				lists[nl] = vars[v]->s[slots[j][v]].metrics;
				lens[nl++] = vars[v]->s[slots[j][v]].nmetrics;
			}
		out->metrics = SortedUnion(lists, lens, nl, &out->nmetrics);
		nl = 0;
		for (int v = 0; v < nvars; v++)
			if (slots[j][v] >= 0)
			{
				const TsJoinSeries *in = &vars[v]->s[slots[j][v]];

				if (nl == 0)
				{
					out->ntags = in->ntags;
					out->tagk = in->tagk;
					out->tagv = in->tagv;
				}
				lists[nl] = in->agg;
				lens[nl++] = in->nagg;
			}
		out->agg = SortedUnion(lists, lens, nl, &out->nagg);
		pfree(lists);
		pfree(lens);

		/* each joined series on its own members' timestamps */
		if (!shared_timeline)
		{
			TsJoinSeries **members = palloc(sizeof(TsJoinSeries *) * Max(nvars, 1));
			int			nmembers = 0;

			for (int v = 0; v < nvars; v++)
				if (slots[j][v] >= 0)
					members[nmembers++] = &vars[v]->s[slots[j][v]];
			ts = Timeline(members, nmembers, &nts);
			pfree(members);
			produced += nts;
			if (vs_max_points > 0 && produced > vs_max_points)
				ereport(ERROR,
						(errcode(ERRCODE_VS_TOO_LARGE),
						 errmsg("the expression %s would make more than %d values", id, vs_max_points),
						 errhint("Downsample, filter with more tags or decrease the time range (vscope.max_points).")));
		}

		/* the values, timestamp by timestamp */
		ts_reserve(&out->data, Max(nts, 1));
		for (int v = 0; v < nvars; v++)
			cursor[v] = 0;
		for (int t = 0; t < nts; t++)
		{
			TsPoint    *pt = &out->data.p[out->data.n++];

			for (int v = 0; v < nvars; v++)
			{
				const TsSeries *d;

				if (slots[j][v] < 0)
				{
					values[v] = 0.0;	/* the union's fill for a missing series */
					continue;
				}
				d = &vars[v]->s[slots[j][v]].data;
				if (cursor[v] < d->n && d->p[cursor[v]].ts == ts[t])
				{
					double		x = d->p[cursor[v]++].d;

					values[v] = isnan(x) ? vars[v]->fill : x;
				}
				else
					values[v] = vars[v]->fill;
			}
			pt->ts = ts[t];
			pt->is_int = false;
			pt->i = 0;
			pt->d = Eval(e, values, stack);
		}
		if (!shared_timeline)
			pfree(ts);
	}
	return res;
}
