/*
 * api_vscope.c
 *	  vScope live data, the OVH APIv6 way:
 *	    GET  /dedicatedCloud/{service}/datacenter/{dc}/filer|host|vm      ids
 *	    GET  /dedicatedCloud/{service}/datacenter/{dc}/filer|host|vm/{id} object
 *	    POST /dedicatedCloud/{service}/user/{userId}/metricsToken         read token
 *	    POST /dedicatedCloud/{service}/inventory                          (vscope's own)
 *	  An admin token of the service, or a superadmin (for whom the path's
 *	  service names the tenant).  Errors are OVH's {"message": "..."}.
 */
#include "api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

const VsConfig *vs_config;

/* ovh_error answers {"message": "..."} with the status */
void
ovh_error(VsRequest *r, int status, const char *message, const char *details)
{
	VsBuf		b = {0};
	char	   *text = NULL;

	if (details != NULL && details[0] != '\0')
	{
		if (asprintf(&text, "%s: %s", message, details) < 0)
			text = NULL;
	}
	buf_append(&b, "{\"message\":", 11);
	buf_json_string(&b, text ? text : message);
	buf_append(&b, "}", 1);
	if (status == 401)
		req_add_header(r, "WWW-Authenticate", "Basic realm=\"vscope\"");
	req_respond(r, status, "application/json", b.data, b.len);
	free(b.data);
	free(text);
}

static void
ovh_txn_error(VsRequest *r, VsTxn *t)
{
	char	   *msg = t->message ? strdup(t->message) : strdup("Internal error");

	if (msg[0] >= 'a' && msg[0] <= 'z')
		msg[0] = (char) (msg[0] - 'a' + 'A');
	ovh_error(r, t->status ? t->status : 500, msg, t->status >= 500 ? NULL : t->detail);
	free(msg);
}

static bool
is_long(const char *s)
{
	if (*s == '\0' || strlen(s) > 18)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char) *s))
			return false;
	return true;
}

/*
 * api_vscope checks the credentials before anything else: without a valid
 * admin token every path, method and object id gets the same 401, so a
 * caller without one learns nothing about what exists.  Only then are the
 * path, the method and the ids checked, and the one SQL call made in the
 * transaction the credentials opened.
 */
void
api_vscope(VsRequest *r)
{
	char	   *path = strdup(req_path(r) + strlen("/dedicatedCloud/"));
	char	   *seg[8];
	int			n = 0;
	char	   *save = NULL;
	const char *method = req_method(r);
	bool		get = strcmp(method, "GET") == 0;
	bool		post = strcmp(method, "POST") == 0;
	int			bad = 0;		/* the status of a refusal, once authenticated */
	const char *bad_msg = NULL;
	const char *bad_detail = NULL;
	const char *allow = NULL;
	const char *sql = NULL;
	const char *params[4];
	int			nparams = 0;
	bool		read_only = true;
	char	   *url = NULL;
	VsTxn		t;

	for (char *tok = strtok_r(path, "/", &save); tok != NULL && n < 8; tok = strtok_r(NULL, "/", &save))
		seg[n++] = tok;
	if (n >= 1)
		req_set_as_tenant(r, seg[0]);

	if (n >= 4 && n <= 5 && strcmp(seg[1], "datacenter") == 0 &&
		(strcmp(seg[3], "filer") == 0 || strcmp(seg[3], "host") == 0 || strcmp(seg[3], "vm") == 0))
	{
		if (!get)
			bad = 405, bad_msg = "Method not allowed", bad_detail = "Live data is read with GET", allow = "GET";
		else if (!is_long(seg[2]) || (n == 5 && !is_long(seg[4])))
			bad = 400, bad_msg = "Invalid parameter", bad_detail = "datacenterId and the object id are numbers";
		else if (n == 4)
		{
			params[0] = seg[0];
			params[1] = seg[2];
			params[2] = seg[3];
			nparams = 3;
			sql = "SELECT vscope.live_ids($1, $2::bigint, $3)";
		}
		else
		{
			params[0] = seg[0];
			params[1] = seg[2];
			params[2] = seg[3];
			params[3] = seg[4];
			nparams = 4;
			sql = "SELECT vscope.live_object($1, $2::bigint, $3, $4::bigint)";
		}
	}
	else if (n == 4 && strcmp(seg[1], "user") == 0 && strcmp(seg[3], "metricsToken") == 0)
	{
		if (!post)
			bad = 405, bad_msg = "Method not allowed", bad_detail = "metricsToken is POSTed", allow = "POST";
		else if (!is_long(seg[2]))
			bad = 400, bad_msg = "Invalid parameter", bad_detail = "userId is a number";
		else
		{
			if (vs_config->public_url[0] != '\0')
				url = strdup(vs_config->public_url);
			else if (asprintf(&url, "http://%s:%d", vs_config->server_host, vs_config->server_port) < 0)
				url = NULL;
			params[0] = seg[0];
			params[1] = seg[2];
			params[2] = url ? url : "";
			nparams = 3;
			read_only = false;
			sql = "SELECT vscope.metrics_token($1, $2::bigint, $3)";
		}
	}
	else if (n == 2 && strcmp(seg[1], "inventory") == 0)
	{
		size_t		len;
		const char *body;

		if (!post)
			bad = 405, bad_msg = "Method not allowed", bad_detail = "The inventory is POSTed", allow = "POST";
		else if ((body = req_text_body(r, &len)) == NULL || len == 0)
			bad = 400, bad_msg = "Missing request content",
				bad_detail = "POST {\"datacenters\": [...], \"filers\": [...], \"hosts\": [...], \"vms\": [...]}";
		else
		{
			params[0] = body;
			nparams = 1;
			read_only = false;
			sql = "SELECT vscope.register_inventory($1::jsonb)::text";
		}
	}
	else
		bad = 404, bad_msg = "Got an invalid (or empty) URL";

	if (!txn_begin(r, &t, SCOPE_ADMIN, read_only))
	{
		ovh_txn_error(r, &t);
		txn_free(&t);
	}
	else if (bad != 0)
	{
		txn_end(&t);
		txn_free(&t);
		if (allow != NULL)
			req_add_header(r, "Allow", allow);
		ovh_error(r, bad, bad_msg, bad_detail);
	}
	else
		txn_answer_json(r, &t, 200, sql, nparams, params, ovh_txn_error);
	free(url);
	free(path);
}
