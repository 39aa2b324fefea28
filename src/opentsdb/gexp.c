/*-------------------------------------------------------------------------
 *
 * gexp.c
 *	  vscope.tsdb_query_gexp(args jsonb) returns json: OpenTSDB 2.4's
 *	  /api/query/gexp, Graphite-style functions over m-style sub-queries:
 *	  GET /api/query/gexp?start=1h-ago&exp=scale(sum:if.bytes_in{host=*},1024)
 *
 *	  Each exp is read with OpenTSDB's grammar (its SyntaxChecker):
 *	  function(parameter, ...) where a parameter is a function, a
 *	  sub-query agg:[interval:][rate:]metric[{tagk=tagv,...}] or a plain
 *	  word (numbers, 'quoted' times, names).  The sub-queries join the
 *	  request's own m arguments as /api/query sub-queries (query.c), the
 *	  functions run on their results, and the answer is /api/query's:
 *	  one result per series the outermost functions make, in order.
 *
 *	  The functions are those of OpenTSDB 2.4's ExpressionFactory, with its
 *	  checks and messages: absolute, alias, scale, movingAverage,
 *	  highestCurrent, highestMax, timeShift (and shift), sumSeries (sum),
 *	  diffSeries (difference), multiplySeries (multiply), divideSeries
 *	  (divide).  Where OpenTSDB 2.4's own code does not do what its
 *	  function means, vscope does what it means (README: pairing points by
 *	  timestamp in the series arithmetic, timeShift's units, the ranking of
 *	  highestMax and highestCurrent).
 *
 *	  A request OpenTSDB cannot parse is a 500 (ERRCODE_VS_SERVER_ERROR),
 *	  as OpenTSDB answers it; a bad sub-query or a function's bad argument
 *	  a 400.
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/expression.h"

#include <ctype.h>
#include <math.h>

#include "executor/spi.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#define GEXP_MAX_DEPTH 64

typedef enum GFunc
{
	GF_ABSOLUTE, GF_ALIAS, GF_SCALE, GF_MOVING_AVERAGE, GF_HIGHEST_CURRENT,
	GF_HIGHEST_MAX, GF_TIME_SHIFT, GF_SUM, GF_DIFF, GF_MULTIPLY, GF_DIVIDE
} GFunc;

static const struct
{
	const char *name;
	GFunc		func;
}			gfuncs[] =
{
	{"absolute", GF_ABSOLUTE},
	{"alias", GF_ALIAS},
	{"scale", GF_SCALE},
	{"movingAverage", GF_MOVING_AVERAGE},
	{"highestCurrent", GF_HIGHEST_CURRENT},
	{"highestMax", GF_HIGHEST_MAX},
	{"shift", GF_TIME_SHIFT},
	{"timeShift", GF_TIME_SHIFT},
	{"sumSeries", GF_SUM},
	{"sum", GF_SUM},
	{"diffSeries", GF_DIFF},
	{"difference", GF_DIFF},
	{"multiplySeries", GF_MULTIPLY},
	{"multiply", GF_MULTIPLY},
	{"divideSeries", GF_DIVIDE},
	{"divide", GF_DIVIDE},
};

typedef enum GParamKind
{
	GP_FUNCTION, GP_METRIC, GP_WORD
} GParamKind;

struct GNode;

typedef struct GParam
{
	GParamKind	kind;
	struct GNode *sub;			/* GP_FUNCTION */
	int			metric;			/* GP_METRIC: index in the metric queries */
	char	   *word;			/* GP_WORD */
} GParam;

typedef struct GNode
{
	const char *name;
	GFunc		func;
	GParam	   *params;
	int			nparams;
} GNode;

/* a series a function makes */
typedef struct GSeries
{
	const char *metric;			/* the name written */
	char	  **metrics;		/* what it is made of, sorted (for joins) */
	int			nmetrics;
	int			ntags;
	char	  **tagk;
	char	  **tagv;
	int			nagg;
	char	  **agg;
	bool		aliased;		/* written without tags and aggregateTags */
	int			query_index;
	TsSeriesInfo **members;		/* for tsuids and annotations */
	int			nmembers;
	TsSeries	data;			/* within [start, end] */
} GSeries;

typedef struct GSet
{
	GSeries    *s;
	int			n;
} GSet;

/* ---- reading an exp (OpenTSDB's SyntaxChecker grammar) ---- */

typedef enum GTok
{
	GT_NAME, GT_LPAREN, GT_RPAREN, GT_COMMA, GT_COLON, GT_LBRACE, GT_RBRACE, GT_EQ,
	GT_EOF, GT_BAD
} GTok;

