/*-------------------------------------------------------------------------
 *
 * expression.h
 *	  Arithmetic over sets of series, as OpenTSDB 2.4's expressions do it
 *	  (/api/query/exp, and the series functions of /api/query/gexp):
 *	  a small parser for + - * / % and parentheses over variables and
 *	  numbers (never code), and the join of the variables' series sets by
 *	  their tags, in union or intersection, evaluated point by point on
 *	  the union of their timestamps.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_TSDB_EXPRESSION_H
#define VSCOPE_TSDB_EXPRESSION_H

#include "opentsdb/opentsdb.h"

/* bounds on what ts_expr_parse accepts */
#define TS_EXPR_MAX_LEN		8192	/* bytes of text */
#define TS_EXPR_MAX_DEPTH	64		/* nested parentheses and signs */
#define TS_EXPR_MAX_NODES	1024	/* numbers, variables and operators */

typedef struct TsExpr TsExpr;

/*
 * ts_expr_parse parses an expression; on a syntax error it answers NULL
 * and a message (palloc'd) in *error.
 */
extern TsExpr *ts_expr_parse(const char *text, char **error);
extern int	ts_expr_nvars(const TsExpr *e);
extern const char *ts_expr_var(const TsExpr *e, int i);

/* a series as an expression joins it */
typedef struct TsJoinSeries
{
	char	  **metrics;		/* the metrics it is made of, sorted, distinct */
	int			nmetrics;
	int			ntags;			/* its tags, by key */
	char	  **tagk;
	char	  **tagv;
	int			nagg;			/* its aggregated tag keys, sorted */
	char	  **agg;
	TsSeries	data;			/* points in time order, one per timestamp */
} TsJoinSeries;

/* the series of one variable */
typedef struct TsJoinSet
{
	TsJoinSeries *s;
	int			n;
	char	  **query_tagks;	/* the query's tag keys, for useQueryTags */
	int			nquery_tagks;	/* (none for an expression's set) */
	double		fill;			/* stands for a missing or NaN value */
} TsJoinSet;

/*
 * ts_expr_eval joins vars (one set per ts_expr_var, in that order) and
 * evaluates e on each joined series, at every timestamp of every joined
 * series (shared_timeline: the results then have the same timestamps) or
 * at those of each one's own series; the result's fill is NaN (the caller
 * may set another).  id names the expression in errors.
 */
extern TsJoinSet *ts_expr_eval(const TsExpr *e, TsJoinSet *const *vars, bool intersection,
							   bool use_query_tags, bool include_agg_tags, bool shared_timeline,
							   const char *id);

/* ts_join_set_timeline answers the sorted distinct timestamps of a set's series */
extern int64 *ts_join_set_timeline(const TsJoinSet *set, int *n);

#endif							/* VSCOPE_TSDB_EXPRESSION_H */
