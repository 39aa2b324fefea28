/*-------------------------------------------------------------------------
 *
 * warp10.h
 *	  Warp 10 over vscope's store: names and their percent encoding,
 *	  selectors, tokens, times, Geo Time Series read through the reader,
 *	  and Warp 10's output forms.  The WarpScript interpreter
 *	  (warpscript*.c) reads through the same functions.
 *
 *	  A Warp 10 class is a series' metric, its labels are the series' tags;
 *	  there are no attributes and no geo.  Timestamps are microseconds
 *	  since the Unix epoch (Warp 10's platform unit).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_WARP10_H
#define VSCOPE_WARP10_H

#include "core/vscope.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

/* microseconds between the Unix epoch and PostgreSQL's (2000-01-01) */
#define W10_EPOCH_SHIFT INT64CONST(946684800000000)

/* no bound: a range end that reaches as far as int64 goes */
#define W10_NO_START PG_INT64_MIN
#define W10_NO_END PG_INT64_MAX

/* ---- encoding.c: names, numbers and times in Warp 10's forms ---- */

/*
 * Percent-decodes s as WarpURLDecoder does: only %XX sequences (UTF-8),
 * '+' stays '+'.  NULL with *err set when a sequence is malformed or the
 * result is not valid UTF-8 (or holds a NUL).
 */
extern char *w10_decode(const char *s, int len, const char **err);

/* appends s encoded as WarpURLEncoder does (UTF-8, upper-case hex) */
extern void w10_append_encoded(StringInfo buf, const char *s);

/* appends a double as Java's Double.toString (NaN, Infinity bare) */
extern void w10_append_double(StringInfo buf, double d);

/*
 * Parses an ISO 8601 date-time (YYYY-MM-DDThh:mm[:ss[.fraction]] with Z,
 * +hh:mm or -hh:mm, optionally followed by [Region/City]; no zone = UTC)
 * into Unix microseconds; false if s is not one.
 */
extern bool w10_parse_iso8601(const char *s, int64 *us);

/*
 * Parses an ISO 8601 duration (PnDTnHnMnS, PnW; fractional seconds) into
 * microseconds; *err says why not (years and months are refused).
 */
extern bool w10_parse_duration(const char *s, int64 *us, const char **err);

/* a strict int64 in decimal ([+-]?[0-9]+); false on overflow or junk */
extern bool w10_parse_long(const char *s, int64 *v);

/* Unix microseconds <-> timestamptz (clamped to -infinity/infinity) */
extern TimestampTz w10_us_to_timestamptz(int64 us);
extern int64 w10_timestamptz_to_us(TimestampTz ts);

/* ---- selector.c: class{label=value,label~regex} selectors ---- */

typedef struct W10LabelSel
{
	char	   *name;
	bool		regex;
	char	   *value;			/* exact value, or a regex (whole match) */
} W10LabelSel;

typedef struct W10Selector
{
	bool		class_regex;
	char	   *cls;			/* exact class, or a regex (whole match) */
	int			nlabels;
	W10LabelSel *labels;
} W10Selector;

/*
 * Parses whitespace-separated selectors (already decoded from HTTP), each
 * part percent-decoded; errors raised with errcode (400 for fetch).
 */
extern W10Selector *w10_parse_selectors(const char *text, int *nsel, int sqlstate);

/* ---- fetch.c: tokens, series and their points ---- */

/*
 * The tenant of a Warp 10 token, which this transaction then acts as:
 * a token needs the read scope (or write, with need_write), and one
 * transaction acts for one tenant (a token of another is refused).
 * A NULL token means the session's own tenant.  Errors are VS403.
 */
extern int32 w10_bind_token(const char *token, bool need_write);

/* A Geo Time Series as vscope holds it: a series and some of its points. */
typedef struct W10Gts
{
	int32		series_id;
	char	   *cls;
	int			nlabels;
	char	  **keys;			/* sorted bytewise */
	char	  **values;
	Jsonb	   *labels;			/* the same, as a JSON object */
	int			n;				/* points, newest first */
	int64	   *ticks;			/* Unix microseconds */
	bool	   *is_int;
	int64	   *lvalues;		/* when is_int */
	double	   *dvalues;		/* when not */
} W10Gts;

/*
 * The tenant's series matching any of the selectors, ordered by class,
 * then labels; no points.  The caller is connected to SPI.
 */
extern W10Gts *w10_find(int32 tenant, const W10Selector *sels, int nsel, int *ngts);

/*
 * The matching series with at least one point in [start_us, end_us]
 * (both inclusive; W10_NO_START/W10_NO_END for no bound), each with its
 * newest count points there (count < 0: all), newest first, in the order
 * of w10_find.  Reading more than max_points points is an error (VS413;
 * 0: no limit).
 * The caller is connected to SPI; everything is read under its snapshot.
 */
extern W10Gts *w10_fetch(int32 tenant, const W10Selector *sels, int nsel,
						 int64 start_us, int64 end_us, int64 count, int64 max_points,
						 int *ngts);

/*
 * w10_fetch_series hands fn, series by series (in id order), every point
 * in [start_us, end_us] of each of the series of gts (w10_find's) that has
 * any: idx is the series' place in gts, the arrays hold n points oldest
 * first, each a LONG (lv) or a DOUBLE (dv) as is_int says, and are reused
 * after fn returns.  Reading more than max_points points is an error
 * (VS413; 0: no limit).  The caller is connected to SPI.
 */
typedef void (*W10SeriesFn) (void *arg, int idx, int n, const int64 *ticks,
							 const bool *is_int, const int64 *lv, const double *dv);
extern void w10_fetch_series(int32 tenant, const W10Gts *gts, int ngts,
							 int64 start_us, int64 end_us, int64 max_points,
							 W10SeriesFn fn, void *arg);

/* ---- format.c: the fetch and find answers ---- */

typedef enum W10Format
{
	W10_TEXT, W10_FULLTEXT, W10_JSON, W10_TSV, W10_FULLTSV
} W10Format;

extern void w10_format_fetch(StringInfo out, const W10Gts *gts, int ngts,
							 W10Format format, bool dedup, bool showattr);
extern void w10_format_find(StringInfo out, const W10Gts *gts, int ngts,
							bool json, bool showattr);

/* appends CLASS{k=v,...} encoded (the text forms' series name) */
extern void w10_append_name(StringInfo buf, const W10Gts *g);

/* ---- update.c ---- */

#endif							/* VSCOPE_WARP10_H */
