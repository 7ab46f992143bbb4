#!/usr/bin/env bash
# Serve the suite: SQLite database `demo` with the four modules and demo
# data, the web client and the scanner app on http://127.0.0.1:$PORT.
# First run installs everything (a few minutes); later runs start in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
DB=${DB:-demo}
MODULES="inventory_flow inventory_qc inventory_wave inventory_alerts"
SCALE=${SCALE:-1}
PREPARE_ONLY=0
[ "${1:-}" = "--prepare-only" ] && PREPARE_ONLY=1
die() { echo "serve: error: $*" >&2; exit 1; }
say() { echo "serve: $*" >&2; }

[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] \
    || die "PORT must be a number between 1 and 65535, not '$PORT'"
scripts/bootstrap.sh
PY=$ROOT/.venv/bin/python

# Refuse a busy port before doing anything slow
[ $PREPARE_ONLY = 1 ] || "$PY" - "$HOST" "$PORT" <<'PYEOF' || die "port $PORT on $HOST is already in use (choose another: make serve PORT=8010)"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
PYEOF

mkdir -p var/db
CONF=var/local.conf
cat > "$CONF" <<CONFEOF
# Written by scripts/serve.sh: this machine's paths and the port.
[database]
path = $ROOT/var/db

[web]
listen = $HOST:$PORT
root = $ROOT/var/sao/package

[scanner]
zxing_root = $ROOT/var/zxing-wasm/package
CONFEOF
ADMIN=("$ROOT/.venv/bin/trytond-admin" -c config/trytond.conf -c "$CONF" -d "$DB")
DBFILE=var/db/$DB.sqlite
code_hash() {
    find addons -name '*.py' -o -name '*.xml' -o -name '*.cfg' -o -name '*.po' \
        | sort | xargs cat | sha1sum | cut -c1-16
}

if [ -f "$DBFILE" ]; then
    series=$("$PY" -c "
import sqlite3, sys
try:
    print(sqlite3.connect(sys.argv[1]).execute(
        'SELECT series FROM ir_configuration').fetchone()[0] or '')
except Exception:
    print('unknown')" "$DBFILE")
    if [ "$series" != "8.0" ]; then
        die "database $DBFILE was made by Tryton '$series', not 8.0: move it away (or run: make clean-demo) and start again"
    fi
    if [ "$(cat "var/db/$DB.hash" 2>/dev/null)" != "$(code_hash)" ]; then
        say "the modules changed: updating database $DB"
        "${ADMIN[@]}" -u $MODULES >var/db/$DB.update.log 2>&1 \
            || { tail -20 var/db/$DB.update.log >&2; die "update of $DB failed (see var/db/$DB.update.log)"; }
        code_hash > "var/db/$DB.hash"
    fi
else
    say "creating database $DB with the suite and demo data (about a minute)"
    : > "$DBFILE"
    PASSFILE=$(mktemp); echo admin > "$PASSFILE"
    if ! TRYTONPASSFILE=$PASSFILE "${ADMIN[@]}" --all --email admin@example.com \
            -u $MODULES --activate-dependencies >var/db/$DB.install.log 2>&1; then
        rm -f "$PASSFILE" "$DBFILE"
        tail -20 var/db/$DB.install.log >&2
        die "creating database $DB failed (see var/db/$DB.install.log)"
    fi
    rm -f "$PASSFILE"
    if ! "$PY" scripts/demo.py -c config/trytond.conf -c "$CONF" -d "$DB" --scale "$SCALE"; then
        mv "$DBFILE" "$DBFILE.failed"
        die "loading demo data failed; the database was moved to $DBFILE.failed"
    fi
    code_hash > "var/db/$DB.hash"
fi
[ $PREPARE_ONLY = 1 ] && { say "database $DB is ready ($DBFILE)"; exit 0; }

cat >&2 <<MSG

  Inventory flow suite — database "$DB" (SQLite, demo data)
  Web client:   http://$HOST:$PORT/
  Scanner app:  http://$HOST:$PORT/$DB/scanner/   (receive DEMO-DN-1, then put away)
  Logins (demo database only, password = login):
    admin        everything
    manager      Warehouse manager     operator     Warehouse operator
    buyer        Buyer                 approver     Approver
    inspector    QC inspector          finance      Finance
    operator_zh  Warehouse operator, in Chinese (zh_CN)
    integration  Integration (API)
  Order API:    http://$HOST:$PORT/$DB/inventory/api/v1/orders   (channel WEB,
                Authorization: Bearer demo-inventory-api-key; docs/api/openapi.yaml)
  Stop with Ctrl-C.

MSG
exec "$ROOT/.venv/bin/trytond" -c config/trytond.conf -c "$CONF" -d "$DB"
