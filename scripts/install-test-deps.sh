#!/usr/bin/env bash
# System packages and Node modules the test suite needs; safe to run again (it skips what is there).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
# The browser tests drive Debian's Chromium: no test tool may download a browser of its own.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if ((${#need_apt[@]})); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing ${need_apt[*]} with apt-get" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "Missing ${need_apt[*]}: install them (tests that need them are skipped)" >&2
    fi
fi

# Building the web UI needs Node 20+ (Vite 7); older Debian releases package Node 18.
if command -v node >/dev/null 2>&1 \
    && ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
    echo "Node.js $(node --version) is too old to build the web UI: install Node 20 or newer" >&2
fi

if [ -f tests/agui/package.json ] && command -v npm >/dev/null 2>&1; then
    if [ ! -d tests/agui/node_modules ] || [ tests/agui/package-lock.json -nt tests/agui/node_modules ]; then
        (cd tests/agui && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi
