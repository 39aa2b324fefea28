/*
 * router.c
 *	  The routing table: every path vscoped serves, its methods, whether a
 *	  credential is needed before the body is read, and the error format
 *	  of its API.  Prefix routes leave the rest of the path to the handler
 *	  (the Ceilometer API routes what is under /v2/ in SQL).
 */
#include "router.h"

#include <string.h>

#include "api.h"


static const VsRoute routes[] = {
	{"/api/put", VS_M_POST, api_put, "POST", true, false, tsdb_error},
	{"/api/query", VS_M_GET | VS_M_POST | VS_M_DELETE, api_query, "GET, POST, DELETE", true, false, tsdb_error},
	{"/api/query/last", VS_M_GET | VS_M_POST, api_query_last, "GET, POST", true, false, tsdb_error},
	{"/api/query/exp", VS_M_GET | VS_M_POST | VS_M_DELETE, api_query_exp, "GET, POST, DELETE", true, false, tsdb_error},
	{"/api/query/gexp", VS_M_GET | VS_M_POST | VS_M_DELETE, api_query_gexp, "GET, POST, DELETE", true, false, tsdb_error},
	{"/api/search/lookup", VS_M_GET | VS_M_POST, api_lookup, "GET, POST", true, false, tsdb_error},
	{"/api/annotation", VS_M_GET | VS_M_POST | VS_M_PUT | VS_M_DELETE, api_annotation, "GET, POST, PUT, DELETE", true, false, tsdb_error},
	{"/api/annotation/bulk", VS_M_POST | VS_M_PUT | VS_M_DELETE, api_annotation_bulk, "POST, PUT, DELETE", true, false, tsdb_error},
	{"/api/uid/", VS_M_GET | VS_M_POST | VS_M_PUT | VS_M_DELETE, api_uid, "GET, POST, PUT, DELETE", true, true, tsdb_error},
	{"/api/suggest", VS_M_GET | VS_M_POST, api_suggest, "GET, POST", true, false, tsdb_error},
	{"/api/aggregators", VS_M_GET | VS_M_POST, api_aggregators, "GET, POST", false, false, tsdb_error},
	{"/api/config/filters", VS_M_GET | VS_M_POST, api_config_filters, "GET, POST", false, false, tsdb_error},
	{"/api/version", VS_M_GET | VS_M_POST | VS_M_HEAD, api_version, "GET, POST", false, false, tsdb_error},
	{"/api/config", VS_M_GET | VS_M_POST, api_config, "GET, POST", true, false, tsdb_error},
	{"/api/serializers", VS_M_GET | VS_M_POST, api_serializers, "GET, POST", false, false, tsdb_error},
	{"/api/dropcaches", VS_M_GET | VS_M_POST, api_dropcaches, "GET, POST", true, false, tsdb_error},
	{"/api/stats", VS_M_GET | VS_M_POST, api_stats, "GET, POST", true, false, tsdb_error},
	{"/api/stats/", VS_M_GET | VS_M_POST, api_stats_sub, "GET, POST", false, true, tsdb_error},
	/* OpenTSDB endpoints that need HBase or a plugin: 501 for any method */
	{"/api/tree", VS_M_ALL, api_not_implemented, "GET, POST, PUT, DELETE", false, false, tsdb_error},
	{"/api/tree/", VS_M_ALL, api_not_implemented, "GET, POST, PUT, DELETE", false, true, tsdb_error},
	{"/api/search", VS_M_ALL, api_not_implemented, "GET, POST, PUT, DELETE", false, false, tsdb_error},
	{"/api/search/", VS_M_ALL, api_not_implemented, "GET, POST, PUT, DELETE", false, true, tsdb_error},
	{"/api/rollup", VS_M_ALL, api_not_implemented, "GET, POST, PUT, DELETE", false, false, tsdb_error},
	{"/api/histogram", VS_M_ALL, api_not_implemented, "GET, POST, PUT, DELETE", false, false, tsdb_error},
	/* every method reaches the handler, which checks credentials before methods */
	{"/dedicatedCloud/", VS_M_ALL, api_vscope, "GET, POST", true, true, ovh_error},
	{"/v2/metrics/queues", VS_M_GET, api_coopr, "GET", false, false, coopr_error},
	{"/v2/metrics/nodes/usage", VS_M_GET, api_coopr, "GET", false, false, coopr_error},
	{"/v2/apikeys", VS_M_POST, api_coopr, "POST", false, false, coopr_error},
	{"/v2/nodes/events", VS_M_POST, api_coopr, "POST", false, false, coopr_error},
	{"/v2/queues/events", VS_M_POST, api_coopr, "POST", false, false, coopr_error},
	/* what Ceilometer's http publisher sends (basic auth from its URL) */
	{"/v2/publish/samples", VS_M_POST, api_publish, "POST", true, false, publish_error},
	{"/v2/publish/events", VS_M_POST, api_publish, "POST", true, false, publish_error},
	/* the Ceilometer V2 API: every other path under /v2/ (routed in SQL) */
	{"/v2", VS_M_GET | VS_M_POST, api_ceilometer, "GET, POST", true, false, ceilometer_error},
	{"/v2/", VS_M_GET | VS_M_POST, api_ceilometer, "GET, POST", true, true, ceilometer_error},
	/* Warp 10: the token is X-Warp10-Token (or a parameter), checked in the handlers */
	{"/api/v0/fetch", VS_M_GET | VS_M_POST | VS_M_OPTIONS, api_warp10_fetch, "GET, POST, OPTIONS", false, false, warp10_error},
	{"/api/v0/find", VS_M_GET | VS_M_OPTIONS, api_warp10_find, "GET, OPTIONS", false, false, warp10_error},
	{"/api/v0/update", VS_M_POST | VS_M_OPTIONS, api_warp10_update, "POST, OPTIONS", false, false, warp10_error},
	/* Warp 10 WarpScript: any method, no credentials (FETCH carries its token) */
	{"/api/v0/exec", VS_M_ALL | VS_M_OPTIONS, api_warp10_exec, "GET, POST, PUT, DELETE, OPTIONS", false, false, warp10_exec_error},
	{"/api/v0/exec/", VS_M_ALL | VS_M_OPTIONS, api_warp10_exec, "GET, POST, PUT, DELETE, OPTIONS", false, true, warp10_exec_error},
	{"/live", VS_M_GET | VS_M_HEAD, api_live, "GET", false, false, tsdb_error},
	{"/ready", VS_M_GET | VS_M_HEAD, api_ready, "GET", false, false, tsdb_error},
};

