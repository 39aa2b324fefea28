/*
 * api_warp10_exec.c
 *	  Warp 10's POST /api/v0/exec (any method, like Warp 10): the body is a
 *	  WarpScript, run by one SQL call, vscope.warp10_exec(), in a read-only
 *	  transaction as vscope_reader with no tenant (txn_begin_anonymous).  Exec needs no
 *	  credentials (Grafana's connection test sends "1 2 +"): row-level
 *	  security shows that role nothing, and only a token given to FETCH or
 *	  FIND binds the transaction to that token's tenant, in the database.
 *
 *	  200: the stack as JSON, with X-Warp10-Elapsed (ns), X-Warp10-Ops,
 *	  X-Warp10-Fetched and X-Warp10-Timeunit.  A failing script: 500 with
 *	  X-Warp10-Error-Line and X-Warp10-Error-Message (what Grafana reads)
 *	  and Jetty's error page "ERROR line #N: message".  CORS headers on
 *	  both, so browsers (Quantum, Grafana direct mode) can read them.
 *	  Path segments after /api/v0/exec (the 2018 docs' /exec/warpscript)
 *	  are ignored.  A gzip body (Content-Type: application/gzip) is
 *	  inflated first; a browser's CORS preflight is answered as for fetch.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "log.h"

/* Warp 10 abbreviates header values to this many characters */
#define W10_MAX_HEADER 1024

static const char *const expose_ok =
"X-Warp10-Elapsed,X-Warp10-Ops,X-Warp10-Fetched,X-Warp10-Timeunit";
static const char *const expose_error =
"X-Warp10-Elapsed,X-Warp10-Ops,X-Warp10-Fetched,X-Warp10-Timeunit,"
"X-Warp10-Error-Line,X-Warp10-Error-Position,X-Warp10-Error-Message";

static long long
elapsed_ns(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long) (now.tv_sec - start->tv_sec) * 1000000000LL + (now.tv_nsec - start->tv_nsec);
}

/* the headers every exec answer carries */
static void
add_common_headers(VsRequest *r, const struct timespec *start, const char *ops,
				   const char *fetched, bool error)
{
	char		buf[32];

	req_add_header(r, "Access-Control-Allow-Origin", "*");
	req_add_header(r, "X-Warp10-Timeunit", "1000000");
	req_add_header(r, "Access-Control-Expose-Headers", error ? expose_error : expose_ok);
	snprintf(buf, sizeof(buf), "%lld", elapsed_ns(start));
	req_add_header(r, "X-Warp10-Elapsed", buf);
	req_add_header(r, "X-Warp10-Ops", ops);
	req_add_header(r, "X-Warp10-Fetched", fetched);
}

/*
 * header_value makes a message fit an HTTP header: control characters
 * become spaces, and a message longer than Warp 10's limit loses its
 * middle (as Warp 10 abbreviates it), on a UTF-8 character boundary.
 */
