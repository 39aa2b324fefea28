-- vscope.tsdb_query_exp (/api/query/exp) and vscope.tsdb_query_gexp
-- (/api/query/gexp): OpenTSDB 2.4's expression queries.  Answers are
-- compared as text where key order matters.  Errors show their SQLSTATE:
-- VS500 where OpenTSDB answers 500 (what it finds wrong reading the
-- request), VS400 where it answers 400.
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day after each write, so the answers come from blocks
SET timezone = 'UTC';
SET client_min_messages = warning;
CALL vscope.add_days('2012-12-31', '2013-01-03');
RESET client_min_messages;
SELECT vscope.create_tenant('texp') IS NOT NULL;
SELECT vscope.use_tenant('texp') IS NOT NULL;
-- t0 = 1356998400 (2013-01-01 00:00 UTC); series in this order
SELECT vscope.put($$[
  {"metric":"exp.a","timestamp":1356998400,"value":1,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"exp.a","timestamp":1356998460,"value":2,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"exp.a","timestamp":1356998520,"value":3,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"exp.a","timestamp":1356998400,"value":10,"tags":{"host":"web02","dc":"lga"}},
  {"metric":"exp.a","timestamp":1356998460,"value":20,"tags":{"host":"web02","dc":"lga"}},
  {"metric":"exp.a","timestamp":1356998520,"value":30,"tags":{"host":"web02","dc":"lga"}},
  {"metric":"exp.b","timestamp":1356998400,"value":5,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"exp.b","timestamp":1356998460,"value":5,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"exp.b","timestamp":1356998520,"value":5,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"exp.b","timestamp":1356998400,"value":7,"tags":{"host":"web03","dc":"nyc"}},
  {"metric":"exp.c","timestamp":1356998430,"value":1.5,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"exp.c","timestamp":1356998460,"value":-2.5,"tags":{"host":"web01","dc":"lga"}},
  {"metric":"exp.n","timestamp":1356998400,"value":-4,"tags":{"host":"web01"}},
  {"metric":"exp.n","timestamp":1356998460,"value":6,"tags":{"host":"web01"}},
  {"metric":"exp.r","timestamp":1356998400,"value":0,"tags":{"host":"web01"}},
  {"metric":"exp.r","timestamp":1356998430,"value":30,"tags":{"host":"web01"}},
  {"metric":"exp.r","timestamp":1356998460,"value":90,"tags":{"host":"web01"}},
  {"metric":"exp.r","timestamp":1356998490,"value":120,"tags":{"host":"web01"}}]$$);
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null

-- x: the answer; q: the outputs of a request over t0..t0+120 with filter
-- f1 (group by host) and metrics a, b, c (the body merged in)
CREATE FUNCTION pg_temp.x(body text) RETURNS json LANGUAGE sql AS $$
  SELECT vscope.tsdb_query_exp(body::jsonb)
