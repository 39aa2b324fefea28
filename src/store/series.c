/*-------------------------------------------------------------------------
 *
 * series.c
 *	  Series identities: the canonical key of a metric and its tags, and the
 *	  resolution of keys to series ids, cached per backend.
 *
 *	  The cache maps (tenant, canonical key) to a series id and lives in its
 *	  own memory context under CacheMemoryContext.  It is emptied when:
 *	  - a transaction (or subtransaction) that created series aborts: the
 *	    ids it cached would dangle;
 *	  - vscope.series is invalidated in the relation cache: TRUNCATE, DROP
 *	    (a DROP and CREATE EXTENSION makes a new table), and any UPDATE or
 *	    DELETE of series rows, whose statement trigger (_series_changed)
 *	    sends that invalidation to every backend at commit;
 *	  - it grows past VS_SERIES_CACHE_BYTES.
 *	  Each resolution first takes vscope.series in ACCESS SHARE mode, so a
 *	  TRUNCATE or DROP either waits for it or is seen by it (taking the lock
 *	  reads the pending invalidations).  Callers must be connected to SPI.
 *
 *	  Series are created by vscope._create_series(), which numbers them per
 *	  tenant and holds the tenant's series limit.  A database whose
 *	  extension is older than the library lacks it, and gets the old global
 *	  numbering until ALTER EXTENSION vscope UPDATE.
 *
 *-------------------------------------------------------------------------
 */
#include "store/store.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* the cache is dropped and rebuilt beyond this size */
#define VS_SERIES_CACHE_BYTES (64 * 1024 * 1024)

typedef struct SeriesKey
{
	int32		tenant;
	const char *skey;
} SeriesKey;

typedef struct SeriesEntry
{
	SeriesKey	key;
	int32		series_id;
} SeriesEntry;

static MemoryContext series_cxt = NULL;
static HTAB *series_cache = NULL;
static bool created_since_commit = false;
/* the vscope.series the cache was filled from, and whether it changed since */
static Oid	series_relid = InvalidOid;
static bool series_changed = false;
static SPIPlanPtr select_plan = NULL;
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr create_plan = NULL;

static uint32
SeriesKeyHash(const void *key, Size keysize)
{
	const SeriesKey *k = key;

	return hash_combine(hash_bytes((const unsigned char *) k->skey, strlen(k->skey)),
						murmurhash32((uint32) k->tenant));
}

static int
SeriesKeyMatch(const void *a, const void *b, Size keysize)
{
	const SeriesKey *x = a;
	const SeriesKey *y = b;

	if (x->tenant != y->tenant)
		return 1;
	return strcmp(x->skey, y->skey);
}

/*
 * ResetCache forgets every cached series id.
 */
static void
ResetCache(void)
{
	if (series_cxt != NULL)
		MemoryContextReset(series_cxt);
	series_cache = NULL;
}

/*
 * SeriesRelInvalidated notes that vscope.series changed.  Invalidations are
 * read whenever a lock is taken, in the middle of a resolution too, so the
 * cache is not freed here: the next resolution empties it.
 */
static void
SeriesRelInvalidated(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == series_relid)
		series_changed = true;
}

/*
 * EnsureCache takes vscope.series in ACCESS SHARE mode and makes sure the
 * cache holds nothing from before its last change.
 */
