/*
 * http.c
 *	  The HTTP server (libmicrohttpd, a thread per connection): reads the
 *	  body within max-body-size, asks the router (router.c) which handler
 *	  answers the path, and writes one access-log line per request.
 *	  What can be refused before the body is read is refused here: unknown
 *	  paths get 404, known paths with another method 405, oversized bodies
 *	  413, requests without credentials where a route needs them 401, each
 *	  in the route's own error format (OpenTSDB's where no route claims the
 *	  path).
 *
 *	  A client has client-timeout seconds to send a whole request, counted
 *	  from its connection's opening or from its previous answer: a watcher
 *	  thread shuts down the socket of a connection past that (slow clients
 *	  dribbling a header or a body, idle keep-alive connections), so a few
 *	  of them cannot hold every one of max-connections.  The time a request
 *	  is served is not counted (request-timeout bounds its SQL).
 *
 *	  libmicrohttpd reads each request's head into connection-memory; a
 *	  query string with more parameters than fit there is cut off in its
 *	  URI callback (on_uri) and answered 414 here in the API's own form,
 *	  where libmicrohttpd would close the connection without an answer.
 */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "log.h"
#include "router.h"
#include "stats.h"

struct VsRequest
{
	struct MHD_Connection *conn;
	const char *method;
	char	   *path;			/* without query string or trailing '/' */
	VsBuf		body;
	bool		started;		/* presented to on_request (else libmicrohttpd answers it) */
	bool		too_big;
	size_t		query_params;	/* parameters of a query string cut off (0: none) */
	size_t		query_cap;		/* the most that fit connection-memory */
	bool		overloaded;		/* past max-bytes-in-flight: 503 once the body is in */
	size_t		reserved;		/* bytes of max-bytes-in-flight this body holds */
	char		id[24];			/* request id, in logs and 5xx answers */
	bool		responded;
	int			status;
	size_t		resp_len;
	char		tenant[160];
	struct timespec start;
	const VsRoute *route;
	char	   *as_tenant;		/* the tenant the request names, if any */
	int			nhdr;
	char	   *hdr_name[16];		/* extra response headers (Warp 10's exec sets 9) */
	char	   *hdr_value[16];
};

static struct MHD_Daemon *daemon_handle;
static MHD_socket quiesced_socket = MHD_INVALID_SOCKET;
static const VsConfig *config;
static pthread_mutex_t active_mu = PTHREAD_MUTEX_INITIALIZER;
static int	active;

/*
 * A connection being watched: receiving while its client owes a request,
 * since when.  Linked in watched under watch_mu from MHD's "started" to its
 * "closed" notification (MHD closes the socket only after that one, so the
 * watcher never shuts down a descriptor reused by another connection).
 */
typedef struct Watch
{
	int			fd;
	bool		receiving;
	bool		cut;
	struct timespec since;
	PGcancel   *cancel;			/* the query running for it, if any */
	bool		cancelled;
	char		id[24];			/* its request's id */
	char		addr[INET6_ADDRSTRLEN];
	struct Watch *prev;
	struct Watch *next;
} Watch;

static pthread_mutex_t watch_mu = PTHREAD_MUTEX_INITIALIZER;
static Watch *watched;
static pthread_t watcher_thread;
static bool watcher_running;
static volatile bool watcher_stopping;

/* the connection this thread serves (a thread per connection) */
static __thread Watch *cur_watch;
static __thread VsRequest *cur_request;

/* bytes of request bodies being received, over all connections */
static pthread_mutex_t inflight_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t inflight;
static unsigned long request_seq;
static unsigned request_salt;

/* ---- small buffers ---- */

