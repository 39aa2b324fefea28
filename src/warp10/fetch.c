/*-------------------------------------------------------------------------
 *
 * fetch.c
 *	  Warp 10 tokens, series and points: which tenant a token acts for,
 *	  which series a selector matches, and their points through the one
 *	  reader (store/reader.h), newest first.  Also the SQL functions
 *	  vscope.warp10_find() and vscope.warp10_fetch(), which the WarpScript
 *	  FIND and FETCH call.
 *
 *	  Tenancy is the database's: a token is looked up by
 *	  vscope._warp10_token() (the extension owner's, as authenticate() is),
 *	  and the transaction then acts as its tenant through the vscope.tenant
 *	  setting, which vscope.current_tenant() honours only for vscoped's
 *	  authenticator and superusers (a login bound to a tenant stays bound:
 *	  a token of another tenant is refused).  One transaction acts for one
 *	  tenant: a token of another one is refused too.  Every query also says
 *	  the tenant, and row-level security checks it.
 *
 *	  With a count, the newest points are looked for backwards from the end
 *	  of the range, in windows of an hour, then four times as long each
 *	  round, for the series that still lack points, until the oldest day
 *	  that can hold any: "the last point" of a series costs a short read,
 *	  however long its history.
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warp10.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "partitioning/partdesc.h"
#include "regex/regex.h"
#include "catalog/pg_collation.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "store/reader.h"
#include "store/store.h"

/* the first window looked at for a count, and how it grows */
#define W10_FIRST_WINDOW USECS_PER_HOUR
#define W10_WINDOW_GROWTH 4

/*
 * w10_bind_token makes this transaction act for the token's tenant and
 * returns it (see the file's header).
 */
int32
w10_bind_token(const char *token, bool need_write)
{
	static SPIPlanPtr plan = NULL;
	Datum		arg;
	int			ret;
	bool		isnull;
	int32		tenant;
	bool		can_write;
	int32		current;

	if (token == NULL)
		return VsRequireTenant();

	SPI_connect();
	if (plan == NULL)
	{
		Oid			types[1] = {TEXTOID};

		plan = VsKeepPlan("SELECT tenant_id, scopes && '{write,admin,superadmin}'::text[] "
						  "FROM vscope._warp10_token($1)", 1, types, 0);
	}
	arg = CStringGetTextDatum(token);
	ret = SPI_execute_plan(plan, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "looking up a token failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_VS_FORBIDDEN),
				 errmsg("invalid token"),
				 errdetail("The token is unknown or revoked.")));
	tenant = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	can_write = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_finish();

	if (need_write && !can_write)
		ereport(ERROR,
				(errcode(ERRCODE_VS_FORBIDDEN),
				 errmsg("the token cannot write"),
				 errdetail("Writing needs a token with the write scope.")));

	current = VsCurrentTenant(&isnull);
	if (isnull)
	{
		char		buf[16];

		snprintf(buf, sizeof(buf), "%d", tenant);
		(void) set_config_option("vscope.tenant", buf, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
		current = VsCurrentTenant(&isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_VS_FORBIDDEN),
					 errmsg("this session cannot act for the token's tenant"),
					 errdetail("The login role is bound to no tenant, and only vscoped and superusers choose one.")));
	}
	if (current != tenant)
		ereport(ERROR,
				(errcode(ERRCODE_VS_FORBIDDEN),
				 errmsg("the token acts for another tenant than this transaction"),
				 errdetail("One transaction (one WarpScript execution) reads one tenant's data.")));
	return tenant;
}

/*
 * CheckRegex compiles a regex on its own, so that one the wrapping of
 * RegexFor would make valid (a)|(b) is refused as Java refuses it.
 */
