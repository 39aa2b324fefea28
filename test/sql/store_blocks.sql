-- compressed blocks: complete days move from rows into per-series blocks;
-- every read answers the same before and after, late writes win, expiry
-- and row-level security hold, a damaged block is a clear error
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2020-09-13', '2020-09-14');
CALL vscope.add_days('2023-03-12', '2023-03-12');
CALL vscope.add_days('2023-11-14', '2023-11-15');
RESET client_min_messages;
SELECT vscope.create_tenant('blk') IS NOT NULL, vscope.create_tenant('blk2') IS NOT NULL;
SELECT vscope.use_tenant('blk') IS NOT NULL;
-- two days of three series (2023-11-14 and -15): a float gauge every minute,
-- an integer counter every 10 s, and a series mixing ints and doubles
SELECT vscope.put(json_agg(p)::text) FROM (
  SELECT json_build_object('metric', 'blk.gauge', 'timestamp', 1699920000 + 60 * k,
                           'value', round((50 + 40 * sin(k / 30.0))::numeric, 2),
                           'tags', json_build_object('h', 'a')) AS p
    FROM generate_series(0, 2 * 1440 - 1) k
  UNION ALL
  SELECT json_build_object('metric', 'blk.count', 'timestamp', 1699920000 + 10 * k,
                           'value', 1000000 + 7 * k, 'tags', json_build_object('h', 'a'))
    FROM generate_series(0, 2 * 8640 - 1) k
  UNION ALL
  SELECT json_build_object('metric', 'blk.mixed', 'timestamp', 1699920000 + 3600 * k,
                           'value', CASE WHEN k % 2 = 0 THEN to_json(k) ELSE to_json(k + 0.5) END,
                           'tags', json_build_object('h', 'a'))
    FROM generate_series(0, 47) k) x;
