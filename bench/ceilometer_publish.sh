#!/usr/bin/env bash
# Ceilometer's publishers writing into vscope: samples per second through
# vscoped's POST /v2/publish/samples (what Ceilometer's http publisher sends:
# Sample.as_dict() lists, a publish token routing each sample to its
# project's tenant) against the plain-SQL INSERT of the same rows, one
# multi-row INSERT per post, into the table a competent user would keep
# (message_id primary key, one jsonb of metadata a row, btree (meter, ts)):
# what Ceilometer's own SQL store did.  Both single-client, each post its own
# transaction; RESOURCES instances of 20 projects polled ROUNDS times
# (3 meters each), posts of 1000 samples and of 50 (the publisher's batches
# on a quiet agent).  The first round is stored first on both sides, untimed
# (vscope makes the sample series then; a cloud's are there already).  Also
# timed: POST /v2/meters/cpu_util with 1000-sample posts (the V2 API's own
# write, now on the same path).  Reports samples/s and the ratio of times.
# Run through `make bench` (scripts/bench.sh sets up the cluster).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
: "${BENCH_DIR:?run through make bench}"
RESOURCES=${BENCH_PUBLISH_RESOURCES:-2000}
ROUNDS=${BENCH_PUBLISH_ROUNDS:-6}
HTTP_PORT=${VSCOPE_BENCH_HTTP_PORT:-4297}
q() { psql_q -d vscope "$@"; }
now() { date +%s.%N; }
py() { python3 "$(dirname "$0")/ceilometer_publish.py" "$@"; }

N=$((RESOURCES * 3 * (ROUNDS - 1)))
echo "ceilometer_publish: $RESOURCES instances x 3 meters, $((ROUNDS - 1)) timed rounds = $N samples a run"
DATA=$BENCH_DIR/publish
rm -rf "$DATA"
mkdir -p "$DATA"
make_service_dir "$DATA"
# the rounds: ten minutes apart, from a UTC midnight two days ago
T0=$(q -c "SELECT (extract(epoch FROM now())::bigint / 86400 - 2) * 86400")
py make "$DATA" "$RESOURCES" "$ROUNDS" "$T0"
q <<SQL
SET client_min_messages = warning;
CALL vscope.add_days((to_timestamp($T0) AT TIME ZONE 'UTC')::date, (to_timestamp($T0 + 86400) AT TIME ZONE 'UTC')::date);
SELECT vscope.create_tenant('bench-cloud') \g /dev/null
SELECT vscope.create_tenant('bench-meters') \g /dev/null
CREATE TABLE plain_samples (message_id text PRIMARY KEY, counter_name text NOT NULL, counter_type text NOT NULL,
                            counter_unit text NOT NULL, counter_volume float8 NOT NULL, user_id text, project_id text,
                            resource_id text NOT NULL, "timestamp" timestamptz NOT NULL, resource_metadata jsonb,
                            source text);
CREATE INDEX ON plain_samples (counter_name, "timestamp");
SQL
PUB=$(q -c "SELECT vscope.create_token('bench-cloud', '{publish}', 'bench')")
ADM=$(q -c "SELECT vscope.create_token('bench-meters', '{read,write,admin}', 'bench')")

CONF=$BENCH_DIR/vscoped-publish.conf
SOCK_DIR=$PGHOST write_daemon_config "$CONF" "$PGPORT" "$HTTP_PORT" 1 ""
sed -i "s|^db-uri = .*|db-uri = \"host=$PGHOST port=$PGPORT dbname=vscope user=vscope_authenticator application_name=vscoped\"|" "$CONF"
echo "maintenance-interval = 0" >>"$CONF"
echo "log-level = \"warn\"" >>"$CONF"
start_daemon "$CONF" "$BENCH_DIR/vscoped-publish.log"
trap 'stop_daemon' EXIT
URL=http://127.0.0.1:$HTTP_PORT

# rate NAME SECONDS: samples per second
rate() { awk -v n="$N" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
for B in 1000 50; do
	# the untimed first round, on both sides
	py post "$URL" "$PUB" /v2/publish/samples "$DATA/publish-$B-0.json" >/dev/null
	q -f "$DATA/plain-$B-0.sql" >/dev/null
	q -c "CHECKPOINT"
	timed_files=()
	plain_files=()
	for r in $(seq 1 $((ROUNDS - 1))); do
		timed_files+=("$DATA/publish-$B-$r.json")
		plain_files+=("$DATA/plain-$B-$r.sql")
	done
	t0=$(now)
	cat "${plain_files[@]}" | q -f - >/dev/null
	t1=$(now)
	q -c "CHECKPOINT"
	read -r vs_s stored < <(py post "$URL" "$PUB" /v2/publish/samples "${timed_files[@]}")
	plain_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	[ "$stored" = "$N" ] || die "ceilometer_publish: $stored samples answered stored or duplicate, not $N"
	printf '  posts of %4s samples: plain INSERT %7s samples/s   /v2/publish/samples %7s samples/s   vscope takes %.2fx the time\n' \
		"$B" "$(rate x "$plain_s")" "$(rate x "$vs_s")" "$(awk -v a="$vs_s" -v b="$plain_s" 'BEGIN { print a / b }')"
	q -c "TRUNCATE plain_samples"
done
# both sides stored every sample once
n_vs=$(q -c "SELECT count(*) FROM vscope.sample_ids")
[ "$n_vs" = "$((RESOURCES * 3 * ROUNDS * 2))" ] || die "ceilometer_publish: $n_vs publisher ids kept, not $((RESOURCES * 3 * ROUNDS * 2))"

# POST /v2/meters/cpu_util, 1000 samples a post (no ids: each post stores anew)
py post "$URL" "$ADM" /v2/meters/cpu_util "$DATA/meters-1000-0.json" >/dev/null
files=()
for r in $(seq 1 $((ROUNDS - 1))); do files+=("$DATA/meters-1000-$r.json"); done
read -r m_s m_n < <(py post "$URL" "$ADM" /v2/meters/cpu_util "${files[@]}")
printf '  POST /v2/meters/cpu_util, posts of 1000 samples: %s samples/s\n' \
	"$(awk -v n="$m_n" -v s="$m_s" 'BEGIN { printf "%.0f", n / s }')"