static void
CheckRegex(const char *re)
{
	int			len = strlen(re);
	pg_wchar   *w = palloc((len + 1) * sizeof(pg_wchar));
	int			wlen = pg_mb2wchar_with_len(re, w, len);
	regex_t		compiled;
	int			rc = pg_regcomp(&compiled, w, wlen, REG_ADVANCED, C_COLLATION_OID);

	pfree(w);
	if (rc != REG_OKAY)
	{
		char		msg[256];

		pg_regerror(rc, &compiled, msg, sizeof(msg));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid regular expression \"%s\": %s", re, msg),
				 errhint("Selectors take PostgreSQL's regular expressions, matched against the whole value.")));
	}
	pg_regfree(&compiled);
}

/*
 * RegexFor wraps a Java regex for PostgreSQL so that it must match the
 * whole value, as Java's Matcher.matches(); a leading (?i) (or s, x) stays
 * in front, where PostgreSQL takes embedded options.
 */
static char *
RegexFor(const char *re)
{
	CheckRegex(re);
	if (re[0] == '(' && re[1] == '?')
	{
		const char *p = re + 2;

		while (*p == 'i' || *p == 's' || *p == 'x')
			p++;
		if (*p == ')' && p > re + 2)
			return psprintf("%.*s^(?:%s)$", (int) (p + 1 - re), re, p + 1);
	}
	return psprintf("^(?:%s)$", re);
}

/* adds a text parameter, returning its $n */
static int
AddParam(Datum *values, int *n, const char *s)
{
	values[*n] = CStringGetTextDatum(s);
	return ++(*n);
}

/* FindSql: the query of the series matching any selector, and its arguments */
static char *
FindSql(int32 tenant, const W10Selector *sels, int nsel, Datum **values, Oid **types, int *nargs)
{
	StringInfoData sql;
	int			max = 1;
	int			n = 0;

	for (int i = 0; i < nsel; i++)
		max += 1 + 2 * sels[i].nlabels;
	if (max > 60000)
		ereport(ERROR,
				(errcode(ERRCODE_VS_BAD_REQUEST),
				 errmsg("too many selectors"),
				 errdetail("The selectors name %d classes and labels; at most 30000 are allowed.", max)));
	*values = palloc(sizeof(Datum) * max);
	*types = palloc(sizeof(Oid) * max);
	(*values)[n++] = Int32GetDatum(tenant);

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT s.series_id, s.metric, s.tags FROM vscope.series s "
						   "WHERE s.tenant_id = $1 AND (");
	for (int i = 0; i < nsel; i++)
	{
		const W10Selector *sel = &sels[i];
		bool		any = false;

		appendStringInfoString(&sql, i > 0 ? " OR (" : "(");
		if (!sel->class_regex)
		{
			appendStringInfo(&sql, "s.metric = $%d", AddParam(*values, &n, sel->cls));
			any = true;
		}
		else if (strcmp(sel->cls, ".*") != 0)
		{
			appendStringInfo(&sql, "s.metric ~ $%d",
							 AddParam(*values, &n, RegexFor(sel->cls)));
			any = true;
		}
		for (int j = 0; j < sel->nlabels; j++)
		{
			int			k = AddParam(*values, &n, sel->labels[j].name);
			int			v = AddParam(*values, &n, sel->labels[j].regex ?
									 RegexFor(sel->labels[j].value) : sel->labels[j].value);

			appendStringInfo(&sql, "%s(s.tags ->> $%d) %s $%d", any ? " AND " : "",
							 k, sel->labels[j].regex ? "~" : "=", v);
			any = true;
		}
		if (!any)
			appendStringInfoString(&sql, "true");
		appendStringInfoChar(&sql, ')');
	}
	appendStringInfoString(&sql, ") ORDER BY s.metric COLLATE \"C\", s.skey COLLATE \"C\"");
	for (int i = 0; i < n; i++)
		(*types)[i] = i == 0 ? INT4OID : TEXTOID;
	*nargs = n;
	return sql.data;
}

