#!/usr/bin/env bash
# tests/rules/suite.sh: the default rule library (rules/) against its own examples, the evasion
# corpus, the ordinary-text corpus, broken rule files and bad input.  Prints TAP.
# sanitizers: yes
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$WARD_TOP"
export WARD_CACHE_DIR=$t_tmp/cache
RULES=rules
EV=tests/corpus/evasion
ORD=tests/corpus/ordinary
AREAS="adult-content abuse-images-sold exploitation cybersex peer-images household-images grooming live-abuse abuse-images-subject"
# Low findings allowed on the ordinary corpus (about 380 KB): single weak signals such as
# "are you alone?" in a story.  Measured at 151 when this was set; a rule change that pushes
# it past the bound needs a look, not a new bound.
LOW_BOUND=${WARD_LOW_BOUND:-200}

# --- the library itself ------------------------------------------------------------------
t_ok "rules check: the default library parses and compiles" "$WARD" rules check "$RULES"
t_ok "rules test: every inline example behaves" "$WARD" rules test "$RULES"
"$WARD" rules list "$RULES" >"$t_tmp/list" 2>&1
for a in $AREAS; do
	n=$(grep -c -- " $a" "$t_tmp/list")
	[ "$n" -ge 3 ]; t_result $? "rules list: area $a has at least 3 rules ($n)"
done
# every rule of the library (conversation.rules aside) has examples both ways
awk '/^[[:space:]]*rule /{id=$2; p[id]=0; m[id]=0}
     /^[[:space:]]*example\+/{p[id]++} /^[[:space:]]*example-/{m[id]++}
     END{for (i in p) if (p[i] == 0 || m[i] == 0) {print "# " i " lacks examples"; bad=1}; exit bad}' \
	$(ls "$RULES"/*.rules | grep -v conversation.rules) >"$t_tmp/ex" 2>&1
rc=$?; cat "$t_tmp/ex"; t_result $rc "every rule has example+ and example- lines"

# --- evasion corpus: every case found, in its area, with offsets on the original words ----
"$WARD" scan --rules "$RULES" --json "$EV/evasion.txt" >"$t_tmp/ev.json" 2>"$t_tmp/ev.err"
[ $? -eq 1 ]; t_result $? "scan of the evasion corpus exits 1 (findings)"
jq -r '[.line, .start, .end, (.areas | join(","))] | @tsv' "$t_tmp/ev.json" >"$t_tmp/ev.tsv"
# A rule per case whose phrase is the words the span must hold; the normaliser treats a
# phrase exactly like input, so a finding of check.lN on slice N proves the normalised bytes
# between start and end contain the words.
grep -v '^#' "$EV/expected.tsv" | while IFS=$'\t' read -r n area kind words; do
	printf 'rule check.l%s\n area %s\n severity low\n description case %s\n phrase %s\nend\n' \
		"$n" "$area" "$n" "$words"
done >"$t_tmp/check.rules"
# slices.txt: one finding's original bytes a line; slices.map: which case line it belongs to
perl tests/rules/slices.pl "$EV/evasion.txt" "$t_tmp/ev.tsv" "$EV/expected.tsv" \
	"$t_tmp/slices.txt" "$t_tmp/slices.map"
"$WARD" scan --rules "$t_tmp/check.rules" --json "$t_tmp/slices.txt" 2>/dev/null |
	jq -r '[.line, .rule] | @tsv' >"$t_tmp/slices.found"
# ok.txt: the case lines whose slice holds the expected words
awk -F'\t' 'NR == FNR { map[FNR] = $1; next } { id = $2; sub(/^check\.l/, "", id);
	if (map[$1] == id) print id }' "$t_tmp/slices.map" "$t_tmp/slices.found" | sort -u >"$t_tmp/ok.txt"
check_cases() { # check_cases COLUMN VALUE: every case with that area/evasion passed
	local col=$1 val=$2 total=0 bad=0 n area kind words
	while IFS=$'\t' read -r n area kind words; do
		case $n in '#'*) continue ;; esac
		local v=$area; [ "$col" = kind ] && v=$kind
		[ "$v" = "$val" ] || continue
		total=$((total + 1))
		if ! grep -qx "$n" "$t_tmp/ok.txt"; then
			bad=$((bad + 1))
			echo "# line $n ($area, $kind): no finding whose span holds \"$words\""
			echo "#   $(sed -n "${n}p" "$EV/evasion.txt")"
		fi
	done <"$EV/expected.tsv"
	[ "$total" -gt 0 ] && [ "$bad" -eq 0 ]
}
for a in $AREAS; do
	check_cases area "$a"; t_result $? "evasion: $a found on every case line, offsets on the words"
