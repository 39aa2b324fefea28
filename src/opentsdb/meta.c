/*-------------------------------------------------------------------------
 *
 * meta.c
 *	  What the OpenTSDB meta data endpoints (/api/uid/assign, uidmeta,
 *	  tsmeta, in sql/opentsdb.sql) and the annotation functions need from
 *	  C, where SQL would have to guess OpenTSDB's rules:
 *	  - vscope._tsdb_check_name(what, name): OpenTSDB's name validation
 *		(Tags.validateString), the very check every put makes, as its
 *		error text or NULL;
 *	  - vscope._java_double(v): a double as Java's Double.toString writes
 *		it (Jackson writes TSMeta's max and min so; NaN as "NaN");
 *	  - vscope._tsdb_time_ms(t, tz, is_end): an OpenTSDB time (seconds,
 *		milliseconds, "1h-ago", "2013/01/01 00:00") in Unix ms, as
 *		/api/query parses start and end.
 *
 *-------------------------------------------------------------------------
 */
#include "opentsdb/opentsdb.h"

#include <math.h>

#include "utils/builtins.h"

#include "store/store.h"

VS_FUNCTION_INFO_V1(vscope_tsdb_check_name);

/* vscope_tsdb_check_name returns OpenTSDB's error for a bad name, or NULL */
Datum
vscope_tsdb_check_name(PG_FUNCTION_ARGS)
{
	char	   *name = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *err;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	err = VsCheckName(text_to_cstring(PG_GETARG_TEXT_PP(0)), NULL, name);

	if (err == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(err));
}

VS_FUNCTION_INFO_V1(vscope_java_double);

/*
 * vscope_java_double writes a double as Java's Double.toString does
 * (100.0, 1.0E-4); NaN and the infinities as Java spells them
 */
Datum
vscope_java_double(PG_FUNCTION_ARGS)
{
	double		d = PG_GETARG_FLOAT8(0);
	StringInfoData buf;

	if (isnan(d))
		PG_RETURN_TEXT_P(cstring_to_text("NaN"));
	if (isinf(d))
		PG_RETURN_TEXT_P(cstring_to_text(d > 0 ? "Infinity" : "-Infinity"));
	initStringInfo(&buf);
	ts_append_double(&buf, d);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

VS_FUNCTION_INFO_V1(vscope_tsdb_time_ms);

/*
 * vscope_tsdb_time_ms parses an OpenTSDB time into Unix milliseconds, in
 * the zone given (the session's when NULL); is_end rounds an absolute date
 * the way an end time is (OpenTSDB's end of the given second or minute)
 */
Datum
vscope_tsdb_time_ms(PG_FUNCTION_ARGS)
{
	char	   *t;
	char	   *tz = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		is_end = PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2);

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	t = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PG_RETURN_INT64(ts_parse_time(t, tz, is_end));
}
