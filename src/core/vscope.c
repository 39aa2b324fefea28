/*-------------------------------------------------------------------------
 *
 * vscope.c
 *	  Module entry point: registers vscope's settings and the per-backend
 *	  caches of the other modules.
 *
 *-------------------------------------------------------------------------
 */
#include "core/vscope.h"
#include "store/store.h"
#include "warp10/warpscript.h"

#include "executor/spi.h"
#include "commands/extension.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "access/xact.h"
#include "datatype/timestamp.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
#include <limits.h>

PG_MODULE_MAGIC;

int			vs_max_tags = 8;
char	   *vs_retention = NULL;
int			vs_max_future_secs = 7 * 86400;
int			vs_max_put_points = 500000;
int			vs_max_buckets = 5000000;
int			vs_compress_after_secs = 86400;
int			vs_max_points = 50000000;
int			vs_pct_max_values = 5000000;
bool		vs_use_summaries = true;
bool		vs_query_allow_delete = false;
bool		vs_citus_session_tenant_for_roles = false;
/* read by vscope._create_series() through current_setting() */
static int	vs_max_series = 1000000;
static char *vs_tenant_guc = NULL;
static char *vs_ceilo_admin = NULL;
static char *vs_ceilo_project = NULL;
static char *vs_ceilo_user = NULL;
static char *vs_ceilo_auth = NULL;
static int	vs_ceilo_max_rows = 200000;
static int	vs_ceilo_max_samples = 10000;
static int	vs_max_past_secs = 7 * 86400;
/* no longer used (since 0.2.1); still accepted where it was set */
static int	vs_max_new_partitions = 100;

static bool CheckRetention(char **newval, void **extra, GucSource source);

void		_PG_init(void);