done
for k in $(grep -v '^#' "$EV/expected.tsv" | cut -f3 | sort -u); do
	check_cases kind "$k"; t_result $? "evasion: $k"
done
# the same offsets through standard input
"$WARD" scan --rules "$RULES" --json - <"$EV/evasion.txt" 2>/dev/null |
	jq -r '[.line, .start, .end, (.areas | join(","))] | @tsv' >"$t_tmp/ev-stdin.tsv"
cmp -s "$t_tmp/ev.tsv" "$t_tmp/ev-stdin.tsv"; t_result $? "evasion: standard input gives the same findings and offsets"

# --- ordinary corpus: nothing at medium or above, few lows ------------------------------
t_status 0 "ordinary corpus: no finding at medium or above" \
	"$WARD" scan --rules "$RULES" --min-severity medium "$ORD"
[ -s "$t_tmp/err" ] && sed 's/^/# /' "$t_tmp/out" | head -20
"$WARD" scan --rules "$RULES" --json "$ORD" >"$t_tmp/ord.json" 2>/dev/null
low=$(jq -r 'select(.severity == "low") | .rule' "$t_tmp/ord.json" | wc -l)
echo "# ordinary corpus: $low low findings (bound $LOW_BOUND) in $(cat "$ORD"/*.txt | wc -c) bytes"
jq -r 'select(.severity == "low") | .rule' "$t_tmp/ord.json" | sort | uniq -c | sort -rn | sed 's/^/#  /'
[ "$low" -le "$LOW_BOUND" ]; t_result $? "ordinary corpus: low findings ($low) within the bound ($LOW_BOUND)"
size=$(cat "$ORD"/*.txt | wc -c)
[ "$size" -ge 300000 ]; t_result $? "ordinary corpus is several hundred KB ($size bytes)"

# --- broken rule files: exit 2 and file:line --------------------------------------------
broken() { # broken NAME LINE TEXT: the rule file TEXT fails with its name and LINE (an ERE)
	# (a rule without end or without patterns may be reported at its start or at the end)
	local name=$1 line=$2 f="$t_tmp/broken-$1.rules"
	printf '%b' "$3" >"$f"
	"$WARD" rules check "$f" >"$t_tmp/out" 2>"$t_tmp/err"
	local rc=$?
	if [ $rc -ne 2 ] || ! grep -Eq "broken-$name.rules:$line:" "$t_tmp/err"; then
		echo "# exit $rc; stderr:"; sed 's/^/#   /' "$t_tmp/err"
		t_result 1 "broken rules ($name): exit 2 and file:$line"
	else
		t_result 0 "broken rules ($name): exit 2 and file:$line"
	fi
}
ok_head='rule a.b\n area grooming\n severity low\n description d\n'
broken unknown-keyword 3 'rule a.b\n area grooming\n colour blue\n phrase x\nend\n'
broken unknown-area 2 'rule a.b\n area playground\n severity low\n description d\n phrase x\nend\n'
broken bad-severity 3 'rule a.b\n area grooming\n severity huge\n description d\n phrase x\nend\n'
broken bad-id 1 'rule A_B\n area grooming\n severity low\n description d\n phrase x\nend\n'
broken bad-regex 5 "${ok_head} regex (unclosed\nend\n"
broken bad-all 5 "${ok_head} all words: a; b\nend\n"
broken bad-weight 5 "${ok_head} weight -3\n phrase x\nend\n"
broken duplicate-id 7 "${ok_head} phrase x\nend\nrule a.b\n area grooming\n severity low\n description d\n phrase y\nend\n"
broken missing-end '(1|5)' "${ok_head} phrase x\n"
broken nothing-to-match '(1|5)' "${ok_head}end\n"
# a failing example is exit 1 with file:line, not a syntax error
printf "${ok_head} phrase keep this secret\n example+ nothing to see\nend\n" >"$t_tmp/ex.rules"
t_status 1 "rules test: a failing example gives exit 1" "$WARD" rules test "$t_tmp/ex.rules"
cat "$t_tmp/out" "$t_tmp/err" >"$t_tmp/both"
t_grep "rules test: the failing example is named with file:line" "ex.rules:1:" "$t_tmp/both"
t_status 2 "scan with a broken rule file: exit 2" \
	"$WARD" scan --rules "$t_tmp/broken-bad-severity.rules" "$ORD/chat.txt"
t_grep "scan with a broken rule file: message names file:line" "broken-bad-severity.rules:3:" "$t_tmp/err"

broken bad-anchor 5 "${ok_head} all 6 anchor 3: a; b\nend\n"
broken anchor-zero 5 "${ok_head} all 6 anchor 0: a; b\nend\n"
broken anchor-word 5 "${ok_head} all 6 anchor two: a; b\nend\n"

# --- rules anchors: each all line's terms counted in ordinary text --------------------------
nall=$(cat "$RULES"/*.rules | grep -c '^[[:space:]]*all ')
t_ok "rules anchors: runs on the ordinary corpus" "$WARD" rules anchors --sample "$ORD" "$RULES"
cp "$t_tmp/out" "$t_tmp/anchors.txt"
n=$(grep -Ec '^[^ ]+\.rules:[0-9]+ [a-z0-9.-]+: anchor [0-9]+( \(named\))?, (keep|suggest [0-9]+)( \| [0-9]+\*? "[^"]*" \([0-9]+ phrases?\) [0-9]+){2,}$' "$t_tmp/anchors.txt")
[ "$n" -eq "$nall" ] && [ "$nall" -gt 10 ]; t_result $? "rules anchors: one line per all line of the library ($n of $nall)"
t_grep "rules anchors: a last line says how many would change" "^[0-9]+ of $nall combinations would change anchor \(sample: [0-9]+ bytes\)$" "$t_tmp/anchors.txt"
[ "$(wc -l <"$t_tmp/anchors.txt")" -eq $((nall + 1)) ]; t_result $? "rules anchors: nothing else on standard output"
# a fixture whose answer is known: the default anchors on the longer phrase, which the
# sample holds five times; the other term once
printf '%s\n' 'rule grooming.fixture.anchor' ' area grooming' ' severity low' ' description d' \
	' all 6: zebra | zebras; the homework' ' example+ the homework zebra' 'end' \
	'rule grooming.fixture.named' ' area grooming' ' severity low' ' description d' \
	' all 4 anchor 1: zebra; due' 'end' >"$t_tmp/fix.rules"
mkdir -p "$t_tmp/sample/more"
printf 'the homework is due\nthe homework is due\n' >"$t_tmp/sample/a.txt"
printf 'the homework\n\nthe homework, the homework, a zebra is due\n' >"$t_tmp/sample/more/b.txt"
t_ok "rules anchors: a fixture rule file" "$WARD" rules anchors --sample "$t_tmp/sample" "$t_tmp/fix.rules"
cp "$t_tmp/out" "$t_tmp/fix.out"
t_grep "rules anchors: fixture: the rarer term is suggested, hits counted in a directory" \
	'^.*/fix\.rules:5 grooming\.fixture\.anchor: anchor 2, suggest 1 \| 1 "zebra" \(2 phrases\) 1 \| 2\* "the homework" \(1 phrase\) 5$' "$t_tmp/fix.out"
t_grep "rules anchors: fixture: a named anchor that is the rarest is kept" \
	'^.*/fix\.rules:12 grooming\.fixture\.named: anchor 1 \(named\), keep \| 1\* "zebra" \(1 phrase\) 1 \| 2 "due" \(1 phrase\) 3$' "$t_tmp/fix.out"
t_grep "rules anchors: fixture: 1 of 2 would change" '^1 of 2 combinations would change anchor \(sample: 97 bytes\)$' "$t_tmp/fix.out"
# two samples add up; the suggestion applied, nothing more to change and the same findings
t_ok "rules anchors: two --sample paths" "$WARD" rules anchors --sample "$t_tmp/sample/a.txt" \
	--sample="$t_tmp/sample/more/b.txt" "$t_tmp/fix.rules"
t_grep "rules anchors: two --sample paths: their counts add up" '"the homework" \(1 phrase\) 5$' "$t_tmp/out"
sed 's/ all 6: zebra/ all 6 anchor 1: zebra/' "$t_tmp/fix.rules" >"$t_tmp/fix1.rules"
t_ok "rules anchors: the suggestion applied" "$WARD" rules anchors --sample "$t_tmp/sample" "$t_tmp/fix1.rules"
t_grep "rules anchors: the suggestion applied: nothing to change" '^0 of 2 combinations would change anchor' "$t_tmp/out"
t_grep "rules anchors: the suggestion applied: the anchor is named" 'fixture\.anchor: anchor 1 \(named\), keep' "$t_tmp/out"
"$WARD" scan --json --rules "$t_tmp/fix.rules" "$t_tmp/sample" "$ORD" >"$t_tmp/fix.json" 2>/dev/null
"$WARD" scan --json --rules "$t_tmp/fix1.rules" "$t_tmp/sample" "$ORD" >"$t_tmp/fix1.json" 2>/dev/null
[ -s "$t_tmp/fix.json" ] && cmp -s "$t_tmp/fix.json" "$t_tmp/fix1.json"
t_result $? "rules anchors: the findings with either anchor are byte-identical ($(wc -l <"$t_tmp/fix.json") lines)"
t_ok "rules test: the fixture's examples hold with the anchor named" "$WARD" rules test "$t_tmp/fix1.rules"
# JSON: one object per combination, then the totals
t_ok "rules anchors --json" "$WARD" rules anchors --json --sample "$t_tmp/sample" "$t_tmp/fix.rules"
jq -e -s 'length == 3 and .[0].rule == "grooming.fixture.anchor" and .[0].anchor == 2 and
	.[0].suggest == 1 and .[0].change == true and .[0].named == false and .[0].line == 5 and
	.[0].terms[0] == {"phrase": "zebra", "phrases": 2, "hits": 1} and .[0].terms[1].hits == 5 and
	.[1].named == true and .[1].change == false and
	.[2] == {"combinations": 2, "change": 1, "sample_bytes": 97}' "$t_tmp/out" >/dev/null
t_result $? "rules anchors --json: the fixture's objects and totals"
"$WARD" rules anchors --json --sample "$ORD" "$RULES" >"$t_tmp/anchors.json" 2>/dev/null
jq -e -s --argjson n "$nall" 'length == $n + 1 and (.[:-1] | map(select(.suggest >= 1 and .anchor >= 1 and (.terms | length) >= 2)) | length) == $n and
	.[-1].combinations == $n' "$t_tmp/anchors.json" >/dev/null
t_result $? "rules anchors --json: the library's $nall combinations"
# errors: exit 2 with the reason
t_status 2 "rules anchors: without --sample, exit 2" "$WARD" rules anchors "$RULES"
t_grep "rules anchors: without --sample: says it needs one" "needs --sample PATH" "$t_tmp/err"
t_status 2 "rules anchors: --sample without a path, exit 2" "$WARD" rules anchors "$RULES" --sample
t_grep "rules anchors: --sample without a path: says so" "--sample needs a file or directory" "$t_tmp/err"
t_status 2 "rules anchors: a missing sample, exit 2" "$WARD" rules anchors --sample "$t_tmp/no-such-sample" "$RULES"
t_grep "rules anchors: a missing sample is named" "no-such-sample: No such file or directory" "$t_tmp/err"
[ ! -s "$t_tmp/out" ]; t_result $? "rules anchors: a missing sample: nothing on standard output"
t_status 2 "rules anchors: a sample that cannot be read, exit 2" "$WARD" rules anchors --sample /proc/self/mem "$RULES"
t_grep "rules anchors: a sample that cannot be read is named" "/proc/self/mem: " "$t_tmp/err"
t_status 2 "rules anchors: an unknown option, exit 2" "$WARD" rules anchors --sample "$ORD" --fast "$RULES"
t_grep "rules anchors: an unknown option is named" "unknown option '--fast'" "$t_tmp/err"
t_status 2 "rules anchors: a broken rule file, exit 2" "$WARD" rules anchors --sample "$ORD" "$t_tmp/broken-bad-anchor.rules"
t_grep "rules anchors: a broken rule file: file:line and the reason" "broken-bad-anchor.rules:5: anchor 3, but this all has 2 terms" "$t_tmp/err"
t_ok "rules --help: names anchors" sh -c '"$1" rules --help | grep -q "rules anchors --sample PATH"' _ "$WARD"

# --- bad input ------------------------------------------------------------------------------
perl -e 'srand(7); print map { chr(int(rand(256))) } 1 .. 200000' >"$t_tmp/binary.bin"
t_ok "bad input: random binary is scanned safely" sh -c \
	'"$1" scan --rules "$2" "$3"; [ $? -le 1 ]' _ "$WARD" "$RULES" "$t_tmp/binary.bin"
printf 'hello\0\0\0 keep this between us \0\nmore\0' >"$t_tmp/nul.txt"
t_status 1 "bad input: NUL bytes around an indicator still find it" \
	"$WARD" scan --rules "$RULES" --json "$t_tmp/nul.txt"
t_grep "bad input: NUL bytes: offsets of the words" '"start":9,"end":29' "$t_tmp/out"
printf 'ok \xff\xfe\xc3 keep this between us \xe2\x82\n\xed\xa0\x80 end\n' >"$t_tmp/utf8.txt"
t_status 1 "bad input: invalid UTF-8 is scanned and the indicator found" \
	"$WARD" scan --rules "$RULES" --json "$t_tmp/utf8.txt"
t_grep "bad input: invalid UTF-8: offsets of the words" '"start":7,"end":27' "$t_tmp/out"
: >"$t_tmp/empty.txt"
t_status 0 "bad input: an empty file is clean" "$WARD" scan --rules "$RULES" "$t_tmp/empty.txt"
t_status 0 "bad input: empty standard input is clean" sh -c '"$1" scan --rules "$2" </dev/null' _ "$WARD" "$RULES"
t_status 2 "bad input: a missing file is an error" "$WARD" scan --rules "$RULES" "$t_tmp/no-such-file"
t_grep "bad input: the message names the missing file" "no-such-file" "$t_tmp/err"
printf 'keep this between us\n' >"$t_tmp/locked.txt"
chmod 000 "$t_tmp/locked.txt"
if [ "$(id -u)" -ne 0 ]; then
	t_status 2 "bad input: an unreadable file is an error" "$WARD" scan --rules "$RULES" "$t_tmp/locked.txt"
	t_grep "bad input: the message names the unreadable file" "locked.txt" "$t_tmp/err"
fi
# a file whose read fails (root reads any file, but not unmapped memory)
t_status 2 "bad input: a file that cannot be read is an error" "$WARD" scan --rules "$RULES" /proc/self/mem
t_grep "bad input: the message names the file that cannot be read" "/proc/self/mem" "$t_tmp/err"
ln -s "$t_tmp/nowhere" "$t_tmp/dangling.txt"
t_status 2 "bad input: a dangling link is an error" "$WARD" scan --rules "$RULES" "$t_tmp/dangling.txt"
t_grep "bad input: the message names the dangling link" "dangling.txt" "$t_tmp/err"
# one line of 40 MB (20 MB under the sanitizers): indicators in the middle and at the end
mb=40; case $WARD in */asan/*) mb=20 ;; esac
perl -e '
	my $mb = shift; my $half = "the long line goes on and on " x int($mb * 1024 * 1024 / 2 / 29);
	print $half, "keep this b.e.t.w.e.e.n us ", $half, "our little secret";' "$mb" >"$t_tmp/long.txt"
t_status 1 "bad input: a single line of $mb MB is scanned" \
	timeout 300 "$WARD" scan --rules "$RULES" --json "$t_tmp/long.txt"
n=$(grep -c '"rule":"grooming.secrecy.dont-tell"' "$t_tmp/out")
[ "$n" -eq 2 ]; t_result $? "bad input: long line: both indicators found once each ($n)"
size=$(stat -c %s "$t_tmp/long.txt")
want_end=$size want_start=$((size - 17))
t_grep "bad input: long line: offsets of the last indicator" "\"start\":$want_start,\"end\":$want_end" "$t_tmp/out"
t_done