static int
KeyCmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* SetLabels fills g's sorted keys and values from a jsonb object of strings */
static void
SetLabels(W10Gts *g, Jsonb *tags)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = JB_ROOT_IS_OBJECT(tags) ? JB_ROOT_COUNT(tags) : 0;
	char	  **pairs = palloc(sizeof(char *) * 2 * Max(n, 1));
	int			k = 0;

	g->labels = tags;
	it = JsonbIteratorInit(&tags->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE && n > 0)
	{
		if (tok == WJB_KEY)
			pairs[2 * k] = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			if (v.type == jbvString)
				pairs[2 * k + 1] = pnstrdup(v.val.string.val, v.val.string.len);
			else
			{
				/* not written by vscope: a tag value is a string */
				Jsonb	   *j = JsonbValueToJsonb(&v);

				pairs[2 * k + 1] = JsonbToCString(NULL, &j->root, VARSIZE(j));
			}
			k++;
		}
	}
	/* sort (key, value) pairs by key: sorting the pair array's keys in place */
	qsort(pairs, k, sizeof(char *) * 2, KeyCmp);
	g->nlabels = k;
	g->keys = palloc(sizeof(char *) * Max(k, 1));
	g->values = palloc(sizeof(char *) * Max(k, 1));
	for (int i = 0; i < k; i++)
	{
		g->keys[i] = pairs[2 * i];
		g->values[i] = pairs[2 * i + 1];
	}
}

/*
 * w10_find returns the tenant's series matching any selector, by class
 * and labels, without points.
 */
W10Gts *
w10_find(int32 tenant, const W10Selector *sels, int nsel, int *ngts)
{
	Datum	   *values;
	Oid		   *types;
	int			nargs;
	char	   *sql = FindSql(tenant, sels, nsel, &values, &types, &nargs);
	int			ret;
	W10Gts	   *out;

	/* read-only: under the caller's snapshot, as the points will be */
	ret = SPI_execute_with_args(sql, nargs, types, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "finding series failed: %s", SPI_result_code_string(ret));
	*ngts = (int) SPI_processed;
	out = palloc0(sizeof(W10Gts) * Max(*ngts, 1));
	for (int i = 0; i < *ngts; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		tags;

		out[i].series_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		out[i].cls = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		tags = SPI_getbinval(tup, desc, 3, &isnull);
		SetLabels(&out[i], isnull ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
				  : DatumGetJsonbPCopy(tags));
	}
	SPI_freetuptable(SPI_tuptable);
	return out;
}

/* the points of one series read in one window, oldest first */
typedef struct Window
{
	int			n;
	int			cap;
	TimestampTz *ts;
	bool	   *is_int;
	int64	   *lv;
	double	   *dv;
} Window;

/* what is known of one series while reading */
typedef struct Pending
{
	int32		id;
	int			idx;			/* its W10Gts */
	int			cap;			/* of the W10Gts's arrays */
	Window		w;
} Pending;

static int
PendingCmp(const void *a, const void *b)
{
	int32		x = ((const Pending *) a)->id;
	int32		y = ((const Pending *) b)->id;

	return (x > y) - (x < y);
}

/* WindowPush adds a point, keeping no more than about twice need (need < 0: all) */
static void
WindowPush(Window *w, const VsPoint *pt, int64 need)
{
	if (w->n == w->cap)
	{
		w->cap = w->cap ? w->cap * 2 : 16;
		w->ts = w->ts ? repalloc_huge(w->ts, sizeof(TimestampTz) * w->cap) : palloc(sizeof(TimestampTz) * w->cap);
		w->is_int = w->is_int ? repalloc_huge(w->is_int, sizeof(bool) * w->cap) : palloc(sizeof(bool) * w->cap);
		w->lv = w->lv ? repalloc_huge(w->lv, sizeof(int64) * w->cap) : palloc(sizeof(int64) * w->cap);
		w->dv = w->dv ? repalloc_huge(w->dv, sizeof(double) * w->cap) : palloc(sizeof(double) * w->cap);
	}
	w->ts[w->n] = pt->ts;
	w->is_int[w->n] = pt->is_int;
	w->lv[w->n] = pt->ivalue;
	w->dv[w->n] = pt->value;
	w->n++;
	if (need >= 0 && w->n >= 2 * need + 16)
	{
		int			drop = w->n - (int) need;

		memmove(w->ts, w->ts + drop, sizeof(TimestampTz) * need);
		memmove(w->is_int, w->is_int + drop, sizeof(bool) * need);
		memmove(w->lv, w->lv + drop, sizeof(int64) * need);
		memmove(w->dv, w->dv + drop, sizeof(double) * need);
		w->n = (int) need;
	}
}

