/*-------------------------------------------------------------------------
 *
 * putparse.c
 *	  Parses an OpenTSDB /api/put body (one object or an array of objects)
 *	  with PostgreSQL's streaming JSON parser, without building a jsonb, and
 *	  validates each point the way OpenTSDB 2.4 does (IncomingDataPoint.
 *	  validate, then the value, then IncomingDataPoints.checkMetricAndTags),
 *	  with its error strings.  Allocates in CurrentMemoryContext.
 *
 *-------------------------------------------------------------------------
 */
#include "store/putparse.h"

#include <ctype.h>
#include <math.h>
#include <wctype.h>
#include <locale.h>

#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonfuncs.h"

typedef enum PutField
{
	PF_NONE,
	PF_METRIC,
	PF_TIMESTAMP,
	PF_VALUE,
	PF_TAGS
} PutField;

typedef struct PutParseState
{
	JsonLexContext *lex;
	int			point_level;	/* lex level of point objects: 0 or 1 */
	bool		top_is_array;
	VsRawPoint *points;
	int			npoints;
	int			cap;
	VsRawPoint *cur;
	PutField	field;			/* the point field being parsed */
	char	   *tag_key;		/* the tag being parsed */
} PutParseState;

static void
MalformedPut(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed put payload"),
			 errdetail("%s", detail),
			 errhint("Send one data point object or an array of them: {\"metric\":\"sys.cpu.user\",\"timestamp\":1356998400,\"value\":42,\"tags\":{\"host\":\"web01\"}}.")));
}

static VsRawPoint *
NewPoint(PutParseState *st)
{
	if (st->npoints >= vs_max_put_points)
		ereport(ERROR,
				(errcode(ERRCODE_VS_TOO_LARGE),
				 errmsg("too many data points in one put"),
				 errdetail("At most %d are allowed (vscope.max_put_points).", vs_max_put_points),
				 errhint("Split the points into several requests.")));
	if (st->npoints == st->cap)
	{
		st->cap = st->cap == 0 ? 16 : st->cap * 2;
		st->points = st->points == NULL ? palloc(sizeof(VsRawPoint) * st->cap)
			: repalloc_huge(st->points, sizeof(VsRawPoint) * st->cap);
	}
	st->cur = &st->points[st->npoints++];
	memset(st->cur, 0, sizeof(VsRawPoint));
	return st->cur;
}

/* field_state is where point p keeps the state of field f (NULL for PF_NONE) */
static inline VsFieldState *
field_state(VsRawPoint *p, PutField f)
{
	switch (f)
	{
		case PF_METRIC:
			return &p->metric_state;
		case PF_TIMESTAMP:
			return &p->ts_state;
		case PF_VALUE:
			return &p->value_state;
		case PF_TAGS:
			return &p->tags_state;
		case PF_NONE:
			break;
	}
	return NULL;
}

static void
PutObjectStart(void *state)
{
	PutParseState *st = state;
	int			level = st->lex->lex_level;

	if (level == 0 && !st->top_is_array)
	{
		st->point_level = 0;
		NewPoint(st);
	}
	else if (level == 1 && st->top_is_array)
		NewPoint(st);
	else if (level == st->point_level + 1 && st->cur != NULL)
	{
		/* a field whose value is an object: right for tags only */
		VsFieldState *fs = field_state(st->cur, st->field);

		if (fs != NULL)
			*fs = st->field == PF_TAGS ? VS_FIELD_SCALAR : VS_FIELD_CONTAINER;
	}
	else if (level == st->point_level + 2 && st->field == PF_TAGS && st->cur != NULL)
		st->cur->tags_bad = true;	/* a tag's value is an object */
}

static void
PutArrayStart(void *state)
{
	PutParseState *st = state;
	int			level = st->lex->lex_level;

	if (level == 0)
	{
		st->top_is_array = true;
		st->point_level = 1;
	}
	else if (level == 1 && st->top_is_array)
		MalformedPut("An element of the array is an array, not a data point object.");
	else if (level == st->point_level + 1 && st->cur != NULL)
	{
		VsFieldState *fs = field_state(st->cur, st->field);

		if (fs != NULL)
			*fs = VS_FIELD_CONTAINER;
	}
	else if (level == st->point_level + 2 && st->field == PF_TAGS && st->cur != NULL)
		st->cur->tags_bad = true;
}

static void
PutObjectEnd(void *state)
{
	PutParseState *st = state;

	if (st->lex->lex_level == st->point_level)
	{
		st->cur = NULL;
		st->field = PF_NONE;
	}
}

