#!/usr/bin/env bash
# make test-citus: the pg_regress and end-to-end suites against a Citus
# coordinator and two workers on this machine, vscope distributed by
# vscope.distribute().  Citus is not part of vscope's build: when the
# PostgreSQL in use (VSCOPE_PGBIN) has no citus library, this says so and
# exits 0.  Ends with one line "citus: N passed, M failed".
set -uo pipefail
source "$(dirname "$0")/lib.sh"
unset VSCOPE_TELNET_PORT

PKGLIBDIR=$("$PG_CONFIG" --pkglibdir 2>/dev/null || true)
if [ -z "$PKGLIBDIR" ] || [ ! -f "$PKGLIBDIR/citus.so" ]; then
	say "Citus is not installed for the PostgreSQL in $PGBIN: the Citus tests are SKIPPED"
	exit 0
fi

"$VSCOPE_ROOT/scripts/deps.sh" || exit 1
mkdir -p "$VSCOPE_DATA"
build_and_install 1 || exit 1

# the coordinator on CITUS_PORT, the workers on the next two ports
CITUS_PORT=${VSCOPE_CITUS_PGPORT:-5530}
CITUS_HTTP_PORT=${VSCOPE_CITUS_HTTP_PORT:-4330}
CITUS_TELNET_PORT=${VSCOPE_CITUS_TELNET_PORT:-$((CITUS_HTTP_PORT + 7))}
CITUS_DIR=$VSCOPE_DATA/citus
NODES="coordinator:$CITUS_PORT worker1:$((CITUS_PORT + 1)) worker2:$((CITUS_PORT + 2))"
GROUP_ROLES="vscope_reader vscope_writer vscope_admin vscope_superadmin"
# the group roles' password: only Citus (pg_dist_authinfo) knows it
GROUP_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')

# on NODE (its name in NODES), run psql_q with the rest
on() {
	local node=$1 port
	shift
	port=$(for n in $NODES; do [ "${n%%:*}" = "$node" ] && echo "${n#*:}"; done)
	cluster_paths "$CITUS_DIR/$node" "$port"
	psql_q "$@"
}

stop_all() {
	local n
	for n in $NODES; do
		cluster_paths "$CITUS_DIR/${n%%:*}" "${n#*:}"
		cluster_stop
	done
}

