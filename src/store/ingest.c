/*-------------------------------------------------------------------------
 *
 * ingest.c
 *	  Writing points: vscope.put() for OpenTSDB /api/put payloads,
 *	  vscope.put_point() for one point, and the store path both share.
 *
 *	  The store path sorts a batch by (series, ts), keeps the last write of
 *	  each (series, ts) as OpenTSDB does, updates and locks each series'
 *	  newest point (series_last), and inserts the points with INSERT ...
 *	  SELECT unnest(...) in chunks: those after their series' stored newest
 *	  point with a plain INSERT, the others with ON CONFLICT DO UPDATE
 *	  (where Citus is installed, all of them: see InsertPoints).
 *	  Every point was checked to go to a day whose partition exists
 *	  (partition.c): no write makes one.  Work memory is a child context
 *	  of the caller's, freed when the call returns.
 *
 *-------------------------------------------------------------------------
 */
#include "store/store.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "access/xact.h"

#include "store/putparse.h"

/* points per INSERT statement: bounds the arrays built for one statement */
#define VS_INSERT_CHUNK 50000

static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr upsert_plan = NULL;

/*
 * GetPlan returns the prepared INSERT of a chunk of points, plain or with
 * ON CONFLICT DO UPDATE (the last write wins).
 */
static SPIPlanPtr
GetPlan(bool upsert)
{
	SPIPlanPtr *slot = upsert ? &upsert_plan : &insert_plan;

	if (*slot == NULL)
	{
		Oid			types[5] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZARRAYOID,
		FLOAT8ARRAYOID, INT8ARRAYOID};
		/* unnest() in the target list streams; in FROM it would materialize */
		char	   *sql = psprintf("INSERT INTO vscope.points AS p (tenant_id, series_id, ts, value, ivalue) "
								   "SELECT $1, unnest($2), unnest($3), unnest($4), unnest($5)%s",
								   upsert ? " ON CONFLICT (tenant_id, series_id, ts) "
								   "DO UPDATE SET value = excluded.value, ivalue = excluded.ivalue" : "");
		*slot = VsKeepPlan(sql, 5, types, VS_WRITE_PLAN_OPTIONS);
	}
	return *slot;
}

static int
PointCmp(const void *a, const void *b)
{
	const VsPointIn *x = a;
	const VsPointIn *y = b;

	if (x->series_id != y->series_id)
		return x->series_id < y->series_id ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->ordinal > y->ordinal) - (x->ordinal < y->ordinal);
}

/*
 * VsValueArrayArgs makes the timestamp, value and ivalue array arguments of
 * an INSERT ... SELECT unnest(...) of points: value is NULL where the point
 * is an integer, ivalue where it is a double.  ts, fv and iv hold n Datums;
 * args[0..2] receive the arrays.
 */