/* TakeWindow moves the newest need points of the window to g, newest first */
static void
TakeWindow(W10Gts *g, Pending *p, int64 need)
{
	Window	   *w = &p->w;
	int			take = need >= 0 && need < w->n ? (int) need : w->n;

	if (g->n + take > p->cap)
	{
		int			cap = Max(p->cap * 2, g->n + take);

		if (p->cap == 0)
		{
			g->ticks = palloc(sizeof(int64) * cap);
			g->is_int = palloc(sizeof(bool) * cap);
			g->lvalues = palloc(sizeof(int64) * cap);
			g->dvalues = palloc(sizeof(double) * cap);
		}
		else
		{
			g->ticks = repalloc_huge(g->ticks, sizeof(int64) * cap);
			g->is_int = repalloc_huge(g->is_int, sizeof(bool) * cap);
			g->lvalues = repalloc_huge(g->lvalues, sizeof(int64) * cap);
			g->dvalues = repalloc_huge(g->dvalues, sizeof(double) * cap);
		}
		p->cap = cap;
	}
	for (int i = 0; i < take; i++)
	{
		int			j = w->n - 1 - i;

		g->ticks[g->n] = w10_timestamptz_to_us(w->ts[j]);
		g->is_int[g->n] = w->is_int[j];
		g->lvalues[g->n] = w->is_int[j] ? w->lv[j] : 0;
		g->dvalues[g->n] = w->is_int[j] ? 0 : w->dv[j];
		g->n++;
	}
	w->n = 0;
}

/*
 * DataBounds says where any point of these series can be: from the first
 * day that has a partition of vscope.points or the first block, to the end
 * of the last such day or block; false when that cannot be said (a
 * partition not named points_YYYYMMDD).
 */
static bool
DataBounds(int32 tenant, Pending *pend, int npend, TimestampTz *lo, TimestampTz *hi)
{
	static SPIPlanPtr plan = NULL;
	Oid			nsp = get_namespace_oid("vscope", true);
	Oid			parent = OidIsValid(nsp) ? get_relname_relid("points", nsp) : InvalidOid;
	Relation	rel;
	PartitionDesc pd;
	bool		any = false;
	Datum	   *ids;
	Datum		args[2];
	bool		isnull;
	int			ret;

	*lo = DT_NOEND;
	*hi = DT_NOBEGIN;
	if (!OidIsValid(parent))
		return false;
	rel = table_open(parent, AccessShareLock);
	pd = RelationGetPartitionDesc(rel, true);
	for (int i = 0; i < pd->nparts; i++)
	{
		char	   *name = get_rel_name(pd->oids[i]);
		int			y,
					m,
					d;
		char		tail;
		TimestampTz day;

		if (name == NULL || sscanf(name, "points_%4d%2d%2d%c", &y, &m, &d, &tail) != 3 ||
			!IS_VALID_JULIAN(y, m, d))
		{
			table_close(rel, NoLock);
			return false;
		}
		day = (TimestampTz) (date2j(y, m, d) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY;
		*lo = Min(*lo, day);
		*hi = Max(*hi, day + USECS_PER_DAY);
		any = true;
	}
	table_close(rel, NoLock);

	if (plan == NULL)
	{
		Oid			types[2] = {INT4OID, INT4ARRAYOID};

		plan = VsKeepPlan("SELECT min(f.first_ts), max(l.last_ts) FROM unnest($2) AS s(id) "
						  "LEFT JOIN LATERAL (SELECT b.first_ts FROM vscope.blocks b "
						  "WHERE b.tenant_id = $1 AND b.series_id = s.id "
						  "ORDER BY b.first_ts LIMIT 1) f ON true "
						  "LEFT JOIN LATERAL (SELECT b.last_ts FROM vscope.blocks b "
						  "WHERE b.tenant_id = $1 AND b.series_id = s.id "
						  "ORDER BY b.first_ts DESC LIMIT 1) l ON true",
						  2, types, CURSOR_OPT_GENERIC_PLAN);
	}
	ids = palloc(sizeof(Datum) * Max(npend, 1));
	for (int i = 0; i < npend; i++)
		ids[i] = Int32GetDatum(pend[i].id);
	args[0] = Int32GetDatum(tenant);
	args[1] = PointerGetDatum(construct_array(ids, npend, INT4OID, 4, true, TYPALIGN_INT));
	ret = SPI_execute_plan(plan, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "looking up blocks failed: %s", SPI_result_code_string(ret));
	{
		Datum		f = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			Datum		l = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

			*lo = Min(*lo, DatumGetTimestampTz(f));
			*hi = Max(*hi, DatumGetTimestampTz(l) + 1);
			any = true;
		}
	}
	SPI_freetuptable(SPI_tuptable);
	if (!any)
		*lo = *hi = 0;			/* nothing anywhere: an empty range */
	return true;
}

