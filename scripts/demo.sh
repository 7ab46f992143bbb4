#!/usr/bin/env bash
# Rebuild a demo database from scratch: `make demo` (database `demo`) or
# `make demo SCALE=100` (database `demo_s100`: 100k products, 20k bins,
# 1M stock moves, for benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-1}
[[ $SCALE =~ ^[0-9]+$ ]] && [ "$SCALE" -ge 1 ] || { echo "demo: error: SCALE must be a positive integer, not '$SCALE'" >&2; exit 1; }
if [ "$SCALE" = 1 ]; then DB=demo; else DB=demo_s$SCALE; fi
rm -f "var/db/$DB.sqlite" "var/db/$DB.hash"
DB=$DB SCALE=$SCALE exec scripts/serve.sh --prepare-only
