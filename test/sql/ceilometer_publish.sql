-- What Ceilometer's publishers send: vscope.ceilometer_publish_samples()
-- and _events() (each item checked on its own, duplicates by the
-- publisher's id skipped, routing to tenants), the publisher's id shown and
-- found by the V2 API, vscope.sample_ids kept by expire(), and the store
-- they share with POST /v2/meters/{meter}.
SET timezone = 'UTC';
\set VERBOSITY terse
SET client_min_messages = warning;
CALL vscope.add_days('2016-03-01', '2016-03-02');
RESET client_min_messages;
SELECT vscope.create_tenant('pub-cloud') > 0 AS made;
SELECT vscope.use_tenant('pub-cloud') > 0 AS used;

-- a batch as Ceilometer's http publisher writes it: Sample.as_dict(), NaN
-- as Python's json writes it; good items stored, bad ones refused alone
SELECT jsonb_pretty(vscope.ceilometer_publish_samples($$[
 {"name": "cpu", "type": "cumulative", "unit": "ns", "volume": 1200000000, "user_id": "u1", "project_id": "p1",
  "resource_id": "vm-1", "timestamp": "2016-03-01T10:00:00", "source": "openstack", "id": "id-1", "monotonic_time": null,
  "resource_metadata": {"flavor": {"name": "m1.small", "vcpus": 1}, "tags": ["a", "b"], "ok": true, "none": null}},
 {"name": "cpu", "type": "cumulative", "unit": "ns", "volume": "1300000000", "user_id": "u1", "project_id": "p1",
  "resource_id": "vm-1", "timestamp": "2016-03-01T10:10:00+00:00", "source": "openstack", "id": "id-2",
  "resource_metadata": {"flavor": {"name": "m1.small", "vcpus": 1}, "tags": ["a", "b"], "ok": true, "none": null}},
 {"name": "cpu", "type": "cumulative", "unit": "ns", "volume": NaN, "project_id": "p1", "resource_id": "vm-1",
  "timestamp": "2016-03-01T10:20:00", "id": "id-nan"},
 {"name": "cpu", "type": "cumulative", "unit": "ns", "volume": 1, "project_id": "p1", "resource_id": "vm-1",
  "timestamp": "2016-03-01T10:20:00", "id": "id-inf", "resource_metadata": {"load": -Infinity}},
 {"name": "cpu", "type": "counter", "unit": "ns", "volume": 1, "resource_id": "vm-1", "timestamp": "2016-03-01T10:20:00"},
 {"name": "cpu", "type": "gauge", "unit": "ns", "volume": true, "resource_id": "vm-1", "timestamp": "2016-03-01T10:20:00"},
 {"name": "cpu", "type": "gauge", "unit": "ns", "volume": 1e400, "resource_id": "vm-1", "timestamp": "2016-03-01T10:20:00"},
 {"name": "cpu", "type": "gauge", "unit": "ns", "volume": 1, "resource_id": "vm-1", "timestamp": "yesterday"},
 {"name": "cpu", "type": "gauge", "unit": "ns", "volume": 1, "resource_id": "vm-1", "timestamp": "2016-03-05T10:20:00"},
 {"name": "cpu", "type": "gauge", "unit": "ns", "volume": 1, "resource_id": "vm-1", "timestamp": "2016-03-01T10:20:00",
  "resource_metadata": ["not", "a", "map"]},
 {"name": "", "type": "gauge", "unit": "ns", "volume": 1, "resource_id": "vm-1", "timestamp": "2016-03-01T10:20:00"},
 {"name": "cpu", "type": "gauge", "unit": "ns", "volume": 1, "resource_id": "vm-1", "timestamp": "2016-03-01T10:20:00", "user_id": 7},
 {"name": "cpu", "type": "gauge", "unit": "ns", "volume": 1, "timestamp": "2016-03-01T10:20:00"},
 "not a sample"
]$$)::jsonb);

-- stored as sent: metadata nested (and flattened as Ceilometer shows it),
-- source as sent, the publisher's id as message_id
SELECT counter_name, counter_type, counter_unit, counter_volume, user_id, project_id, source, "timestamp",
       resource_metadata, message_id, seq
  FROM vscope.ceilometer_samples WHERE tenant_id = vscope.current_tenant() ORDER BY "timestamp";
SELECT message_id, v ->> 'id' AS id, v -> 'metadata' AS metadata
  FROM vscope.ceilometer_samples s, LATERAL (SELECT vscope.ceilometer_get_sample(s.message_id) AS v) g
 WHERE s.tenant_id = vscope.current_tenant() ORDER BY 1;
-- found by the id made from where it is stored too
SELECT vscope.ceilometer_get_sample(vscope.ceilometer_message_id(series_id, "timestamp", seq)) ->> 'id' AS id
  FROM vscope.ceilometer_samples WHERE tenant_id = vscope.current_tenant() ORDER BY "timestamp";
SELECT vscope.ceilometer_get_sample('no-such-id');
SELECT json_array_length(vscope.ceilometer_list_samples('{"q.field": ["message_id"], "q.op": ["eq"], "q.value": ["id-2"]}')) AS by_id,
       vscope.ceilometer_list_samples('{"q.field": ["message_id"], "q.op": ["eq"], "q.value": ["id-2"]}') -> 0 ->> 'id' AS id;
SELECT json_agg(e ->> 'id' ORDER BY e ->> 'id')
  FROM json_array_elements(vscope.ceilometer_query_samples('{"filter": "{\"in\": {\"message_id\": [\"id-1\", \"id-2\", \"nope\"]}}"}')) e;
SELECT json_array_length(vscope.ceilometer_query_samples('{"filter": "{\"=\": {\"message_id\": \"id-1\"}}"}')) AS one;

-- the same batch again: nothing new; a repeated id in one batch counts once
SELECT vscope.ceilometer_publish_samples($$[
 {"name": "cpu", "type": "cumulative", "unit": "ns", "volume": 1200000000, "user_id": "u1", "project_id": "p1",
  "resource_id": "vm-1", "timestamp": "2016-03-01T10:00:00", "source": "openstack", "id": "id-1",
  "resource_metadata": {"flavor": {"name": "m1.small", "vcpus": 1}, "tags": ["a", "b"], "ok": true, "none": null}},
 {"name": "mem", "type": "gauge", "unit": "MB", "volume": 5, "resource_id": "vm-1", "timestamp": "2016-03-02T10:00:00", "id": "id-3"},
 {"name": "mem", "type": "gauge", "unit": "MB", "volume": 6, "resource_id": "vm-1", "timestamp": "2016-03-02T10:00:00", "id": "id-3"},
 {"name": "mem", "type": "gauge", "unit": "MB", "volume": 7, "resource_id": "vm-1", "timestamp": "2016-03-02T10:00:00"},
 {"name": "mem", "type": "gauge", "unit": "MB", "volume": 8, "resource_id": "vm-1", "timestamp": "2016-03-02T10:00:00"}
]$$);
-- two samples at one time both kept, seq apart; without an id, the made one
SELECT counter_volume, seq, message_id = vscope.ceilometer_message_id(series_id, "timestamp", seq) AS made_id
  FROM vscope.ceilometer_samples WHERE tenant_id = vscope.current_tenant() AND counter_name = 'mem' ORDER BY seq;
SELECT count(*) AS ids FROM vscope.sample_ids WHERE tenant_id = vscope.current_tenant();
-- one object rather than a list
SELECT vscope.ceilometer_publish_samples('{"name": "mem", "type": "gauge", "unit": "MB", "volume": 9, "resource_id": "vm-9", "timestamp": "2016-03-02T11:00:00", "id": "id-9"}');
-- the spans take the samples in
SELECT s.counter_name, s.resource_id, k.first_ts, k.last_ts
  FROM vscope.sample_span k JOIN vscope.sample_series s USING (tenant_id, series_id)
 WHERE k.tenant_id = vscope.current_tenant() ORDER BY 1, 2, 3;

-- nothing usable: 400; not JSON, not a list: 400; empty: nothing
SELECT vscope.ceilometer_publish_samples('[{"name": "cpu"}, 3]');
SELECT vscope.ceilometer_publish_samples('[{"name": "cpu", ');
SELECT vscope.ceilometer_publish_samples('"cpu"');
SELECT vscope.ceilometer_publish_samples('[]');
SET vscope.ceilometer_max_samples = 2;
SELECT vscope.ceilometer_publish_samples('[{}, {}, {}]');
SELECT vscope.ceilometer_post_samples('m', '[{}, {}, {}]');
RESET vscope.ceilometer_max_samples;
SELECT vscope.ceilometer_publish_samples('[]', 'everywhere');

-- routing: own (a tenant's token: its own project only), project (each
-- into its project's tenant, made when new; needs vscope_superadmin)
SELECT vscope.ceilometer_publish_samples($$[
 {"name": "cpu", "type": "gauge", "unit": "%", "volume": 1, "resource_id": "vm-o", "timestamp": "2016-03-02T10:00:00", "project_id": "pub-cloud", "id": "o-1"},
 {"name": "cpu", "type": "gauge", "unit": "%", "volume": 1, "resource_id": "vm-o", "timestamp": "2016-03-02T10:00:00", "project_id": "other", "id": "o-2"},
 {"name": "cpu", "type": "gauge", "unit": "%", "volume": 1, "resource_id": "vm-o", "timestamp": "2016-03-02T10:01:00", "id": "o-3"}
]$$, 'own');
SELECT vscope.ceilometer_publish_samples($$[
 {"name": "cpu", "type": "gauge", "unit": "%", "volume": 2, "resource_id": "vm-a", "timestamp": "2016-03-02T10:00:00", "project_id": "pub-proj-a", "id": "r-1"},
 {"name": "cpu", "type": "gauge", "unit": "%", "volume": 3, "resource_id": "vm-b", "timestamp": "2016-03-02T10:00:00", "project_id": "pub-proj-b", "id": "r-2"},
 {"name": "cpu", "type": "gauge", "unit": "%", "volume": 4, "resource_id": "vm-c", "timestamp": "2016-03-02T10:00:00", "id": "r-3"},
 {"name": "cpu", "type": "gauge", "unit": "%", "volume": 5, "resource_id": "vm-d", "timestamp": "2016-03-02T10:00:00", "project_id": "no/such name", "id": "r-4"}
]$$, 'project');
-- the same id in two tenants is two samples
SELECT vscope.ceilometer_publish_samples($$[
 {"name": "cpu", "type": "gauge", "unit": "%", "volume": 2, "resource_id": "vm-a", "timestamp": "2016-03-02T10:05:00", "project_id": "pub-proj-b", "id": "r-1"}
]$$, 'project');
SELECT t.name, s.project_id, s.resource_id, x.volume, i.message_id
  FROM vscope.samples x JOIN vscope.sample_series s USING (tenant_id, series_id) JOIN vscope.tenants t USING (tenant_id)
  LEFT JOIN vscope.sample_ids i USING (tenant_id, series_id, ts, seq)
 WHERE t.name LIKE 'pub-%' AND s.resource_id IN ('vm-o', 'vm-a', 'vm-b', 'vm-c') ORDER BY 1, 3, 5;
-- each project sees its own
SELECT vscope.use_tenant('pub-proj-b') > 0 AS used;
SET ROLE vscope_reader;
SELECT json_agg(e ->> 'id' ORDER BY e ->> 'id') FROM json_array_elements(vscope.ceilometer_list_samples()) e;
RESET ROLE;
SELECT vscope.use_tenant('pub-cloud') > 0 AS used;
SET ROLE vscope_writer;
SELECT vscope.ceilometer_publish_samples('[]', 'project');
RESET ROLE;

-- events: Event.serialize(), traits as [name, dtype, value]; duplicates skipped
SELECT vscope.ceilometer_publish_events($$[
 {"message_id": "ev-1", "event_type": "compute.instance.create.end", "generated": "2016-03-02T10:00:00.123456",
  "traits": [["project_id", 1, "pub-cloud"], ["memory_mb", 2, 512], ["load", 3, 0.25], ["launched_at", 4, "2016-03-02T09:59:00+00:00"],
             ["state", 0, "active"], ["gone", 1, null]],
  "raw": {"payload": {"a": 1}}},
 {"message_id": "ev-2", "event_type": "image.upload", "generated": "2016-03-02T11:00:00", "traits": [], "raw": {}},
 {"message_id": "ev-3", "event_type": "x", "generated": "2016-03-02T11:00:00", "traits": [["memory_mb", 2, "lots"]]},
 {"message_id": "ev-4", "event_type": "x", "generated": "2016-03-02T11:00:00", "traits": [["load", 3, NaN]]},
 {"message_id": "ev-5", "event_type": "x", "generated": "2016-03-02T11:00:00", "traits": [["t", 9, "v"]]},
 {"message_id": "ev-6", "event_type": "x", "generated": "not a time"},
 {"message_id": "ev-7", "generated": "2016-03-02T11:00:00"}
]$$);
SELECT vscope.ceilometer_publish_events('[{"message_id": "ev-1", "event_type": "compute.instance.create.end", "generated": "2016-03-02T10:00:00", "traits": []}]');
SELECT vscope.ceilometer_get_event('ev-1');
SELECT vscope.ceilometer_publish_events('[{"message_id": "ev-8", "event_type": "x", "generated": "2016-03-02T11:00:00", "traits": [["project_id", 1, "elsewhere"]]}]', 'own');

-- POST /v2/meters/{meter} stores through the same path: spans, seqs
SELECT json_array_length(vscope.ceilometer_post_samples('mem', '[
  {"counter_name": "mem", "counter_type": "gauge", "counter_unit": "MB", "counter_volume": 10, "resource_id": "vm-1", "timestamp": "2016-03-02T10:00:00"},
  {"counter_name": "mem", "counter_type": "gauge", "counter_unit": "MB", "counter_volume": 11, "resource_id": "vm-1", "timestamp": "2016-03-02T10:00:00"}]')) AS posted;
SELECT s.source, count(*) AS at_ten, max(seq) AS top_seq FROM vscope.samples x JOIN vscope.sample_series s USING (tenant_id, series_id)
 WHERE x.tenant_id = vscope.current_tenant() AND s.counter_name = 'mem' AND x.ts = '2016-03-02T10:00:00' GROUP BY 1 ORDER BY 1;
SELECT json_array_length(vscope.ceilometer_post_samples('mem', '[
  {"counter_name": "mem", "counter_type": "gauge", "counter_unit": "MB", "counter_volume": 12, "resource_id": "vm-1", "timestamp": "2016-03-02T10:00:00"}]')) AS posted;
SELECT s.source, count(*) AS at_ten, max(seq) AS top_seq FROM vscope.samples x JOIN vscope.sample_series s USING (tenant_id, series_id)
 WHERE x.tenant_id = vscope.current_tenant() AND s.counter_name = 'mem' AND x.ts = '2016-03-02T10:00:00' GROUP BY 1 ORDER BY 1;

-- expire() drops a day of samples and their publisher ids with it
SELECT count(*) FILTER (WHERE ts < '2016-03-02') AS first_day, count(*) FILTER (WHERE ts >= '2016-03-02') AS second_day
  FROM vscope.sample_ids WHERE tenant_id = vscope.current_tenant();
SELECT vscope.expire(now() - '2016-03-02'::timestamptz) > 0 AS dropped;
SELECT count(*) FILTER (WHERE ts < '2016-03-02') AS first_day, count(*) FILTER (WHERE ts >= '2016-03-02') AS second_day
  FROM vscope.sample_ids WHERE tenant_id = vscope.current_tenant();
SELECT vscope.ceilometer_get_sample('id-1');
SELECT vscope.ceilometer_get_sample('id-9') ->> 'id' AS still_there;
