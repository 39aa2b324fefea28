-- store.sql: the metric store: OpenTSDB series; their points, as rows in
-- daily partitions (the head) and, once a day is complete, as compressed
-- per-series blocks; the latest point of each series; partitions,
-- compaction and expiry; the one reader every query goes through, and the
-- datapoints view for BI tools on top of it.

--------------------------------------------------------------------------------
-- The metric store
--------------------------------------------------------------------------------

CREATE TABLE vscope.series (
	tenant_id	integer NOT NULL REFERENCES vscope.tenants ON DELETE CASCADE,
	-- numbered per tenant from 1 (vscope._create_series), never reused
	series_id	integer NOT NULL,
	metric		text NOT NULL,
	tags		jsonb NOT NULL DEFAULT '{}',
	-- canonical identity within the tenant: metric{k1=v1,k2=v2} with keys sorted
	-- bytewise, the characters % { } , = inside names percent-encoded
	-- (Ceilometer's metering series are in vscope.sample_series)
	skey		text NOT NULL CHECK (octet_length(skey) <= 2048),
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, series_id),
	UNIQUE (tenant_id, skey)
);
CREATE INDEX series_metric_idx ON vscope.series (tenant_id, metric);
COMMENT ON TABLE vscope.series IS 'one row per OpenTSDB time series: a metric with its tags, numbered per tenant';

-- Exactly one of value / ivalue is set: OpenTSDB keeps integers as int64 and
-- answers them as integers, so they are stored exactly.  Two nullable columns
-- cost nothing: the null bitmap fits in the tuple header's padding.
CREATE TABLE vscope.points (
	tenant_id	integer NOT NULL,
	series_id	integer NOT NULL,
	ts			timestamptz NOT NULL,
	value		double precision,
	ivalue		bigint,
	CONSTRAINT points_one_value CHECK ((value IS NULL) <> (ivalue IS NULL)),
	PRIMARY KEY (tenant_id, series_id, ts)
) PARTITION BY RANGE (ts);
COMMENT ON TABLE vscope.points IS 'data points, range-partitioned by day; a day is writable when its partition exists (made by vscope.maintain() and vscope.add_days(), never by a write) and is dropped by vscope.expire()';

