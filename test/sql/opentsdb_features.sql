-- vscope.tsdb_query: fill policies, filters and grouping, rate options,
-- number formats, times, calendar buckets, errors.  Expected values are
-- derived from the spec and given in the comments.
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day after each write, so the answers come from blocks
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2012-12-31', '2013-01-03');
RESET client_min_messages;
SELECT vscope.create_tenant('tsdb2') IS NOT NULL;
SELECT vscope.use_tenant('tsdb2') IS NOT NULL;
SELECT vscope.put($$[
  {"metric":"fill.m","timestamp":1356998400,"value":1,"tags":{"h":"f1"}},
  {"metric":"fill.m","timestamp":1356998460,"value":2,"tags":{"h":"f1"}},
  {"metric":"fill.m","timestamp":1356998640,"value":5,"tags":{"h":"f1"}},
  {"metric":"fill.m","timestamp":1356998400,"value":10,"tags":{"h":"f2"}},
  {"metric":"fill.m","timestamp":1356998520,"value":30,"tags":{"h":"f2"}},
  {"metric":"flt.m","timestamp":1356998400,"value":1,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"flt.m","timestamp":1356998400,"value":2,"tags":{"host":"web02","dc":"lga"}},
  {"metric":"flt.m","timestamp":1356998400,"value":3,"tags":{"host":"Web03","dc":"nyc"}},
  {"metric":"flt.m","timestamp":1356998400,"value":4,"tags":{"host":"db01"}},
  {"metric":"flt.m","timestamp":1356998400,"value":5,"tags":{"host":"web04","dc":"lga","rack":"r1"}},
  {"metric":"ctr.max","timestamp":1356998400,"value":9223372036854775752,"tags":{"h":"c"}},
  {"metric":"ctr.max","timestamp":1356998430,"value":9223372036854775782,"tags":{"h":"c"}},
  {"metric":"ctr.max","timestamp":1356998460,"value":5,"tags":{"h":"c"}},
  {"metric":"ctr.a","timestamp":1356998400,"value":45,"tags":{"h":"c"}},
  {"metric":"ctr.a","timestamp":1356998430,"value":75,"tags":{"h":"c"}},
  {"metric":"ctr.a","timestamp":1356998460,"value":25,"tags":{"h":"c"}},
  {"metric":"ctr.a","timestamp":1356998490,"value":55,"tags":{"h":"c"}},
  {"metric":"ctr.b","timestamp":1356998400,"value":45,"tags":{"h":"c"}},
  {"metric":"ctr.b","timestamp":1356998430,"value":75,"tags":{"h":"c"}},
  {"metric":"ctr.b","timestamp":1356998460,"value":5,"tags":{"h":"c"}},
  {"metric":"fmt.m","timestamp":1356998400,"value":0.0001,"tags":{"k":"a"}},
  {"metric":"fmt.m","timestamp":1356998401,"value":12345678.9,"tags":{"k":"a"}},
  {"metric":"fmt.m","timestamp":1356998402,"value":1e-10,"tags":{"k":"a"}},
  {"metric":"fmt.m","timestamp":1356998403,"value":100,"tags":{"k":"a"}},
  {"metric":"fmt.m","timestamp":1356998404,"value":0.1,"tags":{"k":"a"}},
  {"metric":"fmt.m","timestamp":1356998404,"value":0.2,"tags":{"k":"b"}},
  {"metric":"fmt.m","timestamp":1356998405,"value":-2.5,"tags":{"k":"a"}},
  {"metric":"fmt.m","timestamp":1356998406,"value":1e21,"tags":{"k":"a"}},
  {"metric":"ms.m","timestamp":1356998400123,"value":1.5,"tags":{"k":"a"}},
  {"metric":"ms.m","timestamp":1356998400250,"value":2,"tags":{"k":"a"}}
]$$)->>'failed' AS failed;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
-- one point an hour, value 1, for three days from 2013-01-01 00:00 UTC
SELECT vscope.put(json_agg(json_build_object('metric', 'cal.m', 'timestamp', 1356998400 + 3600 * h,
                  'value', 1, 'tags', json_build_object('k', 'a')))::text)->>'failed' AS failed
  FROM generate_series(0, 71) h;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SET ROLE vscope_reader;
