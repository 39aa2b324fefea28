/*
 * api_ceilometer.c
 *	  The Ceilometer (Telemetry) V2 API under /v2/ (meters, samples,
 *	  resources, query/samples, capabilities, events, event_types).  Each
 *	  request is one call of vscope.ceilometer_request(), which routes and
 *	  answers (status, JSON); errors have Ceilometer's body
 *	  {"error_message": {"faultcode", "faultstring", "debuginfo"}}.
 *
 *	  The caller: X-Auth-Token is required.  With identity-headers = token
 *	  it is a vscope token: its tenant is the Ceilometer project and its
 *	  admin scope makes an admin.  With identity-headers = keystone the
 *	  request is trusted to come through keystonemiddleware, and X-Roles,
 *	  X-Project-Id and X-User-Id say who calls, in keystone-tenant.  Either
 *	  way the database decides what the caller sees (project confinement
 *	  in the functions, tenant isolation by row-level security).
 *
 *	  /v2/publish/samples and /v2/publish/events take what Ceilometer's http
 *	  publisher sends (vscope.ceilometer_publish_samples() and _events()):
 *	  its credentials are the basic auth of the publisher's URL, a vscope
 *	  token in either identity mode (txn_begin_publisher() says where the
 *	  items go).  Items refused one by one are in the answer and logged.
 */
#include "api.h"

#include <json-c/json.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* wants_xml: the client asks for XML and not JSON (Ceilometer's error middleware) */
static bool
wants_xml(VsRequest *r)
{
	const char *accept = req_header(r, "Accept");

	return accept != NULL && strstr(accept, "application/xml") != NULL &&
		strstr(accept, "application/json") == NULL;
}

/* buf_xml_text appends s as XML element text (<, > and & escaped) */
static void
buf_xml_text(VsBuf *b, const char *s)
{
	for (const char *p = s; *p; p++)
	{
		switch (*p)
		{
			case '<':
				buf_append(b, "&lt;", 4);
				break;
			case '>':
				buf_append(b, "&gt;", 4);
				break;
			case '&':
				buf_append(b, "&amp;", 5);
				break;
			default:
				/* XML 1.0 has no other control characters */
				if ((unsigned char) *p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
					buf_append(b, "?", 1);
				else
					buf_append(b, p, 1);
		}
	}
}

/*
 * ceilometer_error answers with Ceilometer's error body:
 * {"error_message": {"faultcode", "faultstring", "debuginfo"}}, or its XML
 * form for a client that accepts XML only.
 */
void
ceilometer_error(VsRequest *r, int status, const char *message, const char *details)
{
	VsBuf		b = {0};
	VsBuf		m = {0};
	const char *code = status >= 500 ? "Server" : "Client";

	buf_append(&m, message, strlen(message));
	if (details != NULL && details[0] != '\0')
	{
		buf_append(&m, ": ", 2);
		buf_append(&m, details, strlen(details));
	}
	if (wants_xml(r))
	{
		buf_printf(&b, "<error_message><error><faultcode>%s</faultcode><faultstring>", code);
		buf_xml_text(&b, m.data);
		buf_append(&b, "</faultstring><debuginfo /></error></error_message>", 51);
		req_respond(r, status, "application/xml", b.data, b.len);
	}
	else
	{
		buf_printf(&b, "{\"error_message\": {\"faultcode\": \"%s\", \"faultstring\": ", code);
		buf_json_string(&b, m.data);
		buf_append(&b, ", \"debuginfo\": null}}", 21);
		req_respond(r, status, "application/json", b.data, b.len);
	}
	free(b.data);
	free(m.data);
}

static void
fail(VsRequest *r, VsTxn *t)
{
	int			status = t->status ? t->status : 500;

	/* database errors carry their own message; the daemon's have a detail */
	ceilometer_error(r, status, t->message ? t->message : "Internal error",
					 status >= 500 ? NULL : t->detail);
}

/* collect_arg adds one query-string value to {"name": [values in order]} */
static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	json_object *args = cls;
	json_object *list;

	if (!json_object_object_get_ex(args, key, &list))
	{
		list = json_object_new_array();
		json_object_object_add(args, key, list);
	}
	json_object_array_add(list, json_object_new_string(value ? value : ""));
	return MHD_YES;
}

