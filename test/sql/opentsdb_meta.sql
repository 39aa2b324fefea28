-- OpenTSDB meta data and what goes with it: /api/uid/assign,
-- /api/uid/uidmeta and /api/uid/tsmeta (UIDs are names in hex, TSUIDs
-- series ids), tsuids in /api/query and /api/query/last, deleting queries
-- (vscope.query_allow_delete, vscope.delete_points: rows and blocks,
-- series_last), annotations expired with their points, the annotation bulk
-- delete's answer.
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day after each write
SET timezone = 'UTC';
SET client_min_messages = warning;
CALL vscope.add_days('2013-01-01', '2013-01-02');
RESET client_min_messages;
SELECT vscope.create_tenant('meta1') IS NOT NULL, vscope.create_tenant('meta2') IS NOT NULL;
SELECT vscope.use_tenant('meta2') IS NOT NULL;
SELECT vscope.put('[{"metric":"m.cpu","timestamp":1356998400,"value":9,"tags":{"host":"web01"}}]')->>'failed' AS failed;
SELECT vscope.use_tenant('meta1') IS NOT NULL;
SELECT vscope.put($$[
  {"metric":"m.cpu","timestamp":1356998400,"value":1,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"m.cpu","timestamp":1356998460,"value":2.5,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"m.cpu","timestamp":1356998400,"value":3,"tags":{"host":"web02","dc":"lga"}},
  {"metric":"m.mem","timestamp":1356998400,"value":4,"tags":{"host":"web01"}}
]$$)->>'failed' AS failed;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
-- the creation times are today's: shown as N
CREATE FUNCTION pg_temp.j(v json) RETURNS text LANGUAGE sql AS
  $$ SELECT regexp_replace(v::text, '"created":[0-9]+', '"created":N', 'g') $$;