static void
PutFieldStart(void *state, char *fname, bool isnull)
{
	PutParseState *st = state;
	int			level = st->lex->lex_level;

	if (st->cur == NULL)
		return;
	if (level == st->point_level + 1)
	{
		st->field = strcmp(fname, "metric") == 0 ? PF_METRIC
			: strcmp(fname, "timestamp") == 0 ? PF_TIMESTAMP
			: strcmp(fname, "value") == 0 ? PF_VALUE
			: strcmp(fname, "tags") == 0 ? PF_TAGS
			: PF_NONE;
		if (isnull)
		{
			VsFieldState *fs = field_state(st->cur, st->field);

			if (fs != NULL)
				*fs = VS_FIELD_NULL;
		}
	}
	else if (level == st->point_level + 2 && st->field == PF_TAGS)
	{
		VsRawPoint *p = st->cur;

		if (p->ntags == p->tags_cap)
		{
			p->tags_cap = p->tags_cap == 0 ? 8 : p->tags_cap * 2;
			p->tags = p->tags == NULL ? palloc(sizeof(VsTag) * p->tags_cap)
				: repalloc(p->tags, sizeof(VsTag) * p->tags_cap);
		}
		p->tags[p->ntags].key = fname;
		p->tags[p->ntags].value = NULL; /* JSON null, unless a scalar follows */
		p->tags[p->ntags].ord = p->ntags;
		p->ntags++;
	}
}

static void
PutArrayElementStart(void *state, bool isnull)
{
	PutParseState *st = state;

	if (st->lex->lex_level == 1 && st->top_is_array && isnull)
	{
		NewPoint(st)->is_null = true;
		st->cur = NULL;
	}
}

static void
PutScalar(void *state, char *token, JsonTokenType tokentype)
{
	PutParseState *st = state;
	int			level = st->lex->lex_level;
	VsRawPoint *p = st->cur;

	if (level == 0)
		MalformedPut("The payload is a JSON scalar, not a data point object or an array.");
	if (level == 1 && st->top_is_array)
	{
		if (tokentype != JSON_TOKEN_NULL)
			MalformedPut("An element of the array is a scalar, not a data point object.");
		return;
	}
	if (p == NULL || tokentype == JSON_TOKEN_NULL)
		return;
	if (level == st->point_level + 1)
	{
		switch (st->field)
		{
			case PF_METRIC:
				p->metric_state = VS_FIELD_SCALAR;
				p->metric = token;
				break;
			case PF_TIMESTAMP:
				p->ts_state = VS_FIELD_SCALAR;
				p->ts = token;
				p->ts_type = tokentype;
				break;
			case PF_VALUE:
				p->value_state = VS_FIELD_SCALAR;
				p->value = token;
				p->value_type = tokentype;
				break;
			case PF_TAGS:
				p->tags_state = VS_FIELD_CONTAINER; /* tags must be an object */
				break;
			case PF_NONE:
				break;
		}
	}
	else if (level == st->point_level + 2 && st->field == PF_TAGS && p->ntags > 0)
		p->tags[p->ntags - 1].value = token;
}

/*
 * VsParsePut parses a put body into raw points; malformed JSON, and JSON
 * that is not an object or an array of objects, raise an error.
 */
VsRawPoint *
VsParsePut(const char *json, int len, int *npoints)
{
	PutParseState st = {0};
	JsonSemAction sem = {0};
	JsonLexContext *lex;

	lex = makeJsonLexContextCstringLen((char *) json, len, GetDatabaseEncoding(), true);
	st.lex = lex;
	sem.semstate = &st;
	sem.object_start = PutObjectStart;
	sem.object_end = PutObjectEnd;
	sem.array_start = PutArrayStart;
	sem.object_field_start = PutFieldStart;
	sem.array_element_start = PutArrayElementStart;
	sem.scalar = PutScalar;

	pg_parse_json_or_ereport(lex, &sem);
	*npoints = st.npoints;
	return st.points;
}

/*
 * ParseLong follows OpenTSDB's Tags.parseLong: an optional sign and decimal
 * digits, nothing else, within int64.
 */
static bool
ParseLong(const char *s, int64 *out)
{
	const char *p = s;
	bool		neg = false;
	uint64		acc = 0;

	if (*p == '+' || *p == '-')
		neg = (*p++ == '-');
	if (*p == '\0')
		return false;
	for (; *p; p++)
	{
		if (*p < '0' || *p > '9')
			return false;
		if (acc > (PG_UINT64_MAX - (*p - '0')) / 10)
			return false;
		acc = acc * 10 + (*p - '0');
	}
	if (neg)
	{
		if (acc > (uint64) PG_INT64_MAX + 1)
			return false;
		*out = (acc == (uint64) PG_INT64_MAX + 1) ? PG_INT64_MIN : -(int64) acc;
	}
	else
	{
		if (acc > (uint64) PG_INT64_MAX)
			return false;
		*out = (int64) acc;
	}
	return true;
}

