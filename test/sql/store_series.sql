-- series identities: numbered per tenant and never given twice, a
-- per-tenant limit on how many series there are, and the per-backend cache
-- of series ids emptied when series rows change.  (Two sessions at once:
-- test/e2e/test_28_store_series.py.)
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2024-01-01', '2024-01-03');
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT vscope.create_tenant('ser1') IS NOT NULL, vscope.create_tenant('ser2') IS NOT NULL;

-- each tenant numbers its series from 1, whatever the others have; a put
-- numbers its new series in the order of their keys
SELECT vscope.use_tenant('ser1') IS NOT NULL;
SELECT vscope.put('[{"metric":"ser.m","timestamp":1704067200,"value":1,"tags":{"h":"c"}},
                    {"metric":"ser.m","timestamp":1704067200,"value":2,"tags":{"h":"a"}},
                    {"metric":"ser.m","timestamp":1704067200,"value":3,"tags":{"h":"b"}}]');
SELECT vscope.use_tenant('ser2') IS NOT NULL;
SELECT vscope.put_point('ser.m', '{"h": "z"}', '2024-01-01', 4) AS z_id;
SELECT vscope.put_point('ser.m', '{"h": "a"}', '2024-01-01', 5) AS a_id;
SELECT t.name, s.series_id, s.skey, p.ivalue
  FROM vscope.series s JOIN vscope.tenants t USING (tenant_id)
  JOIN vscope.points p USING (tenant_id, series_id)
 WHERE t.name IN ('ser1', 'ser2') ORDER BY t.name, s.series_id;
-- the tenant's row says what comes next and how many there are
SELECT name, series_next, series_count, max_series FROM vscope.tenants
 WHERE name IN ('ser1', 'ser2') ORDER BY name;

-- the limit: vscope.max_series unless the tenant has its own max_series
SHOW vscope.max_series;
SET vscope.max_series = 4;
SELECT vscope.use_tenant('ser1') IS NOT NULL;
-- ser1 has 3 series: a fourth fits
SELECT vscope.put('{"metric":"ser.m","timestamp":1704067260,"value":6,"tags":{"h":"d"}}');
-- a put that would make a fifth is refused whole: not even its point of an
-- existing series is stored
SELECT vscope.put('[{"metric":"ser.m","timestamp":1704067320,"value":7,"tags":{"h":"a"}},
                    {"metric":"ser.m","timestamp":1704067320,"value":8,"tags":{"h":"e"}}]');
SELECT vscope.put_point('ser.m', '{"h": "e"}', '2024-01-01 00:02', 8);
SELECT vscope.put_lines('put ser.m 1704067320 8 h=e');
SELECT count(*) AS stored_at_0002 FROM vscope.points
 WHERE tenant_id = vscope.current_tenant() AND ts = '2024-01-01 00:02';
SELECT series_next, series_count FROM vscope.tenants WHERE name = 'ser1';
-- existing series are still written
SELECT vscope.put('{"metric":"ser.m","timestamp":1704067320,"value":7,"tags":{"h":"a"}}');
-- another tenant under the same setting has room of its own
SELECT vscope.use_tenant('ser2') IS NOT NULL;
SELECT vscope.put_point('ser.m', '{"h": "y"}', '2024-01-01', 9) AS y_id;
SELECT vscope.use_tenant('ser1') IS NOT NULL;
-- the tenant's own limit wins over the setting; 0 is none
UPDATE vscope.tenants SET max_series = 0 WHERE name = 'ser1';
SELECT vscope.put_point('ser.m', '{"h": "e"}', '2024-01-01', 8) AS e_id;
UPDATE vscope.tenants SET max_series = 5 WHERE name = 'ser1';
SELECT vscope.put_point('ser.m', '{"h": "f"}', '2024-01-01', 10);
\set VERBOSITY terse
UPDATE vscope.tenants SET max_series = -1 WHERE name = 'ser1';
\set VERBOSITY default
RESET vscope.max_series;

-- deleted series make room: the count is only corrected when it says the
-- limit is reached; the ids of deleted series are not given again
SELECT vscope.put_point('ser.m', '{"h": "d"}', '2024-01-02', 11) AS d_id_before;
DELETE FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND skey IN ('ser.m{h=d}', 'ser.m{h=e}');
SELECT series_next, series_count FROM vscope.tenants WHERE name = 'ser1';
SELECT vscope.put_point('ser.m', '{"h": "f"}', '2024-01-01', 10) AS f_id;
SELECT series_next, series_count FROM vscope.tenants WHERE name = 'ser1';
-- this session cached ser.m{h=d} as series 4: the DELETE emptied that
-- cache, so the point goes to a new series, not under the deleted id
SELECT vscope.put_point('ser.m', '{"h": "d"}', '2024-01-02', 12) AS d_id_after;
SELECT s.series_id, p.ts, p.ivalue FROM vscope.series s JOIN vscope.points p USING (tenant_id, series_id)
 WHERE s.tenant_id = vscope.current_tenant() AND s.skey = 'ser.m{h=d}';
UPDATE vscope.tenants SET max_series = NULL WHERE name = 'ser1';
-- so does an UPDATE of series rows
UPDATE vscope.series SET skey = 'ser.m{h=dd}', tags = '{"h": "dd"}'
 WHERE tenant_id = vscope.current_tenant() AND skey = 'ser.m{h=d}';
SELECT vscope.put_point('ser.m', '{"h": "d"}', '2024-01-03', 13) AS d_id_after_update;
-- and an abort of a transaction that created series
BEGIN;
SELECT vscope.put_point('ser.m', '{"h": "g"}', '2024-01-01', 14) AS g_id_rolled_back;
ROLLBACK;
SELECT vscope.put_point('ser.m', '{"h": "g"}', '2024-01-01', 14) AS g_id;
SELECT count(*) AS g_series FROM vscope.series
 WHERE tenant_id = vscope.current_tenant() AND skey = 'ser.m{h=g}';

-- a series inserted by hand with an id of its own: the numbering goes on
-- past it rather than into it
INSERT INTO vscope.series (tenant_id, series_id, metric, skey)
VALUES (vscope.current_tenant(), 100, 'ser.hand', 'ser.hand{}');
SELECT vscope.put_point('ser.m', '{"h": "h"}', '2024-01-01', 15) AS after_hand;
SELECT series_next FROM vscope.tenants WHERE name = 'ser1';

-- writers can neither renumber nor lift the limit
BEGIN;
SET LOCAL ROLE vscope_writer;
SAVEPOINT s;
UPDATE vscope.tenants SET series_count = 0, max_series = 0;
ROLLBACK TO s;
SELECT vscope.put_point('ser.m', '{"h": "i"}', '2024-01-01', 16) AS writer_creates;
ROLLBACK;

-- the trigger function is only a trigger
SELECT vscope._series_changed();
