#!/usr/bin/env bash
# The API suite: black-box tests against a real wardd on a free loopback port with a temporary
# data directory (node's built-in test runner with fetch).  Prints TAP.
# sanitizers: yes
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
export WARD_BUILD=${WARD_BUILD:-$top/build}
export WARD_TOP=$top
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export WARD_API_TMP=$tmp
if [ ! -x "$WARD_BUILD/wardd" ] || [ ! -x "$WARD_BUILD/ward" ]; then
	echo "not ok 1 - wardd and ward are built in $WARD_BUILD"; echo "1..1"; exit 1
fi
exec node --test --test-reporter=tap "$top/tests/api/"*.test.mjs
