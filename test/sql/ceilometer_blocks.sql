-- Ceilometer building blocks: vscope.sample_stats (one pass, parallel-safe)
-- and the complex-query translation (every field whitelisted, every value quoted).
SET timezone = 'UTC';

-- statistics: volumes 2, 2, 5 -> count 3, sum 9, min 2, max 5, avg 3, stddev_pop sqrt(2)
SELECT vscope.sample_stats(v) FROM unnest(ARRAY[2, 2, 5]::float8[]) v;
SELECT vscope.sample_stats(v) FROM unnest(ARRAY[7]::float8[]) v;
SELECT vscope.sample_stats(v) FROM unnest(ARRAY[NULL, 1, NULL, 3]::float8[]) v;
SELECT vscope.sample_stats(v) IS NULL AS empty FROM unnest(ARRAY[]::float8[]) v;
SELECT g, vscope.sample_stats(v) FROM (VALUES ('a', 1.0), ('a', 3.0), ('b', 10.0)) t(g, v) GROUP BY g ORDER BY g;
-- a parallel plan runs the combine function; the answers equal PostgreSQL's own
CREATE TABLE stats_big AS SELECT (i % 997)::float8 * 1.5 + 0.25 AS v, i % 3 AS g FROM generate_series(1, 200000) i;
ANALYZE stats_big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT vscope.sample_stats(v) FROM stats_big;
SELECT s[1] = count(*) AS count_ok, s[2] = sum(v) AS sum_ok, s[3] = min(v) AS min_ok, s[4] = max(v) AS max_ok,
       abs(s[5] - avg(v)) < 1e-9 AS avg_ok, abs(s[6] - stddev_pop(v)) < 1e-9 AS stddev_ok
  FROM (SELECT vscope.sample_stats(v) AS s FROM stats_big) x, stats_big GROUP BY s;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
-- in two steps (partial states per group, then merged) the answers are the same
SELECT m[1] = s[1] AS count_ok, m[2] = s[2] AS sum_ok, m[3] = s[3] AS min_ok, m[4] = s[4] AS max_ok,
       abs(m[5] - s[5]) < 1e-9 AS avg_ok, abs(m[6] - s[6]) < 1e-9 AS stddev_ok
  FROM (SELECT vscope.sample_stats_merge(st) AS m FROM (SELECT g, vscope.sample_stats_state(v) AS st
                                                          FROM stats_big GROUP BY g) p) a,
       (SELECT vscope.sample_stats(v) AS s FROM stats_big) b;
SELECT vscope.sample_stats_state(v) FROM unnest(ARRAY[2, 2, 5]::float8[]) v;
SELECT vscope.sample_stats_merge(st) FROM (VALUES ('{2,4,2,2,2,0}'::float8[]), ('{1,5,5,5,5,0}'), ('{0,0,0,0,0,0}')) t(st);
DROP TABLE stats_big;

-- the filter translation
SELECT vscope.ceilometer_filter_sql(f)
  FROM unnest(ARRAY[
    '{"=": {"counter_name": "cpu_util"}}',
    '{"and": [{">": {"volume": 10}}, {"=~": {"resource": "^inst"}}]}',
    '{"OR": [{"IN": {"project": ["p1", "p2"]}}, {"NOT": {"=": {"metadata.flavor.name": "m1.small"}}}]}',
    '{">=": {"timestamp": "2013-08-28T10:00:00"}}',
    '{"=<": {"metadata.size": 10}}',
    '{"!=": {"metadata.enabled": true}}',
    '{"=": {"counter_volume": 1.5e3}}',
    '{"=": {"user_id": 42}}',
    NULL, ''
  ]) f;
SELECT vscope.ceilometer_orderby_sql(o)
  FROM unnest(ARRAY['[{"volume": "DESC"}, {"timestamp": "asc"}]', '[]', NULL]) o;

-- it is SQL that runs, and means what it says
CREATE TEMP TABLE samples (source text, counter_name text, counter_type text, counter_unit text,
  counter_volume float8, user_id text, project_id text, resource_id text, "timestamp" timestamptz,
  recorded_at timestamptz, resource_metadata jsonb, message_id text, message_signature text);
