#!/usr/bin/env bash
# make run: install what is missing, build, install, start a private cluster
# and vscoped, load the demo data, print how to use it, and stay in the
# foreground until Ctrl-C (or SIGTERM), which stops both cleanly.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$VSCOPE_ROOT/scripts/deps.sh"
mkdir -p "$VSCOPE_DATA"
build_and_install 0

cluster_paths "$VSCOPE_DATA" "$VSCOPE_PGPORT"
cluster_init
say "starting PostgreSQL on port $VSCOPE_PGPORT"
cluster_start
DAEMON_PID=
shutdown() {
	# a second signal must not cut the shutdown short: service managers,
	# timeout(1) and container stops signal the whole process group as well
	# as make, so run.sh gets TERM twice (reset to the default, the second
	# killed it between the two stops and left PostgreSQL running)
	trap '' INT TERM
	echo
	say "stopping vscoped and PostgreSQL"
	stop_daemon
	cluster_stop
	say "stopped"
	exit "${1:-0}"
}
trap 'shutdown 0' INT TERM

db_setup vscope

DEMO_TENANT=pcc-37-187-228-180
CEILO_PROJECT=cbfa8e3dfab64a27a87c8e24ecd5c60f
CEILO_USER=b6e62aad26174382bc3781c12fe413c8
if [ "${VSCOPE_DEMO:-1}" = 0 ]; then
	# the tenants and tokens only (a quick start: the tests of make run itself)
	psql_q -d vscope -c "SELECT vscope.create_tenant('$DEMO_TENANT'), vscope.create_tenant('$CEILO_PROJECT')" >/dev/null
else
	say "loading the demo data (tenant $DEMO_TENANT, the last 24 hours)"
	psql_q -d vscope -v tenant="$DEMO_TENANT" -f "$VSCOPE_ROOT/scripts/demo.sql" >/dev/null
	say "loading the Ceilometer demo data (project $CEILO_PROJECT)"
	psql_q -d vscope -v project="$CEILO_PROJECT" -v user="$CEILO_USER" \
		-f "$VSCOPE_ROOT/scripts/demo_ceilometer.sql" >/dev/null
fi

# a login role confined to the demo tenant, for psql and BI tools
psql_q -d vscope -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vscope_demo')
	THEN CREATE ROLE vscope_demo LOGIN; END IF; END\$\$" \
	-c "SELECT vscope.grant_tenant_access('vscope_demo', '$DEMO_TENANT', 'read')" >/dev/null

# tokens: reuse those in tokens.json while they still work
TOKENS=$VSCOPE_DATA/tokens.json
token_ok() { [ -n "$1" ] && [ "$(psql_q -d vscope -c "SELECT count(*) FROM vscope.authenticate('$1')")" = 1 ]; }
coopr_ok() { [ -n "$1" ] && [ "$(psql_q -d vscope -c "SELECT count(*) FROM vscope.coopr_authenticate('superadmin', 'admin', '$1')")" = 1 ]; }
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[k]
print(d)' "$TOKENS" "$@" 2>/dev/null || true; }
SUPER=$(field superadmin)
DEMO=$(field demo token)
COOPR=$(field coopr superadmin_apikey)
CEILO=$(field ceilometer token)
case "$SUPER$DEMO$COOPR$CEILO" in *"'"*) SUPER= DEMO= COOPR= CEILO= ;; esac
if ! token_ok "$SUPER" || ! token_ok "$DEMO" || ! coopr_ok "$COOPR" || ! token_ok "$CEILO"; then
	SUPER=$(psql_q -d vscope -c "SELECT vscope.create_tenant('superadmin')" \
		-c "SELECT vscope.create_token('superadmin', '{superadmin}', 'make run: superadmin')" | tail -1)
	DEMO=$(psql_q -d vscope -c "SELECT vscope.create_token('$DEMO_TENANT', '{read,write}', 'make run: demo')")
	COOPR=$(psql_q -d vscope -c "SELECT vscope.coopr_create_apikey('superadmin', 'admin')->>'apikey'")
	CEILO=$(psql_q -d vscope -c "SELECT vscope.create_token('$CEILO_PROJECT', '{read,write,admin}', 'make run: ceilometer')")
	(umask 077; printf '{"superadmin": "%s", "demo": {"tenant": "%s", "token": "%s"}, "coopr": {"superadmin_apikey": "%s"}, "ceilometer": {"project": "%s", "user": "%s", "token": "%s"}}\n' \
		"$SUPER" "$DEMO_TENANT" "$DEMO" "$COOPR" "$CEILO_PROJECT" "$CEILO_USER" "$CEILO" >"$TOKENS")
fi
chmod 600 "$TOKENS"

VSCOPE_TELNET_PORT=${VSCOPE_TELNET_PORT:-4243}
write_daemon_config "$VSCOPE_DATA/vscoped.conf" "$VSCOPE_PGPORT" "$VSCOPE_HTTP_PORT" \
	"$VSCOPE_TELNET_PORT" "$DEMO_TENANT"
say "starting vscoped on http://127.0.0.1:$VSCOPE_HTTP_PORT"
start_daemon "$VSCOPE_DATA/vscoped.conf" "$LOG_DIR/vscoped.log"

NOW=$(date +%s)
cat <<TXT

  vscope is running.
    HTTP APIs     http://127.0.0.1:$VSCOPE_HTTP_PORT   (log: $LOG_DIR/vscoped.log)
    PostgreSQL    psql -h $SOCK_DIR -p $VSCOPE_PGPORT -U postgres vscope
    tokens        $TOKENS

  Write a point over HTTP (204 means it is committed):
    curl -i -X POST http://demo:$DEMO@127.0.0.1:$VSCOPE_HTTP_PORT/api/put \\
      -d '{"metric":"sys.cpu.user","timestamp":$NOW,"value":42,"tags":{"host":"web01"}}'

  Ceilometer: the meters of the demo project (more in README.md, "Try it"):
    curl -s -H "X-Auth-Token: $CEILO" http://127.0.0.1:$VSCOPE_HTTP_PORT/v2/meters

  Read it, and the demo's vScope metrics, with SQL as vscope_demo, a login
  role that row-level security confines to the demo tenant:
    psql -h $SOCK_DIR -p $VSCOPE_PGPORT -U vscope_demo vscope \\
      -c "SELECT metric, count(*), max(ts) FROM vscope.datapoints GROUP BY metric ORDER BY metric"

  Ctrl-C stops vscoped and PostgreSQL.

TXT

# Stay in the foreground.  Ctrl-C reaches vscoped too (same process group),
# which then stops cleanly and exits 0: that is a normal stop as well.
status=0
while kill -0 "$DAEMON_PID" 2>/dev/null; do
	wait "$DAEMON_PID" && status=0 || status=$?
done
DAEMON_PID=
[ "$status" -eq 0 ] && shutdown 0
say "vscoped exited with status $status (log: $LOG_DIR/vscoped.log)"
tail -5 "$LOG_DIR/vscoped.log" >&2 || true
shutdown 1
