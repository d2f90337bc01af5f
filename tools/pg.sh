#!/usr/bin/env bash
# A real PostgreSQL for the server's tests, without touching the Debian system
# cluster: a private cluster under target/pg (or $CS_PG_DIR), listening on
# 127.0.0.1:${CS_PG_PORT:-55432} only, unix socket inside that folder, trust
# auth, with a superuser role `countersign` (tests CREATE DATABASE) and a
# database `countersign`. Installs Debian's `postgresql` when missing.
# Idempotent: a running cluster is left alone; a stopped or crashed one
# (stale postmaster.pid) is started again.
#
# Usage: tools/pg.sh start|stop|url|status
#   start   last stdout line is the URL, postgres://countersign@127.0.0.1:PORT/countersign
#   stop    stops the cluster if it is running
#   url     prints the URL
# Env: CS_PG_DIR  folder holding data/, sock/, postgres.log (default target/pg)
#      CS_PG_PORT TCP port (default 55432)
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)

base=${CS_PG_DIR:-$root_dir/target/pg}
port=${CS_PG_PORT:-55432}
data=$base/data
sock=$base/sock
log=$base/postgres.log
role=countersign
db=countersign

url() { echo "postgres://$role@127.0.0.1:$1/$db"; }
say() { echo "pg.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# Run a server binary as the cluster's owner: initdb and postgres refuse root.
# fd 9 (the lock, see lock()) is closed so the postmaster does not inherit it.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    (cd "$base" && runuser -u postgres -- "$@" 9>&-)
  else
    (cd "$base" && "$@" 9>&-)
  fi
}

# The bin folder of the installed server, matching the data folder's major
# version when a cluster already exists.
find_bin() {
  local want="" v
  [ -f "$data/PG_VERSION" ] && want=$(cat "$data/PG_VERSION")
  if [ -n "$want" ]; then
    [ -x "/usr/lib/postgresql/$want/bin/postgres" ] \
      || die "$data was made by PostgreSQL $want, which is not installed (remove $base to start over)"
    echo "/usr/lib/postgresql/$want/bin"
    return
  fi
  v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | while read -r d; do
        [ -x "/usr/lib/postgresql/$d/bin/initdb" ] && echo "$d"; done | tail -n 1)
  [ -n "$v" ] && echo "/usr/lib/postgresql/$v/bin"
  return 0
}

install_pg() {
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and this is not root: apt-get install postgresql"
  say "installing Debian package postgresql"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends postgresql >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
  fi
}

# 0 when a postmaster for OUR data folder is alive. pg_ctl status alone trusts
# any live process with the pid in postmaster.pid, which after a crash or a
# machine restart can be an unrelated process, so check its cwd too.
running() {
  local pid
  [ -f "$data/postmaster.pid" ] || return 1
  pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -d "/proc/$pid" ] || return 1
  [ "$(readlink -f "/proc/$pid/cwd" 2>/dev/null)" = "$(readlink -f "$data")" ] || return 1
  as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# Port the running cluster listens on (line 4 of postmaster.pid).
running_port() { sed -n 4p "$data/postmaster.pid"; }

ensure_initdb() {
  [ -f "$data/PG_VERSION" ] && return 0
  mkdir -p "$base"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$base"; fi
  # Into a side folder, renamed when complete: an interrupted initdb leaves
  # no half-made data folder behind.
  rm -rf "$base/data.init" "$data"
  say "initdb $data"
  as_owner "$bin/initdb" -D "$base/data.init" --username=postgres \
    --auth-local=trust --auth-host=trust --encoding=UTF8 --locale=C \
    --no-instructions >"$base/initdb.log" 2>&1 \
    || { cat "$base/initdb.log" >&2; die "initdb failed"; }
  mv "$base/data.init" "$data"
}

start() {
  bin=$(find_bin)
  if [ -z "$bin" ]; then
    install_pg
    bin=$(find_bin)
    [ -n "$bin" ] || die "no /usr/lib/postgresql/*/bin/initdb after installing postgresql"
  fi
  mkdir -p "$base"
  ensure_initdb
  mkdir -p "$sock"
  if [ "$(id -u)" = 0 ] && [ -n "$(find "$base" ! -user postgres -print -quit)" ]; then
    chown -R postgres:postgres "$base"
  fi

  if running; then
    port=$(running_port)
    say "already running ($bin, port $port)"
  else
    # Leftovers of a crash: a postmaster.pid and socket lock files naming a
    # dead (or reused) pid. running() said no postmaster of ours is alive.
    rm -f "$data/postmaster.pid" "$sock"/.s.PGSQL.*
    say "starting ($bin, 127.0.0.1:$port, log $log)"
    as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$sock'" \
      start >&2 || { tail -n 30 "$log" >&2; die "pg_ctl start failed"; }
  fi

  local i
  for i in $(seq 1 120); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres && break
    [ "$i" = 120 ] && { tail -n 30 "$log" >&2; die "not accepting connections on 127.0.0.1:$port"; }
    sleep 0.5
  done

  psql_su() { "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "$1"; }
  if [ "$(psql_su "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" != 1 ]; then
    say "creating role $role"
    psql_su "CREATE ROLE $role LOGIN SUPERUSER"
  fi
  if [ "$(psql_su "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    say "creating database $db"
    psql_su "CREATE DATABASE $db OWNER $role"
  fi
  url "$port"
}

stop() {
  bin=$(find_bin)
  if [ -z "$bin" ] || [ ! -f "$data/PG_VERSION" ]; then
    say "no cluster at $data"
    return 0
  fi
  if running; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >&2
  else
    say "not running"
  fi
}

status() {
  bin=$(find_bin)
  if [ -n "$bin" ] && [ -f "$data/PG_VERSION" ] && running; then
    say "running on port $(running_port)"
  else
    say "not running"
    return 3
  fi
}

# One pg.sh start/stop at a time per cluster folder (two test runs starting
# at once must not both run initdb or pg_ctl start).
lock() {
  mkdir -p "$base"
  exec 9>"$base/.lock"
  flock 9
}

case "${1:-}" in
  start) lock; start ;;
  stop) if [ -d "$base" ]; then lock; fi; stop ;;
  url) bin=$(find_bin)
       if [ -n "$bin" ] && running; then port=$(running_port); fi
       url "$port" ;;
  status) status ;;
  -h|--help) sed -n '2,16p' "$0" ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
