/*-------------------------------------------------------------------------
 *
 * update.c
 *	  POST /api/v0/update: Warp 10's GTS input format, one point a line,
 *	  parsed as GTSHelper.parse does (its error messages and character
 *	  offsets included), then stored through the store's one write path
 *	  (store/ingest.c), for the current tenant.
 *
 *	  TS/LAT:LON/ELEV CLASS{LABELS} VALUE
 *	  =TS// VALUE          (a continuation: the previous line's series)
 *
 *	  A line is trimmed; empty lines and lines starting with '#' are
 *	  skipped.  An empty TS is the time of the request, T-n is n
 *	  microseconds before it.  vscope stores LONG and DOUBLE values, with
 *	  no location, elevation or attributes: a line carrying anything else
 *	  (a string, a boolean, binary, a geo cell, NaN or an infinity, a
 *	  location, an elevation, attributes) is refused, and so is a label
 *	  name starting with '.' (the tenant stands for Warp 10's hidden
 *	  labels) or an empty label value (so that label= never matches).
 *	  A request is atomic: every line is checked, including that its
 *	  point's day is writable, before anything is stored, and one bad line
 *	  refuses the whole request.
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warp10.h"

#include <math.h>

#include "access/xact.h"
#include "common/int.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "store/store.h"

/* a series of the request: its class and its labels, sorted */
typedef struct UpdSeries
{
	char	   *cls;
	VsTag	   *tags;
	int			ntags;
} UpdSeries;

/* one line's point */
typedef struct UpdPoint
{
	UpdSeries  *series;
	TimestampTz ts;
	bool		is_int;
	int64		ivalue;
	double		value;
} UpdPoint;

/* the line being parsed, for its error */
typedef struct UpdLine
{
	const char *text;
	int			len;
} UpdLine;

static void
ParseError(const UpdLine *l, int offset, const char *cause)
{
	/* a long line is shown cut in its middle, as Warp 10 abbreviates */
	if (l->len > 240)
	{
		int			head = pg_mbcliplen(l->text, l->len, 160);
		int			tail = l->len - 60;

		while (tail < l->len && (l->text[tail] & 0xC0) == 0x80)
			tail++;
		ereport(ERROR,
				(errcode(ERRCODE_VS_BAD_REQUEST),
				 errmsg("Parse error at index %d in '%.*s...%s' (%s)",
						offset, head, l->text, l->text + tail, cause)));
	}
	ereport(ERROR,
			(errcode(ERRCODE_VS_BAD_REQUEST),
			 errmsg("Parse error at index %d in '%.*s' (%s)", offset, l->len, l->text, cause)));
}

/* IndexOf: the first c at or after from, or -1 (Java's String.indexOf) */
static int
IndexOf(const UpdLine *l, char c, int from)
{
	const char *p;

	if (from >= l->len)
		return -1;
	p = memchr(l->text + from, c, l->len - from);
	return p ? (int) (p - l->text) : -1;
}

/*
 * ParseLabels reads k=v,k=v (GTSHelper.parseLabels: pieces split on every
 * ',' and trimmed, each split on every '=' keeping the first two parts,
 * percent-decoded; the last of a name wins).  False on a bad label.
 */
static bool
ParseLabels(const char *s, int len, UpdSeries *series)
{
	int			cap = 4;
	int			pos = 0;
	int			n = 0;
	VsTag	   *tags = palloc(sizeof(VsTag) * cap);

	while (pos <= len)
	{
		int			end = pos;
		int			a;
		int			b;
		const char *eq;
		const char *eq2;
		const char *err;

		while (end < len && s[end] != ',')
			end++;
		a = pos;
		b = end;
		pos = end + 1;
		while (a < b && (unsigned char) s[a] <= ' ')
			a++;
		while (b > a && (unsigned char) s[b - 1] <= ' ')
			b--;
		if (a == b)
			continue;
		eq = memchr(s + a, '=', b - a);
		if (eq == NULL)
			return false;		/* a ~ selector, or no '=' at all */
		eq2 = memchr(eq + 1, '=', b - (eq + 1 - s));
		if (n == cap)
		{
			cap *= 2;
			tags = repalloc(tags, sizeof(VsTag) * cap);
		}
		tags[n].key = w10_decode(s + a, eq - (s + a), &err);
		if (tags[n].key == NULL)
			return false;
		tags[n].value = w10_decode(eq + 1, (eq2 ? eq2 : s + b) - (eq + 1), &err);
		if (tags[n].value == NULL)
			return false;
		tags[n].ord = n;
		n++;
	}
	/* sorted bytewise, the last of equal names kept */
	series->tags = tags;
	series->ntags = VsSortTags(tags, n);
	return true;
}