/*
 * ReadWindow reads [lo, hi) of the pending series into their windows and
 * moves their newest points to their GTS; returns how many series still
 * lack points (count < 0: none do), compacting pend to them.
 */
static int
ReadWindow(int32 tenant, W10Gts *gts, Pending *pend, int npend, TimestampTz lo,
		   TimestampTz hi, int64 count, int64 max_points, int64 *nread)
{
	int32	   *ids = palloc(sizeof(int32) * npend);
	VsReader   *r;
	int32		sid;
	VsPoint		pt;
	int			pos = 0;
	int			left = 0;

	for (int i = 0; i < npend; i++)
		ids[i] = pend[i].id;
	r = vs_reader_open(tenant, ids, npend, lo, hi);
	while (vs_reader_next(r, &sid, &pt))
	{
		Pending    *p;

		while (pos < npend && pend[pos].id < sid)
			pos++;
		if (pos == npend || pend[pos].id != sid)
			elog(ERROR, "the reader gave series %d, which was not asked for", sid);
		p = &pend[pos];
		if (++(*nread) > max_points && max_points > 0)
			ereport(ERROR,
					(errcode(ERRCODE_VS_TOO_LARGE),
					 errmsg("the fetch would read more than " INT64_FORMAT " points", max_points),
					 errdetail("vscope.max_points bounds the points one request reads."),
					 errhint("Narrow the selector or the time range, or ask for a count.")));
		WindowPush(&p->w, &pt, count < 0 ? -1 : count - gts[p->idx].n);
	}
	vs_reader_close(r);
	pfree(ids);

	for (int i = 0; i < npend; i++)
	{
		W10Gts	   *g = &gts[pend[i].idx];

		TakeWindow(g, &pend[i], count < 0 ? -1 : count - g->n);
		if (count >= 0 && g->n < count)
			pend[left++] = pend[i];
	}
	return count < 0 ? 0 : left;
}

/* one series' points as they are read, oldest first; reused series to series */
typedef struct Scratch
{
	int			n;
	int			cap;
	int64	   *ticks;
	bool	   *is_int;
	int64	   *lv;
	double	   *dv;
} Scratch;

