-- warp10.sql: Warp 10 over the same store: a token's tenant, the series a
-- selector (class{label=value,label~regex}) finds, their points newest
-- first (what WarpScript's FIND and FETCH read), and the /api/v0/fetch,
-- /api/v0/find and /api/v0/update endpoints' SQL side; WarpScript:
-- vscope.warp10_exec() runs a script (POST /api/v0/exec makes this one
-- call).

--------------------------------------------------------------------------------
-- Tokens, series and points
--------------------------------------------------------------------------------

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

--------------------------------------------------------------------------------
-- The HTTP endpoints (vscoped makes one call per request)
--------------------------------------------------------------------------------

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

CREATE FUNCTION vscope.warp10_update(body text) RETURNS bigint
	AS 'MODULE_PATHNAME', 'vscope_warp10_update'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.warp10_update(text) IS 'Warp 10 POST /api/v0/update for the current tenant: GTS input format lines (TS// class{labels} value, =TS// value continuations), LONG and DOUBLE values; all stored or, at the first line vscope cannot store, none; returns the points written';
REVOKE ALL ON FUNCTION vscope.warp10_update(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.warp10_update(text) TO vscope_writer;

--------------------------------------------------------------------------------
-- WarpScript
--------------------------------------------------------------------------------

-- vscoped runs it as vscope_reader with no tenant: row-level security shows
-- that role nothing until a FETCH or FIND token binds the transaction to the
-- token's tenant.
CREATE FUNCTION vscope.warp10_exec(script text, OUT stack text, OUT ops bigint,
								   OUT fetched bigint)
	RETURNS record
	AS 'MODULE_PATHNAME', 'vscope_warp10_exec'
	LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION vscope.warp10_exec(text) IS 'Warp 10 WarpScript: runs the script (the subset vscope implements, within the vscope.warp10_* limits) and returns the stack as Warp 10''s exec JSON (top first), the operations run and the points fetched; a failing script raises SQLSTATE VSW00 with Warp 10''s message and "line N, N operations, N points fetched" in the detail';
REVOKE ALL ON FUNCTION vscope.warp10_exec(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.warp10_exec(text) TO vscope_reader;
