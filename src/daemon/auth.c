/*
 * auth.c
 *	  Turns a request's credentials into a tenant and a database role, and
 *	  runs the request's one transaction.
 *
 *	  Credentials: HTTP basic auth whose password is a token (the vScope
 *	  guide's https://read:TOKEN@host/api/query; the user name is ignored),
 *	  or an X-Auth-Token header.  A superadmin token may act for a tenant
 *	  named in X-Vscope-Tenant.  The token is checked by
 *	  vscope.authenticate() inside the transaction, then the role is set
 *	  with set_config(..., true) through a bound parameter and the tenant
 *	  with SET LOCAL (an integer, quoted), so they end with the transaction
 *	  and never leak to the next request.  SET LOCAL, with
 *	  citus.propagate_set_commands = 'local', is what carries the tenant to
 *	  the shards when the database is a Citus coordinator; without Citus the
 *	  citus setting is an unused placeholder.
 */
#include "auth.h"

#include <errno.h>
#include <microhttpd.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pool.h"

int			request_timeout_secs = 60;

/*
 * Credentials checked lately, for what the HTTP layer decides before it
 * reads a body or takes a database connection: whether the credentials
 * are good at all, and which tenant they act for (its share of the pool).
 * Only a digest of the credentials is kept, for CRED_TTL seconds; every
 * request still checks its credentials again in its own transaction, so a
 * token revoked meanwhile is refused there.
 */
#define CRED_SLOTS 512
#define CRED_TTL 30

typedef struct CredEntry
{
	unsigned char key[SHA256_DIGEST_LENGTH];
	time_t		until;
	char		tenant[160];
} CredEntry;

static pthread_mutex_t cred_mu = PTHREAD_MUTEX_INITIALIZER;
static CredEntry cred_cache[CRED_SLOTS];

/*
 * The tenants holding pool connections now, and how many each: one tenant
 * may hold at most tenant_limit at once (db-pool-tenant-share).
 */
typedef struct TenantUse
{
	char		tenant[160];
	int			n;
	int			waiting;		/* its requests waiting past its share */
	pthread_cond_t freed;		/* one of its connections was given back */
	bool		polling;		/* one of its waiters looks at the pool */
} TenantUse;

static pthread_mutex_t share_mu = PTHREAD_MUTEX_INITIALIZER;
static TenantUse *tenant_use;
static int	tenant_slots;
static int	tenant_limit;
static int	tenant_wait_secs;

/* auth_init sets the per-tenant share of a pool of pool_size connections */
void
auth_init(int pool_size, int share_percent, int wait_secs)
{
	tenant_slots = pool_size * 2 + 8;	/* a holder has a connection: pool_size do */
	tenant_use = calloc(tenant_slots, sizeof(TenantUse));
	if (tenant_use == NULL)
		abort();
	for (int i = 0; i < tenant_slots; i++)
		pthread_cond_init(&tenant_use[i].freed, NULL);
	tenant_limit = pool_size * share_percent / 100;
	if (tenant_limit < 1)
		tenant_limit = 1;
	tenant_wait_secs = wait_secs;
}

static void
cred_key(unsigned char *key, const char *kind, const char *a, const char *b, const char *c)
{
	size_t		n = strlen(kind) + 3 + strlen(a) + (b ? strlen(b) : 0) + (c ? strlen(c) : 0) + 3;
	char	   *s = malloc(n);

	if (s == NULL)
		abort();
	/* NUL-separated, so no two different triples give the same text */
	n = (size_t) sprintf(s, "%s%c%s%c%s%c%s", kind, 0, a, 0, b ? b : "\x01", 0, c ? c : "\x01");
	SHA256((const unsigned char *) s, n, key);
	free(s);
}

