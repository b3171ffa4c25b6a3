#!/usr/bin/env bash
# The conversation model's evaluation: the labelled set in tests/eval/set/ (grooming/ holds
# conversations that show grooming patterns, negative/ the hard negatives), scanned whole-file
# and message by message.  Fails when recall at level medium or above falls below 0.95, when
# more than 1 in 20 hard negatives are flagged at medium or above, or when the two scans
# disagree.  Prints TAP, with the figures as comments.
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh
MIN_RECALL=0.95
MAX_NEG_RATE=0.05
bin=$WARD_BUILD/eval-harness/eval
mkdir -p "$WARD_BUILD/eval-harness"
pkgs=$(make -s print-LIB_PKGS 2>/dev/null)
t_ok "build the harness" cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude \
	tests/eval/eval.c "$WARD_BUILD/libward.a" $(pkg-config --libs $pkgs) -lgif -lm -lpthread -o "$bin"
out=$t_tmp/eval.out
"$bin" rules tests/eval/set/grooming tests/eval/set/negative >"$out" 2>&1
t_result $? "harness runs over the labelled set"
sed 's/^/# /' "$out"
val() { awk -v k="$1" '$1 == k { print $2 }' "$out"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
npos=$(val grooming); nneg=$(val negatives)
t_result $([ "${npos:-0}" -ge 40 ] && [ "${nneg:-0}" -ge 40 ]; echo $?) "at least 40 grooming and 40 negative conversations ($npos, $nneg)"
t_result $(ge "$(val recall)" $MIN_RECALL; echo $?) "recall at medium $(val recall) >= $MIN_RECALL"
t_result $([ -n "$(val negative_flag_rate)" ] && ge $MAX_NEG_RATE "$(val negative_flag_rate)"; echo $?) "hard negatives flagged at medium $(val negative_flag_rate) <= $MAX_NEG_RATE"
t_result $([ "$(val mismatches)" = 0 ]; echo $?) "incremental and whole-file scans agree"
t_result $([ "$(val errors)" = 0 ]; echo $?) "every file read"
echo "# precision $(val precision), median message of first flag $(val median_first_flag)"
t_done
