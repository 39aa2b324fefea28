#!/usr/bin/env bash
# make test: the same set-up as make run (on a fresh cluster of its own, so a
# running `make run` is left alone), then every test: pg_regress, then the
# end-to-end tests over real HTTP.  Ends with one line "N passed, M failed";
# exits non-zero on any failure.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
# vscoped takes VSCOPE_<KEY> from the environment over its config file: a
# telnet port exported for `make run` must not move the test daemons' ports
unset VSCOPE_TELNET_PORT

"$VSCOPE_ROOT/scripts/deps.sh" || exit 1
mkdir -p "$VSCOPE_DATA"
build_and_install 1 || exit 1

TEST_DIR=$VSCOPE_DATA/test
TEST_PGPORT=${VSCOPE_TEST_PGPORT:-5499}
TEST_HTTP_PORT=${VSCOPE_TEST_HTTP_PORT:-4299}

cluster_paths "$TEST_DIR" "$TEST_PGPORT"
cluster_stop
rm -rf "$TEST_DIR"
cluster_init
cluster_start
DAEMON_PID=
cleanup() {
	stop_daemon
	cluster_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0

# ---- pg_regress ----
# run_regress NAME [make variables...]: one pg_regress run, counted
run_regress() {
	local name=$1
	shift
	make_service_dir "$TEST_DIR/$name"
	chmod 777 "$TEST_DIR/$name"
	make -s -C "$VSCOPE_ROOT" installcheck VSCOPE_DATA="$TEST_DIR" \
		REGRESS_OUTDIR="$TEST_DIR/$name" "$@" >"$TEST_DIR/$name.log" 2>&1
	grep -E '^(ok|not ok|test |     )|\.\.\.' "$TEST_DIR/$name.log" || true
	local ok bad
	ok=$(grep -cE '^ok |\.\.\. ok' "$TEST_DIR/$name.log")
	bad=$(grep -cE '^not ok |\.\.\. FAILED|\.\.\. failed' "$TEST_DIR/$name.log")
	if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
		cat "$TEST_DIR/$name.log"
		bad=1
	fi
	if [ -s "$TEST_DIR/$name/regression.diffs" ]; then
		echo "---- $name/regression.diffs ----"
		head -200 "$TEST_DIR/$name/regression.diffs"
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
}

# VSCOPE_TESTS="name ..." runs only the pg_regress files, end-to-end modules
# or tests whose names contain one of the words (core_install always runs
# first; "codec" selects the codec tests); a developer's shortcut: CI and
# `make test` run everything
VSCOPE_TESTS=${VSCOPE_TESTS:-}
# selected LIST: the words of LIST that VSCOPE_TESTS selects (all without it)
selected() {
	local w o out=
	for w in $1; do
		if [ -z "$VSCOPE_TESTS" ]; then
			out="$out $w"
			continue
		fi
		for o in $VSCOPE_TESTS; do
			case "$w" in *"$o"*) out="$out $w"; break ;; esac
		done
	done
	echo "$out"
}
if [ -n "$VSCOPE_TESTS" ]; then
	say "only the tests matching: $VSCOPE_TESTS"
fi
ALL_REGRESS=$(make -s -C "$VSCOPE_ROOT" print-regress)
COMPRESSED_REGRESS="tenancy store_reader opentsdb_query opentsdb_features opentsdb_sql opentsdb_api opentsdb_show opentsdb_exp ceilometer ceilometer_span opentsdb_calendar warp10_fetch"
regress_list=$(selected "${ALL_REGRESS#core_install}")
compressed_list=$(selected "$COMPRESSED_REGRESS")

if [ -z "$VSCOPE_TESTS" ] || [ -n "${regress_list// /}" ]; then
	say "pg_regress"
	run_regress regress REGRESS="core_install$regress_list"
fi
# the reading tests once more, every day compressed into blocks after each
# write (the files do it when regress.compressed is on): the same answers
if [ -z "$VSCOPE_TESTS" ] || [ -n "${compressed_list// /}" ]; then
	say "pg_regress, reading from compressed blocks"
	PGOPTIONS='-c regress.compressed=on' run_regress regress_compressed \
		REGRESS="core_install$compressed_list"