/* in_list tells whether a comma-separated list holds item (spaces ignored) */
static bool
in_list(const char *list, const char *item, bool ignore_case)
{
	size_t		n = strlen(item);

	for (const char *p = list; p != NULL && *p;)
	{
		const char *e;

		while (*p == ' ' || *p == ',')
			p++;
		e = p + strcspn(p, ",");
		while (e > p && e[-1] == ' ')
			e--;
		if ((size_t) (e - p) == n &&
			(ignore_case ? strncasecmp(p, item, n) : strncmp(p, item, n)) == 0)
			return true;
		p = strchr(p, ',');
	}
	return false;
}

void
api_ceilometer(VsRequest *r)
{
	const char *method = req_method(r);
	const char *path = req_path(r);
	bool		post = strcmp(method, "POST") == 0;
	bool		read_only = !post || strncmp(path, "/v2/query/", 10) == 0;
	bool		keystone = strcmp(vs_config->identity_headers, "keystone") == 0;
	const char *user = req_header(r, "X-User-Id");
	const char *project;
	bool		admin;
	VsTxn		t;
	size_t		len;
	const char *body = req_body(r, &len);
	json_object *args;
	VsBuf		base = {0};
	PGresult   *res;

	if (post && !body_is_text(body, len))
	{
		ceilometer_error(r, 400, "Invalid input: the body contains a NUL byte", NULL);
		return;
	}
	if (keystone)
	{
		const char *roles = req_header(r, "X-Roles");

		char		addr[64];

		/* keystonemiddleware has checked the token; it must still be there */
		if (req_header(r, "X-Auth-Token") == NULL)
		{
			ceilometer_error(r, 401, "Authentication required", "Send the Keystone token in X-Auth-Token.");
			return;
		}
		/* and the headers are believed only from the proxy that runs it */
		req_client_addr(r, addr, sizeof(addr));
		if (!in_list(vs_config->keystone_trusted, addr, false))
		{
			ceilometer_error(r, 401, "Authentication required",
							 "Identity headers are trusted only from keystone-trusted-addresses.");
			return;
		}

		admin = in_list(roles, "admin", true);
		project = req_header(r, "X-Project-Id");
		if (!txn_begin_trusted(r, &t, vs_config->keystone_tenant,
							   read_only ? "vscope_reader" : "vscope_writer", read_only))
		{
			fail(r, &t);
			txn_free(&t);
			return;
		}
	}
	else
	{
		if (!txn_begin(r, &t, read_only ? SCOPE_READ : SCOPE_WRITE, read_only))
		{
			fail(r, &t);
			txn_free(&t);
			return;
		}
		admin = strstr(t.scopes, "admin") != NULL;
		project = t.tenant;
	}

	/* who calls, for the functions; bound parameters, transaction-local */
	{
		const char *params[4] = {admin ? "on" : "off", project ? project : "", user ? user : "",
		keystone ? "keystone" : "token"};

		res = txn_exec(&t, "SELECT set_config('vscope.ceilometer_admin', $1, true), "
					   "set_config('vscope.ceilometer_project', $2, true), "
					   "set_config('vscope.ceilometer_user', $3, true), "
					   "set_config('vscope.ceilometer_auth', $4, true)", 4, params);
		if (res == NULL)
		{
			fail(r, &t);
			txn_end(&t);
			txn_free(&t);
			return;
		}
		PQclear(res);
	}

	args = json_object_new_object();
	MHD_get_connection_values(req_connection(r), MHD_GET_ARGUMENT_KIND, collect_arg, args);
	if (vs_config->public_url[0] != '\0')
		buf_append(&base, vs_config->public_url, strlen(vs_config->public_url));
	else if (req_header(r, "Host") != NULL)
		buf_printf(&base, "http://%s", req_header(r, "Host"));
	else
		buf_printf(&base, "http://%s:%d", vs_config->server_host, vs_config->server_port);
	{
		const char *params[5] = {method, path, json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN),
			post ? body : NULL, base.data};

		res = txn_exec(&t, "SELECT status, response::text FROM vscope.ceilometer_request($1, $2, $3, $4, $5)",
					   5, params);
	}
	json_object_put(args);
	free(base.data);
	if (res == NULL || (!read_only && !txn_commit(&t)))
	{
		if (res != NULL)
			PQclear(res);
		fail(r, &t);
		txn_end(&t);
		txn_free(&t);
		return;
	}
	{
		const char *out = PQgetvalue(res, 0, 1);

		req_respond(r, atoi(PQgetvalue(res, 0, 0)), "application/json", out, strlen(out));
	}
	PQclear(res);
	txn_end(&t);
	txn_free(&t);
}

