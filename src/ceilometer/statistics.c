/*-------------------------------------------------------------------------
 *
 * statistics.c
 *	  Ceilometer's statistics computed in one pass of the samples reader:
 *	  vscope._ceilo_statistics(), which ceilometer_statistics() calls with
 *	  the matching series, their groups and what to compute, and which
 *	  returns the answer's JSON.
 *
 *	  The arithmetic has one order, whatever the storage: a (series,
 *	  period bucket) state is made of cells, a cell being the bucket's
 *	  part of one UTC day, its volumes taken in (ts, seq) order from an
 *	  empty state (stats.h); the cells are merged in time order; then a
 *	  group's state merges its series' states in series order.  A samples
 *	  block's summary is its volumes taken in that same order, so a block
 *	  that is its series' whole day, inside one bucket and the query's
 *	  range, is exactly its cell: it is used as such instead of being
 *	  decoded, and the answer is the same to the last bit either way
 *	  (vscope.use_summaries off decodes every block; rows not compressed
 *	  yet give the same cells).
 *
 *	  Rows come out ordered by period start (without a period, by the
 *	  first sample), then by the group's rank (the SQL caller ranks the
 *	  groups by their group-by values and unit, in its collation).
 *
 *-------------------------------------------------------------------------
 */
#include "ceilometer/samples.h"

#include <sys/mman.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "ceilometer/ceilometer.h"
#include "store/reader.h"

/* one answer row being built: a (bucket, group) */
typedef struct GroupKey
{
	TimestampTz ps;				/* the bucket's start (0 without a period) */
	int32		group;
	int32		pad;
} GroupKey;

typedef struct GroupRow
{
	GroupKey	key;
	double		st[VS_STATS_N];
	TimestampTz t0;
	TimestampTz t1;
	int32		index;			/* in rows[] */
} GroupRow;

/* a series' cardinality value in a row: (row, k, value), sorted then counted */
typedef struct CardMark
{
	int32		row;
	int32		k;
	int32		value;
} CardMark;

/*
 * The rows being built are found by (bucket, group): on a grid small
 * enough (buckets of the range times groups), through a dense array whose
 * order is the answer's; otherwise through a hash table, the rows sorted
 * at the end.
 */
#define VS_STATS_DENSE_MAX (4 * 1024 * 1024)

typedef struct Engine
{
	MemoryContext cxt;			/* the rows' (the reader's SPI context is not) */
	int64		period;			/* microseconds; 0: one bucket */
	TimestampTz origin;
	int			ngroups;
	int			ncard;
	const int32 *cards;			/* ncard per series (input order) */
	int32	   *dense;			/* (k - kfirst) * ngroups + group - 1 -> row + 1 */
	int64		kfirst;
	int64		ncells;
	HTAB	   *rows_by_key;
	GroupRow   *free_rows;		/* the dense grid's rows, allocated in chunks */
	int			nfree;
	GroupRow  **rows;
	int			nrows;
	int			caprows;
	CardMark   *marks;
	int			nmarks;
	int			capmarks;
} Engine;

/* the (series, bucket) state being made, and its current cell */
typedef struct SeriesBucket
{
	bool		open;
	TimestampTz ps;
	TimestampTz pe;				/* the bucket's end (exclusive) */
	double		st[VS_STATS_N];
	TimestampTz t0;
	TimestampTz t1;
	bool		cell_open;
	TimestampTz cell_start;		/* the cell's UTC day, [start, end) */
	TimestampTz cell_end;
	double		cell[VS_STATS_N];
} SeriesBucket;

static int
RowCmp(const void *a, const void *b)
{
	const GroupRow *x = *(const GroupRow *const *) a;
	const GroupRow *y = *(const GroupRow *const *) b;

	if (x->key.ps != y->key.ps)
		return x->key.ps < y->key.ps ? -1 : 1;
	if (x->key.group != y->key.group)
		return x->key.group < y->key.group ? -1 : 1;
	return 0;
}

static int
MarkCmp(const void *a, const void *b)
{
	const CardMark *x = a;
	const CardMark *y = b;

	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return (x->value > y->value) - (x->value < y->value);
}

/* the first microsecond of ts's UTC day */
static inline TimestampTz
DayStartOf(TimestampTz ts)
{
	TimestampTz d = ts - ts % USECS_PER_DAY;

	if (ts % USECS_PER_DAY < 0)
		d -= USECS_PER_DAY;
	return d;
}