typedef struct GLexeme
{
	GTok		tok;
	int			start;
	int			end;			/* where the next token is looked for */
} GLexeme;

typedef struct GParser
{
	const char *s;
	int			pos;
	int			depth;
	char	  **mq;				/* the metric queries met, in order */
	int			nmq;
	int			capmq;
} GParser;

static bool
NameChar(char c)
{
	return isalnum((unsigned char) c) || strchr("*-_#/$@|.'][", c) != NULL;
}

/* Lex reads the token at pos (after white space) */
static GLexeme
Lex(const char *s, int pos)
{
	GLexeme		l;
	static const char punct[] = "(),:{}=";
	static const GTok ptok[] = {GT_LPAREN, GT_RPAREN, GT_COMMA, GT_COLON, GT_LBRACE, GT_RBRACE, GT_EQ};

	while (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')
		pos++;
	l.start = pos;
	if (s[pos] == '\0')
	{
		l.tok = GT_EOF;
		l.end = pos;
		return l;
	}
	for (int i = 0; punct[i]; i++)
		if (s[pos] == punct[i])
		{
			l.tok = ptok[i];
			l.end = pos + 1;
			return l;
		}
	if (NameChar(s[pos]))
	{
		while (s[pos] != '\0' && NameChar(s[pos]))
			pos++;
		l.tok = GT_NAME;
		l.end = pos;
		return l;
	}
	l.tok = GT_BAD;
	l.end = pos;
	return l;
}

static void
ParseFailed(GParser *p, int at, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_VS_SERVER_ERROR),
			 errmsg("failed to parse %s", p->s),
			 errdetail("%s at position %d.", why, at + 1)));
}

static GLexeme
Expect(GParser *p, GTok tok, const char *what)
{
	GLexeme		l = Lex(p->s, p->pos);

	if (l.tok != tok)
		ParseFailed(p, l.start, l.tok == GT_EOF ? psprintf("The expression ends where %s was expected", what)
					: psprintf("Found \"%s\" where %s was expected",
							   l.tok == GT_BAD ? pnstrdup(p->s + l.start, pg_mblen(p->s + l.start))
							   : pnstrdup(p->s + l.start, Max(l.end - l.start, 1)), what));
	p->pos = l.end;
	return l;
}

static char *
Text(GParser *p, GLexeme l)
{
	return pnstrdup(p->s + l.start, l.end - l.start);
}

/* ParseMetric reads agg:[itvl:][rate:]metric[{k=v,...}] into its m text */
static char *
ParseMetric(GParser *p)
{
	StringInfoData m;
	int			names = 1;

	initStringInfo(&m);
	appendStringInfoString(&m, Text(p, Expect(p, GT_NAME, "an aggregator")));
	Expect(p, GT_COLON, "\":\"");
	appendStringInfoChar(&m, ':');
	for (;;)
	{
		GLexeme		name = Expect(p, GT_NAME, "a metric");
		GLexeme		next = Lex(p->s, name.end);

		appendStringInfoString(&m, Text(p, name));
		if (next.tok != GT_COLON || ++names > 3)
			break;
		p->pos = next.end;
		appendStringInfoChar(&m, ':');
	}
	if (Lex(p->s, p->pos).tok == GT_LBRACE)
	{
		p->pos = Lex(p->s, p->pos).end;
		appendStringInfoChar(&m, '{');
		for (int i = 0;; i++)
		{
			if (i > 0)
				appendStringInfoChar(&m, ',');
			appendStringInfoString(&m, Text(p, Expect(p, GT_NAME, "a tag key")));
			Expect(p, GT_EQ, "\"=\"");
			appendStringInfoChar(&m, '=');
			appendStringInfoString(&m, Text(p, Expect(p, GT_NAME, "a tag value")));
			if (Lex(p->s, p->pos).tok != GT_COMMA)
				break;
			p->pos = Lex(p->s, p->pos).end;
		}
		Expect(p, GT_RBRACE, "\"}\"");
		appendStringInfoChar(&m, '}');
	}
	return m.data;
}

static GNode *ParseFunction(GParser *p);

static void
ParseParam(GParser *p, GParam *param)
{
	GLexeme		first = Lex(p->s, p->pos);
	GLexeme		second = Lex(p->s, first.end);

	memset(param, 0, sizeof(*param));
	if (first.tok == GT_NAME && second.tok == GT_LPAREN)
	{
		param->kind = GP_FUNCTION;
		param->sub = ParseFunction(p);
	}
	else if (first.tok == GT_NAME && second.tok == GT_COLON)
	{
		param->kind = GP_METRIC;
		if (p->nmq == p->capmq)
		{
			p->capmq = p->capmq ? p->capmq * 2 : 4;
			p->mq = p->mq ? repalloc(p->mq, sizeof(char *) * p->capmq) : palloc(sizeof(char *) * p->capmq);
		}
		p->mq[p->nmq] = ParseMetric(p);
		param->metric = p->nmq++;
	}
	else
	{
		param->kind = GP_WORD;
		param->word = Text(p, Expect(p, GT_NAME, "a parameter"));
	}
}

