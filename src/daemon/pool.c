/*
 * pool.c
 *	  A fixed-size pool of libpq connections, logged in as the authenticator.
 *	  A connection is used by one request at a time.  Connections are opened
 *	  lazily, and one that is broken, or returned inside a transaction, is
 *	  reset or rolled back before the next request gets it, so nothing leaks
 *	  between requests (settings are transaction-local anyway).
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freed = PTHREAD_COND_INITIALIZER;
static PGconn **conns;			/* NULL: not opened yet */
static bool *busy;
static int	nconns;
static int	nwaiting;			/* requests waiting for a free connection */
static int	timeout_secs;
static char *conninfo;

/* pool_init sets the pool up; connections open on first use */
bool
pool_init(const char *info, int size, int acquire_timeout)
{
	conns = calloc(size, sizeof(PGconn *));
	busy = calloc(size, sizeof(bool));
	if (conns == NULL || busy == NULL)
		return false;
	nconns = size;
	timeout_secs = acquire_timeout;
	conninfo = strdup(info);
	return conninfo != NULL;
}

static PGconn *
open_conn(void)
{
	/* defaults first: whatever db-uri says overrides them */
	const char *const keys[] = {"connect_timeout", "client_encoding", "dbname", NULL};
	const char *const vals[] = {"10", "UTF8", conninfo, NULL};
	PGconn	   *c = PQconnectdbParams(keys, vals, 1);

	if (PQstatus(c) != CONNECTION_OK)
	{
		vs_log(LOG_ERROR, "cannot connect to the database: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/*
 * pool_acquire returns a healthy connection, waiting up to the acquisition
 * timeout for one to be free; NULL when none can be had (the caller answers
 * 503).
 */
PGconn *
pool_acquire(void)
{
	struct timespec deadline;
	int			slot = -1;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_secs;

	pthread_mutex_lock(&mu);
	for (;;)
	{
		for (int i = 0; i < nconns; i++)
			if (!busy[i])
			{
				slot = i;
				break;
			}
		if (slot >= 0)
			break;
		nwaiting++;
		if (pthread_cond_timedwait(&freed, &mu, &deadline) == ETIMEDOUT)
		{
			nwaiting--;
			pthread_mutex_unlock(&mu);
			vs_log(LOG_WARN, "no database connection free after %d s", timeout_secs);
			return NULL;
		}
		nwaiting--;
	}
	busy[slot] = true;
	pthread_mutex_unlock(&mu);

	/* connecting happens outside the lock */
	if (conns[slot] != NULL && PQstatus(conns[slot]) != CONNECTION_OK)
	{
		PQreset(conns[slot]);
		if (PQstatus(conns[slot]) != CONNECTION_OK)
		{
			PQfinish(conns[slot]);
			conns[slot] = NULL;
		}
	}
	if (conns[slot] == NULL)
		conns[slot] = open_conn();
	if (conns[slot] == NULL)
	{
		pthread_mutex_lock(&mu);
		busy[slot] = false;
		pthread_cond_signal(&freed);
		pthread_mutex_unlock(&mu);
		return NULL;
	}
	return conns[slot];
}

/*
 * pool_reconnect replaces a broken connection (the server restarted);
 * false when the database cannot be reached.
 */
bool
pool_reconnect(PGconn **conn)
{
	PGconn	   *fresh = open_conn();

	if (fresh == NULL)
		return false;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < nconns; i++)
		if (conns[i] == *conn)
		{
			conns[i] = fresh;
			break;
		}
	pthread_mutex_unlock(&mu);
	PQfinish(*conn);
	*conn = fresh;
	return true;
}

/* pool_release hands a connection back, clean */
void
pool_release(PGconn *conn)
{
	if (conn == NULL)
		return;
	if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
	{
		PGresult   *r = PQexec(conn, "ROLLBACK");

		PQclear(r);
	}
	pthread_mutex_lock(&mu);
	for (int i = 0; i < nconns; i++)
		if (conns[i] == conn)
		{
			busy[i] = false;
			break;
		}
	pthread_cond_signal(&freed);
	pthread_mutex_unlock(&mu);
}

/*
 * pool_contended tells whether a request would have to wait for a
 * connection now: none is free, or others wait already.
 */
bool
pool_contended(void)
{
	bool		free_one = false;
	bool		waiters;

	pthread_mutex_lock(&mu);
	for (int i = 0; i < nconns && !free_one; i++)
		free_one = !busy[i];
	waiters = nwaiting > 0;
	pthread_mutex_unlock(&mu);
	return waiters || !free_one;
}

/* pool_close closes every connection (at shutdown, when none is in use) */
void
pool_close(void)
{
	pthread_mutex_lock(&mu);
	for (int i = 0; i < nconns; i++)
		if (conns[i] != NULL)
		{
			PQfinish(conns[i]);
			conns[i] = NULL;
		}
	pthread_mutex_unlock(&mu);
}
