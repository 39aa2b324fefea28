-- daily partitions: made by maintenance and by the owner, never by a write;
-- a write to a day without one is refused; listed, expired whole
SET timezone = 'UTC';
SELECT vscope.use_tenant('acme') IS NOT NULL;
SELECT count(*) AS partitions_before_1980 FROM vscope.partitions() WHERE range_start < '1980-01-01';
-- a write to a day that has no partition is refused point by point, with
-- what makes the day writable; nothing of it is stored, not even its series
SELECT e->>'error' AS error
  FROM json_array_elements(vscope.put('[{"metric":"part.m","timestamp":86400,"value":1,"tags":{"h":"a"}},
                    {"metric":"part.m","timestamp":172799,"value":2,"tags":{"h":"a"}},
                    {"metric":"part.m","timestamp":172800,"value":3,"tags":{"h":"a"}}]', true)->'errors') e;
SELECT count(*) AS part_m_series FROM vscope.series WHERE metric = 'part.m';
SELECT count(*) AS partitions_before_1980 FROM vscope.partitions() WHERE range_start < '1980-01-01';
-- the same for telnet lines and for one point
SELECT vscope.put_lines('put part.m 86400 1 h=a');
SELECT vscope.put_point('part.m', '{"h": "a"}', '1970-01-02', 1);
SELECT count(*) AS part_m_series FROM vscope.series WHERE metric = 'part.m';
-- before maintenance has run (a new database), not even today is writable
SELECT vscope.put(format('[{"metric":"part.now","timestamp":%s,"value":1,"tags":{"h":"a"}},
                           {"metric":"part.now","timestamp":86400,"value":2,"tags":{"h":"a"}}]',
                         extract(epoch FROM now())::bigint)::text) AS before_maintenance;
SELECT count(*) AS part_now_points FROM vscope.points
 WHERE tenant_id = vscope.current_tenant()
   AND series_id = (SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'part.now');
-- only the extension's owner makes days writable (writers cannot even call
-- the function that writes used to call)
SET ROLE vscope_writer;
CALL vscope.add_days('1970-01-02', '1970-01-03');
SELECT vscope._ensure_partitions(ARRAY[1]);
RESET ROLE;
-- add_days commits day by day: not inside a transaction block; only days
-- a point may be written to
BEGIN;
CALL vscope.add_days('1970-01-02', '1970-01-03');
ROLLBACK;
CALL vscope.add_days('1969-12-31', '1970-01-01');
CALL vscope.add_days('9000-01-01', '9000-01-01');
CALL vscope.add_days('1970-01-03', '1970-01-02');
CALL vscope.add_days(NULL, '1970-01-02');
SET vscope.retention = '30 days';
CALL vscope.add_days('1970-01-02', '1970-01-03');
RESET vscope.retention;
-- the owner's CALL makes the days of points and of samples; again, nothing
CALL vscope.add_days('1970-01-02', '1970-01-03');
CALL vscope.add_days('1970-01-02', '1970-01-03');
SELECT partition, range_start, range_end FROM vscope.partitions()
 WHERE range_start < '1980-01-01' ORDER BY range_start;
SELECT partition FROM vscope.partitions('samples') WHERE range_start < '1980-01-01';
-- made apart and attached: the same table as PARTITION OF would make
SELECT conname, contype, conislocal, coninhcount FROM pg_constraint
 WHERE conrelid = 'vscope.points_19700102'::regclass ORDER BY conname;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'vscope.samples_19700102'::regclass ORDER BY 1::text;
SELECT relacl IS NULL AS no_grants, relrowsecurity FROM pg_class WHERE oid = 'vscope.points_19700102'::regclass;
-- now the days are writable
SELECT vscope.put('[{"metric":"part.m","timestamp":86400,"value":1,"tags":{"h":"a"}},
                    {"metric":"part.m","timestamp":172799,"value":2,"tags":{"h":"a"}},
                    {"metric":"part.m","timestamp":172800,"value":3,"tags":{"h":"a"}}]');
SELECT tableoid::regclass, ts, ivalue FROM vscope.points p
 WHERE tenant_id = vscope.current_tenant()
   AND series_id = (SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'part.m') ORDER BY ts;
-- the good points of a put are written all the same, as OpenTSDB does
SELECT vscope.put('[{"metric":"part.m","timestamp":172801,"value":6,"tags":{"h":"a"}},
                    {"metric":"part.m","timestamp":345600,"value":7,"tags":{"h":"a"}}]', true);
SELECT count(*) AS part_m_points FROM vscope.points
 WHERE tenant_id = vscope.current_tenant()
   AND series_id = (SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'part.m');
-- a backfill takes no lock that readers wait for: only ROW EXCLUSIVE
BEGIN;
SELECT vscope.put('{"metric":"part.m","timestamp":90000,"value":5,"tags":{"h":"a"}}');
SELECT relation::regclass, mode FROM pg_locks
 WHERE pid = pg_backend_pid() AND locktype = 'relation'
   AND relation IN ('vscope.points'::regclass, 'vscope.points_19700102'::regclass)
 ORDER BY 1::text, 2;
