/*
 * router.h
 *	  Which handler answers which path and methods, and in which error
 *	  format a refusal is written.  The HTTP layer asks the router; the
 *	  handlers know nothing of it.
 */
#ifndef VSCOPED_ROUTER_H
#define VSCOPED_ROUTER_H

#include "http.h"

typedef void (*VsHandler) (VsRequest *r);
typedef void (*VsErrorFn) (VsRequest *r, int status, const char *message, const char *details);

typedef struct VsRoute
{
	const char *path;
	unsigned	methods;		/* VS_M_* bits */
	VsHandler	fn;
	const char *allow;			/* the Allow header of a 405 */
	bool		needs_token;	/* 401 before reading a body without credentials */
	bool		prefix;			/* path is a prefix: the handler parses the rest */
	VsErrorFn	error;			/* the API's error body */
} VsRoute;

enum
{
	VS_M_GET = 1, VS_M_POST = 2, VS_M_HEAD = 4, VS_M_PUT = 8, VS_M_DELETE = 16,
	VS_M_ALL = 31,
	VS_M_OPTIONS = 32			/* only where the handler answers a CORS preflight */
};

/* the route of a path (no query string, no trailing '/'), or NULL */
extern const VsRoute *router_find(const char *path);

/* the VS_M_* bit of a method name, 0 for any other */
extern unsigned router_method_bit(const char *method);

/* the error format of paths no route claims (Warp 10's under /api/v0, else OpenTSDB's) */
extern void router_error(VsRequest *r, int status, const char *message, const char *details);

#endif							/* VSCOPED_ROUTER_H */
