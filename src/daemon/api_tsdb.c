/*
 * api_tsdb.c
 *	  The OpenTSDB endpoints (/api/put, /api/query, the lookups, and the
 *	  maintenance ones: /api/config, /api/serializers, /api/dropcaches,
 *	  /api/stats), the answer to those vscope does not implement, and
 *	  OpenTSDB's error body {"error":{"code":N,"message":"...","details":"..."}}.
 */
#include "api.h"

#include <json-c/json.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "stats.h"

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
	if (!body_is_text(body, len))
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
	res = txn_exec(&t, "SELECT r::text, r->>'failed', r->>'success' FROM vscope.put($1, $2) AS r", 2, params);
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
	stats_points(atol(PQgetvalue(res, 0, 2)));

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

static void
run_json(VsRequest *r, VsScope need, bool read_only, const char *sql,
		 int nparams, const char *const *params)
{
	run_json_as(r, need, read_only, sql, nparams, params, tsdb_txn_error);
}

typedef struct ArgsJson
{
	struct json_object *obj;
} ArgsJson;

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct json_object *obj = cls;
	struct json_object *arr;

	if (!json_object_object_get_ex(obj, key, &arr))
	{
		arr = json_object_new_array();
		json_object_object_add(obj, key, arr);
	}
	json_object_array_add(arr, value ? json_object_new_string(value) : NULL);
	return MHD_YES;
}

/* query_args_json returns the query string as {"key": ["value", ...]} (free it) */
static char *
query_args_json(VsRequest *r)
{
	struct json_object *obj = json_object_new_object();
	char	   *out;

	MHD_get_connection_values(req_connection(r), MHD_GET_ARGUMENT_KIND, collect_arg, obj);
	out = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	return out;
}

/*
 * api_query answers /api/query: POST with a JSON body, GET with the
 * query-string form; DELETE is refused as OpenTSDB does by default.
 */
static void api_query_run(VsRequest *r);

void
api_query(VsRequest *r)
{
	char		remote[64];
	char	   *args = NULL;
	size_t		len;
	const char *body = req_body(r, &len);
	unsigned long id;

	/* /api/stats/query lists it: the POST body, or the GET arguments */
	req_client_addr(r, remote, sizeof(remote));
	if (strcmp(req_method(r), "POST") != 0 || len == 0 || !body_is_text(body, len))
		body = args = query_args_json(r);
	id = stats_query_begin("", remote, body);
	api_query_run(r);
	stats_query_end(id, req_tenant(r), req_status(r));
	free(args);
}

/*
 * body_deletes tells whether a query body asks to delete ("delete": true at
 * its top level); only bodies that name the key are parsed
 */
static bool
body_deletes(const char *body)
{
	struct json_object *obj;
	struct json_object *v;
	bool		yes = false;

	if (strstr(body, "\"delete\"") == NULL)
		return false;
	obj = json_tokener_parse(body);
	if (obj != NULL && json_object_is_type(obj, json_type_object) &&
		json_object_object_get_ex(obj, "delete", &v))
		yes = json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v)
			: json_object_is_type(v, json_type_string) && strcasecmp(json_object_get_string(v), "true") == 0;
	if (obj)
		json_object_put(obj);
	return yes;
}

