-- Defence in depth: what vscoped's login role can become, and which
-- functions anyone at all may call.
SET timezone = 'UTC';
-- no role with BYPASSRLS is one vscope_authenticator may SET ROLE to
SELECT r.rolname FROM pg_roles r
 WHERE r.rolbypassrls AND NOT r.rolsuper AND pg_has_role('vscope_authenticator', r.oid, 'MEMBER')
 ORDER BY 1;
-- what it may become
SELECT r.rolname, r.rolbypassrls FROM pg_roles r
 WHERE r.rolname <> 'vscope_authenticator' AND pg_has_role('vscope_authenticator', r.oid, 'MEMBER')
 ORDER BY 1;
SET SESSION AUTHORIZATION vscope_authenticator;
SET ROLE vscope_superadmin;
SET ROLE vscope_cloud;
SELECT current_user;
RESET ROLE;
RESET SESSION AUTHORIZATION;

-- The functions PUBLIC may execute: this list is the allowlist.  A new
-- function is executable by PUBLIC unless its file revokes it; one that
-- shows every tenant, runs SQL it is given, or needs a role's rights must
-- not be here (revoke it, grant it to the role that needs it).  The
-- schema's USAGE goes to vscope's roles only, so PUBLIC here means any
-- role given the schema.
\pset format unaligned
SELECT p.oid::regprocedure AS function, p.prosecdef AS definer
  FROM pg_proc p
 WHERE p.pronamespace = 'vscope'::regnamespace
   AND EXISTS (SELECT FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
				WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
 ORDER BY p.oid::regprocedure::text COLLATE "C";
\pset format aligned

-- a role of no tenant may call neither vscope.partitions() (every
-- tenant's data volume) nor the function that runs an SQL condition
CREATE ROLE security_grants_nobody;
GRANT USAGE ON SCHEMA vscope TO security_grants_nobody;
SET ROLE security_grants_nobody;
SELECT count(*) FROM vscope.partitions();
SELECT vscope._ceilo_run_events('true', 1);
RESET ROLE;
REVOKE USAGE ON SCHEMA vscope FROM security_grants_nobody;
DROP ROLE security_grants_nobody;

-- vscope_cloud (Coopr's superadmin, Ceilometer's cloud-wide publishers)
-- sees its own tenant's rows only, and every tenant's Coopr queues through
-- the SECURITY DEFINER twin of coopr_queue_metrics()
SELECT vscope.create_tenant('sg_cloud') > 0 AS made, vscope.create_tenant('sg_other') > 0 AS made;
INSERT INTO vscope.coopr_queue (tenant_id, task) VALUES (vscope.tenant_id('sg_other'), 'task-1');
BEGIN;
SELECT set_config('vscope.tenant', vscope.tenant_id('sg_cloud')::text, true) IS NOT NULL AS set;
SET LOCAL ROLE vscope_cloud;
SELECT name FROM vscope.tenants ORDER BY 1;
SELECT count(*) AS queued_rows_visible FROM vscope.coopr_queue;
SELECT vscope.coopr_queue_metrics()::text LIKE '%sg_other%' AS sees_other_tenants_queue;
SAVEPOINT s;
SELECT vscope._cloud_caller() AS cloud, current_user;
ROLLBACK TO s;
ROLLBACK;
DELETE FROM vscope.coopr_queue;
