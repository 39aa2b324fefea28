/*
 * api.h
 *	  The handlers of each API family, and the error body each answers in.
 *	  A handler turns one request into one SQL call (auth.h) and answers
 *	  it; router.c says which handler serves which path.
 */
#ifndef VSCOPED_API_H
#define VSCOPED_API_H

#include "auth.h"
#include "http.h"

/* api_health.c: /live and /ready */
extern void api_live(VsRequest *r);
extern void api_ready(VsRequest *r);

/* api_tsdb.c: OpenTSDB endpoints */
extern void tsdb_error(VsRequest *r, int status, const char *message, const char *details);
extern void tsdb_txn_error(VsRequest *r, VsTxn *t);
extern void api_version(VsRequest *r);
extern void api_put(VsRequest *r);
extern void api_query(VsRequest *r);
extern void api_query_exp(VsRequest *r);
extern void api_query_gexp(VsRequest *r);
extern void api_aggregators(VsRequest *r);
extern void api_config_filters(VsRequest *r);
extern void api_suggest(VsRequest *r);
extern void api_query_last(VsRequest *r);
extern void api_lookup(VsRequest *r);
extern void api_annotation(VsRequest *r);
extern void api_annotation_bulk(VsRequest *r);
extern void api_uid(VsRequest *r);
extern void api_config(VsRequest *r);
extern void api_serializers(VsRequest *r);
extern void api_dropcaches(VsRequest *r);
extern void api_stats(VsRequest *r);
extern void api_stats_sub(VsRequest *r);
extern void api_not_implemented(VsRequest *r);

/* api_vscope.c: vScope live data */
extern void ovh_error(VsRequest *r, int status, const char *message, const char *details);
extern void api_vscope(VsRequest *r);

/* api_ceilometer.c: the Ceilometer V2 API */
extern void ceilometer_error(VsRequest *r, int status, const char *message, const char *details);
extern void api_ceilometer(VsRequest *r);
extern void publish_error(VsRequest *r, int status, const char *message, const char *details);
extern void api_publish(VsRequest *r);
extern void ceilometer_log_rejected(const char *from, const char *tenant, const char *what,
									const char *answer);

/* api_coopr.c: Coopr admin metrics */
extern void coopr_error(VsRequest *r, int status, const char *message, const char *details);
extern void api_coopr(VsRequest *r);

/* api_warp10.c: Warp 10's fetch, find and update */
extern void warp10_error(VsRequest *r, int status, const char *message, const char *details);
extern bool warp10_preflight(VsRequest *r);
extern char *warp10_gunzip(const char *in, size_t len, long max, size_t *outlen, const char **err);
extern void api_warp10_fetch(VsRequest *r);
extern void api_warp10_find(VsRequest *r);
extern void api_warp10_update(VsRequest *r);

/* api_warp10_exec.c: Warp 10's WarpScript exec */
extern void warp10_exec_error(VsRequest *r, int status, const char *message, const char *details);
extern void api_warp10_exec(VsRequest *r);

#endif							/* VSCOPED_API_H */
