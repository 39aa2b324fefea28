-- Warp 10's FIND and FETCH over the store: tokens and tenancy, selectors
-- (exact, whole-value regexes, percent-encoding), ranges, counts, LONG and
-- DOUBLE points newest first.
-- make test runs this file twice: the second pass (regress.compressed = on)
-- compresses every day after the writes, so the answers come from blocks
SET timezone = 'UTC';
SET client_min_messages = warning;
CALL vscope.add_days('2023-11-13', '2023-11-16');
RESET client_min_messages;
SELECT vscope.create_tenant('w10a') IS NOT NULL AS a, vscope.create_tenant('w10b') IS NOT NULL AS b;
SELECT vscope.create_token('w10a', '{read}', 'regress w10 read') AS tok_a \gset
SELECT vscope.create_token('w10a', '{write}', 'regress w10 write') AS tok_aw \gset
SELECT vscope.create_token('w10b', '{read}', 'regress w10 read') AS tok_b \gset
SELECT vscope.create_token('w10a', '{read}', 'regress w10 revoked') AS tok_gone \gset
SELECT vscope.use_tenant('w10a') IS NOT NULL;
SELECT vscope.revoke_token(token_id) FROM vscope.list_tokens('w10a') WHERE description = 'regress w10 revoked';
-- the data of the spec's worked examples (1700000000 s = 2023-11-14T22:13:20Z):
-- h1 doubles, h2 integers, one point a microsecond after the first
SELECT vscope.put($$[
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000000000,"value":10.5,"tags":{"datacenter":"dc1","host":"h1"}},
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000060000,"value":20.5,"tags":{"datacenter":"dc1","host":"h1"}},
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000120000,"value":30.0,"tags":{"datacenter":"dc1","host":"h1"}},
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000000000,"value":1,"tags":{"datacenter":"dc1","host":"h2"}},
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000060000,"value":2,"tags":{"datacenter":"dc1","host":"h2"}},
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000120000,"value":4,"tags":{"datacenter":"dc1","host":"h2"}},
  {"metric":"vscope.host.mem.usage","timestamp":1700000000000,"value":1e7,"tags":{"host":"h1"}},
  {"metric":"vscope.filer.space","timestamp":1700000000000,"value":0.0001,"tags":{"datastore":"ds1"}},
  {"metric":"myhost","timestamp":1700000000000,"value":-7,"tags":{"host":"h1"}}
]$$)->>'failed' AS failed;
SELECT vscope.put_point('vscope.filer.space', '{"datastore": "ds1"}', '2023-11-14 22:13:20.000001+00', 2.5) > 0 AS us_point;
-- a series with points on several days, for counts read backwards
SELECT vscope.put_point('days', '{"d": "x"}', d, n)
  FROM (VALUES ('2023-11-13 01:00+00'::timestamptz, 1), ('2023-11-14 01:00', 2), ('2023-11-15 23:00', 3)) v(d, n) \g /dev/null
-- one minute series of 100 points on 2023-11-15
SELECT count(vscope.put_point('busy', '{"k": "v"}', '2023-11-15 00:00+00'::timestamptz + i * interval '1 minute', i))
  FROM generate_series(0, 99) i;
SELECT vscope.use_tenant('w10b') IS NOT NULL;
SELECT vscope.put_point('vscope.host.cpu.usage.perc', '{"datacenter": "dc1", "host": "h1"}', '2023-11-14 22:13:20+00', 999.0) > 0 AS b_point;
RESET vscope.tenant;
SELECT vscope.compress(d::date) FROM generate_series('2023-11-13'::date, '2023-11-15', '1 day') d
 WHERE current_setting('regress.compressed', true) = 'on' \g /dev/null

-- readers act through the token: no tenant set, row-level security on
SET ROLE vscope_reader;
SELECT vscope.current_tenant() IS NULL AS no_tenant;