/*
 * VsParseValue parses a value by OpenTSDB's rule: no '.', 'e' or 'E' means
 * an int64, anything else a finite double.  Returns an error string or NULL.
 */
const char *
VsParseValue(const char *s, bool *is_int, int64 *ivalue, double *value)
{
	if (strpbrk(s, ".eE") == NULL)
	{
		*is_int = true;
		if (!ParseLong(s, ivalue))
			return "Unable to parse value to a number";
		return NULL;
	}
	else
	{
		char	   *end;
		const char *p = s;

		*is_int = false;
		/* decimal only: no hex floats, no inf/nan spelled out */
		if (*p == '+' || *p == '-')
			p++;
		if (!(isdigit((unsigned char) *p) || (*p == '.' && isdigit((unsigned char) p[1]))))
			return "Unable to parse value to a number";
		errno = 0;
		*value = strtod(s, &end);
		if (*end != '\0' || isinf(*value) || isnan(*value) ||
			(p[0] == '0' && (p[1] == 'x' || p[1] == 'X')))
			return "Unable to parse value to a number";
		return NULL;
	}
}

/*
 * IsLetter tells whether a code point is a letter (Java's Character.isLetter)
 * using the C library's Unicode tables.
 */
static bool
IsLetter(pg_wchar c)
{
	static locale_t utf8_locale = (locale_t) 0;

	if (utf8_locale == (locale_t) 0)
		utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
	if (utf8_locale == (locale_t) 0)
		return false;
	return iswalpha_l((wint_t) c, utf8_locale) != 0;
}

/*
 * VsCheckName validates a metric, tag key or tag value as OpenTSDB's
 * Tags.validateString does; returns an error string or NULL.  The error
 * names the string as "<what>", or "<what> [<ctx>]" with ctx, and is only
 * built when there is an error (this runs for every name of every point).
 */
char *
VsCheckName(const char *what, const char *ctx, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	if (s == NULL)
		return ctx ? psprintf("Invalid %s [%s]: null", what, ctx)
			: psprintf("Invalid %s: null", what);
	if (*s == '\0')
		return ctx ? psprintf("Invalid %s [%s]: empty string", what, ctx)
			: psprintf("Invalid %s: empty string", what);
	while (*p)
	{
		unsigned char c = *p;
		int			l = 1;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '/')
		{
			p++;
			continue;
		}
		if (c >= 0x80)
		{
			/*
			 * The database is UTF-8 (the install script insists), so text
			 * here is valid UTF-8 and a lead byte never promises bytes past
			 * the terminator; pg_utf8_islegal is a second line of defence.
			 */
			l = pg_utf_mblen(p);
			if (l > 1 && pg_utf8_islegal(p, l) && IsLetter(utf8_to_unicode(p)))
			{
				p += l;
				continue;
			}
		}
		/* OpenTSDB: Invalid <what> ("<s>"): illegal character: <c> */
		return psprintf("Invalid %s%s%s%s (\"%s\"): illegal character: %.*s",
						what, ctx ? " [" : "", ctx ? ctx : "", ctx ? "]" : "",
						s, l, (const char *) p);
	}
	return NULL;
}

/*
 * SeriesKeyLength is the length of the canonical identity metric{k=v,...}
 * (series.c builds it), to refuse a point whose series could not be stored.
 */
static size_t
SeriesKeyLength(const char *metric, const VsTag *tags, int ntags)
{
	size_t		len = strlen(metric) + 2;

	for (int i = 0; i < ntags; i++)
		len += strlen(tags[i].key) + strlen(tags[i].value) + 2;
	return len;
}

/*
 * VsUnixMsToTimestamp converts Unix milliseconds to a timestamptz.
 */
