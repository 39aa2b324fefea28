-- opentsdb.sql: the OpenTSDB 2.4 HTTP API's SQL side: /api/query (POST and
-- GET forms), /api/query/exp and /api/query/gexp, aggregators, suggest,
-- telnet-style put lines, /api/query/last, /api/search/lookup, and the
-- building blocks in plain SQL (downsample and the percentile aggregates).

--------------------------------------------------------------------------------
-- OpenTSDB queries
--------------------------------------------------------------------------------

CREATE FUNCTION vscope.tsdb_query(request jsonb) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_query'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION vscope.tsdb_query(jsonb) IS 'answers an OpenTSDB /api/query request body for the current tenant, exactly as OpenTSDB 2.4 would (json, so that key order and number formats are OpenTSDB''s)';

CREATE FUNCTION vscope.tsdb_aggregators() RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_aggregators'
	LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION vscope.tsdb_aggregators() IS 'the names of the OpenTSDB aggregators (/api/aggregators)';

CREATE FUNCTION vscope.tsdb_filters() RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_filters'
	LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION vscope.tsdb_filters() IS 'the OpenTSDB tag filter types with examples and a description (/api/config/filters)';

CREATE FUNCTION vscope.tsdb_query_get(args jsonb) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_query_get'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION vscope.tsdb_query_get(jsonb) IS 'answers the GET form of /api/query from its query-string arguments as {"key": ["value", ...]} (m=sum:1h-avg:rate:metric{tag=v}{tag=filter(x)})';

CREATE FUNCTION vscope.tsdb_query_request(args jsonb) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_query_string'
	LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION vscope.tsdb_query_request(jsonb) IS 'the /api/query POST body that a GET form''s query-string arguments stand for';

-- OpenTSDB's deleting query (DELETE /api/query, "delete": true): the answer
-- of the query, then its series' points in its range deleted; refused
-- unless vscope.query_allow_delete is on, and to roles that cannot write
CREATE FUNCTION vscope.tsdb_query_delete(request jsonb) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_query_delete'
	LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION vscope.tsdb_query_delete(jsonb) IS 'answers an OpenTSDB /api/query body as tsdb_query() does, then deletes the points of every series it selected in [start, end] (and their annotations starting then); needs vscope.query_allow_delete and a writer';

CREATE FUNCTION vscope.tsdb_query_delete_get(args jsonb) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_query_delete_get'
	LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION vscope.tsdb_query_delete_get(jsonb) IS 'tsdb_query_delete() from the GET form''s query-string arguments (DELETE /api/query?start=...&m=...)';

GRANT EXECUTE ON FUNCTION vscope.tsdb_query(jsonb), vscope.tsdb_query_get(jsonb),
	vscope.tsdb_query_delete(jsonb), vscope.tsdb_query_delete_get(jsonb) TO vscope_reader;

CREATE FUNCTION vscope.tsdb_query_exp(request jsonb) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_query_exp'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION vscope.tsdb_query_exp(jsonb) IS 'answers an OpenTSDB /api/query/exp request body (time, filters, metrics, expressions over metric and expression ids with + - * / % and parentheses joined by union or intersection, outputs) for the current tenant, as OpenTSDB 2.4 writes it; a request OpenTSDB cannot read raises SQLSTATE VS500, as OpenTSDB answers it with a 500';

CREATE FUNCTION vscope.tsdb_query_gexp(args jsonb) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_tsdb_query_gexp'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION vscope.tsdb_query_gexp(jsonb) IS 'answers OpenTSDB''s GET /api/query/gexp from its query-string arguments as {"key": ["value", ...]}: exp=function(m-style sub-query or function, ..., parameters) with OpenTSDB 2.4''s Graphite-style functions, in /api/query''s answer form';

GRANT EXECUTE ON FUNCTION vscope.tsdb_query_exp(jsonb), vscope.tsdb_query_gexp(jsonb) TO vscope_reader;

CREATE FUNCTION vscope.tsdb_suggest(type text, q text DEFAULT '', max text DEFAULT '25')
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

CREATE FUNCTION vscope.put_lines(lines text) RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_put_lines'
	LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION vscope.put_lines(text) IS 'writes OpenTSDB telnet-style lines ("put <metric> <ts> <value> <k=v> ...", one per line) for the current tenant; returns {"success","failed","errors":[{"line","error"}]} with OpenTSDB''s telnet error messages';
GRANT EXECUTE ON FUNCTION vscope.put_lines(text) TO vscope_writer;