void
buf_append(VsBuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (b->data == NULL)
			abort();			/* out of memory: nothing sane left to do */
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_printf(VsBuf *b, const char *fmt,...)
{
	va_list		ap;
	char	   *s = NULL;
	int			n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	buf_append(b, s, (size_t) n);
	free(s);
}

/* buf_json_string appends s as a JSON string literal */
void
buf_json_string(VsBuf *b, const char *s)
{
	buf_append(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		char		esc[8];

		switch (*p)
		{
			case '"':
				buf_append(b, "\\\"", 2);
				break;
			case '\\':
				buf_append(b, "\\\\", 2);
				break;
			case '\n':
				buf_append(b, "\\n", 2);
				break;
			case '\r':
				buf_append(b, "\\r", 2);
				break;
			case '\t':
				buf_append(b, "\\t", 2);
				break;
			default:
				if (*p < 0x20)
				{
					snprintf(esc, sizeof(esc), "\\u%04x", *p);
					buf_append(b, esc, 6);
				}
				else
					buf_append(b, (const char *) p, 1);
		}
	}
	buf_append(b, "\"", 1);
}

/* ---- request accessors ---- */

const char *
req_method(VsRequest *r)
{
	return r->method;
}

const char *
req_path(VsRequest *r)
{
	return r->path;
}

const char *
req_header(VsRequest *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
req_arg(VsRequest *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct ArgProbe
{
	const char *name;
	bool		found;
} ArgProbe;

static enum MHD_Result
probe_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	ArgProbe   *p = cls;

	if (strcmp(key, p->name) == 0)
	{
		p->found = true;
		return MHD_NO;
	}
	return MHD_YES;
}

/* req_has_arg tells whether the query string has the key, with or without a value */
bool
req_has_arg(VsRequest *r, const char *name)
{
	ArgProbe	p = {name, false};

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, probe_arg, &p);
	return p.found;
}

/* sockaddr_text writes an IPv4 or IPv6 address as text ("-" for anything else) */
void
sockaddr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	snprintf(buf, len, "-");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, buf, (socklen_t) len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, buf, (socklen_t) len);
}

/* req_client_addr writes the client's IP address ("-" when unknown) */
void
req_client_addr(VsRequest *r, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	sockaddr_text(ci != NULL ? ci->client_addr : NULL, buf, len);
}

struct MHD_Connection *
req_connection(VsRequest *r)
{
	return r->conn;
}

const char *
req_body(VsRequest *r, size_t *len)
{
	*len = r->body.len;
	return r->body.data ? r->body.data : "";
}

/*
 * body_is_text: whether len bytes can go to SQL as text, that is hold no
 * NUL byte (an empty body is text).  Every handler's check of a body, or of
 * one it inflated, is this one.
 */
bool
body_is_text(const char *body, size_t len)
{
	return len == 0 || memchr(body, '\0', len) == NULL;
}

/* req_text_body is the body when it is text (possibly empty), else NULL */
const char *
req_text_body(VsRequest *r, size_t *len)
{
	const char *body = req_body(r, len);

	return body_is_text(body, *len) ? body : NULL;
}

/* req_set_as_tenant names the tenant a superadmin token acts for (from the path) */
void
req_set_as_tenant(VsRequest *r, const char *tenant)
{
	free(r->as_tenant);
	r->as_tenant = strdup(tenant);
}

const char *
req_as_tenant(VsRequest *r)
{
	return r->as_tenant ? r->as_tenant : req_header(r, "X-Vscope-Tenant");
}

/* req_fail answers with the route's error format */
void
req_fail(VsRequest *r, int status, const char *message, const char *details)
{
	if (r->route != NULL)
		r->route->error(r, status, message, details);
	else
		router_error(r, status, message, details);
}

/* req_status is the status answered so far (0: none yet) */
int
req_status(VsRequest *r)
{
	return r->responded ? r->status : 0;
}

/* req_tenant is the tenant the credentials named ("" before they were checked) */
const char *
req_tenant(VsRequest *r)
{
	return r->tenant;
}

void
req_set_tenant(VsRequest *r, const char *tenant)
{
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
}

void
req_add_header(VsRequest *r, const char *name, const char *value)
{
	if (r->nhdr < (int) (sizeof(r->hdr_name) / sizeof(r->hdr_name[0])))
	{
		r->hdr_name[r->nhdr] = strdup(name);
		r->hdr_value[r->nhdr] = strdup(value);
		r->nhdr++;
	}
}

/*
 * http_request_id is the id of the request this thread serves ("-" on
 * threads that serve none: telnet, udp, maintenance).  5xx answers carry
 * it, and the log lines about them, so operators can find one from the
 * other.
 */
const char *
http_request_id(void)
{
	return cur_request != NULL ? cur_request->id : "-";
}

/*
 * http_db_attach tells the watcher which database connection runs this
 * thread's request, so that the query is cancelled if the client goes
 * away meanwhile; http_db_detach, that none does any more.  No-ops on
 * threads that serve no HTTP request.
 */
