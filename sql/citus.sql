-- citus.sql: turning an installed vscope into a Citus layout (tenants
-- sharded across workers).  Nothing here runs unless called: a database
-- without Citus never notices it.

CREATE FUNCTION vscope.distribute()
	RETURNS TABLE (relation regclass, method text)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	-- small catalogs, read on every node: a copy of each on every worker
	reference_tables constant text[] := ARRAY['tenants', 'tenant_roles', 'tokens', 'coopr_users'];
	fkeys text[] := '{}';
	cmds text[] := '{}';
	failed text;
	r record;
	first_table regclass;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
		RAISE EXCEPTION 'vscope.distribute() needs the Citus extension'
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Citus is not installed in this database.',
				  HINT = 'Load citus (shared_preload_libraries), CREATE EXTENSION citus, add the workers with citus_add_node(), then call vscope.distribute() again.';
	END IF;
	IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'permission denied to distribute vscope'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Call vscope.distribute() as a superuser.';
	END IF;
	IF EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'vscope.tenants'::regclass) THEN
		RAISE EXCEPTION 'vscope is already distributed'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'vscope.tenants is already a Citus table.',
				  HINT = 'vscope.distribute() runs once, on a database that has not been distributed.';
	END IF;
	-- one connection per worker for the whole transaction: the tables
	-- created and filled here are used again before it commits
	PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);

	-- Citus distributes a table together with every table its foreign keys
	-- reach: take them off, distribute table by table, put them back
	FOR r IN
		SELECT c.conname, c.conrelid::regclass AS rel, pg_get_constraintdef(c.oid) AS def
		  FROM pg_constraint c
		 WHERE c.contype = 'f' AND c.connamespace = 'vscope'::regnamespace
		 ORDER BY c.conrelid::regclass::text, c.conname
	LOOP
		fkeys := fkeys || format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.rel, r.conname, r.def);
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.rel, r.conname);
		-- the workers' own copies of the extension's tables (which become
		-- the shells there) have them too, and Citus adds them back
		cmds := cmds || format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', r.rel, r.conname);
	END LOOP;
	-- a statement trigger on the coordinator's shell table would never fire
	-- for the shards, and Citus refuses to distribute a table with one
	DROP TRIGGER IF EXISTS series_changed ON vscope.series;
	cmds := cmds || 'DROP TRIGGER IF EXISTS series_changed ON vscope.series'::text;
	FOR r IN SELECT u.c FROM unnest(cmds) AS u(c) LOOP
		SELECT string_agg(format('%s:%s: %s', w.nodename, w.nodeport, w.result), '; ') INTO failed
		  FROM run_command_on_workers(r.c) w WHERE NOT w.success;
		IF failed IS NOT NULL THEN
			RAISE EXCEPTION 'could not prepare the workers for vscope.distribute()'
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = format('%s failed on %s', r.c, failed),
					  HINT = 'Every worker needs the vscope extension at the coordinator''s version.';
		END IF;
	END LOOP;

	FOR r IN SELECT u.t, u.n FROM unnest(reference_tables) WITH ORDINALITY AS u(t, n) ORDER BY u.n LOOP
		PERFORM create_reference_table(format('vscope.%I', r.t)::regclass);
		relation := format('vscope.%I', r.t)::regclass;
		method := 'reference';
		RETURN NEXT;
	END LOOP;

	-- every other table (partitioned ones with their partitions) is a tenant
	-- table: sharded by tenant_id, all colocated with vscope.series, so a
	-- tenant's rows of every table are on the same worker
	FOR r IN
		SELECT c.oid::regclass AS rel
		  FROM pg_class c
		 WHERE c.relnamespace = 'vscope'::regnamespace
		   AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		   AND c.relname <> ALL (reference_tables)
		   AND EXISTS (SELECT FROM pg_attribute a
						WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
		 ORDER BY c.relname <> 'series', c.relname
	LOOP
		IF first_table IS NULL THEN
			PERFORM create_distributed_table(r.rel, 'tenant_id', colocate_with => 'none');
			first_table := r.rel;
		ELSE
			PERFORM create_distributed_table(r.rel, 'tenant_id', colocate_with => first_table::text);
		END IF;
		relation := r.rel;
		method := 'hash(tenant_id)';
		RETURN NEXT;
	END LOOP;

	FOR r IN SELECT u.d FROM unnest(fkeys) AS u(d) LOOP
		EXECUTE r.d;
	END LOOP;
END
$$;
COMMENT ON FUNCTION vscope.distribute() IS 'on a Citus coordinator, once: makes the small catalogs (tenants, tenant_roles, tokens, coopr_users) reference tables and every other table distributed by tenant_id, colocated with vscope.series; answers what it did (superusers; see README, "vscope on Citus")';
REVOKE ALL ON FUNCTION vscope.distribute() FROM PUBLIC;

-- vscope.use_tenant() on Citus.  The tenant setting of a session stays on
-- the node it was set on, and Citus sends a session's SET commands to the
-- workers only as SET LOCAL inside a transaction block: the sessions Citus
-- opens on the workers for a psql session that called use_tenant() would
-- have no tenant.  So use_tenant(), called by a superuser where vscope is
-- distributed, also writes the tenant into this table on every worker,
-- under the session's Citus global process id (gpid, which Citus names in
-- application_name "citus_internal gpid=..." of every session it opens for
-- it); a worker's vscope.current_tenant() reads it there for such a session
-- of a superuser that has no tenant setting of its own (a SET LOCAL that
-- reached the worker comes first).  Each node's own copy: never distributed
-- (no tenant_id column), readable by superusers only (row-level security
-- forced, no policy).
CREATE TABLE vscope.session_tenants (
	gpid		bigint PRIMARY KEY,
	tenant		integer NOT NULL,
	set_at		timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE vscope.session_tenants IS 'on a Citus worker: the tenant that vscope.use_tenant() chose for a coordinator''s superuser session, by its Citus global process id (superusers only)';
ALTER TABLE vscope.session_tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE vscope.session_tenants FORCE ROW LEVEL SECURITY;

CREATE FUNCTION vscope._citus_session_tenant(tenant integer) RETURNS boolean
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	-- Citus's global process id: node id * 10^10 + process id
	me bigint;
	node bigint;
	live bigint[];
	failed text;
	distributed boolean;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')
	   OR NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
		RETURN false;
	END IF;
	-- Citus's catalogs and functions through EXECUTE: they exist only there
	EXECUTE 'SELECT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = ''vscope.tenants''::regclass)'
		INTO distributed;
	IF NOT distributed THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT citus_backend_gpid()' INTO me;
	node := me / 10000000000;
	-- this node's sessions that are gone leave their rows: dropped here
	EXECUTE 'SELECT ARRAY(SELECT citus_calculate_gpid($1, a.pid) FROM pg_stat_activity a)'
		INTO live USING node::integer;
	EXECUTE 'SELECT string_agg(format(''%s:%s: %s'', w.nodename, w.nodeport, w.result), ''; '')
			   FROM run_command_on_workers($1) w WHERE NOT w.success'
		INTO failed
		USING format('WITH gone AS (DELETE FROM vscope.session_tenants WHERE gpid / 10000000000 = %s AND gpid <> ALL (%L::bigint[])) '
					 'INSERT INTO vscope.session_tenants (gpid, tenant) VALUES (%s, %s) '
					 'ON CONFLICT (gpid) DO UPDATE SET tenant = excluded.tenant, set_at = excluded.set_at',
					 node, live, me, tenant);
	IF failed IS NOT NULL THEN
		RAISE EXCEPTION 'could not set the session''s tenant on the workers'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = failed,
				  HINT = 'Every worker needs the vscope extension at the coordinator''s version.';
	END IF;
	RETURN true;
END
$$;
COMMENT ON FUNCTION vscope._citus_session_tenant(integer) IS 'internal: where vscope is distributed on Citus and the caller is a superuser, records the session''s tenant (vscope.use_tenant()) on every worker for the sessions Citus opens there for it; false when it has nothing to do';
REVOKE ALL ON FUNCTION vscope._citus_session_tenant(integer) FROM PUBLIC;