/* CloseCell merges the current cell into the bucket's state */
static inline void
CloseCell(SeriesBucket *sb)
{
	if (sb->cell_open)
	{
		vs_stats_combine(sb->st, sb->cell);
		sb->cell_open = false;
	}
}

/*
 * CloseBucket gives the series' bucket to its group's row (series come in
 * ascending order, so a row merges its series in that order).
 */
static void
CloseBucket(Engine *e, SeriesBucket *sb, int32 group, int sidx)
{
	GroupRow   *row = NULL;
	bool		found = false;

	if (!sb->open)
		return;
	CloseCell(sb);
	if (e->dense != NULL)
	{
		int64		cell = ((sb->ps - e->origin) / e->period - e->kfirst) * e->ngroups + group - 1;

		if (cell < 0 || cell >= e->ncells)
			elog(ERROR, "statistics: a bucket outside the range read");
		if (e->dense[cell] > 0)
		{
			row = e->rows[e->dense[cell] - 1];
			found = true;
		}
		else
		{
			if (e->nfree == 0)
			{
				e->nfree = 1024;
				e->free_rows = MemoryContextAlloc(e->cxt, sizeof(GroupRow) * e->nfree);
			}
			row = e->free_rows++;
			e->nfree--;
			row->key.ps = sb->ps;
			row->key.group = group;
			e->dense[cell] = e->nrows + 1;
		}
	}
	else
	{
		GroupKey	key;

		memset(&key, 0, sizeof(key));
		key.ps = sb->ps;
		key.group = group;
		row = hash_search(e->rows_by_key, &key, HASH_ENTER, &found);
	}
	if (!found)
	{
		vs_stats_init(row->st);
		row->t0 = sb->t0;
		row->t1 = sb->t1;
		if (e->nrows == e->caprows)
		{
			e->caprows *= 2;
			e->rows = repalloc_huge(e->rows, sizeof(GroupRow *) * e->caprows);
		}
		row->index = e->nrows;
		e->rows[e->nrows++] = row;
	}
	vs_stats_combine(row->st, sb->st);
	if (sb->t0 < row->t0)
		row->t0 = sb->t0;
	if (sb->t1 > row->t1)
		row->t1 = sb->t1;
	for (int k = 0; k < e->ncard; k++)
	{
		if (e->nmarks == e->capmarks)
		{
			e->capmarks *= 2;
			e->marks = repalloc_huge(e->marks, sizeof(CardMark) * e->capmarks);
		}
		e->marks[e->nmarks].row = row->index;
		e->marks[e->nmarks].k = k;
		e->marks[e->nmarks].value = e->cards[(int64) sidx * e->ncard + k];
		e->nmarks++;
	}
	sb->open = false;
}

/*
 * HugePages asks the kernel to back the 2 MB pages inside a large buffer
 * with huge pages.  An answer can be tens of megabytes, written once; each
 * first write to a 4 KB page is a page fault, and on a virtual machine
 * their cost shows (a fifth of a 40 MB answer's time, measured).  Only a
 * hint: nothing changes where transparent huge pages are off.
 */
static void
HugePages(char *buf, size_t len)
{
#ifdef MADV_HUGEPAGE
	const uintptr_t huge = 2 * 1024 * 1024;
	uintptr_t	start = ((uintptr_t) buf + huge - 1) & ~(huge - 1);
	uintptr_t	end = ((uintptr_t) buf + len) & ~(huge - 1);

	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

/* GridIndex: the bucket number of ts on the grid (floor) */
static int64
GridIndex(Engine *e, TimestampTz ts)
{
	return (VsBucketOf(ts, e->period, e->origin) - e->origin) / e->period;
}

/* OpenBucket starts the series' bucket that holds ts */
static inline void
OpenBucket(Engine *e, SeriesBucket *sb, TimestampTz ts)
{
	sb->open = true;
	if (e->period > 0)
	{
		sb->ps = VsBucketOf(ts, e->period, e->origin);
		if (pg_add_s64_overflow(sb->ps, e->period, &sb->pe))
			sb->pe = PG_INT64_MAX;
	}
	else
	{
		sb->ps = 0;
		sb->pe = PG_INT64_MAX;
	}
	vs_stats_init(sb->st);
	sb->t0 = ts;
	sb->t1 = ts;
	sb->cell_open = false;
}

static void
CheckIds(ArrayType *a, const char *what, int n)
{
	if (ARR_NDIM(a) > 1 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != INT4OID ||
		(n >= 0 && ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("statistics: %s must be a one-dimensional int4 array without NULLs%s",
						what, n >= 0 ? " of one entry per series" : "")));
}

/* the arguments of Statistics, as vscope._ceilo_statistics_args() gives them */
#define VS_STATS_ARGS 14

/* the ints of a checked array (no NULLs: the data follows the header) */
static const int32 *
IntData(ArrayType *a)
{
	if (ARR_NDIM(a) == 0)
		return NULL;
	return (const int32 *) ((char *) a + ARR_OVERHEAD_NONULLS(1));
}

static char **
TextArray(ArrayType *a, const char *what, int *n, bool allow_nulls)
{
	Datum	   *d;
	bool	   *nulls;
	char	  **out;

	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i] && !allow_nulls)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("statistics: %s cannot contain NULL", what)));
		out[i] = nulls[i] ? NULL : TextDatumGetCString(d[i]);
	}
	return out;
}

