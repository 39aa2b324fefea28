/*
 * api_coopr.c
 *	  Coopr's admin metrics, with Coopr's headers (Coopr-UserID,
 *	  Coopr-TenantID, Coopr-ApiKey) and plain-text errors:
 *	    GET  /v2/metrics/queues        queue counts per visible tenant
 *	    GET  /v2/metrics/nodes/usage   node-seconds (start, end, user, tenant, groupby, timeunit)
 *	    POST /v2/apikeys               {"tenant", "user"} -> 201 {"tenant", "user", "apikey"}
 *	    POST /v2/nodes/events          finished provisioner tasks (superadmin)
 *	    POST /v2/queues/events         queue operations (superadmin)
 *	  Who may do what is decided in the database by the role the headers
 *	  map to (user admin: vscope_admin; admin of tenant superadmin:
 *	  vscope_cloud, which reaches other tenants only through the
 *	  SECURITY DEFINER twins of the Coopr functions; anyone else:
 *	  vscope_reader).
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

/* coopr_error answers with a plain-text message, as Coopr does */
void
coopr_error(VsRequest *r, int status, const char *message, const char *details)
{
	VsBuf		b = {0};

	buf_append(&b, message, strlen(message));
	if (details != NULL && details[0] != '\0')
	{
		buf_append(&b, " ", 1);
		buf_append(&b, details, strlen(details));
	}
	req_respond(r, status, "text/plain; charset=utf-8", b.data, b.len);
	free(b.data);
}

static void
fail(VsRequest *r, VsTxn *t)
{
	coopr_error(r, t->status ? t->status : 500, t->message ? t->message : "Internal error",
				t->status >= 500 ? NULL : t->hint);
}

static void
run(VsRequest *r, bool read_only, int ok_status, const char *sql, int nparams, const char *const *params)
{
	VsTxn		t;

	if (!txn_begin_coopr(r, &t, read_only))
	{
		fail(r, &t);
		txn_free(&t);
		return;
	}
	txn_answer_json(r, &t, ok_status, sql, nparams, params, fail);
}

/* body_text is the body, "" when it is empty or has a NUL (the SQL says 400) */
static const char *
body_text(VsRequest *r)
{
	size_t		len;
	const char *body = req_body(r, &len);

	if (len == 0 || !body_is_text(body, len))
		return "";
	return body;
}

void
api_coopr(VsRequest *r)
{
	const char *path = req_path(r);

	if (strcmp(path, "/v2/metrics/queues") == 0)
		run(r, true, 200, "SELECT vscope.coopr_queue_metrics()", 0, NULL);
	else if (strcmp(path, "/v2/metrics/nodes/usage") == 0)
	{
		const char *params[6] = {req_arg(r, "start"), req_arg(r, "end"), req_arg(r, "user"),
			req_arg(r, "tenant"), req_arg(r, "groupby"), req_arg(r, "timeunit")};

		/* a key given with no value counts as given, and empty */
		if (params[0] == NULL && req_has_arg(r, "start"))
			params[0] = "";
		if (params[1] == NULL && req_has_arg(r, "end"))
			params[1] = "";
		if (params[3] == NULL && req_has_arg(r, "tenant"))
			params[3] = "";
		run(r, true, 200, "SELECT vscope.coopr_node_usage($1, $2, $3, $4, $5, $6)", 6, params);
	}
	else
	{
		/* credentials, then permission, then the body: the functions parse it */
		const char *body = body_text(r);
		const char *params[1] = {body};

		if (strcmp(path, "/v2/apikeys") == 0)
			run(r, false, 201, "SELECT vscope.coopr_apikey_request($1)", 1, params);
		else if (strcmp(path, "/v2/nodes/events") == 0)
			run(r, false, 200, "SELECT vscope.coopr_node_events($1)", 1, params);
		else
			run(r, false, 200, "SELECT vscope.coopr_queue_events($1)", 1, params);
	}
}