-- (series ids are numbered per tenant, and the superuser sees every tenant's)
SELECT array_agg(series_id ORDER BY metric) AS ids FROM vscope.series
 WHERE tenant_id = vscope.current_tenant() AND metric LIKE 'blk.%' \gset
CREATE TEMP TABLE before AS
SELECT series_id, ts, value, ivalue FROM vscope.read_points(:'ids', '-infinity', 'infinity');
CREATE TEMP TABLE before_view AS SELECT * FROM vscope.datapoints WHERE metric LIKE 'blk.%';
SELECT count(*) FROM before;

-- compress both days (superuser: every tenant); a day without rows is 0
SELECT vscope.compress('2023-11-14') AS day1, vscope.compress('2023-11-15') AS day2;
SELECT vscope.compress('2023-11-14') AS again, vscope.compress('1999-01-01') AS no_partition;
SELECT count(*) AS rows_left FROM vscope.points WHERE tenant_id = vscope.current_tenant() AND series_id = ANY (:'ids');
SELECT s.metric, b.first_ts, b.last_ts, b.n, b.vmin, b.vmax, b.vsum,
       octet_length(b.data) < b.n * 3 AS under_3_bytes_a_point
  FROM vscope.blocks b JOIN vscope.series s USING (tenant_id, series_id)
 WHERE b.tenant_id = vscope.current_tenant() AND b.series_id = ANY (:'ids') ORDER BY s.metric, b.first_ts;
-- the summary is what the points say
SELECT bool_and(b.n = x.n AND b.vmin = x.mn AND b.vmax = x.mx AND b.vsum = x.sm) AS summaries_match
  FROM vscope.blocks b
  JOIN LATERAL (SELECT count(*) AS n, min(coalesce(value, ivalue)) AS mn, max(coalesce(value, ivalue)) AS mx,
                       sum(coalesce(value, ivalue)) AS sm
                  FROM before p WHERE p.series_id = b.series_id
                   AND p.ts >= b.first_ts AND p.ts <= b.last_ts) x ON true
 WHERE b.tenant_id = vscope.current_tenant() AND b.series_id = ANY (:'ids');

-- the same points, bit for bit, in the same order, int or double as written
SELECT count(*) AS differences FROM (
  (SELECT * FROM before EXCEPT ALL SELECT series_id, ts, value, ivalue
     FROM vscope.read_points(:'ids', '-infinity', 'infinity'))
  UNION ALL
  (SELECT series_id, ts, value, ivalue FROM vscope.read_points(:'ids', '-infinity', 'infinity')
   EXCEPT ALL SELECT * FROM before)) d;
SELECT count(*) AS out_of_order FROM (
  SELECT series_id, ts, lag(series_id) OVER () AS ps, lag(ts) OVER () AS pt
    FROM vscope.read_points(:'ids', '-infinity', 'infinity')) r
 WHERE (series_id, ts) <= (ps, pt);
SELECT count(*) AS view_differences FROM (
  (SELECT * FROM before_view EXCEPT ALL SELECT * FROM vscope.datapoints WHERE metric LIKE 'blk.%')
  UNION ALL
  (SELECT * FROM vscope.datapoints WHERE metric LIKE 'blk.%' EXCEPT ALL SELECT * FROM before_view)) d;
-- ranges cut through blocks: start inclusive, end exclusive
SELECT count(*), min(ts), max(ts) FROM vscope.read_points(:'ids', '2023-11-14 23:59:00', '2023-11-15 00:01:00');
SELECT count(*) FROM vscope.read_points(:'ids', '2023-11-15 00:00:00', '2023-11-15 00:00:00.000001');
-- queries answer the same from blocks
SELECT vscope.tsdb_query('{"start":1699920000,"end":1700092799,"queries":[{"metric":"blk.gauge","aggregator":"sum","downsample":"6h-avg"}]}');
SELECT vscope.tsdb_query('{"start":1699920000,"end":1700092799,"queries":[{"metric":"blk.count","aggregator":"sum","downsample":"12h-max"}]}');

-- a write into a compressed day: kept as a row, and it wins over the block
SELECT vscope.put('[{"metric":"blk.gauge","timestamp":1699920060,"value":-1.25,"tags":{"h":"a"}},
                    {"metric":"blk.gauge","timestamp":1699920030,"value":7,"tags":{"h":"a"}}]');
SELECT ts, value, ivalue FROM vscope.read_points(:'ids', '2023-11-14 00:00', '2023-11-14 00:02')
 ORDER BY ts;
-- compressing again merges the rows into the block
SELECT vscope.compress('2023-11-14') AS merged;
SELECT count(*) AS rows_left FROM vscope.points WHERE tenant_id = vscope.current_tenant() AND series_id = ANY (:'ids');
SELECT ts, value, ivalue FROM vscope.read_points(:'ids', '2023-11-14 00:00', '2023-11-14 00:02')
 ORDER BY ts;

-- decompress: the rows come back, the blocks go; rows written since keep their values
SELECT vscope.put('{"metric":"blk.gauge","timestamp":1699920060,"value":99,"tags":{"h":"a"}}');
SELECT vscope.decompress('2023-11-14') AS back;
SELECT count(*) AS blocks_left FROM vscope.blocks WHERE first_ts < '2023-11-15' AND tenant_id = vscope.current_tenant()
   AND series_id = ANY (:'ids');
SELECT ts, value, ivalue FROM vscope.points
 WHERE tenant_id = vscope.current_tenant() AND series_id = (:'ids'::int[])[2] AND ts < '2023-11-14 00:02' ORDER BY ts;
SELECT vscope.compress('2023-11-14') > 0 AS compressed_again;

-- the latest point of each series is kept at ingest, not read from blocks
SELECT s.metric, l.ts, l.value, l.ivalue FROM vscope.series_last l JOIN vscope.series s USING (tenant_id, series_id)
 WHERE l.tenant_id = vscope.current_tenant() AND l.series_id = ANY (:'ids') ORDER BY s.metric;
SELECT vscope.latest_value('blk.count', '{"h":"a"}');
SELECT vscope.put('{"metric":"blk.count","timestamp":1600000000,"value":1,"tags":{"h":"a"}}');
SELECT vscope.latest_value('blk.count', '{"h":"a"}') AS older_write_leaves_it;
SELECT vscope.put('{"metric":"blk.count","timestamp":1700092790,"value":5,"tags":{"h":"a"}}');
SELECT vscope.latest_value('blk.count', '{"h":"a"}') AS same_time_rewritten;

-- another tenant sees no block, and cannot read these series
SELECT vscope.use_tenant('blk2') IS NOT NULL;
SET ROLE vscope_reader;
SELECT count(*) FROM vscope.blocks;
SELECT count(*) FROM vscope.read_points(:'ids', '-infinity', 'infinity');
SELECT count(*) FROM vscope._read_series((SELECT vscope.tenant_id('blk')), (:'ids'::int[])[1], '-infinity', 'infinity');
-- and nobody but the owner compresses
SELECT vscope.compress('2023-11-14');
RESET ROLE;
SELECT vscope.use_tenant('blk') IS NOT NULL;

-- a damaged block is an error naming the series and the block, not a crash
BEGIN;
UPDATE vscope.blocks SET data = substr(data, 1, 20)
 WHERE tenant_id = vscope.current_tenant() AND series_id = (:'ids'::int[])[1] AND first_ts = '2023-11-15';
SELECT count(*) FROM vscope.read_points(:'ids', '-infinity', 'infinity');
ROLLBACK;
BEGIN;
UPDATE vscope.blocks SET data = '\x00'
 WHERE tenant_id = vscope.current_tenant() AND series_id = (:'ids'::int[])[1] AND first_ts = '2023-11-15';
SELECT count(*) FROM vscope.read_points(:'ids', '-infinity', 'infinity');
ROLLBACK;
SELECT vscope.compress('infinity');

-- a block is found whatever the session's TimeZone: in New York the day
-- before 2023-03-12 23:00 UTC is 23 hours long (DST starts that day)
SELECT vscope.put(json_agg(json_build_object('metric', 'dst.m', 'timestamp', 1678579200 + 3600 * k,
                                             'value', k, 'tags', json_build_object('h', 'a')))::text)
  FROM generate_series(0, 23) k;
SELECT vscope.compress('2023-03-12') AS dst_day;
SET timezone = 'America/New_York';
SELECT count(*) AS from_last_hour FROM vscope.read_points(
  ARRAY[(SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'dst.m')], '2023-03-12 23:00+00', 'infinity');
-- and compaction works in such a session too (the day's block spans 23 hours)
SELECT vscope.decompress('2023-03-12') AS dst_back, vscope.compress('2023-03-12') AS dst_again;
SET timezone = 'UTC';

-- maintain() compresses complete days, one a call, oldest first
SELECT vscope.put('[{"metric":"blk.m","timestamp":1600000000,"value":1,"tags":{"h":"a"}},
                    {"metric":"blk.m","timestamp":1600086400,"value":2,"tags":{"h":"a"}}]');
SELECT (vscope.maintain())->>'pending' AS more_to_do;
DO $$
BEGIN
	FOR i IN 1..500 LOOP
		EXIT WHEN NOT (vscope.maintain()->>'pending')::boolean;
	END LOOP;
END
$$;
SELECT vscope.maintain() - 'created' AS nothing_left;
-- a day that cannot be compressed (a damaged block, then a late write) is
-- warned about and passed over: the next day is compressed all the same
SELECT vscope.put('[{"metric":"blk.m","timestamp":1600000100,"value":3,"tags":{"h":"a"}},
                    {"metric":"blk.m","timestamp":1600086500,"value":4,"tags":{"h":"a"}}]');
UPDATE vscope.blocks SET data = '\x00'
 WHERE tenant_id = vscope.current_tenant()
   AND series_id = (SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'blk.m') AND first_ts < '2020-09-14';
SELECT vscope.maintain() - 'created' AS passed_over;
DELETE FROM vscope.blocks
 WHERE tenant_id = vscope.current_tenant()
   AND series_id = (SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'blk.m') AND first_ts < '2020-09-14';
-- and made the partitions of every day a write may name ahead (vscope.max_future)
SELECT bool_and(to_regclass('vscope.points_' || to_char(d, 'YYYYMMDD')) IS NOT NULL
                AND to_regclass('vscope.samples_' || to_char(d, 'YYYYMMDD')) IS NOT NULL) AS days_ahead
  FROM generate_series(now(), now() + interval '7 days', interval '1 day') d;
SELECT count(*) AS blk_m_rows FROM vscope.points
 WHERE tenant_id = vscope.current_tenant()
   AND series_id = (SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'blk.m');
-- a call that makes a partition compresses nothing (it holds the parents'
-- locks until commit) and leaves the day to the next call; it attaches the
-- partition, holding vscope.points in SHARE UPDATE EXCLUSIVE mode, which
-- neither readers nor writers wait for (not ACCESS EXCLUSIVE)
SELECT vscope.put('{"metric":"blk.m","timestamp":1600000100,"value":3,"tags":{"h":"a"}}');
DO $$
BEGIN
	EXECUTE format('DROP TABLE vscope.%I', 'points_' || to_char(now() + interval '3 days', 'YYYYMMDD'));
END
$$;
BEGIN;
SELECT m->'created' AS created, m->'compressed_day' AS compressed_day, m->'pending' AS pending
  FROM vscope.maintain() m;
SELECT mode FROM pg_locks
 WHERE pid = pg_backend_pid() AND relation = 'vscope.points'::regclass ORDER BY 1;
COMMIT;
SELECT m->'created' AS created, m->'compressed_day' AS compressed_day, m->'pending' AS pending
  FROM vscope.maintain() m;
SHOW vscope.compress_after;
SELECT vscope.compress_after();

-- expiry drops the blocks of expired days and latest points that no longer exist
SELECT count(*) > 0 AS has_old_blocks FROM vscope.blocks WHERE first_ts < '2023-11-16';
SELECT vscope.expire(now() - '2023-11-15'::timestamptz) >= 0;
SELECT count(*) AS day1_blocks FROM vscope.blocks WHERE first_ts < '2023-11-15';
SELECT count(*) AS day2_blocks FROM vscope.blocks WHERE first_ts >= '2023-11-15' AND first_ts < '2023-11-16';
SELECT count(*) AS expired_latest FROM vscope.series_last WHERE ts < '2023-11-15';

-- with a retention, maintain() drops one expired day per call (each call its
-- own transaction, oldest first) and says more is pending until none is left
SET client_min_messages = warning;
CALL vscope.add_days('2015-01-01', '2015-01-03');
RESET client_min_messages;
SELECT vscope.put('[{"metric":"blk.old","timestamp":1420070400,"value":1,"tags":{"h":"a"}},
                    {"metric":"blk.old","timestamp":1420156800,"value":2,"tags":{"h":"a"}},
                    {"metric":"blk.old","timestamp":1420243200,"value":3,"tags":{"h":"a"}}]');
SET vscope.retention = '1000 days';
SELECT count(*) > 2 AS several_old FROM vscope.partitions() WHERE range_end <= now() - interval '1000 days';
CREATE TEMP TABLE old_parts AS
SELECT count(*) AS n FROM (SELECT partition FROM vscope.partitions() WHERE range_end <= now() - interval '1000 days'
                           UNION ALL
                           SELECT partition FROM vscope.partitions('samples') WHERE range_end <= now() - interval '1000 days') x;
SELECT (m->>'dropped')::int AS dropped, (m->>'pending')::boolean AS pending
  FROM vscope.maintain() m;
SELECT (SELECT n FROM old_parts) - count(*) AS one_fewer
  FROM (SELECT partition FROM vscope.partitions() WHERE range_end <= now() - interval '1000 days'
        UNION ALL
        SELECT partition FROM vscope.partitions('samples') WHERE range_end <= now() - interval '1000 days') x;
DO $$
BEGIN
	FOR i IN 1..500 LOOP
		EXIT WHEN NOT (vscope.maintain()->>'pending')::boolean;
	END LOOP;
END
$$;
SELECT count(*) AS old_left FROM vscope.partitions() WHERE range_end <= now() - interval '1000 days';
SELECT vscope.expire(interval '1 day', 0);
RESET vscope.retention;
