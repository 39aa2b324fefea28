-- make test-citus, the comparison with a single node: the same data for
-- one tenant, loaded by psql -v tenant=NAME -v n=K into the single-node
-- database and into the Citus one (K varies the data between tenants).
-- Fixed times and no random(): both databases get exactly the same points.
-- The days (2024-03-01 and 02) are made by the caller.
\set ON_ERROR_STOP 1
SET timezone = 'UTC';
SELECT vscope.create_tenant(:'tenant') > 0 AS created;
SELECT vscope.use_tenant(:'tenant') > 0 AS using;

-- the vScope metrics of two datacenters (hosts with NICs, VMs, filers),
-- one point a minute over three hours, as demo.sql makes them
CREATE TEMP TABLE cmp_series (metric text, tags jsonb, base float8, amp float8, is_int boolean);
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
INSERT INTO cmp_series
SELECT 'vscope.host.' || m, h.tags, base, amp, is_int
  FROM hosts h, (VALUES ('cpu.usage.perc', 22.0, 12.0, false),
						('mem.usage.perc', 4.36, 0.02, false)) AS x(m, base, amp, is_int)
UNION ALL
SELECT 'vscope.host.' || m, h.tags || jsonb_build_object('nicname', 'vmnic' || nic), base, amp, is_int
  FROM hosts h, generate_series(0, 1) nic,
	   (VALUES ('net.tx', 310.0, 180.0, false), ('net.packetsrx', 3100.0, 1200.0, true)) AS x(m, base, amp, is_int)
UNION ALL
SELECT 'vscope.vm.' || m, v.tags, base, amp, is_int
  FROM vms v, (VALUES ('cpu.usage.perc', 18.0, 10.0, false), ('mem.usage.perc', 41.0, 6.0, false),
					  ('net.packetstx', 520.0, 260.0, true), ('disk.latency.read', 1.6, 0.8, false)) AS x(m, base, amp, is_int)
UNION ALL
SELECT 'vscope.filer.datastore.diskspace.used', f.tags, 512000000.0, 2000000.0, true
  FROM filers f;

SELECT sum((vscope.put(batch)->>'success')::int) AS points
  FROM (SELECT json_agg(json_build_object(
				   'metric', s.metric,
				   'timestamp', extract(epoch FROM t)::bigint,
				   'value', CASE WHEN s.is_int THEN round(v)::numeric ELSE round(v::numeric, 3) END,
				   'tags', s.tags))::text AS batch
		  FROM cmp_series s
		 CROSS JOIN generate_series(timestamptz '2024-03-01 22:30', timestamptz '2024-03-02 01:30',
									interval '1 minute') AS t
		 CROSS JOIN LATERAL (
			 SELECT greatest(0, s.base * (1 + 0.1 * :n)
							 + s.amp * sin(2 * pi() * extract(epoch FROM t) / 86400
										   + (hashtext(s.tags::text) % 628) / 100.0)
							 + s.amp * 0.15 * ((hashtext(s.metric || t::text) % 1000) / 1000.0)) AS v) AS val
		 GROUP BY s.metric) AS b;
-- a point written again: the last write wins
SELECT vscope.put('[{"metric":"vscope.host.cpu.usage.perc","timestamp":1709339400,"value":99.5,
  "tags":{"datacenter":"' || :'tenant' || '_datacenter869","env":"prod","servicename":"' || :'tenant'
  || '","servicetype":"vscope","host":"172.17.86.51"}}]')->>'success' AS rewritten;

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
)) IS NOT NULL AS inventory;

-- Ceilometer samples: three meters of four instances, every five minutes
SELECT sum(json_array_length(vscope.ceilometer_post_samples(m, batch))) AS samples
  FROM (SELECT m, json_agg(json_build_object(
				   'counter_name', m, 'counter_type', 'gauge', 'counter_unit', u,
				   'counter_volume', round((b * (1 + 0.05 * :n) + 10 * sin(extract(epoch FROM t) / 3000.0 + r))::numeric, 4),
				   'resource_id', 'vm-' || r, 'project_id', :'tenant', 'user_id', 'u' || (r % 2),
				   'timestamp', to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS'),
				   'resource_metadata', json_build_object('flavor.name', CASE WHEN r % 2 = 0 THEN 'm1.small' ELSE 'm1.large' END))
				   ORDER BY r, t)::text AS batch
		  FROM (VALUES ('cpu_util', '%', 30.0), ('memory.usage', 'MB', 900.0), ('disk.read.bytes', 'B', 5000.0)) AS x(m, u, b),
			   generate_series(1, 4) r,
			   generate_series(timestamptz '2024-03-01 22:00', timestamptz '2024-03-02 02:00', interval '5 minutes') t
		 GROUP BY m) AS p;
