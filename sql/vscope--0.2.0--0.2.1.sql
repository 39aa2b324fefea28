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
									OUT head_rows bigint, OUT points bigint)
	AS 'MODULE_PATHNAME', 'vscope_reader_stats'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.reader_stats() IS 'what the reader has read in this session: blocks decoded, blocks answered from their summary, head rows, points';

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
