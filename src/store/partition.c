/*-------------------------------------------------------------------------
 *
 * partition.c
 *	  Which days a write may go to: those whose daily partition of
 *	  vscope.points exists.
 *
 *	  No request runs DDL.  vscope.maintain() makes the partitions of the
 *	  days from vscope.max_past ago to vscope.max_future ahead, the operator
 *	  others with CALL vscope.add_days(); a point for any other day is
 *	  refused as a bad point, before its series is resolved, so that a
 *	  refused point leaves nothing behind.
 *
 *	  Each backend remembers the days it has seen a partition for.  The set
 *	  is emptied whenever the relcache entry of vscope.points is invalidated
 *	  (a partition was created, attached, detached or dropped anywhere), so
 *	  a day expired by another backend is never wrongly believed to exist.
 *	  A day not in the set is looked up by name in the system catalog cache:
 *	  no query, no lock.
 *
 *-------------------------------------------------------------------------
 */
#include "store/store.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define USECS_PER_DAY_I64 INT64CONST(86400000000)
/* microseconds from the Unix epoch to PostgreSQL's (2000-01-01) */
#define UNIX_TO_PG_USECS ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY_I64)

static HTAB *known_days = NULL;
static Oid	points_relid = InvalidOid;
static Oid	vscope_nsp = InvalidOid;

static void
PointsInvalidated(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == points_relid || points_relid == InvalidOid)
	{
		if (known_days != NULL)
			hash_destroy(known_days);
		known_days = NULL;
		points_relid = InvalidOid;
		vscope_nsp = InvalidOid;
	}
}

/*
 * VsPartitionInit registers the invalidation callback (from _PG_init).
 */
void
VsPartitionInit(void)
{
	CacheRegisterRelcacheCallback(PointsInvalidated, (Datum) 0);
}

/* the UTC day of a timestamp, in days since 1970-01-01 */
static int32
UnixDay(TimestampTz ts)
{
	int64		unix_us = ts + UNIX_TO_PG_USECS;

	return (int32) (unix_us >= 0 ? unix_us / USECS_PER_DAY_I64
					: -((-unix_us - 1) / USECS_PER_DAY_I64) - 1);
}

/* "YYYY-MM-DD" (sep "-") or "YYYYMMDD" (sep "") of a Unix day */
static char *
DayText(int32 day, const char *sep)
{
	int			y,
				m,
				d;

	j2date(day + UNIX_EPOCH_JDATE, &y, &m, &d);
	return psprintf("%04d%s%02d%s%02d", y, sep, m, sep, d);
}

/*
 * DayWritable says whether the day of ts has its partition of vscope.points.
 */
static bool
DayWritable(TimestampTz ts, int32 *dayp)
{
	int32		day = UnixDay(ts);
	char	   *name;
	Oid			relid;
	Oid			nsp_now;
	bool		found;

	*dayp = day;
	if (known_days == NULL || !OidIsValid(vscope_nsp))
	{
		HASHCTL		ctl;
		Oid			nsp;
		Oid			points;

		/*
		 * The catalog lookups may process pending invalidations, whose
		 * callback (PointsInvalidated) resets the globals while points_relid
		 * is not yet known: look up into locals and set the globals only
		 * after the last lookup, or every day would read as not writable for
		 * the rest of the backend's life.
		 */
		nsp = get_namespace_oid("vscope", false);
		points = get_relname_relid("points", nsp);
		if (known_days != NULL)
			hash_destroy(known_days);
		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(int32);
		ctl.hcxt = CacheMemoryContext;
		known_days = hash_create("vscope partition days", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		vscope_nsp = nsp;
		points_relid = points;
	}
	if (hash_search(known_days, &day, HASH_FIND, NULL) != NULL)
		return true;
	nsp_now = vscope_nsp;
	name = psprintf("points_%s", DayText(day, ""));
	relid = get_relname_relid(name, nsp_now);
	/* a table of that name detached by hand holds no points of the day */
	found = OidIsValid(relid) && get_rel_relispartition(relid);
	pfree(name);
	/* (a catalog cache miss may have emptied the set meanwhile) */
	if (found && known_days != NULL)
		(void) hash_search(known_days, &day, HASH_ENTER, NULL);
	return found;
}

/*
 * VsDayNotWritable returns NULL when a point at ts may be written, else the
 * per-point error OpenTSDB's put shows for it (palloc'd).  The SQL side
 * (vscope._day_not_writable) says the same.
 */
const char *
VsDayNotWritable(TimestampTz ts)
{
	int32		day;
	char	   *date;

	if (DayWritable(ts, &day))
		return NULL;
	date = DayText(day, "-");
	return psprintf("Day %s is not writable: vscope.maintain() keeps the days from vscope.max_past ago "
					"to vscope.max_future ahead writable; an operator makes others so with "
					"CALL vscope.add_days('%s', '%s')", date, date, date);
}

/*
 * VsRequireWritableDay raises the error of a point at ts that may not be
 * written (vscope.put_point()).
 */
void
VsRequireWritableDay(TimestampTz ts)
{
	int32		day;
	char	   *date;

	if (DayWritable(ts, &day))
		return;
	date = DayText(day, "-");
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("day %s is not writable", date),
			 errdetail("The day has no partition, and writes never make one."),
			 errhint("vscope.maintain() keeps the days from vscope.max_past ago to vscope.max_future ahead "
					 "writable; the extension's owner makes others so with CALL vscope.add_days('%s', '%s').",
					 date, date)));
}

VS_FUNCTION_INFO_V1(vscope_in_transaction_block);

/*
 * vscope_in_transaction_block says whether the caller is inside BEGIN ...
 * COMMIT: vscope.add_days() commits as it goes, which it cannot do there.
 */
Datum
vscope_in_transaction_block(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(IsTransactionBlock());
}
