#!/usr/bin/env bash
# OpenTSDB queries: vscope.tsdb_query() against the plain SQL a competent
# user would write (date_bin + aggregate, then aggregate across series), on
# the same data in one run: SERIES series (150 of them one metric, with a dc
# tag of 3 values), one point a minute for DAYS days.
#   Q1 one series, one day, 20m-max
#   Q2 the metric's 150 series, one day, 1h-avg then sum across series
#   Q3 the same over all days, grouped by dc
#   Q4 the metric's series over all days, 1d-avg then sum (from summaries;
#      and again with vscope.use_summaries off)
#   BI the datapoints view with a metric and a one-day range
#   last: the latest point of all SERIES series (/api/query/last)
#   scan: every point through the reader, against count/sum of the table
# Each query runs RUNS times; the median is reported, with the ratio.
# Before the queries every day is compressed into blocks (timed), and the
# bytes per point of the blocks are set against the plain table's.
# Run through `make bench` (scripts/bench.sh sets up the cluster).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
: "${BENCH_DIR:?run through make bench}"
SERIES=${BENCH_Q_SERIES:-2000}
DAYS=${BENCH_Q_DAYS:-3}
RUNS=${BENCH_Q_RUNS:-7}
q() { psql_q -d vscope "$@"; }

echo "query: $SERIES series, one point a minute for $DAYS days, median of $RUNS runs"
q -v series="$SERIES" -v days="$DAYS" <<'SQL'
SELECT vscope.create_tenant('benchq') \g /dev/null
SELECT vscope.use_tenant('benchq') \g /dev/null
-- the data window: whole days ending at the last midnight
SELECT extract(epoch FROM date_trunc('day', now()) - make_interval(days => :days))::bigint AS t0 \gset
SELECT setseed(0.25);
-- series: 150 of bench.cpu (host h0..h149, dc dc0..dc2), the rest bench.other
-- (ids given here; later puts number new series of the tenant past them)
INSERT INTO vscope.series (tenant_id, series_id, metric, tags, skey)
SELECT vscope.current_tenant(), i + 1, m, jsonb_build_object('host', 'h' || i, 'dc', 'dc' || (i % 3)),
       m || '{dc=dc' || (i % 3) || ',host=h' || i || '}'
  FROM generate_series(0, :series - 1) i,
       LATERAL (SELECT CASE WHEN i < 150 THEN 'bench.cpu' ELSE 'bench.other' END AS m) x;
CALL vscope.add_days((to_timestamp(:t0) AT TIME ZONE 'UTC')::date, (to_timestamp(:t0) AT TIME ZONE 'UTC')::date + :days);
CREATE TABLE bq_series AS
SELECT series_id, metric, tags->>'host' AS host, tags->>'dc' AS dc FROM vscope.series
 WHERE tenant_id = vscope.current_tenant();
-- the same points in both stores, in time order as they would arrive
CREATE TABLE bq_points (series_id int, ts timestamptz, value float8);
CREATE INDEX ON bq_points (series_id, ts);
INSERT INTO bq_points
SELECT s.series_id, to_timestamp(:t0 + 60 * k), round((50 + 40 * sin(k / 300.0 + s.series_id) + random())::numeric, 2)
  FROM generate_series(0, :days * 1440 - 1) k, bq_series s ORDER BY k, s.series_id;
INSERT INTO vscope.points (tenant_id, series_id, ts, value)
SELECT vscope.current_tenant(), series_id, ts, value FROM bq_points;
-- (put() keeps the latest points at ingest; this load bypasses it)
INSERT INTO vscope.series_last (tenant_id, series_id, ts, value)
SELECT DISTINCT ON (series_id) vscope.current_tenant(), series_id, ts, value
  FROM bq_points ORDER BY series_id, ts DESC;
-- every day into blocks, as vscope.maintain() does a day after its end
SELECT clock_timestamp() AS c0 \gset
SELECT sum(vscope.compress(d::date)) AS compressed
  FROM generate_series(to_timestamp(:t0), to_timestamp(:t0) + make_interval(days => :days - 1), '1 day') d \gset
SELECT format('  compaction: %s points in %s s: %s points/s', :compressed,
              round(extract(epoch FROM clock_timestamp() - :'c0')::numeric, 2),
              round(:compressed / extract(epoch FROM clock_timestamp() - :'c0')::numeric));
VACUUM ANALYZE bq_points;
VACUUM ANALYZE vscope.points;
VACUUM ANALYZE vscope.blocks;
ANALYZE vscope.series;
SELECT format('  size: blocks %s bytes/point, plain table %s bytes/point: %sx smaller',
              round(b::numeric / n, 2), round(p::numeric / n, 1), round(p::numeric / b, 1))
  FROM (SELECT pg_total_relation_size('vscope.blocks') AS b,
               pg_total_relation_size('bq_points') AS p,
               (SELECT count(*) FROM bq_points) AS n) x;
GRANT SELECT ON bq_series, bq_points TO vscope_reader;
SQL

t0=$(q -c "SELECT extract(epoch FROM date_trunc('day', now()) - make_interval(days => $DAYS))::bigint")
d1=$((t0 + 86400))        # Q1 and Q2: the second day
t_end=$((t0 + DAYS * 86400 - 1))
host1=$(q -c "SELECT series_id FROM bq_series WHERE host = 'h1'")

cat "$(dirname "$0")/median_ms.sql" - <<'SQL' | q -v runs="$RUNS" -v t0="$t0" -v d1="$d1" -v tend="$t_end" -v sid="$host1"
SELECT vscope.use_tenant('benchq') \g /dev/null
SET ROLE vscope_reader;
CREATE TEMP TABLE results (q text, vscope_ms numeric, plain_ms numeric);
-- Q1
INSERT INTO results SELECT 'Q1 one series, 1 day, 20m-max',
  pg_temp.median_ms(format($q$SELECT vscope.tsdb_query('{"start":%s,"end":%s,"queries":[{"metric":"bench.cpu","aggregator":"sum","downsample":"20m-max","tags":{"host":"h1"}}]}')$q$, :d1, :d1 + 86399), :runs),
  pg_temp.median_ms(format($q$SELECT date_bin('20 minutes', ts, 'epoch') AS b, max(value) FROM bq_points
      WHERE series_id = %s AND ts >= to_timestamp(%s) AND ts <= to_timestamp(%s) GROUP BY b ORDER BY b$q$, :sid, :d1, :d1 + 86399), :runs);
-- Q2
INSERT INTO results SELECT 'Q2 150 series, 1 day, 1h-avg, sum',
  pg_temp.median_ms(format($q$SELECT vscope.tsdb_query('{"start":%s,"end":%s,"queries":[{"metric":"bench.cpu","aggregator":"sum","downsample":"1h-avg"}]}')$q$, :d1, :d1 + 86399), :runs),
  pg_temp.median_ms(format($q$SELECT b, sum(v) FROM (
        SELECT p.series_id, date_bin('1 hour', p.ts, 'epoch') AS b, avg(p.value) AS v
          FROM bq_points p JOIN bq_series s USING (series_id)
         WHERE s.metric = 'bench.cpu' AND p.ts >= to_timestamp(%s) AND p.ts <= to_timestamp(%s)
         GROUP BY 1, 2) x GROUP BY b ORDER BY b$q$, :d1, :d1 + 86399), :runs);
-- Q3
INSERT INTO results SELECT 'Q3 150 series, 3 days, 1h-avg, sum by dc',
  pg_temp.median_ms(format($q$SELECT vscope.tsdb_query('{"start":%s,"end":%s,"queries":[{"metric":"bench.cpu","aggregator":"sum","downsample":"1h-avg","tags":{"dc":"*"}}]}')$q$, :t0, :tend), :runs),
  pg_temp.median_ms(format($q$SELECT dc, b, sum(v) FROM (
        SELECT s.dc, p.series_id, date_bin('1 hour', p.ts, 'epoch') AS b, avg(p.value) AS v
          FROM bq_points p JOIN bq_series s USING (series_id)
         WHERE s.metric = 'bench.cpu' AND p.ts >= to_timestamp(%s) AND p.ts <= to_timestamp(%s)
         GROUP BY 1, 2, 3) x GROUP BY dc, b ORDER BY dc, b$q$, :t0, :tend), :runs);