void
http_db_attach(PGconn *conn)
{
	PGcancel   *c;

	if (cur_watch == NULL || conn == NULL)
		return;
	c = PQgetCancel(conn);
	pthread_mutex_lock(&watch_mu);
	if (cur_watch->cancel != NULL)
		PQfreeCancel(cur_watch->cancel);
	cur_watch->cancel = c;
	cur_watch->cancelled = false;
	pthread_mutex_unlock(&watch_mu);
}

/*
 * http_client_gone tells whether the watcher cancelled this thread's query
 * because its client went away (so a query_canceled error is that, not a
 * statement timeout)
 */
bool
http_client_gone(void)
{
	bool		gone;

	if (cur_watch == NULL)
		return false;
	pthread_mutex_lock(&watch_mu);
	gone = cur_watch->cancelled;
	pthread_mutex_unlock(&watch_mu);
	return gone;
}

void
http_db_detach(void)
{
	if (cur_watch == NULL)
		return;
	pthread_mutex_lock(&watch_mu);
	if (cur_watch->cancel != NULL)
		PQfreeCancel(cur_watch->cancel);
	cur_watch->cancel = NULL;
	pthread_mutex_unlock(&watch_mu);
}

/*
 * inflight_reserve counts n more bytes of r's body against
 * max-bytes-in-flight; false (nothing counted) when that would pass it.
 */
static bool
inflight_reserve(VsRequest *r, size_t n)
{
	bool		ok;

	pthread_mutex_lock(&inflight_mu);
	ok = inflight + n <= (size_t) config->max_bytes_in_flight;
	if (ok)
	{
		inflight += n;
		r->reserved += n;
	}
	pthread_mutex_unlock(&inflight_mu);
	return ok;
}

static void
inflight_release(VsRequest *r)
{
	pthread_mutex_lock(&inflight_mu);
	inflight -= r->reserved;
	r->reserved = 0;
	pthread_mutex_unlock(&inflight_mu);
}

/* overloaded answers the 503 of a body past max-bytes-in-flight */
static void
answer_overloaded(VsRequest *r)
{
	req_fail(r, 503, "Service unavailable",
			 "Too many request bodies are being received at once (max-bytes-in-flight); retry later.");
}

/* req_respond queues the response; only the first call per request counts */
void
req_respond(VsRequest *r, int status, const char *content_type, const char *body, size_t len)
{
	struct MHD_Response *resp;

	if (r->responded)
		return;
	r->responded = true;
	r->status = status;
	r->resp_len = len;
	resp = MHD_create_response_from_buffer(len, (void *) (body ? body : ""),
										   MHD_RESPMEM_MUST_COPY);
	if (content_type != NULL && len > 0)
		MHD_add_response_header(resp, "Content-Type", content_type);
	for (int i = 0; i < r->nhdr; i++)
		MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	if (status == 503 && MHD_get_response_header(resp, "Retry-After") == NULL)
		MHD_add_response_header(resp, "Retry-After", "1");
	MHD_queue_response(r->conn, (unsigned) status, resp);
	MHD_destroy_response(resp);
}

/* req_respond_str answers with a JSON string body */
void
req_respond_str(VsRequest *r, int status, const char *json)
{
	req_respond(r, status, "application/json", json, strlen(json));
}

/* ---- health ---- */


/* ---- dispatch ---- */

/*
 * refuse answers what can be refused before the body is read: unknown path
 * (404), wrong method (405), a declared body over the limit (413), no
 * credentials where a token is needed (401).  True when it answered.
 */