/* publish_error: Ceilometer's error body; a 401 names the basic auth realm */
void
publish_error(VsRequest *r, int status, const char *message, const char *details)
{
	if (status == 401)
		req_add_header(r, "WWW-Authenticate", "Basic realm=\"vscope\"");
	ceilometer_error(r, status, message, details);
}

#define LOGGED_REJECTS 10

/*
 * ceilometer_log_rejected logs the items a publisher's answer lists as
 * refused ({"rejected": [{"index", "id", "error"}]}), the first
 * LOGGED_REJECTS of them, one line each: from is who sent them.
 */
void
ceilometer_log_rejected(const char *from, const char *tenant, const char *what, const char *answer)
{
	json_object *a = json_tokener_parse(answer);
	json_object *rejected;
	size_t		n;

	if (a == NULL)
		return;
	if (json_object_object_get_ex(a, "rejected", &rejected) && json_object_is_type(rejected, json_type_array) &&
		(n = json_object_array_length(rejected)) > 0)
	{
		for (size_t i = 0; i < n && i < LOGGED_REJECTS; i++)
		{
			json_object *e = json_object_array_get_idx(rejected, i);
			json_object *idx,
					   *id,
					   *err;
			char	   *safe_id;
			char	   *safe_err;

			json_object_object_get_ex(e, "index", &idx);
			json_object_object_get_ex(e, "id", &id);
			json_object_object_get_ex(e, "error", &err);
			safe_id = log_safe(id != NULL && json_object_is_type(id, json_type_string) ? json_object_get_string(id) : "-");
			safe_err = log_safe(err != NULL ? json_object_get_string(err) : "?");
			vs_log(LOG_WARN, "%s %s: %s %d (id %s) refused: %s", from, tenant, what,
				   idx != NULL ? json_object_get_int(idx) : -1, safe_id, safe_err);
			free(safe_id);
			free(safe_err);
		}
		if (n > LOGGED_REJECTS)
			vs_log(LOG_WARN, "%s %s: and %zu more %ss refused", from, tenant, n - LOGGED_REJECTS, what);
	}
	json_object_put(a);
}

/*
 * api_publish: POST /v2/publish/samples and /v2/publish/events, one call of
 * vscope.ceilometer_publish_samples() (or _events()) in one transaction:
 * 200 with {"stored", "duplicates", "rejected"} when any item could be
 * used, 400 when none, in Ceilometer's error body.
 */
void
api_publish(VsRequest *r)
{
	bool		events = strcmp(req_path(r), "/v2/publish/events") == 0;
	bool		keystone = strcmp(vs_config->identity_headers, "keystone") == 0;
	size_t		len;
	const char *body = req_body(r, &len);
	const char *routing = NULL;
	char		from[64];
	VsTxn		t;
	PGresult   *res;

	req_client_addr(r, from, sizeof(from));
	if (!body_is_text(body, len))
	{
		publish_error(r, 400, "Invalid input: the body contains a NUL byte", NULL);
		return;
	}
	if (!txn_begin_publisher(r, &t, keystone ? vs_config->keystone_tenant : NULL, &routing))
	{
		publish_error(r, t.status ? t.status : 500, t.message ? t.message : "Internal error",
					  t.status >= 500 ? NULL : t.detail);
		txn_free(&t);
		return;
	}
	{
		const char *params[2] = {body, routing};

		res = txn_exec(&t, events ? "SELECT vscope.ceilometer_publish_events($1, $2)::text"
					   : "SELECT vscope.ceilometer_publish_samples($1, $2)::text", 2, params);
	}
	if (res == NULL || !txn_commit(&t))
	{
		if (res != NULL)
			PQclear(res);
		if (t.status == 400 && t.message != NULL)
		{
			char	   *m = log_safe(t.message);

			vs_log(LOG_WARN, "%s %s: publish %s: %s", from, t.tenant, events ? "events" : "samples", m);
			free(m);
		}
		fail(r, &t);
		txn_end(&t);
		txn_free(&t);
		return;
	}
	{
		const char *out = PQgetvalue(res, 0, 0);

		ceilometer_log_rejected(from, t.tenant, events ? "event" : "sample", out);
		req_respond(r, 200, "application/json", out, strlen(out));
	}
	PQclear(res);
	txn_end(&t);
	txn_free(&t);
}
