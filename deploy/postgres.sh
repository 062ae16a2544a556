#!/usr/bin/env bash
# A private PostgreSQL server for LayerChop's cluster mode and its tests, on 127.0.0.1 only.
#
#   deploy/postgres.sh start [DIR]   install PostgreSQL if missing, create the server in DIR if missing,
#                                    start it if stopped, create database 'layerchop' if missing
#   deploy/postgres.sh stop [DIR]    stop it (the data stays in DIR)
#   deploy/postgres.sh status [DIR]  exit 0 when it runs
#
# DIR defaults to $LAYERCHOP_PG_DIR or /tmp/layerchop-pg; the port to $LAYERCHOP_PG_PORT or 55432. The
# server listens on $LAYERCHOP_PG_LISTEN (default 127.0.0.1); with another address, $LAYERCHOP_PG_TRUST names
# the one network (CIDR) trusted besides this machine, as the fault harness does for its private bridge.
# Every command is safe to repeat. Progress goes to stderr; `start` and `status` print the connection
# string on stdout, so this works:
#   export LAYERCHOP_PG="$(deploy/postgres.sh start)"
#   layerchop db init "$LAYERCHOP_PG"
#
# Authentication is 'trust' for connections from this machine (the server listens on 127.0.0.1 and a
# Unix socket inside DIR): a development and test server, not one to expose. PostgreSQL refuses to run
# as root, so under root the server runs as the 'postgres' system user that Debian's package creates.
set -euo pipefail

command=${1:-start}
dir=${2:-${LAYERCHOP_PG_DIR:-/tmp/layerchop-pg}}
port=${LAYERCHOP_PG_PORT:-55432}
listen=${LAYERCHOP_PG_LISTEN:-127.0.0.1}
trust=${LAYERCHOP_PG_TRUST:-}
database=layerchop
superuser=postgres

say() { echo "postgres.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

case "$command" in
  start|stop|status) ;;
  -h|--help|help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  *) die "unknown command '$command' (use start, stop or status)" ;;
esac

find_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$found" ] && [ -x "$found/pg_ctl" ]; then echo "$found"; fi
}

pg_bin=$(find_bin)
if [ -z "$pg_bin" ]; then
  [ "$command" = start ] || die "PostgreSQL is not installed (run: $0 start)"
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed; as root run: apt-get update && apt-get install -y postgresql"
  say "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  pg_bin=$(find_bin)
  [ -n "$pg_bin" ] || die "apt-get installed postgresql but no /usr/lib/postgresql/*/bin/pg_ctl was found"
fi

# Under root, run the server and its tools as the unprivileged 'postgres' user.
if [ "$(id -u)" = 0 ]; then
  if ! id "$superuser" >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$superuser"
  fi
  as_owner() { (cd / && runuser -u "$superuser" -- "$@"); }
else
  as_owner() { "$@"; }
fi

data="$dir/data"
log="$dir/server.log"
connection() { echo "Host=$listen;Port=$1;Username=$superuser;Database=$database"; }
running() { [ -f "$data/PG_VERSION" ] && as_owner "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }
# The port the running server listens on (line 4 of postmaster.pid).
running_port() { sed -n 4p "$data/postmaster.pid"; }

case "$command" in
  stop)
    if running; then
      as_owner "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >&2
    else
      say "not running ($data)"
    fi
    exit 0
    ;;
  status)
    if running; then
      say "running, data in $data"
      connection "$(running_port)"
      exit 0
    fi
    say "not running ($data)"
    exit 3
    ;;
esac

# start
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then chown "$superuser": "$dir"; fi
chmod 700 "$dir"

if [ ! -f "$data/PG_VERSION" ]; then
  say "creating a server in $data"
  as_owner "$pg_bin/initdb" -D "$data" --username="$superuser" --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed (log: $dir/initdb.log)"; }
fi

if [ -n "$trust" ] && ! grep -q "^host all all $trust trust" "$data/pg_hba.conf"; then
  echo "host all all $trust trust" >> "$data/pg_hba.conf"
fi

if running; then
  port=$(running_port)
  say "already running on port $port, data in $data"
else
  say "starting on $listen:$port, data in $data"
  if ! as_owner "$pg_bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-c listen_addresses=$listen -c port=$port -c unix_socket_directories='$dir'" start >/dev/null; then
    tail -n 20 "$log" >&2 || true
    die "the server did not start (log: $log); is port $port taken? set LAYERCHOP_PG_PORT to another"
  fi
fi

psql_admin() { as_owner "$pg_bin/psql" -X -q -h "$listen" -p "$port" -U "$superuser" -d postgres -v ON_ERROR_STOP=1 "$@"; }
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
  say "creating database $database"
  psql_admin -c "CREATE DATABASE $database"
fi

connection "$port"
