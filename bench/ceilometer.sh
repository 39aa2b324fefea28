#!/usr/bin/env bash
# Ceilometer statistics: vscope.ceilometer_statistics() as a tenant reader
# against the plain SQL a competent user would write over the table they
# would keep (plain_samples, btree (meter, ts)): one GROUP BY with date_bin,
# building the same JSON.  Same data for both, in one run: one meter
# (cpu_util, gauge, %) of RESOURCES resources in 4 projects and 8 users, one
# sample a minute for MINUTES minutes (3 days by default: 864,000 samples).
#   S1 period=600, groupby=resource_id, avg/sum/min/max/count/stddev
#   S2 period=900, cardinality of resource_id
#   S3 period=86400 (whole UTC days: from the blocks' summaries), groupby
#      resource_id, the same aggregates; and again with use_summaries off
#   L  GET /v2/meters/cpu_util: the 100 newest samples (old style), against
#      ORDER BY ts DESC LIMIT 100 over the plain table; timed on blocks, and
#      on rows before compaction both through the samples reader and as it
#      was before samples had blocks (its old SQL, kept in the script)
# The samples are loaded as rows and the listing timed; then every day is
# compressed into blocks (timed; bytes per sample against the plain table
# and the rows) before the statistics.  Both sides must give the same rows
# (checked, else the run fails); S3 must give the same answer, to the bit,
# from summaries and decoded.  Each query runs RUNS times; the median is
# reported, with the ratio.
# Run through `make bench` (scripts/bench.sh sets up the cluster).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
: "${BENCH_DIR:?run through make bench}"
RESOURCES=${BENCH_CEILO_RESOURCES:-200}
MINUTES=${BENCH_CEILO_MINUTES:-4320}
RUNS=${BENCH_CEILO_RUNS:-5}
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
SELECT format('  size: rows of vscope.samples %s bytes/sample, plain table %s bytes/sample',
              round(r::numeric / n, 1), round(p::numeric / n, 1))
  FROM (SELECT (SELECT sum(bytes) FROM vscope.partitions('samples')) AS r,
               pg_total_relation_size('plain_samples') AS p,
               (SELECT count(*) FROM plain_samples) AS n) x;
SQL

# the newest-first listing on rows, before compaction: as 0.2.1 does it
# (the samples reader) and as it was before samples had blocks (the same
# function reading vscope.samples directly, kept here)
listing=$(cat "$(dirname "$0")/median_ms.sql" - <<'SQL' | q -v runs="$RUNS"
CREATE FUNCTION pg_temp.list_samples_before_blocks(args jsonb DEFAULT '{}', meter text DEFAULT NULL,
                                                   old_style boolean DEFAULT false)
	RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'samples');
	lim integer := vscope._ceilo_limit(vscope._ceilo_arg(args, 'limit'));
	lo timestamptz;
	hi timestamptz;
	width interval := interval '86400 seconds';
	from_ts timestamptz;
	n bigint;
	r json;
BEGIN
	EXECUTE format(
		'SELECT min(k.first_ts), max(k.last_ts)
		   FROM vscope.sample_series s
		   JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
		  WHERE %s AND ($1 IS NULL OR s.counter_name = $1)', q.series_where)
		INTO lo, hi USING meter;
	lo := greatest(lo, q.w_start);
	hi := least(hi, q.w_end);
	IF lo IS NULL OR lo > hi THEN
		RETURN '[]';
	END IF;
	LOOP
		from_ts := CASE WHEN width >= hi - lo THEN lo ELSE hi - width END;
		EXECUTE format(
			'SELECT coalesce(json_agg(vscope._ceilo_sample_json(s, x, $2) ORDER BY (x).ts DESC, (x).series_id, (x).seq), ''[]''),
					count(*)
			   FROM (SELECT s, x FROM vscope.sample_series s JOIN vscope.samples x USING (tenant_id, series_id)
					  WHERE %s AND %s AND x.ts >= $3 AND x.ts <= $4 AND ($1 IS NULL OR s.counter_name = $1)
					  ORDER BY x.ts DESC, x.series_id, x.seq LIMIT %s) y(s, x)',
			q.series_where, q.sample_where, lim)
			INTO r, n USING meter, old_style, from_ts, hi;
		EXIT WHEN n >= lim OR from_ts = lo;
		width := width * 4;
	END LOOP;
	RETURN r;
END
$$;
SELECT vscope.use_tenant('benchc') \g /dev/null
SET ROLE vscope_reader;
DO $$
BEGIN
	IF vscope.ceilometer_list_samples('{}', 'cpu_util', true)::text
	   IS DISTINCT FROM pg_temp.list_samples_before_blocks('{}', 'cpu_util', true)::text THEN
		RAISE EXCEPTION 'L: the listing differs from the one before blocks';
	END IF;
END $$;
SELECT round(pg_temp.median_ms($$SELECT pg_temp.list_samples_before_blocks('{}', 'cpu_util', true)$$, :runs), 2)
       || ' ' || round(pg_temp.median_ms($$SELECT vscope.ceilometer_list_samples('{}', 'cpu_util', true)$$, :runs), 2);
SQL
)
# every day into blocks, as vscope.maintain() does a day after its end
q -v t0="$t0" -v mins="$MINUTES" <<'SQL'
SELECT clock_timestamp() AS c0 \gset
SELECT sum(vscope.compress_samples(d::date)) AS compressed
  FROM generate_series((to_timestamp(:t0) AT TIME ZONE 'UTC')::date,
                       (to_timestamp(:t0 + 60 * :mins) AT TIME ZONE 'UTC')::date, interval '1 day') d \gset
