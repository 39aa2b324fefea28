-- roles.sql: what every later file needs: a UTF-8 database, and the
-- cluster-wide roles a request switches to (created only when absent, since
-- roles are shared by every database of the cluster).

-- names are validated as Unicode letters: the database must be UTF-8
DO $enc$
BEGIN
	IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
		RAISE EXCEPTION 'vscope needs a UTF8 database, not %', pg_catalog.getdatabaseencoding()
			USING HINT = 'Create the database with ENCODING ''UTF8''.';
	END IF;
END
$enc$;

--------------------------------------------------------------------------------
-- Roles (cluster-wide, so created only when absent; shared by every database)
--
--   vscope_authenticator  LOGIN NOINHERIT: what vscoped connects as; can do
--                         nothing itself but switch to the roles below
--                         (never to vscope_superadmin)
--   vscope_reader         read a tenant's data
--   vscope_writer         + write points and series
--   vscope_admin          + manage the tenant's tokens
--   vscope_cloud          + the cross-tenant operations of vscoped (Coopr's
--                         superadmin, Ceilometer publishers routing items
--                         to their projects' tenants), each through a
--                         SECURITY DEFINER function owned by
--                         vscope_superadmin; no BYPASSRLS itself, so a
--                         request path that ran SQL of its own could still
--                         read no other tenant's rows
--   vscope_superadmin     BYPASSRLS: every tenant (operators, and the
--                         owner of those functions)
--------------------------------------------------------------------------------
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vscope_reader') THEN
		CREATE ROLE vscope_reader NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vscope_writer') THEN
		CREATE ROLE vscope_writer NOLOGIN IN ROLE vscope_reader;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vscope_admin') THEN
		CREATE ROLE vscope_admin NOLOGIN IN ROLE vscope_writer;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vscope_superadmin') THEN
		CREATE ROLE vscope_superadmin NOLOGIN BYPASSRLS IN ROLE vscope_admin;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vscope_cloud') THEN
		CREATE ROLE vscope_cloud NOLOGIN NOBYPASSRLS IN ROLE vscope_admin;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vscope_authenticator') THEN
		CREATE ROLE vscope_authenticator LOGIN NOINHERIT;
	END IF;
	GRANT vscope_reader, vscope_writer, vscope_admin, vscope_cloud
		TO vscope_authenticator;
	-- a cluster where an earlier version granted it
	IF EXISTS (SELECT FROM pg_catalog.pg_auth_members
				WHERE roleid = 'vscope_superadmin'::regrole AND member = 'vscope_authenticator'::regrole) THEN
		REVOKE vscope_superadmin FROM vscope_authenticator;
	END IF;
END
$roles$;

GRANT USAGE ON SCHEMA vscope TO vscope_reader, vscope_authenticator;
