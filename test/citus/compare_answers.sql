-- make test-citus, the comparison with a single node: the answers of the
-- main query functions for one tenant (psql -v tenant=NAME -At), one line
-- each: a name, a tab, the answer as JSON.  compare.py compares the lines
-- of two databases (floating-point numbers with a tolerance).
\set ON_ERROR_STOP 1
SET timezone = 'UTC';
SELECT vscope.use_tenant(:'tenant') > 0 AS using \g /dev/null
\pset tuples_only on
\pset format unaligned
\pset fieldsep '\t'
CREATE TEMP TABLE cmp_q (name text, answer json);
-- OpenTSDB /api/query: aggregators, downsampling, grouping, rates, percentiles
INSERT INTO cmp_q
SELECT 'tsdb_query ' || n, vscope.tsdb_query(q::jsonb)
  FROM (VALUES
	(1, '{"start": 1709332200, "end": 1709343000, "queries": [{"metric": "vscope.host.cpu.usage.perc", "aggregator": "sum", "downsample": "20m-max-zero", "tags": {"host": "172.17.86.51"}}]}'),
	(2, '{"start": 1709332200, "end": 1709343000, "queries": [{"metric": "vscope.vm.cpu.usage.perc", "aggregator": "avg", "downsample": "10m-avg", "tags": {"vm": "*"}}]}'),
	(3, '{"start": 1709332200, "end": 1709343000, "queries": [{"metric": "vscope.host.net.packetsrx", "aggregator": "sum", "rate": true, "downsample": "15m-sum", "filters": [{"type": "wildcard", "tagk": "host", "filter": "*", "groupBy": true}]}]}'),
	(4, '{"start": 1709332200, "end": 1709343000, "queries": [{"metric": "vscope.vm.mem.usage.perc", "aggregator": "p95", "downsample": "1h-p90"}]}'),
	(5, '{"start": 1709332200, "end": 1709343000, "queries": [{"metric": "vscope.filer.datastore.diskspace.used", "aggregator": "max", "downsample": "30m-min", "tags": {"datastore": "*"}}]}'),
	(6, '{"start": 1709332200, "end": 1709343000, "queries": [{"metric": "vscope.host.mem.usage.perc", "aggregator": "dev", "downsample": "1h-count"}, {"metric": "vscope.vm.disk.latency.read", "aggregator": "min", "downsample": "all-sum"}]}'),
	(7, '{"start": 1709332200, "queries": [{"metric": "vscope.vm.net.packetstx", "aggregator": "zimsum", "tags": {"datacenter": "*"}}]}')
  ) AS v(n, q);
INSERT INTO cmp_q
SELECT 'tsdb_last', vscope.tsdb_last('{"queries": [{"metric": "vscope.host.cpu.usage.perc", "tags": {"host": "172.17.86.51"}}], "resolveNames": true}');
INSERT INTO cmp_q
SELECT 'tsdb_suggest ' || t, vscope.tsdb_suggest(t, q, '100')
  FROM (VALUES ('metrics', 'vscope.'), ('tagk', ''), ('tagv', '172.')) AS v(t, q);
-- Ceilometer statistics, plain, by period, grouped, selectable aggregates
INSERT INTO cmp_q
SELECT 'ceilometer_statistics ' || n, vscope.ceilometer_statistics(m, a::jsonb)
  FROM (VALUES
	(1, 'cpu_util', '{}'),
	(2, 'cpu_util', '{"period": ["3600"]}'),
	(3, 'memory.usage', '{"period": ["1800"], "groupby": ["resource_id"]}'),
	(4, 'disk.read.bytes', '{"groupby": ["user_id", "resource_id"]}'),
	(5, 'cpu_util', '{"aggregate.func": ["stddev", "cardinality"], "aggregate.param": ["", "resource_id"]}'),
	(6, 'memory.usage', '{"q.field": ["resource_id"], "q.op": ["eq"], "q.value": ["vm-2"], "q.type": [""], "period": ["600"]}')
  ) AS v(n, m, a);
INSERT INTO cmp_q SELECT 'ceilometer_list_meters', vscope.ceilometer_list_meters();
-- vScope live data: the ids and each object's latest values
INSERT INTO cmp_q
SELECT format('live_ids %s %s', dc, k), vscope.live_ids(:'tenant', dc, k)
  FROM unnest(ARRAY[869, 870]) dc, unnest(ARRAY['host', 'vm', 'filer']) k;
INSERT INTO cmp_q
SELECT format('live_object %s host %s', dc, id), vscope.live_object(:'tenant', dc, 'host', id)
  FROM (VALUES (869, 1001), (869, 1003), (870, 2002)) v(dc, id);
INSERT INTO cmp_q
SELECT format('live_object %s vm %s', dc, id), vscope.live_object(:'tenant', dc, 'vm', id)
  FROM (VALUES (869, 5001), (870, 5014)) v(dc, id);
INSERT INTO cmp_q
SELECT format('live_object %s filer %s', dc, id), vscope.live_object(:'tenant', dc, 'filer', id)
  FROM (VALUES (869, 101), (870, 202)) v(dc, id);
-- the tenant's rows, straight from the tables (what row-level security shows)
INSERT INTO cmp_q
SELECT 'tables', json_build_object(
	'series', (SELECT count(*) FROM vscope.series WHERE tenant_id = vscope.current_tenant()),
	'points', (SELECT count(*) FROM vscope.datapoints WHERE tenant_id = vscope.current_tenant()),
	'value_sum', (SELECT sum(value) FROM vscope.datapoints WHERE tenant_id = vscope.current_tenant()),
	'samples', (SELECT count(*) FROM vscope.samples WHERE tenant_id = vscope.current_tenant()));
-- every tenant at once (a superuser sees every row): on Citus, aggregates
-- over every shard
INSERT INTO cmp_q
SELECT 'all tenants', json_agg(json_build_object('tenant', t.name, 'series', s.n, 'points', p.n, 'sum', p.v,
												 'samples', c.n, 'volume', c.v) ORDER BY t.name)
  FROM vscope.tenants t
  LEFT JOIN (SELECT tenant_id, count(*) AS n FROM vscope.series GROUP BY 1) s USING (tenant_id)
  LEFT JOIN (SELECT tenant_id, count(*) AS n, sum(coalesce(value, ivalue)) AS v FROM vscope.points GROUP BY 1) p USING (tenant_id)
  LEFT JOIN (SELECT tenant_id, count(*) AS n, sum(volume) AS v FROM vscope.samples GROUP BY 1) c USING (tenant_id);
SELECT name, answer FROM cmp_q ORDER BY name;
