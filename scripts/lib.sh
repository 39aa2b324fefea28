# Shared by run.sh, test.sh and bench.sh: paths, ports, and the private
# PostgreSQL 15 cluster.  PostgreSQL refuses to run as root, so when invoked
# as root the cluster (and vscoped) run as the unprivileged user "postgres".
# shellcheck shell=bash

VSCOPE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VSCOPE_DATA=${VSCOPE_DATA:-$VSCOPE_ROOT/.vscope}
case "$VSCOPE_DATA" in /*) ;; *) VSCOPE_DATA=$PWD/$VSCOPE_DATA ;; esac
VSCOPE_PGPORT=${VSCOPE_PGPORT:-5488}
VSCOPE_HTTP_PORT=${VSCOPE_HTTP_PORT:-4242}
# PostgreSQL's programs; VSCOPE_PGBIN points elsewhere (a relocated copy of
# the server lets two checkouts build, install and test side by side)
PGBIN=${VSCOPE_PGBIN:-/usr/lib/postgresql/15/bin}
export VSCOPE_PGBIN=$PGBIN
export PG_CONFIG=$PGBIN/pg_config
export PGUSER=postgres PGDATABASE=vscope

if [ "$(id -u)" -eq 0 ]; then
	RUN_AS=postgres
	as_svc() { runuser -u postgres -- "$@"; }
	SUDO=
else
	RUN_AS=$(id -un)
	as_svc() { "$@"; }
	SUDO=sudo
fi

say() { printf 'vscope: %s\n' "$*"; }
die() { printf 'vscope: %s\n' "$*" >&2; exit 1; }

# cluster_paths DIR PORT: where a cluster lives and how to reach it
cluster_paths() {
	CL_DIR=$1
	CL_PORT=$2
	PGDATA_DIR=$CL_DIR/pgdata
	SOCK_DIR=$CL_DIR/run
	LOG_DIR=$CL_DIR/log
	export PGHOST=$SOCK_DIR PGPORT=$CL_PORT
}

# make_service_dir DIR: a directory the service user owns and can reach
make_service_dir() {
	mkdir -p "$1"
	if [ "$RUN_AS" = postgres ]; then
		chown postgres: "$1"
		# the service user must be able to walk down to it
		local d=$1
		while [ "$d" != / ]; do
			d=$(dirname "$d")
			if ! runuser -u postgres -- test -x "$d"; then
				say "granting the postgres user passage through $d (chmod o+x)"
				chmod o+x "$d"
			fi
		done
	fi
}

cluster_init() {
	[ -f "$PGDATA_DIR/PG_VERSION" ] && return 0
	make_service_dir "$CL_DIR"
	make_service_dir "$SOCK_DIR"
	make_service_dir "$LOG_DIR"
	say "creating a PostgreSQL 15 cluster in $PGDATA_DIR"
	as_svc "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host=scram-sha-256 >"$LOG_DIR/initdb.log" 2>&1 ||
		{ cat "$LOG_DIR/initdb.log" >&2; die "initdb failed"; }
	as_svc tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<CONF

# vscope's private cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK_DIR'
shared_buffers = 256MB
max_connections = 100
log_line_prefix = '%m [%p] %q%u@%d '
CONF
}

cluster_start() {
	# port is passed on the command line so VSCOPE_PGPORT can change between runs
	if as_svc "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
		return 0
	fi
	as_svc "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_DIR/postgresql.log" -w -t 60 \
		-o "-p $CL_PORT" start >/dev/null ||
		{ tail -20 "$LOG_DIR/postgresql.log" >&2; die "PostgreSQL did not start (log: $LOG_DIR/postgresql.log)"; }
}

cluster_stop() {
	if [ -f "$PGDATA_DIR/postmaster.pid" ]; then
		as_svc "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
	fi
}

psql_q() { PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# db_setup DB: the database with the extension at its newest version.
# Released versions reach the newest through ALTER EXTENSION UPDATE, but the
# version under development changes its script without a new number: when
# the scripts differ from the ones this database was made with, the
# database (demo or test data only) is made again.
db_setup() {
	local db=$1
	local sum stamp exists
	sum=$(cat "$VSCOPE_ROOT"/sql/vscope--*.sql | md5sum | cut -c1-32)
	stamp=$CL_DIR/extension-$db.md5
	exists=$(psql_q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$db'")
	if [ "$exists" = 1 ] && [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
		say "vscope's SQL changed since database $db was made: making it again"
		psql_q -d postgres -c "DROP DATABASE \"$db\" WITH (FORCE)"
		exists=0
	fi
	if [ "$exists" = 0 ]; then
		psql_q -d postgres -c "CREATE DATABASE \"$db\""
	fi
	psql_q -d "$db" -c "CREATE EXTENSION IF NOT EXISTS vscope" -c "ALTER EXTENSION vscope UPDATE"
	echo "$sum" >"$stamp"
	# writes never make partitions: the days from vscope.max_past ago to
	# vscope.max_future ahead are made by maintenance (vscoped runs it too,
	# but data may be loaded before it starts), a call at a time
	local i
	for i in $(seq 1 50); do
		psql_q -d "$db" -c "SELECT vscope.maintain()->>'pending'" | grep -q true || break
	done
}

build_and_install() {
	local werror=${1:-0}
	say "building"
	make -s -C "$VSCOPE_ROOT" VSCOPE_WERROR="$werror" all >"$VSCOPE_DATA.build.log" 2>&1 ||
		{ cat "$VSCOPE_DATA.build.log" >&2; die "build failed"; }
	if grep -q 'warning:' "$VSCOPE_DATA.build.log"; then
		grep 'warning:' "$VSCOPE_DATA.build.log" >&2
	fi
	say "installing the extension and vscoped"
	$SUDO make -s -C "$VSCOPE_ROOT" install >>"$VSCOPE_DATA.build.log" 2>&1 ||
		{ cat "$VSCOPE_DATA.build.log" >&2; die "install failed"; }
}

# write_daemon_config FILE DBPORT HTTPPORT TELNETPORT TENANT: a vscoped config
# for this cluster, its telnet put listener writing to TENANT
write_daemon_config() {
	cat >"$1" <<CONF
# vscoped configuration written by scripts/run.sh
db-uri = "host=$SOCK_DIR port=$2 dbname=vscope user=vscope_authenticator application_name=vscoped"
db-pool = 8
server-host = "127.0.0.1"
server-port = $3
telnet-host = "127.0.0.1"
telnet-port = $4
telnet-tenant = "$5"
log-level = "info"
CONF
	[ "$RUN_AS" = postgres ] && chown postgres: "$1"
	return 0
}

# start_daemon CONF LOG: vscoped in the background; sets DAEMON_PID
start_daemon() {
	local conf=$1 log=$2
	[ "$RUN_AS" = postgres ] && { touch "$log"; chown postgres: "$log"; }
	if [ "$RUN_AS" = postgres ]; then
		# setpriv execs (no intermediate process), so $! is vscoped itself
		setpriv --reuid=postgres --regid=postgres --init-groups \
			"$VSCOPE_ROOT/src/daemon/vscoped" "$conf" >>"$log" 2>&1 &
	else
		"$VSCOPE_ROOT/src/daemon/vscoped" "$conf" >>"$log" 2>&1 &
	fi
	DAEMON_PID=$!
	local port
	port=$(sed -n 's/^server-port *= *//p' "$conf")
	for _ in $(seq 1 100); do
		if curl -fsS "http://127.0.0.1:$port/live" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || { tail -20 "$log" >&2; die "vscoped exited (log: $log)"; }
		sleep 0.1
	done
	tail -20 "$log" >&2
	die "vscoped did not answer on port $port"
}

stop_daemon() {
	if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	DAEMON_PID=
}