/* cred_lookup copies the tenant of good credentials seen lately; false if none */
static bool
cred_lookup(const unsigned char *key, char *tenant, size_t len)
{
	unsigned	slot = (key[0] | (key[1] << 8)) % CRED_SLOTS;
	bool		found = false;

	pthread_mutex_lock(&cred_mu);
	if (memcmp(cred_cache[slot].key, key, SHA256_DIGEST_LENGTH) == 0 &&
		cred_cache[slot].until > time(NULL))
	{
		snprintf(tenant, len, "%s", cred_cache[slot].tenant);
		found = true;
	}
	pthread_mutex_unlock(&cred_mu);
	return found;
}

static void
cred_remember(const unsigned char *key, const char *tenant)
{
	unsigned	slot = (key[0] | (key[1] << 8)) % CRED_SLOTS;

	pthread_mutex_lock(&cred_mu);
	memcpy(cred_cache[slot].key, key, SHA256_DIGEST_LENGTH);
	cred_cache[slot].until = time(NULL) + CRED_TTL;
	snprintf(cred_cache[slot].tenant, sizeof(cred_cache[slot].tenant), "%s", tenant);
	pthread_mutex_unlock(&cred_mu);
}

/*
 * share_enter counts a pool connection for tenant.  With wait, a tenant
 * that holds its share already waits (up to the pool's acquisition
 * timeout) until one of its own finishes, or the pool has a connection
 * free that no other request waits for: past its share a tenant takes
 * only what nobody else wants, so a single tenant still has the whole
 * pool.  Returns the slot + 1 to give to share_leave, 0 when the wait
 * timed out.
 *
 * A tenant's waiters sleep on its own condition, and a connection it gives
 * back wakes one of them; only one of them at a time (the "poller") also
 * looks at the pool every 50 ms.  (Every waiter polling, and every release
 * waking them all, cost a core in futex calls with a thousand clients
 * waiting: bench/load.sh.)
 */
