-- Coopr node-seconds (vscope.coopr_node_usage) on the spec's worked examples and
-- edge cases; run as the superuser, which the functions treat as the superadmin.
SET timezone = 'UTC';
-- MetricHandlerTest's seven tasks (seconds); task 7 FAILED, task 6 in tenant2
SELECT vscope.coopr_node_events('{"tenants": ["k-tenant1", "k-tenant2"], "events": [
  {"tenant":"k-tenant1","user":"user1","cluster":"1","node":"node1","action":"CREATE","status":"COMPLETE","time":2},
  {"tenant":"k-tenant1","user":"user1","cluster":"1","node":"node2","action":"CREATE","status":"COMPLETE","time":17},
  {"tenant":"k-tenant1","user":"user1","cluster":"1","node":"node3","action":"CREATE","status":"COMPLETE","time":9},
  {"tenant":"k-tenant1","user":"user1","cluster":"1","node":"node3","action":"DELETE","status":"COMPLETE","time":20},
  {"tenant":"k-tenant1","user":"user1","cluster":"2","node":"node1","action":"CREATE","status":"COMPLETE","time":25},
  {"tenant":"k-tenant2","user":"user2","cluster":"2","node":"node2","action":"CREATE","status":"COMPLETE","time":11},
  {"tenant":"k-tenant1","user":"user1","cluster":"2","node":"node3","action":"CREATE","status":"FAILED","time":4}]}');
-- [5, 22]: node1 17 + node2 5 + node3 11 = 33; 2/node1 is born after the end; task 7 failed
SELECT vscope.coopr_node_usage('5', '22', NULL, 'k-tenant1');
-- [0, 30]: 28 + 13 + 11 + 5 = 57; [9, 20]: 11 + 3 + 11 = 25
SELECT vscope.coopr_node_usage('0', '30', NULL, 'k-tenant1');
SELECT vscope.coopr_node_usage('9', '20', NULL, 'k-tenant1');
-- only end: start is the first completed CREATE (2): 20 + 5 + 11 = 36
SELECT vscope.coopr_node_usage(NULL, '22', NULL, 'k-tenant1');
-- neither: start 2 (first CREATE), end now (spec section 5); three nodes are still
-- live, so the value grows by 3 per second: 3 * end - 33
SELECT (u->>'start')::int AS start,
       abs((u->>'end')::bigint - extract(epoch FROM now())::bigint) < 5 AS end_is_now,
       (u->'data'->0->>'value')::bigint - 3 * (u->>'end')::bigint AS value_minus_3_end
  FROM vscope.coopr_node_usage(NULL, NULL, NULL, 'k-tenant1') u;
-- tenant2 over [5, 22]: 22 - 11 = 11; every tenant at once: 33 + 11 = 44
SELECT vscope.coopr_node_usage('5', '22', NULL, 'k-tenant2');
SELECT vscope.coopr_node_usage('5', '22') ->'data'->0->'value' AS all_tenants_at_least_44;
-- timeunit truncates each node on its own: in minutes, 17 s, 5 s and 11 s are all 0
SELECT vscope.coopr_node_usage('5', '22', NULL, 'k-tenant1', NULL, 'MINUTES');
SELECT vscope.coopr_node_usage('0', '3600', NULL, 'k-tenant1', NULL, 'minutes');
-- node ids repeat across clusters: deleting 1/node1 does not stop 2/node1
SELECT vscope.coopr_node_events('{"events": [
  {"tenant":"k-tenant3","user":"u","cluster":"1","node":"node1","action":"CREATE","status":"COMPLETE","time":100},
  {"tenant":"k-tenant3","user":"u","cluster":"2","node":"node1","action":"CREATE","status":"COMPLETE","time":100},
  {"tenant":"k-tenant3","user":"u","cluster":"1","node":"node1","action":"DELETE","status":"COMPLETE","time":110},
  {"tenant":"k-tenant3","user":"u","cluster":"2","node":"node1","action":"DELETE","status":"FAILED","time":105}]}');
