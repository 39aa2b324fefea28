/*
 * api_warp10.c
 *	  Warp 10's endpoints: GET /api/v0/fetch, GET /api/v0/find and POST
 *	  /api/v0/update, each one SQL call, and Warp 10's error form (Jetty's
 *	  error page: the status and the message).
 *
 *	  The token comes in X-Warp10-Token (fetch and find also take the
 *	  token parameter), never in vscope's own headers.  Fetch and find run
 *	  as vscope_reader with no tenant, and their SQL functions check the
 *	  token themselves (so that fetch checks its time parameters first, as
 *	  Warp 10 does); update is authenticated here with the write scope, as
 *	  /api/put is.  A bad or missing token is 403, Warp 10's status.
 *	  Fetch also reads its parameters from a form-encoded POST body.  A
 *	  browser's CORS preflight (OPTIONS) is answered as Warp 10 answers it.
 */
#include "api.h"

#include <json-c/json.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "log.h"

#define W10_TOKEN_HEADER "X-Warp10-Token"

/* buf_html appends s with the characters HTML gives a meaning escaped */
static void
buf_html(VsBuf *b, const char *s)
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
			case '"':
				buf_append(b, "&quot;", 6);
				break;
			default:
				buf_append(b, p, 1);
		}
	}
}

/*
 * warp10_error answers as Warp 10's Jetty does: the status and an HTML page
 * naming the message (clients look at the status; the message is for
 * people).  details are left out: Warp 10 has none.
 */
void
warp10_error(VsRequest *r, int status, const char *message, const char *details)
{
	VsBuf		b = {0};

	req_add_header(r, "Access-Control-Allow-Origin", "*");
	buf_printf(&b, "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n"
			   "<title>Error %d ", status);
	buf_html(&b, message);
	buf_printf(&b, "</title>\n</head>\n<body><h2>HTTP ERROR %d</h2>\n<p>Problem accessing ", status);
	buf_html(&b, req_path(r));
	buf_printf(&b, ". Reason:\n<pre>    ");
	buf_html(&b, message);
	buf_printf(&b, "</pre></p>\n</body>\n</html>\n");
	req_respond(r, status, "text/html;charset=utf-8", b.data, b.len);
	free(b.data);
}

/*
 * warp10_preflight answers a browser's CORS preflight (OPTIONS) as Warp
 * 10's CORSHandler does: any origin, the methods, the headers a client may
 * send (the token's among them), cached for 30 days.  True when it answered.
 */
bool
warp10_preflight(VsRequest *r)
{
	if (strcmp(req_method(r), "OPTIONS") != 0)
		return false;
	req_add_header(r, "Access-Control-Allow-Origin", "*");
	req_add_header(r, "Access-Control-Allow-Methods", "OPTIONS,POST,GET");
	req_add_header(r, "Access-Control-Allow-Headers",
				   "Content-Type,X-Warp10-Token,X-Warp10-Attributes,X-Warp10-Accelerator");
	req_add_header(r, "Access-Control-Max-Age", "2592000");
	req_respond(r, 200, NULL, NULL, 0);
	return true;
}

/* fail answers a failed transaction; a credentials failure is Warp 10's 403 */
static void
fail(VsRequest *r, VsTxn *t)
{
	int			status = t->status ? t->status : 500;

	if (status == 401)
		status = 403;
	warp10_error(r, status, t->message ? t->message : "Internal error", NULL);
}

/* the request's token: the header, else (where allowed) the parameter */
static const char *
request_token(VsRequest *r, bool param_too)
{
	const char *tok = req_header(r, W10_TOKEN_HEADER);

	if (tok == NULL && param_too)
		tok = req_arg(r, "token");
	return tok;
}

/* collect_arg keeps each query-string parameter's first value */
static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	json_object *args = cls;

	if (!json_object_object_get_ex(args, key, NULL))
		json_object_object_add(args, key, value ? json_object_new_string(value) : NULL);
	return MHD_YES;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* form_decode decodes one application/x-www-form-urlencoded part ('+' is a space) */
static char *
form_decode(const char *s, size_t n)
{
	char	   *out = malloc(n + 1);
	size_t		k = 0;

	if (out == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
	{
		if (s[i] == '+')
			out[k++] = ' ';
		else if (s[i] == '%' && i + 2 < n &&
				 hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0)
		{
			out[k++] = (char) (hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
			i += 2;
		}
		else
			out[k++] = s[i];
	}
	out[k] = '\0';
	return out;
}

/* collect_form adds a form-encoded body's parameters the query string lacks */
static void
collect_form(VsRequest *r, json_object *args)
{
	const char *ct = req_header(r, "Content-Type");
	size_t		len;
	const char *body = req_body(r, &len);
	size_t		pos = 0;

	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
		return;
	while (pos < len)
	{
		const char *part = body + pos;
		const char *amp = memchr(part, '&', len - pos);
		size_t		plen = amp ? (size_t) (amp - part) : len - pos;
		const char *eq = memchr(part, '=', plen);
		char	   *key = form_decode(part, eq ? (size_t) (eq - part) : plen);

		if (key[0] != '\0' && !json_object_object_get_ex(args, key, NULL))
		{
			if (eq)
			{
				char	   *value = form_decode(eq + 1, plen - (eq + 1 - part));

				json_object_object_add(args, key, json_object_new_string(value));
				free(value);
			}
			else
				json_object_object_add(args, key, NULL);
		}
		free(key);
		pos += plen + 1;
	}
}

/*
 * run_text makes the request's one call, sql($1 token, $2 args), as
 * vscope_reader with no tenant, and answers its text (JSON for
 * format=json).
 */
static void
run_text(VsRequest *r, const char *sql, bool post_form)
{
	VsTxn		t;
	json_object *args = json_object_new_object();
	json_object *format;
	const char *content_type = "text/plain;charset=utf-8";
	const char *params[2];
	PGresult   *res;

	req_add_header(r, "Access-Control-Allow-Origin", "*");
	MHD_get_connection_values(req_connection(r), MHD_GET_ARGUMENT_KIND, collect_arg, args);
	if (post_form && strcmp(req_method(r), "POST") == 0)
		collect_form(r, args);
	params[0] = request_token(r, true);
	if (params[0] == NULL)
	{
		json_object *tok;

		/* a token parameter in a form-encoded body */
		if (json_object_object_get_ex(args, "token", &tok) && tok != NULL)
			params[0] = json_object_get_string(tok);
	}
	if (json_object_object_get_ex(args, "format", &format) && format != NULL &&
		strcmp(json_object_get_string(format), "json") == 0)
		content_type = "application/json";
	params[1] = json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN);
	if (!txn_begin_anonymous(r, &t, "vscope_reader", true))
	{
		fail(r, &t);
		txn_free(&t);
		json_object_put(args);
		return;
	}
	res = txn_exec(&t, sql, 2, params);
	if (res == NULL || !txn_commit(&t))
	{
		if (res)
			PQclear(res);
		fail(r, &t);
	}
	else
	{
		const char *body = PQgetvalue(res, 0, 0);

		if (!PQgetisnull(res, 0, 1))
			req_set_tenant(r, PQgetvalue(res, 0, 1));
		req_respond(r, 200, content_type, body, strlen(body));
		PQclear(res);
	}
	txn_end(&t);
	txn_free(&t);
	json_object_put(args);
}

/*
 * The tenant the function bound is read after the call (a function scan
 * is run before the target list), for the access log.
 */
#define W10_TENANT_AFTER \
	", (SELECT tn.name FROM vscope.tenants tn WHERE tn.tenant_id = vscope.current_tenant())"

/* api_warp10_fetch answers GET (or form POST) /api/v0/fetch */
void
api_warp10_fetch(VsRequest *r)
{
	if (warp10_preflight(r))
		return;
	req_add_header(r, "X-Warp10-Timeunit", "1000000");
	run_text(r, "SELECT f.body" W10_TENANT_AFTER " FROM vscope.warp10_fetch_request($1, $2::jsonb) AS f(body)",
			 true);
}

/* api_warp10_find answers GET /api/v0/find */
void
api_warp10_find(VsRequest *r)
{
	if (warp10_preflight(r))
		return;
	run_text(r, "SELECT f.body" W10_TENANT_AFTER " FROM vscope.warp10_find_request($1, $2::jsonb) AS f(body)",
			 false);
}

/*
 * warp10_gunzip inflates a gzip body (update's, exec's), at most max bytes
 * of it (a small body must not become a huge one); a malloc'd,
 * NUL-terminated buffer, or NULL with *err on failure.
 */
char *
warp10_gunzip(const char *in, size_t len, long max, size_t *outlen, const char **err)
{
	z_stream	z;
	size_t		cap = len * 4 + 1024;
	char	   *out;
	int			rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
	{
		*err = "cannot inflate the body";
		return NULL;
	}
	out = malloc(cap);
	if (out == NULL)
		abort();
	z.next_in = (Bytef *) in;
	z.avail_in = (uInt) len;
	for (;;)
	{
		if (z.total_out + 1 >= cap)
		{
			cap *= 2;
			out = realloc(out, cap);
			if (out == NULL)
				abort();
		}
		z.next_out = (Bytef *) out + z.total_out;
		z.avail_out = (uInt) (cap - z.total_out - 1);
		rc = inflate(&z, Z_NO_FLUSH);
		if ((long) z.total_out > max)
		{
			*err = "the inflated body is larger than max-body-size";
			break;
		}
		if (rc == Z_STREAM_END)
		{
			*outlen = z.total_out;
			out[*outlen] = '\0';
			inflateEnd(&z);
			*err = NULL;
			return out;
		}
		if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_out == 0))
		{
			*err = "the gzip body is corrupt or truncated";
			break;
		}
	}
	inflateEnd(&z);
	free(out);
	return NULL;
}