-- for vscoped: the tenant its configuration names (telnet-tenant for the
-- telnet listener's writes, keystone-tenant for keystone-authenticated callers)
CREATE FUNCTION vscope.listener_tenant(tenant text) RETURNS integer
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT tenant_id FROM vscope.tenants WHERE name = tenant $$;
COMMENT ON FUNCTION vscope.listener_tenant(text) IS 'for vscoped: the id of a tenant its configuration names (telnet-tenant, keystone-tenant)';
REVOKE ALL ON FUNCTION vscope.listener_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.listener_tenant(text) TO vscope_authenticator;

-- /api/query/last: the latest point of each series matching a metric and
-- exact tag values, optionally no older than back_scan hours
CREATE FUNCTION vscope.tsdb_last(request jsonb) RETURNS json
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

-- /api/search/lookup: the series of a metric (or * for any) whose tags match
-- key/value pairs, * standing for any key or any value
CREATE FUNCTION vscope.tsdb_lookup(request jsonb) RETURNS json
	LANGUAGE plpgsql VOLATILE
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

-- the GET forms: m=metric{k=v,...} (lookup, * allowed) and timeseries=metric{k=v} (last)
CREATE FUNCTION vscope.tsdb_parse_m(m text, OUT metric text, OUT tags jsonb)
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	parts text[];
	pair text;
	kv text[];
BEGIN
	parts := regexp_match(coalesce(m, ''), '^([^{}]*)(?:\{([^{}]*)\})?$');
	IF parts IS NULL OR parts[1] = '' THEN
		RAISE EXCEPTION 'invalid metric expression: %', coalesce(m, '') USING ERRCODE = 'VS400',
			HINT = 'Write metric{tagk=tagv,...}.';
	END IF;
	metric := parts[1];
	tags := '[]';
	IF coalesce(parts[2], '') <> '' THEN
		FOREACH pair IN ARRAY string_to_array(parts[2], ',') LOOP
			kv := regexp_match(pair, '^([^=]+)=([^=]+)$');
			IF kv IS NULL THEN
				RAISE EXCEPTION 'invalid tag: %', pair USING ERRCODE = 'VS400';
			END IF;
			tags := tags || jsonb_build_array(jsonb_build_object('key', kv[1], 'value', kv[2]));
		END LOOP;
	END IF;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_parse_m(text) IS 'splits metric{k=v,...} into the metric and [{"key","value"}] pairs';

CREATE FUNCTION vscope.tsdb_last_get(args jsonb) RETURNS json
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

CREATE FUNCTION vscope.tsdb_lookup_get(args jsonb) RETURNS json
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT vscope.tsdb_lookup(jsonb_build_object('metric', p.metric, 'tags', p.tags,
												 'limit', args->'limit'->>0))
	  FROM vscope.tsdb_parse_m(args->'m'->>0) p
$$;
COMMENT ON FUNCTION vscope.tsdb_lookup_get(jsonb) IS 'the GET form of /api/search/lookup: m=metric{k=v,...} with * for any';

--------------------------------------------------------------------------------
-- OpenTSDB's building blocks in plain SQL
--------------------------------------------------------------------------------

CREATE FUNCTION vscope.downsample(series integer[], start_ts timestamptz, end_ts timestamptz,
								  spec text, timezone text DEFAULT NULL)
	RETURNS TABLE (series_id integer, ts timestamptz, value double precision)
	AS 'MODULE_PATHNAME', 'vscope_downsample'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION vscope.downsample(integer[], timestamptz, timestamptz, text, text) IS 'the points of these series in [start_ts, end_ts] downsampled by an OpenTSDB spec such as 1h-avg or 20m-max-zero (buckets aligned to the Unix epoch, or to the calendar in timezone with 1dc, 1nc...), exactly as /api/query does it';

CREATE FUNCTION vscope._pct_accum(double precision[], double precision, double precision)
	RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'vscope_pct_accum'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vscope._pct_combine(double precision[], double precision[])
	RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'vscope_pct_combine'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vscope._pct_final_legacy(double precision[]) RETURNS double precision
	AS 'MODULE_PATHNAME', 'vscope_pct_final_legacy' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vscope._pct_final_r3(double precision[]) RETURNS double precision
	AS 'MODULE_PATHNAME', 'vscope_pct_final_r3' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vscope._pct_final_r7(double precision[]) RETURNS double precision
	AS 'MODULE_PATHNAME', 'vscope_pct_final_r7' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vscope._pct_accum(double precision[], double precision, double precision) IS 'internal: percentile state transition';
COMMENT ON FUNCTION vscope._pct_combine(double precision[], double precision[]) IS 'internal: percentile state combine';
COMMENT ON FUNCTION vscope._pct_final_legacy(double precision[]) IS 'internal: percentile, legacy estimation';
COMMENT ON FUNCTION vscope._pct_final_r3(double precision[]) IS 'internal: percentile, R-3 estimation';
COMMENT ON FUNCTION vscope._pct_final_r7(double precision[]) IS 'internal: percentile, R-7 estimation';

CREATE AGGREGATE vscope.percentile(value double precision, p double precision) (
	SFUNC = vscope._pct_accum, STYPE = double precision[],
	COMBINEFUNC = vscope._pct_combine, FINALFUNC = vscope._pct_final_legacy,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE vscope.percentile(double precision, double precision) IS 'the p-th percentile (0..100) as OpenTSDB''s pNN computes it (commons-math legacy estimation)';
CREATE AGGREGATE vscope.percentile_r3(value double precision, p double precision) (
	SFUNC = vscope._pct_accum, STYPE = double precision[],
	COMBINEFUNC = vscope._pct_combine, FINALFUNC = vscope._pct_final_r3,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE vscope.percentile_r3(double precision, double precision) IS 'the p-th percentile (0..100) by estimation R-3, as OpenTSDB''s epNNr3 (nearest order statistic)';
CREATE AGGREGATE vscope.percentile_r7(value double precision, p double precision) (
	SFUNC = vscope._pct_accum, STYPE = double precision[],
	COMBINEFUNC = vscope._pct_combine, FINALFUNC = vscope._pct_final_r7,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE vscope.percentile_r7(double precision, double precision) IS 'the p-th percentile (0..100) by estimation R-7, as OpenTSDB''s epNNr7 (linear between order statistics)';

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

--------------------------------------------------------------------------------
-- OpenTSDB annotations (/api/annotation, /api/annotation/bulk)
--------------------------------------------------------------------------------

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

-- a TSUID's series id, without looking it up (NULL for none); 400 when malformed
CREATE FUNCTION vscope._tsdb_tsuid_id(tsuid text) RETURNS integer
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

-- the series id of a vscope tsuid of the current tenant (NULL for none):
-- the hex the lookup answers; an unknown or malformed one is a 404 / 400
CREATE FUNCTION vscope.tsdb_tsuid_series(tsuid text) RETURNS integer
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

-- /api/annotation: GET reads, POST merges, PUT replaces, DELETE deletes one
-- annotation named by tsuid (none: global) and startTime
CREATE FUNCTION vscope.tsdb_annotation(method text, request jsonb) RETURNS json
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

-- /api/annotation/bulk: POST (or PUT) a list of annotations; DELETE those
-- of tsuids (or the global ones) starting in [startTime, endTime] (times as
-- /api/query takes them; endTime now when left out), answered as OpenTSDB's
-- AnnotationBulkDelete: tsuids, global, startTime, endTime (ms), totalDeleted
CREATE FUNCTION vscope.tsdb_annotation_bulk(method text, request jsonb) RETURNS json
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

GRANT EXECUTE ON FUNCTION vscope.tsdb_annotation(text, jsonb), vscope.tsdb_annotation_bulk(text, jsonb) TO vscope_reader;

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
CREATE FUNCTION vscope._tsdb_check_name(what text, name text) RETURNS text
	AS 'MODULE_PATHNAME', 'vscope_tsdb_check_name'
	LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION vscope._tsdb_check_name(text, text) IS 'internal: OpenTSDB''s error for a bad metric, tag key or tag value (Invalid metric ("a!"): illegal character: !), NULL for a good one';

CREATE FUNCTION vscope._java_double(v double precision) RETURNS text
	AS 'MODULE_PATHNAME', 'vscope_java_double'
	LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION vscope._java_double(double precision) IS 'internal: a double as Java''s Double.toString writes it (100.0, 1.0E-4, NaN)';

CREATE FUNCTION vscope._tsdb_time_ms(t text, tz text DEFAULT NULL, is_end boolean DEFAULT false)
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
CREATE FUNCTION vscope.tsdb_uid(name text) RETURNS text
	LANGUAGE sql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT upper(encode(convert_to(name, 'UTF8'), 'hex')) $$;
COMMENT ON FUNCTION vscope.tsdb_uid(text) IS 'the OpenTSDB UID vscope gives a metric, tag key or tag value: its UTF-8 bytes in upper-case hex';

CREATE FUNCTION vscope.tsdb_uid_name(uid text) RETURNS text
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
CREATE FUNCTION vscope._tsdb_uid_type(type text) RETURNS text
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
CREATE FUNCTION vscope._tsdb_body(body text) RETURNS jsonb
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
CREATE FUNCTION vscope._tsdb_custom(c jsonb) RETURNS jsonb
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
CREATE FUNCTION vscope._tsdb_custom_json(c jsonb) RETURNS text
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
CREATE FUNCTION vscope._tsdb_uid_exists(type text, name text) RETURNS boolean
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

-- when each name was first seen, in Unix seconds (0: never): the oldest
-- series carrying it, or its assignment; one pass over the tenant's series
-- (over the metric's index when only metrics are asked for)
CREATE FUNCTION vscope._tsdb_uid_created(types text[], names text[])
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

-- a UIDMeta as OpenTSDB's Jackson writes it: uid, type, name, description,
-- notes, created, custom, displayName
CREATE FUNCTION vscope._tsdb_uidmeta_json(type text, name text, created bigint) RETURNS text
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

-- OpenTSDB's NoSuchUniqueId words for a UID: No such unique ID for 'metrics': [0, 0, 1]
CREATE FUNCTION vscope._tsdb_no_such_uid(type text, uid text) RETURNS text
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
CREATE FUNCTION vscope._java_hash(s text) RETURNS bigint
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
COMMENT ON FUNCTION vscope._java_hash(text) IS 'internal: Java''s String.hashCode of a string, as an unsigned 32-bit number';

-- the bucket of a key in a java.util.HashMap of this capacity: the order
-- in which it iterates (keys of one bucket in insertion order)
CREATE FUNCTION vscope._java_bucket(s text, capacity integer) RETURNS integer
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
CREATE FUNCTION vscope.tsdb_uid_assign(method text, body text DEFAULT NULL, args jsonb DEFAULT '{}',
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
COMMENT ON FUNCTION vscope.tsdb_uid_assign(text, text, jsonb) IS 'OpenTSDB /api/uid/assign for the current tenant: GET args {"metric": ["a,b"], ...} or a POST body {"metric": [...], "tagk": [...], "tagv": [...]}; answers (200 or 400, {"metric": {name: uid}, "metric_errors": {name: error}, ...})';

-- one query-string argument's first value
CREATE FUNCTION vscope._tsdb_arg(args jsonb, key text) RETURNS text
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT CASE jsonb_typeof(args->key) WHEN 'array' THEN args->key->>0 ELSE args->>key END $$;
COMMENT ON FUNCTION vscope._tsdb_arg(jsonb, text) IS 'internal: the first value of a query-string argument ({"key": ["value", ...]} or {"key": "value"})';

-- a required query-string argument, or OpenTSDB's 400
CREATE FUNCTION vscope._tsdb_required_arg(args jsonb, key text) RETURNS text
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
CREATE FUNCTION vscope.tsdb_uidmeta(method text, body text DEFAULT NULL, args jsonb DEFAULT '{}',
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
CREATE FUNCTION vscope._tsdb_parse_series(m text, OUT metric text, OUT tags jsonb)
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
CREATE FUNCTION vscope._tsdb_key_part(name text) RETURNS text
	AS 'MODULE_PATHNAME', 'vscope_series_key_part'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vscope._tsdb_key_part(text) IS 'internal: a metric, tag key or tag value as it is written in a series key ({ } , = and % percent-encoded)';

-- OpenTSDB's NoSuchUniqueName for the first name of metric{tags} that does
-- not exist (NULL when all do)
CREATE FUNCTION vscope._tsdb_missing_name(metric text, tags jsonb) RETURNS text
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
CREATE FUNCTION vscope._tsdb_tsmeta_json(sids integer[]) RETURNS TABLE (series_id integer, meta text)
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

-- /api/uid/tsmeta: GET ?tsuid= (one object) or ?m=metric{k=v,...} (a list:
-- the series of the metric with those tags); POST (the fields given) and
-- PUT (every field) by "tsuid", or by ?m= with no tsuid (create=true makes
-- the series when it does not exist); DELETE (back to the defaults; the
-- series and its points stay).  Answers (status, TSMeta).
CREATE FUNCTION vscope.tsdb_tsmeta(method text, body text DEFAULT NULL, args jsonb DEFAULT '{}',
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

GRANT EXECUTE ON FUNCTION vscope.tsdb_uid_assign(text, text, jsonb), vscope.tsdb_uidmeta(text, text, jsonb),
	vscope.tsdb_tsmeta(text, text, jsonb) TO vscope_reader;
