-- The Ceilometer SQL surface: storage, message ids, metadata flattening, the
-- simple-query translation, statistics, complex queries, events, and the
-- project confinement that vscoped asks for through vscope.ceilometer_*.
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day of samples after each write, so the answers come
-- from blocks
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2012-09-25', '2012-09-25');
-- (and today, where a sample without a timestamp goes)
CALL vscope.add_days((now() AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE 'UTC')::date);
RESET client_min_messages;
SELECT vscope.create_tenant('cm-a') > 0 AS a, vscope.create_tenant('cm-b') > 0 AS b;
SELECT vscope.use_tenant('cm-a') > 0 AS using_a;
-- posting: validated, filled in, stored; two samples at one time both kept
SELECT jsonb_pretty(e - 'message_id') FROM json_array_elements(vscope.ceilometer_post_samples('cpu', '[
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 10,
   "resource_id": "vm-1", "project_id": "p1", "user_id": "u1", "timestamp": "2012-09-25T10:30:00",
   "resource_metadata": {"flavor.name": "m1.small", "size": "5"}}]')) j, LATERAL (SELECT j::jsonb AS e) x;
SELECT json_array_length(vscope.ceilometer_post_samples('cpu', '[
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 20,
   "resource_id": "vm-1", "project_id": "p1", "user_id": "u1", "timestamp": "2012-09-25T11:31:00+00:00",
   "resource_metadata": {"flavor.name": "m1.small", "size": "5"}},
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 30,
   "resource_id": "vm-2", "project_id": "p2", "user_id": "u2", "timestamp": "2012-09-25T14:32:00+02:00"},
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 30,
   "resource_id": "vm-2", "project_id": "p2", "user_id": "u2", "timestamp": "2012-09-25T12:32:00"}]')) AS stored;
SELECT vscope.compress_samples(range_start::date) FROM vscope.partitions('samples') WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
-- a sample for a day that has no partition: Ceilometer's 400, naming the
-- day and how it is made writable; nothing of the post is stored
SELECT vscope.ceilometer_post_samples('cpu', '[
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 40,
   "resource_id": "vm-3", "project_id": "p1", "user_id": "u1", "timestamp": "2012-09-25T23:00:00"},
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 40,
   "resource_id": "vm-3", "project_id": "p1", "user_id": "u1", "timestamp": "2012-09-25T23:00:00-02:00"}]');
-- one series per (meter, resource, attributes, metadata snapshot)
SELECT counter_name, resource_id, project_id, source, resource_metadata FROM vscope.sample_series ORDER BY series_id;
SELECT counter_name, counter_volume, "timestamp", message_id = vscope.ceilometer_message_id(series_id, "timestamp", seq) AS id_ok, seq
  FROM vscope.ceilometer_samples ORDER BY "timestamp", seq;
-- message ids go both ways
SELECT m.* FROM vscope.ceilometer_samples s, vscope._ceilo_parse_message_id(s.message_id) m
 WHERE (m.series_id, m.ts, m.seq) IS DISTINCT FROM (s.series_id, s."timestamp", s.seq);
SELECT count(*) AS not_ids FROM unnest(ARRAY['x', '', '00000001-0004-ca84-3033-3a000000000', 'zzzzzzzz-0004-ca84-3033-3a0000000000',
  '00000001-0004-CA84-3033-3A0000000000', '00000001-0004-ca84-3033-3a00-0000000', '00000001-7000-0000-0000-000000000000',
  '00000001-8000-0000-0000-000000000000']) i,
       vscope._ceilo_parse_message_id(i);
SELECT vscope.ceilometer_filter_sql('{"in": {"message_id": ["00000001-7000-0000-0000-000000000000", "00000001-0004-CA84-3033-3A0000000000"]}}');
-- metadata: flattened with '.' then ':', values as Python shows them; dotted keys re-nested
SELECT vscope._ceilo_flatten('{"a": {"b": {"c": 1}}, "properties": {"prop.3": {"$sub_prop": {"2": true}}}, "l": ["returned", 1], "n": null, "f": 0.47}');
SELECT vscope._ceilo_renest('{"nest.name1": "v1", "nest.name2": "v2", "plain": "p"}');
SELECT vscope._ceilo_ts('2012-09-25 10:30:00+00'), vscope._ceilo_ts('2012-09-25 10:30:00.25+00');
SELECT s, vscope._ceilo_parse_ts(s) FROM unnest(ARRAY['2012-09-25T10:30:00', '2012-09-25 10:30', '2012-09-25T10:30:00Z',
  '2012-09-25T12:30:00+02:00', '2012-09-25', '2012-13-25T10:30:00', 'yesterday', '2012-09-25T10:30:00; DROP',
  '9999-12-31T23:30:00-01:00', '0001-01-01T00:30:00+01:00', '2012-09-25T10:30:00+05:', '2000-02-29T00:00:00.1234567',
  '1900-02-29T00:00:00', '2012-09-25T24:00:00']) s;
