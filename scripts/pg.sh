#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 and a free port, for tests.
#   scripts/pg.sh start DIR   -> prints the URI postgresql://USER@127.0.0.1:PORT
#   scripts/pg.sh stop DIR    -> stops the server and removes DIR
# As root the cluster runs as the unprivileged `postgres` user.
set -euo pipefail
die() { echo "pg: error: $*" >&2; exit 1; }
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start|stop DIR"
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the server as"
    AS=(runuser -u postgres --); PGUSER=postgres
else
    AS=(); PGUSER=$(id -un)
fi
case $cmd in
start)
    port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
    mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
    "${AS[@]}" "$BIN/initdb" -D "$dir/data" -U "$PGUSER" -A trust -E UTF8 \
        --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    "${AS[@]}" "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; die "server did not start"; }
    echo "postgresql://$PGUSER@127.0.0.1:$port"
    ;;
stop)
    if [ -d "$dir/data" ]; then
        "${AS[@]}" "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*) die "unknown command $cmd" ;;
esac
