/*-------------------------------------------------------------------------
 *
 * publish.c
 *	  What Ceilometer's publishers send, read as JSON.
 *
 *	  Ceilometer serializes with Python's json module, which writes the
 *	  non-finite floats as the bare words NaN, Infinity and -Infinity: not
 *	  JSON, so PostgreSQL's parser would refuse the whole body for one such
 *	  value.  vscope._ceilo_publish_json() reads a body where those words
 *	  (outside strings) stand for {"vscope:nonfinite": "NaN"} (or
 *	  "Infinity", "-Infinity"), so that the one sample or event holding it
 *	  is refused (see vscope.ceilometer_publish_samples()) and the rest of
 *	  the body is stored.
 *
 *-------------------------------------------------------------------------
 */
#include "ceilometer/ceilometer.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#define NONFINITE_KEY "vscope:nonfinite"

/*
 * NonfiniteWord tells whether p (outside a string) starts one of the words
 * Python's json writes for a non-finite float, and which: its length, or 0.
 */
static int
NonfiniteWord(const char *p, const char *end, const char **word)
{
	static const char *const words[] = {"NaN", "Infinity", "-Infinity"};

	for (int i = 0; i < 3; i++)
	{
		size_t		n = strlen(words[i]);

		if ((size_t) (end - p) >= n && memcmp(p, words[i], n) == 0)
		{
			*word = words[i];
			return (int) n;
		}
	}
	return 0;
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_publish_json);

/*
 * vscope_ceilometer_publish_json parses a publisher's body as jsonb, the
 * words NaN, Infinity and -Infinity outside strings read as
 * {"vscope:nonfinite": "<word>"}; anything else that is not JSON is the
 * usual error of jsonb's input function.
 */
Datum
vscope_ceilometer_publish_json(PG_FUNCTION_ARGS)
{
	text	   *body = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(body);
	const char *end = s + VARSIZE_ANY_EXHDR(body);
	const char *copied = s;		/* what is in out already: up to here */
	StringInfoData out;
	bool		in_string = false;
	bool		rewritten = false;

	initStringInfo(&out);
	for (const char *p = s; p < end; p++)
	{
		const char *word;
		int			n;

		if (in_string)
		{
			if (*p == '\\')
				p++;			/* the escaped character, whatever it is */
			else if (*p == '"')
				in_string = false;
			continue;
		}
		if (*p == '"')
		{
			in_string = true;
			continue;
		}
		if ((*p == 'N' || *p == 'I' || *p == '-') && (n = NonfiniteWord(p, end, &word)) > 0)
		{
			appendBinaryStringInfo(&out, copied, p - copied);
			appendStringInfo(&out, "{\"%s\": \"%s\"}", NONFINITE_KEY, word);
			p += n - 1;
			copied = p + 1;
			rewritten = true;
		}
	}
	if (!rewritten)
	{
		pfree(out.data);
		PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(text_to_cstring(body))));
	}
	appendBinaryStringInfo(&out, copied, end - copied);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}