-- Q4: whole days, answered from the blocks' summaries (and, to compare, by
-- decoding every block: the answer is the same)
INSERT INTO results SELECT 'Q4 150 series, all days, 1d-avg, sum',
  pg_temp.median_ms(format($q$SELECT vscope.tsdb_query('{"start":%s,"end":%s,"queries":[{"metric":"bench.cpu","aggregator":"sum","downsample":"1d-avg"}]}')$q$, :t0, :tend), :runs),
  pg_temp.median_ms(format($q$SELECT b, sum(v) FROM (
        SELECT p.series_id, date_bin('1 day', p.ts, 'epoch') AS b, avg(p.value) AS v
          FROM bq_points p JOIN bq_series s USING (series_id)
         WHERE s.metric = 'bench.cpu' AND p.ts >= to_timestamp(%s) AND p.ts <= to_timestamp(%s)
         GROUP BY 1, 2) x GROUP BY b ORDER BY b$q$, :t0, :tend), :runs);
SET vscope.use_summaries = off;
INSERT INTO results SELECT 'Q4 the same, summaries off (decoding)',
  pg_temp.median_ms(format($q$SELECT vscope.tsdb_query('{"start":%s,"end":%s,"queries":[{"metric":"bench.cpu","aggregator":"sum","downsample":"1d-avg"}]}')$q$, :t0, :tend), :runs),
  (SELECT plain_ms FROM results WHERE q LIKE 'Q4 150%');
RESET vscope.use_summaries;
-- BI: the datapoints view over one day of the metric (the range read only)
INSERT INTO results SELECT 'BI view: 150 series, 1 day, avg',
  pg_temp.median_ms(format($q$SELECT avg(value) FROM vscope.datapoints
      WHERE metric = 'bench.cpu' AND ts >= to_timestamp(%s) AND ts < to_timestamp(%s)$q$, :d1, :d1 + 86400), :runs),
  pg_temp.median_ms(format($q$SELECT avg(p.value) FROM bq_points p JOIN bq_series s USING (series_id)
      WHERE s.metric = 'bench.cpu' AND p.ts >= to_timestamp(%s) AND p.ts < to_timestamp(%s)$q$, :d1, :d1 + 86400), :runs);
-- last: the newest point of every series
INSERT INTO results SELECT 'last: newest point of all series',
  pg_temp.median_ms($q$SELECT vscope.tsdb_last('{"queries":[{"metric":"bench.cpu"},{"metric":"bench.other"}]}')$q$, :runs),
  pg_temp.median_ms($q$SELECT json_agg(json_build_object('ts', l.ts, 'value', l.value))
      FROM bq_series s CROSS JOIN LATERAL (SELECT ts, value FROM bq_points p
        WHERE p.series_id = s.series_id ORDER BY ts DESC LIMIT 1) l$q$, :runs);
-- scan: every point, counted and summed
INSERT INTO results SELECT 'scan: every point, count and sum',
  pg_temp.median_ms($q$SELECT count(*), sum(coalesce(value, ivalue)) FROM vscope.read_points(
      ARRAY(SELECT series_id FROM bq_series), '-infinity', 'infinity')$q$, :runs),
  pg_temp.median_ms($q$SELECT count(*), sum(value) FROM bq_points$q$, :runs);
SELECT format('  %-42s vscope %8s ms   plain SQL %8s ms   %s', q,
              round(vscope_ms, 1), round(plain_ms, 1),
              CASE WHEN vscope_ms <= plain_ms
                   THEN format('%sx faster', round(plain_ms / greatest(vscope_ms, 0.001), 1))
                   ELSE format('%sx slower', round(vscope_ms / greatest(plain_ms, 0.001), 2)) END)
  FROM results;
SQL