static int
share_enter(const char *tenant, bool wait)
{
	struct timespec deadline;
	int			slot = -1;
	bool		polling = false;	/* this waiter is its tenant's poller */

	if (tenant_use == NULL)
		return -1;				/* (no HTTP server: telnet tests, say) */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += tenant_wait_secs;
	pthread_mutex_lock(&share_mu);
	for (;;)
	{
		int			free_slot = -1;
		struct timespec now;
		TenantUse  *u;

		/* a slot is the tenant's while it holds connections or waits for one */
		slot = -1;
		for (int i = 0; i < tenant_slots; i++)
			if ((tenant_use[i].n > 0 || tenant_use[i].waiting > 0) &&
				strcmp(tenant_use[i].tenant, tenant) == 0)
			{
				slot = i;
				break;
			}
			else if (tenant_use[i].n == 0 && tenant_use[i].waiting == 0 && free_slot < 0)
				free_slot = i;
		if (slot < 0)
		{
			slot = free_slot;
			if (slot < 0)
				break;			/* more holders than slots: cannot be, but count none */
			snprintf(tenant_use[slot].tenant, sizeof(tenant_use[slot].tenant), "%s", tenant);
			tenant_use[slot].polling = false;
		}
		u = &tenant_use[slot];
		/*
		 * (the pool is looked at on arrival, by a waiter woken by the
		 * tenant's release, and every 50 ms by the poller)
		 */
		if (!wait || u->n < tenant_limit || !pool_contended())
		{
			u->n++;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > deadline.tv_sec ||
			(now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
		{
			if (polling)
			{
				/* another waiter takes over the polling */
				u->polling = false;
				pthread_cond_signal(&u->freed);
			}
			pthread_mutex_unlock(&share_mu);
			return 0;
		}
		if (!u->polling)
			polling = u->polling = true;
		u->waiting++;
		if (polling)
		{
			/* woken by one of the tenant's own finishing, else look again soon */
			struct timespec slice = now;

			slice.tv_nsec += 50 * 1000 * 1000;
			if (slice.tv_nsec >= 1000000000L)
			{
				slice.tv_sec++;
				slice.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&u->freed, &share_mu, &slice);
		}
		else
			pthread_cond_timedwait(&u->freed, &share_mu, &deadline);
		u->waiting--;
	}
	if (polling && slot >= 0)
	{
		/* another waiter takes over the polling */
		tenant_use[slot].polling = false;
		pthread_cond_signal(&tenant_use[slot].freed);
	}
	pthread_mutex_unlock(&share_mu);
	return slot + 1;
}

static void
share_leave(int slot)
{
	if (slot <= 0)
		return;
	pthread_mutex_lock(&share_mu);
	tenant_use[slot - 1].n--;
	pthread_cond_signal(&tenant_use[slot - 1].freed);
	pthread_mutex_unlock(&share_mu);
}

/* http_status_for_sqlstate maps an SQLSTATE to the HTTP status of the failure */
int
http_status_for_sqlstate(const char *st)
{
	if (st == NULL || strlen(st) != 5)
		return 500;
	if (strncmp(st, "VS", 2) == 0)
	{
		int			code = atoi(st + 2);

		return code >= 400 && code <= 599 ? code : 500;
	}
	if (strcmp(st, "42501") == 0)	/* insufficient_privilege */
		return 403;
	if (strncmp(st, "28", 2) == 0)	/* invalid authorization */
		return 401;
	if (strcmp(st, "57014") == 0)	/* query_canceled: statement timeout */
		return 504;
	if (strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0 ||
		strncmp(st, "54", 2) == 0 || strcmp(st, "42P02") == 0)
		return 400;
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 ||
		strncmp(st, "57P", 3) == 0 || strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0)
		return 503;
	return 500;
}

static void
set_failure(VsTxn *t, int status, const char *message, const char *detail, const char *hint)
{
	t->status = status;
	free(t->message);
	free(t->detail);
	free(t->hint);
	t->message = strdup(message);
	t->detail = detail ? strdup(detail) : NULL;
	t->hint = hint ? strdup(hint) : NULL;
}

static void
set_failure_from_result(VsTxn *t, PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	/* no SQLSTATE: the connection itself failed */
	int			status = st == NULL ? 503 : http_status_for_sqlstate(st);

	/*
	 * VS5xx are answers the API gives (OpenTSDB's 500s), not failures.  Any
	 * other 5xx is logged whole and answered in general words with the
	 * request's id: what PostgreSQL says of its own failures (names,
	 * values, paths) is for the operator, not the client.
	 */
	if (status == 504 && http_client_gone())
	{
		/*
		 * cancelled because the client went away (http.c's watcher): no
		 * failure of the server's; 499 (nginx's "client closed request")
		 * in the access log, and no one to answer
		 */
		vs_log(LOG_INFO, "request %s: its client went away and its query was cancelled", http_request_id());
		set_failure(t, 499, "Client closed the request", NULL, NULL);
		return;
	}
	if (status >= 500 && (st == NULL || strncmp(st, "VS", 2) != 0))
	{
		const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		char		answer[160];

		vs_log(LOG_ERROR, "request %s: database error %s: %s%s%s%s%s", http_request_id(),
			   st ? st : "?", msg ? msg : PQresultErrorMessage(res),
			   detail ? " DETAIL: " : "", detail ? detail : "",
			   hint ? " HINT: " : "", hint ? hint : "");
		snprintf(answer, sizeof(answer), "%s (request %s)",
				 status == 503 ? "Service unavailable: the database cannot be reached" :
				 status == 504 ? "The request took longer than request-timeout" :
				 "Internal server error", http_request_id());
		set_failure(t, status, answer, NULL, NULL);
		return;
	}
	set_failure(t, status, msg ? msg : "database error",
				PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL),
				PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
}

static bool
exec_ok(VsTxn *t, const char *sql)
{
	PGresult   *res = PQexec(t->conn, sql);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		set_failure_from_result(t, res);
	PQclear(res);
	return ok;
}

/*
 * set_identity makes the rest of the transaction run as this role and
 * tenant (an integer, or "" for none), with the request timeout; all
 * transaction-local.  The tenant is set with SET LOCAL, which a Citus
 * coordinator sends on to every worker the transaction reaches (set_config()
 * it does not).  On failure the transaction is ended.
 */
static bool
set_identity(VsTxn *t, const char *role, const char *tenant_id)
{
	char		timeout[32];
	char		sql[128];
	const char *params[2];
	PGresult   *res;

	for (const char *p = tenant_id; *p; p++)
	{
		if (!((*p >= '0' && *p <= '9') || (*p == '-' && p == tenant_id)) ||
			p - tenant_id > 11)
		{
			set_failure(t, 500, "Internal error", "The token's tenant is not a tenant id.", NULL);
			txn_end(t);
			return false;
		}
	}
	snprintf(timeout, sizeof(timeout), "%ds", request_timeout_secs);
	params[0] = role;
	params[1] = timeout;
	res = PQexecParams(t->conn,
					   "SELECT set_config('role', $1, true), "
					   "set_config('statement_timeout', $2, true)",
					   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		set_failure_from_result(t, res);
		PQclear(res);
		txn_end(t);
		return false;
	}
	PQclear(res);
	/* digits only (checked above), so quoting is all it needs */
	snprintf(sql, sizeof(sql),
			 "SET LOCAL citus.propagate_set_commands = 'local'; "
			 "SET LOCAL vscope.tenant = '%s'", tenant_id);
	if (!exec_ok(t, sql))
	{
		txn_end(t);
		return false;
	}
	return true;
}

/*
 * extract_token finds the request's token: basic auth password, else the
 * X-Auth-Token header.  Returns a malloc'd string or NULL.
 */
static char *
extract_token(VsRequest *r, struct MHD_Connection *conn)
{
	const char *hdr = req_header(r, "X-Auth-Token");
	const char *authz = req_header(r, "Authorization");

	if (authz != NULL && strncasecmp(authz, "Basic ", 6) == 0)
	{
		char	   *pass = NULL;
		char	   *user = MHD_basic_auth_get_username_password(conn, &pass);

		if (user != NULL)
			MHD_free(user);
		if (pass != NULL)
		{
			char	   *tok = strdup(pass);

			MHD_free(pass);
			return tok;
		}
	}
	if (hdr != NULL && hdr[0] != '\0')
		return strdup(hdr);
	return NULL;
}

/*
 * txn_open takes a pooled connection and begins a transaction on it (a
 * pooled connection dies silently when the server restarts or crashes: one
 * whose BEGIN fails is reopened once); false and t->status on failure,
 * with nothing left open.
 */
static bool
txn_open_as(VsTxn *t, bool read_only, const char *tenant)
{
	const char *begin = read_only ? "BEGIN READ ONLY" : "BEGIN";

	if (tenant != NULL)
	{
		t->share = share_enter(tenant, true);
		if (t->share == 0)
		{
			char		detail[320];

			snprintf(detail, sizeof(detail),
					 "The tenant's requests hold its share of the database connections (db-pool-tenant-share: %d) while other tenants wait; retry later.",
					 tenant_limit);
			set_failure(t, 503, "Service unavailable", detail, NULL);
			return false;
		}
	}
	t->conn = pool_acquire();
	if (t->conn == NULL)
	{
		share_leave(t->share);
		t->share = 0;
		set_failure(t, 503, "Service unavailable", "No database connection could be had.", NULL);
		return false;
	}
	http_db_attach(t->conn);
	/*
	 * BEGIN fails on a sound connection only when the server goes away:
	 * after a restart or a crash the first use of a pooled connection fails
	 * ("server closed the connection unexpectedly") while libpq may still
	 * call it CONNECTION_OK.  So any failed BEGIN gets one fresh connection.
	 */
	if (!exec_ok(t, begin) &&
		(!pool_reconnect(&t->conn) || !exec_ok(t, begin)))
	{
		txn_end(t);
		return false;
	}
	t->status = 0;				/* a failure cured by reconnecting is none */
	return true;
}

static bool
txn_open(VsTxn *t, bool read_only)
{
	return txn_open_as(t, read_only, NULL);
}

/* counts t's connection for tenant, once its credentials said which */
static void
txn_count_tenant(VsTxn *t, const char *tenant)
{
	if (t->share == 0)
		t->share = share_enter(tenant, false);
}

/*
 * txn_begin opens the request's transaction as the credentials' role and
 * tenant.  need is the scope the endpoint requires.  On false, t->status
 * and t->message say why (401 no or bad credentials, 403 not allowed,
 * 503 no database) and nothing is left open.
 */
bool
txn_begin(VsRequest *r, VsTxn *t, VsScope need, bool read_only)
{
	char	   *token = extract_token(r, req_connection(r));
	bool		ok;

	if (token == NULL)
	{
		memset(t, 0, sizeof(*t));
		set_failure(t, 401, "Authentication required",
					"Send a token as the password of HTTP basic auth (https://read:TOKEN@host/...) or in an X-Auth-Token header.",
					NULL);
		return false;
	}
	ok = txn_begin_token(r, t, token, need, read_only);
	free(token);
	return ok;
}

/*
 * open_with_token checks a token in a new transaction: the row of
 * vscope.authenticate() (tenant_id, tenant, scopes, db_role) in *out, the
 * tenant and scopes in t.  On false, t->status and t->message say why (401
 * unknown or revoked, 503 no database) and nothing is left open.
 */
static bool
open_with_token(VsRequest *r, VsTxn *t, const char *token, bool read_only, PGresult **out)
{
	const char *as_tenant = req_as_tenant(r);
	const char *params[2];
	PGresult   *res;
	unsigned char key[SHA256_DIGEST_LENGTH];
	char		known[160];

	memset(t, 0, sizeof(*t));
	cred_key(key, "token", token, as_tenant, NULL);
	if (!txn_open_as(t, read_only, cred_lookup(key, known, sizeof(known)) ? known : NULL))
		return false;

	params[0] = token;
	params[1] = as_tenant;
	res = PQexecParams(t->conn,
					   "SELECT tenant_id, tenant, array_to_string(scopes, ','), db_role "
					   "FROM vscope.authenticate($1, $2)",
					   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		set_failure_from_result(t, res);
		PQclear(res);
		txn_end(t);
		return false;
	}
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		set_failure(t, 401, "Invalid credentials",
					as_tenant ? "The token is unknown or revoked, or does not act for that tenant."
					: "The token is unknown or revoked.", NULL);
		txn_end(t);
		return false;
	}
	snprintf(t->tenant, sizeof(t->tenant), "%s", PQgetvalue(res, 0, 1));
	req_set_tenant(r, t->tenant);
	snprintf(t->scopes, sizeof(t->scopes), "%s", PQgetvalue(res, 0, 2));
	cred_remember(key, t->tenant);
	txn_count_tenant(t, t->tenant);
	*out = res;
	return true;
}

