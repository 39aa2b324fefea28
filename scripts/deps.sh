#!/usr/bin/env bash
# Installs (as root) or names (otherwise) the Debian packages vscope needs.
# Usage: scripts/deps.sh [PKG...]  check, install what is missing (and PKG...,
#                                  what an optional target such as make fuzz-sql needs)
set -euo pipefail

PKGS=(
	postgresql-15 postgresql-server-dev-15 libpq-dev
	libjson-c-dev libmicrohttpd-dev zlib1g-dev
	gcc make pkg-config
	curl python3 util-linux
	libssl-dev
	# the fuzz harnesses (test/fuzz; a short run in make test): clang and
	# its libFuzzer, ASan and UBSan runtimes
	clang libclang-rt-dev
	# make test runs plpgsql_check on every PL/pgSQL function of the extension
	postgresql-15-plpgsql-check
	# the end-to-end tests drive Ceilometer's own publishers (Ceilometer 19)
	python3-ceilometer
	# the SQL fuzzer (test/fuzz/sqlfuzz.py, in make test and make fuzz-sql)
	python3-psycopg2
)
PKGS+=("$@")

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "vscope: installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Debian's postgresql-common creates a default cluster "main"; vscope runs its
	# own private cluster, so stop the default one to free memory (not the port:
	# vscope uses its own).
	if command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main .*online'; then
		pg_ctlcluster 15 main stop || true
	fi
else
	echo "vscope: these Debian packages are missing: ${missing[*]}" >&2
	echo "vscope: install them with:" >&2
	echo "  sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
