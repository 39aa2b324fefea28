/*-------------------------------------------------------------------------
 *
 * format.c
 *	  The answers of /api/v0/fetch and /api/v0/find in Warp 10's forms, as
 *	  EgressFetchHandler and EgressFindHandler write them:
 *	  - text: TS// CLASS{LABELS} VALUE for a series' first point, then
 *	    =TS// VALUE for each next one; fulltext: the whole line each time;
 *	  - json: [{"c","l","a","i","la","v":[[ts,value],...]},...];
 *	  - tsv: "# CLASS{LABELS}{}" then TS<tab><tab><tab><tab>VALUE; fulltsv:
 *	    CLASS, LABELS, ATTRIBUTES, TS, lat, lon, elevation, VALUE by tabs.
 *	  Names are percent-encoded in the text forms and plain in JSON; LONG
 *	  values print as integers, DOUBLE ones as Java's Double.toString.
 *	  With dedup, a point whose value equals that of the point just before it
 *	  (a LONG never equals a DOUBLE) is left out, except a series' last.
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warp10.h"

/* AppendJsonString writes s as Jackson does: short escapes, \u00XX in upper case */
static void
AppendJsonString(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '"');
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '"':
				appendStringInfoString(buf, "\\\"");
				break;
			case '\\':
				appendStringInfoString(buf, "\\\\");
				break;
			case '\b':
				appendStringInfoString(buf, "\\b");
				break;
			case '\f':
				appendStringInfoString(buf, "\\f");
				break;
			case '\n':
				appendStringInfoString(buf, "\\n");
				break;
			case '\r':
				appendStringInfoString(buf, "\\r");
				break;
			case '\t':
				appendStringInfoString(buf, "\\t");
				break;
			default:
				if (*p < 0x20)
					appendStringInfo(buf, "\\u%04X", *p);
				else
					appendStringInfoChar(buf, (char) *p);
		}
	}
	appendStringInfoChar(buf, '"');
}

/* w10_append_name writes CLASS{k=v,...}, every part percent-encoded */
void
w10_append_name(StringInfo buf, const W10Gts *g)
{
	w10_append_encoded(buf, g->cls);
	appendStringInfoChar(buf, '{');
	for (int i = 0; i < g->nlabels; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		w10_append_encoded(buf, g->keys[i]);
		appendStringInfoChar(buf, '=');
		w10_append_encoded(buf, g->values[i]);
	}
	appendStringInfoChar(buf, '}');
}

static void
AppendValue(StringInfo buf, const W10Gts *g, int i)
{
	if (g->is_int[i])
		appendStringInfo(buf, INT64_FORMAT, g->lvalues[i]);
	else
		w10_append_double(buf, g->dvalues[i]);
}

/* SameValue: Java's Number.equals (a Long and a Double never are; doubles by bits) */
static bool
SameValue(const W10Gts *g, int i, int j)
{
	if (g->is_int[i] != g->is_int[j])
		return false;
	if (g->is_int[i])
		return g->lvalues[i] == g->lvalues[j];
	return memcmp(&g->dvalues[i], &g->dvalues[j], sizeof(double)) == 0;
}

/* Shown: which points are written (all, or dedup's choice) */
static bool *
Shown(const W10Gts *g, bool dedup)
{
	bool	   *show = palloc(sizeof(bool) * Max(g->n, 1));

	for (int i = 0; i < g->n; i++)
		show[i] = !dedup || i == 0 || i == g->n - 1 || !SameValue(g, i, i - 1);
	return show;
}

/* the labels k=v,k=v encoded, without braces (tsv) */
static void
AppendLabelList(StringInfo buf, const W10Gts *g)
{
	for (int i = 0; i < g->nlabels; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		w10_append_encoded(buf, g->keys[i]);
		appendStringInfoChar(buf, '=');
		w10_append_encoded(buf, g->values[i]);
	}
}

static void
AppendJsonLabels(StringInfo buf, const W10Gts *g)
{
	appendStringInfoChar(buf, '{');
	for (int i = 0; i < g->nlabels; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		AppendJsonString(buf, g->keys[i]);
		appendStringInfoChar(buf, ':');
		AppendJsonString(buf, g->values[i]);
	}
	appendStringInfoChar(buf, '}');
}

