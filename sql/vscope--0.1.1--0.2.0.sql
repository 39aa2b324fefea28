-- vscope 0.1.1 -> 0.2.0: the compressed block store.  Complete days move
-- from rows into per-series compressed blocks (vscope.blocks) by
-- vscope.compress(), run by vscope.maintain(); the latest point of each
-- series is kept in vscope.series_last; every read of points goes through
-- the reader, which merges rows and blocks.
\echo Use "ALTER EXTENSION vscope UPDATE TO '0.2.0'" to load this file. \quit
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
);
COMMENT ON TABLE vscope.series_last IS 'the newest point of each series (the last write wins at equal times), kept by every write and by vscope.expire()';

ALTER TABLE vscope.blocks ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.blocks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.blocks
	USING (tenant_id = vscope.current_tenant());

ALTER TABLE vscope.series_last ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.series_last FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.series_last
	USING (tenant_id = vscope.current_tenant());

GRANT SELECT ON vscope.blocks, vscope.series_last TO vscope_reader;
GRANT INSERT, UPDATE ON vscope.series_last TO vscope_writer;

SELECT pg_catalog.pg_extension_config_dump('vscope.blocks', '');
SELECT pg_catalog.pg_extension_config_dump('vscope.series_last', '');

-- the latest point of every series that has one (one index probe each);
-- writers wait meanwhile, or a point committed after this snapshot by a
-- backend that does not see series_last yet would never reach it
LOCK TABLE vscope.points IN SHARE MODE;
INSERT INTO vscope.series_last (tenant_id, series_id, ts, value, ivalue)
SELECT s.tenant_id, s.series_id, l.ts, l.value, l.ivalue
  FROM vscope.series s
 CROSS JOIN LATERAL (SELECT p.ts, p.value, p.ivalue FROM vscope.points p
					  WHERE p.tenant_id = s.tenant_id AND p.series_id = s.series_id
					  ORDER BY p.ts DESC LIMIT 1) l;

-- expire() may be capped: maintain() drops one day per call
DROP FUNCTION vscope.expire(interval);
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
			END IF;
		EXCEPTION WHEN lock_not_available THEN
			RAISE NOTICE 'vscope.expire: % is busy, left for the next run', p.partition;
		END;
	END LOOP;
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
COMMENT ON FUNCTION vscope.expire(interval, integer) IS 'drops the daily partitions (of points and of Ceilometer samples) whose rows are all older than the interval, oldest first, at most max_partitions of them (NULL: all), returns how many, and deletes the blocks of those days and older Ceilometer events';
REVOKE ALL ON FUNCTION vscope.expire(interval, integer) FROM PUBLIC;

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
		EXECUTE format('SELECT EXISTS (SELECT FROM %s)', p.partition) INTO has_rows;
		IF has_rows THEN
			RETURN p.range_start::date;
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION vscope._compress_candidate(date) IS 'internal: the oldest day (after the given one) due for compaction that still has rows in its partition, or NULL';

CREATE OR REPLACE FUNCTION vscope.maintain() RETURNS jsonb
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	SET TimeZone = 'UTC'
	AS $$
DECLARE
	today integer := floor(extract(epoch FROM now()) / 86400)::integer;
	ahead interval := coalesce(current_setting('vscope.max_future', true), '7d')::interval;
	days integer[];
	created integer;
	dropped integer;
	day date;
	failed date;
	msg text;
	compressed bigint := 0;
	keep interval := vscope.retention();
	expiring boolean := false;
BEGIN
	-- partitions for every day a write may name ahead (vscope.max_future),
	-- so that writers to the present and the future never need DDL; the
	-- per-write cap on new days is for writers, not for this
	days := ARRAY(SELECT generate_series(today, today + 1 +
										 ceil(extract(epoch FROM ahead) / 86400)::integer));
	PERFORM set_config('vscope.max_new_partitions', '100000', true);
	created := vscope._ensure_partitions(days) + vscope._ensure_partitions(days, 'samples');
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
	-- own; and none in a call that made or dropped a partition: that holds
	-- vscope.points (and samples) in ACCESS EXCLUSIVE mode until commit, and
	-- every read and write would wait for the whole compaction
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
	END IF;
	RETURN jsonb_build_object('created', created, 'dropped', dropped,
							  'compressed_day', day, 'compressed_points', compressed,
							  'failed_day', failed,
							  'pending', expiring OR vscope._compress_candidate(failed) IS NOT NULL);