/* ParseFunction reads name(param, ...); an unknown name is refused at once */
static GNode *
ParseFunction(GParser *p)
{
	GLexeme		name = Expect(p, GT_NAME, "a function");
	GNode	   *node = palloc0(sizeof(GNode));
	int			cap = 4;
	bool		known = false;

	check_stack_depth();
	if (++p->depth > GEXP_MAX_DEPTH)
		ParseFailed(p, name.start, "Functions are nested too deeply (at most " CppAsString2(GEXP_MAX_DEPTH) ")");
	node->name = Text(p, name);
	for (size_t i = 0; i < lengthof(gfuncs) && !known; i++)
		if (strcmp(gfuncs[i].name, node->name) == 0)
		{
			node->func = gfuncs[i].func;
			known = true;
		}
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_VS_SERVER_ERROR),
				 errmsg("function %s has not been implemented", node->name),
				 errhint("The functions are absolute, alias, scale, movingAverage, highestCurrent, "
						 "highestMax, timeShift, shift, sumSeries, sum, diffSeries, difference, "
						 "multiplySeries, multiply, divideSeries and divide.")));
	Expect(p, GT_LPAREN, "\"(\"");
	node->params = palloc(sizeof(GParam) * cap);
	for (;;)
	{
		GLexeme		l;

		if (node->nparams == cap)
		{
			cap *= 2;
			node->params = repalloc(node->params, sizeof(GParam) * cap);
		}
		ParseParam(p, &node->params[node->nparams++]);
		l = Lex(p->s, p->pos);
		if (l.tok != GT_COMMA)
			break;
		p->pos = l.end;
	}
	Expect(p, GT_RPAREN, "\",\" or \")\"");
	p->depth--;
	return node;
}

/* ---- the functions ---- */

static void
FunctionError(const char *msg)
{
	ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST), errmsg("%s", msg)));
}

/* CopySeries copies a series' description (PostAggregatedDataPoints) */
static GSeries
CopySeries(const GSeries *in)
{
	GSeries		out = *in;

	memset(&out.data, 0, sizeof(TsSeries));
	return out;
}

/* Total counts the series of every set */
static int
Total(GSet **sets, int nsets)
{
	int			n = 0;

	for (int i = 0; i < nsets; i++)
		n += sets[i]->n;
	return n;
}

static GSet *
NewSet(int cap)
{
	GSet	   *set = palloc0(sizeof(GSet));

	set->s = palloc0(sizeof(GSeries) * Max(cap, 1));
	return set;
}

/* Math.abs of a point, kind kept (Long.MIN_VALUE stays itself, as Java's) */
static TsPoint
AbsPoint(TsPoint pt)
{
	if (pt.is_int)
	{
		if (pt.i < 0 && pt.i != PG_INT64_MIN)
			pt.i = -pt.i;
		pt.d = (double) pt.i;
	}
	else
		pt.d = fabs(pt.d);
	return pt;
}

static GSet *
FnAbsolute(GSet **sets, int nsets)
{
	GSet	   *out = NewSet(Total(sets, nsets));

	for (int i = 0; i < nsets; i++)
		for (int j = 0; j < sets[i]->n; j++)
		{
			GSeries    *s = &out->s[out->n++];
			const TsSeries *d = &sets[i]->s[j].data;

			*s = CopySeries(&sets[i]->s[j]);
			for (int k = 0; k < d->n; k++)
				ts_append(&s->data, AbsPoint(d->p[k]));
		}
	return out;
}

/* AliasName fills "@tagk" with the series' tag values (longest keys first) */
static char *
AliasName(const char *alias, const GSeries *s)
{
	char	   *name = pstrdup(alias);
	bool	   *done;

	if (strchr(alias, '@') == NULL || s->ntags == 0)
		return name;
	done = palloc0(sizeof(bool) * s->ntags);
	for (int round = 0; round < s->ntags; round++)
	{
		int			best = -1;
		StringInfoData b;
		char	   *pat;
		char	   *p;

		for (int t = 0; t < s->ntags; t++)
			if (!done[t] && (best < 0 || strlen(s->tagk[t]) > strlen(s->tagk[best])))
				best = t;
		done[best] = true;
		pat = psprintf("@%s", s->tagk[best]);
		initStringInfo(&b);
		p = name;
		for (char *at; (at = strstr(p, pat)) != NULL; p = at + strlen(pat))
		{
			appendBinaryStringInfo(&b, p, at - p);
			appendStringInfoString(&b, s->tagv[best]);
		}
		appendStringInfoString(&b, p);
		name = b.data;
	}
	return name;
}

