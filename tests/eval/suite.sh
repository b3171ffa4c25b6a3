#!/usr/bin/env bash
# The conversation model's evaluation: the labelled set in tests/eval/set/ (grooming/ holds
# conversations that show grooming patterns, negative/ the hard negatives), scanned whole-file
# and message by message.  Fails when recall at level medium or above falls below 0.97, when
# more than 1 in 40 hard negatives are flagged at medium or above, or when the two scans
# disagree.  The second set, tests/eval/set-new/ (grooming in text speak, gaming chats; see
# make_set.py), is held to its own levels: at most one of its grooming conversations missed
# and one of its negatives flagged.  textspeak.c checks the model's reading of text speak.
# Prints TAP, with the figures as comments.
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh
MIN_RECALL=0.97
MAX_NEG_RATE=0.025
MIN_RECALL_NEW=0.83
MAX_NEG_RATE_NEW=0.125
bin=$WARD_BUILD/eval-harness/eval
mkdir -p "$WARD_BUILD/eval-harness"
pkgs=$(make -s print-LIB_PKGS 2>/dev/null)
t_ok "build the harness" cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude \
	tests/eval/eval.c "$WARD_BUILD/libward.a" $(pkg-config --libs $pkgs) -lgif -lm -lpthread -o "$bin"
t_ok "build the text-speak check" cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude -Ilib \
	tests/eval/textspeak.c "$WARD_BUILD/libward.a" $(pkg-config --libs $pkgs) -lgif -lm -lpthread \
	-o "$WARD_BUILD/eval-harness/textspeak"
"$WARD_BUILD/eval-harness/textspeak" >"$t_tmp/ts.out" 2>&1
t_result $? "text speak: the word finder agrees with a byte-by-byte reading, offsets map back"
sed 's/^/# /' "$t_tmp/ts.out" | tail -20
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
# evaluate NAME DIR MIN_RECALL MAX_NEG_RATE [MIN_EACH]
evaluate() {
	local name=$1 dir=$2 minr=$3 maxn=$4 each=${5:-1} out=$t_tmp/$1.out
	"$bin" rules "$dir/grooming" "$dir/negative" >"$out" 2>&1
	t_result $? "$name: harness runs over the labelled set"
	sed 's/^/# /' "$out"
	val() { awk -v k="$1" '$1 == k { print $2 }' "$out"; }
	local npos nneg
	npos=$(val grooming); nneg=$(val negatives)
	t_result $([ "${npos:-0}" -ge "$each" ] && [ "${nneg:-0}" -ge "$each" ]; echo $?) \
		"$name: at least $each grooming and $each negative conversations ($npos, $nneg)"
	t_result $(ge "$(val recall)" "$minr"; echo $?) "$name: recall at medium $(val recall) >= $minr"
	t_result $([ -n "$(val negative_flag_rate)" ] && ge "$maxn" "$(val negative_flag_rate)"; echo $?) \
		"$name: hard negatives flagged at medium $(val negative_flag_rate) <= $maxn"
	t_result $([ "$(val mismatches)" = 0 ]; echo $?) "$name: incremental and whole-file scans agree"
	t_result $([ "$(val errors)" = 0 ]; echo $?) "$name: every file read"
	echo "# $name: precision $(val precision), median message of first flag $(val median_first_flag)"
}
evaluate set tests/eval/set $MIN_RECALL $MAX_NEG_RATE 40
evaluate set-new tests/eval/set-new $MIN_RECALL_NEW $MAX_NEG_RATE_NEW 6
t_done
