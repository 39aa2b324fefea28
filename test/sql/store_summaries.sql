-- block summaries answer downsampling by day: the answers are the same
-- with summaries and without them, and before and after compaction, to the
-- last bit; blocks that a later write, a split, sub-millisecond times or
-- the query's range make unfit are decoded instead
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2023-11-01', '2023-11-10');
RESET client_min_messages;
SELECT vscope.create_tenant('sum') IS NOT NULL;
SELECT vscope.use_tenant('sum') IS NOT NULL;
-- ten days from 2023-11-01: a gauge whose sums do not round evenly (steps
-- of 0.1), an integer counter, a series of random doubles that does not
-- fit one block a day, and a few points at sub-millisecond times
SELECT vscope.put(json_agg(p)::text) FROM (
  SELECT json_build_object('metric', 'sum.gauge', 'timestamp', 1698796800 + 300 * k,
                           'value', round((k % 97) * 0.1, 1), 'tags', json_build_object('h', h)) AS p
    FROM generate_series(0, 10 * 288 - 1) k, (VALUES ('a'), ('b')) v(h)
  UNION ALL
  SELECT json_build_object('metric', 'sum.count', 'timestamp', 1698796800 + 600 * k,
                           'value', 1000 + 3 * k, 'tags', json_build_object('h', 'a'))
    FROM generate_series(0, 10 * 144 - 1) k
  UNION ALL
  SELECT json_build_object('metric', 'sum.noise', 'timestamp', (1698796800::bigint + 30 * k) * 1000 + k % 7,
                           'value', (hashint4(k)::float8 / 7.0e5) ^ 3, 'tags', json_build_object('h', 'a'))
    FROM generate_series(0, 10 * 2880 - 1) k) x;
SELECT vscope.put_point('sum.micro', '{"h": "a"}', '2023-11-02 00:00:00.0004+00', 1.25) > 0,
       vscope.put_point('sum.micro', '{"h": "a"}', '2023-11-02 00:00:00.0007+00', 2.5) > 0,
       vscope.put_point('sum.micro', '{"h": "a"}', '2023-11-02 12:00:00+00', 4.75) > 0;

-- the queries: every aggregator that composes, buckets of whole days
CREATE TEMP TABLE queries (q text);
INSERT INTO queries
SELECT format('{"start": %s, "end": %s, "timezone": %s, "queries": [{"metric": "%s", "aggregator": "sum", "downsample": "%s"%s}]}',
              st, en, tz, m, ds, CASE WHEN rate THEN ', "rate": true' ELSE '' END)
  FROM (VALUES ('1698796800', '1699660799'), ('1698840000', '1699480000'), ('1698883200000', '1698969599999'))
       AS r(st, en),
       (VALUES ('sum.gauge'), ('sum.count'), ('sum.noise'), ('sum.micro')) AS m(m),
       (VALUES ('1d-sum'), ('1d-avg'), ('1d-min'), ('1d-max'), ('1d-count'), ('2d-zimsum'),
               ('3d-avg-zero'), ('1d-avg-nan'), ('0all-sum'), ('0all-avg'), ('0all-count'),
               ('1dc-avg'), ('1wc-sum'), ('1nc-avg'), ('1d-mimmax')) AS d(ds),
       (VALUES ('"UTC"')) AS z(tz),
       (VALUES (false), (true)) AS t(rate)
 WHERE NOT (rate AND ds LIKE '0all%');
SELECT count(*) AS queries FROM queries;

-- answers from rows, before any compaction
CREATE TEMP TABLE from_rows AS SELECT q, vscope.tsdb_query(q::jsonb)::text AS a FROM queries;

-- compress the ten days
SELECT sum(vscope.compress(d::date)) AS points_compressed
  FROM generate_series('2023-11-01'::date, '2023-11-10', '1 day') d;
-- which blocks may stand for their day: the split days of sum.noise and
-- the sub-millisecond day of sum.micro may not
SELECT s.metric, b.flags, count(*) AS blocks
  FROM vscope.blocks b JOIN vscope.series s USING (tenant_id, series_id)
 WHERE s.metric LIKE 'sum.%' GROUP BY 1, 2 ORDER BY 1, 2;