-- the simple query becomes SQL with quoted values and whitelisted fields only
SELECT series_where, sample_where FROM vscope._ceilo_query('{"q.field": ["resource_id", "metadata.flavor.name", "timestamp", "user"],
  "q.op": ["eq", "", "gt", "eq"], "q.value": ["vm''1", "m1.small", "2012-09-25T10:00:00", "None"], "q.type": ["", "", "", ""]}', 'samples');
SELECT series_where FROM vscope._ceilo_query('{"q.field": ["metadata.size", "metadata.ok", "metadata.r"], "q.value": ["5", "True", "0.5"],
  "q.type": ["integer", "", "string"]}', 'samples');
-- query values are compared exactly (no rounding to bigint or double precision)
SELECT series_where FROM vscope._ceilo_query('{"q.field": ["metadata.big", "metadata.f"],
  "q.value": ["12345678901234567890", "0.12345678901234567891"]}', 'samples');
SELECT series_where, sample_where FROM vscope._ceilo_query('{"q.field": ["timestamp", "timestamp", "search_offset"], "q.op": ["ge", "le", "eq"],
  "q.value": ["2012-08-28T00:00:00", "2012-08-28T23:59:00", "10"]}', 'resources');
-- listings through the functions
SELECT s->>'resource_id' AS resource, s->>'counter_volume' AS volume, s->>'timestamp' AS ts
  FROM json_array_elements(vscope.ceilometer_list_samples('{"q.field": ["metadata.flavor.name"], "q.value": ["m1.small"]}', 'cpu', true)) s;
SELECT vscope.ceilometer_list_meters('{"q.field": ["project"], "q.value": ["p2"]}');
SELECT vscope.ceilometer_list_resources('{"q.field": ["resource_id"], "q.value": ["vm-1"]}', 'http://h:1/');
-- statistics: no period; period 3600 from the first sample; groupby and selected aggregates
SELECT vscope.ceilometer_statistics('cpu');
SELECT s->>'period_start' AS period_start, s->>'period_end' AS period_end, s->>'count' AS n, s->>'avg' AS avg
  FROM json_array_elements(vscope.ceilometer_statistics('cpu', '{"period": ["3600"]}')) s;