TimestampTz
VsUnixMsToTimestamp(int64 ms)
{
	return ms * 1000 -
		((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC);
}

/*
 * VsValidatePoint checks one raw point and fills *good.  Returns NULL or
 * OpenTSDB's error string for the point.
 */
const char *
VsValidatePoint(VsRawPoint *raw, VsGoodPoint *good, TimestampTz oldest)
{
	size_t		keylen;
	int64		ts = 0;
	const char *err;
	char	   *e;

	if (raw->is_null)
		return "Unexpected null datapoint encountered in set.";
	if (raw->metric_state != VS_FIELD_SCALAR || raw->metric[0] == '\0')
		return "Metric name was empty";

	/* timestamp: an integer (number or numeric string), seconds or ms */
	if (raw->ts_state == VS_FIELD_SCALAR && !ParseLong(raw->ts, &ts))
		return "Invalid timestamp";
	if (ts <= 0 || ts > INT64CONST(9999999999999))
		return "Invalid timestamp";
	if (ts <= INT64CONST(9999999999))
		ts *= 1000;

	if (raw->value_state == VS_FIELD_NULL || raw->value_state == VS_FIELD_ABSENT ||
		(raw->value_state == VS_FIELD_SCALAR && raw->value[0] == '\0'))
		return "Empty value";
	if (raw->tags_state != VS_FIELD_SCALAR || raw->ntags == 0)
		return raw->tags_state == VS_FIELD_CONTAINER || raw->tags_bad
			? "Invalid tags: expected an object of tag names and values"
			: "Missing tags";
	if (raw->tags_bad)
		return "Invalid tags: expected an object of tag names and values";

	if (raw->value_state != VS_FIELD_SCALAR || raw->value_type == JSON_TOKEN_TRUE ||
		raw->value_type == JSON_TOKEN_FALSE)
		return "Unable to parse value to a number";
	err = VsParseValue(raw->value, &good->is_int, &good->ivalue, &good->value);
	if (err)
		return err;

	good->ntags = VsSortTags(raw->tags, raw->ntags);
	good->tags = raw->tags;
	if (good->ntags > vs_max_tags)
		return psprintf("Too many tags: %d maximum allowed: %d", good->ntags, vs_max_tags);
	if ((e = VsCheckName("metric name", NULL, raw->metric)) != NULL)
		return e;
	for (int i = 0; i < good->ntags; i++)
	{
		VsTag	   *t = &good->tags[i];

		if ((e = VsCheckName("tag name with value", t->value ? t->value : "null", t->key)) != NULL)
			return e;
		if ((e = VsCheckName("tag value with key", t->key, t->value)) != NULL)
			return e;
	}

	keylen = SeriesKeyLength(raw->metric, good->tags, good->ntags);
	if (keylen > VS_MAX_SERIES_KEY)
		return psprintf("Series identity is too long: %zu bytes for the metric and tags, at most %d",
						keylen, VS_MAX_SERIES_KEY);

	good->ts = VsUnixMsToTimestamp(ts);
	if (good->ts < oldest)
		return "Timestamp is older than the retention period (vscope.retention)";
	if (good->ts > GetCurrentTransactionStartTimestamp() +
		(int64) vs_max_future_secs * USECS_PER_SEC)
		return psprintf("Timestamp is more than %d seconds in the future", vs_max_future_secs);
	if ((err = VsDayNotWritable(good->ts)) != NULL)
		return err;
	good->metric = raw->metric;
	return NULL;
}

/*
 * VsAppendRawPointJson writes a point back as OpenTSDB shows it in the
 * "details" of a put: metric, timestamp, value (a string) and tags.
 */
void
VsAppendRawPointJson(StringInfo buf, const VsRawPoint *raw)
{
	if (raw->is_null)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	appendStringInfoString(buf, "{\"metric\":");
	if (raw->metric_state == VS_FIELD_SCALAR)
		escape_json(buf, raw->metric);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ",\"timestamp\":");
	{
		int64		ts;

		if (raw->ts_state == VS_FIELD_SCALAR && ParseLong(raw->ts, &ts))
			appendStringInfo(buf, INT64_FORMAT, ts);
		else
			appendStringInfoString(buf, "0");
	}
	appendStringInfoString(buf, ",\"value\":");
	if (raw->value_state == VS_FIELD_SCALAR)
		escape_json(buf, raw->value);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ",\"tags\":");
	if (raw->tags_state == VS_FIELD_SCALAR)
	{
		appendStringInfoChar(buf, '{');
		for (int i = 0; i < raw->ntags; i++)
		{
			if (i > 0)
				appendStringInfoChar(buf, ',');
			escape_json(buf, raw->tags[i].key);
			appendStringInfoChar(buf, ':');
			if (raw->tags[i].value)
				escape_json(buf, raw->tags[i].value);
			else
				appendStringInfoString(buf, "null");
		}
		appendStringInfoChar(buf, '}');
	}
	else
		appendStringInfoString(buf, "null");
	appendStringInfoChar(buf, '}');
}

