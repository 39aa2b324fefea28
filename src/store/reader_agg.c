/*-------------------------------------------------------------------------
 *
 * reader_agg.c
 *	  Aggregates over vscope.read_points() computed inside the reader.
 *
 *	  SELECT count(*), sum(coalesce(value, ivalue)), avg(value), min(ts) ...
 *	  FROM vscope.read_points(series, from, to) would otherwise turn every
 *	  point into a row, store it in the function's tuplestore and hand it
 *	  to the Agg node: most of the time of a full scan.  When such a query
 *	  has nothing but plain aggregates over read_points() (no WHERE, GROUP
 *	  BY, HAVING, FILTER, DISTINCT or ORDER BY in an aggregate), a planner
 *	  hook (create_upper_paths_hook, at the aggregation step) offers a
 *	  custom scan, "vscope read_points aggregate", that runs the reader and
 *	  folds each point straight into the aggregates' states.
 *
 *	  The answers are PostgreSQL's own, bit for bit: the points come in the
 *	  same order, and each aggregate is the same computation as its
 *	  transition and final functions (float8pl for sum with its overflow
 *	  error, float8_accum's Youngs-Cramer state for avg, float8smaller and
 *	  float8larger with their tie and NaN rules, int8 counts).  Aggregates:
 *	  count(*), count(x), sum(x), avg(x), min(x), max(x) where x is value,
 *	  coalesce(value, ivalue) (the value as a double, ivalue cast), and for
 *	  count, min and max also ts; count also series_id and ivalue.
 *	  vscope.enable_reader_aggregates = off plans such queries the usual
 *	  way, for comparing.
 *
 *-------------------------------------------------------------------------
 */
#include "store/store.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/extensible.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "utils/array.h"
#include "utils/float.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
#include "utils/timestamp.h"

#include "store/reader.h"

bool		vs_enable_reader_aggregates = true;

/* what an aggregate computes */
typedef enum VsAggKind
{
	VS_AGG_COUNT_STAR,
	VS_AGG_COUNT,
	VS_AGG_SUM,
	VS_AGG_AVG,
	VS_AGG_MIN,
	VS_AGG_MAX
} VsAggKind;

/* what it computes it over: a column of read_points(), or the value as a double */
typedef enum VsAggInput
{
	VS_IN_NONE,					/* count(*) */
	VS_IN_SERIES,
	VS_IN_TS,
	VS_IN_VALUE,				/* NULL for integer points */
	VS_IN_IVALUE,				/* NULL for double points */
	VS_IN_DOUBLE				/* coalesce(value, ivalue::float8): never NULL */
} VsAggInput;

typedef struct VsAggState
{
	VsAggKind	kind;
	VsAggInput	in;
	int64		count;
	bool		any;			/* sum, min, max: a value was seen */
	double		d;				/* sum, min, max of doubles */
	TimestampTz t;				/* min, max of ts */
	double		n,				/* avg: float8_accum's N, Sx, Sxx */
				sx,
				sxx;
} VsAggState;

static create_upper_paths_hook_type prev_upper_paths = NULL;

static Plan *PlanReadAgg(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
						 List *tlist, List *clauses, List *custom_plans);