COMMIT;
-- a partition dropped elsewhere is noticed (the per-backend cache is
-- invalidated): the day is no longer writable
DROP TABLE vscope.points_19700102;
SELECT vscope.put('{"metric":"part.m","timestamp":86401,"value":4,"tags":{"h":"a"}}', true)->'errors'->0->>'error';
SELECT ts, ivalue FROM vscope.points
 WHERE tenant_id = vscope.current_tenant()
   AND series_id = (SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'part.m') ORDER BY ts;
-- days are UTC days whatever the session's time zone
SET timezone = 'Europe/Berlin';
CALL vscope.add_days('2025-07-05', '2025-07-05');
SELECT vscope.put('[{"metric":"part.tz","timestamp":1751758200,"value":1,"tags":{"h":"a"}},
                    {"metric":"part.tz","timestamp":1751756400,"value":2,"tags":{"h":"a"}}]');
SET timezone = 'UTC';
SELECT tableoid::regclass, ts, ivalue FROM vscope.points
 WHERE tenant_id = vscope.current_tenant()
   AND series_id = (SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'part.tz') ORDER BY ts;
SELECT partition, range_start, range_end FROM vscope.partitions()
 WHERE partition::text IN ('vscope.points_20250705', 'vscope.points_20250706');
-- vscope.max_new_partitions is no longer used, and still accepted
SET vscope.max_new_partitions = 2;
SHOW vscope.max_new_partitions;
RESET vscope.max_new_partitions;
-- with a retention, points already past it are refused, point by point
SET vscope.retention = '30 days';
SELECT vscope.put('[{"metric":"part.ret","timestamp":1000000000,"value":1,"tags":{"h":"a"}}]', true)->'errors'->0->>'error';
SELECT vscope.put_point('part.ret', '{"h": "a"}', '2001-09-09', 1);
RESET vscope.retention;
-- expire drops whole days older than the interval
SELECT vscope.expire(interval '3 days') > 0 AS dropped_old_days;
SELECT count(*) AS left_before_1980 FROM vscope.partitions() WHERE range_start < '1980-01-01';
SELECT count(*) AS points_before_1980 FROM vscope.points WHERE ts < '1980-01-01';
SELECT vscope.expire(interval '0');
SELECT vscope.expire(interval '-1 day');
SELECT vscope.expire(NULL);
-- the default retention keeps everything
SELECT vscope.expire() AS dropped_by_default;
-- only the owner may expire
SET ROLE vscope_writer;
SELECT vscope.expire(interval '1 day');
RESET ROLE;

-- maintain() makes the writable window: every day from vscope.max_past
-- ago, but none that retention would drop, to vscope.max_future ahead
-- (no day is due for compaction here, so that a call only makes days)
SET vscope.compress_after = 2147483647;
SET vscope.max_future = '2d';
SET vscope.max_past = '5d';
SET vscope.retention = '2 days';
SELECT count(*) AS days_before FROM vscope.partitions() WHERE range_end > now() - interval '40 days';
-- today - 2 to today + 3 (the day after max_future too), of points and samples
SELECT m->'created' AS created, m->'pending' AS pending FROM vscope.maintain() m;
SELECT count(*) AS days, min(range_start) = date_trunc('day', now() - interval '2 days') AS from_retention,
       max(range_start) = date_trunc('day', now() + interval '3 days') AS to_max_future
  FROM vscope.partitions() WHERE range_end > now() - interval '40 days';
SELECT count(*) AS sample_days FROM vscope.partitions('samples') WHERE range_end > now() - interval '40 days';
-- without a retention back to max_past; once made, again nothing
RESET vscope.retention;
SELECT m->'created' AS created, m->'pending' AS pending FROM vscope.maintain() m;
SELECT m->'created' AS created, m->'pending' AS pending FROM vscope.maintain() m;
SELECT count(*) AS days, min(range_start) = date_trunc('day', now() - interval '5 days') AS from_max_past
  FROM vscope.partitions() WHERE range_end > now() - interval '40 days';
-- at most 16 days a call; "pending" until the window is whole
SET vscope.max_past = '30d';
SELECT m->'created' AS created, m->'pending' AS pending FROM vscope.maintain() m;
SELECT m->'created' AS created, m->'pending' AS pending FROM vscope.maintain() m;
SELECT m->'created' AS created, m->'pending' AS pending FROM vscope.maintain() m;
SELECT count(*) AS days FROM vscope.partitions() WHERE range_end > now() - interval '40 days';
-- and today's point is written now
SELECT vscope.put(format('{"metric":"part.now","timestamp":%s,"value":3,"tags":{"h":"a"}}',
                         extract(epoch FROM now())::bigint)::text) AS after_maintenance;
RESET vscope.max_past;
RESET vscope.max_future;
RESET vscope.compress_after;