CREATE FUNCTION pg_temp.q(body text) RETURNS json LANGUAGE sql
  AS $$ SELECT vscope.tsdb_query(body::jsonb) $$;
CREATE FUNCTION pg_temp.one(metric text, extra text, start_ts text DEFAULT '1356998400', end_ts text DEFAULT '1356998700')
  RETURNS json LANGUAGE sql
  AS $$ SELECT pg_temp.q(format('{"start":%s,"end":%s,"queries":[{"metric":"%s"%s}]}', start_ts, end_ts, metric, extra)) $$;

-- fill policies on f1 (1 at :00, 2 at :01, 5 at :04), 1m-sum, [00:00, 00:05]:
-- none: the three real buckets; nan: six, empty ones "NaN"; null: null; zero: 0.0
SELECT pg_temp.one('fill.m', ',"aggregator":"sum","downsample":"1m-sum","filters":[{"type":"literal_or","tagk":"h","filter":"f1"}]')->0->'dps';
SELECT pg_temp.one('fill.m', ',"aggregator":"sum","downsample":"1m-sum-nan","filters":[{"type":"literal_or","tagk":"h","filter":"f1"}]')->0->'dps';
SELECT pg_temp.one('fill.m', ',"aggregator":"sum","downsample":"1m-sum-null","filters":[{"type":"literal_or","tagk":"h","filter":"f1"}]')->0->'dps';
SELECT pg_temp.one('fill.m', ',"aggregator":"sum","downsample":"1m-sum-zero","filters":[{"type":"literal_or","tagk":"h","filter":"f1"}]')->0->'dps';
-- merged with f2 (10 at :00, 30 at :02):
-- none: gaps are interpolated: :00 11.0; :01 2 + lerp(10, 30) = 22.0; :02 lerp(2, 5) = 3 + 30 = 33.0;
--       :04 5.0 (f2 has ended)
-- zero: 11.0, 2.0, 30.0, 0.0, 5.0, 0.0; nan: NaN skipped, "NaN" where every value is: 11.0, 2.0, 30.0, "NaN", 5.0, "NaN"
SELECT pg_temp.one('fill.m', ',"aggregator":"sum","downsample":"1m-sum"')->0->'dps';
SELECT pg_temp.one('fill.m', ',"aggregator":"sum","downsample":"1m-sum-zero"')->0->'dps';
SELECT pg_temp.one('fill.m', ',"aggregator":"sum","downsample":"1m-sum-nan"')->0->'dps';
SELECT pg_temp.one('fill.m', ',"aggregator":"sum","downsample":"1m-sum-null"')->0->'dps';
-- arrays instead of an object
SELECT pg_temp.q('{"start":1356998400,"end":1356998700,"arrays":true,"queries":[{"metric":"fill.m","aggregator":"max","downsample":"2m-max"}]}')->0->'dps';

-- filters over web01 (1, lga), web02 (2, lga), Web03 (3, nyc), db01 (4, no dc), web04 (5, lga, rack r1)
SELECT f AS filter, (pg_temp.one('flt.m', ',"aggregator":"sum","filters":[' || f || ']')->0->'dps'->>'1356998400') AS sum
  FROM unnest(ARRAY[
    '{"type":"literal_or","tagk":"host","filter":"web01|web02"}',          -- 3
    '{"type":"iliteral_or","tagk":"host","filter":"WEB01|web03"}',         -- 1 + 3 = 4
    '{"type":"not_literal_or","tagk":"host","filter":"web01"}',            -- 2 + 3 + 4 + 5 = 14
    '{"type":"not_iliteral_or","tagk":"host","filter":"WEB01|web03"}',     -- 2 + 4 + 5 = 11
    '{"type":"wildcard","tagk":"host","filter":"web*"}',                   -- case-sensitive: 1 + 2 + 5 = 8
    '{"type":"iwildcard","tagk":"host","filter":"WEB*"}',                  -- 1 + 2 + 3 + 5 = 11
    '{"type":"wildcard","tagk":"host","filter":"*0*"}',                    -- all: 15
    '{"type":"regexp","tagk":"host","filter":"eb0"}',                      -- found anywhere: 11
    '{"type":"regexp","tagk":"host","filter":"^web0[12]$"}',               -- 3
    '{"type":"not_key","tagk":"dc","filter":""}',                          -- db01: 4
    '{"type":"not_literal_or","tagk":"dc","filter":"lga"}',                -- the key must exist: Web03, 3
    '{"type":"wildcard","tagk":"rack","filter":"*"}'                       -- web04: 5
  ]) f;
