/*-------------------------------------------------------------------------
 *
 * partition.c
 *	  Makes sure the daily partitions of vscope.points exist before a write.
 *
 *	  Each backend remembers the days it has seen a partition for.  The set
 *	  is emptied whenever the relcache entry of vscope.points is invalidated
 *	  (a partition was created, attached, detached or dropped anywhere), so
 *	  a day expired by another backend is never wrongly believed to exist.
 *	  Missing days are created by vscope._ensure_partitions(), which runs as
 *	  the extension owner.  Callers must be connected to SPI.
 *
 *-------------------------------------------------------------------------
 */
#include "store/store.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define USECS_PER_DAY_I64 INT64CONST(86400000000)
/* microseconds from the Unix epoch to PostgreSQL's (2000-01-01) */
#define UNIX_TO_PG_USECS ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY_I64)

static HTAB *known_days = NULL;
static Oid	points_relid = InvalidOid;

static void
PointsInvalidated(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == points_relid || points_relid == InvalidOid)
	{
		if (known_days != NULL)
			hash_destroy(known_days);
		known_days = NULL;
		points_relid = InvalidOid;
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

static int
Int32Cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/*
 * VsEnsurePartitions creates whatever daily partitions the points need.
 */
void
VsEnsurePartitions(VsPointIn *points, int npoints)
{
	int32	   *days;
	int			ndays = 0;
	int			nmissing = 0;
	int32		prev = PG_INT32_MIN;

	if (npoints == 0)
		return;
	if (known_days == NULL)
	{
		HASHCTL		ctl;

		points_relid = get_relname_relid("points", get_namespace_oid("vscope", false));
		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(int32);
		ctl.hcxt = CacheMemoryContext;
		known_days = hash_create("vscope partition days", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	days = palloc(sizeof(int32) * npoints);
	for (int i = 0; i < npoints; i++)
	{
		int64		unix_us = points[i].ts + UNIX_TO_PG_USECS;
		int32		day = (int32) (unix_us >= 0 ? unix_us / USECS_PER_DAY_I64
								   : -((-unix_us - 1) / USECS_PER_DAY_I64) - 1);

		/* points usually come in runs of one day: skip the hash for those */
		if (day == prev)
			continue;
		prev = day;
		if (hash_search(known_days, &day, HASH_FIND, NULL) == NULL)
			days[ndays++] = day;
	}
	if (ndays == 0)
		return;

	qsort(days, ndays, sizeof(int32), Int32Cmp);
	for (int i = 0; i < ndays; i++)
		if (i == 0 || days[i] != days[i - 1])
			days[nmissing++] = days[i];

	{
		Datum	   *d = palloc(sizeof(Datum) * nmissing);
		Datum		arg;
		Oid			argtype = INT4ARRAYOID;
		int			ret;

		for (int i = 0; i < nmissing; i++)
			d[i] = Int32GetDatum(days[i]);
		arg = PointerGetDatum(construct_array(d, nmissing, INT4OID, 4, true, TYPALIGN_INT));
		ret = SPI_execute_with_args("SELECT vscope._ensure_partitions($1)",
									1, &argtype, &arg, NULL, false, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "creating partitions failed: %s", SPI_result_code_string(ret));
	}

	/* the DDL may have reset the set through the invalidation callback */
	if (known_days == NULL)
		return;
	for (int i = 0; i < nmissing; i++)
		(void) hash_search(known_days, &days[i], HASH_ENTER, NULL);
}
