-- Calendar downsampling ("1hc", "1dc", "1nc", useCalendar) in a timezone:
-- buckets across DST changes and in a zone with a 30-minute offset,
-- compared with PostgreSQL's own date_trunc(unit, ts, zone); the range
-- read for a calendar bucket (no wider than the buckets need); the
-- memory a calendar query takes.
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day after each write, so the answers come from blocks
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
\set ECHO none
SELECT format('CALL vscope.add_days(%L, %L)', a, b) FROM (VALUES
  ('2020-01-01', '2020-01-01'),
  ('2020-03-01', '2020-03-01'),
  ('2020-04-30', '2020-04-30'),
  ('2020-06-29', '2020-06-29'),
  ('2020-08-28', '2020-08-28'),
  ('2020-10-27', '2020-10-27'),
  ('2020-12-26', '2020-12-26'),
  ('2021-02-24', '2021-02-24'),
  ('2021-04-25', '2021-04-25'),
  ('2021-06-24', '2021-06-24'),
  ('2021-08-23', '2021-08-23'),
  ('2021-10-22', '2021-10-22'),
  ('2021-12-21', '2021-12-21'),
  ('2021-12-31', '2022-01-01'),
  ('2022-01-31', '2022-02-01'),
  ('2022-02-19', '2022-02-19'),
  ('2022-02-28', '2022-03-01'),
  ('2022-03-12', '2022-03-14'),
  ('2022-03-26', '2022-03-28'),
  ('2022-03-31', '2022-04-01'),
  ('2022-04-20', '2022-04-20'),
  ('2022-04-30', '2022-05-01'),
  ('2022-05-31', '2022-06-01'),
  ('2022-06-15', '2022-06-15'),
  ('2022-06-17', '2022-06-17'),
  ('2022-06-19', '2022-06-19'),
  ('2022-06-30', '2022-07-01'),
  ('2022-07-31', '2022-08-01'),
  ('2022-08-18', '2022-08-18'),
  ('2022-08-31', '2022-09-01'),
  ('2022-09-30', '2022-10-01'),
  ('2022-10-17', '2022-10-17'),
  ('2022-10-29', '2022-11-01'),
  ('2022-11-05', '2022-11-07'),
  ('2022-11-30', '2022-12-01'),
  ('2022-12-16', '2022-12-16'),
  ('2022-12-31', '2023-01-01'),
  ('2023-02-14', '2023-02-14'),
  ('2023-04-15', '2023-04-15'),
  ('2023-06-14', '2023-06-14'),
  ('2023-08-13', '2023-08-13'),
  ('2023-10-12', '2023-10-12'),
  ('2023-12-11', '2023-12-11')) d(a, b) \gexec
\set ECHO all
RESET client_min_messages;
SELECT vscope.create_tenant('tsdbcal') IS NOT NULL;
SELECT vscope.use_tenant('tsdbcal') IS NOT NULL;
-- cal.dst: a point every 10 minutes, value 1 to 5, for three UTC days around each DST
-- change of 2022: New York's spring (03-13 07:00Z), Paris' spring (03-27 01:00Z),
-- Paris' autumn (10-30 01:00Z), New York's autumn (11-06 06:00Z)
SELECT vscope.put(json_agg(json_build_object('metric', 'cal.dst', 'timestamp', t,
                  'value', (t / 600) % 5 + 1, 'tags', json_build_object('k', 'dst')))::text)->>'failed' AS failed
  FROM (SELECT extract(epoch FROM w)::bigint + 600 * k AS t
          FROM unnest(ARRAY['2022-03-12', '2022-03-26', '2022-10-29', '2022-11-05']::timestamptz[]) w,
               generate_series(0, 3 * 144 - 1) k) p;
