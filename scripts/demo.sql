-- The demo data of `make run`: one vScope service (the tenant) with two
-- datacenters, each with 3 hosts (4 NICs each), 6 VMs and 2 filers, and
-- their vscope.* metrics (the guide's 20 names, with its labels) for the
-- last 24 hours at one point a minute.  Re-running rewrites the same
-- minutes, so the window slides forward and nothing is duplicated.
-- Usage: psql -v tenant=NAME -f demo.sql
\set ON_ERROR_STOP 1
-- writes never make partitions: the days of the last 24 hours are made
-- writable here (maintenance keeps them so too; this file may come first)
CALL vscope.add_days(((now() - interval '1 day') AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE 'UTC')::date);
SELECT vscope.create_tenant(:'tenant');
SELECT vscope.use_tenant(:'tenant');

CREATE TEMP TABLE demo_series (metric text, tags jsonb, base float8, amp float8, is_int boolean);

WITH dc AS (
	SELECT id, net, :'tenant' || '_datacenter' || id AS datacenter, n
	  FROM (VALUES (869, '172.17.86.', 0), (870, '172.17.87.', 1)) AS v(id, net, n)
), common AS (
	SELECT dc.*, jsonb_build_object('datacenter', dc.datacenter, 'env', 'prod',
									'servicename', :'tenant', 'servicetype', 'vscope') AS tags
	  FROM dc
), hosts AS (
	SELECT c.tags || jsonb_build_object('host', c.net || (51 + h)) AS tags
	  FROM common c, generate_series(0, 2) h
), vms AS (
	SELECT c.tags || jsonb_build_object('vm', 'vm-0' || (1254 + 10 * c.n + v)) AS tags
	  FROM common c, generate_series(0, 5) v
), filers AS (
	SELECT c.tags || jsonb_build_object('datastore', 'pcc-000' || (443 + 2 * c.n + f)) AS tags
	  FROM common c, generate_series(0, 1) f
)
INSERT INTO demo_series
SELECT 'vscope.host.' || m, h.tags, base, amp, is_int
  FROM hosts h, (VALUES ('cpu.usage.perc', 22.0, 12.0, false),
						('mem.usage.perc', 4.36, 0.02, false)) AS x(m, base, amp, is_int)
UNION ALL
SELECT 'vscope.host.' || m, h.tags || jsonb_build_object('nicname', 'vmnic' || nic), base, amp, is_int
  FROM hosts h, generate_series(0, 3) nic,
	   (VALUES ('net.tx', 310.0, 180.0, false), ('net.rx', 420.0, 220.0, false),
			   ('net.packetstx', 2400.0, 900.0, true), ('net.packetsrx', 3100.0, 1200.0, true))
		   AS x(m, base, amp, is_int)
UNION ALL
SELECT 'vscope.vm.' || m, v.tags, base, amp, is_int
  FROM vms v, (VALUES ('cpu.usage.perc', 18.0, 10.0, false), ('mem.usage.perc', 41.0, 6.0, false),
					  ('cpu.ready', 45.0, 30.0, false), ('net.rx', 95.0, 60.0, false),
					  ('net.tx', 70.0, 45.0, false), ('net.packetsrx', 640.0, 300.0, true),
					  ('net.packetstx', 520.0, 260.0, true), ('disk.io.read', 38.0, 20.0, false),
					  ('disk.io.write', 52.0, 25.0, false), ('disk.bandwidth.read', 830.0, 400.0, false),
					  ('disk.bandwidth.write', 1150.0, 500.0, false), ('disk.latency.read', 1.6, 0.8, false),
					  ('disk.latency.write', 2.3, 1.1, false)) AS x(m, base, amp, is_int)
UNION ALL
SELECT 'vscope.filer.datastore.diskspace.used', f.tags, 512000000.0, 2000000.0, true
  FROM filers f;

-- one put per metric: the same path as HTTP /api/put
SELECT setseed(0.42);
SELECT sum((vscope.put(batch)->>'success')::int) AS points
  FROM (SELECT json_agg(json_build_object(
				   'metric', s.metric,
				   'timestamp', extract(epoch FROM t)::bigint,
				   'value', CASE WHEN s.is_int THEN round(v)::numeric ELSE round(v::numeric, 2) END,
				   'tags', s.tags))::text AS batch
		  FROM demo_series s
		 CROSS JOIN generate_series(date_trunc('minute', now()) - interval '24 hours',
									date_trunc('minute', now()), interval '1 minute') AS t
		 CROSS JOIN LATERAL (
			 SELECT greatest(0, s.base
							 + s.amp * sin(2 * pi() * extract(epoch FROM t) / 86400
										   + (hashtext(s.tags::text) % 628) / 100.0)
							 + s.amp * 0.15 * (random() - 0.5)) AS v) AS val
		 GROUP BY s.metric) AS b;

-- the inventory behind those series, for the live-data endpoints
SELECT vscope.register_inventory(jsonb_build_object(
  'datacenters', (SELECT jsonb_agg(jsonb_build_object('datacenter_id', id, 'name', 'datacenter' || id))
                    FROM (VALUES (869), (870)) v(id)),
  'filers', (SELECT jsonb_agg(jsonb_build_object(
                 'datacenter_id', dc, 'filer_id', 100 * (n + 1) + f + 1,
                 'name', 'pcc-000' || (443 + 2 * n + f), 'profile', '2t-nfs', 'full_profile', '2 TB NFS',
                 'size_gb', 2048, 'state', 'delivered', 'billing_type', 'monthly', 'vm_total', 3))
               FROM (VALUES (869, 0), (870, 1)) d(dc, n), generate_series(0, 1) f),
  'hosts', (SELECT jsonb_agg(jsonb_build_object(
                 'datacenter_id', dc, 'host_id', 1000 * (n + 1) + h + 1, 'name', net || (51 + h),
                 'profile', 'L', 'profile_code', 'pcc-l-2018', 'rack', 'R' || (n + 1),
                 'state', 'delivered', 'connection_state', 'connected', 'billing_type', 'monthly',
                 'cpu_max', 48000, 'cpu_max_core', 2000, 'cpu_num', 24, 'ram_gb', 256,
                 'uptime', 86400 * 40, 'in_maintenance', false, 'cluster_name', 'Cluster' || (n + 1)))
               FROM (VALUES (869, 0, '172.17.86.'), (870, 1, '172.17.87.')) d(dc, n, net), generate_series(0, 2) h),
  'vms', (SELECT jsonb_agg(jsonb_build_object(
                 'datacenter_id', dc, 'vm_id', 5000 + 10 * n + v, 'mo_ref', 'vm-0' || (1254 + 10 * n + v),
                 'name', 'web-' || n || '-' || v, 'power_state', 'poweredOn', 'cpu_num', 2 + v % 3,
                 'cpu_max', 4000 + 2000 * (v % 3), 'memory_max', 4096 * (1 + v % 2),
                 'host_name', net || (51 + v % 3), 'cluster_name', 'Cluster' || (n + 1),
                 'folder_name', 'web', 'snapshot_num', v % 2, 'vmware_tools', 'toolsOk',
                 'vmware_tools_version', '11333'))
             FROM (VALUES (869, 0, '172.17.86.'), (870, 1, '172.17.87.')) d(dc, n, net), generate_series(0, 5) v)
));