$$;
CREATE FUNCTION pg_temp.q(body text) RETURNS json LANGUAGE sql AS $$
  SELECT vscope.tsdb_query_exp(('{"time":{"start":1356998400,"end":1356998520,"aggregator":"sum"},
    "filters":[{"id":"f1","tags":[{"type":"wildcard","tagk":"host","filter":"*","groupBy":true}]}],
    "metrics":[{"id":"a","metric":"exp.a","filter":"f1"},{"id":"b","metric":"exp.b","filter":"f1"},
               {"id":"c","metric":"exp.c","filter":"f1"}]}'::jsonb || body::jsonb))->'outputs'
$$;
-- the rows of each output
CREATE FUNCTION pg_temp.rows(body text) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT (o->>'id') || coalesce(' ' || (o->>'alias'), '') || ': ' || (o->'dps')::text
    FROM json_array_elements(pg_temp.q(body)) o
$$;
-- an error's SQLSTATE, message and detail
CREATE FUNCTION pg_temp.err(body text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; m text; d text;
BEGIN
  PERFORM vscope.tsdb_query_exp(body::jsonb);
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
  RETURN st || ' ' || m || coalesce(' | ' || nullif(d, ''), '');
END $$;

-- a + b grouped by host, the default join (union): web01 has both; web02
-- has no b, whose series counts as 0 (UnionIterator's fill); web03 has no
-- a, and b has no point after t0, where b's fill (zero) stands in.  Rows
-- of [ms, value of each series] in the union's order (by tags); then
-- dpsMeta, meta (index 0 the timestamp) and the query echoed by Jackson
SELECT pg_temp.x('{"time":{"start":1356998400,"end":1356998520,"aggregator":"sum"},
 "filters":[{"id":"f1","tags":[{"type":"wildcard","tagk":"host","filter":"*","groupBy":true}]}],
 "metrics":[{"id":"a","metric":"exp.a","filter":"f1"},{"id":"b","metric":"exp.b","filter":"f1"}],
 "expressions":[{"id":"e","expr":"a + b"}]}');

-- intersection: only the series every variable has (web01)
SELECT * FROM pg_temp.rows('{"expressions":[{"id":"e","expr":"a + b","join":{"operator":"intersection"}}]}');
-- b's fill policy nan: web03 after t0 is 0 (no a) + NaN = NaN; web02 is
-- still a + 0 (a missing series is 0 whatever the fill)
SELECT * FROM pg_temp.rows('{"metrics":[{"id":"a","metric":"exp.a","filter":"f1"},
  {"id":"b","metric":"exp.b","filter":"f1","fillPolicy":{"policy":"nan"}}],"expressions":[{"id":"e","expr":"a + b"}]}');
-- timestamps are the union of the series': c (t0+30, t0+60) with a scalar
-- fill 100, a (t0, t0+60, t0+120) with the default zero
SELECT * FROM pg_temp.rows('{"metrics":[{"id":"a","metric":"exp.a","filter":"f1"},
  {"id":"c","metric":"exp.c","filter":"f1","fillPolicy":{"policy":"scalar","value":100}}],
  "expressions":[{"id":"e","expr":"a * c","join":{"operator":"intersection"}}]}');
-- a fill value given as text, the policy (scalar) from the value alone
SELECT * FROM pg_temp.rows('{"metrics":[{"id":"a","metric":"exp.a","filter":"f1"},
  {"id":"c","metric":"exp.c","filter":"f1","fillPolicy":{"value":"-1"}}],
  "expressions":[{"id":"e","expr":"a + c","join":{"operator":"intersection"}}]}');

-- nested expressions (e2 uses e), outputs chosen and aliased, a metric as
-- an output (its series side by side, missing values 0), an unknown id
-- left out
SELECT * FROM pg_temp.rows('{"expressions":[{"id":"e","expr":"a + b","join":{"operator":"intersection"}},
  {"id":"e2","expr":"e * 2 - a"}],"outputs":[{"id":"e2","alias":"Double"},{"id":"a","alias":"A"},{"id":"nothere"}]}');
-- a nested expression's own fill policy stands for its missing values
SELECT * FROM pg_temp.rows('{"expressions":[{"id":"e","expr":"a + b","join":{"operator":"intersection"},
  "fillPolicy":{"policy":"scalar","value":1000}},{"id":"e2","expr":"e + c","join":{"operator":"intersection"}}],
  "outputs":[{"id":"e2"}]}');
-- without outputs or expressions: every metric
SELECT * FROM pg_temp.rows('{}');
-- ids are letters and digits, capitals too
SELECT * FROM pg_temp.rows('{"metrics":[{"id":"cpuA","metric":"exp.a","filter":"f1"}],"expressions":[{"id":"E2","expr":"cpuA * 2"}]}');

-- JEXL's arithmetic: a number-only part in integers (3 / 2 is 1, 010 is
-- octal 8, 0x10 is 16), a division by zero is 0, precedence, unary minus
SELECT * FROM pg_temp.rows('{"expressions":[{"id":"e","expr":"a / (b - 5) + 3 / 2 * 2 + 010 + 0x10 - -1",
  "join":{"operator":"intersection"}}]}');
-- floats: 1.1 is the float 1.1 read back as 1.1; % and the words div and mod
SELECT * FROM pg_temp.rows('{"expressions":[{"id":"e","expr":"a * 1.1","join":{"operator":"intersection"}},
  {"id":"f","expr":"a % 2 + b mod 3 + a div 2","join":{"operator":"intersection"}},
  {"id":"g","expr":"(a + b) * (a - b) / -(2 + 0.5d)","join":{"operator":"intersection"}}]}');

-- the time section: a downsampler (its fill policy is read, echoed and,
-- as in OpenTSDB 2.4, not applied: c has no bucket at t0+120), a metric's
-- own aggregator (a: max of web01 and web02), rate
SELECT pg_temp.x('{"time":{"start":1356998400,"end":1356998579,"aggregator":"sum",
   "downsampler":{"interval":"1m","aggregator":"sum","fillPolicy":{"policy":"nan"}}},
 "metrics":[{"id":"r","metric":"exp.r"},{"id":"a","metric":"exp.a","aggregator":"max"},{"id":"c","metric":"exp.c"}],
 "expressions":[{"id":"e","expr":"r + a","join":{"operator":"union","includeAggTags":false}},
                {"id":"f","expr":"c * 1"}]}')->'outputs';