INSERT INTO samples (counter_name, counter_volume, project_id, resource_id, "timestamp", resource_metadata) VALUES
  ('cpu_util', 5, 'p1', 'inst-1', '2013-08-28 09:00', '{"flavor": {"name": "m1.small"}, "size": 5}'),
  ('cpu_util', 50, 'p2', 'inst-2', '2013-08-28 11:00', '{"flavor": {"name": "m1.large"}, "size": 50}'),
  ('disk', 7, 'p3', 'vol-1', '2013-08-28 12:00', '{}');
CREATE FUNCTION pg_temp.matches(filter text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
	EXECUTE 'SELECT string_agg(resource_id, '','' ORDER BY resource_id) FROM samples s WHERE '
		|| vscope.ceilometer_filter_sql(filter) INTO r;
	RETURN coalesce(r, '');
END $$;
SELECT f, pg_temp.matches(f)
  FROM unnest(ARRAY[
    '{"=": {"counter_name": "cpu_util"}}',                                 -- inst-1, inst-2
    '{"and": [{">": {"volume": 10}}, {"=~": {"resource": "^inst"}}]}',     -- inst-2
    '{"in": {"project": ["p1", "p3"]}}',                                   -- inst-1, vol-1
    '{"not": {"=": {"metadata.flavor.name": "m1.small"}}}',                -- inst-2 and vol-1 (no flavor: matches)
    '{">=": {"timestamp": "2013-08-28T10:00:00"}}',                        -- inst-2, vol-1
    '{"<": {"metadata.size": 10}}',                                        -- inst-1
    '{}'
  ]) f WHERE f <> '{}';

-- malicious and malformed filters: each a clean error, never SQL
\set VERBOSITY terse
SELECT vscope.ceilometer_filter_sql('{"=": {"counter_name": "x''); DROP TABLE vscope.points; --"}}');
SELECT pg_temp.matches('{"=": {"counter_name": "x''); DROP TABLE samples; --"}}') AS no_match_and_no_drop;
SELECT count(*) AS samples_still_there FROM samples;
SELECT vscope.ceilometer_filter_sql('{"=": {"metadata.a'']::text[]) OR true --": "x"}}');
SELECT pg_temp.matches('{"=": {"metadata.a'']::text[]) OR true --": "x"}}') AS nothing;
SELECT vscope.ceilometer_filter_sql('{"=": {"password": "x"}}');
SELECT vscope.ceilometer_filter_sql('{"=": {"counter_name; DROP TABLE x": "x"}}');
SELECT vscope.ceilometer_filter_sql('{"=": {"resource_metadata": "x"}}');
SELECT vscope.ceilometer_filter_sql('{"like": {"counter_name": "x"}}');
SELECT vscope.ceilometer_filter_sql('{"=": {"counter_name": "a"}, "and": []}');
SELECT vscope.ceilometer_filter_sql('{"and": [{"=": {"counter_name": "a"}}]}');
SELECT vscope.ceilometer_filter_sql('{"=": {"counter_name": {"nested": "object"}}}');
SELECT vscope.ceilometer_filter_sql('{"=": {"counter_name": null}}');
SELECT vscope.ceilometer_filter_sql('{"=": {"volume": "ten"}}');
SELECT vscope.ceilometer_filter_sql('{"=": {"timestamp": "yesterday-ish"}}');
SELECT vscope.ceilometer_filter_sql('{"=~": {"volume": 3}}');
SELECT vscope.ceilometer_filter_sql('{"in": {"metadata.a": ["x"]}}');
SELECT vscope.ceilometer_filter_sql('{"in": {"project": []}}');
SELECT vscope.ceilometer_filter_sql('{"in": {"project": [' || string_agg('"p' || i || '"', ',') || ']}}')
  FROM generate_series(1, 1001) i;
SELECT vscope.ceilometer_filter_sql(repeat('{"not": ', 40) || '{"=": {"source": "x"}}' || repeat('}', 40));
SELECT vscope.ceilometer_filter_sql('{"=": {"counter_name": "a"');
SELECT vscope.ceilometer_filter_sql('["=", "counter_name"]');
SELECT vscope.ceilometer_filter_sql('/* comment */ {"=": {"source": "x"}}');
SELECT vscope.ceilometer_orderby_sql('{"volume": "desc"}');
SELECT vscope.ceilometer_orderby_sql('[{"metadata.a": "asc"}]');
SELECT vscope.ceilometer_orderby_sql('[{"volume": "sideways"}]');
SELECT vscope.ceilometer_orderby_sql('[{"volume; DROP": "asc"}]');
SELECT vscope.ceilometer_orderby_sql('[{"volume": "asc"');
