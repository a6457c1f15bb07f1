#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests marked `postgres`, from Debian's `postgresql` binaries.
#
#   scripts/postgres.sh start    initialise (once) and start it; fine when it already runs
#   scripts/postgres.sh stop     stop it and delete its data; fine when it is not running
#   scripts/postgres.sh status   exit 0 when it runs
#   scripts/postgres.sh url      print the URL for DJANGO_SLACK_BOLT_TEST_POSTGRES
#
# It installs nothing (`apt-get install postgresql` does, see .ci/run). The server listens on
# 127.0.0.1 only, trusts every local connection, and trades durability for speed (fsync=off):
# never point it at data you want to keep. PG_PORT and PG_DIR override the port and data dir.
set -euo pipefail

PORT="${PG_PORT:-54329}"
DATA_DIR="${PG_DIR:-${TMPDIR:-/tmp}/django-slack-bolt-postgres-$PORT}"
LOG_FILE="$DATA_DIR/server.log"
URL="postgresql://postgres@127.0.0.1:$PORT/postgres"

die() {
    echo "postgres.sh: $*" >&2
    exit 1
}

# The newest Debian server binaries; /usr/local/bin or PATH may hold symlinks to them, used only
# when /usr/lib/postgresql has none.
find_bindir() {
    local dir best="" best_version=-1 version
    for dir in /usr/lib/postgresql/*/bin; do
        version="${dir#/usr/lib/postgresql/}"
        version="${version%/bin}"
        [[ "$version" =~ ^[0-9]+$ ]] || continue
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]] && ((version > best_version)); then
            best="$dir"
            best_version="$version"
        fi
    done
    if [[ -z "$best" ]] && command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
        best="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
    fi
    [[ -n "$best" ]] || die "no PostgreSQL server binaries (initdb, pg_ctl) found: apt-get install postgresql"
    echo "$best"
}

# PostgreSQL refuses to run as root: run its tools as the `postgres` user then, from a directory
# it may enter, with a plain C locale so that an unusual LANG cannot make initdb fail.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the server as: apt-get install postgresql"
        (cd / && LC_ALL=C LANG=C runuser -u postgres -- "$@")
    else
        (cd / && LC_ALL=C LANG=C "$@")
    fi
}

is_running() {
    [[ -f "$DATA_DIR/PG_VERSION" ]] && as_owner "$BINDIR/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1
}

start() {
    if is_running; then
        echo "PostgreSQL already running at $URL"
        return 0
    fi
    if [[ ! -f "$DATA_DIR/PG_VERSION" ]]; then
        rm -rf "$DATA_DIR"
        mkdir -p "$DATA_DIR"
        chmod 700 "$DATA_DIR"
        if [[ "$(id -u)" == 0 ]]; then
            chown postgres:postgres "$DATA_DIR"
        fi
        as_owner "$BINDIR/initdb" -D "$DATA_DIR" -U postgres --auth=trust --encoding=UTF8 --no-locale \
            --no-sync >"$DATA_DIR.initdb.log" 2>&1 || {
            cat "$DATA_DIR.initdb.log" >&2
            die "initdb failed"
        }
        rm -f "$DATA_DIR.initdb.log"
    fi
    local options="-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DATA_DIR"
    options+=" -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if ! as_owner "$BINDIR/pg_ctl" start -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 -o "$options" >/dev/null; then
        tail -n 30 "$LOG_FILE" >&2 || true
        die "the server did not start (port $PORT taken?)"
    fi
    echo "PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') running at $URL (data in $DATA_DIR)"
}

stop() {
    if is_running; then
        as_owner "$BINDIR/pg_ctl" stop -D "$DATA_DIR" -m fast -w -t 60 >/dev/null
    fi
    rm -rf "$DATA_DIR" "$DATA_DIR.initdb.log"
    echo "PostgreSQL on port $PORT stopped"
}

case "${1:-}" in
    start | stop | status) BINDIR="$(find_bindir)" ;;
    url)
        echo "$URL"
        exit 0
        ;;
    *) die "usage: $0 start|stop|status|url" ;;
esac
case "$1" in
    start) start ;;
    stop) stop ;;
    status)
        if is_running; then
            echo "PostgreSQL running at $URL"
        else
            echo "PostgreSQL not running on port $PORT"
            exit 1
        fi
        ;;
esac