/*
 * FnAlias names every series after its parameters joined with commas, "@tagk"
 * standing for the series' value of tagk; like OpenTSDB 2.4's, it also
 * takes the values' absolute values.
 */
static GSet *
FnAlias(GSet **sets, int nsets, char **words, int nwords)
{
	GSet	   *out;
	StringInfoData alias;

	if (nwords == 0)
		FunctionError("missing the alias");
	initStringInfo(&alias);
	for (int i = 0; i < nwords; i++)
	{
		if (i > 0)
			appendStringInfoChar(&alias, ',');
		appendStringInfoString(&alias, words[i]);
	}
	out = FnAbsolute(sets, nsets);
	for (int i = 0; i < out->n; i++)
	{
		out->s[i].metric = AliasName(alias.data, &out->s[i]);
		out->s[i].aliased = true;
		out->s[i].metrics = palloc(sizeof(char *));
		out->s[i].metrics[0] = (char *) out->s[i].metric;
		out->s[i].nmetrics = 1;
		out->s[i].nagg = 0;
	}
	return out;
}

/* JavaParseDouble reads what Double.parseDouble reads of [-0-9.]+ */
static bool
JavaParseDouble(const char *s, double *d)
{
	char	   *end;

	if (strspn(s, "-0123456789.") != strlen(s) || strpbrk(s, "0123456789") == NULL)
		return false;
	*d = strtod(s, &end);
	return *end == '\0' && end != s;
}

static GSet *
FnScale(GSet **sets, int nsets, char **words, int nwords)
{
	double		factor;
	bool		factor_int;
	GSet	   *out = NewSet(Total(sets, nsets));

	if (nwords == 0)
		FunctionError("missing scaling factor");
	if (strspn(words[0], "-0123456789.") != strlen(words[0]))
		FunctionError("unparseable scale factor value: 0.0");
	if (!JavaParseDouble(words[0], &factor))
		FunctionError("invalid parameter, must be an integer or floating point");
	factor_int = factor == floor(factor) && !isinf(factor);
	for (int i = 0; i < nsets; i++)
		for (int j = 0; j < sets[i]->n; j++)
		{
			GSeries    *s = &out->s[out->n++];
			const TsSeries *d = &sets[i]->s[j].data;

			*s = CopySeries(&sets[i]->s[j]);
			for (int k = 0; k < d->n; k++)
			{
				TsPoint		pt = d->p[k];

				if (pt.is_int && factor_int)
				{
					/* (long) factor * value, wrapping as Java's long does */
					int64		f = (factor >= 9.2233720368547758e18) ? PG_INT64_MAX :
						(factor <= -9.2233720368547758e18) ? PG_INT64_MIN : (int64) factor;

					pt.i = (int64) ((uint64) f * (uint64) pt.i);
					pt.d = (double) pt.i;
				}
				else
				{
					pt.d = factor * pt.d;
					pt.is_int = false;
				}
				ts_append(&s->data, pt);
			}
		}
	return out;
}

/* Digits counts the digits after a first character */
static int
DigitsAfterFirst(const char *s)
{
	int			n = 0;

	while (s[0] != '\0' && isdigit((unsigned char) s[1 + n]))
		n++;
	return n;
}

/* JavaInt parses n digits as Integer.parseInt does; false past int32 */
static bool
JavaInt(const char *s, int n, int64 *v)
{
	*v = 0;
	for (int i = 0; i < n; i++)
	{
		*v = *v * 10 + (s[i] - '0');
		if (*v > PG_INT32_MAX)
			return false;
	}
	return n > 0;
}

/*
 * FnMovingAverage averages each series' points over a window: a count of
 * points, or a quoted time ('5min', units d/day, h/hr/hour, m/min,
 * s/sec), as OpenTSDB's MovingAverageAggregator: the window ending at each
 * point, NaNs skipped; 0 until a window is full; with a time window the
 * first point is 0, and a window holds the points less than its length
 * older than the newest, once a point at least that old has come.
 */
