/*
 * stats.c
 *	  vscoped's counters and its ring of recent queries, each behind one
 *	  mutex (a request takes it for a few instructions).  They live in the
 *	  daemon's memory: a restart starts them again from zero, as OpenTSDB's
 *	  own do.
 */
#include "stats.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ENDPOINTS 64
#define RECENT_QUERIES 64
#define MAX_QUERY_TEXT 8192

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static time_t started;
static long requests;
static long by_class[6];		/* 1xx .. 5xx; [0] no answer */
static long points;
static long telnet_rpcs;			/* telnet commands, put lines included */
static bool udp_on;
static long udp[UDP_NRESULTS];
static const char *const udp_results[UDP_NRESULTS] = {
	"stored", "duplicate", "rejected", "bad_signature", "undecodable", "failed"
};
static struct
{
	const char *endpoint;		/* a route's static path; "" for none */
	long		count;
}			endpoints[MAX_ENDPOINTS];
static int	nendpoints;

typedef struct RecentQuery
{
	unsigned long id;			/* 0: an empty slot */
	bool		done;
	int			status;
	char		tenant[160];
	char		remote[64];
	char	   *query;			/* JSON text (malloc) */
	struct timespec begin;
	struct timespec end;
} RecentQuery;

static RecentQuery recent[RECENT_QUERIES];
static unsigned long next_id = 1;

void
stats_init(void)
{
	started = time(NULL);
}

void
stats_request(const char *endpoint, int status)
{
	const char *key = endpoint ? endpoint : "";
	int			i;

	pthread_mutex_lock(&mu);
	requests++;
	by_class[status >= 100 && status < 600 ? status / 100 : 0]++;
	for (i = 0; i < nendpoints; i++)
		if (strcmp(endpoints[i].endpoint, key) == 0)
			break;
	if (i == nendpoints && nendpoints < MAX_ENDPOINTS)
		endpoints[nendpoints++].endpoint = key;
	if (i < MAX_ENDPOINTS)
		endpoints[i].count++;
	pthread_mutex_unlock(&mu);
}

void
stats_points(long n)
{
	pthread_mutex_lock(&mu);
	points += n;
	pthread_mutex_unlock(&mu);
}

void
stats_telnet(long n)
{
	pthread_mutex_lock(&mu);
	telnet_rpcs += n;
	pthread_mutex_unlock(&mu);
}

void
stats_udp(VsUdpResult result, long n)
{
	pthread_mutex_lock(&mu);
	udp[result] += n;
	pthread_mutex_unlock(&mu);
}

/* the udp listener runs: its counters are shown */
void
stats_udp_on(void)
{
	pthread_mutex_lock(&mu);
	udp_on = true;
	pthread_mutex_unlock(&mu);
}

/*
 * stats_query_begin takes the ring's next slot (the oldest entry gives way,
 * running or not) for a query starting now
 */
unsigned long
stats_query_begin(const char *tenant, const char *remote, const char *query)
{
	unsigned long id;
	RecentQuery *q;
	size_t		len = strlen(query);

	pthread_mutex_lock(&mu);
	id = next_id++;
	q = &recent[id % RECENT_QUERIES];
	free(q->query);
	memset(q, 0, sizeof(*q));
	q->id = id;
	snprintf(q->tenant, sizeof(q->tenant), "%s", tenant ? tenant : "");
	snprintf(q->remote, sizeof(q->remote), "%s", remote ? remote : "");
	q->query = strndup(query, len > MAX_QUERY_TEXT ? MAX_QUERY_TEXT : len);
	clock_gettime(CLOCK_REALTIME, &q->begin);
	pthread_mutex_unlock(&mu);
	return id;
}

/* stats_query_end notes the query's end; its tenant is known only now */
void
stats_query_end(unsigned long id, const char *tenant, int status)
{
	RecentQuery *q;

	pthread_mutex_lock(&mu);
	q = &recent[id % RECENT_QUERIES];
	if (q->id == id)
	{
		q->done = true;
		q->status = status;
		snprintf(q->tenant, sizeof(q->tenant), "%s", tenant ? tenant : "");
		clock_gettime(CLOCK_REALTIME, &q->end);
	}
	pthread_mutex_unlock(&mu);
}

static void
add_point(struct json_object *arr, const char *metric, long now, long value,
		  const char *host, const char *tagk, const char *tagv)
{
	struct json_object *dp = json_object_new_object();
	struct json_object *tags = json_object_new_object();
	char		v[32];

	snprintf(v, sizeof(v), "%ld", value);
	json_object_object_add(dp, "metric", json_object_new_string(metric));
	json_object_object_add(dp, "timestamp", json_object_new_int64(now));
	json_object_object_add(dp, "value", json_object_new_string(v));
	json_object_object_add(tags, "host", json_object_new_string(host));
	if (tagk != NULL)
		json_object_object_add(tags, tagk, json_object_new_string(tagv));
	json_object_object_add(dp, "tags", tags);
	json_object_array_add(arr, dp);
}

