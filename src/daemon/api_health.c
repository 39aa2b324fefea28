/*
 * api_health.c
 *	  /live and /ready, for process supervisors and load balancers: no
 *	  credentials, no body.
 */
#include "api.h"

#include "pool.h"

/* api_live: the process answers */
void
api_live(VsRequest *r)
{
	req_respond_str(r, 200, "{\"status\":\"ok\"}");
}

/* api_ready: the database and the extension answer too */
void
api_ready(VsRequest *r)
{
	PGconn	   *c = pool_acquire();
	PGresult   *res;
	bool		ok = false;

	if (c != NULL)
	{
		res = PQexec(c, "SELECT extversion FROM pg_extension WHERE extname = 'vscope'");
		ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
		PQclear(res);
		pool_release(c);
	}
	if (ok)
		req_respond_str(r, 200, "{\"status\":\"ready\"}");
	else
		req_respond_str(r, 503, "{\"status\":\"unavailable\",\"reason\":\"the database or the vscope extension cannot be reached\"}");
}
