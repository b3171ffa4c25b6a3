#!/usr/bin/env bash
# The browser suite: a real wardd on a free loopback port with a temporary data directory, and
# Debian's chromium driven by playwright-core (no browser download); axe-core checks every page.
# Screenshots go to build/test-artefacts/web/.  Prints TAP.
# sanitizers: yes
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export WARD_BUILD=${WARD_BUILD:-$top/build}
export WARD_TOP=$top
export WARD_ARTEFACTS=${WARD_ARTEFACTS:-$top/build/test-artefacts/web}
if [ ! -x "$WARD_BUILD/wardd" ] || [ ! -x "$WARD_BUILD/ward" ] || [ ! -f "$WARD_BUILD/web/index.html" ]; then
	echo "not ok 1 - wardd, ward and the web files are built in $WARD_BUILD"; echo "1..1"; exit 1
fi
for c in /usr/lib/chromium/chromium /usr/bin/chromium; do
	[ -x "$c" ] && { export WARD_CHROMIUM=${WARD_CHROMIUM:-$c}; break; }
done
if [ -z "${WARD_CHROMIUM:-}" ]; then
	echo "not ok 1 - Debian's chromium is installed (scripts/deps.sh)"; echo "1..1"; exit 1
fi
# playwright-core and axe-core from npm, pinned by package-lock.json; the browser is Debian's.
if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -d "$here/node_modules/axe-core" ]; then
	(cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent) >&2 || {
		echo "not ok 1 - npm ci in tests/web (playwright-core, axe-core)"; echo "1..1"; exit 1; }
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export WARD_API_TMP=$tmp
mkdir -p "$WARD_ARTEFACTS"
exec node --test --test-concurrency=1 --test-reporter=tap "$here/"*.test.mjs