-- with summaries off: every block decoded
SET vscope.use_summaries = off;
SELECT * FROM vscope.reader_stats() \gset before_
CREATE TEMP TABLE decoded AS SELECT q, vscope.tsdb_query(q::jsonb)::text AS a FROM queries;
SELECT blocks_decoded - :before_blocks_decoded AS decoded,
       blocks_summarized - :before_blocks_summarized AS summarized
  FROM vscope.reader_stats();

-- with summaries on (the default): the same answers, most blocks unread
RESET vscope.use_summaries;
SELECT * FROM vscope.reader_stats() \gset before_
CREATE TEMP TABLE summarized AS SELECT q, vscope.tsdb_query(q::jsonb)::text AS a FROM queries;
SELECT blocks_decoded - :before_blocks_decoded AS decoded,
       blocks_summarized - :before_blocks_summarized AS summarized
  FROM vscope.reader_stats();
SELECT count(*) AS differ_decoded FROM from_rows r JOIN decoded d USING (q) WHERE r.a IS DISTINCT FROM d.a;
SELECT count(*) AS differ_summarized FROM from_rows r JOIN summarized s USING (q) WHERE r.a IS DISTINCT FROM s.a;
-- (the answers are not empty, and sums of 0.1 steps are not round)
SELECT a FROM summarized
 WHERE q = '{"start": 1698796800, "end": 1699660799, "timezone": "UTC", "queries": [{"metric": "sum.gauge", "aggregator": "sum", "downsample": "0all-avg"}]}';
SELECT a FROM summarized
 WHERE q = '{"start": 1698796800, "end": 1699660799, "timezone": "UTC", "queries": [{"metric": "sum.noise", "aggregator": "sum", "downsample": "2d-zimsum"}]}';

-- a bucket of a day and a block of a day: a summary is a whole day
SELECT vscope.tsdb_query('{"start": 1698883200, "end": 1698969599, "queries": [{"metric": "sum.count", "aggregator": "sum", "downsample": "1d-count"}]}');
SELECT vscope.tsdb_query('{"start": 1698883200, "end": 1698969599, "queries": [{"metric": "sum.micro", "aggregator": "sum", "downsample": "1d-count"}]}');

-- a late write into a compressed day: that day is read from the merge, the
-- others still from summaries, and both ways agree
SELECT vscope.put_point('sum.gauge', '{"h": "a"}', '2023-11-03 12:00:00+00', 1000.5) > 0,
       vscope.put_point('sum.gauge', '{"h": "b"}', '2023-11-04 00:00:00+00', -3.25) > 0;
CREATE TEMP TABLE late AS
SELECT q, vscope.tsdb_query(q::jsonb)::text AS a FROM queries WHERE q LIKE '%sum.gauge%';
SET vscope.use_summaries = off;
SELECT count(*) AS differ_after_late_write
  FROM late l WHERE l.a IS DISTINCT FROM vscope.tsdb_query(l.q::jsonb)::text;
SELECT count(*) AS changed_by_late_write FROM late l JOIN from_rows r USING (q) WHERE l.a <> r.a;
RESET vscope.use_summaries;

-- and again after the late write is compressed in
SELECT vscope.compress('2023-11-03') > 0 AS recompressed, vscope.compress('2023-11-04') > 0 AS recompressed;
SELECT count(*) AS differ_after_recompression
  FROM late l WHERE l.a IS DISTINCT FROM vscope.tsdb_query(l.q::jsonb)::text;

-- vscope.max_points bounds what one query reads, summaries included
SET vscope.max_points = 1000;
SELECT vscope.tsdb_query('{"start": 1698796800, "end": 1699660799, "queries": [{"metric": "sum.gauge", "aggregator": "sum", "downsample": "1d-sum"}]}');
RESET vscope.max_points;

-- the datapoints view reads only the blocks of the range asked for
EXPLAIN (VERBOSE, COSTS OFF)
SELECT ts, value FROM vscope.datapoints
 WHERE metric = 'sum.count' AND ts >= '2023-11-05' AND ts < '2023-11-06';
SELECT * FROM vscope.reader_stats() \gset before_
SELECT count(*), min(ts), max(ts), sum(value) FROM vscope.datapoints
 WHERE metric = 'sum.count' AND ts >= '2023-11-05' AND ts < '2023-11-06';
