-- rewriting points: each point is decided on its own (a plain insert after
-- its series' stored newest point, an upsert otherwise), nothing is tried
-- and undone, and the last write wins per (series, ts), in the head and
-- over compressed blocks.  The transaction's own row counts show how each
-- point went in: an insert that was tried and rolled back would count too.
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2023-11-19', '2023-11-20');
RESET client_min_messages;
SELECT vscope.create_tenant('conf') IS NOT NULL;
SELECT vscope.use_tenant('conf') IS NOT NULL;
-- a put body: 3 series (h = a, b, c), at 2023-11-20 00:00 + k minutes for
-- k in [k0, k1], value v0 + k
CREATE FUNCTION pg_temp.body(k0 int, k1 int, v0 numeric) RETURNS text LANGUAGE sql AS $$
  SELECT json_agg(json_build_object('metric', 'conf.m', 'timestamp', 1700438400 + 60 * k,
                                    'value', v0 + k, 'tags', json_build_object('h', h))
                  ORDER BY k, h)::text
    FROM generate_series(k0, k1) k, unnest(ARRAY['a', 'b', 'c']) h $$;
CREATE FUNCTION pg_temp.points(OUT h text, OUT n bigint, OUT distinct_ts bigint, OUT vals text)
  RETURNS SETOF record LANGUAGE sql AS $$
  SELECT s.tags->>'h', count(*), count(DISTINCT p.ts), string_agg(coalesce(p.value, p.ivalue)::text, ',' ORDER BY p.ts)
    FROM vscope.points p JOIN vscope.series s USING (tenant_id, series_id)
   WHERE s.metric = 'conf.m' GROUP BY 1 ORDER BY 1 $$;

-- first write: new series, so every point goes through ON CONFLICT; inserted
SELECT vscope.put(pg_temp.body(0, 3, 100));
SELECT * FROM pg_temp.points();
-- what this transaction did to the day's partition and to series_last
-- since pg_temp.mark() (the counts of a transaction include attempts that
-- were rolled back in a subtransaction)
CREATE FUNCTION pg_temp.counts(OUT inserted bigint, OUT updated bigint, OUT last_updated bigint)
  LANGUAGE sql AS $$
  SELECT pg_stat_get_xact_tuples_inserted('vscope.points_20231120'::regclass),
         pg_stat_get_xact_tuples_updated('vscope.points_20231120'::regclass),
         pg_stat_get_xact_tuples_updated('vscope.series_last'::regclass) $$;
CREATE TEMP TABLE mark AS SELECT * FROM pg_temp.counts();
CREATE FUNCTION pg_temp.mark() RETURNS void LANGUAGE sql AS $$
  DELETE FROM mark; INSERT INTO mark SELECT * FROM pg_temp.counts() $$;
CREATE FUNCTION pg_temp.delta(OUT inserted bigint, OUT updated bigint, OUT last_updated bigint)
  LANGUAGE sql AS $$
  SELECT c.inserted - m.inserted, c.updated - m.updated, c.last_updated - m.last_updated
    FROM pg_temp.counts() c, mark m $$;

-- the same batch again (a retried collector batch), other values: 12
-- updates, no insert at all, and each point still once
BEGIN;
SELECT pg_temp.mark();
SELECT vscope.put(pg_temp.body(0, 3, 200));
SELECT * FROM pg_temp.delta();
COMMIT;
SELECT * FROM pg_temp.points();

-- a mix of existing and new points: 6 updated, 6 inserted
BEGIN;
SELECT pg_temp.mark();
SELECT vscope.put(pg_temp.body(2, 5, 300));
SELECT * FROM pg_temp.delta();
COMMIT;
SELECT * FROM pg_temp.points();

-- only new points, after every series' newest: plain inserts
BEGIN;
SELECT pg_temp.mark();
SELECT vscope.put(pg_temp.body(6, 9, 400));
SELECT * FROM pg_temp.delta();
COMMIT;

-- older points that do not exist (a gap filled; the first is in the day
-- before) and one that does, with duplicates inside the batch: the last
-- one in input order wins
BEGIN;
SELECT pg_temp.mark();
SELECT vscope.put('[{"metric":"conf.m","timestamp":1700438370,"value":1,"tags":{"h":"a"}},
                    {"metric":"conf.m","timestamp":1700438370,"value":2,"tags":{"h":"a"}},
                    {"metric":"conf.m","timestamp":1700438400,"value":3,"tags":{"h":"a"}},
                    {"metric":"conf.m","timestamp":1700438400,"value":4,"tags":{"h":"a"}},
                    {"metric":"conf.m","timestamp":1700438430,"value":5,"tags":{"h":"a"}}]');
SELECT * FROM pg_temp.delta();
COMMIT;
SELECT * FROM pg_temp.points();

-- the newest point of each series: an older write leaves it, a write at
-- its time replaces its value, a newer one moves it
SELECT vscope.put('[{"metric":"conf.m","timestamp":1700438940,"value":-9,"tags":{"h":"b"}},
                    {"metric":"conf.m","timestamp":1700438400,"value":-1,"tags":{"h":"c"}}]');
SELECT s.tags->>'h' AS h, l.ts, l.value, l.ivalue
  FROM vscope.series_last l JOIN vscope.series s USING (tenant_id, series_id)
 WHERE s.metric = 'conf.m' ORDER BY 1;
SELECT s.tags->>'h' AS h, l.ts = max(p.ts) AS newest, l.ivalue = (array_agg(p.ivalue ORDER BY p.ts DESC))[1] AS its_value
  FROM vscope.series_last l JOIN vscope.series s USING (tenant_id, series_id)
  JOIN vscope.points p USING (tenant_id, series_id)
 WHERE s.metric = 'conf.m' GROUP BY 1, l.ts, l.ivalue ORDER BY 1;

-- put_lines and put_point take the same path
BEGIN;
SELECT pg_temp.mark();
SELECT vscope.put_lines(E'put conf.m 1700438400 7 h=a\nput conf.m 1700438400 8 h=a\nput conf.m 1700439000 9 h=a');
SELECT vscope.put_point('conf.m', '{"h":"b"}', '2023-11-20 00:01:00+00', 10) > 0 AS put_point;
SELECT * FROM pg_temp.delta();
COMMIT;
SELECT * FROM pg_temp.points();

-- a day compressed into blocks: a rewrite of its points lands in the head
-- and wins over the block, once and again; a new point there is added
SELECT vscope.compress('2023-11-20') AS compressed;
SELECT count(*) AS head_rows FROM vscope.points_20231120;
SELECT array_agg(series_id ORDER BY tags->>'h') AS ids FROM vscope.series WHERE metric = 'conf.m' \gset
BEGIN;
SELECT pg_temp.mark();
SELECT vscope.put('[{"metric":"conf.m","timestamp":1700438460,"value":0.5,"tags":{"h":"c"}},
                    {"metric":"conf.m","timestamp":1700438490,"value":0.25,"tags":{"h":"c"}}]');
SELECT * FROM pg_temp.delta();
COMMIT;
BEGIN;
SELECT pg_temp.mark();
SELECT vscope.put('[{"metric":"conf.m","timestamp":1700438460,"value":0.75,"tags":{"h":"c"}},
                    {"metric":"conf.m","timestamp":1700438490,"value":1.25,"tags":{"h":"c"}}]');
SELECT * FROM pg_temp.delta();
COMMIT;
SELECT ts, value, ivalue FROM vscope.read_points(ARRAY[(:'ids'::int[])[3]], '2023-11-20 00:00', '2023-11-20 00:03');
SELECT count(*) AS points, count(DISTINCT (series_id, ts)) AS distinct_points
  FROM vscope.read_points(:'ids', '-infinity', 'infinity');
-- compressing again folds the rows in: the same answer from blocks alone
SELECT vscope.compress('2023-11-20') AS compressed;
SELECT ts, value, ivalue FROM vscope.read_points(ARRAY[(:'ids'::int[])[3]], '2023-11-20 00:00', '2023-11-20 00:03');