static void
EnsureCache(void)
{
	HASHCTL		ctl;
	Oid			relid;

	/* reads the invalidations pending, when the lock is new to this transaction */
	relid = RangeVarGetRelid(makeRangeVar("vscope", "series", -1), AccessShareLock, false);
	if (relid != series_relid || series_changed)
	{
		ResetCache();
		series_relid = relid;
		series_changed = false;
	}
	if (series_cxt == NULL)
		series_cxt = AllocSetContextCreate(CacheMemoryContext,
										   "vscope series cache",
										   ALLOCSET_DEFAULT_SIZES);
	if (series_cache != NULL &&
		MemoryContextMemAllocated(series_cxt, true) > VS_SERIES_CACHE_BYTES)
		ResetCache();
	if (series_cache != NULL)
		return;
	ctl.keysize = sizeof(SeriesKey);
	ctl.entrysize = sizeof(SeriesEntry);
	ctl.hash = SeriesKeyHash;
	ctl.match = SeriesKeyMatch;
	ctl.hcxt = series_cxt;
	series_cache = hash_create("vscope series", 1024, &ctl,
							   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

static void
SeriesXactCallback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		if (created_since_commit)
			ResetCache();
		created_since_commit = false;
	}
	else if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
			 event == XACT_EVENT_PREPARE)
		created_since_commit = false;
}

static void
SeriesSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && created_since_commit)
		ResetCache();
}

/*
 * VsSeriesCacheInit registers the transaction callbacks (from _PG_init).
 */
void
VsSeriesCacheInit(void)
{
	RegisterXactCallback(SeriesXactCallback, NULL);
	RegisterSubXactCallback(SeriesSubXactCallback, NULL);
	CacheRegisterRelcacheCallback(SeriesRelInvalidated, (Datum) 0);
}

VS_FUNCTION_INFO_V1(vscope_series_changed);

/*
 * vscope_series_changed is the statement trigger on vscope.series for
 * UPDATE, DELETE and TRUNCATE: it invalidates the table's relation cache
 * entry, which every backend reads at commit (and this one at once), so
 * that no series cache keeps an id that was deleted or changed.
 */
Datum
vscope_series_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("vscope._series_changed() must be called as a trigger")));
	CacheInvalidateRelcache(td->tg_relation);
	return PointerGetDatum(NULL);
}

/*
 * HasCreateSeries says whether the database has vscope._create_series():
 * not before ALTER EXTENSION vscope UPDATE to 0.2.1.
 */
static bool
HasCreateSeries(void)
{
	Oid			argtypes[3] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};

	return OidIsValid(LookupFuncName(list_make2(makeString("vscope"),
												makeString("_create_series")),
									 3, argtypes, true));
}

static int
TagCmp(const void *a, const void *b)
{
	const VsTag *x = a;
	const VsTag *y = b;
	int			c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return (x->ord > y->ord) - (x->ord < y->ord);
}

/*
 * VsSortTags sorts tags bytewise by key and drops all but the last of equal
 * keys; returns the new count.
 */
int
VsSortTags(VsTag *tags, int ntags)
{
	int			n = 0;

	if (ntags > 1)
		qsort(tags, ntags, sizeof(VsTag), TagCmp);
	for (int i = 0; i < ntags; i++)
	{
		if (i + 1 < ntags && strcmp(tags[i].key, tags[i + 1].key) == 0)
			continue;
		tags[n++] = tags[i];
	}
	return n;
}

/*
 * AppendKeyPart appends a name to a series key, with the characters that
 * delimit the key's parts ({ } , =) and % percent-encoded.  OpenTSDB
 * names have none of them, so their part is the name itself; Warp 10
 * names may have any.
 */
static void
AppendKeyPart(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '%':
			case '{':
			case '}':
			case ',':
			case '=':
				appendStringInfo(buf, "%%%02X", (unsigned char) *s);
				break;
			default:
				appendStringInfoChar(buf, *s);
		}
	}
}

/*
 * vscope._tsdb_key_part(name): a name as it is written inside a series
 * key, for the SQL that looks a series up by its key (one encoding rule,
 * this file's).
 */
PG_FUNCTION_INFO_V1(vscope_series_key_part);
Datum
vscope_series_key_part(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	StringInfoData buf;

	initStringInfo(&buf);
	AppendKeyPart(&buf, name);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/*
 * SeriesKeyString builds metric{k1=v1,k2=v2}: the canonical identity,
 * unambiguous since its delimiters are encoded inside the names.
 */
static void
SeriesKeyString(StringInfo buf, const VsSeriesRef *ref)
{
	resetStringInfo(buf);
	AppendKeyPart(buf, ref->metric);
	appendStringInfoChar(buf, '{');
	for (int i = 0; i < ref->ntags; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		AppendKeyPart(buf, ref->tags[i].key);
		appendStringInfoChar(buf, '=');
		AppendKeyPart(buf, ref->tags[i].value);
	}
	appendStringInfoChar(buf, '}');
}

static char *
TagsJson(const VsSeriesRef *ref)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < ref->ntags; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		escape_json(&buf, ref->tags[i].key);
		appendStringInfoChar(&buf, ':');
		escape_json(&buf, ref->tags[i].value);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static ArrayType *
TextArray(char **items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(items[i]);
	return construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT);
}

/*
 * FetchIds looks up the given keys and stores what it finds in the cache.
 * With insert, it first creates the ones that do not exist.
 */
static void
FetchIds(int32 tenant, char **keys, char **metrics, char **tags, int n, bool insert)
{
	Datum		args[4];
	int			ret;

	args[0] = Int32GetDatum(tenant);
	args[1] = PointerGetDatum(TextArray(keys, n));
	if (insert && HasCreateSeries())
	{
		/* numbered per tenant, within its limit: the ids of all n keys */
		args[2] = PointerGetDatum(TextArray(metrics, n));
		args[3] = PointerGetDatum(TextArray(tags, n));
		if (create_plan == NULL)
		{
			Oid			types[3] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};

			create_plan = VsKeepPlan("SELECT skey, series_id FROM vscope._create_series($1, $2, $3)",
									 3, types, CURSOR_OPT_GENERIC_PLAN);
		}
		ret = SPI_execute_plan(create_plan, args + 1, NULL, false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "creating series failed: %s", SPI_result_code_string(ret));
		created_since_commit = true;
	}
	else if (insert)
	{
		/* an extension older than 0.2.1: the identity column numbers them */
		args[2] = PointerGetDatum(TextArray(metrics, n));
		args[3] = PointerGetDatum(TextArray(tags, n));
		if (insert_plan == NULL)
		{
			Oid			types[4] = {INT4OID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
			insert_plan = VsKeepPlan("INSERT INTO vscope.series AS s (tenant_id, skey, metric, tags) "
									 "SELECT $1, k, m, t::jsonb FROM unnest($2, $3, $4) AS u(k, m, t) "
									 "ON CONFLICT (tenant_id, skey) DO NOTHING "
									 "RETURNING s.skey, s.series_id", 4, types,
									 VS_WRITE_PLAN_OPTIONS);
		}
		ret = SPI_execute_plan(insert_plan, args, NULL, false, 0);
		if (ret != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "inserting series failed: %s", SPI_result_code_string(ret));
		if (SPI_processed > 0)
			created_since_commit = true;
	}
	else
	{
		if (select_plan == NULL)
		{
			Oid			types[2] = {INT4OID, TEXTARRAYOID};
			select_plan = VsKeepPlan("SELECT skey, series_id FROM vscope.series "
									 "WHERE tenant_id = $1 AND skey = ANY ($2)", 2, types,
									 CURSOR_OPT_GENERIC_PLAN);
		}
		/* not read-only: a fresh snapshot sees series just committed by others */
		ret = SPI_execute_plan(select_plan, args, NULL, false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "looking up series failed: %s", SPI_result_code_string(ret));
	}

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		char	   *skey = TextDatumGetCString(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		int32		id = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		SeriesKey	key = {tenant, skey};
		bool		found;
		SeriesEntry *e = hash_search(series_cache, &key, HASH_FIND, NULL);

		if (e == NULL)
		{
			/* copy first: an entry must never point at SPI's memory */
			key.skey = MemoryContextStrdup(series_cxt, skey);
			e = hash_search(series_cache, &key, HASH_ENTER, &found);
		}
		e->series_id = id;
	}
	SPI_freetuptable(SPI_tuptable);
}

