-- ingest.sql: writing points: one typed point (put_point) and OpenTSDB's
-- /api/put payload (put), both parsed and stored in C.

--------------------------------------------------------------------------------
-- Ingest
--------------------------------------------------------------------------------

CREATE FUNCTION vscope.put_point(metric text, tags jsonb, ts timestamptz, value anyelement)
	RETURNS integer
	AS 'MODULE_PATHNAME', 'vscope_put_point'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.put_point(text, jsonb, timestamptz, anyelement) IS 'writes one point for the current tenant and returns its series id; integer types are kept as int64 and float types as double precision, while numeric and text values follow OpenTSDB (no ".", "e" or "E" means int64); the last write for a (series, ts) wins';

CREATE FUNCTION vscope.put(payload text, details boolean DEFAULT false)
	RETURNS json
	AS 'MODULE_PATHNAME', 'vscope_put'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.put(text, boolean) IS 'writes an OpenTSDB /api/put payload (one object or an array) for the current tenant; returns {"success","failed"} and, with details, "errors"';

GRANT EXECUTE ON FUNCTION vscope.put_point(text, jsonb, timestamptz, anyelement),
	vscope.put(text, boolean) TO vscope_writer;
