-- The SQL behind /api/query's GET form, /api/suggest, /api/search/lookup and
-- /api/query/last.
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day after each write, so the answers come from blocks
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2013-01-01', '2013-01-01');
RESET client_min_messages;
SELECT vscope.create_tenant('tsdb4') IS NOT NULL;
SELECT vscope.use_tenant('tsdb4') IS NOT NULL;
SELECT vscope.put($$[
  {"metric":"api.cpu","timestamp":1356998400,"value":1,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"api.cpu","timestamp":1356998460,"value":2,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"api.cpu","timestamp":1356998400,"value":3.5,"tags":{"host":"web02","dc":"lga"}},
  {"metric":"api.cpu","timestamp":1356998400,"value":4,"tags":{"host":"db01","dc":"nyc"}},
  {"metric":"api.mem","timestamp":1356998400,"value":5,"tags":{"host":"web01"}},
  {"metric":"apis.x","timestamp":1356998400,"value":6,"tags":{"zone":"z1"}}
]$$)->>'failed' AS failed;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SET ROLE vscope_reader;

-- the GET form becomes this POST body: m split on ':', modifiers in any order,
-- the first braces group by, the second do not, type(expr) picks a filter,
-- duplicate m values count once
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"end":["now"],"tz":["UTC"],"ms":[null],"show_query":[null],
  "m":["sum:1h-avg:rate{counter,,35}:sys.cpu{host=*,dc=lga|nyc}{rack=regexp(r[0-9])}",
       "avg:explicit_tags:10m-max-zero:rate{dropcounter,1000}:sys.mem",
       "sum:sys.cpu{}{}", "sum:sys.cpu{}{}"]}');
-- errors
\set VERBOSITY terse
SELECT vscope.tsdb_query_request('{"m":["sum:sys.cpu"]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"m":["sys.cpu"]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"m":["a:b:c:d:e:f"]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"m":["sum:rate{counter,1,2,3}:sys.cpu"]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"m":["sum:rate{counter,x}:sys.cpu"]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"m":["sum:sys.cpu{host}"]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"m":["sum:sys.cpu{host=a"]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"m":["sum:sys.cpu{host=a}x"]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"m":["sum:sys.cpu{host=foo(a)}"]}');
SELECT vscope.tsdb_query_request('{"start":"1h-ago","m":"sum:sys.cpu"}');
\set VERBOSITY default
-- and it runs
SELECT vscope.tsdb_query_get('{"start":["1356998400"],"end":["1356998460"],"m":["sum:api.cpu{host=web01}"]}');
-- the m expression's parts are bounded: 5 colon parts, 3 rate options
SELECT vscope.tsdb_query_get('{"start":["1356998400"],"m":["sum:1h-avg:rate:x:y:api.cpu"]}');
SELECT vscope.tsdb_query_get('{"start":["1356998400"],"m":["sum:rate{counter,1,2,3}:api.cpu"]}');
SELECT vscope.tsdb_query_get('{"start":["1356998400"],"m":["sum"]}');

-- suggest: prefix, byte order, max
SELECT vscope.tsdb_suggest('metrics', 'api');
SELECT vscope.tsdb_suggest('metrics', 'api.', '1');
SELECT vscope.tsdb_suggest('tagk', '');
SELECT vscope.tsdb_suggest('tagv', 'web');
SELECT vscope.tsdb_suggest('metrics', 'nothing');
\set VERBOSITY terse
SELECT vscope.tsdb_suggest('', 'a');
SELECT vscope.tsdb_suggest('hosts', 'a');
SELECT vscope.tsdb_suggest('tagk', 'a', 'lots');
\set VERBOSITY default

-- lookup: a metric, or * for any, with key/value pairs where * means any
SELECT r->'totalResults' AS total, json_array_length(r->'results') AS shown,
       (SELECT json_agg(x->'tags'->>'host') FROM json_array_elements(r->'results') x) AS hosts
  FROM vscope.tsdb_lookup('{"metric":"api.cpu","tags":[{"key":"dc","value":"lga"}]}') r;
SELECT r->'totalResults' AS total FROM vscope.tsdb_lookup('{"metric":"*","tags":[{"key":"host","value":"web01"}]}') r;
SELECT r->'totalResults' AS total FROM vscope.tsdb_lookup('{"metric":"*","tags":[{"key":"*","value":"z1"}]}') r;
SELECT r->'totalResults' AS total, json_array_length(r->'results') AS shown
  FROM vscope.tsdb_lookup('{"metric":"api.cpu","limit":2}') r;
SELECT r->'type' AS type, r->'metric' AS metric, r->'tags' AS tags, r->'limit' AS lim, r->'startIndex' AS si
  FROM vscope.tsdb_lookup_get('{"m":["api.cpu{host=web0*,dc=*}"]}') r;
