/*-------------------------------------------------------------------------
 *
 * warpscript_framework.c
 *	  WarpScript's frameworks: BUCKETIZE, MAP, REDUCE and FILTER, with the
 *	  bucketizers, mappers, reducers and filters they take, following
 *	  Warp 10's GTSHelper.bucketize / map / reduceUnflattened and the
 *	  aggregator classes (result types, null handling, ties).
 *
 *	  An aggregator sees a window: the tick its result goes to and the
 *	  points (ticks and values, ascending); a reducer's window has one
 *	  slot per member of the partition, null where the member has no
 *	  point at that tick.
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warpscript.h"

#include <math.h>

#include "miscadmin.h"
#include "pgtime.h"
#include "catalog/pg_collation.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

extern int	ws_compare_numbers(WsValue a, WsValue b);

/* aggregator flags, in WsFuncDef.op */
#define AGG_IGNORE_NULLS	1	/* nulls are left out (else any null: no value) */
#define AGG_FORBID_NULLS	2	/* a null is an error */

/* wrapping arithmetic, as Java's longs */
static inline int64
WAdd(int64 a, int64 b)
{
	return (int64) ((uint64) a + (uint64) b);
}

static inline int64
WSub(int64 a, int64 b)
{
	return (int64) ((uint64) a - (uint64) b);
}

static inline int64
WMul(int64 a, int64 b)
{
	return (int64) ((uint64) a * (uint64) b);
}

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

/* Java's (int) of a double: NaN is 0, out of range saturates */
static int
D2I(double d)
{
	if (isnan(d))
		return 0;
	if (d >= 2147483647.0)
		return PG_INT32_MAX;
	if (d <= -2147483648.0)
		return PG_INT32_MIN;
	return (int) d;
}

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

