#!/usr/bin/env bash
# bench/run.sh (`make bench`): runs every bench/*/run.sh in name order.  Each prints ward's
# figures beside its peer's, from the same run, and the ratio.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
for b in bench/*/run.sh; do
	[ -x "$b" ] || continue
	echo "== ${b%/run.sh}"
	"$b" || { echo "${b%/run.sh}: failed"; rc=1; }
	echo
done
exit $rc