static bool
refuse(VsRequest *r)
{
	const VsRoute *route = router_find(r->path);

	if (route == NULL)
	{
		router_error(r, 404, "Endpoint not found", r->path);
		return true;
	}
	r->route = route;
	if ((route->methods & router_method_bit(r->method)) == 0)
	{
		req_add_header(r, "Allow", route->allow);
		route->error(r, 405, "Method not allowed", "The HTTP method is not allowed for this endpoint");
		return true;
	}
	if (r->query_params > 0)
	{
		char		msg[192];

		if (r->query_cap == 0)
			snprintf(msg, sizeof(msg),
					 "The request line is too long for its query string to be read within connection-memory (%ld bytes)",
					 config->connection_memory);
		else
			snprintf(msg, sizeof(msg),
					 "The query string has %zu parameters; at most %zu fit in connection-memory (%ld bytes)",
					 r->query_params, r->query_cap, config->connection_memory);
		route->error(r, 414, "Request-URI too large", msg);
		return true;
	}
	if (r->too_big)
	{
		char		msg[128];

		snprintf(msg, sizeof(msg), "The request body is larger than max-body-size (%ld bytes)",
				 config->max_body_size);
		route->error(r, 413, "Request entity too large", msg);
		return true;
	}
	if (route->needs_token && req_header(r, "Authorization") == NULL &&
		req_header(r, "X-Auth-Token") == NULL)
	{
		route->error(r, 401, "Authentication required",
					 "Send a token as the password of HTTP basic auth (https://read:TOKEN@host/...) or in an X-Auth-Token header.");
		return true;
	}
	return false;
}

/* has_body tells whether the request announces a body */
static bool
has_body(VsRequest *r)
{
	const char *cl = req_header(r, "Content-Length");

	if (cl != NULL)
		return strtoll(cl, NULL, 10) > 0;
	return req_header(r, "Transfer-Encoding") != NULL;
}

/*
 * refuse_early is refuse, then what the headers decide before a body is
 * received and kept: its credentials (checked against the database, so
 * bad ones are answered without reading the body; the handler checks
 * them again in its transaction) and its room in max-bytes-in-flight.
 */
static void
refuse_early(VsRequest *r)
{
	const char *cl;
	VsPrecheck	kind;

	if (refuse(r) || !has_body(r))
		return;
	/*
	 * (behind keystonemiddleware the Ceilometer API's token is keystone's,
	 * not vscope's: those requests are trusted by address, in the handler)
	 */
	if (r->route->fn == api_coopr)
		kind = PRECHECK_COOPR;
	else if (r->route->fn == api_warp10_update && strcmp(r->method, "POST") == 0)
		kind = PRECHECK_WARP10;
	else if (r->route->needs_token &&
			 !(r->route->fn == api_ceilometer && strcmp(config->identity_headers, "keystone") == 0))
		kind = PRECHECK_TOKEN;
	else
		kind = PRECHECK_NONE;
	if (kind != PRECHECK_NONE)
	{
		int			status;
		char	   *message = NULL;
		char	   *detail = NULL;

		status = auth_precheck(r, kind, &message, &detail);
		if (status != 0)
			r->route->error(r, status, message, detail);
		free(message);
		free(detail);
		if (status != 0)
			return;
	}
	cl = req_header(r, "Content-Length");
	if (cl != NULL && !inflight_reserve(r, (size_t) strtoll(cl, NULL, 10)))
		answer_overloaded(r);
}

static void
dispatch(VsRequest *r)
{
	if (refuse(r))
		return;
	if (r->overloaded)
	{
		answer_overloaded(r);
		return;
	}
	r->route->fn(r);
	if (!r->responded)
		router_error(r, 500, "Internal error", "The endpoint did not answer");
}

/* watch_set marks conn's client as owing a request (from now) or not */
static void
watch_set(struct MHD_Connection *conn, bool receiving)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	Watch	   *w = ci != NULL ? ci->socket_context : NULL;

	if (w == NULL)
		return;
	pthread_mutex_lock(&watch_mu);
	w->receiving = receiving;
	clock_gettime(CLOCK_MONOTONIC, &w->since);
	pthread_mutex_unlock(&watch_mu);
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	Watch	   *w = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
	{
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ca =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		w = calloc(1, sizeof(Watch));
		if (w == NULL || fd == NULL)
		{
			free(w);
			return;
		}
		w->fd = fd->connect_fd;
		w->receiving = true;
		clock_gettime(CLOCK_MONOTONIC, &w->since);
		if (ca != NULL)
			sockaddr_text(ca->client_addr, w->addr, sizeof(w->addr));
		pthread_mutex_lock(&watch_mu);
		w->next = watched;
		if (watched)
			watched->prev = w;
		watched = w;
		pthread_mutex_unlock(&watch_mu);
		*socket_context = w;
	}
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED && w != NULL)
	{
		pthread_mutex_lock(&watch_mu);
		if (w->cancel != NULL)
			PQfreeCancel(w->cancel);
		if (w->prev)
			w->prev->next = w->next;
		else
			watched = w->next;
		if (w->next)
			w->next->prev = w->prev;
		pthread_mutex_unlock(&watch_mu);
		free(w);
		*socket_context = NULL;
	}
}