/*
 * w10_format_fetch writes the series and their points (as w10_fetch gives
 * them) in a fetch format; showattr adds the (empty) attributes to the
 * text forms' names.
 */
void
w10_format_fetch(StringInfo out, const W10Gts *gts, int ngts, W10Format format,
				 bool dedup, bool showattr)
{
	StringInfoData name;

	initStringInfo(&name);
	if (format == W10_JSON)
		appendStringInfoChar(out, '[');
	for (int s = 0; s < ngts; s++)
	{
		const W10Gts *g = &gts[s];
		bool	   *show = Shown(g, dedup);
		bool		first = true;

		resetStringInfo(&name);
		switch (format)
		{
			case W10_TEXT:
			case W10_FULLTEXT:
				w10_append_name(&name, g);
				if (showattr)
					appendStringInfoString(&name, "{}");
				for (int i = 0; i < g->n; i++)
				{
					if (!show[i])
						continue;
					if (first || format == W10_FULLTEXT)
						appendStringInfo(out, INT64_FORMAT "// %s ", g->ticks[i], name.data);
					else
						appendStringInfo(out, "=" INT64_FORMAT "// ", g->ticks[i]);
					AppendValue(out, g, i);
					appendStringInfoChar(out, '\n');
					first = false;
				}
				break;
			case W10_TSV:
				appendStringInfoString(out, "# ");
				w10_append_name(out, g);
				appendStringInfoString(out, "{}\n");
				for (int i = 0; i < g->n; i++)
				{
					if (!show[i])
						continue;
					appendStringInfo(out, INT64_FORMAT "\t\t\t\t", g->ticks[i]);
					AppendValue(out, g, i);
					appendStringInfoChar(out, '\n');
				}
				break;
			case W10_FULLTSV:
				w10_append_encoded(&name, g->cls);
				appendStringInfoChar(&name, '\t');
				AppendLabelList(&name, g);
				appendStringInfoString(&name, "\t\t");
				for (int i = 0; i < g->n; i++)
				{
					if (!show[i])
						continue;
					appendStringInfo(out, "%s" INT64_FORMAT "\t\t\t\t", name.data, g->ticks[i]);
					AppendValue(out, g, i);
					appendStringInfoChar(out, '\n');
				}
				break;
			case W10_JSON:
				if (s > 0)
					appendStringInfoChar(out, ',');
				appendStringInfoString(out, "{\"c\":");
				AppendJsonString(out, g->cls);
				appendStringInfoString(out, ",\"l\":");
				AppendJsonLabels(out, g);
				/* the series id: unique in the answer, the same in the next */
				appendStringInfo(out, ",\"a\":{},\"i\":\"%d\",\"la\":0,\"v\":[", g->series_id);
				for (int i = 0; i < g->n; i++)
				{
					if (!show[i])
						continue;
					if (!first)
						appendStringInfoChar(out, ',');
					appendStringInfo(out, "[" INT64_FORMAT ",", g->ticks[i]);
					AppendValue(out, g, i);
					appendStringInfoChar(out, ']');
					first = false;
				}
				appendStringInfoString(out, "]}");
				break;
		}
		pfree(show);
	}
	if (format == W10_JSON)
		appendStringInfoChar(out, ']');
	pfree(name.data);
}

/*
 * w10_format_find writes series as /api/v0/find does: CLASS{LABELS} a line
 * (with {} for the attributes when showattr), or a JSON array of
 * {"c","l","a","la"} one a line.
 */
void
w10_format_find(StringInfo out, const W10Gts *gts, int ngts, bool json, bool showattr)
{
	if (json)
		appendStringInfoString(out, "[\n");
	for (int s = 0; s < ngts; s++)
	{
		const W10Gts *g = &gts[s];

		if (json)
		{
			if (s > 0)
				appendStringInfoString(out, ",\n");
			appendStringInfoString(out, "{\"c\":");
			AppendJsonString(out, g->cls);
			appendStringInfoString(out, ",\"l\":");
			AppendJsonLabels(out, g);
			appendStringInfoString(out, ",\"a\":{},\"la\":0}");
			continue;
		}
		w10_append_name(out, g);
		if (showattr)
			appendStringInfoString(out, "{}");
		appendStringInfoChar(out, '\n');
	}
	if (json)
		appendStringInfoString(out, "\n]\n");
}
