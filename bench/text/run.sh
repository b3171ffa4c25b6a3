#!/usr/bin/env bash
# bench/text: ward scan against GNU grep on the same patterns and the same corpus.
#
# Builds (once, cached in $O/bench/text) a corpus of $WARD_BENCH_MB (default 256) MB of
# ordinary English text with indicator phrases planted in it, exports the rule library's plain
# phrases for grep with `ward rules export-grep`, then times, in the same run:
#   ward scan -q --rules rules CORPUS              (one thread per CPU, the default)
#   ward scan -q --threads 1 --rules rules CORPUS  (one thread)
#   LC_ALL=C grep -E -i -c -f PATTERNS CORPUS
# and prints MB/s for each (wall clock; ward also per CPU second) and the ratio: the headline.
# Then, clearly apart, a like-for-like line: grep with the same phrases expanded by
# bench/text/evasions.pl into expressions that also catch leetspeak, stretched letters and
# separators (part of what ward's normaliser does), timed on the first $WARD_BENCH_EV_MB
# (default 32) MB only, since that grep is slow.
# Targets (DESIGN.md): ward >= 10x grep, and >= 200 MB/s per core end to end.
set -euo pipefail
cd "$(dirname "$0")/../.."
O=${O:-build}
WARD=${WARD:-$O/ward}
. bench/text/corpus.sh
bytes=$(stat -c %s "$corpus")
"$WARD" rules export-grep rules >"$dir/patterns"
npat=$(wc -l <"$dir/patterns")
export WARD_CACHE_DIR=$dir/cache
"$WARD" rules check rules >/dev/null          # compile once; both sides start warm
cat "$corpus" >/dev/null                      # and with the corpus in the page cache

now() { date +%s.%N; }

t0=$(now)
TIMEFORMAT='%U %S'
{ time "$WARD" scan -q --rules rules "$corpus" || [ $? -eq 1 ]; } 2>"$dir/ward.time"
t1=$(now)
ward_cpu=$(awk '{print $1 + $2}' "$dir/ward.time" | tail -1)
ward_found=$("$WARD" scan --json --rules rules "$corpus" | wc -l) || true
t4=$(now)
{ time "$WARD" scan -q --threads 1 --rules rules "$corpus" || [ $? -eq 1 ]; } 2>"$dir/ward1.time"
t5=$(now)
ward1_cpu=$(awk '{print $1 + $2}' "$dir/ward1.time" | tail -1)
t2=$(now)
grep_count=$(LC_ALL=C grep -E -i -c -f "$dir/patterns" "$corpus" || true)
t3=$(now)

# like for like: evasion-tolerant expressions, on a slice
perl bench/text/evasions.pl <"$dir/patterns" >"$dir/patterns-evasions"
nev=$(wc -l <"$dir/patterns-evasions")
evmb=${WARD_BENCH_EV_MB:-32}
[ "$evmb" -gt "$MB" ] && evmb=$MB
head -c $((evmb * 1048576)) "$corpus" >"$dir/slice.txt"
t6=$(now)
ev_count=$(LC_ALL=C grep -E -i -c -f "$dir/patterns-evasions" "$dir/slice.txt" || true)
t7=$(now)

awk -v b="$bytes" -v tw="$(awk "BEGIN{print $t1 - $t0}")" \
    -v cw="$ward_cpu" -v tg="$(awk "BEGIN{print $t3 - $t2}")" -v np="$npat" -v wf="$ward_found" \
    -v gc="$grep_count" -v nc="$(nproc)" -v t1w="$(awk "BEGIN{print $t5 - $t4}")" -v c1="$ward1_cpu" \
    -v te="$(awk "BEGIN{print $t7 - $t6}")" -v evmb="$evmb" -v ne="$nev" -v ec="$ev_count" 'BEGIN {
	mb = b / 1048576
	printf "corpus: %.0f MB, %d grep patterns, %d cores\n", mb, np, nc
	printf "ward scan:           %8.1f MB/s wall, %8.1f MB/s per CPU second (%d findings)\n", mb / tw, mb / cw, wf
	printf "ward scan, 1 thread: %8.1f MB/s wall, %8.1f MB/s per CPU second\n", mb / t1w, mb / c1
	printf "grep -E -i -c -f:    %8.1f MB/s wall (%d matching lines)\n", mb / tg, gc
	printf "ratio ward/grep:     %8.2fx (target >= 10x); ward per core %.0f MB/s (target >= 200)\n", tg / tw, mb / cw
	printf "like for like (not the target): grep with %d evasion-tolerant expressions on the first %d MB:\n", ne, evmb
	printf "grep -E -i -c -f:    %8.1f MB/s wall (%d matching lines); ward/grep %.2fx\n", evmb / te, ec, (mb / tw) / (evmb / te)
}'
