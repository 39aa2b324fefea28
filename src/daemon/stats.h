/*
 * stats.h
 *	  What vscoped counts while it runs, for OpenTSDB's /api/stats and
 *	  /api/stats/query: requests per endpoint and status class, points
 *	  written, uptime, and the last queries.  Every function is safe to call
 *	  from any request thread.
 */
#ifndef VSCOPED_STATS_H
#define VSCOPED_STATS_H

#include <stddef.h>

/* the daemon starts: uptime counts from here */
extern void stats_init(void);

/* a request was answered (endpoint NULL: no route claimed the path) */
extern void stats_request(const char *endpoint, int status);

/* n data points were written */
extern void stats_points(long n);

/* n telnet commands (put lines included) were received */
extern void stats_telnet(long n);

/* Ceilometer udp datagrams, by what became of them */
typedef enum
{
	UDP_STORED, UDP_DUPLICATE, UDP_REJECTED, UDP_BAD_SIGNATURE, UDP_UNDECODABLE, UDP_FAILED,
	UDP_NRESULTS
} VsUdpResult;
extern void stats_udp(VsUdpResult result, long n);
extern void stats_udp_on(void);

/* a query starts (query: its JSON text): the id stats_query_end takes */
extern unsigned long stats_query_begin(const char *tenant, const char *remote, const char *query);
extern void stats_query_end(unsigned long id, const char *tenant, int status);

/* /api/stats: OpenTSDB's array of data points (malloc'd JSON) */
extern char *stats_json(const char *host, unsigned open_connections, int pool_size);

/* the same as telnet's "stats" prints them, one "metric ts value tags" a line (malloc'd) */
extern char *stats_text(const char *host, unsigned open_connections, int pool_size);

/* /api/stats/query: {"running":[...],"completed":[...]} of one tenant (malloc'd) */
extern char *stats_queries_json(const char *tenant);

#endif							/* VSCOPED_STATS_H */
