#!/usr/bin/env bash
# make fuzz-sql: the extension's parsers fuzzed through SQL, longer than the
# bounded run inside make test, then Debian's sqlsmith against the demo data.
# On a private cluster of its own ($VSCOPE_DATA/fuzz), with the extension
# built with UndefinedBehaviorSanitizer (VSCOPE_FUZZ_UBSAN=0: without; why not
# ASan: below).  Fails on a crashed backend, an XX000 from a vscope function,
# or a sanitizer report.
#   VSCOPE_FUZZ_SEED (1), VSCOPE_FUZZ_CASES (50000), VSCOPE_FUZZ_SECONDS (900),
#   VSCOPE_SQLSMITH_QUERIES (20000), VSCOPE_SQLSMITH_SECONDS (600),
#   VSCOPE_FUZZ_PGPORT (the test port + 1)
set -uo pipefail
source "$(dirname "$0")/lib.sh"
unset VSCOPE_TELNET_PORT

"$VSCOPE_ROOT/scripts/deps.sh" sqlsmith || exit 1
mkdir -p "$VSCOPE_DATA"
build_and_install 1 || exit 1

SEED=${VSCOPE_FUZZ_SEED:-1}
CASES=${VSCOPE_FUZZ_CASES:-50000}
SECONDS_MAX=${VSCOPE_FUZZ_SECONDS:-900}
SMITH_QUERIES=${VSCOPE_SQLSMITH_QUERIES:-20000}
SMITH_SECONDS=${VSCOPE_SQLSMITH_SECONDS:-600}
FUZZ_PGPORT=${VSCOPE_FUZZ_PGPORT:-$((${VSCOPE_TEST_PGPORT:-5499} + 1))}
PYTHON=${VSCOPE_FUZZ_PYTHON:-/usr/bin/python3}
FUZZ_DIR=$VSCOPE_DATA/fuzz
PKGLIB=$("$PG_CONFIG" --pkglibdir)

# ---- the sanitizer build of the extension ----
# PostgreSQL itself is not built with sanitizers.  AddressSanitizer needs its
# runtime preloaded into the postmaster, and that does not work here: with
# gcc 12's libasan (or clang 14's) in LD_PRELOAD every PostgreSQL 15 program
# (postgres -V, initdb) hangs at start in bindtextdomain() (README,
# "Reliability").  UndefinedBehaviorSanitizer needs no preloading: the
# extension is built with -fsanitize=undefined in a copy of the tree and
# installed in place of the ordinary build for the run (and put back after);
# a report ("runtime error:") in the postmaster's log fails the run.
# VSCOPE_FUZZ_UBSAN=0: the ordinary build.
SANITIZE=
if [ "${VSCOPE_FUZZ_UBSAN:-1}" = 1 ]; then
	SANITIZE=undefined
fi
restore_build() {
	if [ -n "$SANITIZE" ] && [ -f "$VSCOPE_ROOT/vscope.so" ]; then
		$SUDO install -m 755 "$VSCOPE_ROOT/vscope.so" "$PKGLIB/vscope.so"
	fi
}
if [ -n "$SANITIZE" ]; then
	say "building the extension with -fsanitize=$SANITIZE"
	SAN_SRC=$VSCOPE_DATA/sanitize-build
	mkdir -p "$SAN_SRC"
	cp -a "$VSCOPE_ROOT/Makefile" "$VSCOPE_ROOT/vscope.control" "$VSCOPE_ROOT/src" "$VSCOPE_ROOT/sql" "$SAN_SRC/"
	if ! make -s -C "$SAN_SRC" vscope.so VSCOPE_WERROR=1 \
		COPT="-fsanitize=$SANITIZE -fno-omit-frame-pointer -g" >"$VSCOPE_DATA/sanitize-build.log" 2>&1; then
		tail -20 "$VSCOPE_DATA/sanitize-build.log"
		die "the sanitizer build failed (log: $VSCOPE_DATA/sanitize-build.log)"
	fi
	$SUDO install -m 755 "$SAN_SRC/vscope.so" "$PKGLIB/vscope.so"
fi