SELECT pg_temp.x('{"time":{"start":1356998400,"end":1356998490,"aggregator":"sum","rate":true},
 "metrics":[{"id":"r","metric":"exp.r"}],"expressions":[{"id":"e","expr":"r * 60"}]}')->'outputs'->0->'dps';

-- join keys: a and b under a filter on dc (group by) have dc=lga; a's
-- series also aggregates host (web01, web02), b's has host=web01.  With
-- useQueryTags only dc counts, with includeAggTags false the aggregated
-- keys do not: together they meet
SELECT * FROM pg_temp.rows('{"filters":[{"id":"f1","tags":[{"type":"literal_or","tagk":"dc","filter":"lga","groupBy":true}]}],
  "expressions":[{"id":"e","expr":"a + b","join":{"operator":"intersection","useQueryTags":true,"includeAggTags":false}}]}');
-- union without the flags: two series, each missing the other's variable
SELECT * FROM pg_temp.rows('{"filters":[{"id":"f1","tags":[{"type":"literal_or","tagk":"dc","filter":"lga","groupBy":true}]}],
  "expressions":[{"id":"e","expr":"a + b"}]}');
SELECT pg_temp.q('{"filters":[{"id":"f1","tags":[{"type":"literal_or","tagk":"dc","filter":"lga","groupBy":true}]}],
  "expressions":[{"id":"e","expr":"a + b"}]}')->0->'meta';

-- no series: an expression over no series has no rows and no meta; a
-- metric without series has OpenTSDB's firstTimestamp Long.MAX_VALUE
SELECT pg_temp.q('{"filters":[{"id":"f1","tags":[{"type":"wildcard","tagk":"host","filter":"zzz*","groupBy":true}]}],
  "expressions":[{"id":"e","expr":"a + b"}],"outputs":[{"id":"e"},{"id":"a"}]}');
-- one row: lastTimestamp is 0, as OpenTSDB's serializer counts it
SELECT pg_temp.q('{"filters":[{"id":"f1","tags":[{"type":"literal_or","tagk":"host","filter":"web03","groupBy":true}]}],
  "expressions":[{"id":"e","expr":"b * 1"}]}')->0->'dpsMeta';

-- the query echo: every field in OpenTSDB's order, fill policies checked
-- (nan's value NaN), the default join written out
SELECT pg_temp.x('{"name":"echo","time":{"start":"2013/01/01-00:00:00","end":"2013/01/01-00:02:00",
   "timezone":"UTC","aggregator":"sum","downsampler":{"interval":"1m","aggregator":"avg","fillPolicy":{"policy":"zero"}}},
 "filters":[{"id":"f1","explicitTags":true,"tags":[{"type":"wildcard","tagk":"host","filter":"*","groupBy":true},
                                                    {"type":"literal_or","tagk":"dc","filter":"lga"}]},{"id":"f2"}],
 "metrics":[{"id":"a","metric":"exp.a","filter":"f1","aggregator":"max","timeOffset":"1h-ago",
             "fillPolicy":{"policy":"nan"}},{"id":"b","metric":"exp.b","fillPolicy":{"policy":"scalar","value":42}}],
 "expressions":[{"id":"e","expr":"a+b"},{"id":"e2","expr":"e","fillPolicy":{"policy":"null"},
                 "join":{"operator":"INTERSECTION","useQueryTags":true}}],
 "outputs":[{"id":"e2"}]}')->'query';