/*
 * txn_begin_token is txn_begin for a token the handler found itself (Warp
 * 10's X-Warp10-Token header, say): 401 when it is unknown or revoked, 403
 * when its scopes do not allow the request.
 */
bool
txn_begin_token(VsRequest *r, VsTxn *t, const char *token, VsScope need, bool read_only)
{
	PGresult   *res;
	const char *role;
	const char *scopes;

	if (!open_with_token(r, t, token, read_only, &res))
		return false;
	scopes = t->scopes;
	role = PQgetvalue(res, 0, 3);
	{
		bool		super = strstr(scopes, "superadmin") != NULL;
		bool		ok = super ||
			(need == SCOPE_READ && (strstr(scopes, "read") || strstr(scopes, "write") || strstr(scopes, "admin"))) ||
			(need == SCOPE_WRITE && (strstr(scopes, "write") || strstr(scopes, "admin"))) ||
			(need == SCOPE_ADMIN && strstr(scopes, "admin")) ||
			need == SCOPE_NONE;

		if (!ok)
		{
			char		msg[192];

			snprintf(msg, sizeof(msg), "This token's scopes (%s) do not allow this request; it needs %s.",
					 scopes, need == SCOPE_WRITE ? "write" : need == SCOPE_ADMIN ? "admin" : "read");
			PQclear(res);
			set_failure(t, 403, "Forbidden", msg, NULL);
			txn_end(t);
			return false;
		}
	}

	{
		bool		ok = set_identity(t, role, PQgetvalue(res, 0, 0));

		PQclear(res);
		return ok;
	}
}

