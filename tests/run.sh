#!/usr/bin/env bash
# Runs every test suite and ends with one line: "N passed, N failed".
#
# Suites: the cmocka unit tests (build/tests/test_*), then every executable tests/*/suite.sh
# in name order.  Each prints TAP; this script counts "ok" and "not ok" lines.  Then the unit
# tests and the CLI suite again under ASan+UBSan (build/asan), then a short fuzzing run.
# WARD_TEST_QUICK=1 skips the sanitizer and fuzzing passes.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
O=${O:-build}
log_dir=$O/test-logs
mkdir -p "$log_dir"
passed=0 failed=0 skipped=0
failures=()

# count SUITE LOGFILE: adds the TAP results in LOGFILE to the totals.
count() {
	local name=$1 file=$2 p f s
	p=$(grep -Ec '^[[:space:]]*ok [0-9]+' "$file" | head -1)
	s=$(grep -Ec '^[[:space:]]*ok [0-9]+.*# (SKIP|skip)' "$file" | head -1)
	f=$(grep -Ec '^[[:space:]]*not ok [0-9]+' "$file" | head -1)
	p=$((p - s))
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		failures+=("$name")
		grep -E '^[[:space:]]*not ok [0-9]+' "$file" | sed "s|^|  $name: |"
	fi
	printf '%-28s %4d passed, %d failed%s\n' "$name" "$p" "$f" "$([ "$s" -gt 0 ] && echo ", $s skipped")"
}

# run_suite NAME CMD...: runs CMD, keeps its output in a log, counts it.  A suite that exits
# non-zero without reporting a failure counts as one failure; one that runs past
# WARD_SUITE_TIMEOUT seconds (default 900) is stopped and counts as a failure, so a hang never
# eats the CI's whole time.
run_suite() {
	local name=$1; shift
	local log="$log_dir/${name//\//_}.log"
	timeout -k 30 "${WARD_SUITE_TIMEOUT:-900}" "$@" >"$log" 2>&1
	local rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "not ok 1 - $name stopped after ${WARD_SUITE_TIMEOUT:-900} s" >>"$log"
	fi
	count "$name" "$log"
	if [ $rc -ne 0 ] && ! grep -Eq '^[[:space:]]*not ok' "$log"; then
		echo "not ok 1 - $name exited with status $rc" >>"$log"
		failed=$((failed + 1)); failures+=("$name")
		echo "  $name: exited with status $rc; last lines of $log:"; tail -n 15 "$log" | sed 's/^/    /'
	fi
}

run_units() {
	local dir=$1 tag=$2 t
	for t in "$dir"/tests/test_*; do
		[ -x "$t" ] || continue
		run_suite "$tag$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
	done
}

run_scripts() {
	local tag=$1 s
	for s in tests/*/suite.sh; do
		[ -x "$s" ] || continue
		local name=${s#tests/}; name=${name%/suite.sh}
		if [ -n "$tag" ] && ! grep -q '^# sanitizers: yes' "$s"; then continue; fi
		run_suite "$tag$name" "$s"
	done
}

export WARD_BUILD=$top/$O
run_units "$O" ""
run_scripts ""

if [ -z "${WARD_TEST_QUICK:-}" ]; then
	echo "building with clang, ASan and UBSan in $O/asan ..."
	if make -s O="$O/asan" CC=clang OPTFLAGS="-O1 -g -fno-omit-frame-pointer" \
	        SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" all \
	        >"$log_dir/asan-build.log" 2>&1; then
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		export WARD_BUILD=$top/$O/asan
		run_units "$O/asan" "asan/"
		run_scripts "asan/"
		export WARD_BUILD=$top/$O
	else
		echo "not ok 1 - ASan build failed"; tail -n 30 "$log_dir/asan-build.log"
		failed=$((failed + 1)); failures+=("asan-build")
	fi
	if [ -x tests/fuzz/run.sh ]; then
		run_suite "fuzz" tests/fuzz/run.sh
	fi
fi

echo
if [ ${#failures[@]} -gt 0 ]; then echo "failing suites: ${failures[*]}"; fi
echo "logs in $log_dir"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