SELECT blocks_decoded - :before_blocks_decoded AS blocks_decoded FROM vscope.reader_stats();
SELECT count(*), min(ts), max(ts) FROM vscope.datapoints
 WHERE metric = 'sum.count' AND ts BETWEEN '2023-11-05 23:50' AND '2023-11-06 00:10';
SELECT count(*) FROM vscope.datapoints WHERE metric = 'sum.count' AND ts = '2023-11-05 12:00';
SELECT count(*) FROM vscope.datapoints WHERE metric = 'sum.count' AND '2023-11-09' < ts;
PREPARE dp(timestamptz, timestamptz) AS
SELECT count(*) FROM vscope.datapoints WHERE metric = 'sum.count' AND ts >= $1 AND ts < $2;
EXECUTE dp('2023-11-02', '2023-11-04');
-- a bound that is not a constant (another table's column) is left alone
CREATE TEMP TABLE bounds (t timestamptz);
INSERT INTO bounds VALUES ('2023-11-05');
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(*) FROM vscope.datapoints d, bounds b
 WHERE d.metric = 'sum.count' AND d.ts >= b.t;
SELECT count(*) FROM vscope.datapoints d, bounds b
 WHERE d.metric = 'sum.count' AND d.ts >= b.t;
-- stable expressions and inclusive bounds: read [X + 1 µs, Y + 1 µs)
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(*) FROM vscope.datapoints
 WHERE metric = 'sum.count' AND ts > now() - interval '1 hour' AND ts <= now();

-- plain aggregates over read_points() are computed in the reader, with
-- PostgreSQL's own answers: the same with the custom scan and without it
SELECT vscope.put_point('agg.zero', '{"h": "a"}', '2023-11-05 00:00:00+00', '-0'::float8) > 0,
       vscope.put_point('agg.zero', '{"h": "a"}', '2023-11-05 00:01:00+00', 0.0::float8) > 0,
       vscope.put_point('agg.zero', '{"h": "a"}', '2023-11-05 00:02:00+00', '-0'::float8) > 0,
       vscope.put_point('agg.zero', '{"h": "b"}', '2023-11-05 00:00:00+00', 0.0::float8) > 0,
       vscope.put_point('agg.zero', '{"h": "b"}', '2023-11-05 00:01:00+00', '-0'::float8) > 0;
SELECT vscope.put_point('agg.huge', '{"h": "a"}', '2023-11-05 00:00:00+00', '1e308'::float8) > 0,
       vscope.put_point('agg.huge', '{"h": "a"}', '2023-11-05 00:01:00+00', '1e308'::float8) > 0;
CREATE FUNCTION pg_temp.both_ways(q text) RETURNS TABLE (same boolean, answer text)
LANGUAGE plpgsql AS $$
DECLARE
  a text;
  b text;
BEGIN
  PERFORM set_config('vscope.enable_reader_aggregates', 'off', true);
  EXECUTE 'SELECT row_to_json(x)::text FROM (' || q || ') x' INTO a;
  PERFORM set_config('vscope.enable_reader_aggregates', 'on', true);
  EXECUTE 'SELECT row_to_json(x)::text FROM (' || q || ') x' INTO b;
  RETURN QUERY SELECT a IS NOT DISTINCT FROM b, b;
END $$;
\set aggs 'count(*) AS n, count(value) AS nv, count(ivalue) AS ni, count(ts) AS nt, count(series_id) AS ns, sum(value) AS s, sum(coalesce(value, ivalue)) AS sd, avg(value) AS a, avg(coalesce(value, ivalue)) AS ad, min(value) AS mn, max(value) AS mx, min(coalesce(value, ivalue)) AS mnd, max(coalesce(value, ivalue)) AS mxd, min(ts) AS t0, max(ts) AS t1, sum(coalesce(value, ivalue)) / nullif(count(*), 0) AS ratio'
SELECT * FROM pg_temp.both_ways('SELECT ' || :'aggs' || $$ FROM vscope.read_points(ARRAY(SELECT series_id FROM vscope.series WHERE metric LIKE 'sum.%'), '-infinity', 'infinity')$$);
SELECT * FROM pg_temp.both_ways('SELECT ' || :'aggs' || $$ FROM vscope.read_points(ARRAY(SELECT series_id FROM vscope.series WHERE metric LIKE 'sum.g%'), '2023-11-03', '2023-11-04 06:00')$$);
SELECT * FROM pg_temp.both_ways('SELECT ' || :'aggs' || $$ FROM vscope.read_points(ARRAY(SELECT series_id FROM vscope.series WHERE metric = 'agg.zero'), '-infinity', 'infinity')$$);
SELECT * FROM pg_temp.both_ways('SELECT ' || :'aggs' || $$ FROM vscope.read_points(ARRAY(SELECT series_id FROM vscope.series WHERE metric LIKE 'sum.%'), '2030-01-01', '2030-01-02')$$);
SELECT * FROM pg_temp.both_ways('SELECT ' || :'aggs' || $$ FROM vscope.read_points(NULL, '-infinity', 'infinity')$$);
-- what it does not compute (a WHERE, a GROUP BY, other aggregates) is planned as usual
SELECT * FROM pg_temp.both_ways($$SELECT count(*), sum(value) FROM vscope.read_points(ARRAY(SELECT series_id FROM vscope.series WHERE metric LIKE 'sum.%'), '-infinity', 'infinity') WHERE value > 5$$);
SELECT * FROM pg_temp.both_ways($$SELECT stddev(value), count(DISTINCT series_id) FROM vscope.read_points(ARRAY(SELECT series_id FROM vscope.series WHERE metric LIKE 'sum.%'), '-infinity', 'infinity')$$);
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(*), sum(coalesce(value, ivalue)) FROM vscope.read_points(ARRAY[1, 2], '-infinity', 'infinity');
EXPLAIN (COSTS OFF)
SELECT series_id, count(*) FROM vscope.read_points(ARRAY[1, 2], '-infinity', 'infinity') GROUP BY 1;
-- overflow is PostgreSQL's error either way
SELECT sum(value) FROM vscope.read_points(ARRAY(SELECT series_id FROM vscope.series WHERE metric = 'agg.huge'), '-infinity', 'infinity');
SET vscope.enable_reader_aggregates = off;
SELECT sum(value) FROM vscope.read_points(ARRAY(SELECT series_id FROM vscope.series WHERE metric = 'agg.huge'), '-infinity', 'infinity');
RESET vscope.enable_reader_aggregates;

-- a new session's first query gets the hooks too (the support function
-- loads the library while planning)
\c -
SET timezone = 'UTC';
EXPLAIN (VERBOSE, COSTS OFF)
SELECT ts, value FROM vscope.datapoints
 WHERE metric = 'sum.count' AND ts >= '2023-11-05' AND ts < '2023-11-06';