-- errors OpenTSDB finds reading and checking the request: 500 (VS500)
SELECT pg_temp.err('[]');
SELECT pg_temp.err('{}');
SELECT pg_temp.err('{"time":{"aggregator":"sum"}}');
SELECT pg_temp.err('{"time":{"start":"soon","aggregator":"sum"}}');
SELECT pg_temp.err('{"time":{"start":1356998400}}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"bogus"}}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum","downsampler":{"interval":"0all","aggregator":"avg"}}}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum","downsampler":{"interval":"1m","aggregator":"avg","fillPolicy":{"policy":"zero","value":3}}}}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum","downsampler":{"interval":"1m","aggregator":"avg","fillPolicy":{"policy":"sometimes"}}}}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":"exp.a"}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"}}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"},{"id":"a","metric":"exp.b"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a.b","metric":"exp.a"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"7","metric":"exp.a"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"","metric":"exp.a"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"metric":"exp.a"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a","aggregator":"nope"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a","timeOffset":"later"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a","fillPolicy":{"policy":"nan","value":1}}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"filters":[{"id":"f"},{"id":"f"}],"metrics":[{"id":"a","metric":"exp.a"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"filters":[{"tags":[]}],"metrics":[{"id":"a","metric":"exp.a"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"filters":[{"id":"f"}],"metrics":[{"id":"a","metric":"exp.a","filter":"g"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a","filter":"g"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"filters":[{"id":"f","tags":[{"type":"nope","tagk":"host","filter":"x"}]}],"metrics":[{"id":"a","metric":"exp.a"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"a","expr":"a"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"a","join":{"operator":"outer"}}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"a + b"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"1 + 2"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a","aggregator":"SUM"}]}');
-- the parser takes arithmetic only, within its bounds
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"a +"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"(a + 1"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"a + 1)"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"a > 1"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"a eq 1"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"a + \"x\""}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"java.lang.System.exit(1)"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"a = 1"}]}');
SELECT left(pg_temp.err(format('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"%s"}]}',
  repeat('(', 65) || 'a' || repeat(')', 65))), 60) || ' ... ' || right(pg_temp.err(format('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"%s"}]}',
  repeat('(', 65) || 'a' || repeat(')', 65))), 70);
SELECT right(pg_temp.err(format('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"%s"}]}',
  'a' || repeat('+a', 1100))), 70);
SELECT right(pg_temp.err(format('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"%s"}]}',
  'a' || repeat(' ', 9000))), 60);
-- what OpenTSDB finds running it: 400 (VS400)
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.nope"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"e + a"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}],"expressions":[{"id":"e","expr":"f + a"},{"id":"f","expr":"e * 2"}]}');
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"filters":[{"id":"f","tags":[{"type":"literal_or","tagk":"host","filter":"web02","groupBy":true}]},{"id":"g","tags":[{"type":"literal_or","tagk":"host","filter":"web03","groupBy":true}]}],"metrics":[{"id":"a","metric":"exp.a","filter":"f"},{"id":"b","metric":"exp.b","filter":"g"}],"expressions":[{"id":"e","expr":"a + b","join":{"operator":"intersection"}}]}');
SELECT pg_temp.err('{"filters":[{"id":"f1","tags":[{"type":"literal_or","tagk":"dc","filter":"lga","groupBy":true}]}],"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a","filter":"f1"},{"id":"b","metric":"exp.b","filter":"f1"}],"expressions":[{"id":"e","expr":"a + b","join":{"operator":"intersection","useQueryTags":true}}]}');

-- ---- /api/query/gexp ----

-- g: the answer over t0..t0+120 to exp=... (one per argument)
CREATE FUNCTION pg_temp.g(VARIADIC e text[]) RETURNS json LANGUAGE sql AS $$
  SELECT vscope.tsdb_query_gexp(jsonb_build_object('start', '["1356998400"]'::jsonb,
    'end', '["1356998520"]'::jsonb, 'exp', to_jsonb(e)))
