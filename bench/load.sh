#!/usr/bin/env bash
# Load and soak: vscoped under wrk (Debian's wrk, installed here when absent
# and run as root) with the mixed workload of bench/load.lua -- puts of
# 100-point batches, OpenTSDB queries, Ceilometer statistics and vScope
# live-data reads -- across LOAD_TENANTS tenants (4) at LOAD_CONNECTIONS
# simultaneous connections (1000), for LOAD_SECONDS (60; LOAD_SECONDS=600
# is the 10-minute soak).  Every LOAD_SAMPLE seconds (5) it samples
# vscoped's RSS, threads and open files and the database connections, and
# at the end prints wrk's figures (requests/s, p50/p99, socket errors, the
# status of every answer).  Not a ratio against plain SQL like the other
# benchmarks: the figures are the daemon's own under load.
#
# The limits it raises, and why:
#   ulimit -n 65536       1000 client sockets in wrk and 1000 in vscoped
#                         (plus the pool) are past the usual 1024
#   max-connections 2048  vscoped's default (256) is below the 1000
#   db-pool 20            out of the cluster's max_connections (100)
#   max-connections-per-client 0   every connection is from 127.0.0.1
# Run through `make bench` (VSCOPE_BENCH=load runs only this one).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
: "${BENCH_DIR:?run through make bench}"
TENANTS=${LOAD_TENANTS:-4}
CONNS=${LOAD_CONNECTIONS:-1000}
SECS=${LOAD_SECONDS:-60}
SAMPLE=${LOAD_SAMPLE:-5}
THREADS=${LOAD_THREADS:-4}
POOL=${LOAD_DB_POOL:-20}
HTTP_PORT=${VSCOPE_BENCH_HTTP_PORT:-4298}
q() { psql_q -d vscope "$@"; }
cluster_paths "$BENCH_DIR" "$PGPORT"

if ! command -v wrk >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y -q wrk >/dev/null
	else
		die "load: wrk is missing (apt-get install wrk)"
	fi
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "load: $CONNS connections, $TENANTS tenants, ${SECS} s, wrk threads $THREADS, db-pool $POOL, open files $(ulimit -n), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# the tenants: the demo's vScope service and Ceilometer project, each
names=() tokens=()
for i in $(seq 1 "$TENANTS"); do
	name=pcc-load-$i
	# (a run on the same cluster again keeps them: LOAD_RELOAD=1 loads anew)
	if [ "${LOAD_RELOAD:-0}" = 1 ] || [ "$(q -c "SELECT count(*) FROM vscope.tenants WHERE name = '$name'")" = 0 ]; then
		q -v tenant="$name" -f "$VSCOPE_ROOT/scripts/demo.sql" >/dev/null
		q -v project="$name" -v user=load-user -f "$VSCOPE_ROOT/scripts/demo_ceilometer.sql" >/dev/null
	fi
	names+=("$name")
	tokens+=("$(q -c "SELECT vscope.create_token('$name', '{read,write,admin}', 'bench load')")")
done
q -c "CHECKPOINT" >/dev/null

CONF=$BENCH_DIR/load-vscoped.conf
write_daemon_config "$CONF" "$PGPORT" "$HTTP_PORT" "$((HTTP_PORT + 1))" "${names[0]}"
sed -i "s/^db-pool = .*/db-pool = $POOL/" "$CONF"
echo "max-connections = $((CONNS * 2 + 48))" >>"$CONF"
# every wrk connection comes from 127.0.0.1: the per-address limit (64 by
# default) would refuse all but a few
echo "max-connections-per-client = 0" >>"$CONF"
: >"$BENCH_DIR/load-vscoped.log"
start_daemon "$CONF" "$BENCH_DIR/load-vscoped.log"
trap 'stop_daemon' EXIT

SAMPLES=$BENCH_DIR/load-samples.txt
sample() {
	local rss threads fds db
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$DAEMON_PID/status")
	threads=$(awk '/^Threads/ {print $2}' "/proc/$DAEMON_PID/status")
	fds=$(ls "/proc/$DAEMON_PID/fd" | wc -l)
	db=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'vscoped'")
	# the machine's 1-minute load average: the figures depend on what else runs
	printf '%6s %8s %8s %6s %4s %6s\n' "$1" "$rss" "$threads" "$fds" "$db" "$(cut -d' ' -f1 /proc/loadavg)"
}
{
	printf '%6s %8s %8s %6s %4s %6s\n' "t(s)" "RSS(kB)" threads fds db load
	sample 0
} >"$SAMPLES"
(
	# the seconds since the start (a sample itself takes time under load)
	start=$SECONDS
	while sleep "$SAMPLE"; do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sample "$((SECONDS - start))" >>"$SAMPLES"
	done
) &
SAMPLER=$!

LOAD_TENANTS=$(IFS=,; echo "${names[*]}") LOAD_TOKENS=$(IFS=,; echo "${tokens[*]}") \
	wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --timeout 30s \
	-s "$(dirname "$0")/load.lua" "http://127.0.0.1:$HTTP_PORT" >"$BENCH_DIR/load-wrk.txt" 2>&1 || true
sleep "$SAMPLE"
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
sample after >>"$SAMPLES"

grep '^load:' "$BENCH_DIR/load-wrk.txt" || cat "$BENCH_DIR/load-wrk.txt"
echo "load: vscoped and its database connections over the run (every ${SAMPLE} s):"
cat "$SAMPLES"
awk 'NR > 1 && $1 != "after" {if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2;
	if ($5 > dbmax) dbmax = $5; if (lmin == "" || $6 < lmin) lmin = $6; if ($6 > lmax) lmax = $6}
	END {printf "load: RSS %d..%d kB, database connections at most %d, load average %s..%s\n", min, max, dbmax, lmin, lmax}' "$SAMPLES"
echo "load: vscoped's answers by status, and its warnings:"
grep -o '" [0-9][0-9][0-9] ' "$BENCH_DIR/load-vscoped.log" | sort | uniq -c | sed 's/^/load:   /'
{ grep -v ' info: ' "$BENCH_DIR/load-vscoped.log" || true; } | cut -d' ' -f2- | sort | uniq -c | sort -rn | head -5 | sed 's/^/load:   /'
kill -0 "$DAEMON_PID" 2>/dev/null && echo "load: vscoped still up" || echo "load: vscoped DIED"
tail -3 "$BENCH_DIR/load-vscoped.log" | sed 's/^/load: vscoped log: /'