/*
 * api_warp10_update answers POST /api/v0/update: the body, GTS input
 * format lines, goes to vscope.warp10_update() whole; 200 and no body
 * when every line was stored, else nothing is.
 */
void
api_warp10_update(VsRequest *r)
{
	VsTxn		t;
	size_t		len;
	const char *body = req_body(r, &len);
	const char *ct = req_header(r, "Content-Type");
	const char *token = request_token(r, false);
	char	   *inflated = NULL;
	const char *params[1];
	PGresult   *res;

	if (warp10_preflight(r))
		return;
	req_add_header(r, "Access-Control-Allow-Origin", "*");
	if (token == NULL)
	{
		warp10_error(r, 403, "Missing token.", NULL);
		return;
	}
	if (ct != NULL && strncasecmp(ct, "application/gzip", 16) == 0)
	{
		const char *err;

		inflated = warp10_gunzip(body, len, vs_config->max_body_size, &len, &err);
		if (inflated == NULL)
		{
			char		msg[160];

			snprintf(msg, sizeof(msg), "Error when updating data: %s", err);
			warp10_error(r, strstr(err, "larger") ? 413 : 400, msg, NULL);
			return;
		}
		body = inflated;
	}
	if (!body_is_text(body, len))
	{
		warp10_error(r, 400, "Error when updating data: the body contains a NUL byte", NULL);
		free(inflated);
		return;
	}
	if (!txn_begin_token(r, &t, token, SCOPE_WRITE, false))
	{
		fail(r, &t);
		txn_free(&t);
		free(inflated);
		return;
	}
	params[0] = body;
	res = txn_exec(&t, "SELECT vscope.warp10_update($1)", 1, params);
	free(inflated);
	if (res == NULL || !txn_commit(&t))
	{
		char	   *msg = NULL;

		if (res)
			PQclear(res);
		/* as Warp 10 words every failure of the update itself */
		if (asprintf(&msg, "Error when updating data: %s", t.message ? t.message : "Internal error") < 0)
			abort();
		free(t.message);
		t.message = msg;
		fail(r, &t);
	}
	else
	{
		req_respond(r, 200, NULL, NULL, 0);
		PQclear(res);
	}
	txn_end(&t);
	txn_free(&t);
}