static void
ScratchGrow(Scratch *sc, int need)
{
	int			cap;

	if (need <= sc->cap)
		return;
	cap = Max(Max(sc->cap * 2, need), 1024);
	if (sc->cap == 0)
	{
		sc->ticks = palloc(sizeof(int64) * cap);
		sc->is_int = palloc(sizeof(bool) * cap);
		sc->lv = palloc(sizeof(int64) * cap);
		sc->dv = palloc(sizeof(double) * cap);
	}
	else
	{
		sc->ticks = repalloc_huge(sc->ticks, sizeof(int64) * cap);
		sc->is_int = repalloc_huge(sc->is_int, sizeof(bool) * cap);
		sc->lv = repalloc_huge(sc->lv, sizeof(int64) * cap);
		sc->dv = repalloc_huge(sc->dv, sizeof(double) * cap);
	}
	sc->cap = cap;
}

static int
IdIdxCmp(const void *a, const void *b)
{
	int32		x = ((const int32 *) a)[0];
	int32		y = ((const int32 *) b)[0];

	return (x > y) - (x < y);
}

/*
 * w10_fetch_series reads every point in [start_us, end_us] of the series
 * of gts (as w10_find gives them) through the store's reader, run by run,
 * and hands each series that has any to fn, oldest first, in arrays that
 * are reused for the next series.  Series come in id order, not gts's.
 */
void
w10_fetch_series(int32 tenant, const W10Gts *gts, int ngts, int64 start_us,
				 int64 end_us, int64 max_points, W10SeriesFn fn, void *arg)
{
	int32	   *pairs;
	int32	   *ids;
	TimestampTz lo;
	TimestampTz hi;
	VsReader   *r;
	int32		sid;
	VsPointRun	run;
	int			pos = 0;
	int			cur = -1;
	int64		nread = 0;
	Scratch		sc = {0};

	if (ngts == 0 || start_us > end_us)
		return;
	lo = w10_us_to_timestamptz(start_us);
	/* the reader's end is exclusive */
	hi = end_us == PG_INT64_MAX ? DT_NOEND : w10_us_to_timestamptz(end_us + 1);
	if (lo >= hi)
		return;

	/* (series id, index in gts), by id */
	pairs = palloc(sizeof(int32) * 2 * ngts);
	for (int i = 0; i < ngts; i++)
	{
		pairs[2 * i] = gts[i].series_id;
		pairs[2 * i + 1] = i;
	}
	qsort(pairs, ngts, sizeof(int32) * 2, IdIdxCmp);
	ids = palloc(sizeof(int32) * ngts);
	for (int i = 0; i < ngts; i++)
		ids[i] = pairs[2 * i];

	r = vs_reader_open(tenant, ids, ngts, lo, hi);
	while (vs_reader_next_run(r, &sid, &run))
	{
		if (cur < 0 || pairs[2 * cur] != sid)
		{
			if (cur >= 0 && sc.n > 0)
				fn(arg, pairs[2 * cur + 1], sc.n, sc.ticks, sc.is_int, sc.lv, sc.dv);
			sc.n = 0;
			while (pos < ngts && pairs[2 * pos] < sid)
				pos++;
			if (pos == ngts || pairs[2 * pos] != sid)
				elog(ERROR, "the reader gave series %d, which was not asked for", sid);
			cur = pos;
		}
		nread += run.n;
		if (nread > max_points && max_points > 0)
			ereport(ERROR,
					(errcode(ERRCODE_VS_TOO_LARGE),
					 errmsg("the fetch would read more than " INT64_FORMAT " points", max_points),
					 errdetail("vscope.max_points bounds the points one request reads."),
					 errhint("Narrow the selector or the time range, or ask for a count.")));
		ScratchGrow(&sc, sc.n + run.n);
		for (int i = 0; i < run.n; i++)
		{
			int			k = sc.n + i;
			bool		is_int = run.is_int[i] != 0;

			sc.ticks[k] = w10_timestamptz_to_us(run.ts[i]);
			sc.is_int[k] = is_int;
			sc.lv[k] = is_int ? run.ivalue[i] : 0;
			sc.dv[k] = is_int ? 0 : run.value[i];
		}
		sc.n += run.n;
	}
	if (cur >= 0 && sc.n > 0)
		fn(arg, pairs[2 * cur + 1], sc.n, sc.ticks, sc.is_int, sc.lv, sc.dv);
	vs_reader_close(r);
	if (sc.cap > 0)
	{
		pfree(sc.ticks);
		pfree(sc.is_int);
		pfree(sc.lv);
		pfree(sc.dv);
	}
	pfree(ids);
	pfree(pairs);
}

