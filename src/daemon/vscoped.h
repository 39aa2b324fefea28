/*
 * vscoped.h
 *	  Declarations shared by the modules of vscoped, the vscope HTTP daemon.
 *
 *	  vscoped holds no query semantics: each endpoint becomes one SQL call in
 *	  one transaction, run as the role and tenant that the request's
 *	  credentials map to (vscope.authenticate), and the answer is returned
 *	  in the API's own format.
 */
#ifndef VSCOPED_H
#define VSCOPED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define VSCOPED_VERSION "0.1.1"

/* config.c */
typedef struct VsConfig
{
	char	   *db_uri;
	int			db_pool;
	int			db_pool_acquisition_timeout;	/* seconds */
	char	   *server_host;
	int			server_port;
	char	   *log_level;
	long		max_body_size;	/* bytes */
	int			max_connections;
	int			request_timeout;	/* seconds, per SQL statement */
	int			maintenance_interval;	/* seconds; 0 = never */
	char	   *telnet_host;
	int			telnet_port;
	char	   *telnet_tenant;	/* "" = no telnet listener */
	char	   *public_url;		/* the API's own URL, as clients reach it */
	char	   *identity_headers;	/* Ceilometer callers: "token" or "keystone" */
	char	   *keystone_tenant;	/* the tenant keystone callers act in */
	char	   *keystone_trusted;	/* addresses whose identity headers are trusted */
} VsConfig;

extern int	config_load(VsConfig *cfg, const char *path, char *err, size_t errlen);
extern void config_print_example(void);

/* log.c */
typedef enum
{
	LOG_CRIT, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG
} VsLogLevel;
extern bool log_set_level(const char *name);
extern void vs_log(VsLogLevel level, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* pool.c */
extern bool pool_init(const char *conninfo, int size, int acquire_timeout);
extern PGconn *pool_acquire(void);
extern void pool_release(PGconn *conn);
extern bool pool_reconnect(PGconn **conn);
extern void pool_close(void);

/* http.c: a request being answered */
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
extern void req_set_tenant(VsRequest *r, const char *tenant);
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

extern int	http_start(const VsConfig *cfg);
extern void http_quiesce(void);
extern int	http_active(void);
extern void http_stop(void);

/* telnet.c */
extern int	telnet_start(const VsConfig *cfg);
extern void telnet_stop(void);
extern int	telnet_active(void);

/* auth.c: credentials, and the request's transaction */
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
} VsTxn;

extern bool txn_begin(VsRequest *r, VsTxn *t, VsScope need, bool read_only);
extern bool txn_begin_coopr(VsRequest *r, VsTxn *t, bool read_only);
extern bool txn_begin_trusted(VsRequest *r, VsTxn *t, const char *tenant, const char *role,
							  bool read_only);
extern PGresult *txn_exec(VsTxn *t, const char *sql, int nparams, const char *const *params);
extern bool txn_commit(VsTxn *t);
extern void txn_end(VsTxn *t);
extern void txn_free(VsTxn *t);
extern int	http_status_for_sqlstate(const char *sqlstate);
extern int	request_timeout_secs;

/* api_tsdb.c: OpenTSDB endpoints */
extern void tsdb_error(VsRequest *r, int status, const char *message, const char *details);
extern void tsdb_txn_error(VsRequest *r, VsTxn *t);
extern void api_version(VsRequest *r);
extern void api_put(VsRequest *r);
extern void api_query(VsRequest *r);
extern void api_aggregators(VsRequest *r);
extern void api_suggest(VsRequest *r);
extern void api_query_last(VsRequest *r);
extern void api_lookup(VsRequest *r);
typedef void (*VsFailFn) (VsRequest *r, VsTxn *t);
extern void txn_answer_json(VsRequest *r, VsTxn *t, int ok_status, const char *sql,
							int nparams, const char *const *params, VsFailFn fail);
extern void run_json_as(VsRequest *r, VsScope need, bool read_only, const char *sql,
						int nparams, const char *const *params, VsFailFn fail);

/* api_vscope.c: vScope live data */
extern void ovh_error(VsRequest *r, int status, const char *message, const char *details);
extern void api_vscope(VsRequest *r);
extern const VsConfig *vs_config;

/* api_ceilometer.c: the Ceilometer V2 API */
extern void ceilometer_error(VsRequest *r, int status, const char *message, const char *details);
extern void api_ceilometer(VsRequest *r);

/* api_coopr.c: Coopr admin metrics */
extern void coopr_error(VsRequest *r, int status, const char *message, const char *details);
extern void api_coopr(VsRequest *r);

#endif							/* VSCOPED_H */