-- group by dc: lga (1 + 2 + 5 = 8, hosts aggregated), then nyc (3); db01 has no dc and drops out
SELECT g->'tags' AS tags, g->'aggregateTags' AS agg, g->'dps' AS dps
  FROM json_array_elements(pg_temp.one('flt.m', ',"aggregator":"sum","filters":[{"type":"wildcard","tagk":"dc","filter":"*","groupBy":true}]')) g;
-- legacy tags: host=web01|web02 is literal_or grouped by host: one result per value
SELECT g->'tags' AS tags, g->'dps' AS dps
  FROM json_array_elements(pg_temp.one('flt.m', ',"aggregator":"sum","tags":{"host":"web01|web02"}')) g;
-- explicitTags: only series whose keys are exactly {host, dc}: 1 + 2 + 3 = 6 (web04 has rack);
-- without it, 11
SELECT pg_temp.one('flt.m', ',"aggregator":"sum","explicitTags":true,"filters":[{"type":"wildcard","tagk":"host","filter":"*"},{"type":"wildcard","tagk":"dc","filter":"*"}]')->0 AS explicit;
SELECT pg_temp.one('flt.m', ',"aggregator":"sum","filters":[{"type":"wildcard","tagk":"host","filter":"*"},{"type":"wildcard","tagk":"dc","filter":"*"}]')->0->'dps' AS not_explicit;

-- rate, counters: Long.MAX-55, Long.MAX-25, 5 every 30 s: exact int64 difference 30 -> 1.0,
-- then the wrap counterMax - prev + cur = 30 -> 1.0
SELECT pg_temp.one('ctr.max', ',"aggregator":"sum","rate":true,"rateOptions":{"counter":true}')->0->'dps';
-- 45, 75, 25, 55: no counter: 1.0, -1.6666666666666667, 1.0
SELECT pg_temp.one('ctr.a', ',"aggregator":"sum","rate":true')->0->'dps';
-- dropResets: the reset point gives nothing and is the new base: 1.0 at :30, 1.0 at :90
SELECT pg_temp.one('ctr.a', ',"aggregator":"sum","rate":true,"rateOptions":{"counter":true,"dropResets":true}')->0->'dps';
-- counterMax 10000, resetValue 35: the wrap rate (10000 - 75 + 25) / 30 = 331.67 > 35 -> 0.0
SELECT pg_temp.one('ctr.a', ',"aggregator":"sum","rate":true,"rateOptions":{"counter":true,"counterMax":10000,"resetValue":35}')->0->'dps';
-- counterMax 100 over 45, 75, 5: 1.0, (100 - 75 + 5) / 30 = 1.0
SELECT pg_temp.one('ctr.b', ',"aggregator":"sum","rate":true,"rateOptions":{"counter":true,"counterMax":100}')->0->'dps';