-- cal.mon: points around each month start (UTC) from 2022-01 to 2023-01, at -6, -5.5,
-- -5, -2, -1, -0.5, 0, 3.5, 4, 4.5, 5 and 6 hours: each side of local midnight in
-- Asia/Kolkata (+05:30), Europe/Paris (+01/+02) and America/New_York (-05/-04)
SELECT vscope.put(json_agg(json_build_object('metric', 'cal.mon', 'timestamp', extract(epoch FROM m + h * interval '1 hour')::bigint,
                  'value', extract(month FROM m)::int * 100 + (2 * h)::int + 20, 'tags', json_build_object('k', 'mon')))::text)->>'failed' AS failed
  FROM generate_series(timestamptz '2022-01-01', '2023-01-01', '1 month') m,
       unnest(ARRAY[-6, -5.5, -5, -2, -1, -0.5, 0, 3.5, 4, 4.5, 5, 6]) h;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SET ROLE vscope_reader;
SELECT array_agg(series_id) AS dst FROM vscope.series WHERE metric = 'cal.dst' \gset
SELECT array_agg(series_id) AS mon FROM vscope.series WHERE metric = 'cal.mon' \gset
-- the rows-read checks below count index fetches, so the reader's plans are
-- index scans: set before its first read, as it keeps its block plan for the
-- session (and only then, the checks in plain SQL run faster without; the
-- checks make the plan again under these settings, see there)
SET enable_seqscan = off;
SET enable_bitmapscan = off;
CREATE TEMP TABLE raw AS
  SELECT s.metric, r.ts, coalesce(r.value, r.ivalue) AS value
    FROM vscope.read_points(:'dst'::int[] || :'mon'::int[], '-infinity', 'infinity') r
    JOIN vscope.series s USING (series_id);
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT metric, count(*), sum(value) FROM raw GROUP BY metric ORDER BY metric;

-- the bucket of t for a spec, from PostgreSQL's date_trunc in the zone:
-- multiples of hours or minutes count from the top of the local day or hour
-- (elapsed time, as OpenTSDB adds hours), of days or years from 1970
CREATE FUNCTION pg_temp.bucket(t timestamptz, spec text, z text) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE spec
    WHEN '30mc' THEN date_trunc('hour', t, z)
                     + floor(extract(epoch FROM t - date_trunc('hour', t, z)) / 1800) * interval '30 minutes'
    WHEN '1hc' THEN date_trunc('hour', t, z)
    WHEN '2hc' THEN date_trunc('day', t, z)
                    + floor(extract(epoch FROM t - date_trunc('day', t, z)) / 7200) * interval '2 hours'
    WHEN '6hc' THEN date_trunc('day', t, z)
                    + floor(extract(epoch FROM t - date_trunc('day', t, z)) / 21600) * interval '6 hours'
    WHEN '1dc' THEN date_trunc('day', t, z)
    WHEN '2dc' THEN ((t AT TIME ZONE z)::date - ((t AT TIME ZONE z)::date - date '1970-01-01') % 2)::timestamp AT TIME ZONE z
    WHEN '1wc' THEN date_trunc('week', t, z)
    WHEN '1nc' THEN date_trunc('month', t, z)
    WHEN '3nc' THEN date_trunc('quarter', t, z)
    WHEN '1yc' THEN date_trunc('year', t, z)
    WHEN '2yc' THEN make_timestamptz(extract(year FROM t AT TIME ZONE z)::int
                                     - (extract(year FROM t AT TIME ZONE z)::int - 1970) % 2, 1, 1, 0, 0, 0, z)
  END $$;
-- compare sets vscope.downsample(<spec>-sum[-zero]) of a metric over [s, e] with the
-- sums over those buckets of the raw points: buckets starting in [s, e], each holding
-- every point in it (also after e); with fill, every bucket of the range (found on a
-- grid of instants from s to e), empty ones 0
CREATE FUNCTION pg_temp.compare(m text, ids int[], z text, spec text, s timestamptz, e timestamptz,
                                fill boolean DEFAULT false, step interval DEFAULT '10 minutes',
                                OUT buckets bigint, OUT wrong bigint)
  LANGUAGE sql AS $$
  WITH got AS (
    SELECT ts, value FROM vscope.downsample(ids, s, e, spec || '-sum' || CASE WHEN fill THEN '-zero' ELSE '' END, z)),
  sums AS (
    SELECT b AS ts, sum(value) AS value
      FROM (SELECT pg_temp.bucket(r.ts, spec, z) AS b, r.value FROM raw r WHERE r.metric = m) x
     WHERE b BETWEEN s AND e GROUP BY b),
  want AS (
    SELECT * FROM sums WHERE NOT fill
    UNION ALL
    SELECT b.ts, coalesce(sums.value, 0)
      FROM (SELECT DISTINCT pg_temp.bucket(t, spec, z) AS ts FROM generate_series(s, CASE WHEN fill THEN e ELSE s END, step) t) b
      LEFT JOIN sums USING (ts)
     WHERE fill AND b.ts >= s)
  SELECT (SELECT count(*) FROM got),
         count(*) FILTER (WHERE got.value IS DISTINCT FROM want.value)
    FROM got FULL JOIN want USING (ts) $$;