static void
api_query_run(VsRequest *r)
{
	const char *method = req_method(r);

	/*
	 * A deleting query (DELETE with the GET form's arguments, as OpenTSDB
	 * reads it; a body's "delete": true; GET with method_override=delete)
	 * runs in a read-write transaction; the database refuses it unless
	 * vscope.query_allow_delete is on (OpenTSDB's 400), then to any token
	 * but a write or admin one.
	 */
	if (strcmp(method, "DELETE") == 0)
	{
		char	   *args = query_args_json(r);
		const char *params[1] = {args};

		run_json(r, SCOPE_READ, false, "SELECT vscope.tsdb_query_delete_get($1::jsonb)", 1, params);
		free(args);
		return;
	}
	if (strcmp(method, "GET") == 0 && req_has_arg(r, "method_override"))
	{
		const char *o = req_arg(r, "method_override");

		if (o != NULL && strcasecmp(o, "delete") == 0)
		{
			char	   *args = query_args_json(r);
			const char *params[1] = {args};

			/* OpenTSDB deletes only when allowed; otherwise it just answers */
			run_json(r, SCOPE_READ, false,
					 "SELECT CASE WHEN current_setting('vscope.query_allow_delete')::boolean "
					 "THEN vscope.tsdb_query_delete_get($1::jsonb) ELSE vscope.tsdb_query_get($1::jsonb) END",
					 1, params);
			free(args);
			return;
		}
	}
	if (strcmp(method, "POST") == 0)
	{
		size_t		len;
		const char *body = req_body(r, &len);
		const char *params[1] = {body};

		if (len == 0)
		{
			tsdb_error(r, 400, "Missing request content", "POST a JSON query body, or use GET with query-string parameters.");
			return;
		}
		if (!body_is_text(body, len))
		{
			tsdb_error(r, 400, "Malformed query", "The body contains a NUL byte.");
			return;
		}
		/*
		 * ?arrays (without =false) asks for dps as [[ts, value], ...], on
		 * POST too: OpenTSDB reads it from the query string
		 */
		const char *arrays = req_arg(r, "arrays");
		bool		want_arrays = req_has_arg(r, "arrays") &&
			(arrays == NULL || strcasecmp(arrays, "false") != 0);

		if (body_deletes(body))
			run_json(r, SCOPE_READ, false,
					 want_arrays ? "SELECT vscope.tsdb_query_delete($1::jsonb || '{\"arrays\": true}')"
					 : "SELECT vscope.tsdb_query_delete($1::jsonb)", 1, params);
		else if (want_arrays)
			run_json(r, SCOPE_READ, true,
					 "SELECT vscope.tsdb_query(CASE WHEN jsonb_typeof($1::jsonb) = 'object' "
					 "THEN $1::jsonb || '{\"arrays\": true}' ELSE $1::jsonb END)", 1, params);
		else
			run_json(r, SCOPE_READ, true, "SELECT vscope.tsdb_query($1::jsonb)", 1, params);
	}
	else
	{
		char	   *args = query_args_json(r);
		const char *params[1] = {args};

		run_json(r, SCOPE_READ, true, "SELECT vscope.tsdb_query_get($1::jsonb)", 1, params);
		free(args);
	}
}

/*
 * A DELETE on the expression endpoints: OpenTSDB refuses it unless deleting
 * is allowed (vscope.query_allow_delete: vscope.tsdb_query_delete() checks
 * that first and refuses in OpenTSDB's words), and when it is answers as
 * for the other method; vscope deletes nothing through them.
 */
#define UNLESS_DELETE_REFUSED(call) \
	"SELECT CASE WHEN current_setting('vscope.query_allow_delete', true)::boolean THEN " call \
	" ELSE vscope.tsdb_query_delete('{}') END"

/*
 * api_query_exp answers /api/query/exp: the POST body goes to
 * vscope.tsdb_query_exp().  As OpenTSDB 2.4: a body that is missing (any
 * GET) or not JSON is a 500 (its JSON reader fails inside the handler).
 */
static void api_query_exp_run(VsRequest *r, const char *body, size_t len);
static bool stats_token(VsRequest *r);

void
api_query_exp(VsRequest *r)
{
	char		remote[64];
	size_t		len = 0;
	const char *body = "";
	unsigned long id;

	if (strcmp(req_method(r), "GET") != 0)
		body = req_body(r, &len);
	if (len == 0 || body == NULL)
	{
		/* a bad token is a 401 first */
		if (stats_token(r))
			tsdb_error(r, 500, "Incoming data was null or empty",
					   "POST the expression query as a JSON object.");
		return;
	}
	req_client_addr(r, remote, sizeof(remote));
	id = stats_query_begin("", remote, !body_is_text(body, len) ? "" : body);
	api_query_exp_run(r, body, len);
	stats_query_end(id, req_tenant(r), req_status(r));
}

