-- OpenTSDB's building blocks in plain SQL: vscope.downsample and the
-- percentile aggregates.  Expected values are derived in the comments.
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day after each write, so the answers come from blocks
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2013-01-01', '2013-01-01');
RESET client_min_messages;
SELECT vscope.create_tenant('tsdb3') IS NOT NULL;
SELECT vscope.use_tenant('tsdb3') IS NOT NULL;
-- two series: a = 1..10 every 30 s from 1356998400; b = 100 at 1356998400 and 300 at 1356998700
SELECT vscope.put(json_agg(p)::text)->>'failed' FROM (
  SELECT json_build_object('metric', 'sq.m', 'timestamp', 1356998400 + 30 * k, 'value', k + 1,
                           'tags', json_build_object('h', 'a')) p FROM generate_series(0, 9) k
  UNION ALL SELECT '{"metric":"sq.m","timestamp":1356998400,"value":100,"tags":{"h":"b"}}'::json
  UNION ALL SELECT '{"metric":"sq.m","timestamp":1356998700,"value":300,"tags":{"h":"b"}}'::json) s;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SET ROLE vscope_reader;
SELECT array_agg(series_id ORDER BY tags->>'h') AS ids FROM vscope.series WHERE metric = 'sq.m' \gset
-- 2m-avg over [00:00, 00:06]: a: (1+2+3+4)/4 = 2.5, 6.5, 9.5 (9, 10); b: 100, -, 300
SELECT (SELECT tags->>'h' FROM vscope.series s WHERE s.series_id = d.series_id) AS h, ts, value
  FROM vscope.downsample(:'ids', to_timestamp(1356998400), to_timestamp(1356998760), '2m-avg') d;
-- with zero fill, b's empty bucket at 00:02 is 0 and every bucket up to 00:06 is there
SELECT (SELECT tags->>'h' FROM vscope.series s WHERE s.series_id = d.series_id) AS h, ts, value
  FROM vscope.downsample(:'ids', to_timestamp(1356998400), to_timestamp(1356998760), '2m-sum-zero') d
 WHERE d.series_id = (:'ids'::int[])[2];
-- null fill gives SQL NULL
SELECT count(*) FILTER (WHERE value IS NULL) AS nulls
  FROM vscope.downsample(:'ids', to_timestamp(1356998400), to_timestamp(1356998760), '2m-sum-null') d;
-- composable: the hourly max across series with plain SQL
SELECT date_trunc('hour', ts) AS hour, max(value)
  FROM vscope.downsample(:'ids', to_timestamp(1356998400), to_timestamp(1356998760), '1m-max') GROUP BY 1;
-- errors
SELECT * FROM vscope.downsample(:'ids', to_timestamp(1356998400), to_timestamp(1356998760), '2m');
SELECT * FROM vscope.downsample(:'ids', to_timestamp(1356998760), to_timestamp(1356998400), '2m-avg');
SELECT * FROM vscope.downsample(:'ids', '-infinity', to_timestamp(1356998400), '2m-avg');

-- percentiles over 10, 20, 30, 40 (OpenTSDB's examples): legacy p50 = 25, p75 = 37.5, p99 = 40;
-- R-7 p75 = 32.5; R-3 p50 = 20
SELECT vscope.percentile(v, 50) AS p50, vscope.percentile(v, 75) AS p75, vscope.percentile(v, 99) AS p99,
       vscope.percentile_r7(v, 75) AS r7_p75, vscope.percentile_r3(v, 50) AS r3_p50
  FROM unnest(ARRAY[40, 10, 30, 20]::float8[]) v;
-- with GROUP BY, NULLs skipped, no rows -> NULL
SELECT g, vscope.percentile(v, 50) FROM (VALUES (1, 1.0), (1, 2.0), (1, 3.0), (2, NULL), (2, 7.0)) t(g, v) GROUP BY g ORDER BY g;
SELECT vscope.percentile(v, 50) FROM (SELECT 1.0::float8 WHERE false) t(v);
SELECT vscope.percentile(v, 101) FROM (VALUES (1.0)) t(v);
-- a parallel plan runs the combine function and still gets it right:
-- 0..99999, p50 legacy: pos = 0.5 * 100001 = 50000.5 -> 49999 + 0.5 = 49999.5
RESET ROLE;
CREATE TABLE pct_big AS SELECT i::float8 AS v FROM generate_series(0, 99999) i;
ANALYZE pct_big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT vscope.percentile(v, 50) FROM pct_big;
SELECT vscope.percentile(v, 50), vscope.percentile_r7(v, 90) FROM pct_big;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE pct_big;

-- a percentile keeps every value of its group: more than
-- vscope.percentile_max_values is refused cleanly (54000, with a hint)
SET vscope.percentile_max_values = 1000;
SELECT vscope.percentile(x, 50), vscope.percentile_r7(x, 90) FROM generate_series(1, 1000) x;
SELECT vscope.percentile(x, 50) FROM generate_series(1, 1001) x;
SELECT vscope.percentile_r3(x, 50) FROM generate_series(1, 1001) x;
RESET vscope.percentile_max_values;
SELECT vscope.percentile(x, 50) FROM generate_series(1, 1001) x;
