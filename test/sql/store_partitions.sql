-- daily partitions: made on write, listed, expired whole
SET timezone = 'UTC';
SELECT vscope.use_tenant('acme') IS NOT NULL;
SELECT partition, range_start, range_end FROM vscope.partitions()
 WHERE range_start < '2020-01-01' ORDER BY range_start;
SELECT vscope.put('[{"metric":"part.m","timestamp":86400,"value":1,"tags":{"h":"a"}},
                    {"metric":"part.m","timestamp":172799,"value":2,"tags":{"h":"a"}},
                    {"metric":"part.m","timestamp":172800,"value":3,"tags":{"h":"a"}}]');
SELECT partition, range_start, range_end FROM vscope.partitions()
 WHERE range_start < '1980-01-01' ORDER BY range_start;
SELECT tableoid::regclass, ts, ivalue FROM vscope.points p
 WHERE tenant_id = vscope.current_tenant()
   AND series_id = (SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'part.m') ORDER BY ts;
-- a partition dropped elsewhere is noticed (the per-backend cache is invalidated)
DROP TABLE vscope.points_19700102;
SELECT vscope.put('{"metric":"part.m","timestamp":86401,"value":4,"tags":{"h":"a"}}');
SELECT ts, ivalue FROM vscope.points
 WHERE tenant_id = vscope.current_tenant()
   AND series_id = (SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'part.m') ORDER BY ts;
-- days are UTC days whatever the session's time zone
SET timezone = 'Europe/Berlin';
SELECT vscope.put('[{"metric":"part.tz","timestamp":1751758200,"value":1,"tags":{"h":"a"}},
                    {"metric":"part.tz","timestamp":1751756400,"value":2,"tags":{"h":"a"}}]');
SET timezone = 'UTC';
SELECT tableoid::regclass, ts, ivalue FROM vscope.points
 WHERE tenant_id = vscope.current_tenant()
   AND series_id = (SELECT series_id FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND metric = 'part.tz') ORDER BY ts;
SELECT partition, range_start, range_end FROM vscope.partitions()
 WHERE partition::text IN ('vscope.points_20250705', 'vscope.points_20250706');
-- one write creates at most vscope.max_new_partitions days, or nothing at all
SET vscope.max_new_partitions = 2;
SELECT vscope.put('[{"metric":"part.cap","timestamp":1262304000,"value":1,"tags":{"h":"a"}},
                    {"metric":"part.cap","timestamp":1262390400,"value":1,"tags":{"h":"a"}},
                    {"metric":"part.cap","timestamp":1262476800,"value":1,"tags":{"h":"a"}}]');
SELECT count(*) AS created FROM vscope.partitions() WHERE range_start BETWEEN '2010-01-01' AND '2010-01-03';
-- two new days are fine
SELECT vscope.put('[{"metric":"part.cap","timestamp":1262304000,"value":1,"tags":{"h":"a"}},
                    {"metric":"part.cap","timestamp":1262390400,"value":1,"tags":{"h":"a"}}]');
RESET vscope.max_new_partitions;
-- with a retention, points already past it are refused, point by point
SET vscope.retention = '30 days';
SELECT vscope.put('[{"metric":"part.ret","timestamp":1000000000,"value":1,"tags":{"h":"a"}}]', true)->'errors'->0->>'error';
SELECT vscope.put_point('part.ret', '{"h": "a"}', '2001-09-09', 1);
RESET vscope.retention;
-- maintenance makes today's and the next two days' partitions
SELECT vscope.maintain() ? 'created' AS maintained;
SELECT count(*) AS ahead FROM vscope.partitions() WHERE range_end > now() AND range_start <= now() + interval '2 days';
-- expire drops whole days older than the interval
SELECT vscope.expire(interval '1 year') > 0 AS dropped_old_days;
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