END
$$;
COMMENT ON FUNCTION vscope.maintain() IS 'periodic upkeep (vscoped runs it): creates the partitions of every day up to vscope.max_future ahead, drops the oldest day past vscope.retention, compresses the oldest complete day still in rows; "pending" says whether another call has more to do';

-- the points of one series of a tenant, all of them, through the reader
-- (row-level security on the points and blocks keeps the tenants apart)
CREATE FUNCTION vscope._read_series(tenant_id integer, series_id integer)
	RETURNS TABLE (ts timestamptz, value double precision, ivalue bigint)
	AS 'MODULE_PATHNAME', 'vscope_read_series'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION vscope._read_series(integer, integer) IS 'internal: every point of one series, from rows and blocks, in time order (the datapoints view)';

CREATE OR REPLACE VIEW vscope.datapoints WITH (security_invoker = true) AS
	SELECT s.tenant_id, s.series_id, s.metric, s.tags, p.ts,
		   coalesce(p.value, p.ivalue::double precision) AS value
	  FROM vscope.series s
	 CROSS JOIN LATERAL vscope._read_series(s.tenant_id, s.series_id) p;
COMMENT ON VIEW vscope.datapoints IS 'points with their metric and tags, values as double precision, from rows and blocks alike: the view for BI tools';

CREATE OR REPLACE FUNCTION vscope.latest_value(metric text, tags jsonb) RETURNS double precision
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT coalesce(l.value, l.ivalue::double precision)
	  FROM vscope.series s
	  JOIN vscope.series_last l ON l.tenant_id = s.tenant_id AND l.series_id = s.series_id
	 WHERE s.tenant_id = vscope.current_tenant() AND s.metric = latest_value.metric
	   AND s.tags @> latest_value.tags
	 ORDER BY l.ts DESC LIMIT 1
$$;

CREATE OR REPLACE FUNCTION vscope.latest_sum(metric text, tags jsonb) RETURNS double precision
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT sum(coalesce(l.value, l.ivalue::double precision))
	  FROM vscope.series s
	  JOIN vscope.series_last l ON l.tenant_id = s.tenant_id AND l.series_id = s.series_id
	 WHERE s.tenant_id = vscope.current_tenant() AND s.metric = latest_sum.metric
	   AND s.tags @> latest_sum.tags
$$;

CREATE OR REPLACE FUNCTION vscope.tsdb_last(request jsonb) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	_tid integer := vscope.current_tenant();
	q jsonb;
	back_scan integer;
	out json;
BEGIN
	IF jsonb_typeof(request) IS DISTINCT FROM 'object'
	   OR jsonb_typeof(request->'queries') IS DISTINCT FROM 'array'
	   OR jsonb_array_length(request->'queries') = 0 THEN
		RAISE EXCEPTION 'missing queries' USING ERRCODE = 'VS400';
	END IF;
	FOR q IN SELECT * FROM jsonb_array_elements(request->'queries') LOOP
		IF coalesce(q->>'metric', '') = '' THEN
			RAISE EXCEPTION 'missing metric in a last query' USING ERRCODE = 'VS400';
		END IF;
		IF q ? 'tags' AND jsonb_typeof(q->'tags') <> 'object' THEN
			RAISE EXCEPTION 'tags must be an object of tag names and values' USING ERRCODE = 'VS400';
		END IF;
	END LOOP;
	BEGIN
		back_scan := coalesce(nullif(request->>'backScan', ''), '0')::integer;
	EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
		RAISE EXCEPTION 'invalid backScan: %', request->>'backScan' USING ERRCODE = 'VS400';
	END;
	SELECT coalesce(json_agg(json_build_object(
			   'metric', s.metric,
			   'timestamp', (extract(epoch FROM l.ts) * 1000)::bigint,
			   'value', coalesce(l.ivalue::text, l.value::text),
			   'tags', s.tags,
			   'tsuid', upper(lpad(to_hex(s.series_id), 8, '0')))
			 ORDER BY qn, s.series_id), '[]')
	  INTO out
	  FROM jsonb_array_elements(request->'queries') WITH ORDINALITY AS r(q, qn)
	  JOIN vscope.series s
		ON s.tenant_id = _tid AND s.metric = r.q->>'metric'
	   AND s.tags @> coalesce(r.q->'tags', '{}')
	  JOIN vscope.series_last l
		ON l.tenant_id = s.tenant_id AND l.series_id = s.series_id
	   AND (back_scan <= 0 OR l.ts >= now() - make_interval(hours => back_scan));
	RETURN out;
END
$$;
