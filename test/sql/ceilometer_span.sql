-- Ceilometer listings from vscope.sample_span: the first and last sample of
-- each series, kept by the functions that store samples and by expire().
-- Meters and resources read no partition of vscope.samples, whatever their
-- number; sample listings and statistics plan only the days where the
-- matching series have samples; the answers are those computed from the
-- samples themselves, also after expire() and after a late older sample.
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day of samples after each write, so the answers come
-- from blocks
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2015-01-10', '2015-01-14');
RESET client_min_messages;
SELECT vscope.create_tenant('span-a') > 0 AS a, vscope.create_tenant('span-b') > 0 AS b;
SELECT vscope.use_tenant('span-a') > 0 AS using_a;

-- relation locks this transaction holds on partitions of vscope.samples
-- (tables and their indexes)
CREATE FUNCTION pg_temp.sample_locks() RETURNS bigint LANGUAGE sql AS $$
SELECT count(*) FROM pg_locks l
 WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
   AND l.relation IN (SELECT i.inhrelid FROM pg_inherits i
                       WHERE i.inhparent = 'vscope.samples'::regclass
                      UNION ALL
                      SELECT x.indexrelid FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid
                       WHERE i.inhparent = 'vscope.samples'::regclass)
$$;
-- runs a listing, then counts: one call a statement, so each starts with none
CREATE FUNCTION pg_temp.locks_of(call text) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'SELECT ' || call;
	RETURN pg_temp.sample_locks();
END
$$;
-- the kept spans are exactly the first and last sample of every series
-- (every sample, in rows or blocks: the ceilometer_samples view)
CREATE FUNCTION pg_temp.spans_exact() RETURNS boolean LANGUAGE sql AS $$
SELECT NOT EXISTS (
	(SELECT tenant_id, series_id, min("timestamp"), max("timestamp") FROM vscope.ceilometer_samples GROUP BY 1, 2
	 EXCEPT ALL
	 SELECT tenant_id, series_id, first_ts, last_ts FROM vscope.sample_span)
	UNION ALL
	(SELECT tenant_id, series_id, first_ts, last_ts FROM vscope.sample_span
	 EXCEPT ALL
	 SELECT tenant_id, series_id, min("timestamp"), max("timestamp") FROM vscope.ceilometer_samples GROUP BY 1, 2))
$$;
-- the answers as computed from the samples alone (the queries of 0.2.0,
-- over the ceilometer_samples view: samples in rows and blocks alike)
CREATE FUNCTION pg_temp.ref_meters() RETURNS json LANGUAGE sql AS $$
SELECT coalesce(json_agg(json_build_object('name', counter_name, 'type', counter_type,
		'unit', counter_unit, 'resource_id', resource_id, 'project_id', project_id,
		'user_id', user_id, 'source', source,
		'meter_id', vscope._ceilo_meter_id(resource_id, counter_name))
		ORDER BY counter_name, resource_id), '[]')
  FROM (SELECT DISTINCT ON (s.counter_name, s.resource_id) s.*
		  FROM vscope.sample_series s
		 CROSS JOIN LATERAL (SELECT x."timestamp" AS ts FROM vscope.ceilometer_samples x
							  WHERE x.tenant_id = s.tenant_id AND x.series_id = s.series_id
							  ORDER BY x."timestamp" DESC LIMIT 1) last
		 ORDER BY s.counter_name, s.resource_id, last.ts DESC, s.series_id DESC) m
$$;
CREATE FUNCTION pg_temp.ref_unique_meters() RETURNS json LANGUAGE sql AS $$
SELECT coalesce(json_agg(json_build_object('name', counter_name, 'type', counter_type,
		'unit', counter_unit, 'resource_id', NULL, 'project_id', NULL, 'user_id', NULL,
		'source', NULL, 'meter_id', vscope._ceilo_meter_id(NULL, counter_name))
		ORDER BY counter_name), '[]')
  FROM (SELECT DISTINCT ON (s.counter_name) s.counter_name, s.counter_type, s.counter_unit
		  FROM vscope.sample_series s
		 WHERE EXISTS (SELECT FROM vscope.ceilometer_samples x
						WHERE x.tenant_id = s.tenant_id AND x.series_id = s.series_id)
		 ORDER BY s.counter_name, s.series_id DESC) m