/*
 * VsParseLine parses one telnet line, "put <metric> <timestamp> <value>
 * <tagk=tagv> ...", the way OpenTSDB's importDataPoint does (words may be
 * separated by runs of spaces or tabs: collectd writes "a=b  c=d").  The
 * strings in *good point into line, which is modified.  Returns NULL or
 * the error line OpenTSDB would send back (without the newline).
 */
const char *
VsParseLine(char *line, VsGoodPoint *good, TimestampTz oldest)
{
	char	   *words[64];
	int			nwords = 0;
	char	   *p = line;
	int64		ts;
	char	   *tsword;
	const char *err;
	char	   *e;
	VsTag	   *tags;
	int			ntags = 0;

	while (*p)
	{
		while (*p == ' ' || *p == '\t' || *p == '\r')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (nwords == lengthof(words))
			return psprintf("put: illegal argument: Too many tags: more than %d words", (int) lengthof(words) - 4);
		words[nwords++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
	}
	if (nwords < 5)
		return psprintf("put: illegal argument: not enough arguments (need least 4, got %d)",
						Max(nwords - 1, 0));

	/* timestamp: seconds, ms, or sec.ms with the dot removed (in a copy) */
	tsword = pstrdup(words[2]);
	if (strchr(tsword, '.') != NULL)
	{
		char	   *q = tsword;
		char	   *w = tsword;

		for (; *q; q++)
			if (*q != '.')
				*w++ = *q;
		*w = '\0';
	}
	if (!ParseLong(tsword, &ts))
		return psprintf("put: invalid value: Invalid timestamp: %s", words[2]);
	if (ts <= 0 || ts > INT64CONST(9999999999999))
		return psprintf("put: illegal argument: invalid timestamp: " INT64_FORMAT, ts);
	if (ts <= INT64CONST(9999999999))
		ts *= 1000;


	/* tags */
	tags = palloc(sizeof(VsTag) * (nwords - 4));
	for (int i = 4; i < nwords; i++)
	{
		char	   *eq = strchr(words[i], '=');

		if (eq == NULL || eq == words[i] || eq[1] == '\0' || strchr(eq + 1, '=') != NULL)
			return psprintf("put: illegal argument: invalid tag: %s", words[i]);
		*eq = '\0';
		for (int k = 0; k < ntags; k++)
			if (strcmp(tags[k].key, words[i]) == 0 && strcmp(tags[k].value, eq + 1) != 0)
				return psprintf("put: illegal argument: duplicate tag: %s=%s", words[i], eq + 1);
		tags[ntags].key = words[i];
		tags[ntags].value = eq + 1;
		tags[ntags].ord = ntags;
		ntags++;
	}
	/* the value, after the tags (OpenTSDB's importDataPoint order) */
	err = VsParseValue(words[3], &good->is_int, &good->ivalue, &good->value);
	if (err != NULL)
		return psprintf("put: invalid value: For input string: \"%s\"", words[3]);

	good->ntags = VsSortTags(tags, ntags);
	good->tags = tags;
	if (good->ntags > vs_max_tags)
		return psprintf("put: illegal argument: Too many tags: %d maximum allowed: %d",
						good->ntags, vs_max_tags);
	if ((e = VsCheckName("metric name", NULL, words[1])) != NULL)
		return psprintf("put: illegal argument: %s", e);
	for (int i = 0; i < good->ntags; i++)
	{
		if ((e = VsCheckName("tag name with value", good->tags[i].value, good->tags[i].key)) != NULL ||
			(e = VsCheckName("tag value with key", good->tags[i].key, good->tags[i].value)) != NULL)
			return psprintf("put: illegal argument: %s", e);
	}
	if (SeriesKeyLength(words[1], good->tags, good->ntags) > VS_MAX_SERIES_KEY)
		return psprintf("put: illegal argument: Series identity is too long: %zu bytes, at most %d",
						SeriesKeyLength(words[1], good->tags, good->ntags), VS_MAX_SERIES_KEY);
	good->ts = VsUnixMsToTimestamp(ts);
	if (good->ts < oldest)
		return "put: illegal argument: Timestamp is older than the retention period (vscope.retention)";
	if (good->ts > GetCurrentTransactionStartTimestamp() + (int64) vs_max_future_secs * USECS_PER_SEC)
		return psprintf("put: illegal argument: Timestamp is more than %d seconds in the future",
						vs_max_future_secs);
	if ((err = VsDayNotWritable(good->ts)) != NULL)
		return psprintf("put: illegal argument: %s", err);
	good->metric = words[1];
	return NULL;
}