DAEMON_PID=
cleanup() {
	stop_daemon
	stop_all
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_all
rm -rf "$CITUS_DIR"
say "Citus: a coordinator and two workers in $CITUS_DIR (ports $CITUS_PORT-$((CITUS_PORT + 2)))"
for n in $NODES; do
	cluster_paths "$CITUS_DIR/${n%%:*}" "${n#*:}"
	cluster_init
	as_svc tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<CONF
shared_preload_libraries = 'citus'
shared_buffers = 64MB
max_connections = 200
# 4 shards a table, not 32: every day's partition is as many shard tables,
# and the files make hundreds of days (the answers do not depend on it)
citus.shard_count = 4
CONF
	# pg_hba.conf: first match wins, so these go before initdb's lines.
	# The group roles log in only over TCP from the coordinator's address
	# (127.0.0.1 here, on one machine), with the password that only
	# pg_dist_authinfo holds; never over a node's local socket.  The
	# trust of the other roles between the nodes (the superuser's, and the
	# login roles bound to a tenant that the tests make, which Citus
	# connects to the workers as) is for this test cluster only: a real one
	# gives them passwords in pg_dist_authinfo too.
	as_svc sh -c "{ printf '%s\n' \
		'local all vscope_reader,vscope_writer,vscope_admin,vscope_superadmin reject' \
		'host all vscope_reader,vscope_writer,vscope_admin,vscope_superadmin 127.0.0.1/32 scram-sha-256' \
		'host all vscope_reader,vscope_writer,vscope_admin,vscope_superadmin 0.0.0.0/0 reject' \
		'host all all 127.0.0.1/32 trust'; cat '$PGDATA_DIR/pg_hba.conf'; } >'$PGDATA_DIR/pg_hba.new' &&
		mv '$PGDATA_DIR/pg_hba.new' '$PGDATA_DIR/pg_hba.conf'"
	cluster_start
done

# citus_db DB: the database on every node, Citus in it, the workers added
citus_db() {
	local db=$1 n
	for n in $NODES; do
		on "${n%%:*}" -d postgres -c "CREATE DATABASE \"$db\"" &&
			on "${n%%:*}" -d "$db" -c "CREATE EXTENSION citus" || die "Citus did not install on ${n%%:*}"
	done
	on coordinator -d "$db" -c "SELECT citus_set_coordinator_host('127.0.0.1', $CITUS_PORT)" \
		-c "SELECT citus_add_node('127.0.0.1', $((CITUS_PORT + 1)))" \
		-c "SELECT citus_add_node('127.0.0.1', $((CITUS_PORT + 2)))" >/dev/null ||
		die "the workers could not be added"
}

# group_logins DB: the group roles may log in (with their password) on
# every node, and Citus knows the password
group_logins() {
	local db=$1 n r
	for n in $NODES; do
		for r in $GROUP_ROLES; do
			on "${n%%:*}" -d "$db" -c "ALTER ROLE $r LOGIN PASSWORD '$GROUP_PASSWORD'" || return 1
		done
	done
	for r in $GROUP_ROLES; do
		on coordinator -d "$db" -c "INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo)
			VALUES (0, '$r', 'password=$GROUP_PASSWORD') ON CONFLICT DO NOTHING" || return 1
	done
}

distribute() {
	on coordinator -d "$1" -c "SELECT count(*) FILTER (WHERE method = 'reference') || ' reference, '
		|| count(*) FILTER (WHERE method <> 'reference') || ' distributed' FROM vscope.distribute()"
}

passed=0
failed=0
failures=

# ---- the set-up itself ----
check() {
	local what=$1
	shift
	if "$@" >"$CITUS_DIR/check.log" 2>&1; then
		passed=$((passed + 1))
		echo "ok - $what"
	else
		failed=$((failed + 1))
		failures="$failures
  set-up: $what"
		echo "not ok - $what"
		sed 's/^/    /' "$CITUS_DIR/check.log"
	fi
}

citus_db vscope
check "vscope installs on the coordinator" on coordinator -d vscope -c "CREATE EXTENSION vscope"
check "the group roles reach the workers" group_logins vscope
check "vscope.distribute() distributes every table" distribute vscope
check "vscope.distribute() refuses a second time" \
	sh -c "PGHOST=$CITUS_DIR/coordinator/run PGPORT=$CITUS_PORT $PGBIN/psql -X -d vscope -c 'SELECT vscope.distribute()' 2>&1 | grep -q 'ERROR:  vscope is already distributed'"
check "no group role logs in over a worker's socket" \
	sh -c "! PGHOST=$CITUS_DIR/worker1/run PGPORT=$((CITUS_PORT + 1)) PGPASSWORD=$GROUP_PASSWORD $PGBIN/psql -X -U vscope_writer -d vscope -c 'SELECT 1' 2>/dev/null"
check "the worker refuses a tenant a direct session sets" \
	sh -c "[ \"\$(PGHOST=$CITUS_DIR/worker1/run PGPORT=$((CITUS_PORT + 1)) $PGBIN/psql -X -At -U postgres -d vscope -c \"SET SESSION AUTHORIZATION vscope_writer; SET vscope.tenant = '1'; SET application_name = 'psql'; SELECT coalesce(vscope.current_tenant()::text, 'none')\" | tail -1)\" = none ]"
for i in $(seq 1 50); do
	on coordinator -d vscope -c "SELECT vscope.maintain()->>'pending'" 2>>"$CITUS_DIR/maintain.log" | grep -q true || break
done

# ---- pg_regress: core_install, then distribute(), then the rest ----
ALL_REGRESS=$(make -s -C "$VSCOPE_ROOT" print-regress)
REST=${ALL_REGRESS#core_install}
# VSCOPE_TESTS="word ..." keeps the files and e2e tests whose names contain a word
if [ -n "${VSCOPE_TESTS:-}" ]; then
	kept=
	for f in $REST; do
		for w in $VSCOPE_TESTS; do
			case "$f" in *"$w"*) kept="$kept $f"; break ;; esac
		done
	done
	REST=$kept
fi
citus_db contrib_regression
group_logins contrib_regression >/dev/null || die "the group roles' logins could not be set in contrib_regression"
# the files choose their tenant with vscope.use_tenant() as a superuser and
# then often SET ROLE to a group role: Citus opens the workers' sessions as
# that role, which may use the tenant use_tenant() recorded on the workers
# only with this setting (off by default: see README, "vscope on Citus";
# no vscoped uses this database)
# citus.enable_unsupported_feature_messages = off: no WARNING that a
# function the files make in pg_temp is "created only locally" (Citus's
# setting for running other suites unchanged)
for n in $NODES; do
	on "${n%%:*}" -d postgres -c "ALTER DATABASE contrib_regression SET vscope.citus_session_tenant_for_roles = on" \
		-c "ALTER DATABASE contrib_regression SET citus.enable_unsupported_feature_messages = off" ||
		die "the settings of contrib_regression could not be made"
done
run_regress() {
	local name=$1
	shift
	mkdir -p "$CITUS_DIR/$name"
	chmod 777 "$CITUS_DIR/$name"
	cluster_paths "$CITUS_DIR/coordinator" "$CITUS_PORT"
	make -s -C "$VSCOPE_ROOT" installcheck VSCOPE_DATA="$CITUS_DIR" EXTRA_REGRESS_OPTS=--use-existing \
		REGRESS_OUTDIR="$CITUS_DIR/$name" "$@" >"$CITUS_DIR/$name.log" 2>&1
	local ok bad
	ok=$(grep -cE '^ok |\.\.\. ok' "$CITUS_DIR/$name.log")
	bad=$(grep -cE '^not ok |\.\.\. FAILED|\.\.\. failed' "$CITUS_DIR/$name.log")
	grep -E '^(ok|not ok)|\.\.\.' "$CITUS_DIR/$name.log" || cat "$CITUS_DIR/$name.log"
	passed=$((passed + ok))
	failed=$((failed + bad))
	local t
	for t in $(grep -E '\.\.\. FAILED|\.\.\. failed|^not ok ' "$CITUS_DIR/$name.log" |
		sed -E 's/^not ok +[0-9]+ +- +//; s/^ *(test )?//; s/ .*//'); do
		failures="$failures
  pg_regress: $t"
	done
}
say "pg_regress on Citus (diffs: $CITUS_DIR/regress*/regression.diffs)"
run_regress regress_install REGRESS=core_install
check "vscope.distribute() in the regress database" distribute contrib_regression
if [ -n "${REST// /}" ]; then
	run_regress regress REGRESS="$REST"
fi

# ---- the same data on a single node and on Citus: the answers compared ----
# The single node is a database of the coordinator's server without the
# citus extension (vscope then takes its single-node paths); the other is
# distributed.  The same three tenants are loaded into both (through
# vscope.put(), ceilometer_post_samples(), register_inventory()), and the
# answers of the main query functions (OpenTSDB queries, Ceilometer
# statistics, live data, the tables, every tenant at once) compared by
# test/citus/compare.py, floating-point numbers with a relative tolerance
# of 1e-9 (a sum over several shards adds in another order); then again
# once every day is compressed (the answers from blocks).  One check per
# tenant and round; VSCOPE_TESTS selects it with the word "compare".
run_compare=1
if [ -n "${VSCOPE_TESTS:-}" ]; then
	run_compare=0
	for w in $VSCOPE_TESTS; do case compare in *"$w"*) run_compare=1 ;; esac; done
