-- vscope 0.2.0 -> 0.2.1: the block store held at scale (what the sections
-- below say).  Every change here is also in the sql/<domain>.sql file that
-- holds the object, so a fresh 0.2.1 install and an upgraded one match
-- (make test compares their catalogs).
\echo Use "ALTER EXTENSION vscope UPDATE TO '0.2.1'" to load this file. \quit

-- Summaries answer downsampling (src/opentsdb/query.c): a block says whether
-- it is its series' whole day and whether its timestamps are whole
-- milliseconds.  Blocks made by 0.2.0 say neither and are decoded until
-- their day is compressed again.
ALTER TABLE vscope.blocks ADD COLUMN flags smallint NOT NULL DEFAULT 0;
COMMENT ON COLUMN vscope.blocks.flags IS '1: the only block of its series and day; 2: timestamps in whole milliseconds (both needed before downsampling uses the summary)';

-- The datapoints view reads only the blocks of the range a query asks for.
CREATE FUNCTION vscope._read_series(tenant_id integer, series_id integer,
									start_ts timestamptz, end_ts timestamptz)
	RETURNS TABLE (ts timestamptz, value double precision, ivalue bigint)
	AS 'MODULE_PATHNAME', 'vscope_read_series'
	LANGUAGE C STABLE STRICT ROWS 1440;
COMMENT ON FUNCTION vscope._read_series(integer, integer, timestamptz, timestamptz) IS 'internal: the points of one series in [start_ts, end_ts), from rows and blocks, in time order (the datapoints view)';
CREATE OR REPLACE VIEW vscope.datapoints WITH (security_invoker = true) AS
	SELECT s.tenant_id, s.series_id, s.metric, s.tags, p.ts,
		   coalesce(p.value, p.ivalue::double precision) AS value
	  FROM vscope.series s
	 CROSS JOIN LATERAL vscope._read_series(s.tenant_id, s.series_id,
											'-infinity', 'infinity') p;
DROP FUNCTION vscope._read_series(integer, integer);

CREATE FUNCTION vscope.reader_stats(OUT blocks_decoded bigint, OUT blocks_summarized bigint,
									OUT head_rows bigint, OUT points bigint,
									OUT days_probed bigint, OUT days_skipped bigint)
	AS 'MODULE_PATHNAME', 'vscope_reader_stats'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.reader_stats() IS 'what the reader has read in this session: blocks decoded, blocks answered from their summary, head rows, points, and the days of the head it probed or skipped (a partition without a page)';

--------------------------------------------------------------------------------
-- Series ids numbered per tenant, a per-tenant series limit, and series
-- caches emptied when series rows change (tenancy.sql, store.sql)
--------------------------------------------------------------------------------

-- the numbering and the limit live on the tenant's row; each tenant's
-- numbering goes on past the largest id it has, so every series keeps its
-- id (they were numbered from one sequence shared by all tenants)
ALTER TABLE vscope.tenants
	ADD COLUMN max_series integer CHECK (max_series >= 0),
	ADD COLUMN series_next integer NOT NULL DEFAULT 1 CHECK (series_next > 0),
	ADD COLUMN series_count integer NOT NULL DEFAULT 0;
UPDATE vscope.tenants t
   SET series_next = n.max_id + 1, series_count = n.count
  FROM (SELECT s.tenant_id, max(s.series_id) AS max_id, count(*) AS count
		  FROM vscope.series s GROUP BY s.tenant_id) n
 WHERE n.tenant_id = t.tenant_id;
COMMENT ON TABLE vscope.tenants IS 'tenants: the unit of isolation (an OpenStack project, a vScope service, a Coopr tenant), with the numbering and the limit of their series';
ALTER TABLE vscope.series ALTER COLUMN series_id DROP IDENTITY;
COMMENT ON TABLE vscope.series IS 'one row per OpenTSDB time series: a metric with its tags, numbered per tenant';

-- Creates the series of these canonical keys that the current tenant does
-- not have yet (metrics and tags beside the keys, tags as JSON text), and
-- returns the id of every one of the keys.  Series ids are numbered per
-- tenant: the tenant's row in vscope.tenants holds the next id and is
-- locked until the writer commits, so the writers of one tenant create
-- series one after the other (never the same id twice, nor the same series)
-- while other tenants' writers do not wait.  Under that lock every series
-- committed before is visible, so only the really new ones count against
-- the tenant's limit (its max_series, else vscope.max_series; 0: none).
-- Runs as the extension owner: writers cannot change the numbering.
CREATE FUNCTION vscope._create_series(keys text[], metrics text[], tags text[])
	RETURNS TABLE (skey text, series_id integer)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
	SELECT x.name, x.max_series, x.series_next, x.series_count INTO t
	  FROM vscope.tenants x WHERE x.tenant_id = tid FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'tenant % does not exist', tid USING ERRCODE = 'VS404';
	END IF;
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
	have := t.series_count;
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
	SELECT greatest(t.series_next, coalesce(max(s.series_id), 0) + 1) INTO first
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
	UPDATE vscope.tenants x SET series_next = (first + cardinality(missing))::integer,
		   series_count = least(have + cardinality(missing), 2147483647)::integer
	 WHERE x.tenant_id = tid;
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

-- OpenTSDB: /api/config/filters (Grafana's filter editor asks for it);
-- /api/search/lookup ORs the values of a key named twice and takes a limit
-- of 0 or less as none (as OpenTSDB does)
CREATE FUNCTION vscope.tsdb_filters() RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_filters'
	LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION vscope.tsdb_filters() IS 'the OpenTSDB tag filter types with examples and a description (/api/config/filters)';
CREATE OR REPLACE FUNCTION vscope.tsdb_lookup(request jsonb) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	want text := nullif(request->>'metric', '');
	lim integer;
	t0 timestamptz := clock_timestamp();
	total bigint;
	results json;
BEGIN
	IF want IS NULL THEN
		RAISE EXCEPTION 'missing metric' USING ERRCODE = 'VS400',
			HINT = 'Name a metric, or * for any: {"metric": "sys.cpu", "tags": [{"key": "host", "value": "*"}]}.';
	END IF;
	BEGIN
		lim := coalesce(nullif(request->>'limit', ''), '25')::integer;
	EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
		RAISE EXCEPTION 'invalid limit: %', request->>'limit' USING ERRCODE = 'VS400';
	END;
	IF request ? 'tags' AND (jsonb_typeof(request->'tags') <> 'array' OR EXISTS (
			SELECT FROM jsonb_array_elements(request->'tags') p WHERE jsonb_typeof(p) <> 'object')) THEN
		RAISE EXCEPTION 'tags must be an array of {"key", "value"} pairs' USING ERRCODE = 'VS400';
	END IF;
	-- a key named more than once matches any of its values (OpenTSDB ORs
	-- them: Grafana sends host=a,host=b for a multi-value variable); each
	-- pair of any key (*) needs a tag with its value
	WITH pairs AS (
		SELECT coalesce(f.pair->>'key', '*') AS k, coalesce(f.pair->>'value', '*') AS v
		  FROM jsonb_array_elements(coalesce(request->'tags', '[]')) AS f(pair)),
	matched AS (
		SELECT s.series_id, s.metric, s.tags
		  FROM vscope.series s
		 WHERE s.tenant_id = vscope.current_tenant()
		   AND (want = '*' OR s.metric = want)
		   AND NOT EXISTS (
				SELECT FROM (SELECT DISTINCT k FROM pairs WHERE k <> '*') AS named
				 WHERE NOT EXISTS (
					   SELECT FROM pairs p JOIN jsonb_each_text(s.tags) AS t(k, v) ON t.k = p.k
						WHERE p.k = named.k AND p.v IN ('*', t.v)))
		   AND NOT EXISTS (
				SELECT FROM pairs p
				 WHERE p.k = '*' AND NOT EXISTS (
					   SELECT FROM jsonb_each_text(s.tags) AS t(k, v) WHERE p.v IN ('*', t.v))))
	SELECT (SELECT count(*) FROM matched),
		   coalesce((SELECT json_agg(json_build_object(
						 'tsuid', upper(lpad(to_hex(m.series_id), 8, '0')),
						 'metric', m.metric, 'tags', m.tags) ORDER BY m.series_id)
					   FROM (SELECT * FROM matched ORDER BY series_id LIMIT CASE WHEN lim > 0 THEN lim END) m), '[]')
	  INTO total, results;
	RETURN json_build_object('type', 'LOOKUP', 'metric', want,
							 'tags', coalesce(request->'tags', '[]'), 'limit', lim,
							 'time', (extract(epoch FROM clock_timestamp() - t0) * 1000)::bigint,
							 'results', results, 'startIndex', 0, 'totalResults', total);
END
$$;
COMMENT ON FUNCTION vscope.tsdb_lookup(jsonb) IS 'OpenTSDB /api/search/lookup: {"metric": name or *, "tags": [{"key","value"}] with * for any, "limit": 25}';

-- Ceilometer listings without walking the partitions of vscope.samples:
-- vscope.sample_span keeps the first and last sample time of each sample
-- series, kept by the functions that store samples and by expire(), so
-- that GET /v2/meters, /v2/resources and /v2/resources/{id} (without a
-- time filter) read no partition, and sample listings and statistics plan
-- only the days where the matching series have samples.  Filled here from
-- the samples there are.
CREATE TABLE vscope.sample_span (
	tenant_id	integer NOT NULL,
	series_id	integer NOT NULL,
	first_ts	timestamptz NOT NULL,
	last_ts		timestamptz NOT NULL,
	CONSTRAINT sample_span_order CHECK (first_ts <= last_ts),
	PRIMARY KEY (tenant_id, series_id)
);
COMMENT ON TABLE vscope.sample_span IS 'the first and last sample time of each Ceilometer sample series that has samples, kept by the functions that store samples and by vscope.expire()';
ALTER TABLE vscope.sample_span ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.sample_span FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.sample_span USING (tenant_id = vscope.current_tenant());
GRANT SELECT ON vscope.sample_span TO vscope_reader;
GRANT INSERT, UPDATE ON vscope.sample_span TO vscope_writer;
SELECT pg_catalog.pg_extension_config_dump('vscope.sample_span', '');

CREATE FUNCTION vscope._ceilo_span_widen(series integer[], stamps timestamptz[]) RETURNS void
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
INSERT INTO vscope.sample_span AS k (tenant_id, series_id, first_ts, last_ts)
SELECT vscope.current_tenant(), u.sid, min(u.ts), max(u.ts)
  FROM unnest(series, stamps) u(sid, ts) GROUP BY u.sid ORDER BY u.sid
ON CONFLICT (tenant_id, series_id) DO UPDATE
   SET first_ts = least(k.first_ts, excluded.first_ts), last_ts = greatest(k.last_ts, excluded.last_ts)
 WHERE excluded.first_ts < k.first_ts OR excluded.last_ts > k.last_ts
$$;
COMMENT ON FUNCTION vscope._ceilo_span_widen(integer[], timestamptz[]) IS 'internal: widens the vscope.sample_span rows of these series of the current tenant to take in these sample times (made when missing)';

CREATE FUNCTION vscope.ceilometer_refresh_spans() RETURNS bigint
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n bigint;
BEGIN
	LOCK TABLE vscope.sample_span IN SHARE ROW EXCLUSIVE MODE;
	WITH m AS (
		SELECT x.tenant_id, x.series_id, min(x.ts) AS f, max(x.ts) AS l
		  FROM vscope.samples x GROUP BY 1, 2
	), gone AS (
		DELETE FROM vscope.sample_span k
		 WHERE NOT EXISTS (SELECT FROM m WHERE m.tenant_id = k.tenant_id AND m.series_id = k.series_id)
		RETURNING 1
	), kept AS (
		INSERT INTO vscope.sample_span AS k (tenant_id, series_id, first_ts, last_ts)
		SELECT * FROM m ORDER BY 1, 2
		ON CONFLICT (tenant_id, series_id) DO UPDATE
		   SET first_ts = excluded.first_ts, last_ts = excluded.last_ts
		 WHERE (k.first_ts, k.last_ts) IS DISTINCT FROM (excluded.first_ts, excluded.last_ts)
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM kept) INTO n;
	RETURN n;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_refresh_spans() IS 'recomputes vscope.sample_span from the samples, after samples were written or deleted by plain SQL rather than through the Ceilometer functions; returns how many rows changed';
REVOKE ALL ON FUNCTION vscope.ceilometer_refresh_spans() FROM PUBLIC;

CREATE FUNCTION vscope._ceilo_span_dropped(lo timestamptz, hi timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	ft integer[];			-- the series that began that day and go on, still unsettled
	fs integer[];
	lt integer[];			-- those that ended that day, having begun before
	ls integer[];
	gt integer[];			-- those that began and ended that day
	gs integer[];
	p record;
	changed integer := 0;
	n integer;
BEGIN
	SELECT array_agg(k.tenant_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts >= hi),
		   array_agg(k.series_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts >= hi),
		   array_agg(k.tenant_id) FILTER (WHERE k.first_ts < lo),
		   array_agg(k.series_id) FILTER (WHERE k.first_ts < lo),
		   array_agg(k.tenant_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts < hi),
		   array_agg(k.series_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts < hi)
	  INTO ft, fs, lt, ls, gt, gs
	  FROM (SELECT k.tenant_id, k.series_id, k.first_ts, k.last_ts FROM vscope.sample_span k
			 WHERE (k.first_ts >= lo AND k.first_ts < hi) OR (k.last_ts >= lo AND k.last_ts < hi)
			 ORDER BY k.tenant_id, k.series_id FOR UPDATE) k;
	FOR p IN SELECT * FROM vscope.partitions('samples') WHERE range_start >= hi ORDER BY range_start LOOP
		EXIT WHEN ft IS NULL;
		EXECUTE $q$
			WITH found AS (
				SELECT a.t, a.s, f.ts
				  FROM unnest($1, $2) a(t, s)
				 CROSS JOIN LATERAL (SELECT x.ts FROM vscope.samples x
									  WHERE x.tenant_id = a.t AND x.series_id = a.s
										AND x.ts >= $3 AND x.ts < $4
									  ORDER BY x.ts LIMIT 1) f
			), moved AS (
				UPDATE vscope.sample_span k SET first_ts = found.ts
				  FROM found WHERE k.tenant_id = found.t AND k.series_id = found.s
			)
			SELECT array_agg(a.t), array_agg(a.s), (SELECT count(*) FROM found)
			  FROM unnest($1, $2) a(t, s)
			 WHERE NOT EXISTS (SELECT FROM found WHERE found.t = a.t AND found.s = a.s)
			$q$
			INTO ft, fs, n USING ft, fs, p.range_start, p.range_end;
		changed := changed + n;
	END LOOP;
	FOR p IN SELECT * FROM vscope.partitions('samples') WHERE range_end <= lo ORDER BY range_start DESC LOOP
		EXIT WHEN lt IS NULL;
		EXECUTE $q$
			WITH found AS (
				SELECT a.t, a.s, f.ts
				  FROM unnest($1, $2) a(t, s)
				 CROSS JOIN LATERAL (SELECT x.ts FROM vscope.samples x
									  WHERE x.tenant_id = a.t AND x.series_id = a.s
										AND x.ts >= $3 AND x.ts < $4
									  ORDER BY x.ts DESC LIMIT 1) f
			), moved AS (
				UPDATE vscope.sample_span k SET last_ts = found.ts
				  FROM found WHERE k.tenant_id = found.t AND k.series_id = found.s
			)
			SELECT array_agg(a.t), array_agg(a.s), (SELECT count(*) FROM found)
			  FROM unnest($1, $2) a(t, s)
			 WHERE NOT EXISTS (SELECT FROM found WHERE found.t = a.t AND found.s = a.s)
			$q$
			INTO lt, ls, n USING lt, ls, p.range_start, p.range_end;
		changed := changed + n;
	END LOOP;
	-- what was all in that day, or what no partition settled (which a span
	-- kept right never leaves), has no samples left
	DELETE FROM vscope.sample_span k
	 USING (SELECT * FROM unnest(gt, gs) UNION ALL SELECT * FROM unnest(ft, fs)
			UNION ALL SELECT * FROM unnest(lt, ls)) a(t, s)
	 WHERE k.tenant_id = a.t AND k.series_id = a.s;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN changed + n;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_span_dropped(timestamptz, timestamptz) IS 'internal: after vscope.expire() dropped the samples of [lo, hi), the vscope.sample_span rows that began or ended there are moved to the samples that are left (or deleted); returns how many rows changed';

CREATE FUNCTION vscope._ceilo_series_id(meter text, ctype text, unit text, resource text,
	project text, usr text, src text, metadata jsonb)
	RETURNS integer LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	key bytea := sha256(convert_to(jsonb_build_array(meter, ctype, unit, resource, project, usr, src, metadata)::text, 'UTF8'));
	sid integer;
BEGIN
	IF tid IS NULL THEN
		RAISE EXCEPTION 'no tenant is selected' USING ERRCODE = 'VS401';
	END IF;
	SELECT series_id INTO sid FROM vscope.sample_series WHERE tenant_id = tid AND skey = key;
	IF sid IS NULL THEN
		INSERT INTO vscope.sample_series (tenant_id, counter_name, counter_type, counter_unit, resource_id,
										  project_id, user_id, source, resource_metadata, skey)
			VALUES (tid, meter, ctype, unit, resource, project, usr, src, metadata, key)
			ON CONFLICT (tenant_id, skey) DO NOTHING
			RETURNING series_id INTO sid;
		IF sid IS NULL THEN
			SELECT series_id INTO sid FROM vscope.sample_series WHERE tenant_id = tid AND skey = key;
		END IF;
	END IF;
	RETURN sid;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_series_id(text, text, text, text, text, text, text, jsonb) IS 'internal: the sample series of a checked Ceilometer sample (meter, type, unit, resource, project, user, source, metadata), created when new';

CREATE FUNCTION vscope._ceilo_insert_sample(sid integer, ts timestamptz, volume float8)
	RETURNS text LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	n integer;
BEGIN
	-- two samples at one time are both kept: the next free seq (retried on a race)
	LOOP
		SELECT coalesce(max(x.seq) + 1, 0) INTO n FROM vscope.samples x
		 WHERE x.tenant_id = tid AND x.series_id = sid AND x.ts = _ceilo_insert_sample.ts;
		INSERT INTO vscope.samples (tenant_id, series_id, ts, seq, volume)
			VALUES (tid, sid, _ceilo_insert_sample.ts, n, volume)
			ON CONFLICT DO NOTHING;
		EXIT WHEN FOUND;
	END LOOP;
	RETURN vscope.ceilometer_message_id(sid, ts, n);
END
$$;
COMMENT ON FUNCTION vscope._ceilo_insert_sample(integer, timestamptz, float8) IS 'internal: stores one sample of a series of the current tenant at the next free seq of its time; returns its message_id';

CREATE OR REPLACE FUNCTION vscope._ceilo_store_sample(meter text, ctype text, unit text, volume float8,
	resource text, project text, usr text, src text, metadata jsonb, ts timestamptz)
	RETURNS text LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	sid integer := vscope._ceilo_series_id(meter, ctype, unit, resource, project, usr, src, metadata);
	id text := vscope._ceilo_insert_sample(sid, ts, volume);
BEGIN
	PERFORM vscope._ceilo_span_widen(ARRAY[sid], ARRAY[ts]);
	RETURN id;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_store_sample(text, text, text, float8, text, text, text, text, jsonb, timestamptz) IS 'internal: stores one checked Ceilometer sample, with its series if new and the next free seq at its time; returns its message_id';

-- (vscope.ceilometer_post_samples() is redefined further down, once, as it
-- stands in sql/ceilometer.sql)
COMMENT ON FUNCTION vscope.ceilometer_post_samples(text, text) IS 'Ceilometer POST /v2/meters/{meter}: a JSON list of samples (old style), all checked before any is stored; returns them with the filled-in fields';

CREATE OR REPLACE FUNCTION vscope.ceilometer_list_samples(args jsonb DEFAULT '{}', meter text DEFAULT NULL,
											   old_style boolean DEFAULT false)
	RETURNS json LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'samples');
	lim integer := vscope._ceilo_limit(vscope._ceilo_arg(args, 'limit'));
	lo timestamptz;
	hi timestamptz;
	width interval := interval '86400 seconds';
	from_ts timestamptz;
	n bigint;
	r json;
BEGIN
	-- where the matching series have samples (vscope.sample_span), within
	-- the query's range: nothing there, nothing to list
	EXECUTE format(
		'SELECT min(k.first_ts), max(k.last_ts)
		   FROM vscope.sample_series s
		   JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
		  WHERE %s AND ($1 IS NULL OR s.counter_name = $1)', q.series_where)
		INTO lo, hi USING meter;
	lo := greatest(lo, q.w_start);
	hi := least(hi, q.w_end);
	IF lo IS NULL OR lo > hi THEN
		RETURN '[]';
	END IF;
	-- newest first: the last day of that range, then four times as much
	-- back each round until the limit is met or the range is covered, each
	-- round with its bounds as values known when planning (EXECUTE plans
	-- with them), so that only the partitions of those days are planned.  Rows before a round's start are older than
	-- every row in it, so a round that fills the limit has the answer.
	LOOP
		from_ts := CASE WHEN width >= hi - lo THEN lo ELSE hi - width END;
		EXECUTE format(
			'SELECT coalesce(json_agg(vscope._ceilo_sample_json(s, x, $2) ORDER BY (x).ts DESC, (x).series_id, (x).seq), ''[]''),
					count(*)
			   FROM (SELECT s, x FROM vscope.sample_series s JOIN vscope.samples x USING (tenant_id, series_id)
					  WHERE %s AND %s AND x.ts >= $3 AND x.ts <= $4 AND ($1 IS NULL OR s.counter_name = $1)
					  ORDER BY x.ts DESC, x.series_id, x.seq LIMIT %s) y(s, x)',
			q.series_where, q.sample_where, lim)
			INTO r, n USING meter, old_style, from_ts, hi;
		EXIT WHEN n >= lim OR from_ts = lo;
		width := width * 4;
	END LOOP;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_list_samples(jsonb, text, boolean) IS 'Ceilometer GET /v2/samples (or, old style, /v2/meters/{meter}): args is the query string as {"q.field": [...], "q.op": [...], "q.value": [...], "limit": ["N"]}; newest first';

CREATE OR REPLACE FUNCTION vscope.ceilometer_get_sample(id text) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	m record;
	r json;
BEGIN
	SELECT * INTO m FROM vscope._ceilo_parse_message_id(id);
	-- the time as a value known when planning: only its day's partition
	-- is planned and locked
	IF m.series_id IS NOT NULL THEN
		EXECUTE 'SELECT vscope._ceilo_sample_json(s, x, false)
				   FROM vscope.samples x
				   JOIN vscope.sample_series s ON s.tenant_id = x.tenant_id AND s.series_id = x.series_id
				  WHERE x.tenant_id = vscope.current_tenant()
					AND x.series_id = $1 AND x.ts = $2 AND x.seq = $3
					AND ($4 OR s.project_id IS NOT DISTINCT FROM $5)'
			INTO r USING m.series_id, m.ts, m.seq, me.admin, me.project;
	END IF;
	IF r IS NULL THEN
		PERFORM vscope._ceilo_fail('404', format('Sample %s Not Found', id));
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_get_sample(text) IS 'Ceilometer GET /v2/samples/{id}';

CREATE OR REPLACE FUNCTION vscope.ceilometer_list_meters(args jsonb DEFAULT '{}') RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'meters');
	lim integer := vscope._ceilo_limit(vscope._ceilo_arg(args, 'limit'));
	uniq text := lower(vscope._ceilo_arg(args, 'unique'));
	r json;
BEGIN
	IF uniq IN ('true', 't', 'yes', 'y', 'on', '1') THEN
		EXECUTE format(
			'SELECT coalesce(json_agg(json_build_object(''name'', counter_name, ''type'', counter_type,
					''unit'', counter_unit, ''resource_id'', NULL, ''project_id'', NULL, ''user_id'', NULL,
					''source'', NULL,
					''meter_id'', vscope._ceilo_meter_id(NULL, counter_name))
					ORDER BY counter_name), ''[]'')
			   FROM (SELECT DISTINCT ON (s.counter_name) s.counter_name, s.counter_type, s.counter_unit
					   FROM vscope.sample_series s
					  WHERE %s AND EXISTS (SELECT FROM vscope.sample_span k
											WHERE k.tenant_id = s.tenant_id AND k.series_id = s.series_id)
					  ORDER BY s.counter_name, s.series_id DESC LIMIT %s) m',
			q.series_where, lim) INTO r;
	ELSE
		EXECUTE format(
			'SELECT coalesce(json_agg(json_build_object(''name'', counter_name, ''type'', counter_type,
					''unit'', counter_unit, ''resource_id'', resource_id, ''project_id'', project_id,
					''user_id'', user_id, ''source'', source,
					''meter_id'', vscope._ceilo_meter_id(resource_id, counter_name))
					ORDER BY counter_name, resource_id), ''[]'')
			   FROM (SELECT DISTINCT ON (s.counter_name, s.resource_id) s.*
					   FROM vscope.sample_series s
					   JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
					  WHERE %s
					  ORDER BY s.counter_name, s.resource_id, k.last_ts DESC, s.series_id DESC LIMIT %s) m',
			q.series_where, lim) INTO r;
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_list_meters(jsonb) IS 'Ceilometer GET /v2/meters: one entry per (meter, resource), or per meter with unique=True';

CREATE OR REPLACE FUNCTION vscope.ceilometer_list_resources(args jsonb DEFAULT '{}', base_url text DEFAULT '',
												 resource text DEFAULT NULL)
	RETURNS json LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'resources');
	lim integer := vscope._ceilo_limit(vscope._ceilo_arg(args, 'limit'));
	links boolean := coalesce(nullif(vscope._ceilo_arg(args, 'meter_links'), ''), '1')
					 NOT IN ('0', 'false', 'False', 'f', 'no', 'off');
	r json;
BEGIN
	EXECUTE format($q$
		WITH per_series AS (%s), per_resource AS (
			SELECT resource_id, min(first_ts) AS first_ts, max(last_ts) AS last_ts,
				   (array_agg(series_id ORDER BY last_ts DESC, series_id DESC))[1] AS latest,
				   array_agg(DISTINCT counter_name ORDER BY counter_name) AS meters
			  FROM per_series GROUP BY resource_id
			 ORDER BY resource_id LIMIT %s
		)
		SELECT coalesce(json_agg(json_build_object(
				'resource_id', p.resource_id, 'project_id', s.project_id, 'user_id', s.user_id,
				'source', s.source, 'first_sample_timestamp', vscope._ceilo_ts(p.first_ts),
				'last_sample_timestamp', vscope._ceilo_ts(p.last_ts),
				'metadata', vscope._ceilo_flatten(s.resource_metadata),
				'links', (SELECT json_agg(l ORDER BY n) FROM (
					SELECT 0 AS n, json_build_object('rel', 'self', 'href', $2 || '/v2/resources/' || p.resource_id) AS l
					UNION ALL
					SELECT k, json_build_object('rel', m, 'href', $2 || '/v2/meters/' || m
							|| '?q.field=resource_id&q.value=' || p.resource_id)
					  FROM unnest(p.meters) WITH ORDINALITY u(m, k) WHERE $3) ls))
				ORDER BY p.resource_id), '[]')
		  FROM per_resource p JOIN vscope.sample_series s ON s.series_id = p.latest
		 WHERE s.tenant_id = vscope.current_tenant()
		$q$,
		CASE WHEN q.sample_where = 'true' THEN
			-- no time filter: each series' whole span, as kept
			format($s$
			SELECT s.*, k.first_ts, k.last_ts
			  FROM vscope.sample_series s
			  JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
			 WHERE %s AND ($1 IS NULL OR s.resource_id = $1)$s$, q.series_where)
		ELSE
			-- first and last within the time filter, from the samples of the
			-- partitions it names (the bounds are literals: the planner
			-- prunes the others), for the series whose span meets it
			format($s$
			SELECT s.*, b.first_ts, b.last_ts
			  FROM vscope.sample_series s
			  JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
			  CROSS JOIN LATERAL (SELECT min(x.ts) AS first_ts, max(x.ts) AS last_ts
									FROM vscope.samples x
								   WHERE x.tenant_id = s.tenant_id AND x.series_id = s.series_id AND %s) b
			 WHERE %s AND ($1 IS NULL OR s.resource_id = $1) AND b.first_ts IS NOT NULL
			   AND k.last_ts >= $4 AND k.first_ts <= $5$s$,
				q.sample_where, q.series_where)
		END, lim)
		INTO r USING resource, rtrim(coalesce(base_url, ''), '/'), links,
					 coalesce(q.w_start, '-infinity'), coalesce(q.w_end, 'infinity');
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_list_resources(jsonb, text, text) IS 'Ceilometer GET /v2/resources (and one resource): first/last sample times within the query, attributes from the latest sample, links to self and to each meter';

CREATE OR REPLACE FUNCTION vscope.ceilometer_statistics(meter text, args jsonb DEFAULT '{}') RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	-- the planner cannot tell how many buckets date_bin() makes and so
	-- overestimates the cost; compiling the query costs more than it saves
	SET jit = off
	AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'samples');
	ptxt text := trim(vscope._ceilo_arg(args, 'period'));
	period bigint := 0;
	origin timestamptz;
	gb text[] := '{}';
	g text;
	gexpr text[] := '{}';
	gjson text := 'NULL::json';
	stats boolean := true;
	funcs text[] := '{}';
	f text;
	p text;
	card text[] := '{}';
	bucket text;
	lo timestamptz;
	hi timestamptz;
	r json;
	nrows bigint;
	maxrows integer;
BEGIN
	-- period
	IF ptxt <> '' THEN
		IF ptxt !~ '^[-+]?\d{1,30}$' THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute period. Value: ''%s''. unable to convert to int', ptxt));
		END IF;
		IF ptxt::numeric < 0 THEN
			PERFORM vscope._ceilo_fail('400', 'Period must be positive.');
		END IF;
		-- Python's datetime ends at year 9999: a longer period cannot be added to a date
		IF ptxt::numeric > 250000000000 THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid period %s: date value out of range', ptxt));
		END IF;
		period := ptxt::bigint;
	END IF;
	-- group-by fields, de-duplicated in order
	IF jsonb_typeof(args -> 'groupby') = 'array' THEN
		FOR g IN SELECT e FROM jsonb_array_elements_text(args -> 'groupby') e LOOP
			IF g NOT IN ('user_id', 'resource_id', 'project_id', 'source', 'resource_metadata.instance_type') THEN
				PERFORM vscope._ceilo_fail('400', format('Unknown argument: "set([%s])": Invalid groupby fields', quote_literal(g)));
			END IF;
			IF NOT g = ANY (gb) THEN
				gb := gb || g;
			END IF;
		END LOOP;
	END IF;
	FOR i IN 1 .. cardinality(gb) LOOP
		gexpr := gexpr || CASE gb[i] WHEN 'resource_metadata.instance_type'
								THEN '(s.resource_metadata #>> ''{instance_type}'')'
								ELSE 's.' || gb[i] END;
	END LOOP;
	IF cardinality(gb) > 0 THEN
		gjson := 'json_build_object(' || (SELECT string_agg(format('%L, g%s', gb[i], i), ', ')
											 FROM generate_subscripts(gb, 1) i) || ')';
	END IF;
	-- selected aggregates, de-duplicated
	IF jsonb_typeof(args -> 'aggregate.func') = 'array' THEN
		FOR i IN 0 .. jsonb_array_length(args -> 'aggregate.func') - 1 LOOP
			f := vscope._ceilo_arg(args, 'aggregate.func', i);
			p := nullif(vscope._ceilo_arg(args, 'aggregate.param', i), '');
			IF f NOT IN ('avg', 'sum', 'min', 'max', 'count', 'stddev', 'cardinality') THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid aggregation function: %s', f));
			END IF;
			IF f = 'cardinality' THEN
				IF p IS NULL OR p NOT IN ('resource_id', 'user_id', 'project_id') THEN
					PERFORM vscope._ceilo_fail('400', format('Bad aggregate: cardinality.%s', coalesce(p, 'None')));
				END IF;
				f := f || '/' || p;
				IF NOT p = ANY (card) THEN
					card := card || p;
				END IF;
			END IF;
			IF NOT f = ANY (funcs) THEN
				funcs := funcs || f;
			END IF;
		END LOOP;
	END IF;
	-- only cardinality asked for: no need for the one-pass statistics
	IF cardinality(funcs) > 0 AND NOT EXISTS (SELECT FROM unnest(funcs) f2 WHERE f2 NOT LIKE 'cardinality/%') THEN
		stats := false;
	END IF;
	-- where the meter's matching series have samples (vscope.sample_span):
	-- none, no statistics; else those bounds join the query's, as values
	-- known when planning, so that only the partitions of those days are
	-- planned
	EXECUTE format('SELECT min(k.first_ts), max(k.last_ts)
					  FROM vscope.sample_series s
					  JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
					 WHERE %s AND s.counter_name = $1', q.series_where)
		INTO lo, hi USING meter;
	IF lo IS NULL THEN
		RETURN '[]';
	END IF;
	-- the grid's origin: the query's (widened) start, else the first sample
	IF period > 0 THEN
		origin := q.w_start;
		IF origin IS NULL AND q.sample_where = 'true' THEN
			origin := lo;
		ELSIF origin IS NULL THEN
			EXECUTE format('SELECT min(x.ts) FROM vscope.sample_series s JOIN vscope.samples x USING (tenant_id, series_id)
							 WHERE %s AND %s AND x.ts >= $2 AND x.ts <= $3 AND s.counter_name = $1',
						   q.series_where, q.sample_where)
				INTO origin USING meter, lo, hi;
			IF origin IS NULL THEN
				RETURN '[]';
			END IF;
		END IF;
		bucket := 'date_bin($3 * interval ''1 second'', x.ts, $2)';
	ELSE
		bucket := 'NULL::timestamptz';
	END IF;
	maxrows := vscope._ceilo_max_rows();
	BEGIN
	EXECUTE format($q$
		-- rows come in the order of the grouping (json_agg(... ORDER BY)
		-- would sort them again)
		SELECT coalesce(json_agg(vscope._ceilo_stats_row(unit, $3, coalesce(ps, t0),
						coalesce(ps + $3 * interval '1 second', t1),
						CASE WHEN ds <= de THEN ds END, CASE WHEN ds <= de THEN de END,
						%s, st, $7, %s)), '[]'), count(*)
				  FROM (SELECT *, greatest(t0, $4) AS ds, least(t1, $5) AS de
						  FROM (SELECT p.ps, s.counter_unit AS unit %s,
									   %s AS st, min(p.t0) AS t0, max(p.t1) AS t1 %s
								  -- first per series and bucket, on integer keys
								  FROM (SELECT %s AS ps, x.tenant_id, x.series_id, %s AS st,
											   min(x.ts) AS t0, max(x.ts) AS t1
										  FROM vscope.samples x
										 WHERE x.series_id IN (SELECT s.series_id FROM vscope.sample_series s
																WHERE %s AND s.counter_name = $1)
										   AND %s
										 GROUP BY 1, 2, 3) p
								  -- then per group
								  JOIN vscope.sample_series s ON s.tenant_id = p.tenant_id AND s.series_id = p.series_id
								 GROUP BY 1, 2 %s LIMIT $6 + 1) a
						 ORDER BY coalesce(ps, t0) %s, unit) b
		$q$,
		gjson,
		CASE WHEN cardinality(card) = 0 THEN 'NULL::float8[]'
			 ELSE 'ARRAY[' || (SELECT string_agg(format('c_%s::float8', c), ', ') FROM unnest(card) c) || ']' END,
		(SELECT coalesce(string_agg(format(', %s AS g%s', gexpr[i], i), ''), '') FROM generate_subscripts(gexpr, 1) i),
		CASE WHEN stats THEN 'vscope.sample_stats_merge(p.st)' ELSE 'NULL::float8[]' END,
		(SELECT coalesce(string_agg(format(', count(DISTINCT s.%I) AS c_%s', c, c), ''), '') FROM unnest(card) c),
		bucket,
		CASE WHEN stats THEN 'vscope.sample_stats_state(x.volume)' ELSE 'NULL::float8[]' END,
		q.series_where, q.sample_where || ' AND x.ts >= $8 AND x.ts <= $9',
		(SELECT coalesce(string_agg(format(', %s', i + 2), ''), '') FROM generate_subscripts(gb, 1) i),
		(SELECT coalesce(string_agg(format(', g%s', i), ''), '') FROM generate_subscripts(gb, 1) i))
		INTO r, nrows USING meter, origin, period, q.q_start, q.q_end, maxrows,
							CASE WHEN cardinality(funcs) > 0 THEN funcs END, lo, hi;
	EXCEPTION WHEN datetime_field_overflow THEN
		-- a bucket ends after year 9999, where Ceilometer's dates end
		PERFORM vscope._ceilo_fail('400', format('Invalid period %s: date value out of range', period));
	END;
	IF nrows > maxrows THEN
		PERFORM vscope._ceilo_fail('400', format('The statistics would have more than %s rows (vscope.ceilometer_max_rows): use a longer period, fewer group-by fields or a shorter time range', maxrows));
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_statistics(text, jsonb) IS 'Ceilometer GET /v2/meters/{meter}/statistics: args holds q.*, period, groupby and aggregate.func/aggregate.param as arrays of strings';

CREATE OR REPLACE FUNCTION vscope.expire(older_than interval, max_partitions integer DEFAULT NULL)
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
			ELSE
				-- a day of samples: the spans that began or ended in it move
				-- to the samples left (vscope.sample_span, ceilometer.sql;
				-- PL/pgSQL finds it when this runs)
				PERFORM vscope._ceilo_span_dropped(p.range_start, p.range_end);
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
COMMENT ON FUNCTION vscope.expire(interval, integer) IS 'drops the daily partitions (of points and of Ceilometer samples) whose rows are all older than the interval, oldest first, at most max_partitions of them (NULL: all), returns how many, deletes the blocks of those days and older Ceilometer events, and moves the sample series'' spans to the samples left';

SELECT vscope.ceilometer_refresh_spans();

-- ---- No request runs DDL; a day is writable when its partition exists ----
-- Writers no longer make partitions: vscope.maintain() keeps the days from
-- vscope.max_past ago to vscope.max_future ahead, the owner makes others
-- with CALL vscope.add_days(), and a write to any other day is refused as
-- a bad point (OpenTSDB) or sample (Ceilometer).  Partitions are made apart
-- and then attached, which readers and writers do not wait for.
CREATE OR REPLACE FUNCTION vscope._ensure_partitions(days integer[], parent text DEFAULT 'points') RETURNS integer
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
REVOKE EXECUTE ON FUNCTION vscope._ensure_partitions(integer[], text) FROM vscope_writer;
REVOKE ALL ON FUNCTION vscope._ensure_partitions(integer[], text) FROM PUBLIC;
COMMENT ON FUNCTION vscope._ensure_partitions(integer[], text) IS 'internal: creates missing daily partitions of vscope.points or vscope.samples (made apart, then attached, so readers and writers never wait), for maintain(), add_days() and decompress(); never called by a request';

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

CREATE OR REPLACE FUNCTION vscope.maintain() RETURNS jsonb
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
	msg text;
	compressed bigint := 0;
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
	END IF;
	RETURN jsonb_build_object('created', created, 'dropped', dropped,
							  'compressed_day', day, 'compressed_points', compressed,
							  'failed_day', failed,
							  'pending', nmissing > 16 OR expiring OR vscope._compress_candidate(failed) IS NOT NULL);
END
$$;
COMMENT ON FUNCTION vscope.maintain() IS 'periodic upkeep (vscoped runs it): makes the partitions of the writable window, every day from vscope.max_past ago to vscope.max_future ahead (at most 16 days a call), drops the oldest day past vscope.retention, compresses the oldest complete day still in rows; "pending" says whether another call has more to do';

COMMENT ON TABLE vscope.points IS 'data points, range-partitioned by day; a day is writable when its partition exists (made by vscope.maintain() and vscope.add_days(), never by a write) and is dropped by vscope.expire()';

CREATE OR REPLACE FUNCTION vscope.ceilometer_post_samples(meter text, body text) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	b jsonb;
	smp jsonb;
	ready jsonb[] := '{}';		-- the samples filled in, once all are valid
	stamps timestamptz[] := '{}';
	metas jsonb[] := '{}';
	sids integer[] := '{}';
	out jsonb[] := '{}';
	k text;
	v jsonb;
	ts timestamptz;
	proj text;
	md jsonb;
BEGIN
	b := vscope._ceilo_json(body);
	IF jsonb_typeof(b) IS DISTINCT FROM 'array' THEN
		PERFORM vscope._ceilo_fail('400', 'Invalid input for field/attribute samples: the body must be a JSON list of samples');
	END IF;
	IF jsonb_array_length(b) = 0 THEN
		PERFORM vscope._ceilo_fail('400', 'Samples should be included in request body');
	END IF;
	FOR smp IN SELECT e FROM jsonb_array_elements(b) e LOOP
		IF jsonb_typeof(smp) <> 'object' THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute samples. Value: ''%s''. Each sample must be an object', smp));
		END IF;
		FOR k IN SELECT jsonb_object_keys(smp) LOOP
			IF k NOT IN ('counter_name', 'counter_type', 'counter_unit', 'counter_volume', 'resource_id',
						 'user_id', 'project_id', 'source', 'timestamp', 'recorded_at', 'resource_metadata',
						 'message_id') THEN
				PERFORM vscope._ceilo_fail('400', format('Unknown attribute for argument samples: %s', k));
			END IF;
		END LOOP;
		FOREACH k IN ARRAY ARRAY['counter_name', 'counter_type', 'counter_unit', 'counter_volume', 'resource_id'] LOOP
			IF smp -> k IS NULL OR smp -> k = 'null' THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute %s. Value: ''None''. Mandatory field missing.', k));
			END IF;
		END LOOP;
		FOREACH k IN ARRAY ARRAY['counter_name', 'counter_type', 'counter_unit', 'resource_id', 'user_id',
								 'project_id', 'source', 'timestamp', 'message_id'] LOOP
			IF jsonb_typeof(smp -> k) NOT IN ('string', 'null') THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute %s. Value: ''%s''. Wrong type. Expected ''unicode'', got ''%s''',
					k, smp -> k, jsonb_typeof(smp -> k)));
			END IF;
		END LOOP;
		FOREACH k IN ARRAY ARRAY['counter_name', 'counter_unit', 'resource_id', 'user_id', 'project_id', 'source'] LOOP
			IF octet_length(smp ->> k) > 255 THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute %s. Value: ''%s...''. longer than 255 bytes', k, left(smp ->> k, 32)));
			END IF;
		END LOOP;
		IF smp ->> 'counter_name' <> meter THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute counter_name. Value: ''%s''. should be %s', smp ->> 'counter_name', meter));
		END IF;
		IF smp ->> 'message_id' IS NOT NULL THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute message_id. Value: ''%s''. The message_id must not be set', smp ->> 'message_id'));
		END IF;
		IF smp ->> 'counter_type' NOT IN ('gauge', 'delta', 'cumulative') THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute counter_type. Value: ''%s''. The counter type must be: gauge, delta, cumulative', smp ->> 'counter_type'));
		END IF;
		v := smp -> 'counter_volume';
		IF NOT (jsonb_typeof(v) = 'number' OR (jsonb_typeof(v) = 'string' AND vscope._ceilo_num(v #>> '{}') IS NOT NULL)) THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute counter_volume. Value: ''%s''. Wrong type. Expected ''float''', v #>> '{}'));
		END IF;
		IF abs((v #>> '{}')::numeric) > 1e308 THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute counter_volume. Value: ''%s''. out of range', v #>> '{}'));
		END IF;
		md := coalesce(nullif(smp -> 'resource_metadata', 'null'), '{}');
		IF jsonb_typeof(md) <> 'object' OR EXISTS (SELECT FROM jsonb_each(md) e WHERE jsonb_typeof(e.value) <> 'string') THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute resource_metadata. Value: ''%s''. Wrong type. Expected a map of strings to strings', md));
		END IF;
		IF EXISTS (SELECT FROM jsonb_object_keys(md) k2 WHERE k2 ~ '(^\.|\.\.|\.$)') THEN
			PERFORM vscope._ceilo_fail('400', 'Invalid input for field/attribute resource_metadata: a key has an empty part between dots');
		END IF;
		IF EXISTS (SELECT FROM jsonb_object_keys(md) k2 WHERE k2 ~ '(\.[^.]*){32}') THEN
			PERFORM vscope._ceilo_fail('400', 'Invalid input for field/attribute resource_metadata: a key has more than 32 dotted parts');
		END IF;
		IF (SELECT count(*) FROM jsonb_object_keys(md)) > 1000 THEN
			PERFORM vscope._ceilo_fail('400', 'Invalid input for field/attribute resource_metadata: more than 1000 keys');
		END IF;
		ts := now();
		IF smp ->> 'timestamp' IS NOT NULL THEN
			ts := vscope._ceilo_parse_ts(smp ->> 'timestamp');
			IF ts IS NULL THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute timestamp. Value: ''%s''. invalid timestamp format', smp ->> 'timestamp'));
			END IF;
			-- as for points: not too far ahead, not already past retention
			IF ts > now() + coalesce(current_setting('vscope.max_future', true), '7d')::interval THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute timestamp. Value: ''%s''. more than vscope.max_future (%s) ahead', smp ->> 'timestamp', coalesce(current_setting('vscope.max_future', true), '7d')));
			END IF;
			IF ts < now() - vscope.retention() THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute timestamp. Value: ''%s''. older than vscope.retention (%s)', smp ->> 'timestamp', vscope.retention()));
			END IF;
		END IF;
		-- only to a day that has its partition: a request never makes one
		k := vscope._day_not_writable(ts, 'samples');
		IF k IS NOT NULL THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute timestamp. Value: ''%s''. %s',
				coalesce(smp ->> 'timestamp', vscope._ceilo_ts(ts)), k));
		END IF;
		proj := coalesce(smp ->> 'project_id', me.project);
		IF NOT me.admin AND proj IS DISTINCT FROM me.project THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute project_id. Value: ''%s''. can not post samples to other projects', proj));
		END IF;
		ready := ready || (smp - 'recorded_at' || jsonb_build_object(
			'user_id', coalesce(smp ->> 'user_id', me.usr),
			'project_id', proj,
			'source', coalesce(proj, 'None') || ':' || coalesce(smp ->> 'source', 'openstack'),
			'timestamp', vscope._ceilo_ts(ts),
			'resource_metadata', md,
			'counter_volume', vscope._ceilo_float((smp ->> 'counter_volume')::float8)::jsonb));
		stamps := stamps || ts;
		metas := metas || vscope._ceilo_renest(md);
	END LOOP;
	-- all valid, each to a day that has its partition: store them
	FOR i IN 1 .. cardinality(ready) LOOP
		smp := ready[i];
		sids := sids || vscope._ceilo_series_id(meter, smp ->> 'counter_type', smp ->> 'counter_unit',
			smp ->> 'resource_id', smp ->> 'project_id', smp ->> 'user_id', smp ->> 'source', metas[i]);
		out := out || (smp || jsonb_build_object('message_id',
			vscope._ceilo_insert_sample(sids[i], stamps[i], (smp ->> 'counter_volume')::float8)));
	END LOOP;
	-- then their series' spans, once for the whole request, the rows taken
	-- in series order: concurrent requests cannot deadlock on them,
	-- whatever the order of their samples
	PERFORM vscope._ceilo_span_widen(sids, stamps);
	RETURN to_json(out);
END
$$;

-- The planner hooks serve the first query of a session: the support
-- function, called while planning, loads the library
-- the planner support function of read_points() and _read_series(): row
-- estimates, and the library loaded before planning needs its hooks
CREATE FUNCTION vscope._read_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'vscope_read_support'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION vscope._read_support(internal) IS 'internal: planner support for read_points() and _read_series() (row estimates; loads the library so that its planner hooks serve the first query of a session)';

ALTER FUNCTION vscope.read_points(integer[], timestamptz, timestamptz) SUPPORT vscope._read_support;
ALTER FUNCTION vscope._read_series(integer, integer, timestamptz, timestamptz) SUPPORT vscope._read_support;

-- series_last: half of each page left free, so that the update every
-- write makes of its series' rows stays HOT
ALTER TABLE vscope.series_last SET (fillfactor = 50);

-- /api/config and /api/dropcaches: the settings the API shows, and the
-- per-backend caches dropped in every backend
CREATE FUNCTION vscope.settings() RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_settings'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION vscope.settings() IS 'the vscope.* settings that shape the API (limits, retention, compression) as {"name": "value"} text, for /api/config; nothing secret';
GRANT EXECUTE ON FUNCTION vscope.settings() TO vscope_reader;

CREATE FUNCTION vscope.drop_caches() RETURNS void
	AS 'MODULE_PATHNAME', 'vscope_drop_caches'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.drop_caches() IS 'empties the series cache and the known-days set of every backend (a relation cache invalidation of vscope.series and vscope.points, sent at commit), for /api/dropcaches';
REVOKE ALL ON FUNCTION vscope.drop_caches() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.drop_caches() TO vscope_admin;

-- 0.2.1: OpenTSDB annotations (/api/annotation, /api/annotation/bulk)

-- An annotation is named by its series (NULL: a global one) and its start
-- time, as OpenTSDB names it by tsuid and startTime (whole seconds)
CREATE TABLE vscope.annotations (
	tenant_id	integer NOT NULL REFERENCES vscope.tenants ON DELETE CASCADE,
	annotation_id bigint GENERATED ALWAYS AS IDENTITY,
	series_id	integer,
	start_time	timestamptz NOT NULL,
	end_time	timestamptz,
	description	text NOT NULL DEFAULT '',
	notes		text NOT NULL DEFAULT '',
	custom		jsonb,
	PRIMARY KEY (tenant_id, annotation_id),
	-- no foreign key to vscope.series (no table has one: it is truncated
	-- and rewritten freely); series ids are never reused
	UNIQUE NULLS NOT DISTINCT (tenant_id, series_id, start_time)
);
COMMENT ON TABLE vscope.annotations IS 'OpenTSDB annotations: a note on one series (or, with no series, a global one) from start_time, to end_time if set; one per series and start time';
ALTER TABLE vscope.annotations ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.annotations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.annotations
	USING (tenant_id = vscope.current_tenant());
GRANT SELECT ON vscope.annotations TO vscope_reader;
GRANT INSERT, UPDATE, DELETE ON vscope.annotations TO vscope_writer;
-- as every vscope sequence has (store.sql, coopr.sql grant them all)
GRANT USAGE ON SEQUENCE vscope.annotations_annotation_id_seq TO vscope_writer, vscope_superadmin;
SELECT pg_catalog.pg_extension_config_dump('vscope.annotations', '');

-- the OpenTSDB JSON of an annotation row: OpenTSDB's key order, times in
-- seconds, written compactly as Jackson writes it (custom's keys sorted)
CREATE FUNCTION vscope.tsdb_annotation_json(a vscope.annotations) RETURNS json
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT ('{"tsuid":' || to_json(CASE WHEN a.series_id IS NULL THEN ''
										ELSE upper(lpad(to_hex(a.series_id), 8, '0')) END)::text
			|| ',"description":' || to_json(a.description)::text
			|| ',"notes":' || to_json(a.notes)::text
			|| ',"custom":' || CASE WHEN a.custom IS NULL THEN 'null'
									ELSE (SELECT '{' || coalesce(string_agg(to_json(c.key)::text || ':' || c.value::text,
																			',' ORDER BY c.key), '') || '}'
											FROM jsonb_each(a.custom) AS c) END
			|| ',"endTime":' || coalesce(extract(epoch FROM a.end_time)::bigint, 0)
			|| ',"startTime":' || extract(epoch FROM a.start_time)::bigint || '}')::json
$$;
COMMENT ON FUNCTION vscope.tsdb_annotation_json(vscope.annotations) IS 'an annotation as OpenTSDB answers it: {"tsuid","description","notes","custom","endTime","startTime"} (seconds; tsuid '''' for a global one)';

-- the series id of a vscope tsuid of the current tenant (NULL for none):
-- the hex the lookup answers; an unknown or malformed one is a 404 / 400
CREATE FUNCTION vscope.tsdb_tsuid_series(tsuid text) RETURNS integer
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	sid integer;
BEGIN
	IF tsuid IS NULL OR tsuid = '' THEN
		RETURN NULL;
	END IF;
	IF tsuid !~ '^[0-9A-Fa-f]{1,8}$' THEN
		RAISE EXCEPTION 'Invalid TSUID: %', tsuid USING ERRCODE = 'VS400',
			DETAIL = 'A tsuid is the hexadecimal series id /api/search/lookup answers, such as 0000002A.';
	END IF;
	SELECT s.series_id INTO sid FROM vscope.series s
	 WHERE s.tenant_id = vscope.current_tenant()
	   AND s.series_id = ('x' || lpad(tsuid, 8, '0'))::bit(32)::integer;
	IF sid IS NULL THEN
		RAISE EXCEPTION 'Unable to locate TSUID: %', upper(tsuid) USING ERRCODE = 'VS404';
	END IF;
	RETURN sid;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_tsuid_series(text) IS 'the series id of an OpenTSDB tsuid of the current tenant (NULL for an empty one); 400 when malformed, 404 when unknown';

-- seconds (or milliseconds, 13 digits and more) of a JSON/text time; NULL when absent or 0
CREATE FUNCTION vscope.tsdb_annotation_time(v text) RETURNS timestamptz
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n bigint;
BEGIN
	IF v IS NULL OR v = '' THEN
		RETURN NULL;
	END IF;
	BEGIN
		n := v::numeric::bigint;
	EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
		RAISE EXCEPTION 'Invalid time: %', v USING ERRCODE = 'VS400',
			DETAIL = 'Annotation times are Unix seconds (or milliseconds).';
	END;
	IF n <= 0 THEN
		RETURN NULL;
	END IF;
	IF n > 9999999999 THEN
		n := n / 1000;
	END IF;
	RETURN to_timestamp(n);
END
$$;
COMMENT ON FUNCTION vscope.tsdb_annotation_time(text) IS 'an annotation time in Unix seconds or milliseconds as a timestamptz (NULL when absent or 0)';

-- one annotation written: PUT replaces every field, POST (merge) keeps
-- those the request leaves out
CREATE FUNCTION vscope.tsdb_annotation_write(request jsonb, replace boolean) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	sid integer;
	st timestamptz;
	et timestamptz;
	a vscope.annotations;
BEGIN
	IF jsonb_typeof(request) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'Unable to parse the annotation' USING ERRCODE = 'VS400',
			HINT = 'Send {"tsuid": "0000002A", "startTime": 1369141261, "description": "..."}.';
	END IF;
	sid := vscope.tsdb_tsuid_series(request->>'tsuid');
	st := vscope.tsdb_annotation_time(request->>'startTime');
	et := vscope.tsdb_annotation_time(request->>'endTime');
	IF st IS NULL THEN
		RAISE EXCEPTION 'Missing start time' USING ERRCODE = 'VS400';
	END IF;
	IF request ? 'custom' AND jsonb_typeof(request->'custom') NOT IN ('object', 'null') THEN
		RAISE EXCEPTION 'Invalid custom field' USING ERRCODE = 'VS400',
			DETAIL = 'custom is an object of string values.';
	END IF;
	INSERT INTO vscope.annotations AS x (tenant_id, series_id, start_time, end_time, description, notes, custom)
	VALUES (vscope.current_tenant(), sid, st, et, coalesce(request->>'description', ''),
			coalesce(request->>'notes', ''), nullif(request->'custom', 'null'))
	ON CONFLICT (tenant_id, series_id, start_time) DO UPDATE SET
		end_time = CASE WHEN replace OR request ? 'endTime' THEN excluded.end_time ELSE x.end_time END,
		description = CASE WHEN replace OR request ? 'description' THEN excluded.description ELSE x.description END,
		notes = CASE WHEN replace OR request ? 'notes' THEN excluded.notes ELSE x.notes END,
		custom = CASE WHEN replace THEN excluded.custom
					  WHEN request ? 'custom' THEN CASE WHEN excluded.custom IS NULL THEN x.custom
													 ELSE coalesce(x.custom, '{}') || excluded.custom END
					  ELSE x.custom END
	RETURNING * INTO a;
	RETURN vscope.tsdb_annotation_json(a);
END
$$;
COMMENT ON FUNCTION vscope.tsdb_annotation_write(jsonb, boolean) IS 'creates or updates one OpenTSDB annotation of the current tenant from {"tsuid","startTime","endTime","description","notes","custom"}: replace (PUT) sets every field, else (POST) only those given, custom merged';

-- /api/annotation: GET reads, POST merges, PUT replaces, DELETE deletes one
-- annotation named by tsuid (none: global) and startTime
CREATE FUNCTION vscope.tsdb_annotation(method text, request jsonb) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	sid integer;
	st timestamptz;
	a vscope.annotations;
BEGIN
	IF method IN ('POST', 'PUT') THEN
		RETURN vscope.tsdb_annotation_write(request, method = 'PUT');
	END IF;
	IF method NOT IN ('GET', 'DELETE') THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405';
	END IF;
	sid := vscope.tsdb_tsuid_series(coalesce(request->>'tsuid', ''));
	st := vscope.tsdb_annotation_time(coalesce(request->>'startTime', request->>'start_time'));
	IF st IS NULL THEN
		RAISE EXCEPTION 'Missing start time' USING ERRCODE = 'VS400';
	END IF;
	IF method = 'GET' THEN
		SELECT * INTO a FROM vscope.annotations x
		 WHERE x.tenant_id = vscope.current_tenant() AND x.series_id IS NOT DISTINCT FROM sid AND x.start_time = st;
	ELSE
		DELETE FROM vscope.annotations x
		 WHERE x.tenant_id = vscope.current_tenant() AND x.series_id IS NOT DISTINCT FROM sid AND x.start_time = st
		RETURNING * INTO a;
	END IF;
	IF a.annotation_id IS NULL THEN
		RAISE EXCEPTION 'Unable to locate annotation in storage' USING ERRCODE = 'VS404';
	END IF;
	RETURN vscope.tsdb_annotation_json(a);
END
$$;
COMMENT ON FUNCTION vscope.tsdb_annotation(text, jsonb) IS 'OpenTSDB /api/annotation for the current tenant: GET or DELETE {"tsuid","startTime"} (no tsuid: a global annotation), POST merges, PUT replaces';

-- /api/annotation/bulk: POST (or PUT) a list of annotations; DELETE those
-- of tsuids (or the global ones) starting in [startTime, endTime]
CREATE FUNCTION vscope.tsdb_annotation_bulk(method text, request jsonb) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	sids integer[];
	st timestamptz;
	et timestamptz;
	n bigint;
	glob boolean;
BEGIN
	IF method IN ('POST', 'PUT') THEN
		IF jsonb_typeof(request) IS DISTINCT FROM 'array' THEN
			RAISE EXCEPTION 'Unable to parse the annotation list' USING ERRCODE = 'VS400',
				HINT = 'POST a JSON array of annotations.';
		END IF;
		RETURN (SELECT ('[' || coalesce(string_agg(vscope.tsdb_annotation_write(e, method = 'PUT')::text, ',' ORDER BY o), '') || ']')::json
				  FROM jsonb_array_elements(request) WITH ORDINALITY AS f(e, o));
	END IF;
	IF method <> 'DELETE' THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405';
	END IF;
	IF jsonb_typeof(request) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'Unable to parse the bulk delete request' USING ERRCODE = 'VS400';
	END IF;
	glob := coalesce(request->>'global', 'false') = 'true';
	st := vscope.tsdb_annotation_time(request->>'startTime');
	et := coalesce(vscope.tsdb_annotation_time(request->>'endTime'), 'infinity');
	IF st IS NULL THEN
		RAISE EXCEPTION 'Missing start time' USING ERRCODE = 'VS400';
	END IF;
	IF request ? 'tsuids' AND jsonb_typeof(request->'tsuids') = 'string' THEN
		request := jsonb_set(request, '{tsuids}', to_jsonb(string_to_array(request->>'tsuids', ',')));
	END IF;
	IF NOT glob AND jsonb_array_length(coalesce(request->'tsuids', '[]')) = 0 THEN
		RAISE EXCEPTION 'Missing the TSUIDs or global annotations flag' USING ERRCODE = 'VS400';
	END IF;
	SELECT array_agg(vscope.tsdb_tsuid_series(t)) INTO sids
	  FROM jsonb_array_elements_text(coalesce(request->'tsuids', '[]')) AS f(t);
	DELETE FROM vscope.annotations x
	 WHERE x.tenant_id = vscope.current_tenant()
	   AND ((glob AND x.series_id IS NULL) OR x.series_id = ANY (sids))
	   AND x.start_time BETWEEN st AND et;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN json_build_object('tsuids', coalesce(request->'tsuids', '[]'), 'global', glob,
							 'startTime', extract(epoch FROM st)::bigint * 1000,
							 'endTime', CASE WHEN et = 'infinity' THEN 0 ELSE extract(epoch FROM et)::bigint * 1000 END,
							 'totalDeleted', n);
END
$$;
COMMENT ON FUNCTION vscope.tsdb_annotation_bulk(text, jsonb) IS 'OpenTSDB /api/annotation/bulk for the current tenant: POST/PUT a list of annotations (answers the list written); DELETE {"tsuids": [...], "global": bool, "startTime", "endTime"} (answers totalDeleted)';

GRANT EXECUTE ON FUNCTION vscope.tsdb_annotation(text, jsonb), vscope.tsdb_annotation_bulk(text, jsonb) TO vscope_reader;

-- ==== Warp 10: tokens, series and points (sql/warp10.sql) ====

-- Runs as the extension owner: a token is looked up before its tenant is
-- known (as vscope.authenticate() does); only its tenant and scopes come out.
CREATE FUNCTION vscope._warp10_token(token text)
	RETURNS TABLE (tenant_id integer, scopes text[])
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT k.tenant_id, k.scopes FROM vscope.tokens k
	 WHERE k.token_hash = sha256(convert_to(token, 'UTF8')) AND k.revoked_at IS NULL
$$;
COMMENT ON FUNCTION vscope._warp10_token(text) IS 'internal: the tenant and scopes of an active token (none if unknown or revoked), for the Warp 10 functions, which then act for that tenant';
REVOKE ALL ON FUNCTION vscope._warp10_token(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._warp10_token(text) TO vscope_reader;

CREATE FUNCTION vscope.warp10_find(token text, selector text)
	RETURNS TABLE (class text, labels jsonb)
	AS 'MODULE_PATHNAME', 'vscope_warp10_find'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.warp10_find(text, text) IS 'Warp 10 FIND: the series of the token''s tenant (NULL: the session''s) matching the selectors (class{label=value,label~regex} ..., percent-encoded, regexes matching whole values), ordered by class and labels; the transaction then acts for that tenant';
REVOKE ALL ON FUNCTION vscope.warp10_find(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.warp10_find(text, text) TO vscope_reader;

CREATE FUNCTION vscope.warp10_fetch(token text, selector text, start_us bigint,
									end_us bigint, count bigint)
	RETURNS TABLE (class text, labels jsonb, ticks bigint[], lvalues bigint[],
				   dvalues double precision[])
	AS 'MODULE_PATHNAME', 'vscope_warp10_fetch'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.warp10_fetch(text, text, bigint, bigint, bigint) IS 'Warp 10 FETCH: per series of the token''s tenant (NULL: the session''s) matching the selectors with points in [start_us, end_us] (Unix microseconds, both inclusive; start_us NULL: no lower bound), its newest count points (NULL: all), newest first, read through the reader; each point a LONG (lvalues) or a DOUBLE (dvalues), the other NULL';
REVOKE ALL ON FUNCTION vscope.warp10_fetch(text, text, bigint, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.warp10_fetch(text, text, bigint, bigint, bigint) TO vscope_reader;

-- ==== Warp 10: /api/v0/fetch and /api/v0/find (sql/warp10.sql) ====


CREATE FUNCTION vscope.warp10_fetch_request(token text, args jsonb) RETURNS text
	AS 'MODULE_PATHNAME', 'vscope_warp10_fetch_request'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.warp10_fetch_request(text, jsonb) IS 'Warp 10 GET /api/v0/fetch: its query-string parameters as {"name": "value"} (selector, now/end/stop, start, timespan, count, format text|fulltext|json|tsv|fulltsv, dedup, showattr) answered with the body, points newest first; the token''s tenant only';
REVOKE ALL ON FUNCTION vscope.warp10_fetch_request(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.warp10_fetch_request(text, jsonb) TO vscope_reader;

CREATE FUNCTION vscope.warp10_find_request(token text, args jsonb) RETURNS text
	AS 'MODULE_PATHNAME', 'vscope_warp10_find_request'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.warp10_find_request(text, jsonb) IS 'Warp 10 GET /api/v0/find: its query-string parameters as {"name": "value"} (selector, format json, showattr, gskip, limit/gcount) answered with the body, one series a line; the token''s tenant only';
REVOKE ALL ON FUNCTION vscope.warp10_find_request(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.warp10_find_request(text, jsonb) TO vscope_reader;

-- ==== Warp 10: /api/v0/update (sql/warp10.sql) ====

CREATE FUNCTION vscope.warp10_update(body text) RETURNS bigint
	AS 'MODULE_PATHNAME', 'vscope_warp10_update'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.warp10_update(text) IS 'Warp 10 POST /api/v0/update for the current tenant: GTS input format lines (TS// class{labels} value, =TS// value continuations), LONG and DOUBLE values; all stored or, at the first line vscope cannot store, none; returns the points written';
REVOKE ALL ON FUNCTION vscope.warp10_update(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.warp10_update(text) TO vscope_writer;

-- ==== Warp 10: the metricsToken's warpEndpoint is served (sql/vscope_live.sql) ====

COMMENT ON FUNCTION vscope.metrics_token(text, bigint, text) IS 'vScope metricsToken: a new read token for the service (the previous one of that user is revoked), for OpenTSDB and Warp 10 alike: warpEndpoint and opentsdbEndpoint are both the endpoint given (vscoped''s URL)';

-- ==== issue 12 (helper B): uid meta, tsuids, deleting queries ====
-- OpenTSDB /api/uid/assign, /api/uid/uidmeta, /api/uid/tsmeta, tsuids in
-- queries, deleting queries, annotations expired with their points
-- (issue 12)

CREATE OR REPLACE FUNCTION vscope.delete_points(series integer[], start_ts timestamptz, end_ts timestamptz)
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'vscope_delete_points'
	LANGUAGE C VOLATILE STRICT SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION vscope.delete_points(integer[], timestamptz, timestamptz) IS 'deletes the current tenant''s points of these series in [start_ts, end_ts) from rows and compressed blocks (blocks re-encoded with their summaries), and keeps series_last right; returns how many stored points went; for writers';

REVOKE ALL ON FUNCTION vscope.delete_points(integer[], timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.delete_points(integer[], timestamptz, timestamptz) TO vscope_writer;

CREATE OR REPLACE FUNCTION vscope.expire(older_than interval, max_partitions integer DEFAULT NULL)
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
			ELSE
				-- a day of samples: the spans that began or ended in it move
				-- to the samples left (vscope.sample_span, ceilometer.sql;
				-- PL/pgSQL finds it when this runs)
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
	DELETE FROM vscope.annotations a
	 WHERE a.start_time < date_trunc('day', now() - older_than)
	   AND NOT EXISTS (SELECT FROM vscope.partitions('points') x
						WHERE a.start_time >= x.range_start AND a.start_time < x.range_end);
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
COMMENT ON FUNCTION vscope.expire(interval, integer) IS 'drops the daily partitions (of points and of Ceilometer samples) whose rows are all older than the interval, oldest first, at most max_partitions of them (NULL: all), returns how many, deletes the blocks of those days, the OpenTSDB annotations of the days gone and older Ceilometer events, and moves the sample series'' spans to the samples left';

-- OpenTSDB's deleting query (DELETE /api/query, "delete": true): the answer
-- of the query, then its series' points in its range deleted; refused
-- unless vscope.query_allow_delete is on, and to roles that cannot write
CREATE OR REPLACE FUNCTION vscope.tsdb_query_delete(request jsonb) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_query_delete'
	LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION vscope.tsdb_query_delete(jsonb) IS 'answers an OpenTSDB /api/query body as tsdb_query() does, then deletes the points of every series it selected in [start, end] (and their annotations starting then); needs vscope.query_allow_delete and a writer';

CREATE OR REPLACE FUNCTION vscope.tsdb_query_delete_get(args jsonb) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_query_delete_get'
	LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION vscope.tsdb_query_delete_get(jsonb) IS 'tsdb_query_delete() from the GET form''s query-string arguments (DELETE /api/query?start=...&m=...)';

GRANT EXECUTE ON FUNCTION vscope.tsdb_query_delete(jsonb), vscope.tsdb_query_delete_get(jsonb) TO vscope_reader;

CREATE OR REPLACE FUNCTION vscope.tsdb_suggest(type text, q text DEFAULT '', max text DEFAULT '25')
	RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n integer;
	result json;
BEGIN
	IF type IS NULL OR type = '' THEN
		RAISE EXCEPTION 'missing ''type'' parameter' USING ERRCODE = 'VS400',
			HINT = 'type is metrics, tagk or tagv.';
	END IF;
	IF type NOT IN ('metrics', 'tagk', 'tagv') THEN
		RAISE EXCEPTION 'invalid ''type'' parameter:%', type USING ERRCODE = 'VS400',
			HINT = 'type is metrics, tagk or tagv.';
	END IF;
	BEGIN
		n := coalesce(nullif(max, ''), '25')::integer;
	EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
		RAISE EXCEPTION 'unable to parse ''max'' as a number' USING ERRCODE = 'VS400';
	END;
	q := coalesce(q, '');
	-- the names series carry, and those /api/uid/assign gave a UID
	IF type = 'metrics' THEN
		SELECT coalesce(json_agg(m ORDER BY m COLLATE "C"), '[]') INTO result
		  FROM (SELECT s.metric COLLATE "C" AS m FROM vscope.series s
				 WHERE s.tenant_id = vscope.current_tenant() AND starts_with(s.metric, q)
				 UNION
				SELECT u.name FROM vscope.uid_meta u
				 WHERE u.tenant_id = vscope.current_tenant() AND u.type = 'metric'
				   AND u.assigned_at IS NOT NULL AND starts_with(u.name, q)
				 ORDER BY 1 LIMIT greatest(n, 0)) x;
	ELSIF type = 'tagk' THEN
		SELECT coalesce(json_agg(m ORDER BY m COLLATE "C"), '[]') INTO result
		  FROM (SELECT k COLLATE "C" AS m FROM vscope.series s, jsonb_object_keys(s.tags) k
				 WHERE s.tenant_id = vscope.current_tenant() AND starts_with(k, q)
				 UNION
				SELECT u.name FROM vscope.uid_meta u
				 WHERE u.tenant_id = vscope.current_tenant() AND u.type = 'tagk'
				   AND u.assigned_at IS NOT NULL AND starts_with(u.name, q)
				 ORDER BY 1 LIMIT greatest(n, 0)) x;
	ELSE
		SELECT coalesce(json_agg(m ORDER BY m COLLATE "C"), '[]') INTO result
		  FROM (SELECT t.value COLLATE "C" AS m FROM vscope.series s, jsonb_each_text(s.tags) t
				 WHERE s.tenant_id = vscope.current_tenant() AND starts_with(t.value, q)
				 UNION
				SELECT u.name FROM vscope.uid_meta u
				 WHERE u.tenant_id = vscope.current_tenant() AND u.type = 'tagv'
				   AND u.assigned_at IS NOT NULL AND starts_with(u.name, q)
				 ORDER BY 1 LIMIT greatest(n, 0)) x;
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_suggest(text, text, text) IS 'OpenTSDB /api/suggest: metric names, tag keys or tag values of the current tenant (carried by its series, or given a UID by /api/uid/assign) starting with q, in byte order, at most max';

-- /api/query/last: the latest point of each series matching a metric and
-- exact tag values, optionally no older than back_scan hours
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
		-- tsuids, when given, name the series (the metric and tags are ignored)
		IF jsonb_typeof(q->'tsuids') = 'array' AND jsonb_array_length(q->'tsuids') > 0 THEN
			PERFORM vscope._tsdb_tsuid_id(t) FROM jsonb_array_elements_text(q->'tsuids') AS t;
			CONTINUE;
		END IF;
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
		ON s.tenant_id = _tid
	   AND CASE WHEN jsonb_typeof(r.q->'tsuids') = 'array' AND jsonb_array_length(r.q->'tsuids') > 0
				THEN s.series_id IN (SELECT vscope._tsdb_tsuid_id(t) FROM jsonb_array_elements_text(r.q->'tsuids') AS t)
				ELSE s.metric = r.q->>'metric' AND s.tags @> coalesce(r.q->'tags', '{}') END
	  JOIN vscope.series_last l
		ON l.tenant_id = s.tenant_id AND l.series_id = s.series_id
	   AND (back_scan <= 0 OR l.ts >= now() - make_interval(hours => back_scan));
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_last(jsonb) IS 'OpenTSDB /api/query/last: the latest point of each series matching {"queries":[{"metric","tags"} or {"tsuids":[...]}],"backScan":hours}';

CREATE OR REPLACE FUNCTION vscope.tsdb_last_get(args jsonb) RETURNS json
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT vscope.tsdb_last(jsonb_build_object(
		'queries', (SELECT coalesce(jsonb_agg(jsonb_build_object(
							'metric', p.metric,
							'tags', (SELECT coalesce(jsonb_object_agg(t->>'key', t->>'value'), '{}')
									   FROM jsonb_array_elements(p.tags) t))), '[]')
					  FROM jsonb_array_elements_text(coalesce(args->'timeseries', '[]')) AS ts(m),
						   vscope.tsdb_parse_m(ts.m) p)
				   -- tsuids=A,B (repeatable): one query of those series each
				   || (SELECT coalesce(jsonb_agg(jsonb_build_object('tsuids', to_jsonb(string_to_array(t.v, ',')))), '[]')
						 FROM jsonb_array_elements_text(coalesce(args->'tsuids', '[]')) AS t(v)),
		'backScan', args->'back_scan'->>0))
$$;
COMMENT ON FUNCTION vscope.tsdb_last_get(jsonb) IS 'the GET form of /api/query/last: timeseries=metric{k=v} and tsuids=A,B (both repeatable), back_scan=hours';

-- a TSUID's series id, without looking it up (NULL for none); 400 when malformed
CREATE OR REPLACE FUNCTION vscope._tsdb_tsuid_id(tsuid text) RETURNS integer
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF tsuid IS NULL OR tsuid = '' THEN
		RETURN NULL;
	END IF;
	IF tsuid !~ '^[0-9A-Fa-f]{1,8}$' OR ('x' || lpad(tsuid, 8, '0'))::bit(32)::integer <= 0 THEN
		RAISE EXCEPTION 'Invalid TSUID: %', tsuid USING ERRCODE = 'VS400',
			DETAIL = 'A tsuid is the hexadecimal series id /api/search/lookup answers, such as 0000002A.';
	END IF;
	RETURN ('x' || lpad(tsuid, 8, '0'))::bit(32)::integer;
END
$$;
COMMENT ON FUNCTION vscope._tsdb_tsuid_id(text) IS 'internal: the series id a TSUID names (8 hex digits or fewer), not looked up; NULL for an empty one, 400 when malformed';

-- /api/annotation: GET reads, POST merges, PUT replaces, DELETE deletes one
-- annotation named by tsuid (none: global) and startTime
CREATE OR REPLACE FUNCTION vscope.tsdb_annotation(method text, request jsonb) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	sid integer;
	st timestamptz;
	a vscope.annotations;
BEGIN
	IF method IN ('POST', 'PUT') THEN
		RETURN vscope.tsdb_annotation_write(request, method = 'PUT');
	END IF;
	IF method NOT IN ('GET', 'DELETE') THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405';
	END IF;
	-- as OpenTSDB: a tsuid is not looked up (one of no series has no
	-- annotation: 404 for a read), and a delete answers 204 whether or not
	-- there was one
	sid := vscope._tsdb_tsuid_id(request->>'tsuid');
	st := vscope.tsdb_annotation_time(coalesce(request->>'startTime', request->>'start_time'));
	IF st IS NULL THEN
		RAISE EXCEPTION 'Missing start time' USING ERRCODE = 'VS400';
	END IF;
	IF method = 'DELETE' THEN
		DELETE FROM vscope.annotations x
		 WHERE x.tenant_id = vscope.current_tenant() AND x.series_id IS NOT DISTINCT FROM sid AND x.start_time = st;
		RETURN NULL;
	END IF;
	SELECT * INTO a FROM vscope.annotations x
	 WHERE x.tenant_id = vscope.current_tenant() AND x.series_id IS NOT DISTINCT FROM sid AND x.start_time = st;
	IF a.annotation_id IS NULL THEN
		RAISE EXCEPTION 'Unable to locate annotation in storage' USING ERRCODE = 'VS404';
	END IF;
	RETURN vscope.tsdb_annotation_json(a);
END
$$;
COMMENT ON FUNCTION vscope.tsdb_annotation(text, jsonb) IS 'OpenTSDB /api/annotation for the current tenant: GET or DELETE {"tsuid","startTime"} (no tsuid: a global annotation; DELETE answers NULL), POST merges, PUT replaces';

-- /api/annotation/bulk: POST (or PUT) a list of annotations; DELETE those
-- of tsuids (or the global ones) starting in [startTime, endTime] (times as
-- /api/query takes them; endTime now when left out), answered as OpenTSDB's
-- AnnotationBulkDelete: tsuids, global, startTime, endTime (ms), totalDeleted
CREATE OR REPLACE FUNCTION vscope.tsdb_annotation_bulk(method text, request jsonb) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	sids integer[];
	st bigint;
	et bigint;
	n bigint;
	glob boolean;
	tsuids jsonb;
BEGIN
	IF method IN ('POST', 'PUT') THEN
		IF jsonb_typeof(request) IS DISTINCT FROM 'array' THEN
			RAISE EXCEPTION 'Unable to parse the annotation list' USING ERRCODE = 'VS400',
				HINT = 'POST a JSON array of annotations.';
		END IF;
		RETURN (SELECT ('[' || coalesce(string_agg(vscope.tsdb_annotation_write(e, method = 'PUT')::text, ',' ORDER BY o), '') || ']')::json
				  FROM jsonb_array_elements(request) WITH ORDINALITY AS f(e, o));
	END IF;
	IF method <> 'DELETE' THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405';
	END IF;
	IF jsonb_typeof(request) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'Unable to parse the bulk delete request' USING ERRCODE = 'VS400';
	END IF;
	-- the body's startTime, or the query string's start_time
	IF NOT request ? 'startTime' AND request ? 'start_time' THEN
		request := request || jsonb_build_object('startTime', request->'start_time', 'endTime', request->'end_time');
	END IF;
	IF coalesce(request->>'startTime', '') = '' THEN
		RAISE EXCEPTION 'Missing the start time value' USING ERRCODE = 'VS400';
	END IF;
	-- a boolean in a body; in a query string, being there says true
	glob := CASE jsonb_typeof(request->'global') WHEN 'boolean' THEN (request->'global')::boolean
				 WHEN 'null' THEN true WHEN 'string' THEN lower(request->>'global') <> 'false'
				 ELSE false END;
	tsuids := CASE jsonb_typeof(request->'tsuids')
			  WHEN 'string' THEN (SELECT coalesce(jsonb_agg(btrim(t)), '[]')
									FROM unnest(string_to_array(request->>'tsuids', ',')) AS t)
			  WHEN 'array' THEN request->'tsuids' ELSE '[]' END;
	IF NOT glob AND jsonb_array_length(tsuids) = 0 THEN
		RAISE EXCEPTION 'Missing the TSUIDs or global annotations flag' USING ERRCODE = 'VS400';
	END IF;
	st := vscope._tsdb_time_ms(request->>'startTime');
	et := coalesce(vscope._tsdb_time_ms(nullif(request->>'endTime', '')),
				   (extract(epoch FROM statement_timestamp()) * 1000)::bigint);
	IF et < st THEN
		RAISE EXCEPTION 'The end timestamp cannot be less than the start timestamp' USING ERRCODE = 'VS400';
	END IF;
	-- tsuids are not looked up: one of no series has no annotation
	SELECT array_agg(vscope._tsdb_tsuid_id(t)) INTO sids FROM jsonb_array_elements_text(tsuids) AS f(t);
	DELETE FROM vscope.annotations x
	 WHERE x.tenant_id = vscope.current_tenant()
	   AND ((glob AND x.series_id IS NULL) OR x.series_id = ANY (sids))
	   AND x.start_time BETWEEN to_timestamp(st / 1000.0) AND to_timestamp(et / 1000.0);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN ('{"tsuids":[' || coalesce((SELECT string_agg(to_json(t)::text, ',' ORDER BY o)
										 FROM jsonb_array_elements_text(tsuids) WITH ORDINALITY AS f(t, o)), '')
			|| '],"global":' || glob || ',"startTime":' || st
			|| ',"endTime":' || et || ',"totalDeleted":' || n || '}')::json;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_annotation_bulk(text, jsonb) IS 'OpenTSDB /api/annotation/bulk for the current tenant: POST/PUT a list of annotations (answers the list written); DELETE {"tsuids": [...], "global": bool, "startTime", "endTime"} (answers them with totalDeleted)';

--------------------------------------------------------------------------------
-- OpenTSDB meta data (/api/uid/assign, /api/uid/uidmeta, /api/uid/tsmeta)
--------------------------------------------------------------------------------

-- vscope keeps no table of UIDs: a metric, tag key or tag value exists when
-- a series of the tenant carries it (or /api/uid/assign named it), and its
-- UID is its name's UTF-8 bytes in upper-case hex ("sys.cpu" is
-- 7379732E637075): stable, the same in every tenant, and read back into
-- the name without a lookup.  A TSUID is a series' id in 8 hex digits, as
-- /api/search/lookup and showTSUIDs answer it.

-- OpenTSDB's name check (Tags.validateString), as every put makes it: the
-- error text, or NULL for a good name
CREATE OR REPLACE FUNCTION vscope._tsdb_check_name(what text, name text) RETURNS text
	AS 'MODULE_PATHNAME', 'vscope_tsdb_check_name'
	LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION vscope._tsdb_check_name(text, text) IS 'internal: OpenTSDB''s error for a bad metric, tag key or tag value (Invalid metric ("a!"): illegal character: !), NULL for a good one';

CREATE OR REPLACE FUNCTION vscope._java_double(v double precision) RETURNS text
	AS 'MODULE_PATHNAME', 'vscope_java_double'
	LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION vscope._java_double(double precision) IS 'internal: a double as Java''s Double.toString writes it (100.0, 1.0E-4, NaN)';

CREATE OR REPLACE FUNCTION vscope._tsdb_time_ms(t text, tz text DEFAULT NULL, is_end boolean DEFAULT false)
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'vscope_tsdb_time_ms'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION vscope._tsdb_time_ms(text, text, boolean) IS 'internal: an OpenTSDB time (seconds, milliseconds, 1h-ago, now, 2013/01/01 00:00 in tz) in Unix milliseconds; NULL for NULL';

-- Names given UIDs by /api/uid/assign before any series carries them, and
-- the user's fields of a name's UIDMeta; a name with neither has no row
CREATE TABLE vscope.uid_meta (
	tenant_id	integer NOT NULL REFERENCES vscope.tenants ON DELETE CASCADE,
	type		text NOT NULL CHECK (type IN ('metric', 'tagk', 'tagv')),
	name		text NOT NULL,
	-- when /api/uid/assign gave the name its UID (NULL: it was not assigned)
	assigned_at	timestamptz,
	display_name text NOT NULL DEFAULT '',
	description	text NOT NULL DEFAULT '',
	notes		text NOT NULL DEFAULT '',
	custom		jsonb,
	PRIMARY KEY (tenant_id, type, name)
);
COMMENT ON TABLE vscope.uid_meta IS 'OpenTSDB UID meta data of metrics, tag keys and tag values: names assigned by /api/uid/assign, and the display name, description, notes and custom fields of /api/uid/uidmeta';
ALTER TABLE vscope.uid_meta ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.uid_meta FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.uid_meta
	USING (tenant_id = vscope.current_tenant());
GRANT SELECT ON vscope.uid_meta TO vscope_reader;
GRANT INSERT, UPDATE, DELETE ON vscope.uid_meta TO vscope_writer;
SELECT pg_catalog.pg_extension_config_dump('vscope.uid_meta', '');

-- The user's fields of a series' TSMeta; a series without a row has the
-- defaults.  No foreign key to vscope.series (see vscope.annotations).
CREATE TABLE vscope.series_meta (
	tenant_id	integer NOT NULL REFERENCES vscope.tenants ON DELETE CASCADE,
	series_id	integer NOT NULL,
	display_name text NOT NULL DEFAULT '',
	description	text NOT NULL DEFAULT '',
	notes		text NOT NULL DEFAULT '',
	custom		jsonb,
	units		text NOT NULL DEFAULT '',
	data_type	text NOT NULL DEFAULT '',
	retention	integer NOT NULL DEFAULT 0,
	max			double precision NOT NULL DEFAULT 'NaN',
	min			double precision NOT NULL DEFAULT 'NaN',
	PRIMARY KEY (tenant_id, series_id)
);
COMMENT ON TABLE vscope.series_meta IS 'OpenTSDB TSMeta of a series (/api/uid/tsmeta): display name, description, notes, custom fields, units, data type, and the user''s retention, max and min';
ALTER TABLE vscope.series_meta ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.series_meta FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.series_meta
	USING (tenant_id = vscope.current_tenant());
GRANT SELECT ON vscope.series_meta TO vscope_reader;
GRANT INSERT, UPDATE, DELETE ON vscope.series_meta TO vscope_writer;
SELECT pg_catalog.pg_extension_config_dump('vscope.series_meta', '');

-- the UID of a name, and the name of a UID
CREATE OR REPLACE FUNCTION vscope.tsdb_uid(name text) RETURNS text
	LANGUAGE sql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT upper(encode(convert_to(name, 'UTF8'), 'hex')) $$;
COMMENT ON FUNCTION vscope.tsdb_uid(text) IS 'the OpenTSDB UID vscope gives a metric, tag key or tag value: its UTF-8 bytes in upper-case hex';

CREATE OR REPLACE FUNCTION vscope.tsdb_uid_name(uid text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF uid IS NULL OR uid !~ '^([0-9A-Fa-f]{2})+$' THEN
		RAISE EXCEPTION 'Invalid UID: %', coalesce(uid, '') USING ERRCODE = 'VS400',
			DETAIL = 'A vscope UID is a name''s UTF-8 bytes in hexadecimal, as /api/uid/assign and /api/uid/tsmeta answer it.';
	END IF;
	RETURN convert_from(decode(uid, 'hex'), 'UTF8');
EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character THEN
	RAISE EXCEPTION 'Invalid UID: %', uid USING ERRCODE = 'VS400',
		DETAIL = 'Its bytes are not a UTF-8 name.';
END
$$;
COMMENT ON FUNCTION vscope.tsdb_uid_name(text) IS 'the name a vscope UID stands for (its hex decoded as UTF-8); 400 when it is not one';

-- a UID type as OpenTSDB reads it (metric or metrics, tagk, tagv)
CREATE OR REPLACE FUNCTION vscope._tsdb_uid_type(type text) RETURNS text
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF lower(type) IN ('metric', 'metrics') THEN
		RETURN 'metric';
	ELSIF lower(type) IN ('tagk', 'tagv') THEN
		RETURN lower(type);
	END IF;
	RAISE EXCEPTION 'Invalid type requested: %', coalesce(type, 'null') USING ERRCODE = 'VS400',
		HINT = 'The type is metric, tagk or tagv.';
END
$$;
COMMENT ON FUNCTION vscope._tsdb_uid_type(text) IS 'internal: metric, tagk or tagv from a UID type as OpenTSDB accepts it (metric, metrics, tagk, tagv in any case); 400 otherwise';

-- a request body as JSON (NULL for none); 400 in OpenTSDB's words when it is not
CREATE OR REPLACE FUNCTION vscope._tsdb_body(body text) RETURNS jsonb
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF body IS NULL OR body = '' THEN
		RETURN NULL;
	END IF;
	RETURN body::jsonb;
EXCEPTION WHEN data_exception THEN
	RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400', DETAIL = SQLERRM;
END
$$;
COMMENT ON FUNCTION vscope._tsdb_body(text) IS 'internal: a request body parsed as JSON (NULL when empty); 400 "Unable to parse the given JSON" when it is not';

-- custom fields as OpenTSDB keeps them (a map of strings): numbers and
-- booleans become their text, objects and arrays are refused
CREATE OR REPLACE FUNCTION vscope._tsdb_custom(c jsonb) RETURNS jsonb
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF c IS NULL OR jsonb_typeof(c) = 'null' THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(c) <> 'object' OR EXISTS (
			SELECT FROM jsonb_each(c) e WHERE jsonb_typeof(e.value) IN ('object', 'array')) THEN
		RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400',
			DETAIL = 'custom is an object of string values.';
	END IF;
	RETURN (SELECT coalesce(jsonb_object_agg(e.key, CASE WHEN jsonb_typeof(e.value) = 'null' THEN e.value
														ELSE to_jsonb(e.value #>> '{}') END), '{}')
			  FROM jsonb_each(c) e);
END
$$;
COMMENT ON FUNCTION vscope._tsdb_custom(jsonb) IS 'internal: custom fields as a map of strings (NULL for none); 400 for anything else';

-- custom fields written as Jackson writes them: compact, keys in order
CREATE OR REPLACE FUNCTION vscope._tsdb_custom_json(c jsonb) RETURNS text
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT CASE WHEN c IS NULL THEN 'null'
				ELSE '{' || coalesce((SELECT string_agg(to_json(e.key)::text || ':'
														|| coalesce(to_json(e.value #>> '{}')::text, 'null'),
														',' ORDER BY e.key COLLATE "C")
										FROM jsonb_each(c) e), '') || '}' END
$$;
COMMENT ON FUNCTION vscope._tsdb_custom_json(jsonb) IS 'internal: custom fields as compact JSON text, keys in byte order; null for none';

-- does the name exist for the tenant: carried by a series, or assigned
CREATE OR REPLACE FUNCTION vscope._tsdb_uid_exists(type text, name text) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT EXISTS (SELECT FROM vscope.uid_meta u
					WHERE u.tenant_id = vscope.current_tenant() AND u.type = $1 AND u.name = $2
					  AND u.assigned_at IS NOT NULL)
		OR CASE $1
		   WHEN 'metric' THEN EXISTS (SELECT FROM vscope.series s
									   WHERE s.tenant_id = vscope.current_tenant() AND s.metric = $2)
		   WHEN 'tagk' THEN EXISTS (SELECT FROM vscope.series s
									 WHERE s.tenant_id = vscope.current_tenant() AND s.tags ? $2)
		   ELSE EXISTS (SELECT FROM vscope.series s
						 WHERE s.tenant_id = vscope.current_tenant()
						   AND jsonb_path_exists(s.tags, '$.* ? (@ == $v)', jsonb_build_object('v', $2))) END
$$;
COMMENT ON FUNCTION vscope._tsdb_uid_exists(text, text) IS 'internal: whether a metric, tag key or tag value exists for the current tenant (a series carries it, or /api/uid/assign named it)';

-- when each name was first seen, in Unix seconds (0: never): the oldest
-- series carrying it, or its assignment; one pass over the tenant's series
-- (over the metric's index when only metrics are asked for)
CREATE OR REPLACE FUNCTION vscope._tsdb_uid_created(types text[], names text[])
	RETURNS TABLE (type text, name text, created bigint)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH want AS (SELECT DISTINCT w.type, w.name FROM unnest(types, names) AS w(type, name)),
	seen AS (
		SELECT n.type, n.name, min(s.created_at) AS first
		  FROM vscope.series s
		 CROSS JOIN LATERAL (SELECT 'metric'::text, s.metric
							 UNION ALL SELECT 'tagk', k.key FROM jsonb_each_text(s.tags) k
							 UNION ALL SELECT 'tagv', v.value FROM jsonb_each_text(s.tags) v) AS n(type, name)
		 WHERE s.tenant_id = vscope.current_tenant()
		   AND (s.metric = ANY (names) OR EXISTS (SELECT FROM want WHERE want.type <> 'metric'))
		   AND (n.type, n.name) IN (SELECT want.type, want.name FROM want)
		 GROUP BY 1, 2)
	SELECT w.type, w.name, coalesce(floor(extract(epoch FROM least(seen.first, u.assigned_at)))::bigint, 0)
	  FROM want w
	  LEFT JOIN seen ON seen.type = w.type AND seen.name = w.name
	  LEFT JOIN vscope.uid_meta u ON u.tenant_id = vscope.current_tenant() AND u.type = w.type AND u.name = w.name
$$;
COMMENT ON FUNCTION vscope._tsdb_uid_created(text[], text[]) IS 'internal: when each (type, name) was first seen by the current tenant, in Unix seconds: its oldest series'' creation or its assignment (0: never)';

-- a UIDMeta as OpenTSDB's Jackson writes it: uid, type, name, description,
-- notes, created, custom, displayName
CREATE OR REPLACE FUNCTION vscope._tsdb_uidmeta_json(type text, name text, created bigint) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT '{"uid":' || to_json(vscope.tsdb_uid($2))::text
		   || ',"type":' || to_json(upper($1))::text
		   || ',"name":' || to_json($2)::text
		   || ',"description":' || to_json(coalesce(u.description, ''))::text
		   || ',"notes":' || to_json(coalesce(u.notes, ''))::text
		   || ',"created":' || coalesce($3, 0)
		   || ',"custom":' || vscope._tsdb_custom_json(u.custom)
		   || ',"displayName":' || to_json(coalesce(u.display_name, ''))::text || '}'
	  FROM (SELECT 1) AS one
	  LEFT JOIN vscope.uid_meta u
		ON u.tenant_id = vscope.current_tenant() AND u.type = $1 AND u.name = $2
$$;
COMMENT ON FUNCTION vscope._tsdb_uidmeta_json(text, text, bigint) IS 'internal: the UIDMeta of a name as OpenTSDB answers it (its stored fields, or the defaults)';

-- OpenTSDB's NoSuchUniqueId words for a UID: No such unique ID for 'metrics': [0, 0, 1]
CREATE OR REPLACE FUNCTION vscope._tsdb_no_such_uid(type text, uid text) RETURNS text
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT format('No such unique ID for ''%s'': [%s]', CASE $1 WHEN 'metric' THEN 'metrics' ELSE $1 END,
				  (SELECT string_agg((CASE WHEN b > 127 THEN b - 256 ELSE b END)::text, ', ' ORDER BY i)
					 FROM (SELECT i, get_byte(decode($2, 'hex'), i) AS b
							 FROM generate_series(0, octet_length(decode($2, 'hex')) - 1) AS i) x))
$$;
COMMENT ON FUNCTION vscope._tsdb_no_such_uid(text, text) IS 'internal: OpenTSDB''s message for an unknown UID, its bytes as Java prints them';

-- Java's String.hashCode (over UTF-16 code units), for answering maps in
-- the order OpenTSDB's HashMap iterates them
CREATE OR REPLACE FUNCTION vscope._java_hash(s text) RETURNS bigint
	LANGUAGE plpgsql IMMUTABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	h bigint := 0;
	c integer;
BEGIN
	FOREACH c IN ARRAY ARRAY(SELECT ascii(x) FROM regexp_split_to_table(s, '') AS x) LOOP
		IF c > 65535 THEN
			h := (h * 31 + 55232 + (c >> 10)) % 4294967296;	-- high surrogate
			h := (h * 31 + 56320 + (c & 1023)) % 4294967296;	-- low surrogate
		ELSE
			h := (h * 31 + c) % 4294967296;
		END IF;
	END LOOP;
	RETURN h;
END
$$;
COMMENT ON FUNCTION vscope._java_hash(text) IS 'internal: Java''s String.hashCode of a string, as an unsigned 32-bit number';

-- the bucket of a key in a java.util.HashMap of this capacity: the order
-- in which it iterates (keys of one bucket in insertion order)
CREATE OR REPLACE FUNCTION vscope._java_bucket(s text, capacity integer) RETURNS integer
	LANGUAGE sql IMMUTABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT ((vscope._java_hash(s) # (vscope._java_hash(s) >> 16)) & (capacity - 1))::integer $$;
COMMENT ON FUNCTION vscope._java_bucket(text, integer) IS 'internal: the bucket of a string key in a java.util.HashMap with this many buckets';

-- /api/uid/assign: UIDs for new metrics, tag keys and tag values.  GET
-- metric=a,b&tagk=..&tagv=.., or POST {"metric": [...], ...}.  Each name
-- is checked on its own: a bad name, or one that exists already, goes to
-- <type>_errors; the others are assigned.  200 when none failed, else 400,
-- with the same body.  Keys in the order OpenTSDB's HashMap gives them,
-- names sorted (its TreeMaps).
CREATE OR REPLACE FUNCTION vscope.tsdb_uid_assign(method text, body text DEFAULT NULL, args jsonb DEFAULT '{}',
									   OUT status integer, OUT answer json)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	req jsonb;
	src jsonb := '{}';
	k text;
	v text;
	t text;
	n text;
	err text;
	ok jsonb;
	bad jsonb;
	nbad integer := 0;
	seq integer := 0;
	parts text[] := '{}';
	ords integer[] := '{}';
	cap integer;
BEGIN
	IF method NOT IN ('GET', 'POST') THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405',
			DETAIL = format('The HTTP method [%s] is not permitted for this endpoint', method);
	END IF;
	IF method = 'POST' THEN
		IF coalesce(body, '') = '' THEN
			RAISE EXCEPTION 'Missing message content' USING ERRCODE = 'VS400',
				DETAIL = 'Supply valid JSON formatted data in the body of your request';
		END IF;
		req := vscope._tsdb_body(body);
		IF jsonb_typeof(req) <> 'object' OR EXISTS (
				SELECT FROM jsonb_each(req) e
				 WHERE jsonb_typeof(e.value) NOT IN ('array', 'null')
					OR (jsonb_typeof(e.value) = 'array' AND EXISTS (
						SELECT FROM jsonb_array_elements(e.value) x WHERE jsonb_typeof(x) NOT IN ('string', 'null')))) THEN
			RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400',
				DETAIL = 'Send {"metric": ["name", ...], "tagk": [...], "tagv": [...]}.';
		END IF;
		src := (SELECT coalesce(jsonb_object_agg(e.key, coalesce(nullif(e.value, 'null'), '[]')), '{}')
				  FROM jsonb_each(req) e);
	ELSE
		-- comma-separated names, empty ones at the end dropped (Java's split)
		FOREACH k IN ARRAY ARRAY['metric', 'tagk', 'tagv'] LOOP
			v := args->k->>0;
			IF coalesce(v, '') <> '' THEN
				src := src || jsonb_build_object(k, to_jsonb(string_to_array(regexp_replace(v, ',+$', ''), ',')));
			END IF;
		END LOOP;
	END IF;
	IF src = '{}' THEN
		RAISE EXCEPTION 'Missing values to assign UIDs' USING ERRCODE = 'VS400';
	END IF;
	-- the request's types in its map's order (a HashMap of 4 buckets for a
	-- GET, of 16 for a POST's Jackson), each answered with its _errors after it
	cap := CASE WHEN method = 'GET' THEN 4 ELSE 16 END;
	FOR k IN SELECT e.key FROM jsonb_each(src) e
			  ORDER BY vscope._java_bucket(e.key, cap), e.key COLLATE "C" LOOP
		ok := '{}';
		bad := '{}';
		FOR n IN SELECT x #>> '{}' FROM jsonb_array_elements(src->k) AS x LOOP
			err := vscope._tsdb_check_name(k, n);
			t := CASE lower(k) WHEN 'metric' THEN 'metric' WHEN 'tagk' THEN 'tagk' WHEN 'tagv' THEN 'tagv' END;
			IF err IS NULL AND t IS NULL THEN
				err := 'Unknown type name';
			END IF;
			IF err IS NULL AND vscope._tsdb_uid_exists(t, n) THEN
				err := 'Name already exists with UID: ' || vscope.tsdb_uid(n);
			END IF;
			IF err IS NULL THEN
				INSERT INTO vscope.uid_meta AS x (tenant_id, type, name, assigned_at)
				VALUES (tid, t, n, now())
				ON CONFLICT (tenant_id, type, name) DO UPDATE SET assigned_at = excluded.assigned_at
				 WHERE x.assigned_at IS NULL
				RETURNING 'ok' INTO v;
				IF NOT FOUND THEN	-- assigned meanwhile by another request
					err := 'Name already exists with UID: ' || vscope.tsdb_uid(n);
				END IF;
			END IF;
			IF err IS NULL THEN
				ok := ok || jsonb_build_object(n, vscope.tsdb_uid(n));
			ELSE
				bad := bad || jsonb_build_object(n, err);
				nbad := nbad + 1;
			END IF;
		END LOOP;
		-- the answer's HashMap has 16 buckets; a bucket's keys go in the
		-- order they were put: a type, then its errors
		parts := parts || (to_json(k)::text || ':' || vscope._tsdb_custom_json(ok));
		ords := ords || (vscope._java_bucket(k, 16) * 1000 + seq);
		seq := seq + 1;
		IF bad <> '{}' THEN
			parts := parts || (to_json(k || '_errors')::text || ':' || vscope._tsdb_custom_json(bad));
			ords := ords || (vscope._java_bucket(k || '_errors', 16) * 1000 + seq);
			seq := seq + 1;
		END IF;
	END LOOP;
	status := CASE WHEN nbad = 0 THEN 200 ELSE 400 END;
	answer := ('{' || (SELECT string_agg(p, ',' ORDER BY o) FROM unnest(parts, ords) AS x(p, o)) || '}')::json;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_uid_assign(text, text, jsonb) IS 'OpenTSDB /api/uid/assign for the current tenant: GET args {"metric": ["a,b"], ...} or a POST body {"metric": [...], "tagk": [...], "tagv": [...]}; answers (200 or 400, {"metric": {name: uid}, "metric_errors": {name: error}, ...})';

-- one query-string argument's first value
CREATE OR REPLACE FUNCTION vscope._tsdb_arg(args jsonb, key text) RETURNS text
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT CASE jsonb_typeof(args->key) WHEN 'array' THEN args->key->>0 ELSE args->>key END $$;
COMMENT ON FUNCTION vscope._tsdb_arg(jsonb, text) IS 'internal: the first value of a query-string argument ({"key": ["value", ...]} or {"key": "value"})';

-- a required query-string argument, or OpenTSDB's 400
CREATE OR REPLACE FUNCTION vscope._tsdb_required_arg(args jsonb, key text) RETURNS text
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	v text := vscope._tsdb_arg(args, key);
BEGIN
	IF coalesce(v, '') = '' THEN
		RAISE EXCEPTION 'Missing parameter <code>%</code>', key USING ERRCODE = 'VS400';
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION vscope._tsdb_required_arg(jsonb, text) IS 'internal: a query-string argument that must be there (400 "Missing parameter <code>key</code>" otherwise)';

-- /api/uid/uidmeta: GET ?uid=&type=, POST (the fields given) and PUT (every
-- field) with a body or query-string arguments, DELETE (back to the
-- defaults; a name's UID stays).  Answers (status, UIDMeta): 200, 204 for a
-- delete, 304 when a write changes nothing.
CREATE OR REPLACE FUNCTION vscope.tsdb_uidmeta(method text, body text DEFAULT NULL, args jsonb DEFAULT '{}',
									OUT status integer, OUT answer json)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	req jsonb := vscope._tsdb_body(body);
	uid text;
	typ text;
	t text;
	nm text;
	dn text;
	de text;
	no text;
	cu jsonb;
BEGIN
	IF method NOT IN ('GET', 'POST', 'PUT', 'DELETE') THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405',
			DETAIL = format('The HTTP method [%s] is not permitted for this endpoint', method);
	END IF;
	IF req IS NOT NULL AND jsonb_typeof(req) <> 'object' THEN
		RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400';
	END IF;
	IF method = 'GET' OR req IS NULL THEN
		uid := vscope._tsdb_required_arg(args, 'uid');
		typ := vscope._tsdb_required_arg(args, 'type');
		dn := vscope._tsdb_arg(args, 'display_name');
		de := vscope._tsdb_arg(args, 'description');
		no := vscope._tsdb_arg(args, 'notes');
	ELSE
		uid := req->>'uid';
		typ := req->>'type';
		dn := req->>'displayName';
		de := req->>'description';
		no := req->>'notes';
		cu := vscope._tsdb_custom(req->'custom');
		IF coalesce(uid, '') = '' OR typ IS NULL THEN
			RAISE EXCEPTION '%', CASE WHEN method = 'DELETE' THEN 'Unable to delete UIDMeta information'
								  WHEN coalesce(uid, '') = '' THEN 'Missing UID' ELSE 'Missing type' END
				USING ERRCODE = 'VS400',
					  DETAIL = CASE WHEN method <> 'DELETE' THEN ''
							   WHEN coalesce(uid, '') = '' THEN 'Missing UID' ELSE 'Missing type' END;
		END IF;
	END IF;
	t := vscope._tsdb_uid_type(typ);
	nm := vscope.tsdb_uid_name(uid);
	IF method = 'DELETE' THEN
		DELETE FROM vscope.uid_meta u
		 WHERE u.tenant_id = tid AND u.type = t AND u.name = nm AND u.assigned_at IS NULL;
		UPDATE vscope.uid_meta u SET display_name = '', description = '', notes = '', custom = NULL
		 WHERE u.tenant_id = tid AND u.type = t AND u.name = nm;
		status := 204;
		RETURN;
	END IF;
	-- a write that sets nothing but the defaults changes nothing (OpenTSDB's 304)
	IF method <> 'GET' AND coalesce(dn, '') = '' AND coalesce(de, '') = '' AND coalesce(no, '') = ''
	   AND cu IS NULL THEN
		status := 304;
		RETURN;
	END IF;
	IF NOT vscope._tsdb_uid_exists(t, nm) THEN
		RAISE EXCEPTION 'Could not find the requested UID' USING ERRCODE = 'VS404',
			DETAIL = vscope._tsdb_no_such_uid(t, uid);
	END IF;
	IF method <> 'GET' THEN
		INSERT INTO vscope.uid_meta AS x (tenant_id, type, name, display_name, description, notes, custom)
		VALUES (tid, t, nm, coalesce(dn, ''), coalesce(de, ''), coalesce(no, ''), cu)
		ON CONFLICT (tenant_id, type, name) DO UPDATE SET
			display_name = CASE WHEN method = 'PUT' OR coalesce(dn, '') <> '' THEN excluded.display_name ELSE x.display_name END,
			description = CASE WHEN method = 'PUT' OR coalesce(de, '') <> '' THEN excluded.description ELSE x.description END,
			notes = CASE WHEN method = 'PUT' OR coalesce(no, '') <> '' THEN excluded.notes ELSE x.notes END,
			custom = CASE WHEN method = 'PUT' OR cu IS NOT NULL THEN excluded.custom ELSE x.custom END;
	END IF;
	status := 200;
	answer := vscope._tsdb_uidmeta_json(t, nm, (SELECT c.created FROM vscope._tsdb_uid_created(ARRAY[t], ARRAY[nm]) c))::json;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_uidmeta(text, text, jsonb) IS 'OpenTSDB /api/uid/uidmeta for the current tenant: GET {"uid","type"}, POST/PUT a body {"uid","type","displayName","description","notes","custom"} (or display_name, description, notes arguments), DELETE; answers (status, UIDMeta)';

-- metric{k=v,...} as OpenTSDB's Tags.parseWithMetric reads it: the metric
-- and the tags as an object; its messages for what it refuses
CREATE OR REPLACE FUNCTION vscope._tsdb_parse_series(m text, OUT metric text, OUT tags jsonb)
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	curly integer := strpos(m, '{');
	pair text;
	kv text[];
BEGIN
	tags := '{}';
	IF curly = 0 THEN
		metric := m;
		RETURN;
	END IF;
	IF right(m, 1) <> '}' THEN
		RAISE EXCEPTION 'Missing ''}'' at the end of: %', m USING ERRCODE = 'VS400';
	END IF;
	metric := left(m, curly - 1);
	FOREACH pair IN ARRAY string_to_array(substr(m, curly + 1, length(m) - curly - 1), ',') LOOP
		kv := string_to_array(pair, '=');
		IF cardinality(kv) <> 2 OR kv[1] = '' OR kv[2] = '' THEN
			RAISE EXCEPTION 'When parsing tag ''%'': invalid tag: %', pair, pair USING ERRCODE = 'VS400';
		END IF;
		IF tags ? kv[1] THEN
			RAISE EXCEPTION 'When parsing tag ''%'': duplicate tag: %', pair, pair USING ERRCODE = 'VS400';
		END IF;
		tags := tags || jsonb_build_object(kv[1], kv[2]);
	END LOOP;
END
$$;
COMMENT ON FUNCTION vscope._tsdb_parse_series(text) IS 'internal: metric{tagk=tagv,...} split into the metric and a tags object, with OpenTSDB''s errors';

-- a name as a part of a series key, encoded by store/series.c itself
CREATE OR REPLACE FUNCTION vscope._tsdb_key_part(name text) RETURNS text
	AS 'MODULE_PATHNAME', 'vscope_series_key_part'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vscope._tsdb_key_part(text) IS 'internal: a metric, tag key or tag value as it is written in a series key ({ } , = and % percent-encoded)';

-- OpenTSDB's NoSuchUniqueName for the first name of metric{tags} that does
-- not exist (NULL when all do)
CREATE OR REPLACE FUNCTION vscope._tsdb_missing_name(metric text, tags jsonb) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT x.msg FROM (
		SELECT 0 AS o, format('No such name for ''metrics'': ''%s''', metric) AS msg
		 WHERE NOT vscope._tsdb_uid_exists('metric', metric)
		UNION ALL
		SELECT 1, format('No such name for ''tagk'': ''%s''', e.key) FROM jsonb_each_text(tags) e
		 WHERE NOT vscope._tsdb_uid_exists('tagk', e.key)
		UNION ALL
		SELECT 2, format('No such name for ''tagv'': ''%s''', e.value) FROM jsonb_each_text(tags) e
		 WHERE NOT vscope._tsdb_uid_exists('tagv', e.value)) x
	 ORDER BY x.o LIMIT 1
$$;
COMMENT ON FUNCTION vscope._tsdb_missing_name(text, jsonb) IS 'internal: OpenTSDB''s "No such name" message for the first name of a metric and tags that the current tenant does not have, NULL when it has them all';

-- the TSMeta of each series, as OpenTSDB's Jackson writes it: tsuid,
-- metric, tags (UIDMeta of each tag key and value, in key order),
-- description, notes, created, custom (when set), units, retention, max,
-- min, displayName, dataType, lastReceived, totalDatapoints.  vscope's own
-- figures: created is when the series was made, lastReceived the time of
-- its newest point, totalDatapoints the points it holds now (read through
-- the reader).
CREATE OR REPLACE FUNCTION vscope._tsdb_tsmeta_json(sids integer[]) RETURNS TABLE (series_id integer, meta text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH s AS (SELECT x.* FROM vscope.series x
				WHERE x.tenant_id = vscope.current_tenant() AND x.series_id = ANY (sids)),
	names AS (SELECT 'metric' AS type, s.metric AS name FROM s
			  UNION SELECT 'tagk', e.key FROM s, jsonb_each_text(s.tags) e
			  UNION SELECT 'tagv', e.value FROM s, jsonb_each_text(s.tags) e),
	created AS (SELECT * FROM vscope._tsdb_uid_created((SELECT array_agg(type) FROM names),
													   (SELECT array_agg(name) FROM names)))
	SELECT s.series_id,
		   '{"tsuid":' || to_json(upper(lpad(to_hex(s.series_id), 8, '0')))::text
		   || ',"metric":' || vscope._tsdb_uidmeta_json('metric', s.metric,
								(SELECT c.created FROM created c WHERE c.type = 'metric' AND c.name = s.metric))
		   || ',"tags":[' || coalesce((SELECT string_agg(vscope._tsdb_uidmeta_json('tagk', e.key, ck.created) || ','
														 || vscope._tsdb_uidmeta_json('tagv', e.value, cv.created),
														 ',' ORDER BY e.key COLLATE "C")
										 FROM jsonb_each_text(s.tags) e
										 LEFT JOIN created ck ON ck.type = 'tagk' AND ck.name = e.key
										 LEFT JOIN created cv ON cv.type = 'tagv' AND cv.name = e.value), '') || ']'
		   || ',"description":' || to_json(coalesce(m.description, ''))::text
		   || ',"notes":' || to_json(coalesce(m.notes, ''))::text
		   || ',"created":' || floor(extract(epoch FROM s.created_at))::bigint
		   || CASE WHEN m.custom IS NULL THEN '' ELSE ',"custom":' || vscope._tsdb_custom_json(m.custom) END
		   || ',"units":' || to_json(coalesce(m.units, ''))::text
		   || ',"retention":' || coalesce(m.retention, 0)
		   || ',"max":' || CASE WHEN m.max IS NULL OR m.max = 'NaN' THEN '"NaN"'
							   WHEN m.max IN ('Infinity', '-Infinity') THEN to_json(vscope._java_double(m.max))::text
							   ELSE vscope._java_double(m.max) END
		   || ',"min":' || CASE WHEN m.min IS NULL OR m.min = 'NaN' THEN '"NaN"'
							   WHEN m.min IN ('Infinity', '-Infinity') THEN to_json(vscope._java_double(m.min))::text
							   ELSE vscope._java_double(m.min) END
		   || ',"displayName":' || to_json(coalesce(m.display_name, ''))::text
		   || ',"dataType":' || to_json(coalesce(m.data_type, ''))::text
		   || ',"lastReceived":' || coalesce(floor(extract(epoch FROM l.ts))::bigint, 0)
		   || ',"totalDatapoints":' || (SELECT count(*) FROM vscope.read_points(ARRAY[s.series_id], '-infinity', 'infinity'))
		   || '}'
	  FROM s
	  LEFT JOIN vscope.series_meta m ON m.tenant_id = s.tenant_id AND m.series_id = s.series_id
	  LEFT JOIN vscope.series_last l ON l.tenant_id = s.tenant_id AND l.series_id = s.series_id
$$;
COMMENT ON FUNCTION vscope._tsdb_tsmeta_json(integer[]) IS 'internal: the TSMeta of each of these series of the current tenant as OpenTSDB answers it (the stored user fields or their defaults; created, lastReceived and totalDatapoints from the store)';

-- /api/uid/tsmeta: GET ?tsuid= (one object) or ?m=metric{k=v,...} (a list:
-- the series of the metric with those tags); POST (the fields given) and
-- PUT (every field) by "tsuid", or by ?m= with no tsuid (create=true makes
-- the series when it does not exist); DELETE (back to the defaults; the
-- series and its points stay).  Answers (status, TSMeta).
CREATE OR REPLACE FUNCTION vscope.tsdb_tsmeta(method text, body text DEFAULT NULL, args jsonb DEFAULT '{}',
								   OUT status integer, OUT answer json)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	req jsonb := vscope._tsdb_body(body);
	sid integer;
	p record;
	missing text;
	f jsonb;
	key_ text;
	lim integer;
	v text;
	ret integer;
	mx double precision;
	mn double precision;
	chg boolean;
BEGIN
	IF method NOT IN ('GET', 'POST', 'PUT', 'DELETE') THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405',
			DETAIL = format('The HTTP method [%s] is not permitted for this endpoint', method);
	END IF;
	IF req IS NOT NULL AND jsonb_typeof(req) <> 'object' THEN
		RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400';
	END IF;
	IF method = 'GET' THEN
		IF args ? 'tsuid' THEN
			sid := vscope._tsdb_tsuid_id(vscope._tsdb_arg(args, 'tsuid'));
			IF sid IS NULL OR NOT EXISTS (SELECT FROM vscope.series s WHERE s.tenant_id = tid AND s.series_id = sid) THEN
				RAISE EXCEPTION 'Could not find Timeseries meta data' USING ERRCODE = 'VS404';
			END IF;
			status := 200;
			answer := (SELECT j.meta FROM vscope._tsdb_tsmeta_json(ARRAY[sid]) j)::json;
			RETURN;
		END IF;
		SELECT * INTO p FROM vscope._tsdb_parse_series(vscope._tsdb_required_arg(args, 'm'));
		missing := vscope._tsdb_missing_name(p.metric, p.tags);
		IF missing IS NOT NULL THEN
			RAISE EXCEPTION 'Unable to find one of the UIDs' USING ERRCODE = 'VS404', DETAIL = missing;
		END IF;
		status := 200;
		answer := ('[' || coalesce((SELECT string_agg(j.meta, ',' ORDER BY j.series_id)
									  FROM vscope._tsdb_tsmeta_json(ARRAY(
										   SELECT s.series_id FROM vscope.series s
											WHERE s.tenant_id = tid AND s.metric = p.metric AND s.tags @> p.tags)) j), '')
				   || ']')::json;
		RETURN;
	END IF;

	-- the fields: the body's, or the query string's (OpenTSDB's names)
	IF req IS NOT NULL THEN
		f := req;
		IF f ? 'custom' THEN
			f := jsonb_set(f, '{custom}', coalesce(vscope._tsdb_custom(f->'custom'), 'null'));
		END IF;
		BEGIN
			ret := trunc((f->>'retention')::numeric)::integer;
			mx := (f->>'max')::double precision;
			mn := (f->>'min')::double precision;
		EXCEPTION WHEN data_exception THEN
			RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400',
				DETAIL = 'retention is a whole number, max and min are numbers.';
		END;
	ELSE
		f := jsonb_strip_nulls(jsonb_build_object(
			'tsuid', vscope._tsdb_arg(args, 'tsuid'),
			'displayName', vscope._tsdb_arg(args, 'display_name'),
			'description', vscope._tsdb_arg(args, 'description'),
			'notes', vscope._tsdb_arg(args, 'notes'),
			'units', vscope._tsdb_arg(args, 'units'),
			'dataType', vscope._tsdb_arg(args, 'data_type')));
		FOREACH v IN ARRAY ARRAY['retention', 'max', 'min'] LOOP
			CONTINUE WHEN coalesce(vscope._tsdb_arg(args, v), '') = '';
			BEGIN
				IF v = 'retention' THEN
					ret := vscope._tsdb_arg(args, v)::integer;
				ELSIF v = 'max' THEN
					mx := vscope._tsdb_arg(args, v)::real;
				ELSE
					mn := vscope._tsdb_arg(args, v)::real;
				END IF;
			EXCEPTION WHEN data_exception THEN
				RAISE EXCEPTION 'Unable to parse ''%'' value', v USING ERRCODE = 'VS400';
			END;
		END LOOP;
	END IF;

	IF method = 'DELETE' THEN
		IF coalesce(f->>'tsuid', '') = '' THEN
			RAISE EXCEPTION 'Unable to delete TSMeta information' USING ERRCODE = 'VS400', DETAIL = 'Missing UID';
		END IF;
		DELETE FROM vscope.series_meta x WHERE x.tenant_id = tid AND x.series_id = vscope._tsdb_tsuid_id(f->>'tsuid');
		status := 204;
		RETURN;
	END IF;

	-- a field counts as set when it differs from its default, as OpenTSDB's
	-- setters count it; a write that sets none changes nothing (its 304)
	chg := coalesce(f->>'displayName', '') <> '' OR coalesce(f->>'description', '') <> ''
		   OR coalesce(f->>'notes', '') <> '' OR coalesce(f->>'units', '') <> ''
		   OR coalesce(f->>'dataType', '') <> '' OR coalesce(ret, 0) <> 0
		   OR mx IS NOT NULL OR mn IS NOT NULL OR coalesce(jsonb_typeof(f->'custom') = 'object', false);
	-- POST or PUT: by tsuid, or by m= (create=true makes the series)
	IF coalesce(f->>'tsuid', '') = '' THEN
		SELECT * INTO p FROM vscope._tsdb_parse_series(vscope._tsdb_required_arg(args, 'm'));
		missing := vscope._tsdb_missing_name(p.metric, p.tags);
		IF missing IS NOT NULL THEN
			RAISE EXCEPTION 'Unable to find one or more UIDs' USING ERRCODE = 'VS404', DETAIL = missing;
		END IF;
		-- the series' canonical key, as store/series.c writes it (its
		-- delimiters and % percent-encoded inside the names)
		key_ := vscope._tsdb_key_part(p.metric) || '{'
				|| coalesce((SELECT string_agg(vscope._tsdb_key_part(e.key) || '=' || vscope._tsdb_key_part(e.value),
											   ',' ORDER BY e.key COLLATE "C")
							   FROM jsonb_each_text(p.tags) e), '') || '}';
		SELECT s.series_id INTO sid FROM vscope.series s WHERE s.tenant_id = tid AND s.skey = key_;
		IF sid IS NULL THEN
			IF vscope._tsdb_arg(args, 'create') IS DISTINCT FROM 'true' THEN
				RAISE EXCEPTION 'Could not find TSMeta, specify "create=true" to create a new one.' USING ERRCODE = 'VS400';
			END IF;
			lim := current_setting('vscope.max_tags')::integer;
			IF (SELECT count(*) FROM jsonb_object_keys(p.tags)) > lim THEN
				RAISE EXCEPTION 'Too many tags: % maximum allowed: %', (SELECT count(*) FROM jsonb_object_keys(p.tags)), lim
					USING ERRCODE = 'VS400';
			END IF;
			-- a new series, numbered and counted as a write would make it
			SELECT c.series_id INTO sid FROM vscope._create_series(ARRAY[key_], ARRAY[p.metric], ARRAY[p.tags::text]) c;
		ELSIF NOT chg THEN
			status := 304;
			RETURN;
		END IF;
	ELSE
		sid := vscope._tsdb_tsuid_id(f->>'tsuid');
		IF NOT chg THEN
			status := 304;
			RETURN;
		END IF;
		IF NOT EXISTS (SELECT FROM vscope.series s WHERE s.tenant_id = tid AND s.series_id = sid) THEN
			RAISE EXCEPTION 'Requested TSMeta did not exist' USING ERRCODE = 'VS400';
		END IF;
	END IF;
	INSERT INTO vscope.series_meta AS x (tenant_id, series_id, display_name, description, notes, custom,
										 units, data_type, retention, max, min)
	VALUES (tid, sid, coalesce(f->>'displayName', ''), coalesce(f->>'description', ''),
			coalesce(f->>'notes', ''), nullif(f->'custom', 'null'), coalesce(f->>'units', ''),
			coalesce(f->>'dataType', ''), coalesce(ret, 0), coalesce(mx, 'NaN'), coalesce(mn, 'NaN'))
	ON CONFLICT (tenant_id, series_id) DO UPDATE SET
		display_name = CASE WHEN method = 'PUT' OR coalesce(f->>'displayName', '') <> '' THEN excluded.display_name ELSE x.display_name END,
		description = CASE WHEN method = 'PUT' OR coalesce(f->>'description', '') <> '' THEN excluded.description ELSE x.description END,
		notes = CASE WHEN method = 'PUT' OR coalesce(f->>'notes', '') <> '' THEN excluded.notes ELSE x.notes END,
		custom = CASE WHEN method = 'PUT' OR jsonb_typeof(f->'custom') = 'object' THEN excluded.custom ELSE x.custom END,
		units = CASE WHEN method = 'PUT' OR coalesce(f->>'units', '') <> '' THEN excluded.units ELSE x.units END,
		data_type = CASE WHEN method = 'PUT' OR coalesce(f->>'dataType', '') <> '' THEN excluded.data_type ELSE x.data_type END,
		retention = CASE WHEN method = 'PUT' OR coalesce(ret, 0) <> 0 THEN excluded.retention ELSE x.retention END,
		max = CASE WHEN method = 'PUT' OR mx IS NOT NULL THEN excluded.max ELSE x.max END,
		min = CASE WHEN method = 'PUT' OR mn IS NOT NULL THEN excluded.min ELSE x.min END;
	status := 200;
	answer := (SELECT j.meta FROM vscope._tsdb_tsmeta_json(ARRAY[sid]) j)::json;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_tsmeta(text, text, jsonb) IS 'OpenTSDB /api/uid/tsmeta for the current tenant: GET {"tsuid"} or {"m": "metric{k=v}"}, POST/PUT a body {"tsuid","displayName","description","notes","custom","units","dataType","retention","max","min"} or the same as arguments (by m= with create=true for a new series), DELETE; answers (status, TSMeta or a list of them)';

GRANT EXECUTE ON FUNCTION vscope.tsdb_uid_assign(text, text, jsonb), vscope.tsdb_uidmeta(text, text, jsonb),
	vscope.tsdb_tsmeta(text, text, jsonb) TO vscope_reader;

-- ==== issue 13: Ceilometer's publishers write into vscope ====

-- vscope.sample_ids (the publisher's id of a sample), the set-based store
-- shared by POST /v2/meters/{meter} and the publishers, the publishers'
-- functions, the V2 API showing and finding publisher ids, expire() deleting
-- them, and the publish token scope.

-- The publisher's id of a sample: Ceilometer's pipeline gives every sample
-- an id (a uuid) that it keeps across the repeats an at-least-once
-- delivery makes, and a sample stored under an id is not stored again.
-- Kept beside the samples rather than in them: a sample row (and what may
-- later hold the samples of a whole day) has only its series, time, seq,
-- volume and recorded_at, and its message_id is otherwise made from where
-- it is stored (vscope.ceilometer_message_id).  The V2 API shows the
-- publisher's id where there is one and finds a sample by either.  Rows go
-- with the day of their samples (vscope.expire()).
CREATE TABLE vscope.sample_ids (
	tenant_id	integer NOT NULL,
	message_id	text NOT NULL CHECK (octet_length(message_id) BETWEEN 1 AND 255),
	series_id	integer NOT NULL,
	ts			timestamptz NOT NULL,
	seq			integer NOT NULL,
	PRIMARY KEY (tenant_id, message_id)
);
CREATE INDEX sample_ids_sample_idx ON vscope.sample_ids (tenant_id, series_id, ts, seq);
COMMENT ON TABLE vscope.sample_ids IS 'the publisher''s id (Ceilometer''s sample id) of the samples stored under one, by tenant: what makes a repeated sample a duplicate, and the message_id the V2 API shows';
ALTER TABLE vscope.sample_ids ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.sample_ids FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.sample_ids USING (tenant_id = vscope.current_tenant());
GRANT SELECT ON vscope.sample_ids TO vscope_reader;
GRANT INSERT, UPDATE (seq) ON vscope.sample_ids TO vscope_writer;
SELECT pg_catalog.pg_extension_config_dump('vscope.sample_ids', '');

-- the same for samples of several tenants (a publisher's samples go to the
-- tenants of their projects): rows taken in (tenant, series) order
CREATE FUNCTION vscope._ceilo_span_widen(tenants integer[], series integer[], stamps timestamptz[]) RETURNS void
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
INSERT INTO vscope.sample_span AS k (tenant_id, series_id, first_ts, last_ts)
SELECT u.tid, u.sid, min(u.ts), max(u.ts)
  FROM unnest(tenants, series, stamps) u(tid, sid, ts) GROUP BY u.tid, u.sid ORDER BY u.tid, u.sid
ON CONFLICT (tenant_id, series_id) DO UPDATE
   SET first_ts = least(k.first_ts, excluded.first_ts), last_ts = greatest(k.last_ts, excluded.last_ts)
 WHERE excluded.first_ts < k.first_ts OR excluded.last_ts > k.last_ts
$$;
COMMENT ON FUNCTION vscope._ceilo_span_widen(integer[], integer[], timestamptz[]) IS 'internal: widens the vscope.sample_span rows of these (tenant, series) to take in these sample times (made when missing)';

-- _ceilo_ids_dropped: vscope.expire() has dropped the samples of the UTC
-- day [lo, hi): their publisher ids go too.  The series that had samples
-- that day are those whose span meets it (expire() calls this before it
-- moves the spans), each probed on (tenant_id, series_id, ts), so that the
-- cost follows the ids deleted and the series kept, not every id kept.
CREATE FUNCTION vscope._ceilo_ids_dropped(lo timestamptz, hi timestamptz) RETURNS bigint
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
WITH gone AS (
	DELETE FROM vscope.sample_ids i
	 USING vscope.sample_span k
	 WHERE k.first_ts < hi AND k.last_ts >= lo
	   AND i.tenant_id = k.tenant_id AND i.series_id = k.series_id AND i.ts >= lo AND i.ts < hi
	RETURNING 1
)
SELECT count(*) FROM gone
$$;
COMMENT ON FUNCTION vscope._ceilo_ids_dropped(timestamptz, timestamptz) IS 'internal: after vscope.expire() dropped the samples of [lo, hi), deletes their publisher ids (vscope.sample_ids); returns how many';

-- the samples of the current tenant these ids name: a publisher's id
-- (vscope.sample_ids) or one made from where a sample is stored
CREATE FUNCTION vscope._ceilo_find_samples(ids text[],
	OUT tenant_id integer, OUT series_id integer, OUT ts timestamptz, OUT seq integer)
	RETURNS SETOF record LANGUAGE sql STABLE ROWS 1
	SET search_path = pg_catalog, pg_temp
	AS $$
SELECT i.tenant_id, i.series_id, i.ts, i.seq FROM vscope.sample_ids i
 WHERE i.tenant_id = vscope.current_tenant() AND i.message_id = ANY (ids)
UNION
SELECT vscope.current_tenant(), m.series_id, m.ts, m.seq
  FROM unnest(ids) u(id), vscope._ceilo_parse_message_id(u.id) m
$$;
COMMENT ON FUNCTION vscope._ceilo_find_samples(text[]) IS 'internal: where the samples of the current tenant named by these message ids are stored (tenant, series, time, seq): by the publisher''s id, or by the id made from that place';

CREATE OR REPLACE VIEW vscope.ceilometer_samples WITH (security_invoker = true) AS
	SELECT x.tenant_id, x.series_id, x.seq,
		   s.source, s.counter_name, s.counter_type, s.counter_unit,
		   x.volume AS counter_volume, s.user_id, s.project_id, s.resource_id,
		   x.ts AS "timestamp", x.recorded_at, s.resource_metadata,
		   coalesce((SELECT i.message_id FROM vscope.sample_ids i
					  WHERE i.tenant_id = x.tenant_id AND i.series_id = x.series_id
						AND i.ts = x.ts AND i.seq = x.seq),
					vscope.ceilometer_message_id(x.series_id, x.ts, x.seq)) AS message_id,
		   NULL::text AS message_signature
	  FROM vscope.samples x
	  JOIN vscope.sample_series s USING (tenant_id, series_id);

-- one sample as Ceilometer's JSON: the old style of /v2/meters/{meter}, or the new one
CREATE OR REPLACE FUNCTION vscope._ceilo_sample_json(s vscope.sample_series, x vscope.samples, old_style boolean)
	RETURNS json LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
SELECT CASE WHEN old_style THEN
	json_build_object('counter_name', s.counter_name, 'counter_type', s.counter_type,
		'counter_unit', s.counter_unit, 'counter_volume', vscope._ceilo_float(x.volume),
		'user_id', s.user_id, 'project_id', s.project_id, 'resource_id', s.resource_id,
		'source', s.source, 'timestamp', vscope._ceilo_ts(x.ts),
		'recorded_at', vscope._ceilo_ts(x.recorded_at),
		'resource_metadata', vscope._ceilo_flatten(s.resource_metadata),
		'message_id', coalesce((SELECT i.message_id FROM vscope.sample_ids i
								WHERE i.tenant_id = x.tenant_id AND i.series_id = x.series_id
								  AND i.ts = x.ts AND i.seq = x.seq),
							   vscope.ceilometer_message_id(x.series_id, x.ts, x.seq)))
	ELSE
	json_build_object('id', coalesce((SELECT i.message_id FROM vscope.sample_ids i
									   WHERE i.tenant_id = x.tenant_id AND i.series_id = x.series_id
										 AND i.ts = x.ts AND i.seq = x.seq),
									 vscope.ceilometer_message_id(x.series_id, x.ts, x.seq)),
		'meter', s.counter_name, 'type', s.counter_type, 'unit', s.counter_unit,
		'volume', vscope._ceilo_float(x.volume), 'user_id', s.user_id, 'project_id', s.project_id,
		'resource_id', s.resource_id, 'source', s.source,
		'timestamp', vscope._ceilo_ts(x.ts), 'recorded_at', vscope._ceilo_ts(x.recorded_at),
		'metadata', vscope._ceilo_flatten(s.resource_metadata))
	END
$$;
COMMENT ON FUNCTION vscope._ceilo_sample_json(vscope.sample_series, vscope.samples, boolean) IS 'internal: one sample as Ceilometer''s JSON, in the old style of /v2/meters/{meter} or the new one of /v2/samples; its message_id is the publisher''s id when it has one';

CREATE OR REPLACE FUNCTION vscope.ceilometer_get_sample(id text) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	m record;
	r json;
BEGIN
	-- a publisher's id, else one made from where the sample is stored
	SELECT i.series_id, i.ts, i.seq INTO m FROM vscope.sample_ids i
	 WHERE i.tenant_id = vscope.current_tenant() AND i.message_id = id;
	IF m.series_id IS NULL THEN
		SELECT * INTO m FROM vscope._ceilo_parse_message_id(id);
	END IF;
	-- the time as a value known when planning: only its day's partition
	-- is planned and locked
	IF m.series_id IS NOT NULL THEN
		EXECUTE 'SELECT vscope._ceilo_sample_json(s, x, false)
				   FROM vscope.samples x
				   JOIN vscope.sample_series s ON s.tenant_id = x.tenant_id AND s.series_id = x.series_id
				  WHERE x.tenant_id = vscope.current_tenant()
					AND x.series_id = $1 AND x.ts = $2 AND x.seq = $3
					AND ($4 OR s.project_id IS NOT DISTINCT FROM $5)'
			INTO r USING m.series_id, m.ts, m.seq, me.admin, me.project;
	END IF;
	IF r IS NULL THEN
		PERFORM vscope._ceilo_fail('404', format('Sample %s Not Found', id));
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_get_sample(text) IS 'Ceilometer GET /v2/samples/{id}: id is the publisher''s id of the sample or the one made from where it is stored';

-- _ceilo_query turns a simple query (q.field/q.op/q.value/q.type, zipped)
-- into SQL by Ceilometer's rules for the endpoint kind ('samples',
-- 'resources', 'meters').  series_where applies to vscope.sample_series
-- aliased s, sample_where to vscope.samples aliased x.  Field names are
-- whitelisted, values quoted; a non-admin caller is confined to its project.
CREATE OR REPLACE FUNCTION vscope._ceilo_query(args jsonb, kind text,
	OUT series_where text, OUT sample_where text,
	OUT q_start timestamptz, OUT q_end timestamptz,
	OUT w_start timestamptz, OUT w_end timestamptz)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	n integer := coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(args -> 'q.field') = 'array'
												   THEN args -> 'q.field' END), 0);
	f text;
	op text;
	v text;
	typ text;
	col text;
	tv record;
	conds text[] := '{}';
	xconds text[] := '{}';
	has_project boolean := false;
	start_strict boolean := false;
	end_strict boolean := false;
	offset_min numeric;
	valid text[] := CASE kind
		WHEN 'samples' THEN ARRAY['message_id', 'meter', 'project', 'resource', 'search_offset',
								  'source', 'timestamp', 'user']
		WHEN 'resources' THEN ARRAY['project', 'resource', 'search_offset', 'source', 'timestamp', 'user']
		ELSE ARRAY['project', 'resource', 'source', 'unique', 'user'] END;
	mid record;
BEGIN
	IF n > 100 THEN
		PERFORM vscope._ceilo_fail('400', format('A query may have at most 100 clauses, not %s', n));
	END IF;
	-- project segregation first
	IF NOT me.admin THEN
		IF me.project IS NULL THEN
			PERFORM vscope._ceilo_fail('401', 'Not Authorized to access project None');
		END IF;
		FOR i IN 0 .. n - 1 LOOP
			IF vscope._ceilo_arg(args, 'q.field', i) IN ('project', 'project_id') THEN
				has_project := true;
				IF vscope._ceilo_arg(args, 'q.value', i) <> me.project THEN
					PERFORM vscope._ceilo_fail('401', format('Not Authorized to access project %s',
															 vscope._ceilo_arg(args, 'q.value', i)));
				END IF;
			END IF;
		END LOOP;
		IF NOT has_project THEN
			conds := conds || format('s.project_id = %L', me.project);
		END IF;
	END IF;
	-- then timestamps
	FOR i IN 0 .. n - 1 LOOP
		f := vscope._ceilo_arg(args, 'q.field', i);
		IF f NOT IN ('timestamp', 'search_offset') THEN
			CONTINUE;
		END IF;
		IF kind = 'meters' THEN
			PERFORM vscope._ceilo_fail('400', format('Unknown argument: "%s": not valid for this resource', f));
		END IF;
		IF f = 'search_offset' THEN
			CONTINUE;
		END IF;
		op := coalesce(nullif(vscope._ceilo_arg(args, 'q.op', i), ''), 'eq');
		v := vscope._ceilo_arg(args, 'q.value', i);
		IF op NOT IN ('lt', 'le', 'gt', 'ge') THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. unimplemented operator for timestamp', op));
		END IF;
		IF vscope._ceilo_parse_ts(v) IS NULL THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute timestamp. Value: ''%s''. invalid timestamp format', v));
		END IF;
		IF op IN ('gt', 'ge') THEN
			q_start := vscope._ceilo_parse_ts(v);
			start_strict := op = 'gt';
		ELSE
			q_end := vscope._ceilo_parse_ts(v);
			end_strict := op = 'lt';
		END IF;
	END LOOP;
	-- then search_offset
	FOR i IN 0 .. n - 1 LOOP
		IF vscope._ceilo_arg(args, 'q.field', i) = 'search_offset' THEN
			IF q_start IS NULL AND q_end IS NULL THEN
				PERFORM vscope._ceilo_fail('400', 'Invalid input for field/attribute field. Value: ''search_offset''. search_offset cannot be used without timestamp');
			END IF;
			v := vscope._ceilo_arg(args, 'q.value', i);
			IF v !~ '^\s*[-+]?\d{1,9}\s*$' THEN
				PERFORM vscope._ceilo_fail('400', format('Unable to convert the value %s to the expected data type integer.', v));
			END IF;
			offset_min := v::numeric;
		END IF;
	END LOOP;
	w_start := q_start - make_interval(mins => coalesce(offset_min, 0)::integer);
	w_end := q_end + make_interval(mins => coalesce(offset_min, 0)::integer);
	IF w_start IS NOT NULL THEN
		xconds := xconds || format('x.ts %s %L::timestamptz', CASE WHEN start_strict THEN '>' ELSE '>=' END, w_start);
	END IF;
	IF w_end IS NOT NULL THEN
		xconds := xconds || format('x.ts %s %L::timestamptz', CASE WHEN end_strict THEN '<' ELSE '<=' END, w_end);
	END IF;
	-- then every other clause: a known field, and eq only
	FOR i IN 0 .. n - 1 LOOP
		f := vscope._ceilo_arg(args, 'q.field', i);
		IF f IN ('timestamp', 'search_offset') THEN
			CONTINUE;
		END IF;
		op := coalesce(nullif(vscope._ceilo_arg(args, 'q.op', i), ''), 'eq');
		v := vscope._ceilo_arg(args, 'q.value', i);
		typ := vscope._ceilo_arg(args, 'q.type', i);
		col := CASE WHEN f ~ '^(resource_)?metadata\..' THEN 'metadata'
					WHEN f IN ('user', 'user_id') THEN 'user_id'
					WHEN f IN ('project', 'project_id') THEN 'project_id'
					WHEN f IN ('resource', 'resource_id') THEN 'resource_id'
					WHEN f = 'meter' THEN 'counter_name'
					ELSE f END;
		IF col <> 'metadata' AND NOT (f = ANY (valid) OR col IN ('user_id', 'project_id', 'resource_id')) THEN
			PERFORM vscope._ceilo_fail('400', format('Unknown argument: "%s": unrecognized field in query: [<Query %s %s %s>], valid keys: %s',
				f, quote_literal(f), op, quote_literal(v),
				'[' || (SELECT string_agg(quote_literal(k), ', ' ORDER BY k) FROM unnest(valid) k) || ']'));
		END IF;
		IF op <> 'eq' THEN
			IF op NOT IN ('lt', 'le', 'ne', 'ge', 'gt') THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. Value should be one of: gt, lt, ge, ne, eq, le', op));
			END IF;
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. unimplemented operator for %s', op, f));
		END IF;
		IF typ NOT IN ('', 'integer', 'float', 'string', 'boolean', 'datetime') THEN
			PERFORM vscope._ceilo_fail('400', format('The data type %s is not supported. The supported data type list is: [''integer'', ''float'', ''string'', ''boolean'', ''datetime'']', typ));
		END IF;
		IF col = 'metadata' THEN
			tv := vscope._ceilo_typed(v, typ);
			conds := conds || format(
				CASE tv.kind WHEN 'number' THEN 'vscope._ceilo_num(s.resource_metadata #>> %L::text[]) = %s'
							 WHEN 'boolean' THEN 'vscope._ceilo_bool(s.resource_metadata #>> %L::text[]) = %s'
							 ELSE '(s.resource_metadata #>> %L::text[]) = %s' END,
				string_to_array(substr(f, strpos(f, '.') + 1), '.')::text, tv.sqlval);
		ELSIF col = 'unique' THEN
			NULL;				-- a flag of /v2/meters, not a filter
		ELSIF col = 'message_id' THEN
			SELECT i.series_id, i.ts, i.seq INTO mid FROM vscope.sample_ids i
			 WHERE i.tenant_id = vscope.current_tenant() AND i.message_id = v;
			IF mid.series_id IS NULL THEN
				SELECT * INTO mid FROM vscope._ceilo_parse_message_id(v);
			END IF;
			IF mid IS NULL THEN
				conds := conds || 'false'::text;
			ELSE
				conds := conds || format('s.series_id = %s', mid.series_id);
				xconds := xconds || format('x.ts = %L::timestamptz AND x.seq = %s', mid.ts, mid.seq);
			END IF;
		ELSIF v = 'None' AND col IN ('user_id', 'project_id') THEN
			conds := conds || format('s.%I IS NULL', col);
		ELSE
			conds := conds || format('s.%I = %L', col, v);
		END IF;
	END LOOP;
	series_where := coalesce(nullif(array_to_string(conds, ' AND '), ''), 'true');
	sample_where := coalesce(nullif(array_to_string(xconds, ' AND '), ''), 'true');
END
$$;
COMMENT ON FUNCTION vscope._ceilo_query(jsonb, text) IS 'internal: a Ceilometer simple query (q.field, q.op, q.value, q.type) for an endpoint kind as conditions on sample_series s and samples x, with its time bounds; a non-admin is confined to its project';

-- Storing samples.  Every path that stores Ceilometer samples (POST
-- /v2/meters/{meter}, the publishers' /v2/publish/samples and the udp
-- listener, _ceilo_store_sample) goes through the two set-based functions
-- below, one statement each per step whatever the number of samples:
-- _ceilo_series_ids finds or makes the series, _ceilo_insert_samples gives
-- each sample its seq and stores it (with its publisher's id, if any) and
-- widens the spans.

-- the most samples (or events) one request may store
CREATE FUNCTION vscope._ceilo_max_samples() RETURNS integer
	LANGUAGE sql STABLE
	AS $$ SELECT coalesce(nullif(current_setting('vscope.ceilometer_max_samples', true), ''), '10000')::integer $$;
COMMENT ON FUNCTION vscope._ceilo_max_samples() IS 'internal: the vscope.ceilometer_max_samples setting, the most samples or events one Ceilometer request may store';

-- _ceilo_series_ids: the series of checked samples, given column-wise, each
-- in its own tenant, made when new; returns their ids in the order given.
-- A series is known by the SHA-256 of its attributes (skey).  The new ones
-- are numbered in the order their first samples come (as storing the
-- samples one by one numbers them), then inserted in (tenant, key) order,
-- so that concurrent writers making the same series wait for each other
-- rather than deadlock (a number taken for a series another writer made
-- meanwhile is left unused).
CREATE FUNCTION vscope._ceilo_series_ids(tenants integer[], meters text[], types text[], units text[],
	resources text[], projects text[], users text[], sources text[], metadata jsonb[])
	RETURNS integer[] LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	keys bytea[];
	ids integer[];
	fresh integer[];		-- the positions of the first samples of new series, in order
	numbers bigint[];
BEGIN
	SELECT array_agg(sha256(convert_to(jsonb_build_array(u.m, u.ty, u.un, u.r, u.p, u.us, u.src, u.md)::text, 'UTF8'))
					 ORDER BY u.i)
	  INTO keys
	  FROM unnest(meters, types, units, resources, projects, users, sources, metadata)
		   WITH ORDINALITY u(m, ty, un, r, p, us, src, md, i);
	SELECT array_agg(f.i ORDER BY f.i) INTO fresh
	  FROM (SELECT DISTINCT ON (u.t, u.k) u.i
			  FROM unnest(tenants, keys) WITH ORDINALITY u(t, k, i)
			 WHERE NOT EXISTS (SELECT FROM vscope.sample_series s WHERE s.tenant_id = u.t AND s.skey = u.k)
			 ORDER BY u.t, u.k, u.i) f;
	IF fresh IS NOT NULL THEN
		-- one number each, ascending in the order the series come
		numbers := ARRAY(SELECT nextval(pg_get_serial_sequence('vscope.sample_series', 'series_id'))
						   FROM generate_series(1, cardinality(fresh)));
		INSERT INTO vscope.sample_series (tenant_id, series_id, counter_name, counter_type, counter_unit,
										  resource_id, project_id, user_id, source, resource_metadata, skey)
		SELECT u.t, f.n, u.m, u.ty, u.un, u.r, u.p, u.us, u.src, u.md, u.k
		  FROM unnest(tenants, meters, types, units, resources, projects, users, sources, metadata, keys)
			   WITH ORDINALITY u(t, m, ty, un, r, p, us, src, md, k, i)
		  JOIN unnest(fresh, numbers) f(i, n) ON f.i = u.i
		 ORDER BY u.t, u.k
		ON CONFLICT (tenant_id, skey) DO NOTHING;
	END IF;
	SELECT array_agg(s.series_id ORDER BY u.i) INTO ids
	  FROM unnest(tenants, keys) WITH ORDINALITY u(t, k, i)
	  JOIN vscope.sample_series s ON s.tenant_id = u.t AND s.skey = u.k;
	IF coalesce(cardinality(ids), 0) <> coalesce(cardinality(tenants), 0) THEN
		RAISE EXCEPTION 'a sample series could not be found or made'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The samples name a tenant this session may not write to.';
	END IF;
	RETURN ids;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_series_ids(integer[], text[], text[], text[], text[], text[], text[], text[], jsonb[]) IS 'internal: the sample series (by tenant, meter, type, unit, resource, project, user, source and metadata, given as arrays) of checked samples, made when new; their ids in the order given';

-- _ceilo_insert_samples: the one place where samples get their seq and are
-- stored; the samples are given column-wise (tenant, series, time, volume,
-- and the publisher's id or NULL), their series made already and their
-- days writable.
--   * A sample is stored at the next free seq of its (tenant, series,
--     time): one past the highest stored there (0 when none), the
--     samples of one time in one call numbered from there in the order
--     given.  (The "alloc" step of the first statement below: a store
--     that keeps samples elsewhere too has that step look there.)
--   * A sample with a publisher's id is stored only if that id is new in
--     its tenant: the id is claimed in vscope.sample_ids, in the same
--     statement that takes its seq; an id stored already, claimed by a
--     concurrent writer (whose commit is awaited), or given twice in the
--     input makes a duplicate, not stored and no error.
--   * The samples are then inserted in key order; one whose seq another
--     writer took meanwhile (the insert waits for that writer's commit)
--     takes the next free seq again, its claimed id following it.
--   * Last, the spans of the series take in the samples stored.
-- Each step is one statement for all the samples; the times' bounds are
-- values known when the statements are planned (EXECUTE), so only the
-- partitions of their days are planned and locked.  Returns the position
-- (1-based) and seq of each sample stored; the others were duplicates.
CREATE FUNCTION vscope._ceilo_insert_samples(tenants integer[], series integer[], stamps timestamptz[],
	volumes double precision[], ids text[] DEFAULT NULL)
	RETURNS TABLE (pos integer, seq integer)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	lo timestamptz;
	hi timestamptz;
	-- the samples still to store: what they are, whether their id is ours
	t_ integer[];
	s_ integer[];
	ts_ timestamptz[];
	v_ double precision[];
	id_ text[];
	p_ integer[];
	c_ boolean[];
	q_ integer[];
	-- what was stored
	done_t integer[] := '{}';
	done_s integer[] := '{}';
	done_ts timestamptz[] := '{}';
	done_p integer[] := '{}';
	done_q integer[] := '{}';
	st_t integer[];
	st_s integer[];
	st_ts timestamptz[];
	st_p integer[];
	st_q integer[];
	left_p integer[];
	rounds integer := 0;
BEGIN
	IF coalesce(cardinality(tenants), 0) = 0 THEN
		RETURN;
	END IF;
	SELECT min(u), max(u) INTO lo, hi FROM unnest(stamps) u;
	-- an id given twice: its first sample only
	SELECT array_agg(x.t ORDER BY x.i), array_agg(x.s ORDER BY x.i), array_agg(x.ts ORDER BY x.i),
		   array_agg(x.v ORDER BY x.i), array_agg(x.id ORDER BY x.i), array_agg(x.i::integer ORDER BY x.i),
		   array_agg(false)
	  INTO t_, s_, ts_, v_, id_, p_, c_
	  FROM (SELECT u.*, row_number() OVER (PARTITION BY u.t, u.id ORDER BY u.i) AS nth
			  FROM unnest(tenants, series, stamps, volumes, ids) WITH ORDINALITY u(t, s, ts, v, id, i)) x
	 WHERE x.id IS NULL OR x.nth = 1;
	LOOP
		rounds := rounds + 1;
		IF rounds > 100 THEN
			RAISE EXCEPTION 'samples could not be given a free seq after 100 tries'
				USING ERRCODE = 'serialization_failure',
					  HINT = 'Other writers keep storing samples of the same series at the same times: retry.';
		END IF;
		-- seqs, and the ids claimed (or, in later rounds, moved to their new seq)
		EXECUTE $q$
			WITH v AS (
				SELECT * FROM unnest($1::integer[], $2::integer[], $3::timestamptz[], $4::double precision[],
									 $5::text[], $6::integer[], $7::boolean[]) u(t, s, ts, vol, id, pos, claimed)
			), alloc AS (
				-- the next free seq at the sample's time, then the samples of
				-- one time numbered in order
				SELECT v.*, (coalesce((SELECT max(x.seq) FROM vscope.samples x
										WHERE x.tenant_id = v.t AND x.series_id = v.s AND x.ts = v.ts
										  AND x.ts >= $8 AND x.ts <= $9) + 1, 0)
							 + row_number() OVER (PARTITION BY v.t, v.s, v.ts ORDER BY v.pos) - 1)::integer AS seq
				  FROM v
			), claim AS (
				INSERT INTO vscope.sample_ids AS i (tenant_id, message_id, series_id, ts, seq)
				SELECT a.t, a.id, a.s, a.ts, a.seq FROM alloc a
				 WHERE a.id IS NOT NULL AND NOT a.claimed
				 ORDER BY a.t, a.id
				ON CONFLICT (tenant_id, message_id) DO NOTHING
				RETURNING i.tenant_id, i.message_id
			), moved AS (
				UPDATE vscope.sample_ids i SET seq = a.seq
				  FROM alloc a
				 WHERE a.claimed AND i.tenant_id = a.t AND i.message_id = a.id
			)
			SELECT array_agg(a.t ORDER BY a.pos), array_agg(a.s ORDER BY a.pos), array_agg(a.ts ORDER BY a.pos),
				   array_agg(a.vol ORDER BY a.pos), array_agg(a.id ORDER BY a.pos), array_agg(a.pos ORDER BY a.pos),
				   array_agg(a.seq ORDER BY a.pos)
			  FROM alloc a LEFT JOIN claim c ON c.tenant_id = a.t AND c.message_id = a.id
			 WHERE a.id IS NULL OR a.claimed OR c.message_id IS NOT NULL
			$q$
			INTO t_, s_, ts_, v_, id_, p_, q_
			USING t_, s_, ts_, v_, id_, p_, c_, lo, hi;
		EXIT WHEN p_ IS NULL;
		-- the samples, in key order: writers storing at one time wait for
		-- each other rather than deadlock
		EXECUTE $q$
			WITH w AS (
				SELECT * FROM unnest($1::integer[], $2::integer[], $3::timestamptz[], $4::double precision[],
									 $5::integer[], $6::integer[]) u(t, s, ts, vol, pos, seq)
			), stored AS (
				INSERT INTO vscope.samples (tenant_id, series_id, ts, seq, volume)
				SELECT w.t, w.s, w.ts, w.seq, w.vol FROM w ORDER BY w.t, w.s, w.ts, w.seq
				ON CONFLICT DO NOTHING
				RETURNING tenant_id, series_id, ts, seq
			)
			SELECT array_agg(w.t) FILTER (WHERE st.seq IS NOT NULL), array_agg(w.s) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.ts) FILTER (WHERE st.seq IS NOT NULL), array_agg(w.pos) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.seq) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.pos) FILTER (WHERE st.seq IS NULL)
			  FROM w LEFT JOIN stored st ON st.tenant_id = w.t AND st.series_id = w.s AND st.ts = w.ts AND st.seq = w.seq
			$q$
			INTO st_t, st_s, st_ts, st_p, st_q, left_p
			USING t_, s_, ts_, v_, p_, q_;
		done_t := done_t || st_t;
		done_s := done_s || st_s;
		done_ts := done_ts || st_ts;
		done_p := done_p || st_p;
		done_q := done_q || st_q;
		EXIT WHEN left_p IS NULL;
		-- the samples that lost their seq, again (their ids are theirs already)
		SELECT array_agg(u.t ORDER BY u.pos), array_agg(u.s ORDER BY u.pos), array_agg(u.ts ORDER BY u.pos),
			   array_agg(u.vol ORDER BY u.pos), array_agg(u.id ORDER BY u.pos), array_agg(u.pos ORDER BY u.pos),
			   array_agg(true)
		  INTO t_, s_, ts_, v_, id_, p_, c_
		  FROM unnest(t_, s_, ts_, v_, id_, p_) u(t, s, ts, vol, id, pos)
		 WHERE u.pos = ANY (left_p);
	END LOOP;
	PERFORM vscope._ceilo_span_widen(done_t, done_s, done_ts);
	RETURN QUERY SELECT u.p, u.q FROM unnest(done_p, done_q) u(p, q);
END
$$;
COMMENT ON FUNCTION vscope._ceilo_insert_samples(integer[], integer[], timestamptz[], double precision[], text[]) IS 'internal: stores samples (tenant, series, time, volume, publisher''s id or NULL; set-based) each at the next free seq of its time, a sample whose id its tenant has already skipped; widens their spans; returns the position and seq of each sample stored';

-- _ceilo_store_sample stores one checked sample in the current tenant;
-- returns its message_id (the caller has made sure the day's partition exists)
CREATE OR REPLACE FUNCTION vscope._ceilo_store_sample(meter text, ctype text, unit text, volume float8,
	resource text, project text, usr text, src text, metadata jsonb, ts timestamptz)
	RETURNS text LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	sid integer;
	n integer;
BEGIN
	IF tid IS NULL THEN
		RAISE EXCEPTION 'no tenant is selected' USING ERRCODE = 'VS401';
	END IF;
	sid := (vscope._ceilo_series_ids(ARRAY[tid], ARRAY[meter], ARRAY[ctype], ARRAY[unit], ARRAY[resource],
									 ARRAY[project], ARRAY[usr], ARRAY[src], ARRAY[metadata]))[1];
	SELECT i.seq INTO n FROM vscope._ceilo_insert_samples(ARRAY[tid], ARRAY[sid], ARRAY[ts], ARRAY[volume]) i;
	RETURN vscope.ceilometer_message_id(sid, ts, n);
END
$$;
COMMENT ON FUNCTION vscope._ceilo_store_sample(text, text, text, float8, text, text, text, text, jsonb, timestamptz) IS 'internal: stores one checked Ceilometer sample, with its series if new and the next free seq at its time; returns its message_id';

DROP FUNCTION vscope._ceilo_insert_sample(integer, timestamptz, float8);
DROP FUNCTION vscope._ceilo_series_id(text, text, text, text, text, text, text, jsonb);

-- _ceilo_post_problem: why POST /v2/meters/{meter} refuses this sample
-- (Ceilometer's words), NULL when it is fine
CREATE FUNCTION vscope._ceilo_post_problem(smp jsonb, meter text, admin boolean, project text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	k text;
	v jsonb;
	ts timestamptz;
	md jsonb;
	proj text;
BEGIN
	IF jsonb_typeof(smp) <> 'object' THEN
		RETURN format('Invalid input for field/attribute samples. Value: ''%s''. Each sample must be an object', smp);
	END IF;
	-- (the checks are expressions, no queries, but where a sample fails:
	-- this runs once per posted sample)
	IF smp - ARRAY['counter_name', 'counter_type', 'counter_unit', 'counter_volume', 'resource_id',
				   'user_id', 'project_id', 'source', 'timestamp', 'recorded_at', 'resource_metadata',
				   'message_id'] <> '{}' THEN
		FOR k IN SELECT jsonb_object_keys(smp) LOOP
			IF k NOT IN ('counter_name', 'counter_type', 'counter_unit', 'counter_volume', 'resource_id',
						 'user_id', 'project_id', 'source', 'timestamp', 'recorded_at', 'resource_metadata',
						 'message_id') THEN
				RETURN format('Unknown attribute for argument samples: %s', k);
			END IF;
		END LOOP;
	END IF;
	FOREACH k IN ARRAY ARRAY['counter_name', 'counter_type', 'counter_unit', 'counter_volume', 'resource_id'] LOOP
		IF smp -> k IS NULL OR smp -> k = 'null' THEN
			RETURN format('Invalid input for field/attribute %s. Value: ''None''. Mandatory field missing.', k);
		END IF;
	END LOOP;
	FOREACH k IN ARRAY ARRAY['counter_name', 'counter_type', 'counter_unit', 'resource_id', 'user_id',
							 'project_id', 'source', 'timestamp', 'message_id'] LOOP
		IF jsonb_typeof(smp -> k) NOT IN ('string', 'null') THEN
			RETURN format('Invalid input for field/attribute %s. Value: ''%s''. Wrong type. Expected ''unicode'', got ''%s''',
				k, smp -> k, jsonb_typeof(smp -> k));
		END IF;
	END LOOP;
	FOREACH k IN ARRAY ARRAY['counter_name', 'counter_unit', 'resource_id', 'user_id', 'project_id', 'source'] LOOP
		IF octet_length(smp ->> k) > 255 THEN
			RETURN format('Invalid input for field/attribute %s. Value: ''%s...''. longer than 255 bytes', k, left(smp ->> k, 32));
		END IF;
	END LOOP;
	IF smp ->> 'counter_name' <> meter THEN
		RETURN format('Invalid input for field/attribute counter_name. Value: ''%s''. should be %s', smp ->> 'counter_name', meter);
	END IF;
	IF smp ->> 'message_id' IS NOT NULL THEN
		RETURN format('Invalid input for field/attribute message_id. Value: ''%s''. The message_id must not be set', smp ->> 'message_id');
	END IF;
	IF smp ->> 'counter_type' NOT IN ('gauge', 'delta', 'cumulative') THEN
		RETURN format('Invalid input for field/attribute counter_type. Value: ''%s''. The counter type must be: gauge, delta, cumulative', smp ->> 'counter_type');
	END IF;
	v := smp -> 'counter_volume';
	IF NOT (jsonb_typeof(v) = 'number' OR (jsonb_typeof(v) = 'string' AND vscope._ceilo_num(v #>> '{}') IS NOT NULL)) THEN
		RETURN format('Invalid input for field/attribute counter_volume. Value: ''%s''. Wrong type. Expected ''float''', v #>> '{}');
	END IF;
	IF abs((v #>> '{}')::numeric) > 1e308 THEN
		RETURN format('Invalid input for field/attribute counter_volume. Value: ''%s''. out of range', v #>> '{}');
	END IF;
	md := coalesce(nullif(smp -> 'resource_metadata', 'null'), '{}');
	IF jsonb_typeof(md) <> 'object' OR jsonb_path_exists(md, 'strict $.* ? (@.type() != "string")') THEN
		RETURN format('Invalid input for field/attribute resource_metadata. Value: ''%s''. Wrong type. Expected a map of strings to strings', md);
	END IF;
	IF jsonb_path_exists(md, 'strict $.keyvalue() ? (@.key like_regex "(^\\.|\\.\\.|\\.$)")') THEN
		RETURN 'Invalid input for field/attribute resource_metadata: a key has an empty part between dots';
	END IF;
	IF jsonb_path_exists(md, 'strict $.keyvalue() ? (@.key like_regex "(\\.[^.]*){32}")') THEN
		RETURN 'Invalid input for field/attribute resource_metadata: a key has more than 32 dotted parts';
	END IF;
	-- (1000 keys take more than 4 kB)
	IF pg_column_size(md) > 4000 AND (SELECT count(*) FROM jsonb_object_keys(md)) > 1000 THEN
		RETURN 'Invalid input for field/attribute resource_metadata: more than 1000 keys';
	END IF;
	ts := now();
	IF smp ->> 'timestamp' IS NOT NULL THEN
		ts := vscope._ceilo_parse_ts(smp ->> 'timestamp');
		IF ts IS NULL THEN
			RETURN format('Invalid input for field/attribute timestamp. Value: ''%s''. invalid timestamp format', smp ->> 'timestamp');
		END IF;
		-- as for points: not too far ahead, not already past retention
		IF ts > now() + coalesce(current_setting('vscope.max_future', true), '7d')::interval THEN
			RETURN format('Invalid input for field/attribute timestamp. Value: ''%s''. more than vscope.max_future (%s) ahead', smp ->> 'timestamp', coalesce(current_setting('vscope.max_future', true), '7d'));
		END IF;
		IF ts < now() - vscope.retention() THEN
			RETURN format('Invalid input for field/attribute timestamp. Value: ''%s''. older than vscope.retention (%s)', smp ->> 'timestamp', vscope.retention());
		END IF;
	END IF;
	-- only to a day that has its partition: a request never makes one
	k := vscope._day_not_writable(ts, 'samples');
	IF k IS NOT NULL THEN
		RETURN format('Invalid input for field/attribute timestamp. Value: ''%s''. %s',
			coalesce(smp ->> 'timestamp', vscope._ceilo_ts(ts)), k);
	END IF;
	proj := coalesce(smp ->> 'project_id', project);
	IF NOT admin AND proj IS DISTINCT FROM project THEN
		RETURN format('Invalid input for field/attribute project_id. Value: ''%s''. can not post samples to other projects', proj);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_post_problem(jsonb, text, boolean, text) IS 'internal: why POST /v2/meters/{meter} refuses a sample, in Ceilometer''s words (the caller an admin or not, of a project), or NULL when it is fine';

-- POST /v2/meters/{meter}: every sample is checked before any is stored;
-- the answer (201) echoes them with the filled-in fields.  Set-based: one
-- pass checks them all, one statement per step stores them all.
CREATE OR REPLACE FUNCTION vscope.ceilometer_post_samples(meter text, body text) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	tid integer := vscope.current_tenant();
	b jsonb;
	bad text;
	filled jsonb[];			-- the samples as echoed, in order
	stamps timestamptz[];
	volumes float8[];
	metas jsonb[];
	sids integer[];
	seqs integer[];
	r json;
BEGIN
	IF tid IS NULL THEN
		RAISE EXCEPTION 'no tenant is selected' USING ERRCODE = 'VS401';
	END IF;
	b := vscope._ceilo_json(body);
	IF jsonb_typeof(b) IS DISTINCT FROM 'array' THEN
		PERFORM vscope._ceilo_fail('400', 'Invalid input for field/attribute samples: the body must be a JSON list of samples');
	END IF;
	IF jsonb_array_length(b) = 0 THEN
		PERFORM vscope._ceilo_fail('400', 'Samples should be included in request body');
	END IF;
	IF jsonb_array_length(b) > vscope._ceilo_max_samples() THEN
		PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute samples: %s samples, at most %s are taken in one request (vscope.ceilometer_max_samples)',
			jsonb_array_length(b), vscope._ceilo_max_samples()));
	END IF;
	-- the first problem of the first bad sample
	SELECT p INTO bad
	  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i),
		   LATERAL vscope._ceilo_post_problem(a.e, meter, me.admin, me.project) p
	 WHERE p IS NOT NULL ORDER BY a.i LIMIT 1;
	IF bad IS NOT NULL THEN
		PERFORM vscope._ceilo_fail('400', bad);
	END IF;
	-- all valid, each to a day that has its partition: filled in, then stored
	WITH f AS (
		SELECT a.i, a.e, coalesce(vscope._ceilo_parse_ts(a.e ->> 'timestamp'), now()) AS ts,
			   coalesce(a.e ->> 'project_id', me.project) AS proj,
			   coalesce(nullif(a.e -> 'resource_metadata', 'null'), '{}') AS md
		  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i)
	)
	SELECT array_agg(f.e - 'recorded_at' || jsonb_build_object(
				'user_id', coalesce(f.e ->> 'user_id', me.usr),
				'project_id', f.proj,
				'source', coalesce(f.proj, 'None') || ':' || coalesce(f.e ->> 'source', 'openstack'),
				'timestamp', vscope._ceilo_ts(f.ts),
				'resource_metadata', f.md,
				'counter_volume', vscope._ceilo_float((f.e ->> 'counter_volume')::float8)::jsonb) ORDER BY f.i),
		   array_agg(f.ts ORDER BY f.i),
		   array_agg((f.e ->> 'counter_volume')::float8 ORDER BY f.i),
		   -- (dotted keys made nested; most metadata has none)
		   array_agg(CASE WHEN jsonb_path_exists(f.md, 'strict $.keyvalue() ? (@.key like_regex "\\.")')
						  THEN vscope._ceilo_renest(f.md) ELSE f.md END ORDER BY f.i)
	  INTO filled, stamps, volumes, metas
	  FROM f;
	SELECT vscope._ceilo_series_ids(array_agg(tid), array_agg(meter), array_agg(x ->> 'counter_type' ORDER BY n),
				array_agg(x ->> 'counter_unit' ORDER BY n), array_agg(x ->> 'resource_id' ORDER BY n),
				array_agg(x ->> 'project_id' ORDER BY n), array_agg(x ->> 'user_id' ORDER BY n),
				array_agg(x ->> 'source' ORDER BY n), metas)
	  INTO sids
	  FROM unnest(filled) WITH ORDINALITY u(x, n);
	SELECT array_agg(i.seq ORDER BY i.pos) INTO seqs
	  FROM vscope._ceilo_insert_samples(array_fill(tid, ARRAY[cardinality(sids)]), sids, stamps, volumes) i;
	SELECT json_agg(u.x || jsonb_build_object('message_id', vscope.ceilometer_message_id(u.sid, u.ts, u.seq)) ORDER BY u.n)
	  INTO r
	  FROM unnest(filled, sids, stamps, seqs) WITH ORDINALITY u(x, sid, ts, seq, n);
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_post_samples(text, text) IS 'Ceilometer POST /v2/meters/{meter}: a JSON list of samples (old style), all checked before any is stored, at most vscope.ceilometer_max_samples; returns them with the filled-in fields';

--------------------------------------------------------------------------------
-- Ceilometer's publishers: what its pipeline sends (vscoped's
-- /v2/publish/samples and /v2/publish/events, and its udp listener)
--------------------------------------------------------------------------------

-- _ceilo_publish_routing: a 400 unless routing is one of the three ways a
-- publisher's items find their tenant (see ceilometer_publish_samples); a
-- 403 for 'project' without the right to write every tenant
CREATE FUNCTION vscope._ceilo_publish_routing(routing text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF vscope.current_tenant() IS NULL THEN
		RAISE EXCEPTION 'no tenant is selected' USING ERRCODE = 'VS401';
	END IF;
	IF routing IS NULL OR routing NOT IN ('tenant', 'project', 'own') THEN
		RAISE EXCEPTION 'invalid routing "%"', routing
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use tenant, project or own.';
	END IF;
	IF routing = 'project' AND NOT pg_has_role(current_user, 'vscope_superadmin', 'MEMBER') THEN
		PERFORM vscope._ceilo_fail('403', 'Routing items to the tenants of their projects takes the vscope_superadmin role');
	END IF;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_publish_routing(text) IS 'internal: checks a publisher''s routing (tenant, project or own) and the right to it';

-- _ceilo_publish_tenants: the tenant of each published item by its
-- project (NULL: none), routed as ceilometer_publish_samples says; with
-- 'project' the tenants named after projects are made when new (as a
-- superadmin makes them), in name order.  The projects are checked already.
CREATE FUNCTION vscope._ceilo_publish_tenants(projects text[], routing text) RETURNS integer[]
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	home integer := vscope.current_tenant();
	r integer[];
BEGIN
	IF routing <> 'project' THEN
		RETURN array_fill(home, ARRAY[coalesce(cardinality(projects), 0)]);
	END IF;
	INSERT INTO vscope.tenants (name)
	SELECT DISTINCT p FROM unnest(projects) p
	 WHERE p IS NOT NULL AND NOT EXISTS (SELECT FROM vscope.tenants t WHERE t.name = p)
	 ORDER BY p
	ON CONFLICT ON CONSTRAINT tenants_name_key DO NOTHING;
	SELECT array_agg(coalesce(t.tenant_id, home) ORDER BY u.i) INTO r
	  FROM unnest(projects) WITH ORDINALITY u(p, i)
	  LEFT JOIN vscope.tenants t ON t.name = u.p;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_publish_tenants(text[], text) IS 'internal: the tenant of each published item by its project and the routing (the current tenant, or with routing project the tenant named after the project, made when new)';

-- _ceilo_publish_project_problem: why an item of this project cannot go
-- where the routing sends it (own: the current tenant's own project only;
-- project: a project must be able to name a tenant), or NULL
CREATE FUNCTION vscope._ceilo_publish_project_problem(project text, routing text, home text) RETURNS text
	LANGUAGE sql STABLE
	AS $$
SELECT CASE
	WHEN project IS NULL THEN NULL
	WHEN routing = 'own' AND project <> home THEN
		format('project_id: %s is not the project of this token (%s); a publish token routes every project', project, home)
	WHEN routing = 'project' AND project !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' THEN
		format('project_id: %s cannot name a vscope tenant (1 to 128 characters from A-Z, a-z, 0-9, ".", "_" and "-", the first a letter or digit)', project)
	END
$$;
COMMENT ON FUNCTION vscope._ceilo_publish_project_problem(text, text, text) IS 'internal: why a published item of a project cannot go where the routing sends it, or NULL';

-- A publisher's body: a JSON list, or one item; NaN and Infinity as
-- Python writes them are read (vscope._ceilo_publish_json) so that only
-- their item is refused
CREATE FUNCTION vscope._ceilo_publish_json(body text) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'vscope_ceilometer_publish_json'
	LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION vscope._ceilo_publish_json(text) IS 'internal: a publisher''s body as jsonb, the words NaN, Infinity and -Infinity (Python''s non-finite floats) outside strings read as {"vscope:nonfinite": word}';

CREATE FUNCTION vscope._ceilo_publish_items(body text, what text) RETURNS jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	b jsonb;
BEGIN
	BEGIN
		b := vscope._ceilo_publish_json(coalesce(body, ''));
	EXCEPTION
		WHEN invalid_text_representation OR untranslatable_character OR character_not_in_repertoire THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input: the body is not JSON (a list of %s, or one)', what));
		WHEN statement_too_complex OR program_limit_exceeded THEN
			PERFORM vscope._ceilo_fail('400', 'Invalid input: the body is nested too deeply');
	END;
	IF jsonb_typeof(b) = 'object' THEN
		b := jsonb_build_array(b);
	END IF;
	IF jsonb_typeof(b) <> 'array' THEN
		PERFORM vscope._ceilo_fail('400', format('Invalid input: the body must be a JSON list of %s, or one', what));
	END IF;
	IF jsonb_array_length(b) > vscope._ceilo_max_samples() THEN
		PERFORM vscope._ceilo_fail('400', format('Invalid input: %s %s, at most %s are taken in one request (vscope.ceilometer_max_samples)',
			jsonb_array_length(b), what, vscope._ceilo_max_samples()));
	END IF;
	RETURN b;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_publish_items(text, text) IS 'internal: a publisher''s body as a JSON list of items (one object becomes a list of one), or a 400';

-- the answer to a publisher: what was stored, what was there already,
-- what was refused and why; a 400 when items came and none could be used
CREATE FUNCTION vscope._ceilo_publish_answer(n integer, good integer, stored integer, rejected jsonb, what text)
	RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF n > 0 AND good = 0 THEN
		PERFORM vscope._ceilo_fail('400', format('No %s could be stored: %s%s', what,
			(SELECT string_agg(format('item %s: %s', r ->> 'index', r ->> 'error'), '; ' ORDER BY (r ->> 'index')::integer)
			   FROM (SELECT r FROM jsonb_array_elements(rejected) r ORDER BY (r ->> 'index')::integer LIMIT 10) x),
			CASE WHEN n > 10 THEN format('; and %s more', n - 10) ELSE '' END));
	END IF;
	RETURN json_build_object('stored', stored, 'duplicates', good - stored, 'rejected', coalesce(rejected, '[]'));
END
$$;
COMMENT ON FUNCTION vscope._ceilo_publish_answer(integer, integer, integer, jsonb, text) IS 'internal: a publisher''s answer {stored, duplicates, rejected: [{index, id, error}]}, or a 400 naming the problems when no item could be used';

-- What Ceilometer's http publisher sends for samples (Sample.as_dict()):
-- [{"name", "type", "unit", "volume", "user_id", "project_id",
-- "resource_id", "timestamp", "resource_metadata", "source", "id",
-- "monotonic_time"}], or one such object.  Each sample is checked on its
-- own: the good ones are stored (source and metadata as sent), a sample
-- whose id is stored already is a duplicate (skipped), a bad one is
-- refused with its reason; 400 only when every item is bad.  routing says
-- where the samples go:
--   tenant   every sample into the current tenant (keystone mode, SQL)
--   own      into the current tenant, only with no project or the
--            tenant's own (a tenant's token, as a project is a tenant)
--   project  each into the tenant named after its project, made when new;
--            samples with no project into the current tenant (a cloud-wide
--            publisher; needs vscope_superadmin)
-- Answers {"stored": n, "duplicates": n, "rejected": [{"index", "id", "error"}]}.
CREATE FUNCTION vscope.ceilometer_publish_samples(body text, routing text DEFAULT 'tenant') RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	b jsonb;
	home_name text;
	future interval := coalesce(current_setting('vscope.max_future', true), '7d')::interval;
	oldest timestamptz := now() - vscope.retention();
	nonfinite boolean := strpos(body, 'NaN') > 0 OR strpos(body, 'Infinity') > 0;
	n integer;
	good integer;
	rejected jsonb;
	idx integer[];
	projects text[];
	tenants integer[];
	meters text[];
	types text[];
	units text[];
	resources text[];
	users text[];
	sources text[];
	metas jsonb[];
	stamps timestamptz[];
	volumes float8[];
	ids text[];
	sids integer[];
	stored integer;
BEGIN
	PERFORM vscope._ceilo_publish_routing(routing);
	b := vscope._ceilo_publish_items(body, 'samples');
	n := jsonb_array_length(b);
	SELECT t.name INTO home_name FROM vscope.tenants t WHERE t.tenant_id = vscope.current_tenant();
	-- every item checked on its own: its first problem, or its fields
	WITH items AS (
		SELECT (a.i - 1)::integer AS i, a.e,
			   CASE WHEN jsonb_typeof(a.e -> 'timestamp') = 'string' THEN vscope._ceilo_parse_ts(a.e ->> 'timestamp') END AS ts,
			   CASE jsonb_typeof(a.e -> 'volume')
				   WHEN 'number' THEN (a.e ->> 'volume')::numeric
				   WHEN 'string' THEN vscope._ceilo_num(a.e ->> 'volume') END AS vol,
			   CASE WHEN jsonb_typeof(a.e -> 'project_id') = 'string' THEN a.e ->> 'project_id' END AS project
		  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i)
	), checked AS (
		SELECT it.*, CASE
			WHEN jsonb_typeof(it.e) <> 'object' THEN
				format('a sample is a JSON object, not %s', jsonb_typeof(it.e))
			WHEN jsonb_typeof(it.e -> 'name') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'name') NOT BETWEEN 1 AND 255 THEN
				'name: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'type') IS DISTINCT FROM 'string' OR it.e ->> 'type' NOT IN ('gauge', 'delta', 'cumulative') THEN
				format('type: gauge, delta or cumulative, not %s', coalesce((it.e -> 'type')::text, 'nothing'))
			WHEN jsonb_typeof(it.e -> 'unit') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'unit') > 255 THEN
				'unit: a string of at most 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'volume') = 'object' AND it.e -> 'volume' ? 'vscope:nonfinite' THEN
				format('volume: %s is not a finite number', it.e -> 'volume' ->> 'vscope:nonfinite')
			WHEN it.vol IS NULL THEN
				format('volume: a number is needed, not %s', coalesce((it.e -> 'volume')::text, 'nothing'))
			WHEN NOT (it.vol = 0 OR abs(it.vol) BETWEEN 2.2250738585072014e-308 AND 1.7976931348623157e308) THEN
				format('volume: %s is out of the range of a double precision number', it.e ->> 'volume')
			WHEN jsonb_typeof(it.e -> 'resource_id') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'resource_id') NOT BETWEEN 1 AND 255 THEN
				'resource_id: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'project_id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'project_id') > 255 THEN
				'project_id: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'user_id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'user_id') > 255 THEN
				'user_id: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'source') NOT IN ('string', 'null') OR octet_length(it.e ->> 'source') > 255 THEN
				'source: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'id') NOT BETWEEN 1 AND 255 THEN
				'id: a string of 1 to 255 bytes, or null, is needed'
			WHEN it.ts IS NULL THEN
				format('timestamp: %s is not an ISO 8601 time', coalesce((it.e -> 'timestamp')::text, 'nothing'))
			WHEN jsonb_typeof(it.e -> 'resource_metadata') NOT IN ('object', 'null') THEN
				format('resource_metadata: an object (or null) is needed, not %s', jsonb_typeof(it.e -> 'resource_metadata'))
			WHEN pg_column_size(it.e -> 'resource_metadata') > 65536 THEN
				'resource_metadata: larger than 64 kB'
			WHEN nonfinite AND strpos(it.e::text, '{"vscope:nonfinite": ') > 0 THEN
				'NaN or Infinity, which JSON does not have, in the sample'
			WHEN it.ts > now() + future THEN
				format('timestamp: %s is more than vscope.max_future (%s) ahead', it.e ->> 'timestamp', future)
			WHEN it.ts < oldest THEN
				format('timestamp: %s is older than vscope.retention (%s)', it.e ->> 'timestamp', vscope.retention())
			ELSE vscope._ceilo_publish_project_problem(it.project, routing, home_name)
			END AS err
		  FROM items it
	), days AS (
		-- only to a day that has its partition: a request never makes one
		SELECT d.day, vscope._day_not_writable(d.day, 'samples') AS err
		  FROM (SELECT DISTINCT date_trunc('day', c.ts, 'UTC') AS day FROM checked c WHERE c.err IS NULL) d
	), final AS (
		SELECT c.*, coalesce(c.err, 'timestamp: ' || d.err) AS problem
		  FROM checked c LEFT JOIN days d ON d.day = date_trunc('day', c.ts, 'UTC') AND c.err IS NULL
	)
	SELECT count(*) FILTER (WHERE f.problem IS NULL),
		   jsonb_agg(jsonb_build_object('index', f.i, 'id', CASE WHEN jsonb_typeof(f.e -> 'id') = 'string' THEN f.e -> 'id' END,
										'error', f.problem) ORDER BY f.i) FILTER (WHERE f.problem IS NOT NULL),
		   array_agg(f.i ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.project ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'name' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'type' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'unit' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'resource_id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'user_id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'source' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(coalesce(nullif(f.e -> 'resource_metadata', 'null'), '{}') ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.ts ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.vol::float8 ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL)
	  INTO good, rejected, idx, projects, meters, types, units, resources, users, sources, metas, stamps, volumes, ids
	  FROM final f;
	stored := 0;
	IF good > 0 THEN
		tenants := vscope._ceilo_publish_tenants(projects, routing);
		sids := vscope._ceilo_series_ids(tenants, meters, types, units, resources, projects, users, sources, metas);
		SELECT count(*) INTO stored FROM vscope._ceilo_insert_samples(tenants, sids, stamps, volumes, ids);
	END IF;
	RETURN vscope._ceilo_publish_answer(n, good, stored, rejected, 'sample');
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_publish_samples(text, text) IS 'Ceilometer''s http publisher''s samples (a JSON list of Sample.as_dict(), or one): each checked on its own, the good ones stored (a repeated id skipped), routed by routing (tenant: all in the current tenant; own: only its own project; project: each in the tenant of its project, made when new); returns {stored, duplicates, rejected}';

-- _ceilo_publish_trait: one trait of a published event, as Ceilometer
-- serializes it ([name, dtype, value]: dtype 1 text, 2 integer, 3 float,
-- 4 datetime, 0 none taken as text) or as the V2 API writes it
-- ({"name", "type", "value"}), made {"name", "type", "value"} with the
-- value's canonical text; {"error": why} when it cannot be; NULL for a
-- trait without a value (Ceilometer makes none)
CREATE FUNCTION vscope._ceilo_publish_trait(t jsonb) RETURNS jsonb
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	nm jsonb;
	dt jsonb;
	v jsonb;
	typ text;
	n numeric;
	ts timestamptz;
BEGIN
	IF jsonb_typeof(t) = 'array' AND jsonb_array_length(t) = 3 THEN
		nm := t -> 0;
		dt := t -> 1;
		v := t -> 2;
	ELSIF jsonb_typeof(t) = 'object' THEN
		nm := t -> 'name';
		dt := coalesce(t -> 'type', '"string"');
		v := t -> 'value';
	ELSE
		RETURN jsonb_build_object('error', 'a trait is [name, dtype, value]');
	END IF;
	IF jsonb_typeof(nm) IS DISTINCT FROM 'string' OR octet_length(nm #>> '{}') NOT BETWEEN 1 AND 255 THEN
		RETURN jsonb_build_object('error', 'a trait name is a string of 1 to 255 bytes');
	END IF;
	typ := CASE dt #>> '{}' WHEN '0' THEN 'string' WHEN '1' THEN 'string' WHEN '2' THEN 'integer'
						   WHEN '3' THEN 'float' WHEN '4' THEN 'datetime' WHEN 'none' THEN 'string'
						   WHEN 'string' THEN 'string' WHEN 'integer' THEN 'integer' WHEN 'float' THEN 'float'
						   WHEN 'datetime' THEN 'datetime' END;
	IF typ IS NULL OR jsonb_typeof(dt) NOT IN ('number', 'string') THEN
		RETURN jsonb_build_object('error', format('%s: the type %s is none of 1 (text), 2 (integer), 3 (float), 4 (datetime)', nm #>> '{}', dt));
	END IF;
	IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(v) = 'object' AND v ? 'vscope:nonfinite' THEN
		RETURN jsonb_build_object('error', format('%s: %s is not a finite number', nm #>> '{}', v ->> 'vscope:nonfinite'));
	END IF;
	IF jsonb_typeof(v) NOT IN ('string', 'number', 'boolean') THEN
		RETURN jsonb_build_object('error', format('%s: a value is a string or a number, not %s', nm #>> '{}', jsonb_typeof(v)));
	END IF;
	n := CASE jsonb_typeof(v) WHEN 'number' THEN (v #>> '{}')::numeric WHEN 'string' THEN vscope._ceilo_num(v #>> '{}') END;
	CASE typ
	WHEN 'string' THEN
		RETURN jsonb_build_object('name', nm, 'type', typ, 'value', v #>> '{}');
	WHEN 'integer' THEN
		IF n IS NOT NULL AND n = trunc(n) AND n BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
			RETURN jsonb_build_object('name', nm, 'type', typ, 'value', n::bigint::text);
		END IF;
	WHEN 'float' THEN
		IF n = 0 OR abs(n) BETWEEN 2.2250738585072014e-308 AND 1.7976931348623157e308 THEN
			RETURN jsonb_build_object('name', nm, 'type', typ, 'value', n::float8::text);
		END IF;
	ELSE
		ts := CASE WHEN jsonb_typeof(v) = 'string' THEN vscope._ceilo_parse_ts(v #>> '{}') END;
		IF ts IS NOT NULL THEN
			RETURN jsonb_build_object('name', nm, 'type', typ, 'value', vscope._ceilo_ts(ts));
		END IF;
	END CASE;
	RETURN jsonb_build_object('error', format('%s: %s is not a%s %s', nm #>> '{}', v, CASE typ WHEN 'integer' THEN 'n' ELSE '' END, typ));
END
$$;
COMMENT ON FUNCTION vscope._ceilo_publish_trait(jsonb) IS 'internal: a published event''s trait ([name, dtype, value] or {name, type, value}) as {name, type, value} with the value''s canonical text, {error} when it cannot be, NULL without a value';

-- What Ceilometer's http publisher sends for events (Event.serialize()):
-- [{"message_id", "event_type", "generated", "traits": [[name, dtype,
-- value], ...], "raw"}], or one such object.  Each checked on its own, as
-- samples are; an event whose message_id its tenant has already is a
-- duplicate.  routing as for samples, the project being the event's
-- project_id trait.  Answers {"stored", "duplicates", "rejected"}.
CREATE FUNCTION vscope.ceilometer_publish_events(body text, routing text DEFAULT 'tenant') RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	b jsonb;
	home_name text;
	nonfinite boolean := strpos(body, 'NaN') > 0 OR strpos(body, 'Infinity') > 0;
	n integer;
	good integer;
	rejected jsonb;
	projects text[];
	tenants integer[];
	mids text[];
	types text[];
	gens timestamptz[];
	traits jsonb[];
	raws jsonb[];
	stored integer;
BEGIN
	PERFORM vscope._ceilo_publish_routing(routing);
	b := vscope._ceilo_publish_items(body, 'events');
	n := jsonb_array_length(b);
	SELECT t.name INTO home_name FROM vscope.tenants t WHERE t.tenant_id = vscope.current_tenant();
	WITH items AS (
		SELECT (a.i - 1)::integer AS i, a.e,
			   CASE WHEN jsonb_typeof(a.e -> 'generated') = 'string' THEN vscope._ceilo_parse_ts(a.e ->> 'generated') END AS gen
		  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i)
	), converted AS (
		SELECT it.*, tr.traits, tr.terr, tr.project
		  FROM items it
		  LEFT JOIN LATERAL (
			SELECT coalesce(jsonb_agg(c.t ORDER BY c.t ->> 'name', c.t ->> 'value') FILTER (WHERE NOT c.t ? 'error'), '[]') AS traits,
				   (array_agg(c.t ->> 'error' ORDER BY x.o) FILTER (WHERE c.t ? 'error'))[1] AS terr,
				   min(c.t ->> 'value') FILTER (WHERE c.t ->> 'name' = 'project_id' AND c.t ->> 'type' = 'string') AS project
			  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(it.e -> 'traits') = 'array' THEN it.e -> 'traits' ELSE '[]' END)
				   WITH ORDINALITY x(t, o)
			 CROSS JOIN LATERAL (SELECT vscope._ceilo_publish_trait(x.t) AS t) c
			 WHERE c.t IS NOT NULL) tr ON true
	), checked AS (
		SELECT cv.*, CASE
			WHEN jsonb_typeof(cv.e) <> 'object' THEN
				format('an event is a JSON object, not %s', jsonb_typeof(cv.e))
			WHEN jsonb_typeof(cv.e -> 'event_type') IS DISTINCT FROM 'string' OR octet_length(cv.e ->> 'event_type') NOT BETWEEN 1 AND 255 THEN
				'event_type: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(cv.e -> 'message_id') NOT IN ('string', 'null') OR octet_length(cv.e ->> 'message_id') NOT BETWEEN 1 AND 255 THEN
				'message_id: a string of 1 to 255 bytes, or null, is needed'
			WHEN cv.gen IS NULL THEN
				format('generated: %s is not an ISO 8601 time', coalesce((cv.e -> 'generated')::text, 'nothing'))
			WHEN jsonb_typeof(cv.e -> 'traits') NOT IN ('array', 'null') THEN
				'traits: a list of [name, dtype, value] is needed'
			WHEN cv.terr IS NOT NULL THEN
				'traits: ' || cv.terr
			WHEN nonfinite AND strpos(cv.e::text, '{"vscope:nonfinite": ') > 0 THEN
				'NaN or Infinity, which JSON does not have, in the event'
			ELSE vscope._ceilo_publish_project_problem(cv.project, routing, home_name)
			END AS problem
		  FROM converted cv
	)
	SELECT count(*) FILTER (WHERE c.problem IS NULL),
		   jsonb_agg(jsonb_build_object('index', c.i, 'id', CASE WHEN jsonb_typeof(c.e -> 'message_id') = 'string' THEN c.e -> 'message_id' END,
										'error', c.problem) ORDER BY c.i) FILTER (WHERE c.problem IS NOT NULL),
		   array_agg(c.project ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(coalesce(c.e ->> 'message_id', gen_random_uuid()::text) ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.e ->> 'event_type' ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.gen ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.traits ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(coalesce(nullif(c.e -> 'raw', 'null'), '{}') ORDER BY c.i) FILTER (WHERE c.problem IS NULL)
	  INTO good, rejected, projects, mids, types, gens, traits, raws
	  FROM checked c;
	stored := 0;
	IF good > 0 THEN
		tenants := vscope._ceilo_publish_tenants(projects, routing);
		WITH ins AS (
			INSERT INTO vscope.events (tenant_id, message_id, event_type, generated, traits, raw)
			SELECT u.t, u.mid, u.ty, u.gen, u.tr, u.raw
			  FROM unnest(tenants, mids, types, gens, traits, raws) u(t, mid, ty, gen, tr, raw)
			 ORDER BY u.t, u.mid
			ON CONFLICT (tenant_id, message_id) DO NOTHING
			RETURNING 1
		)
		SELECT count(*) INTO stored FROM ins;
	END IF;
	RETURN vscope._ceilo_publish_answer(n, good, stored, rejected, 'event');
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_publish_events(text, text) IS 'Ceilometer''s http publisher''s events (a JSON list of Event.serialize(), or one): each checked on its own, the good ones stored (a message_id already stored skipped), routed as vscope.ceilometer_publish_samples() routes samples, by the project_id trait; returns {stored, duplicates, rejected}';

CREATE OR REPLACE FUNCTION vscope.expire(older_than interval, max_partitions integer DEFAULT NULL)
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
			ELSE
				-- a day of samples: their publisher ids go, and the spans
				-- that began or ended in it move to the samples left
				-- (vscope.sample_ids, vscope.sample_span, ceilometer.sql;
				-- PL/pgSQL finds them when this runs)
				PERFORM vscope._ceilo_ids_dropped(p.range_start, p.range_end);
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
	DELETE FROM vscope.annotations a
	 WHERE a.start_time < date_trunc('day', now() - older_than)
	   AND NOT EXISTS (SELECT FROM vscope.partitions('points') x
						WHERE a.start_time >= x.range_start AND a.start_time < x.range_end);
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
COMMENT ON FUNCTION vscope.expire(interval, integer) IS 'drops the daily partitions (of points and of Ceilometer samples) whose rows are all older than the interval, oldest first, at most max_partitions of them (NULL: all), returns how many, deletes the blocks of those days, the OpenTSDB annotations of the days gone, the publisher ids of their Ceilometer samples and older Ceilometer events, and moves the sample series'' spans to the samples left';

-- the publish scope: a cloud-wide publisher's token, which tenant admins cannot mint
ALTER TABLE vscope.tokens DROP CONSTRAINT tokens_scopes_check;
ALTER TABLE vscope.tokens ADD CONSTRAINT tokens_scopes_check
		CHECK (cardinality(scopes) > 0
			   AND scopes <@ ARRAY['read', 'write', 'admin', 'superadmin', 'publish']);
ALTER POLICY tenant_isolation ON vscope.tokens
	USING (tenant_id = vscope.current_tenant())
	WITH CHECK (tenant_id = vscope.current_tenant()
				AND NOT (scopes && ARRAY['superadmin', 'publish']));

CREATE OR REPLACE FUNCTION vscope.create_token(tenant text, scopes text[] DEFAULT '{read}',
									description text DEFAULT NULL)
	RETURNS text
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer;
	tok text;
	bad text;
BEGIN
	IF coalesce(cardinality(scopes), 0) = 0 THEN
		RAISE EXCEPTION 'a token needs at least one scope'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Scopes are read, write, admin, superadmin and publish.';
	END IF;
	SELECT s INTO bad FROM unnest(scopes) s
	 WHERE s IS NULL OR s NOT IN ('read', 'write', 'admin', 'superadmin', 'publish') LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invalid token scope "%"', coalesce(bad, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Scopes are read, write, admin, superadmin and publish.';
	END IF;
	tid := vscope.tenant_id(tenant);
	IF tid IS NULL THEN
		RAISE EXCEPTION 'tenant "%" does not exist', tenant
			USING ERRCODE = 'VS404';
	END IF;
	tok := vscope._random_token();
	INSERT INTO vscope.tokens (tenant_id, token_hash, scopes, description)
		VALUES (tid, sha256(convert_to(tok, 'UTF8')),
				ARRAY(SELECT DISTINCT s FROM unnest(scopes) s ORDER BY 1),
				description);
	RETURN tok;
END
$$;
COMMENT ON FUNCTION vscope.create_token(text, text[], text) IS 'creates an API token for a tenant and returns it; only its hash is kept, so this is the one time it is shown';

--------------------------------------------------------------------------------
-- Warp 10 WarpScript (issue 14): vscope.warp10_exec()
--------------------------------------------------------------------------------
CREATE FUNCTION vscope.warp10_exec(script text, OUT stack text, OUT ops bigint,
								   OUT fetched bigint)
	RETURNS record
	AS 'MODULE_PATHNAME', 'vscope_warp10_exec'
	LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION vscope.warp10_exec(text) IS 'Warp 10 WarpScript: runs the script (the subset vscope implements, within the vscope.warp10_* limits) and returns the stack as Warp 10''s exec JSON (top first), the operations run and the points fetched; a failing script raises SQLSTATE VSW00 with Warp 10''s message and "line N, N operations, N points fetched" in the detail';
REVOKE ALL ON FUNCTION vscope.warp10_exec(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.warp10_exec(text) TO vscope_reader;

-- OpenTSDB expression queries: /api/query/exp and /api/query/gexp
CREATE FUNCTION vscope.tsdb_query_exp(request jsonb) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_query_exp'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION vscope.tsdb_query_exp(jsonb) IS 'answers an OpenTSDB /api/query/exp request body (time, filters, metrics, expressions over metric and expression ids with + - * / % and parentheses joined by union or intersection, outputs) for the current tenant, as OpenTSDB 2.4 writes it; a request OpenTSDB cannot read raises SQLSTATE VS500, as OpenTSDB answers it with a 500';

CREATE FUNCTION vscope.tsdb_query_gexp(args jsonb) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_query_gexp'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION vscope.tsdb_query_gexp(jsonb) IS 'answers OpenTSDB''s GET /api/query/gexp from its query-string arguments as {"key": ["value", ...]}: exp=function(m-style sub-query or function, ..., parameters) with OpenTSDB 2.4''s Graphite-style functions, in /api/query''s answer form';

GRANT EXECUTE ON FUNCTION vscope.tsdb_query_exp(jsonb), vscope.tsdb_query_gexp(jsonb) TO vscope_reader;

-- ==== Ceilometer samples in blocks (issue 15) ====
-- Complete days of Ceilometer samples compacted into per-series blocks
-- (vscope.sample_blocks, vscope.compress_samples(), maintain()), every read
-- of samples through the samples reader, statistics computed in C from
-- summaries where a period allows, and a seq above the blocks' for a
-- sample posted into a compressed day.

-- A complete day's samples of one series, compressed (src/ceilometer/
-- sample_blocks.c): data holds the (ts, volume) pairs as a samples block of
-- the codec (timestamps repeat where samples share an instant, in seq
-- order), extra each sample's seq and recorded_at - ts as int columns.
-- Beside them the summary: the count and the statistics state of the
-- volumes taken in (ts, seq) order (vscope.sample_stats_state's), so that
-- statistics use a whole block without decoding it.  A day is split into
-- several blocks only when it does not fit one, never inside an instant.
CREATE TABLE vscope.sample_blocks (
	tenant_id	integer NOT NULL,
	series_id	integer NOT NULL,
	first_ts	timestamptz NOT NULL,
	last_ts		timestamptz NOT NULL,
	n			integer NOT NULL CHECK (n > 0),
	vsum		double precision NOT NULL,
	vmin		double precision NOT NULL,
	vmax		double precision NOT NULL,
	vmean		double precision NOT NULL,
	vm2			double precision NOT NULL,
	data		bytea NOT NULL,
	extra		bytea NOT NULL,
	-- 1: the series' only block of its UTC day; 2: no volume is NaN (the
	-- state counts every sample)
	flags		smallint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, series_id, first_ts),
	CONSTRAINT sample_blocks_span CHECK (last_ts >= first_ts
										 AND (last_ts AT TIME ZONE 'UTC')::date
											 = (first_ts AT TIME ZONE 'UTC')::date)
) WITH (toast_tuple_target = 8160);
ALTER TABLE vscope.sample_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE vscope.sample_blocks ALTER COLUMN extra SET STORAGE EXTERNAL;
CREATE INDEX sample_blocks_day_idx ON vscope.sample_blocks (((first_ts AT TIME ZONE 'UTC')::date));
COMMENT ON TABLE vscope.sample_blocks IS 'compressed Ceilometer samples: one block per sample series and complete UTC day, made by vscope.compress_samples(), with the count and the statistics state of its volumes (sum, min, max, mean, m2 in time order) beside the data';
COMMENT ON COLUMN vscope.sample_blocks.flags IS '1: the only block of its series and day; 2: no volume is NaN (both needed before statistics use the summary)';
ALTER TABLE vscope.sample_blocks ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.sample_blocks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vscope.sample_blocks USING (tenant_id = vscope.current_tenant());
GRANT SELECT ON vscope.sample_blocks TO vscope_reader;
SELECT pg_catalog.pg_extension_config_dump('vscope.sample_blocks', '');

-- The samples reader (src/ceilometer/sample_reader.c): the rows of
-- vscope.samples and the blocks of vscope.sample_blocks together, in
-- (series, ts, seq) order, a row winning over a block sample with its key.
-- Every read of samples goes through it.
CREATE FUNCTION vscope._ceilo_read_samples(series integer[], lo timestamptz, hi timestamptz,
										   newest integer DEFAULT NULL)
	RETURNS SETOF vscope.samples
	AS 'MODULE_PATHNAME', 'vscope_ceilo_read_samples'
	LANGUAGE C STABLE ROWS 1000;
COMMENT ON FUNCTION vscope._ceilo_read_samples(integer[], timestamptz, timestamptz, integer) IS 'internal: the current tenant''s samples of these series with lo <= ts <= hi, from rows and blocks, in (series, ts, seq) order; with newest, only that many of the newest, newest first';

-- one series' samples in [start_ts, end_ts), for the ceilometer_samples
-- view; the planner hook (src/store/planner.c) narrows the view's open
-- range to a query's bounds on "timestamp"
CREATE FUNCTION vscope._ceilo_read_series(tenant_id integer, series_id integer,
										  start_ts timestamptz, end_ts timestamptz)
	RETURNS TABLE (ts timestamptz, seq integer, volume double precision, recorded_at timestamptz)
	AS 'MODULE_PATHNAME', 'vscope_ceilo_read_series'
	LANGUAGE C STABLE STRICT ROWS 1440 SUPPORT vscope._read_support;
COMMENT ON FUNCTION vscope._ceilo_read_series(integer, integer, timestamptz, timestamptz) IS 'internal: the samples of one sample series in [start_ts, end_ts), from rows and blocks, in (ts, seq) order (the ceilometer_samples view)';

CREATE FUNCTION vscope._ceilo_sample_bounds(series integer[], lo timestamptz, hi timestamptz)
	RETURNS TABLE (series_id integer, first_ts timestamptz, last_ts timestamptz)
	AS 'MODULE_PATHNAME', 'vscope_ceilo_sample_bounds'
	LANGUAGE C STABLE STRICT ROWS 100;
COMMENT ON FUNCTION vscope._ceilo_sample_bounds(integer[], timestamptz, timestamptz) IS 'internal: the first and last sample with lo <= ts <= hi of each of these series of the current tenant that has one (rows by index probes, blocks inside the range by their bounds)';

-- the highest seq that blocks hold at one instant of a series: a sample
-- written into a compressed day takes one above it (and above the rows');
-- and whether any day from lo's to hi's is compressed at all (so that
-- writes to days in rows, nearly all of them, need not ask)
CREATE FUNCTION vscope._ceilo_block_max_seq(tenant_id integer, series_id integer, ts timestamptz)
	RETURNS integer
	AS 'MODULE_PATHNAME', 'vscope_ceilo_block_max_seq'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION vscope._ceilo_block_max_seq(integer, integer, timestamptz) IS 'internal: the highest seq of the samples of the series (of that tenant) at that instant held in vscope.sample_blocks, or NULL; a sample stored at that instant must take a higher one';

CREATE FUNCTION vscope._ceilo_blocks_between(lo timestamptz, hi timestamptz) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
SELECT EXISTS (SELECT FROM vscope.sample_blocks b
				WHERE (b.first_ts AT TIME ZONE 'UTC')::date
					  BETWEEN (lo AT TIME ZONE 'UTC')::date AND (hi AT TIME ZONE 'UTC')::date)
$$;
COMMENT ON FUNCTION vscope._ceilo_blocks_between(timestamptz, timestamptz) IS 'internal: whether vscope.sample_blocks has a block (that the caller sees) of a UTC day from lo''s to hi''s';

CREATE FUNCTION vscope.sample_reader_stats(OUT blocks_decoded bigint, OUT blocks_summarized bigint,
										   OUT head_rows bigint, OUT samples bigint,
										   OUT days_probed bigint, OUT days_skipped bigint)
	AS 'MODULE_PATHNAME', 'vscope_sample_reader_stats'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.sample_reader_stats() IS 'what the samples reader has read in this session: samples blocks decoded, blocks answered from their summary, head rows, samples, and the days of the head it probed or skipped';

CREATE FUNCTION vscope.compress_samples(day date) RETURNS bigint
	AS 'MODULE_PATHNAME', 'vscope_compress_samples'
	LANGUAGE C VOLATILE STRICT SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION vscope.compress_samples(date) IS 'compresses the Ceilometer samples of a UTC day into per-series blocks (merged with the blocks it has, a row winning at an equal key; message ids unchanged), every tenant, in this transaction; returns how many samples the day''s blocks now hold (0 when the day had no rows)';
REVOKE ALL ON FUNCTION vscope.compress_samples(date) FROM PUBLIC;

CREATE FUNCTION vscope.decompress_samples(day date) RETURNS bigint
	AS 'MODULE_PATHNAME', 'vscope_decompress_samples'
	LANGUAGE C VOLATILE STRICT SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION vscope.decompress_samples(date) IS 'turns the samples blocks of a UTC day back into rows (rows written since keep their values), every tenant, in this transaction; returns how many samples went back';
REVOKE ALL ON FUNCTION vscope.decompress_samples(date) FROM PUBLIC;

-- the simple query gives the samples' conditions as values too
DROP FUNCTION vscope._ceilo_query(jsonb, text);
CREATE FUNCTION vscope._ceilo_query(args jsonb, kind text,
	OUT series_where text, OUT sample_where text,
	OUT q_start timestamptz, OUT q_end timestamptz,
	OUT w_start timestamptz, OUT w_end timestamptz,
	OUT x_lo timestamptz, OUT x_hi timestamptz, OUT x_seq integer)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	n integer := coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(args -> 'q.field') = 'array'
												   THEN args -> 'q.field' END), 0);
	f text;
	op text;
	v text;
	typ text;
	col text;
	tv record;
	conds text[] := '{}';
	xconds text[] := '{}';
	has_project boolean := false;
	start_strict boolean := false;
	end_strict boolean := false;
	offset_min numeric;
	valid text[] := CASE kind
		WHEN 'samples' THEN ARRAY['message_id', 'meter', 'project', 'resource', 'search_offset',
								  'source', 'timestamp', 'user']
		WHEN 'resources' THEN ARRAY['project', 'resource', 'search_offset', 'source', 'timestamp', 'user']
		ELSE ARRAY['project', 'resource', 'source', 'unique', 'user'] END;
	mid record;
BEGIN
	IF n > 100 THEN
		PERFORM vscope._ceilo_fail('400', format('A query may have at most 100 clauses, not %s', n));
	END IF;
	-- project segregation first
	IF NOT me.admin THEN
		IF me.project IS NULL THEN
			PERFORM vscope._ceilo_fail('401', 'Not Authorized to access project None');
		END IF;
		FOR i IN 0 .. n - 1 LOOP
			IF vscope._ceilo_arg(args, 'q.field', i) IN ('project', 'project_id') THEN
				has_project := true;
				IF vscope._ceilo_arg(args, 'q.value', i) <> me.project THEN
					PERFORM vscope._ceilo_fail('401', format('Not Authorized to access project %s',
															 vscope._ceilo_arg(args, 'q.value', i)));
				END IF;
			END IF;
		END LOOP;
		IF NOT has_project THEN
			conds := conds || format('s.project_id = %L', me.project);
		END IF;
	END IF;
	-- then timestamps
	FOR i IN 0 .. n - 1 LOOP
		f := vscope._ceilo_arg(args, 'q.field', i);
		IF f NOT IN ('timestamp', 'search_offset') THEN
			CONTINUE;
		END IF;
		IF kind = 'meters' THEN
			PERFORM vscope._ceilo_fail('400', format('Unknown argument: "%s": not valid for this resource', f));
		END IF;
		IF f = 'search_offset' THEN
			CONTINUE;
		END IF;
		op := coalesce(nullif(vscope._ceilo_arg(args, 'q.op', i), ''), 'eq');
		v := vscope._ceilo_arg(args, 'q.value', i);
		IF op NOT IN ('lt', 'le', 'gt', 'ge') THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. unimplemented operator for timestamp', op));
		END IF;
		IF vscope._ceilo_parse_ts(v) IS NULL THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute timestamp. Value: ''%s''. invalid timestamp format', v));
		END IF;
		IF op IN ('gt', 'ge') THEN
			q_start := vscope._ceilo_parse_ts(v);
			start_strict := op = 'gt';
		ELSE
			q_end := vscope._ceilo_parse_ts(v);
			end_strict := op = 'lt';
		END IF;
	END LOOP;
	-- then search_offset
	FOR i IN 0 .. n - 1 LOOP
		IF vscope._ceilo_arg(args, 'q.field', i) = 'search_offset' THEN
			IF q_start IS NULL AND q_end IS NULL THEN
				PERFORM vscope._ceilo_fail('400', 'Invalid input for field/attribute field. Value: ''search_offset''. search_offset cannot be used without timestamp');
			END IF;
			v := vscope._ceilo_arg(args, 'q.value', i);
			IF v !~ '^\s*[-+]?\d{1,9}\s*$' THEN
				PERFORM vscope._ceilo_fail('400', format('Unable to convert the value %s to the expected data type integer.', v));
			END IF;
			offset_min := v::numeric;
		END IF;
	END LOOP;
	w_start := q_start - make_interval(mins => coalesce(offset_min, 0)::integer);
	w_end := q_end + make_interval(mins => coalesce(offset_min, 0)::integer);
	IF w_start IS NOT NULL THEN
		xconds := xconds || format('x.ts %s %L::timestamptz', CASE WHEN start_strict THEN '>' ELSE '>=' END, w_start);
		x_lo := w_start + CASE WHEN start_strict THEN interval '1 microsecond' ELSE interval '0' END;
	END IF;
	IF w_end IS NOT NULL THEN
		xconds := xconds || format('x.ts %s %L::timestamptz', CASE WHEN end_strict THEN '<' ELSE '<=' END, w_end);
		x_hi := w_end - CASE WHEN end_strict THEN interval '1 microsecond' ELSE interval '0' END;
	END IF;
	-- then every other clause: a known field, and eq only
	FOR i IN 0 .. n - 1 LOOP
		f := vscope._ceilo_arg(args, 'q.field', i);
		IF f IN ('timestamp', 'search_offset') THEN
			CONTINUE;
		END IF;
		op := coalesce(nullif(vscope._ceilo_arg(args, 'q.op', i), ''), 'eq');
		v := vscope._ceilo_arg(args, 'q.value', i);
		typ := vscope._ceilo_arg(args, 'q.type', i);
		col := CASE WHEN f ~ '^(resource_)?metadata\..' THEN 'metadata'
					WHEN f IN ('user', 'user_id') THEN 'user_id'
					WHEN f IN ('project', 'project_id') THEN 'project_id'
					WHEN f IN ('resource', 'resource_id') THEN 'resource_id'
					WHEN f = 'meter' THEN 'counter_name'
					ELSE f END;
		IF col <> 'metadata' AND NOT (f = ANY (valid) OR col IN ('user_id', 'project_id', 'resource_id')) THEN
			PERFORM vscope._ceilo_fail('400', format('Unknown argument: "%s": unrecognized field in query: [<Query %s %s %s>], valid keys: %s',
				f, quote_literal(f), op, quote_literal(v),
				'[' || (SELECT string_agg(quote_literal(k), ', ' ORDER BY k) FROM unnest(valid) k) || ']'));
		END IF;
		IF op <> 'eq' THEN
			IF op NOT IN ('lt', 'le', 'ne', 'ge', 'gt') THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. Value should be one of: gt, lt, ge, ne, eq, le', op));
			END IF;
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. unimplemented operator for %s', op, f));
		END IF;
		IF typ NOT IN ('', 'integer', 'float', 'string', 'boolean', 'datetime') THEN
			PERFORM vscope._ceilo_fail('400', format('The data type %s is not supported. The supported data type list is: [''integer'', ''float'', ''string'', ''boolean'', ''datetime'']', typ));
		END IF;
		IF col = 'metadata' THEN
			tv := vscope._ceilo_typed(v, typ);
			conds := conds || format(
				CASE tv.kind WHEN 'number' THEN 'vscope._ceilo_num(s.resource_metadata #>> %L::text[]) = %s'
							 WHEN 'boolean' THEN 'vscope._ceilo_bool(s.resource_metadata #>> %L::text[]) = %s'
							 ELSE '(s.resource_metadata #>> %L::text[]) = %s' END,
				string_to_array(substr(f, strpos(f, '.') + 1), '.')::text, tv.sqlval);
		ELSIF col = 'unique' THEN
			NULL;				-- a flag of /v2/meters, not a filter
		ELSIF col = 'message_id' THEN
			SELECT i.series_id, i.ts, i.seq INTO mid FROM vscope.sample_ids i
			 WHERE i.tenant_id = vscope.current_tenant() AND i.message_id = v;
			IF mid.series_id IS NULL THEN
				SELECT * INTO mid FROM vscope._ceilo_parse_message_id(v);
			END IF;
			IF mid IS NULL THEN
				conds := conds || 'false'::text;
			ELSE
				conds := conds || format('s.series_id = %s', mid.series_id);
				xconds := xconds || format('x.ts = %L::timestamptz AND x.seq = %s', mid.ts, mid.seq);
				x_lo := greatest(x_lo, mid.ts);
				x_hi := least(x_hi, mid.ts);
				IF x_seq IS DISTINCT FROM mid.seq AND x_seq IS NOT NULL THEN
					x_lo := 'infinity';		-- two message ids: nothing is both
				END IF;
				x_seq := mid.seq;
			END IF;
		ELSIF v = 'None' AND col IN ('user_id', 'project_id') THEN
			conds := conds || format('s.%I IS NULL', col);
		ELSE
			conds := conds || format('s.%I = %L', col, v);
		END IF;
	END LOOP;
	series_where := coalesce(nullif(array_to_string(conds, ' AND '), ''), 'true');
	sample_where := coalesce(nullif(array_to_string(xconds, ' AND '), ''), 'true');
END
$$;
COMMENT ON FUNCTION vscope._ceilo_query(jsonb, text) IS 'internal: a Ceilometer simple query (q.field, q.op, q.value, q.type) for an endpoint kind as conditions on sample_series s and samples x, with its time bounds, and the samples'' conditions as values (inclusive time bounds, seq); a non-admin is confined to its project';

-- the view reads rows and blocks through the samples reader
CREATE OR REPLACE VIEW vscope.ceilometer_samples WITH (security_invoker = true) AS
	SELECT s.tenant_id, s.series_id, x.seq,
		   s.source, s.counter_name, s.counter_type, s.counter_unit,
		   x.volume AS counter_volume, s.user_id, s.project_id, s.resource_id,
		   x.ts AS "timestamp", x.recorded_at, s.resource_metadata,
		   coalesce((SELECT i.message_id FROM vscope.sample_ids i
					  WHERE i.tenant_id = s.tenant_id AND i.series_id = s.series_id
						AND i.ts = x.ts AND i.seq = x.seq),
					vscope.ceilometer_message_id(s.series_id, x.ts, x.seq)) AS message_id,
		   NULL::text AS message_signature
	  FROM vscope.sample_series s
	 CROSS JOIN LATERAL vscope._ceilo_read_series(s.tenant_id, s.series_id, '-infinity', 'infinity') x;
COMMENT ON VIEW vscope.ceilometer_samples IS 'Ceilometer samples with their storage field names, from rows and blocks alike: the view for BI tools and for complex queries';
GRANT SELECT ON vscope.ceilometer_samples TO vscope_reader;

CREATE OR REPLACE FUNCTION vscope.ceilometer_refresh_spans() RETURNS bigint
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n bigint;
BEGIN
	LOCK TABLE vscope.sample_span IN SHARE ROW EXCLUSIVE MODE;
	WITH m AS (
		SELECT u.tenant_id, u.series_id, min(u.f) AS f, max(u.l) AS l
		  FROM (SELECT x.tenant_id, x.series_id, min(x.ts) AS f, max(x.ts) AS l
				  FROM vscope.samples x GROUP BY 1, 2
				UNION ALL
				-- compressed days: a block's bounds are its first and last samples
				SELECT b.tenant_id, b.series_id, min(b.first_ts), max(b.last_ts)
				  FROM vscope.sample_blocks b GROUP BY 1, 2) u
		 GROUP BY 1, 2
	), gone AS (
		DELETE FROM vscope.sample_span k
		 WHERE NOT EXISTS (SELECT FROM m WHERE m.tenant_id = k.tenant_id AND m.series_id = k.series_id)
		RETURNING 1
	), kept AS (
		INSERT INTO vscope.sample_span AS k (tenant_id, series_id, first_ts, last_ts)
		SELECT * FROM m ORDER BY 1, 2
		ON CONFLICT (tenant_id, series_id) DO UPDATE
		   SET first_ts = excluded.first_ts, last_ts = excluded.last_ts
		 WHERE (k.first_ts, k.last_ts) IS DISTINCT FROM (excluded.first_ts, excluded.last_ts)
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM kept) INTO n;
	RETURN n;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_refresh_spans() IS 'recomputes vscope.sample_span from the samples, after samples were written or deleted by plain SQL rather than through the Ceilometer functions; returns how many rows changed';
REVOKE ALL ON FUNCTION vscope.ceilometer_refresh_spans() FROM PUBLIC;

CREATE OR REPLACE FUNCTION vscope._ceilo_span_dropped(lo timestamptz, hi timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	ft integer[];			-- the series that began that day and go on, still unsettled
	fs integer[];
	lt integer[];			-- those that ended that day, having begun before
	ls integer[];
	gt integer[];			-- those that began and ended that day
	gs integer[];
	p record;
	changed integer := 0;
	n integer;
BEGIN
	SELECT array_agg(k.tenant_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts >= hi),
		   array_agg(k.series_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts >= hi),
		   array_agg(k.tenant_id) FILTER (WHERE k.first_ts < lo),
		   array_agg(k.series_id) FILTER (WHERE k.first_ts < lo),
		   array_agg(k.tenant_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts < hi),
		   array_agg(k.series_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts < hi)
	  INTO ft, fs, lt, ls, gt, gs
	  FROM (SELECT k.tenant_id, k.series_id, k.first_ts, k.last_ts FROM vscope.sample_span k
			 WHERE (k.first_ts >= lo AND k.first_ts < hi) OR (k.last_ts >= lo AND k.last_ts < hi)
			 ORDER BY k.tenant_id, k.series_id FOR UPDATE) k;
	-- (listing the partitions costs: not when no series needs them)
	FOR p IN SELECT * FROM vscope.partitions('samples') WHERE range_start >= hi AND ft IS NOT NULL
			  ORDER BY range_start LOOP
		EXIT WHEN ft IS NULL;
		EXECUTE $q$
			WITH found AS (
				SELECT a.t, a.s, f.ts
				  FROM unnest($1, $2) a(t, s)
				 CROSS JOIN LATERAL (SELECT least((SELECT x.ts FROM vscope.samples x
												   WHERE x.tenant_id = a.t AND x.series_id = a.s
													 AND x.ts >= $3 AND x.ts < $4
												   ORDER BY x.ts LIMIT 1),
												  (SELECT b.first_ts FROM vscope.sample_blocks b
												   WHERE b.tenant_id = a.t AND b.series_id = a.s
													 AND b.first_ts >= $3 AND b.first_ts < $4
												   ORDER BY b.first_ts LIMIT 1)) AS ts) f
				 WHERE f.ts IS NOT NULL
			), moved AS (
				UPDATE vscope.sample_span k SET first_ts = found.ts
				  FROM found WHERE k.tenant_id = found.t AND k.series_id = found.s
			)
			SELECT array_agg(a.t), array_agg(a.s), (SELECT count(*) FROM found)
			  FROM unnest($1, $2) a(t, s)
			 WHERE NOT EXISTS (SELECT FROM found WHERE found.t = a.t AND found.s = a.s)
			$q$
			INTO ft, fs, n USING ft, fs, p.range_start, p.range_end;
		changed := changed + n;
	END LOOP;
	FOR p IN SELECT * FROM vscope.partitions('samples') WHERE range_end <= lo AND lt IS NOT NULL
			  ORDER BY range_start DESC LOOP
		EXIT WHEN lt IS NULL;
		EXECUTE $q$
			WITH found AS (
				SELECT a.t, a.s, f.ts
				  FROM unnest($1, $2) a(t, s)
				 CROSS JOIN LATERAL (SELECT greatest((SELECT x.ts FROM vscope.samples x
													  WHERE x.tenant_id = a.t AND x.series_id = a.s
														AND x.ts >= $3 AND x.ts < $4
													  ORDER BY x.ts DESC LIMIT 1),
													 (SELECT b.last_ts FROM vscope.sample_blocks b
													  WHERE b.tenant_id = a.t AND b.series_id = a.s
														AND b.first_ts >= $3 AND b.first_ts < $4
													  ORDER BY b.first_ts DESC LIMIT 1)) AS ts) f
				 WHERE f.ts IS NOT NULL
			), moved AS (
				UPDATE vscope.sample_span k SET last_ts = found.ts
				  FROM found WHERE k.tenant_id = found.t AND k.series_id = found.s
			)
			SELECT array_agg(a.t), array_agg(a.s), (SELECT count(*) FROM found)
			  FROM unnest($1, $2) a(t, s)
			 WHERE NOT EXISTS (SELECT FROM found WHERE found.t = a.t AND found.s = a.s)
			$q$
			INTO lt, ls, n USING lt, ls, p.range_start, p.range_end;
		changed := changed + n;
	END LOOP;
	-- what was all in that day, or what no partition settled (which a span
	-- kept right never leaves), has no samples left
	DELETE FROM vscope.sample_span k
	 USING (SELECT * FROM unnest(gt, gs) UNION ALL SELECT * FROM unnest(ft, fs)
			UNION ALL SELECT * FROM unnest(lt, ls)) a(t, s)
	 WHERE k.tenant_id = a.t AND k.series_id = a.s;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN changed + n;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_span_dropped(timestamptz, timestamptz) IS 'internal: after vscope.expire() dropped the samples of [lo, hi), the vscope.sample_span rows that began or ended there are moved to the samples that are left (or deleted); returns how many rows changed';

CREATE OR REPLACE FUNCTION vscope.ceilometer_list_samples(args jsonb DEFAULT '{}', meter text DEFAULT NULL,
											   old_style boolean DEFAULT false)
	RETURNS json LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'samples');
	lim integer := vscope._ceilo_limit(vscope._ceilo_arg(args, 'limit'));
	lo timestamptz;
	hi timestamptz;
	width interval := interval '86400 seconds';
	from_ts timestamptz;
	n bigint;
	r json;
BEGIN
	-- where the matching series have samples (vscope.sample_span), within
	-- the query's range: nothing there, nothing to list
	EXECUTE format(
		'SELECT min(k.first_ts), max(k.last_ts)
		   FROM vscope.sample_series s
		   JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
		  WHERE %s AND ($1 IS NULL OR s.counter_name = $1)', q.series_where)
		INTO lo, hi USING meter;
	lo := greatest(lo, q.w_start);
	hi := least(hi, q.w_end);
	IF lo IS NULL OR lo > hi THEN
		RETURN '[]';
	END IF;
	-- newest first: the last day of that range, then four times as much
	-- back each round until the limit is met or the range is covered.
	-- The reader plans only the partitions of a round's days and reads
	-- the newest rows by the (tenant_id, ts) index and the blocks that end
	-- last, newest first.  Rows before a round's start are older than
	-- every row in it, so a round that fills the limit has the answer.
	LOOP
		from_ts := CASE WHEN width >= hi - lo THEN lo ELSE hi - width END;
		EXECUTE format(
			'SELECT coalesce(json_agg(vscope._ceilo_sample_json(s, x, $2) ORDER BY (x).ts DESC, (x).series_id, (x).seq), ''[]''),
					count(*)
			   FROM (SELECT s, x FROM vscope.sample_series s
					   JOIN vscope._ceilo_read_samples(ARRAY(SELECT s.series_id FROM vscope.sample_series s
															  WHERE %1$s AND ($1 IS NULL OR s.counter_name = $1)),
													   greatest($3, $5), least($4, $6), $7) x USING (tenant_id, series_id)
					  WHERE %1$s AND %2$s AND x.ts >= $3 AND x.ts <= $4 AND ($1 IS NULL OR s.counter_name = $1)
					  ORDER BY x.ts DESC, x.series_id, x.seq LIMIT %3$s) y(s, x)',
			q.series_where, q.sample_where, lim)
			INTO r, n USING meter, old_style, from_ts, hi, q.x_lo, q.x_hi,
							-- the reader keeps the newest lim (unless a seq is to be matched)
							CASE WHEN q.x_seq IS NULL THEN lim END;
		EXIT WHEN n >= lim OR from_ts = lo;
		width := width * 4;
	END LOOP;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_list_samples(jsonb, text, boolean) IS 'Ceilometer GET /v2/samples (or, old style, /v2/meters/{meter}): args is the query string as {"q.field": [...], "q.op": [...], "q.value": [...], "limit": ["N"]}; newest first';

CREATE OR REPLACE FUNCTION vscope.ceilometer_get_sample(id text) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	m record;
	r json;
BEGIN
	-- a publisher's id, else one made from where the sample is stored
	SELECT i.series_id, i.ts, i.seq INTO m FROM vscope.sample_ids i
	 WHERE i.tenant_id = vscope.current_tenant() AND i.message_id = id;
	IF m.series_id IS NULL THEN
		SELECT * INTO m FROM vscope._ceilo_parse_message_id(id);
	END IF;
	-- the time as a value known when planning: only its day's partition
	-- is planned and locked, and its block (if compressed) decoded
	IF m.series_id IS NOT NULL THEN
		EXECUTE 'SELECT vscope._ceilo_sample_json(s, x, false)
				   FROM vscope._ceilo_read_samples(ARRAY[$1], $2, $2) x
				   JOIN vscope.sample_series s ON s.tenant_id = x.tenant_id AND s.series_id = x.series_id
				  WHERE x.tenant_id = vscope.current_tenant()
					AND x.series_id = $1 AND x.ts = $2 AND x.seq = $3
					AND ($4 OR s.project_id IS NOT DISTINCT FROM $5)'
			INTO r USING m.series_id, m.ts, m.seq, me.admin, me.project;
	END IF;
	IF r IS NULL THEN
		PERFORM vscope._ceilo_fail('404', format('Sample %s Not Found', id));
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_get_sample(text) IS 'Ceilometer GET /v2/samples/{id}: id is the publisher''s id of the sample or the one made from where it is stored';

CREATE OR REPLACE FUNCTION vscope.ceilometer_list_resources(args jsonb DEFAULT '{}', base_url text DEFAULT '',
												 resource text DEFAULT NULL)
	RETURNS json LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'resources');
	lim integer := vscope._ceilo_limit(vscope._ceilo_arg(args, 'limit'));
	links boolean := coalesce(nullif(vscope._ceilo_arg(args, 'meter_links'), ''), '1')
					 NOT IN ('0', 'false', 'False', 'f', 'no', 'off');
	r json;
BEGIN
	EXECUTE format($q$
		WITH per_series AS (%s), per_resource AS (
			SELECT resource_id, min(first_ts) AS first_ts, max(last_ts) AS last_ts,
				   (array_agg(series_id ORDER BY last_ts DESC, series_id DESC))[1] AS latest,
				   array_agg(DISTINCT counter_name ORDER BY counter_name) AS meters
			  FROM per_series GROUP BY resource_id
			 ORDER BY resource_id LIMIT %s
		)
		SELECT coalesce(json_agg(json_build_object(
				'resource_id', p.resource_id, 'project_id', s.project_id, 'user_id', s.user_id,
				'source', s.source, 'first_sample_timestamp', vscope._ceilo_ts(p.first_ts),
				'last_sample_timestamp', vscope._ceilo_ts(p.last_ts),
				'metadata', vscope._ceilo_flatten(s.resource_metadata),
				'links', (SELECT json_agg(l ORDER BY n) FROM (
					SELECT 0 AS n, json_build_object('rel', 'self', 'href', $2 || '/v2/resources/' || p.resource_id) AS l
					UNION ALL
					SELECT k, json_build_object('rel', m, 'href', $2 || '/v2/meters/' || m
							|| '?q.field=resource_id&q.value=' || p.resource_id)
					  FROM unnest(p.meters) WITH ORDINALITY u(m, k) WHERE $3) ls))
				ORDER BY p.resource_id), '[]')
		  FROM per_resource p JOIN vscope.sample_series s ON s.series_id = p.latest
		 WHERE s.tenant_id = vscope.current_tenant()
		$q$,
		CASE WHEN q.sample_where = 'true' THEN
			-- no time filter: each series' whole span, as kept
			format($s$
			SELECT s.*, k.first_ts, k.last_ts
			  FROM vscope.sample_series s
			  JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
			 WHERE %s AND ($1 IS NULL OR s.resource_id = $1)$s$, q.series_where)
		ELSE
			-- first and last within the time filter, from the samples of the
			-- days it names (the samples reader: index probes of the rows,
			-- the bounds of the blocks inside it), for the series whose
			-- span meets it
			format($s$
			SELECT s.*, b.first_ts, b.last_ts
			  FROM vscope.sample_series s
			  JOIN vscope._ceilo_sample_bounds(ARRAY(
					SELECT s.series_id FROM vscope.sample_series s
					  JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
					 WHERE %1$s AND ($1 IS NULL OR s.resource_id = $1)
					   AND k.last_ts >= $4 AND k.first_ts <= $5), $6, $7) b ON b.series_id = s.series_id
			 WHERE %1$s AND ($1 IS NULL OR s.resource_id = $1)
			   AND s.tenant_id = vscope.current_tenant()$s$,
				q.series_where)
		END, lim)
		INTO r USING resource, rtrim(coalesce(base_url, ''), '/'), links,
					 coalesce(q.w_start, '-infinity'), coalesce(q.w_end, 'infinity'),
					 coalesce(q.x_lo, '-infinity'), coalesce(q.x_hi, 'infinity');
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_list_resources(jsonb, text, text) IS 'Ceilometer GET /v2/resources (and one resource): first/last sample times within the query, attributes from the latest sample, links to self and to each meter';

-- GET /v2/meters/{meter}/statistics, its first half: the query checked
-- (period, group-by fields, selected aggregates, q), and what the
-- statistics engine (src/ceilometer/statistics.c) is to compute: the
-- matching series of the meter, each with its group (ranked in the order
-- of the answer: group-by values, then unit) and its cardinality values
-- (ranked, NULL as 0); the groups' units and group-by objects; the range of
-- sample times (the query's, within the series' spans); the grid (period
-- seconds from the query's start bound, else from the first sample); the
-- bounds durations are clamped to; the selected aggregates; the row limit;
-- a message_id's seq.  No series with samples there: series is NULL.
CREATE FUNCTION vscope._ceilo_statistics_args(meter text, args jsonb,
	OUT series integer[], OUT groups integer[], OUT units text[], OUT groupbys text[],
	OUT cards integer[], OUT lo timestamptz, OUT hi timestamptz, OUT origin timestamptz,
	OUT period bigint, OUT q_start timestamptz, OUT q_end timestamptz, OUT selected text[],
	OUT maxrows integer, OUT only_seq integer)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	-- (its queries are small: compiling them would cost more than it saves)
	SET jit = off
	AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'samples');
	ptxt text := trim(vscope._ceilo_arg(args, 'period'));
	gb text[] := '{}';
	g text;
	gexpr text[] := '{}';
	gjson text := 'NULL::json';
	funcs text[] := '{}';
	f text;
	p text;
	card text[] := '{}';
BEGIN
	period := 0;
	-- period
	IF ptxt <> '' THEN
		IF ptxt !~ '^[-+]?\d{1,30}$' THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute period. Value: ''%s''. unable to convert to int', ptxt));
		END IF;
		IF ptxt::numeric < 0 THEN
			PERFORM vscope._ceilo_fail('400', 'Period must be positive.');
		END IF;
		-- Python's datetime ends at year 9999: a longer period cannot be added to a date
		IF ptxt::numeric > 250000000000 THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid period %s: date value out of range', ptxt));
		END IF;
		period := ptxt::bigint;
	END IF;
	-- group-by fields, de-duplicated in order
	IF jsonb_typeof(args -> 'groupby') = 'array' THEN
		FOR g IN SELECT e FROM jsonb_array_elements_text(args -> 'groupby') e LOOP
			IF g NOT IN ('user_id', 'resource_id', 'project_id', 'source', 'resource_metadata.instance_type') THEN
				PERFORM vscope._ceilo_fail('400', format('Unknown argument: "set([%s])": Invalid groupby fields', quote_literal(g)));
			END IF;
			IF NOT g = ANY (gb) THEN
				gb := gb || g;
			END IF;
		END LOOP;
	END IF;
	FOR i IN 1 .. cardinality(gb) LOOP
		gexpr := gexpr || CASE gb[i] WHEN 'resource_metadata.instance_type'
								THEN '(s.resource_metadata #>> ''{instance_type}'')'
								ELSE 's.' || gb[i] END;
	END LOOP;
	IF cardinality(gb) > 0 THEN
		gjson := 'json_build_object(' || (SELECT string_agg(format('%L, g%s', gb[i], i), ', ')
											 FROM generate_subscripts(gb, 1) i) || ')';
	END IF;
	-- selected aggregates, de-duplicated
	IF jsonb_typeof(args -> 'aggregate.func') = 'array' THEN
		FOR i IN 0 .. jsonb_array_length(args -> 'aggregate.func') - 1 LOOP
			f := vscope._ceilo_arg(args, 'aggregate.func', i);
			p := nullif(vscope._ceilo_arg(args, 'aggregate.param', i), '');
			IF f NOT IN ('avg', 'sum', 'min', 'max', 'count', 'stddev', 'cardinality') THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid aggregation function: %s', f));
			END IF;
			IF f = 'cardinality' THEN
				IF p IS NULL OR p NOT IN ('resource_id', 'user_id', 'project_id') THEN
					PERFORM vscope._ceilo_fail('400', format('Bad aggregate: cardinality.%s', coalesce(p, 'None')));
				END IF;
				f := f || '/' || p;
				IF NOT p = ANY (card) THEN
					card := card || p;
				END IF;
			END IF;
			IF NOT f = ANY (funcs) THEN
				funcs := funcs || f;
			END IF;
		END LOOP;
	END IF;
	-- where the meter's matching series have samples (vscope.sample_span):
	-- none, no statistics; else the samples read are those within these
	-- bounds and the query's
	EXECUTE format('SELECT min(k.first_ts), max(k.last_ts)
					  FROM vscope.sample_series s
					  JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
					 WHERE %s AND s.counter_name = $1', q.series_where)
		INTO lo, hi USING meter;
	IF lo IS NULL THEN
		RETURN;
	END IF;
	-- the grid's origin: the query's (widened) start, else the first sample
	IF period > 0 THEN
		origin := q.w_start;
		IF origin IS NULL AND q.sample_where = 'true' THEN
			origin := lo;
		ELSIF origin IS NULL THEN
			EXECUTE format('SELECT min(b.first_ts)
							  FROM vscope._ceilo_sample_bounds(ARRAY(SELECT s.series_id FROM vscope.sample_series s
																	  WHERE %s AND s.counter_name = $1), $2, $3) b',
						   q.series_where)
				INTO origin USING meter, greatest(lo, q.x_lo), least(hi, q.x_hi);
			IF origin IS NULL THEN
				RETURN;
			END IF;
		END IF;
	END IF;
	-- the matching series, each with its group (ranked in the order of the
	-- answer: group-by values, then unit) and its cardinality values
	-- (ranked, NULL as 0); the groups' units and group-by objects
	EXECUTE format($q$
		WITH m AS (SELECT s.series_id, s.counter_unit AS unit %1$s %2$s
					 FROM vscope.sample_series s
					WHERE %3$s AND s.counter_name = $1),
		r AS (SELECT m.*, dense_rank() OVER (ORDER BY %4$s unit)::integer AS grp %5$s FROM m),
		g AS (SELECT DISTINCT ON (grp) grp, unit, (%6$s)::text AS gb FROM r ORDER BY grp)
		SELECT (SELECT coalesce(array_agg(series_id ORDER BY series_id), '{}') FROM r),
			   (SELECT coalesce(array_agg(grp ORDER BY series_id), '{}') FROM r),
			   (SELECT coalesce(array_agg(unit ORDER BY grp), '{}') FROM g),
			   (SELECT coalesce(array_agg(gb ORDER BY grp), '{}') FROM g),
			   (SELECT coalesce(array_agg(c ORDER BY series_id, k), '{}')
				  FROM r, unnest(%7$s::integer[]) WITH ORDINALITY u(c, k))
		$q$,
		(SELECT coalesce(string_agg(format(', %s AS g%s', gexpr[i], i), ''), '') FROM generate_subscripts(gexpr, 1) i),
		(SELECT coalesce(string_agg(format(', s.%I AS c_%s', c, c), ''), '') FROM unnest(card) c),
		q.series_where,
		(SELECT coalesce(string_agg(format('g%s, ', i), ''), '') FROM generate_subscripts(gb, 1) i),
		(SELECT coalesce(string_agg(format(', coalesce(CASE WHEN c_%1$s IS NOT NULL THEN dense_rank() OVER (ORDER BY c_%1$s) END, 0)::integer AS r_%1$s', c), ''), '')
		   FROM unnest(card) c),
		gjson,
		CASE WHEN cardinality(card) = 0 THEN 'ARRAY[]'
			 ELSE 'ARRAY[' || (SELECT string_agg(format('r_%s', c), ', ') FROM unnest(card) c) || ']' END)
		INTO series, groups, units, groupbys, cards USING meter;
	lo := greatest(lo, q.x_lo);
	hi := least(hi, q.x_hi);
	q_start := q.q_start;
	q_end := q.q_end;
	selected := CASE WHEN cardinality(funcs) > 0 THEN funcs END;
	maxrows := vscope._ceilo_max_rows();
	only_seq := q.x_seq;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_statistics_args(text, jsonb) IS 'internal: the checked statistics query (Ceilometer''s 400s), and what vscope.ceilometer_statistics() computes: the matching series with their groups and cardinality values, the groups'' units and group-by objects, the range of sample times, the grid, the duration bounds, the selected aggregates, the row limit and a message_id''s seq; series NULL when none has samples there';

CREATE OR REPLACE FUNCTION vscope.ceilometer_statistics(meter text, args jsonb DEFAULT '{}') RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_ceilometer_statistics'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION vscope.ceilometer_statistics(text, jsonb) IS 'Ceilometer GET /v2/meters/{meter}/statistics: args holds q.*, period, groupby and aggregate.func/aggregate.param as arrays of strings';

CREATE OR REPLACE FUNCTION vscope.ceilometer_query_samples(body text) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	b jsonb;
	filter text;
	orderby text;
	lim integer;
	r json;
BEGIN
	b := vscope._ceilo_json(coalesce(nullif(btrim(body), ''), '{}'));
	IF jsonb_typeof(b) <> 'object' THEN
		PERFORM vscope._ceilo_fail('400', 'Invalid input: the body is not a JSON object');
	END IF;
	IF EXISTS (SELECT FROM jsonb_object_keys(b) k WHERE k NOT IN ('filter', 'orderby', 'limit')) THEN
		PERFORM vscope._ceilo_fail('400', format('Unknown attribute for argument query: %s',
			(SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(b) k WHERE k NOT IN ('filter', 'orderby', 'limit'))));
	END IF;
	FOREACH filter IN ARRAY ARRAY['filter', 'orderby'] LOOP
		IF b ? filter AND jsonb_typeof(b -> filter) NOT IN ('string', 'null') THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute %s. Value: ''%s''. Wrong type. Expected ''unicode'', got ''%s''',
				filter, b -> filter, jsonb_typeof(b -> filter)));
		END IF;
	END LOOP;
	lim := vscope._ceilo_limit(CASE WHEN jsonb_typeof(b -> 'limit') = 'null' THEN NULL ELSE b ->> 'limit' END);
	IF b ->> 'filter' = '' THEN
		PERFORM vscope._ceilo_fail('400', 'Filter expression not valid: the filter is empty');
	END IF;
	filter := vscope.ceilometer_filter_sql(b ->> 'filter');
	orderby := vscope.ceilometer_orderby_sql(b ->> 'orderby');
	IF NOT me.admin THEN
		-- every project_id leaf must be the caller's own project
		PERFORM vscope._ceilo_check_projects(b ->> 'filter', me.project);
		filter := format('s.project_id = %L AND %s', me.project, filter);
	END IF;
	-- pick the rows, then build the JSON of those only
	EXECUTE format(
		'SELECT coalesce(json_agg(vscope._ceilo_sample_json(ss, p.x, false) ORDER BY n), ''[]'')
		   FROM (SELECT s.tenant_id, s.series_id, row_number() OVER () AS n,
						ROW(s.tenant_id, s.series_id, s."timestamp", s.seq, s.counter_volume,
							s.recorded_at)::vscope.samples AS x
				   FROM (SELECT * FROM vscope.ceilometer_samples s
						  WHERE %s ORDER BY %s, s.series_id, s.seq LIMIT %s) s) p
		   JOIN vscope.sample_series ss ON ss.tenant_id = p.tenant_id AND ss.series_id = p.series_id',
		filter, orderby, lim) INTO r;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_query_samples(text) IS 'Ceilometer POST /v2/query/samples: {"filter": "<json>", "orderby": "<json>", "limit": N}';

CREATE OR REPLACE FUNCTION vscope._ceilo_insert_samples(tenants integer[], series integer[], stamps timestamptz[],
	volumes double precision[], ids text[] DEFAULT NULL)
	RETURNS TABLE (pos integer, seq integer)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	lo timestamptz;
	hi timestamptz;
	-- the samples still to store: what they are, whether their id is ours
	t_ integer[];
	s_ integer[];
	ts_ timestamptz[];
	v_ double precision[];
	id_ text[];
	p_ integer[];
	c_ boolean[];
	q_ integer[];
	-- what was stored
	done_t integer[] := '{}';
	done_s integer[] := '{}';
	done_ts timestamptz[] := '{}';
	done_p integer[] := '{}';
	done_q integer[] := '{}';
	st_t integer[];
	st_s integer[];
	st_ts timestamptz[];
	st_p integer[];
	st_q integer[];
	left_p integer[];
	rounds integer := 0;
BEGIN
	IF coalesce(cardinality(tenants), 0) = 0 THEN
		RETURN;
	END IF;
	SELECT min(u), max(u) INTO lo, hi FROM unnest(stamps) u;
	-- an id given twice: its first sample only
	SELECT array_agg(x.t ORDER BY x.i), array_agg(x.s ORDER BY x.i), array_agg(x.ts ORDER BY x.i),
		   array_agg(x.v ORDER BY x.i), array_agg(x.id ORDER BY x.i), array_agg(x.i::integer ORDER BY x.i),
		   array_agg(false)
	  INTO t_, s_, ts_, v_, id_, p_, c_
	  FROM (SELECT u.*, row_number() OVER (PARTITION BY u.t, u.id ORDER BY u.i) AS nth
			  FROM unnest(tenants, series, stamps, volumes, ids) WITH ORDINALITY u(t, s, ts, v, id, i)) x
	 WHERE x.id IS NULL OR x.nth = 1;
	LOOP
		rounds := rounds + 1;
		IF rounds > 100 THEN
			RAISE EXCEPTION 'samples could not be given a free seq after 100 tries'
				USING ERRCODE = 'serialization_failure',
					  HINT = 'Other writers keep storing samples of the same series at the same times: retry.';
		END IF;
		-- seqs, and the ids claimed (or, in later rounds, moved to their new seq)
		EXECUTE $q$
			WITH v AS (
				SELECT * FROM unnest($1::integer[], $2::integer[], $3::timestamptz[], $4::double precision[],
									 $5::text[], $6::integer[], $7::boolean[]) u(t, s, ts, vol, id, pos, claimed)
			), alloc AS (
				-- the next free seq at the sample's time, then the samples of
				-- one time numbered in order
				-- (above the blocks' too, when a day of these times is
				-- compressed: the sample must not take the key of one there)
				SELECT v.*, (coalesce(greatest((SELECT max(x.seq) FROM vscope.samples x
												 WHERE x.tenant_id = v.t AND x.series_id = v.s AND x.ts = v.ts
												   AND x.ts >= $8 AND x.ts <= $9),
												CASE WHEN $10 THEN vscope._ceilo_block_max_seq(v.t, v.s, v.ts) END) + 1, 0)
							 + row_number() OVER (PARTITION BY v.t, v.s, v.ts ORDER BY v.pos) - 1)::integer AS seq
				  FROM v
			), claim AS (
				INSERT INTO vscope.sample_ids AS i (tenant_id, message_id, series_id, ts, seq)
				SELECT a.t, a.id, a.s, a.ts, a.seq FROM alloc a
				 WHERE a.id IS NOT NULL AND NOT a.claimed
				 ORDER BY a.t, a.id
				ON CONFLICT (tenant_id, message_id) DO NOTHING
				RETURNING i.tenant_id, i.message_id
			), moved AS (
				UPDATE vscope.sample_ids i SET seq = a.seq
				  FROM alloc a
				 WHERE a.claimed AND i.tenant_id = a.t AND i.message_id = a.id
			)
			SELECT array_agg(a.t ORDER BY a.pos), array_agg(a.s ORDER BY a.pos), array_agg(a.ts ORDER BY a.pos),
				   array_agg(a.vol ORDER BY a.pos), array_agg(a.id ORDER BY a.pos), array_agg(a.pos ORDER BY a.pos),
				   array_agg(a.seq ORDER BY a.pos)
			  FROM alloc a LEFT JOIN claim c ON c.tenant_id = a.t AND c.message_id = a.id
			 WHERE a.id IS NULL OR a.claimed OR c.message_id IS NOT NULL
			$q$
			INTO t_, s_, ts_, v_, id_, p_, q_
			USING t_, s_, ts_, v_, id_, p_, c_, lo, hi, vscope._ceilo_blocks_between(lo, hi);
		EXIT WHEN p_ IS NULL;
		-- the samples, in key order: writers storing at one time wait for
		-- each other rather than deadlock
		EXECUTE $q$
			WITH w AS (
				SELECT * FROM unnest($1::integer[], $2::integer[], $3::timestamptz[], $4::double precision[],
									 $5::integer[], $6::integer[]) u(t, s, ts, vol, pos, seq)
			), stored AS (
				INSERT INTO vscope.samples (tenant_id, series_id, ts, seq, volume)
				SELECT w.t, w.s, w.ts, w.seq, w.vol FROM w ORDER BY w.t, w.s, w.ts, w.seq
				ON CONFLICT DO NOTHING
				RETURNING tenant_id, series_id, ts, seq
			)
			SELECT array_agg(w.t) FILTER (WHERE st.seq IS NOT NULL), array_agg(w.s) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.ts) FILTER (WHERE st.seq IS NOT NULL), array_agg(w.pos) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.seq) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.pos) FILTER (WHERE st.seq IS NULL)
			  FROM w LEFT JOIN stored st ON st.tenant_id = w.t AND st.series_id = w.s AND st.ts = w.ts AND st.seq = w.seq
			$q$
			INTO st_t, st_s, st_ts, st_p, st_q, left_p
			USING t_, s_, ts_, v_, p_, q_;
		done_t := done_t || st_t;
		done_s := done_s || st_s;
		done_ts := done_ts || st_ts;
		done_p := done_p || st_p;
		done_q := done_q || st_q;
		EXIT WHEN left_p IS NULL;
		-- the samples that lost their seq, again (their ids are theirs already)
		SELECT array_agg(u.t ORDER BY u.pos), array_agg(u.s ORDER BY u.pos), array_agg(u.ts ORDER BY u.pos),
			   array_agg(u.vol ORDER BY u.pos), array_agg(u.id ORDER BY u.pos), array_agg(u.pos ORDER BY u.pos),
			   array_agg(true)
		  INTO t_, s_, ts_, v_, id_, p_, c_
		  FROM unnest(t_, s_, ts_, v_, id_, p_) u(t, s, ts, vol, id, pos)
		 WHERE u.pos = ANY (left_p);
	END LOOP;
	-- a compaction of a day that committed after the seqs were read may
	-- have moved another writer's sample with one of those seqs into a
	-- block (once a row is in, no compaction of its day can start before
	-- this commits): the two would share a message_id, so this request is
	-- refused, to be sent again (two posts to one series and instant during
	-- its day's compaction)
	IF vscope._ceilo_blocks_between(lo, hi) AND EXISTS (
			SELECT FROM unnest(done_t, done_s, done_ts, done_q) u(t, s, ts, q)
			 WHERE vscope._ceilo_block_max_seq(u.t, u.s, u.ts) >= u.q) THEN
		RAISE EXCEPTION 'samples of these series and times were compressed while these were being stored'
			USING ERRCODE = 'serialization_failure', HINT = 'Send the samples again.';
	END IF;
	PERFORM vscope._ceilo_span_widen(done_t, done_s, done_ts);
	RETURN QUERY SELECT u.p, u.q FROM unnest(done_p, done_q) u(p, q);
END
$$;
COMMENT ON FUNCTION vscope._ceilo_insert_samples(integer[], integer[], timestamptz[], double precision[], text[]) IS 'internal: stores samples (tenant, series, time, volume, publisher''s id or NULL; set-based) each at the next free seq of its time, a sample whose id its tenant has already skipped; widens their spans; returns the position and seq of each sample stored';

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
		EXECUTE format('SELECT EXISTS (SELECT FROM %s)', p.partition) INTO has_rows;
		IF has_rows THEN
			RETURN p.range_start::date;
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION vscope._compress_samples_candidate(date) IS 'internal: the oldest day (after the given one) due for compaction that still has Ceilometer samples in its partition, or NULL';

CREATE OR REPLACE FUNCTION vscope.expire(older_than interval, max_partitions integer DEFAULT NULL)
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
	DELETE FROM vscope.annotations a
	 WHERE a.start_time < date_trunc('day', now() - older_than)
	   AND NOT EXISTS (SELECT FROM vscope.partitions('points') x
						WHERE a.start_time >= x.range_start AND a.start_time < x.range_end);
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

CREATE OR REPLACE FUNCTION vscope.maintain() RETURNS jsonb
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
	compressed bigint := 0;
	compressed_samples bigint := 0;
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

-- Citus: functions rewritten so that Citus can plan them (the tenant read
-- once into a variable, no EXISTS/UNION without FROM/subquery in INSERT over
-- tenant tables, no now() in ON CONFLICT DO UPDATE, no whole row of a
-- distributed table passed to a function, no SQL-language function over
-- tenant tables), with the same answers on a single node

CREATE OR REPLACE FUNCTION vscope.latest_value(metric text, tags jsonb) RETURNS double precision
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	out double precision;
BEGIN
	-- PL/pgSQL, the tenant a variable: one shard's query on Citus
	SELECT coalesce(l.value, l.ivalue::double precision) INTO out
	  FROM vscope.series s
	  JOIN vscope.series_last l ON l.tenant_id = s.tenant_id AND l.series_id = s.series_id
	 WHERE s.tenant_id = tid AND l.tenant_id = tid AND s.metric = latest_value.metric
	   AND s.tags @> latest_value.tags
	 ORDER BY l.ts DESC LIMIT 1;
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope.latest_value(text, jsonb) IS 'the most recent value of the metric among the current tenant''s series whose tags contain the given ones';

CREATE OR REPLACE FUNCTION vscope.latest_sum(metric text, tags jsonb) RETURNS double precision
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	out double precision;
BEGIN
	SELECT sum(coalesce(l.value, l.ivalue::double precision)) INTO out
	  FROM vscope.series s
	  JOIN vscope.series_last l ON l.tenant_id = s.tenant_id AND l.series_id = s.series_id
	 WHERE s.tenant_id = tid AND l.tenant_id = tid AND s.metric = latest_sum.metric
	   AND s.tags @> latest_sum.tags;
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope.latest_sum(text, jsonb) IS 'the sum, over the current tenant''s series whose tags contain the given ones, of each series'' most recent value';

CREATE OR REPLACE FUNCTION vscope._dc_label(datacenter_id bigint) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	out text;
BEGIN
	SELECT t.name || '_datacenter' || datacenter_id INTO out FROM vscope.tenants t WHERE t.tenant_id = tid;
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope._dc_label(bigint) IS 'internal: the datacenter label of the current service''s metrics';

CREATE OR REPLACE FUNCTION vscope.live_ids(service text, datacenter_id bigint, kind text) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	out json;
BEGIN
	PERFORM vscope._live_check(service, datacenter_id);
	IF kind = 'filer' THEN
		SELECT coalesce(json_agg(filer_id ORDER BY filer_id), '[]') INTO out FROM vscope.filers f
		 WHERE f.tenant_id = tid AND f.datacenter_id = live_ids.datacenter_id;
	ELSIF kind = 'host' THEN
		SELECT coalesce(json_agg(host_id ORDER BY host_id), '[]') INTO out FROM vscope.hosts h
		 WHERE h.tenant_id = tid AND h.datacenter_id = live_ids.datacenter_id;
	ELSIF kind = 'vm' THEN
		SELECT coalesce(json_agg(vm_id ORDER BY vm_id), '[]') INTO out FROM vscope.vms v
		 WHERE v.tenant_id = tid AND v.datacenter_id = live_ids.datacenter_id;
	ELSE
		RAISE EXCEPTION 'unknown kind "%"', kind USING ERRCODE = 'VS404';
	END IF;
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope.live_ids(text, bigint, text) IS 'vScope: the ids of the filers, hosts or vms of a datacenter of the service';

CREATE OR REPLACE FUNCTION vscope._live_check(service text, datacenter_id bigint) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
BEGIN
	-- PERFORM and FOUND rather than IF EXISTS (SELECT ...), which Citus
	-- cannot plan; the tenant a variable, so the query goes to one shard
	PERFORM FROM vscope.tenants t WHERE t.tenant_id = tid AND t.name = service;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'The requested object (serviceName = %) does not exist', service USING ERRCODE = 'VS404';
	END IF;
	PERFORM FROM vscope.datacenters d WHERE d.tenant_id = tid AND d.datacenter_id = _live_check.datacenter_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'The requested object (datacenterId = %) does not exist', datacenter_id USING ERRCODE = 'VS404';
	END IF;
END
$$;
COMMENT ON FUNCTION vscope._live_check(text, bigint) IS 'internal: 404 unless the service is the current tenant and has the datacenter';

CREATE OR REPLACE FUNCTION vscope.live_object(service text, datacenter_id bigint, kind text, id bigint) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	dc text;
	f vscope.filers;
	h vscope.hosts;
	v vscope.vms;
	tags jsonb;
	used double precision;
	perc double precision;
	ready double precision;
	net_rx double precision;
	net_tx double precision;
	vm_total bigint;
	vm_vcpu_total numeric;
	out json;
BEGIN
	PERFORM vscope._live_check(service, datacenter_id);
	dc := vscope._dc_label(datacenter_id);
	IF kind = 'filer' THEN
		SELECT * INTO f FROM vscope.filers x WHERE x.tenant_id = tid
		   AND x.datacenter_id = live_object.datacenter_id AND x.filer_id = id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'The requested object (filerId = %) does not exist', id USING ERRCODE = 'VS404';
		END IF;
		-- the metric is in KB; OVH's live fields are GB
		used := vscope.latest_value('vscope.filer.datastore.diskspace.used',
									jsonb_build_object('datacenter', dc, 'datastore', f.name)) / 1048576.0;
		out := json_build_object(
			'filerId', f.filer_id, 'name', f.name, 'profile', f.profile, 'fullProfile', f.full_profile,
			'size', json_build_object('unit', 'GB', 'value', f.size_gb),
			'spaceUsed', CASE WHEN used BETWEEN -1e15 AND 1e15 THEN round(used::numeric, 2) END,
			'spaceFree', CASE WHEN used BETWEEN -1e15 AND 1e15 THEN round((f.size_gb - used)::numeric, 2) END,
			'spaceProvisionned', NULL, 'state', f.state, 'vmTotal', f.vm_total,
			'billingType', f.billing_type);
	ELSIF kind = 'host' THEN
		SELECT * INTO h FROM vscope.hosts x WHERE x.tenant_id = tid
		   AND x.datacenter_id = live_object.datacenter_id AND x.host_id = id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'The requested object (hostId = %) does not exist', id USING ERRCODE = 'VS404';
		END IF;
		tags := jsonb_build_object('datacenter', dc, 'host', h.name);
		perc := vscope.latest_value('vscope.host.cpu.usage.perc', tags);
		used := vscope.latest_value('vscope.host.mem.usage.perc', tags);
		-- each read its own query (on Citus, a function over tenant tables
		-- inside a query sent to a shard cannot run there)
		net_rx := vscope.latest_sum('vscope.host.net.rx', tags);
		net_tx := vscope.latest_sum('vscope.host.net.tx', tags);
		SELECT count(*), sum(x.cpu_num) INTO vm_total, vm_vcpu_total FROM vscope.vms x
		 WHERE x.tenant_id = tid AND x.datacenter_id = h.datacenter_id AND x.host_name = h.name;
		out := json_build_object(
			'hostId', h.host_id, 'name', h.name, 'profile', h.profile, 'profileCode', h.profile_code,
			'rack', h.rack, 'state', h.state, 'connectionState', h.connection_state,
			'billingType', h.billing_type,
			'cpu', json_build_object('unit', 'MHz', 'value', h.cpu_max),
			'cpuMax', h.cpu_max, 'cpuMaxCore', h.cpu_max_core, 'cpuNum', h.cpu_num,
			'cpuUsed', vscope._to_long(perc / 100 * h.cpu_max),
			'ram', json_build_object('unit', 'GB', 'value', h.ram_gb),
			'memoryUsed', CASE WHEN used BETWEEN -1e15 AND 1e15 THEN round((used / 100 * h.ram_gb * 1024)::numeric, 2) END,
			'vmTotal', vm_total, 'vmVcpuTotal', vm_vcpu_total,
			'uptime', h.uptime, 'inMaintenance', h.in_maintenance, 'clusterName', h.cluster_name,
			'parentHostId', NULL,
			'netRx', net_rx, 'netTx', net_tx);
	ELSIF kind = 'vm' THEN
		SELECT * INTO v FROM vscope.vms x WHERE x.tenant_id = tid
		   AND x.datacenter_id = live_object.datacenter_id AND x.vm_id = id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'The requested object (vmId = %) does not exist', id USING ERRCODE = 'VS404';
		END IF;
		tags := jsonb_build_object('datacenter', dc, 'vm', v.mo_ref);
		perc := vscope.latest_value('vscope.vm.cpu.usage.perc', tags);
		used := vscope.latest_value('vscope.vm.mem.usage.perc', tags);
		ready := vscope.latest_value('vscope.vm.cpu.ready', tags);
		out := json_build_object(
			'vmId', v.vm_id, 'moRef', v.mo_ref, 'name', v.name, 'powerState', v.power_state,
			'cpuNum', v.cpu_num, 'cpuMax', v.cpu_max,
			'cpuUsed', vscope._to_long(perc / 100 * v.cpu_max),
			'cpuReady', ready,
			-- ready time over vSphere's 20-second real-time sample
			'cpuReadyPercent', CASE WHEN ready BETWEEN -1e15 AND 1e15 THEN round((ready / 20000 * 100)::numeric, 2) END,
			'memoryMax', v.memory_max,
			'memoryUsed', vscope._to_long(used / 100 * v.memory_max),
			'memoryTps', NULL,
			'netRx', vscope.latest_value('vscope.vm.net.rx', tags),
			'netTx', vscope.latest_value('vscope.vm.net.tx', tags),
			'netPacketRx', vscope.latest_value('vscope.vm.net.packetsrx', tags),
			'netPacketTx', vscope.latest_value('vscope.vm.net.packetstx', tags),
			'readRate', vscope.latest_value('vscope.vm.disk.bandwidth.read', tags),
			'writeRate', vscope.latest_value('vscope.vm.disk.bandwidth.write', tags),
			'readPerSecond', vscope.latest_value('vscope.vm.disk.io.read', tags),
			'writePerSecond', vscope.latest_value('vscope.vm.disk.io.write', tags),
			'readLatency', vscope.latest_value('vscope.vm.disk.latency.read', tags),
			'writeLatency', vscope.latest_value('vscope.vm.disk.latency.write', tags),
			'hostName', v.host_name, 'clusterName', v.cluster_name, 'folderName', v.folder_name,
			'snapshotNum', v.snapshot_num, 'vmwareTools', v.vmware_tools,
			'vmwareToolsVersion', v.vmware_tools_version);
	ELSE
		RAISE EXCEPTION 'unknown kind "%"', kind USING ERRCODE = 'VS404';
	END IF;
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope.live_object(text, bigint, text, bigint) IS 'vScope: one filer, host or vm of the service with OVH''s fields; live values come from the latest points of the vscope.* metrics';

CREATE OR REPLACE FUNCTION vscope.metrics_token(service text, user_id bigint, endpoint text) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	label text := 'metricsToken user ' || user_id;
	tok text;
BEGIN
	PERFORM FROM vscope.tenants t WHERE t.tenant_id = tid AND t.name = service;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'The requested object (serviceName = %) does not exist', service USING ERRCODE = 'VS404';
	END IF;
	IF user_id IS NULL OR user_id <= 0 THEN
		RAISE EXCEPTION 'invalid userId' USING ERRCODE = 'VS400';
	END IF;
	-- one issuer at a time per user, so exactly one token stays active
	PERFORM pg_advisory_xact_lock(hashtext('vscope metricsToken'), hashtext(tid || '/' || user_id));
	UPDATE vscope.tokens k SET revoked_at = now()
	 WHERE k.tenant_id = tid AND k.metrics_user_id = metrics_token.user_id
	   AND k.revoked_at IS NULL;
	tok := vscope.create_token(service, '{read}', label);
	UPDATE vscope.tokens k SET metrics_user_id = metrics_token.user_id
	 WHERE k.token_hash = sha256(convert_to(tok, 'UTF8'));
	RETURN json_build_object('warpEndpoint', endpoint, 'token', tok, 'opentsdbEndpoint', endpoint);
END
$$;
COMMENT ON FUNCTION vscope.metrics_token(text, bigint, text) IS 'vScope metricsToken: a new read token for the service (the previous one of that user is revoked), for OpenTSDB and Warp 10 alike: warpEndpoint and opentsdbEndpoint are both the endpoint given (vscoped''s URL)';

CREATE OR REPLACE FUNCTION vscope.create_token(tenant text, scopes text[] DEFAULT '{read}',
									description text DEFAULT NULL)
	RETURNS text
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer;
	tok text;
	bad text;
BEGIN
	IF coalesce(cardinality(scopes), 0) = 0 THEN
		RAISE EXCEPTION 'a token needs at least one scope'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Scopes are read, write, admin, superadmin and publish.';
	END IF;
	SELECT s INTO bad FROM unnest(scopes) s
	 WHERE s IS NULL OR s NOT IN ('read', 'write', 'admin', 'superadmin', 'publish') LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invalid token scope "%"', coalesce(bad, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Scopes are read, write, admin, superadmin and publish.';
	END IF;
	tid := vscope.tenant_id(tenant);
	IF tid IS NULL THEN
		RAISE EXCEPTION 'tenant "%" does not exist', tenant
			USING ERRCODE = 'VS404';
	END IF;
	tok := vscope._random_token();
	scopes := ARRAY(SELECT DISTINCT s FROM unnest(scopes) s ORDER BY 1);  -- (Citus: no subquery in INSERT)
	INSERT INTO vscope.tokens (tenant_id, token_hash, scopes, description)
		VALUES (tid, sha256(convert_to(tok, 'UTF8')), scopes, description);
	RETURN tok;
END
$$;
COMMENT ON FUNCTION vscope.create_token(text, text[], text) IS 'creates an API token for a tenant and returns it; only its hash is kept, so this is the one time it is shown';

CREATE OR REPLACE FUNCTION vscope.revoke_token(token_id integer) RETURNS boolean
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n bigint;
BEGIN
	-- PL/pgSQL: Citus cannot plan a SQL-language function's data-modifying WITH
	UPDATE vscope.tokens k SET revoked_at = now()
	 WHERE k.token_id = revoke_token.token_id AND k.revoked_at IS NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n > 0;
END
$$;
COMMENT ON FUNCTION vscope.revoke_token(integer) IS 'revokes a token at once; true if it was active';

CREATE OR REPLACE FUNCTION vscope.tsdb_suggest(type text, q text DEFAULT '', max text DEFAULT '25')
	RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	-- the tenant read once: compared with a constant, Citus sends the
	-- query to that tenant's shard (a call per row would go to every shard)
	tid integer := vscope.current_tenant();
	n integer;
	result json;
BEGIN
	IF type IS NULL OR type = '' THEN
		RAISE EXCEPTION 'missing ''type'' parameter' USING ERRCODE = 'VS400',
			HINT = 'type is metrics, tagk or tagv.';
	END IF;
	IF type NOT IN ('metrics', 'tagk', 'tagv') THEN
		RAISE EXCEPTION 'invalid ''type'' parameter:%', type USING ERRCODE = 'VS400',
			HINT = 'type is metrics, tagk or tagv.';
	END IF;
	BEGIN
		n := coalesce(nullif(max, ''), '25')::integer;
	EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
		RAISE EXCEPTION 'unable to parse ''max'' as a number' USING ERRCODE = 'VS400';
	END;
	q := coalesce(q, '');
	-- the names series carry, and those /api/uid/assign gave a UID
	IF type = 'metrics' THEN
		SELECT coalesce(json_agg(m ORDER BY m COLLATE "C"), '[]') INTO result
		  FROM (SELECT s.metric COLLATE "C" AS m FROM vscope.series s
				 WHERE s.tenant_id = tid AND starts_with(s.metric, q)
				 UNION
				SELECT u.name FROM vscope.uid_meta u
				 WHERE u.tenant_id = tid AND u.type = 'metric'
				   AND u.assigned_at IS NOT NULL AND starts_with(u.name, q)
				 ORDER BY 1 LIMIT greatest(n, 0)) x;
	ELSIF type = 'tagk' THEN
		SELECT coalesce(json_agg(m ORDER BY m COLLATE "C"), '[]') INTO result
		  FROM (SELECT k COLLATE "C" AS m FROM vscope.series s, jsonb_object_keys(s.tags) k
				 WHERE s.tenant_id = tid AND starts_with(k, q)
				 UNION
				SELECT u.name FROM vscope.uid_meta u
				 WHERE u.tenant_id = tid AND u.type = 'tagk'
				   AND u.assigned_at IS NOT NULL AND starts_with(u.name, q)
				 ORDER BY 1 LIMIT greatest(n, 0)) x;
	ELSE
		SELECT coalesce(json_agg(m ORDER BY m COLLATE "C"), '[]') INTO result
		  FROM (SELECT t.value COLLATE "C" AS m FROM vscope.series s, jsonb_each_text(s.tags) t
				 WHERE s.tenant_id = tid AND starts_with(t.value, q)
				 UNION
				SELECT u.name FROM vscope.uid_meta u
				 WHERE u.tenant_id = tid AND u.type = 'tagv'
				   AND u.assigned_at IS NOT NULL AND starts_with(u.name, q)
				 ORDER BY 1 LIMIT greatest(n, 0)) x;
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_suggest(text, text, text) IS 'OpenTSDB /api/suggest: metric names, tag keys or tag values of the current tenant (carried by its series, or given a UID by /api/uid/assign) starting with q, in byte order, at most max';

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
		-- tsuids, when given, name the series (the metric and tags are ignored)
		IF jsonb_typeof(q->'tsuids') = 'array' AND jsonb_array_length(q->'tsuids') > 0 THEN
			PERFORM vscope._tsdb_tsuid_id(t) FROM jsonb_array_elements_text(q->'tsuids') AS t;
			CONTINUE;
		END IF;
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
		ON s.tenant_id = _tid
	   AND CASE WHEN jsonb_typeof(r.q->'tsuids') = 'array' AND jsonb_array_length(r.q->'tsuids') > 0
				THEN s.series_id IN (SELECT vscope._tsdb_tsuid_id(t) FROM jsonb_array_elements_text(r.q->'tsuids') AS t)
				ELSE s.metric = r.q->>'metric' AND s.tags @> coalesce(r.q->'tags', '{}') END
	  JOIN vscope.series_last l
		ON l.tenant_id = _tid AND l.series_id = s.series_id
	   AND (back_scan <= 0 OR l.ts >= now() - make_interval(hours => back_scan));
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_last(jsonb) IS 'OpenTSDB /api/query/last: the latest point of each series matching {"queries":[{"metric","tags"} or {"tsuids":[...]}],"backScan":hours}';

CREATE OR REPLACE FUNCTION vscope.tsdb_lookup(request jsonb) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	want text := nullif(request->>'metric', '');
	lim integer;
	t0 timestamptz := clock_timestamp();
	total bigint;
	results json;
BEGIN
	IF want IS NULL THEN
		RAISE EXCEPTION 'missing metric' USING ERRCODE = 'VS400',
			HINT = 'Name a metric, or * for any: {"metric": "sys.cpu", "tags": [{"key": "host", "value": "*"}]}.';
	END IF;
	BEGIN
		lim := coalesce(nullif(request->>'limit', ''), '25')::integer;
	EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
		RAISE EXCEPTION 'invalid limit: %', request->>'limit' USING ERRCODE = 'VS400';
	END;
	IF request ? 'tags' AND (jsonb_typeof(request->'tags') <> 'array' OR EXISTS (
			SELECT FROM jsonb_array_elements(request->'tags') p WHERE jsonb_typeof(p) <> 'object')) THEN
		RAISE EXCEPTION 'tags must be an array of {"key", "value"} pairs' USING ERRCODE = 'VS400';
	END IF;
	-- a key named more than once matches any of its values (OpenTSDB ORs
	-- them: Grafana sends host=a,host=b for a multi-value variable); each
	-- pair of any key (*) needs a tag with its value
	WITH pairs AS (
		SELECT coalesce(f.pair->>'key', '*') AS k, coalesce(f.pair->>'value', '*') AS v
		  FROM jsonb_array_elements(coalesce(request->'tags', '[]')) AS f(pair)),
	-- the tenant's series of the metric are read first, as they are (on
	-- Citus: from one shard, into the coordinator), and matched there: Citus
	-- cannot push the correlated subqueries over jsonb_each_text to a shard
	candidates AS MATERIALIZED (
		SELECT s.series_id, s.metric, s.tags
		  FROM vscope.series s
		 WHERE s.tenant_id = tid AND (want = '*' OR s.metric = want)),
	matched AS (
		SELECT s.series_id, s.metric, s.tags
		  FROM candidates s
		 WHERE NOT EXISTS (
				SELECT FROM (SELECT DISTINCT k FROM pairs WHERE k <> '*') AS named
				 WHERE NOT EXISTS (
					   SELECT FROM pairs p JOIN jsonb_each_text(s.tags) AS t(k, v) ON t.k = p.k
						WHERE p.k = named.k AND p.v IN ('*', t.v)))
		   AND NOT EXISTS (
				SELECT FROM pairs p
				 WHERE p.k = '*' AND NOT EXISTS (
					   SELECT FROM jsonb_each_text(s.tags) AS t(k, v) WHERE p.v IN ('*', t.v))))
	SELECT (SELECT count(*) FROM matched),
		   coalesce((SELECT json_agg(json_build_object(
						 'tsuid', upper(lpad(to_hex(m.series_id), 8, '0')),
						 'metric', m.metric, 'tags', m.tags) ORDER BY m.series_id)
					   FROM (SELECT * FROM matched ORDER BY series_id LIMIT CASE WHEN lim > 0 THEN lim END) m), '[]')
	  INTO total, results;
	RETURN json_build_object('type', 'LOOKUP', 'metric', want,
							 'tags', coalesce(request->'tags', '[]'), 'limit', lim,
							 'time', (extract(epoch FROM clock_timestamp() - t0) * 1000)::bigint,
							 'results', results, 'startIndex', 0, 'totalResults', total);
END
$$;
COMMENT ON FUNCTION vscope.tsdb_lookup(jsonb) IS 'OpenTSDB /api/search/lookup: {"metric": name or *, "tags": [{"key","value"}] with * for any, "limit": 25}';

CREATE OR REPLACE FUNCTION vscope.tsdb_tsuid_series(tsuid text) RETURNS integer
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	sid integer;
BEGIN
	IF tsuid IS NULL OR tsuid = '' THEN
		RETURN NULL;
	END IF;
	IF tsuid !~ '^[0-9A-Fa-f]{1,8}$' THEN
		RAISE EXCEPTION 'Invalid TSUID: %', tsuid USING ERRCODE = 'VS400',
			DETAIL = 'A tsuid is the hexadecimal series id /api/search/lookup answers, such as 0000002A.';
	END IF;
	SELECT s.series_id INTO sid FROM vscope.series s
	 WHERE s.tenant_id = tid
	   AND s.series_id = ('x' || lpad(tsuid, 8, '0'))::bit(32)::integer;
	IF sid IS NULL THEN
		RAISE EXCEPTION 'Unable to locate TSUID: %', upper(tsuid) USING ERRCODE = 'VS404';
	END IF;
	RETURN sid;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_tsuid_series(text) IS 'the series id of an OpenTSDB tsuid of the current tenant (NULL for an empty one); 400 when malformed, 404 when unknown';

CREATE OR REPLACE FUNCTION vscope.tsdb_annotation_write(request jsonb, replace boolean) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	sid integer;
	st timestamptz;
	et timestamptz;
	a vscope.annotations;
BEGIN
	IF jsonb_typeof(request) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'Unable to parse the annotation' USING ERRCODE = 'VS400',
			HINT = 'Send {"tsuid": "0000002A", "startTime": 1369141261, "description": "..."}.';
	END IF;
	sid := vscope.tsdb_tsuid_series(request->>'tsuid');
	st := vscope.tsdb_annotation_time(request->>'startTime');
	et := vscope.tsdb_annotation_time(request->>'endTime');
	IF st IS NULL THEN
		RAISE EXCEPTION 'Missing start time' USING ERRCODE = 'VS400';
	END IF;
	IF request ? 'custom' AND jsonb_typeof(request->'custom') NOT IN ('object', 'null') THEN
		RAISE EXCEPTION 'Invalid custom field' USING ERRCODE = 'VS400',
			DETAIL = 'custom is an object of string values.';
	END IF;
	INSERT INTO vscope.annotations AS x (tenant_id, series_id, start_time, end_time, description, notes, custom)
	VALUES (tid, sid, st, et, coalesce(request->>'description', ''),
			coalesce(request->>'notes', ''), nullif(request->'custom', 'null'))
	ON CONFLICT (tenant_id, series_id, start_time) DO UPDATE SET
		end_time = CASE WHEN replace OR request ? 'endTime' THEN excluded.end_time ELSE x.end_time END,
		description = CASE WHEN replace OR request ? 'description' THEN excluded.description ELSE x.description END,
		notes = CASE WHEN replace OR request ? 'notes' THEN excluded.notes ELSE x.notes END,
		custom = CASE WHEN replace THEN excluded.custom
					  WHEN request ? 'custom' THEN CASE WHEN excluded.custom IS NULL THEN x.custom
													 ELSE coalesce(x.custom, '{}') || excluded.custom END
					  ELSE x.custom END
	RETURNING * INTO a;
	RETURN vscope.tsdb_annotation_json(a);
END
$$;
COMMENT ON FUNCTION vscope.tsdb_annotation_write(jsonb, boolean) IS 'creates or updates one OpenTSDB annotation of the current tenant from {"tsuid","startTime","endTime","description","notes","custom"}: replace (PUT) sets every field, else (POST) only those given, custom merged';

CREATE OR REPLACE FUNCTION vscope.tsdb_annotation(method text, request jsonb) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	sid integer;
	st timestamptz;
	a vscope.annotations;
BEGIN
	IF method IN ('POST', 'PUT') THEN
		RETURN vscope.tsdb_annotation_write(request, method = 'PUT');
	END IF;
	IF method NOT IN ('GET', 'DELETE') THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405';
	END IF;
	-- as OpenTSDB: a tsuid is not looked up (one of no series has no
	-- annotation: 404 for a read), and a delete answers 204 whether or not
	-- there was one
	sid := vscope._tsdb_tsuid_id(request->>'tsuid');
	st := vscope.tsdb_annotation_time(coalesce(request->>'startTime', request->>'start_time'));
	IF st IS NULL THEN
		RAISE EXCEPTION 'Missing start time' USING ERRCODE = 'VS400';
	END IF;
	IF method = 'DELETE' THEN
		DELETE FROM vscope.annotations x
		 WHERE x.tenant_id = tid AND x.series_id IS NOT DISTINCT FROM sid AND x.start_time = st;
		RETURN NULL;
	END IF;
	SELECT * INTO a FROM vscope.annotations x
	 WHERE x.tenant_id = tid AND x.series_id IS NOT DISTINCT FROM sid AND x.start_time = st;
	IF a.annotation_id IS NULL THEN
		RAISE EXCEPTION 'Unable to locate annotation in storage' USING ERRCODE = 'VS404';
	END IF;
	RETURN vscope.tsdb_annotation_json(a);
END
$$;
COMMENT ON FUNCTION vscope.tsdb_annotation(text, jsonb) IS 'OpenTSDB /api/annotation for the current tenant: GET or DELETE {"tsuid","startTime"} (no tsuid: a global annotation; DELETE answers NULL), POST merges, PUT replaces';

CREATE OR REPLACE FUNCTION vscope.tsdb_annotation_bulk(method text, request jsonb) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	sids integer[];
	st bigint;
	et bigint;
	n bigint;
	glob boolean;
	tsuids jsonb;
BEGIN
	IF method IN ('POST', 'PUT') THEN
		IF jsonb_typeof(request) IS DISTINCT FROM 'array' THEN
			RAISE EXCEPTION 'Unable to parse the annotation list' USING ERRCODE = 'VS400',
				HINT = 'POST a JSON array of annotations.';
		END IF;
		RETURN (SELECT ('[' || coalesce(string_agg(vscope.tsdb_annotation_write(e, method = 'PUT')::text, ',' ORDER BY o), '') || ']')::json
				  FROM jsonb_array_elements(request) WITH ORDINALITY AS f(e, o));
	END IF;
	IF method <> 'DELETE' THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405';
	END IF;
	IF jsonb_typeof(request) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'Unable to parse the bulk delete request' USING ERRCODE = 'VS400';
	END IF;
	-- the body's startTime, or the query string's start_time
	IF NOT request ? 'startTime' AND request ? 'start_time' THEN
		request := request || jsonb_build_object('startTime', request->'start_time', 'endTime', request->'end_time');
	END IF;
	IF coalesce(request->>'startTime', '') = '' THEN
		RAISE EXCEPTION 'Missing the start time value' USING ERRCODE = 'VS400';
	END IF;
	-- a boolean in a body; in a query string, being there says true
	glob := CASE jsonb_typeof(request->'global') WHEN 'boolean' THEN (request->'global')::boolean
				 WHEN 'null' THEN true WHEN 'string' THEN lower(request->>'global') <> 'false'
				 ELSE false END;
	tsuids := CASE jsonb_typeof(request->'tsuids')
			  WHEN 'string' THEN (SELECT coalesce(jsonb_agg(btrim(t)), '[]')
									FROM unnest(string_to_array(request->>'tsuids', ',')) AS t)
			  WHEN 'array' THEN request->'tsuids' ELSE '[]' END;
	IF NOT glob AND jsonb_array_length(tsuids) = 0 THEN
		RAISE EXCEPTION 'Missing the TSUIDs or global annotations flag' USING ERRCODE = 'VS400';
	END IF;
	st := vscope._tsdb_time_ms(request->>'startTime');
	et := coalesce(vscope._tsdb_time_ms(nullif(request->>'endTime', '')),
				   (extract(epoch FROM statement_timestamp()) * 1000)::bigint);
	IF et < st THEN
		RAISE EXCEPTION 'The end timestamp cannot be less than the start timestamp' USING ERRCODE = 'VS400';
	END IF;
	-- tsuids are not looked up: one of no series has no annotation
	SELECT array_agg(vscope._tsdb_tsuid_id(t)) INTO sids FROM jsonb_array_elements_text(tsuids) AS f(t);
	DELETE FROM vscope.annotations x
	 WHERE x.tenant_id = tid
	   AND ((glob AND x.series_id IS NULL) OR x.series_id = ANY (sids))
	   AND x.start_time BETWEEN to_timestamp(st / 1000.0) AND to_timestamp(et / 1000.0);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN ('{"tsuids":[' || coalesce((SELECT string_agg(to_json(t)::text, ',' ORDER BY o)
										 FROM jsonb_array_elements_text(tsuids) WITH ORDINALITY AS f(t, o)), '')
			|| '],"global":' || glob || ',"startTime":' || st
			|| ',"endTime":' || et || ',"totalDeleted":' || n || '}')::json;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_annotation_bulk(text, jsonb) IS 'OpenTSDB /api/annotation/bulk for the current tenant: POST/PUT a list of annotations (answers the list written); DELETE {"tsuids": [...], "global": bool, "startTime", "endTime"} (answers them with totalDeleted)';

CREATE OR REPLACE FUNCTION vscope._tsdb_uid_exists(type text, name text) RETURNS boolean
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	-- PL/pgSQL, one query at a time and the tenant a constant: each goes to
	-- the tenant's shard on Citus
	tid integer := vscope.current_tenant();
BEGIN
	PERFORM FROM vscope.uid_meta u
	 WHERE u.tenant_id = tid AND u.type = $1 AND u.name = $2 AND u.assigned_at IS NOT NULL;
	IF FOUND THEN
		RETURN true;
	END IF;
	IF $1 = 'metric' THEN
		PERFORM FROM vscope.series s WHERE s.tenant_id = tid AND s.metric = $2 LIMIT 1;
	ELSIF $1 = 'tagk' THEN
		PERFORM FROM vscope.series s WHERE s.tenant_id = tid AND s.tags ? $2 LIMIT 1;
	ELSE
		PERFORM FROM vscope.series s
		 WHERE s.tenant_id = tid
		   AND jsonb_path_exists(s.tags, '$.* ? (@ == $v)', jsonb_build_object('v', $2)) LIMIT 1;
	END IF;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION vscope._tsdb_uid_exists(text, text) IS 'internal: whether a metric, tag key or tag value exists for the current tenant (a series carries it, or /api/uid/assign named it)';

CREATE OR REPLACE FUNCTION vscope._tsdb_uid_created(types text[], names text[])
	RETURNS TABLE (type text, name text, created bigint)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	tid integer := vscope.current_tenant();
BEGIN
	-- the tenant's rows are read first (MATERIALIZED: on Citus, from its
	-- shard into the coordinator), and the names matched there
	RETURN QUERY
	WITH want AS (SELECT DISTINCT w.type, w.name FROM unnest(types, names) AS w(type, name)),
	ser AS MATERIALIZED (
		SELECT s.metric, s.tags, s.created_at
		  FROM vscope.series s
		 WHERE s.tenant_id = tid
		   AND (s.metric = ANY (names) OR EXISTS (SELECT FROM want WHERE want.type <> 'metric'))),
	um AS MATERIALIZED (
		SELECT u.type, u.name, u.assigned_at FROM vscope.uid_meta u
		 WHERE u.tenant_id = tid AND u.name = ANY (names)),
	seen AS (
		SELECT n.type, n.name, min(s.created_at) AS first
		  FROM ser s
		 CROSS JOIN LATERAL (SELECT 'metric'::text, s.metric
							 UNION ALL SELECT 'tagk', k.key FROM jsonb_each_text(s.tags) k
							 UNION ALL SELECT 'tagv', v.value FROM jsonb_each_text(s.tags) v) AS n(type, name)
		 WHERE (n.type, n.name) IN (SELECT want.type, want.name FROM want)
		 GROUP BY 1, 2)
	SELECT w.type, w.name, coalesce(floor(extract(epoch FROM least(seen.first, u.assigned_at)))::bigint, 0)
	  FROM want w
	  LEFT JOIN seen ON seen.type = w.type AND seen.name = w.name
	  LEFT JOIN um u ON u.type = w.type AND u.name = w.name;
END
$$;
COMMENT ON FUNCTION vscope._tsdb_uid_created(text[], text[]) IS 'internal: when each (type, name) was first seen by the current tenant, in Unix seconds: its oldest series'' creation or its assignment (0: never)';

CREATE OR REPLACE FUNCTION vscope._tsdb_uidmeta_json(type text, name text, created bigint) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	u record;
BEGIN
	-- the stored fields read first, from the tenant's shard on Citus
	SELECT x.description, x.notes, x.custom, x.display_name INTO u
	  FROM vscope.uid_meta x WHERE x.tenant_id = tid AND x.type = $1 AND x.name = $2;
	RETURN '{"uid":' || to_json(vscope.tsdb_uid($2))::text
		   || ',"type":' || to_json(upper($1))::text
		   || ',"name":' || to_json($2)::text
		   || ',"description":' || to_json(coalesce(u.description, ''))::text
		   || ',"notes":' || to_json(coalesce(u.notes, ''))::text
		   || ',"created":' || coalesce($3, 0)
		   || ',"custom":' || vscope._tsdb_custom_json(u.custom)
		   || ',"displayName":' || to_json(coalesce(u.display_name, ''))::text || '}';
END
$$;
COMMENT ON FUNCTION vscope._tsdb_uidmeta_json(text, text, bigint) IS 'internal: the UIDMeta of a name as OpenTSDB answers it (its stored fields, or the defaults)';

CREATE OR REPLACE FUNCTION vscope._tsdb_tsmeta_json(sids integer[]) RETURNS TABLE (series_id integer, meta text)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	tid integer := vscope.current_tenant();
BEGIN
	-- the series with their meta data and latest point are read first
	-- (MATERIALIZED: on Citus, one query to the tenant's shard), and the
	-- functions that read more run over those rows, on the coordinator
	RETURN QUERY
	WITH s AS MATERIALIZED (
			SELECT x.series_id, x.metric, x.tags, x.created_at,
				   m.description, m.notes, m.custom, m.units, m.retention, m.max, m.min,
				   m.display_name, m.data_type, l.ts AS last_ts
			  FROM vscope.series x
			  LEFT JOIN vscope.series_meta m ON m.tenant_id = tid AND m.series_id = x.series_id
			  LEFT JOIN vscope.series_last l ON l.tenant_id = tid AND l.series_id = x.series_id
			 WHERE x.tenant_id = tid AND x.series_id = ANY (sids)),
	names AS (SELECT 'metric' AS type, s.metric AS name FROM s
			  UNION SELECT 'tagk', e.key FROM s, jsonb_each_text(s.tags) e
			  UNION SELECT 'tagv', e.value FROM s, jsonb_each_text(s.tags) e),
	created AS (SELECT * FROM vscope._tsdb_uid_created((SELECT array_agg(type) FROM names),
													   (SELECT array_agg(name) FROM names)))
	SELECT s.series_id,
		   '{"tsuid":' || to_json(upper(lpad(to_hex(s.series_id), 8, '0')))::text
		   || ',"metric":' || vscope._tsdb_uidmeta_json('metric', s.metric,
								(SELECT c.created FROM created c WHERE c.type = 'metric' AND c.name = s.metric))
		   || ',"tags":[' || coalesce((SELECT string_agg(vscope._tsdb_uidmeta_json('tagk', e.key, ck.created) || ','
														 || vscope._tsdb_uidmeta_json('tagv', e.value, cv.created),
														 ',' ORDER BY e.key COLLATE "C")
										 FROM jsonb_each_text(s.tags) e
										 LEFT JOIN created ck ON ck.type = 'tagk' AND ck.name = e.key
										 LEFT JOIN created cv ON cv.type = 'tagv' AND cv.name = e.value), '') || ']'
		   || ',"description":' || to_json(coalesce(m.description, ''))::text
		   || ',"notes":' || to_json(coalesce(m.notes, ''))::text
		   || ',"created":' || floor(extract(epoch FROM s.created_at))::bigint
		   || CASE WHEN m.custom IS NULL THEN '' ELSE ',"custom":' || vscope._tsdb_custom_json(m.custom) END
		   || ',"units":' || to_json(coalesce(m.units, ''))::text
		   || ',"retention":' || coalesce(m.retention, 0)
		   || ',"max":' || CASE WHEN m.max IS NULL OR m.max = 'NaN' THEN '"NaN"'
							   WHEN m.max IN ('Infinity', '-Infinity') THEN to_json(vscope._java_double(m.max))::text
							   ELSE vscope._java_double(m.max) END
		   || ',"min":' || CASE WHEN m.min IS NULL OR m.min = 'NaN' THEN '"NaN"'
							   WHEN m.min IN ('Infinity', '-Infinity') THEN to_json(vscope._java_double(m.min))::text
							   ELSE vscope._java_double(m.min) END
		   || ',"displayName":' || to_json(coalesce(m.display_name, ''))::text
		   || ',"dataType":' || to_json(coalesce(m.data_type, ''))::text
		   || ',"lastReceived":' || coalesce(floor(extract(epoch FROM m.last_ts))::bigint, 0)
		   || ',"totalDatapoints":' || (SELECT count(*) FROM vscope.read_points(ARRAY[s.series_id], '-infinity', 'infinity'))
		   || '}'
	  FROM s, LATERAL (SELECT s.description, s.notes, s.custom, s.units, s.retention, s.max, s.min,
							  s.display_name, s.data_type, s.last_ts) AS m;
END
$$;
COMMENT ON FUNCTION vscope._tsdb_tsmeta_json(integer[]) IS 'internal: the TSMeta of each of these series of the current tenant as OpenTSDB answers it (the stored user fields or their defaults; created, lastReceived and totalDatapoints from the store)';

CREATE OR REPLACE FUNCTION vscope.tsdb_tsmeta(method text, body text DEFAULT NULL, args jsonb DEFAULT '{}',
								   OUT status integer, OUT answer json)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	req jsonb := vscope._tsdb_body(body);
	sid integer;
	p record;
	missing text;
	f jsonb;
	key_ text;
	lim integer;
	v text;
	ret integer;
	mx double precision;
	mn double precision;
	chg boolean;
BEGIN
	IF method NOT IN ('GET', 'POST', 'PUT', 'DELETE') THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405',
			DETAIL = format('The HTTP method [%s] is not permitted for this endpoint', method);
	END IF;
	IF req IS NOT NULL AND jsonb_typeof(req) <> 'object' THEN
		RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400';
	END IF;
	IF method = 'GET' THEN
		IF args ? 'tsuid' THEN
			sid := vscope._tsdb_tsuid_id(vscope._tsdb_arg(args, 'tsuid'));
			PERFORM FROM vscope.series s WHERE s.tenant_id = tid AND s.series_id = sid;
			IF sid IS NULL OR NOT FOUND THEN
				RAISE EXCEPTION 'Could not find Timeseries meta data' USING ERRCODE = 'VS404';
			END IF;
			status := 200;
			answer := (SELECT j.meta FROM vscope._tsdb_tsmeta_json(ARRAY[sid]) j)::json;
			RETURN;
		END IF;
		SELECT * INTO p FROM vscope._tsdb_parse_series(vscope._tsdb_required_arg(args, 'm'));
		missing := vscope._tsdb_missing_name(p.metric, p.tags);
		IF missing IS NOT NULL THEN
			RAISE EXCEPTION 'Unable to find one of the UIDs' USING ERRCODE = 'VS404', DETAIL = missing;
		END IF;
		status := 200;
		answer := ('[' || coalesce((SELECT string_agg(j.meta, ',' ORDER BY j.series_id)
									  FROM vscope._tsdb_tsmeta_json(ARRAY(
										   SELECT s.series_id FROM vscope.series s
											WHERE s.tenant_id = tid AND s.metric = p.metric AND s.tags @> p.tags)) j), '')
				   || ']')::json;
		RETURN;
	END IF;

	-- the fields: the body's, or the query string's (OpenTSDB's names)
	IF req IS NOT NULL THEN
		f := req;
		IF f ? 'custom' THEN
			f := jsonb_set(f, '{custom}', coalesce(vscope._tsdb_custom(f->'custom'), 'null'));
		END IF;
		BEGIN
			ret := trunc((f->>'retention')::numeric)::integer;
			mx := (f->>'max')::double precision;
			mn := (f->>'min')::double precision;
		EXCEPTION WHEN data_exception THEN
			RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400',
				DETAIL = 'retention is a whole number, max and min are numbers.';
		END;
	ELSE
		f := jsonb_strip_nulls(jsonb_build_object(
			'tsuid', vscope._tsdb_arg(args, 'tsuid'),
			'displayName', vscope._tsdb_arg(args, 'display_name'),
			'description', vscope._tsdb_arg(args, 'description'),
			'notes', vscope._tsdb_arg(args, 'notes'),
			'units', vscope._tsdb_arg(args, 'units'),
			'dataType', vscope._tsdb_arg(args, 'data_type')));
		FOREACH v IN ARRAY ARRAY['retention', 'max', 'min'] LOOP
			CONTINUE WHEN coalesce(vscope._tsdb_arg(args, v), '') = '';
			BEGIN
				IF v = 'retention' THEN
					ret := vscope._tsdb_arg(args, v)::integer;
				ELSIF v = 'max' THEN
					mx := vscope._tsdb_arg(args, v)::real;
				ELSE
					mn := vscope._tsdb_arg(args, v)::real;
				END IF;
			EXCEPTION WHEN data_exception THEN
				RAISE EXCEPTION 'Unable to parse ''%'' value', v USING ERRCODE = 'VS400';
			END;
		END LOOP;
	END IF;

	IF method = 'DELETE' THEN
		IF coalesce(f->>'tsuid', '') = '' THEN
			RAISE EXCEPTION 'Unable to delete TSMeta information' USING ERRCODE = 'VS400', DETAIL = 'Missing UID';
		END IF;
		DELETE FROM vscope.series_meta x WHERE x.tenant_id = tid AND x.series_id = vscope._tsdb_tsuid_id(f->>'tsuid');
		status := 204;
		RETURN;
	END IF;

	-- a field counts as set when it differs from its default, as OpenTSDB's
	-- setters count it; a write that sets none changes nothing (its 304)
	chg := coalesce(f->>'displayName', '') <> '' OR coalesce(f->>'description', '') <> ''
		   OR coalesce(f->>'notes', '') <> '' OR coalesce(f->>'units', '') <> ''
		   OR coalesce(f->>'dataType', '') <> '' OR coalesce(ret, 0) <> 0
		   OR mx IS NOT NULL OR mn IS NOT NULL OR coalesce(jsonb_typeof(f->'custom') = 'object', false);
	-- POST or PUT: by tsuid, or by m= (create=true makes the series)
	IF coalesce(f->>'tsuid', '') = '' THEN
		SELECT * INTO p FROM vscope._tsdb_parse_series(vscope._tsdb_required_arg(args, 'm'));
		missing := vscope._tsdb_missing_name(p.metric, p.tags);
		IF missing IS NOT NULL THEN
			RAISE EXCEPTION 'Unable to find one or more UIDs' USING ERRCODE = 'VS404', DETAIL = missing;
		END IF;
		-- the series' canonical key, as store/series.c writes it (its
		-- delimiters and % percent-encoded inside the names)
		key_ := vscope._tsdb_key_part(p.metric) || '{'
				|| coalesce((SELECT string_agg(vscope._tsdb_key_part(e.key) || '=' || vscope._tsdb_key_part(e.value),
											   ',' ORDER BY e.key COLLATE "C")
							   FROM jsonb_each_text(p.tags) e), '') || '}';
		SELECT s.series_id INTO sid FROM vscope.series s WHERE s.tenant_id = tid AND s.skey = key_;
		IF sid IS NULL THEN
			IF vscope._tsdb_arg(args, 'create') IS DISTINCT FROM 'true' THEN
				RAISE EXCEPTION 'Could not find TSMeta, specify "create=true" to create a new one.' USING ERRCODE = 'VS400';
			END IF;
			lim := current_setting('vscope.max_tags')::integer;
			IF (SELECT count(*) FROM jsonb_object_keys(p.tags)) > lim THEN
				RAISE EXCEPTION 'Too many tags: % maximum allowed: %', (SELECT count(*) FROM jsonb_object_keys(p.tags)), lim
					USING ERRCODE = 'VS400';
			END IF;
			-- a new series, numbered and counted as a write would make it
			SELECT c.series_id INTO sid FROM vscope._create_series(ARRAY[key_], ARRAY[p.metric], ARRAY[p.tags::text]) c;
		ELSIF NOT chg THEN
			status := 304;
			RETURN;
		END IF;
	ELSE
		sid := vscope._tsdb_tsuid_id(f->>'tsuid');
		IF NOT chg THEN
			status := 304;
			RETURN;
		END IF;
		PERFORM FROM vscope.series s WHERE s.tenant_id = tid AND s.series_id = sid;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'Requested TSMeta did not exist' USING ERRCODE = 'VS400';
		END IF;
	END IF;
	INSERT INTO vscope.series_meta AS x (tenant_id, series_id, display_name, description, notes, custom,
										 units, data_type, retention, max, min)
	VALUES (tid, sid, coalesce(f->>'displayName', ''), coalesce(f->>'description', ''),
			coalesce(f->>'notes', ''), nullif(f->'custom', 'null'), coalesce(f->>'units', ''),
			coalesce(f->>'dataType', ''), coalesce(ret, 0), coalesce(mx, 'NaN'), coalesce(mn, 'NaN'))
	ON CONFLICT (tenant_id, series_id) DO UPDATE SET
		display_name = CASE WHEN method = 'PUT' OR coalesce(f->>'displayName', '') <> '' THEN excluded.display_name ELSE x.display_name END,
		description = CASE WHEN method = 'PUT' OR coalesce(f->>'description', '') <> '' THEN excluded.description ELSE x.description END,
		notes = CASE WHEN method = 'PUT' OR coalesce(f->>'notes', '') <> '' THEN excluded.notes ELSE x.notes END,
		custom = CASE WHEN method = 'PUT' OR jsonb_typeof(f->'custom') = 'object' THEN excluded.custom ELSE x.custom END,
		units = CASE WHEN method = 'PUT' OR coalesce(f->>'units', '') <> '' THEN excluded.units ELSE x.units END,
		data_type = CASE WHEN method = 'PUT' OR coalesce(f->>'dataType', '') <> '' THEN excluded.data_type ELSE x.data_type END,
		retention = CASE WHEN method = 'PUT' OR coalesce(ret, 0) <> 0 THEN excluded.retention ELSE x.retention END,
		max = CASE WHEN method = 'PUT' OR mx IS NOT NULL THEN excluded.max ELSE x.max END,
		min = CASE WHEN method = 'PUT' OR mn IS NOT NULL THEN excluded.min ELSE x.min END;
	status := 200;
	answer := (SELECT j.meta FROM vscope._tsdb_tsmeta_json(ARRAY[sid]) j)::json;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_tsmeta(text, text, jsonb) IS 'OpenTSDB /api/uid/tsmeta for the current tenant: GET {"tsuid"} or {"m": "metric{k=v}"}, POST/PUT a body {"tsuid","displayName","description","notes","custom","units","dataType","retention","max","min"} or the same as arguments (by m= with create=true for a new series), DELETE; answers (status, TSMeta or a list of them)';

CREATE OR REPLACE FUNCTION vscope.coopr_create_apikey(tenant text, user_id text) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	tid integer;
	key text;
	-- the time a value: Citus takes no now() in ON CONFLICT DO UPDATE
	made timestamptz := now();
BEGIN
	IF coalesce(user_id, '') = '' OR coalesce(tenant, '') = '' THEN
		RAISE EXCEPTION 'tenant and user are required' USING ERRCODE = 'VS400';
	END IF;
	IF pg_has_role(current_user, 'vscope_superadmin', 'MEMBER') OR
	   (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		tid := vscope.create_tenant(tenant);
	ELSE
		tid := vscope.tenant_id(tenant);
		IF tid IS NULL OR tid IS DISTINCT FROM vscope.current_tenant() THEN
			RAISE EXCEPTION 'an admin issues API keys of its own tenant only' USING ERRCODE = 'VS403';
		END IF;
	END IF;
	key := vscope._random_token();
	INSERT INTO vscope.coopr_users AS u (tenant_id, user_id, apikey_hash)
	VALUES (tid, coopr_create_apikey.user_id, sha256(convert_to(key, 'UTF8')))
	ON CONFLICT (tenant_id, user_id) DO UPDATE SET apikey_hash = excluded.apikey_hash, created_at = made;
	RETURN json_build_object('tenant', tenant, 'user', user_id, 'apikey', key);
END
$$;
COMMENT ON FUNCTION vscope.coopr_create_apikey(text, text) IS 'Coopr: issues (or replaces) the API key of a tenant user; only its hash is kept';

CREATE OR REPLACE FUNCTION vscope.coopr_queue_metrics() RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	-- read once, compared as values: on Citus an admin's query goes to its
	-- tenant's shard
	super boolean := pg_has_role(current_user, 'vscope_superadmin', 'MEMBER');
	home integer := vscope.current_tenant();
	out json;
BEGIN
	IF NOT pg_has_role(current_user, 'vscope_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'Forbidden to get queue metrics.' USING ERRCODE = 'VS403';
	END IF;
	-- a superadmin sees every tenant (row-level security lets it); an admin its own
	SELECT coalesce(json_object_agg(t.name, json_build_object(
			   'queued', coalesce(q.queued, 0), 'inProgress', coalesce(q.in_progress, 0),
			   'total', coalesce(q.queued, 0) + coalesce(q.in_progress, 0)) ORDER BY t.name), '{}')
	  INTO out
	  FROM vscope.tenants t
	  LEFT JOIN (SELECT c.tenant_id, count(*) FILTER (WHERE NOT c.in_progress) AS queued,
						count(*) FILTER (WHERE c.in_progress) AS in_progress
				   FROM vscope.coopr_queue c WHERE super OR c.tenant_id = home GROUP BY c.tenant_id) q USING (tenant_id)
	 WHERE super OR t.tenant_id = home;
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope.coopr_queue_metrics() IS 'Coopr: queued, inProgress and total of each visible tenant''s task queue (admins: their tenant; superadmins: all); never stale';

CREATE OR REPLACE FUNCTION vscope._coopr_lives(tid integer, uid text, now_ms bigint)
	RETURNS TABLE (birth bigint, death bigint)
	LANGUAGE plpgsql STABLE
	AS $$
BEGIN
	-- plain subqueries (no CTE read twice): the planner sees the table's
	-- statistics and hash-joins creates to first deletes
	RETURN QUERY
	SELECT (pg_catalog.date_part('epoch', c.completed_at) * 1000)::bigint,
		   coalesce((pg_catalog.date_part('epoch', d.death) * 1000)::bigint, now_ms)
	  FROM vscope.coopr_tasks c
	  LEFT JOIN (SELECT k.tenant_id, k.cluster, k.node, min(k.completed_at) AS death
				   FROM vscope.coopr_tasks k
				  WHERE k.status = 'COMPLETE' AND k.action = 'DELETE'
					AND (tid IS NULL OR k.tenant_id = tid) AND (uid IS NULL OR k.user_id = uid)
				  GROUP BY k.tenant_id, k.cluster, k.node) d
		ON d.tenant_id = c.tenant_id AND d.cluster = c.cluster AND d.node = c.node
	 WHERE c.status = 'COMPLETE' AND c.action = 'CREATE'
	   AND (tid IS NULL OR c.tenant_id = tid) AND (uid IS NULL OR c.user_id = uid);
END
$$;
COMMENT ON FUNCTION vscope._coopr_lives(integer, text, bigint) IS 'internal: the lives of the nodes that count for node-seconds';

CREATE OR REPLACE FUNCTION vscope._ceilo_span_widen(series integer[], stamps timestamptz[]) RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	-- the tenant a constant (on Citus: the rows go to its shard)
	tid integer := vscope.current_tenant();
BEGIN
	INSERT INTO vscope.sample_span AS k (tenant_id, series_id, first_ts, last_ts)
	SELECT tid, u.sid, min(u.ts), max(u.ts)
	  FROM unnest(series, stamps) u(sid, ts) GROUP BY u.sid ORDER BY u.sid
	ON CONFLICT (tenant_id, series_id) DO UPDATE
	   SET first_ts = least(k.first_ts, excluded.first_ts), last_ts = greatest(k.last_ts, excluded.last_ts)
	 WHERE excluded.first_ts < k.first_ts OR excluded.last_ts > k.last_ts;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_span_widen(integer[], timestamptz[]) IS 'internal: widens the vscope.sample_span rows of these series of the current tenant to take in these sample times (made when missing)';

CREATE OR REPLACE FUNCTION vscope._ceilo_find_samples(ids text[],
	OUT tenant_id integer, OUT series_id integer, OUT ts timestamptz, OUT seq integer)
	RETURNS SETOF record LANGUAGE plpgsql STABLE ROWS 1
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	-- the tenant a constant; the publisher's ids read first (MATERIALIZED:
	-- on Citus, from its shard), the union made from those rows
	tid integer := vscope.current_tenant();
BEGIN
	RETURN QUERY
	WITH p AS MATERIALIZED (
		SELECT i.tenant_id, i.series_id, i.ts, i.seq FROM vscope.sample_ids i
		 WHERE i.tenant_id = tid AND i.message_id = ANY (ids))
	SELECT p.tenant_id, p.series_id, p.ts, p.seq FROM p
	UNION
	SELECT tid, m.series_id, m.ts, m.seq
	  FROM unnest(ids) u(id), vscope._ceilo_parse_message_id(u.id) m;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_find_samples(text[]) IS 'internal: where the samples of the current tenant named by these message ids are stored (tenant, series, time, seq): by the publisher''s id, or by the id made from that place';

CREATE OR REPLACE FUNCTION vscope._ceilo_blocks_between(lo timestamptz, hi timestamptz) RETURNS boolean
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	-- PL/pgSQL and PERFORM: Citus plans neither a SQL function's query with
	-- parameters nor EXISTS over a distributed table
	PERFORM FROM vscope.sample_blocks b
	 WHERE (b.first_ts AT TIME ZONE 'UTC')::date
		   BETWEEN (lo AT TIME ZONE 'UTC')::date AND (hi AT TIME ZONE 'UTC')::date
	 LIMIT 1;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_blocks_between(timestamptz, timestamptz) IS 'internal: whether vscope.sample_blocks has a block (that the caller sees) of a UTC day from lo''s to hi''s';

CREATE OR REPLACE FUNCTION vscope._ceilo_query(args jsonb, kind text,
	OUT series_where text, OUT sample_where text,
	OUT q_start timestamptz, OUT q_end timestamptz,
	OUT w_start timestamptz, OUT w_end timestamptz,
	OUT x_lo timestamptz, OUT x_hi timestamptz, OUT x_seq integer)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	tid integer := vscope.current_tenant();
	n integer := coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(args -> 'q.field') = 'array'
												   THEN args -> 'q.field' END), 0);
	f text;
	op text;
	v text;
	typ text;
	col text;
	tv record;
	conds text[] := '{}';
	xconds text[] := '{}';
	has_project boolean := false;
	start_strict boolean := false;
	end_strict boolean := false;
	offset_min numeric;
	valid text[] := CASE kind
		WHEN 'samples' THEN ARRAY['message_id', 'meter', 'project', 'resource', 'search_offset',
								  'source', 'timestamp', 'user']
		WHEN 'resources' THEN ARRAY['project', 'resource', 'search_offset', 'source', 'timestamp', 'user']
		ELSE ARRAY['project', 'resource', 'source', 'unique', 'user'] END;
	mid record;
BEGIN
	IF n > 100 THEN
		PERFORM vscope._ceilo_fail('400', format('A query may have at most 100 clauses, not %s', n));
	END IF;
	-- project segregation first
	IF NOT me.admin THEN
		IF me.project IS NULL THEN
			PERFORM vscope._ceilo_fail('401', 'Not Authorized to access project None');
		END IF;
		FOR i IN 0 .. n - 1 LOOP
			IF vscope._ceilo_arg(args, 'q.field', i) IN ('project', 'project_id') THEN
				has_project := true;
				IF vscope._ceilo_arg(args, 'q.value', i) <> me.project THEN
					PERFORM vscope._ceilo_fail('401', format('Not Authorized to access project %s',
															 vscope._ceilo_arg(args, 'q.value', i)));
				END IF;
			END IF;
		END LOOP;
		IF NOT has_project THEN
			conds := conds || format('s.project_id = %L', me.project);
		END IF;
	END IF;
	-- then timestamps
	FOR i IN 0 .. n - 1 LOOP
		f := vscope._ceilo_arg(args, 'q.field', i);
		IF f NOT IN ('timestamp', 'search_offset') THEN
			CONTINUE;
		END IF;
		IF kind = 'meters' THEN
			PERFORM vscope._ceilo_fail('400', format('Unknown argument: "%s": not valid for this resource', f));
		END IF;
		IF f = 'search_offset' THEN
			CONTINUE;
		END IF;
		op := coalesce(nullif(vscope._ceilo_arg(args, 'q.op', i), ''), 'eq');
		v := vscope._ceilo_arg(args, 'q.value', i);
		IF op NOT IN ('lt', 'le', 'gt', 'ge') THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. unimplemented operator for timestamp', op));
		END IF;
		IF vscope._ceilo_parse_ts(v) IS NULL THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute timestamp. Value: ''%s''. invalid timestamp format', v));
		END IF;
		IF op IN ('gt', 'ge') THEN
			q_start := vscope._ceilo_parse_ts(v);
			start_strict := op = 'gt';
		ELSE
			q_end := vscope._ceilo_parse_ts(v);
			end_strict := op = 'lt';
		END IF;
	END LOOP;
	-- then search_offset
	FOR i IN 0 .. n - 1 LOOP
		IF vscope._ceilo_arg(args, 'q.field', i) = 'search_offset' THEN
			IF q_start IS NULL AND q_end IS NULL THEN
				PERFORM vscope._ceilo_fail('400', 'Invalid input for field/attribute field. Value: ''search_offset''. search_offset cannot be used without timestamp');
			END IF;
			v := vscope._ceilo_arg(args, 'q.value', i);
			IF v !~ '^\s*[-+]?\d{1,9}\s*$' THEN
				PERFORM vscope._ceilo_fail('400', format('Unable to convert the value %s to the expected data type integer.', v));
			END IF;
			offset_min := v::numeric;
		END IF;
	END LOOP;
	w_start := q_start - make_interval(mins => coalesce(offset_min, 0)::integer);
	w_end := q_end + make_interval(mins => coalesce(offset_min, 0)::integer);
	IF w_start IS NOT NULL THEN
		xconds := xconds || format('x.ts %s %L::timestamptz', CASE WHEN start_strict THEN '>' ELSE '>=' END, w_start);
		x_lo := w_start + CASE WHEN start_strict THEN interval '1 microsecond' ELSE interval '0' END;
	END IF;
	IF w_end IS NOT NULL THEN
		xconds := xconds || format('x.ts %s %L::timestamptz', CASE WHEN end_strict THEN '<' ELSE '<=' END, w_end);
		x_hi := w_end - CASE WHEN end_strict THEN interval '1 microsecond' ELSE interval '0' END;
	END IF;
	-- then every other clause: a known field, and eq only
	FOR i IN 0 .. n - 1 LOOP
		f := vscope._ceilo_arg(args, 'q.field', i);
		IF f IN ('timestamp', 'search_offset') THEN
			CONTINUE;
		END IF;
		op := coalesce(nullif(vscope._ceilo_arg(args, 'q.op', i), ''), 'eq');
		v := vscope._ceilo_arg(args, 'q.value', i);
		typ := vscope._ceilo_arg(args, 'q.type', i);
		col := CASE WHEN f ~ '^(resource_)?metadata\..' THEN 'metadata'
					WHEN f IN ('user', 'user_id') THEN 'user_id'
					WHEN f IN ('project', 'project_id') THEN 'project_id'
					WHEN f IN ('resource', 'resource_id') THEN 'resource_id'
					WHEN f = 'meter' THEN 'counter_name'
					ELSE f END;
		IF col <> 'metadata' AND NOT (f = ANY (valid) OR col IN ('user_id', 'project_id', 'resource_id')) THEN
			PERFORM vscope._ceilo_fail('400', format('Unknown argument: "%s": unrecognized field in query: [<Query %s %s %s>], valid keys: %s',
				f, quote_literal(f), op, quote_literal(v),
				'[' || (SELECT string_agg(quote_literal(k), ', ' ORDER BY k) FROM unnest(valid) k) || ']'));
		END IF;
		IF op <> 'eq' THEN
			IF op NOT IN ('lt', 'le', 'ne', 'ge', 'gt') THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. Value should be one of: gt, lt, ge, ne, eq, le', op));
			END IF;
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. unimplemented operator for %s', op, f));
		END IF;
		IF typ NOT IN ('', 'integer', 'float', 'string', 'boolean', 'datetime') THEN
			PERFORM vscope._ceilo_fail('400', format('The data type %s is not supported. The supported data type list is: [''integer'', ''float'', ''string'', ''boolean'', ''datetime'']', typ));
		END IF;
		IF col = 'metadata' THEN
			tv := vscope._ceilo_typed(v, typ);
			conds := conds || format(
				CASE tv.kind WHEN 'number' THEN 'vscope._ceilo_num(s.resource_metadata #>> %L::text[]) = %s'
							 WHEN 'boolean' THEN 'vscope._ceilo_bool(s.resource_metadata #>> %L::text[]) = %s'
							 ELSE '(s.resource_metadata #>> %L::text[]) = %s' END,
				string_to_array(substr(f, strpos(f, '.') + 1), '.')::text, tv.sqlval);
		ELSIF col = 'unique' THEN
			NULL;				-- a flag of /v2/meters, not a filter
		ELSIF col = 'message_id' THEN
			SELECT i.series_id, i.ts, i.seq INTO mid FROM vscope.sample_ids i
			 WHERE i.tenant_id = tid AND i.message_id = v;
			IF mid.series_id IS NULL THEN
				SELECT * INTO mid FROM vscope._ceilo_parse_message_id(v);
			END IF;
			IF mid IS NULL THEN
				conds := conds || 'false'::text;
			ELSE
				conds := conds || format('s.series_id = %s', mid.series_id);
				xconds := xconds || format('x.ts = %L::timestamptz AND x.seq = %s', mid.ts, mid.seq);
				x_lo := greatest(x_lo, mid.ts);
				x_hi := least(x_hi, mid.ts);
				IF x_seq IS DISTINCT FROM mid.seq AND x_seq IS NOT NULL THEN
					x_lo := 'infinity';		-- two message ids: nothing is both
				END IF;
				x_seq := mid.seq;
			END IF;
		ELSIF v = 'None' AND col IN ('user_id', 'project_id') THEN
			conds := conds || format('s.%I IS NULL', col);
		ELSE
			conds := conds || format('s.%I = %L', col, v);
		END IF;
	END LOOP;
	series_where := coalesce(nullif(array_to_string(conds, ' AND '), ''), 'true');
	sample_where := coalesce(nullif(array_to_string(xconds, ' AND '), ''), 'true');
END
$$;
COMMENT ON FUNCTION vscope._ceilo_query(jsonb, text) IS 'internal: a Ceilometer simple query (q.field, q.op, q.value, q.type) for an endpoint kind as conditions on sample_series s and samples x, with its time bounds, and the samples'' conditions as values (inclusive time bounds, seq); a non-admin is confined to its project';

CREATE OR REPLACE FUNCTION vscope.ceilometer_get_sample(id text) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	tid integer := vscope.current_tenant();
	m record;
	ss vscope.sample_series;
	x vscope.samples;
	r json;
BEGIN
	-- a publisher's id, else one made from where the sample is stored
	SELECT i.series_id, i.ts, i.seq INTO m FROM vscope.sample_ids i
	 WHERE i.tenant_id = tid AND i.message_id = id;
	IF m.series_id IS NULL THEN
		SELECT * INTO m FROM vscope._ceilo_parse_message_id(id);
	END IF;
	-- the time as a value known when planning: only its day's partition
	-- is planned and locked, and its block (if compressed) decoded
	-- The sample and its series are read first, each in a query of its own
	-- (on Citus: to the tenant's shard), and the JSON made from those rows:
	-- no row of a distributed table is passed whole to a function in a query
	IF m.series_id IS NOT NULL THEN
		EXECUTE 'SELECT x.* FROM vscope._ceilo_read_samples(ARRAY[$1], $2, $2) x
				  WHERE x.tenant_id = $4 AND x.series_id = $1 AND x.ts = $2 AND x.seq = $3'
			INTO x USING m.series_id, m.ts, m.seq, tid;
		IF x.series_id IS NOT NULL THEN
			SELECT s.* INTO ss FROM vscope.sample_series s
			 WHERE s.tenant_id = tid AND s.series_id = m.series_id
			   AND (me.admin OR s.project_id IS NOT DISTINCT FROM me.project);
			IF ss.series_id IS NOT NULL THEN
				r := vscope._ceilo_sample_json(ss, x, false);
			END IF;
		END IF;
	END IF;
	IF r IS NULL THEN
		PERFORM vscope._ceilo_fail('404', format('Sample %s Not Found', id));
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_get_sample(text) IS 'Ceilometer GET /v2/samples/{id}: id is the publisher''s id of the sample or the one made from where it is stored';

CREATE OR REPLACE FUNCTION vscope.ceilometer_list_resources(args jsonb DEFAULT '{}', base_url text DEFAULT '',
												 resource text DEFAULT NULL)
	RETURNS json LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'resources');
	lim integer := vscope._ceilo_limit(vscope._ceilo_arg(args, 'limit'));
	links boolean := coalesce(nullif(vscope._ceilo_arg(args, 'meter_links'), ''), '1')
					 NOT IN ('0', 'false', 'False', 'f', 'no', 'off');
	-- the tenant a parameter ($8): on Citus the query goes to its shard
	tid integer := vscope.current_tenant();
	r json;
BEGIN
	EXECUTE format($q$
		WITH per_series AS (%s), per_resource AS (
			SELECT resource_id, min(first_ts) AS first_ts, max(last_ts) AS last_ts,
				   (array_agg(series_id ORDER BY last_ts DESC, series_id DESC))[1] AS latest,
				   array_agg(DISTINCT counter_name ORDER BY counter_name) AS meters
			  FROM per_series GROUP BY resource_id
			 ORDER BY resource_id LIMIT %s
		)
		SELECT coalesce(json_agg(json_build_object(
				'resource_id', p.resource_id, 'project_id', s.project_id, 'user_id', s.user_id,
				'source', s.source, 'first_sample_timestamp', vscope._ceilo_ts(p.first_ts),
				'last_sample_timestamp', vscope._ceilo_ts(p.last_ts),
				'metadata', vscope._ceilo_flatten(s.resource_metadata),
				-- self, then each meter (one unnest: Citus plans no UNION
				-- without FROM)
				'links', (SELECT json_agg(CASE WHEN u.k = 1
						THEN json_build_object('rel', 'self', 'href', $2 || '/v2/resources/' || p.resource_id)
						ELSE json_build_object('rel', u.m, 'href', $2 || '/v2/meters/' || u.m
							|| '?q.field=resource_id&q.value=' || p.resource_id) END ORDER BY u.k)
					FROM unnest(ARRAY[NULL]::text[] || CASE WHEN $3 THEN p.meters ELSE '{}' END)
						 WITH ORDINALITY u(m, k)))
				ORDER BY p.resource_id), '[]')
		  FROM per_resource p JOIN vscope.sample_series s ON s.series_id = p.latest
		 WHERE s.tenant_id = $8
		$q$,
		CASE WHEN q.sample_where = 'true' THEN
			-- no time filter: each series' whole span, as kept
			format($s$
			SELECT s.*, k.first_ts, k.last_ts
			  FROM vscope.sample_series s
			  JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
			 WHERE %s AND ($1 IS NULL OR s.resource_id = $1)$s$, q.series_where)
		ELSE
			-- first and last within the time filter, from the samples of the
			-- days it names (the samples reader: index probes of the rows,
			-- the bounds of the blocks inside it), for the series whose
			-- span meets it
			format($s$
			SELECT s.*, b.first_ts, b.last_ts
			  FROM vscope.sample_series s
			  JOIN vscope._ceilo_sample_bounds(ARRAY(
					SELECT s.series_id FROM vscope.sample_series s
					  JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
					 WHERE %1$s AND ($1 IS NULL OR s.resource_id = $1)
					   AND k.last_ts >= $4 AND k.first_ts <= $5), $6, $7) b ON b.series_id = s.series_id
			 WHERE %1$s AND ($1 IS NULL OR s.resource_id = $1)
			   AND s.tenant_id = $8$s$,
				q.series_where)
		END, lim)
		INTO r USING resource, rtrim(coalesce(base_url, ''), '/'), links,
					 coalesce(q.w_start, '-infinity'), coalesce(q.w_end, 'infinity'),
					 coalesce(q.x_lo, '-infinity'), coalesce(q.x_hi, 'infinity'), tid;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_list_resources(jsonb, text, text) IS 'Ceilometer GET /v2/resources (and one resource): first/last sample times within the query, attributes from the latest sample, links to self and to each meter';

CREATE OR REPLACE FUNCTION vscope.ceilometer_query_samples(body text) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	b jsonb;
	filter text;
	orderby text;
	lim integer;
	r json;
BEGIN
	b := vscope._ceilo_json(coalesce(nullif(btrim(body), ''), '{}'));
	IF jsonb_typeof(b) <> 'object' THEN
		PERFORM vscope._ceilo_fail('400', 'Invalid input: the body is not a JSON object');
	END IF;
	IF EXISTS (SELECT FROM jsonb_object_keys(b) k WHERE k NOT IN ('filter', 'orderby', 'limit')) THEN
		PERFORM vscope._ceilo_fail('400', format('Unknown attribute for argument query: %s',
			(SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(b) k WHERE k NOT IN ('filter', 'orderby', 'limit'))));
	END IF;
	FOREACH filter IN ARRAY ARRAY['filter', 'orderby'] LOOP
		IF b ? filter AND jsonb_typeof(b -> filter) NOT IN ('string', 'null') THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute %s. Value: ''%s''. Wrong type. Expected ''unicode'', got ''%s''',
				filter, b -> filter, jsonb_typeof(b -> filter)));
		END IF;
	END LOOP;
	lim := vscope._ceilo_limit(CASE WHEN jsonb_typeof(b -> 'limit') = 'null' THEN NULL ELSE b ->> 'limit' END);
	IF b ->> 'filter' = '' THEN
		PERFORM vscope._ceilo_fail('400', 'Filter expression not valid: the filter is empty');
	END IF;
	filter := vscope.ceilometer_filter_sql(b ->> 'filter');
	orderby := vscope.ceilometer_orderby_sql(b ->> 'orderby');
	IF NOT me.admin THEN
		-- every project_id leaf must be the caller's own project
		PERFORM vscope._ceilo_check_projects(b ->> 'filter', me.project);
		filter := format('s.project_id = %L AND %s', me.project, filter);
	END IF;
	-- pick the rows, then build the JSON of those only.  Both are read
	-- first (MATERIALIZED: on Citus, into the coordinator), so that no row
	-- of a distributed table is passed whole to a function on a shard
	EXECUTE format(
		'WITH p AS MATERIALIZED (
			SELECT s.tenant_id, s.series_id, row_number() OVER () AS n,
				   ROW(s.tenant_id, s.series_id, s."timestamp", s.seq, s.counter_volume,
					   s.recorded_at)::vscope.samples AS x
			  FROM (SELECT * FROM vscope.ceilometer_samples s
					 WHERE %s ORDER BY %s, s.series_id, s.seq LIMIT %s) s),
		 ser AS MATERIALIZED (
			SELECT ss.* FROM vscope.sample_series ss
			 WHERE (ss.tenant_id, ss.series_id) IN (SELECT p.tenant_id, p.series_id FROM p))
		 SELECT coalesce(json_agg(vscope._ceilo_sample_json(ss::vscope.sample_series, p.x, false) ORDER BY n), ''[]'')
		   FROM p JOIN ser ss ON ss.tenant_id = p.tenant_id AND ss.series_id = p.series_id',
		filter, orderby, lim) INTO r;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_query_samples(text) IS 'Ceilometer POST /v2/query/samples: {"filter": "<json>", "orderby": "<json>", "limit": N}';

CREATE OR REPLACE FUNCTION vscope._ceilo_series_ids(tenants integer[], meters text[], types text[], units text[],
	resources text[], projects text[], users text[], sources text[], metadata jsonb[])
	RETURNS integer[] LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	keys bytea[];
	ids integer[];
	fresh integer[];		-- the positions of the first samples of new series, in order
	numbers bigint[];
BEGIN
	SELECT array_agg(sha256(convert_to(jsonb_build_array(u.m, u.ty, u.un, u.r, u.p, u.us, u.src, u.md)::text, 'UTF8'))
					 ORDER BY u.i)
	  INTO keys
	  FROM unnest(meters, types, units, resources, projects, users, sources, metadata)
		   WITH ORDINALITY u(m, ty, un, r, p, us, src, md, i);
	-- the series that exist are read first (MATERIALIZED: on Citus, from
	-- the shards of these tenants), and matched to the samples after: Citus
	-- takes no subquery correlated with unnest()
	WITH known AS MATERIALIZED (
		SELECT s.tenant_id, s.skey FROM vscope.sample_series s
		 WHERE s.tenant_id = ANY (tenants) AND s.skey = ANY (keys))
	SELECT array_agg(f.i ORDER BY f.i) INTO fresh
	  FROM (SELECT DISTINCT ON (u.t, u.k) u.i
			  FROM unnest(tenants, keys) WITH ORDINALITY u(t, k, i)
			 WHERE NOT EXISTS (SELECT FROM known s WHERE s.tenant_id = u.t AND s.skey = u.k)
			 ORDER BY u.t, u.k, u.i) f;
	IF fresh IS NOT NULL THEN
		-- one number each, ascending in the order the series come
		numbers := ARRAY(SELECT nextval(pg_get_serial_sequence('vscope.sample_series', 'series_id'))
						   FROM generate_series(1, cardinality(fresh)));
		INSERT INTO vscope.sample_series (tenant_id, series_id, counter_name, counter_type, counter_unit,
										  resource_id, project_id, user_id, source, resource_metadata, skey)
		SELECT u.t, f.n, u.m, u.ty, u.un, u.r, u.p, u.us, u.src, u.md, u.k
		  FROM unnest(tenants, meters, types, units, resources, projects, users, sources, metadata, keys)
			   WITH ORDINALITY u(t, m, ty, un, r, p, us, src, md, k, i)
		  JOIN unnest(fresh, numbers) f(i, n) ON f.i = u.i
		 ORDER BY u.t, u.k
		ON CONFLICT (tenant_id, skey) DO NOTHING;
	END IF;
	WITH known AS MATERIALIZED (
		SELECT s.tenant_id, s.skey, s.series_id FROM vscope.sample_series s
		 WHERE s.tenant_id = ANY (tenants) AND s.skey = ANY (keys))
	SELECT array_agg(s.series_id ORDER BY u.i) INTO ids
	  FROM unnest(tenants, keys) WITH ORDINALITY u(t, k, i)
	  JOIN known s ON s.tenant_id = u.t AND s.skey = u.k;
	IF coalesce(cardinality(ids), 0) <> coalesce(cardinality(tenants), 0) THEN
		RAISE EXCEPTION 'a sample series could not be found or made'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The samples name a tenant this session may not write to.';
	END IF;
	RETURN ids;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_series_ids(integer[], text[], text[], text[], text[], text[], text[], text[], jsonb[]) IS 'internal: the sample series (by tenant, meter, type, unit, resource, project, user, source and metadata, given as arrays) of checked samples, made when new; their ids in the order given';

CREATE OR REPLACE FUNCTION vscope.ceilometer_publish_samples(body text, routing text DEFAULT 'tenant') RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	b jsonb;
	tid integer := vscope.current_tenant();
	home_name text;
	future interval := coalesce(current_setting('vscope.max_future', true), '7d')::interval;
	oldest timestamptz := now() - vscope.retention();
	nonfinite boolean := strpos(body, 'NaN') > 0 OR strpos(body, 'Infinity') > 0;
	n integer;
	good integer;
	rejected jsonb;
	idx integer[];
	projects text[];
	tenants integer[];
	meters text[];
	types text[];
	units text[];
	resources text[];
	users text[];
	sources text[];
	metas jsonb[];
	stamps timestamptz[];
	volumes float8[];
	ids text[];
	sids integer[];
	stored integer;
BEGIN
	PERFORM vscope._ceilo_publish_routing(routing);
	b := vscope._ceilo_publish_items(body, 'samples');
	n := jsonb_array_length(b);
	SELECT t.name INTO home_name FROM vscope.tenants t WHERE t.tenant_id = tid;
	-- every item checked on its own: its first problem, or its fields
	WITH items AS (
		SELECT (a.i - 1)::integer AS i, a.e,
			   CASE WHEN jsonb_typeof(a.e -> 'timestamp') = 'string' THEN vscope._ceilo_parse_ts(a.e ->> 'timestamp') END AS ts,
			   CASE jsonb_typeof(a.e -> 'volume')
				   WHEN 'number' THEN (a.e ->> 'volume')::numeric
				   WHEN 'string' THEN vscope._ceilo_num(a.e ->> 'volume') END AS vol,
			   CASE WHEN jsonb_typeof(a.e -> 'project_id') = 'string' THEN a.e ->> 'project_id' END AS project
		  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i)
	), checked AS (
		SELECT it.*, CASE
			WHEN jsonb_typeof(it.e) <> 'object' THEN
				format('a sample is a JSON object, not %s', jsonb_typeof(it.e))
			WHEN jsonb_typeof(it.e -> 'name') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'name') NOT BETWEEN 1 AND 255 THEN
				'name: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'type') IS DISTINCT FROM 'string' OR it.e ->> 'type' NOT IN ('gauge', 'delta', 'cumulative') THEN
				format('type: gauge, delta or cumulative, not %s', coalesce((it.e -> 'type')::text, 'nothing'))
			WHEN jsonb_typeof(it.e -> 'unit') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'unit') > 255 THEN
				'unit: a string of at most 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'volume') = 'object' AND it.e -> 'volume' ? 'vscope:nonfinite' THEN
				format('volume: %s is not a finite number', it.e -> 'volume' ->> 'vscope:nonfinite')
			WHEN it.vol IS NULL THEN
				format('volume: a number is needed, not %s', coalesce((it.e -> 'volume')::text, 'nothing'))
			WHEN NOT (it.vol = 0 OR abs(it.vol) BETWEEN 2.2250738585072014e-308 AND 1.7976931348623157e308) THEN
				format('volume: %s is out of the range of a double precision number', it.e ->> 'volume')
			WHEN jsonb_typeof(it.e -> 'resource_id') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'resource_id') NOT BETWEEN 1 AND 255 THEN
				'resource_id: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'project_id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'project_id') > 255 THEN
				'project_id: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'user_id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'user_id') > 255 THEN
				'user_id: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'source') NOT IN ('string', 'null') OR octet_length(it.e ->> 'source') > 255 THEN
				'source: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'id') NOT BETWEEN 1 AND 255 THEN
				'id: a string of 1 to 255 bytes, or null, is needed'
			WHEN it.ts IS NULL THEN
				format('timestamp: %s is not an ISO 8601 time', coalesce((it.e -> 'timestamp')::text, 'nothing'))
			WHEN jsonb_typeof(it.e -> 'resource_metadata') NOT IN ('object', 'null') THEN
				format('resource_metadata: an object (or null) is needed, not %s', jsonb_typeof(it.e -> 'resource_metadata'))
			WHEN pg_column_size(it.e -> 'resource_metadata') > 65536 THEN
				'resource_metadata: larger than 64 kB'
			WHEN nonfinite AND strpos(it.e::text, '{"vscope:nonfinite": ') > 0 THEN
				'NaN or Infinity, which JSON does not have, in the sample'
			WHEN it.ts > now() + future THEN
				format('timestamp: %s is more than vscope.max_future (%s) ahead', it.e ->> 'timestamp', future)
			WHEN it.ts < oldest THEN
				format('timestamp: %s is older than vscope.retention (%s)', it.e ->> 'timestamp', vscope.retention())
			ELSE vscope._ceilo_publish_project_problem(it.project, routing, home_name)
			END AS err
		  FROM items it
	), days AS (
		-- only to a day that has its partition: a request never makes one
		SELECT d.day, vscope._day_not_writable(d.day, 'samples') AS err
		  FROM (SELECT DISTINCT date_trunc('day', c.ts, 'UTC') AS day FROM checked c WHERE c.err IS NULL) d
	), final AS (
		SELECT c.*, coalesce(c.err, 'timestamp: ' || d.err) AS problem
		  FROM checked c LEFT JOIN days d ON d.day = date_trunc('day', c.ts, 'UTC') AND c.err IS NULL
	)
	SELECT count(*) FILTER (WHERE f.problem IS NULL),
		   jsonb_agg(jsonb_build_object('index', f.i, 'id', CASE WHEN jsonb_typeof(f.e -> 'id') = 'string' THEN f.e -> 'id' END,
										'error', f.problem) ORDER BY f.i) FILTER (WHERE f.problem IS NOT NULL),
		   array_agg(f.i ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.project ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'name' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'type' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'unit' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'resource_id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'user_id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'source' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(coalesce(nullif(f.e -> 'resource_metadata', 'null'), '{}') ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.ts ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.vol::float8 ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL)
	  INTO good, rejected, idx, projects, meters, types, units, resources, users, sources, metas, stamps, volumes, ids
	  FROM final f;
	stored := 0;
	IF good > 0 THEN
		tenants := vscope._ceilo_publish_tenants(projects, routing);
		sids := vscope._ceilo_series_ids(tenants, meters, types, units, resources, projects, users, sources, metas);
		SELECT count(*) INTO stored FROM vscope._ceilo_insert_samples(tenants, sids, stamps, volumes, ids);
	END IF;
	RETURN vscope._ceilo_publish_answer(n, good, stored, rejected, 'sample');
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_publish_samples(text, text) IS 'Ceilometer''s http publisher''s samples (a JSON list of Sample.as_dict(), or one): each checked on its own, the good ones stored (a repeated id skipped), routed by routing (tenant: all in the current tenant; own: only its own project; project: each in the tenant of its project, made when new); returns {stored, duplicates, rejected}';

CREATE OR REPLACE FUNCTION vscope.ceilometer_publish_events(body text, routing text DEFAULT 'tenant') RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	b jsonb;
	tid integer := vscope.current_tenant();
	home_name text;
	nonfinite boolean := strpos(body, 'NaN') > 0 OR strpos(body, 'Infinity') > 0;
	n integer;
	good integer;
	rejected jsonb;
	projects text[];
	tenants integer[];
	mids text[];
	types text[];
	gens timestamptz[];
	traits jsonb[];
	raws jsonb[];
	stored integer;
BEGIN
	PERFORM vscope._ceilo_publish_routing(routing);
	b := vscope._ceilo_publish_items(body, 'events');
	n := jsonb_array_length(b);
	SELECT t.name INTO home_name FROM vscope.tenants t WHERE t.tenant_id = tid;
	WITH items AS (
		SELECT (a.i - 1)::integer AS i, a.e,
			   CASE WHEN jsonb_typeof(a.e -> 'generated') = 'string' THEN vscope._ceilo_parse_ts(a.e ->> 'generated') END AS gen
		  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i)
	), converted AS (
		SELECT it.*, tr.traits, tr.terr, tr.project
		  FROM items it
		  LEFT JOIN LATERAL (
			SELECT coalesce(jsonb_agg(c.t ORDER BY c.t ->> 'name', c.t ->> 'value') FILTER (WHERE NOT c.t ? 'error'), '[]') AS traits,
				   (array_agg(c.t ->> 'error' ORDER BY x.o) FILTER (WHERE c.t ? 'error'))[1] AS terr,
				   min(c.t ->> 'value') FILTER (WHERE c.t ->> 'name' = 'project_id' AND c.t ->> 'type' = 'string') AS project
			  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(it.e -> 'traits') = 'array' THEN it.e -> 'traits' ELSE '[]' END)
				   WITH ORDINALITY x(t, o)
			 CROSS JOIN LATERAL (SELECT vscope._ceilo_publish_trait(x.t) AS t) c
			 WHERE c.t IS NOT NULL) tr ON true
	), checked AS (
		SELECT cv.*, CASE
			WHEN jsonb_typeof(cv.e) <> 'object' THEN
				format('an event is a JSON object, not %s', jsonb_typeof(cv.e))
			WHEN jsonb_typeof(cv.e -> 'event_type') IS DISTINCT FROM 'string' OR octet_length(cv.e ->> 'event_type') NOT BETWEEN 1 AND 255 THEN
				'event_type: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(cv.e -> 'message_id') NOT IN ('string', 'null') OR octet_length(cv.e ->> 'message_id') NOT BETWEEN 1 AND 255 THEN
				'message_id: a string of 1 to 255 bytes, or null, is needed'
			WHEN cv.gen IS NULL THEN
				format('generated: %s is not an ISO 8601 time', coalesce((cv.e -> 'generated')::text, 'nothing'))
			WHEN jsonb_typeof(cv.e -> 'traits') NOT IN ('array', 'null') THEN
				'traits: a list of [name, dtype, value] is needed'
			WHEN cv.terr IS NOT NULL THEN
				'traits: ' || cv.terr
			WHEN nonfinite AND strpos(cv.e::text, '{"vscope:nonfinite": ') > 0 THEN
				'NaN or Infinity, which JSON does not have, in the event'
			ELSE vscope._ceilo_publish_project_problem(cv.project, routing, home_name)
			END AS problem
		  FROM converted cv
	)
	SELECT count(*) FILTER (WHERE c.problem IS NULL),
		   jsonb_agg(jsonb_build_object('index', c.i, 'id', CASE WHEN jsonb_typeof(c.e -> 'message_id') = 'string' THEN c.e -> 'message_id' END,
										'error', c.problem) ORDER BY c.i) FILTER (WHERE c.problem IS NOT NULL),
		   array_agg(c.project ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(coalesce(c.e ->> 'message_id', gen_random_uuid()::text) ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.e ->> 'event_type' ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.gen ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.traits ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(coalesce(nullif(c.e -> 'raw', 'null'), '{}') ORDER BY c.i) FILTER (WHERE c.problem IS NULL)
	  INTO good, rejected, projects, mids, types, gens, traits, raws
	  FROM checked c;
	stored := 0;
	IF good > 0 THEN
		tenants := vscope._ceilo_publish_tenants(projects, routing);
		WITH ins AS (
			INSERT INTO vscope.events (tenant_id, message_id, event_type, generated, traits, raw)
			SELECT u.t, u.mid, u.ty, u.gen, u.tr, u.raw
			  FROM unnest(tenants, mids, types, gens, traits, raws) u(t, mid, ty, gen, tr, raw)
			 ORDER BY u.t, u.mid
			ON CONFLICT (tenant_id, message_id) DO NOTHING
			RETURNING 1
		)
		SELECT count(*) INTO stored FROM ins;
	END IF;
	RETURN vscope._ceilo_publish_answer(n, good, stored, rejected, 'event');
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_publish_events(text, text) IS 'Ceilometer''s http publisher''s events (a JSON list of Event.serialize(), or one): each checked on its own, the good ones stored (a message_id already stored skipped), routed as vscope.ceilometer_publish_samples() routes samples, by the project_id trait; returns {stored, duplicates, rejected}';

CREATE OR REPLACE FUNCTION vscope.ceilometer_add_events(events jsonb) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	e jsonb;
	t jsonb;
	traits jsonb;
	val text;
	ids text[] := '{}';
	mid text;
	gen timestamptz;
BEGIN
	IF tid IS NULL THEN
		RAISE EXCEPTION 'no tenant is selected' USING ERRCODE = 'VS401';
	END IF;
	IF jsonb_typeof(events) = 'object' THEN
		events := jsonb_build_array(events);
	END IF;
	IF jsonb_typeof(events) IS DISTINCT FROM 'array' OR jsonb_array_length(events) = 0 THEN
		PERFORM vscope._ceilo_fail('400', 'Events should be included in request body: a JSON list of events');
	END IF;
	FOR e IN SELECT x FROM jsonb_array_elements(events) x LOOP
		IF jsonb_typeof(e) <> 'object' OR jsonb_typeof(e -> 'event_type') IS DISTINCT FROM 'string'
		   OR jsonb_typeof(e -> 'generated') IS DISTINCT FROM 'string' THEN
			PERFORM vscope._ceilo_fail('400', 'Invalid event: each event needs an event_type and a generated time (strings)');
		END IF;
		IF jsonb_typeof(e -> 'message_id') NOT IN ('string', 'null')
		   OR octet_length(e ->> 'message_id') NOT BETWEEN 1 AND 255
		   OR octet_length(e ->> 'event_type') NOT BETWEEN 1 AND 255 THEN
			PERFORM vscope._ceilo_fail('400', 'Invalid event: event_type and message_id must be strings of 1 to 255 bytes');
		END IF;
		gen := vscope._ceilo_parse_ts(e ->> 'generated');
		IF gen IS NULL THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute generated. Value: ''%s''. invalid timestamp format', e ->> 'generated'));
		END IF;
		IF jsonb_typeof(coalesce(e -> 'traits', '[]')) <> 'array' THEN
			PERFORM vscope._ceilo_fail('400', 'Invalid event: traits must be a list');
		END IF;
		traits := '[]';
		FOR t IN SELECT x FROM jsonb_array_elements(coalesce(e -> 'traits', '[]')) x LOOP
			IF jsonb_typeof(t) <> 'object' OR jsonb_typeof(t -> 'name') IS DISTINCT FROM 'string'
			   OR coalesce(t ->> 'type', 'string') NOT IN ('string', 'integer', 'float', 'datetime')
			   OR jsonb_typeof(t -> 'value') IS NULL OR jsonb_typeof(t -> 'value') NOT IN ('string', 'number')
			   OR octet_length(t ->> 'name') NOT BETWEEN 1 AND 255 THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid trait %s: it needs a name, a type (string, integer, float or datetime) and a value', t));
			END IF;
			val := vscope._ceilo_convert(t ->> 'value', coalesce(t ->> 'type', 'string'));
			traits := traits || jsonb_build_object('name', t ->> 'name', 'type', coalesce(t ->> 'type', 'string'), 'value', val);
		END LOOP;
		mid := coalesce(e ->> 'message_id', gen_random_uuid()::text);
		-- sorted first: Citus plans no subquery inside INSERT ... VALUES
		traits := (SELECT coalesce(jsonb_agg(x ORDER BY x ->> 'name', x ->> 'value'), '[]') FROM jsonb_array_elements(traits) x);
		INSERT INTO vscope.events (tenant_id, message_id, event_type, generated, traits, raw)
			VALUES (tid, mid, e ->> 'event_type', gen, traits, coalesce(e -> 'raw', '{}'));
		ids := ids || mid;
	END LOOP;
	RETURN to_json(ids);
EXCEPTION WHEN unique_violation THEN
	PERFORM vscope._ceilo_fail('409', format('An event with message_id %s exists already', mid));
END
$$;
COMMENT ON FUNCTION vscope.ceilometer_add_events(jsonb) IS 'loads Ceilometer events (a list of {event_type, generated, message_id, traits: [{name, type, value}], raw}); returns their message_ids';

-- vscope.distribute(): the Citus layout (sql/citus.sql)
CREATE FUNCTION vscope.distribute()
	RETURNS TABLE (relation regclass, method text)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	-- small catalogs, read on every node: a copy of each on every worker
	reference_tables constant text[] := ARRAY['tenants', 'tenant_roles', 'tokens', 'coopr_users'];
	fkeys text[] := '{}';
	cmds text[] := '{}';
	failed text;
	r record;
	first_table regclass;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
		RAISE EXCEPTION 'vscope.distribute() needs the Citus extension'
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Citus is not installed in this database.',
				  HINT = 'Load citus (shared_preload_libraries), CREATE EXTENSION citus, add the workers with citus_add_node(), then call vscope.distribute() again.';
	END IF;
	IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'permission denied to distribute vscope'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Call vscope.distribute() as a superuser.';
	END IF;
	IF EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'vscope.tenants'::regclass) THEN
		RAISE EXCEPTION 'vscope is already distributed'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'vscope.tenants is already a Citus table.',
				  HINT = 'vscope.distribute() runs once, on a database that has not been distributed.';
	END IF;
	-- one connection per worker for the whole transaction: the tables
	-- created and filled here are used again before it commits
	PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);

	-- Citus distributes a table together with every table its foreign keys
	-- reach: take them off, distribute table by table, put them back
	FOR r IN
		SELECT c.conname, c.conrelid::regclass AS rel, pg_get_constraintdef(c.oid) AS def
		  FROM pg_constraint c
		 WHERE c.contype = 'f' AND c.connamespace = 'vscope'::regnamespace
		 ORDER BY c.conrelid::regclass::text, c.conname
	LOOP
		fkeys := fkeys || format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.rel, r.conname, r.def);
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.rel, r.conname);
		-- the workers' own copies of the extension's tables (which become
		-- the shells there) have them too, and Citus adds them back
		cmds := cmds || format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', r.rel, r.conname);
	END LOOP;
	-- a statement trigger on the coordinator's shell table would never fire
	-- for the shards, and Citus refuses to distribute a table with one
	DROP TRIGGER IF EXISTS series_changed ON vscope.series;
	cmds := cmds || 'DROP TRIGGER IF EXISTS series_changed ON vscope.series'::text;
	FOR r IN SELECT u.c FROM unnest(cmds) AS u(c) LOOP
		SELECT string_agg(format('%s:%s: %s', w.nodename, w.nodeport, w.result), '; ') INTO failed
		  FROM run_command_on_workers(r.c) w WHERE NOT w.success;
		IF failed IS NOT NULL THEN
			RAISE EXCEPTION 'could not prepare the workers for vscope.distribute()'
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = format('%s failed on %s', r.c, failed),
					  HINT = 'Every worker needs the vscope extension at the coordinator''s version.';
		END IF;
	END LOOP;

	FOR r IN SELECT u.t, u.n FROM unnest(reference_tables) WITH ORDINALITY AS u(t, n) ORDER BY u.n LOOP
		PERFORM create_reference_table(format('vscope.%I', r.t)::regclass);
		relation := format('vscope.%I', r.t)::regclass;
		method := 'reference';
		RETURN NEXT;
	END LOOP;

	-- every other table (partitioned ones with their partitions) is a tenant
	-- table: sharded by tenant_id, all colocated with vscope.series, so a
	-- tenant's rows of every table are on the same worker
	FOR r IN
		SELECT c.oid::regclass AS rel
		  FROM pg_class c
		 WHERE c.relnamespace = 'vscope'::regnamespace
		   AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		   AND c.relname <> ALL (reference_tables)
		   AND EXISTS (SELECT FROM pg_attribute a
						WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
		 ORDER BY c.relname <> 'series', c.relname
	LOOP
		IF first_table IS NULL THEN
			PERFORM create_distributed_table(r.rel, 'tenant_id', colocate_with => 'none');
			first_table := r.rel;
		ELSE
			PERFORM create_distributed_table(r.rel, 'tenant_id', colocate_with => first_table::text);
		END IF;
		relation := r.rel;
		method := 'hash(tenant_id)';
		RETURN NEXT;
	END LOOP;

	FOR r IN SELECT u.d FROM unnest(fkeys) AS u(d) LOOP
		EXECUTE r.d;
	END LOOP;
END
$$;
COMMENT ON FUNCTION vscope.distribute() IS 'on a Citus coordinator, once: makes the small catalogs (tenants, tenant_roles, tokens, coopr_users) reference tables and every other table distributed by tenant_id, colocated with vscope.series; answers what it did (superusers; see README, "vscope on Citus")';
REVOKE ALL ON FUNCTION vscope.distribute() FROM PUBLIC;

-- the compaction candidates: EXISTS over a one-column subquery, which Citus
-- can plan on a distributed partition (it cannot with no column)
CREATE OR REPLACE FUNCTION vscope._compress_candidate(after date DEFAULT NULL) RETURNS date
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
CREATE OR REPLACE FUNCTION vscope._compress_samples_candidate(after date DEFAULT NULL) RETURNS date
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

-- ==== static checks: every PL/pgSQL function passes plpgsql_check (explicit
-- casts, unused variables dropped, false positives suppressed with the reason),
-- and volatility labels that hold (_ceilo_fail raises: VOLATILE; _ceilo_limit
-- reads a setting: STABLE; tsdb_lookup reads the clock: VOLATILE) ====
CREATE OR REPLACE FUNCTION vscope._create_series(keys text[], metrics text[], tags text[])
	RETURNS TABLE (skey text, series_id integer)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
	SELECT x.name, x.max_series, x.series_next, x.series_count INTO t
	  FROM vscope.tenants x WHERE x.tenant_id = tid FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'tenant % does not exist', tid USING ERRCODE = 'VS404';
	END IF;
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
	UPDATE vscope.tenants x SET series_next = (first + cardinality(missing))::integer,
		   series_count = least(have + cardinality(missing), 2147483647)::integer
	 WHERE x.tenant_id = tid;
END
$$;
CREATE OR REPLACE FUNCTION vscope.maintain() RETURNS jsonb
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
CREATE OR REPLACE FUNCTION vscope._java_hash(s text) RETURNS bigint
	LANGUAGE plpgsql IMMUTABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	h bigint := 0::bigint;
	c integer;
BEGIN
	FOREACH c IN ARRAY ARRAY(SELECT ascii(x) FROM regexp_split_to_table(s, '') AS x) LOOP
		IF c > 65535 THEN
			h := (h * 31 + 55232 + (c >> 10)) % 4294967296;	-- high surrogate
			h := (h * 31 + 56320 + (c & 1023)) % 4294967296;	-- low surrogate
		ELSE
			h := (h * 31 + c) % 4294967296;
		END IF;
	END LOOP;
	RETURN h;
END
$$;
CREATE OR REPLACE FUNCTION vscope.tsdb_uid_assign(method text, body text DEFAULT NULL, args jsonb DEFAULT '{}',
									   OUT status integer, OUT answer json)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	req jsonb;
	src jsonb := '{}'::jsonb;
	k text;
	v text;
	t text;
	n text;
	err text;
	ok jsonb;
	bad jsonb;
	nbad integer := 0;
	seq integer := 0;
	parts text[] := '{}'::text[];
	ords integer[] := '{}'::integer[];
	cap integer;
BEGIN
	IF method NOT IN ('GET', 'POST') THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405',
			DETAIL = format('The HTTP method [%s] is not permitted for this endpoint', method);
	END IF;
	IF method = 'POST' THEN
		IF coalesce(body, '') = '' THEN
			RAISE EXCEPTION 'Missing message content' USING ERRCODE = 'VS400',
				DETAIL = 'Supply valid JSON formatted data in the body of your request';
		END IF;
		req := vscope._tsdb_body(body);
		IF jsonb_typeof(req) <> 'object' OR EXISTS (
				SELECT FROM jsonb_each(req) e
				 WHERE jsonb_typeof(e.value) NOT IN ('array', 'null')
					OR (jsonb_typeof(e.value) = 'array' AND EXISTS (
						SELECT FROM jsonb_array_elements(e.value) x WHERE jsonb_typeof(x) NOT IN ('string', 'null')))) THEN
			RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400',
				DETAIL = 'Send {"metric": ["name", ...], "tagk": [...], "tagv": [...]}.';
		END IF;
		src := (SELECT coalesce(jsonb_object_agg(e.key, coalesce(nullif(e.value, 'null'), '[]')), '{}')
				  FROM jsonb_each(req) e);
	ELSE
		-- comma-separated names, empty ones at the end dropped (Java's split)
		FOREACH k IN ARRAY ARRAY['metric', 'tagk', 'tagv'] LOOP
			v := args->k->>0;
			IF coalesce(v, '') <> '' THEN
				src := src || jsonb_build_object(k, to_jsonb(string_to_array(regexp_replace(v, ',+$', ''), ',')));
			END IF;
		END LOOP;
	END IF;
	IF src = '{}' THEN
		RAISE EXCEPTION 'Missing values to assign UIDs' USING ERRCODE = 'VS400';
	END IF;
	-- the request's types in its map's order (a HashMap of 4 buckets for a
	-- GET, of 16 for a POST's Jackson), each answered with its _errors after it
	cap := CASE WHEN method = 'GET' THEN 4 ELSE 16 END;
	FOR k IN SELECT e.key FROM jsonb_each(src) e
			  ORDER BY vscope._java_bucket(e.key, cap), e.key COLLATE "C" LOOP
		ok := '{}';
		bad := '{}';
		FOR n IN SELECT x #>> '{}' FROM jsonb_array_elements(src->k) AS x LOOP
			err := vscope._tsdb_check_name(k, n);
			t := CASE lower(k) WHEN 'metric' THEN 'metric' WHEN 'tagk' THEN 'tagk' WHEN 'tagv' THEN 'tagv' END;
			IF err IS NULL AND t IS NULL THEN
				err := 'Unknown type name';
			END IF;
			IF err IS NULL AND vscope._tsdb_uid_exists(t, n) THEN
				err := 'Name already exists with UID: ' || vscope.tsdb_uid(n);
			END IF;
			IF err IS NULL THEN
				INSERT INTO vscope.uid_meta AS x (tenant_id, type, name, assigned_at)
				VALUES (tid, t, n, now())
				ON CONFLICT (tenant_id, type, name) DO UPDATE SET assigned_at = excluded.assigned_at
				 WHERE x.assigned_at IS NULL
				RETURNING 'ok' INTO v;
				IF NOT FOUND THEN	-- assigned meanwhile by another request
					err := 'Name already exists with UID: ' || vscope.tsdb_uid(n);
				END IF;
			END IF;
			IF err IS NULL THEN
				ok := ok || jsonb_build_object(n, vscope.tsdb_uid(n));
			ELSE
				bad := bad || jsonb_build_object(n, err);
				nbad := nbad + 1;
			END IF;
		END LOOP;
		-- the answer's HashMap has 16 buckets; a bucket's keys go in the
		-- order they were put: a type, then its errors
		parts := parts || (to_json(k)::text || ':' || vscope._tsdb_custom_json(ok));
		ords := ords || (vscope._java_bucket(k, 16) * 1000 + seq);
		seq := seq + 1;
		IF bad <> '{}' THEN
			parts := parts || (to_json(k || '_errors')::text || ':' || vscope._tsdb_custom_json(bad));
			ords := ords || (vscope._java_bucket(k || '_errors', 16) * 1000 + seq);
			seq := seq + 1;
		END IF;
	END LOOP;
	status := CASE WHEN nbad = 0 THEN 200 ELSE 400 END;
	answer := ('{' || (SELECT string_agg(p, ',' ORDER BY o) FROM unnest(parts, ords) AS x(p, o)) || '}')::json;
END
$$;
CREATE OR REPLACE FUNCTION vscope.coopr_node_usage(start_s text DEFAULT NULL, end_s text DEFAULT NULL,
										user_id text DEFAULT NULL, tenant text DEFAULT NULL,
										groupby text DEFAULT NULL, timeunit text DEFAULT NULL)
	RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	super boolean := pg_has_role(current_user, 'vscope_superadmin', 'MEMBER');
	tid integer;
	s_ms bigint;
	e_ms bigint;
	now_ms bigint := (extract(epoch FROM now()) * 1000)::bigint;
	unit_ms bigint;
	scale bigint;
	period_ms bigint;
	first_create bigint;
	ntasks bigint;
	data json;
BEGIN
	-- the order of Coopr's (documented) checks: 403, then 405 for tenant, then 400
	IF NOT pg_has_role(current_user, 'vscope_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'Only admins are allowed to get node usage.' USING ERRCODE = 'VS403';
	END IF;
	IF tenant IS NOT NULL AND NOT super THEN
		RAISE EXCEPTION 'Getting information about tenant % not allowed for tenant %', tenant,
			(SELECT name FROM vscope.tenants WHERE tenant_id = vscope.current_tenant())
			USING ERRCODE = 'VS405';
	END IF;
	BEGIN
		s_ms := start_s::bigint * 1000;
		e_ms := end_s::bigint * 1000;
	EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
		RAISE EXCEPTION 'start and end are Unix seconds: got start=%, end=%', coalesce(start_s, ''), coalesce(end_s, '')
			USING ERRCODE = 'VS400';
	END;
	IF s_ms IS NOT NULL AND e_ms IS NOT NULL AND s_ms > e_ms THEN
		RAISE EXCEPTION 'start (%) is after end (%)', start_s, end_s USING ERRCODE = 'VS400';
	END IF;
	-- milliseconds per unit; the sub-millisecond units multiply instead (scale)
	unit_ms := CASE lower(coalesce(timeunit, 'seconds'))
				   WHEN 'nanoseconds' THEN 1 WHEN 'microseconds' THEN 1
				   WHEN 'milliseconds' THEN 1 WHEN 'seconds' THEN 1000 WHEN 'minutes' THEN 60000
				   WHEN 'hours' THEN 3600000 WHEN 'days' THEN 86400000 END::bigint;
	scale := CASE lower(coalesce(timeunit, 'seconds')) WHEN 'nanoseconds' THEN 1000000
				  WHEN 'microseconds' THEN 1000 ELSE 1 END::bigint;
	IF unit_ms IS NULL THEN
		RAISE EXCEPTION 'invalid timeunit "%"', timeunit USING ERRCODE = 'VS400',
			HINT = 'Use milliseconds, seconds, minutes, hours or days.';
	END IF;
	period_ms := CASE groupby WHEN 'hour' THEN 3600000 WHEN 'day' THEN 86400000
					 WHEN 'week' THEN 604800000 WHEN 'month' THEN 2592000000
					 WHEN 'year' THEN 31104000000 END;
	IF groupby IS NOT NULL AND period_ms IS NULL THEN
		RAISE EXCEPTION 'invalid groupby "%"', groupby USING ERRCODE = 'VS400',
			HINT = 'Use hour, day, week, month or year.';
	END IF;
	IF tenant IS NOT NULL THEN
		tid := vscope.tenant_id(tenant);
		IF tid IS NULL THEN
			tid := -1;		-- a tenant with no tasks: nothing counts
		END IF;
	ELSIF NOT super THEN
		tid := vscope.current_tenant();
	END IF;

	SELECT (date_part('epoch', min(k.completed_at) FILTER (WHERE k.action = 'CREATE')) * 1000)::bigint,
		   count(*)
	  INTO first_create, ntasks
	  FROM vscope.coopr_tasks k
	 WHERE k.status = 'COMPLETE' AND (tid IS NULL OR k.tenant_id = tid)
	   AND (coopr_node_usage.user_id IS NULL OR k.user_id = coopr_node_usage.user_id);

	IF ntasks = 0 THEN
		s_ms := coalesce(s_ms, 0);
		e_ms := coalesce(e_ms, now_ms);
		IF s_ms > e_ms THEN
			RAISE EXCEPTION 'start (%) is after end (%)', s_ms / 1000, e_ms / 1000 USING ERRCODE = 'VS400';
		END IF;
		RETURN json_build_object('start', s_ms / 1000, 'end', e_ms / 1000,
								 'data', json_build_array(json_build_object('time', s_ms / 1000, 'value', 0)));
	END IF;
	-- vscope's rule (Coopr's documentation): end defaults to now
	s_ms := coalesce(s_ms, first_create, 0);
	e_ms := coalesce(e_ms, now_ms);
	IF s_ms > e_ms THEN
		RAISE EXCEPTION 'start (%) is after end (%)', s_ms / 1000, e_ms / 1000 USING ERRCODE = 'VS400';
	END IF;
	IF period_ms IS NOT NULL AND (e_ms - s_ms) / period_ms + 1 > vscope._max_buckets() THEN
		RAISE EXCEPTION 'groupby % over this window makes % intervals, at most % are allowed',
			groupby, (e_ms - s_ms) / period_ms + 1, vscope._max_buckets() USING ERRCODE = 'VS400';
	END IF;

	IF period_ms IS NULL THEN
		SELECT json_build_array(json_build_object('time', s_ms / 1000, 'value',
				   coalesce(sum(CASE WHEN unit_ms = 0 THEN 0 ELSE
					   greatest(0, least(death, e_ms) - greatest(birth, s_ms)) * scale / unit_ms END), 0)))
		  INTO data FROM vscope._coopr_lives(tid, coopr_node_usage.user_id, now_ms);
	ELSE
		-- intervals on epoch multiples of the period, the first from start; each
		-- node counts the part of its life inside each interval (exactly: Coopr
		-- itself over-counts a first interval that starts between boundaries)
		WITH bounds AS (
			SELECT b AS lo, least(b - b % period_ms + period_ms, e_ms) AS hi
			  FROM (SELECT s_ms AS b
					UNION ALL
					SELECT g FROM generate_series(s_ms - s_ms % period_ms + period_ms, e_ms - 1, period_ms) g) x
			 WHERE b < e_ms)
		SELECT coalesce(json_agg(json_build_object('time', lo / 1000, 'value', v) ORDER BY lo), '[]')
		  INTO data
		  FROM (SELECT b.lo, coalesce(sum(CASE WHEN unit_ms = 0 THEN 0 ELSE
					   greatest(0, least(n.death, b.hi) - greatest(n.birth, b.lo)) * scale / unit_ms END), 0) AS v
				  FROM bounds b LEFT JOIN vscope._coopr_lives(tid, coopr_node_usage.user_id, now_ms) n
					ON n.birth < b.hi AND n.death > b.lo
				 GROUP BY b.lo) x;
		IF json_array_length(data) = 0 THEN
			data := json_build_array(json_build_object('time', s_ms / 1000, 'value', 0));
		END IF;
	END IF;
	RETURN json_build_object('start', s_ms / 1000, 'end', e_ms / 1000, 'data', data);
END
$$;
CREATE OR REPLACE FUNCTION vscope._ceilo_span_dropped(lo timestamptz, hi timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	ft integer[];			-- the series that began that day and go on, still unsettled
	fs integer[];
	lt integer[];			-- those that ended that day, having begun before
	ls integer[];
	gt integer[];			-- those that began and ended that day
	gs integer[];
	p record;
	changed integer := 0;
	n integer;
BEGIN
	SELECT array_agg(k.tenant_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts >= hi),
		   array_agg(k.series_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts >= hi),
		   array_agg(k.tenant_id) FILTER (WHERE k.first_ts < lo),
		   array_agg(k.series_id) FILTER (WHERE k.first_ts < lo),
		   array_agg(k.tenant_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts < hi),
		   array_agg(k.series_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts < hi)
	  INTO ft, fs, lt, ls, gt, gs
	  FROM (SELECT k.tenant_id, k.series_id, k.first_ts, k.last_ts FROM vscope.sample_span k
			 WHERE (k.first_ts >= lo AND k.first_ts < hi) OR (k.last_ts >= lo AND k.last_ts < hi)
			 ORDER BY k.tenant_id, k.series_id FOR UPDATE) k;
	-- (listing the partitions costs: not when no series needs them)
	FOR p IN SELECT * FROM vscope.partitions('samples') WHERE range_start >= hi AND ft IS NOT NULL
			  ORDER BY range_start LOOP
		EXIT WHEN ft IS NULL;
		EXECUTE $q$
			WITH found AS (
				SELECT a.t, a.s, f.ts
				  FROM unnest($1, $2) a(t, s)
				 CROSS JOIN LATERAL (SELECT least((SELECT x.ts FROM vscope.samples x
												   WHERE x.tenant_id = a.t AND x.series_id = a.s
													 AND x.ts >= $3 AND x.ts < $4
												   ORDER BY x.ts LIMIT 1),
												  (SELECT b.first_ts FROM vscope.sample_blocks b
												   WHERE b.tenant_id = a.t AND b.series_id = a.s
													 AND b.first_ts >= $3 AND b.first_ts < $4
												   ORDER BY b.first_ts LIMIT 1)) AS ts) f
				 WHERE f.ts IS NOT NULL
			), moved AS (
				UPDATE vscope.sample_span k SET first_ts = found.ts
				  FROM found WHERE k.tenant_id = found.t AND k.series_id = found.s
			)
			SELECT array_agg(a.t), array_agg(a.s), (SELECT count(*)::integer FROM found)
			  FROM unnest($1, $2) a(t, s)
			 WHERE NOT EXISTS (SELECT FROM found WHERE found.t = a.t AND found.s = a.s)
			$q$
			INTO ft, fs, n USING ft, fs, p.range_start, p.range_end;
		changed := changed + n;
	END LOOP;
	FOR p IN SELECT * FROM vscope.partitions('samples') WHERE range_end <= lo AND lt IS NOT NULL
			  ORDER BY range_start DESC LOOP
		EXIT WHEN lt IS NULL;
		EXECUTE $q$
			WITH found AS (
				SELECT a.t, a.s, f.ts
				  FROM unnest($1, $2) a(t, s)
				 CROSS JOIN LATERAL (SELECT greatest((SELECT x.ts FROM vscope.samples x
													  WHERE x.tenant_id = a.t AND x.series_id = a.s
														AND x.ts >= $3 AND x.ts < $4
													  ORDER BY x.ts DESC LIMIT 1),
													 (SELECT b.last_ts FROM vscope.sample_blocks b
													  WHERE b.tenant_id = a.t AND b.series_id = a.s
														AND b.first_ts >= $3 AND b.first_ts < $4
													  ORDER BY b.first_ts DESC LIMIT 1)) AS ts) f
				 WHERE f.ts IS NOT NULL
			), moved AS (
				UPDATE vscope.sample_span k SET last_ts = found.ts
				  FROM found WHERE k.tenant_id = found.t AND k.series_id = found.s
			)
			SELECT array_agg(a.t), array_agg(a.s), (SELECT count(*)::integer FROM found)
			  FROM unnest($1, $2) a(t, s)
			 WHERE NOT EXISTS (SELECT FROM found WHERE found.t = a.t AND found.s = a.s)
			$q$
			INTO lt, ls, n USING lt, ls, p.range_start, p.range_end;
		changed := changed + n;
	END LOOP;
	-- what was all in that day, or what no partition settled (which a span
	-- kept right never leaves), has no samples left
	DELETE FROM vscope.sample_span k
	 USING (SELECT * FROM unnest(gt, gs) UNION ALL SELECT * FROM unnest(ft, fs)
			UNION ALL SELECT * FROM unnest(lt, ls)) a(t, s)
	 WHERE k.tenant_id = a.t AND k.series_id = a.s;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN changed + n;
END
$$;
CREATE OR REPLACE FUNCTION vscope._ceilo_renest(m jsonb) RETURNS jsonb
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	out jsonb := '{}'::jsonb;
	e record;
	path text[];
BEGIN
	FOR e IN SELECT key, value FROM jsonb_each(m) ORDER BY key LOOP
		path := string_to_array(e.key, '.');
		FOR i IN 1 .. cardinality(path) - 1 LOOP
			IF jsonb_typeof(out #> path[1:i]) IS DISTINCT FROM 'object' THEN
				out := jsonb_set(out, path[1:i], '{}');
			END IF;
		END LOOP;
		out := jsonb_set(out, path, e.value);
	END LOOP;
	RETURN out;
END
$$;
CREATE OR REPLACE FUNCTION vscope._ceilo_query(args jsonb, kind text,
	OUT series_where text, OUT sample_where text,
	OUT q_start timestamptz, OUT q_end timestamptz,
	OUT w_start timestamptz, OUT w_end timestamptz,
	OUT x_lo timestamptz, OUT x_hi timestamptz, OUT x_seq integer)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	me record := vscope._ceilo_ident();
	tid integer := vscope.current_tenant();
	n integer := coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(args -> 'q.field') = 'array'
												   THEN args -> 'q.field' END), 0);
	f text;
	op text;
	v text;
	typ text;
	col text;
	tv record;
	conds text[] := '{}'::text[];
	xconds text[] := '{}'::text[];
	has_project boolean := false;
	start_strict boolean := false;
	end_strict boolean := false;
	offset_min numeric;
	valid text[] := CASE kind
		WHEN 'samples' THEN ARRAY['message_id', 'meter', 'project', 'resource', 'search_offset',
								  'source', 'timestamp', 'user']
		WHEN 'resources' THEN ARRAY['project', 'resource', 'search_offset', 'source', 'timestamp', 'user']
		ELSE ARRAY['project', 'resource', 'source', 'unique', 'user'] END;
	mid record;
BEGIN
	IF n > 100 THEN
		PERFORM vscope._ceilo_fail('400', format('A query may have at most 100 clauses, not %s', n));
	END IF;
	-- project segregation first
	IF NOT me.admin THEN
		IF me.project IS NULL THEN
			PERFORM vscope._ceilo_fail('401', 'Not Authorized to access project None');
		END IF;
		FOR i IN 0 .. n - 1 LOOP
			IF vscope._ceilo_arg(args, 'q.field', i) IN ('project', 'project_id') THEN
				has_project := true;
				IF vscope._ceilo_arg(args, 'q.value', i) <> me.project THEN
					PERFORM vscope._ceilo_fail('401', format('Not Authorized to access project %s',
															 vscope._ceilo_arg(args, 'q.value', i)));
				END IF;
			END IF;
		END LOOP;
		IF NOT has_project THEN
			conds := conds || format('s.project_id = %L', me.project);
		END IF;
	END IF;
	-- then timestamps
	FOR i IN 0 .. n - 1 LOOP
		f := vscope._ceilo_arg(args, 'q.field', i);
		IF f NOT IN ('timestamp', 'search_offset') THEN
			CONTINUE;
		END IF;
		IF kind = 'meters' THEN
			PERFORM vscope._ceilo_fail('400', format('Unknown argument: "%s": not valid for this resource', f));
		END IF;
		IF f = 'search_offset' THEN
			CONTINUE;
		END IF;
		op := coalesce(nullif(vscope._ceilo_arg(args, 'q.op', i), ''), 'eq');
		v := vscope._ceilo_arg(args, 'q.value', i);
		IF op NOT IN ('lt', 'le', 'gt', 'ge') THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. unimplemented operator for timestamp', op));
		END IF;
		IF vscope._ceilo_parse_ts(v) IS NULL THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute timestamp. Value: ''%s''. invalid timestamp format', v));
		END IF;
		IF op IN ('gt', 'ge') THEN
			q_start := vscope._ceilo_parse_ts(v);
			start_strict := op = 'gt';
		ELSE
			q_end := vscope._ceilo_parse_ts(v);
			end_strict := op = 'lt';
		END IF;
	END LOOP;
	-- then search_offset
	FOR i IN 0 .. n - 1 LOOP
		IF vscope._ceilo_arg(args, 'q.field', i) = 'search_offset' THEN
			IF q_start IS NULL AND q_end IS NULL THEN
				PERFORM vscope._ceilo_fail('400', 'Invalid input for field/attribute field. Value: ''search_offset''. search_offset cannot be used without timestamp');
			END IF;
			v := vscope._ceilo_arg(args, 'q.value', i);
			IF v !~ '^\s*[-+]?\d{1,9}\s*$' THEN
				PERFORM vscope._ceilo_fail('400', format('Unable to convert the value %s to the expected data type integer.', v));
			END IF;
			offset_min := v::numeric;
		END IF;
	END LOOP;
	w_start := q_start - make_interval(mins => coalesce(offset_min, 0)::integer);
	w_end := q_end + make_interval(mins => coalesce(offset_min, 0)::integer);
	IF w_start IS NOT NULL THEN
		xconds := xconds || format('x.ts %s %L::timestamptz', CASE WHEN start_strict THEN '>' ELSE '>=' END, w_start);
		x_lo := w_start + CASE WHEN start_strict THEN interval '1 microsecond' ELSE interval '0' END;
	END IF;
	IF w_end IS NOT NULL THEN
		xconds := xconds || format('x.ts %s %L::timestamptz', CASE WHEN end_strict THEN '<' ELSE '<=' END, w_end);
		x_hi := w_end - CASE WHEN end_strict THEN interval '1 microsecond' ELSE interval '0' END;
	END IF;
	-- then every other clause: a known field, and eq only
	FOR i IN 0 .. n - 1 LOOP
		f := vscope._ceilo_arg(args, 'q.field', i);
		IF f IN ('timestamp', 'search_offset') THEN
			CONTINUE;
		END IF;
		op := coalesce(nullif(vscope._ceilo_arg(args, 'q.op', i), ''), 'eq');
		v := vscope._ceilo_arg(args, 'q.value', i);
		typ := vscope._ceilo_arg(args, 'q.type', i);
		col := CASE WHEN f ~ '^(resource_)?metadata\..' THEN 'metadata'
					WHEN f IN ('user', 'user_id') THEN 'user_id'
					WHEN f IN ('project', 'project_id') THEN 'project_id'
					WHEN f IN ('resource', 'resource_id') THEN 'resource_id'
					WHEN f = 'meter' THEN 'counter_name'
					ELSE f END;
		IF col <> 'metadata' AND NOT (f = ANY (valid) OR col IN ('user_id', 'project_id', 'resource_id')) THEN
			PERFORM vscope._ceilo_fail('400', format('Unknown argument: "%s": unrecognized field in query: [<Query %s %s %s>], valid keys: %s',
				f, quote_literal(f), op, quote_literal(v),
				'[' || (SELECT string_agg(quote_literal(k), ', ' ORDER BY k) FROM unnest(valid) k) || ']'));
		END IF;
		IF op <> 'eq' THEN
			IF op NOT IN ('lt', 'le', 'ne', 'ge', 'gt') THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. Value should be one of: gt, lt, ge, ne, eq, le', op));
			END IF;
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute op. Value: ''%s''. unimplemented operator for %s', op, f));
		END IF;
		IF typ NOT IN ('', 'integer', 'float', 'string', 'boolean', 'datetime') THEN
			PERFORM vscope._ceilo_fail('400', format('The data type %s is not supported. The supported data type list is: [''integer'', ''float'', ''string'', ''boolean'', ''datetime'']', typ));
		END IF;
		IF col = 'metadata' THEN
			tv := vscope._ceilo_typed(v, typ);
			conds := conds || format(
				CASE tv.kind WHEN 'number' THEN 'vscope._ceilo_num(s.resource_metadata #>> %L::text[]) = %s'
							 WHEN 'boolean' THEN 'vscope._ceilo_bool(s.resource_metadata #>> %L::text[]) = %s'
							 ELSE '(s.resource_metadata #>> %L::text[]) = %s' END,
				string_to_array(substr(f, strpos(f, '.') + 1), '.')::text, tv.sqlval);
		ELSIF col = 'unique' THEN
			NULL;				-- a flag of /v2/meters, not a filter
		ELSIF col = 'message_id' THEN
			SELECT i.series_id, i.ts, i.seq INTO mid FROM vscope.sample_ids i
			 WHERE i.tenant_id = tid AND i.message_id = v;
			IF mid.series_id IS NULL THEN
				SELECT * INTO mid FROM vscope._ceilo_parse_message_id(v);
			END IF;
			IF mid IS NULL THEN
				conds := conds || 'false'::text;
			ELSE
				conds := conds || format('s.series_id = %s', mid.series_id);
				xconds := xconds || format('x.ts = %L::timestamptz AND x.seq = %s', mid.ts, mid.seq);
				x_lo := greatest(x_lo, mid.ts);
				x_hi := least(x_hi, mid.ts);
				IF x_seq IS DISTINCT FROM mid.seq AND x_seq IS NOT NULL THEN
					x_lo := 'infinity';		-- two message ids: nothing is both
				END IF;
				x_seq := mid.seq;
			END IF;
		ELSIF v = 'None' AND col IN ('user_id', 'project_id') THEN
			conds := conds || format('s.%I IS NULL', col);
		ELSE
			conds := conds || format('s.%I = %L', col, v);
		END IF;
	END LOOP;
	series_where := coalesce(nullif(array_to_string(conds, ' AND '), ''), 'true');
	sample_where := coalesce(nullif(array_to_string(xconds, ' AND '), ''), 'true');
END
$$;
CREATE OR REPLACE FUNCTION vscope._ceilo_statistics_args(meter text, args jsonb,
	OUT series integer[], OUT groups integer[], OUT units text[], OUT groupbys text[],
	OUT cards integer[], OUT lo timestamptz, OUT hi timestamptz, OUT origin timestamptz,
	OUT period bigint, OUT q_start timestamptz, OUT q_end timestamptz, OUT selected text[],
	OUT maxrows integer, OUT only_seq integer)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	-- (its queries are small: compiling them would cost more than it saves)
	SET jit = off
	AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'samples');
	ptxt text := trim(vscope._ceilo_arg(args, 'period'));
	gb text[] := '{}'::text[];
	g text;
	gexpr text[] := '{}'::text[];
	gjson text := 'NULL::json';
	funcs text[] := '{}'::text[];
	f text;
	p text;
	card text[] := '{}'::text[];
BEGIN
	period := 0;
	-- period
	IF ptxt <> '' THEN
		IF ptxt !~ '^[-+]?\d{1,30}$' THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute period. Value: ''%s''. unable to convert to int', ptxt));
		END IF;
		IF ptxt::numeric < 0 THEN
			PERFORM vscope._ceilo_fail('400', 'Period must be positive.');
		END IF;
		-- Python's datetime ends at year 9999: a longer period cannot be added to a date
		IF ptxt::numeric > 250000000000 THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid period %s: date value out of range', ptxt));
		END IF;
		period := ptxt::bigint;
	END IF;
	-- group-by fields, de-duplicated in order
	IF jsonb_typeof(args -> 'groupby') = 'array' THEN
		FOR g IN SELECT e FROM jsonb_array_elements_text(args -> 'groupby') e LOOP
			IF g NOT IN ('user_id', 'resource_id', 'project_id', 'source', 'resource_metadata.instance_type') THEN
				PERFORM vscope._ceilo_fail('400', format('Unknown argument: "set([%s])": Invalid groupby fields', quote_literal(g)));
			END IF;
			IF NOT g = ANY (gb) THEN
				gb := gb || g;
			END IF;
		END LOOP;
	END IF;
	FOR i IN 1 .. cardinality(gb) LOOP
		gexpr := gexpr || CASE gb[i] WHEN 'resource_metadata.instance_type'
								THEN '(s.resource_metadata #>> ''{instance_type}'')'
								ELSE 's.' || gb[i] END;
	END LOOP;
	IF cardinality(gb) > 0 THEN
		gjson := 'json_build_object(' || (SELECT string_agg(format('%L, g%s', gb[i], i), ', ')
											 FROM generate_subscripts(gb, 1) i) || ')';
	END IF;
	-- selected aggregates, de-duplicated
	IF jsonb_typeof(args -> 'aggregate.func') = 'array' THEN
		FOR i IN 0 .. jsonb_array_length(args -> 'aggregate.func') - 1 LOOP
			f := vscope._ceilo_arg(args, 'aggregate.func', i);
			p := nullif(vscope._ceilo_arg(args, 'aggregate.param', i), '');
			IF f NOT IN ('avg', 'sum', 'min', 'max', 'count', 'stddev', 'cardinality') THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid aggregation function: %s', f));
			END IF;
			IF f = 'cardinality' THEN
				IF p IS NULL OR p NOT IN ('resource_id', 'user_id', 'project_id') THEN
					PERFORM vscope._ceilo_fail('400', format('Bad aggregate: cardinality.%s', coalesce(p, 'None')));
				END IF;
				f := f || '/' || p;
				IF NOT p = ANY (card) THEN
					card := card || p;
				END IF;
			END IF;
			IF NOT f = ANY (funcs) THEN
				funcs := funcs || f;
			END IF;
		END LOOP;
	END IF;
	-- where the meter's matching series have samples (vscope.sample_span):
	-- none, no statistics; else the samples read are those within these
	-- bounds and the query's
	-- plpgsql_check: the WHERE fragments come from vscope._ceilo_query, which quotes every value (%L) and names only whitelisted columns (%I); lim is an integer
	PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
	EXECUTE format('SELECT min(k.first_ts), max(k.last_ts)
					  FROM vscope.sample_series s
					  JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
					 WHERE %s AND s.counter_name = $1', q.series_where)
		INTO lo, hi USING meter;
	PERFORM 'PRAGMA:ENABLE:SECURITY_WARNINGS';
	IF lo IS NULL THEN
		RETURN;
	END IF;
	-- the grid's origin: the query's (widened) start, else the first sample
	IF period > 0 THEN
		origin := q.w_start;
		IF origin IS NULL AND q.sample_where = 'true' THEN
			origin := lo;
		ELSIF origin IS NULL THEN
			-- plpgsql_check: the WHERE fragments come from vscope._ceilo_query, which quotes every value (%L) and names only whitelisted columns (%I); lim is an integer
			PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
			EXECUTE format('SELECT min(b.first_ts)
							  FROM vscope._ceilo_sample_bounds(ARRAY(SELECT s.series_id FROM vscope.sample_series s
																	  WHERE %s AND s.counter_name = $1), $2, $3) b',
						   q.series_where)
				INTO origin USING meter, greatest(lo, q.x_lo), least(hi, q.x_hi);
			PERFORM 'PRAGMA:ENABLE:SECURITY_WARNINGS';
			IF origin IS NULL THEN
				RETURN;
			END IF;
		END IF;
	END IF;
	-- the matching series, each with its group (ranked in the order of the
	-- answer: group-by values, then unit) and its cardinality values
	-- (ranked, NULL as 0); the groups' units and group-by objects
	EXECUTE format($q$
		WITH m AS (SELECT s.series_id, s.counter_unit AS unit %1$s %2$s
					 FROM vscope.sample_series s
					WHERE %3$s AND s.counter_name = $1),
		r AS (SELECT m.*, dense_rank() OVER (ORDER BY %4$s unit)::integer AS grp %5$s FROM m),
		g AS (SELECT DISTINCT ON (grp) grp, unit, (%6$s)::text AS gb FROM r ORDER BY grp)
		SELECT (SELECT coalesce(array_agg(series_id ORDER BY series_id), '{}') FROM r),
			   (SELECT coalesce(array_agg(grp ORDER BY series_id), '{}') FROM r),
			   (SELECT coalesce(array_agg(unit ORDER BY grp), '{}') FROM g),
			   (SELECT coalesce(array_agg(gb ORDER BY grp), '{}') FROM g),
			   (SELECT coalesce(array_agg(c ORDER BY series_id, k), '{}')
				  FROM r, unnest(%7$s::integer[]) WITH ORDINALITY u(c, k))
		$q$,
		(SELECT coalesce(string_agg(format(', %s AS g%s', gexpr[i], i), ''), '') FROM generate_subscripts(gexpr, 1) i),
		(SELECT coalesce(string_agg(format(', s.%I AS c_%s', c, c), ''), '') FROM unnest(card) c),
		q.series_where,
		(SELECT coalesce(string_agg(format('g%s, ', i), ''), '') FROM generate_subscripts(gb, 1) i),
		(SELECT coalesce(string_agg(format(', coalesce(CASE WHEN c_%1$s IS NOT NULL THEN dense_rank() OVER (ORDER BY c_%1$s) END, 0)::integer AS r_%1$s', c), ''), '')
		   FROM unnest(card) c),
		gjson,
		CASE WHEN cardinality(card) = 0 THEN 'ARRAY[]'
			 ELSE 'ARRAY[' || (SELECT string_agg(format('r_%s', c), ', ') FROM unnest(card) c) || ']' END)
		INTO series, groups, units, groupbys, cards USING meter;
	lo := greatest(lo, q.x_lo);
	hi := least(hi, q.x_hi);
	q_start := q.q_start;
	q_end := q.q_end;
	selected := CASE WHEN cardinality(funcs) > 0 THEN funcs END;
	maxrows := vscope._ceilo_max_rows();
	only_seq := q.x_seq;
END
$$;
CREATE OR REPLACE FUNCTION vscope._ceilo_insert_samples(tenants integer[], series integer[], stamps timestamptz[],
	volumes double precision[], ids text[] DEFAULT NULL)
	RETURNS TABLE (pos integer, seq integer)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	lo timestamptz;
	hi timestamptz;
	-- the samples still to store: what they are, whether their id is ours
	t_ integer[];
	s_ integer[];
	ts_ timestamptz[];
	v_ double precision[];
	id_ text[];
	p_ integer[];
	c_ boolean[];
	q_ integer[];
	-- what was stored
	done_t integer[] := '{}'::integer[];
	done_s integer[] := '{}'::integer[];
	done_ts timestamptz[] := '{}'::timestamptz[];
	done_p integer[] := '{}'::integer[];
	done_q integer[] := '{}'::integer[];
	st_t integer[];
	st_s integer[];
	st_ts timestamptz[];
	st_p integer[];
	st_q integer[];
	left_p integer[];
	rounds integer := 0;
BEGIN
	IF coalesce(cardinality(tenants), 0) = 0 THEN
		RETURN;
	END IF;
	SELECT min(u), max(u) INTO lo, hi FROM unnest(stamps) u;
	-- an id given twice: its first sample only
	SELECT array_agg(x.t ORDER BY x.i), array_agg(x.s ORDER BY x.i), array_agg(x.ts ORDER BY x.i),
		   array_agg(x.v ORDER BY x.i), array_agg(x.id ORDER BY x.i), array_agg(x.i::integer ORDER BY x.i),
		   array_agg(false)
	  INTO t_, s_, ts_, v_, id_, p_, c_
	  FROM (SELECT u.*, row_number() OVER (PARTITION BY u.t, u.id ORDER BY u.i) AS nth
			  FROM unnest(tenants, series, stamps, volumes, ids) WITH ORDINALITY u(t, s, ts, v, id, i)) x
	 WHERE x.id IS NULL OR x.nth = 1;
	LOOP
		rounds := rounds + 1;
		IF rounds > 100 THEN
			RAISE EXCEPTION 'samples could not be given a free seq after 100 tries'
				USING ERRCODE = 'serialization_failure',
					  HINT = 'Other writers keep storing samples of the same series at the same times: retry.';
		END IF;
		-- seqs, and the ids claimed (or, in later rounds, moved to their new seq)
		EXECUTE $q$
			WITH v AS (
				SELECT * FROM unnest($1::integer[], $2::integer[], $3::timestamptz[], $4::double precision[],
									 $5::text[], $6::integer[], $7::boolean[]) u(t, s, ts, vol, id, pos, claimed)
			), alloc AS (
				-- the next free seq at the sample's time, then the samples of
				-- one time numbered in order
				-- (above the blocks' too, when a day of these times is
				-- compressed: the sample must not take the key of one there)
				SELECT v.*, (coalesce(greatest((SELECT max(x.seq) FROM vscope.samples x
												 WHERE x.tenant_id = v.t AND x.series_id = v.s AND x.ts = v.ts
												   AND x.ts >= $8 AND x.ts <= $9),
												CASE WHEN $10 THEN vscope._ceilo_block_max_seq(v.t, v.s, v.ts) END) + 1, 0)
							 + row_number() OVER (PARTITION BY v.t, v.s, v.ts ORDER BY v.pos) - 1)::integer AS seq
				  FROM v
			), claim AS (
				INSERT INTO vscope.sample_ids AS i (tenant_id, message_id, series_id, ts, seq)
				SELECT a.t, a.id, a.s, a.ts, a.seq FROM alloc a
				 WHERE a.id IS NOT NULL AND NOT a.claimed
				 ORDER BY a.t, a.id
				ON CONFLICT (tenant_id, message_id) DO NOTHING
				RETURNING i.tenant_id, i.message_id
			), moved AS (
				UPDATE vscope.sample_ids i SET seq = a.seq
				  FROM alloc a
				 WHERE a.claimed AND i.tenant_id = a.t AND i.message_id = a.id
			)
			SELECT array_agg(a.t ORDER BY a.pos), array_agg(a.s ORDER BY a.pos), array_agg(a.ts ORDER BY a.pos),
				   array_agg(a.vol ORDER BY a.pos), array_agg(a.id ORDER BY a.pos), array_agg(a.pos ORDER BY a.pos),
				   array_agg(a.seq ORDER BY a.pos)
			  FROM alloc a LEFT JOIN claim c ON c.tenant_id = a.t AND c.message_id = a.id
			 WHERE a.id IS NULL OR a.claimed OR c.message_id IS NOT NULL
			$q$
			INTO t_, s_, ts_, v_, id_, p_, q_
			USING t_, s_, ts_, v_, id_, p_, c_, lo, hi, vscope._ceilo_blocks_between(lo, hi);
		EXIT WHEN p_ IS NULL;
		-- the samples, in key order: writers storing at one time wait for
		-- each other rather than deadlock
		EXECUTE $q$
			WITH w AS (
				SELECT * FROM unnest($1::integer[], $2::integer[], $3::timestamptz[], $4::double precision[],
									 $5::integer[], $6::integer[]) u(t, s, ts, vol, pos, seq)
			), stored AS (
				INSERT INTO vscope.samples (tenant_id, series_id, ts, seq, volume)
				SELECT w.t, w.s, w.ts, w.seq, w.vol FROM w ORDER BY w.t, w.s, w.ts, w.seq
				ON CONFLICT DO NOTHING
				RETURNING tenant_id, series_id, ts, seq
			)
			SELECT array_agg(w.t) FILTER (WHERE st.seq IS NOT NULL), array_agg(w.s) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.ts) FILTER (WHERE st.seq IS NOT NULL), array_agg(w.pos) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.seq) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.pos) FILTER (WHERE st.seq IS NULL)
			  FROM w LEFT JOIN stored st ON st.tenant_id = w.t AND st.series_id = w.s AND st.ts = w.ts AND st.seq = w.seq
			$q$
			INTO st_t, st_s, st_ts, st_p, st_q, left_p
			USING t_, s_, ts_, v_, p_, q_;
		done_t := done_t || st_t;
		done_s := done_s || st_s;
		done_ts := done_ts || st_ts;
		done_p := done_p || st_p;
		done_q := done_q || st_q;
		EXIT WHEN left_p IS NULL;
		-- the samples that lost their seq, again (their ids are theirs already)
		SELECT array_agg(u.t ORDER BY u.pos), array_agg(u.s ORDER BY u.pos), array_agg(u.ts ORDER BY u.pos),
			   array_agg(u.vol ORDER BY u.pos), array_agg(u.id ORDER BY u.pos), array_agg(u.pos ORDER BY u.pos),
			   array_agg(true)
		  INTO t_, s_, ts_, v_, id_, p_, c_
		  FROM unnest(t_, s_, ts_, v_, id_, p_) u(t, s, ts, vol, id, pos)
		 WHERE u.pos = ANY (left_p);
	END LOOP;
	-- a compaction of a day that committed after the seqs were read may
	-- have moved another writer's sample with one of those seqs into a
	-- block (once a row is in, no compaction of its day can start before
	-- this commits): the two would share a message_id, so this request is
	-- refused, to be sent again (two posts to one series and instant during
	-- its day's compaction)
	IF vscope._ceilo_blocks_between(lo, hi) AND EXISTS (
			SELECT FROM unnest(done_t, done_s, done_ts, done_q) u(t, s, ts, q)
			 WHERE vscope._ceilo_block_max_seq(u.t, u.s, u.ts) >= u.q) THEN
		RAISE EXCEPTION 'samples of these series and times were compressed while these were being stored'
			USING ERRCODE = 'serialization_failure', HINT = 'Send the samples again.';
	END IF;
	PERFORM vscope._ceilo_span_widen(done_t, done_s, done_ts);
	RETURN QUERY SELECT u.p, u.q FROM unnest(done_p, done_q) u(p, q);
END
$$;
CREATE OR REPLACE FUNCTION vscope.ceilometer_add_events(events jsonb) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	e jsonb;
	t jsonb;
	traits jsonb;
	val text;
	ids text[] := '{}'::text[];
	mid text;
	gen timestamptz;
BEGIN
	IF tid IS NULL THEN
		RAISE EXCEPTION 'no tenant is selected' USING ERRCODE = 'VS401';
	END IF;
	IF jsonb_typeof(events) = 'object' THEN
		events := jsonb_build_array(events);
	END IF;
	IF jsonb_typeof(events) IS DISTINCT FROM 'array' OR jsonb_array_length(events) = 0 THEN
		PERFORM vscope._ceilo_fail('400', 'Events should be included in request body: a JSON list of events');
	END IF;
	FOR e IN SELECT x FROM jsonb_array_elements(events) x LOOP
		IF jsonb_typeof(e) <> 'object' OR jsonb_typeof(e -> 'event_type') IS DISTINCT FROM 'string'
		   OR jsonb_typeof(e -> 'generated') IS DISTINCT FROM 'string' THEN
			PERFORM vscope._ceilo_fail('400', 'Invalid event: each event needs an event_type and a generated time (strings)');
		END IF;
		IF jsonb_typeof(e -> 'message_id') NOT IN ('string', 'null')
		   OR octet_length(e ->> 'message_id') NOT BETWEEN 1 AND 255
		   OR octet_length(e ->> 'event_type') NOT BETWEEN 1 AND 255 THEN
			PERFORM vscope._ceilo_fail('400', 'Invalid event: event_type and message_id must be strings of 1 to 255 bytes');
		END IF;
		gen := vscope._ceilo_parse_ts(e ->> 'generated');
		IF gen IS NULL THEN
			PERFORM vscope._ceilo_fail('400', format('Invalid input for field/attribute generated. Value: ''%s''. invalid timestamp format', e ->> 'generated'));
		END IF;
		IF jsonb_typeof(coalesce(e -> 'traits', '[]')) <> 'array' THEN
			PERFORM vscope._ceilo_fail('400', 'Invalid event: traits must be a list');
		END IF;
		traits := '[]';
		FOR t IN SELECT x FROM jsonb_array_elements(coalesce(e -> 'traits', '[]')) x LOOP
			IF jsonb_typeof(t) <> 'object' OR jsonb_typeof(t -> 'name') IS DISTINCT FROM 'string'
			   OR coalesce(t ->> 'type', 'string') NOT IN ('string', 'integer', 'float', 'datetime')
			   OR jsonb_typeof(t -> 'value') IS NULL OR jsonb_typeof(t -> 'value') NOT IN ('string', 'number')
			   OR octet_length(t ->> 'name') NOT BETWEEN 1 AND 255 THEN
				PERFORM vscope._ceilo_fail('400', format('Invalid trait %s: it needs a name, a type (string, integer, float or datetime) and a value', t));
			END IF;
			val := vscope._ceilo_convert(t ->> 'value', coalesce(t ->> 'type', 'string'));
			traits := traits || jsonb_build_object('name', t ->> 'name', 'type', coalesce(t ->> 'type', 'string'), 'value', val);
		END LOOP;
		mid := coalesce(e ->> 'message_id', gen_random_uuid()::text);
		-- sorted first: Citus plans no subquery inside INSERT ... VALUES
		traits := (SELECT coalesce(jsonb_agg(x ORDER BY x ->> 'name', x ->> 'value'), '[]') FROM jsonb_array_elements(traits) x);
		INSERT INTO vscope.events (tenant_id, message_id, event_type, generated, traits, raw)
			VALUES (tid, mid, e ->> 'event_type', gen, traits, coalesce(e -> 'raw', '{}'));
		ids := ids || mid;
	END LOOP;
	RETURN to_json(ids);
EXCEPTION WHEN unique_violation THEN
	RAISE EXCEPTION USING ERRCODE = 'VS409',
		MESSAGE = format('An event with message_id %s exists already', mid);
END
$$;
CREATE OR REPLACE FUNCTION vscope.ceilometer_list_samples(args jsonb DEFAULT '{}', meter text DEFAULT NULL,
											   old_style boolean DEFAULT false)
	RETURNS json LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'samples');
	lim integer := vscope._ceilo_limit(vscope._ceilo_arg(args, 'limit'));
	lo timestamptz;
	hi timestamptz;
	width interval := interval '86400 seconds';
	from_ts timestamptz;
	n bigint;
	r json;
BEGIN
	-- where the matching series have samples (vscope.sample_span), within
	-- the query's range: nothing there, nothing to list
	-- plpgsql_check: the WHERE fragments come from vscope._ceilo_query, which quotes every value (%L) and names only whitelisted columns (%I); lim is an integer
	PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
	EXECUTE format(
		'SELECT min(k.first_ts), max(k.last_ts)
		   FROM vscope.sample_series s
		   JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
		  WHERE %s AND ($1 IS NULL OR s.counter_name = $1)', q.series_where)
		INTO lo, hi USING meter;
	PERFORM 'PRAGMA:ENABLE:SECURITY_WARNINGS';
	lo := greatest(lo, q.w_start);
	hi := least(hi, q.w_end);
	IF lo IS NULL OR lo > hi THEN
		RETURN '[]'::json;
	END IF;
	-- newest first: the last day of that range, then four times as much
	-- back each round until the limit is met or the range is covered.
	-- The reader plans only the partitions of a round's days and reads
	-- the newest rows by the (tenant_id, ts) index and the blocks that end
	-- last, newest first.  Rows before a round's start are older than
	-- every row in it, so a round that fills the limit has the answer.
	LOOP
		from_ts := CASE WHEN width >= hi - lo THEN lo ELSE hi - width END;
		-- plpgsql_check: the WHERE fragments come from vscope._ceilo_query, which quotes every value (%L) and names only whitelisted columns (%I); lim is an integer
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
		EXECUTE format(
			'SELECT coalesce(json_agg(vscope._ceilo_sample_json(s, x, $2) ORDER BY (x).ts DESC, (x).series_id, (x).seq), ''[]''),
					count(*)
			   FROM (SELECT s, x FROM vscope.sample_series s
					   JOIN vscope._ceilo_read_samples(ARRAY(SELECT s.series_id FROM vscope.sample_series s
															  WHERE %1$s AND ($1 IS NULL OR s.counter_name = $1)),
													   greatest($3, $5), least($4, $6), $7) x USING (tenant_id, series_id)
					  WHERE %1$s AND %2$s AND x.ts >= $3 AND x.ts <= $4 AND ($1 IS NULL OR s.counter_name = $1)
					  ORDER BY x.ts DESC, x.series_id, x.seq LIMIT %3$s) y(s, x)',
			q.series_where, q.sample_where, lim)
			INTO r, n USING meter, old_style, from_ts, hi, q.x_lo, q.x_hi,
							-- the reader keeps the newest lim (unless a seq is to be matched)
							CASE WHEN q.x_seq IS NULL THEN lim END;
		PERFORM 'PRAGMA:ENABLE:SECURITY_WARNINGS';
		EXIT WHEN n >= lim OR from_ts = lo;
		width := width * 4;
	END LOOP;
	RETURN r;
END
$$;
CREATE OR REPLACE FUNCTION vscope._ceilo_series_ids(tenants integer[], meters text[], types text[], units text[],
	resources text[], projects text[], users text[], sources text[], metadata jsonb[])
	RETURNS integer[] LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	keys bytea[];
	ids integer[];
	fresh integer[];		-- the positions of the first samples of new series, in order
	numbers bigint[];
BEGIN
	SELECT array_agg(sha256(convert_to(jsonb_build_array(u.m, u.ty, u.un, u.r, u.p, u.us, u.src, u.md)::text, 'UTF8'))
					 ORDER BY u.i)
	  INTO keys
	  FROM unnest(meters, types, units, resources, projects, users, sources, metadata)
		   WITH ORDINALITY u(m, ty, un, r, p, us, src, md, i);
	-- the series that exist are read first (MATERIALIZED: on Citus, from
	-- the shards of these tenants), and matched to the samples after: Citus
	-- takes no subquery correlated with unnest()
	WITH known AS MATERIALIZED (
		SELECT s.tenant_id, s.skey FROM vscope.sample_series s
		 WHERE s.tenant_id = ANY (tenants) AND s.skey = ANY (keys))
	SELECT array_agg(f.i::integer ORDER BY f.i) INTO fresh
	  FROM (SELECT DISTINCT ON (u.t, u.k) u.i
			  FROM unnest(tenants, keys) WITH ORDINALITY u(t, k, i)
			 WHERE NOT EXISTS (SELECT FROM known s WHERE s.tenant_id = u.t AND s.skey = u.k)
			 ORDER BY u.t, u.k, u.i) f;
	IF fresh IS NOT NULL THEN
		-- one number each, ascending in the order the series come
		numbers := ARRAY(SELECT nextval(pg_get_serial_sequence('vscope.sample_series', 'series_id'))
						   FROM generate_series(1, cardinality(fresh)));
		INSERT INTO vscope.sample_series (tenant_id, series_id, counter_name, counter_type, counter_unit,
										  resource_id, project_id, user_id, source, resource_metadata, skey)
		SELECT u.t, f.n, u.m, u.ty, u.un, u.r, u.p, u.us, u.src, u.md, u.k
		  FROM unnest(tenants, meters, types, units, resources, projects, users, sources, metadata, keys)
			   WITH ORDINALITY u(t, m, ty, un, r, p, us, src, md, k, i)
		  JOIN unnest(fresh, numbers) f(i, n) ON f.i = u.i
		 ORDER BY u.t, u.k
		ON CONFLICT (tenant_id, skey) DO NOTHING;
	END IF;
	WITH known AS MATERIALIZED (
		SELECT s.tenant_id, s.skey, s.series_id FROM vscope.sample_series s
		 WHERE s.tenant_id = ANY (tenants) AND s.skey = ANY (keys))
	SELECT array_agg(s.series_id ORDER BY u.i) INTO ids
	  FROM unnest(tenants, keys) WITH ORDINALITY u(t, k, i)
	  JOIN known s ON s.tenant_id = u.t AND s.skey = u.k;
	IF coalesce(cardinality(ids), 0) <> coalesce(cardinality(tenants), 0) THEN
		RAISE EXCEPTION 'a sample series could not be found or made'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The samples name a tenant this session may not write to.';
	END IF;
	RETURN ids;
END
$$;
CREATE OR REPLACE FUNCTION vscope.ceilometer_publish_samples(body text, routing text DEFAULT 'tenant') RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	b jsonb;
	tid integer := vscope.current_tenant();
	home_name text;
	future interval := coalesce(current_setting('vscope.max_future', true), '7d')::interval;
	oldest timestamptz := now() - vscope.retention();
	nonfinite boolean := strpos(body, 'NaN') > 0 OR strpos(body, 'Infinity') > 0;
	n integer;
	good integer;
	rejected jsonb;
	projects text[];
	tenants integer[];
	meters text[];
	types text[];
	units text[];
	resources text[];
	users text[];
	sources text[];
	metas jsonb[];
	stamps timestamptz[];
	volumes float8[];
	ids text[];
	sids integer[];
	stored integer;
BEGIN
	PERFORM vscope._ceilo_publish_routing(routing);
	b := vscope._ceilo_publish_items(body, 'samples');
	n := jsonb_array_length(b);
	SELECT t.name INTO home_name FROM vscope.tenants t WHERE t.tenant_id = tid;
	-- every item checked on its own: its first problem, or its fields
	WITH items AS (
		SELECT (a.i - 1)::integer AS i, a.e,
			   CASE WHEN jsonb_typeof(a.e -> 'timestamp') = 'string' THEN vscope._ceilo_parse_ts(a.e ->> 'timestamp') END AS ts,
			   CASE jsonb_typeof(a.e -> 'volume')
				   WHEN 'number' THEN (a.e ->> 'volume')::numeric
				   WHEN 'string' THEN vscope._ceilo_num(a.e ->> 'volume') END AS vol,
			   CASE WHEN jsonb_typeof(a.e -> 'project_id') = 'string' THEN a.e ->> 'project_id' END AS project
		  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i)
	), checked AS (
		SELECT it.*, CASE
			WHEN jsonb_typeof(it.e) <> 'object' THEN
				format('a sample is a JSON object, not %s', jsonb_typeof(it.e))
			WHEN jsonb_typeof(it.e -> 'name') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'name') NOT BETWEEN 1 AND 255 THEN
				'name: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'type') IS DISTINCT FROM 'string' OR it.e ->> 'type' NOT IN ('gauge', 'delta', 'cumulative') THEN
				format('type: gauge, delta or cumulative, not %s', coalesce((it.e -> 'type')::text, 'nothing'))
			WHEN jsonb_typeof(it.e -> 'unit') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'unit') > 255 THEN
				'unit: a string of at most 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'volume') = 'object' AND it.e -> 'volume' ? 'vscope:nonfinite' THEN
				format('volume: %s is not a finite number', it.e -> 'volume' ->> 'vscope:nonfinite')
			WHEN it.vol IS NULL THEN
				format('volume: a number is needed, not %s', coalesce((it.e -> 'volume')::text, 'nothing'))
			WHEN NOT (it.vol = 0 OR abs(it.vol) BETWEEN 2.2250738585072014e-308 AND 1.7976931348623157e308) THEN
				format('volume: %s is out of the range of a double precision number', it.e ->> 'volume')
			WHEN jsonb_typeof(it.e -> 'resource_id') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'resource_id') NOT BETWEEN 1 AND 255 THEN
				'resource_id: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'project_id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'project_id') > 255 THEN
				'project_id: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'user_id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'user_id') > 255 THEN
				'user_id: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'source') NOT IN ('string', 'null') OR octet_length(it.e ->> 'source') > 255 THEN
				'source: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'id') NOT BETWEEN 1 AND 255 THEN
				'id: a string of 1 to 255 bytes, or null, is needed'
			WHEN it.ts IS NULL THEN
				format('timestamp: %s is not an ISO 8601 time', coalesce((it.e -> 'timestamp')::text, 'nothing'))
			WHEN jsonb_typeof(it.e -> 'resource_metadata') NOT IN ('object', 'null') THEN
				format('resource_metadata: an object (or null) is needed, not %s', jsonb_typeof(it.e -> 'resource_metadata'))
			WHEN pg_column_size(it.e -> 'resource_metadata') > 65536 THEN
				'resource_metadata: larger than 64 kB'
			WHEN nonfinite AND strpos(it.e::text, '{"vscope:nonfinite": ') > 0 THEN
				'NaN or Infinity, which JSON does not have, in the sample'
			WHEN it.ts > now() + future THEN
				format('timestamp: %s is more than vscope.max_future (%s) ahead', it.e ->> 'timestamp', future)
			WHEN it.ts < oldest THEN
				format('timestamp: %s is older than vscope.retention (%s)', it.e ->> 'timestamp', vscope.retention())
			ELSE vscope._ceilo_publish_project_problem(it.project, routing, home_name)
			END AS err
		  FROM items it
	), days AS (
		-- only to a day that has its partition: a request never makes one
		SELECT d.day, vscope._day_not_writable(d.day, 'samples') AS err
		  FROM (SELECT DISTINCT date_trunc('day', c.ts, 'UTC') AS day FROM checked c WHERE c.err IS NULL) d
	), final AS (
		SELECT c.*, coalesce(c.err, 'timestamp: ' || d.err) AS problem
		  FROM checked c LEFT JOIN days d ON d.day = date_trunc('day', c.ts, 'UTC') AND c.err IS NULL
	)
	SELECT (count(*) FILTER (WHERE f.problem IS NULL))::integer,
		   jsonb_agg(jsonb_build_object('index', f.i, 'id', CASE WHEN jsonb_typeof(f.e -> 'id') = 'string' THEN f.e -> 'id' END,
										'error', f.problem) ORDER BY f.i) FILTER (WHERE f.problem IS NOT NULL),
		   array_agg(f.project ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'name' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'type' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'unit' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'resource_id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'user_id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'source' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(coalesce(nullif(f.e -> 'resource_metadata', 'null'), '{}') ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.ts ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.vol::float8 ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL)
	  INTO good, rejected, projects, meters, types, units, resources, users, sources, metas, stamps, volumes, ids
	  FROM final f;
	stored := 0;
	IF good > 0 THEN
		tenants := vscope._ceilo_publish_tenants(projects, routing);
		sids := vscope._ceilo_series_ids(tenants, meters, types, units, resources, projects, users, sources, metas);
		SELECT count(*)::integer INTO stored FROM vscope._ceilo_insert_samples(tenants, sids, stamps, volumes, ids);
	END IF;
	RETURN vscope._ceilo_publish_answer(n, good, stored, rejected, 'sample');
END
$$;
CREATE OR REPLACE FUNCTION vscope.ceilometer_publish_events(body text, routing text DEFAULT 'tenant') RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	b jsonb;
	tid integer := vscope.current_tenant();
	home_name text;
	nonfinite boolean := strpos(body, 'NaN') > 0 OR strpos(body, 'Infinity') > 0;
	n integer;
	good integer;
	rejected jsonb;
	projects text[];
	tenants integer[];
	mids text[];
	types text[];
	gens timestamptz[];
	traits jsonb[];
	raws jsonb[];
	stored integer;
BEGIN
	PERFORM vscope._ceilo_publish_routing(routing);
	b := vscope._ceilo_publish_items(body, 'events');
	n := jsonb_array_length(b);
	SELECT t.name INTO home_name FROM vscope.tenants t WHERE t.tenant_id = tid;
	WITH items AS (
		SELECT (a.i - 1)::integer AS i, a.e,
			   CASE WHEN jsonb_typeof(a.e -> 'generated') = 'string' THEN vscope._ceilo_parse_ts(a.e ->> 'generated') END AS gen
		  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i)
	), converted AS (
		SELECT it.*, tr.traits, tr.terr, tr.project
		  FROM items it
		  LEFT JOIN LATERAL (
			SELECT coalesce(jsonb_agg(c.t ORDER BY c.t ->> 'name', c.t ->> 'value') FILTER (WHERE NOT c.t ? 'error'), '[]') AS traits,
				   (array_agg(c.t ->> 'error' ORDER BY x.o) FILTER (WHERE c.t ? 'error'))[1] AS terr,
				   min(c.t ->> 'value') FILTER (WHERE c.t ->> 'name' = 'project_id' AND c.t ->> 'type' = 'string') AS project
			  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(it.e -> 'traits') = 'array' THEN it.e -> 'traits' ELSE '[]' END)
				   WITH ORDINALITY x(t, o)
			 CROSS JOIN LATERAL (SELECT vscope._ceilo_publish_trait(x.t) AS t) c
			 WHERE c.t IS NOT NULL) tr ON true
	), checked AS (
		SELECT cv.*, CASE
			WHEN jsonb_typeof(cv.e) <> 'object' THEN
				format('an event is a JSON object, not %s', jsonb_typeof(cv.e))
			WHEN jsonb_typeof(cv.e -> 'event_type') IS DISTINCT FROM 'string' OR octet_length(cv.e ->> 'event_type') NOT BETWEEN 1 AND 255 THEN
				'event_type: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(cv.e -> 'message_id') NOT IN ('string', 'null') OR octet_length(cv.e ->> 'message_id') NOT BETWEEN 1 AND 255 THEN
				'message_id: a string of 1 to 255 bytes, or null, is needed'
			WHEN cv.gen IS NULL THEN
				format('generated: %s is not an ISO 8601 time', coalesce((cv.e -> 'generated')::text, 'nothing'))
			WHEN jsonb_typeof(cv.e -> 'traits') NOT IN ('array', 'null') THEN
				'traits: a list of [name, dtype, value] is needed'
			WHEN cv.terr IS NOT NULL THEN
				'traits: ' || cv.terr
			WHEN nonfinite AND strpos(cv.e::text, '{"vscope:nonfinite": ') > 0 THEN
				'NaN or Infinity, which JSON does not have, in the event'
			ELSE vscope._ceilo_publish_project_problem(cv.project, routing, home_name)
			END AS problem
		  FROM converted cv
	)
	SELECT (count(*) FILTER (WHERE c.problem IS NULL))::integer,
		   jsonb_agg(jsonb_build_object('index', c.i, 'id', CASE WHEN jsonb_typeof(c.e -> 'message_id') = 'string' THEN c.e -> 'message_id' END,
										'error', c.problem) ORDER BY c.i) FILTER (WHERE c.problem IS NOT NULL),
		   array_agg(c.project ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(coalesce(c.e ->> 'message_id', gen_random_uuid()::text) ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.e ->> 'event_type' ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.gen ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.traits ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(coalesce(nullif(c.e -> 'raw', 'null'), '{}') ORDER BY c.i) FILTER (WHERE c.problem IS NULL)
	  INTO good, rejected, projects, mids, types, gens, traits, raws
	  FROM checked c;
	stored := 0;
	IF good > 0 THEN
		tenants := vscope._ceilo_publish_tenants(projects, routing);
		WITH ins AS (
			INSERT INTO vscope.events (tenant_id, message_id, event_type, generated, traits, raw)
			SELECT u.t, u.mid, u.ty, u.gen, u.tr, u.raw
			  FROM unnest(tenants, mids, types, gens, traits, raws) u(t, mid, ty, gen, tr, raw)
			 ORDER BY u.t, u.mid
			ON CONFLICT (tenant_id, message_id) DO NOTHING
			RETURNING 1
		)
		SELECT count(*)::integer INTO stored FROM ins;
	END IF;
	RETURN vscope._ceilo_publish_answer(n, good, stored, rejected, 'event');
END
$$;
CREATE OR REPLACE FUNCTION vscope.ceilometer_list_meters(args jsonb DEFAULT '{}') RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	q record := vscope._ceilo_query(coalesce(args, '{}'), 'meters');
	lim integer := vscope._ceilo_limit(vscope._ceilo_arg(args, 'limit'));
	uniq text := lower(vscope._ceilo_arg(args, 'unique'));
	r json;
BEGIN
	IF uniq IN ('true', 't', 'yes', 'y', 'on', '1') THEN
		-- plpgsql_check: the WHERE fragments come from vscope._ceilo_query, which quotes every value (%L) and names only whitelisted columns (%I); lim is an integer
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
		EXECUTE format(
			'SELECT coalesce(json_agg(json_build_object(''name'', counter_name, ''type'', counter_type,
					''unit'', counter_unit, ''resource_id'', NULL, ''project_id'', NULL, ''user_id'', NULL,
					''source'', NULL,
					''meter_id'', vscope._ceilo_meter_id(NULL, counter_name))
					ORDER BY counter_name), ''[]'')
			   FROM (SELECT DISTINCT ON (s.counter_name) s.counter_name, s.counter_type, s.counter_unit
					   FROM vscope.sample_series s
					  WHERE %s AND EXISTS (SELECT FROM vscope.sample_span k
											WHERE k.tenant_id = s.tenant_id AND k.series_id = s.series_id)
					  ORDER BY s.counter_name, s.series_id DESC LIMIT %s) m',
			q.series_where, lim) INTO r;
		PERFORM 'PRAGMA:ENABLE:SECURITY_WARNINGS';
	ELSE
		-- plpgsql_check: the WHERE fragments come from vscope._ceilo_query, which quotes every value (%L) and names only whitelisted columns (%I); lim is an integer
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
		EXECUTE format(
			'SELECT coalesce(json_agg(json_build_object(''name'', counter_name, ''type'', counter_type,
					''unit'', counter_unit, ''resource_id'', resource_id, ''project_id'', project_id,
					''user_id'', user_id, ''source'', source,
					''meter_id'', vscope._ceilo_meter_id(resource_id, counter_name))
					ORDER BY counter_name, resource_id), ''[]'')
			   FROM (SELECT DISTINCT ON (s.counter_name, s.resource_id) s.*
					   FROM vscope.sample_series s
					   JOIN vscope.sample_span k ON k.tenant_id = s.tenant_id AND k.series_id = s.series_id
					  WHERE %s
					  ORDER BY s.counter_name, s.resource_id, k.last_ts DESC, s.series_id DESC LIMIT %s) m',
			q.series_where, lim) INTO r;
		PERFORM 'PRAGMA:ENABLE:SECURITY_WARNINGS';
	END IF;
	RETURN r;
END
$$;
CREATE OR REPLACE FUNCTION vscope._ceilo_run_events(cond text, lim integer) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	r json;
BEGIN
	-- plpgsql_check: cond is made by ceilometer_list_events from whitelisted fields and %L literals; the function runs with its caller's rights
	PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
	EXECUTE format('SELECT coalesce(json_agg(vscope._ceilo_event_json(e) ORDER BY e.generated, e.message_id), ''[]'')
					  FROM (SELECT * FROM vscope.events e WHERE %s ORDER BY e.generated, e.message_id LIMIT %s) e',
				   cond, lim) INTO r;
	PERFORM 'PRAGMA:ENABLE:SECURITY_WARNINGS';
	RETURN r;
END
$$;
CREATE OR REPLACE FUNCTION vscope._ceilo_fail(status text, message text) RETURNS void
	LANGUAGE plpgsql VOLATILE
	AS $$
BEGIN	-- @plpgsql_check_options: performance_warnings = false
	RAISE EXCEPTION USING ERRCODE = 'VS' || status, MESSAGE = message;
END
$$;
CREATE OR REPLACE FUNCTION vscope.tsdb_tsmeta(method text, body text DEFAULT NULL, args jsonb DEFAULT '{}',
								   OUT status integer, OUT answer json)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	req jsonb := vscope._tsdb_body(body);
	sid integer;
	p record;
	missing text;
	f jsonb;
	key_ text;
	lim integer;
	v text;
	ret integer;
	mx double precision;
	mn double precision;
	chg boolean;
BEGIN
	IF method NOT IN ('GET', 'POST', 'PUT', 'DELETE') THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405',
			DETAIL = format('The HTTP method [%s] is not permitted for this endpoint', method);
	END IF;
	IF req IS NOT NULL AND jsonb_typeof(req) <> 'object' THEN
		RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400';
	END IF;
	IF method = 'GET' THEN
		IF args ? 'tsuid' THEN
			sid := vscope._tsdb_tsuid_id(vscope._tsdb_arg(args, 'tsuid'));
			PERFORM FROM vscope.series s WHERE s.tenant_id = tid AND s.series_id = sid;
			IF sid IS NULL OR NOT FOUND THEN
				RAISE EXCEPTION 'Could not find Timeseries meta data' USING ERRCODE = 'VS404';
			END IF;
			status := 200;
			answer := (SELECT j.meta FROM vscope._tsdb_tsmeta_json(ARRAY[sid]) j)::json;
			RETURN;
		END IF;
		SELECT * INTO p FROM vscope._tsdb_parse_series(vscope._tsdb_required_arg(args, 'm'));
		missing := vscope._tsdb_missing_name(p.metric, p.tags);
		IF missing IS NOT NULL THEN
			RAISE EXCEPTION 'Unable to find one of the UIDs' USING ERRCODE = 'VS404', DETAIL = missing;
		END IF;
		status := 200;
		answer := ('[' || coalesce((SELECT string_agg(j.meta, ',' ORDER BY j.series_id)
									  FROM vscope._tsdb_tsmeta_json(ARRAY(
										   SELECT s.series_id FROM vscope.series s
											WHERE s.tenant_id = tid AND s.metric = p.metric AND s.tags @> p.tags)) j), '')
				   || ']')::json;
		RETURN;
	END IF;

	-- the fields: the body's, or the query string's (OpenTSDB's names)
	IF req IS NOT NULL THEN
		f := req;
		IF f ? 'custom' THEN
			f := jsonb_set(f, '{custom}', coalesce(vscope._tsdb_custom(f->'custom'), 'null'));
		END IF;
		BEGIN
			ret := trunc((f->>'retention')::numeric)::integer;
			mx := (f->>'max')::double precision;
			mn := (f->>'min')::double precision;
		EXCEPTION WHEN data_exception THEN
			RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400',
				DETAIL = 'retention is a whole number, max and min are numbers.';
		END;
	ELSE
		f := jsonb_strip_nulls(jsonb_build_object(
			'tsuid', vscope._tsdb_arg(args, 'tsuid'),
			'displayName', vscope._tsdb_arg(args, 'display_name'),
			'description', vscope._tsdb_arg(args, 'description'),
			'notes', vscope._tsdb_arg(args, 'notes'),
			'units', vscope._tsdb_arg(args, 'units'),
			'dataType', vscope._tsdb_arg(args, 'data_type')));
		FOREACH v IN ARRAY ARRAY['retention', 'max', 'min'] LOOP
			CONTINUE WHEN coalesce(vscope._tsdb_arg(args, v), '') = '';
			BEGIN
				IF v = 'retention' THEN
					ret := vscope._tsdb_arg(args, v)::integer;
				ELSIF v = 'max' THEN
					mx := vscope._tsdb_arg(args, v)::real::double precision;
				ELSE
					mn := vscope._tsdb_arg(args, v)::real::double precision;
				END IF;
			EXCEPTION WHEN data_exception THEN
				RAISE EXCEPTION 'Unable to parse ''%'' value', v USING ERRCODE = 'VS400';
			END;
		END LOOP;
	END IF;

	IF method = 'DELETE' THEN
		IF coalesce(f->>'tsuid', '') = '' THEN
			RAISE EXCEPTION 'Unable to delete TSMeta information' USING ERRCODE = 'VS400', DETAIL = 'Missing UID';
		END IF;
		DELETE FROM vscope.series_meta x WHERE x.tenant_id = tid AND x.series_id = vscope._tsdb_tsuid_id(f->>'tsuid');
		status := 204;
		RETURN;
	END IF;

	-- a field counts as set when it differs from its default, as OpenTSDB's
	-- setters count it; a write that sets none changes nothing (its 304)
	chg := coalesce(f->>'displayName', '') <> '' OR coalesce(f->>'description', '') <> ''
		   OR coalesce(f->>'notes', '') <> '' OR coalesce(f->>'units', '') <> ''
		   OR coalesce(f->>'dataType', '') <> '' OR coalesce(ret, 0) <> 0
		   OR mx IS NOT NULL OR mn IS NOT NULL OR coalesce(jsonb_typeof(f->'custom') = 'object', false);
	-- POST or PUT: by tsuid, or by m= (create=true makes the series)
	IF coalesce(f->>'tsuid', '') = '' THEN
		SELECT * INTO p FROM vscope._tsdb_parse_series(vscope._tsdb_required_arg(args, 'm'));
		missing := vscope._tsdb_missing_name(p.metric, p.tags);
		IF missing IS NOT NULL THEN
			RAISE EXCEPTION 'Unable to find one or more UIDs' USING ERRCODE = 'VS404', DETAIL = missing;
		END IF;
		-- the series' canonical key, as store/series.c writes it (its
		-- delimiters and % percent-encoded inside the names)
		key_ := vscope._tsdb_key_part(p.metric) || '{'
				|| coalesce((SELECT string_agg(vscope._tsdb_key_part(e.key) || '=' || vscope._tsdb_key_part(e.value),
											   ',' ORDER BY e.key COLLATE "C")
							   FROM jsonb_each_text(p.tags) e), '') || '}';
		SELECT s.series_id INTO sid FROM vscope.series s WHERE s.tenant_id = tid AND s.skey = key_;
		IF sid IS NULL THEN
			IF vscope._tsdb_arg(args, 'create') IS DISTINCT FROM 'true' THEN
				RAISE EXCEPTION 'Could not find TSMeta, specify "create=true" to create a new one.' USING ERRCODE = 'VS400';
			END IF;
			lim := current_setting('vscope.max_tags')::integer;
			IF (SELECT count(*) FROM jsonb_object_keys(p.tags)) > lim THEN
				RAISE EXCEPTION 'Too many tags: % maximum allowed: %', (SELECT count(*) FROM jsonb_object_keys(p.tags)), lim
					USING ERRCODE = 'VS400';
			END IF;
			-- a new series, numbered and counted as a write would make it
			SELECT c.series_id INTO sid FROM vscope._create_series(ARRAY[key_], ARRAY[p.metric], ARRAY[p.tags::text]) c;
		ELSIF NOT chg THEN
			status := 304;
			RETURN;
		END IF;
	ELSE
		sid := vscope._tsdb_tsuid_id(f->>'tsuid');
		IF NOT chg THEN
			status := 304;
			RETURN;
		END IF;
		PERFORM FROM vscope.series s WHERE s.tenant_id = tid AND s.series_id = sid;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'Requested TSMeta did not exist' USING ERRCODE = 'VS400';
		END IF;
	END IF;
	INSERT INTO vscope.series_meta AS x (tenant_id, series_id, display_name, description, notes, custom,
										 units, data_type, retention, max, min)
	VALUES (tid, sid, coalesce(f->>'displayName', ''), coalesce(f->>'description', ''),
			coalesce(f->>'notes', ''), nullif(f->'custom', 'null'), coalesce(f->>'units', ''),
			coalesce(f->>'dataType', ''), coalesce(ret, 0), coalesce(mx, 'NaN'), coalesce(mn, 'NaN'))
	ON CONFLICT (tenant_id, series_id) DO UPDATE SET
		display_name = CASE WHEN method = 'PUT' OR coalesce(f->>'displayName', '') <> '' THEN excluded.display_name ELSE x.display_name END,
		description = CASE WHEN method = 'PUT' OR coalesce(f->>'description', '') <> '' THEN excluded.description ELSE x.description END,
		notes = CASE WHEN method = 'PUT' OR coalesce(f->>'notes', '') <> '' THEN excluded.notes ELSE x.notes END,
		custom = CASE WHEN method = 'PUT' OR jsonb_typeof(f->'custom') = 'object' THEN excluded.custom ELSE x.custom END,
		units = CASE WHEN method = 'PUT' OR coalesce(f->>'units', '') <> '' THEN excluded.units ELSE x.units END,
		data_type = CASE WHEN method = 'PUT' OR coalesce(f->>'dataType', '') <> '' THEN excluded.data_type ELSE x.data_type END,
		retention = CASE WHEN method = 'PUT' OR coalesce(ret, 0) <> 0 THEN excluded.retention ELSE x.retention END,
		max = CASE WHEN method = 'PUT' OR mx IS NOT NULL THEN excluded.max ELSE x.max END,
		min = CASE WHEN method = 'PUT' OR mn IS NOT NULL THEN excluded.min ELSE x.min END;
	status := 200;
	answer := (SELECT j.meta FROM vscope._tsdb_tsmeta_json(ARRAY[sid]) j)::json;
END
$$;
CREATE OR REPLACE FUNCTION vscope._ceilo_json(body text) RETURNS jsonb
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	RETURN body::jsonb;
EXCEPTION
	WHEN invalid_text_representation OR untranslatable_character OR character_not_in_repertoire THEN
		RAISE EXCEPTION USING ERRCODE = 'VS400', MESSAGE = 'Invalid input: the body is not valid JSON';
	WHEN statement_too_complex OR program_limit_exceeded THEN
		RAISE EXCEPTION USING ERRCODE = 'VS400', MESSAGE = 'Invalid input: the body is nested too deeply';
END
$$;
CREATE OR REPLACE FUNCTION vscope._ceilo_convert(v text, typ text, exact boolean DEFAULT false) RETURNS text
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n numeric := vscope._ceilo_num(v);
BEGIN
	CASE typ
	WHEN 'string' THEN
		RETURN v;
	WHEN 'integer' THEN
		IF exact AND v ~ '^\s*[-+]?\d{1,30}\s*$' THEN
			RETURN v::numeric::text;
		ELSIF v ~ '^\s*[-+]?\d{1,18}\s*$' THEN
			RETURN v::bigint::text;
		END IF;
	WHEN 'float' THEN
		IF exact AND n IS NOT NULL THEN
			RETURN n::text;
		-- what double precision holds: no overflow, no underflow to zero
		ELSIF n = 0 OR abs(n) BETWEEN 2.2250738585072014e-308 AND 1.7976931348623157e308 THEN
			RETURN n::float8::text;
		END IF;
	WHEN 'boolean' THEN
		IF vscope._ceilo_bool(v) IS NOT NULL THEN
			RETURN vscope._ceilo_bool(v)::text;
		END IF;
	WHEN 'datetime' THEN
		IF vscope._ceilo_parse_ts(v) IS NOT NULL THEN
			RETURN vscope._ceilo_ts(vscope._ceilo_parse_ts(v));
		END IF;
	ELSE
		NULL;
	END CASE;
	RAISE EXCEPTION USING ERRCODE = 'VS400',
		MESSAGE = format('Unable to convert the value %s to the expected data type %s.', v, typ);
END
$$;
ALTER FUNCTION vscope._ceilo_limit(text) STABLE;
ALTER FUNCTION vscope.tsdb_lookup(jsonb) VOLATILE;

--------------------------------------------------------------------------------
-- Defence in depth: vscoped's login role no longer holds a BYPASSRLS role.
-- Its cross-tenant paths (Coopr's superadmin, Ceilometer publishers routing
-- to their projects' tenants) run as vscope_cloud, which has no BYPASSRLS and
-- goes through SECURITY DEFINER twins owned by vscope_superadmin.
--------------------------------------------------------------------------------
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vscope_cloud') THEN
		CREATE ROLE vscope_cloud NOLOGIN NOBYPASSRLS IN ROLE vscope_admin;
	END IF;
	GRANT vscope_cloud TO vscope_authenticator;
	IF EXISTS (SELECT FROM pg_catalog.pg_auth_members
				WHERE roleid = 'vscope_superadmin'::regrole AND member = 'vscope_authenticator'::regrole) THEN
		REVOKE vscope_superadmin FROM vscope_authenticator;
	END IF;
END
$roles$;

-- whether the caller acts across tenants as vscope_cloud (through the
-- SECURITY DEFINER twins of the functions it may call) rather than with
-- vscope_superadmin's BYPASSRLS, which superusers have too
CREATE FUNCTION vscope._cloud_caller() RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_has_role(current_user, 'vscope_cloud', 'MEMBER')
	   AND NOT pg_has_role(current_user, 'vscope_superadmin', 'MEMBER')
$$;
COMMENT ON FUNCTION vscope._cloud_caller() IS 'internal: whether the current role is vscope_cloud (cross-tenant through SECURITY DEFINER functions only) rather than one with BYPASSRLS';

CREATE OR REPLACE FUNCTION vscope.coopr_authenticate(tenant text, user_id text, apikey text)
	RETURNS TABLE (tenant_id integer, db_role text)
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT t.tenant_id,
		   CASE WHEN u.user_id = 'admin' AND t.name = 'superadmin' THEN 'vscope_cloud'
				WHEN u.user_id = 'admin' THEN 'vscope_admin'
				ELSE 'vscope_reader' END
	  FROM vscope.tenants t JOIN vscope.coopr_users u USING (tenant_id)
	 WHERE t.name = coopr_authenticate.tenant AND u.user_id = coopr_authenticate.user_id
	   AND u.apikey_hash = sha256(convert_to(coalesce(apikey, ''), 'UTF8'))
$$;

CREATE OR REPLACE FUNCTION vscope.coopr_create_apikey(tenant text, user_id text) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	tid integer;
	key text;
	-- the time a value: Citus takes no now() in ON CONFLICT DO UPDATE
	made timestamptz := now();
BEGIN
	-- vscope_cloud, which vscoped's cross-tenant paths run as, holds no
	-- BYPASSRLS: it goes through the SECURITY DEFINER twin
	IF vscope._cloud_caller() THEN
		RETURN vscope._cloud_coopr_create_apikey(coopr_create_apikey.tenant, coopr_create_apikey.user_id);
	END IF;
	IF coalesce(user_id, '') = '' OR coalesce(tenant, '') = '' THEN
		RAISE EXCEPTION 'tenant and user are required' USING ERRCODE = 'VS400';
	END IF;
	IF pg_has_role(current_user, 'vscope_superadmin', 'MEMBER') OR
	   (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		tid := vscope.create_tenant(tenant);
	ELSE
		tid := vscope.tenant_id(tenant);
		IF tid IS NULL OR tid IS DISTINCT FROM vscope.current_tenant() THEN
			RAISE EXCEPTION 'an admin issues API keys of its own tenant only' USING ERRCODE = 'VS403';
		END IF;
	END IF;
	key := vscope._random_token();
	INSERT INTO vscope.coopr_users AS u (tenant_id, user_id, apikey_hash)
	VALUES (tid, coopr_create_apikey.user_id, sha256(convert_to(key, 'UTF8')))
	ON CONFLICT (tenant_id, user_id) DO UPDATE SET apikey_hash = excluded.apikey_hash, created_at = made;
	RETURN json_build_object('tenant', tenant, 'user', user_id, 'apikey', key);
END
$$;

-- the cross-tenant twin of coopr_create_apikey() for vscope_cloud (owned by
-- vscope_superadmin, whose rights it runs with; only vscope_cloud may call it)
CREATE FUNCTION vscope._cloud_coopr_create_apikey(tenant text, user_id text) RETURNS json
	LANGUAGE sql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT vscope.coopr_create_apikey(tenant, user_id) $$;
ALTER FUNCTION vscope._cloud_coopr_create_apikey(text, text) OWNER TO vscope_superadmin;
REVOKE ALL ON FUNCTION vscope._cloud_coopr_create_apikey(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._cloud_coopr_create_apikey(text, text) TO vscope_cloud;
COMMENT ON FUNCTION vscope._cloud_coopr_create_apikey(text, text) IS 'internal: vscope.coopr_create_apikey() with vscope_superadmin''s rights, for vscope_cloud only';

CREATE OR REPLACE FUNCTION vscope.coopr_queue_metrics() RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	-- read once, compared as values: on Citus an admin's query goes to its
	-- tenant's shard
	super boolean := pg_has_role(current_user, 'vscope_superadmin', 'MEMBER');
	home integer := vscope.current_tenant();
	out json;
BEGIN
	-- vscope_cloud, which vscoped's cross-tenant paths run as, holds no
	-- BYPASSRLS: it goes through the SECURITY DEFINER twin
	IF vscope._cloud_caller() THEN
		RETURN vscope._cloud_coopr_queue_metrics();
	END IF;
	IF NOT pg_has_role(current_user, 'vscope_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'Forbidden to get queue metrics.' USING ERRCODE = 'VS403';
	END IF;
	-- a superadmin sees every tenant (row-level security lets it); an admin its own
	SELECT coalesce(json_object_agg(t.name, json_build_object(
			   'queued', coalesce(q.queued, 0), 'inProgress', coalesce(q.in_progress, 0),
			   'total', coalesce(q.queued, 0) + coalesce(q.in_progress, 0)) ORDER BY t.name), '{}')
	  INTO out
	  FROM vscope.tenants t
	  LEFT JOIN (SELECT c.tenant_id, count(*) FILTER (WHERE NOT c.in_progress) AS queued,
						count(*) FILTER (WHERE c.in_progress) AS in_progress
				   FROM vscope.coopr_queue c WHERE super OR c.tenant_id = home GROUP BY c.tenant_id) q USING (tenant_id)
	 WHERE super OR t.tenant_id = home;
	RETURN out;
END
$$;

-- the cross-tenant twin of coopr_queue_metrics() for vscope_cloud (owned by
-- vscope_superadmin, whose rights it runs with; only vscope_cloud may call it)
CREATE FUNCTION vscope._cloud_coopr_queue_metrics() RETURNS json
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT vscope.coopr_queue_metrics() $$;
ALTER FUNCTION vscope._cloud_coopr_queue_metrics() OWNER TO vscope_superadmin;
REVOKE ALL ON FUNCTION vscope._cloud_coopr_queue_metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._cloud_coopr_queue_metrics() TO vscope_cloud;
COMMENT ON FUNCTION vscope._cloud_coopr_queue_metrics() IS 'internal: vscope.coopr_queue_metrics() with vscope_superadmin''s rights, for vscope_cloud only';

CREATE OR REPLACE FUNCTION vscope.coopr_queue_events(body text) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	op jsonb;
	tid integer;
	n integer := 0;
	request jsonb;
BEGIN
	-- vscope_cloud, which vscoped's cross-tenant paths run as, holds no
	-- BYPASSRLS: it goes through the SECURITY DEFINER twin
	IF vscope._cloud_caller() THEN
		RETURN vscope._cloud_coopr_queue_events(coopr_queue_events.body);
	END IF;
	IF NOT pg_has_role(current_user, 'vscope_superadmin', 'MEMBER') THEN
		RAISE EXCEPTION 'only the superadmin reports queue events' USING ERRCODE = 'VS403';
	END IF;
	request := vscope._coopr_json(body);
	IF jsonb_typeof(request->'ops') IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'expected {"ops": [{"tenant", "op", "task"}, ...]}' USING ERRCODE = 'VS400';
	END IF;
	FOR op IN SELECT * FROM jsonb_array_elements(request->'ops') LOOP
		IF coalesce(op->>'task', '') = '' OR coalesce(op->>'tenant', '') = '' THEN
			RAISE EXCEPTION 'queue operation % needs a tenant and a task', n + 1 USING ERRCODE = 'VS400';
		END IF;
		tid := vscope.create_tenant(op->>'tenant');
		CASE op->>'op'
			WHEN 'add' THEN
				-- adding an element already taken keeps it taken
				INSERT INTO vscope.coopr_queue (tenant_id, task) VALUES (tid, op->>'task')
				ON CONFLICT (tenant_id, task) DO NOTHING;
			WHEN 'take' THEN
				UPDATE vscope.coopr_queue SET in_progress = true
				 WHERE tenant_id = tid AND task = op->>'task';
				IF NOT FOUND THEN
					RAISE EXCEPTION 'queue operation %: task "%" is not queued in tenant "%"',
						n + 1, op->>'task', op->>'tenant' USING ERRCODE = 'VS400';
				END IF;
			WHEN 'finish' THEN
				DELETE FROM vscope.coopr_queue WHERE tenant_id = tid AND task = op->>'task';
			WHEN 'fail' THEN
				UPDATE vscope.coopr_queue SET in_progress = false
				 WHERE tenant_id = tid AND task = op->>'task';
			ELSE
				RAISE EXCEPTION 'queue operation %: op is add, take, finish or fail, not "%"',
					n + 1, coalesce(op->>'op', '') USING ERRCODE = 'VS400';
		END CASE;
		n := n + 1;
	END LOOP;
	RETURN json_build_object('applied', n);
END
$$;

-- the cross-tenant twin of coopr_queue_events() for vscope_cloud (owned by
-- vscope_superadmin, whose rights it runs with; only vscope_cloud may call it)
CREATE FUNCTION vscope._cloud_coopr_queue_events(body text) RETURNS json
	LANGUAGE sql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT vscope.coopr_queue_events(body) $$;
ALTER FUNCTION vscope._cloud_coopr_queue_events(text) OWNER TO vscope_superadmin;
REVOKE ALL ON FUNCTION vscope._cloud_coopr_queue_events(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._cloud_coopr_queue_events(text) TO vscope_cloud;
COMMENT ON FUNCTION vscope._cloud_coopr_queue_events(text) IS 'internal: vscope.coopr_queue_events() with vscope_superadmin''s rights, for vscope_cloud only';

CREATE OR REPLACE FUNCTION vscope.coopr_node_events(body text) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n integer;
	request jsonb;
BEGIN
	-- vscope_cloud, which vscoped's cross-tenant paths run as, holds no
	-- BYPASSRLS: it goes through the SECURITY DEFINER twin
	IF vscope._cloud_caller() THEN
		RETURN vscope._cloud_coopr_node_events(coopr_node_events.body);
	END IF;
	IF NOT pg_has_role(current_user, 'vscope_superadmin', 'MEMBER') THEN
		RAISE EXCEPTION 'only the superadmin reports node events' USING ERRCODE = 'VS403';
	END IF;
	request := vscope._coopr_json(body);
	IF jsonb_typeof(request) <> 'object' OR
	   jsonb_typeof(coalesce(request->'events', '[]')) <> 'array' OR
	   jsonb_typeof(coalesce(request->'tenants', '[]')) <> 'array' THEN
		RAISE EXCEPTION 'expected {"tenants": [...], "events": [{"tenant", "user", "cluster", "node", "action", "status", "time"}]}'
			USING ERRCODE = 'VS400';
	END IF;
	PERFORM vscope.create_tenant(t) FROM jsonb_array_elements_text(coalesce(request->'tenants', '[]')) t;
	PERFORM vscope.create_tenant(e->>'tenant') FROM jsonb_array_elements(coalesce(request->'events', '[]')) e
	  WHERE coalesce(e->>'tenant', '') <> '';
	IF EXISTS (SELECT FROM jsonb_array_elements(coalesce(request->'events', '[]')) e
			   WHERE jsonb_typeof(e->'time') IS DISTINCT FROM 'number'
				  OR (e->'time')::numeric NOT BETWEEN 0 AND 99999999999) THEN
		RAISE EXCEPTION 'invalid node event: time is Unix seconds, from 0 to 99999999999' USING ERRCODE = 'VS400';
	END IF;
	INSERT INTO vscope.coopr_tasks (tenant_id, user_id, cluster, node, action, status, completed_at)
	SELECT vscope.tenant_id(x.tenant), x."user", x.cluster, x.node, x.action, x.status, to_timestamp(x.time)
	  FROM jsonb_to_recordset(coalesce(request->'events', '[]'))
		AS x(tenant text, "user" text, cluster text, node text, action text, status text, time double precision);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN json_build_object('recorded', n);
EXCEPTION
	WHEN not_null_violation OR check_violation OR invalid_text_representation
		 OR numeric_value_out_of_range OR datatype_mismatch THEN
		RAISE EXCEPTION 'invalid node event: %', SQLERRM USING ERRCODE = 'VS400',
			HINT = 'Each event has tenant, user, cluster, node, action (CREATE or DELETE), status (COMPLETE or FAILED) and time (Unix seconds).';
END
$$;

-- the cross-tenant twin of coopr_node_events() for vscope_cloud (owned by
-- vscope_superadmin, whose rights it runs with; only vscope_cloud may call it)
CREATE FUNCTION vscope._cloud_coopr_node_events(body text) RETURNS json
	LANGUAGE sql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT vscope.coopr_node_events(body) $$;
ALTER FUNCTION vscope._cloud_coopr_node_events(text) OWNER TO vscope_superadmin;
REVOKE ALL ON FUNCTION vscope._cloud_coopr_node_events(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._cloud_coopr_node_events(text) TO vscope_cloud;
COMMENT ON FUNCTION vscope._cloud_coopr_node_events(text) IS 'internal: vscope.coopr_node_events() with vscope_superadmin''s rights, for vscope_cloud only';

CREATE OR REPLACE FUNCTION vscope.coopr_node_usage(start_s text DEFAULT NULL, end_s text DEFAULT NULL,
										user_id text DEFAULT NULL, tenant text DEFAULT NULL,
										groupby text DEFAULT NULL, timeunit text DEFAULT NULL)
	RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	super boolean := pg_has_role(current_user, 'vscope_superadmin', 'MEMBER');
	tid integer;
	s_ms bigint;
	e_ms bigint;
	now_ms bigint := (extract(epoch FROM now()) * 1000)::bigint;
	unit_ms bigint;
	scale bigint;
	period_ms bigint;
	first_create bigint;
	last_delete bigint;
	ntasks bigint;
	data json;
BEGIN
	-- vscope_cloud, which vscoped's cross-tenant paths run as, holds no
	-- BYPASSRLS: it goes through the SECURITY DEFINER twin
	IF vscope._cloud_caller() THEN
		RETURN vscope._cloud_coopr_node_usage(coopr_node_usage.start_s, coopr_node_usage.end_s, coopr_node_usage.user_id, coopr_node_usage.tenant, coopr_node_usage.groupby, coopr_node_usage.timeunit);
	END IF;
	-- the order of Coopr's (documented) checks: 403, then 405 for tenant, then 400
	IF NOT pg_has_role(current_user, 'vscope_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'Only admins are allowed to get node usage.' USING ERRCODE = 'VS403';
	END IF;
	IF tenant IS NOT NULL AND NOT super THEN
		RAISE EXCEPTION 'Getting information about tenant % not allowed for tenant %', tenant,
			(SELECT name FROM vscope.tenants WHERE tenant_id = vscope.current_tenant())
			USING ERRCODE = 'VS405';
	END IF;
	BEGIN
		s_ms := start_s::bigint * 1000;
		e_ms := end_s::bigint * 1000;
	EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
		RAISE EXCEPTION 'start and end are Unix seconds: got start=%, end=%', coalesce(start_s, ''), coalesce(end_s, '')
			USING ERRCODE = 'VS400';
	END;
	IF s_ms IS NOT NULL AND e_ms IS NOT NULL AND s_ms > e_ms THEN
		RAISE EXCEPTION 'start (%) is after end (%)', start_s, end_s USING ERRCODE = 'VS400';
	END IF;
	-- milliseconds per unit; the sub-millisecond units multiply instead (scale)
	unit_ms := CASE lower(coalesce(timeunit, 'seconds'))
				   WHEN 'nanoseconds' THEN 1 WHEN 'microseconds' THEN 1
				   WHEN 'milliseconds' THEN 1 WHEN 'seconds' THEN 1000 WHEN 'minutes' THEN 60000
				   WHEN 'hours' THEN 3600000 WHEN 'days' THEN 86400000 END;
	scale := CASE lower(coalesce(timeunit, 'seconds')) WHEN 'nanoseconds' THEN 1000000
				  WHEN 'microseconds' THEN 1000 ELSE 1 END;
	IF unit_ms IS NULL THEN
		RAISE EXCEPTION 'invalid timeunit "%"', timeunit USING ERRCODE = 'VS400',
			HINT = 'Use milliseconds, seconds, minutes, hours or days.';
	END IF;
	period_ms := CASE groupby WHEN 'hour' THEN 3600000 WHEN 'day' THEN 86400000
					 WHEN 'week' THEN 604800000 WHEN 'month' THEN 2592000000
					 WHEN 'year' THEN 31104000000 END;
	IF groupby IS NOT NULL AND period_ms IS NULL THEN
		RAISE EXCEPTION 'invalid groupby "%"', groupby USING ERRCODE = 'VS400',
			HINT = 'Use hour, day, week, month or year.';
	END IF;
	IF tenant IS NOT NULL THEN
		tid := vscope.tenant_id(tenant);
		IF tid IS NULL THEN
			tid := -1;		-- a tenant with no tasks: nothing counts
		END IF;
	ELSIF NOT super THEN
		tid := vscope.current_tenant();
	END IF;

	SELECT (date_part('epoch', min(k.completed_at) FILTER (WHERE k.action = 'CREATE')) * 1000)::bigint,
		   (date_part('epoch', max(k.completed_at) FILTER (WHERE k.action = 'DELETE')) * 1000)::bigint,
		   count(*)
	  INTO first_create, last_delete, ntasks
	  FROM vscope.coopr_tasks k
	 WHERE k.status = 'COMPLETE' AND (tid IS NULL OR k.tenant_id = tid)
	   AND (coopr_node_usage.user_id IS NULL OR k.user_id = coopr_node_usage.user_id);

	IF ntasks = 0 THEN
		s_ms := coalesce(s_ms, 0);
		e_ms := coalesce(e_ms, now_ms);
		IF s_ms > e_ms THEN
			RAISE EXCEPTION 'start (%) is after end (%)', s_ms / 1000, e_ms / 1000 USING ERRCODE = 'VS400';
		END IF;
		RETURN json_build_object('start', s_ms / 1000, 'end', e_ms / 1000,
								 'data', json_build_array(json_build_object('time', s_ms / 1000, 'value', 0)));
	END IF;
	-- vscope's rule (Coopr's documentation): end defaults to now
	s_ms := coalesce(s_ms, first_create, 0);
	e_ms := coalesce(e_ms, now_ms);
	IF s_ms > e_ms THEN
		RAISE EXCEPTION 'start (%) is after end (%)', s_ms / 1000, e_ms / 1000 USING ERRCODE = 'VS400';
	END IF;
	IF period_ms IS NOT NULL AND (e_ms - s_ms) / period_ms + 1 > vscope._max_buckets() THEN
		RAISE EXCEPTION 'groupby % over this window makes % intervals, at most % are allowed',
			groupby, (e_ms - s_ms) / period_ms + 1, vscope._max_buckets() USING ERRCODE = 'VS400';
	END IF;

	IF period_ms IS NULL THEN
		SELECT json_build_array(json_build_object('time', s_ms / 1000, 'value',
				   coalesce(sum(CASE WHEN unit_ms = 0 THEN 0 ELSE
					   greatest(0, least(death, e_ms) - greatest(birth, s_ms)) * scale / unit_ms END), 0)))
		  INTO data FROM vscope._coopr_lives(tid, coopr_node_usage.user_id, now_ms);
	ELSE
		-- intervals on epoch multiples of the period, the first from start; each
		-- node counts the part of its life inside each interval (exactly: Coopr
		-- itself over-counts a first interval that starts between boundaries)
		WITH bounds AS (
			SELECT b AS lo, least(b - b % period_ms + period_ms, e_ms) AS hi
			  FROM (SELECT s_ms AS b
					UNION ALL
					SELECT g FROM generate_series(s_ms - s_ms % period_ms + period_ms, e_ms - 1, period_ms) g) x
			 WHERE b < e_ms)
		SELECT coalesce(json_agg(json_build_object('time', lo / 1000, 'value', v) ORDER BY lo), '[]')
		  INTO data
		  FROM (SELECT b.lo, coalesce(sum(CASE WHEN unit_ms = 0 THEN 0 ELSE
					   greatest(0, least(n.death, b.hi) - greatest(n.birth, b.lo)) * scale / unit_ms END), 0) AS v
				  FROM bounds b LEFT JOIN vscope._coopr_lives(tid, coopr_node_usage.user_id, now_ms) n
					ON n.birth < b.hi AND n.death > b.lo
				 GROUP BY b.lo) x;
		IF json_array_length(data) = 0 THEN
			data := json_build_array(json_build_object('time', s_ms / 1000, 'value', 0));
		END IF;
	END IF;
	RETURN json_build_object('start', s_ms / 1000, 'end', e_ms / 1000, 'data', data);
END
$$;

-- the cross-tenant twin of coopr_node_usage() for vscope_cloud (owned by
-- vscope_superadmin, whose rights it runs with; only vscope_cloud may call it)
CREATE FUNCTION vscope._cloud_coopr_node_usage(start_s text, end_s text, user_id text, tenant text, groupby text, timeunit text) RETURNS json
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT vscope.coopr_node_usage(start_s, end_s, user_id, tenant, groupby, timeunit) $$;
ALTER FUNCTION vscope._cloud_coopr_node_usage(text, text, text, text, text, text) OWNER TO vscope_superadmin;
REVOKE ALL ON FUNCTION vscope._cloud_coopr_node_usage(text, text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._cloud_coopr_node_usage(text, text, text, text, text, text) TO vscope_cloud;
COMMENT ON FUNCTION vscope._cloud_coopr_node_usage(text, text, text, text, text, text) IS 'internal: vscope.coopr_node_usage() with vscope_superadmin''s rights, for vscope_cloud only';

CREATE OR REPLACE FUNCTION vscope.ceilometer_publish_samples(body text, routing text DEFAULT 'tenant') RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	b jsonb;
	tid integer := vscope.current_tenant();
	home_name text;
	future interval := coalesce(current_setting('vscope.max_future', true), '7d')::interval;
	oldest timestamptz := now() - vscope.retention();
	nonfinite boolean := strpos(body, 'NaN') > 0 OR strpos(body, 'Infinity') > 0;
	n integer;
	good integer;
	rejected jsonb;
	idx integer[];
	projects text[];
	tenants integer[];
	meters text[];
	types text[];
	units text[];
	resources text[];
	users text[];
	sources text[];
	metas jsonb[];
	stamps timestamptz[];
	volumes float8[];
	ids text[];
	sids integer[];
	stored integer;
BEGIN
	-- vscope_cloud, which vscoped's cross-tenant paths run as, holds no
	-- BYPASSRLS: it goes through the SECURITY DEFINER twin
	IF vscope._cloud_caller() THEN
		RETURN vscope._cloud_ceilometer_publish_samples(ceilometer_publish_samples.body, ceilometer_publish_samples.routing);
	END IF;
	PERFORM vscope._ceilo_publish_routing(routing);
	b := vscope._ceilo_publish_items(body, 'samples');
	n := jsonb_array_length(b);
	SELECT t.name INTO home_name FROM vscope.tenants t WHERE t.tenant_id = tid;
	-- every item checked on its own: its first problem, or its fields
	WITH items AS (
		SELECT (a.i - 1)::integer AS i, a.e,
			   CASE WHEN jsonb_typeof(a.e -> 'timestamp') = 'string' THEN vscope._ceilo_parse_ts(a.e ->> 'timestamp') END AS ts,
			   CASE jsonb_typeof(a.e -> 'volume')
				   WHEN 'number' THEN (a.e ->> 'volume')::numeric
				   WHEN 'string' THEN vscope._ceilo_num(a.e ->> 'volume') END AS vol,
			   CASE WHEN jsonb_typeof(a.e -> 'project_id') = 'string' THEN a.e ->> 'project_id' END AS project
		  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i)
	), checked AS (
		SELECT it.*, CASE
			WHEN jsonb_typeof(it.e) <> 'object' THEN
				format('a sample is a JSON object, not %s', jsonb_typeof(it.e))
			WHEN jsonb_typeof(it.e -> 'name') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'name') NOT BETWEEN 1 AND 255 THEN
				'name: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'type') IS DISTINCT FROM 'string' OR it.e ->> 'type' NOT IN ('gauge', 'delta', 'cumulative') THEN
				format('type: gauge, delta or cumulative, not %s', coalesce((it.e -> 'type')::text, 'nothing'))
			WHEN jsonb_typeof(it.e -> 'unit') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'unit') > 255 THEN
				'unit: a string of at most 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'volume') = 'object' AND it.e -> 'volume' ? 'vscope:nonfinite' THEN
				format('volume: %s is not a finite number', it.e -> 'volume' ->> 'vscope:nonfinite')
			WHEN it.vol IS NULL THEN
				format('volume: a number is needed, not %s', coalesce((it.e -> 'volume')::text, 'nothing'))
			WHEN NOT (it.vol = 0 OR abs(it.vol) BETWEEN 2.2250738585072014e-308 AND 1.7976931348623157e308) THEN
				format('volume: %s is out of the range of a double precision number', it.e ->> 'volume')
			WHEN jsonb_typeof(it.e -> 'resource_id') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'resource_id') NOT BETWEEN 1 AND 255 THEN
				'resource_id: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'project_id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'project_id') > 255 THEN
				'project_id: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'user_id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'user_id') > 255 THEN
				'user_id: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'source') NOT IN ('string', 'null') OR octet_length(it.e ->> 'source') > 255 THEN
				'source: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'id') NOT BETWEEN 1 AND 255 THEN
				'id: a string of 1 to 255 bytes, or null, is needed'
			WHEN it.ts IS NULL THEN
				format('timestamp: %s is not an ISO 8601 time', coalesce((it.e -> 'timestamp')::text, 'nothing'))
			WHEN jsonb_typeof(it.e -> 'resource_metadata') NOT IN ('object', 'null') THEN
				format('resource_metadata: an object (or null) is needed, not %s', jsonb_typeof(it.e -> 'resource_metadata'))
			WHEN pg_column_size(it.e -> 'resource_metadata') > 65536 THEN
				'resource_metadata: larger than 64 kB'
			WHEN nonfinite AND strpos(it.e::text, '{"vscope:nonfinite": ') > 0 THEN
				'NaN or Infinity, which JSON does not have, in the sample'
			WHEN it.ts > now() + future THEN
				format('timestamp: %s is more than vscope.max_future (%s) ahead', it.e ->> 'timestamp', future)
			WHEN it.ts < oldest THEN
				format('timestamp: %s is older than vscope.retention (%s)', it.e ->> 'timestamp', vscope.retention())
			ELSE vscope._ceilo_publish_project_problem(it.project, routing, home_name)
			END AS err
		  FROM items it
	), days AS (
		-- only to a day that has its partition: a request never makes one
		SELECT d.day, vscope._day_not_writable(d.day, 'samples') AS err
		  FROM (SELECT DISTINCT date_trunc('day', c.ts, 'UTC') AS day FROM checked c WHERE c.err IS NULL) d
	), final AS (
		SELECT c.*, coalesce(c.err, 'timestamp: ' || d.err) AS problem
		  FROM checked c LEFT JOIN days d ON d.day = date_trunc('day', c.ts, 'UTC') AND c.err IS NULL
	)
	SELECT count(*) FILTER (WHERE f.problem IS NULL),
		   jsonb_agg(jsonb_build_object('index', f.i, 'id', CASE WHEN jsonb_typeof(f.e -> 'id') = 'string' THEN f.e -> 'id' END,
										'error', f.problem) ORDER BY f.i) FILTER (WHERE f.problem IS NOT NULL),
		   array_agg(f.i ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.project ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'name' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'type' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'unit' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'resource_id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'user_id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'source' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(coalesce(nullif(f.e -> 'resource_metadata', 'null'), '{}') ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.ts ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.vol::float8 ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL)
	  INTO good, rejected, idx, projects, meters, types, units, resources, users, sources, metas, stamps, volumes, ids
	  FROM final f;
	stored := 0;
	IF good > 0 THEN
		tenants := vscope._ceilo_publish_tenants(projects, routing);
		sids := vscope._ceilo_series_ids(tenants, meters, types, units, resources, projects, users, sources, metas);
		SELECT count(*) INTO stored FROM vscope._ceilo_insert_samples(tenants, sids, stamps, volumes, ids);
	END IF;
	RETURN vscope._ceilo_publish_answer(n, good, stored, rejected, 'sample');
END
$$;

-- the cross-tenant twin of ceilometer_publish_samples() for vscope_cloud (owned by
-- vscope_superadmin, whose rights it runs with; only vscope_cloud may call it)
CREATE FUNCTION vscope._cloud_ceilometer_publish_samples(body text, routing text) RETURNS json
	LANGUAGE sql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT vscope.ceilometer_publish_samples(body, routing) $$;
ALTER FUNCTION vscope._cloud_ceilometer_publish_samples(text, text) OWNER TO vscope_superadmin;
REVOKE ALL ON FUNCTION vscope._cloud_ceilometer_publish_samples(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._cloud_ceilometer_publish_samples(text, text) TO vscope_cloud;
COMMENT ON FUNCTION vscope._cloud_ceilometer_publish_samples(text, text) IS 'internal: vscope.ceilometer_publish_samples() with vscope_superadmin''s rights, for vscope_cloud only';

CREATE OR REPLACE FUNCTION vscope.ceilometer_publish_events(body text, routing text DEFAULT 'tenant') RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	b jsonb;
	tid integer := vscope.current_tenant();
	home_name text;
	nonfinite boolean := strpos(body, 'NaN') > 0 OR strpos(body, 'Infinity') > 0;
	n integer;
	good integer;
	rejected jsonb;
	projects text[];
	tenants integer[];
	mids text[];
	types text[];
	gens timestamptz[];
	traits jsonb[];
	raws jsonb[];
	stored integer;
BEGIN
	-- vscope_cloud, which vscoped's cross-tenant paths run as, holds no
	-- BYPASSRLS: it goes through the SECURITY DEFINER twin
	IF vscope._cloud_caller() THEN
		RETURN vscope._cloud_ceilometer_publish_events(ceilometer_publish_events.body, ceilometer_publish_events.routing);
	END IF;
	PERFORM vscope._ceilo_publish_routing(routing);
	b := vscope._ceilo_publish_items(body, 'events');
	n := jsonb_array_length(b);
	SELECT t.name INTO home_name FROM vscope.tenants t WHERE t.tenant_id = tid;
	WITH items AS (
		SELECT (a.i - 1)::integer AS i, a.e,
			   CASE WHEN jsonb_typeof(a.e -> 'generated') = 'string' THEN vscope._ceilo_parse_ts(a.e ->> 'generated') END AS gen
		  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i)
	), converted AS (
		SELECT it.*, tr.traits, tr.terr, tr.project
		  FROM items it
		  LEFT JOIN LATERAL (
			SELECT coalesce(jsonb_agg(c.t ORDER BY c.t ->> 'name', c.t ->> 'value') FILTER (WHERE NOT c.t ? 'error'), '[]') AS traits,
				   (array_agg(c.t ->> 'error' ORDER BY x.o) FILTER (WHERE c.t ? 'error'))[1] AS terr,
				   min(c.t ->> 'value') FILTER (WHERE c.t ->> 'name' = 'project_id' AND c.t ->> 'type' = 'string') AS project
			  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(it.e -> 'traits') = 'array' THEN it.e -> 'traits' ELSE '[]' END)
				   WITH ORDINALITY x(t, o)
			 CROSS JOIN LATERAL (SELECT vscope._ceilo_publish_trait(x.t) AS t) c
			 WHERE c.t IS NOT NULL) tr ON true
	), checked AS (
		SELECT cv.*, CASE
			WHEN jsonb_typeof(cv.e) <> 'object' THEN
				format('an event is a JSON object, not %s', jsonb_typeof(cv.e))
			WHEN jsonb_typeof(cv.e -> 'event_type') IS DISTINCT FROM 'string' OR octet_length(cv.e ->> 'event_type') NOT BETWEEN 1 AND 255 THEN
				'event_type: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(cv.e -> 'message_id') NOT IN ('string', 'null') OR octet_length(cv.e ->> 'message_id') NOT BETWEEN 1 AND 255 THEN
				'message_id: a string of 1 to 255 bytes, or null, is needed'
			WHEN cv.gen IS NULL THEN
				format('generated: %s is not an ISO 8601 time', coalesce((cv.e -> 'generated')::text, 'nothing'))
			WHEN jsonb_typeof(cv.e -> 'traits') NOT IN ('array', 'null') THEN
				'traits: a list of [name, dtype, value] is needed'
			WHEN cv.terr IS NOT NULL THEN
				'traits: ' || cv.terr
			WHEN nonfinite AND strpos(cv.e::text, '{"vscope:nonfinite": ') > 0 THEN
				'NaN or Infinity, which JSON does not have, in the event'
			ELSE vscope._ceilo_publish_project_problem(cv.project, routing, home_name)
			END AS problem
		  FROM converted cv
	)
	SELECT count(*) FILTER (WHERE c.problem IS NULL),
		   jsonb_agg(jsonb_build_object('index', c.i, 'id', CASE WHEN jsonb_typeof(c.e -> 'message_id') = 'string' THEN c.e -> 'message_id' END,
										'error', c.problem) ORDER BY c.i) FILTER (WHERE c.problem IS NOT NULL),
		   array_agg(c.project ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(coalesce(c.e ->> 'message_id', gen_random_uuid()::text) ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.e ->> 'event_type' ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.gen ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.traits ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(coalesce(nullif(c.e -> 'raw', 'null'), '{}') ORDER BY c.i) FILTER (WHERE c.problem IS NULL)
	  INTO good, rejected, projects, mids, types, gens, traits, raws
	  FROM checked c;
	stored := 0;
	IF good > 0 THEN
		tenants := vscope._ceilo_publish_tenants(projects, routing);
		WITH ins AS (
			INSERT INTO vscope.events (tenant_id, message_id, event_type, generated, traits, raw)
			SELECT u.t, u.mid, u.ty, u.gen, u.tr, u.raw
			  FROM unnest(tenants, mids, types, gens, traits, raws) u(t, mid, ty, gen, tr, raw)
			 ORDER BY u.t, u.mid
			ON CONFLICT (tenant_id, message_id) DO NOTHING
			RETURNING 1
		)
		SELECT count(*) INTO stored FROM ins;
	END IF;
	RETURN vscope._ceilo_publish_answer(n, good, stored, rejected, 'event');
END
$$;

-- the cross-tenant twin of ceilometer_publish_events() for vscope_cloud (owned by
-- vscope_superadmin, whose rights it runs with; only vscope_cloud may call it)
CREATE FUNCTION vscope._cloud_ceilometer_publish_events(body text, routing text) RETURNS json
	LANGUAGE sql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT vscope.ceilometer_publish_events(body, routing) $$;
ALTER FUNCTION vscope._cloud_ceilometer_publish_events(text, text) OWNER TO vscope_superadmin;
REVOKE ALL ON FUNCTION vscope._cloud_ceilometer_publish_events(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._cloud_ceilometer_publish_events(text, text) TO vscope_cloud;
COMMENT ON FUNCTION vscope._cloud_ceilometer_publish_events(text, text) IS 'internal: vscope.ceilometer_publish_events() with vscope_superadmin''s rights, for vscope_cloud only';

-- vscope.partitions() shows every tenant's data volume: operators only;
-- _ceilo_run_events() runs the SQL condition it is given: request roles only
REVOKE ALL ON FUNCTION vscope.partitions(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.partitions(text) TO vscope_superadmin;
REVOKE ALL ON FUNCTION vscope._ceilo_run_events(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._ceilo_run_events(text, integer) TO vscope_reader;

-- vscope.metrics_token(): the previous token revoked and the new one stored in one statement
CREATE OR REPLACE FUNCTION vscope.metrics_token(service text, user_id bigint, endpoint text) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	label text := 'metricsToken user ' || user_id;
	tok text;
BEGIN
	PERFORM FROM vscope.tenants t WHERE t.tenant_id = tid AND t.name = service;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'The requested object (serviceName = %) does not exist', service USING ERRCODE = 'VS404';
	END IF;
	IF user_id IS NULL OR user_id <= 0 THEN
		RAISE EXCEPTION 'invalid userId' USING ERRCODE = 'VS400';
	END IF;
	-- one issuer at a time per user, so exactly one token stays active
	PERFORM pg_advisory_xact_lock(hashtext('vscope metricsToken'), hashtext(tid || '/' || user_id));
	tok := vscope._random_token();
	-- one write: the user's previous token revoked and the new one stored,
	-- already bound to the user, by the same statement
	WITH revoked AS (
		UPDATE vscope.tokens k SET revoked_at = now()
		 WHERE k.tenant_id = tid AND k.metrics_user_id = metrics_token.user_id
		   AND k.revoked_at IS NULL
	)
	INSERT INTO vscope.tokens (tenant_id, token_hash, scopes, description, metrics_user_id)
	VALUES (tid, sha256(convert_to(tok, 'UTF8')), '{read}', label, metrics_token.user_id);
	RETURN json_build_object('warpEndpoint', endpoint, 'token', tok, 'opentsdbEndpoint', endpoint);
END
$$;

-- the functions changed both by the static checks (or Citus) and by the
-- defence-in-depth hand-over, as the domain files have them after both

CREATE OR REPLACE FUNCTION vscope.ceilometer_publish_samples(body text, routing text DEFAULT 'tenant') RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	b jsonb;
	tid integer := vscope.current_tenant();
	home_name text;
	future interval := coalesce(current_setting('vscope.max_future', true), '7d')::interval;
	oldest timestamptz := now() - vscope.retention();
	nonfinite boolean := strpos(body, 'NaN') > 0 OR strpos(body, 'Infinity') > 0;
	n integer;
	good integer;
	rejected jsonb;
	projects text[];
	tenants integer[];
	meters text[];
	types text[];
	units text[];
	resources text[];
	users text[];
	sources text[];
	metas jsonb[];
	stamps timestamptz[];
	volumes float8[];
	ids text[];
	sids integer[];
	stored integer;
BEGIN
	-- vscope_cloud, which vscoped's cross-tenant paths run as, holds no
	-- BYPASSRLS: it goes through the SECURITY DEFINER twin
	IF vscope._cloud_caller() THEN
		RETURN vscope._cloud_ceilometer_publish_samples(ceilometer_publish_samples.body, ceilometer_publish_samples.routing);
	END IF;
	PERFORM vscope._ceilo_publish_routing(routing);
	b := vscope._ceilo_publish_items(body, 'samples');
	n := jsonb_array_length(b);
	SELECT t.name INTO home_name FROM vscope.tenants t WHERE t.tenant_id = tid;
	-- every item checked on its own: its first problem, or its fields
	WITH items AS (
		SELECT (a.i - 1)::integer AS i, a.e,
			   CASE WHEN jsonb_typeof(a.e -> 'timestamp') = 'string' THEN vscope._ceilo_parse_ts(a.e ->> 'timestamp') END AS ts,
			   CASE jsonb_typeof(a.e -> 'volume')
				   WHEN 'number' THEN (a.e ->> 'volume')::numeric
				   WHEN 'string' THEN vscope._ceilo_num(a.e ->> 'volume') END AS vol,
			   CASE WHEN jsonb_typeof(a.e -> 'project_id') = 'string' THEN a.e ->> 'project_id' END AS project
		  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i)
	), checked AS (
		SELECT it.*, CASE
			WHEN jsonb_typeof(it.e) <> 'object' THEN
				format('a sample is a JSON object, not %s', jsonb_typeof(it.e))
			WHEN jsonb_typeof(it.e -> 'name') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'name') NOT BETWEEN 1 AND 255 THEN
				'name: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'type') IS DISTINCT FROM 'string' OR it.e ->> 'type' NOT IN ('gauge', 'delta', 'cumulative') THEN
				format('type: gauge, delta or cumulative, not %s', coalesce((it.e -> 'type')::text, 'nothing'))
			WHEN jsonb_typeof(it.e -> 'unit') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'unit') > 255 THEN
				'unit: a string of at most 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'volume') = 'object' AND it.e -> 'volume' ? 'vscope:nonfinite' THEN
				format('volume: %s is not a finite number', it.e -> 'volume' ->> 'vscope:nonfinite')
			WHEN it.vol IS NULL THEN
				format('volume: a number is needed, not %s', coalesce((it.e -> 'volume')::text, 'nothing'))
			WHEN NOT (it.vol = 0 OR abs(it.vol) BETWEEN 2.2250738585072014e-308 AND 1.7976931348623157e308) THEN
				format('volume: %s is out of the range of a double precision number', it.e ->> 'volume')
			WHEN jsonb_typeof(it.e -> 'resource_id') IS DISTINCT FROM 'string' OR octet_length(it.e ->> 'resource_id') NOT BETWEEN 1 AND 255 THEN
				'resource_id: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(it.e -> 'project_id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'project_id') > 255 THEN
				'project_id: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'user_id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'user_id') > 255 THEN
				'user_id: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'source') NOT IN ('string', 'null') OR octet_length(it.e ->> 'source') > 255 THEN
				'source: a string of at most 255 bytes, or null, is needed'
			WHEN jsonb_typeof(it.e -> 'id') NOT IN ('string', 'null') OR octet_length(it.e ->> 'id') NOT BETWEEN 1 AND 255 THEN
				'id: a string of 1 to 255 bytes, or null, is needed'
			WHEN it.ts IS NULL THEN
				format('timestamp: %s is not an ISO 8601 time', coalesce((it.e -> 'timestamp')::text, 'nothing'))
			WHEN jsonb_typeof(it.e -> 'resource_metadata') NOT IN ('object', 'null') THEN
				format('resource_metadata: an object (or null) is needed, not %s', jsonb_typeof(it.e -> 'resource_metadata'))
			WHEN pg_column_size(it.e -> 'resource_metadata') > 65536 THEN
				'resource_metadata: larger than 64 kB'
			WHEN nonfinite AND strpos(it.e::text, '{"vscope:nonfinite": ') > 0 THEN
				'NaN or Infinity, which JSON does not have, in the sample'
			WHEN it.ts > now() + future THEN
				format('timestamp: %s is more than vscope.max_future (%s) ahead', it.e ->> 'timestamp', future)
			WHEN it.ts < oldest THEN
				format('timestamp: %s is older than vscope.retention (%s)', it.e ->> 'timestamp', vscope.retention())
			ELSE vscope._ceilo_publish_project_problem(it.project, routing, home_name)
			END AS err
		  FROM items it
	), days AS (
		-- only to a day that has its partition: a request never makes one
		SELECT d.day, vscope._day_not_writable(d.day, 'samples') AS err
		  FROM (SELECT DISTINCT date_trunc('day', c.ts, 'UTC') AS day FROM checked c WHERE c.err IS NULL) d
	), final AS (
		SELECT c.*, coalesce(c.err, 'timestamp: ' || d.err) AS problem
		  FROM checked c LEFT JOIN days d ON d.day = date_trunc('day', c.ts, 'UTC') AND c.err IS NULL
	)
	SELECT (count(*) FILTER (WHERE f.problem IS NULL))::integer,
		   jsonb_agg(jsonb_build_object('index', f.i, 'id', CASE WHEN jsonb_typeof(f.e -> 'id') = 'string' THEN f.e -> 'id' END,
										'error', f.problem) ORDER BY f.i) FILTER (WHERE f.problem IS NOT NULL),
		   array_agg(f.project ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'name' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'type' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'unit' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'resource_id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'user_id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'source' ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(coalesce(nullif(f.e -> 'resource_metadata', 'null'), '{}') ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.ts ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.vol::float8 ORDER BY f.i) FILTER (WHERE f.problem IS NULL),
		   array_agg(f.e ->> 'id' ORDER BY f.i) FILTER (WHERE f.problem IS NULL)
	  INTO good, rejected, projects, meters, types, units, resources, users, sources, metas, stamps, volumes, ids
	  FROM final f;
	stored := 0;
	IF good > 0 THEN
		tenants := vscope._ceilo_publish_tenants(projects, routing);
		sids := vscope._ceilo_series_ids(tenants, meters, types, units, resources, projects, users, sources, metas);
		SELECT count(*)::integer INTO stored FROM vscope._ceilo_insert_samples(tenants, sids, stamps, volumes, ids);
	END IF;
	RETURN vscope._ceilo_publish_answer(n, good, stored, rejected, 'sample');
END
$$;

-- the cross-tenant twin of ceilometer_publish_samples() for vscope_cloud (owned by
-- vscope_superadmin, whose rights it runs with; only vscope_cloud may call it)
COMMENT ON FUNCTION vscope.ceilometer_publish_samples(text, text) IS 'Ceilometer''s http publisher''s samples (a JSON list of Sample.as_dict(), or one): each checked on its own, the good ones stored (a repeated id skipped), routed by routing (tenant: all in the current tenant; own: only its own project; project: each in the tenant of its project, made when new); returns {stored, duplicates, rejected}';

CREATE OR REPLACE FUNCTION vscope.ceilometer_publish_events(body text, routing text DEFAULT 'tenant') RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	b jsonb;
	tid integer := vscope.current_tenant();
	home_name text;
	nonfinite boolean := strpos(body, 'NaN') > 0 OR strpos(body, 'Infinity') > 0;
	n integer;
	good integer;
	rejected jsonb;
	projects text[];
	tenants integer[];
	mids text[];
	types text[];
	gens timestamptz[];
	traits jsonb[];
	raws jsonb[];
	stored integer;
BEGIN
	-- vscope_cloud, which vscoped's cross-tenant paths run as, holds no
	-- BYPASSRLS: it goes through the SECURITY DEFINER twin
	IF vscope._cloud_caller() THEN
		RETURN vscope._cloud_ceilometer_publish_events(ceilometer_publish_events.body, ceilometer_publish_events.routing);
	END IF;
	PERFORM vscope._ceilo_publish_routing(routing);
	b := vscope._ceilo_publish_items(body, 'events');
	n := jsonb_array_length(b);
	SELECT t.name INTO home_name FROM vscope.tenants t WHERE t.tenant_id = tid;
	WITH items AS (
		SELECT (a.i - 1)::integer AS i, a.e,
			   CASE WHEN jsonb_typeof(a.e -> 'generated') = 'string' THEN vscope._ceilo_parse_ts(a.e ->> 'generated') END AS gen
		  FROM jsonb_array_elements(b) WITH ORDINALITY a(e, i)
	), converted AS (
		SELECT it.*, tr.traits, tr.terr, tr.project
		  FROM items it
		  LEFT JOIN LATERAL (
			SELECT coalesce(jsonb_agg(c.t ORDER BY c.t ->> 'name', c.t ->> 'value') FILTER (WHERE NOT c.t ? 'error'), '[]') AS traits,
				   (array_agg(c.t ->> 'error' ORDER BY x.o) FILTER (WHERE c.t ? 'error'))[1] AS terr,
				   min(c.t ->> 'value') FILTER (WHERE c.t ->> 'name' = 'project_id' AND c.t ->> 'type' = 'string') AS project
			  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(it.e -> 'traits') = 'array' THEN it.e -> 'traits' ELSE '[]' END)
				   WITH ORDINALITY x(t, o)
			 CROSS JOIN LATERAL (SELECT vscope._ceilo_publish_trait(x.t) AS t) c
			 WHERE c.t IS NOT NULL) tr ON true
	), checked AS (
		SELECT cv.*, CASE
			WHEN jsonb_typeof(cv.e) <> 'object' THEN
				format('an event is a JSON object, not %s', jsonb_typeof(cv.e))
			WHEN jsonb_typeof(cv.e -> 'event_type') IS DISTINCT FROM 'string' OR octet_length(cv.e ->> 'event_type') NOT BETWEEN 1 AND 255 THEN
				'event_type: a string of 1 to 255 bytes is needed'
			WHEN jsonb_typeof(cv.e -> 'message_id') NOT IN ('string', 'null') OR octet_length(cv.e ->> 'message_id') NOT BETWEEN 1 AND 255 THEN
				'message_id: a string of 1 to 255 bytes, or null, is needed'
			WHEN cv.gen IS NULL THEN
				format('generated: %s is not an ISO 8601 time', coalesce((cv.e -> 'generated')::text, 'nothing'))
			WHEN jsonb_typeof(cv.e -> 'traits') NOT IN ('array', 'null') THEN
				'traits: a list of [name, dtype, value] is needed'
			WHEN cv.terr IS NOT NULL THEN
				'traits: ' || cv.terr
			WHEN nonfinite AND strpos(cv.e::text, '{"vscope:nonfinite": ') > 0 THEN
				'NaN or Infinity, which JSON does not have, in the event'
			ELSE vscope._ceilo_publish_project_problem(cv.project, routing, home_name)
			END AS problem
		  FROM converted cv
	)
	SELECT (count(*) FILTER (WHERE c.problem IS NULL))::integer,
		   jsonb_agg(jsonb_build_object('index', c.i, 'id', CASE WHEN jsonb_typeof(c.e -> 'message_id') = 'string' THEN c.e -> 'message_id' END,
										'error', c.problem) ORDER BY c.i) FILTER (WHERE c.problem IS NOT NULL),
		   array_agg(c.project ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(coalesce(c.e ->> 'message_id', gen_random_uuid()::text) ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.e ->> 'event_type' ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.gen ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(c.traits ORDER BY c.i) FILTER (WHERE c.problem IS NULL),
		   array_agg(coalesce(nullif(c.e -> 'raw', 'null'), '{}') ORDER BY c.i) FILTER (WHERE c.problem IS NULL)
	  INTO good, rejected, projects, mids, types, gens, traits, raws
	  FROM checked c;
	stored := 0;
	IF good > 0 THEN
		tenants := vscope._ceilo_publish_tenants(projects, routing);
		WITH ins AS (
			INSERT INTO vscope.events (tenant_id, message_id, event_type, generated, traits, raw)
			SELECT u.t, u.mid, u.ty, u.gen, u.tr, u.raw
			  FROM unnest(tenants, mids, types, gens, traits, raws) u(t, mid, ty, gen, tr, raw)
			 ORDER BY u.t, u.mid
			ON CONFLICT (tenant_id, message_id) DO NOTHING
			RETURNING 1
		)
		SELECT count(*)::integer INTO stored FROM ins;
	END IF;
	RETURN vscope._ceilo_publish_answer(n, good, stored, rejected, 'event');
END
$$;

-- the cross-tenant twin of ceilometer_publish_events() for vscope_cloud (owned by
-- vscope_superadmin, whose rights it runs with; only vscope_cloud may call it)
COMMENT ON FUNCTION vscope.ceilometer_publish_events(text, text) IS 'Ceilometer''s http publisher''s events (a JSON list of Event.serialize(), or one): each checked on its own, the good ones stored (a message_id already stored skipped), routed as vscope.ceilometer_publish_samples() routes samples, by the project_id trait; returns {stored, duplicates, rejected}';

CREATE OR REPLACE FUNCTION vscope.coopr_node_usage(start_s text DEFAULT NULL, end_s text DEFAULT NULL,
										user_id text DEFAULT NULL, tenant text DEFAULT NULL,
										groupby text DEFAULT NULL, timeunit text DEFAULT NULL)
	RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	super boolean := pg_has_role(current_user, 'vscope_superadmin', 'MEMBER');
	tid integer;
	s_ms bigint;
	e_ms bigint;
	now_ms bigint := (extract(epoch FROM now()) * 1000)::bigint;
	unit_ms bigint;
	scale bigint;
	period_ms bigint;
	first_create bigint;
	ntasks bigint;
	data json;
BEGIN
	-- vscope_cloud, which vscoped's cross-tenant paths run as, holds no
	-- BYPASSRLS: it goes through the SECURITY DEFINER twin
	IF vscope._cloud_caller() THEN
		RETURN vscope._cloud_coopr_node_usage(coopr_node_usage.start_s, coopr_node_usage.end_s, coopr_node_usage.user_id, coopr_node_usage.tenant, coopr_node_usage.groupby, coopr_node_usage.timeunit);
	END IF;
	-- the order of Coopr's (documented) checks: 403, then 405 for tenant, then 400
	IF NOT pg_has_role(current_user, 'vscope_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'Only admins are allowed to get node usage.' USING ERRCODE = 'VS403';
	END IF;
	IF tenant IS NOT NULL AND NOT super THEN
		RAISE EXCEPTION 'Getting information about tenant % not allowed for tenant %', tenant,
			(SELECT name FROM vscope.tenants WHERE tenant_id = vscope.current_tenant())
			USING ERRCODE = 'VS405';
	END IF;
	BEGIN
		s_ms := start_s::bigint * 1000;
		e_ms := end_s::bigint * 1000;
	EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
		RAISE EXCEPTION 'start and end are Unix seconds: got start=%, end=%', coalesce(start_s, ''), coalesce(end_s, '')
			USING ERRCODE = 'VS400';
	END;
	IF s_ms IS NOT NULL AND e_ms IS NOT NULL AND s_ms > e_ms THEN
		RAISE EXCEPTION 'start (%) is after end (%)', start_s, end_s USING ERRCODE = 'VS400';
	END IF;
	-- milliseconds per unit; the sub-millisecond units multiply instead (scale)
	unit_ms := CASE lower(coalesce(timeunit, 'seconds'))
				   WHEN 'nanoseconds' THEN 1 WHEN 'microseconds' THEN 1
				   WHEN 'milliseconds' THEN 1 WHEN 'seconds' THEN 1000 WHEN 'minutes' THEN 60000
				   WHEN 'hours' THEN 3600000 WHEN 'days' THEN 86400000 END::bigint;
	scale := CASE lower(coalesce(timeunit, 'seconds')) WHEN 'nanoseconds' THEN 1000000
				  WHEN 'microseconds' THEN 1000 ELSE 1 END::bigint;
	IF unit_ms IS NULL THEN
		RAISE EXCEPTION 'invalid timeunit "%"', timeunit USING ERRCODE = 'VS400',
			HINT = 'Use milliseconds, seconds, minutes, hours or days.';
	END IF;
	period_ms := CASE groupby WHEN 'hour' THEN 3600000 WHEN 'day' THEN 86400000
					 WHEN 'week' THEN 604800000 WHEN 'month' THEN 2592000000
					 WHEN 'year' THEN 31104000000 END;
	IF groupby IS NOT NULL AND period_ms IS NULL THEN
		RAISE EXCEPTION 'invalid groupby "%"', groupby USING ERRCODE = 'VS400',
			HINT = 'Use hour, day, week, month or year.';
	END IF;
	IF tenant IS NOT NULL THEN
		tid := vscope.tenant_id(tenant);
		IF tid IS NULL THEN
			tid := -1;		-- a tenant with no tasks: nothing counts
		END IF;
	ELSIF NOT super THEN
		tid := vscope.current_tenant();
	END IF;

	SELECT (date_part('epoch', min(k.completed_at) FILTER (WHERE k.action = 'CREATE')) * 1000)::bigint,
		   count(*)
	  INTO first_create, ntasks
	  FROM vscope.coopr_tasks k
	 WHERE k.status = 'COMPLETE' AND (tid IS NULL OR k.tenant_id = tid)
	   AND (coopr_node_usage.user_id IS NULL OR k.user_id = coopr_node_usage.user_id);

	IF ntasks = 0 THEN
		s_ms := coalesce(s_ms, 0);
		e_ms := coalesce(e_ms, now_ms);
		IF s_ms > e_ms THEN
			RAISE EXCEPTION 'start (%) is after end (%)', s_ms / 1000, e_ms / 1000 USING ERRCODE = 'VS400';
		END IF;
		RETURN json_build_object('start', s_ms / 1000, 'end', e_ms / 1000,
								 'data', json_build_array(json_build_object('time', s_ms / 1000, 'value', 0)));
	END IF;
	-- vscope's rule (Coopr's documentation): end defaults to now
	s_ms := coalesce(s_ms, first_create, 0);
	e_ms := coalesce(e_ms, now_ms);
	IF s_ms > e_ms THEN
		RAISE EXCEPTION 'start (%) is after end (%)', s_ms / 1000, e_ms / 1000 USING ERRCODE = 'VS400';
	END IF;
	IF period_ms IS NOT NULL AND (e_ms - s_ms) / period_ms + 1 > vscope._max_buckets() THEN
		RAISE EXCEPTION 'groupby % over this window makes % intervals, at most % are allowed',
			groupby, (e_ms - s_ms) / period_ms + 1, vscope._max_buckets() USING ERRCODE = 'VS400';
	END IF;

	IF period_ms IS NULL THEN
		SELECT json_build_array(json_build_object('time', s_ms / 1000, 'value',
				   coalesce(sum(CASE WHEN unit_ms = 0 THEN 0 ELSE
					   greatest(0, least(death, e_ms) - greatest(birth, s_ms)) * scale / unit_ms END), 0)))
		  INTO data FROM vscope._coopr_lives(tid, coopr_node_usage.user_id, now_ms);
	ELSE
		-- intervals on epoch multiples of the period, the first from start; each
		-- node counts the part of its life inside each interval (exactly: Coopr
		-- itself over-counts a first interval that starts between boundaries)
		WITH bounds AS (
			SELECT b AS lo, least(b - b % period_ms + period_ms, e_ms) AS hi
			  FROM (SELECT s_ms AS b
					UNION ALL
					SELECT g FROM generate_series(s_ms - s_ms % period_ms + period_ms, e_ms - 1, period_ms) g) x
			 WHERE b < e_ms)
		SELECT coalesce(json_agg(json_build_object('time', lo / 1000, 'value', v) ORDER BY lo), '[]')
		  INTO data
		  FROM (SELECT b.lo, coalesce(sum(CASE WHEN unit_ms = 0 THEN 0 ELSE
					   greatest(0, least(n.death, b.hi) - greatest(n.birth, b.lo)) * scale / unit_ms END), 0) AS v
				  FROM bounds b LEFT JOIN vscope._coopr_lives(tid, coopr_node_usage.user_id, now_ms) n
					ON n.birth < b.hi AND n.death > b.lo
				 GROUP BY b.lo) x;
		IF json_array_length(data) = 0 THEN
			data := json_build_array(json_build_object('time', s_ms / 1000, 'value', 0));
		END IF;
	END IF;
	RETURN json_build_object('start', s_ms / 1000, 'end', e_ms / 1000, 'data', data);
END
$$;

-- the cross-tenant twin of coopr_node_usage() for vscope_cloud (owned by
-- vscope_superadmin, whose rights it runs with; only vscope_cloud may call it)
COMMENT ON FUNCTION vscope.coopr_node_usage(text, text, text, text, text, text) IS 'Coopr node-seconds: the life of every node (COMPLETE CREATE to the first COMPLETE DELETE of its cluster and node) inside [start, end] (end defaults to now, start to the first CREATE), summed, optionally per interval; admins see their tenant, superadmins all or the tenant they name';

-- Citus: _ceilo_ids_dropped in PL/pgSQL (Citus cannot plan the SQL function's
-- parameters); _ceilo_insert_samples reads the stored seqs by a join first
-- (Citus refuses the correlated subquery); the same answers on one node
CREATE OR REPLACE FUNCTION vscope._ceilo_ids_dropped(lo timestamptz, hi timestamptz) RETURNS bigint
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n bigint;
BEGIN
	DELETE FROM vscope.sample_ids i
	 USING vscope.sample_span k
	 WHERE k.first_ts < hi AND k.last_ts >= lo
	   AND i.tenant_id = k.tenant_id AND i.series_id = k.series_id AND i.ts >= lo AND i.ts < hi;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
CREATE OR REPLACE FUNCTION vscope._ceilo_insert_samples(tenants integer[], series integer[], stamps timestamptz[],
	volumes double precision[], ids text[] DEFAULT NULL)
	RETURNS TABLE (pos integer, seq integer)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	lo timestamptz;
	hi timestamptz;
	-- the samples still to store: what they are, whether their id is ours
	t_ integer[];
	s_ integer[];
	ts_ timestamptz[];
	v_ double precision[];
	id_ text[];
	p_ integer[];
	c_ boolean[];
	q_ integer[];
	m_ integer[];
	r record;
	-- what was stored
	done_t integer[] := '{}'::integer[];
	done_s integer[] := '{}'::integer[];
	done_ts timestamptz[] := '{}'::timestamptz[];
	done_p integer[] := '{}'::integer[];
	done_q integer[] := '{}'::integer[];
	st_t integer[];
	st_s integer[];
	st_ts timestamptz[];
	st_p integer[];
	st_q integer[];
	left_p integer[];
	rounds integer := 0;
BEGIN
	IF coalesce(cardinality(tenants), 0) = 0 THEN
		RETURN;
	END IF;
	SELECT min(u), max(u) INTO lo, hi FROM unnest(stamps) u;
	-- an id given twice: its first sample only
	SELECT array_agg(x.t ORDER BY x.i), array_agg(x.s ORDER BY x.i), array_agg(x.ts ORDER BY x.i),
		   array_agg(x.v ORDER BY x.i), array_agg(x.id ORDER BY x.i), array_agg(x.i::integer ORDER BY x.i),
		   array_agg(false)
	  INTO t_, s_, ts_, v_, id_, p_, c_
	  FROM (SELECT u.*, row_number() OVER (PARTITION BY u.t, u.id ORDER BY u.i) AS nth
			  FROM unnest(tenants, series, stamps, volumes, ids) WITH ORDINALITY u(t, s, ts, v, id, i)) x
	 WHERE x.id IS NULL OR x.nth = 1;
	LOOP
		rounds := rounds + 1;
		IF rounds > 100 THEN
			RAISE EXCEPTION 'samples could not be given a free seq after 100 tries'
				USING ERRCODE = 'serialization_failure',
					  HINT = 'Other writers keep storing samples of the same series at the same times: retry.';
		END IF;
		-- the highest seq stored at each sample's time (a join, not a
		-- correlated subquery: Citus plans it)
		m_ := array_fill(NULL::integer, ARRAY[cardinality(t_)]);
		FOR r IN EXECUTE $q$
			SELECT u.i::integer AS i, max(x.seq) AS mx
			  FROM unnest($1::integer[], $2::integer[], $3::timestamptz[]) WITH ORDINALITY u(t, s, ts, i)
			  JOIN vscope.samples x ON x.tenant_id = u.t AND x.series_id = u.s AND x.ts = u.ts
			 WHERE x.ts >= $4 AND x.ts <= $5
			 GROUP BY u.i
			$q$ USING t_, s_, ts_, lo, hi LOOP
			m_[r.i] := r.mx;
		END LOOP;
		-- seqs, and the ids claimed (or, in later rounds, moved to their new seq)
		EXECUTE $q$
			WITH v AS (
				SELECT * FROM unnest($1::integer[], $2::integer[], $3::timestamptz[], $4::double precision[],
									 $5::text[], $6::integer[], $7::boolean[], $11::integer[])
							 u(t, s, ts, vol, id, pos, claimed, stored_max)
			), alloc AS (
				-- the next free seq at the sample's time, then the samples of
				-- one time numbered in order
				-- (above the blocks' too, when a day of these times is
				-- compressed: the sample must not take the key of one there)
				SELECT v.*, (coalesce(greatest(v.stored_max,
												CASE WHEN $10 THEN vscope._ceilo_block_max_seq(v.t, v.s, v.ts) END) + 1, 0)
							 + row_number() OVER (PARTITION BY v.t, v.s, v.ts ORDER BY v.pos) - 1)::integer AS seq
				  FROM v
			), claim AS (
				INSERT INTO vscope.sample_ids AS i (tenant_id, message_id, series_id, ts, seq)
				SELECT a.t, a.id, a.s, a.ts, a.seq FROM alloc a
				 WHERE a.id IS NOT NULL AND NOT a.claimed
				 ORDER BY a.t, a.id
				ON CONFLICT (tenant_id, message_id) DO NOTHING
				RETURNING i.tenant_id, i.message_id
			), moved AS (
				UPDATE vscope.sample_ids i SET seq = a.seq
				  FROM alloc a
				 WHERE a.claimed AND i.tenant_id = a.t AND i.message_id = a.id
			)
			SELECT array_agg(a.t ORDER BY a.pos), array_agg(a.s ORDER BY a.pos), array_agg(a.ts ORDER BY a.pos),
				   array_agg(a.vol ORDER BY a.pos), array_agg(a.id ORDER BY a.pos), array_agg(a.pos ORDER BY a.pos),
				   array_agg(a.seq ORDER BY a.pos)
			  FROM alloc a LEFT JOIN claim c ON c.tenant_id = a.t AND c.message_id = a.id
			 WHERE a.id IS NULL OR a.claimed OR c.message_id IS NOT NULL
			$q$
			INTO t_, s_, ts_, v_, id_, p_, q_
			USING t_, s_, ts_, v_, id_, p_, c_, lo, hi, vscope._ceilo_blocks_between(lo, hi), m_;
		EXIT WHEN p_ IS NULL;
		-- the samples, in key order: writers storing at one time wait for
		-- each other rather than deadlock
		EXECUTE $q$
			WITH w AS (
				SELECT * FROM unnest($1::integer[], $2::integer[], $3::timestamptz[], $4::double precision[],
									 $5::integer[], $6::integer[]) u(t, s, ts, vol, pos, seq)
			), stored AS (
				INSERT INTO vscope.samples (tenant_id, series_id, ts, seq, volume)
				SELECT w.t, w.s, w.ts, w.seq, w.vol FROM w ORDER BY w.t, w.s, w.ts, w.seq
				ON CONFLICT DO NOTHING
				RETURNING tenant_id, series_id, ts, seq
			)
			SELECT array_agg(w.t) FILTER (WHERE st.seq IS NOT NULL), array_agg(w.s) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.ts) FILTER (WHERE st.seq IS NOT NULL), array_agg(w.pos) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.seq) FILTER (WHERE st.seq IS NOT NULL),
				   array_agg(w.pos) FILTER (WHERE st.seq IS NULL)
			  FROM w LEFT JOIN stored st ON st.tenant_id = w.t AND st.series_id = w.s AND st.ts = w.ts AND st.seq = w.seq
			$q$
			INTO st_t, st_s, st_ts, st_p, st_q, left_p
			USING t_, s_, ts_, v_, p_, q_;
		done_t := done_t || st_t;
		done_s := done_s || st_s;
		done_ts := done_ts || st_ts;
		done_p := done_p || st_p;
		done_q := done_q || st_q;
		EXIT WHEN left_p IS NULL;
		-- the samples that lost their seq, again (their ids are theirs already)
		SELECT array_agg(u.t ORDER BY u.pos), array_agg(u.s ORDER BY u.pos), array_agg(u.ts ORDER BY u.pos),
			   array_agg(u.vol ORDER BY u.pos), array_agg(u.id ORDER BY u.pos), array_agg(u.pos ORDER BY u.pos),
			   array_agg(true)
		  INTO t_, s_, ts_, v_, id_, p_, c_
		  FROM unnest(t_, s_, ts_, v_, id_, p_) u(t, s, ts, vol, id, pos)
		 WHERE u.pos = ANY (left_p);
	END LOOP;
	-- a compaction of a day that committed after the seqs were read may
	-- have moved another writer's sample with one of those seqs into a
	-- block (once a row is in, no compaction of its day can start before
	-- this commits): the two would share a message_id, so this request is
	-- refused, to be sent again (two posts to one series and instant during
	-- its day's compaction)
	IF vscope._ceilo_blocks_between(lo, hi) AND EXISTS (
			SELECT FROM unnest(done_t, done_s, done_ts, done_q) u(t, s, ts, q)
			 WHERE vscope._ceilo_block_max_seq(u.t, u.s, u.ts) >= u.q) THEN
		RAISE EXCEPTION 'samples of these series and times were compressed while these were being stored'
			USING ERRCODE = 'serialization_failure', HINT = 'Send the samples again.';
	END IF;
	PERFORM vscope._ceilo_span_widen(done_t, done_s, done_ts);
	RETURN QUERY SELECT u.p, u.q FROM unnest(done_p, done_q) u(p, q);
END
$$;

-- Citus: the several-tenant _ceilo_span_widen in PL/pgSQL (Citus cannot plan
-- the SQL function's parameters)
CREATE OR REPLACE FUNCTION vscope._ceilo_span_widen(tenants integer[], series integer[], stamps timestamptz[]) RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	INSERT INTO vscope.sample_span AS k (tenant_id, series_id, first_ts, last_ts)
	SELECT u.tid, u.sid, min(u.ts), max(u.ts)
	  FROM unnest(tenants, series, stamps) u(tid, sid, ts) GROUP BY u.tid, u.sid ORDER BY u.tid, u.sid
	ON CONFLICT (tenant_id, series_id) DO UPDATE
	   SET first_ts = least(k.first_ts, excluded.first_ts), last_ts = greatest(k.last_ts, excluded.last_ts)
	 WHERE excluded.first_ts < k.first_ts OR excluded.last_ts > k.last_ts;
END
$$;

-- ==== Citus (issue 16, helper B): vscope.use_tenant() reaches the workers;
-- _tsdb_tsmeta_json reads in statements of its own (sql/citus.sql,
-- sql/tenancy.sql, sql/opentsdb.sql) ====
-- vscope.use_tenant() on Citus.  The tenant setting of a session stays on
-- the node it was set on, and Citus sends a session's SET commands to the
-- workers only as SET LOCAL inside a transaction block: the sessions Citus
-- opens on the workers for a psql session that called use_tenant() would
-- have no tenant.  So use_tenant(), called by a superuser where vscope is
-- distributed, also writes the tenant into this table on every worker,
-- under the session's Citus global process id (gpid, which Citus names in
-- application_name "citus_internal gpid=..." of every session it opens for
-- it); a worker's vscope.current_tenant() reads it there for such a session
-- of a superuser that has no tenant setting of its own (a SET LOCAL that
-- reached the worker comes first).  Each node's own copy: never distributed
-- (no tenant_id column), readable by superusers only (row-level security
-- forced, no policy).
CREATE TABLE vscope.session_tenants (
	gpid		bigint PRIMARY KEY,
	tenant		integer NOT NULL,
	set_at		timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE vscope.session_tenants IS 'on a Citus worker: the tenant that vscope.use_tenant() chose for a coordinator''s superuser session, by its Citus global process id (superusers only)';
ALTER TABLE vscope.session_tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.session_tenants FORCE ROW LEVEL SECURITY;

CREATE FUNCTION vscope._citus_session_tenant(tenant integer) RETURNS boolean
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	-- Citus's global process id: node id * 10^10 + process id
	me bigint;
	node bigint;
	live bigint[];
	failed text;
	distributed boolean;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')
	   OR NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
		RETURN false;
	END IF;
	-- Citus's catalogs and functions through EXECUTE: they exist only there
	EXECUTE 'SELECT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = ''vscope.tenants''::regclass)'
		INTO distributed;
	IF NOT distributed THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT citus_backend_gpid()' INTO me;
	node := me / 10000000000;
	-- this node's sessions that are gone leave their rows: dropped here
	EXECUTE 'SELECT ARRAY(SELECT citus_calculate_gpid($1, a.pid) FROM pg_stat_activity a)'
		INTO live USING node::integer;
	EXECUTE 'SELECT string_agg(format(''%s:%s: %s'', w.nodename, w.nodeport, w.result), ''; '')
			   FROM run_command_on_workers($1) w WHERE NOT w.success'
		INTO failed
		USING format('WITH gone AS (DELETE FROM vscope.session_tenants WHERE gpid / 10000000000 = %s AND gpid <> ALL (%L::bigint[])) '
					 'INSERT INTO vscope.session_tenants (gpid, tenant) VALUES (%s, %s) '
					 'ON CONFLICT (gpid) DO UPDATE SET tenant = excluded.tenant, set_at = excluded.set_at',
					 node, live, me, tenant);
	IF failed IS NOT NULL THEN
		RAISE EXCEPTION 'could not set the session''s tenant on the workers'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = failed,
				  HINT = 'Every worker needs the vscope extension at the coordinator''s version.';
	END IF;
	RETURN true;
END
$$;
COMMENT ON FUNCTION vscope._citus_session_tenant(integer) IS 'internal: where vscope is distributed on Citus and the caller is a superuser, records the session''s tenant (vscope.use_tenant()) on every worker for the sessions Citus opens there for it; false when it has nothing to do';
REVOKE ALL ON FUNCTION vscope._citus_session_tenant(integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION vscope.use_tenant(tenant text) RETURNS integer
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	id integer;
BEGIN
	SELECT t.tenant_id INTO id FROM vscope.tenants t WHERE t.name = tenant;
	IF id IS NULL THEN
		RAISE EXCEPTION 'tenant "%" does not exist', tenant
			USING ERRCODE = 'VS404', HINT = 'Create it with vscope.create_tenant().';
	END IF;
	PERFORM set_config('vscope.tenant', id::text, false);
	-- on Citus, the workers' sessions for this one learn it too (citus.sql)
	IF EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')
	   AND (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
		PERFORM vscope._citus_session_tenant(id);
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION vscope.use_tenant(text) IS 'makes this session act as the tenant (honoured for superusers; other roles are bound with vscope.grant_tenant_access); on Citus, a superuser''s choice reaches the workers too';

CREATE OR REPLACE FUNCTION vscope._tsdb_tsmeta_json(sids integer[]) RETURNS TABLE (series_id integer, meta text)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	tid integer := vscope.current_tenant();
	types text[];
	names text[];
	firsts bigint[];
	r record;
	e record;
	tags_json text;
	total bigint;
BEGIN
	-- every function that reads tenant tables runs in a statement of its
	-- own (Citus runs a query that calls one on a worker, where the nested
	-- distributed query is refused): the names of these series first, when
	-- each was first seen, then each series with its meta data and latest
	-- point, its names' UIDMeta and its count
	SELECT array_agg(n.type), array_agg(n.name) INTO types, names
	  FROM (SELECT 'metric' AS type, x.metric AS name
			  FROM vscope.series x WHERE x.tenant_id = tid AND x.series_id = ANY (sids)
			UNION SELECT 'tagk', t.key
			  FROM vscope.series x, jsonb_each_text(x.tags) t WHERE x.tenant_id = tid AND x.series_id = ANY (sids)
			UNION SELECT 'tagv', t.value
			  FROM vscope.series x, jsonb_each_text(x.tags) t WHERE x.tenant_id = tid AND x.series_id = ANY (sids)) n;
	SELECT array_agg(c.type), array_agg(c.name), array_agg(c.created) INTO types, names, firsts
	  FROM vscope._tsdb_uid_created(types, names) c;
	FOR r IN
		SELECT x.series_id AS sid, x.metric, x.tags, x.created_at,
			   m.description, m.notes, m.custom, m.units, m.retention, m.max, m.min,
			   m.display_name, m.data_type, l.ts AS last_ts
		  FROM vscope.series x
		  LEFT JOIN vscope.series_meta m ON m.tenant_id = tid AND m.series_id = x.series_id
		  LEFT JOIN vscope.series_last l ON l.tenant_id = tid AND l.series_id = x.series_id
		 WHERE x.tenant_id = tid AND x.series_id = ANY (sids)
	LOOP
		tags_json := NULL;
		FOR e IN SELECT t.key, t.value FROM jsonb_each_text(r.tags) t ORDER BY t.key COLLATE "C" LOOP
			tags_json := coalesce(tags_json || ',', '')
				|| vscope._tsdb_uidmeta_json('tagk', e.key,
					(SELECT u.f FROM unnest(types, names, firsts) u(t, n, f) WHERE u.t = 'tagk' AND u.n = e.key))
				|| ',' || vscope._tsdb_uidmeta_json('tagv', e.value,
					(SELECT u.f FROM unnest(types, names, firsts) u(t, n, f) WHERE u.t = 'tagv' AND u.n = e.value));
		END LOOP;
		SELECT count(*) INTO total FROM vscope.read_points(ARRAY[r.sid], '-infinity', 'infinity');
		series_id := r.sid;
		meta := '{"tsuid":' || to_json(upper(lpad(to_hex(r.sid), 8, '0')))::text
		   || ',"metric":' || vscope._tsdb_uidmeta_json('metric', r.metric,
								(SELECT u.f FROM unnest(types, names, firsts) u(t, n, f) WHERE u.t = 'metric' AND u.n = r.metric))
		   || ',"tags":[' || coalesce(tags_json, '') || ']'
		   || ',"description":' || to_json(coalesce(r.description, ''))::text
		   || ',"notes":' || to_json(coalesce(r.notes, ''))::text
		   || ',"created":' || floor(extract(epoch FROM r.created_at))::bigint
		   || CASE WHEN r.custom IS NULL THEN '' ELSE ',"custom":' || vscope._tsdb_custom_json(r.custom) END
		   || ',"units":' || to_json(coalesce(r.units, ''))::text
		   || ',"retention":' || coalesce(r.retention, 0)
		   || ',"max":' || CASE WHEN r.max IS NULL OR r.max = 'NaN' THEN '"NaN"'
							   WHEN r.max IN ('Infinity', '-Infinity') THEN to_json(vscope._java_double(r.max))::text
							   ELSE vscope._java_double(r.max) END
		   || ',"min":' || CASE WHEN r.min IS NULL OR r.min = 'NaN' THEN '"NaN"'
							   WHEN r.min IN ('Infinity', '-Infinity') THEN to_json(vscope._java_double(r.min))::text
							   ELSE vscope._java_double(r.min) END
		   || ',"displayName":' || to_json(coalesce(r.display_name, ''))::text
		   || ',"dataType":' || to_json(coalesce(r.data_type, ''))::text
		   || ',"lastReceived":' || coalesce(floor(extract(epoch FROM r.last_ts))::bigint, 0)
		   || ',"totalDatapoints":' || total
		   || '}';
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION vscope._tsdb_tsmeta_json(integer[]) IS 'internal: the TSMeta of each of these series of the current tenant as OpenTSDB answers it (the stored user fields or their defaults; created, lastReceived and totalDatapoints from the store)';

CREATE OR REPLACE FUNCTION vscope.tsdb_tsmeta(method text, body text DEFAULT NULL, args jsonb DEFAULT '{}',
								   OUT status integer, OUT answer json)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	req jsonb := vscope._tsdb_body(body);
	sid integer;
	sids integer[];
	p record;
	missing text;
	f jsonb;
	key_ text;
	lim integer;
	v text;
	ret integer;
	mx double precision;
	mn double precision;
	chg boolean;
BEGIN
	IF method NOT IN ('GET', 'POST', 'PUT', 'DELETE') THEN
		RAISE EXCEPTION 'Method not allowed' USING ERRCODE = 'VS405',
			DETAIL = format('The HTTP method [%s] is not permitted for this endpoint', method);
	END IF;
	IF req IS NOT NULL AND jsonb_typeof(req) <> 'object' THEN
		RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400';
	END IF;
	IF method = 'GET' THEN
		IF args ? 'tsuid' THEN
			sid := vscope._tsdb_tsuid_id(vscope._tsdb_arg(args, 'tsuid'));
			PERFORM FROM vscope.series s WHERE s.tenant_id = tid AND s.series_id = sid;
			IF sid IS NULL OR NOT FOUND THEN
				RAISE EXCEPTION 'Could not find Timeseries meta data' USING ERRCODE = 'VS404';
			END IF;
			status := 200;
			answer := (SELECT j.meta FROM vscope._tsdb_tsmeta_json(ARRAY[sid]) j)::json;
			RETURN;
		END IF;
		SELECT * INTO p FROM vscope._tsdb_parse_series(vscope._tsdb_required_arg(args, 'm'));
		missing := vscope._tsdb_missing_name(p.metric, p.tags);
		IF missing IS NOT NULL THEN
			RAISE EXCEPTION 'Unable to find one of the UIDs' USING ERRCODE = 'VS404', DETAIL = missing;
		END IF;
		status := 200;
		-- the series first, in a query of their own (Citus)
		sids := ARRAY(SELECT s.series_id FROM vscope.series s
					   WHERE s.tenant_id = tid AND s.metric = p.metric AND s.tags @> p.tags);
		answer := ('[' || coalesce((SELECT string_agg(j.meta, ',' ORDER BY j.series_id)
									  FROM vscope._tsdb_tsmeta_json(sids) j), '')
				   || ']')::json;
		RETURN;
	END IF;

	-- the fields: the body's, or the query string's (OpenTSDB's names)
	IF req IS NOT NULL THEN
		f := req;
		IF f ? 'custom' THEN
			f := jsonb_set(f, '{custom}', coalesce(vscope._tsdb_custom(f->'custom'), 'null'));
		END IF;
		BEGIN
			ret := trunc((f->>'retention')::numeric)::integer;
			mx := (f->>'max')::double precision;
			mn := (f->>'min')::double precision;
		EXCEPTION WHEN data_exception THEN
			RAISE EXCEPTION 'Unable to parse the given JSON' USING ERRCODE = 'VS400',
				DETAIL = 'retention is a whole number, max and min are numbers.';
		END;
	ELSE
		f := jsonb_strip_nulls(jsonb_build_object(
			'tsuid', vscope._tsdb_arg(args, 'tsuid'),
			'displayName', vscope._tsdb_arg(args, 'display_name'),
			'description', vscope._tsdb_arg(args, 'description'),
			'notes', vscope._tsdb_arg(args, 'notes'),
			'units', vscope._tsdb_arg(args, 'units'),
			'dataType', vscope._tsdb_arg(args, 'data_type')));
		FOREACH v IN ARRAY ARRAY['retention', 'max', 'min'] LOOP
			CONTINUE WHEN coalesce(vscope._tsdb_arg(args, v), '') = '';
			BEGIN
				IF v = 'retention' THEN
					ret := vscope._tsdb_arg(args, v)::integer;
				ELSIF v = 'max' THEN
					mx := vscope._tsdb_arg(args, v)::real::double precision;
				ELSE
					mn := vscope._tsdb_arg(args, v)::real::double precision;
				END IF;
			EXCEPTION WHEN data_exception THEN
				RAISE EXCEPTION 'Unable to parse ''%'' value', v USING ERRCODE = 'VS400';
			END;
		END LOOP;
	END IF;

	IF method = 'DELETE' THEN
		IF coalesce(f->>'tsuid', '') = '' THEN
			RAISE EXCEPTION 'Unable to delete TSMeta information' USING ERRCODE = 'VS400', DETAIL = 'Missing UID';
		END IF;
		DELETE FROM vscope.series_meta x WHERE x.tenant_id = tid AND x.series_id = vscope._tsdb_tsuid_id(f->>'tsuid');
		status := 204;
		RETURN;
	END IF;

	-- a field counts as set when it differs from its default, as OpenTSDB's
	-- setters count it; a write that sets none changes nothing (its 304)
	chg := coalesce(f->>'displayName', '') <> '' OR coalesce(f->>'description', '') <> ''
		   OR coalesce(f->>'notes', '') <> '' OR coalesce(f->>'units', '') <> ''
		   OR coalesce(f->>'dataType', '') <> '' OR coalesce(ret, 0) <> 0
		   OR mx IS NOT NULL OR mn IS NOT NULL OR coalesce(jsonb_typeof(f->'custom') = 'object', false);
	-- POST or PUT: by tsuid, or by m= (create=true makes the series)
	IF coalesce(f->>'tsuid', '') = '' THEN
		SELECT * INTO p FROM vscope._tsdb_parse_series(vscope._tsdb_required_arg(args, 'm'));
		missing := vscope._tsdb_missing_name(p.metric, p.tags);
		IF missing IS NOT NULL THEN
			RAISE EXCEPTION 'Unable to find one or more UIDs' USING ERRCODE = 'VS404', DETAIL = missing;
		END IF;
		-- the series' canonical key, as store/series.c writes it (its
		-- delimiters and % percent-encoded inside the names)
		key_ := vscope._tsdb_key_part(p.metric) || '{'
				|| coalesce((SELECT string_agg(vscope._tsdb_key_part(e.key) || '=' || vscope._tsdb_key_part(e.value),
											   ',' ORDER BY e.key COLLATE "C")
							   FROM jsonb_each_text(p.tags) e), '') || '}';
		SELECT s.series_id INTO sid FROM vscope.series s WHERE s.tenant_id = tid AND s.skey = key_;
		IF sid IS NULL THEN
			IF vscope._tsdb_arg(args, 'create') IS DISTINCT FROM 'true' THEN
				RAISE EXCEPTION 'Could not find TSMeta, specify "create=true" to create a new one.' USING ERRCODE = 'VS400';
			END IF;
			lim := current_setting('vscope.max_tags')::integer;
			IF (SELECT count(*) FROM jsonb_object_keys(p.tags)) > lim THEN
				RAISE EXCEPTION 'Too many tags: % maximum allowed: %', (SELECT count(*) FROM jsonb_object_keys(p.tags)), lim
					USING ERRCODE = 'VS400';
			END IF;
			-- a new series, numbered and counted as a write would make it
			SELECT c.series_id INTO sid FROM vscope._create_series(ARRAY[key_], ARRAY[p.metric], ARRAY[p.tags::text]) c;
		ELSIF NOT chg THEN
			status := 304;
			RETURN;
		END IF;
	ELSE
		sid := vscope._tsdb_tsuid_id(f->>'tsuid');
		IF NOT chg THEN
			status := 304;
			RETURN;
		END IF;
		PERFORM FROM vscope.series s WHERE s.tenant_id = tid AND s.series_id = sid;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'Requested TSMeta did not exist' USING ERRCODE = 'VS400';
		END IF;
	END IF;
	INSERT INTO vscope.series_meta AS x (tenant_id, series_id, display_name, description, notes, custom,
										 units, data_type, retention, max, min)
	VALUES (tid, sid, coalesce(f->>'displayName', ''), coalesce(f->>'description', ''),
			coalesce(f->>'notes', ''), nullif(f->'custom', 'null'), coalesce(f->>'units', ''),
			coalesce(f->>'dataType', ''), coalesce(ret, 0), coalesce(mx, 'NaN'), coalesce(mn, 'NaN'))
	ON CONFLICT (tenant_id, series_id) DO UPDATE SET
		display_name = CASE WHEN method = 'PUT' OR coalesce(f->>'displayName', '') <> '' THEN excluded.display_name ELSE x.display_name END,
		description = CASE WHEN method = 'PUT' OR coalesce(f->>'description', '') <> '' THEN excluded.description ELSE x.description END,
		notes = CASE WHEN method = 'PUT' OR coalesce(f->>'notes', '') <> '' THEN excluded.notes ELSE x.notes END,
		custom = CASE WHEN method = 'PUT' OR jsonb_typeof(f->'custom') = 'object' THEN excluded.custom ELSE x.custom END,
		units = CASE WHEN method = 'PUT' OR coalesce(f->>'units', '') <> '' THEN excluded.units ELSE x.units END,
		data_type = CASE WHEN method = 'PUT' OR coalesce(f->>'dataType', '') <> '' THEN excluded.data_type ELSE x.data_type END,
		retention = CASE WHEN method = 'PUT' OR coalesce(ret, 0) <> 0 THEN excluded.retention ELSE x.retention END,
		max = CASE WHEN method = 'PUT' OR mx IS NOT NULL THEN excluded.max ELSE x.max END,
		min = CASE WHEN method = 'PUT' OR mn IS NOT NULL THEN excluded.min ELSE x.min END;
	status := 200;
	answer := (SELECT j.meta FROM vscope._tsdb_tsmeta_json(ARRAY[sid]) j)::json;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_tsmeta(text, text, jsonb) IS 'OpenTSDB /api/uid/tsmeta for the current tenant: GET {"tsuid"} or {"m": "metric{k=v}"}, POST/PUT a body {"tsuid","displayName","description","notes","custom","units","dataType","retention","max","min"} or the same as arguments (by m= with create=true for a new series), DELETE; answers (status, TSMeta or a list of them)';

-- ==== Citus: one role per request's writes to a tenant's shards; bound
-- login roles on Citus; create_token() of an admin on Citus; Ceilometer
-- posts and expire() of samples routed to one tenant's shard (issue 16) ====
ALTER TABLE vscope.tenant_roles ADD COLUMN role_name name;
UPDATE vscope.tenant_roles b SET role_name = r.rolname FROM pg_catalog.pg_roles r WHERE r.oid = b.role_id;

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

CREATE OR REPLACE FUNCTION vscope._create_series(keys text[], metrics text[], tags text[])
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

CREATE FUNCTION vscope._insert_token(tid integer, hash bytea, scopes text[], description text) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF tid IS DISTINCT FROM vscope.current_tenant() OR scopes && ARRAY['superadmin', 'publish'] THEN
		RAISE EXCEPTION 'new row violates row-level security policy for table "tokens"'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	INSERT INTO vscope.tokens (tenant_id, token_hash, scopes, description)
		VALUES (tid, hash, scopes, description);
END
$$;
REVOKE ALL ON FUNCTION vscope._insert_token(integer, bytea, text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._insert_token(integer, bytea, text[], text) TO vscope_admin;
COMMENT ON FUNCTION vscope._insert_token(integer, bytea, text[], text) IS 'internal: for create_token() of a tenant''s admin on Citus, inserts a token of the current tenant (never a superadmin or publisher one) with the owner''s rights';

CREATE OR REPLACE FUNCTION vscope.create_token(tenant text, scopes text[] DEFAULT '{read}',
									description text DEFAULT NULL)
	RETURNS text
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer;
	tok text;
	bad text;
BEGIN
	IF coalesce(cardinality(scopes), 0) = 0 THEN
		RAISE EXCEPTION 'a token needs at least one scope'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Scopes are read, write, admin, superadmin and publish.';
	END IF;
	SELECT s INTO bad FROM unnest(scopes) s
	 WHERE s IS NULL OR s NOT IN ('read', 'write', 'admin', 'superadmin', 'publish') LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invalid token scope "%"', coalesce(bad, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Scopes are read, write, admin, superadmin and publish.';
	END IF;
	tid := vscope.tenant_id(tenant);
	IF tid IS NULL THEN
		RAISE EXCEPTION 'tenant "%" does not exist', tenant
			USING ERRCODE = 'VS404';
	END IF;
	tok := vscope._random_token();
	scopes := ARRAY(SELECT DISTINCT s FROM unnest(scopes) s ORDER BY 1);  -- (Citus: no subquery in INSERT)
	IF NOT has_table_privilege('vscope.tenants', 'INSERT')
	   AND EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
		-- on Citus a write to a reference table locks the reference tables
		-- it refers to as well, which needs a right to write to tenants:
		-- a tenant's admin has none, and inserts through the owner
		PERFORM vscope._insert_token(tid, sha256(convert_to(tok, 'UTF8')), scopes, description);
		RETURN tok;
	END IF;
	INSERT INTO vscope.tokens (tenant_id, token_hash, scopes, description)
		VALUES (tid, sha256(convert_to(tok, 'UTF8')), scopes, description);
	RETURN tok;
END
$$;
COMMENT ON FUNCTION vscope.create_token(text, text[], text) IS 'creates an API token for a tenant and returns it; only its hash is kept, so this is the one time it is shown';
REVOKE ALL ON FUNCTION vscope.create_token(text, text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.create_token(text, text[], text) TO vscope_admin;

CREATE OR REPLACE FUNCTION vscope.grant_tenant_access(role_name name, tenant text,
										   access text DEFAULT 'read')
	RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer;
	rid oid;
BEGIN
	IF access NOT IN ('read', 'write') THEN
		RAISE EXCEPTION 'invalid access "%"', access
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use read or write.';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = role_name) THEN
		RAISE EXCEPTION 'role "%" does not exist', role_name
			USING ERRCODE = 'undefined_object';
	END IF;
	tid := vscope.tenant_id(tenant);
	IF tid IS NULL THEN
		RAISE EXCEPTION 'tenant "%" does not exist', tenant USING ERRCODE = 'VS404';
	END IF;
	SELECT r.oid INTO rid FROM pg_roles r WHERE r.rolname = grant_tenant_access.role_name;
	-- a binding left by a dropped role of that name goes (on Citus the
	-- workers match bindings by name); values, no subquery: Citus plans it
	DELETE FROM vscope.tenant_roles r WHERE r.role_name = grant_tenant_access.role_name AND r.role_id <> rid;
	INSERT INTO vscope.tenant_roles AS r (tenant_id, role_id, role_name)
		VALUES (tid, rid, grant_tenant_access.role_name)
		ON CONFLICT ON CONSTRAINT tenant_roles_role_id_key
		DO UPDATE SET tenant_id = excluded.tenant_id, role_name = excluded.role_name;
	EXECUTE format('GRANT %I TO %I',
				   CASE access WHEN 'write' THEN 'vscope_writer' ELSE 'vscope_reader' END,
				   role_name);
END
$$;
COMMENT ON FUNCTION vscope.grant_tenant_access(name, text, text) IS 'confines a login role to one tenant and lets it read (or write) that tenant''s data from psql or a BI tool';
REVOKE ALL ON FUNCTION vscope.grant_tenant_access(name, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION vscope._ceilo_span_dropped(lo timestamptz, hi timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	ft integer[];			-- the series that began that day and go on, still unsettled
	fs integer[];
	lt integer[];			-- those that ended that day, having begun before
	ls integer[];
	gt integer[];			-- those that began and ended that day
	gs integer[];
	p record;
	changed integer := 0;
	n integer;
	tid integer;
BEGIN
	FOR tid IN SELECT DISTINCT k.tenant_id FROM vscope.sample_span k
				WHERE (k.first_ts >= lo AND k.first_ts < hi) OR (k.last_ts >= lo AND k.last_ts < hi)
				ORDER BY 1 LOOP
		SELECT array_agg(k.tenant_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts >= hi),
			   array_agg(k.series_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts >= hi),
			   array_agg(k.tenant_id) FILTER (WHERE k.first_ts < lo),
			   array_agg(k.series_id) FILTER (WHERE k.first_ts < lo),
			   array_agg(k.tenant_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts < hi),
			   array_agg(k.series_id) FILTER (WHERE k.first_ts >= lo AND k.last_ts < hi)
		  INTO ft, fs, lt, ls, gt, gs
		  FROM (SELECT k.tenant_id, k.series_id, k.first_ts, k.last_ts FROM vscope.sample_span k
				 WHERE k.tenant_id = tid
				   AND ((k.first_ts >= lo AND k.first_ts < hi) OR (k.last_ts >= lo AND k.last_ts < hi))
				 ORDER BY k.tenant_id, k.series_id FOR UPDATE) k;
		-- (listing the partitions costs: not when no series needs them)
		FOR p IN SELECT * FROM vscope.partitions('samples') WHERE range_start >= hi AND ft IS NOT NULL
				  ORDER BY range_start LOOP
			EXIT WHEN ft IS NULL;
			EXECUTE $q$
				WITH found AS (
					SELECT a.t, a.s, f.ts
					  FROM unnest($1, $2) a(t, s)
					 CROSS JOIN LATERAL (SELECT least((SELECT x.ts FROM vscope.samples x
													   WHERE x.tenant_id = $5 AND x.series_id = a.s
														 AND x.ts >= $3 AND x.ts < $4
													   ORDER BY x.ts LIMIT 1),
													  (SELECT b.first_ts FROM vscope.sample_blocks b
													   WHERE b.tenant_id = $5 AND b.series_id = a.s
														 AND b.first_ts >= $3 AND b.first_ts < $4
													   ORDER BY b.first_ts LIMIT 1)) AS ts) f
					 WHERE f.ts IS NOT NULL
				), moved AS (
					UPDATE vscope.sample_span k SET first_ts = found.ts
					  FROM found WHERE k.tenant_id = $5 AND k.series_id = found.s
				)
				SELECT array_agg(a.t), array_agg(a.s), (SELECT count(*)::integer FROM found)
				  FROM unnest($1, $2) a(t, s)
				 WHERE NOT EXISTS (SELECT FROM found WHERE found.t = a.t AND found.s = a.s)
				$q$
				INTO ft, fs, n USING ft, fs, p.range_start, p.range_end, tid;
			changed := changed + n;
		END LOOP;
		FOR p IN SELECT * FROM vscope.partitions('samples') WHERE range_end <= lo AND lt IS NOT NULL
				  ORDER BY range_start DESC LOOP
			EXIT WHEN lt IS NULL;
			EXECUTE $q$
				WITH found AS (
					SELECT a.t, a.s, f.ts
					  FROM unnest($1, $2) a(t, s)
					 CROSS JOIN LATERAL (SELECT greatest((SELECT x.ts FROM vscope.samples x
														  WHERE x.tenant_id = $5 AND x.series_id = a.s
															AND x.ts >= $3 AND x.ts < $4
														  ORDER BY x.ts DESC LIMIT 1),
														 (SELECT b.last_ts FROM vscope.sample_blocks b
														  WHERE b.tenant_id = $5 AND b.series_id = a.s
															AND b.first_ts >= $3 AND b.first_ts < $4
														  ORDER BY b.first_ts DESC LIMIT 1)) AS ts) f
					 WHERE f.ts IS NOT NULL
				), moved AS (
					UPDATE vscope.sample_span k SET last_ts = found.ts
					  FROM found WHERE k.tenant_id = $5 AND k.series_id = found.s
				)
				SELECT array_agg(a.t), array_agg(a.s), (SELECT count(*)::integer FROM found)
				  FROM unnest($1, $2) a(t, s)
				 WHERE NOT EXISTS (SELECT FROM found WHERE found.t = a.t AND found.s = a.s)
				$q$
				INTO lt, ls, n USING lt, ls, p.range_start, p.range_end, tid;
			changed := changed + n;
		END LOOP;
		-- what was all in that day, or what no partition settled (which a span
		-- kept right never leaves), has no samples left
		DELETE FROM vscope.sample_span k
		 USING (SELECT * FROM unnest(gt, gs) UNION ALL SELECT * FROM unnest(ft, fs)
				UNION ALL SELECT * FROM unnest(lt, ls)) a(t, s)
		 WHERE k.tenant_id = tid AND k.series_id = a.s;
		GET DIAGNOSTICS n = ROW_COUNT;
		changed := changed + n;
	END LOOP;
	RETURN changed;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_span_dropped(timestamptz, timestamptz) IS 'internal: after vscope.expire() dropped the samples of [lo, hi), the vscope.sample_span rows that began or ended there are moved to the samples that are left (or deleted); returns how many rows changed';

CREATE OR REPLACE FUNCTION vscope._ceilo_series_ids(tenants integer[], meters text[], types text[], units text[],
	resources text[], projects text[], users text[], sources text[], metadata jsonb[])
	RETURNS integer[] LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	keys bytea[];
	ids integer[];
	known_t integer[];		-- the series that exist: tenant and key
	known_k bytea[];
	fresh integer[];		-- the positions of the first samples of new series, in order
	numbers bigint[];
BEGIN
	SELECT array_agg(sha256(convert_to(jsonb_build_array(u.m, u.ty, u.un, u.r, u.p, u.us, u.src, u.md)::text, 'UTF8'))
					 ORDER BY u.i)
	  INTO keys
	  FROM unnest(meters, types, units, resources, projects, users, sources, metadata)
		   WITH ORDINALITY u(m, ty, un, r, p, us, src, md, i);
	-- the series that exist are read first, by a query of their own (on
	-- Citus, from the shards of these tenants), and matched to the samples
	-- after, in a query without tenant tables: Citus takes no subquery
	-- correlated with unnest()
	SELECT array_agg(s.tenant_id), array_agg(s.skey) INTO known_t, known_k
	  FROM vscope.sample_series s
	 WHERE s.tenant_id = ANY (tenants) AND s.skey = ANY (keys);
	SELECT array_agg(f.i::integer ORDER BY f.i) INTO fresh
	  FROM (SELECT DISTINCT ON (u.t, u.k) u.i
			  FROM unnest(tenants, keys) WITH ORDINALITY u(t, k, i)
			 WHERE NOT EXISTS (SELECT FROM unnest(known_t, known_k) s(t, k) WHERE s.t = u.t AND s.k = u.k)
			 ORDER BY u.t, u.k, u.i) f;
	IF fresh IS NOT NULL THEN
		-- one number each, ascending in the order the series come
		numbers := ARRAY(SELECT nextval(pg_get_serial_sequence('vscope.sample_series', 'series_id'))
						   FROM generate_series(1, cardinality(fresh)));
		INSERT INTO vscope.sample_series (tenant_id, series_id, counter_name, counter_type, counter_unit,
										  resource_id, project_id, user_id, source, resource_metadata, skey)
		SELECT u.t, f.n, u.m, u.ty, u.un, u.r, u.p, u.us, u.src, u.md, u.k
		  FROM unnest(tenants, meters, types, units, resources, projects, users, sources, metadata, keys)
			   WITH ORDINALITY u(t, m, ty, un, r, p, us, src, md, k, i)
		  JOIN unnest(fresh, numbers) f(i, n) ON f.i = u.i
		 ORDER BY u.t, u.k
		ON CONFLICT (tenant_id, skey) DO NOTHING;
	END IF;
	WITH known AS MATERIALIZED (
		SELECT s.tenant_id, s.skey, s.series_id FROM vscope.sample_series s
		 WHERE s.tenant_id = ANY (tenants) AND s.skey = ANY (keys))
	SELECT array_agg(s.series_id ORDER BY u.i) INTO ids
	  FROM unnest(tenants, keys) WITH ORDINALITY u(t, k, i)
	  JOIN known s ON s.tenant_id = u.t AND s.skey = u.k;
	IF coalesce(cardinality(ids), 0) <> coalesce(cardinality(tenants), 0) THEN
		RAISE EXCEPTION 'a sample series could not be found or made'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The samples name a tenant this session may not write to.';
	END IF;
	RETURN ids;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_series_ids(integer[], text[], text[], text[], text[], text[], text[], text[], jsonb[]) IS 'internal: the sample series (by tenant, meter, type, unit, resource, project, user, source and metadata, given as arrays) of checked samples, made when new; their ids in the order given';

CREATE OR REPLACE FUNCTION vscope._ceilo_publish_tenants(projects text[], routing text) RETURNS integer[]
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	home integer := vscope.current_tenant();
	r integer[];
	known text[];
BEGIN
	IF routing <> 'project' THEN
		RETURN array_fill(home, ARRAY[coalesce(cardinality(projects), 0)]);
	END IF;
	-- the tenants that exist read first (Citus takes no subquery
	-- correlated with unnest())
	known := ARRAY(SELECT t.name FROM vscope.tenants t WHERE t.name = ANY (projects));
	INSERT INTO vscope.tenants (name)
	SELECT DISTINCT p FROM unnest(projects) p
	 WHERE p IS NOT NULL AND p <> ALL (known)
	 ORDER BY p
	ON CONFLICT ON CONSTRAINT tenants_name_key DO NOTHING;
	SELECT array_agg(coalesce(t.tenant_id, home) ORDER BY u.i) INTO r
	  FROM unnest(projects) WITH ORDINALITY u(p, i)
	  LEFT JOIN vscope.tenants t ON t.name = u.p;
	RETURN r;
END
$$;
COMMENT ON FUNCTION vscope._ceilo_publish_tenants(text[], text) IS 'internal: the tenant of each published item by its project and the routing (the current tenant, or with routing project the tenant named after the project, made when new)';

-- expire(): the annotations kept by the days that have a partition, read
-- first (Citus does not send a query calling vscope.partitions() to the shards)
CREATE OR REPLACE FUNCTION vscope.expire(older_than interval, max_partitions integer DEFAULT NULL)
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

-- Citus: revoke_token() and metrics_token() of an admin write tokens through
-- the owner (a write to tokens needs a right to write to tenants there)

CREATE FUNCTION vscope._revoke_token(token_id integer) RETURNS boolean
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	n bigint;
BEGIN
	UPDATE vscope.tokens k SET revoked_at = now()
	 WHERE k.tenant_id = tid AND k.token_id = _revoke_token.token_id AND k.revoked_at IS NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n > 0;
END
$$;
REVOKE ALL ON FUNCTION vscope._revoke_token(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._revoke_token(integer) TO vscope_admin;
COMMENT ON FUNCTION vscope._revoke_token(integer) IS 'internal: for revoke_token() of a tenant''s admin on Citus, revokes a token of the current tenant with the owner''s rights; true if it was active';

CREATE OR REPLACE FUNCTION vscope.revoke_token(token_id integer) RETURNS boolean
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n bigint;
BEGIN
	IF NOT has_table_privilege('vscope.tenants', 'INSERT')
	   AND EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
		-- an admin on Citus: see create_token()
		RETURN vscope._revoke_token(revoke_token.token_id);
	END IF;
	-- PL/pgSQL: Citus cannot plan a SQL-language function's data-modifying WITH
	UPDATE vscope.tokens k SET revoked_at = now()
	 WHERE k.token_id = revoke_token.token_id AND k.revoked_at IS NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n > 0;
END
$$;
COMMENT ON FUNCTION vscope.revoke_token(integer) IS 'revokes a token at once; true if it was active';
REVOKE ALL ON FUNCTION vscope.revoke_token(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.revoke_token(integer) TO vscope_admin;

CREATE FUNCTION vscope._store_metrics_token(user_id bigint, hash bytea, label text) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
BEGIN
	IF tid IS NULL THEN
		RAISE EXCEPTION 'no tenant selected' USING ERRCODE = 'VS401';
	END IF;
	UPDATE vscope.tokens k SET revoked_at = now()
	 WHERE k.tenant_id = tid AND k.metrics_user_id = _store_metrics_token.user_id AND k.revoked_at IS NULL;
	INSERT INTO vscope.tokens (tenant_id, token_hash, scopes, description, metrics_user_id)
	VALUES (tid, hash, '{read}', label, _store_metrics_token.user_id);
END
$$;
REVOKE ALL ON FUNCTION vscope._store_metrics_token(bigint, bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._store_metrics_token(bigint, bytea, text) TO vscope_admin;
COMMENT ON FUNCTION vscope._store_metrics_token(bigint, bytea, text) IS 'internal: for metrics_token() of a tenant''s admin on Citus, revokes the user''s previous metrics token of the current tenant and stores a new read token, with the owner''s rights';

CREATE OR REPLACE FUNCTION vscope.metrics_token(service text, user_id bigint, endpoint text) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	label text := 'metricsToken user ' || user_id;
	tok text;
BEGIN
	PERFORM FROM vscope.tenants t WHERE t.tenant_id = tid AND t.name = service;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'The requested object (serviceName = %) does not exist', service USING ERRCODE = 'VS404';
	END IF;
	IF user_id IS NULL OR user_id <= 0 THEN
		RAISE EXCEPTION 'invalid userId' USING ERRCODE = 'VS400';
	END IF;
	-- one issuer at a time per user, so exactly one token stays active
	PERFORM pg_advisory_xact_lock(hashtext('vscope metricsToken'), hashtext(tid || '/' || user_id));
	tok := vscope._random_token();
	IF NOT has_table_privilege('vscope.tenants', 'INSERT')
	   AND EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
		-- an admin on Citus, where a write to vscope.tokens needs a right to
		-- write to vscope.tenants (see create_token())
		PERFORM vscope._store_metrics_token(metrics_token.user_id, sha256(convert_to(tok, 'UTF8')), label);
		RETURN json_build_object('warpEndpoint', endpoint, 'token', tok, 'opentsdbEndpoint', endpoint);
	END IF;
	-- one write: the user's previous token revoked and the new one stored,
	-- already bound to the user, by the same statement
	WITH revoked AS (
		UPDATE vscope.tokens k SET revoked_at = now()
		 WHERE k.tenant_id = tid AND k.metrics_user_id = metrics_token.user_id
		   AND k.revoked_at IS NULL
	)
	INSERT INTO vscope.tokens (tenant_id, token_hash, scopes, description, metrics_user_id)
	VALUES (tid, sha256(convert_to(tok, 'UTF8')), '{read}', label, metrics_token.user_id);
	RETURN json_build_object('warpEndpoint', endpoint, 'token', tok, 'opentsdbEndpoint', endpoint);
END
$$;
COMMENT ON FUNCTION vscope.metrics_token(text, bigint, text) IS 'vScope metricsToken: a new read token for the service (the previous one of that user is revoked), for OpenTSDB and Warp 10 alike: warpEndpoint and opentsdbEndpoint are both the endpoint given (vscoped''s URL)';
REVOKE ALL ON FUNCTION vscope.metrics_token(text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.metrics_token(text, bigint, text) TO vscope_admin;