/* Java's Double.parseDouble, for decimal forms; false if s is not one */
static bool
ParseDouble(const char *s, double *d)
{
	const char *p = s;
	char	   *end;
	bool		digits = false;
	int			len = strlen(s);

	/* Java trims, and takes a final type letter */
	while (len > 0 && (unsigned char) s[len - 1] <= ' ')
		len--;
	while (*p && (unsigned char) *p <= ' ')
		p++;
	{
		char	   *copy = pnstrdup(p, len - (p - s));
		int			clen = strlen(copy);
		const char *q = copy;

		if (clen > 0 && strchr("fFdD", copy[clen - 1]) != NULL &&
			!(clen >= 8 && strcmp(copy + clen - 8, "Infinity") == 0))
			copy[--clen] = '\0';
		if (*q == '+' || *q == '-')
			q++;
		if (strcmp(q, "NaN") == 0)
		{
			*d = NAN;
			return true;
		}
		if (strcmp(q, "Infinity") == 0)
		{
			*d = copy[0] == '-' ? -INFINITY : INFINITY;
			return true;
		}
		/* digits [. digits] [e [+-] digits], or . digits ... */
		while (*q >= '0' && *q <= '9')
			q++, digits = true;
		if (*q == '.')
			for (q++; *q >= '0' && *q <= '9'; q++)
				digits = true;
		if (!digits)
			return false;
		if (*q == 'e' || *q == 'E')
		{
			q++;
			if (*q == '+' || *q == '-')
				q++;
			if (!(*q >= '0' && *q <= '9'))
				return false;
			while (*q >= '0' && *q <= '9')
				q++;
		}
		if (*q != '\0')
			return false;
		*d = strtod(copy, &end);
		return *end == '\0';
	}
}

/*
 * ParseValue reads a value (GTSHelper.parseValue's order); NULL when it is
 * a LONG or a DOUBLE vscope can store, else why not.
 */
static const char *
ParseValue(const char *v, UpdPoint *pt)
{
	int			len = strlen(v);
	char		c = v[0];

	if ((c == '\'' && len > 1 && v[len - 1] == '\'') || (c == '"' && len > 1 && v[len - 1] == '"'))
		return "vscope stores LONG and DOUBLE values, not STRING ones.";
	if (((c == 't' || c == 'T') && (len == 1 || pg_strcasecmp(v, "true") == 0)) ||
		((c == 'f' || c == 'F') && (len == 1 || pg_strcasecmp(v, "false") == 0)))
		return "vscope stores LONG and DOUBLE values, not BOOLEAN ones.";
	if (strncmp(v, "HH:", 3) == 0 || strncmp(v, "Q:", 2) == 0 || c == '[' ||
		strncmp(v, "b64:", 4) == 0 || strncmp(v, "hex:", 4) == 0 || c == ':')
		return "vscope stores LONG and DOUBLE values, not geo cells, quaternions, encoders or binary ones.";
	{
		const char *p = v + (c == '+' || c == '-');
		bool		isdigits = *p != '\0';

		for (; *p; p++)
			if (*p < '0' || *p > '9')
				isdigits = false;
		if (isdigits)
		{
			if (!w10_parse_long(v, &pt->ivalue))
				return "Cannot parse value.";
			pt->is_int = true;
			return NULL;
		}
	}
	if (!ParseDouble(v, &pt->value))
		return "Cannot parse value.";
	if (isnan(pt->value) || isinf(pt->value))
		return "vscope stores finite values only: NaN and infinities cannot be stored.";
	pt->is_int = false;
	return NULL;
}