fi
if [ "$run_compare" = 1 ]; then
	say "answers compared with a single node"
	CMP_DIR=$CITUS_DIR/compare
	mkdir -p "$CMP_DIR"
	CMP_TENANTS="cmp-a cmp-b cmp-c"
	cmp_load() {
		local db=$1 n=0 t
		on coordinator -d "$db" -c "CALL vscope.add_days('2024-03-01', '2024-03-02')" || return 1
		for t in $CMP_TENANTS; do
			n=$((n + 1))
			on coordinator -d "$db" -v tenant="$t" -v n="$n" -f "$VSCOPE_ROOT/test/citus/compare_load.sql" \
				>>"$CMP_DIR/load-$db.log" 2>&1 || { tail -5 "$CMP_DIR/load-$db.log"; return 1; }
		done
	}
	cmp_compress() {
		on coordinator -d "$1" -c "SELECT count(vscope.compress(range_start::date)) FROM vscope.partitions('points')" \
			-c "SELECT count(vscope.compress_samples(range_start::date)) FROM vscope.partitions('samples')" >/dev/null
	}
	cmp_round() {
		local round=$1 t out
		for t in $CMP_TENANTS; do
			for db in compare_single compare_citus; do
				on coordinator -d "$db" -v tenant="$t" -f "$VSCOPE_ROOT/test/citus/compare_answers.sql" \
					>"$CMP_DIR/$round-$t-$db.out" 2>&1
			done
			if out=$(python3 "$VSCOPE_ROOT/test/citus/compare.py" "$CMP_DIR/$round-$t-compare_single.out" \
				"$CMP_DIR/$round-$t-compare_citus.out" "$round $t"); then
				passed=$((passed + 1))
				echo "ok - compare: $round, tenant $t ($(grep -c '^ok' <<<"$out") answers equal)"
			else
				failed=$((failed + 1))
				failures="$failures
  compare: $round, tenant $t"
				echo "not ok - compare: $round, tenant $t"
				grep -v '^ok' <<<"$out" | head -20 | sed 's/^/    /'
				grep -h 'ERROR' "$CMP_DIR/$round-$t-"*.out | head -3 | sed 's/^/    /'
			fi
		done
	}
	if on coordinator -d postgres -c "CREATE DATABASE compare_single" &&
		on coordinator -d compare_single -c "CREATE EXTENSION vscope" &&
		citus_db compare_citus && on coordinator -d compare_citus -c "CREATE EXTENSION vscope" &&
		group_logins compare_citus && distribute compare_citus >/dev/null; then
		check "the comparison's data loads on a single node" cmp_load compare_single
		check "the comparison's data loads on Citus" cmp_load compare_citus
		cmp_round rows
		check "every day compressed on the single node" cmp_compress compare_single
		check "every day compressed on Citus" cmp_compress compare_citus
		cmp_round blocks
	else
		failed=$((failed + 1))
		failures="$failures
  compare: the databases could not be made"
	fi
