#!/usr/bin/env bash
# Black-box tests of `ward` as a user runs it: options, exit statuses, JSON output, bad input.
# sanitizers: yes
. "$(dirname "$0")/../lib.sh"
R=$WARD_TOP/tests/cli/test.rules
export WARD_CACHE_DIR=$t_tmp/cache
cd "$t_tmp" || exit 1

t_ok "ward --help lists the commands" "$WARD" --help
t_grep "help names scan" '^  scan ' "$t_tmp/out"
t_ok "ward scan --help" "$WARD" scan --help
t_grep "scan help explains exit status" 'Exit status' "$t_tmp/out"
t_status 2 "unknown command is an error" "$WARD" frobnicate
t_grep "unknown command says so" "unknown command 'frobnicate'" "$t_tmp/err"
t_ok "ward --version" "$WARD" --version
t_ok "ward areas" "$WARD" areas
[ "$(wc -l <"$t_tmp/out")" -eq 9 ]; t_result $? "nine areas listed"
t_ok "ward areas --json" "$WARD" areas --json
[ "$(jq -r .id "$t_tmp/out" | tr '\n' ' ')" = "adult-content abuse-images-sold exploitation cybersex peer-images household-images grooming live-abuse abuse-images-subject " ]
t_result $? "area ids in the seed's order"
t_ok "ward areas household-images" "$WARD" areas household-images
t_grep "household advice: not the parents first" 'parents or carers' "$t_tmp/out"

t_ok "rules check" "$WARD" rules check "$R"
t_ok "rules test" "$WARD" rules test "$R"
t_grep "rules test counts" '3 rules, 5 examples, 0 failed' "$t_tmp/out"
t_ok "rules list" "$WARD" rules list "$R"
t_grep "rules list shows ids" '^grooming.test.meet +grooming +high' "$t_tmp/out"
t_ok "rules export-grep" "$WARD" rules export-grep "$R"
t_grep "export is an ERE" '^\\bdont tell anyone\\b$' "$t_tmp/out"

# a failing example gives exit 1
sed 's/example- meet the team at the pitch/example- meet me alone/' "$R" >bad-example.rules
t_status 1 "a failing example exits 1" "$WARD" rules test bad-example.rules
t_grep "the failure names rule and line" 'bad-example.rules:13: rule grooming.test.meet: example should not match' "$t_tmp/out"
printf 'rule x.y\n  area grooming\n  severity medium\n  descripton typo\nend\n' >broken.rules
t_status 2 "a broken rule file exits 2" "$WARD" scan --rules broken.rules /dev/null
t_grep "with file and line" 'broken.rules:4: unknown statement' "$t_tmp/err"

printf 'Homework: read chapter 3.\nHe said: pl3ase d.o.n.t t e l l   any0ne, ok?\nSee you, just you al0ne.\n' >chat.txt
t_status 1 "findings exit 1" "$WARD" scan --rules "$R" chat.txt
t_grep "human output names file, line and offsets" '^chat.txt:2:[0-9]+-[0-9]+: medium grooming grooming.test.secrecy' "$t_tmp/out"
t_grep "human output gives the seed's advice" 'Tell the designated safeguarding lead' "$t_tmp/out"
t_status 1 "json output" "$WARD" scan --json --rules "$R" chat.txt
cp "$t_tmp/out" chat.json
[ "$(wc -l <chat.json)" -eq 2 ]; t_result $? "two findings"
jq -e 'has("file") and has("line") and has("start") and has("end") and has("area") and has("rule") and has("severity") and has("excerpt")' chat.json >/dev/null
t_result $? "json has the documented fields"
# offsets point at the original words
ok=0
while read -r s e want; do
	got=$(dd if=chat.txt bs=1 skip="$s" count=$((e - s)) 2>/dev/null)
	[ "$got" = "$want" ] || { echo "# bytes $s-$e are '$got', want '$want'"; ok=1; }
done < <(jq -r '[.start, .end, (if .rule == "grooming.test.secrecy" then "d.o.n.t t e l l   any0ne" else "See you, just you al0ne" end)] | @tsv' chat.json | tr '\t' ' ' | sed 's/ /\t/;s/ /\t/' | tr '\t' ' ')
t_result $ok "offsets point at the original bytes"
t_status 0 "min-severity filters" "$WARD" scan --rules "$R" --min-severity critical chat.txt
t_status 1 "area filter keeps grooming" "$WARD" scan -q --rules "$R" --area grooming chat.txt
t_status 0 "area filter drops other areas" "$WARD" scan -q --rules "$R" --area live-abuse chat.txt
t_status 2 "unknown area is an error" "$WARD" scan --rules "$R" --area nowhere chat.txt
t_status 2 "unknown severity is an error" "$WARD" scan --rules "$R" --min-severity huge chat.txt

