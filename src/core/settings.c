/*
 * settings.c
 *	  What the OpenTSDB maintenance endpoints ask of the backend:
 *	  vscope.settings(), the vscope.* settings that shape what the API
 *	  accepts and answers (/api/config), and vscope.drop_caches(), which
 *	  empties every backend's series cache and known-days set
 *	  (/api/dropcaches).
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/json.h"

#include "core/vscope.h"

/* the settings /api/config shows: limits and retention, nothing secret */
static const char *const shown_settings[] = {	/* in name order */
	"vscope.compress_after",
	"vscope.max_buckets",
	"vscope.max_future",
	"vscope.max_new_partitions",
	"vscope.max_past",
	"vscope.max_points",
	"vscope.max_put_points",
	"vscope.max_series",
	"vscope.max_tags",
	"vscope.query_allow_delete",
	"vscope.retention",
	"vscope.use_summaries",
};

VS_FUNCTION_INFO_V1(vscope_settings);

/*
 * vscope_settings returns {"vscope.max_put_points": "50000", ...}: each
 * value as SHOW prints it, with its unit, as text (OpenTSDB's config
 * values are strings).
 */
Datum
vscope_settings(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (size_t i = 0; i < lengthof(shown_settings); i++)
	{
		const char *v = GetConfigOption(shown_settings[i], true, false);

		if (v == NULL)
			continue;
		if (buf.len > 1)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, shown_settings[i]);
		appendStringInfoString(&buf, ": ");
		escape_json(&buf, v);
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

VS_FUNCTION_INFO_V1(vscope_drop_caches);

/*
 * vscope_drop_caches invalidates the relation cache entries of vscope.series
 * and vscope.points.  The invalidation goes to every backend at commit (to
 * this one too): each empties its series cache (series.c) and its set of
 * days known to have a partition (partition.c), whose callbacks listen for
 * exactly these relations, and rebuilds them from the tables on next use.
 */
Datum
vscope_drop_caches(PG_FUNCTION_ARGS)
{
	const char *const rels[] = {"series", "points"};

	for (size_t i = 0; i < lengthof(rels); i++)
	{
		Oid			relid = RangeVarGetRelid(makeRangeVar("vscope", (char *) rels[i], -1),
											 AccessShareLock, false);

		CacheInvalidateRelcacheByRelid(relid);
	}
	PG_RETURN_VOID();
}
