#!/usr/bin/env bash
# Run every test of the suite: module tests, scenario doctests and algorithm
# tests on SQLite, then the same on a throwaway PostgreSQL server started
# here, then the browser tests in headless Chromium.  Prints one closing line
# "total: N passed, N failed, N skipped"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
die() { echo "test: error: $*" >&2; exit 1; }
scripts/bootstrap.sh --system || exit 1
PY=$ROOT/.venv/bin/python
ART=$ROOT/tests/artifacts
mkdir -p "$ART" "$ROOT/.cache"
export PYTHONDONTWRITEBYTECODE=1
# Tryton's test databases are cached per module set and reused across tests;
# a change of the module sources invalidates the cache.
hash=$(find addons -name '*.py' -o -name '*.xml' -o -name '*.cfg' -o -name '*.po' \
    | sort | xargs cat | sha1sum | cut -c1-16)
if [ "$(cat .cache/code.hash 2>/dev/null)" != "$hash" ]; then
    rm -rf .cache/db-sqlite; echo "$hash" > .cache/code.hash
fi

declare -A PASSED FAILED SKIPPED DURATION
run_stage() {  # run_stage NAME COMMAND... : output to tests/artifacts/NAME.log
    local name=$1; shift
    local start=$SECONDS
    "$@" >"$ART/$name.log" 2>&1
    echo "$? $((SECONDS - start))" >"$ART/$name.rc"
}
collect() {  # collect NAME : print the stage's log, read its closing line
    local name=$1 rc=1 secs=0 line
    echo "=== $name ===" >&2
    cat "$ART/$name.log" >&2
    [ -f "$ART/$name.rc" ] && read -r rc secs <"$ART/$name.rc"
    DURATION[$name]=$secs
    line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$ART/$name.log" | tail -1)
    if [ -n "$line" ]; then
        PASSED[$name]=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")
        FAILED[$name]=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
        SKIPPED[$name]=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line"); SKIPPED[$name]=${SKIPPED[$name]:-0}
    else
        PASSED[$name]=0; FAILED[$name]=1; SKIPPED[$name]=0
    fi
    [ "$rc" = 0 ] || [ "${FAILED[$name]}" != 0 ] || FAILED[$name]=1
}
rm -f "$ART"/*.rc

# 1 and 2, side by side (one core each): SQLite, and PostgreSQL on a
# throwaway cluster stopped and removed afterwards.  Pure-code tests
# (BACKEND_INDEPENDENT) run on SQLite only.
PGDIR=$(mktemp -d /tmp/inventory-pg.XXXXXX)
trap 'scripts/pg.sh stop "$PGDIR"' EXIT
echo "=== sqlite and postgresql (logs in tests/artifacts/) ===" >&2
run_stage sqlite env -u TRYTOND_DATABASE_URI DB_CACHE="$ROOT/.cache/db-sqlite" \
    "$PY" tests/run.py --label sqlite &
sqlite_pid=$!
if URI=$(scripts/pg.sh start "$PGDIR"); then
    run_stage postgresql env TRYTOND_DATABASE_URI="$URI/" DB_CACHE="$URI" \
        DB_NAME=test_suite "$PY" tests/run.py --label postgresql --database-only
else
    echo "postgresql: PostgreSQL could not be started" >"$ART/postgresql.log"
fi
wait "$sqlite_pid"
collect sqlite
collect postgresql
scripts/pg.sh stop "$PGDIR"; trap - EXIT

# 3. Browser tests in headless Chromium (Debian's package, no download)
run_stage browser "$PY" -m pytest -q -p no:cacheprovider tests/browser \
    --junitxml="$ART/browser.xml" -o junit_family=xunit2 \
    --label-line browser
collect browser

total_p=0; total_f=0; total_s=0
echo >&2
printf '%-12s %8s %8s %8s %8s\n' stage passed failed skipped seconds >&2
for name in sqlite postgresql browser; do
    printf '%-12s %8s %8s %8s %8s\n' "$name" "${PASSED[$name]}" "${FAILED[$name]}" \
        "${SKIPPED[$name]}" "${DURATION[$name]}" >&2
    total_p=$((total_p + PASSED[$name])); total_f=$((total_f + FAILED[$name]))
    total_s=$((total_s + SKIPPED[$name]))
done
echo "total: $total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" = 0 ] && [ "$total_p" -gt 0 ]
