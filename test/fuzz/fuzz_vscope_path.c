/*
 * fuzz_vscope_path.c
 *	  vScope live's paths (src/daemon/api_vscope.c: api_vscope splits
 *	  /dedicatedCloud/<service>/... into segments and checks the ids): the
 *	  input is a method, a NUL, then the path after /dedicatedCloud/.  The
 *	  request, the transaction (credentials are checked first, and taken
 *	  as good here) and the SQL call are replaced: every path is either
 *	  refused in OVH's error body (a JSON object with a message) or makes
 *	  one SQL call whose numeric parameters are whole numbers.
 */
#define req_path fuzz_req_path
#define req_method fuzz_req_method
#define req_body fuzz_req_body
#define req_set_as_tenant fuzz_req_set_as_tenant
#define req_add_header fuzz_req_add_header
#define req_respond fuzz_req_respond
#define req_text_body fuzz_req_text_body
#define txn_begin fuzz_txn_begin
#define txn_end fuzz_txn_end
#define txn_free fuzz_txn_free
#define txn_answer_json fuzz_txn_answer_json
#include "../../src/daemon/api_vscope.c"

#include <assert.h>
#include <json-c/json.h>

#include "fuzz_common.h"

static char *fz_path;
static char *fz_method;
static int	fz_answers;

const char *
fuzz_req_path(VsRequest *r)
{
	return fz_path;
}

const char *
fuzz_req_method(VsRequest *r)
{
	return fz_method;
}

const char *
fuzz_req_body(VsRequest *r, size_t *len)
{
	*len = 2;
	return "{}";
}

void
fuzz_req_set_as_tenant(VsRequest *r, const char *tenant)
{
	assert(tenant != NULL && strchr(tenant, '/') == NULL);
}

void
fuzz_req_add_header(VsRequest *r, const char *name, const char *value)
{
}

void
fuzz_req_respond(VsRequest *r, int status, const char *content_type, const char *body, size_t len)
{
	json_object *o = json_tokener_parse(body);

	assert(status >= 400 && status < 500);
	assert(o != NULL && json_object_is_type(o, json_type_object));
	json_object_put(o);
	fz_answers++;
}

const char *
fuzz_req_text_body(VsRequest *r, size_t *len)
{
	*len = 2;
	return "{}";
}

bool
fuzz_txn_begin(VsRequest *r, VsTxn *t, VsScope need, bool read_only)
{
	memset(t, 0, sizeof(*t));
	return true;
}

void
fuzz_txn_end(VsTxn *t)
{
}

void
fuzz_txn_free(VsTxn *t)
{
}

void
fuzz_txn_answer_json(VsRequest *r, VsTxn *t, int ok_status, const char *sql,
					 int nparams, const char *const *params, VsFailFn fail)
{
	/* the ids bound as ::bigint are digits only, 18 at most */
	for (int i = 0; i < nparams; i++)
		if (strstr(sql, "::bigint") != NULL && i >= 1 && params[i] != NULL && is_long(params[i]))
			assert(strlen(params[i]) <= 18);
	fz_answers++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static VsConfig cfg;
	char	   *rest;

	if (vs_config == NULL)
	{
		char		err[256];

		if (config_load(&cfg, NULL, err, sizeof(err)) != 0)
			abort();
		log_set_level("crit");
		vs_config = &cfg;
	}
	fz_split(data, size, &fz_method, &rest);
	if (asprintf(&fz_path, "/dedicatedCloud/%s", rest) < 0)
		abort();
	fz_answers = 0;
	api_vscope(NULL);
	assert(fz_answers == 1);
	free(fz_path);
	free(fz_method);
	free(rest);
	return 0;
}
