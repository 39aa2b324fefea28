-- vscope.put_point: one point, typed by its SQL type
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2024-01-01', '2024-01-01');
RESET client_min_messages;
SELECT vscope.use_tenant('acme') IS NOT NULL;
SELECT vscope.put_point('sys.cpu.user', '{"host": "web01", "dc": "lga"}', '2024-01-01 00:00:00+00', 42) AS sid \gset
SELECT vscope.put_point('sys.cpu.user', '{"dc": "lga", "host": "web01"}', '2024-01-01 00:01:00+00', 42.5) = :sid AS same_series;
SELECT vscope.put_point('sys.cpu.user', '{"dc": "lga", "host": "web01"}', '2024-01-01 00:02:00+00', 7::bigint) = :sid AS same_series;
SELECT vscope.put_point('sys.cpu.user', '{"dc": "lga", "host": "web01"}', '2024-01-01 00:03:00+00', 2.0::float8) = :sid AS same_series;
SELECT vscope.put_point('sys.cpu.user', '{"dc": "lga", "host": "web01"}', '2024-01-01 00:04:00+00', '12'::text) = :sid AS same_series;
SELECT vscope.put_point('sys.cpu.user', '{"dc": "lga", "host": "web01"}', '2024-01-01 00:05:00+00', 3.00::numeric) = :sid AS same_series;
SELECT metric, tags, skey FROM vscope.series WHERE tenant_id = vscope.current_tenant() AND series_id = :sid;
SELECT ts, value, ivalue FROM vscope.points WHERE tenant_id = vscope.current_tenant() AND series_id = :sid ORDER BY ts;
-- the last write to a (series, ts) wins
SELECT vscope.put_point('sys.cpu.user', '{"dc": "lga", "host": "web01"}', '2024-01-01 00:00:00+00', 1.25) = :sid;
SELECT ts, value, ivalue FROM vscope.points WHERE tenant_id = vscope.current_tenant() AND series_id = :sid AND ts = '2024-01-01 00:00:00+00';
-- a different tag value is a different series
SELECT vscope.put_point('sys.cpu.user', '{"dc": "lga", "host": "web02"}', '2024-01-01 00:00:00+00', 1) <> :sid AS new_series;
-- errors
SELECT vscope.put_point('sys cpu', '{"host": "a"}', '2024-01-01', 1);
SELECT vscope.put_point('sys.cpu', '{}', '2024-01-01', 1);
SELECT vscope.put_point('sys.cpu', '["a"]', '2024-01-01', 1);
SELECT vscope.put_point('sys.cpu', '{"host": 1}', '2024-01-01', 1);
SELECT vscope.put_point('sys.cpu', '{"host": "a b"}', '2024-01-01', 1);
SELECT vscope.put_point('sys.cpu', '{"ho=st": "a"}', '2024-01-01', 1);
SELECT vscope.put_point('sys.cpu', '{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1"}', '2024-01-01', 1);
SELECT vscope.put_point('sys.cpu', '{"host": "a"}', '1969-12-31', 1);
SELECT vscope.put_point('sys.cpu', '{"host": "a"}', 'infinity', 1);
SELECT vscope.put_point('sys.cpu', '{"host": "a"}', now() + interval '30 days', 1);
SELECT vscope.put_point('sys.cpu', '{"host": "a"}', '2024-01-01', 'NaN'::float8);
SELECT vscope.put_point('sys.cpu', '{"host": "a"}', '2024-01-01', 'abc'::text);
SELECT vscope.put_point('sys.cpu', '{"host": "a"}', '2024-01-01', true);
SELECT vscope.put_point('sys.cpu', '{"host": "a"}', '2024-01-01', NULL::int);
-- Unicode letters are allowed in names, as in OpenTSDB
SELECT vscope.put_point('température', '{"hôte": "serveur"}', '2024-01-01', 20) > 0 AS unicode_ok;
SELECT vscope.put_point('temp', '{"host": "a☃"}', '2024-01-01', 20);
