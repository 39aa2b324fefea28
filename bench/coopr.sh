#!/usr/bin/env bash
# Coopr node-seconds over TASKS tasks (NODES nodes across TENANTS tenants, a
# one-month window): vscope.coopr_node_usage() as the superadmin against the
# plain SQL a competent user would write over the same rows (creates joined
# to the first delete of each node, clipped to the window, summed).  Each
# node has a COMPLETE CREATE, FAILED attempts, and for 60 % a COMPLETE DELETE.
# Run through `make bench` (scripts/bench.sh sets up the cluster).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
: "${BENCH_DIR:?run through make bench}"
NODES=${BENCH_C_NODES:-100000}
TENANTS=${BENCH_C_TENANTS:-100}
PER=${BENCH_C_TASKS_PER_NODE:-10}
RUNS=${BENCH_C_RUNS:-5}
q() { psql_q -d vscope "$@"; }

echo "coopr: $NODES nodes, $TENANTS tenants, $((NODES * PER)) tasks, median of $RUNS runs"
cat "$(dirname "$0")/median_ms.sql" - <<'SQL' | q -v nodes="$NODES" -v tenants="$TENANTS" -v per="$PER" -v runs="$RUNS"
SELECT vscope.create_tenant('cb-' || t) FROM generate_series(0, :tenants - 1) t \g /dev/null
SELECT setseed(0.75);
-- a month of activity ending now: node i is created at a random time, then
-- FAILED retries, and 60 % are deleted a few days later
CREATE TEMP TABLE cb_nodes AS
SELECT i, 'cb-' || (i % :tenants) AS tenant, 'user' || (i % 7) AS user_id, 'c' || (i / 10) AS cluster,
       'n' || (i % 10) AS node,
       now() - interval '30 days' + random() * interval '30 days' AS born,
       CASE WHEN random() < 0.6 THEN random() * interval '5 days' END AS lives
  FROM generate_series(0, :nodes - 1) i;
CREATE TABLE cb_plain (tenant text, user_id text, cluster text, node text, action text, status text,
                       completed_at timestamptz);
INSERT INTO cb_plain
SELECT tenant, user_id, cluster, node, 'CREATE', 'COMPLETE', born FROM cb_nodes
UNION ALL
SELECT tenant, user_id, cluster, node, 'DELETE', 'COMPLETE', born + lives FROM cb_nodes WHERE lives IS NOT NULL
UNION ALL
SELECT tenant, user_id, cluster, node, 'CREATE', 'FAILED', born - k * interval '1 minute'
  FROM cb_nodes, generate_series(1, :per - 2) k
UNION ALL
SELECT tenant, user_id, cluster, node, 'DELETE', 'FAILED', born + interval '1 hour' FROM cb_nodes WHERE lives IS NULL;
CREATE INDEX ON cb_plain (status, action, tenant, cluster, node, completed_at);
INSERT INTO vscope.coopr_tasks (tenant_id, user_id, cluster, node, action, status, completed_at)
SELECT t.tenant_id, p.user_id, p.cluster, p.node, p.action, p.status, p.completed_at
  FROM cb_plain p JOIN vscope.tenants t ON t.name = p.tenant;
VACUUM ANALYZE cb_plain;
VACUUM ANALYZE vscope.coopr_tasks;
SELECT count(*) AS tasks FROM cb_plain \gset
SELECT extract(epoch FROM now() - interval '30 days')::bigint AS s, extract(epoch FROM now())::bigint AS e \gset

SET ROLE vscope_superadmin;
SELECT (vscope.coopr_node_usage(:'s', :'e')->'data'->0->>'value')::bigint AS vs_value \gset
SELECT pg_temp.median_ms(format('SELECT vscope.coopr_node_usage(%L, %L)', :'s', :'e'), :runs) AS vs_ms \gset
RESET ROLE;
SELECT sum(greatest(0, extract(epoch FROM least(coalesce(d.death, now()), to_timestamp(:e))
                                        - greatest(c.completed_at, to_timestamp(:s))))::bigint)::bigint AS plain_value
  FROM cb_plain c
  LEFT JOIN (SELECT tenant, cluster, node, min(completed_at) AS death FROM cb_plain
              WHERE status = 'COMPLETE' AND action = 'DELETE' GROUP BY 1, 2, 3) d USING (tenant, cluster, node)
 WHERE c.status = 'COMPLETE' AND c.action = 'CREATE' \gset
SELECT pg_temp.median_ms(format($q$
SELECT sum(greatest(0, extract(epoch FROM least(coalesce(d.death, now()), to_timestamp(%s))
                                        - greatest(c.completed_at, to_timestamp(%s))))::bigint)
  FROM cb_plain c
  LEFT JOIN (SELECT tenant, cluster, node, min(completed_at) AS death FROM cb_plain
              WHERE status = 'COMPLETE' AND action = 'DELETE' GROUP BY 1, 2, 3) d USING (tenant, cluster, node)
 WHERE c.status = 'COMPLETE' AND c.action = 'CREATE'$q$, :e, :s), :runs) AS plain_ms \gset
SELECT format('  %s tasks; node-seconds over the month: vscope %s, plain SQL %s (they differ by at most a second a node: the plain query truncates each node''s seconds after summing)',
              :tasks, :vs_value, :plain_value);
SELECT format('  vscope.coopr_node_usage %8s ms   plain SQL %8s ms   vscope takes %sx the time',
              round(:vs_ms, 1), round(:plain_ms, 1), round(:vs_ms / :plain_ms, 2));
SQL
