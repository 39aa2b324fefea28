-- vscope_live.sql: vScope live data: a service's inventory (datacenters,
-- filers, hosts, VMs), their live values read from the latest points of the
-- vscope.* metrics, and read tokens for the metrics API (metricsToken).

--------------------------------------------------------------------------------
-- vScope live data: the inventory of a service (the tenant) and its live
-- values, taken from the latest points of the vscope.* metrics so that live
-- data and graphs never disagree
--------------------------------------------------------------------------------

CREATE TABLE vscope.datacenters (
	tenant_id	integer NOT NULL REFERENCES vscope.tenants ON DELETE CASCADE,
	datacenter_id bigint NOT NULL,
	name		text,
	PRIMARY KEY (tenant_id, datacenter_id)
);
COMMENT ON TABLE vscope.datacenters IS 'vScope datacenters of a service; its metrics carry datacenter=<service>_datacenter<id>';

CREATE TABLE vscope.filers (
	tenant_id	integer NOT NULL,
	datacenter_id bigint NOT NULL,
	filer_id	bigint NOT NULL,
	name		text NOT NULL,
	profile		text NOT NULL DEFAULT '',
	full_profile text NOT NULL DEFAULT '',
	size_gb		bigint NOT NULL DEFAULT 0,
	state		text NOT NULL DEFAULT 'delivered'
		CHECK (state IN ('adding', 'delivered', 'error', 'removing', 'unknown')),
	billing_type text CHECK (billing_type IN ('freeSpare', 'hourly', 'monthly', 'undefined')),
	vm_total	bigint,
	PRIMARY KEY (tenant_id, datacenter_id, filer_id),
	FOREIGN KEY (tenant_id, datacenter_id) REFERENCES vscope.datacenters ON DELETE CASCADE
);
COMMENT ON TABLE vscope.filers IS 'vScope filers (datastores); name is the datastore label of vscope.filer.* metrics';

CREATE TABLE vscope.hosts (
	tenant_id	integer NOT NULL,
	datacenter_id bigint NOT NULL,
	host_id		bigint NOT NULL,
	name		text NOT NULL,
	profile		text NOT NULL DEFAULT '',
	profile_code text NOT NULL DEFAULT '',
	rack		text NOT NULL DEFAULT '',
	state		text NOT NULL DEFAULT 'delivered'
		CHECK (state IN ('adding', 'delivered', 'error', 'removing', 'unknown')),
	connection_state text CHECK (connection_state IN ('connected', 'disconnected', 'notResponding')),
	billing_type text NOT NULL DEFAULT 'monthly'
		CHECK (billing_type IN ('freeSpare', 'hourly', 'monthly', 'undefined')),
	cpu_max		bigint,			-- MHz, all cores
	cpu_max_core bigint,		-- MHz per core
	cpu_num		bigint,
	ram_gb		bigint NOT NULL DEFAULT 0,
	vm_total	bigint,
	uptime		bigint,
	in_maintenance boolean,
	cluster_name text,
	PRIMARY KEY (tenant_id, datacenter_id, host_id),
	FOREIGN KEY (tenant_id, datacenter_id) REFERENCES vscope.datacenters ON DELETE CASCADE
);
COMMENT ON TABLE vscope.hosts IS 'vScope hosts; name (an IP) is the host label of vscope.host.* metrics';

CREATE TABLE vscope.vms (
	tenant_id	integer NOT NULL,
	datacenter_id bigint NOT NULL,
	vm_id		bigint NOT NULL,
	mo_ref		text NOT NULL,
	name		text,
	power_state text NOT NULL DEFAULT 'poweredOn'
		CHECK (power_state IN ('deleted', 'poweredOff', 'poweredOn', 'suspended')),
	cpu_num		bigint,
	cpu_max		double precision,	-- MHz
	memory_max	bigint,				-- MB
	host_name	text,
	cluster_name text,
	folder_name text,
	snapshot_num bigint,
	vmware_tools text,
	vmware_tools_version text,
	PRIMARY KEY (tenant_id, datacenter_id, vm_id),
	FOREIGN KEY (tenant_id, datacenter_id) REFERENCES vscope.datacenters ON DELETE CASCADE
);
COMMENT ON TABLE vscope.vms IS 'vScope virtual machines; mo_ref is the vm label of vscope.vm.* metrics';

