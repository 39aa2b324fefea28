-- row-level security: the database keeps tenants apart, whatever the caller asks
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2023-11-14', '2023-11-14');
RESET client_min_messages;
SELECT vscope.use_tenant('globex') IS NOT NULL;
SELECT vscope.put('{"metric":"rls.m","timestamp":1700000000,"value":1,"tags":{"owner":"globex"}}');
SELECT vscope.use_tenant('acme') IS NOT NULL;
SELECT vscope.put('{"metric":"rls.m","timestamp":1700000000,"value":2,"tags":{"owner":"acme"}}');
BEGIN;
SET LOCAL ROLE vscope_writer;
-- acme sees its own rows only
SELECT DISTINCT tags->>'owner' FROM vscope.series WHERE metric = 'rls.m';
SELECT name FROM vscope.tenants;
SELECT count(*) FILTER (WHERE tenant_id <> vscope.current_tenant()) AS foreign_points FROM vscope.points;
-- and cannot write rows of another tenant, even by naming it
SAVEPOINT s;
INSERT INTO vscope.series (tenant_id, metric, skey) VALUES (vscope.tenant_id('acme') + 1, 'x', 'x{}');
ROLLBACK TO s;
WITH u AS (UPDATE vscope.points SET value = 0 WHERE tenant_id <> vscope.current_tenant() RETURNING 1)
SELECT count(*) AS foreign_rows_updated FROM u;
-- writers cannot touch tokens or tenants
SAVEPOINT s2;
SELECT count(*) FROM vscope.tokens;
ROLLBACK TO s2;
SAVEPOINT s3;
DELETE FROM vscope.tenants;
ROLLBACK TO s3;
-- nor reach a partition directly, around the policy
SAVEPOINT s4;
SELECT count(*) FROM vscope.points_20231114;
ROLLBACK TO s4;
ROLLBACK;
-- readers cannot write (terse: the internal statement is no business of the test)
\set VERBOSITY terse
BEGIN;
SET LOCAL ROLE vscope_reader;
SELECT count(*) > 0 AS reads FROM vscope.datapoints;
SAVEPOINT s;
SELECT vscope.put('{"metric":"rls.m","timestamp":1700000001,"value":1,"tags":{"owner":"acme"}}');
ROLLBACK TO s;
SELECT vscope.put('{"metric":"rls.new","timestamp":1700000001,"value":1,"tags":{"owner":"acme"}}');
ROLLBACK;
\set VERBOSITY default
-- with no tenant, a non-superuser sees nothing at all
BEGIN;
SET LOCAL ROLE vscope_reader;
SELECT set_config('vscope.tenant', '', true);
SELECT count(*) AS series_seen FROM vscope.series;
SELECT count(*) AS points_seen FROM vscope.points;
ROLLBACK;
-- a superadmin sees every tenant
BEGIN;
SET LOCAL ROLE vscope_superadmin;
SELECT count(DISTINCT tenant_id) > 1 AS sees_all FROM vscope.series WHERE metric = 'rls.m';
ROLLBACK;