/* a series' points into its W10Gts, newest first, in arrays of their size */
static void
TakeSeries(void *arg, int idx, int n, const int64 *ticks, const bool *is_int,
		   const int64 *lv, const double *dv)
{
	W10Gts	   *g = &((W10Gts *) arg)[idx];

	g->n = n;
	g->ticks = palloc(sizeof(int64) * n);
	g->is_int = palloc(sizeof(bool) * n);
	g->lvalues = palloc(sizeof(int64) * n);
	g->dvalues = palloc(sizeof(double) * n);
	for (int i = 0; i < n; i++)
	{
		int			j = n - 1 - i;

		g->ticks[i] = ticks[j];
		g->is_int[i] = is_int[j];
		g->lvalues[i] = lv[j];
		g->dvalues[i] = dv[j];
	}
}

/*
 * w10_fetch returns the matching series that have points in [start_us,
 * end_us], each with its newest count (count < 0: all) points there,
 * newest first.
 */
W10Gts *
w10_fetch(int32 tenant, const W10Selector *sels, int nsel,
		  int64 start_us, int64 end_us, int64 count, int64 max_points, int *ngts)
{
	int			nall;
	W10Gts	   *all = w10_find(tenant, sels, nsel, &nall);
	Pending    *pend;
	int			npend = nall;
	int64		nread = 0;
	TimestampTz lo;
	TimestampTz hi;
	int			n = 0;

	*ngts = 0;
	if (nall == 0 || start_us > end_us || count == 0)
		return all;
	lo = w10_us_to_timestamptz(start_us);
	/* the reader's end is exclusive */
	hi = end_us == PG_INT64_MAX ? DT_NOEND : w10_us_to_timestamptz(end_us + 1);
	if (lo >= hi)
		return all;

	pend = palloc0(sizeof(Pending) * nall);
	for (int i = 0; i < nall; i++)
	{
		pend[i].id = all[i].series_id;
		pend[i].idx = i;
	}
	qsort(pend, nall, sizeof(Pending), PendingCmp);

	if (count < 0)
		w10_fetch_series(tenant, all, nall, start_us, end_us, max_points, TakeSeries, all);
	else
	{
		TimestampTz dlo;
		TimestampTz dhi;

		if (!DataBounds(tenant, pend, npend, &dlo, &dhi))
			ReadWindow(tenant, all, pend, npend, lo, hi, count, max_points, &nread);
		else
		{
			TimestampTz floor = Max(lo, dlo);
			TimestampTz top = Min(hi, dhi);
			int64		span = W10_FIRST_WINDOW;

			while (npend > 0 && top > floor)
			{
				TimestampTz bottom = top - floor <= span ? floor : top - span;

				npend = ReadWindow(tenant, all, pend, npend, bottom, top, count,
								   max_points, &nread);
				top = bottom;
				if (span < PG_INT64_MAX / W10_WINDOW_GROWTH)
					span *= W10_WINDOW_GROWTH;
				CHECK_FOR_INTERRUPTS();
			}
		}
	}

	/* keep the series with points, in their order */
	for (int i = 0; i < nall; i++)
		if (all[i].n > 0)
			all[n++] = all[i];
	*ngts = n;
	return all;
}

/* ---- the SQL functions ---- */

static W10Selector *
SelectorsArg(FunctionCallInfo fcinfo, int argno, int *nsel)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_VS_BAD_REQUEST),
				 errmsg("Missing 'selector' parameter."),
				 errdetail("A selector is class{labels}, e.g. ~.*{} for every series.")));
	return w10_parse_selectors(TextDatumGetCString(PG_GETARG_DATUM(argno)), nsel,
							   ERRCODE_VS_BAD_REQUEST);
}