char *
stats_json(const char *host, unsigned open_connections, int pool_size)
{
	struct json_object *arr = json_object_new_array();
	long		now = (long) time(NULL);
	char	   *out;
	static const char *const classes[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};

	pthread_mutex_lock(&mu);
	add_point(arr, "tsd.uptime", now, now - started, host, NULL, NULL);
	add_point(arr, "tsd.connectionmgr.connections", now, open_connections, host, "type", "open");
	add_point(arr, "tsd.db.pool.size", now, pool_size, host, NULL, NULL);
	add_point(arr, "tsd.rpc.received", now, requests, host, "type", "http");
	add_point(arr, "tsd.rpc.received", now, telnet_rpcs, host, "type", "telnet");
	for (int i = 0; i < 6; i++)
		if (by_class[i] > 0)
			add_point(arr, "tsd.http.responses", now, by_class[i], host, "status", classes[i]);
	for (int i = 0; i < nendpoints; i++)
		add_point(arr, "tsd.http.requests", now, endpoints[i].count, host, "endpoint",
				  endpoints[i].endpoint[0] ? endpoints[i].endpoint : "unknown");
	add_point(arr, "tsd.datapoints.added", now, points, host, "type", "all");
	if (udp_on)
		for (int i = 0; i < UDP_NRESULTS; i++)
			add_point(arr, "vscoped.ceilometer.udp.datagrams", now, udp[i], host, "result", udp_results[i]);
	pthread_mutex_unlock(&mu);
	out = strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	return out;
}

/*
 * stats_text writes the same data points as OpenTSDB's telnet "stats"
 * prints them: "<metric> <timestamp> <value> <tag>=<value> ...", one a line,
 * the point's own tag before the host's.
 */
char *
stats_text(const char *host, unsigned open_connections, int pool_size)
{
	char	   *json = stats_json(host, open_connections, pool_size);
	struct json_object *arr = json_tokener_parse(json);
	size_t		cap = 256;
	size_t		len = 0;
	char	   *out = malloc(cap);

	free(json);
	if (out == NULL)
	{
		json_object_put(arr);
		return NULL;
	}
	out[0] = '\0';
	for (size_t i = 0; arr != NULL && i < json_object_array_length(arr); i++)
	{
		struct json_object *dp = json_object_array_get_idx(arr, i);
		struct json_object *m, *ts, *v, *tags;
		char		line[1024];
		int			n;

		if (!json_object_object_get_ex(dp, "metric", &m) || !json_object_object_get_ex(dp, "timestamp", &ts) ||
			!json_object_object_get_ex(dp, "value", &v) || !json_object_object_get_ex(dp, "tags", &tags))
			continue;
		n = snprintf(line, sizeof(line), "%s %lld %s", json_object_get_string(m),
					 (long long) json_object_get_int64(ts), json_object_get_string(v));
		json_object_object_foreach(tags, key, val)
		{
			if (strcmp(key, "host") != 0 && n >= 0 && (size_t) n < sizeof(line))
				n += snprintf(line + n, sizeof(line) - n, " %s=%s", key, json_object_get_string(val));
		}
		if (n >= 0 && (size_t) n < sizeof(line))
			n += snprintf(line + n, sizeof(line) - n, " host=%s\n", host);
		if (n < 0 || (size_t) n >= sizeof(line))
			continue;
		if (len + n + 1 > cap)
		{
			char	   *bigger;

			while (len + n + 1 > cap)
				cap *= 2;
			bigger = realloc(out, cap);
			if (bigger == NULL)
				break;
			out = bigger;
		}
		memcpy(out + len, line, n + 1);
		len += n;
	}
	json_object_put(arr);
	return out;
}

static long long
millis(const struct timespec *t)
{
	return (long long) t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

static struct json_object *
query_entry(const RecentQuery *q)
{
	struct json_object *e = json_object_new_object();
	struct json_object *body = json_tokener_parse(q->query);
	struct json_object *resp = json_object_new_object();

	json_object_object_add(e, "query", body ? body : json_object_new_string(q->query));
	json_object_object_add(e, "remote", json_object_new_string(q->remote));
	json_object_object_add(e, "executed", json_object_new_int(1));
	json_object_object_add(e, "queryStartTimestamp", json_object_new_int64(millis(&q->begin)));
	{
		json_object_object_add(e, "queryCompletedTimestamp", json_object_new_int64(millis(&q->end)));
		json_object_object_add(e, "elapsed", json_object_new_int64(millis(&q->end) - millis(&q->begin)));
		json_object_object_add(resp, "code", json_object_new_int(q->status));
		json_object_object_add(resp, "reasonPhrase", json_object_new_string(
			q->status == 200 ? "OK" : q->status == 400 ? "Bad Request" :
			q->status == 401 ? "Unauthorized" : q->status == 403 ? "Forbidden" :
			q->status == 413 ? "Request Entity Too Large" : q->status == 503 ? "Service Unavailable" :
			q->status == 504 ? "Gateway Timeout" : q->status >= 500 ? "Internal Server Error" : ""));
		json_object_object_add(e, "httpResponse", resp);
	}
	return e;
}

/*
 * stats_queries_json answers with the tenant's completed queries in the
 * ring, newest first.  A query's tenant is known only once its credentials
 * were checked inside its transaction, so "running" stays empty: a query
 * is listed when it ends.
 */
char *
stats_queries_json(const char *tenant)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *running = json_object_new_array();
	struct json_object *completed = json_object_new_array();
	char	   *out;

	pthread_mutex_lock(&mu);
	for (unsigned long id = next_id - 1; id > 0 && id + RECENT_QUERIES >= next_id; id--)
	{
		const RecentQuery *q = &recent[id % RECENT_QUERIES];

		if (q->id != id || !q->done || strcmp(q->tenant, tenant) != 0)
			continue;
		json_object_array_add(completed, query_entry(q));
	}
	pthread_mutex_unlock(&mu);
	json_object_object_add(obj, "running", running);
	json_object_object_add(obj, "completed", completed);
	out = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	return out;
}