void
VsValueArrayArgs(int n, Datum *ts, Datum *fv, Datum *iv, const bool *is_int, Datum *args)
{
	bool	   *inull = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
		inull[i] = !is_int[i];
	args[0] = PointerGetDatum(construct_array(ts, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL,
											  TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_md_array(fv, (bool *) is_int, 1, dims, lbs, FLOAT8OID, 8,
												 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[2] = PointerGetDatum(construct_md_array(iv, inull, 1, dims, lbs, INT8OID, 8,
												 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	pfree(inull);
}

/*
 * PointArgs makes the five arguments of an INSERT ... SELECT unnest(...) of
 * n points: the tenant, then series, ts, value and ivalue arrays.
 */
static void
PointArgs(int32 tenant, const VsPointIn *points, int n, Datum *args)
{
	Datum	   *series = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *ts = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *fv = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *iv = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *is_int = palloc(sizeof(bool) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		series[i] = Int32GetDatum(points[i].series_id);
		ts[i] = TimestampTzGetDatum(points[i].ts);
		fv[i] = Float8GetDatum(points[i].value);
		iv[i] = Int64GetDatum(points[i].ivalue);
		is_int[i] = points[i].is_int;
	}
	args[0] = Int32GetDatum(tenant);
	args[1] = PointerGetDatum(construct_array(series, n, INT4OID, 4, true, TYPALIGN_INT));
	VsValueArrayArgs(n, ts, fv, iv, is_int, args + 2);
	pfree(series);
	pfree(ts);
	pfree(fv);
	pfree(iv);
	pfree(is_int);
}

/*
 * InsertPoints writes points (sorted, one per (series, ts)) in chunks: with
 * a plain INSERT when none of them can exist yet, else with ON CONFLICT DO
 * UPDATE, which replaces the value of an existing (series, ts).
 */
static void
InsertPoints(int32 tenant, const VsPointIn *points, int n, bool upsert)
{
	/*
	 * Citus runs an INSERT ... SELECT from unnest() with neither ON CONFLICT
	 * nor RETURNING as a COPY into the shards, which row-level security
	 * refuses ("COPY FROM not supported with row-level security") and where
	 * a duplicate is XX000, not 23505.  With ON CONFLICT it inserts from
	 * intermediate results with an INSERT on each shard: the upsert, whose
	 * conflict clause never fires for points that cannot exist yet.
	 */
	if (!upsert && VsCitusInstalled())
		upsert = true;
	for (int off = 0; off < n; off += VS_INSERT_CHUNK)
	{
		int			len = Min(VS_INSERT_CHUNK, n - off);
		Datum		args[5];
		int			ret;

		PointArgs(tenant, points + off, len, args);
		ret = SPI_execute_plan(GetPlan(upsert), args, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "inserting points failed: %s", SPI_result_code_string(ret));
		for (int i = 1; i < 5; i++)
			pfree(DatumGetPointer(args[i]));
	}
}

/* Where each series of a batch stands against what is stored. */
typedef struct SeriesLast
{
	int32		series_id;
	bool		known;			/* stored_ts is the stored newest point, locked */
	TimestampTz stored_ts;
} SeriesLast;

static int
SeriesLastCmp(const void *a, const void *b)
{
	int32		x = ((const SeriesLast *) a)->series_id;
	int32		y = ((const SeriesLast *) b)->series_id;

	return (x > y) - (x < y);
}

/*
 * UpdateLast keeps vscope.series_last, and says which points of the batch
 * are new.  points are sorted by series and time, one per pair; the newest
 * of each series is written unless the series already has a newer one (at
 * an equal time the new write wins, as in the points).
 *
 * The statement locks the row of every series of the batch, in series
 * order (the order of the input, the same in every writer: two writers of
 * overlapping series wait for each other, never in a cycle), whether or
 * not it changes it.  So while a transaction holds points of a series that
 * are not committed, it holds that series' row, and the stored newest time
 * read under the lock bounds every point of the series that exists: a point
 * after it is new and needs no conflict check.
 *
 * The stored time is read by the RETURNING subquery, which sees the row as
 * the statement's snapshot has it: that is the version this statement
 * updated only when its xmax is the id of the transaction that wrote the
 * new version (l.xmin: this one, on whichever node holds the row).  When it is not (a
 * writer committed in between, or the row is new), the time is unknown and
 * all the series' points are written with ON CONFLICT.  A series the
 * statement does not return has a newer point stored: its points may
 * exist, too.
 *
 * Returns the batch's series in order; *nseries receives their number.
 */
static SeriesLast *
UpdateLast(int32 tenant, VsPointIn *points, int n, int *nseries)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr citus_plan = NULL;
	static SPIPlanPtr citus_read = NULL;
	bool		citus = VsCitusInstalled();
	Datum	   *series = palloc(sizeof(Datum) * n);
	Datum	   *ts = palloc(sizeof(Datum) * n);
	Datum	   *fv = palloc(sizeof(Datum) * n);
	Datum	   *iv = palloc(sizeof(Datum) * n);
	bool	   *is_int = palloc(sizeof(bool) * n);
	SeriesLast *last = palloc(sizeof(SeriesLast) * n);
	int			m = 0;
	Datum		args[5];
	int			ret;

	for (int i = 0; i < n; i++)
	{
		if (i + 1 < n && points[i + 1].series_id == points[i].series_id)
			continue;			/* not the series' newest */
		series[m] = Int32GetDatum(points[i].series_id);
		ts[m] = TimestampTzGetDatum(points[i].ts);
		fv[m] = Float8GetDatum(points[i].value);
		iv[m] = Int64GetDatum(points[i].ivalue);
		is_int[m] = points[i].is_int;
		last[m].series_id = points[i].series_id;
		last[m].known = false;
		last[m].stored_ts = 0;
		m++;
	}
	if (plan == NULL)
	{
		Oid			types[5] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZARRAYOID,
		FLOAT8ARRAYOID, INT8ARRAYOID};

		/*
		 * The parameters typed in the text and none in RETURNING: Citus
		 * sends the RETURNING to the shard with the parameters it uses,
		 * where untyped ones cannot be resolved.
		 */
		plan = VsKeepPlan("INSERT INTO vscope.series_last AS l (tenant_id, series_id, ts, value, ivalue) "
						  "SELECT $1::integer, unnest($2::integer[]), unnest($3::timestamptz[]), "
						  "unnest($4::double precision[]), unnest($5::bigint[]) "
						  "ON CONFLICT (tenant_id, series_id) DO UPDATE "
						  "SET ts = excluded.ts, value = excluded.value, ivalue = excluded.ivalue "
						  "WHERE excluded.ts >= l.ts "
						  "RETURNING l.series_id, "
						  "(SELECT o.ts FROM vscope.series_last o "
						  "WHERE o.tenant_id = l.tenant_id AND o.series_id = l.series_id AND o.xmax = l.xmin)",
						  5, types, VS_WRITE_PLAN_OPTIONS);
	}
	if (citus && citus_plan == NULL)
	{
		Oid			types[5] = {INT4OID, INT4ARRAYOID, TIMESTAMPTZARRAYOID,
		FLOAT8ARRAYOID, INT8ARRAYOID};

		/*
		 * On Citus the RETURNING subquery would reach the shard as a
		 * distributed query nested in a shard's (refused): the rows are
		 * locked and read first, in series order, by a query of their own.
		 * Locked, their stored time cannot change before the upsert.
		 */
		citus_read = VsKeepPlan("SELECT series_id, ts FROM vscope.series_last "
								"WHERE tenant_id = $1 AND series_id = ANY ($2) "
								"ORDER BY series_id FOR UPDATE",
								2, types, VS_WRITE_PLAN_OPTIONS);
		citus_plan = VsKeepPlan("INSERT INTO vscope.series_last AS l (tenant_id, series_id, ts, value, ivalue) "
								"SELECT $1::integer, unnest($2::integer[]), unnest($3::timestamptz[]), "
								"unnest($4::double precision[]), unnest($5::bigint[]) "
								"ON CONFLICT (tenant_id, series_id) DO UPDATE "
								"SET ts = excluded.ts, value = excluded.value, ivalue = excluded.ivalue "
								"WHERE excluded.ts >= l.ts",
								5, types, VS_WRITE_PLAN_OPTIONS);
	}
	args[0] = Int32GetDatum(tenant);
	args[1] = PointerGetDatum(construct_array(series, m, INT4OID, 4, true, TYPALIGN_INT));
	VsValueArrayArgs(m, ts, fv, iv, is_int, args + 2);
	if (citus)
	{
		if (SPI_execute_plan(citus_read, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading the latest points failed");
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			SeriesLast	key = {0};
			SeriesLast *hit;

			key.series_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
			hit = bsearch(&key, last, m, sizeof(SeriesLast), SeriesLastCmp);
			if (hit == NULL)
				elog(ERROR, "series %d came back from series_last but was not asked for", key.series_id);
			hit->known = true;
			hit->stored_ts = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
		}
		SPI_freetuptable(SPI_tuptable);
		ret = SPI_execute_plan(citus_plan, args, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "keeping the latest points failed: %s", SPI_result_code_string(ret));
		*nseries = m;
		return last;
	}
	ret = SPI_execute_plan(plan, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "keeping the latest points failed: %s", SPI_result_code_string(ret));

	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		SeriesLast	key = {0};	/* bsearch's key: only series_id is compared */
		SeriesLast *hit;
		Datum		d;

		key.series_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		d = SPI_getbinval(tup, desc, 2, &isnull);
		if (isnull)
			continue;
		hit = bsearch(&key, last, m, sizeof(SeriesLast), SeriesLastCmp);
		if (hit == NULL)
			elog(ERROR, "series %d came back from series_last but was not written", key.series_id);
		hit->known = true;
		hit->stored_ts = DatumGetTimestampTz(d);
	}
	SPI_freetuptable(SPI_tuptable);
	*nseries = m;
	return last;
}

/*
 * VsStorePoints writes points whose series ids are resolved; the last of
 * several writes to one (series, ts) wins.  Returns how many rows it wrote.
 * The caller is connected to SPI.
 *
 * Each point is decided on its own: one after its series' stored newest
 * point cannot exist and goes into a plain INSERT (one index descent a
 * row); any other goes into an INSERT ... ON CONFLICT DO UPDATE.  Nothing
 * is tried and undone.
 */
int64
VsStorePoints(int32 tenant, VsPointIn *points, int npoints)
{
	int			n = 0;
	int			nfresh = 0;
	int			nmaybe = 0;
	VsPointIn  *maybe;

	if (npoints == 0)
		return 0;
	qsort(points, npoints, sizeof(VsPointIn), PointCmp);
	for (int i = 0; i < npoints; i++)
	{
		if (i + 1 < npoints && points[i].series_id == points[i + 1].series_id &&
			points[i].ts == points[i + 1].ts)
			continue;			/* a later write to the same (series, ts) */
		points[n++] = points[i];
	}

	/* (every point's day was checked to have its partition) */
	maybe = palloc(sizeof(VsPointIn) * n);
	if (VsStoreHasTable("series_last"))
	{
		int			nseries;
		SeriesLast *last = UpdateLast(tenant, points, n, &nseries);
		int			s = 0;

		/* split in place: new points to the front, the others to maybe */
		for (int i = 0; i < n; i++)
		{
			while (last[s].series_id != points[i].series_id)
				s++;
			if (last[s].known && points[i].ts > last[s].stored_ts)
				points[nfresh++] = points[i];
			else
				maybe[nmaybe++] = points[i];
		}
		pfree(last);
	}
	else
	{
		/* a database not yet updated to 0.2.0 has no series_last */
		memcpy(maybe, points, sizeof(VsPointIn) * n);
		nmaybe = n;
	}
	InsertPoints(tenant, points, nfresh, false);
	InsertPoints(tenant, maybe, nmaybe, true);
	pfree(maybe);
	return n;
}

/*
 * StoreGood resolves the series of validated points and stores them.
 */
static void
StoreGood(int32 tenant, VsGoodPoint *good, int ngood)
{
	VsSeriesRef *refs;
	VsPointIn  *points;

	if (ngood == 0)
		return;
	refs = palloc(sizeof(VsSeriesRef) * ngood);
	points = palloc(sizeof(VsPointIn) * ngood);
	for (int i = 0; i < ngood; i++)
	{
		refs[i].metric = good[i].metric;
		refs[i].tags = good[i].tags;
		refs[i].ntags = good[i].ntags;
	}
	SPI_connect();
	VsResolveSeries(tenant, refs, ngood);
	for (int i = 0; i < ngood; i++)
	{
		points[i].series_id = refs[i].series_id;
		points[i].ts = good[i].ts;
		points[i].is_int = good[i].is_int;
		points[i].ivalue = good[i].ivalue;
		points[i].value = good[i].value;
		points[i].ordinal = i;
	}
	VsStorePoints(tenant, points, ngood);
	SPI_finish();
}

/*
 * PutContext is the work memory of a put (and of put_lines): one context
 * per backend, kept between calls and emptied by PutDone (or, after an
 * error, by the next call).  It keeps its first block of VS_PUT_KEEP
 * bytes: a put of 10,000 points parses into 11 MB, and memory handed back
 * to the system after every call came back as page faults on the next, a
 * third of a put's time.  Only the pages a put touched stay resident.  A put inside a put (a trigger, say)
 * gets a context of its own.
 */
#define VS_PUT_KEEP (16 * 1024 * 1024)

static MemoryContext put_cxt = NULL;
static bool put_cxt_busy = false;

/* an error ends the put that was using the context */
static void
PutXactCallback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		put_cxt_busy = false;
}

static void
PutSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
				   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		put_cxt_busy = false;
}

static MemoryContext
PutContext(void)
{
	if (put_cxt_busy)
		return AllocSetContextCreate(CurrentMemoryContext, "vscope nested put",
									 ALLOCSET_DEFAULT_SIZES);
	if (put_cxt == NULL)
	{
		put_cxt = AllocSetContextCreate(TopMemoryContext, "vscope put",
										VS_PUT_KEEP, VS_PUT_KEEP, ALLOCSET_DEFAULT_MAXSIZE);
		RegisterXactCallback(PutXactCallback, NULL);
		RegisterSubXactCallback(PutSubXactCallback, NULL);
	}
	MemoryContextReset(put_cxt);
	put_cxt_busy = true;
	return put_cxt;
}

static void
PutDone(MemoryContext cxt)
{
	if (cxt != put_cxt)
	{
		MemoryContextDelete(cxt);
		return;
	}
	MemoryContextReset(cxt);
	put_cxt_busy = false;
}

VS_FUNCTION_INFO_V1(vscope_put_lines);

/*
 * vscope_put_lines writes telnet-style "put" lines for the current tenant
 * (one per line; blank lines are skipped) and answers
 * {"success": n, "failed": m, "errors": [{"line": k, "error": "put: ..."}]}
 * with OpenTSDB's telnet error messages, lines numbered from 1.
 */
Datum
vscope_put_lines(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	int32		tenant = VsRequireTenant();
	MemoryContext old;
	MemoryContext workcxt = PutContext();
	char	   *buf;
	char	   *line;
	int			lineno = 0;
	int			cap = 64;
	int			ngood = 0;
	int			nfailed = 0;
	VsGoodPoint *good;
	StringInfoData errors;
	StringInfoData result;
	TimestampTz oldest = VsRetentionCutoff();
	text	   *out;

	old = MemoryContextSwitchTo(workcxt);
	buf = text_to_cstring(in);
	good = palloc(sizeof(VsGoodPoint) * cap);
	initStringInfo(&errors);
	for (line = buf; line != NULL;)
	{
		char	   *nl = strchr(line, '\n');
		char	   *l = line;
		const char *err;

		if (nl)
			*nl = '\0';
		line = nl ? nl + 1 : NULL;
		lineno++;
		while (*l == ' ' || *l == '\t' || *l == '\r')
			l++;
		if (*l == '\0')
			continue;
		if (ngood + nfailed >= vs_max_put_points)
			ereport(ERROR,
					(errcode(ERRCODE_VS_TOO_LARGE),
					 errmsg("too many data points in one put"),
					 errdetail("At most %d are allowed (vscope.max_put_points).", vs_max_put_points)));
		if (strncmp(l, "put", 3) != 0 || (l[3] != ' ' && l[3] != '\t' && l[3] != '\r' && l[3] != '\0'))
			err = "put: illegal argument: not a put command";
		else
		{
			if (ngood == cap)
			{
				cap *= 2;
				good = repalloc_huge(good, sizeof(VsGoodPoint) * cap);
			}
			err = VsParseLine(l, &good[ngood], oldest);
		}
		if (err == NULL)
		{
			ngood++;
			continue;
		}
		nfailed++;
		appendStringInfo(&errors, "%s{\"line\":%d,\"error\":", errors.len ? "," : "", lineno);
		escape_json(&errors, err);
		appendStringInfoChar(&errors, '}');
	}
	StoreGood(tenant, good, ngood);

	initStringInfo(&result);
	appendStringInfo(&result, "{\"success\":%d,\"failed\":%d,\"errors\":[", ngood, nfailed);
	appendBinaryStringInfo(&result, errors.data, errors.len);
	appendStringInfoString(&result, "]}");
	MemoryContextSwitchTo(old);
	out = cstring_to_text_with_len(result.data, result.len);
	PutDone(workcxt);
	PG_RETURN_TEXT_P(out);
}

VS_FUNCTION_INFO_V1(vscope_put);

/*
 * vscope_put writes an OpenTSDB put payload for the current tenant.  Good
 * points are written even when others fail, as OpenTSDB does; the result
 * is {"success": n, "failed": m} plus "errors" when details is true.
 */
Datum
vscope_put(PG_FUNCTION_ARGS)
{
	text	   *payload;
	bool		details = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	MemoryContext workcxt;
	MemoryContext old;
	int32		tenant;
	VsRawPoint *raw;
	int			nraw;
	VsGoodPoint *good;
	int			ngood = 0;
	int			nfailed = 0;
	StringInfoData errors;
	StringInfoData result;
	text	   *out;
	TimestampTz oldest = VsRetentionCutoff();

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("payload must not be null")));
	payload = PG_GETARG_TEXT_PP(0);
	tenant = VsRequireTenant();

	workcxt = PutContext();
	old = MemoryContextSwitchTo(workcxt);

	raw = VsParsePut(VARDATA_ANY(payload), VARSIZE_ANY_EXHDR(payload), &nraw);
	if (nraw == 0)
		ereport(ERROR,
				(errcode(ERRCODE_VS_BAD_REQUEST),
				 errmsg("no datapoints found in content"),
				 errdetail("The payload is an empty array.")));

	good = palloc(sizeof(VsGoodPoint) * nraw);
	initStringInfo(&errors);
	for (int i = 0; i < nraw; i++)
	{
		const char *err = VsValidatePoint(&raw[i], &good[ngood], oldest);

		if (err == NULL)
		{
			ngood++;
			continue;
		}
		nfailed++;
		if (details)
		{
			appendStringInfoString(&errors, errors.len ? ",{\"datapoint\":" : "{\"datapoint\":");
			VsAppendRawPointJson(&errors, &raw[i]);
			appendStringInfoString(&errors, ",\"error\":");
			escape_json(&errors, err);
			appendStringInfoChar(&errors, '}');
		}
	}

	StoreGood(tenant, good, ngood);

	/* json text, in OpenTSDB's key order */
	initStringInfo(&result);
	appendStringInfo(&result, "{\"success\":%d,\"failed\":%d", ngood, nfailed);
	if (details)
	{
		appendStringInfoString(&result, ",\"errors\":[");
		appendBinaryStringInfo(&result, errors.data, errors.len);
		appendStringInfoChar(&result, ']');
	}
	appendStringInfoChar(&result, '}');

	MemoryContextSwitchTo(old);
	out = cstring_to_text_with_len(result.data, result.len);
	PutDone(workcxt);
	PG_RETURN_TEXT_P(out);
}