SELECT format('  compaction: %s samples in %s s: %s samples/s', :compressed,
              round(extract(epoch FROM clock_timestamp() - :'c0')::numeric, 2),
              round(:compressed / extract(epoch FROM clock_timestamp() - :'c0')::numeric));
VACUUM ANALYZE vscope.samples;
VACUUM ANALYZE vscope.sample_blocks;
SELECT format('  size: blocks %s bytes/sample (vscope.sample_blocks, indexes included), plain table %s bytes/sample: %sx smaller',
              round(b::numeric / n, 2), round(p::numeric / n, 1), round(p::numeric / b, 1))
  FROM (SELECT pg_total_relation_size('vscope.sample_blocks') AS b,
               pg_total_relation_size('plain_samples') AS p,
               (SELECT count(*) FROM plain_samples) AS n) x;
SQL

cat "$(dirname "$0")/median_ms.sql" - <<'SQL' | q -v runs="$RUNS" -v t0="$t0" -v mins="$MINUTES" -v listing_before="${listing% *}" -v listing_rows="${listing#* }"
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
-- S3: daily statistics of every resource (whole UTC days: summaries)
INSERT INTO queries SELECT 3, 'S3 period=86400, groupby=resource_id, 6 aggs',
  replace(vscope_sql, '["600"]', '["86400"]'),
  replace(replace(plain_sql, '600 s', '86400 s'), '''period'', 600', '''period'', 86400')
  FROM queries WHERE n = 1;
-- the same, every block decoded
CREATE FUNCTION pg_temp.decoded(sql text) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	r json;
BEGIN
	PERFORM set_config('vscope.use_summaries', 'off', true);
	EXECUTE sql INTO r;
	PERFORM set_config('vscope.use_summaries', 'on', true);
	RETURN r;
END $$;
INSERT INTO queries SELECT 4, 'S3 with vscope.use_summaries off',
  format('SELECT pg_temp.decoded(%L)', vscope_sql), plain_sql FROM queries WHERE n = 3;
-- L: the 100 newest samples, old style (GET /v2/meters/cpu_util)
INSERT INTO queries SELECT 5, 'L GET /v2/meters/cpu_util (newest 100)',
  $q$SELECT vscope.ceilometer_list_samples('{}', 'cpu_util', true)$q$,
  $q$SELECT json_agg(json_build_object('resource_id', resource_id, 'timestamp', ts, 'counter_volume', volume)
                     ORDER BY ts DESC, resource_id)
       FROM (SELECT * FROM plain_samples WHERE meter = 'cpu_util' ORDER BY ts DESC LIMIT 100) x$q$;
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
-- from summaries and decoded, the very same answer
DO $$
DECLARE
	q text := (SELECT vscope_sql FROM queries WHERE n = 3);
	a json;
BEGIN
	EXECUTE q INTO a;
	IF a::text IS DISTINCT FROM pg_temp.decoded(q)::text THEN
		RAISE EXCEPTION 'S3: the answers from summaries and from decoded blocks differ';
	END IF;
END $$;
INSERT INTO results
SELECT n, name, CASE WHEN n <= 4 THEN pg_temp.check_same(name, vscope_sql, plain_sql) END,
       pg_temp.median_ms(vscope_sql, :runs), pg_temp.median_ms(plain_sql, :runs)
  FROM queries ORDER BY n;
SELECT format('  %-42s %6s rows   vscope %8s ms   plain SQL %8s ms   %s', name,
              coalesce(rows::text, ''), round(vscope_ms, 1), round(plain_ms, 1),
              CASE WHEN n = 5 THEN '(the plain query builds no Ceilometer JSON)'
                   ELSE format('vscope is %sx faster', round(plain_ms / vscope_ms, 1)) END)
  FROM results ORDER BY n;
SELECT format('  L on rows, before compaction: %s ms as it was before blocks, %s ms through the samples reader; on blocks: %s ms',
              :'listing_before', :'listing_rows', round(vscope_ms, 2))
  FROM results WHERE n = 5;
SQL