$$;
CREATE FUNCTION pg_temp.gerr(args text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; m text; d text;
BEGIN
  PERFORM vscope.tsdb_query_gexp(args::jsonb);
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
  RETURN st || ' ' || m || coalesce(' | ' || nullif(d, ''), '');
END $$;
CREATE FUNCTION pg_temp.ge(e text) RETURNS text LANGUAGE sql AS $$
  SELECT pg_temp.gerr(jsonb_build_object('start', '["1356998400"]'::jsonb, 'end', '["1356998520"]'::jsonb,
                                         'exp', jsonb_build_array(e))::text)
$$;

-- sumSeries: a union on tags; each joined series computed at its own
-- series' timestamps, a missing value 0; doubles; named after its first
-- metric, the tags of its first parameter's series
SELECT pg_temp.g('sumSeries(sum:exp.a{host=*},sum:exp.b{host=*})');
-- diffSeries (also difference) over a function's results; multiply,
-- divideSeries (a division by zero is 0)
SELECT pg_temp.g('diffSeries(scale(sum:exp.a{host=*},10),sum:exp.a{host=*},sum:exp.b{host=*})',
                 'difference(sum:exp.a{host=web01},sum:exp.b{host=web01})');
SELECT pg_temp.g('multiply(sum:exp.a{host=*},sum:exp.b{host=*})', 'divideSeries(sum:exp.a{host=*},sum:exp.b{host=*})');
SELECT pg_temp.g('sum(sum:exp.a{host=*},sum:exp.c{host=*})');
-- scale: integers stay integers with an integral factor; absolute; alias
-- (@host filled in, no tags; like OpenTSDB 2.4's it takes absolute values)
SELECT pg_temp.g('scale(sum:exp.a{host=*},2)', 'scale(sum:exp.a{host=web01},-0.5)');
SELECT pg_temp.g('absolute(sum:exp.n)', 'alias(sum:exp.n{host=*},cpu.@host,x)');
-- movingAverage over 2 points (0 until the window is full) and over a
-- minute (the first point 0, then the points less than a minute older)
SELECT pg_temp.g('movingAverage(sum:exp.a{host=*},2)', 'movingAverage(sum:exp.r,''1min'')');
-- highestMax, highestCurrent: the top n series, highest first
SELECT pg_temp.g('highestMax(sum:exp.a{host=*},sum:exp.b{host=*},3)', 'highestCurrent(sum:exp.b{host=*},1)');
-- timeShift and shift: the first set's points a quoted time later, what
-- leaves [start, end] left out
SELECT pg_temp.g('timeShift(sum:exp.a{host=web01},''1min'')', 'shift(sum:exp.a{host=web02},sum:exp.b,''2min'')');
-- nested, and an m argument: m and the expressions' sub-queries are
-- numbered together, the same one counted once; only functions answer
SELECT vscope.tsdb_query_gexp('{"start":["1356998400"],"end":["1356998520"],"m":["sum:exp.b"],
  "exp":["absolute(scale(sum:exp.b,-1))","scale(sum:exp.a,1)"],"show_tsuids":[""]}')::text ~ '"query":\{"index":0\}.*"tsuids":\[".*"query":\{"index":1\}' AS numbered;
-- the GET flags: ms and arrays; no function: no answer
SELECT vscope.tsdb_query_gexp('{"start":["1356998400"],"end":["1356998520"],"exp":["scale(sum:exp.c,2)"],"ms":[""],"arrays":[""]}');
SELECT vscope.tsdb_query_gexp('{"start":["1356998400"],"m":["sum:exp.c"]}');
-- a function of no series has no result, whatever its parameters (with
-- no sub-query at all the request is refused, below)
SELECT vscope.tsdb_query_gexp('{"start":["1356998400"],"m":["sum:exp.c"],"exp":["scale(x)"]}');

-- errors: OpenTSDB's parser (500)
SELECT pg_temp.ge('nosuch(sum:exp.a)');
SELECT pg_temp.ge('scale(sum:exp.a,2');
SELECT pg_temp.ge('scale(sum:exp.a{host=wildcard(w*)},2)');
SELECT pg_temp.ge('scale(sum:1m-avg:rate:exp.a:x,2)');
SELECT pg_temp.ge('');
-- the request and the functions' arguments (400)
SELECT pg_temp.gerr('{"exp":["scale(sum:exp.a,2)"]}');
SELECT pg_temp.gerr('{"start":["1356998400"]}');
SELECT pg_temp.ge('scale(x)');
SELECT pg_temp.ge('scale(sum:exp.nope,2)');
SELECT pg_temp.ge('scale(sum:exp.a)');
SELECT pg_temp.ge('scale(sum:exp.a,x)');
SELECT pg_temp.ge('scale(sum:exp.a,1.2.3)');
SELECT pg_temp.ge('alias(sum:exp.a)');
SELECT pg_temp.ge('movingAverage(sum:exp.a)');
SELECT pg_temp.ge('movingAverage(sum:exp.a,0)');
SELECT pg_temp.ge('movingAverage(sum:exp.a,x)');
SELECT pg_temp.ge('movingAverage(sum:exp.a,''5fortnights'')');
SELECT pg_temp.ge('highestMax(sum:exp.a)');
SELECT pg_temp.ge('highestMax(sum:exp.a,0)');
SELECT pg_temp.ge('highestCurrent(sum:exp.a,top)');
SELECT pg_temp.ge('timeShift(sum:exp.a)');
SELECT pg_temp.ge('timeShift(sum:exp.a,1min)');
SELECT pg_temp.ge('timeShift(sum:exp.a,''1fortnight'')');
SELECT pg_temp.ge('timeShift(sum:exp.a,''0min'')');
SELECT pg_temp.ge('sumSeries(sum:exp.a)');
SELECT pg_temp.ge('sumSeries(' || (SELECT string_agg('sum:exp.a', ',') FROM generate_series(1, 27)) || ')');
-- another tenant does not see these series
SELECT vscope.create_tenant('texp2') IS NOT NULL;
SELECT vscope.use_tenant('texp2') IS NOT NULL;
SELECT pg_temp.err('{"time":{"start":1356998400,"aggregator":"sum"},"metrics":[{"id":"a","metric":"exp.a"}]}');
SELECT pg_temp.ge('scale(sum:exp.a,2)');
