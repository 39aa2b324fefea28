/*
 * http.h
 *	  The HTTP server and what a handler may do with the request it
 *	  answers: read its method, path, headers, arguments and body, and
 *	  respond once.  Which handler answers which path is router.h's.
 */
#ifndef VSCOPED_HTTP_H
#define VSCOPED_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "config.h"

/* a request being answered */
typedef struct VsRequest VsRequest;

typedef struct VsBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} VsBuf;

extern void buf_append(VsBuf *b, const char *s, size_t n);
extern void buf_printf(VsBuf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern void buf_json_string(VsBuf *b, const char *s);

extern const char *req_method(VsRequest *r);
extern const char *req_path(VsRequest *r);
extern const char *req_header(VsRequest *r, const char *name);
extern const char *req_arg(VsRequest *r, const char *name);
extern bool req_has_arg(VsRequest *r, const char *name);
extern const char *req_body(VsRequest *r, size_t *len);
extern bool body_is_text(const char *body, size_t len);
extern const char *req_text_body(VsRequest *r, size_t *len);
extern void req_set_tenant(VsRequest *r, const char *tenant);
extern const char *req_tenant(VsRequest *r);
extern int	req_status(VsRequest *r);
extern void req_set_as_tenant(VsRequest *r, const char *tenant);
extern const char *req_as_tenant(VsRequest *r);
extern void req_fail(VsRequest *r, int status, const char *message, const char *details);
extern void req_respond(VsRequest *r, int status, const char *content_type,
						const char *body, size_t len);
extern void req_respond_str(VsRequest *r, int status, const char *json);
struct MHD_Connection;
extern struct MHD_Connection *req_connection(VsRequest *r);
extern void req_client_addr(VsRequest *r, char *buf, size_t len);
struct sockaddr;
extern void sockaddr_text(const struct sockaddr *sa, char *buf, size_t len);
extern void req_add_header(VsRequest *r, const char *name, const char *value);

/* the request this thread serves: its id, and the query it runs */
extern const char *http_request_id(void);
extern void http_db_attach(PGconn *conn);
extern void http_db_detach(void);
extern bool http_client_gone(void);

/* the server */
extern int	http_start(const VsConfig *cfg);
extern void http_quiesce(void);
extern int	http_active(void);
extern unsigned http_connections(void);
extern void http_stop(void);

#endif							/* VSCOPED_HTTP_H */
