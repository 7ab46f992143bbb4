#!/usr/bin/env bash
# Install everything the suite needs, idempotently: the virtualenv with the
# suite and its pinned Tryton 8.0 dependencies, the sao web client from npm,
# and (with --system) Debian's PostgreSQL and Chromium.  A second run with
# nothing changed returns in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
SAO_VERSION=${SAO_VERSION:-8.0}
# The scanner's camera fallback (served by trytond, no CDN); pinned
ZXING_VERSION=${ZXING_VERSION:-3.1.4}

die() { echo "bootstrap: error: $*" >&2; exit 1; }
say() { echo "bootstrap: $*" >&2; }

want_system=0
for arg in "$@"; do
    case $arg in
        --system) want_system=1 ;;
        *) die "unknown option $arg" ;;
    esac
done

# --- Debian packages ---------------------------------------------------------
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null && SUDO=sudo || \
            die "missing system packages: ${missing[*]} (run as root or: apt-get install ${missing[*]})"
    else
        SUDO=
    fi
    say "installing system packages: ${missing[*]}"
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}
if [ $want_system = 1 ]; then
    apt_install postgresql chromium fonts-noto-cjk poppler-utils
fi
command -v "$PYTHON" >/dev/null || die "$PYTHON not found (install python3 and python3-venv)"
command -v npm >/dev/null || apt_install npm

# --- Python ------------------------------------------------------------------
stamp=$VENV/.suite-installed
hash=$(cat pyproject.toml | sha1sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV" || die "cannot create a virtualenv (apt-get install python3-venv)"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
    say "installing the suite and Tryton 8.0 into $VENV"
    mkdir -p "$ROOT/var"
    { "$VENV/bin/pip" install --upgrade pip setuptools wheel \
        && "$VENV/bin/pip" install -e ".[test]"; } >"$ROOT/var/pip.log" 2>&1 \
        || { tail -20 "$ROOT/var/pip.log" >&2; die "pip install failed (see var/pip.log)"; }
    echo "$hash" > "$stamp"
fi

# --- Web client (sao) ----------------------------------------------------------
SAO=$ROOT/var/sao/package
if [ ! -f "$SAO/.installed" ]; then
    say "installing the web client tryton-sao@$SAO_VERSION from npm"
    rm -rf "$ROOT/var/sao" && mkdir -p "$ROOT/var/sao"
    (cd "$ROOT/var/sao" && npm pack -q "tryton-sao@$SAO_VERSION" >/dev/null \
        && tar xzf tryton-sao-*.tgz && rm tryton-sao-*.tgz) \
        || die "npm pack tryton-sao@$SAO_VERSION failed"
    (cd "$SAO" && npm install --omit=dev --ignore-scripts --legacy-peer-deps \
        --no-audit --no-fund >"$ROOT/var/npm.log" 2>&1) \
        || die "npm install of sao failed (see var/npm.log)"
    touch "$SAO/custom.js" "$SAO/custom.css"
    touch "$SAO/.installed"
fi

# --- Camera fallback of the scanner (zxing-wasm) -------------------------------
ZXING=$ROOT/var/zxing-wasm/package
if [ "$(cat "$ZXING/.installed" 2>/dev/null)" != "$ZXING_VERSION" ]; then
    say "installing the scanner's camera decoder zxing-wasm@$ZXING_VERSION from npm"
    rm -rf "$ROOT/var/zxing-wasm" && mkdir -p "$ROOT/var/zxing-wasm"
    (cd "$ROOT/var/zxing-wasm" && npm pack -q "zxing-wasm@$ZXING_VERSION" >/dev/null \
        && tar xzf zxing-wasm-*.tgz && rm zxing-wasm-*.tgz) \
        || die "npm pack zxing-wasm@$ZXING_VERSION failed"
    [ -f "$ZXING/dist/reader/zxing_reader.wasm" ] && [ -f "$ZXING/dist/iife/reader/index.js" ] \
        || die "zxing-wasm@$ZXING_VERSION has no dist/reader/zxing_reader.wasm"
    echo "$ZXING_VERSION" > "$ZXING/.installed"
fi