/*
 * txn_begin_publisher opens the transaction of a Ceilometer publisher
 * (/v2/publish/...).  A token with the publish scope, or a superadmin's,
 * is cloud-wide; a token with write or admin publishes to its own tenant;
 * any other gets 403.  With keystone_tenant (identity-headers = keystone)
 * everything goes to that tenant, as vscope_writer, for a cloud-wide token
 * or one of that tenant ("tenant").  Otherwise a cloud-wide token runs as
 * vscope_cloud in its own tenant (no BYPASSRLS: the publishing
 * functions' SECURITY DEFINER twins do the cross-tenant writes), each item then routed to its
 * project's tenant ("project"), and a tenant's token in its tenant, as its
 * role, with items of its own project only ("own").  *routing is that
 * word, for vscope.ceilometer_publish_samples().  On false, t->status and
 * t->message say why and nothing is left open.
 */
bool
txn_begin_publisher(VsRequest *r, VsTxn *t, const char *keystone_tenant, const char **routing)
{
	char	   *token = extract_token(r, req_connection(r));
	PGresult   *res;
	bool		cloud;
	bool		writer;
	bool		ok;

	if (token == NULL)
	{
		memset(t, 0, sizeof(*t));
		set_failure(t, 401, "Authentication required",
					"Send the token as the password of the publisher's URL (http://user:TOKEN@host/...).", NULL);
		return false;
	}
	ok = open_with_token(r, t, token, false, &res);
	free(token);
	if (!ok)
		return false;
	cloud = strstr(t->scopes, "superadmin") != NULL || strstr(t->scopes, "publish") != NULL;
	writer = strstr(t->scopes, "write") != NULL || strstr(t->scopes, "admin") != NULL;
	if (!cloud && (!writer || (keystone_tenant != NULL && strcmp(t->tenant, keystone_tenant) != 0)))
	{
		char		msg[512];

		snprintf(msg, sizeof(msg), "This token's scopes (%s) do not allow publishing%s: a token with the publish scope (or write, for its own tenant) does.",
				 t->scopes, keystone_tenant != NULL ? " to keystone-tenant" : "");
		PQclear(res);
		set_failure(t, 403, "Forbidden", msg, NULL);
		txn_end(t);
		return false;
	}
	if (keystone_tenant != NULL)
	{
		const char *params[1] = {keystone_tenant};
		PGresult   *k = PQexecParams(t->conn, "SELECT vscope.listener_tenant($1)", 1, NULL, params, NULL, NULL, 0);

		PQclear(res);
		if (PQresultStatus(k) != PGRES_TUPLES_OK || PQgetisnull(k, 0, 0))
		{
			if (PQresultStatus(k) != PGRES_TUPLES_OK)
				set_failure_from_result(t, k);
			else
				set_failure(t, 503, "Service unavailable",
							"The tenant that keystone-tenant names does not exist.", NULL);
			PQclear(k);
			txn_end(t);
			return false;
		}
		snprintf(t->tenant, sizeof(t->tenant), "%s", keystone_tenant);
		req_set_tenant(r, t->tenant);
		*routing = "tenant";
		ok = set_identity(t, "vscope_writer", PQgetvalue(k, 0, 0));
		PQclear(k);
		return ok;
	}
	*routing = cloud ? "project" : "own";
	ok = set_identity(t, cloud ? "vscope_cloud" : PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 0));
	PQclear(res);
	return ok;
}