/*
 * ValueFromDatum turns put_point's value argument into an int64 or a double:
 * integer types and integral numerics are int64, other numbers doubles, and
 * text follows OpenTSDB's rule for a value string.
 */
static void
ValueFromDatum(Datum d, Oid type, VsPointIn *pt)
{
	pt->is_int = false;
	switch (type)
	{
		case INT2OID:
			pt->is_int = true;
			pt->ivalue = DatumGetInt16(d);
			return;
		case INT4OID:
			pt->is_int = true;
			pt->ivalue = DatumGetInt32(d);
			return;
		case INT8OID:
			pt->is_int = true;
			pt->ivalue = DatumGetInt64(d);
			return;
		case FLOAT4OID:
			pt->value = DatumGetFloat4(d);
			break;
		case FLOAT8OID:
			pt->value = DatumGetFloat8(d);
			break;
		case NUMERICOID:
		case TEXTOID:
		case VARCHAROID:
		case UNKNOWNOID:
			{
				char	   *s;
				const char *err;

				if (type == NUMERICOID)
					s = DatumGetCString(DirectFunctionCall1(numeric_out, d));
				else if (type == UNKNOWNOID)
					s = DatumGetCString(d);
				else
					s = TextDatumGetCString(d);
				err = VsParseValue(s, &pt->is_int, &pt->ivalue, &pt->value);
				if (err != NULL)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
							 errmsg("invalid value \"%s\"", s),
							 errdetail("A value is an integer or a finite decimal number.")));
				return;
			}
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("a point value cannot be of type %s", format_type_be(type)),
					 errhint("Use an integer, numeric or double precision value.")));
	}
	if (isnan(pt->value) || isinf(pt->value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a point value must be finite"),
				 errdetail("NaN and infinity cannot be stored.")));
}

