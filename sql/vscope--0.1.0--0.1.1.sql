-- vscope 0.1.0 -> 0.1.1: the layout release (sources split by domain); every
-- object the user can see gets a comment.  Nothing else changes.
\echo Use "ALTER EXTENSION vscope UPDATE TO '0.1.1'" to load this file. \quit

COMMENT ON FUNCTION vscope._ceilo_message_id_ok(text) IS 'internal: whether a text is a sample message_id as vscope.ceilometer_message_id makes them';
COMMENT ON FUNCTION vscope._ceilo_parse_message_id(text) IS 'internal: the (series_id, ts, seq) a sample''s message_id was made from; no row when it is not one';
COMMENT ON FUNCTION vscope._ceilo_ts(timestamptz) IS 'internal: a time as Ceilometer writes it: naive UTC ISO 8601, with microseconds only when there are some';
COMMENT ON FUNCTION vscope._ceilo_parse_ts(text) IS 'internal: reads an ISO 8601 time, UTC when it has no offset (whatever the session''s TimeZone); NULL when it is not one';
COMMENT ON FUNCTION vscope._ceilo_pystr(jsonb) IS 'internal: Python''s str() of a JSON value, as Ceilometer shows metadata values';
COMMENT ON FUNCTION vscope._ceilo_flatten(jsonb) IS 'internal: nested resource metadata flattened as Ceilometer shows it: keys joined with a dot, then colons; values as Python strings';
COMMENT ON FUNCTION vscope._ceilo_renest(jsonb) IS 'internal: posted metadata whose keys have dots, as nested objects';
COMMENT ON FUNCTION vscope._ceilo_ident() IS 'internal: the Ceilometer caller as vscoped sets it (admin, project, user, how authenticated); an admin when nothing is set, as in a SQL session';
COMMENT ON FUNCTION vscope._ceilo_fail(text, text) IS 'internal: raises a Ceilometer error: the HTTP status (as SQLSTATE VS<status>) and the message';
COMMENT ON FUNCTION vscope._ceilo_json(text) IS 'internal: a Ceilometer request body as jsonb, or a 400';
COMMENT ON FUNCTION vscope._ceilo_max_rows() IS 'internal: the vscope.ceilometer_max_rows setting, the most rows one Ceilometer answer may have';
COMMENT ON FUNCTION vscope._ceilo_limit(text) IS 'internal: the limit parameter of a Ceilometer query: 100 when empty, else a positive integer up to vscope.ceilometer_max_rows, or a 400';
COMMENT ON FUNCTION vscope._ceilo_arg(jsonb, text, integer) IS 'internal: the i-th value of a repeated query-string parameter, an empty string when absent';
COMMENT ON FUNCTION vscope._ceilo_convert(text, text, boolean) IS 'internal: a query or trait value in its canonical text for the type (integer, float, boolean, datetime, string), or a 400; exact keeps numbers as numeric';
COMMENT ON FUNCTION vscope._ceilo_typed(text, text) IS 'internal: a simple-query metadata value as a quoted SQL value and its kind (number, boolean or string); the type, when not given, guessed like Python''s literal_eval';
COMMENT ON FUNCTION vscope._ceilo_num(text) IS 'internal: a stored metadata text as a number, NULL when it is not one';
COMMENT ON FUNCTION vscope._ceilo_bool(text) IS 'internal: a stored metadata text as a boolean (true, t, yes, y, on, 1 or their opposites, in any case), NULL when it is not one';
COMMENT ON FUNCTION vscope._ceilo_query(jsonb, text) IS 'internal: a Ceilometer simple query (q.field, q.op, q.value, q.type) for an endpoint kind as conditions on sample_series s and samples x, with its time bounds; a non-admin is confined to its project';
COMMENT ON FUNCTION vscope._ceilo_float(double precision) IS 'internal: a float as Ceilometer writes it in JSON (10.0, not 10; null when not finite)';
COMMENT ON FUNCTION vscope._ceilo_sample_json(vscope.sample_series, vscope.samples, boolean) IS 'internal: one sample as Ceilometer''s JSON, in the old style of /v2/meters/{meter} or the new one of /v2/samples';
COMMENT ON FUNCTION vscope._ceilo_meter_id(text, text) IS 'internal: Ceilometer''s meter_id, base64 of <resource_id>+<meter> (resource None for a unique meter)';
COMMENT ON FUNCTION vscope._ceilo_stats_row(text, bigint, timestamptz, timestamptz, timestamptz, timestamptz, json, float8[], text[], float8[]) IS 'internal: one row of Ceilometer statistics as JSON: unit, period and its bounds, duration, group-by values, and the standard or selected aggregates from a vscope.sample_stats state and the cardinalities';
COMMENT ON FUNCTION vscope._ceilo_check_projects(text, text) IS 'internal: a 401 unless every project or project_id named in a complex-query filter is the caller''s own';
COMMENT ON FUNCTION vscope._ceilo_store_sample(text, text, text, float8, text, text, text, text, jsonb, timestamptz) IS 'internal: stores one checked Ceilometer sample, with its series if new and the next free seq at its time; returns its message_id';
COMMENT ON FUNCTION vscope._ceilo_event_json(vscope.events) IS 'internal: one event as Ceilometer''s JSON';
COMMENT ON FUNCTION vscope._ceilo_event_scope() IS 'internal: the condition on events (aliased e) the Ceilometer caller may see, or a 403';
COMMENT ON FUNCTION vscope._ceilo_run_events(text, integer) IS 'internal: the events (aliased e) meeting a condition, as a JSON list ordered by generated, at most lim of them';
COMMENT ON FUNCTION vscope._ceilo_require_admin() IS 'internal: a 401 unless the Ceilometer caller is an admin';
COMMENT ON FUNCTION vscope._ceilo_unquote(text) IS 'internal: a percent-encoded text decoded, or left as it is when the result is not UTF-8';
