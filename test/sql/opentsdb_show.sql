-- vscope.tsdb_query's showTSUIDs, showQuery, showStats and showSummary
-- (GET: show_tsuids, show_query, show_stats, show_summary) and the refused
-- delete.  Key order matters to OpenTSDB clients: the answers are compared
-- as text.  Times vary from run to run: they are masked as T.
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day after each write, so the answers come from blocks
SET timezone = 'UTC';
SET client_min_messages = warning;
CALL vscope.add_days('2012-12-31', '2013-01-03');
RESET client_min_messages;
SELECT vscope.create_tenant('tshow') IS NOT NULL;
SELECT vscope.use_tenant('tshow') IS NOT NULL;
-- three series, made in this order: a, b (dc lga), c (dc nyc)
SELECT vscope.put('{"metric":"show.m","timestamp":1356998400,"value":1,"tags":{"host":"a","dc":"lga"}}');
SELECT vscope.put('{"metric":"show.m","timestamp":1356998400,"value":2,"tags":{"host":"b","dc":"lga"}}');
SELECT vscope.put($$[
  {"metric":"show.m","timestamp":1356998400,"value":3,"tags":{"host":"c","dc":"nyc"}},
  {"metric":"show.m","timestamp":1356998460,"value":4,"tags":{"host":"a","dc":"lga"}},
  {"metric":"show.m","timestamp":1356998460,"value":5,"tags":{"host":"b","dc":"lga"}}]$$);
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null

-- the answer as text, times masked, and series ids as the TSUIDs of their hosts
CREATE FUNCTION pg_temp.show(body text) RETURNS text LANGUAGE sql AS $$
  SELECT regexp_replace(vscope.tsdb_query(body::jsonb)::text, '("[a-zA-Z]*Time":)[-0-9.E]+', '\1T', 'g')
$$;
CREATE FUNCTION pg_temp.tsuid(host text) RETURNS text LANGUAGE sql AS $$
  SELECT upper(lpad(to_hex(series_id), 8, '0')) FROM vscope.series
  WHERE metric = 'show.m' AND tags->>'host' = host
$$;
CREATE FUNCTION pg_temp.named(t text) RETURNS text LANGUAGE sql AS $$
  SELECT replace(replace(replace(t, pg_temp.tsuid('a'), 'TSUID_A'), pg_temp.tsuid('b'), 'TSUID_B'),
                 pg_temp.tsuid('c'), 'TSUID_C')
$$;

-- showTSUIDs: after "query", the group's series as the same 8 upper hex
-- digits as /api/search/lookup and /api/query/last make, sorted
SELECT pg_temp.named(pg_temp.show('{"start":1356998400,"end":1356998500,"showTSUIDs":true,
  "queries":[{"metric":"show.m","aggregator":"sum","tags":{"dc":"*"}}]}'));
-- the same strings as the lookup's
SELECT (SELECT array_agg(x ORDER BY x) FROM json_array_elements_text(
          vscope.tsdb_query('{"start":1356998400,"showTSUIDs":true,"queries":[{"metric":"show.m","aggregator":"sum"}]}')->0->'tsuids') x)
     = (SELECT array_agg(r->>'tsuid' ORDER BY r->>'tsuid')
          FROM json_array_elements((vscope.tsdb_lookup('{"metric":"show.m"}'::jsonb))->'results') r) AS same_as_lookup;
-- GET: show_tsuids, one series per result with "none"
SELECT pg_temp.named(vscope.tsdb_query_get('{"start":["1356998400"],"end":["1356998500"],"m":["none:show.m{host=a}"],"show_tsuids":["true"]}')::text);

-- showQuery: the sub-query as OpenTSDB 2.4 serializes it, in its order;
-- rateOptions null unless given, tags the group-by filters as type(filter)
SELECT pg_temp.show('{"start":1356998400,"end":1356998500,"showQuery":true,
  "queries":[{"metric":"show.m","aggregator":"sum","downsample":"1m-avg","tags":{"dc":"lga"},
              "filters":[{"type":"wildcard","tagk":"host","filter":"*","groupBy":false}]}]}');
SELECT pg_temp.show('{"start":1356998400,"end":1356998500,"showQuery":true,
  "queries":[{"metric":"show.m","aggregator":"sum","rate":true,"explicitTags":true,
              "rateOptions":{"counter":true,"counterMax":100,"resetValue":5,"dropResets":true},
              "filters":[{"type":"literal_or","tagk":"host","filter":"a|b|c","groupBy":true},
                         {"type":"wildcard","tagk":"dc","filter":"*","groupBy":true}]}]}');
-- GET: rate without options has OpenTSDB's default options
SELECT vscope.tsdb_query_get('{"start":["1356998400"],"end":["1356998500"],"m":["sum:rate:show.m{host=a}"],"show_query":["true"]}')::json->0->'query'->'rateOptions';

-- showStats: per result "stats" after dps, keys in byte order; counts are
-- vscope's: 3 series of the metric, 2 kept by the filter, 4 points read,
-- 2 emitted per group
SELECT pg_temp.show('{"start":1356998400,"end":1356998500,"showStats":true,
  "queries":[{"metric":"show.m","aggregator":"sum","tags":{"dc":"lga","host":"*"}}]}');
-- showSummary: a last element with the whole query's stats; a sub-query
-- without series has its queryIdx too
SELECT pg_temp.show('{"start":1356998400,"end":1356998500,"showSummary":true,
  "queries":[{"metric":"show.m","aggregator":"sum"},
             {"metric":"show.m","aggregator":"max","tags":{"dc":"lga"}},
             {"metric":"show.m","aggregator":"sum","tags":{"dc":"lga","host":"c"}}]}');
-- GET: show_stats and show_summary, with every other option
SELECT pg_temp.named(regexp_replace(vscope.tsdb_query_get('{"start":["1356998400"],"end":["1356998500"],"m":["sum:show.m{host=c}"],
  "show_stats":[""],"show_summary":["true"],"show_tsuids":["true"],"show_query":["true"]}')::text,
  '("[a-zA-Z]*Time":)[-0-9.E]+', '\1T', 'g'));
-- the times are numbers of milliseconds, not negative
SELECT bool_and(v::float8 >= 0) AS times_ms
  FROM json_each_text(vscope.tsdb_query('{"start":1356998400,"showSummary":true,
    "queries":[{"metric":"show.m","aggregator":"sum"}]}')->1->'statsSummary') AS e(k, v)
 WHERE k LIKE '%Time';

-- delete: refused as OpenTSDB refuses it when tsd.http.query.allow_delete is off
\set VERBOSITY default
SELECT vscope.tsdb_query('{"start":1356998400,"delete":true,"queries":[{"metric":"show.m","aggregator":"sum"}]}');
SELECT count(*) AS points_kept FROM vscope.tsdb_query('{"start":1356998400,"queries":[{"metric":"show.m","aggregator":"none"}]}') q,
  json_array_elements(q) r, json_each(r->'dps');
