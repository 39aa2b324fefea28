#!/usr/bin/env bash
# Ceilometer statistics: vscope.ceilometer_statistics() as a tenant reader
# against the plain SQL a competent user would write over the table they
# would keep (plain_samples, btree (meter, ts)): one GROUP BY with date_bin,
# building the same JSON.  Same data for both, in one run: one meter
# (cpu_util, gauge, %) of RESOURCES resources in 4 projects and 8 users, one
# sample a minute for MINUTES minutes (3 days by default: 864,000 samples).
#   S1 period=600, groupby=resource_id, avg/sum/min/max/count/stddev
#   S2 period=900, cardinality of resource_id
# Both sides must give the same rows (checked, else the run fails).  Each
# query runs RUNS times; the median is reported, with the ratio.
# Run through `make bench` (scripts/bench.sh sets up the cluster).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
: "${BENCH_DIR:?run through make bench}"
RESOURCES=${BENCH_CEILO_RESOURCES:-200}
MINUTES=${BENCH_CEILO_MINUTES:-4320}
RUNS=${BENCH_CEILO_RUNS:-3}
q() { psql_q -d vscope "$@"; }

echo "ceilometer: 1 meter x $RESOURCES resources, one sample a minute for $MINUTES minutes, median of $RUNS runs"
# the window: MINUTES minutes from a UTC midnight, ending before now
t0=$(q -c "SELECT (extract(epoch FROM now())::bigint / 86400 - ($MINUTES + 1439) / 1440) * 86400")
q -v res="$RESOURCES" -v mins="$MINUTES" -v t0="$t0" <<'SQL'
SELECT vscope.create_tenant('benchc') \g /dev/null
SELECT vscope.use_tenant('benchc') \g /dev/null
SELECT setseed(0.125) \g /dev/null
-- one series a resource; each resource polled at its own second of the minute
INSERT INTO vscope.sample_series (tenant_id, counter_name, counter_type, counter_unit, resource_id,
                                  project_id, user_id, source, resource_metadata, skey)
SELECT vscope.current_tenant(), 'cpu_util', 'gauge', '%', r, 'project-' || (i % 4), 'user-' || (i % 8),
       'openstack', jsonb_build_object('instance_type', 'm1.small', 'host', 'compute-' || (i % 10)),
       sha256(convert_to('cpu_util/' || r, 'UTF8'))
  FROM generate_series(0, :res - 1) i, LATERAL (SELECT md5('resource ' || i)::uuid::text AS r) x;
CREATE TABLE plain_samples (meter text, unit text, resource_id text, project_id text, user_id text,
                            ts timestamptz, volume float8);
-- the same samples in both stores, in time order as they would arrive
INSERT INTO plain_samples
SELECT s.counter_name, s.counter_unit, s.resource_id, s.project_id, s.user_id,
       to_timestamp(:t0 + 60 * k + s.series_id % 60),
       round((50 + 45 * sin(k / 200.0 + s.series_id) + 5 * random())::numeric, 2)::float8
  FROM generate_series(0, :mins - 1) k, vscope.sample_series s
 WHERE s.tenant_id = vscope.current_tenant()
 ORDER BY k, s.series_id;
CREATE INDEX ON plain_samples (meter, ts);
VACUUM ANALYZE plain_samples;
ANALYZE vscope.sample_series;
CALL vscope.add_days((to_timestamp(:t0) AT TIME ZONE 'UTC')::date,
                     (to_timestamp(:t0 + 60 * :mins) AT TIME ZONE 'UTC')::date);
INSERT INTO vscope.samples (tenant_id, series_id, ts, volume, recorded_at)
SELECT s.tenant_id, s.series_id, p.ts, p.volume, p.ts + interval '2 seconds'
  FROM plain_samples p JOIN vscope.sample_series s
    ON s.tenant_id = vscope.current_tenant() AND s.counter_name = p.meter AND s.resource_id = p.resource_id;
-- loaded around the API: the series' first and last samples, as the API keeps them
INSERT INTO vscope.sample_span (tenant_id, series_id, first_ts, last_ts)
SELECT tenant_id, series_id, min(ts), max(ts) FROM vscope.samples
 WHERE tenant_id = vscope.current_tenant() GROUP BY 1, 2;
VACUUM ANALYZE vscope.samples;
GRANT SELECT ON plain_samples TO vscope_reader;
SQL

