/*
 * auth.h
 *	  Credentials turned into a tenant and a database role, and the
 *	  request's one transaction (SET LOCAL ROLE, the tenant setting, a
 *	  statement timeout) in which its SQL call runs and is answered.
 */
#ifndef VSCOPED_AUTH_H
#define VSCOPED_AUTH_H

#include <libpq-fe.h>

#include "http.h"

typedef enum
{
	SCOPE_NONE, SCOPE_READ, SCOPE_WRITE, SCOPE_ADMIN
} VsScope;

typedef struct VsTxn
{
	PGconn	   *conn;
	char		tenant[160];
	char		scopes[64];		/* the token's scopes, comma-separated */
	int			status;			/* HTTP status of a failure, 0 while fine */
	char	   *message;		/* failure message (malloc) */
	char	   *detail;
	char	   *hint;
	int			share;			/* its count in the tenant's share of the pool, + 1 */
} VsTxn;

extern bool txn_begin(VsRequest *r, VsTxn *t, VsScope need, bool read_only);
extern bool txn_begin_token(VsRequest *r, VsTxn *t, const char *token, VsScope need,
							bool read_only);
extern bool txn_begin_anonymous(VsRequest *r, VsTxn *t, const char *role, bool read_only);
extern bool txn_begin_coopr(VsRequest *r, VsTxn *t, bool read_only);
extern bool txn_begin_publisher(VsRequest *r, VsTxn *t, const char *keystone_tenant,
								const char **routing);
extern bool txn_begin_trusted(VsRequest *r, VsTxn *t, const char *tenant, const char *role,
							  bool read_only);
extern PGresult *txn_exec(VsTxn *t, const char *sql, int nparams, const char *const *params);
extern bool txn_commit(VsTxn *t);
extern void txn_end(VsTxn *t);
extern void txn_free(VsTxn *t);
extern int	http_status_for_sqlstate(const char *sqlstate);
extern void auth_init(int pool_size, int share_percent, int wait_secs);
typedef enum
{
	PRECHECK_NONE,				/* nothing to check before the body */
	PRECHECK_TOKEN,				/* basic auth or X-Auth-Token */
	PRECHECK_COOPR,				/* Coopr-UserID, Coopr-TenantID, Coopr-ApiKey */
	PRECHECK_WARP10				/* X-Warp10-Token (Warp 10's update) */
} VsPrecheck;
extern int	auth_precheck(VsRequest *r, VsPrecheck kind, char **message, char **detail);
extern int	request_timeout_secs;

/* a request's failure, answered in its API's error format */
typedef void (*VsFailFn) (VsRequest *r, VsTxn *t);

/* one SQL call in the request's transaction, answered with its json value */
extern void txn_answer_json(VsRequest *r, VsTxn *t, int ok_status, const char *sql,
							int nparams, const char *const *params, VsFailFn fail);
extern void run_json_as(VsRequest *r, VsScope need, bool read_only, const char *sql,
						int nparams, const char *const *params, VsFailFn fail);

#endif							/* VSCOPED_AUTH_H */