$$;
CREATE FUNCTION pg_temp.ref_resources(resource text DEFAULT NULL) RETURNS json LANGUAGE sql AS $$
WITH per_series AS (
	SELECT s.*, b.first_ts, b.last_ts
	  FROM vscope.sample_series s
	 CROSS JOIN LATERAL (SELECT min(x."timestamp") AS first_ts, max(x."timestamp") AS last_ts
						   FROM vscope.ceilometer_samples x
						  WHERE x.tenant_id = s.tenant_id AND x.series_id = s.series_id) b
	 WHERE (resource IS NULL OR s.resource_id = resource) AND b.first_ts IS NOT NULL
), per_resource AS (
	SELECT resource_id, min(first_ts) AS first_ts, max(last_ts) AS last_ts,
		   (array_agg(series_id ORDER BY last_ts DESC, series_id DESC))[1] AS latest,
		   array_agg(DISTINCT counter_name ORDER BY counter_name) AS meters
	  FROM per_series GROUP BY resource_id
)
SELECT coalesce(json_agg(json_build_object(
		'resource_id', p.resource_id, 'project_id', s.project_id, 'user_id', s.user_id,
		'source', s.source, 'first_sample_timestamp', vscope._ceilo_ts(p.first_ts),
		'last_sample_timestamp', vscope._ceilo_ts(p.last_ts),
		'metadata', vscope._ceilo_flatten(s.resource_metadata),
		'links', (SELECT json_agg(l ORDER BY n) FROM (
			SELECT 0 AS n, json_build_object('rel', 'self', 'href', 'http://h/v2/resources/' || p.resource_id) AS l
			UNION ALL
			SELECT k, json_build_object('rel', m, 'href', 'http://h/v2/meters/' || m
					|| '?q.field=resource_id&q.value=' || p.resource_id)
			  FROM unnest(p.meters) WITH ORDINALITY u(m, k)) ls))
		ORDER BY p.resource_id), '[]')
  FROM per_resource p JOIN vscope.sample_series s ON s.series_id = p.latest
 WHERE s.tenant_id = vscope.current_tenant()
$$;
CREATE FUNCTION pg_temp.ref_samples(lim integer) RETURNS json LANGUAGE sql AS $$
SELECT coalesce(json_agg(vscope._ceilo_sample_json(s, x, false) ORDER BY (x).ts DESC, (x).series_id, (x).seq), '[]')
  FROM (SELECT s, ROW(v.tenant_id, v.series_id, v."timestamp", v.seq, v.counter_volume, v.recorded_at)::vscope.samples
		  FROM vscope.sample_series s JOIN vscope.ceilometer_samples v USING (tenant_id, series_id)
		 ORDER BY v."timestamp" DESC, v.series_id, v.seq LIMIT lim) y(s, x)
$$;
-- every listing equals its answer from the samples
CREATE FUNCTION pg_temp.answers_match() RETURNS TABLE (listing text, same boolean) LANGUAGE sql AS $$
SELECT 'meters', vscope.ceilometer_list_meters()::text = pg_temp.ref_meters()::text
UNION ALL
SELECT 'unique meters', vscope.ceilometer_list_meters('{"unique": ["True"]}')::text = pg_temp.ref_unique_meters()::text
UNION ALL
SELECT 'resources', vscope.ceilometer_list_resources('{}', 'http://h/')::text = pg_temp.ref_resources()::text
UNION ALL
SELECT 'resources in a wide time range',
	   vscope.ceilometer_list_resources('{"q.field": ["timestamp"], "q.op": ["ge"], "q.value": ["1970-01-01T00:00:00"]}',
										'http://h/')::text = pg_temp.ref_resources()::text
UNION ALL
SELECT 'resource ' || r, vscope.ceilometer_get_resource(r, 'http://h/')::text = (pg_temp.ref_resources(r) -> 0)::text
  FROM unnest(ARRAY['vm-1', 'vm-3']) r
UNION ALL
SELECT 'samples, limit ' || n, vscope.ceilometer_list_samples(format('{"limit": ["%s"]}', n)::jsonb)::text
							  = pg_temp.ref_samples(n)::text
  FROM unnest(ARRAY[1, 3, 5, 100]) n
$$;