-- A complete day's points of one series, compressed (src/store/codec.c):
-- one block per series and day, split when a day holds more than a block
-- may.  The summary beside the data answers some queries without decoding.
-- Kept inline in the heap page (toast_tuple_target) and never run through
-- pglz: the data is compressed already.
CREATE TABLE vscope.blocks (
	tenant_id	integer NOT NULL,
	series_id	integer NOT NULL,
	first_ts	timestamptz NOT NULL,
	last_ts		timestamptz NOT NULL,
	n			integer NOT NULL CHECK (n > 0),
	vmin		double precision NOT NULL,
	vmax		double precision NOT NULL,
	vsum		double precision NOT NULL,
	data		bytea NOT NULL,
	-- 1: the series' only block of its day (the summary is the day's);
	-- 2: every timestamp a whole millisecond (OpenTSDB's resolution)
	flags		smallint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, series_id, first_ts),
	-- within one UTC day, whatever the session's TimeZone (first_ts +
	-- interval '1 day' would be 23 hours across a DST change there)
	CONSTRAINT blocks_span CHECK (last_ts >= first_ts
								  AND (last_ts AT TIME ZONE 'UTC')::date
									  = (first_ts AT TIME ZONE 'UTC')::date)
) WITH (toast_tuple_target = 8160);
ALTER TABLE vscope.blocks ALTER COLUMN data SET STORAGE EXTERNAL;
-- compaction and expiry find a day's blocks across tenants by its UTC
-- date (an index on first_ts itself would tempt the planner away from the
-- primary key for the reader's series = ANY (...) scans)
CREATE INDEX blocks_day_idx ON vscope.blocks (((first_ts AT TIME ZONE 'UTC')::date));
COMMENT ON TABLE vscope.blocks IS 'compressed points: one block per series and complete UTC day, made by vscope.compress(), with count, min, max and sum beside the data';
COMMENT ON COLUMN vscope.blocks.flags IS '1: the only block of its series and day; 2: timestamps in whole milliseconds (both needed before downsampling uses the summary)';

-- The latest point of each series, kept at ingest, so that live data and
-- /api/query/last need neither the blocks nor old partitions.
CREATE TABLE vscope.series_last (
	tenant_id	integer NOT NULL,
	series_id	integer NOT NULL,
	ts			timestamptz NOT NULL,
	value		double precision,
	ivalue		bigint,
	CONSTRAINT series_last_one_value CHECK ((value IS NULL) <> (ivalue IS NULL)),
	PRIMARY KEY (tenant_id, series_id)
) WITH (fillfactor = 50);
COMMENT ON TABLE vscope.series_last IS 'the newest point of each series (the last write wins at equal times), kept by every write and by vscope.expire()';
-- every write updates a row per series it writes: half of each page left
-- free keeps those updates HOT (no index entry, no index clean-up)

-- row-level security, forced
ALTER TABLE vscope.series ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.series FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.series
	USING (tenant_id = vscope.current_tenant());

ALTER TABLE vscope.points ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.points FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.points
	USING (tenant_id = vscope.current_tenant());

ALTER TABLE vscope.blocks ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.blocks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.blocks
	USING (tenant_id = vscope.current_tenant());

ALTER TABLE vscope.series_last ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.series_last FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.series_last
	USING (tenant_id = vscope.current_tenant());

GRANT SELECT ON vscope.series, vscope.points, vscope.blocks, vscope.series_last TO vscope_reader;
GRANT INSERT, UPDATE ON vscope.series, vscope.points, vscope.series_last TO vscope_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA vscope TO vscope_writer;

-- user data in extension tables survives pg_dump
SELECT pg_catalog.pg_extension_config_dump('vscope.series', '');
SELECT pg_catalog.pg_extension_config_dump('vscope.blocks', '');
SELECT pg_catalog.pg_extension_config_dump('vscope.series_last', '');

--------------------------------------------------------------------------------
-- Series identities
--------------------------------------------------------------------------------

-- Creates the series of these canonical keys that the current tenant does
-- not have yet (metrics and tags beside the keys, tags as JSON text), and
-- returns the id of every one of the keys.  Series ids are numbered per
-- tenant: the tenant's row in vscope.tenants holds the next id and is
-- locked until the writer commits, so the writers of one tenant create
-- series one after the other (never the same id twice, nor the same series)
-- while other tenants' writers do not wait.  Under that lock every series
-- committed before is visible, so only the really new ones count against
-- the tenant's limit (its max_series, else vscope.max_series; 0: none).
-- Runs as the caller, under row-level security: only the tenant's row of
-- vscope.tenants is touched with the owner's rights, by _series_lock() and
-- _series_numbered() (see docs/architecture.md, "Citus rules": on Citus a
-- request's writes to a tenant's shards are all made by one role).
CREATE FUNCTION vscope._series_lock(OUT name text, OUT max_series integer, OUT series_next integer,
									OUT series_count integer)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
BEGIN
	IF tid IS NULL THEN
		RAISE EXCEPTION 'no tenant selected' USING ERRCODE = 'VS401';
	END IF;
	SELECT x.name, x.max_series, x.series_next, x.series_count INTO name, max_series, series_next, series_count
	  FROM vscope.tenants x WHERE x.tenant_id = tid FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'tenant % does not exist', tid USING ERRCODE = 'VS404';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION vscope._series_lock() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._series_lock() TO vscope_writer;
COMMENT ON FUNCTION vscope._series_lock() IS 'internal: locks the current tenant''s row of vscope.tenants until commit (one series maker of a tenant at a time) and returns its name, series limit, next series id and series count';

-- after _series_lock(): the tenant's series numbered up to next_id - 1, and
-- how many it has; the next id never goes down (ids of deleted series are
-- never given again)
CREATE FUNCTION vscope._series_numbered(next_id bigint, series_count bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
BEGIN
	IF tid IS NULL THEN
		RAISE EXCEPTION 'no tenant selected' USING ERRCODE = 'VS401';
	END IF;
	IF next_id IS NULL OR next_id < 1 OR next_id > 2147483647 OR series_count IS NULL OR series_count < 0 THEN
		RAISE EXCEPTION 'invalid series numbering (next id %, count %)', next_id, series_count
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE vscope.tenants x SET series_next = greatest(x.series_next, next_id::integer),
		   series_count = least(_series_numbered.series_count, 2147483647)::integer
	 WHERE x.tenant_id = tid;
END
$$;
REVOKE ALL ON FUNCTION vscope._series_numbered(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._series_numbered(bigint, bigint) TO vscope_writer;
COMMENT ON FUNCTION vscope._series_numbered(bigint, bigint) IS 'internal: records in the current tenant''s row of vscope.tenants the next series id (never lowered) and the series count, after _create_series made series';

CREATE FUNCTION vscope._create_series(keys text[], metrics text[], tags text[])
	RETURNS TABLE (skey text, series_id integer)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	t record;
	found_keys text[];
	found_ids integer[];
	missing text[];
	lim bigint;
	have bigint;
	first bigint;
BEGIN
	IF tid IS NULL THEN
		RAISE EXCEPTION 'no tenant selected' USING ERRCODE = 'VS401';
	END IF;
	SELECT l.name, l.max_series, l.series_next, l.series_count INTO t FROM vscope._series_lock() l;
	-- which keys exist (another writer may have made them before we got the
	-- lock) and which are missing, these in byte order as the C side sorts
	-- them.  One probe of the (tenant_id, skey) index per key (OFFSET 0
	-- keeps the subquery a probe): a join could hash, or a bitmap scan
	-- filter, all the tenant's series, and there may be a million.
	SELECT array_agg(u.k) FILTER (WHERE x.id IS NOT NULL),
		   array_agg(x.id) FILTER (WHERE x.id IS NOT NULL),
		   coalesce(array_agg(DISTINCT u.k COLLATE "C") FILTER (WHERE x.id IS NULL), '{}')
	  INTO found_keys, found_ids, missing
	  FROM unnest(keys) AS u(k)
	  LEFT JOIN LATERAL (SELECT s.series_id AS id FROM vscope.series s
						  WHERE s.tenant_id = tid AND s.skey = u.k OFFSET 0) x ON true;
	RETURN QUERY SELECT f.k, f.id FROM unnest(found_keys, found_ids) AS f(k, id);
	IF cardinality(missing) = 0 THEN
		RETURN;
	END IF;
	lim := coalesce(t.max_series, coalesce(current_setting('vscope.max_series', true), '1000000')::bigint);
	have := t.series_count::bigint;
	IF lim > 0 AND have + cardinality(missing) > lim THEN
		-- the count is only an upper bound once series were deleted: count them
		SELECT count(*) INTO have FROM vscope.series s WHERE s.tenant_id = tid;
		IF have + cardinality(missing) > lim THEN
			RAISE EXCEPTION 'tenant "%" may have at most % series', t.name, lim
				USING ERRCODE = 'program_limit_exceeded',
					  DETAIL = format('It has %s; this write would create %s more, and nothing of it was stored.',
									  have, cardinality(missing)),
					  HINT = 'Write fewer distinct series (metric and tag combinations), or raise the '
							 'limit: the vscope.max_series setting, or the tenant''s max_series in vscope.tenants.';
		END IF;
	END IF;
	-- past every id in use, even one inserted by hand (one probe of the
	-- primary key); ids of deleted series are never given again, so points
	-- left under them cannot join a new series
	SELECT greatest(t.series_next, coalesce(max(s.series_id), 0) + 1)::bigint INTO first
	  FROM vscope.series s WHERE s.tenant_id = tid;
	IF first + cardinality(missing) - 1 > 2147483647 THEN
		RAISE EXCEPTION 'tenant "%" has used up its series ids', t.name
			USING ERRCODE = 'program_limit_exceeded',
				  DETAIL = format('The next id would be %s; series ids are 32-bit integers.',
								  first + cardinality(missing) - 1);
	END IF;
	-- (a series inserted by hand since, under no lock, is skipped here and
	-- found by the caller's next lookup)
	RETURN QUERY
		INSERT INTO vscope.series AS s (tenant_id, series_id, skey, metric, tags)
		SELECT tid, (first + m.n - 1)::integer, m.k, u.m, u.t::jsonb
		  FROM unnest(missing) WITH ORDINALITY AS m(k, n)
		  JOIN unnest(keys, metrics, tags) AS u(k, m, t) ON u.k = m.k
		ON CONFLICT DO NOTHING
		RETURNING s.skey, s.series_id;
	PERFORM vscope._series_numbered(first + cardinality(missing), have + cardinality(missing));
END
$$;
REVOKE ALL ON FUNCTION vscope._create_series(text[], text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._create_series(text[], text[], text[]) TO vscope_writer;
COMMENT ON FUNCTION vscope._create_series(text[], text[], text[]) IS 'internal: creates the current tenant''s series of these keys that do not exist (numbered per tenant, within its series limit) and returns the id of each key';

-- Every backend caches series ids (src/store/series.c); a change to series
-- rows other than an insert empties every backend's cache at commit
-- (TRUNCATE and DROP invalidate the table's cache entry by themselves).
CREATE FUNCTION vscope._series_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'vscope_series_changed'
	LANGUAGE C;
COMMENT ON FUNCTION vscope._series_changed() IS 'internal: tells every backend that series rows changed, so that none writes under a series id it cached before';
CREATE TRIGGER series_changed AFTER UPDATE OR DELETE OR TRUNCATE ON vscope.series
	FOR EACH STATEMENT EXECUTE FUNCTION vscope._series_changed();
COMMENT ON TRIGGER series_changed ON vscope.series IS 'empties the per-backend series caches when series rows are updated, deleted or truncated';

--------------------------------------------------------------------------------
-- Partitions and expiry
--------------------------------------------------------------------------------

-- No request runs DDL.  A day is writable when its partition exists:
-- vscope.maintain() makes those of the days from vscope.max_past ago to
-- vscope.max_future ahead, an operator makes others with
-- CALL vscope.add_days(), and writes to any other day are refused.  So no
-- tenant can make the store grow by days, and a backfill never takes a lock
-- that readers wait for.

-- Creates the daily partitions of vscope.points (or vscope.samples) that hold
-- the given days (days since the Unix epoch), as the extension owner, for
-- maintain(), add_days() and decompress().  Each is made as a table of its
-- own and then attached: ATTACH PARTITION takes the parent in SHARE UPDATE
-- EXCLUSIVE mode, which neither readers nor writers wait for, where
-- CREATE TABLE ... PARTITION OF would hold it in ACCESS EXCLUSIVE mode until
-- commit.  A lock that does not come within lock_timeout fails the call
-- (lock_not_available); the caller decides whether to retry.
CREATE FUNCTION vscope._ensure_partitions(days integer[], parent text DEFAULT 'points') RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	SET TimeZone = 'UTC'
	SET default_tablespace = ''
	SET default_table_access_method = 'heap'
	SET lock_timeout = '5s'
	AS $$
DECLARE
	missing integer[];
	d integer;
	lo timestamptz;
	partname text;
	created integer := 0;
BEGIN
	IF parent IS NULL OR parent NOT IN ('points', 'samples') THEN
		RAISE EXCEPTION 'vscope.% is not partitioned by day', parent USING ERRCODE = 'invalid_parameter_value';
	END IF;
	missing := ARRAY(SELECT DISTINCT u.day FROM unnest(days) AS u(day)
					  WHERE to_regclass('vscope.' || parent || '_' ||
							to_char(to_timestamp(u.day::bigint * 86400), 'YYYYMMDD')) IS NULL
					  ORDER BY 1);
	-- nothing missing: no lock
	IF cardinality(missing) = 0 THEN
		RETURN 0;
	END IF;
	-- one creator at a time, so that concurrent makers never race on DDL
	PERFORM pg_advisory_xact_lock(hashtext('vscope.' || parent || ' partitions'));
	FOREACH d IN ARRAY missing LOOP
		lo := to_timestamp(d::bigint * 86400);
		partname := parent || '_' || to_char(lo, 'YYYYMMDD');
		-- another maker may have made it while we waited for the lock: ask
		-- the catalog itself (to_regclass may answer from a stale cache)
		CONTINUE WHEN EXISTS (SELECT FROM pg_class c
							   WHERE c.relnamespace = 'vscope'::regnamespace AND c.relname = partname);
		-- the parent's CHECK constraints must be on the table before it is
		-- attached; its indexes are made by ATTACH (on an empty table)
		EXECUTE format('CREATE TABLE vscope.%I (LIKE vscope.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
					   partname, parent);
		EXECUTE format('ALTER TABLE vscope.%I ATTACH PARTITION vscope.%I FOR VALUES FROM (%L) TO (%L)',
					   parent, partname, lo, lo + interval '1 day');
		created := created + 1;
	END LOOP;
	RETURN created;
END
$$;
REVOKE ALL ON FUNCTION vscope._ensure_partitions(integer[], text) FROM PUBLIC;
COMMENT ON FUNCTION vscope._ensure_partitions(integer[], text) IS 'internal: creates missing daily partitions of vscope.points or vscope.samples (made apart, then attached, so readers and writers never wait), for maintain(), add_days() and decompress(); never called by a request';

-- Why a write to the day of ts (of points or of samples) is refused, in
-- the words of a per-point error, or NULL when the day is writable.  The C
-- writers (src/store/partition.c) say the same.
CREATE FUNCTION vscope._day_not_writable(ts timestamptz, parent text DEFAULT 'points') RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT format('day %1$s is not writable: vscope.maintain() keeps the days from vscope.max_past ago to '
				  'vscope.max_future ahead writable; an operator makes others so with '
				  'CALL vscope.add_days(''%1$s'', ''%1$s'')', to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD'))
	 WHERE to_regclass('vscope.' || quote_ident(parent || '_' || to_char(ts AT TIME ZONE 'UTC', 'YYYYMMDD'))) IS NULL
$$;
COMMENT ON FUNCTION vscope._day_not_writable(timestamptz, text) IS 'internal: why a write to the UTC day of ts is refused (the day has no partition of points, or of samples), or NULL when it is writable';

CREATE FUNCTION vscope._in_transaction_block() RETURNS boolean
	AS 'MODULE_PATHNAME', 'vscope_in_transaction_block'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope._in_transaction_block() IS 'internal: whether the caller is inside BEGIN ... COMMIT (add_days() commits as it goes)';

-- Makes the days from from_day to to_day (UTC dates) writable: their
-- partitions of points and of samples, one day per transaction, each
-- waiting at most lock_timeout (5 s) for its locks.  A procedure, so that
-- it can commit as it goes: CALL it outside a transaction block.  It runs
-- with the caller's rights: the extension's owner (or a superuser).
CREATE PROCEDURE vscope.add_days(from_day date, to_day date)
	LANGUAGE plpgsql
	AS $$
DECLARE
	d date;
	made integer := 0;
	last_day date := (pg_catalog.now() AT TIME ZONE 'UTC')::date
					 + ceil(extract(epoch FROM coalesce(current_setting('vscope.max_future', true), '7d')::interval)
							/ 86400)::integer + 1;
	keep interval := vscope.retention();
BEGIN
	IF vscope._in_transaction_block() THEN
		RAISE EXCEPTION 'vscope.add_days() cannot run inside a transaction block'
			USING ERRCODE = 'active_sql_transaction',
				  DETAIL = 'It commits after each day, so that no transaction holds many new tables.',
				  HINT = 'CALL it on its own.';
	END IF;
	IF from_day IS NULL OR to_day IS NULL OR from_day > to_day THEN
		RAISE EXCEPTION 'add_days needs a first day no later than the last'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Got %s to %s.', coalesce(to_char(from_day, 'YYYY-MM-DD'), 'NULL'),
								  coalesce(to_char(to_day, 'YYYY-MM-DD'), 'NULL'));
	END IF;
	IF from_day < date '1970-01-01' OR to_day > last_day THEN
		RAISE EXCEPTION 'days from % to % cannot be written', to_char(from_day, 'YYYY-MM-DD'), to_char(to_day, 'YYYY-MM-DD')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Points are written from 1970-01-01 to vscope.max_future ahead.';
	END IF;
	IF keep IS NOT NULL AND from_day < ((pg_catalog.now() - keep) AT TIME ZONE 'UTC')::date THEN
		RAISE EXCEPTION 'day % is past vscope.retention (%)', to_char(from_day, 'YYYY-MM-DD'),
			current_setting('vscope.retention')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'vscope.expire() would drop it again.';
	END IF;
	d := from_day;
	WHILE d <= to_day LOOP
		made := made + vscope._ensure_partitions(ARRAY[d - date '1970-01-01'], 'points')
					 + vscope._ensure_partitions(ARRAY[d - date '1970-01-01'], 'samples');
		COMMIT;
		d := d + 1;
	END LOOP;
	RAISE NOTICE 'vscope.add_days: % partitions made', made;
END
$$;
REVOKE ALL ON PROCEDURE vscope.add_days(date, date) FROM PUBLIC;
COMMENT ON PROCEDURE vscope.add_days(date, date) IS 'makes the UTC days from from_day to to_day writable (their partitions of points and samples), one day per transaction with a 5 s lock timeout; for the extension owner, outside a transaction block';

CREATE FUNCTION vscope.partitions(parent text DEFAULT 'points')
	RETURNS TABLE (partition regclass, range_start timestamptz, range_end timestamptz,
				   bytes bigint)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT c.oid::regclass,
		   (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz,
		   (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz,
		   pg_total_relation_size(c.oid)
	  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	 WHERE i.inhparent = to_regclass('vscope.' || quote_ident(parent))
	 ORDER BY 2
$$;
COMMENT ON FUNCTION vscope.partitions(text) IS 'the daily partitions of vscope.points (or vscope.samples), oldest first, with their size on disk';
-- the sizes are every tenant's data volume: operators only
REVOKE ALL ON FUNCTION vscope.partitions(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.partitions(text) TO vscope_superadmin;

CREATE FUNCTION vscope.expire(older_than interval, max_partitions integer DEFAULT NULL)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	SET TimeZone = 'UTC'
	-- dropping a day locks its parent until commit: wait a little at most
	-- for queries of the other parent, and leave busy days for the next run
	SET lock_timeout = '5s'
	AS $$
DECLARE
	p record;
	dropped integer := 0;
	kept tstzrange[];		-- the days of points that have a partition
BEGIN
	IF older_than IS NULL OR older_than <= interval '0' THEN
		RAISE EXCEPTION 'retention must be a positive interval'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Got %s.', coalesce(older_than::text, 'NULL'));
	END IF;
	IF max_partitions IS NOT NULL AND max_partitions < 1 THEN
		RAISE EXCEPTION 'max_partitions must be at least 1'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pg_advisory_xact_lock(hashtext('vscope.points partitions'));
	PERFORM pg_advisory_xact_lock(hashtext('vscope.samples partitions'));
	-- the oldest days first, of points and of samples alike
	FOR p IN SELECT x.*, 'points' AS parent FROM vscope.partitions('points') x
			  WHERE x.range_end <= now() - older_than
			 UNION ALL
			 SELECT x.*, 'samples' FROM vscope.partitions('samples') x
			  WHERE x.range_end <= now() - older_than
			 ORDER BY range_start, parent LOOP
		EXIT WHEN max_partitions IS NOT NULL AND dropped >= max_partitions;
		BEGIN
			EXECUTE format('DROP TABLE %s', p.partition);
			dropped := dropped + 1;
			-- a day of points goes whole: its blocks, and the latest points
			-- that no longer exist (not those of a busy day)
			IF p.parent = 'points' THEN
				DELETE FROM vscope.blocks
				 WHERE (first_ts AT TIME ZONE 'UTC')::date = p.range_start::date;
				DELETE FROM vscope.series_last
				 WHERE ts >= p.range_start AND ts < p.range_end;
			ELSE
				-- a day of samples: their publisher ids and their blocks go,
				-- and the spans that began or ended in it move to the
				-- samples left (vscope.sample_ids, vscope.sample_blocks,
				-- vscope.sample_span, ceilometer.sql; PL/pgSQL finds them
				-- when this runs)
				PERFORM vscope._ceilo_ids_dropped(p.range_start, p.range_end);
				DELETE FROM vscope.sample_blocks
				 WHERE (first_ts AT TIME ZONE 'UTC')::date = p.range_start::date;
				PERFORM vscope._ceilo_span_dropped(p.range_start, p.range_end);
			END IF;
		EXCEPTION WHEN lock_not_available THEN
			RAISE NOTICE 'vscope.expire: % is busy, left for the next run', p.partition;
		END;
	END LOOP;
	-- OpenTSDB annotations go with the points of their time: those whose
	-- start is on a day past the retention that has no partition left (a
	-- busy day keeps its annotations with its points); global ones too,
	-- since the time they mark has no data left (vscope.annotations is
	-- opentsdb.sql's; PL/pgSQL finds it when this runs)
	-- (the days kept are read first: Citus does not send a query calling
	-- vscope.partitions() to the shards)
	kept := ARRAY(SELECT tstzrange(x.range_start, x.range_end) FROM vscope.partitions('points') x
				   WHERE x.range_start IS NOT NULL AND x.range_end IS NOT NULL);
	DELETE FROM vscope.annotations a
	 WHERE a.start_time < date_trunc('day', now() - older_than)
	   AND NOT a.start_time <@ ANY (kept);
	-- (series stay, for OpenTSDB and Ceilometer alike: a writer may be about
	-- to use one, and every listing skips series without data)
	-- events are few: deleted rather than partitioned; in a capped run at
	-- most 10,000 of them
	IF max_partitions IS NULL THEN
		DELETE FROM vscope.events WHERE generated < now() - older_than;
	ELSE
		DELETE FROM vscope.events
		 WHERE ctid = ANY (ARRAY(SELECT ctid FROM vscope.events
								  WHERE generated < now() - older_than LIMIT 10000));
	END IF;
	RETURN dropped;
END
$$;
COMMENT ON FUNCTION vscope.expire(interval, integer) IS 'drops the daily partitions (of points and of Ceilometer samples) whose rows are all older than the interval, oldest first, at most max_partitions of them (NULL: all), returns how many, deletes the blocks (of points and of samples) of those days, the OpenTSDB annotations of the days gone, the publisher ids of their Ceilometer samples and older Ceilometer events, and moves the sample series'' spans to the samples left';
REVOKE ALL ON FUNCTION vscope.expire(interval, integer) FROM PUBLIC;

CREATE FUNCTION vscope.retention() RETURNS interval
	AS 'MODULE_PATHNAME', 'vscope_retention'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION vscope.retention() IS 'the vscope.retention setting as an interval, or NULL when data is kept forever';

CREATE FUNCTION vscope.expire() RETURNS integer
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	r interval := vscope.retention();
BEGIN
	IF r IS NULL THEN
		RETURN 0;
	END IF;
	RETURN vscope.expire(r);
END
$$;
COMMENT ON FUNCTION vscope.expire() IS 'expires by the vscope.retention setting (nothing when it is 0, the default)';
REVOKE ALL ON FUNCTION vscope.expire() FROM PUBLIC;

CREATE FUNCTION vscope.compress_after() RETURNS interval
	AS 'MODULE_PATHNAME', 'vscope_compress_after'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION vscope.compress_after() IS 'the vscope.compress_after setting: how long after its end a day is compressed';

CREATE FUNCTION vscope.compress(day date) RETURNS bigint
	AS 'MODULE_PATHNAME', 'vscope_compress'
	LANGUAGE C VOLATILE STRICT SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION vscope.compress(date) IS 'compresses the rows of a UTC day into per-series blocks (merged with the blocks it has, the rows winning), every tenant, in this transaction; returns how many points the day''s blocks now hold (0 when the day had no rows)';
REVOKE ALL ON FUNCTION vscope.compress(date) FROM PUBLIC;

CREATE FUNCTION vscope.decompress(day date) RETURNS bigint
	AS 'MODULE_PATHNAME', 'vscope_decompress'
	LANGUAGE C VOLATILE STRICT SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION vscope.decompress(date) IS 'turns the blocks of a UTC day back into rows (rows written since keep their values), every tenant, in this transaction; returns how many points went back';
REVOKE ALL ON FUNCTION vscope.decompress(date) FROM PUBLIC;

CREATE FUNCTION vscope.delete_points(series integer[], start_ts timestamptz, end_ts timestamptz)
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'vscope_delete_points'
	LANGUAGE C VOLATILE STRICT SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION vscope.delete_points(integer[], timestamptz, timestamptz) IS 'deletes the current tenant''s points of these series in [start_ts, end_ts) from rows and compressed blocks (blocks re-encoded with their summaries), and keeps series_last right; returns how many stored points went; for writers';
REVOKE ALL ON FUNCTION vscope.delete_points(integer[], timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.delete_points(integer[], timestamptz, timestamptz) TO vscope_writer;

-- compaction: a day whose end is vscope.compress_after in the past and
-- that still has rows in its partition, the oldest first (after a given day)
CREATE FUNCTION vscope._compress_candidate(after date DEFAULT NULL) RETURNS date
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	SET TimeZone = 'UTC'
	AS $$
DECLARE
	p record;
	has_rows boolean;
BEGIN
	FOR p IN SELECT * FROM vscope.partitions('points')
			  WHERE range_end <= now() - vscope.compress_after()
				AND (after IS NULL OR range_start::date > after)
	LOOP
		EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', p.partition) INTO has_rows;
		IF has_rows THEN
			RETURN p.range_start::date;
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION vscope._compress_candidate(date) IS 'internal: the oldest day (after the given one) due for compaction that still has rows in its partition, or NULL';

-- the same for the days of Ceilometer samples
CREATE FUNCTION vscope._compress_samples_candidate(after date DEFAULT NULL) RETURNS date
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	SET TimeZone = 'UTC'
	AS $$
DECLARE
	p record;
	has_rows boolean;
BEGIN
	FOR p IN SELECT * FROM vscope.partitions('samples')
			  WHERE range_end <= now() - vscope.compress_after()
				AND (after IS NULL OR range_start::date > after)
	LOOP
		EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', p.partition) INTO has_rows;
		IF has_rows THEN
			RETURN p.range_start::date;
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION vscope._compress_samples_candidate(date) IS 'internal: the oldest day (after the given one) due for compaction that still has Ceilometer samples in its partition, or NULL';

CREATE FUNCTION vscope.maintain() RETURNS jsonb
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	SET TimeZone = 'UTC'
	AS $$
DECLARE
	today integer := floor(extract(epoch FROM now()) / 86400)::integer;
	ahead interval := coalesce(current_setting('vscope.max_future', true), '7d')::interval;
	back interval := coalesce(current_setting('vscope.max_past', true), '7d')::interval;
	oldest integer;
	missing integer[];
	nmissing integer;
	d integer;
	created integer := 0;
	dropped integer;
	day date;
	failed date;
	sday date;
	sfailed date;
	msg text;
	compressed bigint := 0::bigint;
	compressed_samples bigint := 0::bigint;
	keep interval := vscope.retention();
	expiring boolean := false;
BEGIN
	-- the writable window: a partition for every day from vscope.max_past
	-- ago (but none that expiry would drop) to vscope.max_future ahead, so
	-- that writes to those days never need DDL; today and the days ahead
	-- first, at most 16 days a call (more: "pending")
	oldest := floor(extract(epoch FROM now() - back) / 86400)::integer;
	IF keep IS NOT NULL THEN
		oldest := greatest(oldest, floor(extract(epoch FROM now() - keep) / 86400)::integer);
	END IF;
	missing := ARRAY(SELECT w.d FROM generate_series(least(oldest, today),
													 today + 1 + ceil(extract(epoch FROM ahead) / 86400)::integer) AS w(d)
					  WHERE to_regclass('vscope.points_' || to_char(to_timestamp(w.d::bigint * 86400), 'YYYYMMDD')) IS NULL
						 OR to_regclass('vscope.samples_' || to_char(to_timestamp(w.d::bigint * 86400), 'YYYYMMDD')) IS NULL
					  ORDER BY w.d < today, abs(w.d - today));
	nmissing := cardinality(missing);
	FOREACH d IN ARRAY missing[1:16] LOOP
		BEGIN
			created := created + vscope._ensure_partitions(ARRAY[d]) + vscope._ensure_partitions(ARRAY[d], 'samples');
		EXCEPTION WHEN lock_not_available THEN
			-- (ANALYZE of the parent, or expire() in another session): the
			-- next run makes it and the days after it, rather than this one
			-- waiting again for each
			RAISE WARNING 'vscope.maintain: the partitions of % waited too long for a lock, left for the next run',
				to_char(to_timestamp(d::bigint * 86400), 'YYYY-MM-DD');
			nmissing := 0;
			EXIT;
		END;
	END LOOP;
	-- expiry by vscope.retention, one day (partition) per call, so that a
	-- backlog never takes one long transaction and all its locks
	IF keep IS NOT NULL THEN
		dropped := vscope.expire(keep, 1);
		expiring := (dropped > 0 AND EXISTS (
						SELECT FROM vscope.partitions('points') WHERE range_end <= now() - keep
						UNION ALL
						SELECT FROM vscope.partitions('samples') WHERE range_end <= now() - keep))
					OR EXISTS (SELECT FROM vscope.events WHERE generated < now() - keep);
	ELSE
		dropped := 0;
	END IF;
	-- at most one day compacted per call, so each is a transaction of its
	-- own; and none in a call that made or dropped a partition, so that the
	-- parents' locks are held briefly: dropping holds vscope.points (and
	-- samples) in ACCESS EXCLUSIVE mode until commit, and every read and
	-- write would wait for the whole compaction (attaching holds them in
	-- SHARE UPDATE EXCLUSIVE mode, which only DDL and ANALYZE wait for)
	IF created = 0 AND dropped = 0 THEN
		-- a day that cannot be compressed (say a damaged block) is warned
		-- about and passed over, so that it does not hold up the others
		day := vscope._compress_candidate();
		WHILE day IS NOT NULL LOOP
			BEGIN
				compressed := vscope.compress(day);
				EXIT;
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
				RAISE WARNING 'vscope.maintain: compressing % failed: %', to_char(day, 'YYYY-MM-DD'), msg;
				failed := day;
				day := vscope._compress_candidate(day);
			END;
		END LOOP;
		-- then the days of Ceilometer samples, alike (ceilometer.sql's
		-- vscope.compress_samples(), which PL/pgSQL finds when this runs),
		-- in a call that compressed no day of points
		IF day IS NULL THEN
			sday := vscope._compress_samples_candidate();
			WHILE sday IS NOT NULL LOOP
				BEGIN
					compressed_samples := vscope.compress_samples(sday);
					EXIT;
				EXCEPTION WHEN OTHERS THEN
					GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
					RAISE WARNING 'vscope.maintain: compressing the samples of % failed: %', to_char(sday, 'YYYY-MM-DD'), msg;
					sfailed := sday;
					sday := vscope._compress_samples_candidate(sday);
				END;
			END LOOP;
		END IF;
	END IF;
	RETURN jsonb_build_object('created', created, 'dropped', dropped,
							  'compressed_day', day, 'compressed_points', compressed,
							  'failed_day', failed,
							  'compressed_samples_day', sday, 'compressed_samples', compressed_samples,
							  'failed_samples_day', sfailed,
							  'pending', nmissing > 16 OR expiring OR vscope._compress_candidate(failed) IS NOT NULL
										 OR vscope._compress_samples_candidate(sfailed) IS NOT NULL);
END
$$;
COMMENT ON FUNCTION vscope.maintain() IS 'periodic upkeep (vscoped runs it): makes the partitions of the writable window, every day from vscope.max_past ago to vscope.max_future ahead (at most 16 days a call), drops the oldest day past vscope.retention, compresses the oldest complete day still in rows (of points, else of Ceilometer samples); "pending" says whether another call has more to do';
REVOKE ALL ON FUNCTION vscope.maintain() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.maintain() TO vscope_authenticator;

--------------------------------------------------------------------------------
-- Reading: the one reader
--------------------------------------------------------------------------------

-- the planner support function of read_points() and _read_series(): row
-- estimates, and the library loaded before planning needs its hooks
CREATE FUNCTION vscope._read_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'vscope_read_support'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION vscope._read_support(internal) IS 'internal: planner support for read_points() and _read_series() (row estimates; loads the library so that its planner hooks serve the first query of a session)';

CREATE FUNCTION vscope.read_points(series integer[], start_ts timestamptz, end_ts timestamptz)
	RETURNS TABLE (series_id integer, ts timestamptz, value double precision, ivalue bigint)
	AS 'MODULE_PATHNAME', 'vscope_read_points'
	LANGUAGE C STABLE STRICT SUPPORT vscope._read_support;
COMMENT ON FUNCTION vscope.read_points(integer[], timestamptz, timestamptz) IS 'the points of these series in [start_ts, end_ts), series by series in time order, through the reader every query uses';

-- the points of one series of a tenant in [start_ts, end_ts), through the
-- reader (row-level security on the points and blocks keeps the tenants
-- apart).  The datapoints view calls it with an open range; the planner
-- hook in src/store/reader.c narrows the range to a query's bounds on ts,
-- so that only the blocks of that range are read.
CREATE FUNCTION vscope._read_series(tenant_id integer, series_id integer,
									start_ts timestamptz, end_ts timestamptz)
	RETURNS TABLE (ts timestamptz, value double precision, ivalue bigint)
	AS 'MODULE_PATHNAME', 'vscope_read_series'
	LANGUAGE C STABLE STRICT ROWS 1440 SUPPORT vscope._read_support;
COMMENT ON FUNCTION vscope._read_series(integer, integer, timestamptz, timestamptz) IS 'internal: the points of one series in [start_ts, end_ts), from rows and blocks, in time order (the datapoints view)';

CREATE VIEW vscope.datapoints WITH (security_invoker = true) AS
	SELECT s.tenant_id, s.series_id, s.metric, s.tags, p.ts,
		   coalesce(p.value, p.ivalue::double precision) AS value
	  FROM vscope.series s
	 CROSS JOIN LATERAL vscope._read_series(s.tenant_id, s.series_id,
											'-infinity', 'infinity') p;
COMMENT ON VIEW vscope.datapoints IS 'points with their metric and tags, values as double precision, from rows and blocks alike: the view for BI tools';
GRANT SELECT ON vscope.datapoints TO vscope_reader;

CREATE FUNCTION vscope.reader_stats(OUT blocks_decoded bigint, OUT blocks_summarized bigint,
									OUT head_rows bigint, OUT points bigint,
									OUT days_probed bigint, OUT days_skipped bigint)
	AS 'MODULE_PATHNAME', 'vscope_reader_stats'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.reader_stats() IS 'what the reader has read in this session: blocks decoded, blocks answered from their summary, head rows, points, and the days of the head it probed or skipped (a partition without a page)';