printf 'lets talk about the surprise party, dont tell anyone\n' >clean.txt
t_status 0 "unless suppresses a known false positive" "$WARD" scan --rules "$R" clean.txt
t_status 0 "standard input, nothing found" sh -c "echo 'homework is due on monday' | '$WARD' scan --rules '$R'"
t_status 1 "standard input with -" sh -c "echo 'our little secret' | '$WARD' scan -q --rules '$R' -"

mkdir -p tree/a/b
cp chat.txt tree/a/b/one.txt; cp clean.txt tree/a/two.txt
t_status 1 "directories are scanned recursively" "$WARD" scan --json --rules "$R" tree
t_grep "nested file found" '"file":"tree/a/b/one.txt"' "$t_tmp/out"

: >empty.txt
t_status 0 "empty file" "$WARD" scan --rules "$R" empty.txt
head -c 200000 /dev/urandom >random.bin
printf '\0\0our little secret\0\xff\xfe' >>random.bin
t_status 1 "binary file with NULs is scanned safely" "$WARD" scan -q --rules "$R" random.bin
t_status 2 "missing file exits 2" "$WARD" scan --rules "$R" no-such-file.txt
t_grep "and names the file" 'no-such-file.txt: No such file' "$t_tmp/err"
if [ "$(id -u)" -ne 0 ]; then
	echo secret >locked.txt; chmod 000 locked.txt
	t_status 2 "unreadable file exits 2" "$WARD" scan --rules "$R" locked.txt
else
	t_status 2 "a directory that cannot be read exits 2" "$WARD" scan --rules "$R" /proc/1/fdinfo/../../1/map_files
fi
t_status 2 "findings and an error together exit 2" "$WARD" scan -q --rules "$R" chat.txt no-such-file.txt

# A long single line streams in bounded memory (skipped under the sanitizers: slow there).
if [[ $WARD_BUILD != */asan* ]]; then
	{ head -c 64000000 /dev/zero | tr '\0' 'a'; printf ' our little secret '; } >long.txt
	/usr/bin/time -f '%M' -o rss.txt "$WARD" scan -q --rules "$R" long.txt
	rc=$?; rss=$(tail -1 rss.txt)
	[ $rc -eq 1 ] && [ "$rss" -lt 120000 ]; t_result $? "64 MB single line: found, ${rss} KB resident"
fi

# large files (16 MB and more) are scanned by several threads, two rounds at a time: whatever
# the thread count, the output (findings, lines, offsets, excerpts) and the exit status are
# exactly the single-threaded scan's
awk 'BEGIN { for (i = 0; i < 380000; i++)
	if (i % 997 == 0) print "he said our little secret, see you on your own " i
	else print "ordinary homework about rivers and mountains " i }' >big.txt
tr '\n' ' ' <big.txt >big-line.txt
# 40 MB: several rounds at 2 and 3 threads; findings on every few lines, some across a line
# end (see you / on your own), so across segment ends too; the last line has no newline
awk 'BEGIN { for (i = 0; i < 900000; i++)
	if (i % 37 == 0) print "then we can see you"
	else if (i % 37 == 1) print "on your own after school " i
	else if (i % 53 == 0) print "it is our little secret " i
	else print "ordinary homework about rivers and mountains " i
	printf "last line our little secret, no newline" }' >dense.txt