cluster_paths "$FUZZ_DIR" "$FUZZ_PGPORT"
cleanup() {
	cluster_stop
	restore_build
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cluster_stop
rm -rf "$FUZZ_DIR"
cluster_init
# every error's SQLSTATE and source location in the log (XX000 is found there)
as_svc tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<CONF
log_error_verbosity = verbose
log_min_error_statement = error
CONF
# the backends' stderr (UBSan's reports) goes to the log
as_svc env UBSAN_OPTIONS="print_stacktrace=1" \
	"$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_DIR/postgresql.log" -w -t 120 \
	-o "-p $FUZZ_PGPORT" start >/dev/null ||
	{ tail -20 "$LOG_DIR/postgresql.log"; die "PostgreSQL did not start"; }
PGLOG=$LOG_DIR/postgresql.log
db_setup vscope

failed=0
say "sqlfuzz: seed $SEED, up to $CASES cases or $SECONDS_MAX s${SANITIZE:+ (UBSan)}"
"$PYTHON" "$VSCOPE_ROOT/test/fuzz/sqlfuzz.py" --dsn "dbname=vscope user=postgres" --log "$PGLOG" \
	--setup --seed "$SEED" --cases "$CASES" --seconds "$SECONDS_MAX" | tee "$FUZZ_DIR/sqlfuzz.log" | tail -40
grep -q '^sqlfuzz: .* 0 failed, 0 log problems' "$FUZZ_DIR/sqlfuzz.log" || failed=1

# ---- sqlsmith, as a login role confined to the demo tenant ----
say "sqlsmith: up to $SMITH_QUERIES queries or $SMITH_SECONDS s"
psql_q -d vscope -c "CREATE ROLE sqlsmith LOGIN" \
	-c "ALTER ROLE sqlsmith SET statement_timeout = '2s'" \
	-c "SELECT vscope.grant_tenant_access('sqlsmith', 'sqlfuzz', 'write')" >/dev/null
mark=$(stat -c %s "$PGLOG")
timeout -k 10 "$SMITH_SECONDS" sqlsmith --verbose --seed="$SEED" --max-queries="$SMITH_QUERIES" \
	--target="host=$SOCK_DIR port=$FUZZ_PGPORT dbname=vscope user=sqlsmith" \
	>"$FUZZ_DIR/sqlsmith.log" 2>&1
say "sqlsmith exited with $? (124: its time was up)"
tail -c +$((mark + 1)) "$PGLOG" >"$FUZZ_DIR/sqlsmith-postgresql.log"
# the internal errors sqlsmith provoked, with their source location: those
# raised in vscope's code fail the run, PostgreSQL's own are listed only
awk '/ERROR:  XX000/ { want = 1; next } want && /LOCATION:/ { print; want = 0 } / ERROR:  / { want = 0 }' "$FUZZ_DIR/sqlsmith-postgresql.log" |
	sed 's/.*LOCATION:  *//' | sort | uniq -c | sort -rn >"$FUZZ_DIR/sqlsmith-xx000.txt"
if [ -s "$FUZZ_DIR/sqlsmith-xx000.txt" ]; then
	say "XX000 errors under sqlsmith (count, function, file):"
	cat "$FUZZ_DIR/sqlsmith-xx000.txt"
fi
while read -r _ fn _; do
	fn=${fn%,}
	if grep -rqE "^$fn\(" "$VSCOPE_ROOT/src" --include='*.c' --exclude-dir=daemon; then
		say "an XX000 raised in vscope's $fn under sqlsmith"
		failed=1
	fi
done <"$FUZZ_DIR/sqlsmith-xx000.txt"

# ---- crashes and sanitizer reports, over both runs ----
if grep -E 'terminated by signal|server process .* was terminated|runtime error:' "$PGLOG" | head -20 | grep .; then
	say "a backend crashed or UBSan reported (log: $PGLOG)"
	failed=1
fi
grep -E '^(queries|error rate|AST stats)' "$FUZZ_DIR/sqlsmith.log" | tail -3 || true
if [ "$failed" = 0 ]; then
	say "fuzz-sql: no crash, no internal error${SANITIZE:+, no UBSan report}"
else
	say "fuzz-sql: FAILED (logs in $FUZZ_DIR)"
fi
exit "$failed"