-- four series over five days, posted in one request in no particular
-- order: cpu of vm-1 in two metadata snapshots (a new one from the 12th),
-- cpu of vm-2 on the 10th only, mem of vm-1 on the 10th and 13th, disk of
-- vm-3 on the 12th and 13th
SET ROLE vscope_writer;
SELECT json_array_length(vscope.ceilometer_post_samples('cpu', '[
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 3,
   "resource_id": "vm-1", "project_id": "p1", "user_id": "u1", "timestamp": "2015-01-12T10:00:00",
   "resource_metadata": {"flavor": "m1.large"}},
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 1,
   "resource_id": "vm-1", "project_id": "p1", "user_id": "u1", "timestamp": "2015-01-10T10:00:00",
   "resource_metadata": {"flavor": "m1.small"}},
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 7,
   "resource_id": "vm-2", "project_id": "p2", "user_id": "u2", "timestamp": "2015-01-10T09:00:00"},
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 4,
   "resource_id": "vm-1", "project_id": "p1", "user_id": "u1", "timestamp": "2015-01-14T10:00:00",
   "resource_metadata": {"flavor": "m1.large"}},
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 2,
   "resource_id": "vm-1", "project_id": "p1", "user_id": "u1", "timestamp": "2015-01-11T10:00:00",
   "resource_metadata": {"flavor": "m1.small"}},
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 6,
   "resource_id": "vm-2", "project_id": "p2", "user_id": "u2", "timestamp": "2015-01-10T08:00:00"},
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 5,
   "resource_id": "vm-1", "project_id": "p1", "user_id": "u1", "timestamp": "2015-01-14T11:00:00",
   "resource_metadata": {"flavor": "m1.large"}},
  {"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 6,
   "resource_id": "vm-1", "project_id": "p1", "user_id": "u1", "timestamp": "2015-01-14T12:00:00",
   "resource_metadata": {"flavor": "m1.large"}}]')) AS cpu_samples;
