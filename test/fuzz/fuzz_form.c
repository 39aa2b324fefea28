/*
 * fuzz_form.c
 *	  Warp 10's form-encoded bodies (src/daemon/api_warp10.c: collect_form
 *	  and form_decode, percent-escapes and '+'): the input is the body of a
 *	  POST with Content-Type application/x-www-form-urlencoded.  Every key
 *	  taken is a non-empty C string no longer than its encoded form, and
 *	  the parameters already there (the query string's) are kept.
 */
#define req_header fuzz_req_header
#define req_body fuzz_req_body
#include "../../src/daemon/api_warp10.c"

#include <assert.h>

#include "fuzz_common.h"

static const uint8_t *fz_data;
static size_t fz_size;

const char *
fuzz_req_header(VsRequest *r, const char *name)
{
	return strcasecmp(name, "Content-Type") == 0 ? "application/x-www-form-urlencoded; charset=UTF-8" : NULL;
}

const char *
fuzz_req_body(VsRequest *r, size_t *len)
{
	*len = fz_size;
	return (const char *) fz_data;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *args = json_object_new_object();
	json_object *v;
	char	   *copy = fz_strndup(data, size);

	fz_data = (const uint8_t *) copy;
	fz_size = size;
	json_object_object_add(args, "token", json_object_new_string("from the query string"));
	collect_form(NULL, args);
	assert(json_object_object_get_ex(args, "token", &v) &&
		   strcmp(json_object_get_string(v), "from the query string") == 0);
	json_object_object_foreach(args, key, val)
	{
		(void) val;
		assert(strcmp(key, "token") == 0 || (key[0] != '\0' && strlen(key) <= size));
	}
	/* a part decodes to no more bytes than it has */
	{
		char	   *d = form_decode(copy, size);

		assert(strlen(d) <= size);
		free(d);
	}
	json_object_put(args);
	free(copy);
	return 0;
}
