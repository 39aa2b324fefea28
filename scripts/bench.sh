#!/usr/bin/env bash
# make bench: every benchmark in bench/, each comparing vscope with the plain
# SQL way on the same data in one run, on a fresh cluster of its own.
# VSCOPE_BENCH=query (or "query ingest") runs only those of bench/*.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$VSCOPE_ROOT/scripts/deps.sh"
mkdir -p "$VSCOPE_DATA"
build_and_install 0

BENCH_DIR=$VSCOPE_DATA/bench
cluster_paths "$BENCH_DIR" "${VSCOPE_BENCH_PGPORT:-5498}"
cluster_stop
rm -rf "$BENCH_DIR"
cluster_init
cluster_start
trap cluster_stop EXIT
db_setup vscope
export BENCH_DIR
for b in "$VSCOPE_ROOT"/bench/*.sh; do
	case " ${VSCOPE_BENCH:-$(basename "$b" .sh)} " in
	*" $(basename "$b" .sh) "*) ;;
	*) continue ;;
	esac
	say "benchmark $(basename "$b" .sh)"
	bash "$b"
done
