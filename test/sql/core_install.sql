-- the extension installs, in its own schema, with its roles
SET timezone = 'UTC';
CREATE EXTENSION vscope;
SELECT extname, extversion, extrelocatable, n.nspname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'vscope';
SELECT rolname, rolcanlogin, rolinherit, rolbypassrls
  FROM pg_roles WHERE rolname LIKE 'vscope\_%' ORDER BY 1;
-- every table is tenant-keyed and forces row-level security
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
  FROM pg_class c WHERE c.relnamespace = 'vscope'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY 1;
-- every function and aggregate (internal ones included), table and view
-- carries a comment (daily partitions, made on write, are data: left out)
SELECT p.oid::regprocedure AS function, p.prokind FROM pg_proc p
 WHERE p.pronamespace = 'vscope'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
 ORDER BY p.oid::regprocedure::text;
SELECT c.relname, c.relkind FROM pg_class c
 WHERE c.relnamespace = 'vscope'::regnamespace AND c.relkind IN ('r', 'p', 'v')
   AND NOT c.relispartition AND obj_description(c.oid, 'pg_class') IS NULL
 ORDER BY 1;
-- every setting has a description (the library is loaded: there are some)
SELECT count(*) > 0 AS has_settings FROM pg_settings WHERE name LIKE 'vscope.%';
SELECT name FROM pg_settings
 WHERE name LIKE 'vscope.%' AND coalesce(btrim(short_desc), '') = ''
 ORDER BY 1;
-- the settings exist, with their defaults
SHOW vscope.max_tags;
SHOW vscope.retention;
SELECT vscope.retention() IS NULL AS keeps_forever;
-- set in postgresql.conf (or per session by a superuser), checked when set
ALTER SYSTEM SET vscope.retention = 'soon';
ALTER SYSTEM SET vscope.retention = '-3 days';
ALTER SYSTEM SET vscope.retention = '400 days';
ALTER SYSTEM RESET vscope.retention;
-- the database must be UTF-8 (names are checked as Unicode letters)
SELECT current_database() AS regress_db \gset
CREATE DATABASE vscope_regress_ascii ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
\c vscope_regress_ascii
CREATE EXTENSION vscope;
\c :regress_db
DROP DATABASE vscope_regress_ascii;
