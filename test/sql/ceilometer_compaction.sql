-- Ceilometer samples in blocks: compaction keeps every sample and its
-- message_id; every read (listings, one sample, resources, the
-- ceilometer_samples view, complex queries) answers as it did from rows;
-- statistics are the same to the last bit from rows, from decoded blocks
-- and from the blocks' summaries, for periods that a day divides and
-- periods it does not, every group-by field and every aggregate; a sample
-- posted into a compressed day gets a seq of its own; decompression,
-- expiry, maintain() and tenancy.
SET timezone = 'UTC';
SET client_min_messages = warning;
CALL vscope.add_days('2016-02-27', '2016-03-03');
RESET client_min_messages;
SELECT vscope.create_tenant('cc-a') > 0 AS a, vscope.create_tenant('cc-b') > 0 AS b;
SELECT vscope.use_tenant('cc-a') > 0 AS using_a;
-- (this session is a superuser's, which sees every tenant's samples in the
-- view: these are the tenant's)
CREATE TEMP VIEW samples_a AS
SELECT * FROM vscope.ceilometer_samples WHERE tenant_id = vscope.current_tenant();

-- two meters over three days around a leap day: eight series of cpu (two
-- resources, two projects, two users, two instance types, sources) with
-- full-precision volumes (their sums round differently in another order)
-- every quarter of an hour, one in ten at the instant before's again; mem
-- with round volumes once an hour
SELECT setseed(0.42);
SELECT json_array_length(vscope.ceilometer_post_samples('cpu', json_agg(json_build_object(
  'counter_name', 'cpu', 'counter_type', 'gauge', 'counter_unit', '%',
  'counter_volume', (random() * 1000)::float8, 'resource_id', 'vm-' || (k % 2),
  'project_id', 'p' || (k / 2 % 2), 'user_id', 'u' || (k / 4 % 2), 'source', 's' || (k % 3),
  'resource_metadata', json_build_object('instance_type', 'm' || (k / 4 % 2)),
  'timestamp', to_char(timestamp '2016-02-28 00:00:00' + t * interval '900 seconds' + (k % 4) * interval '1.5 seconds',
                       'YYYY-MM-DD"T"HH24:MI:SS.US')))::text)) AS cpu_posted
  FROM generate_series(0, 2399) i, LATERAL (SELECT i % 8 AS k, i / 8 - (i / 8 % 10 = 3)::int AS t) x;
SELECT json_array_length(vscope.ceilometer_post_samples('mem', json_agg(json_build_object(
  'counter_name', 'mem', 'counter_type', 'gauge', 'counter_unit', 'MB', 'counter_volume', 512 + h,
  'resource_id', 'vm-1', 'project_id', 'p1', 'user_id', 'u1',
  'timestamp', to_char(timestamp '2016-02-28' + h * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS')))::text)) AS mem_posted
  FROM generate_series(0, 71) h;
-- two samples at one instant are both kept: seq 0 and 1
SELECT s.seq, count(*) FROM vscope.samples s WHERE s.tenant_id = vscope.current_tenant() GROUP BY 1 ORDER BY 1;

-- what is asked: statistics with and without periods (a day divides 3600,
-- 86400 and 172800 from midnight; not 5000, nor a day from noon), every
-- group-by field, every aggregate, time bounds strict or not
CREATE TEMP TABLE stat_queries (n serial, meter text, args jsonb);
INSERT INTO stat_queries (meter, args)
SELECT m, a::jsonb FROM (VALUES ('cpu'), ('mem')) AS ms(m), unnest(ARRAY[
  '{}',
  '{"period": ["3600"]}',
  '{"period": ["86400"]}',
  '{"period": ["172800"]}',
  '{"period": ["5000"]}',
  '{"period": ["86400"], "q.field": ["timestamp"], "q.op": ["ge"], "q.value": ["2016-02-27T12:00:00"]}',
  '{"period": ["86400"], "q.field": ["timestamp", "timestamp"], "q.op": ["ge", "lt"], "q.value": ["2016-02-28T00:00:00", "2016-03-01T00:00:00"]}',
  '{"period": ["86400"], "q.field": ["timestamp", "timestamp"], "q.op": ["gt", "le"], "q.value": ["2016-02-28T00:03:00", "2016-02-29T12:00:00"]}',
  '{"period": ["3600"], "groupby": ["resource_id"]}',
  '{"period": ["86400"], "groupby": ["project_id", "user_id"]}',
  '{"period": ["86400"], "groupby": ["source"], "aggregate.func": ["stddev", "avg", "cardinality", "cardinality", "cardinality"], "aggregate.param": ["", "", "resource_id", "user_id", "project_id"]}',
  '{"groupby": ["resource_metadata.instance_type", "resource_id"], "aggregate.func": ["sum", "count", "max", "min"]}',
  '{"period": ["7200"], "aggregate.func": ["cardinality"], "aggregate.param": ["resource_id"]}',
  '{"period": ["86400"], "q.field": ["resource_id", "project"], "q.value": ["vm-1", "p1"]}'
  ]) AS a;
CREATE FUNCTION pg_temp.stats_answers() RETURNS TABLE (n integer, a text) LANGUAGE sql AS $$
SELECT n, vscope.ceilometer_statistics(meter, args)::text FROM stat_queries ORDER BY n
$$;
-- and every other read
CREATE FUNCTION pg_temp.read_answers() RETURNS TABLE (what text, a text) LANGUAGE sql AS $$
SELECT 'samples, limit ' || l, vscope.ceilometer_list_samples(format('{"limit": ["%s"]}', l)::jsonb)::text
  FROM unnest(ARRAY[1, 7, 100, 2000]) l
UNION ALL
SELECT 'meter cpu, old style', vscope.ceilometer_list_samples('{"limit": ["50"]}', 'cpu', true)::text
UNION ALL
SELECT 'samples of vm-0 in a range', vscope.ceilometer_list_samples('{"q.field": ["resource_id", "timestamp", "timestamp"],
  "q.op": ["eq", "gt", "lt"], "q.value": ["vm-0", "2016-02-28T23:00:00", "2016-02-29T02:00:00"], "limit": ["1000"]}')::text
UNION ALL
SELECT 'resources', vscope.ceilometer_list_resources('{}', 'http://h/')::text
UNION ALL
SELECT 'resources in a range', vscope.ceilometer_list_resources('{"q.field": ["timestamp", "timestamp"],
  "q.op": ["gt", "le"], "q.value": ["2016-02-28T10:00:00", "2016-02-29T13:00:00"]}', 'http://h/')::text
UNION ALL
SELECT 'complex query', vscope.ceilometer_query_samples('{"filter": "{\"and\": [{\"=\": {\"counter_name\": \"cpu\"}}, {\">\": {\"volume\": 500}}, {\"<\": {\"timestamp\": \"2016-02-29T06:00:00\"}}]}",
  "orderby": "[{\"volume\": \"desc\"}]", "limit": 40}')::text
UNION ALL
SELECT 'complex query by user, oldest first', vscope.ceilometer_query_samples('{"filter": "{\"=\": {\"user_id\": \"u1\"}}",
  "orderby": "[{\"timestamp\": \"asc\"}]", "limit": 300}')::text
UNION ALL
SELECT 'complex query by message_id', vscope.ceilometer_query_samples(format('{"filter": "{\"=\": {\"message_id\": \"%s\"}}"}',
  (SELECT message_id FROM samples_a WHERE seq = 1 ORDER BY "timestamp" DESC, series_id LIMIT 1)))::text
UNION ALL
SELECT 'samples by message_id', vscope.ceilometer_list_samples(jsonb_build_object('q.field', '["message_id"]'::jsonb,
  'q.value', jsonb_build_array((SELECT message_id FROM samples_a WHERE seq = 1 ORDER BY "timestamp", series_id LIMIT 1))))::text
UNION ALL
SELECT 'the view, by series', string_agg(x, '; ' ORDER BY x)
  FROM (SELECT format('%s %s %s %s %s %s', series_id, count(*), sum(counter_volume), max(seq),
                      min("timestamp"), max(recorded_at - "timestamp")) AS x
          FROM samples_a GROUP BY series_id) v
$$;
-- (one sample in eight by its id, the seq 1 ones among them)
CREATE TEMP TABLE ids AS
SELECT message_id, vscope.ceilometer_get_sample(message_id)::text AS a
  FROM (SELECT message_id, row_number() OVER (ORDER BY "timestamp", series_id, seq) AS k, seq
		  FROM samples_a) v
 WHERE k % 8 = 0 OR seq = 1;
SELECT count(*) AS ids FROM ids;

-- from rows
CREATE TEMP TABLE rows_stats AS SELECT * FROM pg_temp.stats_answers();
CREATE TEMP TABLE rows_reads AS SELECT * FROM pg_temp.read_answers();

-- compressed: every sample in a block, none left in rows
SELECT sum(vscope.compress_samples(d::date)) > 0 AS compressed
  FROM generate_series('2016-02-27'::date, '2016-03-03', '1 day') d;
SELECT count(*) AS rows_left FROM vscope.samples WHERE tenant_id = vscope.current_tenant();
SELECT s.counter_name, b.flags, count(*) AS blocks, sum(b.n) AS samples
  FROM vscope.sample_blocks b JOIN vscope.sample_series s USING (tenant_id, series_id)
 WHERE b.tenant_id = vscope.current_tenant() GROUP BY 1, 2 ORDER BY 1, 2;

-- every message_id still finds its sample, the very same JSON
SELECT count(*) AS ids_found FROM ids WHERE vscope.ceilometer_get_sample(message_id)::text = a;
-- every read answers as from rows
SELECT r.what FROM rows_reads r JOIN pg_temp.read_answers() b USING (what) WHERE r.a IS DISTINCT FROM b.a;
-- statistics: from summaries (where they stand for a day), then every block decoded
CREATE TEMP TABLE before AS SELECT * FROM vscope.sample_reader_stats();
CREATE TEMP TABLE sum_stats AS SELECT * FROM pg_temp.stats_answers();
SELECT a.blocks_summarized - b.blocks_summarized > 0 AS summaries_used
  FROM vscope.sample_reader_stats() a, before b;
SET vscope.use_summaries = off;
DELETE FROM before;
INSERT INTO before SELECT * FROM vscope.sample_reader_stats();
CREATE TEMP TABLE dec_stats AS SELECT * FROM pg_temp.stats_answers();
SELECT a.blocks_summarized - b.blocks_summarized AS summaries_used_when_off
  FROM vscope.sample_reader_stats() a, before b;
RESET vscope.use_summaries;
SELECT n, r.a = s.a AS summaries_same, r.a = d.a AS decoded_same
  FROM rows_stats r JOIN sum_stats s USING (n) JOIN dec_stats d USING (n)
 WHERE r.a IS DISTINCT FROM s.a OR r.a IS DISTINCT FROM d.a;
SELECT count(*) AS stats_compared, count(*) FILTER (WHERE a <> '[]') AS not_empty FROM rows_stats;
-- which queries used summaries: those whose buckets a day divides, from
-- midnight, over whole days
CREATE FUNCTION pg_temp.summarized(m text, q jsonb) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	b bigint := (SELECT blocks_summarized FROM vscope.sample_reader_stats());
BEGIN
	PERFORM vscope.ceilometer_statistics(m, q);
	RETURN (SELECT blocks_summarized FROM vscope.sample_reader_stats()) - b;
END $$;
SELECT n, args, pg_temp.summarized(meter, args) AS summarized
  FROM stat_queries WHERE meter = 'cpu' ORDER BY n;

-- the arithmetic, in SQL: per series, bucket and day the volumes taken in
-- (ts, seq) order; a series' days merged in time order; the series merged
-- in series order; each row written by _ceilo_stats_row: the same text
CREATE AGGREGATE pg_temp.merged_state(double precision[]) (
	SFUNC = vscope._stats_combine, STYPE = double precision[], INITCOND = '{0,0,0,0,0,0}');
CREATE FUNCTION pg_temp.reference(m text, period bigint, origin timestamptz) RETURNS text LANGUAGE sql AS $$
WITH cells AS (
	SELECT v.series_id, v.counter_unit AS unit,
		   date_bin(period * interval '1 second', v."timestamp", origin) AS ps, v."timestamp"::date AS day,
		   vscope.sample_stats_state(v.counter_volume ORDER BY v."timestamp", v.seq) AS st,
		   min(v."timestamp") AS t0, max(v."timestamp") AS t1
	  FROM samples_a v WHERE v.counter_name = m
	 GROUP BY 1, 2, 3, 4
), per_series AS (
	SELECT series_id, unit, ps, pg_temp.merged_state(st ORDER BY day) AS st, min(t0) AS t0, max(t1) AS t1
	  FROM cells GROUP BY 1, 2, 3
)
SELECT '[' || string_agg(vscope._ceilo_stats_row(unit, period, ps, ps + period * interval '1 second', t0, t1, NULL,
												 st, NULL, NULL)::text, ', ' ORDER BY ps, unit) || ']'
  FROM (SELECT unit, ps, min(t0) AS t0, max(t1) AS t1, vscope.sample_stats_merge(st ORDER BY series_id) AS st
		  FROM per_series GROUP BY 1, 2) g
$$;
SELECT pg_temp.reference('cpu', 86400, '2016-02-28') = vscope.ceilometer_statistics('cpu', '{"period": ["86400"]}')::text AS daily_as_in_sql,
       pg_temp.reference('cpu', 5000, '2016-02-28') = vscope.ceilometer_statistics('cpu', '{"period": ["5000"]}')::text AS unaligned_as_in_sql,
       pg_temp.reference('cpu', 172800, '2016-02-28') = vscope.ceilometer_statistics('cpu', '{"period": ["172800"]}')::text AS two_days_as_in_sql;
-- (and the first rows, for the eye)
SELECT j->>'period_start' AS period_start, j->'aggregate'->>'count' AS n, j->'aggregate'->>'sum' AS sum,
       j->'aggregate'->>'stddev' AS stddev
  FROM json_array_elements(vscope.ceilometer_statistics('cpu', '{"period": ["86400"], "aggregate.func": ["count", "sum", "stddev"]}')) j;

-- a sample posted into a compressed day: its seq is above the blocks' at
-- its instant (an instant with samples 0 and 1 in a block gets 2), and it
-- is read with them at once; its day is decoded (not summarized) while
-- it is a row, and folded into the day's block by the next compaction
SELECT "timestamp" AS busy FROM samples_a
 WHERE counter_name = 'cpu' AND seq = 1 AND resource_id = 'vm-0' AND project_id = 'p0' AND user_id = 'u0'
   AND source = 'p0:s0' ORDER BY "timestamp" LIMIT 1 \gset
SELECT m.seq AS late_seq
  FROM vscope._ceilo_parse_message_id(vscope.ceilometer_post_samples('cpu', format('[{"counter_name": "cpu",
         "counter_type": "gauge", "counter_unit": "%%", "counter_volume": 0.125, "resource_id": "vm-0",
         "project_id": "p0", "user_id": "u0", "source": "s0", "resource_metadata": {"instance_type": "m0"},
         "timestamp": "%s"}]', vscope._ceilo_ts(:'busy'))) -> 0 ->> 'message_id') m;
SELECT seq, counter_volume = 0.125 AS late FROM samples_a
 WHERE counter_name = 'cpu' AND "timestamp" = :'busy' AND resource_id = 'vm-0' AND project_id = 'p0'
   AND user_id = 'u0' AND source = 'p0:s0' ORDER BY seq;
SELECT vscope._ceilo_block_max_seq(tenant_id, series_id, "timestamp") AS block_max_seq
  FROM samples_a WHERE counter_name = 'cpu' AND "timestamp" = :'busy' AND seq = 2;
-- the same answers whatever the path, summaries, decoding, recompression
CREATE TEMP TABLE late_dec AS SELECT * FROM pg_temp.stats_answers();
SET vscope.use_summaries = off;
SELECT count(*) AS late_differs_decoded FROM late_dec l JOIN pg_temp.stats_answers() d USING (n) WHERE l.a <> d.a;
RESET vscope.use_summaries;
SELECT count(*) FILTER (WHERE l.a <> r.a) AS changed_by_the_late_sample FROM late_dec l JOIN rows_stats r USING (n);
SELECT vscope.compress_samples(:'busy'::date) > 0 AS recompressed;
SELECT count(*) AS late_differs_recompressed FROM late_dec l JOIN pg_temp.stats_answers() d USING (n) WHERE l.a <> d.a;
SELECT count(*) AS rows_left FROM vscope.samples WHERE tenant_id = vscope.current_tenant();
SELECT count(*) AS ids_found FROM ids WHERE vscope.ceilometer_get_sample(message_id)::text = a;

-- decompressed, the rows answer the same again
SELECT sum(vscope.decompress_samples(d::date)) > 0 AS decompressed
  FROM generate_series('2016-02-27'::date, '2016-03-03', '1 day') d;
SELECT count(*) AS blocks_left FROM vscope.sample_blocks WHERE tenant_id = vscope.current_tenant();
SELECT count(*) AS differs_in_rows FROM late_dec l JOIN pg_temp.stats_answers() d USING (n) WHERE l.a <> d.a;
SELECT count(*) AS ids_found FROM ids WHERE vscope.ceilometer_get_sample(message_id)::text = a;

-- a day too big for one block is split (never inside an instant), and an
-- instant with more samples than a block holds is one block of its own;
-- a NaN volume (written by SQL) keeps its block's summary out of use
INSERT INTO vscope.samples (tenant_id, series_id, ts, seq, volume, recorded_at)
SELECT vscope.current_tenant(), s.series_id, '2016-03-02'::timestamptz + i * interval '9 seconds',
       0, (hashint4(i)::float8 / 7.0e5) ^ 3, '2016-03-02'::timestamptz + i * interval '9 seconds' + (i % 5) * interval '1 ms'
  FROM vscope.sample_series s, generate_series(0, 7999) i
 WHERE s.tenant_id = vscope.current_tenant() AND s.counter_name = 'mem';
INSERT INTO vscope.samples (tenant_id, series_id, ts, seq, volume)
SELECT vscope.current_tenant(), s.series_id, '2016-03-03 12:00:00+00', i, hashint4(i)::float8 / 3.0
  FROM vscope.sample_series s, generate_series(0, 1499) i
 WHERE s.tenant_id = vscope.current_tenant() AND s.counter_name = 'mem';
INSERT INTO vscope.samples (tenant_id, series_id, ts, seq, volume)
SELECT vscope.current_tenant(), s.series_id, '2016-03-03 13:00:00+00', 0, 'NaN'
  FROM vscope.sample_series s WHERE s.tenant_id = vscope.current_tenant() AND s.counter_name = 'mem';
SELECT vscope.ceilometer_refresh_spans() > 0 AS spans_refreshed;
CREATE TEMP TABLE big_rows AS SELECT * FROM pg_temp.stats_answers();
SELECT vscope.compress_samples('2016-03-02') > 0 AS day_split, vscope.compress_samples('2016-03-03') > 0 AS instant;
SELECT (first_ts AT TIME ZONE 'UTC')::date AS day, flags, count(*) AS blocks, sum(n) AS samples,
       max(octet_length(data) + octet_length(extra)) > 7900 AS one_oversized
  FROM vscope.sample_blocks b WHERE b.tenant_id = vscope.current_tenant() AND first_ts >= '2016-03-02'
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS big_differs FROM big_rows b JOIN pg_temp.stats_answers() d USING (n) WHERE b.a <> d.a;
SET vscope.use_summaries = off;
SELECT count(*) AS big_differs_decoded FROM big_rows b JOIN pg_temp.stats_answers() d USING (n) WHERE b.a <> d.a;
RESET vscope.use_summaries;
SELECT count(*) AS mem_samples, count(*) FILTER (WHERE counter_volume = 'NaN') AS nan,
       count(DISTINCT seq) AS seqs FROM samples_a WHERE counter_name = 'mem';

-- the BI view: a bound on "timestamp" narrows the reads (EXPLAIN VERBOSE
-- shows it in the call), and answers the same
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(*) FROM vscope.ceilometer_samples WHERE "timestamp" >= '2016-02-29' AND "timestamp" < '2016-03-01';
SELECT count(*) AS leap_day_samples,
       array_agg(counter_volume ORDER BY series_id, "timestamp", seq)
         = (SELECT array_agg(volume ORDER BY series_id, ts, seq) FROM vscope._ceilo_read_samples(
              ARRAY(SELECT series_id FROM vscope.sample_series WHERE tenant_id = vscope.current_tenant()),
              '2016-02-29', '2016-02-29 23:59:59.999999')) AS same_samples
  FROM samples_a WHERE "timestamp" >= '2016-02-29' AND "timestamp" < '2016-03-01';

-- another tenant's reader sees no block and no sample of these
SELECT array_agg(series_id) AS a_series FROM vscope.sample_series WHERE tenant_id = vscope.current_tenant() \gset
SELECT vscope.use_tenant('cc-b') > 0 AS using_b;
SET ROLE vscope_reader;
SELECT count(*) AS b_blocks FROM vscope.sample_blocks;
SELECT count(*) AS b_view FROM vscope.ceilometer_samples;
SELECT count(*) AS b_read FROM vscope._ceilo_read_samples(:'a_series', '-infinity', 'infinity');
SELECT vscope.ceilometer_statistics('cpu') AS b_stats;
RESET ROLE;
SELECT vscope.use_tenant('cc-a') > 0 AS using_a;

-- a damaged block: an error that names it; the others stay readable
BEGIN;
UPDATE vscope.sample_blocks SET data = '\x02ff'
 WHERE tenant_id = vscope.current_tenant() AND first_ts = '2016-03-03 12:00:00+00';
DO $$
BEGIN
	PERFORM vscope.ceilometer_statistics('mem');
EXCEPTION WHEN data_corrupted THEN
	RAISE NOTICE '%', regexp_replace(SQLERRM, 'series [0-9]+', 'series N');
END
$$;
SELECT json_array_length(vscope.ceilometer_statistics('cpu')) AS cpu_still_readable;
ROLLBACK;

-- maintain() compresses complete days of samples too, a day a call
SELECT count(*) > 0 AS rows_to_compress FROM vscope.samples WHERE tenant_id = vscope.current_tenant();
DO $$
BEGIN
	FOR i IN 1..200 LOOP
		EXIT WHEN NOT (vscope.maintain()->>'pending')::boolean;
	END LOOP;
END
$$;
SELECT count(*) AS rows_left FROM vscope.samples WHERE tenant_id = vscope.current_tenant();
SELECT count(*) AS differs_after_maintain FROM big_rows b JOIN pg_temp.stats_answers() d USING (n) WHERE b.a <> d.a;

-- expiry drops a day's blocks with its partition, and the spans move
SELECT vscope.expire(now() - '2016-02-29'::timestamptz) >= 2 AS dropped;
SELECT count(*) AS blocks_before_29th FROM vscope.sample_blocks WHERE first_ts < '2016-02-29';
SELECT s.counter_name, min(k.first_ts) AS first FROM vscope.sample_span k JOIN vscope.sample_series s USING (tenant_id, series_id)
 WHERE k.tenant_id = vscope.current_tenant() GROUP BY 1 ORDER BY 1;
SELECT vscope.ceilometer_refresh_spans() AS spans_changed_by_refresh;
SELECT vscope.expire(now() - '2016-03-04'::timestamptz) >= 1 AS dropped_the_rest;
SELECT count(*) AS blocks_left FROM vscope.sample_blocks WHERE tenant_id = vscope.current_tenant();
SELECT count(*) AS spans_left FROM vscope.sample_span WHERE tenant_id = vscope.current_tenant();