cat "$(dirname "$0")/median_ms.sql" - <<'SQL' | q -v runs="$RUNS" -v t0="$t0" -v mins="$MINUTES"
SELECT vscope.use_tenant('benchc') \g /dev/null
SET ROLE vscope_reader;
SELECT to_timestamp(:t0) AS s, to_timestamp(:t0 + 60 * :mins) AS e,
       to_char(to_timestamp(:t0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') AS s_iso,
       to_char(to_timestamp(:t0 + 60 * :mins) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') AS e_iso \gset
CREATE TEMP TABLE queries (n int, name text, vscope_sql text, plain_sql text);
CREATE TEMP TABLE results (n int, name text, rows bigint, vscope_ms numeric, plain_ms numeric);
-- S1: 10-minute statistics of every resource
INSERT INTO queries SELECT 1, 'S1 period=600, groupby=resource_id, 6 aggs',
  format($q$SELECT vscope.ceilometer_statistics('cpu_util', '{"period":["600"],"groupby":["resource_id"],"q.field":["timestamp","timestamp"],"q.op":["ge","lt"],"q.value":["%s","%s"],"aggregate.func":["avg","sum","min","max","count","stddev"]}'::jsonb)$q$,
         :'s_iso', :'e_iso'),
  format($q$SELECT coalesce(json_agg(json_build_object(
        'unit', unit, 'period', 600,
        'period_start', to_char(ps AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
        'period_end', to_char((ps + interval '600 s') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
        'duration_start', to_char(t0 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
        'duration_end', to_char(t1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
        'duration', extract(epoch FROM t1 - t0)::float8,
        'groupby', json_build_object('resource_id', resource_id),
        'count', n, 'sum', s, 'min', mn, 'max', mx, 'avg', a,
        'aggregate', json_build_object('avg', a, 'sum', s, 'min', mn, 'max', mx, 'count', n, 'stddev', sd))
        ORDER BY ps, resource_id, unit), '[]')
  FROM (SELECT date_bin('600 s', ts, %1$L) AS ps, resource_id, unit, count(*) AS n, sum(volume) AS s,
               min(volume) AS mn, max(volume) AS mx, avg(volume) AS a, stddev_pop(volume) AS sd,
               min(ts) AS t0, max(ts) AS t1
          FROM plain_samples
         WHERE meter = 'cpu_util' AND ts >= %1$L AND ts < %2$L
         GROUP BY 1, 2, 3) g$q$, :'s', :'e');
-- S2: distinct resources a quarter of an hour
INSERT INTO queries SELECT 2, 'S2 period=900, cardinality/resource_id',
  format($q$SELECT vscope.ceilometer_statistics('cpu_util', '{"period":["900"],"q.field":["timestamp","timestamp"],"q.op":["ge","lt"],"q.value":["%s","%s"],"aggregate.func":["cardinality"],"aggregate.param":["resource_id"]}'::jsonb)$q$,
         :'s_iso', :'e_iso'),
  format($q$SELECT coalesce(json_agg(json_build_object(
        'unit', unit, 'period', 900,
        'period_start', to_char(ps AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
        'period_end', to_char((ps + interval '900 s') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
        'duration_start', to_char(t0 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
        'duration_end', to_char(t1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
        'duration', extract(epoch FROM t1 - t0)::float8, 'groupby', NULL,
        'aggregate', json_build_object('cardinality/resource_id', c))
        ORDER BY ps, unit), '[]')
  FROM (SELECT date_bin('900 s', ts, %1$L) AS ps, unit, count(DISTINCT resource_id)::float8 AS c,
               min(ts) AS t0, max(ts) AS t1
          FROM plain_samples
         WHERE meter = 'cpu_util' AND ts >= %1$L AND ts < %2$L
         GROUP BY 1, 2) g$q$, :'s', :'e');
-- both sides must answer the same: every field equal, floats to 1e-9 relative
CREATE FUNCTION pg_temp.fields(o jsonb) RETURNS TABLE (k text, v jsonb) LANGUAGE sql AS $$
SELECT key, value FROM jsonb_each(o) WHERE key <> 'aggregate'
UNION ALL SELECT 'aggregate.' || key, value FROM jsonb_each(o -> 'aggregate') $$;
CREATE FUNCTION pg_temp.check_same(name text, vs_sql text, plain_sql text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	v jsonb;
	p jsonb;
	bad text;
BEGIN
	EXECUTE vs_sql INTO v;
	EXECUTE plain_sql INTO p;
	IF jsonb_array_length(v) <> jsonb_array_length(p) OR jsonb_array_length(v) = 0 THEN
		RAISE EXCEPTION '%: vscope returned % rows, plain SQL %', name, jsonb_array_length(v), jsonb_array_length(p);
	END IF;
	SELECT format('row %s, %s: vscope %s, plain SQL %s', i, k, vv, pv) INTO bad
	  FROM generate_series(0, jsonb_array_length(v) - 1) i,
	       LATERAL (SELECT * FROM pg_temp.fields(v -> i) a(k, vv) FULL JOIN pg_temp.fields(p -> i) b(k, pv) USING (k)) f
	 WHERE vv IS DISTINCT FROM pv
	   AND NOT (jsonb_typeof(vv) = 'number' AND jsonb_typeof(pv) = 'number'
	            AND abs(vv::text::float8 - pv::text::float8) <= 1e-9 * greatest(1, abs(pv::text::float8)))
	 LIMIT 1;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION '%: the answers differ at %', name, bad;
	END IF;
	RETURN jsonb_array_length(v);
END $$;
INSERT INTO results
SELECT n, name, pg_temp.check_same(name, vscope_sql, plain_sql),
       pg_temp.median_ms(vscope_sql, :runs), pg_temp.median_ms(plain_sql, :runs)
  FROM queries ORDER BY n;
SELECT format('  %-42s %6s rows   vscope %8s ms   plain SQL %8s ms   vscope takes %sx the time', name,
              rows, round(vscope_ms, 1), round(plain_ms, 1), round(vscope_ms / plain_ms, 2))
  FROM results ORDER BY n;
SQL
