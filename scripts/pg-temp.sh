#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: a fresh cluster in a temporary
# directory, listening on a free port on 127.0.0.1 only, trust authentication on loopback only,
# superuser `sesshu`, database `sesshu`. Its URL is postgres://sesshu@127.0.0.1:PORT/sesshu.
#
# Three ways to use it:
#
#   scripts/pg-temp.sh -- CMD ARGS...
#       Starts a cluster, runs CMD with SESSHU_TEST_PG_URL set to its URL, stops and deletes the
#       cluster, exits with CMD's exit code. The URL is printed on stderr so that CMD's stdout
#       (a benchmark's JSON line) stays clean.
#
#   eval "$(scripts/pg-temp.sh --start)"
#   ...  (SESSHU_TEST_PG_URL and SESSHU_PG_TEMP_DIR are now exported)
#   scripts/pg-temp.sh --stop "$SESSHU_PG_TEMP_DIR"
#       For a script that needs the cluster across several steps. `--start` prints the two
#       `export` lines on stdout and leaves the cluster running; `--stop DIR` stops it and
#       deletes DIR (only a directory this script made: it carries a marker file).
#
#   scripts/pg-temp.sh
#       Starts a cluster, prints its URL on stdout and keeps it until Ctrl-C or SIGTERM.
#
# The cluster is for throwaway data only: fsync, synchronous_commit and full_page_writes are off
# (a crash may lose or corrupt it, which does not matter for data deleted at exit and makes
# start-up and tests faster). Never point it at data worth keeping.
#
# Running as root (CI, these machines): initdb and postgres refuse root, so both run as the
# `postgres` system user made by Debian's `postgresql` package (`runuser -u postgres`), and the
# temporary directory, under /tmp so that user can reach it, is owned by it. As another user
# they run as that user. The binaries are the newest /usr/lib/postgresql/*/bin, or PG_BIN.
# Needs no stdin and no network beyond loopback; PG_TEMP_TIMEOUT (seconds, default 30) bounds
# the wait for the server to accept connections.
set -euo pipefail

PG_USER=sesshu
PG_DB=sesshu
TIMEOUT=${PG_TEMP_TIMEOUT:-30}
MARKER=.sesshu-pg-temp

die() { echo "pg-temp: $*" >&2; exit 1; }

find_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  die "no PostgreSQL server binaries (initdb) found: install Debian's postgresql package (scripts/setup.sh test does) or set PG_BIN"
}

# as_pg CMD...: runs CMD as the user that owns the cluster, from a directory it can read.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# port_in_use PORT: whether something already listens on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start: makes and starts a cluster; sets DIR and URL.
start() {
  local bin t0 port tries ready=0
  bin=$(find_bin)
  t0=$(date +%s%N)
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 \
      || die "running as root needs the 'postgres' system user (made by Debian's postgresql package)"
    DIR=$(mktemp -d /tmp/sesshu-pg.XXXXXX)
    chown postgres: "$DIR"
  else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/sesshu-pg.XXXXXX")
  fi
  touch "$DIR/$MARKER"
  chmod 0700 "$DIR"
  if ! as_pg "$bin/initdb" -D "$DIR/data" -U "$PG_USER" --auth=trust -E UTF8 --locale=C \
      --no-sync >"$DIR/initdb.log" 2>&1; then
    cat "$DIR/initdb.log" >&2
    rm -rf "$DIR"
    die "initdb failed (log above)"
  fi
  # Loopback only, over TCP; the Unix socket lives in the private directory.
  cat >"$DIR/data/pg_hba.conf" <<EOF
local all all trust
host  all all 127.0.0.1/32 trust
EOF
  [ "$(id -u)" -ne 0 ] || chown postgres: "$DIR/data/pg_hba.conf"

  # A random port, checked free; if another process takes it before the server binds, the
  # server exits and the next port is tried.
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_in_use "$port" && continue
    as_pg "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -W \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR \
          -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
          -c max_connections=200 -c shared_buffers=128MB" start >/dev/null
    ready=0
    local deadline=$(( $(date +%s) + TIMEOUT ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
      if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres -t 1; then
        ready=1; break
      fi
      # The server gave up (port taken, bad setting): no use waiting.
      if ! as_pg "$bin/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1 \
          && grep -q "could not bind\|could not create listen socket" "$DIR/server.log" 2>/dev/null; then
        break
      fi
      sleep 0.1
    done
    if [ "$ready" -eq 1 ]; then break; fi
    if grep -q "could not bind\|could not create listen socket" "$DIR/server.log" 2>/dev/null; then
      : > "$DIR/server.log"
      continue
    fi
    cat "$DIR/server.log" >&2 || true
    stop_dir "$DIR"
    die "the PostgreSQL server did not accept connections on 127.0.0.1:$port within ${TIMEOUT} s (server log above)"
  done
  if [ "$ready" -ne 1 ]; then
    stop_dir "$DIR"
    die "no free port found for the PostgreSQL server after $tries tries"
  fi
  if ! "$bin/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres \
      -c "CREATE DATABASE $PG_DB" >/dev/null 2>"$DIR/psql.log"; then
    cat "$DIR/psql.log" >&2
    stop_dir "$DIR"
    die "could not create database $PG_DB"
  fi
  echo "$bin" >"$DIR/bin"
  URL="postgres://$PG_USER@127.0.0.1:$port/$PG_DB"
  echo "pg-temp: PostgreSQL $(basename "$(dirname "$bin")") at $URL in $DIR, ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
}

# stop_dir DIR: stops the cluster in DIR (if running) and deletes DIR.
stop_dir() {
  local dir=$1 bin
  [ -d "$dir" ] || return 0
  [ -e "$dir/$MARKER" ] || die "$dir is not a directory made by pg-temp.sh: not deleting it"
  bin=$(cat "$dir/bin" 2>/dev/null || find_bin)
  if [ -e "$dir/data/postmaster.pid" ]; then
    # Immediate: the data is deleted next, nothing to flush.
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  --)
    shift
    [ $# -gt 0 ] || die "usage: pg-temp.sh -- CMD ARGS..."
    start
    trap 'stop_dir "$DIR"' EXIT
    # CMD runs in the background so that a SIGTERM sent to this script alone is passed on at
    # once (bash runs traps only between commands); stdin is handed to it explicitly, since a
    # background command would otherwise read /dev/null.
    { exec 3<&0; } 2>/dev/null || exec 3</dev/null
    SESSHU_TEST_PG_URL=$URL "$@" <&3 3<&- &
    child=$!
    exec 3<&-
    trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM
    rc=0
    wait "$child" || rc=$?
    # A trapped signal ends `wait` early: wait for CMD itself to finish.
    while kill -0 "$child" 2>/dev/null; do
      rc=0
      wait "$child" || rc=$?
    done
    exit "$rc"
    ;;
  --start)
    start
    printf "export SESSHU_TEST_PG_URL='%s'\nexport SESSHU_PG_TEMP_DIR='%s'\n" "$URL" "$DIR"
    ;;
  --stop)
    [ $# -eq 2 ] || die "usage: pg-temp.sh --stop DIR"
    stop_dir "$2"
    ;;
  "")
    start
    trap 'stop_dir "$DIR"' EXIT
    trap 'exit 0' INT TERM
    echo "$URL"
    echo "pg-temp: running; Ctrl-C stops and deletes it" >&2
    while true; do sleep 1; done
    ;;
  *)
    die "usage: pg-temp.sh [-- CMD ARGS... | --start | --stop DIR] (see the top of this file)"
    ;;
esac