static char *
header_value(const char *msg)
{
	size_t		n = strlen(msg);
	char	   *out;

	if (n > W10_MAX_HEADER)
	{
		size_t		head = W10_MAX_HEADER / 2 - 2;
		size_t		tail = W10_MAX_HEADER - head - 3;
		size_t		tstart = n - tail;

		while (head > 0 && ((unsigned char) msg[head] & 0xC0) == 0x80)
			head--;
		while (tstart < n && ((unsigned char) msg[tstart] & 0xC0) == 0x80)
			tstart++;
		out = malloc(head + 3 + (n - tstart) + 1);
		if (out == NULL)
			abort();
		memcpy(out, msg, head);
		memcpy(out + head, "...", 3);
		memcpy(out + head + 3, msg + tstart, n - tstart + 1);
	}
	else
	{
		out = strdup(msg);
		if (out == NULL)
			abort();
	}
	for (char *p = out; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			*p = ' ';
	return out;
}

static void
buf_html(VsBuf *b, const char *s)
{
	for (const char *p = s; *p; p++)
	{
		if (*p == '<')
			buf_append(b, "&lt;", 4);
		else if (*p == '>')
			buf_append(b, "&gt;", 4);
		else if (*p == '&')
			buf_append(b, "&amp;", 5);
		else if (*p == '"')
			buf_append(b, "&quot;", 6);
		else
			buf_append(b, p, 1);
	}
}

/*
 * exec_fail answers a failed script as Warp 10 does: the status, the error
 * headers and Jetty's error page whose reason is "ERROR line #N: message".
 */
static void
exec_fail(VsRequest *r, const struct timespec *start, int status, long long line,
		  const char *message, const char *ops, const char *fetched)
{
	char		linebuf[32];
	char	   *hv = header_value(message);
	VsBuf		b = {0};
	VsBuf		reason = {0};

	add_common_headers(r, start, ops, fetched, true);
	snprintf(linebuf, sizeof(linebuf), "%lld", line);
	req_add_header(r, "X-Warp10-Error-Line", linebuf);
	req_add_header(r, "X-Warp10-Error-Message", hv);
	free(hv);

	if (line > 0)
		buf_printf(&reason, "ERROR line #%lld: ", line);
	buf_append(&reason, message, strlen(message));
	buf_append(&reason, "", 1);
	buf_printf(&b, "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n"
			   "<title>Error %d ", status);
	buf_html(&b, reason.data);
	buf_printf(&b, "</title>\n</head>\n<body><h2>HTTP ERROR %d</h2>\n<p>Problem accessing /api/v0/exec. Reason:\n<pre>    ",
			   status);
	buf_html(&b, reason.data);
	buf_printf(&b, "</pre></p>\n</body>\n</html>\n");
	req_respond(r, status, "text/html;charset=utf-8", b.data, b.len);
	free(b.data);
	free(reason.data);
}

/* the detail of a script error: "line N, N operations, N points fetched" */
static void
parse_detail(const char *detail, long long *line, char *ops, size_t opslen,
			 char *fetched, size_t fetchedlen)
{
	long long	l = 0,
				o = 0,
				f = 0;

	if (detail != NULL &&
		sscanf(detail, "line %lld, %lld operations, %lld points fetched", &l, &o, &f) == 3)
	{
		*line = l;
		snprintf(ops, opslen, "%lld", o);
		snprintf(fetched, fetchedlen, "%lld", f);
	}
}

/* warp10_exec_error answers a refusal before the script runs (405, 413) */
void
warp10_exec_error(VsRequest *r, int status, const char *message, const char *details)
{
	struct timespec start;
	char		msg[512];

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (details != NULL && details[0] != '\0')
		snprintf(msg, sizeof(msg), "%s: %s", message, details);
	else
		snprintf(msg, sizeof(msg), "%s", message);
	exec_fail(r, &start, status, 0, msg, "0", "0");
}

void
api_warp10_exec(VsRequest *r)
{
	struct timespec start;
	size_t		len;
	const char *body = req_body(r, &len);
	char	   *script;
	const char *params[1];
	VsTxn		t;
	PGresult   *res;
	const char *ct = req_header(r, "Content-Type");
	char	   *inflated = NULL;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (warp10_preflight(r))
		return;
	if (ct != NULL && strncasecmp(ct, "application/gzip", 16) == 0)
	{
		const char *err;

		inflated = warp10_gunzip(body, len, vs_config->max_body_size, &len, &err);
		if (inflated == NULL)
		{
			exec_fail(r, &start, 500, 0, err, "0", "0");
			return;
		}
		body = inflated;
	}
	if (!body_is_text(body, len))
	{
		exec_fail(r, &start, 500, 0, "The script contains a NUL character.", "0", "0");
		free(inflated);
		return;
	}
	script = strndup(body, len);
	free(inflated);
	if (script == NULL)
		abort();
	if (!txn_begin_anonymous(r, &t, "vscope_reader", true))
	{
		exec_fail(r, &start, t.status ? t.status : 500, 0,
				  t.message ? t.message : "Internal error", "0", "0");
		txn_free(&t);
		free(script);
		return;
	}
	params[0] = script;
	res = PQexecParams(t.conn, "SELECT stack, ops, fetched FROM vscope.warp10_exec($1)",
					   1, NULL, params, NULL, NULL, 0);
	free(script);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
	{
		const char *stack = PQgetvalue(res, 0, 0);

		add_common_headers(r, &start, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), false);
		req_respond(r, 200, "application/json; charset=utf-8", stack, strlen(stack));
	}
	else
	{
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		long long	line = 0;
		char		generic[96];
		char		ops[32] = "0";
		char		fetched[32] = "0";
		int			status = 500;

		if (st != NULL && strcmp(st, "VSW00") == 0)
			parse_detail(PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL), &line,
						 ops, sizeof(ops), fetched, sizeof(fetched));
		else
		{
			/* not the script's fault: the database's (503) or vscoped's */
			status = st == NULL ? 503 : http_status_for_sqlstate(st);
			if (status == 504 && http_client_gone())
			{
				/* its client went away (auth.c says why 499) */
				vs_log(LOG_INFO, "request %s: its client went away and its query was cancelled",
					   http_request_id());
				status = 499;
			}
			else
				vs_log(LOG_ERROR, "request %s: exec: database error %s: %s", http_request_id(),
					   st ? st : "?", msg ? msg : PQresultErrorMessage(res));
			/*
			 * the server's own failures: PostgreSQL's words are for the log
			 * (auth.c says why); a limit the script hit (class 54, say)
			 * keeps its message
			 */
			if (status >= 500)
			{
				snprintf(generic, sizeof(generic), "%s (request %s)",
						 status == 503 ? "Database unavailable" : status == 504 ?
						 "The request took longer than request-timeout" : "Internal server error",
						 http_request_id());
				msg = generic;
			}
			else if (status != 499)
				status = 500;
		}
		exec_fail(r, &start, status, line, msg ? msg : "Database unavailable", ops, fetched);
	}
	PQclear(res);
	txn_end(&t);
	txn_free(&t);
}