/*
 * _PG_init registers the settings and initialises the caches.
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("vscope.tenant",
							   "The tenant this session acts as.",
							   "Set per request by vscoped, and by vscope.use_tenant(); "
							   "honoured only for the authenticator role and superusers.",
							   &vs_tenant_guc,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, VsAssignTenantSetting, NULL);

	DefineCustomIntVariable("vscope.max_tags",
							"Maximum number of tags on one series.",
							"OpenTSDB's default is 8.",
							&vs_max_tags,
							8, 1, 64,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("vscope.max_future",
							"How far in the future a point may be written.",
							NULL,
							&vs_max_future_secs,
							7 * 86400, 0, 366 * 86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("vscope.max_put_points",
							"Most data points one put may carry.",
							"A larger put is refused whole, before anything is written.",
							&vs_max_put_points,
							500000, 1, INT_MAX / 2,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("vscope.max_past",
							"How far back vscope.maintain() keeps days writable.",
							"maintain() makes the daily partitions from this long ago (but not past "
							"vscope.retention) to vscope.max_future ahead; writes go only to days that "
							"have their partition, and CALL vscope.add_days() makes others.",
							&vs_max_past_secs,
							7 * 86400, 0, 3660 * 86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("vscope.max_new_partitions",
							"Not used any more: writes never create partitions.",
							"Kept so that configurations that set it still load; see vscope.max_past "
							"and vscope.add_days().",
							&vs_max_new_partitions,
							100, 1, 100000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("vscope.max_series",
							"Most OpenTSDB series a tenant may have, unless its max_series in vscope.tenants says otherwise.",
							"A write that would create series past it is refused whole; 0 is no limit.",
							&vs_max_series,
							1000000, 0, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("vscope.max_buckets",
							"Most downsampling buckets one OpenTSDB sub-query may make, over all its series.",
							NULL,
							&vs_max_buckets,
							5000000, 1000, INT_MAX / 2,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("vscope.max_points",
							"Most points one OpenTSDB query may read, over all its sub-queries and series.",
							"Points answered from block summaries count as read; 0 sets no limit.",
							&vs_max_points,
							50000000, 0, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("vscope.use_summaries",
							 "Answers downsampling from block summaries where they give the same result as decoding.",
							 "Off decodes every block; the answers are the same either way.",
							 &vs_use_summaries,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("vscope.query_allow_delete",
							 "Lets OpenTSDB queries delete the points they read (DELETE /api/query, \"delete\": true).",
							 "OpenTSDB's tsd.http.query.allow_delete; off refuses such queries with OpenTSDB's 400. "
							 "Even on, only a write or admin token (the vscope_writer role) may delete.",
							 &vs_query_allow_delete,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("vscope.citus_session_tenant_for_roles",
							 "On a Citus worker, lets the sessions the coordinator opens for vscope's group roles use the tenant vscope.use_tenant() recorded there.",
							 "For a superuser's session on the coordinator that chose a tenant and then SET ROLE to a group role (as the test files do); "
							 "superusers' own sessions use it always.  Leave off where vscoped or other clients use the database: a recorded tenant "
							 "of a session that ended without another vscope.use_tenant() cleaning it up would apply to a later session with the same process id.",
							 &vs_citus_session_tenant_for_roles,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("vscope.enable_reader_aggregates",
							 "Computes plain aggregates over vscope.read_points() inside the reader.",
							 "Off plans them the usual way (rows, then an Agg node); the answers are the same.",
							 &vs_enable_reader_aggregates,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("vscope.compress_after",
							"How long after its end a day's points are compressed into blocks.",
							"vscope.maintain() compresses complete days this long past their end; "
							"0 compresses a day as soon as it is over.",
							&vs_compress_after_secs,
							86400, 0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("vscope.retention",
							   "Default age after which points are dropped by vscope.expire().",
							   "An interval such as '400 days'; 0 keeps points forever.",
							   &vs_retention,
							   "0",
							   PGC_SUSET,
							   0,
							   CheckRetention, NULL, NULL);

	/*
	 * The Ceilometer caller, set per request by vscoped.  They only narrow
	 * what the Ceilometer functions show within the tenant; isolation
	 * between tenants does not depend on them.
	 */
	DefineCustomStringVariable("vscope.ceilometer_admin",
							   "Whether the Ceilometer caller is an admin (on/off; empty: a SQL session, admin).",
							   NULL, &vs_ceilo_admin, "", PGC_USERSET, GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("vscope.ceilometer_project",
							   "The Ceilometer caller's project.",
							   NULL, &vs_ceilo_project, "", PGC_USERSET, GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("vscope.ceilometer_user",
							   "The Ceilometer caller's user.",
							   NULL, &vs_ceilo_user, "", PGC_USERSET, GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("vscope.ceilometer_auth",
							   "How the Ceilometer caller was authenticated: token or keystone (empty: a SQL session).",
							   NULL, &vs_ceilo_auth, "", PGC_USERSET, GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("vscope.percentile_max_values",
							"The most values one vscope.percentile (or _r3, _r7) aggregate may rank.",
							"A percentile keeps every value of its group until the end, about 40 bytes "
							"each at its peak: 5 million take some 200 MB of the backend's memory. "
							"A larger group is refused (SQLSTATE 54000) rather than grown past work_mem "
							"by orders of magnitude.",
							&vs_pct_max_values,
							5000000, 1, 100000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("vscope.ceilometer_max_rows",
							"The most rows one Ceilometer answer may have (limit, statistics).",
							"Larger answers are refused with a 400; a JSON value must stay below 1 GB.",
							&vs_ceilo_max_rows,
							200000, 1, 10000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("vscope.ceilometer_max_samples",
							"The most samples (or events) one Ceilometer request may store.",
							"POST /v2/meters/{meter}, /v2/publish/samples and /v2/publish/events refuse larger bodies with a 400, so that one request holds a connection for a bounded time.",
							&vs_ceilo_max_samples,
							10000, 1, 1000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	WsInitSettings();

	MarkGUCPrefixReserved("vscope");

	VsSeriesCacheInit();
	VsPartitionInit();
	VsPlannerInit();
	VsReaderAggInit();
}

/*
 * CheckRetention accepts 0, "forever" or a positive interval.
 */
static bool
CheckRetention(char **newval, void **extra, GucSource source)
{
	char		workbuf[256];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype = 0;
	int			dterr;
	struct pg_itm_in itm;
	Interval	ivbuf;
	Interval   *iv = &ivbuf;

	if (strcmp(*newval, "0") == 0 || strcmp(*newval, "") == 0 ||
		pg_strcasecmp(*newval, "forever") == 0)
		return true;

	/*
	 * The steps of interval_in that report instead of raising (PostgreSQL 15
	 * has no soft input errors): a check hook must not catch errors, since
	 * a query cancel or out of memory caught here would be reported as a bad
	 * value and the session would go on without the abort it needs.
	 */
	dterr = ParseDateTime(*newval, workbuf, sizeof(workbuf), field, ftype,
						  MAXDATEFIELDS, &nf);
	if (dterr == 0)
		dterr = DecodeInterval(field, ftype, nf, INTERVAL_FULL_RANGE, &dtype, &itm);
	if (dterr == DTERR_BAD_FORMAT)
	{
		char	   *copy = pstrdup(*newval);

		dterr = DecodeISO8601Interval(copy, &dtype, &itm);
		pfree(copy);
	}
	if (dterr != 0 || dtype != DTK_DELTA || itmin2interval(&itm, iv) != 0)
	{
		GUC_check_errdetail("\"%s\" is not an interval.", *newval);
		return false;
	}
	if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
		(iv->month == 0 && iv->day == 0 && iv->time == 0))
	{
		GUC_check_errdetail("The retention must be positive, or 0 to keep points forever.");
		return false;
	}
	return true;
}

/*
 * VsRetentionCutoff returns the oldest timestamp a write may carry now:
 * now - vscope.retention, or DT_NOBEGIN when points are kept forever.
 */
TimestampTz
VsRetentionCutoff(void)
{
	Datum		iv;

	if (vs_retention == NULL || strcmp(vs_retention, "0") == 0 ||
		strcmp(vs_retention, "") == 0 || pg_strcasecmp(vs_retention, "forever") == 0)
		return DT_NOBEGIN;
	iv = DirectFunctionCall3(interval_in, CStringGetDatum(vs_retention),
							 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
												   TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
												   iv));
}

VS_FUNCTION_INFO_V1(vscope_retention);

/*
 * vscope_retention returns vscope.retention as an interval, NULL for forever.
 */
Datum
vscope_retention(PG_FUNCTION_ARGS)
{
	if (vs_retention == NULL || strcmp(vs_retention, "0") == 0 ||
		strcmp(vs_retention, "") == 0 || pg_strcasecmp(vs_retention, "forever") == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(DirectFunctionCall3(interval_in, CStringGetDatum(vs_retention),
										ObjectIdGetDatum(InvalidOid),
										Int32GetDatum(-1)));
}

/*
 * VsKeepPlan prepares sql once and keeps the plan past the SPI call, for the
 * callers that cache it in a static for the life of the backend.
 */
SPIPlanPtr
VsKeepPlan(const char *sql, int nargs, Oid *types, int cursor_options)
{
	SPIPlanPtr	p = SPI_prepare_cursor(sql, nargs, types, cursor_options);

	if (p == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(p);
	return p;
}

bool
VsCitusInstalled(void)
{
	return OidIsValid(get_extension_oid("citus", true));
}

int
VsDistributedReadOptions(int single_node)
{
	return VsCitusInstalled() ? CURSOR_OPT_CUSTOM_PLAN : single_node;
}

VS_FUNCTION_INFO_V1(vscope_compress_after);

/*
 * vscope_compress_after returns vscope.compress_after as an interval.
 */
Datum
vscope_compress_after(PG_FUNCTION_ARGS)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = (int64) vs_compress_after_secs * USECS_PER_SEC;
	PG_RETURN_INTERVAL_P(iv);
}