static void
api_query_exp_run(VsRequest *r, const char *body, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;
	const char *params[1] = {body};

	if (!body_is_text(body, len))
	{
		if (stats_token(r))
			tsdb_error(r, 500, "Unable to parse the given JSON", "The body contains a NUL byte.");
		return;
	}
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, body, (int) len);
	if (obj == NULL || json_tokener_get_parse_end(tok) < len)
	{
		enum json_tokener_error err = json_tokener_get_error(tok);

		if (stats_token(r))
			tsdb_error(r, 500, "Unable to parse the given JSON",
					   obj != NULL ? "Something follows the JSON value." :
					   err == json_tokener_continue ? "The JSON ends too early." :
					   json_tokener_error_desc(err));
		if (obj)
			json_object_put(obj);
		json_tokener_free(tok);
		return;
	}
	json_object_put(obj);
	json_tokener_free(tok);
	if (strcmp(req_method(r), "DELETE") == 0)
		run_json(r, SCOPE_READ, true, UNLESS_DELETE_REFUSED("vscope.tsdb_query_exp($1::jsonb)"),
				 1, params);
	else
		run_json(r, SCOPE_READ, true, "SELECT vscope.tsdb_query_exp($1::jsonb)", 1, params);
}

/*
 * api_query_gexp answers /api/query/gexp: GET with the query-string form
 * (start, end, exp=function(...) repeated, m, ms, arrays...) through
 * vscope.tsdb_query_gexp(); a POST is an /api/query POST, as OpenTSDB 2.4
 * reads it.
 */
void
api_query_gexp(VsRequest *r)
{
	char		remote[64];
	char	   *args;
	const char *params[1];
	unsigned long id;

	if (strcmp(req_method(r), "POST") == 0)
	{
		api_query(r);
		return;
	}
	args = query_args_json(r);
	params[0] = args;
	req_client_addr(r, remote, sizeof(remote));
	id = stats_query_begin("", remote, args);
	if (strcmp(req_method(r), "DELETE") == 0)
		run_json(r, SCOPE_READ, true, UNLESS_DELETE_REFUSED("vscope.tsdb_query_gexp($1::jsonb)"),
				 1, params);
	else
		run_json(r, SCOPE_READ, true, "SELECT vscope.tsdb_query_gexp($1::jsonb)", 1, params);
	stats_query_end(id, req_tenant(r), req_status(r));
	free(args);
}