VS_FUNCTION_INFO_V1(vscope_warp10_find);

/*
 * vscope_warp10_find is vscope.warp10_find(token, selector): the token's
 * tenant's series matching the selectors, as (class, labels).
 */
Datum
vscope_warp10_find(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *token = PG_ARGISNULL(0) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(0));
	int			nsel;
	W10Selector *sels;
	int32		tenant;
	W10Gts	   *gts;
	int			ngts;

	InitMaterializedSRF(fcinfo, 0);
	tenant = w10_bind_token(token, false);
	sels = SelectorsArg(fcinfo, 1, &nsel);
	SPI_connect();
	gts = w10_find(tenant, sels, nsel, &ngts);
	for (int i = 0; i < ngts; i++)
	{
		Datum		values[2];
		bool		isnull[2] = {false, false};

		values[0] = CStringGetTextDatum(gts[i].cls);
		values[1] = JsonbPGetDatum(gts[i].labels);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

VS_FUNCTION_INFO_V1(vscope_warp10_fetch);

/*
 * vscope_warp10_fetch is vscope.warp10_fetch(token, selector, start_us,
 * end_us, count): per matching series with points in [start_us, end_us]
 * (start_us NULL: no lower bound), its newest count points (NULL: all),
 * newest first, as parallel arrays; each point's value in lvalues (a LONG)
 * or dvalues (a DOUBLE), the other NULL.
 */
Datum
vscope_warp10_fetch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *token = PG_ARGISNULL(0) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(0));
	int64		start = PG_ARGISNULL(2) ? W10_NO_START : PG_GETARG_INT64(2);
	int64		end = PG_ARGISNULL(3) ? W10_NO_END : PG_GETARG_INT64(3);
	int64		count = PG_ARGISNULL(4) ? -1 : PG_GETARG_INT64(4);
	int			nsel;
	W10Selector *sels;
	int32		tenant;
	W10Gts	   *gts;
	int			ngts;

	InitMaterializedSRF(fcinfo, 0);
	tenant = w10_bind_token(token, false);
	sels = SelectorsArg(fcinfo, 1, &nsel);
	if (count < 0 && !PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_VS_BAD_REQUEST),
				 errmsg("count must not be negative"),
				 errhint("NULL reads every point of the range.")));
	SPI_connect();
	gts = w10_fetch(tenant, sels, nsel, start, end, count, vs_max_points, &ngts);
	for (int i = 0; i < ngts; i++)
	{
		W10Gts	   *g = &gts[i];
		Datum		values[5];
		bool		isnull[5] = {false, false, false, false, false};
		Datum	   *t = palloc(sizeof(Datum) * g->n);
		Datum	   *l = palloc(sizeof(Datum) * g->n);
		Datum	   *d = palloc(sizeof(Datum) * g->n);
		bool	   *lnull = palloc(sizeof(bool) * g->n);
		bool	   *dnull = palloc(sizeof(bool) * g->n);
		int			dims[1] = {g->n};
		int			lbs[1] = {1};

		for (int j = 0; j < g->n; j++)
		{
			t[j] = Int64GetDatum(g->ticks[j]);
			l[j] = Int64GetDatum(g->lvalues[j]);
			d[j] = Float8GetDatum(g->dvalues[j]);
			lnull[j] = !g->is_int[j];
			dnull[j] = g->is_int[j];
		}
		values[0] = CStringGetTextDatum(g->cls);
		values[1] = JsonbPGetDatum(g->labels);
		values[2] = PointerGetDatum(construct_array(t, g->n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[3] = PointerGetDatum(construct_md_array(l, lnull, 1, dims, lbs, INT8OID, 8,
													   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[4] = PointerGetDatum(construct_md_array(d, dnull, 1, dims, lbs, FLOAT8OID, 8,
													   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	SPI_finish();
	PG_RETURN_VOID();
}