# one line of 40 MB, no newline at all: segments are cut at spaces.  The excerpts are left
# out of the comparison: libward clips an excerpt at the end of the 1 MB block it scans, which
# is a line end unless no line ends in the block's last 64 KB, and its blocks fall elsewhere
# in a segment than in the stream of one thread (a known limitation; with lines under 64 KB
# the excerpts are the same, as dense.txt shows)
no_excerpt() { jq -c 'del(.excerpt)'; }
tr '\n' ' ' <dense.txt >dense-line.txt
# just over the threshold, 16 MiB and a few bytes
head -c $((16 * 1048576 + 7)) dense.txt >edge.txt
# over the threshold with nothing to find: exit status 0
awk 'BEGIN { for (i = 0; i < 400000; i++) print "ordinary homework about rivers and mountains " i }' >nothing.txt
# same_as_one FILE THREADS [OPTION [FILTER]]: compare with --threads 1 (through FILTER)
same_as_one() {
	local f=$1 n=$2 opt=${3:-} filter=${4:-cat} rc1 rcn
	"$WARD" scan $opt --threads 1 --rules "$R" "$f" 2>"$f.err1" | $filter >"$f.1"
	rc1=${PIPESTATUS[0]}
	"$WARD" scan $opt --threads "$n" --rules "$R" "$f" 2>"$f.errn" | $filter >"$f.n"
	rcn=${PIPESTATUS[0]}
	[ $rc1 -eq $rcn ] && cmp -s "$f.err1" "$f.errn" && cmp -s "$f.1" "$f.n"
	t_result $? "$f ($(wc -c <"$f") bytes) ${opt:-human}: --threads $n gives exactly what --threads 1 gives (status $rc1, $(grep -c '"rule"\|^    >' "$f.1") findings)"
}
for f in big.txt big-line.txt; do same_as_one "$f" 3 --json; done
for n in 2 3 8; do
	same_as_one dense.txt "$n" --json
	same_as_one dense.txt "$n"
	same_as_one dense-line.txt "$n" --json no_excerpt
done
same_as_one edge.txt 2 --json
same_as_one edge.txt 8
"$WARD" scan --json --threads 1 --rules "$R" dense.txt >dense.json
[ "$(grep -c '"rule"' dense.json)" -ge 40000 ] && tail -1 dense.json | grep -q '"line":900001,'
t_result $? "dense.txt: the findings of every line, and of the last line without its newline"
t_status 0 "a large file with nothing to find: status 0 with --threads 2" \
	"$WARD" scan --threads 2 --rules "$R" nothing.txt
[ ! -s "$t_tmp/out" ]; t_result $? "and nothing printed"
t_status 1 "--threads 0 is one per CPU" "$WARD" scan -q --threads 0 --rules "$R" big.txt
t_status 2 "a bad --threads is refused" "$WARD" scan --threads many --rules "$R" big.txt

# a file that shrinks, grows or fails while it is read (between fstat and the first read, or
# between rounds): shim.so acts on the file just after ward's Nth read() of it; the output
# must be what --threads 1 finds in the file as it ends up: ward reads until read() says
# the file ends
if nm "$WARD" | grep -q __asan_init; then
	t_result 0 "a file that changes while it is read # SKIP under ASan, whose read() comes before the shim's"
elif cc -shared -fPIC -O1 -o shim.so "$WARD_TOP/tests/cli/shim.c" -ldl 2>shim.err; then
	shim() { # shim ACT N ARG: scan dense.txt (a fresh copy) with 2 threads under the shim
		cp dense.txt moving.txt
		LD_PRELOAD=$t_tmp/shim.so SHIM_FILE=moving.txt SHIM_ACT=$1 SHIM_AT=$2 SHIM_ARG=$3 \
			ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
			"$WARD" scan --json --threads 2 --rules "$R" moving.txt >moving.n 2>moving.err
	}
	# read 1 is the chat sniffing's, before fstat; 2 fills the first round, 3 the second
	for case in "truncate 1 17000000" "truncate 1 1234567" "grow 1 3000000" "truncate 2 0" \
	            "truncate 3 100000" "grow 3 3000000"; do
		set -- $case
		shim "$@"; rcn=$?
		"$WARD" scan --json --threads 1 --rules "$R" moving.txt >moving.1; rc1=$?
		[ $rcn -eq $rc1 ] && [ ! -s moving.err ] && [ -s moving.n ] && cmp -s moving.1 moving.n && ! cmp -s moving.txt dense.txt
		t_result $? "$1 after read $2 (file now $(wc -c <moving.txt) bytes): as --threads 1 on what is left ($(wc -l <moving.n) findings)"
	done
	# threads that cannot be started: fewer scan, or with none this thread scans alone
	for nth in 0 1; do
		cp dense.txt moving.txt
		LD_PRELOAD=$t_tmp/shim.so SHIM_THREADS=$nth \
			"$WARD" scan --json --threads 3 --rules "$R" moving.txt >moving.n 2>moving.err; rcn=$?
		[ $rcn -eq 1 ] && [ ! -s moving.err ] && cmp -s moving.n <(sed 's/"dense.txt"/"moving.txt"/' dense.json)
		t_result $? "--threads 3 when only $nth threads can start: the same findings"
	done
	shim eio 2 0; rcn=$?
	[ $rcn -eq 2 ] && grep -q '^ward: moving.txt: Input/output error' moving.err && \
		cmp -s moving.n <(head -n "$(wc -l <moving.n)" dense.json | sed 's/"dense.txt"/"moving.txt"/')
	t_result $? "a read error: named with the file, status 2, the findings before it as printed ($(wc -l <moving.n))"