/* run_constant answers with an SQL function's constant JSON, no credentials asked */
static void
run_constant(VsRequest *r, const char *sql)
{
	PGconn	   *c = pool_acquire();
	PGresult   *res;

	if (c == NULL)
	{
		tsdb_error(r, 503, "Service unavailable", "No database connection could be had.");
		return;
	}
	res = PQexec(c, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
	{
		const char *v = PQgetvalue(res, 0, 0);

		req_respond(r, 200, "application/json", v, strlen(v));
	}
	else
	{
		char		msg[96];

		/* PostgreSQL's words are for the log (auth.c says why) */
		vs_log(LOG_ERROR, "request %s: database error: %s", http_request_id(),
			   PQresultErrorMessage(res));
		snprintf(msg, sizeof(msg), "Service unavailable (request %s)", http_request_id());
		tsdb_error(r, 503, msg, NULL);
	}
	PQclear(res);
	pool_release(c);
}

/* api_config_filters answers /api/config/filters (no credentials, as OpenTSDB) */
void
api_config_filters(VsRequest *r)
{
	run_constant(r, "SELECT vscope.tsdb_filters()");
}

/* api_aggregators answers /api/aggregators (no credentials, as OpenTSDB) */
void
api_aggregators(VsRequest *r)
{
	run_constant(r, "SELECT vscope.tsdb_aggregators()");
}

/* api_suggest answers /api/suggest: GET type, q, max, or the same as a JSON body */
void
api_suggest(VsRequest *r)
{
	const char *params[3];
	struct json_object *body = NULL;
	size_t		len;
	const char *text = req_body(r, &len);

	params[0] = req_arg(r, "type");
	params[1] = req_arg(r, "q");
	params[2] = req_arg(r, "max");
	if (strcmp(req_method(r), "POST") == 0 && len > 0)
	{
		struct json_object *v;

		body = json_tokener_parse(text);
		if (body == NULL || !json_object_is_type(body, json_type_object))
		{
			if (body)
				json_object_put(body);
			tsdb_error(r, 400, "Unable to parse the suggest request", "Send {\"type\": \"metrics\", \"q\": \"sys\", \"max\": 25}.");
			return;
		}
		if (json_object_object_get_ex(body, "type", &v))
			params[0] = json_object_get_string(v);
		if (json_object_object_get_ex(body, "q", &v))
			params[1] = json_object_get_string(v);
		if (json_object_object_get_ex(body, "max", &v))
			params[2] = json_object_get_string(v);
	}
	run_json(r, SCOPE_READ, true, "SELECT vscope.tsdb_suggest($1, coalesce($2, ''), coalesce($3, '25'))",
			 3, params);
	if (body)
		json_object_put(body);
}

/*
 * api_json_or_args answers an endpoint that takes a JSON body on POST and
 * query-string arguments on GET, each through its own SQL function.
 */
static void
api_json_or_args(VsRequest *r, const char *post_sql, const char *get_sql)
{
	if (strcmp(req_method(r), "POST") == 0)
	{
		size_t		len;
		const char *body = req_body(r, &len);
		const char *params[1] = {body};

		if (len == 0 || !body_is_text(body, len))
		{
			tsdb_error(r, 400, "Missing request content", "POST a JSON body, or use GET with query-string parameters.");
			return;
		}
		run_json(r, SCOPE_READ, true, post_sql, 1, params);
	}
	else
	{
		char	   *args = query_args_json(r);
		const char *params[1] = {args};

		run_json(r, SCOPE_READ, true, get_sql, 1, params);
		free(args);
	}
}

/* api_query_last answers /api/query/last */
void
api_query_last(VsRequest *r)
{
	api_json_or_args(r, "SELECT vscope.tsdb_last($1::jsonb)", "SELECT vscope.tsdb_last_get($1::jsonb)");
}

/* api_lookup answers /api/search/lookup */
void
api_lookup(VsRequest *r)
{
	api_json_or_args(r, "SELECT vscope.tsdb_lookup($1::jsonb)", "SELECT vscope.tsdb_lookup_get($1::jsonb)");
}

/*
 * api_method returns the method a request stands for: a GET may say
 * method_override=post|put|delete|get, as OpenTSDB's getAPIMethod reads
 * it (any case).  NULL, after answering OpenTSDB's 405, for a bad value.
 */
static const char *
api_method(VsRequest *r)
{
	const char *m = req_method(r);
	const char *o;

	if (strcmp(m, "GET") != 0 || !req_has_arg(r, "method_override"))
		return m;
	o = req_arg(r, "method_override");
	if (o == NULL || o[0] == '\0')
	{
		tsdb_error(r, 405, "Missing method override value", NULL);
		return NULL;
	}
	if (strcasecmp(o, "get") == 0)
		return "GET";
	if (strcasecmp(o, "post") == 0)
		return "POST";
	if (strcasecmp(o, "put") == 0)
		return "PUT";
	if (strcasecmp(o, "delete") == 0)
		return "DELETE";
	tsdb_error(r, 405, "Unknown or unsupported method override value", NULL);
	return NULL;
}

/*
 * api_annotation_run answers /api/annotation and /api/annotation/bulk
 * through fn(method, request): the JSON body when there is one, else the
 * query-string arguments as {"key": "value"} (tsuid, start_time...).
 * Reads need a read token, writes (POST, PUT, DELETE) a write token;
 * DELETE of one annotation answers 204 as OpenTSDB does.
 */
static void
api_annotation_run(VsRequest *r, const char *fn)
{
	const char *method = api_method(r);
	bool		get;
	size_t		len;
	const char *body = req_body(r, &len);
	char	   *args = NULL;
	char		sql[256];
	const char *params[2];
	VsTxn		t;
	PGresult   *res;

	if (method == NULL)
		return;
	get = strcmp(method, "GET") == 0;
	if (!body_is_text(body, len))
	{
		tsdb_error(r, 400, "Unable to parse the annotation", "The body contains a NUL byte.");
		return;
	}
	params[0] = method;
	if (len > 0 && !get)
	{
		params[1] = body;
		snprintf(sql, sizeof(sql), "SELECT vscope.%s($1, $2::jsonb)", fn);
	}
	else
	{
		params[1] = args = query_args_json(r);
		snprintf(sql, sizeof(sql),
				 "SELECT vscope.%s($1, (SELECT coalesce(jsonb_object_agg(key, value->>0), '{}') "
				 "FROM jsonb_each($2::jsonb)))", fn);
	}
	if (get)
	{
		run_json(r, SCOPE_READ, true, sql, 2, params);
		free(args);
		return;
	}
	if (!txn_begin(r, &t, SCOPE_WRITE, false))
	{
		tsdb_txn_error(r, &t);
		txn_free(&t);
		free(args);
		return;
	}
	res = txn_exec(&t, sql, 2, params);
	free(args);
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
	if (strcmp(method, "DELETE") == 0 && strcmp(fn, "tsdb_annotation") == 0)
		req_respond(r, 204, NULL, NULL, 0);
	else
	{
		const char *v = PQgetvalue(res, 0, 0);

		req_respond(r, 200, "application/json", v, strlen(v));
	}
	PQclear(res);
}

/* api_annotation answers /api/annotation (GET, POST, PUT, DELETE) */
void
api_annotation(VsRequest *r)
{
	api_annotation_run(r, "tsdb_annotation");
}

/* api_annotation_bulk answers /api/annotation/bulk (POST, PUT, DELETE) */
void
api_annotation_bulk(VsRequest *r)
{
	api_annotation_run(r, "tsdb_annotation_bulk");
}

/*
 * api_uid answers /api/uid/assign, /api/uid/uidmeta and /api/uid/tsmeta
 * through one SQL function each, fn(method, body, query-string arguments),
 * which returns (status, answer): 200 or 400 with a body, 204 and 304
 * without.  Reads (uidmeta and tsmeta GET) need a read token; writes, and
 * every assign (a GET assigns too, as in OpenTSDB), a write token.
 */
void
api_uid(VsRequest *r)
{
	const char *what = req_path(r) + strlen("/api/uid/");
	const char *method;
	const char *fn;
	bool		write;
	size_t		len;
	const char *body = req_body(r, &len);
	char	   *args;
	char		sql[160];
	const char *params[3];
	VsTxn		t;
	PGresult   *res;

	if (strcmp(what, "assign") == 0)
	{
		method = req_method(r);
		if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		{
			req_add_header(r, "Allow", "GET, POST");
			tsdb_error(r, 405, "Method not allowed", "The HTTP method is not permitted for this endpoint");
			return;
		}
		fn = "tsdb_uid_assign";
		write = true;
	}
	else if (strcmp(what, "uidmeta") == 0 || strcmp(what, "tsmeta") == 0)
	{
		if ((method = api_method(r)) == NULL)
			return;
		fn = what[0] == 'u' ? "tsdb_uidmeta" : "tsdb_tsmeta";
		write = strcmp(method, "GET") != 0;
	}
	else if (strcmp(what, "rename") == 0)
	{
		tsdb_error(r, 501, "The requested API endpoint has not been implemented",
				   "Renaming a metric, tag key or tag value is not supported: vscope names its series by them.");
		return;
	}
	else
	{
		tsdb_error(r, 501, "Other UID endpoints have not been implemented yet", NULL);
		return;
	}
	if (!body_is_text(body, len))
	{
		tsdb_error(r, 400, "Unable to parse the given JSON", "The body contains a NUL byte.");
		return;
	}
	if (!txn_begin(r, &t, write ? SCOPE_WRITE : SCOPE_READ, !write))
	{
		tsdb_txn_error(r, &t);
		txn_free(&t);
		return;
	}
	args = query_args_json(r);
	params[0] = method;
	params[1] = len > 0 && strcmp(method, "GET") != 0 ? body : NULL;
	params[2] = args;
	snprintf(sql, sizeof(sql), "SELECT status, answer::text FROM vscope.%s($1, $2, $3::jsonb)", fn);
	res = txn_exec(&t, sql, 3, params);
	free(args);
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
	if (PQgetisnull(res, 0, 1))
		req_respond(r, atoi(PQgetvalue(res, 0, 0)), NULL, NULL, 0);
	else
	{
		const char *v = PQgetvalue(res, 0, 1);

		req_respond(r, atoi(PQgetvalue(res, 0, 0)), "application/json", v, strlen(v));
	}
	PQclear(res);
}

/* ---- maintenance endpoints ---- */

/* config_add adds "key": "value" (OpenTSDB's config values are strings) */
static void
config_add(struct json_object *obj, const char *key, const char *value)
{
	json_object_object_add(obj, key, json_object_new_string(value));
}

static void
config_add_int(struct json_object *obj, const char *key, long value)
{
	char		v[32];

	snprintf(v, sizeof(v), "%ld", value);
	config_add(obj, key, v);
}

/*
 * api_config answers /api/config: the OpenTSDB settings that have a meaning
 * for vscope, with vscope's real values, then the vscope.* settings of the
 * database (vscope.settings()), then vscoped's own configuration.  Left
 * out: db-uri (it may hold a password), telnet-tenant, keystone-tenant and
 * ceilometer-udp-tenant (they name tenants), keystone-trusted-addresses,
 * ceilometer-udp-secret.  Any valid token may
 * ask.
 */
void
api_config(VsRequest *r)
{
	VsTxn		t;
	PGresult   *res;
	struct json_object *obj;
	struct json_object *settings;
	const VsConfig *c = vs_config;
	const char *json;

	if (!txn_begin(r, &t, SCOPE_READ, true))
	{
		tsdb_txn_error(r, &t);
		txn_free(&t);
		return;
	}
	res = txn_exec(&t, "SELECT vscope.settings()", 0, NULL);
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
	settings = json_tokener_parse(PQgetvalue(res, 0, 0));
	PQclear(res);

	obj = json_object_new_object();
	/* OpenTSDB's keys, in name order */
	config_add(obj, "tsd.core.auto_create_metrics", "true");
	config_add(obj, "tsd.core.auto_create_tagks", "true");
	config_add(obj, "tsd.core.auto_create_tagvs", "true");
	config_add(obj, "tsd.core.enable_api", "true");
	config_add(obj, "tsd.core.enable_ui", "false");
	config_add(obj, "tsd.core.meta.enable_realtime_ts", "false");
	config_add(obj, "tsd.core.meta.enable_realtime_uid", "false");
	config_add(obj, "tsd.core.tree.enable_processing", "false");
	/* vscope.query_allow_delete, as on/off in the settings */
	{
		struct json_object *ad;

		config_add(obj, "tsd.http.query.allow_delete",
				   settings != NULL && json_object_object_get_ex(settings, "vscope.query_allow_delete", &ad) &&
				   strcmp(json_object_get_string(ad), "on") == 0 ? "true" : "false");
	}
	config_add(obj, "tsd.http.request.enable_chunked", "true");
	config_add_int(obj, "tsd.http.request.max_chunk", c->max_body_size);
	config_add(obj, "tsd.mode", "rw");
	config_add(obj, "tsd.network.bind", c->server_host);
	config_add_int(obj, "tsd.network.port", c->server_port);
	config_add_int(obj, "tsd.query.timeout", (long) c->request_timeout * 1000);
	config_add(obj, "tsd.rollups.enable", "false");
	config_add(obj, "tsd.search.enable", "false");
	config_add(obj, "tsd.storage.fix_duplicates", "true");
	/* the database's settings */
	if (settings != NULL && json_object_is_type(settings, json_type_object))
	{
		json_object_object_foreach(settings, key, val)
			config_add(obj, key, json_object_get_string(val));
	}
	if (settings != NULL)
		json_object_put(settings);
	/* vscoped's configuration, in name order */
	config_add(obj, "vscoped.ceilometer-udp", c->udp_tenant[0] ? "true" : "false");
	config_add(obj, "vscoped.ceilometer-udp-host", c->udp_host);
	config_add_int(obj, "vscoped.ceilometer-udp-port", c->udp_port);
	config_add(obj, "vscoped.ceilometer-udp-signed", c->udp_secret[0] ? "true" : "false");
	config_add_int(obj, "vscoped.client-timeout", c->client_timeout);
	config_add_int(obj, "vscoped.db-pool", c->db_pool);
	config_add_int(obj, "vscoped.db-pool-acquisition-timeout", c->db_pool_acquisition_timeout);
	config_add(obj, "vscoped.identity-headers", c->identity_headers);
	config_add(obj, "vscoped.log-level", c->log_level);
	config_add_int(obj, "vscoped.maintenance-interval", c->maintenance_interval);
	config_add_int(obj, "vscoped.max-body-size", c->max_body_size);
	config_add_int(obj, "vscoped.max-connections", c->max_connections);
	config_add(obj, "vscoped.public-url", c->public_url);
	config_add_int(obj, "vscoped.request-timeout", c->request_timeout);
	config_add(obj, "vscoped.server-host", c->server_host);
	config_add_int(obj, "vscoped.server-port", c->server_port);
	config_add(obj, "vscoped.telnet", c->telnet_tenant[0] ? "true" : "false");
	config_add(obj, "vscoped.telnet-host", c->telnet_host);
	config_add_int(obj, "vscoped.telnet-port", c->telnet_port);
	config_add(obj, "vscoped.version", VSCOPED_VERSION);

	json = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	req_respond(r, 200, "application/json", json, strlen(json));
	json_object_put(obj);
}

/*
 * api_serializers answers /api/serializers: vscoped speaks JSON only; the
 * parsers and formatters are named as OpenTSDB's JSON serializer names
 * them, those of the endpoints vscoped serves.  No credentials, as
 * OpenTSDB.
 */
void
api_serializers(VsRequest *r)
{
	static const char answer[] =
		"[{\"formatters\":[\"formatSuggestV1\",\"formatSerializersV1\",\"formatAggregatorsV1\","
		"\"formatVersionV1\",\"formatDropCachesV1\",\"formatPutV1\",\"formatQueryV1\","
		"\"formatLastPointQueryV1\",\"formatSearchResultsV1\",\"formatStatsV1\","
		"\"formatQueryStatsV1\",\"formatConfigV1\",\"formatFilterConfigV1\","
		"\"formatErrorV1\",\"formatNotFoundV1\"],"
		"\"serializer\":\"json\","
		"\"parsers\":[\"parsePutV1\",\"parseSuggestV1\",\"parseQueryV1\","
		"\"parseLastPointQueryV1\",\"parseSearchQueryV1\"],"
		"\"class\":\"vscoped\","
		"\"response_content_type\":\"application/json; charset=UTF-8\","
		"\"request_content_type\":\"application/json\"}]";

	req_respond(r, 200, "application/json", answer, sizeof(answer) - 1);
}

/*
 * api_dropcaches answers /api/dropcaches: vscope.drop_caches() invalidates
 * the series cache and the known-days set of every backend, the pooled
 * connections' included (each rebuilds them on next use).  An admin or
 * superadmin token.
 */
void
api_dropcaches(VsRequest *r)
{
	VsTxn		t;
	PGresult   *res;
	static const char answer[] = "{\"message\":\"Caches dropped\",\"status\":\"200\"}";

	if (!txn_begin(r, &t, SCOPE_ADMIN, false))
	{
		tsdb_txn_error(r, &t);
		txn_free(&t);
		return;
	}
	res = txn_exec(&t, "SELECT vscope.drop_caches()", 0, NULL);
	if (res == NULL || !txn_commit(&t))
		tsdb_txn_error(r, &t);
	else
		req_respond(r, 200, "application/json", answer, sizeof(answer) - 1);
	if (res)
		PQclear(res);
	txn_end(&t);
	txn_free(&t);
}

/*
 * stats_token checks the credentials of a stats request (any valid token:
 * the counters span tenants, so not for anyone), or of a request answered
 * without the database (/api/query/exp's 500s); false when it answered
 */
static bool
stats_token(VsRequest *r)
{
	VsTxn		t;

	if (!txn_begin(r, &t, SCOPE_READ, true))
	{
		tsdb_txn_error(r, &t);
		txn_free(&t);
		return false;
	}
	txn_end(&t);
	txn_free(&t);
	return true;
}

/* api_stats answers /api/stats: vscoped's counters as OpenTSDB's data points */
void
api_stats(VsRequest *r)
{
	char		host[256] = "";
	char	   *json;

	if (!stats_token(r))
		return;
	gethostname(host, sizeof(host) - 1);
	json = stats_json(host, http_connections(), vs_config->db_pool);
	req_respond(r, 200, "application/json", json, strlen(json));
	free(json);
}

/*
 * api_stats_sub answers /api/stats/<what>: query lists the token's tenant's
 * last queries; jvm, threads and region_clients describe a JVM and HBase
 * vscope does not have (501); anything else is not an endpoint.
 */
void
api_stats_sub(VsRequest *r)
{
	const char *what = req_path(r) + strlen("/api/stats/");

	if (strcmp(what, "query") == 0)
	{
		char	   *json;

		if (!stats_token(r))
			return;
		json = stats_queries_json(req_tenant(r));
		req_respond(r, 200, "application/json", json, strlen(json));
		free(json);
	}
	else if (strcmp(what, "jvm") == 0 || strcmp(what, "threads") == 0 ||
			 strcmp(what, "region_clients") == 0)
		tsdb_error(r, 501, "The requested API endpoint has not been implemented",
				   strcmp(what, "region_clients") == 0
				   ? "vscope stores its data in PostgreSQL: there are no HBase region clients."
				   : "vscoped is written in C: there is no JVM to report on.");
	else
		tsdb_error(r, 404, "Endpoint not found", req_path(r));
}

/*
 * api_not_implemented answers the OpenTSDB endpoints that need HBase or a
 * plugin vscope does not have: trees, search plugins, rollups, histograms
 */
void
api_not_implemented(VsRequest *r)
{
	const char *path = req_path(r);
	const char *why =
		strncmp(path, "/api/tree", 9) == 0 ? "Trees are an HBase feature vscope does not have." :
		strncmp(path, "/api/search", 11) == 0 ? "Only /api/search/lookup is supported: other searches need a search plugin." :
		strncmp(path, "/api/rollup", 11) == 0 ? "Rollups are not supported; queries downsample the stored points." :
		"Histograms are not supported.";

	tsdb_error(r, 501, "The requested API endpoint has not been implemented", why);
}
