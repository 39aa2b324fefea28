-- vscope.put: OpenTSDB /api/put payloads
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2013-01-01', '2013-01-01');
RESET client_min_messages;
SELECT vscope.use_tenant('acme') IS NOT NULL;
-- one object
SELECT vscope.put('{"metric":"put.m","timestamp":1356998400,"value":42,"tags":{"host":"web01"}}');
-- an array, with seconds, milliseconds, numeric strings and floats
SELECT vscope.put('[
  {"metric":"put.m","timestamp":1356998401,"value":"43","tags":{"host":"web01"}},
  {"metric":"put.m","timestamp":1356998402500,"value":4.5,"tags":{"host":"web01"}},
  {"metric":"put.m","timestamp":"1356998403","value":-1e2,"tags":{"host":"web01"}},
  {"metric":"put.m","timestamp":1356998404,"value":9223372036854775807,"tags":{"host":"web01"}},
  {"metric":"put.m","timestamp":1356998405,"value":1,"tags":{"host":"web01","host":"web02"}, "ignored": {"x": [1, 2]}}
]', true);
SELECT s.tags->>'host' AS host, p.ts, p.value, p.ivalue
  FROM vscope.points p JOIN vscope.series s USING (tenant_id, series_id)
 WHERE s.metric = 'put.m' ORDER BY p.ts;
-- duplicates in one payload: the last wins
SELECT vscope.put('[{"metric":"put.dup","timestamp":1356998400,"value":1,"tags":{"h":"a"}},
                    {"metric":"put.dup","timestamp":1356998400,"value":2,"tags":{"h":"a"}},
                    {"metric":"put.dup","timestamp":1356998400000,"value":3,"tags":{"h":"a"}}]');
SELECT p.value, p.ivalue FROM vscope.series s JOIN vscope.points p USING (tenant_id, series_id)
 WHERE s.metric = 'put.dup';
-- per-point errors, in OpenTSDB's words and order of checks
SELECT r->'success' AS success, r->'failed' AS failed FROM vscope.put('[{"metric":"m"}]', true) r;
SELECT e->>'error' AS error, e->'datapoint' AS datapoint
  FROM json_array_elements(vscope.put('[
  null,
  {"timestamp":1356998400,"value":1,"tags":{"a":"b"}},
  {"metric":null,"timestamp":1356998400,"value":1,"tags":{"a":"b"}},
  {"metric":"m","value":1,"tags":{"a":"b"}},
  {"metric":"m","timestamp":0,"value":1,"tags":{"a":"b"}},
  {"metric":"m","timestamp":1.5,"value":1,"tags":{"a":"b"}},
  {"metric":"m","timestamp":99999999999999,"value":1,"tags":{"a":"b"}},
  {"metric":"m","timestamp":1356998400,"tags":{"a":"b"}},
  {"metric":"m","timestamp":1356998400,"value":"","tags":{"a":"b"}},
  {"metric":"m","timestamp":1356998400,"value":1},
  {"metric":"m","timestamp":1356998400,"value":1,"tags":{}},
  {"metric":"m","timestamp":1356998400,"value":1,"tags":"a=b"},
  {"metric":"m","timestamp":1356998400,"value":1,"tags":{"a":{"b":"c"}}},
  {"metric":"m","timestamp":1356998400,"value":"NaN","tags":{"a":"b"}},
  {"metric":"m","timestamp":1356998400,"value":"Infinity","tags":{"a":"b"}},
  {"metric":"m","timestamp":1356998400,"value":"0x10","tags":{"a":"b"}},
  {"metric":"m","timestamp":1356998400,"value":"9223372036854775808","tags":{"a":"b"}},
  {"metric":"m","timestamp":1356998400,"value":true,"tags":{"a":"b"}},
  {"metric":"m","timestamp":1356998400,"value":1,"tags":{"a":"b","c":"d","e":"f","g":"h","i":"j","k":"l","m":"n","o":"p","q":"r"}},
  {"metric":"m m","timestamp":1356998400,"value":1,"tags":{"a":"b"}},
  {"metric":"m","timestamp":1356998400,"value":1,"tags":{"a b":"c"}},
  {"metric":"m","timestamp":1356998400,"value":1,"tags":{"a":"c,d"}},
  {"metric":"m","timestamp":1356998400,"value":1,"tags":{"a":null}},
  {"metric":"m","timestamp":1356998400,"value":1,"tags":{"a":""}}
]', true)->'errors') e;
-- without details: counts only
SELECT vscope.put('[{"metric":"put.m2","timestamp":1356998400,"value":1,"tags":{"a":"b"}}, {"metric":""}]');
-- whole-payload errors
SELECT vscope.put('[]');
SELECT vscope.put('');
SELECT vscope.put('{"metric":');
SELECT vscope.put('42');
SELECT vscope.put('[1, 2]');
SELECT vscope.put('[[{"metric":"m"}]]');
SELECT vscope.put(NULL);
-- the vscope.max_tags limit is a setting
SET vscope.max_tags = 2;
SELECT vscope.put('{"metric":"m","timestamp":1356998400,"value":1,"tags":{"a":"b","c":"d","e":"f"}}', true)->'errors'->0->>'error';
RESET vscope.max_tags;
-- vscope.max_put_points bounds one put, before anything is written
SET vscope.max_put_points = 2;
SELECT vscope.put('[{"metric":"cap.m","timestamp":1356998400,"value":1,"tags":{"a":"b"}},{},{}]');
SELECT count(*) AS written FROM vscope.series WHERE metric = 'cap.m';
RESET vscope.max_put_points;
-- a series identity over 2048 bytes fails that point only
SELECT r->'success' AS success, r->'failed' AS failed, r->'errors'->0->>'error' AS error
  FROM CAST(vscope.put(json_build_array(
    json_build_object('metric', 'long.m', 'timestamp', 1356998400, 'value', 1, 'tags', json_build_object('a', repeat('x', 2100))),
    json_build_object('metric', 'long.m', 'timestamp', 1356998400, 'value', 1, 'tags', json_build_object('a', 'short')))::text, true) AS jsonb) r;
-- telnet-style lines, with OpenTSDB's telnet error messages, numbered from 1
SELECT vscope.put_lines(E'put lines.m 1356998400 1 host=a  dc=b\n\nput lines.m 1356998460.250 2.5 host=a dc=b\r\nput lines.m x 1 host=a\nput lines.m 1356998400 1\nversion\nput lines.m 1356998400 1 a=b a=c\n   put lines.m 1356998520 3 host=a\tdc=b');
SELECT p.ts, p.value, p.ivalue FROM vscope.points p JOIN vscope.series s USING (tenant_id, series_id)
 WHERE s.metric = 'lines.m' ORDER BY p.ts;
-- OpenTSDB's order and words: a bare put; tags before the value; the timestamp as sent
SELECT vscope.put_lines(E'put\nput lines.m 1.2a 1 host=a\nput lines.m 1356998400 abc host');
