-- vscope.tsdb_query: OpenTSDB /api/query semantics.  Expected values are
-- derived from the spec (OpenTSDB 2.4's rules and its own test cases); the
-- comments say what each answer must be and why.
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day after each write, so the answers come from blocks
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2013-01-01', '2013-01-01');
RESET client_min_messages;
SELECT vscope.create_tenant('tsdb') IS NOT NULL;
SELECT vscope.use_tenant('tsdb') IS NOT NULL;
-- A: 1..300 every 30 s from t0 = 1356998400; B: 300..1 every 30 s from t0 + 15
SELECT vscope.put(json_agg(p)::text)->>'success' FROM (
  SELECT json_build_object('metric', 'sys.if', 'timestamp', 1356998400 + 30 * k, 'value', k + 1,
                           'tags', json_build_object('host', 'web01', 'dc', 'lga')) p
    FROM generate_series(0, 299) k
  UNION ALL
  SELECT json_build_object('metric', 'sys.if', 'timestamp', 1356998415 + 30 * k, 'value', 300 - k,
                           'tags', json_build_object('host', 'web02', 'dc', 'lga'))
    FROM generate_series(0, 299) k) s;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
-- D: 1..300 every 30 s from 1356998430 (the downsampling examples)
SELECT vscope.put(json_agg(json_build_object('metric', 'sys.ds', 'timestamp', 1356998430 + 30 * k,
                  'value', k + 1, 'tags', json_build_object('host', 'web01')))::text)->>'success'
  FROM generate_series(0, 299) k;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SET ROLE vscope_reader;
CREATE FUNCTION pg_temp.q(body text) RETURNS json LANGUAGE sql
  AS $$ SELECT vscope.tsdb_query(body::jsonb) $$;
-- the dps of result i as rows (ts, value text)
CREATE FUNCTION pg_temp.dps(r json, i int DEFAULT 0) RETURNS TABLE (ts text, v text) LANGUAGE sql
  AS $$ SELECT key, value::text FROM json_each(r->i->'dps') $$;

-- sum with lerp, integer arithmetic (runInterpolationSeconds): 600 points;
-- 1 at t0 (only A), then 301 or 302, and 1 at the end (only B).
-- At t0+15: B = 300, A = lerp(1, 2) at half = 1 (truncated) -> 301.
-- At t0+30: A = 2, B = lerp(300, 299) at half = 300 -> 302.
SELECT count(*), min(v::int), max(v::int) FILTER (WHERE ts NOT IN ('1356998400', '1357007385'))
  FROM pg_temp.dps(pg_temp.q('{"start":1356998400,"end":1357007400,"queries":[{"metric":"sys.if","aggregator":"sum"}]}'));
SELECT ts, v FROM pg_temp.dps(pg_temp.q('{"start":1356998400,"end":1357007400,"queries":[{"metric":"sys.if","aggregator":"sum"}]}'))
 WHERE ts IN ('1356998400', '1356998415', '1356998430', '1356998445', '1357007370', '1357007385');
-- the group: both hosts share dc, so tags {dc}, aggregateTags [host]
SELECT r->0->'metric' AS metric, r->0->'tags' AS tags, r->0->'aggregateTags' AS agg
  FROM pg_temp.q('{"start":1356998400,"end":1356998460,"queries":[{"metric":"sys.if","aggregator":"sum"}]}') r;
-- zimsum: the absent side counts 0, so A's and B's raw values alternate: 1, 300, 2, 299
SELECT string_agg(v, ',' ORDER BY ts) FROM pg_temp.dps(pg_temp.q('{"start":1356998400,"end":1356998445,"queries":[{"metric":"sys.if","aggregator":"zimsum"}]}'));
-- mimmin: the interpolated side is +max, so again 1, 300, 2, 299; mimmax the same
SELECT string_agg(v, ',' ORDER BY ts) FROM pg_temp.dps(pg_temp.q('{"start":1356998400,"end":1356998445,"queries":[{"metric":"sys.if","aggregator":"mimmin"}]}'));
SELECT string_agg(v, ',' ORDER BY ts) FROM pg_temp.dps(pg_temp.q('{"start":1356998400,"end":1356998445,"queries":[{"metric":"sys.if","aggregator":"mimmax"}]}'));
-- count: 1 at t0 (B not started), then 2 (an interpolated zero counts), 1 at the end
SELECT string_agg(v, ',' ORDER BY ts) FROM pg_temp.dps(pg_temp.q('{"start":1356998400,"end":1356998445,"queries":[{"metric":"sys.if","aggregator":"count"}]}'));
SELECT v FROM pg_temp.dps(pg_temp.q('{"start":1357007370,"end":1357007400,"queries":[{"metric":"sys.if","aggregator":"count"}]}')) ORDER BY ts;
-- pfsum: the absent side is its previous value: t0+15: 1 + 300 = 301; t0+30: 2 + 300 = 302
SELECT string_agg(v, ',' ORDER BY ts) FROM pg_temp.dps(pg_temp.q('{"start":1356998400,"end":1356998445,"queries":[{"metric":"sys.if","aggregator":"pfsum"}]}'));
-- avg in integers truncates: at t0+15 (300 + 1) / 2 = 150
SELECT v FROM pg_temp.dps(pg_temp.q('{"start":1356998415,"end":1356998415,"queries":[{"metric":"sys.if","aggregator":"avg"}]}'));
-- none: no aggregation, one result per series, each with all its tags
SELECT json_array_length(r), r->0->'tags'->>'host' AS first, r->1->'tags'->>'host' AS second,
       r->0->'dps'->>'1356998400' AS a0, r->1->'dps'->>'1356998415' AS b0
  FROM pg_temp.q('{"start":1356998400,"end":1356998430,"queries":[{"metric":"sys.if","aggregator":"none"}]}') r;

-- downsampling, epoch-aligned, always doubles (runLongSingleTSDownsample):
-- 1m-avg over D: 1.0 at 1356998400, then 2.5, 4.5, ..., 298.5, and 300.0; 151 buckets
SELECT count(*), min(ts), max(ts) FROM pg_temp.dps(pg_temp.q('{"start":1356998400,"end":1357007400,"queries":[{"metric":"sys.ds","aggregator":"sum","downsample":"1m-avg"}]}'));
SELECT ts, v FROM pg_temp.dps(pg_temp.q('{"start":1356998400,"end":1357007400,"queries":[{"metric":"sys.ds","aggregator":"sum","downsample":"1m-avg"}]}'))
 WHERE ts IN ('1356998400', '1356998460', '1356998520', '1357007340', '1357007400');
-- rate after downsampling (runLongSingleTSDownsampleAndRate): (2.5 - 1) / 60 = 0.025 at
-- 1356998460, then 2 / 60 = 0.03333333333333333, ..., 0.025 at the last bucket; 150 points
SELECT count(*) FROM pg_temp.dps(pg_temp.q('{"start":1356998400,"end":1357007400,"queries":[{"metric":"sys.ds","aggregator":"sum","downsample":"1m-avg","rate":true}]}'));
SELECT ts, v FROM pg_temp.dps(pg_temp.q('{"start":1356998400,"end":1357007400,"queries":[{"metric":"sys.ds","aggregator":"sum","downsample":"1m-avg","rate":true}]}'))
 WHERE ts IN ('1356998460', '1356998520', '1357007400');
-- 0all: one point at start; sum of 1..300 = 45150; [1356998500, 1356998600) holds 4, 5, 6 -> 15
SELECT r->0->'dps' FROM pg_temp.q('{"start":1356998400,"end":1357007430,"queries":[{"metric":"sys.ds","aggregator":"sum","downsample":"0all-sum"}]}') r;
SELECT r->0->'dps' FROM pg_temp.q('{"start":1356998500,"end":1356998600,"queries":[{"metric":"sys.ds","aggregator":"sum","downsample":"0all-sum"}]}') r;

-- downsamplers on one bucket holding 5, 1, 9 (in time order):
-- p50 5.0 (legacy: pos 2); ep99r7 9.0 (the double variant is legacy, not 8.92);
-- median 5.0; dev sqrt(32/3) = 3.265986323710904; diff 9 - 5 = 4.0; first 5.0; last 9.0;
-- sum 15.0; count 3.0; squareSum 107.0; mult 45.0; min 1.0; max 9.0; avg 5.0
RESET ROLE;
SELECT vscope.put('[{"metric":"b.m","timestamp":1356998400,"value":5,"tags":{"h":"x"}},
                    {"metric":"b.m","timestamp":1356998410,"value":1,"tags":{"h":"x"}},
                    {"metric":"b.m","timestamp":1356998420,"value":9,"tags":{"h":"x"}}]')->>'success';
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SET ROLE vscope_reader;
SELECT f, (pg_temp.q(format('{"start":1356998400,"end":1356998459,"queries":[{"metric":"b.m","aggregator":"sum","downsample":"1m-%s"}]}', f))->0->'dps'->>'1356998400') AS v
  FROM unnest(ARRAY['p50','ep99r7','median','dev','diff','first','last','sum','count','squareSum','mult','min','max','avg','p999','ep50r3']) f;

-- aggregators across four integer series at one timestamp, values 10, 20, 30, 40:
-- sum 100, min 10, max 40, avg 25, median 30 (the upper middle), mult 240000,
-- dev trunc(sqrt(125)) = 11, count 4, squareSum 3000, diff 40 - 10 = 30, first 10, last 40,
-- p50 trunc(25) = 25, p75 trunc(37.5) = 37, p99 40, p999 40, ep75r7 trunc(32.5) = 32,
-- ep50r3 20, ep99r3 40, zimsum 100, mimmin 10, mimmax 40, pfsum 100
RESET ROLE;
SELECT vscope.put(json_agg(json_build_object('metric', 'four.m', 'timestamp', 1356998400, 'value', 10 * k,
                  'tags', json_build_object('h', 'h' || k)) ORDER BY k)::text)->>'success'
  FROM generate_series(1, 4) k;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SET ROLE vscope_reader;
SELECT a, (pg_temp.q(format('{"start":1356998400,"end":1356998400,"queries":[{"metric":"four.m","aggregator":"%s"}]}', a))->0->'dps'->>'1356998400') AS v
  FROM unnest(ARRAY['sum','min','max','avg','median','mult','dev','count','squareSum','diff','first','last',
                    'p50','p75','p99','p999','ep75r7','ep50r3','ep99r3','zimsum','mimmin','mimmax','pfsum']) a;