SELECT json_array_length(vscope.ceilometer_post_samples('mem', '[
  {"counter_name": "mem", "counter_type": "gauge", "counter_unit": "MB", "counter_volume": 512,
   "resource_id": "vm-1", "project_id": "p1", "user_id": "u1", "timestamp": "2015-01-13T12:00:00"},
  {"counter_name": "mem", "counter_type": "gauge", "counter_unit": "MB", "counter_volume": 256,
   "resource_id": "vm-1", "project_id": "p1", "user_id": "u1", "timestamp": "2015-01-10T12:00:00"}]')) AS mem_samples;
SELECT vscope._ceilo_store_sample('disk', 'cumulative', 'B', 100, 'vm-3', 'p1', 'u1', 'p1:openstack', '{}',
                                  '2015-01-13T06:00:00+00') IS NOT NULL AS disk_1,
       vscope._ceilo_store_sample('disk', 'cumulative', 'B', 50, 'vm-3', 'p1', 'u1', 'p1:openstack', '{}',
                                  '2015-01-12T06:00:00+00') IS NOT NULL AS disk_2;
RESET ROLE;
SELECT vscope.compress_samples(range_start::date) FROM vscope.partitions('samples') WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
-- one row per series, its first and last sample
SELECT s.counter_name, s.resource_id, s.resource_metadata, k.first_ts, k.last_ts
  FROM vscope.sample_span k JOIN vscope.sample_series s USING (tenant_id, series_id)
 WHERE k.tenant_id = vscope.current_tenant() ORDER BY k.series_id;
SELECT pg_temp.spans_exact() AS spans_exact;

-- what the listings answer, from the spans
SET ROLE vscope_reader;
SELECT m->>'name' AS name, m->>'resource_id' AS resource, m->>'project_id' AS project
  FROM json_array_elements(vscope.ceilometer_list_meters()) m;
SELECT r->>'resource_id' AS resource, r->>'first_sample_timestamp' AS first, r->>'last_sample_timestamp' AS last,
       r->'metadata' AS metadata, json_array_length(r->'links') AS links
  FROM json_array_elements(vscope.ceilometer_list_resources()) r;
SELECT * FROM pg_temp.answers_match();
-- with a time filter, first and last are within it (from the samples of its days)
SELECT r->>'resource_id' AS resource, r->>'first_sample_timestamp' AS first, r->>'last_sample_timestamp' AS last
  FROM json_array_elements(vscope.ceilometer_list_resources('{"q.field": ["timestamp", "timestamp"],
    "q.op": ["gt", "lt"], "q.value": ["2015-01-10T09:00:00", "2015-01-13T12:00:00"]}')) r;
-- statistics: the origin of the periods is the first sample, as before
SELECT s->>'period_start' AS period_start, s->>'count' AS n, s->>'max' AS max
  FROM json_array_elements(vscope.ceilometer_statistics('cpu', '{"period": ["172800"]}')) s;
SELECT s->>'count' AS n, s->>'duration_start' AS duration_start, s->>'duration_end' AS duration_end
  FROM json_array_elements(vscope.ceilometer_statistics('mem')) s;
SELECT vscope.ceilometer_statistics('nothing') AS no_meter,
       vscope.ceilometer_list_samples('{}', 'nothing', true) AS no_samples;

-- locks on partitions of vscope.samples, each listing in a statement (and
-- transaction) of its own: now, and after 200 more (empty) days
RESET ROLE;
CREATE TEMP TABLE listings (n integer, name text, call text);
INSERT INTO listings VALUES
	(1, 'meters', $$vscope.ceilometer_list_meters()$$),
	(2, 'unique meters', $$vscope.ceilometer_list_meters('{"unique": ["True"]}')$$),
	(3, 'resources', $$vscope.ceilometer_list_resources()$$),
	(4, 'resources of a project', $$vscope.ceilometer_list_resources('{"q.field": ["project"], "q.value": ["p1"]}')$$),
	(5, 'resource vm-1', $$vscope.ceilometer_get_resource('vm-1')$$),
	(6, 'resources of one day', $$vscope.ceilometer_list_resources('{"q.field": ["timestamp", "timestamp"], "q.op": ["ge", "lt"], "q.value": ["2015-01-12T00:00:00", "2015-01-13T00:00:00"]}')$$),
	(7, 'newest 3 samples', $$vscope.ceilometer_list_samples('{"limit": ["3"]}')$$),
	(8, 'one sample', $$vscope.ceilometer_get_sample(vscope.ceilometer_message_id((SELECT series_id FROM vscope.sample_series WHERE tenant_id = vscope.current_tenant() AND resource_metadata = '{"flavor": "m1.small"}'), '2015-01-10T10:00:00+00', 0))$$),
	(9, 'statistics of mem', $$vscope.ceilometer_statistics('mem', '{"period": ["3600"]}')$$),
	(10, 'statistics of cpu', $$vscope.ceilometer_statistics('cpu')$$);
GRANT SELECT ON listings TO PUBLIC;
CREATE TEMP TABLE lock_counts (n integer, days bigint, locks bigint);
GRANT INSERT ON lock_counts TO PUBLIC;
SET ROLE vscope_reader;
\set ECHO none
SELECT format('INSERT INTO lock_counts SELECT %s, (SELECT count(*) FROM pg_inherits WHERE inhparent = ''vscope.samples''::regclass), pg_temp.locks_of(%L)', n, call)
  FROM listings ORDER BY n \gexec
\set ECHO all
RESET ROLE;
SET vscope.max_new_partitions = 1000;
SELECT vscope._ensure_partitions(ARRAY(SELECT d FROM generate_series(16455, 16654) d), 'samples') AS new_days;
RESET vscope.max_new_partitions;
SET ROLE vscope_reader;
\set ECHO none
SELECT format('INSERT INTO lock_counts SELECT %s, (SELECT count(*) FROM pg_inherits WHERE inhparent = ''vscope.samples''::regclass), pg_temp.locks_of(%L)', n, call)
  FROM listings ORDER BY n \gexec
\set ECHO all
RESET ROLE;
-- meters and resources without a time filter lock no partition; the others
-- lock those of the days they need (one day: a table and its two indexes),
-- whatever the number of days
SELECT l.name, b.locks AS locks, a.locks AS "locks with 200 more days", a.days - b.days AS more_days
  FROM listings l JOIN lock_counts b ON b.n = l.n JOIN lock_counts a ON a.n = l.n AND a.days > b.days
 ORDER BY l.n;
SET ROLE vscope_reader;
SELECT * FROM pg_temp.answers_match() WHERE NOT same;

-- expire() drops the oldest day: vm-2 (all its samples on the 10th) goes,
-- cpu of vm-1 begins on the 11th, mem of vm-1 on the 13th (nothing on the
-- 11th and 12th)
RESET ROLE;
SELECT vscope.expire(now() - '2015-01-11'::timestamptz) > 0 AS dropped;
SELECT partition FROM vscope.partitions('samples') WHERE range_start < '2015-01-20';
SELECT s.counter_name, s.resource_id, s.resource_metadata, k.first_ts, k.last_ts
  FROM vscope.sample_span k JOIN vscope.sample_series s USING (tenant_id, series_id)
 WHERE k.tenant_id = vscope.current_tenant() ORDER BY k.series_id;
SELECT pg_temp.spans_exact() AS spans_exact;
SET ROLE vscope_reader;
SELECT * FROM pg_temp.answers_match();
SELECT r->>'resource_id' AS resource, r->>'first_sample_timestamp' AS first, r->>'last_sample_timestamp' AS last
  FROM json_array_elements(vscope.ceilometer_list_resources()) r;
SELECT m->>'name' AS name, m->>'resource_id' AS resource FROM json_array_elements(vscope.ceilometer_list_meters()) m;
SELECT s->>'period_start' AS period_start, s->>'count' AS n
  FROM json_array_elements(vscope.ceilometer_statistics('cpu', '{"period": ["172800"]}')) s;

-- a sample older than its series' first: the span takes it in
RESET ROLE;
SET ROLE vscope_writer;
SELECT json_array_length(vscope.ceilometer_post_samples('mem', '[
  {"counter_name": "mem", "counter_type": "gauge", "counter_unit": "MB", "counter_volume": 128,
   "resource_id": "vm-1", "project_id": "p1", "user_id": "u1", "timestamp": "2015-01-11T00:00:01"}]')) AS late_mem;
RESET ROLE;
SELECT vscope.compress_samples(range_start::date) FROM vscope.partitions('samples') WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SELECT pg_temp.spans_exact() AS spans_exact;
SET ROLE vscope_reader;
SELECT * FROM pg_temp.answers_match();
SELECT r->>'resource_id' AS resource, r->>'first_sample_timestamp' AS first, r->>'last_sample_timestamp' AS last
  FROM json_array_elements(vscope.ceilometer_list_resources()) r;
SELECT s->>'period_start' AS period_start, s->>'count' AS n
  FROM json_array_elements(vscope.ceilometer_statistics('mem', '{"period": ["86400"]}')) s;

-- the same whatever the session's time zone and date style
SET timezone = 'America/St_Johns';
SET datestyle = 'SQL, DMY';
SELECT * FROM pg_temp.answers_match() WHERE NOT same;
SELECT s->>'period_start' AS period_start, s->>'count' AS n
  FROM json_array_elements(vscope.ceilometer_statistics('mem', '{"period": ["86400"]}')) s;
RESET datestyle;
SET timezone = 'UTC';

-- another tenant sees no span, and lists nothing
RESET ROLE;
SELECT vscope.use_tenant('span-b') > 0 AS using_b;
SET ROLE vscope_reader;
SELECT count(*) AS b_spans FROM vscope.sample_span;
SELECT vscope.ceilometer_list_meters() AS b_meters, vscope.ceilometer_list_resources() AS b_resources;
RESET ROLE;
SELECT vscope.use_tenant('span-a') > 0 AS using_a;

-- a day left busy by expire() and a later one dropped first: the series
-- that ended in the dropped day end at their last sample before it (the
-- disk of vm-3, on the 12th and 13th)
BEGIN;
DROP TABLE vscope.samples_20150113;
DELETE FROM vscope.sample_blocks WHERE first_ts >= '2015-01-13' AND first_ts < '2015-01-14';
SELECT vscope._ceilo_span_dropped('2015-01-13', '2015-01-14') AS moved;
SELECT s.counter_name, s.resource_id, k.first_ts, k.last_ts
  FROM vscope.sample_span k JOIN vscope.sample_series s USING (tenant_id, series_id)
 WHERE k.tenant_id = vscope.current_tenant() ORDER BY k.series_id;
SELECT pg_temp.spans_exact() AS spans_exact;
ROLLBACK;

-- samples deleted by plain SQL leave the spans behind until they are
-- recomputed
SELECT vscope.decompress_samples('2015-01-14') WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
DELETE FROM vscope.samples WHERE tenant_id = vscope.current_tenant() AND ts >= '2015-01-14';
SELECT pg_temp.spans_exact() AS spans_exact;
SELECT vscope.ceilometer_refresh_spans() AS refreshed;
SELECT pg_temp.spans_exact() AS spans_exact;
SET ROLE vscope_reader;
SELECT * FROM pg_temp.answers_match() WHERE NOT same;
-- (the owner's tool)
SELECT vscope.ceilometer_refresh_spans();
RESET ROLE;

-- the days made here go again
SELECT vscope.expire(now() - '2015-08-08'::timestamptz) > 0 AS dropped;
SELECT count(*) AS days_left FROM vscope.partitions('samples') WHERE range_start < '2015-08-08';
SELECT count(*) AS spans_left FROM vscope.sample_span WHERE tenant_id = vscope.current_tenant();