-- numbers as Java writes them: 1.0E-4, 1.23456789E7, 1.0E-10, 100.0 (an integer, but the
-- series' next point is a double, so OpenTSDB computes that timestamp in doubles),
-- 0.1 + 0.2 = 0.30000000000000004, -2.5, 1.0E21
SELECT pg_temp.one('fmt.m', ',"aggregator":"sum"', '1356998400', '1356998410')->0->'dps';
-- msResolution: keys in ms; without it, points of one second share its key
SELECT pg_temp.q('{"start":1356998400,"end":1356998401,"msResolution":true,"queries":[{"metric":"ms.m","aggregator":"sum"}]}')->0->'dps';
SELECT pg_temp.q('{"start":1356998400,"end":1356998401,"queries":[{"metric":"ms.m","aggregator":"sum"}]}')->0->'dps';

-- times: seconds, milliseconds, dotted, "ms", absolute dates all name the same instant
SELECT t, (SELECT count(*) FROM json_object_keys(pg_temp.q(format('{"start":%s,"end":1356998410,"queries":[{"metric":"fmt.m","aggregator":"count"}]}', t))->0->'dps')) AS points
  FROM unnest(ARRAY['1356998400', '"1356998400000"', '"1356998400.000"', '"1356998400000ms"',
                    '"2013/01/01-00:00:00"', '"2013/01/01 00:00"', '"2013/01/01"']) t;
-- relative times: the last hour holds no point, so the group comes back with empty dps;
-- twenty years back holds all 7
SELECT pg_temp.q('{"start":"1h-ago","queries":[{"metric":"fmt.m","aggregator":"sum"}]}')->0->'dps';
SELECT count(*) AS points FROM json_object_keys(pg_temp.q('{"start":"20y-ago","queries":[{"metric":"fmt.m","aggregator":"sum"}]}')->0->'dps');
-- OpenTSDB's quirk: "<10 digits>.<1 to 3 digits>" just loses its dot, so 1356998400.5 is
-- 13569984005 ms, in 1970: the query starts long before the data and sees all 7 points
SELECT count(*) AS points FROM json_object_keys(pg_temp.q('{"start":"1356998400.5","end":1356998410,"queries":[{"metric":"fmt.m","aggregator":"sum"}]}')->0->'dps');

-- calendar days: 1dc in UTC is the fixed 1d: 24 at each midnight UTC
SELECT pg_temp.q('{"start":1356998400,"end":1357257599,"queries":[{"metric":"cal.m","aggregator":"sum","downsample":"1dc-count"}]}')->0->'dps';
-- in New York (UTC-5 in January) days start at 05:00 UTC: the first local day is trimmed
-- (it starts before start), then 24, 24 and the last 19 points
SELECT pg_temp.q('{"start":1356998400,"end":1357257599,"timezone":"America/New_York","queries":[{"metric":"cal.m","aggregator":"sum","downsample":"1dc-count"}]}')->0->'dps';
-- 6hc in New York: buckets at local 00:00 and 06:00 (05:00 and 11:00 UTC)
SELECT json_object_keys(pg_temp.q('{"start":1357016400,"end":1357038000,"timezone":"America/New_York","queries":[{"metric":"cal.m","aggregator":"sum","downsample":"6hc-count"}]}')->0->'dps') AS ts;

-- calendar multiples count whole units from 1970 in local terms:
-- 2dc: 2013-01-01 is day 15706 since 1970-01-01, even, so buckets are [Jan 1, Jan 3) = 48 and
-- [Jan 3, Jan 5) = 24; 3nc: month 516 since 1970, a multiple of 3, so one quarter from Jan 1 = 72;
-- 1wc from Monday 2012-12-31 (1356912000): one week holding all 72;
-- 2yc: 2013 - 1970 = 43 is odd, so the bucket starts 2012-01-01, before start: trimmed away
SELECT spec, pg_temp.q(format('{"start":%s,"end":1357257599,"queries":[{"metric":"cal.m","aggregator":"sum","downsample":"%s-count"}]}',
                              CASE spec WHEN '1wc' THEN '1356912000' ELSE '1356998400' END, spec))->0->'dps' AS dps
  FROM unnest(ARRAY['2dc', '3nc', '1wc', '2yc']) spec;

-- errors, each a 400 in OpenTSDB's words
\set VERBOSITY terse
SELECT pg_temp.q('{"queries":[{"metric":"fmt.m","aggregator":"sum"}]}');
SELECT pg_temp.q('{"start":1356998400}');
SELECT pg_temp.q('{"start":1356998400,"queries":[]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fmt.m"}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fmt.m","aggregator":"Sum"}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"aggregator":"sum"}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"tsuids":["00000G"],"aggregator":"sum"}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fmt.m","aggregator":"sum","downsample":"1m-none"}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fmt.m","aggregator":"sum","downsample":"1m-foo"}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fmt.m","aggregator":"sum","downsample":"1q-sum"}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fmt.m","aggregator":"sum","downsample":"0m-sum"}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fmt.m","aggregator":"sum","downsample":"1m-sum-zero-x"}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fmt.m","aggregator":"sum","filters":[{"type":"glob","tagk":"k","filter":"a"}]}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fmt.m","aggregator":"sum","filters":[{"type":"regexp","tagk":"k","filter":"(a"}]}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fmt.m","aggregator":"sum","filters":[{"type":"wildcard","tagk":"k","filter":"a"}]}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fmt.m","aggregator":"sum","filters":[{"type":"not_key","tagk":"k","filter":"a"}]}]}');
SELECT pg_temp.q('{"start":1356998400,"timezone":"Mars/Olympus","queries":[{"metric":"fmt.m","aggregator":"sum"}]}');
SELECT pg_temp.q('{"start":"1356998400.1234","queries":[{"metric":"fmt.m","aggregator":"sum"}]}');
SELECT pg_temp.q('{"start":"-1","queries":[{"metric":"fmt.m","aggregator":"sum"}]}');
SELECT pg_temp.q('{"start":"2013/13/01","queries":[{"metric":"fmt.m","aggregator":"sum"}]}');
SELECT pg_temp.q('{"start":"0h-ago","queries":[{"metric":"fmt.m","aggregator":"sum"}]}');
SELECT pg_temp.q('{"start":"1.5h-ago","queries":[{"metric":"fmt.m","aggregator":"sum"}]}');
SELECT pg_temp.q('{"start":1356998400,"delete":true,"queries":[{"metric":"fmt.m","aggregator":"sum"}]}');
SELECT pg_temp.q('[1]');
SELECT vscope.tsdb_query_get('{"start":["1356998400"],"m":["sum:1h-avg:rate{counter,,35}:fmt.m{k=*}"]}') IS NOT NULL AS get_form_runs;
-- not_key never groups (it once crashed the backend): db01 alone, value 4
\set VERBOSITY default
SELECT pg_temp.one('flt.m', ',"aggregator":"sum","filters":[{"type":"not_key","tagk":"dc","filter":"","groupBy":true}]')->0->'dps';
SELECT pg_temp.one('flt.m', ',"aggregator":"sum","tags":{"dc":"not_key()"}')->0->'tags';
-- bounds: too many buckets, times beyond the range, calendar multiples too long
\set VERBOSITY terse
SELECT pg_temp.q('{"start":"2013/01/01","end":"2013/03/01","queries":[{"metric":"fill.m","aggregator":"sum","downsample":"1ms-sum-zero"}]}');
SELECT pg_temp.q('{"start":1356998400,"end":"9223372036854775807ms","queries":[{"metric":"fill.m","aggregator":"sum"}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fill.m","aggregator":"sum","downsample":"100000000wc-sum-zero"}]}');
SELECT pg_temp.q('{"start":1356998400,"queries":[{"metric":"fill.m","aggregator":"sum","downsample":"99999999999y-sum"}]}');
SELECT vscope.tsdb_query_request('{"start":["1h-ago"],"m":["sum:rate{counter,+5}:sys.cpu"]}');
SELECT * FROM vscope.downsample(ARRAY[1], '2013-01-01', '2013-03-01', '1ms-sum');
SELECT vscope.tsdb_last('{}');
SELECT vscope.tsdb_lookup('{"metric":"*","tags":["host"]}');