/* watcher cuts off the clients that did not send a whole request in time */
static void *
watcher(void *arg)
{
	while (!watcher_stopping)
	{
		struct timespec now;
		struct timespec pause = {0, 200 * 1000 * 1000};

		clock_gettime(CLOCK_MONOTONIC, &now);
		pthread_mutex_lock(&watch_mu);
		for (Watch *w = watched; w != NULL; w = w->next)
			if (w->receiving && !w->cut &&
				(now.tv_sec - w->since.tv_sec) * 1000L +
				(now.tv_nsec - w->since.tv_nsec) / 1000000L >= config->client_timeout * 1000L)
			{
				w->cut = true;
				shutdown(w->fd, SHUT_RDWR);
				vs_log(LOG_INFO, "%s: no whole request within client-timeout (%d s): connection closed",
					   w->addr[0] ? w->addr : "-", config->client_timeout);
			}
			else if (!w->receiving && w->cancel != NULL && !w->cancelled)
			{
				/* a client gone while its query runs: cancel the query */
				struct pollfd pfd = {w->fd, POLLRDHUP, 0};

				if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0)
				{
					char		err[256];

					w->cancelled = true;
					if (PQcancel(w->cancel, err, sizeof(err)))
						vs_log(LOG_INFO, "%s: client gone during request %s: its query is cancelled",
							   w->addr[0] ? w->addr : "-", w->id);
					else
						vs_log(LOG_WARN, "%s: client gone during request %s; cannot cancel its query: %s",
							   w->addr[0] ? w->addr : "-", w->id, err);
				}
			}
		pthread_mutex_unlock(&watch_mu);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/*
 * origin_form is where the path of url begins: after the scheme and host
 * of the absolute form ("http://host/path", which RFC 9112 has servers
 * accept), else url itself; "" for an absolute URL without a path.
 */
static const char *
origin_form(const char *url)
{
	size_t		skip = strncasecmp(url, "http://", 7) == 0 ? 7 :
		strncasecmp(url, "https://", 8) == 0 ? 8 : 0;

	if (skip == 0)
		return url;
	url += skip;
	return url + strcspn(url, "/?");
}

static char *
normalize_path(const char *url)
{
	const char *o = origin_form(url);
	size_t		n;
	char	   *p;

	if (o != url && (*o == '\0' || *o == '?'))
		return strdup("/");
	n = strcspn(o, "?");
	p = strndup(o, n);

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	return p;
}

/*
 * query_param_cap is how many query parameters libmicrohttpd can keep for a
 * request line of uri_len bytes within connection-memory.  libmicrohttpd
 * 0.9.75 reads the request line into a buffer of half of the connection's
 * memory (grown by steps of an eighth of what is left for a longer line)
 * and keeps a record of 64 bytes per query parameter in the rest; past it,
 * it closes the connection without any answer.  An eighth of the memory,
 * up to 16 kB, is left for the header lines' records and the answer's
 * header.
 */
#define QUERY_PARAM_BYTES 64

static size_t
query_param_cap(size_t uri_len)
{
	size_t		pool = (size_t) config->connection_memory;
	size_t		line = pool / 2;
	size_t		reserve = pool / 8 < 16384 ? pool / 8 : 16384;

	if (uri_len + 64 + pool / 16 > line)
		line = uri_len + 64 + pool / 16;
	if (line + reserve >= pool)
		return 0;
	return (pool - line - reserve) / QUERY_PARAM_BYTES;
}

/*
 * on_uri is libmicrohttpd's URI log callback: called once its request line
 * is read, before it parses the query string.  Its VsRequest becomes the
 * request's context (on_request starts it).  A query string with more
 * parameters than libmicrohttpd can keep is cut off here, at its '?', so
 * that libmicrohttpd keeps none and the request reaches on_request, which
 * answers a 414 in the API's own form (libmicrohttpd would close the
 * connection without an answer).  The URI is libmicrohttpd's own buffer,
 * which it documents as open to processing before it parses it.
 */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	VsRequest  *r = calloc(1, sizeof(VsRequest));
	char	   *query;

	if (r == NULL || uri == NULL)
		return r;
	r->path = normalize_path(uri);
	query = strchr(uri, '?');
	if (query != NULL && query[1] != '\0')
	{
		size_t		n = 1;
		size_t		cap = query_param_cap(strlen(uri));

		for (const char *c = query + 1; *c; c++)
			n += *c == '&';
		if (n > cap)
		{
			r->query_params = n;
			r->query_cap = cap;
			query[1] = '\0';
		}
	}
	return r;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
		   const char *method, const char *version, const char *upload_data,
		   size_t *upload_data_size, void **con_cls)
{
	VsRequest  *r = *con_cls;

	if (r == NULL || !r->started)
	{
		const char *cl;
		const union MHD_ConnectionInfo *ci;
		unsigned long seq;

		if (r == NULL)
			r = calloc(1, sizeof(VsRequest));
		if (r == NULL)
			return MHD_NO;
		r->started = true;
		r->conn = conn;
		r->method = method;
		free(r->path);
		r->path = normalize_path(url);
		clock_gettime(CLOCK_MONOTONIC, &r->start);
		*con_cls = r;
		pthread_mutex_lock(&active_mu);
		active++;
		seq = ++request_seq;
		pthread_mutex_unlock(&active_mu);
		snprintf(r->id, sizeof(r->id), "%08x%06lx", request_salt, seq & 0xffffffUL);
		cur_request = r;
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		cur_watch = ci != NULL ? ci->socket_context : NULL;
		if (cur_watch != NULL)
		{
			pthread_mutex_lock(&watch_mu);
			memcpy(cur_watch->id, r->id, sizeof(r->id));
			pthread_mutex_unlock(&watch_mu);
		}

		/* refuse what can be refused before reading (and keeping) a body */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl != NULL && strtoll(cl, NULL, 10) > config->max_body_size)
			r->too_big = true;
		refuse_early(r);
		return MHD_YES;
	}
	cur_request = r;

	if (*upload_data_size == 0)
		watch_set(conn, false);	/* the whole request is in */
	if (r->responded)
	{
		*upload_data_size = 0;	/* already answered: drop the rest */
		return MHD_YES;
	}
	if (*upload_data_size > 0)
	{
		if (!r->too_big && !r->overloaded)
		{
			size_t		want = r->body.len + *upload_data_size;

			if (want > (size_t) config->max_body_size)
				r->too_big = true;
			else if (want > r->reserved && !inflight_reserve(r, want - r->reserved))
				r->overloaded = true;	/* (a body without Content-Length) */
			else
				buf_append(&r->body, upload_data, *upload_data_size);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	dispatch(r);
	/* the body is no longer being received: its bytes leave the count */
	inflight_release(r);
	return MHD_YES;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	VsRequest  *r = *con_cls;
	struct timespec end;
	char		addr[INET6_ADDRSTRLEN];
	const union MHD_ConnectionInfo *st;

	if (r == NULL)
		return;
	/* libmicrohttpd's own answer, if it gave one (what vscoped did not answer) */
	st = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
	if (!r->started)
	{
		/* refused by libmicrohttpd after its request line (on_uri) */
		char	   *path = log_safe(r->path ? r->path : "");
		const union MHD_ConnectionInfo *ca =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		sockaddr_text(ca != NULL ? ca->client_addr : NULL, addr, sizeof(addr));
		vs_log(LOG_INFO, "%s - \"- %s\" %u 0 answered by libmicrohttpd (a header it cannot read or too big for connection-memory, a bad HTTP version or Content-Length)",
			   addr, path, st != NULL ? st->http_status : 0);
		free(path);
		free(r->path);
		free(r);
		*con_cls = NULL;
		return;
	}
	inflight_release(r);
	cur_request = NULL;
	watch_set(conn, true);		/* the next request's time starts now */
	if (!r->responded && st != NULL)
	{
		/* libmicrohttpd answered it itself (a chunked body it cannot read) */
		r->status = (int) st->http_status;
		r->responded = true;
	}
	stats_request(r->route ? r->route->path : NULL, r->responded ? r->status : 0);
	clock_gettime(CLOCK_MONOTONIC, &end);
	req_client_addr(r, addr, sizeof(addr));
	{
		char	   *method = log_safe(r->method);
		char	   *path = log_safe(r->path);

		vs_log(LOG_INFO, "%s %s \"%s %s\" %d %zu %.3fms id=%s%s", addr,
			   r->tenant[0] ? r->tenant : "-", method, path,
		   r->responded ? r->status : 0, r->resp_len,
		   (end.tv_sec - r->start.tv_sec) * 1e3 + (end.tv_nsec - r->start.tv_nsec) / 1e6, r->id,
			   toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed early)");
		free(method);
		free(path);
	}
	for (int i = 0; i < r->nhdr; i++)
	{
		free(r->hdr_name[i]);
		free(r->hdr_value[i]);
	}
	free(r->body.data);
	free(r->path);
	free(r->as_tenant);
	free(r);
	*con_cls = NULL;
	pthread_mutex_lock(&active_mu);
	active--;
	pthread_mutex_unlock(&active_mu);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	   *s = NULL;

	if (vasprintf(&s, fmt, ap) >= 0)
	{
		s[strcspn(s, "\n")] = '\0';
		vs_log(LOG_DEBUG, "http: %s", s);
		free(s);
	}
}

/* http_start listens on server-host:server-port; returns -1 on failure */
int
http_start(const VsConfig *cfg)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr *addr;
	/*
	 * poll(), not select(): select() cannot watch a descriptor past
	 * FD_SETSIZE (1024), so under load (a thousand connections, the pool,
	 * the telnet clients) every connection past it was dropped at once
	 */
	unsigned	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;

	config = cfg;
	{
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		request_salt = (unsigned) (now.tv_sec ^ (now.tv_nsec << 8) ^ (getpid() << 16));
	}
	memset(&a4, 0, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	if (inet_pton(AF_INET, cfg->server_host, &a4.sin_addr) == 1)
	{
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t) cfg->server_port);
		addr = (struct sockaddr *) &a4;
	}
	else if (inet_pton(AF_INET6, cfg->server_host, &a6.sin6_addr) == 1)
	{
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t) cfg->server_port);
		addr = (struct sockaddr *) &a6;
		flags |= MHD_USE_IPv6;
	}
	else
	{
		vs_log(LOG_CRIT, "server-host \"%s\" is not an IPv4 or IPv6 address", cfg->server_host);
		return -1;
	}
	daemon_handle = MHD_start_daemon(flags, (uint16_t) cfg->server_port, NULL, NULL,
									 on_request, NULL,
									 MHD_OPTION_SOCK_ADDR, addr,
									 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
									 MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
									 MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
									 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) cfg->connection_memory,
									 MHD_OPTION_CONNECTION_LIMIT, (unsigned) cfg->max_connections,
									 MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) cfg->max_connections_per_client,
									 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 120,
									 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
									 MHD_OPTION_END);
	if (daemon_handle == NULL)
	{
		vs_log(LOG_CRIT, "cannot listen on %s:%d (in use, or not allowed)",
			   cfg->server_host, cfg->server_port);
		return -1;
	}
	watcher_stopping = false;
	watcher_running = pthread_create(&watcher_thread, NULL, watcher, NULL) == 0;
	if (!watcher_running)
		vs_log(LOG_WARN, "cannot start the client-timeout watcher: slow clients are not cut off");
	return 0;
}

/* http_quiesce stops accepting connections; requests under way go on */
void
http_quiesce(void)
{
	/* the socket is ours to close, but only after MHD_stop_daemon */
	if (daemon_handle != NULL)
		quiesced_socket = MHD_quiesce_daemon(daemon_handle);
}

/* http_connections is the number of HTTP connections open now */
unsigned
http_connections(void)
{
	const union MHD_DaemonInfo *di = daemon_handle == NULL ? NULL :
		MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return di != NULL ? di->num_connections : 0;
}

int
http_active(void)
{
	int			n;

	pthread_mutex_lock(&active_mu);
	n = active;
	pthread_mutex_unlock(&active_mu);
	return n;
}

void
http_stop(void)
{
	if (daemon_handle != NULL)
		MHD_stop_daemon(daemon_handle);
	daemon_handle = NULL;
	if (watcher_running)
	{
		watcher_stopping = true;
		pthread_join(watcher_thread, NULL);
		watcher_running = false;
	}
	if (quiesced_socket != MHD_INVALID_SOCKET)
		close(quiesced_socket);
	quiesced_socket = MHD_INVALID_SOCKET;
}
