/*-------------------------------------------------------------------------
 *
 * filter.c
 *	  OpenTSDB's tag value filters: literal_or, iliteral_or, not_literal_or,
 *	  not_iliteral_or (|-separated literals), wildcard and iwildcard (globs
 *	  with *), regexp (PostgreSQL's regular expressions, matched anywhere in
 *	  the value like Java's find()), and not_key; and the conversion of the
 *	  legacy "tags" map (and GET's braces) into filters.
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/opentsdb.h"

#include "catalog/pg_collation.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#include "utils/json.h"

static const char *const type_names[] = {
	"literal_or", "iliteral_or", "not_literal_or", "not_iliteral_or",
	"wildcard", "iwildcard", "regexp", "not_key"
};

/* what /api/config/filters says of each type, in type_names' order */
static const char *const type_help[][2] = {
	{"host=literal_or(web01|web02)  {\"type\":\"literal_or\",\"tagk\":\"host\",\"filter\":\"web01|web02\",\"groupBy\":false}",
	"Keeps the series whose tag value is one of the |-separated values, compared exactly."},
	{"host=iliteral_or(Web01|web02)  {\"type\":\"iliteral_or\",\"tagk\":\"host\",\"filter\":\"Web01|web02\",\"groupBy\":false}",
	"Keeps the series whose tag value is one of the |-separated values, ignoring case."},
	{"host=not_literal_or(web01|web02)  {\"type\":\"not_literal_or\",\"tagk\":\"host\",\"filter\":\"web01|web02\",\"groupBy\":false}",
	"Keeps the series that have the tag with a value other than the |-separated values, compared exactly."},
	{"host=not_iliteral_or(Web01|web02)  {\"type\":\"not_iliteral_or\",\"tagk\":\"host\",\"filter\":\"Web01|web02\",\"groupBy\":false}",
	"Keeps the series that have the tag with a value other than the |-separated values, ignoring case."},
	{"host=wildcard(web*)  host=wildcard(*.example.com)  {\"type\":\"wildcard\",\"tagk\":\"host\",\"filter\":\"web*\",\"groupBy\":false}",
	"Keeps the series whose tag value matches the pattern, * standing for any characters; exact case."},
	{"host=iwildcard(Web*)  {\"type\":\"iwildcard\",\"tagk\":\"host\",\"filter\":\"Web*\",\"groupBy\":false}",
	"Keeps the series whose tag value matches the pattern, * standing for any characters; ignoring case."},
	{"host=regexp(web[0-9]+)  {\"type\":\"regexp\",\"tagk\":\"host\",\"filter\":\"web[0-9]+\",\"groupBy\":false}",
	"Keeps the series whose tag value contains a match of the regular expression (anchor it with ^ and $ to match the whole value)."},
	{"host=not_key()  {\"type\":\"not_key\",\"tagk\":\"host\",\"filter\":\"\",\"groupBy\":false}",
	"Keeps the series that do not have the tag at all."},
};

/*
 * ts_filter_types appends the /api/config/filters answer: each filter type
 * with examples and a description.
 */
void
ts_filter_types(StringInfo buf)
{
	StaticAssertStmt(lengthof(type_help) == lengthof(type_names), "one help per filter type");
	appendStringInfoChar(buf, '{');
	for (int i = 0; i < (int) lengthof(type_names); i++)
	{
		appendStringInfo(buf, "%s\"%s\":{\"examples\":", i ? "," : "", type_names[i]);
		escape_json(buf, type_help[i][0]);
		appendStringInfoString(buf, ",\"description\":");
		escape_json(buf, type_help[i][1]);
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, '}');
}

/* ts_filter_type maps a type name (case-insensitive) to its type, or -1 */
TsFilterType
ts_filter_type(const char *name)
{
	for (int i = 0; i < (int) lengthof(type_names); i++)
		if (pg_strcasecmp(name, type_names[i]) == 0)
			return (TsFilterType) i;
	return (TsFilterType) -1;
}

const char *
ts_filter_type_name(TsFilterType t)
{
	return type_names[t];
}

static void BadFilter(const TsFilter *f, const char *why) pg_attribute_noreturn();

static void
BadFilter(const TsFilter *f, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_VS_BAD_REQUEST),
			 errmsg("invalid %s filter on \"%s\": %s", ts_filter_type_name(f->type), f->tagk, why)));
}

/*
 * ts_filter_prepare checks a filter and readies it for matching: splits
 * literals, compiles a regexp.
 */