-- UIDs: a name's UTF-8 bytes in hex, read back into the name
SELECT vscope.tsdb_uid('m.cpu'), vscope.tsdb_uid('hôte'), vscope.tsdb_uid_name('6DC3A9'), vscope.tsdb_uid_name('6d2e637075');
-- a name in a series key, as the store writes it (for tsmeta's create=true)
SELECT vscope._tsdb_key_part('a%b{c}d,e=f');
\set VERBOSITY terse
SELECT vscope.tsdb_uid_name('6D2');
SELECT vscope.tsdb_uid_name('zz');
SELECT vscope.tsdb_uid_name('FF');
\set VERBOSITY default

-- /api/uid/assign: names of series exist already; new ones get their UID,
-- bad ones OpenTSDB's error; keys in OpenTSDB's HashMap order, names sorted
SET ROLE vscope_writer;
SELECT status, answer FROM vscope.tsdb_uid_assign('GET', NULL,
  '{"metric":["m.cpu,m.new,m!bad,"],"tagk":["host,rack"],"tagv":["web09"]}');
SELECT status, answer FROM vscope.tsdb_uid_assign('POST', '{"metric":["m.other"],"tagv":["web09","web10"]}');
SELECT status, answer FROM vscope.tsdb_uid_assign('POST', '{"metric":["x"],"Metric":["y"],"other":["z"]}');
SELECT status, answer FROM vscope.tsdb_uid_assign('POST', '{"metric":[]}');
-- assigned names are suggested, in this tenant only
SELECT vscope.tsdb_suggest('metrics', 'm.'), vscope.tsdb_suggest('tagk', ''), vscope.tsdb_suggest('tagv', 'web');
\set VERBOSITY terse
SELECT vscope.tsdb_uid_assign('POST', '');
SELECT vscope.tsdb_uid_assign('POST', '{"metric":"m.a"}');
SELECT vscope.tsdb_uid_assign('POST', '[1]');
SELECT vscope.tsdb_uid_assign('POST', '{"metric":');
SELECT vscope.tsdb_uid_assign('GET', NULL, '{}');
SELECT vscope.tsdb_uid_assign('PUT', '{}');
\set VERBOSITY default

-- /api/uid/uidmeta: defaults until written; POST sets what it is given,
-- PUT every field; a write of nothing but defaults is a 304; DELETE (204)
-- brings the defaults back and keeps an assigned name
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_uidmeta('GET', NULL, '{"uid":["6D2E637075"],"type":["metric"]}');
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_uidmeta('POST',
  '{"uid":"686F7374","type":"tagk","displayName":"Host","custom":{"owner":"ops","n":1}}');
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_uidmeta('POST', '{"uid":"686F7374","type":"TAGK","description":"the server"}');
SELECT status, answer FROM vscope.tsdb_uidmeta('POST', '{"uid":"686F7374","type":"tagk","notes":""}');
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_uidmeta('PUT', NULL, '{"uid":["686f7374"],"type":["tagk"],"notes":["n"]}');
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_uidmeta('POST', '{"uid":"6D2E6E6577","type":"metrics","description":"assigned"}');
SELECT status, answer FROM vscope.tsdb_uidmeta('DELETE', '{"uid":"6D2E6E6577","type":"metric"}');
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_uidmeta('GET', NULL, '{"uid":["6D2E6E6577"],"type":["metric"]}');
\set VERBOSITY terse
SELECT vscope.tsdb_uidmeta('GET', NULL, '{"type":["metric"]}');
SELECT vscope.tsdb_uidmeta('GET', NULL, '{"uid":["6D2E637075"]}');
SELECT vscope.tsdb_uidmeta('GET', NULL, '{"uid":["6D2E637075"],"type":["host"]}');
SELECT vscope.tsdb_uidmeta('GET', NULL, '{"uid":["6D2E6E6F6E65"],"type":["metric"]}');
SELECT vscope.tsdb_uidmeta('POST', '{"type":"metric","displayName":"x"}');
SELECT vscope.tsdb_uidmeta('POST', '{"uid":"6D2E637075","displayName":"x"}');
SELECT vscope.tsdb_uidmeta('DELETE', '{"type":"metric"}');
SELECT vscope.tsdb_uidmeta('POST', '{"uid":"6D2E637075","type":"metric","custom":{"a":[1]}}');
\set VERBOSITY default
-- the name of another tenant's series is not this tenant's
RESET ROLE;
SELECT vscope.use_tenant('meta2') IS NOT NULL;
SET ROLE vscope_writer;
\set VERBOSITY terse
SELECT vscope.tsdb_uidmeta('GET', NULL, '{"uid":["6C6761"],"type":["tagv"]}');
\set VERBOSITY default
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_uidmeta('GET', NULL, '{"uid":["686F7374"],"type":["tagk"]}');
RESET ROLE;
SELECT vscope.use_tenant('meta1') IS NOT NULL;
SET ROLE vscope_writer;

-- /api/uid/tsmeta: every series has one, with vscope's figures; the user's
-- fields stored per series
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_tsmeta('GET', NULL, '{"tsuid":["00000001"]}');
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_tsmeta('POST',
  '{"tsuid":"1","description":"CPU","units":"%","max":100,"min":0.5,"retention":30,"custom":{"team":"a"}}');
SELECT status, answer FROM vscope.tsdb_tsmeta('POST', '{"tsuid":"1","description":"","max":null}');
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_tsmeta('PUT', NULL, '{"tsuid":["1"],"display_name":["cpu of web01"],"max":["0.1"]}');
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_tsmeta('GET', NULL, '{"m":["m.cpu{dc=lga}"]}');
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_tsmeta('GET', NULL, '{"m":["m.cpu{host=web09}"]}');
-- by m=, without a tsuid: the series of exactly those tags; create=true
-- makes one (all its names must exist)
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_tsmeta('POST', '{"notes":"by m"}', '{"m":["m.mem{host=web01}"]}');
SELECT status, pg_temp.j(answer) FROM vscope.tsdb_tsmeta('POST', '{"units":"B"}', '{"m":["m.new{host=web09}"],"create":["true"]}');
SELECT vscope.tsdb_lookup('{"metric":"m.new"}')->'results' AS created;
SELECT status, answer FROM vscope.tsdb_tsmeta('DELETE', NULL, '{"tsuid":["1"]}');
SELECT count(*) FROM vscope.series_meta;
\set VERBOSITY terse
SELECT vscope.tsdb_tsmeta('GET', NULL, '{"tsuid":["7FFFFFF0"]}');
SELECT vscope.tsdb_tsmeta('GET', NULL, '{"tsuid":["0"]}');
SELECT vscope.tsdb_tsmeta('GET', NULL, '{}');
SELECT vscope.tsdb_tsmeta('GET', NULL, '{"m":["m.cpu{host=web01"]}');
SELECT vscope.tsdb_tsmeta('GET', NULL, '{"m":["m.cpu{host}"]}');
SELECT vscope.tsdb_tsmeta('GET', NULL, '{"m":["m.none"]}');
SELECT vscope.tsdb_tsmeta('POST', '{"description":"x"}', '{"m":["m.cpu{host=web03}"]}');
SELECT vscope.tsdb_tsmeta('POST', '{"description":"x"}', '{"m":["m.cpu{host=web09}"]}');
SELECT vscope.tsdb_tsmeta('POST', '{"description":"x"}');
SELECT vscope.tsdb_tsmeta('POST', '{"tsuid":"7FFFFFF0","description":"x"}');
SELECT vscope.tsdb_tsmeta('POST', '{"tsuid":"1","retention":"soon"}');
SELECT vscope.tsdb_tsmeta('POST', NULL, '{"tsuid":["1"],"max":["big"]}');
SELECT vscope.tsdb_tsmeta('DELETE', '{}');
\set VERBOSITY default
-- a reader reads, never writes
SET ROLE vscope_reader;
SELECT status FROM vscope.tsdb_tsmeta('GET', NULL, '{"tsuid":["2"]}');
\set VERBOSITY terse
SELECT vscope.tsdb_tsmeta('POST', '{"tsuid":"2","description":"x"}');
\set VERBOSITY default

-- tsuids in queries: the series by id (the metric and tags ignored), all
-- of one metric; the GET form's tsuid=agg:[modifiers:]TSUID,TSUID
SELECT vscope.tsdb_query('{"start":1356998400,"end":1356998500,"showQuery":true,
  "queries":[{"aggregator":"sum","tsuids":["00000001","2"],"tags":{"host":"nothing"}}]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"tsuid":["sum:1m-avg:rate:1,2"],"m":["sum:m.cpu"]}');
SELECT vscope.tsdb_query_get('{"start":["1356998400"],"end":["1356998500"],"tsuid":["max:00000002"],"show_tsuids":[null]}');
SELECT vscope.tsdb_last('{"queries":[{"tsuids":["00000002","3"]},{"metric":"m.cpu","tags":{"host":"web01"}}]}');
SELECT vscope.tsdb_last_get('{"tsuids":["1,3"]}');
\set VERBOSITY terse
SELECT vscope.tsdb_query('{"start":1356998400,"queries":[{"aggregator":"sum","tsuids":["1","3"]}]}');
SELECT vscope.tsdb_query('{"start":1356998400,"queries":[{"aggregator":"sum","tsuids":["7FFFFFF0"]}]}');
SELECT vscope.tsdb_query('{"start":1356998400,"queries":[{"aggregator":"sum","tsuids":["xyz"]}]}');
SELECT vscope.tsdb_query('{"start":1356998400,"queries":[{"aggregator":"sum","tsuids":[]}]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"tsuid":[""]}');
SELECT vscope.tsdb_last('{"queries":[{"tsuids":["xyz"]}]}');
\set VERBOSITY default

-- deleting queries: refused unless vscope.query_allow_delete (a superuser's
-- setting) is on, then to readers; the answer is the query's, and the
-- points in [start, end] of the series it selected go, from rows and
-- blocks alike, with their annotations
RESET ROLE;
SELECT vscope.put(json_agg(json_build_object('metric', 'm.del', 'timestamp', 1356998400 + i * 60,
                                             'value', i, 'tags', json_build_object('host', h)))::text)->>'failed' AS failed
  FROM generate_series(0, 2879) i, unnest(ARRAY['a', 'b']) h;
SELECT vscope.compress('2013-01-01') > 0 AS compressed;
SET ROLE vscope_writer;
SELECT vscope.tsdb_annotation('POST', jsonb_build_object('tsuid', vscope.tsdb_lookup('{"metric":"m.del","tags":[{"key":"host","value":"a"}]}')->'results'->0->>'tsuid',
                                                         'startTime', 1357084000, 'description', 'goes')) IS NOT NULL;
\set VERBOSITY terse
SELECT vscope.tsdb_query_delete('{"start":1357084000,"end":1357084800,"queries":[{"aggregator":"sum","metric":"m.del","tags":{"host":"a"}}]}');
SELECT vscope.tsdb_query_delete_get('{}');
SELECT vscope.tsdb_query('{"start":1357084000,"delete":true,"queries":[{"aggregator":"sum","metric":"m.del"}]}');
RESET ROLE;
SET vscope.query_allow_delete = on;
SET ROLE vscope_reader;
SELECT vscope.tsdb_query_delete('{"start":1357084000,"end":1357084800,"queries":[{"aggregator":"sum","metric":"m.del","tags":{"host":"a"}}]}');
SET ROLE vscope_writer;
SELECT vscope.tsdb_query('{"start":1357084000,"delete":true,"queries":[{"aggregator":"sum","metric":"m.del"}]}');
\set VERBOSITY default
-- the answer is the data deleted: 23:40 to 00:05 of host a, across the end of a compressed day
SELECT vscope.tsdb_query_delete('{"start":1357083600,"end":1357085100,"queries":[{"aggregator":"sum","metric":"m.del","downsample":"10m-count","tags":{"host":"a"}}]}');
SELECT vscope.tsdb_query('{"start":1357083600,"end":1357085100,"queries":[{"aggregator":"sum","metric":"m.del","downsample":"10m-count","tags":{"host":"*"}}]}');
SELECT count(*) AS annotations_left FROM vscope.annotations WHERE description = 'goes';
-- every reader sees the same: the day's block holds 20 points fewer for a,
-- its summary and flags made anew; b and the other tenant are untouched
SELECT s.tags->>'host' AS host, b.n, b.flags, b.vsum, b.first_ts, b.last_ts
  FROM vscope.blocks b JOIN vscope.series s USING (tenant_id, series_id) WHERE s.metric = 'm.del' ORDER BY 1, b.first_ts;
SELECT s.tags->>'host' AS host, count(*), sum(d.value) FROM vscope.datapoints d JOIN vscope.series s USING (series_id)
 WHERE s.metric = 'm.del' GROUP BY 1 ORDER BY 1;
SET vscope.use_summaries = off;
SELECT vscope.tsdb_query('{"start":1356998400,"end":1357171199,"queries":[{"aggregator":"sum","metric":"m.del","downsample":"1d-sum","tags":{"host":"*"}}]}');
RESET vscope.use_summaries;
SELECT vscope.tsdb_query('{"start":1356998400,"end":1357171199,"queries":[{"aggregator":"sum","metric":"m.del","downsample":"1d-sum","tags":{"host":"*"}}]}');
-- the newest point deleted: series_last has the newest left, or no row
SELECT vscope.tsdb_query_delete_get('{"start":["1357169400"],"end":["1357171199"],"m":["sum:m.del{host=b}"]}') IS NOT NULL;
SELECT vscope.tsdb_last('{"queries":[{"metric":"m.del"}]}');
SELECT vscope.tsdb_query_delete('{"start":1356998400,"end":1357171199,"queries":[{"aggregator":"sum","metric":"m.del","tags":{"host":"b"}}]}') IS NOT NULL;
SELECT vscope.tsdb_last('{"queries":[{"metric":"m.del"}]}');
SELECT count(*) AS b_blocks FROM vscope.blocks b JOIN vscope.series s USING (tenant_id, series_id)
 WHERE s.metric = 'm.del' AND s.tags->>'host' = 'b';
-- a write after the delete goes where it belongs
SELECT vscope.put('[{"metric":"m.del","timestamp":1357084200,"value":70,"tags":{"host":"a"}}]')->>'failed' AS failed;
SELECT vscope.tsdb_query('{"start":1357084140,"end":1357084260,"queries":[{"aggregator":"sum","metric":"m.del","tags":{"host":"a"}}]}');
RESET ROLE;
RESET vscope.query_allow_delete;
SELECT vscope.use_tenant('meta2') IS NOT NULL;
SET ROLE vscope_reader;
SELECT count(*) FROM vscope.datapoints;
RESET ROLE;

-- /api/annotation/bulk DELETE: answered as OpenTSDB's AnnotationBulkDelete
-- (times in ms as parsed; endTime now when left out); tsuids of no series
-- delete nothing rather than fail
SELECT vscope.use_tenant('meta1') IS NOT NULL;
SET ROLE vscope_writer;
SELECT vscope.tsdb_annotation_bulk('POST', '[{"tsuid":"00000001","startTime":1356998400,"description":"x"},
  {"startTime":1356998500,"description":"g"}]') IS NOT NULL;
SELECT vscope.tsdb_annotation_bulk('DELETE', '{"tsuids":["00000001","7FFFFFF0"],"startTime":1356998400,"endTime":"1356998450000"}');
SELECT vscope.tsdb_annotation_bulk('DELETE', '{"global":null,"start_time":"2013/01/01 00:00"}')::jsonb - 'endTime';
\set VERBOSITY terse
SELECT vscope.tsdb_annotation_bulk('DELETE', '{"tsuids":"1"}');
SELECT vscope.tsdb_annotation_bulk('DELETE', '{"tsuids":"1","startTime":1356998500,"endTime":1356998400}');
-- one annotation: a read of a tsuid with none is a 404, a delete is quiet
SELECT vscope.tsdb_annotation('GET', '{"tsuid":"7FFFFFF0","startTime":1356998400}');
\set VERBOSITY default
SELECT vscope.tsdb_annotation('DELETE', '{"tsuid":"7FFFFFF0","startTime":1356998400}');

-- expire(): annotations go with the points of their day; today's stay
RESET ROLE;
SELECT vscope.tsdb_annotation('POST', '{"startTime":1356998400,"description":"old global"}') IS NOT NULL,
       vscope.tsdb_annotation('POST', jsonb_build_object('startTime', extract(epoch FROM now())::bigint,
                                                          'description', 'new global')) IS NOT NULL;
SELECT count(*) FROM vscope.annotations WHERE tenant_id = (SELECT tenant_id FROM vscope.tenants WHERE name = 'meta1');
SET client_min_messages = warning;
SELECT vscope.expire('30 days') >= 0 AS expired;
RESET client_min_messages;
SELECT description FROM vscope.annotations
 WHERE tenant_id = (SELECT tenant_id FROM vscope.tenants WHERE name = 'meta1') ORDER BY start_time;
