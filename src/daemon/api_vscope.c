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

void
api_vscope(VsRequest *r)
{
	char	   *path = strdup(req_path(r) + strlen("/dedicatedCloud/"));
	char	   *seg[8];
	int			n = 0;
	char	   *save = NULL;
	bool		get = strcmp(req_method(r), "GET") == 0;

	for (char *tok = strtok_r(path, "/", &save); tok != NULL && n < 8; tok = strtok_r(NULL, "/", &save))
		seg[n++] = tok;
	if (n >= 1)
		req_set_as_tenant(r, seg[0]);

	if (n >= 4 && n <= 5 && strcmp(seg[1], "datacenter") == 0 &&
		(strcmp(seg[3], "filer") == 0 || strcmp(seg[3], "host") == 0 || strcmp(seg[3], "vm") == 0))
	{
		if (!get)
			ovh_error(r, 405, "Method not allowed", "Live data is read with GET");
		else if (!is_long(seg[2]) || (n == 5 && !is_long(seg[4])))
			ovh_error(r, 400, "Invalid parameter", "datacenterId and the object id are numbers");
		else if (n == 4)
		{
			const char *params[3] = {seg[0], seg[2], seg[3]};

			run_json_as(r, SCOPE_ADMIN, true, "SELECT vscope.live_ids($1, $2::bigint, $3)",
						3, params, ovh_txn_error);
		}
		else
		{
			const char *params[4] = {seg[0], seg[2], seg[3], seg[4]};

			run_json_as(r, SCOPE_ADMIN, true,
						"SELECT vscope.live_object($1, $2::bigint, $3, $4::bigint)",
						4, params, ovh_txn_error);
		}
	}
	else if (n == 4 && strcmp(seg[1], "user") == 0 && strcmp(seg[3], "metricsToken") == 0)
	{
		char	   *url = NULL;

		if (get)
			ovh_error(r, 405, "Method not allowed", "metricsToken is POSTed");
		else if (!is_long(seg[2]))
			ovh_error(r, 400, "Invalid parameter", "userId is a number");
		else
		{
			const char *params[3];

			if (vs_config->public_url[0] != '\0')
				url = strdup(vs_config->public_url);
			else if (asprintf(&url, "http://%s:%d", vs_config->server_host, vs_config->server_port) < 0)
				url = NULL;
			params[0] = seg[0];
			params[1] = seg[2];
			params[2] = url ? url : "";
			run_json_as(r, SCOPE_ADMIN, false, "SELECT vscope.metrics_token($1, $2::bigint, $3)",
						3, params, ovh_txn_error);
		}
		free(url);
	}
	else if (n == 2 && strcmp(seg[1], "inventory") == 0)
	{
		size_t		len;
		const char *body = req_body(r, &len);
		const char *params[1] = {body};

		if (get)
			ovh_error(r, 405, "Method not allowed", "The inventory is POSTed");
		else if (len == 0 || memchr(body, '\0', len) != NULL)
			ovh_error(r, 400, "Missing request content", "POST {\"datacenters\": [...], \"filers\": [...], \"hosts\": [...], \"vms\": [...]}");
		else
			run_json_as(r, SCOPE_ADMIN, false, "SELECT vscope.register_inventory($1::jsonb)::text",
						1, params, ovh_txn_error);
	}
	else
		ovh_error(r, 404, "Got an invalid (or empty) URL", NULL);
	free(path);
}