fi

# run_counted NAME DIR TARGET WHAT: make -C DIR TARGET, a test program that
# ends its log with "NAME: N passed, M failed", counted here (one failure
# when that line is missing: WHAT did not build or finish)
run_counted() {
	local name=$1 dir=$2 target=$3 what=$4 ok bad
	make -s -C "$dir" "$target" >"$TEST_DIR/$name.log" 2>&1
	grep -vE '^clang ' "$TEST_DIR/$name.log" | tail -20
	ok=$(sed -n "s/^$name: \([0-9]*\) passed, \([0-9]*\) failed\$/\1/p" "$TEST_DIR/$name.log")
	bad=$(sed -n "s/^$name: \([0-9]*\) passed, \([0-9]*\) failed\$/\2/p" "$TEST_DIR/$name.log")
	if [ -z "$ok" ]; then
		say "$what did not finish (log: $TEST_DIR/$name.log)"
		ok=0
		bad=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
}

# ---- the block codec's own tests (plain C, ASan and UBSan) ----
if [ -z "$VSCOPE_TESTS" ] || [ -n "$(selected codec)" ]; then
	say "codec"
	run_counted codec "$VSCOPE_ROOT/test/codec" run "the codec tests"
fi

# ---- vscoped's parsers under libFuzzer (ASan + UBSan), a short round ----
if [ -z "$VSCOPE_TESTS" ] || [ -n "$(selected fuzz)" ]; then
	say "fuzz (vscoped's parsers, ${FUZZ_CHECK_SECONDS:-2} s each)"
	run_counted fuzz "$VSCOPE_ROOT/test/fuzz" check "the fuzz harnesses"
fi

# ---- static checks of the C code (scripts/lint.sh): clang -Werror over
# every file of the extension and vscoped (gcc's -Werror build is the one
# above), and cppcheck; seconds of CPU each ----
if [ -z "$VSCOPE_TESTS" ] || [ -n "$(selected lint)" ]; then
	for check in clang cppcheck; do
		say "lint: $check"
		if "$VSCOPE_ROOT/scripts/lint.sh" "$check" >"$TEST_DIR/lint-$check.log" 2>&1; then
			tail -1 "$TEST_DIR/lint-$check.log"
			passed=$((passed + 1))
		else
			head -60 "$TEST_DIR/lint-$check.log"
			say "lint: $check found problems (log: $TEST_DIR/lint-$check.log)"
			failed=$((failed + 1))
		fi
	done
fi

# ---- end-to-end ----
say "end-to-end"
db_setup vscope
TEST_TELNET_PORT=${VSCOPE_TEST_TELNET_PORT:-4298}
psql_q -d vscope -c "SELECT vscope.create_tenant('e2e-telnet')" >/dev/null
write_daemon_config "$TEST_DIR/vscoped.conf" "$TEST_PGPORT" "$TEST_HTTP_PORT" \
	"$TEST_TELNET_PORT" e2e-telnet
start_daemon "$TEST_DIR/vscoped.conf" "$LOG_DIR/vscoped.log"
VSCOPE_URL=http://127.0.0.1:$TEST_HTTP_PORT VSCOPE_TEST_DIR=$TEST_DIR VSCOPE_TELNET_PORT=$TEST_TELNET_PORT \
	VSCOPE_DAEMON_PID=$DAEMON_PID VSCOPE_DAEMON_CONF=$TEST_DIR/vscoped.conf \
	VSCOPE_ROOT=$VSCOPE_ROOT VSCOPE_RUN_AS=$RUN_AS \
	python3 "$VSCOPE_ROOT/test/e2e/run.py" $VSCOPE_TESTS | tee "$TEST_DIR/e2e.log"
e_ok=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$TEST_DIR/e2e.log")
e_bad=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$TEST_DIR/e2e.log")
if [ -z "$e_ok" ]; then
	say "the end-to-end runner did not finish (log: $TEST_DIR/e2e.log)"
	e_ok=0
	e_bad=1
fi
passed=$((passed + e_ok))
failed=$((failed + e_bad))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