/*
 * txn_begin_anonymous opens a transaction as role with no tenant, for a
 * request whose credentials the database checks itself (Warp 10's fetch
 * and find, whose SQL functions take the token): until a function binds
 * one, row-level security shows no tenant's rows.
 */
bool
txn_begin_anonymous(VsRequest *r, VsTxn *t, const char *role, bool read_only)
{
	memset(t, 0, sizeof(*t));
	if (!txn_open(t, read_only))
		return false;
	return set_identity(t, role, "");
}

/*
 * txn_exec runs one statement with text parameters; NULL (and t->status
 * set) on failure.
 */
PGresult *
txn_exec(VsTxn *t, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res = PQexecParams(t->conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		set_failure_from_result(t, res);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* txn_commit commits; a write is acknowledged only after this returns true */
bool
txn_commit(VsTxn *t)
{
	return exec_ok(t, "COMMIT");
}

/* txn_end rolls back anything left open, returns the connection, frees */
void
txn_end(VsTxn *t)
{
	if (t->conn != NULL)
	{
		http_db_detach();
		pool_release(t->conn);
	}
	t->conn = NULL;
	share_leave(t->share);
	t->share = 0;
}

void
txn_free(VsTxn *t)
{
	free(t->message);
	free(t->detail);
	free(t->hint);
	t->message = t->detail = t->hint = NULL;
}

/*
 * txn_begin_coopr opens the request's transaction for Coopr's headers:
 * Coopr-UserID, Coopr-TenantID and Coopr-ApiKey, checked by
 * vscope.coopr_authenticate(); on false t->status says why (401).
 */
bool
txn_begin_coopr(VsRequest *r, VsTxn *t, bool read_only)
{
	const char *user = req_header(r, "Coopr-UserID");
	const char *tenant = req_header(r, "Coopr-TenantID");
	const char *key = req_header(r, "Coopr-ApiKey");
	const char *params[3];
	PGresult   *res;

	memset(t, 0, sizeof(*t));
	if (user == NULL)
	{
		set_failure(t, 401, "Coopr-UserID not found in request headers.", NULL, NULL);
		return false;
	}
	if (tenant == NULL)
	{
		set_failure(t, 401, "Coopr-TenantID not found in request headers.", NULL, NULL);
		return false;
	}
	if (key == NULL)
	{
		set_failure(t, 401, "Coopr-ApiKey not found in request headers.", NULL, NULL);
		return false;
	}
	{
		unsigned char ck[SHA256_DIGEST_LENGTH];
		char		known[160];

		cred_key(ck, "coopr", tenant, user, key);
		if (!txn_open_as(t, read_only, cred_lookup(ck, known, sizeof(known)) ? known : NULL))
			return false;
	}
	params[0] = tenant;
	params[1] = user;
	params[2] = key;
	res = PQexecParams(t->conn, "SELECT tenant_id, db_role FROM vscope.coopr_authenticate($1, $2, $3)",
					   3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			set_failure_from_result(t, res);
		else
			set_failure(t, 401, "Invalid Coopr credentials: the API key does not belong to that user of that tenant.",
						NULL, NULL);
		PQclear(res);
		txn_end(t);
		return false;
	}
	snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
	req_set_tenant(r, tenant);
	{
		unsigned char ck[SHA256_DIGEST_LENGTH];

		cred_key(ck, "coopr", tenant, user, key);
		cred_remember(ck, tenant);
		txn_count_tenant(t, tenant);
	}
	{
		bool		ok = set_identity(t, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0));

		PQclear(res);
		return ok;
	}
}

/*
 * txn_begin_trusted opens a transaction in a tenant that vscoped's
 * configuration names, as role: for callers a proxy in front of vscoped
 * has authenticated (keystonemiddleware) and for the telnet listener.
 * r may be NULL (no HTTP request).  False and t->status on failure.
 */
bool
txn_begin_trusted(VsRequest *r, VsTxn *t, const char *tenant, const char *role, bool read_only)
{
	const char *params[1] = {tenant};
	PGresult   *res;

	memset(t, 0, sizeof(*t));
	if (!txn_open(t, read_only))
		return false;
	res = PQexecParams(t->conn, "SELECT vscope.listener_tenant($1)", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQgetisnull(res, 0, 0))
	{
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			set_failure_from_result(t, res);
		else
		{
			char		detail[256];

			snprintf(detail, sizeof(detail),
					 "The tenant \"%s\" that vscoped's configuration names does not exist.", tenant);
			set_failure(t, 503, "Service unavailable", detail, NULL);
		}
		PQclear(res);
		txn_end(t);
		return false;
	}
	snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
	if (r != NULL)
		req_set_tenant(r, tenant);
	{
		bool		ok = set_identity(t, role, PQgetvalue(res, 0, 0));

		PQclear(res);
		return ok;
	}
}

/*
 * txn_answer_json runs one SQL call in the request's open transaction t and
 * answers with its single json value (ok_status), or with fail's error; it
 * ends and frees t either way.
 */
void
txn_answer_json(VsRequest *r, VsTxn *t, int ok_status, const char *sql,
				int nparams, const char *const *params, VsFailFn fail)
{
	PGresult   *res = txn_exec(t, sql, nparams, params);

	if (res == NULL || !txn_commit(t))
	{
		if (res)
			PQclear(res);
		fail(r, t);
	}
	else
	{
		const char *v = PQgetvalue(res, 0, 0);

		req_respond(r, ok_status, "application/json", v, strlen(v));
		PQclear(res);
	}
	txn_end(t);
	txn_free(t);
}

/*
 * run_json answers with the single json value of one SQL call made in the
 * request's transaction (200), or with the failure in fail's format.
 */
void
run_json_as(VsRequest *r, VsScope need, bool read_only, const char *sql,
			int nparams, const char *const *params, VsFailFn fail)
{
	VsTxn		t;

	if (!txn_begin(r, &t, need, read_only))
	{
		fail(r, &t);
		txn_free(&t);
		return;
	}
	txn_answer_json(r, &t, 200, sql, nparams, params, fail);
}

/*
 * auth_precheck checks a request's credentials from its headers alone,
 * before its body is read: a token (coopr false) or Coopr's three headers.
 * Good credentials seen within CRED_TTL seconds pass without a query.
 * Returns 0 when they are good, else the status to answer (401, or 503
 * when the database cannot tell) with *message and *detail (malloc).
 */
int
auth_precheck(VsRequest *r, VsPrecheck kind, char **message, char **detail)
{
	unsigned char key[SHA256_DIGEST_LENGTH];
	char		known[160];
	VsTxn		t;
	bool		ok;
	int			status;

	if (kind == PRECHECK_COOPR)
	{
		const char *user = req_header(r, "Coopr-UserID");
		const char *tenant = req_header(r, "Coopr-TenantID");
		const char *apikey = req_header(r, "Coopr-ApiKey");

		if (user != NULL && tenant != NULL && apikey != NULL)
		{
			cred_key(key, "coopr", tenant, user, apikey);
			if (cred_lookup(key, known, sizeof(known)))
				return 0;
		}
		ok = txn_begin_coopr(r, &t, true);
	}
	else
	{
		char	   *token;

		if (kind == PRECHECK_WARP10)
		{
			const char *h = req_header(r, "X-Warp10-Token");

			if (h == NULL)
			{
				*message = strdup("Missing token.");
				return 403;
			}
			token = strdup(h);
		}
		else
			token = extract_token(r, req_connection(r));
		if (token != NULL)
		{
			cred_key(key, "token", token, req_as_tenant(r), NULL);
			ok = cred_lookup(key, known, sizeof(known));
			if (ok)
			{
				free(token);
				return 0;
			}
		}
		ok = token != NULL ? txn_begin_token(r, &t, token, SCOPE_NONE, true)
			: txn_begin(r, &t, SCOPE_NONE, true);
		free(token);
	}
	if (ok)
	{
		txn_end(&t);
		txn_free(&t);
		return 0;
	}
	*message = strdup(t.message ? t.message : "Authentication required");
	*detail = t.detail ? strdup(t.detail) : NULL;
	txn_free(&t);
	status = t.status ? t.status : 401;
	/* Warp 10 answers bad credentials with a 403 */
	return kind == PRECHECK_WARP10 && status == 401 ? 403 : status;
}
