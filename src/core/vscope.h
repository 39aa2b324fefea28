/*-------------------------------------------------------------------------
 *
 * vscope.h
 *	  What every module of the vscope extension uses: the SQL-callable
 *	  function macro, the vscope.* settings, kept SPI plans, and the
 *	  tenant of the current session.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_H
#define VSCOPE_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/timestamp.h"

#include "core/vscope_errors.h"

/* declares and defines an SQL-callable function in one go */
#define VS_FUNCTION_INFO_V1(fn) \
	PG_FUNCTION_INFO_V1(fn); \
	extern PGDLLEXPORT Datum fn(PG_FUNCTION_ARGS)

/* GUCs (vscope.c) */
extern int	vs_max_tags;
extern char *vs_retention;
extern int	vs_max_future_secs;
extern int	vs_max_put_points;
extern int	vs_max_buckets;
extern int	vs_compress_after_secs;
extern int	vs_max_points;
extern int	vs_pct_max_values;
extern bool vs_use_summaries;
extern bool vs_query_allow_delete;
extern bool vs_citus_session_tenant_for_roles;
extern bool vs_enable_reader_aggregates;
extern TimestampTz VsRetentionCutoff(void);

/* a prepared SPI plan kept for the life of the backend (vscope.c); an SPIPlanPtr */
extern struct _SPI_plan *VsKeepPlan(const char *sql, int nargs, Oid *types, int cursor_options);

/*
 * The cursor options of a kept INSERT: planned anew with its values at each
 * run (a custom plan), as Citus needs to distribute it (it cannot make a
 * distributed plan of a generic INSERT plan); the answer is the same.
 */
#define VS_WRITE_PLAN_OPTIONS CURSOR_OPT_CUSTOM_PLAN

/*
 * The cursor options of a kept read whose generic plan Citus cannot
 * distribute (a LATERAL join of an unnest() of parameters with a
 * distributed table): a custom plan where the Citus extension is in the
 * database, else single_node (vscope.c).  The answer is the same.
 */
extern int	VsDistributedReadOptions(int single_node);
/* whether the Citus extension is in this database (vscope.c) */
extern bool VsCitusInstalled(void);

/* tenancy.c: the tenant this session acts as */
extern int32 VsCurrentTenant(bool *isnull);
extern int32 VsRequireTenant(void);
extern void VsAssignTenantSetting(const char *newval, void *extra);

#endif							/* VSCOPE_H */