static void BadName(const char *what, const char *name, const char *err) pg_attribute_noreturn();

static void
BadName(const char *what, const char *name, const char *err)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s \"%s\"", what, name),
			 errdetail("%s.", err),
			 errhint("Names use letters, digits and the characters - _ . /")));
}

VS_FUNCTION_INFO_V1(vscope_put_point);

/*
 * vscope_put_point writes one point for the current tenant and returns the
 * series id.  Names are checked by OpenTSDB's rules.
 */
Datum
vscope_put_point(PG_FUNCTION_ARGS)
{
	char	   *metric;
	Jsonb	   *tagsb;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	VsTag	   *tags;
	int			ntags = 0;
	VsSeriesRef ref;
	VsPointIn	pt;
	int32		tenant;
	char	   *err;

	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be null",
							i == 0 ? "metric" : i == 1 ? "tags" : i == 2 ? "ts" : "value")));
	metric = text_to_cstring(PG_GETARG_TEXT_PP(0));
	tagsb = PG_GETARG_JSONB_P(1);
	tenant = VsRequireTenant();

	if ((err = VsCheckName("metric name", NULL, metric)) != NULL)
		BadName("metric name", metric, err);
	if (!JB_ROOT_IS_OBJECT(tagsb) || JB_ROOT_COUNT(tagsb) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tags must be a non-empty JSON object"),
				 errdetail("Every series has at least one tag, e.g. {\"host\": \"web01\"}.")));

	tags = palloc(sizeof(VsTag) * JB_ROOT_COUNT(tagsb));
	it = JsonbIteratorInit(&tagsb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			tags[ntags].key = pnstrdup(v.val.string.val, v.val.string.len);
			tags[ntags].ord = ntags;
		}
		else if (tok == WJB_VALUE)
		{
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("tag \"%s\" must have a string value", tags[ntags].key)));
			tags[ntags].value = pnstrdup(v.val.string.val, v.val.string.len);
			ntags++;
		}
	}
	ntags = VsSortTags(tags, ntags);
	if (ntags > vs_max_tags)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many tags: %d", ntags),
				 errdetail("At most %d tags are allowed (vscope.max_tags).", vs_max_tags)));
	for (int i = 0; i < ntags; i++)
	{
		if ((err = VsCheckName("tag name", NULL, tags[i].key)) != NULL)
			BadName("tag name", tags[i].key, err);
		if ((err = VsCheckName("tag value", NULL, tags[i].value)) != NULL)
			BadName("tag value", tags[i].value, err);
	}

	pt.ts = PG_GETARG_TIMESTAMPTZ(2);
	if (TIMESTAMP_NOT_FINITE(pt.ts) || pt.ts <= VsUnixMsToTimestamp(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timestamp must be after 1970-01-01 00:00:00+00")));
	if (pt.ts < VsRetentionCutoff())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timestamp is older than the retention period"),
				 errdetail("vscope.retention is %s.", vs_retention)));
	if (pt.ts > GetCurrentTransactionStartTimestamp() + (int64) vs_max_future_secs * USECS_PER_SEC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timestamp is too far in the future"),
				 errdetail("Points may be at most %d seconds ahead of now (vscope.max_future).",
						   vs_max_future_secs)));
	VsRequireWritableDay(pt.ts);
	ValueFromDatum(PG_GETARG_DATUM(3), get_fn_expr_argtype(fcinfo->flinfo, 3), &pt);
	pt.ordinal = 0;

	ref.metric = metric;
	ref.tags = tags;
	ref.ntags = ntags;
	SPI_connect();
	VsResolveSeries(tenant, &ref, 1);
	pt.series_id = ref.series_id;
	VsStorePoints(tenant, &pt, 1);
	SPI_finish();
	PG_RETURN_INT32(ref.series_id);
}

/*
 * VsStoreHasTable says whether vscope.<name> exists: a database still at an
 * older version of the extension lacks the newer tables.
 */
bool
VsStoreHasTable(const char *name)
{
	Oid			nsp = get_namespace_oid("vscope", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid(name, nsp));
}