/*
 * ParseLine parses one trimmed, non-empty, non-comment line into pt;
 * *prev is the previous line's series (a continuation's).
 */
static void
ParseLine(const UpdLine *l, UpdSeries **prev, int64 now_us, UpdPoint *pt)
{
	const char *s = l->text;
	int			tsoffset = 0;
	int			idx;
	int			idx2;
	int64		ts;
	UpdSeries  *series;

	if (s[0] == '=')
	{
		if (*prev == NULL)
			ParseError(l, 0, "Invalid continuation.");
		tsoffset = 1;
	}
	idx = IndexOf(l, '/', tsoffset);
	if (idx < 0)
		ParseError(l, tsoffset, "Missing timestamp separator.");
	if (idx == tsoffset)
		ts = now_us;
	else
	{
		char	   *t = pnstrdup(s + tsoffset, idx - tsoffset);
		bool		rel = t[0] == 'T';

		if (!w10_parse_long(t + rel, &ts) ||
			(rel && pg_add_s64_overflow(ts, now_us, &ts)))
			ParseError(l, tsoffset, "Invalid timestamp.");
	}
	idx++;
	idx2 = IndexOf(l, '/', idx);
	if (idx2 < 0)
		ParseError(l, idx, "Missing location/elevation separator.");
	if (idx2 != idx)
		ParseError(l, idx, "vscope stores no location: a point has none (TS// ...).");
	idx = idx2 + 1;
	idx2 = IndexOf(l, ' ', idx);
	if (idx2 < 0)
		ParseError(l, idx, tsoffset == 0 ? "Missing GTS name, labels and value." : "Missing value.");
	if (idx2 != idx)
		ParseError(l, idx, "vscope stores no elevation: a point has none (TS// ...).");
	idx = idx2 + 1;
	while (idx < l->len && s[idx] == ' ')
		idx++;

	idx2 = tsoffset > 0 ? -1 : IndexOf(l, '{', idx);
	if (idx2 < 0)
	{
		if (idx >= l->len)
			ParseError(l, idx, "Missing value");
		if (*prev == NULL)
			ParseError(l, idx, "Missing or invalid GTS name and labels.");
		series = *prev;
	}
	else
	{
		const char *err;

		series = palloc0(sizeof(UpdSeries));
		series->cls = w10_decode(s + idx, idx2 - idx, &err);
		if (series->cls == NULL)
			ParseError(l, idx, psprintf("Invalid class name: %s.", err));
		idx = idx2 + 1;
		idx2 = IndexOf(l, '}', idx);
		if (idx2 < 0)
			ParseError(l, l->len - 1, "Missing end of labels '}'.");
		if (!ParseLabels(s + idx, idx2 - idx, series))
			ParseError(l, idx, "Invalid label definition.");
		for (int i = 0; i < series->ntags; i++)
		{
			if (series->tags[i].key[0] == '\0' || series->tags[i].key[0] == '.')
				ParseError(l, idx, psprintf("Invalid label name '%s': label names are not empty and do not start with '.' (the token's tenant stands for Warp 10's hidden labels).",
											series->tags[i].key));
			if (series->tags[i].value[0] == '\0')
				ParseError(l, idx, psprintf("Invalid label '%s': vscope stores no empty label value.",
											series->tags[i].key));
		}
		if (series->ntags > vs_max_tags)
			ParseError(l, idx, psprintf("Too many labels: %d, at most %d (vscope.max_tags).",
										series->ntags, vs_max_tags));
		idx = idx2 + 1;
		if (idx < l->len && s[idx] == '{')
			ParseError(l, idx, "vscope stores no attributes.");
		while (idx < l->len && s[idx] == ' ')
			idx++;
		if (idx >= l->len)
			ParseError(l, l->len - 1, "Missing value.");
	}

	{
		const char *why = ParseValue(pnstrdup(s + idx, l->len - idx), pt);

		if (why != NULL)
			ParseError(l, idx, why);
	}

	/* vscope's own rules for a point's time */
	{
		TimestampTz t = w10_us_to_timestamptz(ts);
		const char *err;

		if (TIMESTAMP_NOT_FINITE(t))
			ParseError(l, tsoffset, psprintf("Timestamp " INT64_FORMAT " is out of range.", ts));
		if (t < VsRetentionCutoff())
			ParseError(l, tsoffset, psprintf("Timestamp " INT64_FORMAT " is too far in the past (vscope.retention is %s).",
											 ts, vs_retention));
		if (t > GetCurrentTransactionStartTimestamp() + (int64) vs_max_future_secs * USECS_PER_SEC)
			ParseError(l, tsoffset, psprintf("Timestamp " INT64_FORMAT " is too far in the future (vscope.max_future).", ts));
		if ((err = VsDayNotWritable(t)) != NULL)
			ParseError(l, tsoffset, psprintf("%s.", err));
		pt->ts = t;
	}
	pt->series = series;
	*prev = series;
}