static GSet *
FnMovingAverage(GSet **sets, int nsets, char **words, int nwords)
{
	const char *param;
	int64		condition = -1;
	bool		is_time = false;
	GSet	   *out = NewSet(Total(sets, nsets));

	if (nwords == 0 || words[0][0] == '\0')
		FunctionError("missing moving average window size");
	param = words[0];
	if (strspn(param, "0123456789") == strlen(param))
	{
		if (!JavaInt(param, strlen(param), &condition))
			FunctionError("invalid parameter, must be an integer");
	}
	else if (param[0] == '\'' && param[strlen(param) - 1] == '\'')
	{
		int			idx = DigitsAfterFirst(param);
		int64		time;
		char	   *unit;
		int64		mult;

		if (idx < 1)
			FunctionError(psprintf("invalid moving window parameter: %s", param));
		if (!JavaInt(param + 1, idx, &time))
			FunctionError(psprintf("unable to parse moving window parameter: %s", param));
		unit = (int) strlen(param) - 1 > idx + 1 ? pnstrdup(param + idx + 1, strlen(param) - 1 - (idx + 1)) : pstrdup("");
		if (strcmp(unit, "day") == 0 || strcmp(unit, "d") == 0)
			mult = INT64CONST(86400000);
		else if (strcmp(unit, "hr") == 0 || strcmp(unit, "hour") == 0 || strcmp(unit, "h") == 0)
			mult = INT64CONST(3600000);
		else if (strcmp(unit, "min") == 0 || strcmp(unit, "m") == 0)
			mult = 60000;
		else if (strcmp(unit, "sec") == 0 || strcmp(unit, "s") == 0)
			mult = 1000;
		else
		{
			FunctionError(psprintf("unknown time unit=%s in window=%s", unit, param));
			mult = 0;
		}
		condition = time * mult;
		is_time = true;
	}
	else
		FunctionError(psprintf("unparseable window size: %s", param));
	if (condition <= 0)
		FunctionError("moving average window must be an integer greater than zero");

	for (int i = 0; i < nsets; i++)
		for (int j = 0; j < sets[i]->n; j++)
		{
			GSeries    *s = &out->s[out->n++];
			const TsSeries *d = &sets[i]->s[j].data;
			int			oldest = 0;	/* older points never count again */

			*s = CopySeries(&sets[i]->s[j]);
			for (int k = 0; k < d->n; k++)
			{
				TsPoint		pt = {.ts = d->p[k].ts, .is_int = false};
				double		sum = 0;
				int64		count = 0;
				bool		met = false;
				int64		span = 0;
				int			at;

				CHECK_FOR_INTERRUPTS();
				if (is_time && k == 0)
				{
					pt.d = 0;	/* the first point of a time window */
					ts_append(&s->data, pt);
					continue;
				}
				for (at = k; at >= oldest; at--)
				{
					double		v = d->p[at].d;

					if (is_time && at < k)
					{
						span += d->p[at + 1].ts - d->p[at].ts;
						if (span >= condition)
						{
							met = true;
							break;
						}
					}
					if (!isnan(v))
					{
						sum += v;
						count++;
					}
					if (!is_time && count >= condition)
					{
						met = true;
						break;
					}
				}
				if (met)
					oldest = at;
				pt.d = (!met || count == 0) ? 0 : sum / count;
				ts_append(&s->data, pt);
			}
		}
	return out;
}

/* JavaCompare is Double.compare: NaN above everything, -0.0 below 0.0 */
static int
JavaCompare(double a, double b)
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

/* JavaMax is Math.max: NaN if either is, 0.0 above -0.0 */
static double
JavaMax(double a, double b)
{
	if (isnan(a) || isnan(b))
		return NAN;
	if (a == 0 && b == 0)
		return signbit(a) ? b : a;
	return a >= b ? a : b;
}

typedef struct Ranked
{
	const GSeries *s;
	bool		has;
	double		v;
	int			pos;
} Ranked;