fi

# ---- end-to-end against vscoped on the coordinator ----
# (VSCOPE_CITUS_E2E=0 leaves them out)
if [ "${VSCOPE_CITUS_E2E:-1}" = 0 ]; then
	say "end-to-end on Citus: left out (VSCOPE_CITUS_E2E=0)"
	if [ -n "$failures" ]; then
		printf 'failing on Citus:%s\n' "$failures"
	fi
	echo "citus: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
fi
say "end-to-end on Citus"
cluster_paths "$CITUS_DIR/coordinator" "$CITUS_PORT"
TEST_DIR=$CITUS_DIR/e2e
make_service_dir "$TEST_DIR"
psql_q -d vscope -c "SELECT vscope.create_tenant('e2e-telnet')" >/dev/null
write_daemon_config "$TEST_DIR/vscoped.conf" "$CITUS_PORT" "$CITUS_HTTP_PORT" "$CITUS_TELNET_PORT" e2e-telnet
start_daemon "$TEST_DIR/vscoped.conf" "$LOG_DIR/vscoped.log"
VSCOPE_URL=http://127.0.0.1:$CITUS_HTTP_PORT VSCOPE_TEST_DIR=$CITUS_DIR/coordinator VSCOPE_TELNET_PORT=$CITUS_TELNET_PORT \
	VSCOPE_DAEMON_PID=$DAEMON_PID VSCOPE_DAEMON_CONF=$TEST_DIR/vscoped.conf \
	VSCOPE_ROOT=$VSCOPE_ROOT VSCOPE_RUN_AS=$RUN_AS VSCOPE_TEST_PGPORT=$CITUS_PORT \
	python3 "$VSCOPE_ROOT/test/e2e/run.py" ${VSCOPE_TESTS:-} >"$TEST_DIR/e2e.log" 2>&1
grep -E '^(ok|not ok|FAIL|PASS)' "$TEST_DIR/e2e.log" | head -400
e_ok=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$TEST_DIR/e2e.log")
e_bad=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$TEST_DIR/e2e.log")
if [ -z "$e_ok" ]; then
	say "the end-to-end runner did not finish (log: $TEST_DIR/e2e.log)"
	tail -20 "$TEST_DIR/e2e.log"
	e_ok=0
	e_bad=1
fi
passed=$((passed + e_ok))
failed=$((failed + e_bad))

if [ -n "$failures" ]; then
	printf 'failing on Citus:%s\n' "$failures"
fi
echo "citus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