static int
MissCmp(const void *a, const void *b, void *arg)
{
	char	  **keys = arg;

	return strcmp(keys[*(const int *) a], keys[*(const int *) b]);
}

/*
 * VsResolveSeries fills in the series id of each ref, creating the series
 * that do not exist yet.  Tags must be sorted (VsSortTags).
 */
void
VsResolveSeries(int32 tenant, VsSeriesRef *refs, int n)
{
	char	  **keys = palloc(sizeof(char *) * Max(n, 1));
	int		   *miss = palloc(sizeof(int) * Max(n, 1));
	int			nmiss = 0;
	StringInfoData kbuf;

	EnsureCache();
	initStringInfo(&kbuf);
	for (int i = 0; i < n; i++)
	{
		SeriesKey	key;
		SeriesEntry *e;

		SeriesKeyString(&kbuf, &refs[i]);
		if (kbuf.len > VS_MAX_SERIES_KEY)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("series identity is too long"),
					 errdetail("A metric and its tags take %d bytes; at most %d are allowed.",
							   kbuf.len, VS_MAX_SERIES_KEY)));
		key.tenant = tenant;
		key.skey = kbuf.data;
		e = hash_search(series_cache, &key, HASH_FIND, NULL);
		keys[i] = NULL;
		if (e != NULL)
			refs[i].series_id = e->series_id;
		else
		{
			refs[i].series_id = 0;
			keys[i] = pstrdup(kbuf.data);
			miss[nmiss++] = i;
		}
	}
	if (nmiss == 0)
		return;

	/*
	 * A batch usually has many points per series: look up each missing key
	 * once.  Then: look up, create what is still missing, look up again (a
	 * concurrent writer may have created some in between).
	 */
	{
		int		   *uniq = palloc(sizeof(int) * nmiss);
		int			nuniq = 0;
		int			still = 0;

		memcpy(uniq, miss, sizeof(int) * nmiss);
		qsort_arg(uniq, nmiss, sizeof(int), MissCmp, keys);
		for (int j = 0; j < nmiss; j++)
			if (nuniq == 0 || strcmp(keys[uniq[j]], keys[uniq[nuniq - 1]]) != 0)
				uniq[nuniq++] = uniq[j];

		for (int pass = 0; pass < 3 && nuniq > 0; pass++)
		{
			char	  **mkeys = palloc(sizeof(char *) * nuniq);
			char	  **mmetrics = palloc(sizeof(char *) * nuniq);
			char	  **mtags = palloc(sizeof(char *) * nuniq);
			int			left = 0;

			for (int j = 0; j < nuniq; j++)
			{
				mkeys[j] = keys[uniq[j]];
				if (pass == 1)
				{
					mmetrics[j] = (char *) refs[uniq[j]].metric;
					mtags[j] = TagsJson(&refs[uniq[j]]);
				}
			}
			FetchIds(tenant, mkeys, mmetrics, mtags, nuniq, pass == 1);
			for (int j = 0; j < nuniq; j++)
			{
				SeriesKey	key = {tenant, keys[uniq[j]]};

				if (hash_search(series_cache, &key, HASH_FIND, NULL) == NULL)
					uniq[left++] = uniq[j];
			}
			nuniq = left;
		}

		for (int j = 0; j < nmiss; j++)
		{
			SeriesKey	key = {tenant, keys[miss[j]]};
			SeriesEntry *e = hash_search(series_cache, &key, HASH_FIND, NULL);

			if (e != NULL)
				refs[miss[j]].series_id = e->series_id;
			else
				miss[still++] = miss[j];
		}
		nmiss = still;
	}
	if (nmiss > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("could not create series \"%s\"", keys[miss[0]]),
				 errdetail("The series is not visible to the current tenant.")));
}