/* router_find returns the first route matching the path */
const VsRoute *
router_find(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (routes[i].prefix ? strncmp(routes[i].path, path, strlen(routes[i].path)) == 0
			: strcmp(routes[i].path, path) == 0)
			return &routes[i];
	return NULL;
}

/* router_method_bit maps a method name to its VS_M_* bit */
unsigned
router_method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return VS_M_GET;
	if (strcmp(m, "POST") == 0)
		return VS_M_POST;
	if (strcmp(m, "HEAD") == 0)
		return VS_M_HEAD;
	if (strcmp(m, "PUT") == 0)
		return VS_M_PUT;
	if (strcmp(m, "DELETE") == 0)
		return VS_M_DELETE;
	if (strcmp(m, "OPTIONS") == 0)
		return VS_M_OPTIONS;
	return 0;
}

/*
 * router_error writes the error body of a path no route claims: Warp 10's
 * under its /api/v0 (a Warp 10 client reads Jetty's page), else OpenTSDB's
 */
void
router_error(VsRequest *r, int status, const char *message, const char *details)
{
	const char *path = req_path(r);

	if (strncmp(path, "/api/v0/", 8) == 0 || strcmp(path, "/api/v0") == 0)
		warp10_error(r, status, message, details);
	else
		tsdb_error(r, status, message, details);
}
