#!/usr/bin/env bash
# Provides a PostgreSQL server for the tests at PREKEYD_TEST_PG_URL.
#
#   scripts/ci-postgres.sh CMD...     run CMD with PREKEYD_TEST_PG_URL set (the server this script
#                                     started, if any, is stopped afterwards)
#   eval "$(scripts/ci-postgres.sh)"  export PREKEYD_TEST_PG_URL into the calling shell (server keeps running)
#   scripts/ci-postgres.sh --stop     stop the server this script started
#
# If PREKEYD_TEST_PG_URL is already set it is only checked. Otherwise a throwaway PostgreSQL 15
# cluster (trust auth, 127.0.0.1 only) is initialised in $PREKEYD_CI_PG_DIR (default
# /tmp/prekeyd-ci-pg) and started on $PREKEYD_CI_PG_PORT (default 54329). Any failure exits
# non-zero with the reason: the PostgreSQL tests must never be skipped silently.
set -euo pipefail

PORT="${PREKEYD_CI_PG_PORT:-54329}"
DATA="${PREKEYD_CI_PG_DIR:-/tmp/prekeyd-ci-pg}"
DBNAME=prekeyd_test
LOG="$DATA.log"

fail() { echo "ci-postgres: $*" >&2; exit 1; }
say() { echo "ci-postgres: $*" >&2; }

find_bin() {
  local name="$1" dir
  for dir in /usr/lib/postgresql/15/bin /usr/local/pgsql/bin; do
    [ -x "$dir/$name" ] && { echo "$dir/$name"; return 0; }
  done
  command -v "$name" 2>/dev/null || return 1
}

# Runs a PostgreSQL server binary as the postgres user when we are root (initdb refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || fail "running as root but there is no 'postgres' user to run the server as"
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

check_url() {
  local url="$1" psql
  psql="$(find_bin psql)" || fail "psql not found"
  for _ in $(seq 1 50); do
    if "$psql" "$url" -Atqc 'select 1' >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  "$psql" "$url" -Atqc 'select 1' >&2 || true
  fail "PostgreSQL at $url is unreachable"
}

start_local() {
  local initdb pg_ctl psql
  initdb="$(find_bin initdb)" || fail "initdb not found (install PostgreSQL 15 or set PREKEYD_TEST_PG_URL)"
  pg_ctl="$(find_bin pg_ctl)" || fail "pg_ctl not found"
  psql="$(find_bin psql)" || fail "psql not found"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    say "initialising a cluster in $DATA"
    mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres "$DATA" && touch "$LOG" && chown postgres "$LOG"
    as_pg "$initdb" -D "$DATA" --auth=trust --username=postgres --encoding=UTF8 --locale=C.UTF-8 >"$LOG" 2>&1 \
      || { cat "$LOG" >&2; fail "initdb failed"; }
  fi
  if ! as_pg "$pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    say "starting PostgreSQL on 127.0.0.1:$PORT"
    as_pg "$pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on -c synchronous_commit=on" start >&2 \
      || { tail -n 30 "$LOG" >&2; fail "PostgreSQL did not start"; }
  fi
  local admin="postgres://postgres@127.0.0.1:$PORT/postgres"
  check_url "$admin"
  if [ "$("$psql" "$admin" -Atqc "select 1 from pg_database where datname = '$DBNAME'")" != 1 ]; then
    "$psql" "$admin" -qc "create database $DBNAME" >&2 || fail "could not create database $DBNAME"
  fi
  PREKEYD_TEST_PG_URL="postgres://postgres@127.0.0.1:$PORT/$DBNAME"
}

stop_local() {
  local pg_ctl
  pg_ctl="$(find_bin pg_ctl)" || return 0
  [ -f "$DATA/PG_VERSION" ] && as_pg "$pg_ctl" -D "$DATA" -m fast -w stop >&2 || true
}

if [ "${1:-}" = "--stop" ]; then stop_local; exit 0; fi

started=0
if [ -n "${PREKEYD_TEST_PG_URL:-}" ]; then
  check_url "$PREKEYD_TEST_PG_URL"
else
  start_local
  started=1
fi
export PREKEYD_TEST_PG_URL
say "PREKEYD_TEST_PG_URL=$PREKEYD_TEST_PG_URL"

if [ $# -eq 0 ]; then
  printf 'export PREKEYD_TEST_PG_URL=%q\n' "$PREKEYD_TEST_PG_URL"
  exit 0
fi
status=0
"$@" || status=$?
[ "$started" = 1 ] && stop_local
exit "$status"
