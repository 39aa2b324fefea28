-- The Ceilometer demo data of `make run`: one OpenStack project (the tenant,
-- named by its project id) with two instances, the meters of the Telemetry
-- guide's CLI examples (cpu, cpu_util, disk.read.bytes, memory) every ten
-- minutes over the last 24 hours, and a few events.  Re-running replaces
-- them, so the window slides forward and nothing is duplicated.
-- Usage: psql -v project=ID -v user=ID -f demo_ceilometer.sql
\set ON_ERROR_STOP 1
-- writes never make partitions: the days of the last 24 hours are made
-- writable here (maintenance keeps them so too; this file may come first)
CALL vscope.add_days(((now() - interval '1 day') AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE 'UTC')::date);
SELECT vscope.create_tenant(:'project');
SELECT vscope.use_tenant(:'project');
SET timezone = 'UTC';
DELETE FROM vscope.samples WHERE tenant_id = vscope.current_tenant();
-- (and those of days maintenance has compressed since the last run)
DELETE FROM vscope.sample_blocks WHERE tenant_id = vscope.current_tenant();
DELETE FROM vscope.sample_span WHERE tenant_id = vscope.current_tenant();
DELETE FROM vscope.events WHERE tenant_id = vscope.current_tenant();

WITH inst AS (
	SELECT * FROM (VALUES
		('bb52e52b-1e42-4751-b3ac-45c52d83ba07', 'web-1', 'm1.small', 0),
		('c8d2e153-a48f-4cec-9e93-86e7ac6d4b0b', 'db-1', 'm1.medium', 1)) AS v(id, name, flavor, n)
), meter AS (
	SELECT * FROM (VALUES ('cpu', 'cumulative', 'ns'), ('cpu_util', 'gauge', '%'),
						  ('disk.read.bytes', 'cumulative', 'B'), ('memory', 'gauge', 'MB')) AS v(name, typ, unit)
), t AS (
	SELECT k, date_trunc('minute', now()) - interval '24 hours' + k * interval '10 minutes' AS ts
	  FROM generate_series(0, 143) k
)
SELECT count(vscope._ceilo_store_sample(
		m.name, m.typ, m.unit,
		CASE m.name
			WHEN 'cpu' THEN 5.3e11 + i.n * 3e10 + t.k * 6.2e8
			WHEN 'cpu_util' THEN round((12 + 8 * i.n + 6 * sin(t.k / 9.0 + i.n))::numeric, 2)::float8
			WHEN 'disk.read.bytes' THEN 385334 + i.n * 100000 + t.k * 21600
			ELSE 512 * (i.n + 1) END,
		i.id, :'project', :'user', :'project' || ':openstack',
		jsonb_build_object('display_name', i.name, 'instance_type', i.flavor,
						   'flavor', jsonb_build_object('name', i.flavor, 'vcpus', (i.n + 1)::text)),
		t.ts)) AS samples
  FROM inst i, meter m, t;

SELECT vscope.ceilometer_add_events(jsonb_build_array(
	jsonb_build_object('event_type', 'compute.instance.create.end', 'message_id', 'demo-create-web-1',
		'generated', vscope._ceilo_ts(now() - interval '24 hours'),
		'traits', jsonb_build_array(
			jsonb_build_object('name', 'project_id', 'type', 'string', 'value', :'project'),
			jsonb_build_object('name', 'user_id', 'type', 'string', 'value', :'user'),
			jsonb_build_object('name', 'instance_id', 'type', 'string', 'value', 'bb52e52b-1e42-4751-b3ac-45c52d83ba07'),
			jsonb_build_object('name', 'memory_mb', 'type', 'integer', 'value', 512))),
	jsonb_build_object('event_type', 'compute.instance.create.end', 'message_id', 'demo-create-db-1',
		'generated', vscope._ceilo_ts(now() - interval '24 hours' + interval '5 minutes'),
		'traits', jsonb_build_array(
			jsonb_build_object('name', 'project_id', 'type', 'string', 'value', :'project'),
			jsonb_build_object('name', 'user_id', 'type', 'string', 'value', :'user'),
			jsonb_build_object('name', 'instance_id', 'type', 'string', 'value', 'c8d2e153-a48f-4cec-9e93-86e7ac6d4b0b'),
			jsonb_build_object('name', 'memory_mb', 'type', 'integer', 'value', 1024))),
	jsonb_build_object('event_type', 'image.upload', 'message_id', 'demo-image',
		'generated', vscope._ceilo_ts(now() - interval '2 hours'),
		'traits', jsonb_build_array(jsonb_build_object('name', 'size', 'type', 'float', 'value', 1.5)))));