-- FIND: the token's tenant only, by class then labels
SELECT class, labels FROM vscope.warp10_find(:'tok_a', '~.*{}');
SELECT class, labels FROM vscope.warp10_find(:'tok_b', '~.*{}');
-- exact class and labels; regexes match whole values
SELECT class, labels FROM vscope.warp10_find(:'tok_a', 'vscope.host.cpu.usage.perc{host=h1}');
SELECT class, labels FROM vscope.warp10_find(:'tok_a', '=vscope.host.cpu.usage.perc{host~h[12]}');
SELECT count(*) AS substring_is_no_match FROM vscope.warp10_find(:'tok_a', '~host{}');
SELECT class FROM vscope.warp10_find(:'tok_a', '~.*host.*{}');
SELECT class FROM vscope.warp10_find(:'tok_a', '~vscope\.host\..*{}');
SELECT class FROM vscope.warp10_find(:'tok_a', '~(?i)VSCOPE.HOST.MEM.*{}');
-- a named label must be there, even for .*; no != operator: negative lookahead
SELECT class, labels FROM vscope.warp10_find(:'tok_a', '~.*{host~.*}');
SELECT class, labels FROM vscope.warp10_find(:'tok_a', '~vscope.*{host~(?!h1$).*}');
SELECT count(*) AS host_bang FROM vscope.warp10_find(:'tok_a', '~.*{host!=h1}');
-- empty value: equal to "" (never written), not absent
SELECT count(*) AS empty_value FROM vscope.warp10_find(:'tok_a', '~.*{datastore=}');
-- several selectors: any of them, each series once
SELECT class, labels FROM vscope.warp10_find(:'tok_a', 'myhost{} ~my.*{host=h1}  vscope.filer.space{}');
-- percent-encoding of each part; a=b=c selects a = b; empty pieces skipped;
-- the last of a label named twice; hidden labels are the token's
SELECT class, labels FROM vscope.warp10_find(:'tok_a', 'vscope%2Ehost.cpu.usage.perc{host=h%31}');
SELECT class, labels FROM vscope.warp10_find(:'tok_a', 'myhost{host=h1=h2}');
SELECT class, labels FROM vscope.warp10_find(:'tok_a', 'myhost{,host=h1,,}');
SELECT class, labels FROM vscope.warp10_find(:'tok_a', '~.*{host=h2,host=h1,datacenter~.*}');
SELECT class FROM vscope.warp10_find(:'tok_a', 'myhost{.owner=someone,.producer=x,.app=y}');
-- FIND and FETCH within one transaction: one tenant
BEGIN;
SELECT count(*) FROM vscope.warp10_find(:'tok_a', '~.*{}');
SELECT count(*) FROM vscope.warp10_find(:'tok_a', '~.*{}');
SELECT count(*) FROM vscope.warp10_find(:'tok_b', '~.*{}');
ROLLBACK;
-- a write token reads too
SELECT count(*) AS write_token_reads FROM vscope.warp10_find(:'tok_aw', '~.*{}');
\set VERBOSITY terse
SELECT * FROM vscope.warp10_find('vst_nothing', '~.*{}');
SELECT * FROM vscope.warp10_find(:'tok_gone', '~.*{}');
SELECT * FROM vscope.warp10_find(:'tok_a', 'myhost');
SELECT * FROM vscope.warp10_find(:'tok_a', '{host=h1}');
SELECT * FROM vscope.warp10_find(:'tok_a', 'myhost{host=h1}x');
SELECT * FROM vscope.warp10_find(:'tok_a', 'myhost{host}');
-- whitespace separates selectors, even inside braces
SELECT * FROM vscope.warp10_find(:'tok_a', 'myhost{ host=h1}');
SELECT * FROM vscope.warp10_find(:'tok_a', 'my%zzhost{}');
SELECT * FROM vscope.warp10_find(:'tok_a', 'myhost{host=h%}');
SELECT * FROM vscope.warp10_find(:'tok_a', '~(unclosed{}');
SELECT * FROM vscope.warp10_find(:'tok_a', '~my)|(vscope.*{}');
SELECT * FROM vscope.warp10_find(:'tok_a', '   ');
SELECT * FROM vscope.warp10_find(:'tok_a', NULL);
-- no token: the session's tenant, and there is none
SELECT * FROM vscope.warp10_find(NULL, '~.*{}');
\set VERBOSITY default

-- FETCH: [start, end] both inclusive, newest first, LONG or DOUBLE per point
SELECT class, labels, ticks, lvalues, dvalues
  FROM vscope.warp10_fetch(:'tok_a', 'vscope.host.cpu.usage.perc{datacenter=dc1}',
                           1700000000000000, 1700000120000000, NULL);
-- the range of now=1700000120000000&timespan=120000000: (end - timespan, end]
SELECT labels->>'host' AS host, ticks, lvalues, dvalues
  FROM vscope.warp10_fetch(:'tok_a', 'vscope.host.cpu.usage.perc{datacenter=dc1}',
                           1700000120000000 - 120000000 + 1, 1700000120000000, NULL);
-- timespan=-1: the newest point at or before the end, whatever the start
SELECT labels->>'host' AS host, ticks, lvalues, dvalues
  FROM vscope.warp10_fetch(:'tok_a', 'vscope.host.cpu.usage.perc{}', NULL, 1700000100000000, 1);
-- microseconds are kept; doubles of every size
SELECT class, ticks, dvalues FROM vscope.warp10_fetch(:'tok_a', 'vscope.filer.space{} vscope.host.mem.usage{}',
                                                     NULL, 1800000000000000, NULL);