VS_FUNCTION_INFO_V1(vscope_warp10_update);

/*
 * vscope_warp10_update stores the points of a GTS input format body for
 * the current tenant, all or none; returns how many it wrote.
 */
Datum
vscope_warp10_update(PG_FUNCTION_ARGS)
{
	char	   *body;
	int32		tenant;
	int64		now_us = w10_timestamptz_to_us(GetCurrentTimestamp());
	int			cap = 64;
	int			n = 0;
	UpdPoint   *points;
	UpdSeries  *prev = NULL;
	char	   *line;
	VsSeriesRef *refs;
	VsPointIn  *in;
	int64		written;

	if (PG_ARGISNULL(0))
		PG_RETURN_INT64(0);
	tenant = VsRequireTenant();
	body = text_to_cstring(PG_GETARG_TEXT_PP(0));
	points = palloc(sizeof(UpdPoint) * cap);

	for (line = body; line != NULL;)
	{
		char	   *nl = strchr(line, '\n');
		UpdLine		l;

		if (nl)
			*nl = '\0';
		l.text = line;
		l.len = strlen(line);
		line = nl ? nl + 1 : NULL;
		/* trimmed as Java's String.trim */
		while (l.len > 0 && (unsigned char) l.text[0] <= ' ')
			l.text++, l.len--;
		while (l.len > 0 && (unsigned char) l.text[l.len - 1] <= ' ')
			l.len--;
		if (l.len == 0 || l.text[0] == '#')
			continue;
		((char *) l.text)[l.len] = '\0';
		if (n >= vs_max_put_points)
			ereport(ERROR,
					(errcode(ERRCODE_VS_TOO_LARGE),
					 errmsg("too many data points in one update"),
					 errdetail("At most %d are allowed (vscope.max_put_points).", vs_max_put_points)));
		if (n == cap)
		{
			cap *= 2;
			points = repalloc_huge(points, sizeof(UpdPoint) * cap);
		}
		ParseLine(&l, &prev, now_us, &points[n]);
		n++;
		CHECK_FOR_INTERRUPTS();
	}
	if (n == 0)
		PG_RETURN_INT64(0);

	refs = palloc(sizeof(VsSeriesRef) * n);
	in = palloc(sizeof(VsPointIn) * n);
	for (int i = 0; i < n; i++)
	{
		refs[i].metric = points[i].series->cls;
		refs[i].tags = points[i].series->tags;
		refs[i].ntags = points[i].series->ntags;
	}
	SPI_connect();
	VsResolveSeries(tenant, refs, n);
	for (int i = 0; i < n; i++)
	{
		in[i].series_id = refs[i].series_id;
		in[i].ts = points[i].ts;
		in[i].is_int = points[i].is_int;
		in[i].ivalue = points[i].ivalue;
		in[i].value = points[i].value;
		in[i].ordinal = i;
	}
	written = VsStorePoints(tenant, in, n);
	SPI_finish();
	PG_RETURN_INT64(written);
}