else
	t_result 1 "the test shim builds: $(head -1 shim.err)"
fi
rm -f big*.txt* dense*.txt* edge.txt* nothing.txt moving.* shim.so

# chat exports go through the conversation model (the shipped rules carry the stage tags)
cp "$WARD_TOP/tests/eval/set/grooming/g00-fast-plain.txt" chat-export.txt
t_status 1 "a chat export is recognised and modelled" "$WARD" scan --json --rules "$WARD_TOP/rules" chat-export.txt
t_grep "a conversation alert with its level" '"kind":"conversation".*"level":"(medium|high)"' "$t_tmp/out"
t_status 1 "--no-conversation scans it as text" "$WARD" scan --json --no-conversation --rules "$WARD_TOP/rules" chat-export.txt
! grep -q '"kind":"conversation"' "$t_tmp/out"; t_result $? "and then gives no conversation alert"
t_status 1 "standard input with --conversation" sh -c "'$WARD' scan -q -c --rules '$WARD_TOP/rules' < chat-export.txt"
t_status 2 "an unknown chat format is an error" "$WARD" scan --format telex chat-export.txt
t_status 2 "forcing a format that does not fit is an error" "$WARD" scan --format csv --rules "$WARD_TOP/rules" chat-export.txt
t_grep "and says why, with file and line" 'chat-export.txt:1: ' "$t_tmp/err"

