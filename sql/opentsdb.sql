-- opentsdb.sql: the OpenTSDB 2.4 HTTP API's SQL side: /api/query (POST and
-- GET forms), aggregators, suggest, telnet-style put lines, /api/query/last,
-- /api/search/lookup, and the building blocks in plain SQL (downsample and
-- the percentile aggregates).

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

GRANT EXECUTE ON FUNCTION vscope.tsdb_query(jsonb), vscope.tsdb_query_get(jsonb) TO vscope_reader;

CREATE FUNCTION vscope.tsdb_suggest(type text, q text DEFAULT '', max text DEFAULT '25')
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
	IF type = 'metrics' THEN
		SELECT coalesce(json_agg(m ORDER BY m COLLATE "C"), '[]') INTO result
		  FROM (SELECT DISTINCT s.metric COLLATE "C" AS m FROM vscope.series s
				 WHERE s.tenant_id = vscope.current_tenant() AND starts_with(s.metric, q)
				 ORDER BY 1 LIMIT greatest(n, 0)) x;
	ELSIF type = 'tagk' THEN
		SELECT coalesce(json_agg(m ORDER BY m COLLATE "C"), '[]') INTO result
		  FROM (SELECT DISTINCT k COLLATE "C" AS m FROM vscope.series s, jsonb_object_keys(s.tags) k
				 WHERE s.tenant_id = vscope.current_tenant() AND starts_with(k, q)
				 ORDER BY 1 LIMIT greatest(n, 0)) x;
	ELSE
		SELECT coalesce(json_agg(m ORDER BY m COLLATE "C"), '[]') INTO result
		  FROM (SELECT DISTINCT t.value COLLATE "C" AS m FROM vscope.series s, jsonb_each_text(s.tags) t
				 WHERE s.tenant_id = vscope.current_tenant() AND starts_with(t.value, q)
				 ORDER BY 1 LIMIT greatest(n, 0)) x;
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION vscope.tsdb_suggest(text, text, text) IS 'OpenTSDB /api/suggest: metric names, tag keys or tag values of the current tenant starting with q, in byte order, at most max';

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
COMMENT ON FUNCTION vscope.tsdb_last(jsonb) IS 'OpenTSDB /api/query/last: the latest point of each series matching {"queries":[{"metric","tags"}],"backScan":hours}';

-- /api/search/lookup: the series of a metric (or * for any) whose tags match
-- key/value pairs, * standing for any key or any value
CREATE FUNCTION vscope.tsdb_lookup(request jsonb) RETURNS json
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
						   vscope.tsdb_parse_m(ts.m) p),
		'backScan', args->'back_scan'->>0))
$$;
COMMENT ON FUNCTION vscope.tsdb_last_get(jsonb) IS 'the GET form of /api/query/last: timeseries=metric{k=v} (repeatable), back_scan=hours';

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
