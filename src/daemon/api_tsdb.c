/*
 * api_tsdb.c
 *	  The OpenTSDB endpoints: /api/put and /api/version, and OpenTSDB's
 *	  error body {"error":{"code":N,"message":"...","details":"..."}}.
 */
#include "vscoped.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* tsdb_error answers with OpenTSDB's error body; code equals the status */
void
tsdb_error(VsRequest *r, int status, const char *message, const char *details)
{
	VsBuf		b = {0};

	buf_printf(&b, "{\"error\":{\"code\":%d,\"message\":", status);
	buf_json_string(&b, message);
	if (details != NULL && details[0] != '\0')
	{
		buf_append(&b, ",\"details\":", 11);
		buf_json_string(&b, details);
	}
	buf_append(&b, "}}", 2);
	if (status == 401)
		req_add_header(r, "WWW-Authenticate", "Basic realm=\"vscope\"");
	req_respond(r, status, "application/json", b.data, b.len);
	free(b.data);
}

/* tsdb_txn_error answers with a failed transaction's status and message */
void
tsdb_txn_error(VsRequest *r, VsTxn *t)
{
	VsBuf		d = {0};
	char	   *msg = t->message ? strdup(t->message) : strdup("Internal error");

	/* OpenTSDB messages start with a capital; PostgreSQL's do not */
	if (msg[0] >= 'a' && msg[0] <= 'z')
		msg[0] = (char) (msg[0] - 'a' + 'A');
	if (t->detail)
		buf_append(&d, t->detail, strlen(t->detail));
	if (t->hint)
	{
		if (d.len)
			buf_append(&d, " ", 1);
		buf_append(&d, t->hint, strlen(t->hint));
	}
	tsdb_error(r, t->status ? t->status : 500, msg, d.data);
	free(msg);
	free(d.data);
}

/* api_version answers GET/POST /api/version (no credentials needed) */
void
api_version(VsRequest *r)
{
	char		host[256] = "";
	VsBuf		b = {0};

	gethostname(host, sizeof(host) - 1);
	static const char head[] = "{\"version\":\"" VSCOPED_VERSION "\",\"short_revision\":\"\","
		"\"full_revision\":\"\",\"repo\":\"vscope\",\"repo_status\":\"MINT\",\"branch\":\"\","
		"\"user\":\"vscope\",\"host\":";

	buf_append(&b, head, sizeof(head) - 1);
	buf_json_string(&b, host);
	buf_printf(&b, ",\"timestamp\":\"%s\",\"server\":\"vscoped\",\"opentsdb_api\":\"2.4\"}", __DATE__);
	req_respond(r, 200, "application/json", b.data, b.len);
	free(b.data);
}

/*
 * api_put answers POST /api/put: the body goes to vscope.put() unparsed;
 * with no flags, 204 when every point was written, else 400; with summary
 * or details, 200 or 400 and the counts (and errors).
 */
void
api_put(VsRequest *r)
{
	VsTxn		t;
	size_t		len;
	const char *body = req_body(r, &len);
	bool		details = req_has_arg(r, "details");
	bool		summary = req_has_arg(r, "summary");
	const char *params[2];
	PGresult   *res;
	int			failed;

	if (len == 0)
	{
		tsdb_error(r, 400, "Missing request content", "The put needs a JSON body of data points.");
		return;
	}
	if (memchr(body, '\0', len) != NULL)
	{
		tsdb_error(r, 400, "Malformed put payload", "The body contains a NUL byte.");
		return;
	}
	if (!txn_begin(r, &t, SCOPE_WRITE, false))
	{
		tsdb_txn_error(r, &t);
		txn_free(&t);
		return;
	}
	params[0] = body;
	params[1] = details ? "true" : "false";
	/* the answer is json text in OpenTSDB's key order: pass it through */
	res = txn_exec(&t, "SELECT r::text, r->>'failed' FROM vscope.put($1, $2) AS r", 2, params);
	if (res == NULL || !txn_commit(&t))
	{
		if (res)
			PQclear(res);
		tsdb_txn_error(r, &t);
		txn_end(&t);
		txn_free(&t);
		return;
	}
	txn_end(&t);
	txn_free(&t);
	failed = atoi(PQgetvalue(res, 0, 1));

	if (!details && !summary)
	{
		if (failed == 0)
			req_respond(r, 204, NULL, NULL, 0);
		else
			tsdb_error(r, 400, "One or more data points had errors",
					   "Please see the TSD logs or append \"details\" to the put request");
	}
	else
	{
		const char *json = PQgetvalue(res, 0, 0);
		const char *errors = strstr(json, ",\"errors\":");
		VsBuf		b = {0};

		/* {"success":S,"failed":F[,"timeouts":0][,"errors":[...]]} */
		if (errors == NULL)
			errors = json + strlen(json) - 1;	/* the closing brace */
		buf_append(&b, json, errors - json);
		if (req_has_arg(r, "sync_timeout"))
			buf_append(&b, ",\"timeouts\":0", 13);
		buf_append(&b, errors, strlen(errors));
		req_respond(r, failed == 0 ? 200 : 400, "application/json", b.data, b.len);
		free(b.data);
	}
	PQclear(res);
}