\c -
EXPLAIN (COSTS OFF)
SELECT count(*) FROM vscope.read_points(ARRAY[1, 2], '-infinity', 'infinity');

-- a compressed day's partition, once vacuumed, has no page: the reader
-- does not probe it; a late write gives it a page again and is read at once
\c -
SET timezone = 'UTC';
SELECT vscope.use_tenant('sum') IS NOT NULL;
VACUUM vscope.points_20231106;
SELECT pg_relation_size('vscope.points_20231106') AS bytes_after_vacuum;
SELECT * FROM vscope.reader_stats() \gset before_
SELECT count(*) FROM vscope.read_points(ARRAY(SELECT series_id FROM vscope.series WHERE metric = 'sum.count'),
                                        '2023-11-06', '2023-11-07');
SELECT days_probed - :before_days_probed AS probed, days_skipped - :before_days_skipped AS skipped
  FROM vscope.reader_stats();
SELECT vscope.put_point('sum.count', '{"h": "a"}', '2023-11-06 12:00:30+00', 7) > 0;
SELECT * FROM vscope.reader_stats() \gset before_
SELECT count(*), sum(coalesce(value, ivalue)) FILTER (WHERE ts = '2023-11-06 12:00:30+00') AS late
  FROM vscope.read_points(ARRAY(SELECT series_id FROM vscope.series WHERE metric = 'sum.count'),
                          '2023-11-06', '2023-11-07');
SELECT days_probed - :before_days_probed AS probed, days_skipped - :before_days_skipped AS skipped
  FROM vscope.reader_stats();