DO $rls$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['datacenters', 'filers', 'hosts', 'vms'] LOOP
		EXECUTE format('ALTER TABLE vscope.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE vscope.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON vscope.%I USING (tenant_id = vscope.current_tenant())', t);
		EXECUTE format('GRANT SELECT ON vscope.%I TO vscope_reader', t);
		EXECUTE format('GRANT INSERT, UPDATE, DELETE ON vscope.%I TO vscope_admin', t);
		PERFORM pg_catalog.pg_extension_config_dump(format('vscope.%I', t)::regclass, '');
	END LOOP;
END
$rls$;

-- a double as a bigint, or NULL when it is not finite or does not fit
CREATE FUNCTION vscope._to_long(x double precision) RETURNS bigint
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT CASE WHEN x BETWEEN -9.2e18 AND 9.2e18 THEN round(x)::bigint END $$;
COMMENT ON FUNCTION vscope._to_long(double precision) IS 'internal: a double as a bigint, NULL when it cannot be one';

-- the latest value of a metric for series whose tags contain these
CREATE FUNCTION vscope.latest_value(metric text, tags jsonb) RETURNS double precision
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	out double precision;
BEGIN
	-- PL/pgSQL, the tenant a variable: one shard's query on Citus
	SELECT coalesce(l.value, l.ivalue::double precision) INTO out
	  FROM vscope.series s
	  JOIN vscope.series_last l ON l.tenant_id = s.tenant_id AND l.series_id = s.series_id
	 WHERE s.tenant_id = tid AND l.tenant_id = tid AND s.metric = latest_value.metric
	   AND s.tags @> latest_value.tags
	 ORDER BY l.ts DESC LIMIT 1;
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope.latest_value(text, jsonb) IS 'the most recent value of the metric among the current tenant''s series whose tags contain the given ones';