SELECT s->'groupby' AS groupby, s->'aggregate' AS aggregate, s->'max' AS max, s->'min' AS min
  FROM json_array_elements(vscope.ceilometer_statistics('cpu', '{"groupby": ["project_id"],
    "aggregate.func": ["stddev", "cardinality", "max", "max"], "aggregate.param": ["", "resource_id", "", ""]}')) s;
-- the complex query
SELECT s->>'resource_id' AS resource, s->>'volume' AS volume
  FROM json_array_elements(vscope.ceilometer_query_samples('{"filter": "{\"and\": [{\"=\": {\"meter\": \"cpu\"}}, {\">\": {\"volume\": 10}}]}",
    "orderby": "[{\"volume\": \"asc\"}, {\"timestamp\": \"desc\"}]", "limit": 2}')) s;
-- a non-admin caller (as vscoped sets it) is confined to its project
BEGIN;
SELECT set_config('vscope.ceilometer_admin', 'off', true), set_config('vscope.ceilometer_project', 'p1', true);
SELECT json_array_length(vscope.ceilometer_list_samples()) AS own_samples,
       (vscope.ceilometer_statistics('cpu') -> 0 ->> 'count') AS own_count,
       json_array_length(vscope.ceilometer_query_samples('{}')) AS own_query;
\set VERBOSITY terse
SAVEPOINT s;
SELECT vscope.ceilometer_list_samples('{"q.field": ["project_id"], "q.value": ["p2"]}');
ROLLBACK TO s;
SELECT vscope.ceilometer_query_samples('{"filter": "{\"or\": [{\"=\": {\"project\": \"p1\"}}, {\"=\": {\"project\": \"p2\"}}]}"}');
ROLLBACK TO s;
SELECT vscope.ceilometer_post_samples('cpu', '[{"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%",
  "counter_volume": 1, "resource_id": "r", "project_id": "p2"}]');
ROLLBACK TO s;
SELECT vscope.ceilometer_event_types();
ROLLBACK;
-- errors: Ceilometer's texts, VS400 (and friends) for vscoped to map
SELECT vscope.ceilometer_list_samples('{"q.field": ["timestamp"], "q.op": ["eq"], "q.value": ["2012-09-25T10:30:00"]}');
SELECT vscope.ceilometer_list_samples('{"q.field": ["resource_id"], "q.op": ["gt"], "q.value": ["x"]}');
SELECT vscope.ceilometer_list_samples('{"q.field": ["resource_id; DROP TABLE x"], "q.value": ["x"]}');
SELECT vscope.ceilometer_list_meters('{"q.field": ["search_offset"], "q.value": ["1"]}');
SELECT vscope.ceilometer_list_samples('{"q.field": ["metadata.x"], "q.value": ["1"], "q.type": ["blob"]}');
SELECT vscope.ceilometer_list_samples('{"limit": ["0"]}');
SELECT vscope.ceilometer_list_samples('{"limit": ["ten"]}');
SELECT vscope.ceilometer_statistics('cpu', '{"period": ["-5"]}');
SELECT vscope.ceilometer_statistics('cpu', '{"aggregate.func": ["cardinality"], "aggregate.param": ["flavor"]}');
SELECT vscope.ceilometer_post_samples('cpu', '[]');
SELECT vscope.ceilometer_post_samples('cpu', '[{"counter_name": "mem", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 1, "resource_id": "r"}]');
SELECT vscope.ceilometer_get_sample('00000000-0000-0000-0000-000000000000');
SELECT vscope.ceilometer_get_resource('nope');
SELECT vscope.ceilometer_get_sample('00000001-8000-0000-0000-000000000000');
SELECT vscope._ceilo_stats_row('s', 60, now(), now(), now(), now(), NULL, '{3,9,2,5,3,1}', '{count,NULL}', NULL);
SELECT vscope._ceilo_stats_row('s', 60, now(), now(), now(), now(), NULL, '{NaN,9,2,5,3,1}', NULL, NULL);
SELECT vscope.ceilometer_filter_sql('{"=": {"volume": 1e-400}}');
SELECT vscope.ceilometer_add_events('[{"event_type": "t", "generated": "9999-12-31T23:30:00-01:00"}]');
SELECT * FROM vscope.ceilometer_request('GET', '/v2/nope', '{}', NULL, '');
SELECT * FROM vscope.ceilometer_request('GET', '/v2/capabilities', '{}', NULL, '') WHERE status = 200;
-- naive times are UTC whatever the session's zone, in both query forms
SET timezone = 'Asia/Tokyo';
SELECT json_array_length(vscope.ceilometer_query_samples('{"filter": "{\"=\": {\"timestamp\": \"2012-09-25T10:30:00\"}}"}')) AS complex_utc,
       json_array_length(vscope.ceilometer_list_samples('{"q.field": ["timestamp"], "q.op": ["le"], "q.value": ["2012-09-25T10:30:00"]}')) AS simple_utc;
SET timezone = 'UTC';
-- answers have a size limit
SET vscope.ceilometer_max_rows = 2;
SELECT vscope.ceilometer_statistics('cpu', '{"period": ["3600"]}');
SELECT vscope.ceilometer_list_samples('{"limit": ["3"]}');
RESET vscope.ceilometer_max_rows;
-- a bucket may not end after year 9999
-- (such a sample cannot be posted: vscope.max_future; stored directly here)
SELECT vscope.ceilometer_post_samples('far', '[{"counter_name": "far", "counter_type": "gauge",
  "counter_unit": "s", "counter_volume": 1, "resource_id": "r", "timestamp": "9999-12-31T23:59:59"}]');
SELECT vscope._ensure_partitions(ARRAY[2932896], 'samples') AS made,
       vscope._ceilo_store_sample('far', 'gauge', 's', 1, 'r', NULL, NULL, 'x', '{}', '9999-12-31T23:59:59+00') IS NOT NULL AS far;
