/*-------------------------------------------------------------------------
 *
 * planner.c
 *	  A planner hook that lets a query on the vscope.datapoints view read
 *	  only the range it asks for.  The view joins every series to
 *	  vscope._read_series(tenant, series, '-infinity', 'infinity') (and
 *	  vscope.ceilometer_samples every sample series to
 *	  vscope._ceilo_read_series(), alike); when a
 *	  query bounds ts (ts >= X, ts < Y, ts = Z, BETWEEN, with X, Y, Z
 *	  constants, parameters or stable expressions such as now() - '1 hour'),
 *	  the hook puts those bounds in place of the infinities, so the reader
 *	  skips the blocks and partitions outside them.  The conditions stay
 *	  in the plan as filters: the bounds only narrow what is read.  The
 *	  function reads [start, end): ts <= Y and ts > X pass Y and X plus a
 *	  microsecond.  EXPLAIN VERBOSE shows the call with the bounds.
 *
 *	  The hooks (this one and reader_agg.c's) are installed when the library
 *	  loads.  read_points() and _read_series() name vscope._read_support()
 *	  as their planner support function, which the planner calls while it
 *	  sizes the function scan, before it looks for paths: so the library is
 *	  loaded, and the hooks in place, for the first query of a session too.
 *
 *-------------------------------------------------------------------------
 */
#include "store/store.h"

#include "access/stratnum.h"
#include "catalog/namespace.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "parser/parse_oper.h"
#include "utils/array.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

static set_rel_pathlist_hook_type prev_set_rel_pathlist = NULL;

/*
 * NotABound: true for anything that cannot be evaluated once before the
 * function is called: columns, sublinks, aggregates, executor parameters.
 */
static bool
NotABound(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Const))
		return false;
	if (IsA(node, Param))
		return ((Param *) node)->paramkind != PARAM_EXTERN;
	if (IsA(node, FuncExpr) || IsA(node, OpExpr) || IsA(node, RelabelType) ||
		IsA(node, CoerceViaIO) || IsA(node, List))
		return expression_tree_walker(node, NotABound, context);
	return true;
}

/* IsInfinity: is the node the timestamptz constant ±infinity? */
static bool
IsInfinity(Node *node, bool upper)
{
	Const	   *c = (Const *) node;

	if (!IsA(node, Const) || c->consttype != TIMESTAMPTZOID || c->constisnull)
		return false;
	return upper ? TIMESTAMP_IS_NOEND(DatumGetTimestampTz(c->constvalue))
		: TIMESTAMP_IS_NOBEGIN(DatumGetTimestampTz(c->constvalue));
}

/* PlusMicrosecond: the expression bound + interval '1 microsecond' */
static Node *
PlusMicrosecond(Node *bound)
{
	Interval   *one = palloc0(sizeof(Interval));
	Oid			opno = OpernameGetOprid(list_make1(makeString("+")), TIMESTAMPTZOID, INTERVALOID);
	Expr	   *e;

	if (!OidIsValid(opno))
		elog(ERROR, "operator timestamptz + interval not found");
	one->time = 1;
	e = make_opclause(opno, TIMESTAMPTZOID, false, (Expr *) copyObject(bound),
					  (Expr *) makeConst(INTERVALOID, -1, InvalidOid, sizeof(Interval),
										 PointerGetDatum(one), false, false),
					  InvalidOid, InvalidOid);
	set_opfuncid((OpExpr *) e);
	return (Node *) e;
}

/* VsIsVscopeFunction: is funcid vscope.<name>()? (for the planner hooks) */
bool
VsIsVscopeFunction(Oid funcid, const char *name)
{
	char	   *fname = get_func_name(funcid);
	Oid			nsp = get_namespace_oid("vscope", true);

	return fname != NULL && strcmp(fname, name) == 0 &&
		OidIsValid(nsp) && get_func_namespace(funcid) == nsp;
}