-- the sum over series (e.g. a host's NICs) of each one's latest value
CREATE FUNCTION vscope.latest_sum(metric text, tags jsonb) RETURNS double precision
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	out double precision;
BEGIN
	SELECT sum(coalesce(l.value, l.ivalue::double precision)) INTO out
	  FROM vscope.series s
	  JOIN vscope.series_last l ON l.tenant_id = s.tenant_id AND l.series_id = s.series_id
	 WHERE s.tenant_id = tid AND l.tenant_id = tid AND s.metric = latest_sum.metric
	   AND s.tags @> latest_sum.tags;
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope.latest_sum(text, jsonb) IS 'the sum, over the current tenant''s series whose tags contain the given ones, of each series'' most recent value';

CREATE FUNCTION vscope._dc_label(datacenter_id bigint) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	out text;
BEGIN
	SELECT t.name || '_datacenter' || datacenter_id INTO out FROM vscope.tenants t WHERE t.tenant_id = tid;
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope._dc_label(bigint) IS 'internal: the datacenter label of the current service''s metrics';

CREATE FUNCTION vscope.register_inventory(inventory jsonb) RETURNS jsonb
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	n_dc integer;
	n_f integer;
	n_h integer;
	n_v integer;
BEGIN
	IF tid IS NULL THEN
		RAISE EXCEPTION 'no tenant selected' USING ERRCODE = 'VS401';
	END IF;
	IF jsonb_typeof(inventory) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'the inventory is an object of datacenters, filers, hosts and vms arrays'
			USING ERRCODE = 'VS400';
	END IF;
	IF EXISTS (SELECT FROM jsonb_each(inventory) k, jsonb_array_elements(
				   CASE jsonb_typeof(k.value) WHEN 'array' THEN k.value ELSE '[]' END) e,
				   jsonb_each(CASE jsonb_typeof(e) WHEN 'object' THEN e ELSE '{}' END) f
			   WHERE f.key LIKE '%\_id' AND jsonb_typeof(f.value) = 'number' AND (f.value)::numeric < 0) THEN
		RAISE EXCEPTION 'invalid inventory: ids are not negative' USING ERRCODE = 'VS400';
	END IF;
	INSERT INTO vscope.datacenters AS d (tenant_id, datacenter_id, name)
	SELECT tid, x.datacenter_id, x.name
	  FROM jsonb_to_recordset(coalesce(inventory->'datacenters', '[]')) AS x(datacenter_id bigint, name text)
	ON CONFLICT (tenant_id, datacenter_id) DO UPDATE SET name = excluded.name;
	GET DIAGNOSTICS n_dc = ROW_COUNT;
	INSERT INTO vscope.filers AS f
	SELECT tid, x.datacenter_id, x.filer_id, x.name, coalesce(x.profile, ''), coalesce(x.full_profile, ''),
		   coalesce(x.size_gb, 0), coalesce(x.state, 'delivered'), x.billing_type, x.vm_total
	  FROM jsonb_to_recordset(coalesce(inventory->'filers', '[]'))
		AS x(datacenter_id bigint, filer_id bigint, name text, profile text, full_profile text,
			 size_gb bigint, state text, billing_type text, vm_total bigint)
	ON CONFLICT (tenant_id, datacenter_id, filer_id) DO UPDATE
	   SET name = excluded.name, profile = excluded.profile, full_profile = excluded.full_profile,
		   size_gb = excluded.size_gb, state = excluded.state, billing_type = excluded.billing_type,
		   vm_total = excluded.vm_total;
	GET DIAGNOSTICS n_f = ROW_COUNT;
	INSERT INTO vscope.hosts AS h
	SELECT tid, x.datacenter_id, x.host_id, x.name, coalesce(x.profile, ''), coalesce(x.profile_code, ''),
		   coalesce(x.rack, ''), coalesce(x.state, 'delivered'), x.connection_state,
		   coalesce(x.billing_type, 'monthly'), x.cpu_max, x.cpu_max_core, x.cpu_num,
		   coalesce(x.ram_gb, 0), x.vm_total, x.uptime, x.in_maintenance, x.cluster_name
	  FROM jsonb_to_recordset(coalesce(inventory->'hosts', '[]'))
		AS x(datacenter_id bigint, host_id bigint, name text, profile text, profile_code text, rack text,
			 state text, connection_state text, billing_type text, cpu_max bigint, cpu_max_core bigint,
			 cpu_num bigint, ram_gb bigint, vm_total bigint, uptime bigint, in_maintenance boolean,
			 cluster_name text)
	ON CONFLICT (tenant_id, datacenter_id, host_id) DO UPDATE
	   SET name = excluded.name, profile = excluded.profile, profile_code = excluded.profile_code,
		   rack = excluded.rack, state = excluded.state, connection_state = excluded.connection_state,
		   billing_type = excluded.billing_type, cpu_max = excluded.cpu_max,
		   cpu_max_core = excluded.cpu_max_core, cpu_num = excluded.cpu_num, ram_gb = excluded.ram_gb,
		   vm_total = excluded.vm_total, uptime = excluded.uptime,
		   in_maintenance = excluded.in_maintenance, cluster_name = excluded.cluster_name;
	GET DIAGNOSTICS n_h = ROW_COUNT;
	INSERT INTO vscope.vms AS v
	SELECT tid, x.datacenter_id, x.vm_id, x.mo_ref, x.name, coalesce(x.power_state, 'poweredOn'),
		   x.cpu_num, x.cpu_max, x.memory_max, x.host_name, x.cluster_name, x.folder_name,
		   x.snapshot_num, x.vmware_tools, x.vmware_tools_version
	  FROM jsonb_to_recordset(coalesce(inventory->'vms', '[]'))
		AS x(datacenter_id bigint, vm_id bigint, mo_ref text, name text, power_state text, cpu_num bigint,
			 cpu_max double precision, memory_max bigint, host_name text, cluster_name text,
			 folder_name text, snapshot_num bigint, vmware_tools text, vmware_tools_version text)
	ON CONFLICT (tenant_id, datacenter_id, vm_id) DO UPDATE
	   SET mo_ref = excluded.mo_ref, name = excluded.name, power_state = excluded.power_state,
		   cpu_num = excluded.cpu_num, cpu_max = excluded.cpu_max, memory_max = excluded.memory_max,
		   host_name = excluded.host_name, cluster_name = excluded.cluster_name,
		   folder_name = excluded.folder_name, snapshot_num = excluded.snapshot_num,
		   vmware_tools = excluded.vmware_tools, vmware_tools_version = excluded.vmware_tools_version;
	GET DIAGNOSTICS n_v = ROW_COUNT;
	RETURN jsonb_build_object('datacenters', n_dc, 'filers', n_f, 'hosts', n_h, 'vms', n_v);
EXCEPTION
	WHEN not_null_violation OR check_violation OR foreign_key_violation OR invalid_text_representation
		 OR numeric_value_out_of_range OR datatype_mismatch OR cardinality_violation THEN
		RAISE EXCEPTION 'invalid inventory: %', SQLERRM USING ERRCODE = 'VS400',
			HINT = 'Each filer, host and vm names its datacenter_id and its id; a filer has a name, a host a name, a vm a mo_ref; datacenters come first.';
END
$$;
COMMENT ON FUNCTION vscope.register_inventory(jsonb) IS 'adds or updates the current service''s inventory: {"datacenters":[{"datacenter_id","name"}], "filers":[...], "hosts":[...], "vms":[...]} with OVH''s fields in snake_case';
REVOKE ALL ON FUNCTION vscope.register_inventory(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.register_inventory(jsonb) TO vscope_admin;

-- the ids of a datacenter's filers, hosts or vms (OVH's long[] lists)
CREATE FUNCTION vscope.live_ids(service text, datacenter_id bigint, kind text) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	out json;
BEGIN
	PERFORM vscope._live_check(service, datacenter_id);
	IF kind = 'filer' THEN
		SELECT coalesce(json_agg(filer_id ORDER BY filer_id), '[]') INTO out FROM vscope.filers f
		 WHERE f.tenant_id = tid AND f.datacenter_id = live_ids.datacenter_id;
	ELSIF kind = 'host' THEN
		SELECT coalesce(json_agg(host_id ORDER BY host_id), '[]') INTO out FROM vscope.hosts h
		 WHERE h.tenant_id = tid AND h.datacenter_id = live_ids.datacenter_id;
	ELSIF kind = 'vm' THEN
		SELECT coalesce(json_agg(vm_id ORDER BY vm_id), '[]') INTO out FROM vscope.vms v
		 WHERE v.tenant_id = tid AND v.datacenter_id = live_ids.datacenter_id;
	ELSE
		RAISE EXCEPTION 'unknown kind "%"', kind USING ERRCODE = 'VS404';
	END IF;
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope.live_ids(text, bigint, text) IS 'vScope: the ids of the filers, hosts or vms of a datacenter of the service';

CREATE FUNCTION vscope._live_check(service text, datacenter_id bigint) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
BEGIN
	-- PERFORM and FOUND rather than IF EXISTS (SELECT ...), which Citus
	-- cannot plan; the tenant a variable, so the query goes to one shard
	PERFORM FROM vscope.tenants t WHERE t.tenant_id = tid AND t.name = service;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'The requested object (serviceName = %) does not exist', service USING ERRCODE = 'VS404';
	END IF;
	PERFORM FROM vscope.datacenters d WHERE d.tenant_id = tid AND d.datacenter_id = _live_check.datacenter_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'The requested object (datacenterId = %) does not exist', datacenter_id USING ERRCODE = 'VS404';
	END IF;
END
$$;
COMMENT ON FUNCTION vscope._live_check(text, bigint) IS 'internal: 404 unless the service is the current tenant and has the datacenter';

-- one filer, host or vm, with its live values
CREATE FUNCTION vscope.live_object(service text, datacenter_id bigint, kind text, id bigint) RETURNS json
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	dc text;
	f vscope.filers;
	h vscope.hosts;
	v vscope.vms;
	tags jsonb;
	used double precision;
	perc double precision;
	ready double precision;
	net_rx double precision;
	net_tx double precision;
	vm_total bigint;
	vm_vcpu_total numeric;
	out json;
BEGIN
	PERFORM vscope._live_check(service, datacenter_id);
	dc := vscope._dc_label(datacenter_id);
	IF kind = 'filer' THEN
		SELECT * INTO f FROM vscope.filers x WHERE x.tenant_id = tid
		   AND x.datacenter_id = live_object.datacenter_id AND x.filer_id = id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'The requested object (filerId = %) does not exist', id USING ERRCODE = 'VS404';
		END IF;
		-- the metric is in KB; OVH's live fields are GB
		used := vscope.latest_value('vscope.filer.datastore.diskspace.used',
									jsonb_build_object('datacenter', dc, 'datastore', f.name)) / 1048576.0;
		out := json_build_object(
			'filerId', f.filer_id, 'name', f.name, 'profile', f.profile, 'fullProfile', f.full_profile,
			'size', json_build_object('unit', 'GB', 'value', f.size_gb),
			'spaceUsed', CASE WHEN used BETWEEN -1e15 AND 1e15 THEN round(used::numeric, 2) END,
			'spaceFree', CASE WHEN used BETWEEN -1e15 AND 1e15 THEN round((f.size_gb - used)::numeric, 2) END,
			'spaceProvisionned', NULL, 'state', f.state, 'vmTotal', f.vm_total,
			'billingType', f.billing_type);
	ELSIF kind = 'host' THEN
		SELECT * INTO h FROM vscope.hosts x WHERE x.tenant_id = tid
		   AND x.datacenter_id = live_object.datacenter_id AND x.host_id = id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'The requested object (hostId = %) does not exist', id USING ERRCODE = 'VS404';
		END IF;
		tags := jsonb_build_object('datacenter', dc, 'host', h.name);
		perc := vscope.latest_value('vscope.host.cpu.usage.perc', tags);
		used := vscope.latest_value('vscope.host.mem.usage.perc', tags);
		-- each read its own query (on Citus, a function over tenant tables
		-- inside a query sent to a shard cannot run there)
		net_rx := vscope.latest_sum('vscope.host.net.rx', tags);
		net_tx := vscope.latest_sum('vscope.host.net.tx', tags);
		SELECT count(*), sum(x.cpu_num) INTO vm_total, vm_vcpu_total FROM vscope.vms x
		 WHERE x.tenant_id = tid AND x.datacenter_id = h.datacenter_id AND x.host_name = h.name;
		out := json_build_object(
			'hostId', h.host_id, 'name', h.name, 'profile', h.profile, 'profileCode', h.profile_code,
			'rack', h.rack, 'state', h.state, 'connectionState', h.connection_state,
			'billingType', h.billing_type,
			'cpu', json_build_object('unit', 'MHz', 'value', h.cpu_max),
			'cpuMax', h.cpu_max, 'cpuMaxCore', h.cpu_max_core, 'cpuNum', h.cpu_num,
			'cpuUsed', vscope._to_long(perc / 100 * h.cpu_max),
			'ram', json_build_object('unit', 'GB', 'value', h.ram_gb),
			'memoryUsed', CASE WHEN used BETWEEN -1e15 AND 1e15 THEN round((used / 100 * h.ram_gb * 1024)::numeric, 2) END,
			'vmTotal', vm_total, 'vmVcpuTotal', vm_vcpu_total,
			'uptime', h.uptime, 'inMaintenance', h.in_maintenance, 'clusterName', h.cluster_name,
			'parentHostId', NULL,
			'netRx', net_rx, 'netTx', net_tx);
	ELSIF kind = 'vm' THEN
		SELECT * INTO v FROM vscope.vms x WHERE x.tenant_id = tid
		   AND x.datacenter_id = live_object.datacenter_id AND x.vm_id = id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'The requested object (vmId = %) does not exist', id USING ERRCODE = 'VS404';
		END IF;
		tags := jsonb_build_object('datacenter', dc, 'vm', v.mo_ref);
		perc := vscope.latest_value('vscope.vm.cpu.usage.perc', tags);
		used := vscope.latest_value('vscope.vm.mem.usage.perc', tags);
		ready := vscope.latest_value('vscope.vm.cpu.ready', tags);
		out := json_build_object(
			'vmId', v.vm_id, 'moRef', v.mo_ref, 'name', v.name, 'powerState', v.power_state,
			'cpuNum', v.cpu_num, 'cpuMax', v.cpu_max,
			'cpuUsed', vscope._to_long(perc / 100 * v.cpu_max),
			'cpuReady', ready,
			-- ready time over vSphere's 20-second real-time sample
			'cpuReadyPercent', CASE WHEN ready BETWEEN -1e15 AND 1e15 THEN round((ready / 20000 * 100)::numeric, 2) END,
			'memoryMax', v.memory_max,
			'memoryUsed', vscope._to_long(used / 100 * v.memory_max),
			'memoryTps', NULL,
			'netRx', vscope.latest_value('vscope.vm.net.rx', tags),
			'netTx', vscope.latest_value('vscope.vm.net.tx', tags),
			'netPacketRx', vscope.latest_value('vscope.vm.net.packetsrx', tags),
			'netPacketTx', vscope.latest_value('vscope.vm.net.packetstx', tags),
			'readRate', vscope.latest_value('vscope.vm.disk.bandwidth.read', tags),
			'writeRate', vscope.latest_value('vscope.vm.disk.bandwidth.write', tags),
			'readPerSecond', vscope.latest_value('vscope.vm.disk.io.read', tags),
			'writePerSecond', vscope.latest_value('vscope.vm.disk.io.write', tags),
			'readLatency', vscope.latest_value('vscope.vm.disk.latency.read', tags),
			'writeLatency', vscope.latest_value('vscope.vm.disk.latency.write', tags),
			'hostName', v.host_name, 'clusterName', v.cluster_name, 'folderName', v.folder_name,
			'snapshotNum', v.snapshot_num, 'vmwareTools', v.vmware_tools,
			'vmwareToolsVersion', v.vmware_tools_version);
	ELSE
		RAISE EXCEPTION 'unknown kind "%"', kind USING ERRCODE = 'VS404';
	END IF;
	RETURN out;
END
$$;
COMMENT ON FUNCTION vscope.live_object(text, bigint, text, bigint) IS 'vScope: one filer, host or vm of the service with OVH''s fields; live values come from the latest points of the vscope.* metrics';

-- metrics_token() of a tenant's admin on Citus: the user's previous token
-- of the current tenant revoked and the new one stored, with the owner's
-- rights (see _insert_token in tenancy.sql)
CREATE FUNCTION vscope._store_metrics_token(user_id bigint, hash bytea, label text) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
BEGIN
	IF tid IS NULL THEN
		RAISE EXCEPTION 'no tenant selected' USING ERRCODE = 'VS401';
	END IF;
	UPDATE vscope.tokens k SET revoked_at = now()
	 WHERE k.tenant_id = tid AND k.metrics_user_id = _store_metrics_token.user_id AND k.revoked_at IS NULL;
	INSERT INTO vscope.tokens (tenant_id, token_hash, scopes, description, metrics_user_id)
	VALUES (tid, hash, '{read}', label, _store_metrics_token.user_id);
END
$$;
REVOKE ALL ON FUNCTION vscope._store_metrics_token(bigint, bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope._store_metrics_token(bigint, bytea, text) TO vscope_admin;
COMMENT ON FUNCTION vscope._store_metrics_token(bigint, bytea, text) IS 'internal: for metrics_token() of a tenant''s admin on Citus, revokes the user''s previous metrics token of the current tenant and stores a new read token, with the owner''s rights';

-- a read token for the service's metrics, for one of its users: each call
-- issues a new one and revokes the user's previous one (only hashes are
-- kept, so the old one cannot be shown again)
CREATE FUNCTION vscope.metrics_token(service text, user_id bigint, endpoint text) RETURNS json
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	tid integer := vscope.current_tenant();
	label text := 'metricsToken user ' || user_id;
	tok text;
BEGIN
	PERFORM FROM vscope.tenants t WHERE t.tenant_id = tid AND t.name = service;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'The requested object (serviceName = %) does not exist', service USING ERRCODE = 'VS404';
	END IF;
	IF user_id IS NULL OR user_id <= 0 THEN
		RAISE EXCEPTION 'invalid userId' USING ERRCODE = 'VS400';
	END IF;
	-- one issuer at a time per user, so exactly one token stays active
	PERFORM pg_advisory_xact_lock(hashtext('vscope metricsToken'), hashtext(tid || '/' || user_id));
	tok := vscope._random_token();
	IF NOT has_table_privilege('vscope.tenants', 'INSERT')
	   AND EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
		-- an admin on Citus, where a write to vscope.tokens needs a right to
		-- write to vscope.tenants (see create_token())
		PERFORM vscope._store_metrics_token(metrics_token.user_id, sha256(convert_to(tok, 'UTF8')), label);
		RETURN json_build_object('warpEndpoint', endpoint, 'token', tok, 'opentsdbEndpoint', endpoint);
	END IF;
	-- one write: the user's previous token revoked and the new one stored,
	-- already bound to the user, by the same statement
	WITH revoked AS (
		UPDATE vscope.tokens k SET revoked_at = now()
		 WHERE k.tenant_id = tid AND k.metrics_user_id = metrics_token.user_id
		   AND k.revoked_at IS NULL
	)
	INSERT INTO vscope.tokens (tenant_id, token_hash, scopes, description, metrics_user_id)
	VALUES (tid, sha256(convert_to(tok, 'UTF8')), '{read}', label, metrics_token.user_id);
	RETURN json_build_object('warpEndpoint', endpoint, 'token', tok, 'opentsdbEndpoint', endpoint);
END
$$;
COMMENT ON FUNCTION vscope.metrics_token(text, bigint, text) IS 'vScope metricsToken: a new read token for the service (the previous one of that user is revoked), for OpenTSDB and Warp 10 alike: warpEndpoint and opentsdbEndpoint are both the endpoint given (vscoped''s URL)';
REVOKE ALL ON FUNCTION vscope.metrics_token(text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vscope.metrics_token(text, bigint, text) TO vscope_admin;