typedef struct SeriesIn
{
	int32		id;
	int32		group;
	int			idx;			/* input position (for the cardinalities) */
} SeriesIn;

static int
SeriesInCmp(const void *a, const void *b)
{
	const SeriesIn *x = a;
	const SeriesIn *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/*
 * Statistics computes the answer from what vscope._ceilo_statistics_args()
 * gives, in this order: series int[], groups int[], units text[],
 * groupbys text[], cards int[], lo, hi, origin, period, q_start, q_end,
 * selected text[], maxrows, only_seq.
 *
 * series: the matching series of the current tenant; groups: each one's
 * group, 1..G, numbered in the order of the answer; units and groupbys:
 * each group's unit and group-by object (JSON text, or NULL); cards: for
 * each series, as many ints as there are cardinalities selected, equal
 * for equal values, 0 for NULL (not counted); samples lo <= ts <= hi;
 * buckets of period seconds from origin (period 0: one bucket, rows then
 * ordered by their first sample); q_start and q_end clamp the durations;
 * selected: the aggregates asked for (NULL: the standard ones); only_seq:
 * only the samples of that seq (a message_id's; NULL: all).  More than
 * maxrows rows, or a period that ends after year 9999, is Ceilometer's
 * 400.  The answer is written once, straight into the text it returns
 * (it can be tens of megabytes: every copy shows).
 */
static text *
Statistics(const Datum *args, const bool *nulls)
{
	ArrayType  *series_a;
	ArrayType  *groups_a;
	ArrayType  *cards_a;
	int			nseries;
	int			nunits;
	int			ngroupbys;
	int			nsel = 0;
	char	  **units;
	char	  **groupbys;
	char	  **sel = NULL;
	TimestampTz lo = DatumGetTimestampTz(args[5]);
	TimestampTz hi = DatumGetTimestampTz(args[6]);
	int64		period_s = DatumGetInt64(args[8]);
	bool		has_qs = !nulls[9];
	bool		has_qe = !nulls[10];
	TimestampTz q_start = has_qs ? DatumGetTimestampTz(args[9]) : 0;
	TimestampTz q_end = has_qe ? DatumGetTimestampTz(args[10]) : 0;
	int32		maxrows = DatumGetInt32(args[12]);
	bool		has_seq = !nulls[13];
	int32		only_seq = has_seq ? DatumGetInt32(args[13]) : 0;
	int32		tenant = VsRequireTenant();
	Engine		e;
	SeriesIn   *sin;
	int32	   *ids;
	int32	   *series_groups;
	HASHCTL		ctl;
	VsSampleReader *r;
	SeriesBucket sb;
	int32		sid;
	int32		cur = -1;
	int			cur_idx = -1;
	VsSampleRun run;
	StringInfoData out;
	double	   *cardvals;
	VsCeiloRowLayout layout;
	char	  **heads;
	int		   *headlens;
	int		   *groupbylens;
	bool		need_st = false;

	for (int i = 0; i <= 8; i++)
		if (nulls[i] && i != 7)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("statistics: argument %d cannot be NULL", i + 1)));
	if (nulls[12])
		maxrows = PG_INT32_MAX;
	series_a = DatumGetArrayTypeP(args[0]);
	CheckIds(series_a, "series", -1);
	nseries = ArrayGetNItems(ARR_NDIM(series_a), ARR_DIMS(series_a));
	groups_a = DatumGetArrayTypeP(args[1]);
	CheckIds(groups_a, "groups", nseries);
	units = TextArray(DatumGetArrayTypeP(args[2]), "units", &nunits, false);
	groupbys = TextArray(DatumGetArrayTypeP(args[3]), "groupbys", &ngroupbys, true);
	if (ngroupbys != nunits)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("statistics: units and groupbys must have one entry per group")));
	cards_a = DatumGetArrayTypeP(args[4]);
	CheckIds(cards_a, "cards", -1);
	memset(&e, 0, sizeof(e));
	e.ncard = nseries > 0 ? ArrayGetNItems(ARR_NDIM(cards_a), ARR_DIMS(cards_a)) / nseries : 0;
	if ((int64) e.ncard * nseries != ArrayGetNItems(ARR_NDIM(cards_a), ARR_DIMS(cards_a)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("statistics: cards must have as many entries for each series")));
	e.cards = IntData(cards_a);
	if (!nulls[11])
		sel = TextArray(DatumGetArrayTypeP(args[11]), "selected", &nsel, false);
	if (period_s < 0 || period_s > PG_INT64_MAX / USECS_PER_SEC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("statistics: period %lld out of range", (long long) period_s)));
	e.period = period_s * USECS_PER_SEC;
	e.origin = nulls[7] ? 0 : DatumGetTimestampTz(args[7]);
	if (e.period > 0 && nulls[7])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("statistics: a period needs an origin")));

	/* the series in ascending order, each once, with its group */
	sin = palloc(sizeof(SeriesIn) * Max(nseries, 1));
	{
		const int32 *sid_in = IntData(series_a);
		const int32 *grp_in = IntData(groups_a);

		for (int i = 0; i < nseries; i++)
		{
			if (grp_in[i] < 1 || grp_in[i] > nunits)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("statistics: group %d of series %d is not one of the %d groups",
								grp_in[i], sid_in[i], nunits)));
			sin[i].id = sid_in[i];
			sin[i].group = grp_in[i];
			sin[i].idx = i;
		}
	}
	qsort(sin, nseries, sizeof(SeriesIn), SeriesInCmp);
	ids = palloc(sizeof(int32) * Max(nseries, 1));
	series_groups = palloc(sizeof(int32) * Max(nseries, 1));
	for (int i = 0; i < nseries; i++)
	{
		if (i > 0 && sin[i].id == sin[i - 1].id)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("statistics: series %d is given twice", sin[i].id)));
		ids[i] = sin[i].id;
		series_groups[i] = sin[i].group;
	}

	e.cxt = CurrentMemoryContext;
	e.ngroups = nunits;
	if (e.period > 0 && lo <= hi && nunits > 0)
	{
		int64		kfirst = GridIndex(&e, lo);
		int64		klast = GridIndex(&e, hi);

		if (klast - kfirst < VS_STATS_DENSE_MAX / nunits)
		{
			e.kfirst = kfirst;
			e.ncells = (klast - kfirst + 1) * nunits;
			e.dense = palloc0(sizeof(int32) * e.ncells);
		}
	}
	if (e.dense == NULL)
	{
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(GroupKey);
		ctl.entrysize = sizeof(GroupRow);
		ctl.hcxt = CurrentMemoryContext;
		e.rows_by_key = hash_create("vscope statistics rows", 1024, &ctl,
									HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e.caprows = 1024;
	e.rows = palloc(sizeof(GroupRow *) * e.caprows);
	e.capmarks = 1024;
	e.marks = palloc(sizeof(CardMark) * e.capmarks);

	/* the answer's keys; without count, sum, min, max, avg or stddev no state is kept */
	VsCeiloRowLayoutInit(&layout, (const char *const *) sel, nsel, e.ncard);
	for (int i = 0; i < layout.nkeys; i++)
		need_st |= layout.keys[i].which >= 0;

	/* read: every sample once, or whole blocks as their summaries */
	memset(&sb, 0, sizeof(sb));
	SPI_connect();
	if (nseries > 0 && lo <= hi)
	{
		int			k = 0;

		r = vs_sreader_open(tenant, ids, nseries, lo, VsAfter(hi));
		if (vs_use_summaries && !has_seq)
			vs_sreader_use_summaries(r, e.period, e.origin);
		while (vs_sreader_next_run(r, &sid, &run))
		{
			if (sid != cur)
			{
				if (cur_idx >= 0)
					CloseBucket(&e, &sb, series_groups[k], sin[k].idx);
				while (ids[k] != sid)
					k++;
				cur = sid;
				cur_idx = k;
			}
			if (run.summary != NULL)
			{
				const VsSampleSummary *sum = run.summary;

				/* a whole cell: its bucket, then the state as it is */
				if (!sb.open || sum->first_ts >= sb.pe || sum->first_ts < sb.ps)
				{
					CloseBucket(&e, &sb, series_groups[k], sin[k].idx);
					OpenBucket(&e, &sb, sum->first_ts);
				}
				CloseCell(&sb);
				vs_stats_combine(sb.st, sum->st);
				if (sum->first_ts < sb.t0)
					sb.t0 = sum->first_ts;
				sb.t1 = sum->last_ts;
				continue;
			}
			for (int i = 0; i < run.n;)
			{
				TimestampTz ts = run.ts[i];
				TimestampTz limit;
				int			j = i + 1;

				if (has_seq && run.seq[i] != only_seq)
				{
					i++;
					continue;
				}
				if (!sb.open || ts >= sb.pe || ts < sb.ps)
				{
					CloseBucket(&e, &sb, series_groups[k], sin[k].idx);
					OpenBucket(&e, &sb, ts);
				}
				if (!sb.cell_open || ts >= sb.cell_end || ts < sb.cell_start)
				{
					CloseCell(&sb);
					vs_stats_init(sb.cell);
					sb.cell_open = true;
					sb.cell_start = DayStartOf(ts);
					sb.cell_end = sb.cell_start + USECS_PER_DAY;
				}

				/*
				 * The samples from i on that fall in this bucket and cell (a
				 * run is in time order) are taken in one loop, in order.
				 */
				if (!has_seq)
				{
					limit = Min(sb.pe, sb.cell_end);
					while (j < run.n && run.ts[j] < limit)
						j++;
				}
				if (need_st)
					vs_stats_add_many(sb.cell, run.volume + i, j - i);
				sb.t1 = run.ts[j - 1];
				i = j;
			}
		}
		if (cur_idx >= 0)
			CloseBucket(&e, &sb, series_groups[k], sin[k].idx);
		vs_sreader_close(r);
	}
	SPI_finish();

	/* cardinalities: distinct values per row and k */
	cardvals = palloc0(sizeof(double) * Max((int64) e.nrows * e.ncard, 1));
	if (e.nmarks > 0)
	{
		qsort(e.marks, e.nmarks, sizeof(CardMark), MarkCmp);
		for (int i = 0; i < e.nmarks; i++)
			if (e.marks[i].value != 0 &&
				(i == 0 || MarkCmp(&e.marks[i], &e.marks[i - 1]) != 0))
				cardvals[(int64) e.marks[i].row * e.ncard + e.marks[i].k] += 1;
	}

	/*
	 * The rows in order: period start (or first sample), then group.  The
	 * dense grid has them in that order; else they are sorted (the hash is
	 * not used any more: its keys may change).
	 */
	if (e.dense != NULL)
	{
		int			n = 0;

		for (int64 c = 0; c < e.ncells; c++)
			if (e.dense[c] > 0)
				e.dense[n++] = e.dense[c];
		for (int i = 0; i < n; i++)
			e.dense[i] = e.dense[i] - 1;
		/* rows[] in grid order, through a copy of the pointers */
		{
			GroupRow  **ordered = palloc(sizeof(GroupRow *) * Max(e.nrows, 1));

			for (int i = 0; i < n; i++)
				ordered[i] = e.rows[e.dense[i]];
			e.rows = ordered;
		}
	}
	else
	{
		for (int i = 0; i < e.nrows; i++)
			if (e.period == 0)
				e.rows[i]->key.ps = e.rows[i]->t0;
		qsort(e.rows, e.nrows, sizeof(GroupRow *), RowCmp);
	}

	if (e.nrows > maxrows)
		ereport(ERROR,
				(errcode(ERRCODE_VS_BAD_REQUEST),
				 errmsg("The statistics would have more than %d rows (vscope.ceilometer_max_rows): "
						"use a longer period, fewer group-by fields or a shorter time range", maxrows)));

	/*
	 * The text, header first, sized for the longest rows these could be (a
	 * row takes about half of that: the pages never written are never
	 * touched), so that it is never copied to grow.
	 */
	heads = palloc(sizeof(char *) * Max(nunits, 1));
	headlens = palloc(sizeof(int) * Max(nunits, 1));
	groupbylens = palloc(sizeof(int) * Max(nunits, 1));
	for (int g = 0; g < nunits; g++)
	{
		heads[g] = VsCeiloRowHead(units[g], period_s);
		headlens[g] = strlen(heads[g]);
		groupbylens[g] = groupbys[g] == NULL ? 4 : strlen(groupbys[g]);
	}
	{
		int64		size;
		int			most = 0;

		for (int g = 0; g < nunits; g++)
			most = Max(most, headlens[g] + groupbylens[g]);
		size = VARHDRSZ + 2 + 1 + (int64) e.nrows * (2 + most + layout.row_max);
		initStringInfo(&out);
		enlargeStringInfo(&out, (int) Min(size, (int64) MaxAllocSize - 1));
	}
	HugePages(out.data, out.maxlen);
	appendBinaryStringInfo(&out, "\0\0\0\0", VARHDRSZ);
	appendStringInfoChar(&out, '[');
	for (int i = 0; i < e.nrows; i++)
	{
		GroupRow   *row = e.rows[i];
		TimestampTz ps = row->key.ps;
		TimestampTz pe;
		TimestampTz ds = has_qs && q_start > row->t0 ? q_start : row->t0;
		TimestampTz de = has_qe && q_end < row->t1 ? q_end : row->t1;
		double		fin[VS_STATS_N];
		bool		has_st = vs_stats_final(row->st, fin);
		int			g = row->key.group - 1;

		/* the rows are in grid order, not where they were made: fetched ahead */
#ifdef __GNUC__
		if (i + 8 < e.nrows)
			__builtin_prefetch(e.rows[i + 8]);
#endif
		CHECK_FOR_INTERRUPTS();
		if (e.period > 0)
		{
			/* Python's dates end with year 9999: so do Ceilometer's periods */
			if (pg_add_s64_overflow(ps, e.period, &pe) || pe >= VS_CEILO_END_TS)
				ereport(ERROR,
						(errcode(ERRCODE_VS_BAD_REQUEST),
						 errmsg("Invalid period " INT64_FORMAT ": date value out of range", period_s)));
		}
		else
			pe = row->t1;
		if (i > 0)
			appendBinaryStringInfo(&out, ", ", 2);
		VsCeiloStatsRowL(&out, &layout, heads[g], headlens[g], &ps, &pe,
						 ds <= de ? &ds : NULL, ds <= de ? &de : NULL,
						 groupbys[g], groupbylens[g], has_st ? fin : NULL,
						 cardvals + (int64) row->index * e.ncard);
	}
	appendStringInfoChar(&out, ']');
	SET_VARSIZE(out.data, out.len);
	return (text *) out.data;
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_statistics);

/*
 * vscope_ceilometer_statistics(meter, args) is GET
 * /v2/meters/{meter}/statistics: vscope._ceilo_statistics_args() checks
 * the query and finds the series, their groups and what to compute, then
 * Statistics reads the samples and writes the answer, straight into the
 * datum returned (no copy of it is made on the way: it may be tens of
 * megabytes).
 */
Datum
vscope_ceilometer_statistics(PG_FUNCTION_ARGS)
{
	MemoryContext callcxt = CurrentMemoryContext;
	Oid			types[2] = {TEXTOID, JSONBOID};
	Datum		qargs[2];
	char		qnulls[2] = {' ', ' '};
	Datum		args[VS_STATS_ARGS];
	bool		nulls[VS_STATS_ARGS];
	TupleDesc	desc;
	HeapTuple	tup;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	qargs[0] = PG_GETARG_DATUM(0);
	qargs[1] = PG_ARGISNULL(1) ? DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")) : PG_GETARG_DATUM(1);
	SPI_connect();
	if (SPI_execute_with_args("SELECT * FROM vscope._ceilo_statistics_args($1, $2)", 2, types, qargs,
							  qnulls, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "checking the statistics query failed");
	desc = SPI_tuptable->tupdesc;
	tup = SPI_tuptable->vals[0];
	if (desc->natts != VS_STATS_ARGS)
		elog(ERROR, "vscope._ceilo_statistics_args() returned %d columns, not %d", desc->natts, VS_STATS_ARGS);
	for (int i = 0; i < VS_STATS_ARGS; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Datum		d = SPI_getbinval(tup, desc, i + 1, &nulls[i]);

		MemoryContext old = MemoryContextSwitchTo(callcxt);

		args[i] = nulls[i] ? (Datum) 0 : datumCopy(d, att->attbyval, att->attlen);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	MemoryContextSwitchTo(callcxt);
	/* no series with samples: no statistics */
	if (nulls[0])
		PG_RETURN_TEXT_P(cstring_to_text("[]"));
	PG_RETURN_TEXT_P(Statistics(args, nulls));
}