static Node *CreateReadAggState(CustomScan *cscan);
static void BeginReadAgg(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *ExecReadAgg(CustomScanState *node);
static void EndReadAgg(CustomScanState *node);
static void RescanReadAgg(CustomScanState *node);
static void ExplainReadAgg(CustomScanState *node, List *ancestors, ExplainState *es);

static const CustomPathMethods path_methods = {
	.CustomName = "vscope read_points aggregate",
	.PlanCustomPath = PlanReadAgg,
};

static const CustomScanMethods scan_methods = {
	.CustomName = "vscope read_points aggregate",
	.CreateCustomScanState = CreateReadAggState,
};

static const CustomExecMethods exec_methods = {
	.CustomName = "vscope read_points aggregate",
	.BeginCustomScan = BeginReadAgg,
	.ExecCustomScan = ExecReadAgg,
	.EndCustomScan = EndReadAgg,
	.ReScanCustomScan = RescanReadAgg,
	.ExplainCustomScan = ExplainReadAgg,
};

typedef struct ReadAggState
{
	CustomScanState css;
	List	   *args;			/* ExprStates of read_points' three arguments */
	int			naggs;
	VsAggState *aggs;
	bool		done;
} ReadAggState;

/* ---- planning ---- */

/* InputOf: which input an aggregate argument is, or -1 */
static int
InputOf(Node *arg, Index relid)
{
	if (IsA(arg, Var))
	{
		Var		   *v = (Var *) arg;

		if (v->varno != (int) relid || v->varlevelsup != 0)
			return -1;
		switch (v->varattno)
		{
			case 1:
				return VS_IN_SERIES;
			case 2:
				return VS_IN_TS;
			case 3:
				return VS_IN_VALUE;
			case 4:
				return VS_IN_IVALUE;
			default:
				return -1;
		}
	}
	if (IsA(arg, CoalesceExpr))
	{
		CoalesceExpr *c = (CoalesceExpr *) arg;
		FuncExpr   *cast;

		if (list_length(c->args) != 2 || InputOf(linitial(c->args), relid) != VS_IN_VALUE)
			return -1;
		cast = (FuncExpr *) lsecond(c->args);
		if (!IsA(cast, FuncExpr) || cast->funcid != F_FLOAT8_INT8 || list_length(cast->args) != 1 ||
			InputOf(linitial(cast->args), relid) != VS_IN_IVALUE)
			return -1;
		return VS_IN_DOUBLE;
	}
	return -1;
}

/*
 * ClassifyAggref fills kind and input for an aggregate the scan computes;
 * false for any other.
 */
static bool
ClassifyAggref(Aggref *a, Index relid, VsAggKind *kind, VsAggInput *in)
{
	int			input;
	bool		dbl;

	if (a->aggfilter != NULL || a->aggdistinct != NIL || a->aggorder != NIL ||
		a->aggkind != AGGKIND_NORMAL || a->agglevelsup != 0 || a->aggsplit != AGGSPLIT_SIMPLE ||
		a->aggvariadic || a->aggdirectargs != NIL)
		return false;
	if (a->aggstar)
	{
		*kind = VS_AGG_COUNT_STAR;
		*in = VS_IN_NONE;
		return a->aggfnoid == F_COUNT_;
	}
	if (list_length(a->args) != 1)
		return false;
	input = InputOf((Node *) linitial_node(TargetEntry, a->args)->expr, relid);
	if (input < 0)
		return false;
	*in = (VsAggInput) input;
	dbl = input == VS_IN_VALUE || input == VS_IN_DOUBLE;
	switch (a->aggfnoid)
	{
		case F_COUNT_ANY:
			*kind = VS_AGG_COUNT;
			return true;
		case F_SUM_FLOAT8:
			*kind = VS_AGG_SUM;
			return dbl;
		case F_AVG_FLOAT8:
			*kind = VS_AGG_AVG;
			return dbl;
		case F_MIN_FLOAT8:
			*kind = VS_AGG_MIN;
			return dbl;
		case F_MAX_FLOAT8:
			*kind = VS_AGG_MAX;
			return dbl;
		case F_MIN_TIMESTAMPTZ:
			*kind = VS_AGG_MIN;
			return input == VS_IN_TS;
		case F_MAX_TIMESTAMPTZ:
			*kind = VS_AGG_MAX;
			return input == VS_IN_TS;
		default:
			return false;
	}
}

typedef struct CollectContext
{
	Index		relid;
	List	   *aggrefs;
	bool		ok;
} CollectContext;

/* CollectAggrefs: every Aggref of the target, each computable; no column outside one */
static bool
CollectAggrefs(Node *node, CollectContext *cx)
{
	if (node == NULL || !cx->ok)
		return false;
	if (IsA(node, Aggref))
	{
		VsAggKind	kind;
		VsAggInput	in;

		if (!ClassifyAggref((Aggref *) node, cx->relid, &kind, &in))
			cx->ok = false;
		else if (!list_member(cx->aggrefs, node))
			cx->aggrefs = lappend(cx->aggrefs, node);
		return false;
	}
	if (IsA(node, Var) || IsA(node, GroupingFunc) || IsA(node, WindowFunc) ||
		IsA(node, SubLink) || IsA(node, SubPlan))
	{
		cx->ok = false;
		return false;
	}
	return expression_tree_walker(node, CollectAggrefs, cx);
}

static void
UpperPaths(PlannerInfo *root, UpperRelationKind stage, RelOptInfo *input_rel,
		   RelOptInfo *output_rel, void *extra)
{
	Query	   *parse = root->parse;
	RangeTblEntry *rte;
	RangeTblFunction *rtfunc;
	FuncExpr   *fexpr;
	CollectContext cx;
	CustomPath *cp;
	ListCell   *lc;

	if (prev_upper_paths)
		prev_upper_paths(root, stage, input_rel, output_rel, extra);
	if (stage != UPPERREL_GROUP_AGG || !vs_enable_reader_aggregates || !parse->hasAggs ||
		parse->groupClause != NIL || parse->groupingSets != NIL || parse->havingQual != NULL ||
		parse->hasWindowFuncs || parse->hasTargetSRFs || parse->rowMarks != NIL ||
		input_rel->reloptkind != RELOPT_BASEREL || input_rel->baserestrictinfo != NIL ||
		input_rel->cheapest_total_path == NULL)
		return;
	rte = planner_rt_fetch(input_rel->relid, root);
	if (rte->rtekind != RTE_FUNCTION || rte->funcordinality || list_length(rte->functions) != 1)
		return;
	rtfunc = linitial_node(RangeTblFunction, rte->functions);
	fexpr = (FuncExpr *) rtfunc->funcexpr;
	if (!IsA(fexpr, FuncExpr) || list_length(fexpr->args) != 3 || !VsIsVscopeFunction(fexpr->funcid, "read_points"))
		return;
	/* the arguments are evaluated once, before any point */
	foreach(lc, fexpr->args)
		if (contain_var_clause(lfirst(lc)) || contain_volatile_functions(lfirst(lc)))
			return;

	cx.relid = input_rel->relid;
	cx.aggrefs = NIL;
	cx.ok = true;
	foreach(lc, output_rel->reltarget->exprs)
		CollectAggrefs(lfirst(lc), &cx);
	if (!cx.ok || cx.aggrefs == NIL)
		return;

	cp = makeNode(CustomPath);
	cp->path.pathtype = T_CustomScan;
	cp->path.parent = output_rel;
	cp->path.pathtarget = output_rel->reltarget;
	cp->path.param_info = NULL;
	cp->path.rows = 1;
	/* cheaper than reading the rows and aggregating them, which it replaces */
	cp->path.startup_cost = input_rel->cheapest_total_path->total_cost * 0.5;
	cp->path.total_cost = cp->path.startup_cost;
	cp->flags = 0;
	cp->custom_private = list_make2(copyObject(fexpr->args), cx.aggrefs);
	cp->methods = &path_methods;
	add_path(output_rel, &cp->path);
}

static Plan *
PlanReadAgg(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path, List *tlist,
			List *clauses, List *custom_plans)
{
	CustomScan *cs = makeNode(CustomScan);
	List	   *args = linitial(best_path->custom_private);
	List	   *aggrefs = lsecond(best_path->custom_private);
	List	   *scan_tlist = NIL;
	ListCell   *lc;
	AttrNumber	resno = 1;

	foreach(lc, aggrefs)
		scan_tlist = lappend(scan_tlist, makeTargetEntry((Expr *) lfirst(lc), resno++, NULL, false));
	cs->scan.plan.targetlist = tlist;
	cs->scan.plan.qual = NIL;
	cs->scan.scanrelid = 0;
	cs->custom_scan_tlist = scan_tlist;
	cs->custom_exprs = args;
	cs->custom_private = NIL;
	cs->custom_relids = NULL;
	cs->flags = best_path->flags;
	cs->methods = &scan_methods;
	return &cs->scan.plan;
}

/* ---- execution ---- */

static Node *
CreateReadAggState(CustomScan *cscan)
{
	ReadAggState *s = (ReadAggState *) newNode(sizeof(ReadAggState), T_CustomScanState);

	s->css.methods = &exec_methods;
	return (Node *) s;
}

static void
BeginReadAgg(CustomScanState *node, EState *estate, int eflags)
{
	ReadAggState *s = (ReadAggState *) node;
	CustomScan *cs = (CustomScan *) node->ss.ps.plan;
	ListCell   *lc;
	int			i = 0;

	s->args = ExecInitExprList(cs->custom_exprs, &node->ss.ps);
	s->naggs = list_length(cs->custom_scan_tlist);
	s->aggs = palloc0(sizeof(VsAggState) * s->naggs);
	foreach(lc, cs->custom_scan_tlist)
	{
		Aggref	   *a = (Aggref *) lfirst_node(TargetEntry, lc)->expr;
		Var		   *v = NULL;
		Index		relid = 0;

		/* the Aggrefs' columns all name the one function in the range table */
		if (!a->aggstar)
		{
			List	   *vars = pull_var_clause((Node *) a->args, 0);

			v = linitial(vars);
			relid = v->varno;
		}
		if (!ClassifyAggref(a, relid, &s->aggs[i].kind, &s->aggs[i].in))
			elog(ERROR, "vscope read_points aggregate: unexpected aggregate");
		i++;
	}
}

/* one value into one aggregate, as its transition function would take it */
static inline void
AggDouble(VsAggState *a, double v)
{
	switch (a->kind)
	{
		case VS_AGG_COUNT_STAR:
		case VS_AGG_COUNT:
			a->count++;
			break;
		case VS_AGG_SUM:
			/* float8pl, the first value taken as it is */
			a->d = a->any ? float8_pl(a->d, v) : v;
			a->any = true;
			break;
		case VS_AGG_AVG:
			{
				/* float8_accum (Youngs-Cramer) */
				double		n = a->n + 1.0;
				double		sx = a->sx + v;
				double		sxx = a->sxx;

				if (a->n > 0.0)
				{
					double		tmp = v * n - sx;

					sxx += tmp * tmp / (n * a->n);
					if (isinf(sx) || isinf(sxx))
					{
						if (!isinf(a->sx) && !isinf(v))
							float_overflow_error();
						sxx = get_float8_nan();
					}
				}
				else if (isnan(v) || isinf(v))
					sxx = get_float8_nan();
				a->n = n;
				a->sx = sx;
				a->sxx = sxx;
			}
			break;
		case VS_AGG_MIN:
			/* float8smaller(state, v): the state only while strictly smaller */
			if (!a->any || !float8_lt(a->d, v))
				a->d = v;
			a->any = true;
			break;
		case VS_AGG_MAX:
			if (!a->any || !float8_gt(a->d, v))
				a->d = v;
			a->any = true;
			break;
	}
}

static inline void
AggTs(VsAggState *a, TimestampTz t)
{
	switch (a->kind)
	{
		case VS_AGG_MIN:
			if (!a->any || t < a->t)
				a->t = t;
			a->any = true;
			break;
		case VS_AGG_MAX:
			if (!a->any || t > a->t)
				a->t = t;
			a->any = true;
			break;
		default:
			a->count++;
			break;
	}
}

/* AggRun folds a run of points into one aggregate */
static void
AggRun(VsAggState *a, const VsPointRun *run)
{
	switch (a->in)
	{
		case VS_IN_NONE:
		case VS_IN_SERIES:
			a->count += run->n;
			break;
		case VS_IN_TS:
			for (int i = 0; i < run->n; i++)
				AggTs(a, run->ts[i]);
			break;
		case VS_IN_IVALUE:
			for (int i = 0; i < run->n; i++)
				if (run->is_int[i])
					a->count++;
			break;
		case VS_IN_VALUE:
			for (int i = 0; i < run->n; i++)
				if (!run->is_int[i])
					AggDouble(a, run->value[i]);
			break;
		case VS_IN_DOUBLE:
			if (a->kind == VS_AGG_SUM)
			{
				/* the common case, without the switch per point */
				int			i = 0;
				double		d = a->d;

				if (!a->any && run->n > 0)
				{
					d = run->value[0];
					a->any = true;
					i = 1;
				}
				for (; i < run->n; i++)
					d = float8_pl(d, run->value[i]);
				a->d = d;
			}
			else
				for (int i = 0; i < run->n; i++)
					AggDouble(a, run->value[i]);
			break;
	}
}

static TupleTableSlot *
ReadAggNext(ScanState *ss)
{
	ReadAggState *s = (ReadAggState *) ss;
	TupleTableSlot *slot = ss->ss_ScanTupleSlot;
	ExprContext *econtext = ss->ps.ps_ExprContext;
	Datum		argv[3];
	bool		argnull[3];
	int			k = 0;
	ListCell   *lc;

	ExecClearTuple(slot);
	if (s->done)
		return slot;
	s->done = true;
	for (int i = 0; i < s->naggs; i++)
	{
		VsAggKind	kind = s->aggs[i].kind;
		VsAggInput	in = s->aggs[i].in;

		memset(&s->aggs[i], 0, sizeof(VsAggState));
		s->aggs[i].kind = kind;
		s->aggs[i].in = in;
	}

	foreach(lc, s->args)
	{
		argv[k] = ExecEvalExpr((ExprState *) lfirst(lc), econtext, &argnull[k]);
		k++;
	}
	/* read_points() is strict: no point when an argument is NULL */
	if (!argnull[0] && !argnull[1] && !argnull[2])
	{
		ArrayType  *arr = DatumGetArrayTypeP(argv[0]);
		int32		tenant = VsRequireTenant();
		int			nseries;
		int32	   *series = vs_reader_series(arr, &nseries);
		VsReader   *r;
		int32		sid;
		VsPointRun	run;

		SPI_connect();
		r = vs_reader_open(tenant, series, nseries, DatumGetTimestampTz(argv[1]),
						   DatumGetTimestampTz(argv[2]));
		while (vs_reader_next_run(r, &sid, &run))
		{
			CHECK_FOR_INTERRUPTS();
			for (int i = 0; i < s->naggs; i++)
				AggRun(&s->aggs[i], &run);
		}
		vs_reader_close(r);
		SPI_finish();
	}

	/* the final functions */
	for (int i = 0; i < s->naggs; i++)
	{
		VsAggState *a = &s->aggs[i];
		bool		isnull = false;
		Datum		d = (Datum) 0;

		switch (a->kind)
		{
			case VS_AGG_COUNT_STAR:
			case VS_AGG_COUNT:
				d = Int64GetDatum(a->count);
				break;
			case VS_AGG_AVG:
				isnull = a->n == 0.0;
				d = Float8GetDatum(isnull ? 0 : a->sx / a->n);
				break;
			default:
				isnull = !a->any;
				d = a->in == VS_IN_TS ? TimestampTzGetDatum(a->t) : Float8GetDatum(a->d);
				break;
		}
		slot->tts_values[i] = d;
		slot->tts_isnull[i] = isnull;
	}
	return ExecStoreVirtualTuple(slot);
}

static bool
ReadAggRecheck(ScanState *ss, TupleTableSlot *slot)
{
	return true;
}

static TupleTableSlot *
ExecReadAgg(CustomScanState *node)
{
	return ExecScan(&node->ss, ReadAggNext, ReadAggRecheck);
}

static void
EndReadAgg(CustomScanState *node)
{
}

static void
RescanReadAgg(CustomScanState *node)
{
	((ReadAggState *) node)->done = false;
}

/* EXPLAIN shows the call whose points are aggregated */
static void
ExplainReadAgg(CustomScanState *node, List *ancestors, ExplainState *es)
{
	CustomScan *cs = (CustomScan *) node->ss.ps.plan;
	List	   *context = set_deparse_context_plan(es->deparse_cxt, node->ss.ps.plan, ancestors);
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "vscope.read_points(");
	foreach(lc, cs->custom_exprs)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 deparse_expression(lfirst(lc), context, false, false));
	appendStringInfoChar(&buf, ')');
	ExplainPropertyText("Aggregates over", buf.data, es);
}

/*
 * VsReaderAggInit installs the planner hook (from _PG_init).
 */
void
VsReaderAggInit(void)
{
	RegisterCustomScanMethods(&scan_methods);
	prev_upper_paths = create_upper_paths_hook;
	create_upper_paths_hook = UpperPaths;
}