# images against hash lists: the ordinary photographs beside the tree, a list made by ward hash
P=${WARD_PDQ_DATA:-$WARD_TOP/../shared/testdata/pdq}
[ -d "$P" ] || P=/work/shared/testdata/pdq
if [ -d "$P/images/bridge-mods" ]; then
	B=$P/images/bridge-mods/aaa-orig.jpg
	PEN=$P/images/pen-and-coaster.png
	nbridge=$(ls "$P"/images/bridge-mods/*.jpg | wc -l)
	"$WARD" hash --json "$B" | jq -r '.pdq + ",bridge,peer-images"' >bridge.list
	t_status 1 "--hash-list: a listed image is a finding (exit 1)" "$WARD" scan --rules "$R" --hash-list bridge.list "$B"
	grep -qxF "$B: critical peer-images hash-list:bridge" "$t_tmp/out"
	t_result $? "human output: file, severity critical, the entry's area, rule hash-list:LABEL"
	t_grep "with the entry, its line and the distance" '^    image matches hash-list entry 0 \(pdq, line 1\), distance 0$' "$t_tmp/out"
	t_grep "and the seed's advice for the area" 'Do not view, copy, print, forward' "$t_tmp/out"
	t_status 1 "--hash-list over a directory, --json" "$WARD" scan --json --rules "$R" --hash-list bridge.list "$P/images/bridge-mods" "$PEN"
	cp "$t_tmp/out" images.json
	[ "$(jq -r 'select(.rule == "hash-list:bridge") | .file' images.json | grep -c /bridge-mods/)" -eq "$nbridge" ]
	t_result $? "every altered copy of the listed photograph ($nbridge) is found"
	[ "$(wc -l <images.json)" -eq "$nbridge" ]; t_result $? "and nothing else"
	jq -e -s 'all(.[]; .kind == "image" and .severity == "critical" and .area == "peer-images" and .areas == ["peer-images"] and .hash_kind == "pdq" and .label == "bridge" and .entry == 0 and .list_line == 1 and (.distance | type == "number") and .distance <= 31)' images.json >/dev/null
	t_result $? "JSON: kind image, severity, area, rule, label, entry, line and a distance within 31"
	[ "$(jq -r "select(.file == \"$B\") | .distance" images.json)" = 0 ]; t_result $? "the listed photograph itself at distance 0"
	t_status 0 "an unlisted photograph is no finding" "$WARD" scan --rules "$R" --hash-list bridge.list "$PEN"
	t_status 0 "without --hash-list, images pass silently" "$WARD" scan --rules "$R" "$P/images"
	[ ! -s "$t_tmp/out" ]; t_result $? "and print nothing"
	t_status 1 "text and images in one scan" "$WARD" scan --json --rules "$R" --hash-list bridge.list chat.txt "$B"
	[ "$(jq -r .rule "$t_tmp/out" | sort | tr '\n' ' ')" = "grooming.test.meet grooming.test.secrecy hash-list:bridge " ]
	t_result $? "both text findings and the image finding"
	cp chat.txt looks-like.jpg
	t_status 1 "a text file named .jpg is read as text" "$WARD" scan --json --rules "$R" --hash-list bridge.list looks-like.jpg
	t_grep "and its text findings reported" '"file":"looks-like.jpg".*"rule":"grooming.test.secrecy"' "$t_tmp/out"
	printf 'sha256:%s pen\n%s\n' "$(sha256sum <"$PEN" | cut -d' ' -f1)" "$("$WARD" hash --json "$B" | jq -r .pdq)" >second.list
	t_status 1 "--hash-list is repeatable" "$WARD" scan --json --rules "$R" --hash-list bridge.list --hash-list second.list "$PEN" "$B"
	cp "$t_tmp/out" lists.json
	t_ok "an exact SHA-256 entry matches, distance 0" jq -e -s 'any(.[]; .rule == "hash-list:pen" and .hash_kind == "sha256" and .distance == 0 and .area == null)' lists.json
	t_ok "an entry without label or area gives rule hash-list, area null" jq -e -s 'any(.[]; .rule == "hash-list" and .area == null and .list_line == 2)' lists.json
	[ "$(wc -l <lists.json)" -eq 3 ]; t_result $? "one finding per entry matched"
	t_status 0 "--area filters by the entry's area" "$WARD" scan --rules "$R" --area grooming --hash-list bridge.list "$B"
	t_status 1 "--quiet" "$WARD" scan -q --rules "$R" --hash-list bridge.list "$B"
	[ ! -s "$t_tmp/out" ]; t_result $? "prints nothing"
	printf 'abc\n' >bad.list; cat bridge.list >>bad.list
	t_status 2 "a bad list line is an error (exit 2)" "$WARD" scan --rules "$R" --hash-list bad.list "$B"
	t_grep "named by file and line" 'bad.list:1: ' "$t_tmp/err"
	t_grep "and the rest of the list is still used" 'hash-list:bridge' "$t_tmp/out"
	t_status 2 "a missing list is an error" "$WARD" scan --rules "$R" --hash-list no-such.list "$B"
	head -c 2000 "$PEN" >trunc.png
	t_status 2 "a broken image is an error" "$WARD" scan --rules "$R" --hash-list bridge.list trunc.png
	t_grep "saying it was not checked" 'trunc.png: image not checked against the hash lists' "$t_tmp/err"
	rm -f trunc.png
	# no image byte written anywhere: every open for writing and every write traced
	if strace -f -o /dev/null true 2>/dev/null; then
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o trace -e trace=open,openat,creat,write,writev,pwrite64,pwritev,sendto,sendmsg,rename,renameat,link,mkdir \
			"$WARD" scan --no-cache --json --rules "$R" --hash-list bridge.list "$P/images" >trace-out 2>trace-err
		[ $? -eq 1 ]; t_result $? "scan --hash-list under strace"
		! grep -E 'open(at)?\(.*(O_WRONLY|O_RDWR|O_CREAT)' trace | grep -v '/dev/null\|/dev/tty'
		t_result $? "no file is opened for writing"
		! grep -E '^[0-9]+ +(creat|rename|renameat|link|mkdir|sendto|sendmsg)\(' trace
		t_result $? "nothing created, renamed or sent"
		! grep -E '^[0-9]+ +(write|writev|pwrite64|pwritev)\(([^12]|[12][0-9])' trace
		t_result $? "writes go only to standard output and standard error"
		[ "$(wc -c <trace-out)" -lt $((nbridge * 1000)) ]; t_result $? "standard output holds findings only"
	else
		echo "ok $((t_n + 1)) # SKIP strace cannot trace here"; t_n=$((t_n + 1))
	fi
else
	echo "ok $((t_n + 1)) # SKIP no test photographs in $P"; t_n=$((t_n + 1))
fi

# the compiled cache is written, then used
rm -rf "$WARD_CACHE_DIR"
"$WARD" scan -q --rules "$R" clean.txt
ls "$WARD_CACHE_DIR"/rules-*.hsdb >/dev/null 2>&1; t_result $? "compiled rules are cached"
t_status 0 "a scan with the cache in place" "$WARD" scan --rules "$R" clean.txt
echo garbage >"$(ls "$WARD_CACHE_DIR"/rules-*.hsdb)"
t_status 1 "a corrupt cache is ignored" "$WARD" scan -q --rules "$R" chat.txt
t_status 1 "--no-cache" "$WARD" scan -q --no-cache --rules "$R" chat.txt
t_done
