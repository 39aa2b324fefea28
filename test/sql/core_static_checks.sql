-- Static checks on the SQL side, and correctness the other tests cannot see:
-- every PL/pgSQL function of the extension passes plpgsql_check (errors,
-- warnings, and the extra, performance and security classes: dynamic SQL
-- built without quoting, unused or shadowed variables, implicit casts); the
-- volatility labels hold; errors that are not the input's fault (cancel,
-- statement timeout, stack depth) are not turned into request errors.
SET timezone = 'UTC';
\set VERBOSITY default
CREATE EXTENSION IF NOT EXISTS plpgsql_check;

-- the functions checked (a check of nothing would pass too)
SELECT count(*) > 50 AS many_functions
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vscope')
 WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql');
-- every finding, of every level; a false positive is suppressed in the
-- function itself (PERFORM 'PRAGMA:...' or @plpgsql_check_options), with
-- the reason beside it.  vscope.distribute() and
-- vscope._citus_session_tenant() are left out: they call Citus's functions
-- and read its catalogs, which exist only where Citus is installed (make
-- test-citus runs them)
SELECT p.oid::regprocedure AS function, c.level, c.message, c.lineno, c.detail
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vscope')
 CROSS JOIN LATERAL plpgsql_check_function_tb(p.oid::regprocedure, fatal_errors => false,
		extra_warnings => true, other_warnings => true, performance_warnings => true,
		security_warnings => true) c
 WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')
   AND p.oid NOT IN ('vscope.distribute()'::regprocedure,
                     'vscope._citus_session_tenant(integer)'::regprocedure)
 ORDER BY 1, 4;

-- volatility: no IMMUTABLE function reads a setting, the clock, the tenant
-- or a table; no STABLE one writes or reads a clock that moves
SELECT p.oid::regprocedure AS function, p.provolatile
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vscope')
 WHERE (p.provolatile = 'i' AND p.prosrc ~* 'current_setting|now\(\)|nextval|random\(|clock_timestamp|vscope\.(current_tenant|retention)|FROM vscope\.|_ceilo_max_rows|_ceilo_limit|_ceilo_ident|current_user|session_user')
	OR (p.provolatile = 's' AND p.prosrc ~* 'nextval|random\(|clock_timestamp|INSERT INTO|UPDATE vscope|DELETE FROM')
 ORDER BY 1;
-- _ceilo_fail raises: were it IMMUTABLE, the planner would run it with its
-- constant arguments and raise although no row takes that branch
SELECT CASE WHEN random() < 0 THEN vscope._ceilo_fail('400', 'never taken') END IS NULL AS not_raised;
-- _ceilo_limit reads vscope.ceilometer_max_rows: a cached plan must not keep
-- the answer of another setting
SET vscope.ceilometer_max_rows = 1000;
PREPARE lim AS SELECT vscope._ceilo_limit('500');
EXECUTE lim;
EXECUTE lim;
SET vscope.ceilometer_max_rows = 100;
EXECUTE lim;
DEALLOCATE lim;
RESET vscope.ceilometer_max_rows;

-- errors that are not the input's fault keep their SQLSTATE
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text
	LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN state || ': ' || left(msg, 60);
END
$$;
-- the complex-query filter: bad JSON is the caller's 400, stack depth is not
SELECT pg_temp.sqlstate_of($$SELECT vscope.ceilometer_filter_sql('{"=": ')$$);
SET max_stack_depth = '200kB';
SELECT pg_temp.sqlstate_of(format('SELECT vscope.ceilometer_filter_sql(%L)',
							   repeat('[', 200000) || repeat(']', 200000)));
RESET max_stack_depth;
-- WarpScript: a script cancelled by statement_timeout is cancelled (57014),
-- not a script error (VSW00)
SET vscope.warp10_max_ops = 2000000000;
SET statement_timeout = '300ms';
-- (PL/pgSQL cannot catch a cancel: the error is shown as it comes)
\set VERBOSITY terse
SELECT vscope.warp10_exec('0 2000000000 <% DROP %> FOR');
\set VERBOSITY default
RESET statement_timeout;
RESET vscope.warp10_max_ops;
-- the retention setting is checked without catching errors: bad values are
-- refused with the check's own message, good ones taken
SET vscope.retention = 'thirty days';
SET vscope.retention = '-1 day';
SET vscope.retention = '999999999999 years';
SET vscope.retention = '30 days';
SELECT vscope.retention();
SET vscope.retention = 'P2W';
SELECT vscope.retention();
RESET vscope.retention;

DROP EXTENSION plpgsql_check;