/* highest first, series without a value last, ties in their order */
static int
CmpRanked(const void *a, const void *b)
{
	const Ranked *x = a;
	const Ranked *y = b;
	int			c;

	if (x->has != y->has)
		return x->has ? -1 : 1;
	c = x->has ? -JavaCompare(x->v, y->v) : 0;
	return c != 0 ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * FnHighest keeps the n series with the highest maximum (highestMax: NaN, if
 * any, being Java's highest) or the highest last value (highestCurrent,
 * which leaves out series without points), highest first.
 */
static GSet *
FnHighest(GSet **sets, int nsets, char **words, int nwords, bool current)
{
	int64		topn;
	int			total = Total(sets, nsets);
	Ranked	   *r = palloc0(sizeof(Ranked) * Max(total, 1));
	int			n = 0;
	GSet	   *out;

	if (nwords == 0)
		FunctionError("need aggregation window for moving average");
	if (words[0][0] == '\0')
		FunctionError("missing top n value (number of series to return)");
	if (strspn(words[0], "0123456789") != strlen(words[0]))
		FunctionError(psprintf("unparseable top n value: %s", words[0]));
	if (!JavaInt(words[0], strlen(words[0]), &topn))
		FunctionError("invalid parameter, must be an integer");
	if (topn < 1)
		FunctionError(psprintf("top n value must be greater than zero: " INT64_FORMAT, topn));
	for (int i = 0; i < nsets; i++)
		for (int j = 0; j < sets[i]->n; j++)
		{
			const GSeries *s = &sets[i]->s[j];
			Ranked	   *e = &r[n];

			if (current && s->data.n == 0)
				continue;
			e->s = s;
			e->pos = n++;
			for (int k = 0; k < s->data.n; k++)
			{
				double		v = s->data.p[k].d;

				if (current || !e->has)
					e->v = v;
				else
					e->v = JavaMax(e->v, v);
				e->has = true;
			}
		}
	qsort(r, n, sizeof(Ranked), CmpRanked);
	out = NewSet(Min(n, (int) topn));
	for (int i = 0; i < n && i < topn; i++)
	{
		GSeries    *s = &out->s[out->n++];

		*s = CopySeries(r[i].s);
		s->data = r[i].s->data;
	}
	return out;
}

/*
 * FnTimeShift moves the first set's points later by a quoted amount: '10min',
 * units sec, min, hr, day(s), week(s).  OpenTSDB 2.4 reads the closing
 * quote into the unit, so that its own timeShift refuses every amount;
 * vscope reads the amount as meant.
 */
static GSet *
FnTimeShift(GSet **sets, int nsets, char **words, int nwords)
{
	const char *param;
	int			len;
	int			idx;
	int64		time;
	int64		mult;
	int64		shift;
	char	   *unit;
	GSet	   *out;

	if (nwords == 0)
		FunctionError("need amount of timeshift to perform timeshift");
	param = words[0];
	len = strlen(param);
	if (len == 0)
		FunctionError(psprintf("invalid timeshift='%s'", param));
	if (param[0] != '\'' || param[len - 1] != '\'')
		FunctionError("invalid timeshift parameter: eg '10min'");
	idx = DigitsAfterFirst(param);
	if (idx == 0)
		FunctionError(psprintf("invalid Parameter: %s", param));
	if (!JavaInt(param + 1, idx, &time))
		FunctionError(psprintf("invalid timeshift parameter: %s", param));
	unit = pnstrdup(param + 1 + idx, Max(len - 2 - idx, 0));
	if (strcmp(unit, "sec") == 0)
		mult = 1000;
	else if (strcmp(unit, "min") == 0)
		mult = 60000;
	else if (strcmp(unit, "hr") == 0)
		mult = INT64CONST(3600000);
	else if (strcmp(unit, "day") == 0 || strcmp(unit, "days") == 0)
		mult = INT64CONST(86400000);
	else if (strcmp(unit, "week") == 0 || strcmp(unit, "weeks") == 0)
		mult = INT64CONST(7) * 86400000;
	else
	{
		FunctionError(psprintf("unknown time unit=%s", unit));
		mult = 0;
	}
	shift = time * mult;
	if (shift <= 0)
		FunctionError("timeshift <= 0");
	out = NewSet(sets[0]->n);
	for (int j = 0; j < sets[0]->n; j++)
	{
		GSeries    *s = &out->s[out->n++];
		const TsSeries *d = &sets[0]->s[j].data;

		*s = CopySeries(&sets[0]->s[j]);
		for (int k = 0; k < d->n; k++)
		{
			TsPoint		pt = d->p[k];

			pt.ts += shift;
			ts_append(&s->data, pt);
		}
	}
	return out;
}

/*
 * FnArithmetic joins 2 to 26 sets as variables a, b, c... of "a + b + ..."
 * (sumSeries), "a - b ..." (diffSeries), "a * b ..." (multiplySeries) or
 * "a / b ..." (divideSeries): a union on the series' tags (not their
 * aggregated tags), a missing or NaN value counting as 0, each joined
 * series computed at its own series' timestamps (OpenTSDB 2.4 pairs their
 * points by position, and fails when they have not as many); the results
 * are doubles, named after the first of their metrics, with no tsuids or
 * annotations, of the query's first sub-query.
 */
static GSet *
FnArithmetic(GSet **sets, int nsets, char op, const char *name)
{
	StringInfoData expr;
	TsExpr	   *e;
	char	   *error;
	TsJoinSet **vars;
	TsJoinSet  *res;
	GSet	   *out;

	if (nsets < 2 || nsets > 26)
		FunctionError(psprintf("must have 2 to 26 series, got %d instead", nsets));
	initStringInfo(&expr);
	vars = palloc(sizeof(TsJoinSet *) * nsets);
	for (int i = 0; i < nsets; i++)
	{
		TsJoinSet  *v = palloc0(sizeof(TsJoinSet));

		if (i > 0)
			appendStringInfo(&expr, " %c ", op);
		appendStringInfoChar(&expr, (char) ('a' + i));
		v->n = sets[i]->n;
		v->s = palloc0(sizeof(TsJoinSeries) * Max(v->n, 1));
		v->fill = 0.0;
		for (int j = 0; j < v->n; j++)
		{
			const GSeries *g = &sets[i]->s[j];
			TsJoinSeries *s = &v->s[j];

			s->metrics = g->metrics;
			s->nmetrics = g->nmetrics;
			s->ntags = g->ntags;
			s->tagk = g->tagk;
			s->tagv = g->tagv;
			s->nagg = g->nagg;
			s->agg = g->agg;
			for (int k = 0; k < g->data.n; k++)
			{
				TsPoint		pt = g->data.p[k];

				pt.is_int = false;
				ts_append(&s->data, pt);
			}
		}
		vars[i] = v;
	}
	e = ts_expr_parse(expr.data, &error);
	Assert(e != NULL);
	res = ts_expr_eval(e, vars, false, false, false, false, name);
	out = NewSet(res->n);
	for (int j = 0; j < res->n; j++)
	{
		GSeries    *s = &out->s[out->n++];
		TsJoinSeries *r = &res->s[j];

		s->metrics = r->metrics;
		s->nmetrics = r->nmetrics;
		s->metric = r->nmetrics > 0 ? r->metrics[0] : "";
		s->ntags = r->ntags;
		s->tagk = r->tagk;
		s->tagv = r->tagv;
		s->nagg = r->nagg;
		s->agg = r->agg;
		s->query_index = 0;
		s->data = r->data;
	}
	return out;
}

/* Run evaluates a function on its parameters' results */
static GSet *
Run(const GNode *node, GSet **metric_sets)
{
	GSet	  **sets = palloc(sizeof(GSet *) * Max(node->nparams, 1));
	char	  **words = palloc(sizeof(char *) * Max(node->nparams, 1));
	int			nsets = 0;
	int			nwords = 0;

	check_stack_depth();
	for (int i = 0; i < node->nparams; i++)
	{
		const GParam *p = &node->params[i];

		if (p->kind == GP_FUNCTION)
			sets[nsets++] = Run(p->sub, metric_sets);
		else if (p->kind == GP_METRIC)
			sets[nsets++] = metric_sets[p->metric];
		else
			words[nwords++] = p->word;
	}
	/* no series at all: no result, whatever the other parameters */
	if (nsets == 0)
		return NewSet(0);
	switch (node->func)
	{
		case GF_ABSOLUTE:
			return FnAbsolute(sets, nsets);
		case GF_ALIAS:
			return FnAlias(sets, nsets, words, nwords);
		case GF_SCALE:
			return FnScale(sets, nsets, words, nwords);
		case GF_MOVING_AVERAGE:
			return FnMovingAverage(sets, nsets, words, nwords);
		case GF_HIGHEST_CURRENT:
			return FnHighest(sets, nsets, words, nwords, true);
		case GF_HIGHEST_MAX:
			return FnHighest(sets, nsets, words, nwords, false);
		case GF_TIME_SHIFT:
			return FnTimeShift(sets, nsets, words, nwords);
		case GF_SUM:
			return FnArithmetic(sets, nsets, '+', node->name);
		case GF_DIFF:
			return FnArithmetic(sets, nsets, '-', node->name);
		case GF_MULTIPLY:
			return FnArithmetic(sets, nsets, '*', node->name);
		case GF_DIVIDE:
			return FnArithmetic(sets, nsets, '/', node->name);
	}
	return NewSet(0);
}

/*
 * MetricSet makes a sub-query's series: its results with points in
 * [start, end] (those points), OpenTSDB having no result for a series
 * without data.
 */
static GSet *
MetricSet(const TsSubResult *r, int index, int64 start, int64 end)
{
	GSet	   *set = NewSet(r->ngroups);

	for (int g = 0; g < r->ngroups; g++)
	{
		const TsResultGroup *grp = &r->groups[g];
		GSeries    *s = &set->s[set->n];

		memset(s, 0, sizeof(GSeries));
		for (int k = 0; k < grp->data.n; k++)
			if (grp->data.p[k].ts >= start && grp->data.p[k].ts <= end)
				ts_append(&s->data, grp->data.p[k]);
		if (s->data.n == 0)
			continue;
		s->metric = r->metric;
		s->metrics = palloc(sizeof(char *));
		s->metrics[0] = (char *) r->metric;
		s->nmetrics = 1;
		ts_group_tags(grp->members, grp->n, &s->ntags, &s->tagk, &s->tagv, &s->nagg, &s->agg);
		s->query_index = index;
		s->members = grp->members;
		s->nmembers = grp->n;
		set->n++;
	}
	return set;
}

static text *
RunGexp(Jsonb *args)
{
	int32		tenant = VsRequireTenant();
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext work = AllocSetContextCreate(callcxt, "vscope tsdb gexp query",
											   ALLOCSET_DEFAULT_SIZES);
	JsonbValue	k;
	JsonbValue *v;
	GNode	  **trees = NULL;
	int			ntrees = 0;
	GParser		p = {0};
	int		   *sub_of;
	TsQuery    *q;
	TsSubResult *results;
	GSet	  **metric_sets;
	int64		start;
	int64		end;
	StringInfoData out;
	bool		first = true;
	text	   *answer;

	MemoryContextSwitchTo(work);
	if (!JB_ROOT_IS_OBJECT(args))
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("query-string arguments must be a JSON object")));
	/* start first, as OpenTSDB asks for it first */
	k.type = jbvString;
	k.val.string.val = "start";
	k.val.string.len = 5;
	v = findJsonbValueFromContainer(&args->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvBinary || JsonContainerSize(v->val.binary.data) == 0)
		ereport(ERROR, (errcode(ERRCODE_VS_BAD_REQUEST),
						errmsg("missing parameter <code>start</code>")));

	/* the expressions, each with OpenTSDB's grammar */
	k.val.string.val = "exp";
	k.val.string.len = 3;
	v = findJsonbValueFromContainer(&args->root, JB_FOBJECT, &k);
	if (v != NULL && v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
	{
		int			n = JsonContainerSize(v->val.binary.data);

		trees = palloc(sizeof(GNode *) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(v->val.binary.data, i);

			p.s = (e != NULL && e->type == jbvString) ? pnstrdup(e->val.string.val, e->val.string.len) : "";
			p.pos = 0;
			p.depth = 0;
			trees[ntrees++] = ParseFunction(&p);
		}
	}

	/* the sub-queries: m arguments, then the expressions' */
	q = ts_query_parse(DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
														  CStringGetDatum(ts_get_to_request_with(args, p.mq, p.nmq, &sub_of)))));
	ts_query_range(q, &start, &end);

	/*
	 * The answer is built in work; the results live in SPI's procedure
	 * context (current after any SPI call) until SPI_finish.
	 */
	initStringInfo(&out);
	SPI_connect();
	results = ts_query_run_subs(q, tenant);
	metric_sets = palloc(sizeof(GSet *) * Max(p.nmq, 1));
	for (int i = 0; i < p.nmq; i++)
		metric_sets[i] = MetricSet(&results[sub_of[i]], sub_of[i], start, end);

	appendStringInfoChar(&out, '[');
	for (int t = 0; t < ntrees; t++)
	{
		GSet	   *res = Run(trees[t], metric_sets);

		for (int i = 0; i < res->n; i++)
		{
			GSeries    *s = &res->s[i];
			TsOutSeries o = {0};

			o.metric = s->metric;
			if (!s->aliased)
			{
				o.ntags = s->ntags;
				o.tagk = s->tagk;
				o.tagv = s->tagv;
				o.nagg = s->nagg;
				o.agg = s->agg;
			}
			o.query_index = s->query_index;
			o.members = s->members;
			o.nmembers = s->nmembers;
			o.data = &s->data;
			o.fill_null = results[s->query_index].fill_null;
			ts_query_write_series(&out, &first, q, &o);
		}
	}
	appendStringInfoChar(&out, ']');
	SPI_finish();

	MemoryContextSwitchTo(callcxt);
	answer = cstring_to_text_with_len(out.data, out.len);
	MemoryContextDelete(work);
	return answer;
}

VS_FUNCTION_INFO_V1(vscope_tsdb_query_gexp);

/*
 * vscope_tsdb_query_gexp answers GET /api/query/gexp from its query-string
 * arguments ({"start": ["1h-ago"], "exp": ["sumSeries(...)"], ...}).
 */
Datum
vscope_tsdb_query_gexp(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(RunGexp(PG_GETARG_JSONB_P(0)));
}