static void
NarrowReadSeries(RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	RangeTblFunction *rtfunc;
	FuncExpr   *fexpr;
	Node	   *lo = NULL;
	Node	   *hi = NULL;
	Oid			family;
	ListCell   *lc;

	if (rte->rtekind != RTE_FUNCTION || list_length(rte->functions) != 1 ||
		rel->baserestrictinfo == NIL)
		return;
	rtfunc = linitial_node(RangeTblFunction, rte->functions);
	if (!IsA(rtfunc->funcexpr, FuncExpr))
		return;
	fexpr = (FuncExpr *) rtfunc->funcexpr;
	if (list_length(fexpr->args) != 4 ||
		!(VsIsVscopeFunction(fexpr->funcid, "_read_series") ||
		  VsIsVscopeFunction(fexpr->funcid, "_ceilo_read_series")) ||
		!IsInfinity(lthird(fexpr->args), false) || !IsInfinity(lfourth(fexpr->args), true))
		return;
	family = get_opclass_family(GetDefaultOpClass(TIMESTAMPTZOID, BTREE_AM_OID));

	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		OpExpr	   *op = (OpExpr *) ri->clause;
		Node	   *left;
		Node	   *right;
		Node	   *bound;
		Var		   *var;
		bool		var_left;
		int			strategy;

		if (!IsA(op, OpExpr) || list_length(op->args) != 2)
			continue;
		left = linitial(op->args);
		right = lsecond(op->args);
		var_left = IsA(left, Var);
		var = (Var *) (var_left ? left : right);
		bound = var_left ? right : left;
		/* the function's first column, ts */
		if (!IsA(var, Var) || var->varno != (int) rti || var->varattno != 1 || var->varlevelsup != 0 ||
			exprType((Node *) var) != TIMESTAMPTZOID || exprType(bound) != TIMESTAMPTZOID)
			continue;
		if (NotABound(bound, NULL) || contain_volatile_functions(bound))
			continue;
		strategy = get_op_opfamily_strategy(op->opno, family);
		if (!var_left)
			strategy = strategy == BTLessStrategyNumber ? BTGreaterStrategyNumber
				: strategy == BTLessEqualStrategyNumber ? BTGreaterEqualStrategyNumber
				: strategy == BTGreaterStrategyNumber ? BTLessStrategyNumber
				: strategy == BTGreaterEqualStrategyNumber ? BTLessEqualStrategyNumber
				: strategy;
		/* the first bound of each side is enough: the filters do the rest */
		switch (strategy)
		{
			case BTLessStrategyNumber:
				if (hi == NULL)
					hi = copyObject(bound);
				break;
			case BTLessEqualStrategyNumber:
				if (hi == NULL)
					hi = PlusMicrosecond(bound);
				break;
			case BTGreaterStrategyNumber:
				if (lo == NULL)
					lo = PlusMicrosecond(bound);
				break;
			case BTGreaterEqualStrategyNumber:
				if (lo == NULL)
					lo = copyObject(bound);
				break;
			case BTEqualStrategyNumber:
				lo = copyObject(bound);
				hi = PlusMicrosecond(bound);
				break;
			default:
				break;
		}
	}
	if (lo == NULL && hi == NULL)
		return;
	fexpr->args = list_make4(linitial(fexpr->args), lsecond(fexpr->args),
							 lo ? lo : lthird(fexpr->args),
							 hi ? hi : lfourth(fexpr->args));
}

static void
VsSetRelPathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	if (prev_set_rel_pathlist)
		prev_set_rel_pathlist(root, rel, rti, rte);
	NarrowReadSeries(rel, rti, rte);
}

/*
 * VsPlannerInit installs the hook (from _PG_init).
 */
void
VsPlannerInit(void)
{
	prev_set_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = VsSetRelPathlist;
}

VS_FUNCTION_INFO_V1(vscope_read_support);

/*
 * vscope_read_support is the planner support function of read_points() and
 * _read_series(): it estimates their rows (a day of minute points per
 * series, for want of better) and, by being called at all, loads the
 * library before the planner needs its hooks.
 */
Datum
vscope_read_support(PG_FUNCTION_ARGS)
{
	Node	   *req = (Node *) PG_GETARG_POINTER(0);

	if (IsA(req, SupportRequestRows))
	{
		SupportRequestRows *rows = (SupportRequestRows *) req;
		double		nseries = 1;

		if (rows->node != NULL && IsA(rows->node, FuncExpr))
		{
			FuncExpr   *f = (FuncExpr *) rows->node;

			/* read_points(series, ...): as many series as a constant array has */
			if (list_length(f->args) == 3 && IsA(linitial(f->args), Const) &&
				!((Const *) linitial(f->args))->constisnull)
			{
				ArrayType  *a = DatumGetArrayTypeP(((Const *) linitial(f->args))->constvalue);

				nseries = Max(ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)), 1);
			}
			else if (list_length(f->args) == 3)
				nseries = 100;
		}
		rows->rows = nseries * 1440;
		PG_RETURN_POINTER(rows);
	}
	PG_RETURN_POINTER(NULL);
}