void
ts_filter_prepare(TsFilter *f)
{
	switch (f->type)
	{
		case TF_LITERAL_OR:
		case TF_ILITERAL_OR:
		case TF_NOT_LITERAL_OR:
		case TF_NOT_ILITERAL_OR:
			{
				char	   *copy = pstrdup(f->filter);
				char	   *p = copy;
				int			cap = 4;

				if (f->filter[0] == '\0')
					BadFilter(f, "the filter is empty");
				f->literals = palloc(sizeof(char *) * cap);
				f->nliterals = 0;
				for (;;)
				{
					char	   *bar = strchr(p, '|');

					if (bar)
						*bar = '\0';
					if (f->nliterals == cap)
					{
						cap *= 2;
						f->literals = repalloc(f->literals, sizeof(char *) * cap);
					}
					f->literals[f->nliterals++] = p;
					if (!bar)
						break;
					p = bar + 1;
				}
				break;
			}
		case TF_WILDCARD:
		case TF_IWILDCARD:
			if (strchr(f->filter, '*') == NULL)
				BadFilter(f, "a wildcard filter needs at least one *");
			break;
		case TF_REGEXP:
			if (f->filter[0] == '\0')
				BadFilter(f, "the expression is empty");
			/*
			 * compiled now, so a bad pattern fails the request up front; the
			 * compiled form stays only in PostgreSQL's regex cache, whose
			 * slots move, so no pointer to it is kept (matching compiles
			 * through the cache again)
			 */
			(void) RE_compile_and_cache(cstring_to_text(f->filter), REG_ADVANCED,
										C_COLLATION_OID);
			break;
		case TF_NOT_KEY:
			if (f->filter[0] != '\0')
				BadFilter(f, "not_key takes no filter expression");
			break;
	}
}

/* Glob: * matches any run, everything else itself; case folding optional */
static bool
Glob(const char *pat, const char *s, bool icase)
{
	const char *star = NULL;
	const char *mark = NULL;

	while (*s)
	{
		if (*pat == '*')
		{
			star = pat++;
			mark = s;
		}
		else if (*pat && (icase ? pg_tolower((unsigned char) *pat) == pg_tolower((unsigned char) *s)
						  : *pat == *s))
		{
			pat++;
			s++;
		}
		else if (star)
		{
			pat = star + 1;
			s = ++mark;
		}
		else
			return false;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

/*
 * ts_filter_match tells whether a tag value passes the filter (the caller
 * has checked that the series has the key; not_key is decided there).
 */
bool
ts_filter_match(const TsFilter *f, const char *value)
{
	switch (f->type)
	{
		case TF_LITERAL_OR:
		case TF_NOT_LITERAL_OR:
			for (int i = 0; i < f->nliterals; i++)
				if (strcmp(f->literals[i], value) == 0)
					return f->type == TF_LITERAL_OR;
			return f->type == TF_NOT_LITERAL_OR;
		case TF_ILITERAL_OR:
		case TF_NOT_ILITERAL_OR:
			for (int i = 0; i < f->nliterals; i++)
				if (pg_strcasecmp(f->literals[i], value) == 0)
					return f->type == TF_ILITERAL_OR;
			return f->type == TF_NOT_ILITERAL_OR;
		case TF_WILDCARD:
			return Glob(f->filter, value, false);
		case TF_IWILDCARD:
			return Glob(f->filter, value, true);
		case TF_REGEXP:
			return RE_compile_and_execute(cstring_to_text(f->filter), (char *) value,
										  strlen(value), REG_ADVANCED, C_COLLATION_OID,
										  0, NULL);
		case TF_NOT_KEY:
			return false;
	}
	return false;
}

/*
 * ts_tag_to_filter turns a legacy tag value into a filter: "*" or a value
 * with * is a wildcard, "type(expr)" that type, anything else literal_or
 * (so a|b matches either, one group per value).
 */
void
ts_tag_to_filter(const char *tagk, const char *value, bool group_by, TsFilter *f)
{
	const char *paren = strchr(value, '(');
	int			len = strlen(value);

	memset(f, 0, sizeof(*f));
	f->tagk = pstrdup(tagk);
	f->group_by = group_by;
	if (paren != NULL && len > 0 && value[len - 1] == ')')
	{
		char	   *name = pnstrdup(value, paren - value);
		int			t = (int) ts_filter_type(name);

		if (t < 0)
			ereport(ERROR,
					(errcode(ERRCODE_VS_BAD_REQUEST),
					 errmsg("could not find a filter of the type: %s", name)));
		f->type = (TsFilterType) t;
		f->filter = pnstrdup(paren + 1, len - (paren - value) - 2);
	}
	else if (strchr(value, '*') != NULL)
	{
		f->type = TF_WILDCARD;
		f->filter = pstrdup(value);
	}
	else
	{
		f->type = TF_LITERAL_OR;
		f->filter = pstrdup(value);
	}
	ts_filter_prepare(f);
}
