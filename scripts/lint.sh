#!/usr/bin/env bash
# Static checks of the C code, without building anything in the tree:
#   scripts/lint.sh clang      every C file of the extension and of vscoped
#                              through clang with -Werror (syntax and
#                              warnings only: -fsyntax-only, no objects);
#                              gcc's -Werror build is the one make test makes
#   scripts/lint.sh cppcheck   cppcheck over the same files; a finding that
#                              is not a bug is suppressed where it is, with
#                              a "cppcheck-suppress" comment and the reason
# Both exit non-zero on any finding.  make check-build and make lint run them;
# make test runs both (they take seconds, not minutes).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-$(command -v "${VSCOPE_PGBIN:-/usr/lib/postgresql/15/bin}/pg_config" || command -v pg_config)}
SERVER_INC=$("$PG_CONFIG" --includedir-server)
CLIENT_INC=$("$PG_CONFIG" --includedir)
cd "$ROOT" || exit 1

# the extension's sources (the OBJS of the Makefile) and the daemon's
ext_sources() { make -s -C "$ROOT" print-objs | tr ' ' '\n' | sed -n 's/\.o$/.c/p'; }
daemon_sources() { ls src/daemon/*.c; }
DAEMON_PKGS="json-c libmicrohttpd zlib libcrypto"
JOBS=${LINT_JOBS:-2}

case "${1:-}" in
clang)
	command -v clang >/dev/null || { echo "lint: clang is missing (apt-get install clang)" >&2; exit 1; }
	# PostgreSQL's headers, configured for gcc, name the printf format
	# "gnu_printf", which clang does not know: it is plain printf to clang
	WARN="-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror"
	fail=0
	ext_sources | xargs -P "$JOBS" -n 4 clang -fsyntax-only -std=gnu11 $WARN \
		-Dgnu_printf=printf -Isrc -I"$SERVER_INC" || fail=1
	# shellcheck disable=SC2046
	daemon_sources | xargs -P "$JOBS" -n 4 clang -fsyntax-only -std=gnu11 -D_GNU_SOURCE $WARN \
		-Wshadow -Wstrict-prototypes -I"$CLIENT_INC" $(pkg-config --cflags $DAEMON_PKGS) || fail=1
	[ "$fail" -eq 0 ] && echo "lint: clang -Werror: clean"
	exit "$fail"
	;;
cppcheck)
	command -v cppcheck >/dev/null || { echo "lint: cppcheck is missing (apt-get install cppcheck)" >&2; exit 1; }
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
	# the system and PostgreSQL headers are not ours to check: only their
	# macros matter, and cppcheck reads what it needs of them
	cppcheck -q -j "$JOBS" --std=c11 --language=c --enable=warning,portability \
		--inline-suppr --error-exitcode=1 --template='{file}:{line}: {severity} ({id}): {message}' \
		--suppress=missingIncludeSystem --suppress=missingInclude \
		--library="$ROOT/test/lint/postgres.cfg" -D__GNUC__ -Isrc \
		--cppcheck-build-dir="$out" \
		$(ext_sources) $(daemon_sources)
	rc=$?
	[ "$rc" -eq 0 ] && echo "lint: cppcheck: clean"
	exit "$rc"
	;;
*)
	echo "usage: scripts/lint.sh clang|cppcheck" >&2
	exit 2
	;;
esac