static int
CompareStrings(const WsString *a, const WsString *b)
{
	int			c = memcmp(a->data, b->data, Min(a->len, b->len));

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* ---------------------------------------------------------------------
 * aggregators over windows
 * ---------------------------------------------------------------------
 */

/* sum: the type of the first non-null value, the rest converted to it */
static bool
AggSum(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	bool		nulls = false;
	WsType		t = WS_NULL;
	int64		l = 0;
	double		d = 0;

	for (int i = 0; i < w->n; i++)
	{
		WsValue		v = w->values[i];

		if (v.type == WS_NULL)
		{
			nulls = true;
			continue;
		}
		if (t == WS_NULL)
		{
			if (v.type != WS_LONG && v.type != WS_DOUBLE)
				return false;
			t = v.type;
			if (t == WS_LONG)
				l = v.u.l;
			else
				d = v.u.d;
		}
		else if (!ws_is_number(v))
			ws_error(st, "class java.lang.%s cannot be cast to class java.lang.Number", v.type == WS_STRING ? "String" : "Boolean");
		else if (t == WS_LONG)
			l = WAdd(l, v.type == WS_LONG ? v.u.l : D2L(v.u.d));
		else
			d += ws_to_double(v);
	}
	if (t == WS_NULL || (nulls && !(f->def->op & AGG_IGNORE_NULLS)))
		return false;
	*out = t == WS_LONG ? ws_long(l) : ws_double(d);
	return true;
}

/* mean: a DOUBLE; reducer.mean gives nothing where a member is null */
static bool
AggMean(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	int			nulls = 0;
	WsType		t = WS_NULL;
	int64		l = 0;
	double		d = 0;

	for (int i = 0; i < w->n; i++)
	{
		WsValue		v = w->values[i];

		if (v.type == WS_NULL)
		{
			nulls++;
			continue;
		}
		if (t == WS_NULL)
		{
			if (v.type != WS_LONG && v.type != WS_DOUBLE)
				return false;
			t = v.type;
			if (t == WS_LONG)
				l = v.u.l;
			else
				d = v.u.d;
		}
		else if (!ws_is_number(v))
			ws_error(st, "class java.lang.%s cannot be cast to class java.lang.Number", v.type == WS_STRING ? "String" : "Boolean");
		else if (t == WS_LONG)
			l = WAdd(l, v.type == WS_LONG ? v.u.l : D2L(v.u.d));
		else
			d += ws_to_double(v);
	}
	if (!(f->def->op & AGG_IGNORE_NULLS) && nulls > 0)
		return false;
	if (t == WS_NULL)
		return false;
	*out = ws_double(t == WS_LONG ? (double) l / (double) (w->n - nulls) : d / (w->n - nulls));
	return true;
}

/*
 * max / min: the value keeps the type of the first non-null one (the
 * others are converted to it before comparing); ties go to the earliest
 * tick; strings compare as strings; for booleans the last true (max) or
 * false (min) wins.
 */
static bool
AggMinMax(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	bool		ismin = strstr(f->def->name, ".min") != NULL;
	bool		nulls = false;
	bool		have = false;
	WsValue		best = {0};
	int64		besttick = PG_INT64_MAX;

	for (int i = 0; i < w->n; i++)
	{
		WsValue		v = w->values[i];
		WsValue		cand;
		int			c;

		if (v.type == WS_NULL)
		{
			nulls = true;
			continue;
		}
		if (!have)
		{
			have = true;
			best = v;
			besttick = w->ticks[i];
			continue;
		}
		if (best.type == WS_LONG || best.type == WS_DOUBLE)
		{
			if (!ws_is_number(v))
				ws_error(st, "%s cannot compare non numeric values to numeric ones.", f->def->name);
			if (best.type == WS_LONG)
			{
				cand = ws_long(v.type == WS_LONG ? v.u.l : D2L(v.u.d));
				c = best.u.l < cand.u.l ? -1 : best.u.l > cand.u.l;
			}
			else
			{
				cand = ws_double(ws_to_double(v));
				c = JavaDoubleCompare(best.u.d, cand.u.d);
			}
		}
		else if (best.type == WS_STRING)
		{
			StringInfoData sb;

			initStringInfo(&sb);
			if (v.type == WS_STRING)
				appendBinaryStringInfo(&sb, v.u.s->data, v.u.s->len);
			else if (v.type == WS_LONG)
				appendStringInfo(&sb, INT64_FORMAT, v.u.l);
			else if (v.type == WS_DOUBLE)
				ws_append_double(&sb, v.u.d);
			else
				appendStringInfoString(&sb, v.u.b ? "true" : "false");
			cand = ws_string(sb.data, sb.len);
			c = CompareStrings(best.u.s, cand.u.s);
		}
		else
		{
			if (v.type == WS_BOOLEAN && v.u.b == !ismin)
			{
				best = v;
				besttick = w->ticks[i];
			}
			continue;
		}
		if (ismin ? (c > 0 || (c == 0 && w->ticks[i] < besttick)) :
			(c < 0 || (c == 0 && w->ticks[i] < besttick)))
		{
			best = cand;
			besttick = w->ticks[i];
		}
	}
	if (!have || (nulls && !(f->def->op & AGG_IGNORE_NULLS)))
		return false;
	*out = best;
	return true;
}

/* first / last: the value at the earliest / latest tick */
static bool
AggFirstLast(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	bool		last = f->def->op == 1;
	int			idx = 0;

	if (w->n == 0)
		return false;
	for (int i = 1; i < w->n; i++)
		if (last ? w->ticks[i] > w->ticks[idx] : w->ticks[i] < w->ticks[idx])
			idx = i;
	if (w->values[idx].type == WS_NULL)
		return false;
	*out = w->values[idx];
	return true;
}

static bool
AggCount(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	int64		c = 0;

	if (w->n == 0)
		return false;
	for (int i = 0; i < w->n; i++)
		if (!(f->def->op & AGG_IGNORE_NULLS) || w->values[i].type != WS_NULL)
			c++;
	*out = ws_long(c);
	return true;
}

/* numeric values sorted, nulls left out (median, percentile) */
typedef struct SortVal
{
	WsValue		v;
	int64		tick;
} SortVal;

static int
CompareSortVals(const void *a, const void *b)
{
	return ws_compare_numbers(((const SortVal *) a)->v, ((const SortVal *) b)->v);
}

static SortVal *
SortedNumbers(WsState *st, const WsFunc *f, const WsWindow *w, int *n, const char *what)
{
	SortVal    *s = palloc(sizeof(SortVal) * Max(w->n, 1));
	int			k = 0;

	for (int i = 0; i < w->n; i++)
	{
		if (w->values[i].type == WS_NULL)
		{
			if (f->def->op & AGG_FORBID_NULLS)
				ws_error(st, "%s cannot compute %s of null values.", f->def->name, what);
			continue;
		}
		if (!ws_is_number(w->values[i]))
			ws_error(st, "%s can only operate on numeric Geo Time Series.", f->def->name);
		s[k].v = w->values[i];
		s[k].tick = w->ticks[i];
		k++;
	}
	qsort(s, k, sizeof(SortVal), CompareSortVals);
	*n = k;
	return s;
}

/* median (2.4.0+): DOUBLE, the mean of the two middle values for an even count */
static bool
AggMedian(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	int			n;
	SortVal    *s = SortedNumbers(st, f, w, &n, "median");

	if (n == 0)
		return false;
	if (n % 2 == 0)
		*out = ws_double((ws_to_double(s[n / 2 - 1].v) + ws_to_double(s[n / 2].v)) / 2.0);
	else
		*out = ws_double(ws_to_double(s[n / 2].v));
	return true;
}

/* percentile: P [typeN] (Hyndman and Fan); type 1 (default) keeps the type */
static bool
AggPercentile(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	int			n;
	SortVal    *s;
	double		p = ws_to_double(f->param) / 100.0;
	int			type = f->param2.type == WS_LONG ? (int) f->param2.u.l : 1;
	double		pn;
	int			j;
	double		m = 0,
				gamma;

	if (w->n == 0)
		return false;
	s = SortedNumbers(st, f, w, &n, "percentile");
	if (n == 0)
		return false;
	pn = p * n;
	if (type == 1)
	{
		j = D2I(ceil(pn));
		if (j > 0)
			j--;
		*out = s[Min(Max(j, 0), n - 1)].v;
		return true;
	}
	if (type == 2)
	{
		j = D2I(floor(pn));
		gamma = fabs(pn - j) < 0.000001 ? 0.5 : 1;
		j--;
	}
	else if (type == 3)
	{
		int			g;

		j = D2I(floor(pn - 0.5));
		g = (fabs(pn - 0.5 - j) < 0.000001 && j % 2 == 0) ? 0 : 1;
		if (j + g > 0)
			j--;
		*out = s[Min(Max(j + g, 0), n - 1)].v;
		return true;
	}
	else
	{
		switch (type)
		{
			case 4:
				m = 0;
				break;
			case 5:
				m = 0.5;
				break;
			case 6:
				m = p;
				break;
			case 7:
				m = 1 - p;
				break;
			case 8:
				m = (p + 1) / 3.0;
				break;
			default:
				m = p / 4.0 + 3.0 / 8.0;
				break;
		}
		j = D2I(floor(pn + m));
		gamma = pn + m - j;
		j--;
	}
	if (j < 0)
		*out = ws_double(ws_to_double(s[0].v));
	else if (j >= n - 1)
		*out = ws_double(ws_to_double(s[n - 1].v));
	else if (fabs(gamma) < 0.000001)
		*out = ws_double(ws_to_double(s[j].v));
	else if (fabs(gamma - 1) < 0.000001)
		*out = ws_double(ws_to_double(s[j + 1].v));
	else
		*out = ws_double((1 - gamma) * ws_to_double(s[j].v) + gamma * ws_to_double(s[j + 1].v));
	return true;
}

/* variance / standard deviation, param: Bessel's correction */
static bool
AggVariance(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	double		sum = 0,
				sumsq = 0;
	int			n = 0;
	double		var;

	for (int i = 0; i < w->n; i++)
	{
		WsValue		v = w->values[i];

		if (v.type == WS_NULL)
		{
			if (f->def->op & AGG_FORBID_NULLS)
				return false;
			continue;
		}
		if (!ws_is_number(v))
			return false;
		sum += ws_to_double(v);
		sumsq += ws_to_double(v) * ws_to_double(v);
		n++;
	}
	if (n == 0)
		return false;
	var = sumsq / n - (sum * sum) / ((double) n * n);
	if (n > 1 && f->param.type == WS_BOOLEAN && f->param.u.b)
		var = var * n / (n - 1.0);
	*out = ws_double(strstr(f->def->name, ".sd") ? sqrt(var) : var);
	return true;
}

/* and / or over booleans */
static bool
AggAndOr(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	bool		isand = strstr(f->def->name, ".and") != NULL;
	bool		r = isand;

	if (w->n == 0)
		return false;
	for (int i = 0; i < w->n; i++)
	{
		WsValue		v = w->values[i];

		if (v.type == WS_NULL)
		{
			if (f->def->op & AGG_IGNORE_NULLS)
				continue;
			return false;
		}
		if (v.type != WS_BOOLEAN)
			ws_error(st, "%s can only operate on BOOLEAN values.", f->def->name);
		r = isand ? (r && v.u.b) : (r || v.u.b);
	}
	*out = ws_bool(r);
	return true;
}

/* join: the values as strings, joined by the separator */
static bool
AggJoin(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	StringInfoData buf;
	bool		first = true;

	if (w->n == 0)
		return false;
	initStringInfo(&buf);
	for (int i = 0; i < w->n; i++)
	{
		WsValue		v = w->values[i];

		if (v.type == WS_NULL)
		{
			if (f->def->op & AGG_IGNORE_NULLS)
				continue;
			return false;
		}
		if (!first)
			appendBinaryStringInfo(&buf, f->param.u.s->data, f->param.u.s->len);
		first = false;
		if (v.type == WS_STRING)
			appendBinaryStringInfo(&buf, v.u.s->data, v.u.s->len);
		else if (v.type == WS_LONG)
			appendStringInfo(&buf, INT64_FORMAT, v.u.l);
		else if (v.type == WS_DOUBLE)
			ws_append_double(&buf, v.u.d);
		else
			appendStringInfoString(&buf, v.u.b ? "true" : "false");
	}
	*out = ws_string(buf.data, buf.len);
	return true;
}

/* delta: last - first (LONG stays LONG); rate: per second, DOUBLE */
static bool
AggDeltaRate(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	int			fi = 0,
				li = 0;
	WsValue		a,
				b;
	bool		rate = f->def->op == 1;

	if (w->n == 0)
		return false;
	for (int i = 1; i < w->n; i++)
	{
		if (w->ticks[i] < w->ticks[fi])
			fi = i;
		if (w->ticks[i] > w->ticks[li])
			li = i;
	}
	a = w->values[fi];
	b = w->values[li];
	if (b.type == WS_LONG)
	{
		int64		d = WSub(b.u.l, a.type == WS_LONG ? a.u.l : D2L(ws_to_double(a)));

		if (!rate)
			*out = ws_long(d);
		else if (d == 0 || w->ticks[fi] == w->ticks[li])
			*out = ws_double((double) d);
		else
			*out = ws_double((double) d / ((double) (w->ticks[li] - w->ticks[fi]) / 1000000.0));
	}
	else if (b.type == WS_DOUBLE)
	{
		double		d = b.u.d - ws_to_double(a);

		if (!rate)
			*out = ws_double(d);
		else if (d == 0 || w->ticks[fi] == w->ticks[li])
			*out = ws_double(d);
		else
			*out = ws_double(d / ((double) (w->ticks[li] - w->ticks[fi]) / 1000000.0));
	}
	else
		return false;
	return true;
}

/*
 * product: a LONG while every value is one (the low 64 bits of the exact
 * product, as BigDecimal.longValue() keeps), else a DOUBLE; nulls skipped
 */
static bool
AggProduct(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	uint64		l = 1;
	long double d = 1;
	bool		isdouble = false;

	if (w->n == 0)
		return false;
	for (int i = 0; i < w->n; i++)
	{
		WsValue		v = w->values[i];

		if (v.type == WS_NULL)
			continue;
		if (!ws_is_number(v))
			ws_error(st, "%s can only be applied to LONG or DOUBLE values.", f->def->name);
		if (v.type == WS_DOUBLE)
			isdouble = true;
		else
			l *= (uint64) v.u.l;
		d *= v.type == WS_LONG ? (long double) v.u.l : (long double) v.u.d;
	}
	*out = isdouble ? ws_double((double) d) : ws_long((int64) l);
	return true;
}

/* the single value a single-value mapper works on; more is an error */
static bool
SingleValue(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *v)
{
	if (w->n == 0)
		return false;
	if (w->n != 1)
		ws_error(st, "%s can only be applied to a single value.", f->def->name);
	*v = w->values[0];
	return true;
}

/* mapper.add / mapper.mul: the constant's type wins */
static bool
MapArith(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	WsValue		v;
	bool		mul = f->def->op == 1;

	if (!SingleValue(st, f, w, &v))
		return false;
	if (!ws_is_number(v))
		ws_error(st, "%s can only be applied to LONG or DOUBLE values.", f->def->name);
	if (f->param.type == WS_LONG)
	{
		int64		x = v.type == WS_LONG ? v.u.l : D2L(v.u.d);

		*out = ws_long(mul ? WMul(f->param.u.l, x) : WAdd(f->param.u.l, x));
	}
	else
		*out = ws_double(mul ? f->param.u.d * ws_to_double(v) : f->param.u.d + ws_to_double(v));
	return true;
}

/* pow, exp (base^v), log (log_base v), sqrt */
static bool
MapMath(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	WsValue		v;
	double		x,
				c = f->has_param ? ws_to_double(f->param) : 0.5;

	if (!SingleValue(st, f, w, &v))
		return false;
	if (!ws_is_number(v))
		ws_error(st, "%s can only be applied to LONG or DOUBLE values.", f->def->name);
	x = ws_to_double(v);
	switch (f->def->op)
	{
		case 0:					/* pow, sqrt */
			*out = ws_double(pow(x, c));
			break;
		case 1:					/* exp */
			*out = ws_double(pow(c, x));
			break;
		default:				/* log */
			*out = ws_double(log(x) / log(c));
			break;
	}
	return true;
}

/* abs ceil floor round finite */
static bool
MapUnary(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	WsValue		v;

	if (!SingleValue(st, f, w, &v))
		return false;
	if (f->def->op == 4)		/* finite */
	{
		if (v.type == WS_DOUBLE && !isfinite(v.u.d))
			return false;
		*out = v;
		return true;
	}
	if (!ws_is_number(v))
		ws_error(st, "%s can only be applied to LONG or DOUBLE values.", f->def->name);
	switch (f->def->op)
	{
		case 0:					/* abs */
			*out = v.type == WS_LONG ? ws_long(v.u.l < 0 ? (int64) (0 - (uint64) v.u.l) : v.u.l) :
				ws_double(fabs(v.u.d));
			break;
		case 1:					/* ceil: LONG become DOUBLE */
			*out = v.type == WS_LONG ? ws_double((double) v.u.l) : ws_double(ceil(v.u.d));
			break;
		case 2:					/* floor */
			*out = v.type == WS_LONG ? ws_double((double) v.u.l) : ws_double(floor(v.u.d));
			break;
		case 3:					/* round */
			*out = v.type == WS_LONG ? v : ws_long(D2L(floor(v.u.d + 0.5)));
			break;
	}
	return true;
}

/* todouble tolong toboolean tostring */
static bool
MapConvert(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	WsValue		v;

	if (!SingleValue(st, f, w, &v) || v.type == WS_NULL)
		return false;
	switch (f->def->op)
	{
		case 0:					/* todouble */
			if (v.type == WS_STRING)
			{
				char	   *end;
				double		d = strtod(v.u.s->data, &end);

				if (*end != '\0' || v.u.s->len == 0)
					return false;
				*out = ws_double(d);
			}
			else
				*out = ws_double(v.type == WS_BOOLEAN ? (v.u.b ? 1.0 : 0.0) : ws_to_double(v));
			break;
		case 1:					/* tolong */
			if (v.type == WS_STRING)
			{
				char	   *end;
				long long	l;

				errno = 0;
				l = strtoll(v.u.s->data, &end, 10);
				if (*end != '\0' || v.u.s->len == 0 || errno != 0)
					return false;
				*out = ws_long(l);
			}
			else
				*out = ws_long(v.type == WS_BOOLEAN ? v.u.b : v.type == WS_LONG ? v.u.l : D2L(v.u.d));
			break;
		case 2:					/* toboolean */
			*out = ws_bool(v.type == WS_BOOLEAN ? v.u.b : v.type == WS_LONG ? v.u.l != 0 :
						   v.type == WS_DOUBLE ? v.u.d != 0 : v.u.s->len > 0);
			break;
		default:				/* tostring */
			{
				StringInfoData buf;

				initStringInfo(&buf);
				if (v.type == WS_STRING)
					appendBinaryStringInfo(&buf, v.u.s->data, v.u.s->len);
				else if (v.type == WS_LONG)
					appendStringInfo(&buf, INT64_FORMAT, v.u.l);
				else if (v.type == WS_DOUBLE)
					ws_append_double(&buf, v.u.d);
				else
					appendStringInfoString(&buf, v.u.b ? "true" : "false");
				*out = ws_string(buf.data, buf.len);
			}
			break;
	}
	return true;
}

/* C mapper.gt ge lt le eq ne: keep the value when the comparison holds */
static bool
MapCompare(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	WsValue		v;
	int			c;
	int			op = f->def->op;	/* 0 gt 1 ge 2 lt 3 le 4 eq 5 ne */
	WsValue		ref = f->param;
	bool		keep;

	if (w->n == 0)
		return false;
	v = w->values[w->n - 1];
	for (int i = 0; i < w->n; i++)
		if (w->ticks[i] == w->tick)
			v = w->values[i];
	if (ref.type == WS_LONG || ref.type == WS_DOUBLE)
	{
		if (!ws_is_number(v))
			return false;
		if (ref.type == WS_LONG)
		{
			int64		x = v.type == WS_LONG ? v.u.l : D2L(v.u.d);

			c = x < ref.u.l ? -1 : x > ref.u.l;
		}
		else
			c = JavaDoubleCompare(ws_to_double(v), ref.u.d);
	}
	else if (ref.type == WS_STRING)
	{
		if (v.type != WS_STRING)
			return false;
		c = CompareStrings(v.u.s, ref.u.s);
	}
	else
	{
		if (v.type != WS_BOOLEAN)
			return false;
		c = (int) v.u.b - (int) ref.u.b;
	}
	switch (op)
	{
		case 0:
			keep = c > 0;
			break;
		case 1:
			keep = c >= 0;
			break;
		case 2:
			keep = c < 0;
			break;
		case 3:
			keep = c <= 0;
			break;
		case 4:
			keep = c == 0;
			break;
		default:
			keep = c != 0;
			break;
	}
	if (!keep)
		return false;
	*out = v;
	return true;
}

static bool
MapReplace(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	if (w->n == 0)
		return false;
	*out = f->param;
	return true;
}

static bool
MapTick(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	WsValue		v;

	if (!SingleValue(st, f, w, &v))
		return false;
	*out = ws_long(w->tick);
	return true;
}

/* calendar fields of the tick, in the parameter's time zone */
static bool
MapCalendar(WsState *st, const WsFunc *f, const WsWindow *w, WsValue *out)
{
	WsValue		v;
	pg_tz	   *tz;
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	TimestampTz t;

	if (!SingleValue(st, f, w, &v))
		return false;
	tz = pg_tzset(f->param.u.s->data);
	if (tz == NULL)
		ws_error(st, "The datetime zone id '%s' is not recognised", f->param.u.s->data);
	t = w->tick - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	if (timestamp2tm(t, &tzoff, &tm, &fsec, NULL, tz) != 0)
		return false;
	switch (f->def->op)
	{
		case 0:
			*out = ws_long(tm.tm_year);
			break;
		case 1:
			*out = ws_long(tm.tm_mon);
			break;
		case 2:
			*out = ws_long(tm.tm_mday);
			break;
		case 3:					/* ISO day of week, Monday 1 */
			*out = ws_long(j2day(date2j(tm.tm_year, tm.tm_mon, tm.tm_mday)) == 0 ? 7 :
						   j2day(date2j(tm.tm_year, tm.tm_mon, tm.tm_mday)));
			break;
		case 4:
			*out = ws_long(tm.tm_hour);
			break;
		case 5:
			*out = ws_long(tm.tm_min);
			break;
		default:				/* seconds, with the fraction of the tick */
			*out = ws_double(tm.tm_sec + (double) (w->tick % 1000000) / 1000000.0);
			break;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * pushing aggregators and filters
 * ---------------------------------------------------------------------
 */

static WsFunc *
NewFunc(const WsFuncDef *def)
{
	WsFunc	   *f = palloc0(sizeof(WsFunc));

	f->def = def;
	f->param.type = WS_NULL;
	f->param2.type = WS_NULL;
	return f;
}

static void
PushFunc(WsState *st, WsFunc *f)
{
	WsValue		v;

	v.type = WS_FUNC;
	v.u.func = f;
	ws_push(st, v);
}

/* a bucketizer, mapper or reducer without parameter */
static void
FnAgg(WsState *st, const WsFuncDef *def)
{
	PushFunc(st, NewFunc(def));
}

/* one taking a parameter from the stack */
static void
FnParamAgg(WsState *st, const WsFuncDef *def)
{
	WsFunc	   *f = NewFunc(def);
	WsValue		p = ws_pop(st);

	if (def->agg == AggPercentile)
	{
		if (p.type == WS_STRING)
		{
			if (p.u.s->len != 5 || pg_strncasecmp(p.u.s->data, "type", 4) != 0)
				ws_error(st, "%s expect percentile type to be 'typeX' where 0<X<10.", def->name);
			if (p.u.s->data[4] < '1' || p.u.s->data[4] > '9')
				ws_error(st, "%s expect percentile type to be 'typeX' where X is a integer and 0<X<10.", def->name);
			f->param2 = ws_long(p.u.s->data[4] - '0');
			p = ws_pop(st);
		}
		if (!ws_is_number(p))
			ws_error(st, "Invalid parameter for %s", def->name);
		if (ws_to_double(p) < 0 || ws_to_double(p) > 100)
			ws_error(st, "Invalid percentile for %s, MUST be between 0 and 100.", def->name);
	}
	else if (def->agg == AggJoin)
	{
		if (p.type != WS_STRING)
			ws_error(st, "%s expects a STRING separator.", def->name);
	}
	else if (def->agg == AggVariance)
	{
		if (p.type != WS_BOOLEAN)
			ws_error(st, "%s expects a boolean parameter to determine whether or not to apply Bessel's correction.", def->name);
	}
	else if (def->agg == MapCalendar)
	{
		if (p.type != WS_STRING)
			ws_error(st, "%s expects a timezone name.", def->name);
	}
	else if (def->agg == MapReplace)
	{
		if (p.type != WS_LONG && p.type != WS_DOUBLE && p.type != WS_STRING && p.type != WS_BOOLEAN)
			ws_error(st, "Invalid parameter for %s", def->name);
	}
	else if (def->agg == MapCompare)
	{
		if (p.type != WS_LONG && p.type != WS_DOUBLE && p.type != WS_STRING && p.type != WS_BOOLEAN)
			ws_error(st, "%s expects a LONG, DOUBLE, STRING or BOOLEAN reference value.", def->name);
	}
	else if (!ws_is_number(p))
		ws_error(st, "Invalid parameter for %s", def->name);
	f->has_param = true;
	f->param = p;
	PushFunc(st, f);
}

/* ---------------------------------------------------------------------
 * filters
 * ---------------------------------------------------------------------
 */

/* a Warp 10 value matcher: =exact, ~regex (whole value), bare exact */
struct WsMatcher
{
	bool		regex;
	char	   *s;
	text	   *re;
};

WsMatcher *
ws_matcher_new(WsState *st, const char *sel, bool bare_is_exact)
{
	WsMatcher  *m = palloc0(sizeof(WsMatcher));

	if (sel[0] == '~')
	{
		m->regex = true;
		m->re = cstring_to_text(psprintf("^(?:%s)$", sel + 1));
		/* compile now, so a bad regex fails where it is given */
		(void) RE_compile_and_cache(m->re, REG_ADVANCED, C_COLLATION_OID);
	}
	else
		m->s = pstrdup(sel[0] == '=' ? sel + 1 : sel);
	return m;
}

bool
ws_matcher_match(WsMatcher *m, const char *s)
{
	if (!m->regex)
		return strcmp(m->s, s) == 0;
	return RE_compile_and_execute(m->re, (char *) s, strlen(s), REG_ADVANCED, C_COLLATION_OID,
								  0, NULL);
}

typedef struct LabelMatcher
{
	char	   *label;
	WsMatcher  *m;
} LabelMatcher;

static void
FnParamFilter(WsState *st, const WsFuncDef *def)
{
	WsFunc	   *f = NewFunc(def);
	WsValue		p = ws_pop(st);

	switch (def->op)
	{
		case 0:					/* byclass */
			if (p.type != WS_STRING)
				ws_error(st, "Invalid class selector");
			f->param = p;
			{
				WsMatcher  *m = ws_matcher_new(st, p.u.s->data, true);

				f->extra = m;
			}
			break;
		case 1:					/* bylabels */
			if (p.type != WS_MAP)
				ws_error(st, "%s expects a map of label selectors.", def->name);
			{
				LabelMatcher *lm = palloc(sizeof(LabelMatcher) * (p.u.map->n + 1));

				for (int i = 0; i < p.u.map->n; i++)
				{
					if (p.u.map->keys[i].type != WS_STRING || p.u.map->vals[i].type != WS_STRING)
						ws_error(st, "%s expects a map of STRING label names and selectors.", def->name);
					lm[i].label = p.u.map->keys[i].u.s->data;
					lm[i].m = ws_matcher_new(st, p.u.map->vals[i].u.s->data, true);
				}
				lm[p.u.map->n].label = NULL;
				f->param = p;
				f->extra = lm;
			}
			break;
		default:				/* last.* */
			if (p.type != WS_LONG && p.type != WS_DOUBLE && p.type != WS_STRING && p.type != WS_BOOLEAN)
				ws_error(st, "Invalid threshold type.");
			f->param = p;
			break;
	}
	f->has_param = true;
	PushFunc(st, f);
}

/* the value at the last tick (at lastbucket exactly when bucketized) */
static bool
LastValue(const WsGts *g, WsValue *out)
{
	int			idx = -1;

	if (g->n == 0)
		return false;
	if (g->bucketized)
	{
		for (int i = 0; i < g->n; i++)
			if (g->ticks[i] == g->lastbucket)
			{
				*out = ws_gts_value_at(g, i);
				return true;
			}
		return false;
	}
	for (int i = 0; i < g->n; i++)
		if (idx < 0 || g->ticks[i] > g->ticks[idx])
			idx = i;
	*out = ws_gts_value_at(g, idx);
	return true;
}

static bool
FilterKeep(WsState *st, const WsFunc *f, WsGts *g)
{
	switch (f->def->op)
	{
		case 0:
			return ws_matcher_match((WsMatcher *) f->extra, g->cls);
		case 1:
			{
				LabelMatcher *lm = (LabelMatcher *) f->extra;

				for (; lm->label != NULL; lm++)
				{
					const char *v = ws_labels_get(&g->labels, lm->label);

					if (v == NULL || !ws_matcher_match(lm->m, v))
						return false;
				}
				return true;
			}
		default:
			{
				WsValue		last;
				WsValue		t = f->param;
				int			c;
				int			op = f->def->op - 2;	/* 0 eq 1 ne 2 gt 3 ge 4 lt 5 le */

				if (!LastValue(g, &last))
					return false;
				if (t.type == WS_LONG)
				{
					int64		x;

					if (!ws_is_number(last))
						ws_error(st, "class java.lang.%s cannot be cast to class java.lang.Number",
								 last.type == WS_STRING ? "String" : "Boolean");
					x = last.type == WS_LONG ? last.u.l : D2L(last.u.d);
					c = t.u.l < x ? -1 : t.u.l > x;
				}
				else if (t.type == WS_DOUBLE)
				{
					if (!ws_is_number(last))
						ws_error(st, "class java.lang.%s cannot be cast to class java.lang.Number",
								 last.type == WS_STRING ? "String" : "Boolean");
					c = JavaDoubleCompare(t.u.d, ws_to_double(last));
				}
				else if (t.type == WS_STRING)
				{
					StringInfoData sb;

					initStringInfo(&sb);
					if (last.type == WS_STRING)
						appendBinaryStringInfo(&sb, last.u.s->data, last.u.s->len);
					else if (last.type == WS_LONG)
						appendStringInfo(&sb, INT64_FORMAT, last.u.l);
					else if (last.type == WS_DOUBLE)
						ws_append_double(&sb, last.u.d);
					else
						appendStringInfoString(&sb, last.u.b ? "true" : "false");
					c = CompareStrings(t.u.s, ws_string(sb.data, sb.len).u.s);
				}
				else
				{
					if (op != 0 && op != 1)
						ws_error(st, "%s cannot compare BOOLEAN values.", f->def->name);
					c = last.type == WS_BOOLEAN && last.u.b == t.u.b ? 0 : 1;
				}
				/* c compares the threshold with the value */
				switch (op)
				{
					case 0:
						return c == 0;
					case 1:
						return c != 0;
					case 2:
						return c < 0;
					case 3:
						return c <= 0;
					case 4:
						return c > 0;
					default:
						return c >= 0;
				}
			}
	}
}

/* ---------------------------------------------------------------------
 * BUCKETIZE
 * ---------------------------------------------------------------------
 */

/* the points of a GTS as values, in its (sorted) order */
static WsValue *
GtsValues(WsGts *g)
{
	WsValue    *v = palloc(sizeof(WsValue) * Max(g->n, 1));

	for (int i = 0; i < g->n; i++)
		v[i] = ws_gts_value_at(g, i);
	return v;
}

/* MacroResult reads a macro aggregator's answer: a list [.. value] or 5 values */
static WsValue
MacroResult(WsState *st, int64 *tick)
{
	WsValue		top = ws_pop(st);

	if (top.type == WS_LIST)
	{
		if (top.u.list->n == 0)
			return ws_null();
		if (top.u.list->n >= 2 && top.u.list->items[0].type == WS_LONG)
			*tick = top.u.list->items[0].u.l;
		return top.u.list->items[top.u.list->n - 1];
	}
	else
	{
		WsValue		v = top;

		ws_pop(st);				/* elevation */
		ws_pop(st);				/* longitude */
		ws_pop(st);				/* latitude */
		top = ws_pop(st);
		if (top.type == WS_LONG)
			*tick = top.u.l;
		return v;
	}
}

/* RunAggregator computes one window's value, by function or macro */
static bool
RunAggregator(WsState *st, WsValue agg, const WsGts *meta, WsWindow *w, WsValue *out, int64 *tick)
{
	*tick = w->tick;
	if (agg.type == WS_FUNC)
	{
		CHECK_FOR_INTERRUPTS();
		return agg.u.func->def->agg(st, agg.u.func, w, out);
	}
	else
	{
		/* a macro sees a GTS of the window's points */
		WsGts	   *sub = ws_gts_clone((WsGts *) meta, false);

		sub->bucketized = false;
		for (int i = 0; i < w->n; i++)
			ws_gts_add(st, sub, w->ticks[i], w->values[i]);
		ws_push(st, ws_gts_value(sub));
		ws_exec_macro(st, agg.u.macro);
		*out = MacroResult(st, tick);
		return out->type != WS_NULL;
	}
}

/*
 * Bucketize one GTS, as GTSHelper.bucketize: buckets (e - span, e] ending
 * at lastbucket - k * span, labelled by their end; empty buckets make no
 * point; output newest first.  agg NULL only sets the bucketization.
 */
static WsGts *
Bucketize(WsState *st, WsGts *g, WsValue agg, int64 lastbucket, int64 span, int64 count)
{
	int64		lasttick = ws_gts_last_tick(g);
	int64		firsttick = ws_gts_first_tick(g);
	bool		zerolast = lastbucket == 0;
	bool		zerocount = count == 0;
	WsGts	   *b;
	int			i;
	WsValue    *values;
	int			nvalues;
	WsWindow	w = {0};

	if (g->n == 0 && g->bucketized == false)
	{
		lasttick = PG_INT64_MIN;
		firsttick = PG_INT64_MAX;
	}
	if (lastbucket == 0)
		lastbucket = lasttick;
	if (span == 0 || span == -1)
	{
		if (count == 0)
			ws_error(st, "One of bucketspan or bucketcount must be different from zero.");
		if (lastbucket >= firsttick)
		{
			int64		delta;

			if (span == 0)
			{
				delta = WAdd(WSub(lastbucket, firsttick), 1);
				span = delta / count;
			}
			else
			{
				delta = WSub(lastbucket, firsttick);
				span = count == 1 ? delta : delta / (count - 1);
			}
			if (span == 0 || (delta % span) != 0)
				span++;
		}
	}
	if (span < 0)
		span = 0;
	if (count == 0 && lastbucket >= firsttick && span > 0)
	{
		int64		delta = WSub(lastbucket, firsttick);

		count = delta < span ? 1 : 1 + delta / span;
	}
	if (zerolast && zerocount && span > 0)
	{
		if (lastbucket % span != 0)
		{
			lastbucket = WAdd(WSub(lastbucket, lastbucket % span), span);
			if (WSub(lastbucket, WMul(count, span)) >= firsttick)
				count++;
		}
	}
	if (count < 0 || count > st->maxbuckets)
		ws_error(st, "Bucket count (" INT64_FORMAT ") would exceed maximum value of " INT64_FORMAT ". Consider raising the limit or using capabilities.",
				 count, st->maxbuckets);
	if (span == 0)
		ws_error(st, "Undefined bucket span, check your GTS timestamps.");

	if (agg.type == WS_NULL)
	{
		g->bucketized = true;
		g->lastbucket = lastbucket;
		g->bucketcount = count;
		g->bucketspan = span;
		return g;
	}

	b = ws_gts_clone(g, false);
	b->bucketized = true;
	b->lastbucket = lastbucket;
	b->bucketcount = count;
	b->bucketspan = span;
	if (g->n == 0 || firsttick > lastbucket ||
		lasttick < WAdd(WSub(lastbucket, WMul(span, count)), 1))
		return b;

	ws_gts_sort(g, false);
	/* one bucket's values at a time, not the whole GTS's */
	nvalues = Min(g->n, 1024);
	values = palloc(sizeof(WsValue) * nvalues);
	/* the newest point at or before lastbucket */
	{
		int			lo = 0,
					hi = g->n - 1;

		i = -1;
		while (lo <= hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (g->ticks[mid] <= lastbucket)
			{
				i = mid;
				lo = mid + 1;
			}
			else
				hi = mid - 1;
		}
	}
	while (i >= 0 && g->ticks[i] > WSub(lastbucket, WMul(span, count)))
	{
		int			endpos = i;
		int64		end = WAdd(g->ticks[i], WSub(lastbucket, g->ticks[i]) % span);
		WsValue		out;
		int64		tick;

		while (i >= 0 && g->ticks[i] > WSub(end, span))
			i--;
		w.tick = end;
		w.n = endpos - i;
		w.ticks = &g->ticks[i + 1];
		if (w.n > nvalues)
		{
			nvalues = Max(w.n, nvalues * 2);
			values = repalloc_huge(values, sizeof(WsValue) * nvalues);
		}
		for (int k = 0; k < w.n; k++)
			values[k] = ws_gts_value_at(g, i + 1 + k);
		w.values = values;
		if (RunAggregator(st, agg, g, &w, &out, &tick))
			ws_gts_add(st, b, end, out);
	}
	pfree(values);
	return b;
}

static void
FnBucketize(WsState *st, const WsFuncDef *def)
{
	WsValue		top = ws_pop(st);
	WsList	   *p;
	WsList	   *series;
	WsList	   *out;
	WsValue		agg;
	int			np;

	if (top.type != WS_LIST)
		ws_error(st, "BUCKETIZE expects a list as input.");
	p = top.u.list;
	np = p->n;
	if (np < 5)
		ws_error(st, "BUCKETIZE needs a list of at least 5 parameters as input.");
	for (int i = 0; i < np - 4; i++)
		if (p->items[i].type != WS_GTS && p->items[i].type != WS_LIST)
			ws_error(st, "BUCKETIZE expects a list of Geo Time Series as first parameter.");
	agg = p->items[np - 4];
	if (!(agg.type == WS_FUNC && agg.u.func->def->kind == WS_FK_AGGREGATOR &&
		  (agg.u.func->def->roles & WS_ROLE_BUCKETIZER)) &&
		agg.type != WS_MACRO && agg.type != WS_NULL)
		ws_error(st, "BUCKETIZE expects a bucketizer function, a macro, or NULL as fourth to last parameter.");
	if (p->items[np - 3].type != WS_LONG || p->items[np - 2].type != WS_LONG ||
		p->items[np - 1].type != WS_LONG)
		ws_error(st, "BUCKETIZE expects lastbucket, bucketspan and bucketcount as last 3 parameters.");
	series = ws_list_new(np);
	for (int i = 0; i < np - 4; i++)
	{
		if (p->items[i].type == WS_LIST)
			for (int j = 0; j < p->items[i].u.list->n; j++)
				if (p->items[i].u.list->items[j].type != WS_GTS)
					ws_error(st, "BUCKETIZE expects a list of Geo Time Series as first parameter.");
		ws_collect_gts(st, p->items[i], series, "BUCKETIZE");
	}
	out = ws_list_new(series->n);
	for (int i = 0; i < series->n; i++)
		ws_list_append(st, out, ws_gts_value(Bucketize(st, series->items[i].u.gts, agg,
													   p->items[np - 3].u.l,
													   p->items[np - 2].u.l,
													   (int32) p->items[np - 1].u.l)));
	ws_push(st, ws_list_value(out));
}

/* ---------------------------------------------------------------------
 * MAP
 * ---------------------------------------------------------------------
 */

/* the first index with tick >= t in ascending ticks */
static int
LowerBound(const int64 *ticks, int n, int64 t)
{
	int			lo = 0,
				hi = n;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ticks[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Map one GTS, as GTSHelper.map without output ticks */
static WsGts *
MapOne(WsState *st, WsGts *g, WsValue mapper, int64 pre, int64 post, int64 occ,
	   bool reversed, int64 step, bool override)
{
	WsGts	   *mapped = ws_gts_clone(g, false);
	WsGts	   *sorted;
	WsValue    *values;
	int64		nticks;
	int64		idx = 0;
	bool		has_occ = occ != 0;
	WsWindow	w = {0};

	mapped->sorted = true;
	if (g->n == 0 && !g->bucketized)
		return mapped;
	/* every bucket is a tick: as many as BUCKETIZE may make (REDUCE may join far ones) */
	if (g->bucketized && g->bucketcount > st->maxbuckets)
		ws_error(st, "Bucket count (" INT64_FORMAT ") would exceed maximum value of " INT64_FORMAT ". Consider raising the limit or using capabilities.",
				 g->bucketcount, st->maxbuckets);
	if (pre > PG_INT32_MAX)
		pre = PG_INT32_MAX;
	if (post > PG_INT32_MAX)
		post = PG_INT32_MAX;
	/* the points, ascending, for the windows */
	sorted = ws_gts_clone(g, true);
	ws_gts_sort(sorted, false);
	values = GtsValues(sorted);
	nticks = g->bucketized ? g->bucketcount : sorted->n;
	while (idx < nticks)
	{
		int64		tick,
					start,
					stop;
		int			a,
					b;
		WsValue		out;
		int64		rtick;

		if (has_occ && occ == 0)
			break;
		if (g->bucketized)
			tick = reversed ? WSub(g->lastbucket, WMul(idx, g->bucketspan)) :
				WSub(g->lastbucket, WMul(g->bucketcount - 1 - idx, g->bucketspan));
		else
			tick = reversed ? sorted->ticks[sorted->n - 1 - idx] : sorted->ticks[idx];
		start = stop = tick;
		if (pre < 0)
			start = WAdd(tick, pre);
		else if (pre > 0)
		{
			if (g->bucketized)
				start = pre <= g->bucketcount ? WSub(tick, WMul(pre, g->bucketspan)) : PG_INT64_MIN;
			else
			{
				/* pre ticks before this one, in time */
				int64		pos = reversed ? sorted->n - 1 - idx : idx;

				start = pos - pre >= 0 ? sorted->ticks[pos - pre] : PG_INT64_MIN;
			}
		}
		if (post < 0)
			stop = WSub(tick, post);
		else if (post > 0)
		{
			if (g->bucketized)
				stop = post <= g->bucketcount ? WAdd(tick, WMul(post, g->bucketspan)) : PG_INT64_MAX;
			else
			{
				int64		pos = reversed ? sorted->n - 1 - idx : idx;

				stop = pos + post < sorted->n ? sorted->ticks[pos + post] : PG_INT64_MAX;
			}
		}
		a = LowerBound(sorted->ticks, sorted->n, start);
		b = stop == PG_INT64_MAX ? sorted->n : LowerBound(sorted->ticks, sorted->n, stop + 1);
		w.tick = tick;
		w.n = Max(b - a, 0);
		w.ticks = &sorted->ticks[a];
		w.values = &values[a];
		if (RunAggregator(st, mapper, g, &w, &out, &rtick))
			ws_gts_add(st, mapped, override ? rtick : tick, out);
		idx += step;
		occ--;
	}
	return mapped;
}

static void
FnMap(WsState *st, const WsFuncDef *def)
{
	WsValue		top = ws_pop(st);
	WsList	   *p;
	int			nseries = 0;
	WsValue		mapper;
	int64		pre = 0,
				post = 0,
				occ = 0,
				step = 1;
	bool		override = false;
	WsList	   *series;
	WsList	   *out;

	if (top.type == WS_MAP)
		ws_error(st, "MAP with a parameter map is not supported by vscope; use the list form.");
	if (top.type != WS_LIST)
		ws_error(st, "MAP expects a list as input or a map of parameters on top of a list of GTS.");
	p = top.u.list;
	while (nseries < p->n && (p->items[nseries].type == WS_GTS || p->items[nseries].type == WS_LIST))
		nseries++;
	if (nseries == 0)
		ws_error(st, "MAP expects Geo Time Series or lists thereof as first parameters.");
	if (nseries == p->n ||
		!((p->items[nseries].type == WS_FUNC && p->items[nseries].u.func->def->kind == WS_FK_AGGREGATOR &&
		   (p->items[nseries].u.func->def->roles & WS_ROLE_MAPPER)) ||
		  p->items[nseries].type == WS_MACRO))
		ws_error(st, "MAP expects a mapper function or a macro after Geo Time Series.");
	mapper = p->items[nseries];
	if ((p->n > nseries + 1 && p->items[nseries + 1].type != WS_LONG) ||
		(p->n > nseries + 2 && p->items[nseries + 2].type != WS_LONG))
		ws_error(st, "MAP expects prewindow and postwindow as 2 parameters following the mapper function.");
	if (p->n > nseries + 1)
		pre = p->items[nseries + 1].u.l;
	if (p->n > nseries + 2)
		post = p->items[nseries + 2].u.l;
	if (p->n > nseries + 3)
	{
		if (p->items[nseries + 3].type != WS_LONG)
			ws_error(st, "MAP expects occurrences (LONG or LIST of LONG) as the parameter following the postwindow parameter.");
		occ = p->items[nseries + 3].u.l;
	}
	if (p->n > nseries + 4)
	{
		if (p->items[nseries + 4].type != WS_LONG)
			ws_error(st, "MAP expects a step parameter that is an integer number.");
		step = p->items[nseries + 4].u.l;
		if (step <= 0)
			ws_error(st, "MAP expects a step parameter which is strictly positive.");
	}
	if (p->n > nseries + 5)
	{
		if (p->items[nseries + 5].type != WS_BOOLEAN)
			ws_error(st, "MAP expects a boolean as 'override tick' parameter.");
		override = p->items[nseries + 5].u.b;
	}
	if (occ == PG_INT64_MIN)
		occ = PG_INT64_MIN + 1;
	series = ws_list_new(nseries);
	for (int i = 0; i < nseries; i++)
	{
		if (p->items[i].type == WS_LIST)
			for (int j = 0; j < p->items[i].u.list->n; j++)
				if (p->items[i].u.list->items[j].type != WS_GTS)
					ws_error(st, "MAP operates on lists of Geo Time Series.");
		ws_collect_gts(st, p->items[i], series, "MAP");
	}
	out = ws_list_new(series->n);
	for (int i = 0; i < series->n; i++)
		ws_list_append(st, out, ws_gts_value(MapOne(st, series->items[i].u.gts, mapper, pre, post,
													occ < 0 ? -occ : occ, occ < 0, step, override)));
	ws_push(st, ws_list_value(out));
}

/* ---------------------------------------------------------------------
 * REDUCE
 * ---------------------------------------------------------------------
 */

typedef struct Partition
{
	StringInfoData key;			/* the partition's label values, k\1v\1... */
	WsList	   *members;
	WsLabels	common;
} Partition;

static int
CompareGtsValues(const void *a, const void *b)
{
	return ws_gts_compare_meta(((const WsValue *) a)->u.gts, ((const WsValue *) b)->u.gts);
}

static WsGts *
ReduceOne(WsState *st, Partition *part, WsValue reducer, bool override)
{
	int			m = part->members->n;
	WsGts	   *r = ws_gts_new(0);
	int64		lastbucket = PG_INT64_MIN,
				startbucket = PG_INT64_MAX,
				span = 0;
	int		   *idx = palloc0(sizeof(int) * m);
	int64	   *ticks = palloc(sizeof(int64) * m);
	WsValue    *vals = palloc(sizeof(WsValue) * m);
	WsValue   **mv = palloc(sizeof(WsValue *) * m);
	WsGts	  **g = palloc(sizeof(WsGts *) * m);
	WsWindow	w = {0};
	const char *cls = NULL;

	for (int i = 0; i < m; i++)
		g[i] = part->members->items[i].u.gts;
	/* bucketized iff all are, with one span and congruent last buckets */
	for (int i = 0; i < m; i++)
	{
		if (!g[i]->bucketized)
		{
			span = 0;
			break;
		}
		if (span == 0)
			span = g[i]->bucketspan;
		else if (span != g[i]->bucketspan)
		{
			span = 0;
			break;
		}
		if (lastbucket == PG_INT64_MIN)
			lastbucket = g[i]->lastbucket;
		if (lastbucket % span != g[i]->lastbucket % g[i]->bucketspan)
		{
			span = 0;
			break;
		}
		if (g[i]->lastbucket > lastbucket)
			lastbucket = g[i]->lastbucket;
		if (WSub(g[i]->lastbucket, WMul(g[i]->bucketcount, g[i]->bucketspan)) < startbucket)
			startbucket = WSub(g[i]->lastbucket, WMul(g[i]->bucketcount, g[i]->bucketspan));
	}
	if (span != 0)
	{
		r->bucketized = true;
		r->lastbucket = lastbucket;
		r->bucketspan = span;
		r->bucketcount = (int32) (WSub(lastbucket, startbucket) / span);
	}
	r->labels = ws_labels_copy(&part->common);
	/* common attributes */
	r->attrs = ws_labels_copy(&g[0]->attrs);
	for (int i = 1; i < m; i++)
		for (int k = r->attrs.n - 1; k >= 0; k--)
		{
			const char *v = ws_labels_get(&g[i]->attrs, r->attrs.k[k]);

			if (v == NULL || strcmp(v, r->attrs.v[k]) != 0)
				ws_gts_set_label(&r->attrs, r->attrs.k[k], NULL);
		}
	for (int i = 0; i < m; i++)
	{
		ws_gts_sort(g[i], false);
		mv[i] = GtsValues(g[i]);
		if (cls == NULL)
			cls = g[i]->cls;
		else if (strcmp(cls, g[i]->cls) != 0)
			cls = "";
	}
	r->cls = pstrdup(cls ? cls : "");

	w.reducer = true;
	w.ticks = ticks;
	w.values = vals;
	w.n = m;
	for (;;)
	{
		int64		smallest = PG_INT64_MAX;
		bool		any = false;
		WsValue		out;
		int64		rtick;

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < m; i++)
			if (idx[i] < g[i]->n && g[i]->ticks[idx[i]] <= smallest)
			{
				smallest = g[i]->ticks[idx[i]];
				any = true;
			}
		if (!any)
			break;
		w.nnull = 0;
		for (int i = 0; i < m; i++)
		{
			if (idx[i] < g[i]->n && g[i]->ticks[idx[i]] == smallest)
			{
				ticks[i] = smallest;
				vals[i] = mv[i][idx[i]];
				idx[i]++;
			}
			else
			{
				ticks[i] = PG_INT64_MIN;
				vals[i] = ws_null();
				w.nnull++;
			}
		}
		w.tick = smallest;
		rtick = smallest;
		if (reducer.u.func->def->agg(st, reducer.u.func, &w, &out))
			ws_gts_add(st, r, override ? rtick : smallest, out);
	}
	return r;
}

static void
FnReduce(WsState *st, const WsFuncDef *def)
{
	WsValue		top = ws_pop(st);
	WsList	   *p;
	int			labels_idx,
				reducer_idx;
	bool		override = false;
	WsValue		bylabels;
	WsValue		reducer;
	Partition  *parts = NULL;
	int			nparts = 0;
	WsList	   *out;

	if (top.type != WS_LIST)
		ws_error(st, "REDUCE expects a list as input.");
	p = top.u.list;
	if (p->n < 3)
		ws_error(st, "REDUCE expects at least 3 parameters.");
	labels_idx = p->n - 2;
	reducer_idx = p->n - 1;
	if (p->items[p->n - 1].type == WS_BOOLEAN)
	{
		labels_idx--;
		reducer_idx--;
		override = p->items[p->n - 1].u.b;
	}
	for (int i = 0; i < labels_idx; i++)
		if (p->items[i].type != WS_LIST)
			ws_error(st, "REDUCE expects lists of Geo Time Series as first parameter.");
	bylabels = p->items[labels_idx];
	if (bylabels.type != WS_NULL && bylabels.type != WS_LIST)
		ws_error(st, "REDUCE expects a list of label names or null as parameter number %d.", labels_idx + 1);
	if (bylabels.type == WS_LIST)
		for (int i = 0; i < bylabels.u.list->n; i++)
			if (bylabels.u.list->items[i].type != WS_STRING)
				ws_error(st, "REDUCE expects a list of label names as parameter number %d.", labels_idx + 1);
	reducer = p->items[reducer_idx];
	if (!(reducer.type == WS_FUNC && reducer.u.func->def->kind == WS_FK_AGGREGATOR &&
		  (reducer.u.func->def->roles & WS_ROLE_REDUCER)))
		ws_error(st, "REDUCE expects a function as parameter number %d.", reducer_idx + 1);

	for (int i = 0; i < labels_idx; i++)
	{
		WsList	   *l = p->items[i].u.list;

		for (int j = 0; j < l->n; j++)
		{
			WsGts	   *g;
			StringInfoData key;
			int			k;

			if (l->items[j].type != WS_GTS)
				ws_error(st, "REDUCE expects lists of Geo Time Series as first parameter.");
			g = l->items[j].u.gts;
			initStringInfo(&key);
			if (bylabels.type == WS_NULL)
			{
				for (int x = 0; x < g->labels.n; x++)
					appendStringInfo(&key, "%s%c%s%c", g->labels.k[x], 1, g->labels.v[x], 1);
			}
			else
			{
				/* the listed labels the GTS has, in name order */
				WsLabels	sel = {0};

				for (int x = 0; x < bylabels.u.list->n; x++)
				{
					const char *name = bylabels.u.list->items[x].u.s->data;
					const char *v = ws_labels_get(&g->labels, name);

					if (v != NULL)
						ws_gts_set_label(&sel, name, v);
				}
				for (int x = 0; x < sel.n; x++)
					appendStringInfo(&key, "%s%c%s%c", sel.k[x], 1, sel.v[x], 1);
			}
			for (k = 0; k < nparts; k++)
				if (strcmp(parts[k].key.data, key.data) == 0)
					break;
			if (k == nparts)
			{
				parts = parts ? repalloc(parts, sizeof(Partition) * (nparts + 1)) : palloc(sizeof(Partition));
				parts[k].key = key;
				parts[k].members = ws_list_new(4);
				parts[k].common = ws_labels_copy(&g->labels);
				nparts++;
			}
			else
			{
				WsLabels   *c = &parts[k].common;

				for (int x = c->n - 1; x >= 0; x--)
				{
					const char *v = ws_labels_get(&g->labels, c->k[x]);

					if (v == NULL || strcmp(v, c->v[x]) != 0)
						ws_gts_set_label(c, c->k[x], NULL);
				}
			}
			ws_list_append(st, parts[k].members, l->items[j]);
		}
	}
	out = ws_list_new(nparts);
	for (int k = 0; k < nparts; k++)
		ws_list_append(st, out, ws_gts_value(ReduceOne(st, &parts[k], reducer, override)));
	/* Warp 10's partition order is a hash map's: vscope sorts by class, then labels */
	qsort(out->items, out->n, sizeof(WsValue), CompareGtsValues);
	ws_push(st, ws_list_value(out));
}

/* ---------------------------------------------------------------------
 * FILTER
 * ---------------------------------------------------------------------
 */

static void
FnFilter(WsState *st, const WsFuncDef *def)
{
	WsValue		top = ws_pop(st);
	WsList	   *p;
	WsValue		filter;
	WsList	   *out;

	if (top.type != WS_LIST)
		ws_error(st, "FILTER expects a list as input.");
	p = top.u.list;
	if (p->n < 3)
		ws_error(st, "FILTER expects at least 3 parameters.");
	for (int i = 0; i < p->n - 2; i++)
		if (p->items[i].type != WS_LIST)
			ws_error(st, "FILTER expects lists of Geo Time Series as first parameters.");
	if (p->items[p->n - 2].type != WS_NULL && p->items[p->n - 2].type != WS_LIST)
		ws_error(st, "FILTER expects a list of label names or null as penultimate parameter.");
	if (p->items[p->n - 2].type == WS_LIST)
		for (int i = 0; i < p->items[p->n - 2].u.list->n; i++)
			if (p->items[p->n - 2].u.list->items[i].type != WS_STRING)
				ws_error(st, "FILTER expects a list of label names as penultimate parameter.");
	filter = p->items[p->n - 1];
	if (filter.type != WS_FUNC || filter.u.func->def->kind != WS_FK_FILTER)
		ws_error(st, "FILTER expects a filter function as last parameter.");
	out = ws_list_new(4);
	for (int i = 0; i < p->n - 2; i++)
	{
		WsList	   *l = p->items[i].u.list;

		for (int j = 0; j < l->n; j++)
		{
			if (l->items[j].type != WS_GTS)
				ws_error(st, "FILTER expects lists of Geo Time Series as first parameters.");
			CHECK_FOR_INTERRUPTS();
			if (FilterKeep(st, filter.u.func, l->items[j].u.gts))
				ws_list_append(st, out, l->items[j]);
		}
	}
	ws_push(st, ws_list_value(out));
}

/* ---------------------------------------------------------------------
 * the table
 * ---------------------------------------------------------------------
 */

#define B WS_ROLE_BUCKETIZER
#define M WS_ROLE_MAPPER
#define R WS_ROLE_REDUCER
#define AGG(name, agg, op, roles) {name, FnAgg, WS_FK_AGGREGATOR, agg, NULL, op, roles}
#define PAGG(name, agg, op, roles) {name, FnParamAgg, WS_FK_AGGREGATOR, agg, NULL, op, roles}
#define FIL(name, op) {name, FnParamFilter, WS_FK_FILTER, NULL, FilterKeep, op, 0}
#define F(name, fn) {name, fn, WS_FK_FUNCTION, NULL, NULL, 0, 0}

const WsFuncDef ws_framework_functions[] = {
	F("BUCKETIZE", FnBucketize),
	F("MAP", FnMap),
	F("REDUCE", FnReduce),
	F("FILTER", FnFilter),

	AGG("bucketizer.sum", AggSum, AGG_IGNORE_NULLS, B),
	AGG("bucketizer.mean", AggMean, 0, B),
	AGG("bucketizer.max", AggMinMax, AGG_IGNORE_NULLS, B),
	AGG("bucketizer.min", AggMinMax, AGG_IGNORE_NULLS, B),
	AGG("bucketizer.first", AggFirstLast, 0, B),
	AGG("bucketizer.last", AggFirstLast, 1, B),
	AGG("bucketizer.count", AggCount, 0, B),
	AGG("bucketizer.median", AggMedian, 0, B),
	PAGG("bucketizer.percentile", AggPercentile, 0, B),
	AGG("bucketizer.and", AggAndOr, 0, B),
	AGG("bucketizer.or", AggAndOr, 0, B),
	PAGG("bucketizer.join", AggJoin, AGG_IGNORE_NULLS, B),
	PAGG("bucketizer.sd", AggVariance, 0, B),
	PAGG("bucketizer.var", AggVariance, 0, B),

	AGG("mapper.sum", AggSum, AGG_IGNORE_NULLS, M),
	AGG("mapper.mean", AggMean, 0, M),
	AGG("mapper.max", AggMinMax, AGG_IGNORE_NULLS, M),
	AGG("mapper.min", AggMinMax, AGG_IGNORE_NULLS, M),
	AGG("mapper.first", AggFirstLast, 0, M),
	AGG("mapper.last", AggFirstLast, 1, M),
	AGG("mapper.count", AggCount, 0, M),
	AGG("mapper.median", AggMedian, 0, M),
	PAGG("mapper.percentile", AggPercentile, 0, M),
	AGG("mapper.and", AggAndOr, 0, M),
	AGG("mapper.or", AggAndOr, 0, M),
	PAGG("mapper.join", AggJoin, AGG_IGNORE_NULLS, M),
	PAGG("mapper.sd", AggVariance, 0, M),
	PAGG("mapper.var", AggVariance, 0, M),
	AGG("mapper.product", AggProduct, 0, M),
	AGG("mapper.delta", AggDeltaRate, 0, M),
	AGG("mapper.rate", AggDeltaRate, 1, M),
	PAGG("mapper.add", MapArith, 0, M),
	PAGG("mapper.mul", MapArith, 1, M),
	PAGG("mapper.pow", MapMath, 0, M),
	AGG("mapper.sqrt", MapMath, 0, M),
	PAGG("mapper.exp", MapMath, 1, M),
	PAGG("mapper.log", MapMath, 2, M),
	AGG("mapper.abs", MapUnary, 0, M),
	AGG("mapper.ceil", MapUnary, 1, M),
	AGG("mapper.floor", MapUnary, 2, M),
	AGG("mapper.round", MapUnary, 3, M),
	AGG("mapper.finite", MapUnary, 4, M),
	AGG("mapper.todouble", MapConvert, 0, M),
	AGG("mapper.tolong", MapConvert, 1, M),
	AGG("mapper.toboolean", MapConvert, 2, M),
	AGG("mapper.tostring", MapConvert, 3, M),
	PAGG("mapper.gt", MapCompare, 0, M),
	PAGG("mapper.ge", MapCompare, 1, M),
	PAGG("mapper.lt", MapCompare, 2, M),
	PAGG("mapper.le", MapCompare, 3, M),
	PAGG("mapper.eq", MapCompare, 4, M),
	PAGG("mapper.ne", MapCompare, 5, M),
	PAGG("mapper.replace", MapReplace, 0, M),
	AGG("mapper.tick", MapTick, 0, M),
	PAGG("mapper.year", MapCalendar, 0, M),
	PAGG("mapper.month", MapCalendar, 1, M),
	PAGG("mapper.day", MapCalendar, 2, M),
	PAGG("mapper.weekday", MapCalendar, 3, M),
	PAGG("mapper.hour", MapCalendar, 4, M),
	PAGG("mapper.minute", MapCalendar, 5, M),
	PAGG("mapper.second", MapCalendar, 6, M),

	AGG("reducer.sum", AggSum, AGG_IGNORE_NULLS, R),
	AGG("reducer.sum.forbid-nulls", AggSum, 0, R),
	AGG("reducer.sum.nonnull", AggSum, 0, R),
	AGG("reducer.mean", AggMean, 0, R),
	AGG("reducer.mean.exclude-nulls", AggMean, AGG_IGNORE_NULLS, R),
	AGG("reducer.max", AggMinMax, AGG_IGNORE_NULLS, R),
	AGG("reducer.max.forbid-nulls", AggMinMax, 0, R),
	AGG("reducer.max.nonnull", AggMinMax, 0, R),
	AGG("reducer.min", AggMinMax, AGG_IGNORE_NULLS, R),
	AGG("reducer.min.forbid-nulls", AggMinMax, 0, R),
	AGG("reducer.min.nonnull", AggMinMax, 0, R),
	AGG("reducer.count", AggCount, 0, R),
	AGG("reducer.count.include-nulls", AggCount, 0, R),
	AGG("reducer.count.exclude-nulls", AggCount, AGG_IGNORE_NULLS, R),
	AGG("reducer.count.nonnull", AggCount, AGG_IGNORE_NULLS, R),
	AGG("reducer.median", AggMedian, 0, R),
	AGG("reducer.median.forbid-nulls", AggMedian, AGG_FORBID_NULLS, R),
	PAGG("reducer.percentile", AggPercentile, 0, R),
	PAGG("reducer.percentile.forbid-nulls", AggPercentile, AGG_FORBID_NULLS, R),
	AGG("reducer.product", AggProduct, 0, R),
	AGG("reducer.and", AggAndOr, 0, R),
	AGG("reducer.and.exclude-nulls", AggAndOr, AGG_IGNORE_NULLS, R),
	AGG("reducer.or", AggAndOr, 0, R),
	AGG("reducer.or.exclude-nulls", AggAndOr, AGG_IGNORE_NULLS, R),
	PAGG("reducer.join", AggJoin, AGG_IGNORE_NULLS, R),
	PAGG("reducer.join.forbid-nulls", AggJoin, 0, R),
	PAGG("reducer.join.nonnull", AggJoin, 0, R),
	PAGG("reducer.sd", AggVariance, 0, R),
	PAGG("reducer.sd.forbid-nulls", AggVariance, AGG_FORBID_NULLS, R),
	PAGG("reducer.var", AggVariance, 0, R),
	PAGG("reducer.var.forbid-nulls", AggVariance, AGG_FORBID_NULLS, R),

	FIL("filter.byclass", 0),
	FIL("filter.bylabels", 1),
	FIL("filter.last.eq", 2),
	FIL("filter.last.ne", 3),
	FIL("filter.last.gt", 4),
	FIL("filter.last.ge", 5),
	FIL("filter.last.lt", 6),
	FIL("filter.last.le", 7),
};

const int	ws_framework_nfunctions = lengthof(ws_framework_functions);
