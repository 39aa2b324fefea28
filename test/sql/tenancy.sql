-- tenants, and which tenant a session acts as
SET timezone = 'UTC';
-- the days written to below: writes never make partitions, the owner does
SET client_min_messages = warning;
CALL vscope.add_days('2024-01-01', '2024-01-01');
RESET client_min_messages;
SELECT vscope.create_tenant('acme') AS acme, vscope.create_tenant('globex') AS globex;
SELECT vscope.create_tenant('acme') AS acme_again;
SELECT vscope.create_tenant('bad name');
SELECT vscope.create_tenant('-leading-dash');
SELECT vscope.current_tenant() IS NULL AS no_tenant_yet;
SELECT vscope.use_tenant('acme') = vscope.tenant_id('acme') AS uses_acme;
SELECT vscope.current_tenant() = vscope.tenant_id('acme') AS current_is_acme;
SELECT vscope.use_tenant('nobody');
-- a write needs a tenant
RESET vscope.tenant;
SELECT vscope.put_point('m', '{"h": "a"}', '2024-01-01', 1);
-- a plain login role is bound to one tenant and cannot pick another
CREATE ROLE regress_bi LOGIN;
SELECT vscope.grant_tenant_access('regress_bi', 'globex', 'read');
SELECT vscope.grant_tenant_access('regress_bi', 'globex', 'everything');
SELECT vscope.grant_tenant_access('no_such_role', 'globex');
SET SESSION AUTHORIZATION regress_bi;
SELECT vscope.current_tenant() = (SELECT tenant_id FROM vscope.tenants) AS bound_to_globex;
SELECT name FROM vscope.tenants;
SET vscope.tenant = '1';
SELECT name FROM vscope.tenants;
SELECT vscope.create_tenant('sneaky');
RESET SESSION AUTHORIZATION;
-- the binding is to the role itself: a new role of the same name is not bound
DROP ROLE regress_bi;
CREATE ROLE regress_bi LOGIN;
GRANT vscope_reader TO regress_bi;
SET SESSION AUTHORIZATION regress_bi;
SELECT vscope.current_tenant() IS NULL AS not_bound;
SELECT count(*) AS tenants_seen FROM vscope.tenants;
RESET SESSION AUTHORIZATION;
DROP ROLE regress_bi;
-- a group role's session may set the tenant only as a Citus coordinator's
-- session on a worker: without Citus, naming itself so changes nothing
SET SESSION AUTHORIZATION vscope_writer;
SET application_name = 'citus_internal gpid=10000000001';
SET vscope.tenant = '1';
SELECT vscope.current_tenant() IS NULL AS not_trusted;
RESET vscope.tenant;
RESET application_name;
RESET SESSION AUTHORIZATION;
-- vscope.distribute() (the Citus layout) needs Citus
SELECT * FROM vscope.distribute();