-- series without points in the range are left out
SELECT class FROM vscope.warp10_fetch(:'tok_a', '~.*{}', 1700000060000000, 1700000060000000, NULL);
SELECT count(*) AS none_in_range FROM vscope.warp10_fetch(:'tok_a', '~.*{}', 1, 2, NULL);
-- another tenant's token reads another tenant's points
SELECT labels, ticks, dvalues FROM vscope.warp10_fetch(:'tok_b', '~.*{}', NULL, 1800000000000000, NULL);
-- counts read backwards over days and the whole timestamp range
SELECT ticks, lvalues FROM vscope.warp10_fetch(:'tok_a', 'days{}', NULL, 9223372036854775807, 1);
SELECT ticks, lvalues FROM vscope.warp10_fetch(:'tok_a', 'days{}', -9223372036854775808, 9223372036854775807, 2);
SELECT ticks, lvalues FROM vscope.warp10_fetch(:'tok_a', 'days{}', NULL, 1700000000000000, 5);
SELECT ticks, lvalues FROM vscope.warp10_fetch(:'tok_a', 'days{}', 1699920000000000, NULL, 0);
-- the newest points of a long series: the first hour back is read, no more
SELECT points AS before FROM vscope.reader_stats() \gset
SELECT ticks, lvalues FROM vscope.warp10_fetch(:'tok_a', 'busy{}', NULL, 1700012340000000, 2);
SELECT points - :before AS points_read FROM vscope.reader_stats();
SELECT cardinality(ticks) AS all_100, lvalues[1] AS newest, lvalues[100] AS oldest
  FROM vscope.warp10_fetch(:'tok_a', 'busy{}', NULL, NULL, NULL);
-- what one request may read is bounded
RESET ROLE;
SET vscope.max_points = 99;
SET ROLE vscope_reader;
\set VERBOSITY terse
SELECT count(*) FROM vscope.warp10_fetch(:'tok_a', 'busy{}', NULL, NULL, NULL);
RESET ROLE;
SET vscope.max_points = 0;
SET ROLE vscope_reader;
SELECT cardinality(ticks) AS no_limit FROM vscope.warp10_fetch(:'tok_a', 'busy{}', NULL, NULL, NULL);
RESET ROLE;
RESET vscope.max_points;
SET ROLE vscope_reader;
SELECT count(*) FROM vscope.warp10_fetch(:'tok_a', 'busy{}', NULL, NULL, -1);
\set VERBOSITY default
RESET ROLE;

-- a login bound to a tenant stays bound: another tenant's token is refused
CREATE ROLE regress_w10_bi LOGIN;
SELECT vscope.grant_tenant_access('regress_w10_bi', 'w10a', 'read');
SET SESSION AUTHORIZATION regress_w10_bi;
SELECT count(*) AS own_token FROM vscope.warp10_find(:'tok_a', '~.*{}');
SELECT count(*) AS session_tenant FROM vscope.warp10_find(NULL, '~.*{}');
\set VERBOSITY terse
SELECT count(*) FROM vscope.warp10_find(:'tok_b', '~.*{}');
\set VERBOSITY default
RESET SESSION AUTHORIZATION;
-- and a login bound to none cannot act for any
DELETE FROM vscope.tenant_roles WHERE role_id = 'regress_w10_bi'::regrole;
SET SESSION AUTHORIZATION regress_w10_bi;
\set VERBOSITY terse
SELECT count(*) FROM vscope.warp10_find(:'tok_a', '~.*{}');
\set VERBOSITY default
RESET SESSION AUTHORIZATION;
DROP ROLE regress_w10_bi;

-- /api/v0/update's lines, and /api/v0/fetch and /find answered in SQL:
-- any UTF-8 names, percent-encoded in the text forms, plain in JSON; two
-- series that differ only by where a delimiter is are two series
SELECT vscope.use_tenant('w10a') IS NOT NULL;
SELECT vscope.warp10_update($$
# a comment; blank lines are skipped
1700000000000000// my%20class{a=b%2Cc%3Dd,%C3%A9=x%7By%7D} 1
=1700000060000000// 2.5
1700000000000000// my%20class{a=b,c=d} 3
$$) AS written;
RESET vscope.tenant;
SET ROLE vscope_reader;
SELECT class, labels FROM vscope.warp10_find(:'tok_a', 'my%20class{}');
SELECT vscope.warp10_fetch_request(:'tok_a', '{"selector": "my%20class{a~b.*}", "start": "1700000000000000", "end": "1700000060000000"}');
SELECT vscope.warp10_fetch_request(:'tok_a', '{"selector": "my%20class{}", "now": "1700000060000000", "timespan": "-1", "format": "json"}');
SELECT vscope.warp10_find_request(:'tok_a', '{"selector": "~my.*{a=b}", "showattr": null}');
\set VERBOSITY terse
SELECT vscope.warp10_fetch_request(NULL, '{"selector": "~.*{}", "now": "now", "timespan": "-1"}');
SELECT vscope.warp10_fetch_request(:'tok_a', '{"selector": "~.*{}", "now": "now"}');
SELECT vscope.warp10_fetch_request(:'tok_a', '{"now": "now", "timespan": "-1"}');
\set VERBOSITY default
RESET ROLE;
-- atomic: one line vscope cannot store, and nothing is stored
SELECT vscope.use_tenant('w10a') IS NOT NULL;
\set VERBOSITY terse
SELECT vscope.warp10_update($$1700000000000000// atomic{k=v} 1
1700000000000000// atomic{k=v} 'text'$$);
\set VERBOSITY default
SELECT count(*) AS atomic_series FROM vscope.series WHERE metric = 'atomic';
RESET vscope.tenant;