-- a key named twice: either value (Grafana's multi-value variables)
SELECT r->'totalResults' AS total,
       (SELECT json_agg(x->'tags'->>'host' ORDER BY x->'tags'->>'host') FROM json_array_elements(r->'results') x) AS hosts
  FROM vscope.tsdb_lookup_get('{"m":["api.cpu{host=*,dc=lga,dc=nyc}"]}') r;
SELECT r->'totalResults' AS total,
       (SELECT json_agg(x->'tags'->>'host' ORDER BY x->'tags'->>'host') FROM json_array_elements(r->'results') x) AS hosts
  FROM vscope.tsdb_lookup_get('{"m":["api.cpu{host=web01,host=db01,dc=lga}"]}') r;
-- a limit of 0 or less: no limit
SELECT r->'totalResults' AS total, json_array_length(r->'results') AS shown, r->'limit' AS lim
  FROM vscope.tsdb_lookup('{"metric":"api.cpu","limit":0}') r;
SELECT r->'totalResults' AS total, json_array_length(r->'results') AS shown
  FROM vscope.tsdb_lookup_get('{"m":["api.cpu"],"limit":["-1"]}') r;
-- the filter types, for /api/config/filters
SELECT json_object_keys(vscope.tsdb_filters()) AS filter_type;
SELECT vscope.tsdb_filters()->'regexp'->>'description' AS regexp;
\set VERBOSITY terse
SELECT vscope.tsdb_lookup('{}');
SELECT vscope.tsdb_lookup('{"metric":"api.cpu","limit":"x"}');
SELECT vscope.tsdb_lookup_get('{"m":["api.cpu{host}"]}');
SELECT vscope.tsdb_lookup_get('{}');
\set VERBOSITY default

-- last: the newest point of each matching series (value as a string, ms timestamp)
SELECT x->>'metric' AS metric, x->'tags'->>'host' AS host, x->'timestamp' AS ts, x->'value' AS value
  FROM json_array_elements(vscope.tsdb_last('{"queries":[{"metric":"api.cpu","tags":{"dc":"lga"}},{"metric":"api.mem"}]}')) x;
SELECT vscope.tsdb_last('{"queries":[{"metric":"api.cpu"}],"backScan":1}');
SELECT json_array_length(vscope.tsdb_last_get('{"timeseries":["api.cpu{dc=lga}","api.mem"]}'));
\set VERBOSITY terse
SELECT vscope.tsdb_last('{"queries":[]}');
SELECT vscope.tsdb_last('{"queries":[{"tags":{}}]}');
SELECT vscope.tsdb_last('{"queries":[{"metric":"api.cpu"}],"backScan":"x"}');
\set VERBOSITY default

-- another tenant sees none of it
RESET ROLE;
SELECT vscope.create_tenant('tsdb4-other') IS NOT NULL;
SELECT vscope.use_tenant('tsdb4-other') IS NOT NULL;
SET ROLE vscope_reader;
SELECT vscope.tsdb_suggest('metrics', 'api');
SELECT vscope.tsdb_lookup('{"metric":"*"}')->'totalResults' AS total;
SELECT vscope.tsdb_last('{"queries":[{"metric":"api.cpu"}]}');

-- annotations (/api/annotation): written as a writer of tsdb4, then in the
-- /api/query answer of their series and range only; the other tenant
-- (tsdb4-other, current here) has no such series
RESET ROLE;
\set VERBOSITY terse
SELECT vscope.tsdb_annotation('POST', '{"tsuid":"00000001","startTime":1356998400}');
\set VERBOSITY default
SELECT vscope.use_tenant('tsdb4') IS NOT NULL;
SET ROLE vscope_writer;
SELECT vscope.tsdb_annotation('POST', jsonb_build_object('tsuid',
         vscope.tsdb_lookup('{"metric":"api.mem"}')->'results'->0->>'tsuid',
         'startTime', 1356998400, 'endTime', 1356998500, 'description', 'deploy', 'custom', '{"by":"ops"}'::jsonb));
SELECT vscope.tsdb_annotation('POST', '{"startTime":1356998450,"description":"outage"}');
SELECT vscope.tsdb_annotation('POST', '{"startTime":1357084800,"description":"later"}');
SELECT vscope.tsdb_annotation_bulk('POST', '[{"startTime":1356998455,"notes":"n"}]');
SET ROLE vscope_reader;
SELECT vscope.tsdb_query('{"start":1356998400,"end":1356998460,"globalAnnotations":true,
  "queries":[{"aggregator":"sum","metric":"api.mem"}]}');
SELECT vscope.tsdb_query('{"start":1356998400,"end":1356998460,"noAnnotations":true,"globalAnnotations":true,
  "queries":[{"aggregator":"sum","metric":"api.mem"}]}');
-- out of range: an annotation ending before the start is left out
SELECT vscope.tsdb_query('{"start":1356998501,"end":1356998560,"queries":[{"aggregator":"sum","metric":"api.mem"}]}');
-- the GET form's flags
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"m":["sum:sys.cpu"],"no_annotations":[null],"global_annotations":[null]}');
-- a reader may not write one
\set VERBOSITY terse
SELECT vscope.tsdb_annotation('POST', '{"startTime":1356998400}');
\set VERBOSITY default
RESET ROLE;
SELECT vscope.use_tenant('tsdb4-other') IS NOT NULL;
SET ROLE vscope_reader;
SELECT count(*) FROM vscope.annotations;