SELECT vscope.compress_samples(range_start::date) FROM vscope.partitions('samples') WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SELECT vscope.ceilometer_statistics('far', '{"period": ["1"]}');
SELECT vscope.ceilometer_statistics('far', '{"period": ["300000000000"]}');
\set VERBOSITY default
-- events: loaded with typed traits, queried, described
SELECT vscope.ceilometer_add_events('[{"event_type": "compute.instance.create.end", "generated": "2013-12-31T10:00:00", "message_id": "e1",
  "traits": [{"name": "project_id", "value": "p1"}, {"name": "memory_mb", "type": "integer", "value": 512},
             {"name": "ratio", "type": "float", "value": "0.5"}]},
  {"event_type": "image.upload", "generated": "2013-12-31T11:00:00", "message_id": "e2", "traits": []}]');
SELECT vscope.ceilometer_list_events('{"q.field": ["memory_mb"], "q.op": ["ge"], "q.value": ["100"], "q.type": ["integer"]}');
SELECT vscope.ceilometer_event_types(), vscope.ceilometer_event_traits('compute.instance.create.end');
-- row-level security: another tenant's reader sees none of it
SELECT vscope.use_tenant('cm-b') > 0 AS using_b;
SET ROLE vscope_reader;
SELECT count(*) AS b_samples FROM vscope.ceilometer_samples;
SELECT vscope.ceilometer_list_samples() AS b_list, vscope.ceilometer_statistics('cpu') AS b_stats;
SELECT count(*) AS b_events FROM vscope.events;
RESET ROLE;
-- samples are partitioned by day like points, and expire the same way
SELECT partition, range_start, range_end FROM vscope.partitions('samples')
 WHERE range_start < '2012-10-01' OR range_start > '9000-01-01';
SELECT vscope.expire('1000 days') >= 1 AS dropped_some;
SELECT partition FROM vscope.partitions('samples') WHERE range_start < '2012-10-01' OR range_start > '9000-01-01';
SELECT vscope.use_tenant('cm-a') > 0 AS using_a;
SELECT counter_name, count(*) FROM vscope.ceilometer_samples GROUP BY 1 ORDER BY 1;
SELECT vscope._ensure_partitions('{1}', 'tenants');
-- Ceilometer's floats are float8out's digits (10.0 for 10, null when not
-- finite); the volumes that are short decimals take a shortcut, which must
-- write the very same text: every sign, scale and edge of it, and values
-- that only nearly are such decimals
SET extra_float_digits = 1;
SELECT setseed(0.25) \g /dev/null
CREATE TEMP TABLE ceilo_floats AS
SELECT (i / 100.0)::float8 AS x FROM generate_series(-20000, 20000) i
UNION ALL SELECT (i / 10000.0)::float8 FROM generate_series(-2000, 2000) i
UNION ALL SELECT i::float8 / 100 * 3 FROM generate_series(1, 20000) i
UNION ALL SELECT i::float8 / 10 / 7 FROM generate_series(1, 20000) i
UNION ALL SELECT (random() * 10 ^ (random() * 30 - 15))::float8 FROM generate_series(1, 20000)
UNION ALL SELECT s * round((random() * 10 ^ (random() * 16 - 5))::numeric, (random() * 6)::int)::float8
  FROM generate_series(1, 20000), (VALUES (1), (-1)) v(s)
UNION ALL SELECT unnest('{0, -0, 1e-4, 9.999e-5, 1e-5, 0.00015, 99999999999.9999, 1e11, 99999999999.99991,
                          123456789012345, 1e15, 1e16, 0.30000000000000004, 0.3333333333333333, NaN,
                          Infinity, -Infinity, 5e-324, 1.7976931348623157e308, 50.23, 540, -0.0001,
                          9007199254740993, 4503599627370496.5}'::float8[]);
SELECT count(*) AS floats,
       count(*) FILTER (WHERE vscope._ceilo_float(x)::text IS DISTINCT FROM
                        CASE WHEN x::text IN ('NaN', 'Infinity', '-Infinity') THEN 'null'
                             WHEN x::text ~ '^-?[0-9]+$' THEN x::text || '.0' ELSE x::text END) AS differ
  FROM ceilo_floats;
SET extra_float_digits = 0;
SELECT count(*) FILTER (WHERE vscope._ceilo_float(x)::text IS DISTINCT FROM
                        CASE WHEN x::text IN ('NaN', 'Infinity', '-Infinity') THEN 'null'
                             WHEN x::text ~ '^-?[0-9]+$' THEN x::text || '.0' ELSE x::text END) AS differ_at_0
  FROM ceilo_floats;
RESET extra_float_digits;