-- [100, 130]: 1/node1 10 (its DELETE), 2/node1 30 (a FAILED DELETE stops nothing) = 40
SELECT vscope.coopr_node_usage('100', '130', NULL, 'k-tenant3');
-- a DELETE before the CREATE: the node contributes nothing
SELECT vscope.coopr_node_events('{"events": [
  {"tenant":"k-tenant4","user":"u","cluster":"1","node":"n","action":"DELETE","status":"COMPLETE","time":50},
  {"tenant":"k-tenant4","user":"u","cluster":"1","node":"n","action":"CREATE","status":"COMPLETE","time":60}]}');
SELECT vscope.coopr_node_usage('0', '100', NULL, 'k-tenant4');
-- no tasks: value 0 at start; defaults 0 and now
SELECT vscope.coopr_node_usage('10', '20', NULL, 'k-nobody');
SELECT (r->>'start')::int AS start, (r->>'end')::bigint > 1700000000 AS end_is_now, r->'data' AS data
  FROM vscope.coopr_node_usage(NULL, NULL, NULL, 'k-nobody') r;
-- start == end: 0; the window is not inclusive (no "+1")
SELECT vscope.coopr_node_usage('12', '12', NULL, 'k-tenant1')->'data';
-- grouped by hour in minutes (MetricHandlerTest.sevenTaskGroupByTest, hours for seconds): 17 intervals
SELECT vscope.coopr_node_events(jsonb_build_object('events', jsonb_agg(jsonb_set(e, '{time}', to_jsonb((e->>'time')::int * 3600))))::text)
  FROM jsonb_array_elements('[
  {"tenant":"k-hours","user":"user1","cluster":"1","node":"node1","action":"CREATE","status":"COMPLETE","time":2},
  {"tenant":"k-hours","user":"user1","cluster":"1","node":"node2","action":"CREATE","status":"COMPLETE","time":17},
  {"tenant":"k-hours","user":"user1","cluster":"1","node":"node3","action":"CREATE","status":"COMPLETE","time":9},
  {"tenant":"k-hours","user":"user1","cluster":"1","node":"node3","action":"DELETE","status":"COMPLETE","time":20},
  {"tenant":"k-hours","user":"user1","cluster":"2","node":"node1","action":"CREATE","status":"COMPLETE","time":25}]') e;
SELECT d->'time' AS time, d->'value' AS minutes
  FROM json_array_elements(vscope.coopr_node_usage((5 * 3600)::text, (22 * 3600)::text, NULL, 'k-hours', 'hour', 'minutes')->'data') d;
-- an unaligned start counts the first interval's part exactly: node1 over [5:30, 6:00) = 30 min
SELECT vscope.coopr_node_usage((5 * 3600 + 1800)::text, (7 * 3600)::text, NULL, 'k-hours', 'hour', 'minutes')->'data';
-- errors
\set VERBOSITY terse
SELECT vscope.coopr_node_usage('abc', '22', NULL, 'k-tenant1');
SELECT vscope.coopr_node_usage('', NULL, NULL, 'k-tenant1');
SELECT vscope.coopr_node_usage('30', '20', NULL, 'k-tenant1');
SELECT vscope.coopr_node_usage('5', '22', NULL, 'k-tenant1', 'minute');
SELECT vscope.coopr_node_usage('5', '22', NULL, 'k-tenant1', NULL, 'fortnights');
SELECT vscope.coopr_node_events('{"events": [{"tenant":"k-tenant1","user":"u","cluster":"1","node":"n","action":"START","status":"COMPLETE","time":1}]}');
-- a tenant admin: its own tenant only, and naming any tenant is 405
SELECT vscope.use_tenant('k-tenant1') IS NOT NULL;
SET ROLE vscope_admin;
SELECT vscope.coopr_node_usage('5', '22');
SELECT vscope.coopr_node_usage('5', '22', NULL, 'k-tenant1');
SELECT vscope.coopr_queue_metrics();
RESET ROLE;
SET ROLE vscope_reader;
SELECT vscope.coopr_node_usage('5', '22');
SELECT vscope.coopr_queue_metrics();
RESET ROLE;
-- groupby is bounded by vscope.max_buckets: 1001 hours are refused at the minimum cap
SET vscope.max_buckets = 1000;
SELECT vscope.coopr_node_usage('0', (1000 * 3600)::text, NULL, 'k-tenant1', 'hour');
SELECT jsonb_array_length((vscope.coopr_node_usage('0', (999 * 3600)::text, NULL, 'k-tenant1', 'hour')->'data')::jsonb) AS intervals;
RESET vscope.max_buckets;