-- every bucket and its sum as date_trunc has it (wrong = 0), across the four DST changes:
-- starting mid-window (03-12 13:20Z, 10-29 09:10Z), ending mid-window (11-07 05:55Z), so
-- the first bucket is cut and the last one runs past the end
SELECT z, spec, c.*
  FROM unnest(ARRAY['Europe/Paris', 'America/New_York', 'Asia/Kolkata']) z,
       unnest(ARRAY['30mc', '1hc', '2hc', '6hc', '1dc', '2dc', '1wc']) spec,
       LATERAL pg_temp.compare('cal.dst', :'dst', z, spec, '2022-03-12 13:20+00', '2022-11-07 05:55+00') c
 ORDER BY 1, 2;
-- with a zero fill, over the autumn changes and a few empty hours after the data
SELECT z, spec, c.*
  FROM unnest(ARRAY['Europe/Paris', 'America/New_York', 'Asia/Kolkata']) z,
       unnest(ARRAY['1hc', '6hc', '1dc']) spec,
       LATERAL pg_temp.compare('cal.dst', :'dst', z, spec, '2022-10-29 20:00+00', '2022-11-08 04:00+00', true) c
 ORDER BY 1, 2;
-- months and years, their multiples from 1970 (3nc: quarters; 2yc: 2022 and 2023)
SELECT z, spec, c.*
  FROM unnest(ARRAY['Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'UTC']) z,
       unnest(ARRAY['1dc', '1nc', '3nc', '1yc', '2yc']) spec,
       LATERAL pg_temp.compare('cal.mon', :'mon', z, spec, '2021-12-01', '2022-12-31 23:00+00') c
 ORDER BY 1, 2;
SELECT z, spec, c.*
  FROM unnest(ARRAY['Europe/Paris', 'Asia/Kolkata']) z,
       unnest(ARRAY['1nc', '3nc']) spec,
       LATERAL pg_temp.compare('cal.mon', :'mon', z, spec, '2022-02-15', '2022-09-15', true, '1 day') c
 ORDER BY 1, 2;

-- the same buckets through /api/query (tsdb_query), values worked out by hand:
CREATE FUNCTION pg_temp.q(body text) RETURNS json LANGUAGE sql
  AS $$ SELECT vscope.tsdb_query(body::jsonb) $$;
-- Paris, 1dc-count over the autumn change (start 2022/10/29 local = 10-28 22:00Z): the
-- 29th holds 22 hours of data (from 10-29 00:00Z) = 132 points; the 30th is 25 hours
-- long = 150; the 31st 144; 11-01 starts at the end (10-31 23:00Z) and holds the last 6
SELECT pg_temp.q('{"start":"2022/10/29","end":"2022/11/01","timezone":"Europe/Paris",
  "queries":[{"metric":"cal.dst","aggregator":"sum","downsample":"1dc-count"}]}')->0->'dps';
-- and over the spring change: 03-26 local from 03-25 23:00Z holds 23 hours = 138; 03-27
-- is 23 hours long = 138; 03-28 144; 03-29 (from 03-28 22:00Z) the last 12
SELECT pg_temp.q('{"start":"2022/03/26","end":"2022/03/29","timezone":"Europe/Paris",
  "queries":[{"metric":"cal.dst","aggregator":"sum","downsample":"1dc-count"}]}')->0->'dps';
-- New York, 1hc across the autumn change (local 00:00 to 03:00): 01:00 comes twice, as
-- 05:00Z (EDT) and 06:00Z (EST), each its own hour of 6 points; 03:00 EST = 08:00Z
SELECT pg_temp.q('{"start":"2022/11/06 00:00","end":"2022/11/06 03:00","timezone":"America/New_York",
  "queries":[{"metric":"cal.dst","aggregator":"sum","downsample":"1hc-count"}]}')->0->'dps';
-- and the spring change: 02:00 never is, 01:00 EST (06:00Z) is followed by 03:00 EDT (07:00Z);
-- 6hc counts elapsed hours from local midnight: 00:00 EST (05:00Z), then 07:00 EDT (11:00Z)
SELECT pg_temp.q('{"start":"2022/03/13 00:00","end":"2022/03/13 04:00","timezone":"America/New_York",
  "queries":[{"metric":"cal.dst","aggregator":"sum","downsample":"1hc-count"}]}')->0->'dps';
SELECT pg_temp.q('{"start":"2022/03/13 00:00","end":"2022/03/13 12:00","timezone":"America/New_York",
  "queries":[{"metric":"cal.dst","aggregator":"sum","downsample":"6hc-count"}]}')->0->'dps';
-- Asia/Kolkata: hours start at :30 UTC, days at 18:30Z; useCalendar makes 1h calendar
SELECT pg_temp.q('{"start":"2022/11/06 10:00","end":"2022/11/06 12:00","timezone":"Asia/Kolkata","useCalendar":true,
  "queries":[{"metric":"cal.dst","aggregator":"sum","downsample":"1h-count"}]}')->0->'dps';
-- from 11-04 18:30Z, the 5th holds 18.5 hours of data = 111 points, then 144 and 144
SELECT pg_temp.q('{"start":"2022/11/05","end":"2022/11/07","timezone":"Asia/Kolkata",
  "queries":[{"metric":"cal.dst","aggregator":"sum","downsample":"1dc-count"}]}')->0->'dps';
-- a zone's abbreviation works as date_trunc takes it (EST: a fixed -05:00)
SELECT pg_temp.q('{"start":"2022/11/06 00:00","end":"2022/11/06 03:00","timezone":"EST",
  "queries":[{"metric":"cal.dst","aggregator":"sum","downsample":"1hc-count"}]}')->0->'dps';
SELECT ts, value FROM vscope.downsample(:'dst', '2022-11-06 05:00+00', '2022-11-06 08:00+00', '1hc-count', 'EST');
-- an unknown zone is refused (when the buckets need it)
\set VERBOSITY terse
SELECT * FROM vscope.downsample(:'dst', '2022-11-06 05:00+00', '2022-11-06 08:00+00', '1hc-count', 'Mars/Olympus');
SELECT count(*) FROM vscope.downsample(:'dst', '2022-11-06 05:00+00', '2022-11-06 08:00+00', '1h-count', 'Mars/Olympus');
\set VERBOSITY default

-- ---- the range read for calendar buckets ----
-- cal.long: a point at noon UTC every 60 days over four years, and one a minute on
-- 2022-06-15 (1,440): a one-hour calendar query reads the points of its buckets only
RESET ROLE;
SELECT vscope.put(json_agg(json_build_object('metric', 'cal.long', 'timestamp', extract(epoch FROM t)::bigint,
                  'value', 1, 'tags', json_build_object('k', 'long')))::text)->>'failed' AS failed
  FROM (SELECT generate_series(timestamptz '2020-01-01 12:00+00', '2023-12-31', '60 days') t
        UNION ALL SELECT generate_series(timestamptz '2022-06-15 00:00+00', '2022-06-15 23:59+00', '1 minute')) p;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
SET ROLE vscope_reader;
SELECT array_agg(series_id) AS long FROM vscope.series WHERE metric = 'cal.long' \gset
-- rows the store handed over in this transaction (index fetches of the points'
-- partitions, or of the blocks once compressed)
CREATE FUNCTION pg_temp.rows_read() RETURNS bigint LANGUAGE sql AS $$
  SELECT coalesce(sum(coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0)), 0)::bigint
    FROM pg_stat_xact_user_tables
   WHERE schemaname = 'vscope'
     AND (relname = 'blocks' OR relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'vscope.points'::regclass)) $$;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
