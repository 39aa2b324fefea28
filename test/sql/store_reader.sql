-- the reader: these series, this time range, (ts, value) in time order
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day after each write, so the answers come from blocks
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2023-11-14', '2023-11-16');
RESET client_min_messages;
SELECT vscope.use_tenant('acme') IS NOT NULL;
SELECT vscope.put('[
  {"metric":"rd.m","timestamp":1700000120,"value":3,"tags":{"h":"b"}},
  {"metric":"rd.m","timestamp":1700000000,"value":1.5,"tags":{"h":"a"}},
  {"metric":"rd.m","timestamp":1700000060,"value":2,"tags":{"h":"a"}},
  {"metric":"rd.m","timestamp":1700086400,"value":4,"tags":{"h":"a"}},
  {"metric":"rd.m","timestamp":1700000060,"value":5,"tags":{"h":"b"}}]');
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SELECT array_agg(series_id ORDER BY tags->>'h') AS ids FROM vscope.series
 WHERE tenant_id = vscope.current_tenant() AND metric = 'rd.m' \gset
SELECT (SELECT tags->>'h' FROM vscope.series s WHERE s.tenant_id = vscope.current_tenant() AND s.series_id = r.series_id) AS h, ts, value, ivalue
  FROM vscope.read_points(:'ids', '2023-11-14', '2023-11-16') r;
-- the end bound is exclusive, the start inclusive
SELECT count(*) FROM vscope.read_points(:'ids', to_timestamp(1700000060), to_timestamp(1700000120));
-- unknown series, empty arrays and empty ranges give nothing
SELECT count(*) FROM vscope.read_points('{-1, 999999}', '-infinity', 'infinity');
SELECT count(*) FROM vscope.read_points('{}', '-infinity', 'infinity');
SELECT count(*) FROM vscope.read_points(:'ids', 'infinity', '-infinity');
SELECT count(*) FROM vscope.read_points('{{1,2},{3,4}}', '-infinity', 'infinity');
-- more than one batch of the reader (8192 rows) comes through whole and in order
SELECT vscope.put(json_agg(json_build_object('metric', 'rd.many', 'timestamp', 1700000000 + i,
                                            'value', i, 'tags', json_build_object('h', 'x')))::text)
  FROM generate_series(1, 20000) i;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SELECT count(*), min(ivalue), max(ivalue),
       bool_and(ts > lag_ts OR lag_ts IS NULL) AS ordered
  FROM (SELECT ts, ivalue, lag(ts) OVER () AS lag_ts
          FROM vscope.read_points(ARRAY(SELECT series_id FROM vscope.series
                                        WHERE tenant_id = vscope.current_tenant() AND metric = 'rd.many'),
                                  '-infinity', 'infinity')) r;
-- another tenant's series read as nothing
SELECT vscope.use_tenant('globex') IS NOT NULL;
SELECT count(*) FROM vscope.read_points(:'ids', '-infinity', 'infinity');