-- the reader's block plan is remade, under the settings of that moment, when
-- vscope.blocks' statistics change: after an ANALYZE by autovacuum between the
-- first reads above and here, it was a scan of the whole table (1hc then read as
-- much as all points).  DISCARD PLANS has it made again under the settings above,
-- whatever autovacuum did (and does: a plan remade during the reads below is
-- made under them too)
DISCARD PLANS;
CREATE TEMP TABLE reads (what text, n bigint);
CREATE FUNCTION pg_temp.count_reads(what text, query text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  before bigint := pg_temp.rows_read();
BEGIN
  EXECUTE query;
  INSERT INTO reads VALUES (what, pg_temp.rows_read() - before);
END $$;
SELECT set_config('calendar.long', :'long', false) \g /dev/null
BEGIN;
DO $$
DECLARE
  ids text := quote_literal(current_setting('calendar.long'));
  ds text := 'SELECT count(*) FROM vscope.downsample(' || ids || ', %L, %L, %L, %L)';
  rp text := 'SELECT count(*) FROM vscope.read_points(' || ids || ', %L, %L)';
  q text := $q$SELECT pg_temp.q('{"start":"%s","end":"%s","timezone":"%s","queries":[{"metric":"cal.long","aggregator":"sum","downsample":"%s"}]}')$q$;
BEGIN
  PERFORM pg_temp.count_reads('all points', format(rp, '-infinity', 'infinity'));
  -- vscope.downsample over 10:00-11:00Z: the buckets of 10:00 and 11:00, [10:00, 12:00)
  PERFORM pg_temp.count_reads('1h', format(ds, '2022-06-15 10:00+00', '2022-06-15 11:00+00', '1h-sum', 'UTC'));
  PERFORM pg_temp.count_reads('1hc', format(ds, '2022-06-15 10:00+00', '2022-06-15 11:00+00', '1hc-sum', 'UTC'));
  PERFORM pg_temp.count_reads('10:00-12:00', format(rp, '2022-06-15 10:00+00', '2022-06-15 12:00+00'));
  -- in Kolkata the same range falls in the hours from 09:30Z and 10:30Z: [09:30, 11:30)
  PERFORM pg_temp.count_reads('1hc Kolkata', format(ds, '2022-06-15 10:00+00', '2022-06-15 11:00+00', '1hc-sum', 'Asia/Kolkata'));
  PERFORM pg_temp.count_reads('09:30-11:30', format(rp, '2022-06-15 09:30+00', '2022-06-15 11:30+00'));
  -- 24hc: the local day (Paris: 06-14 22:00Z to 06-15 22:00Z); 1nc: June; 1yc: 2022
  PERFORM pg_temp.count_reads('24hc Paris', format(ds, '2022-06-15 10:00+00', '2022-06-15 11:00+00', '24hc-sum', 'Europe/Paris'));
  PERFORM pg_temp.count_reads('Paris day', format(rp, '2022-06-14 22:00+00', '2022-06-15 22:00+00'));
  PERFORM pg_temp.count_reads('1nc', format(ds, '2022-06-15 10:00+00', '2022-06-15 11:00+00', '1nc-sum', 'UTC'));
  PERFORM pg_temp.count_reads('June', format(rp, '2022-06-01', '2022-07-01'));
  PERFORM pg_temp.count_reads('1yc', format(ds, '2022-06-15 10:00+00', '2022-06-15 11:00+00', '1yc-sum', 'UTC'));
  PERFORM pg_temp.count_reads('2022', format(rp, '2022-01-01', '2023-01-01'));
  -- /api/query: the same rule, then whole hours (OpenTSDB's rows).  In Kolkata 16:00 to
  -- 17:00 local is 10:30 to 11:30Z: buckets [10:30, 12:30), read [10:00, 13:00); as
  -- 1h-sum over 10:00 to 12:00Z reads: buckets [10:00, 13:00)
  PERFORM pg_temp.count_reads('query 1hc Kolkata', format(q, '2022/06/15 16:00', '2022/06/15 17:00', 'Asia/Kolkata', '1hc-sum'));
  PERFORM pg_temp.count_reads('query 1h', format(q, '2022/06/15 10:00', '2022/06/15 12:00', 'UTC', '1h-sum'));
  PERFORM pg_temp.count_reads('10:00-13:00', format(rp, '2022-06-15 10:00+00', '2022-06-15 13:00+00'));
  PERFORM pg_temp.count_reads('query 1nc', format(q, '2022/06/15 10:00', '2022/06/15 11:00', 'UTC', '1nc-sum'));
END $$;
COMMIT;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- equal reads: each calendar query read what its buckets hold, no more
CREATE FUNCTION pg_temp.r(what text) RETURNS bigint LANGUAGE sql AS $$ SELECT n FROM reads WHERE reads.what = r.what $$;
SELECT pg_temp.r('1hc') = pg_temp.r('1h') AND pg_temp.r('1h') = pg_temp.r('10:00-12:00') AS "1hc: its two hours",
       pg_temp.r('1hc Kolkata') = pg_temp.r('09:30-11:30') AS "1hc Kolkata: its two hours",
       pg_temp.r('24hc Paris') = pg_temp.r('Paris day') AS "24hc: the local day",
       pg_temp.r('1nc') = pg_temp.r('June') AS "1nc: the month",
       pg_temp.r('1yc') = pg_temp.r('2022') AS "1yc: the year";
SELECT pg_temp.r('query 1hc Kolkata') = pg_temp.r('10:00-13:00') AND
       pg_temp.r('query 1h') = pg_temp.r('10:00-13:00') AS "query 1hc Kolkata: 3 hours",
       pg_temp.r('query 1nc') = pg_temp.r('June') AS "query 1nc: the month",
       pg_temp.r('1hc') * 10 < pg_temp.r('all points') AS "1hc reads under a tenth of the points";

-- ---- memory ----
-- 10 series of a point every 10 s for a day (86,400 points): a calendar query takes no
-- more memory than the same query with fixed buckets.  The backend's peak resident
-- size (VmHWM) is taken after a fixed 1m-avg (which reads the same points and makes as
-- many buckets), then after 1mc-avg in Asia/Kolkata: it must not grow by 8 MB (when
-- every point had its bucket looked up with date_trunc it grew by about 33 MB)
RESET ROLE;
SELECT vscope.put(json_agg(json_build_object('metric', 'cal.mem', 'timestamp', 1655424000 + 10 * k,
                  'value', k % 97, 'tags', json_build_object('s', s::text)))::text)->>'failed' AS failed
  FROM generate_series(0, 8639) k, generate_series(1, 10) s;
SELECT vscope.compress(range_start::date) FROM vscope.partitions() WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null
-- (in a new backend: the put above raised this one's peak)
\c -
SET timezone = 'UTC';
SELECT vscope.use_tenant('tsdbcal') IS NOT NULL;
SELECT array_agg(series_id) AS mem FROM vscope.series WHERE metric = 'cal.mem' \gset
CREATE FUNCTION pg_temp.peak_kb() RETURNS bigint LANGUAGE sql
  AS $$ SELECT substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\s*(\d+) kB')::bigint $$;
SELECT count(*), round(sum(value)) FROM vscope.downsample(:'mem', '2022-06-17', '2022-06-17 23:59:59+00', '1m-avg');
SELECT pg_temp.peak_kb() AS peak_fixed \gset
SELECT count(*), round(sum(value)) FROM vscope.downsample(:'mem', '2022-06-17', '2022-06-17 23:59:59+00', '1mc-avg', 'Asia/Kolkata');
SELECT pg_temp.peak_kb() - :peak_fixed < 8192 AS "calendar query within 8 MB of the fixed one";
