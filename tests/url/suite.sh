#!/usr/bin/env bash
# Black-box tests of `ward url` and `ward scan --squid-log`: verdicts, canonicalisation tricks,
# JSON fields, search terms through the text rules, exit statuses, bad input and big lists.
# sanitizers: yes
. "$(dirname "$0")/../lib.sh"
D=$WARD_TOP/tests/url
export WARD_CACHE_DIR=$t_tmp/cache
unset WARD_LISTS WARD_LISTS_MAP
cd "$D" || exit 1
U() { "$WARD" url --lists lists --map lists.map --rules search.rules "$@"; }

t_ok "ward url --help" "$WARD" url --help
t_grep "help names the options" '--lists DIR' "$t_tmp/out"
t_status 1 "a listed domain is blocked" U http://example-adult.test/
t_grep "human output: verdict, URL, area, category, list, entry" \
	'^block http://example-adult.test/  adult-content adult \(lists/adult/domains: example-adult.test\)' "$t_tmp/out"
t_grep "broken list lines are reported with file and line" 'lists/adult/domains:8: more than one entry' "$t_tmp/err"
t_grep "and the next one too" 'lists/adult/domains:9: not a domain name' "$t_tmp/err"
t_status 0 "an unlisted domain is allowed" U http://example-adultx.test/
t_status 0 "an allow-list overrides" U http://safe.example-adult.test/
t_status 1 "a flag category flags" U http://example-casino.test/
t_grep "flag verdict" '^flag ' "$t_tmp/out"

# every trick in the book, each one a blocked URL
tricks=(
	'HTTP://EXAMPLE-ADULT.TEST/'
	'http://example-adult.test./'
	'http://example-adult.test...:80/'
	'http://user:pass@example-adult.test/'
	'http://safe.example-adult.test@example-adult.test/'
	'http://www.example-adult.test/'
	'http://a.b.c.example-adult.test:8080/x'
	'http://%65xample-adult.test/'
	'http://example-adult%2etest/'
	'http://example-adult\xe3\x80\x82test/'
	'http://\xef\xbd\x85xample-adult.test/'
	'http://b\xc3\xbc''cher.test/'
	'http://10.9.8.7/'
	'http://168364039/'
	'http://0x0a090807/'
	'http://012.011.010.007/'
	'http://0xa.9.2055/'
	'example-adult.test/x'
	'example-adult.test:443'
	'  http://example-adult.test/  '
	'http:\\\\example-adult.test\\x'
	'http:///example-adult.test/'
	'http://exa\tmple-adult.test/'
	'http://www.example-mixed.test//adult//x'
	'http://example-mixed.test/x/../adult/./y'
	'http://example-mixed.test/%61dult/'
	'http://EXAMPLE-abuse.test/gallery/item123.html#frag'
	'http://images.example-hosting.test/u/0001/a.jpg'
)
for t in "${tricks[@]}"; do
	u=$(printf '%b' "$t")
	t_status 1 "trick blocked: $t" U "$u"
done
t_status 0 "a segment prefix is not a path prefix" U http://example-mixed.test/adulthood
t_status 0 "a different query of an exact URL" U 'http://example-mixed.test/members/page.html?id=8'
t_status 1 "the exact URL with its query" U 'http://example-mixed.test/members/page.html?id=7'
t_status 1 "IPv6 literal in a list" U 'http://[2001:DB8:0::7]/'

# JSON
t_status 1 "json output" U --json http://a.example-adult.test:8080/x 'https://www.google.com/search?q=free+ADULT+v1deos'
cp "$t_tmp/out" "$t_tmp/u.json"
[ "$(wc -l <"$t_tmp/u.json")" -eq 2 ]; t_result $? "one object per URL"
jq -s -e '[.[] | select(.verdict == "block")][0] | .url == "http://a.example-adult.test:8080/x" and .area == "adult-content" and .category == "adult" and .list == "lists/adult/domains" and .matched == "example-adult.test" and .registrable == "example-adult.test"' "$t_tmp/u.json" >/dev/null
t_result $? "json block has url, verdict, area, category, list, matched"
jq -s -e '[.[] | select(.engine == "google")][0] | .verdict == "flag" and .area == "adult-content" and .query == "free ADULT v1deos" and (.findings | length) == 1 and .findings[0].rule == "adult-content.test.search" and .findings[0].match == "ADULT v1deos"' "$t_tmp/u.json" >/dev/null
t_result $? "json search has query and findings with the original words"
rm -f "$t_tmp/u.json"
t_status 0 "a harmless search is allowed" U --json 'https://www.bing.com/search?q=adult+education'
jq -e '.verdict == "allow" and .query == "adult education" and (.findings | length) == 0' "$t_tmp/out" >/dev/null
t_result $? "harmless search: query shown, no findings"
t_status 1 "search on an allow-listed site is still flagged" \
	U 'https://safe.example-adult.test/search?q=x' 'https://duckduckgo.com/?q=adult+videos'
t_status 0 "--no-search leaves searches alone" U --no-search 'https://duckduckgo.com/?q=adult+videos'

# standard input, garbage, NULs, 100 KB URLs
printf 'http://example-adult.test/\nhttp://ok.test/\n\nhttp://a b/\njavascript:x\n' >"$t_tmp/in"
t_status 2 "garbage lines are errors, the rest still checked" U --json <"$t_tmp/in"
[ "$(jq -r '.verdict // .error' "$t_tmp/out" | tr '\n' ' ')" = "block allow invalid argument invalid argument " ]
t_result $? "stdin: one result per line, errors in place"
printf 'http://exa\0mple-adult.test/\nhttp://example-adult.test/a\0b\n' >"$t_tmp/nul"
t_status 2 "NUL bytes: no crash" U <"$t_tmp/nul"
head -c 102400 /dev/zero | tr '\0' 'a' | sed 's|^|http://example-adult.test/|' >"$t_tmp/long"
t_status 1 "a 100 KB URL is checked" U -q <"$t_tmp/long"
head -c 200000 /dev/zero | tr '\0' 'a' | sed 's|^|http://ok.test/|' >"$t_tmp/huge"
t_status 2 "a 200 KB URL is refused" U <"$t_tmp/huge"
t_grep "with a clear message" 'longer than' "$t_tmp/err"
printf 'http://h.test/%%zz%%4%%\n' >"$t_tmp/esc"
t_status 0 "malformed escapes are kept, escaped" U --json <"$t_tmp/esc"
t_grep "as %25" '"url":"http://h.test/%25zz%254%25"' "$t_tmp/out"

# lists and maps that are wrong
t_status 2 "a missing list directory" U --lists /nonexistent/lists http://x.test/
t_status 2 "a broken map names file and line" "$WARD" url --lists lists --map search.rules http://x.test/
t_grep "map error names its line" 'search.rules:2: expected CATEGORY AREA ACTION' "$t_tmp/err"
printf 'adult nowhere block\n' >"$t_tmp/bad.map"
t_status 2 "an unknown area in the map" U --map "$t_tmp/bad.map" http://x.test/
t_grep "says so" 'bad.map:1: unknown area' "$t_tmp/err"

# Squid access log
cat >"$t_tmp/access.log" <<'EOF'
1700000000.123    456 10.1.2.3 TCP_MISS/200 1234 GET http://example-adult.test/x - HIER_DIRECT/192.0.2.1 text/html
1700000001.000     10 10.1.2.4 TCP_TUNNEL/200 0 CONNECT example-casino.test:443 - HIER_DIRECT/192.0.2.1 -
1700000002.500     20 10.1.2.5 TCP_MISS/200 99 GET http://ok.test/ - HIER_DIRECT/192.0.2.1 text/html
this is not a log line
1700000003.000     20 10.1.2.6 TCP_MISS/200 99 GET https://www.google.com/search?q=adult+videos - HIER_DIRECT/192.0.2.1 text/html
EOF
t_status 1 "ward scan --squid-log reports requests in an area" "$WARD" scan --squid-log "$t_tmp/access.log" \
	--lists lists --map lists.map --rules search.rules --json
[ "$(jq -r '[.client, .time, .verdict] | @tsv' "$t_tmp/out" | tr '\t\n' ' |')" = \
	"10.1.2.3 2023-11-14T22:13:20Z block|10.1.2.4 2023-11-14T22:13:21Z flag|10.1.2.6 2023-11-14T22:13:23Z flag|" ]
t_result $? "with client address and time, allowed requests left out"
t_grep "unparsable log lines named" 'access.log:4: not a Squid native log line' "$t_tmp/err"

# a 10-million-line list loads in bounded memory (2 million under the sanitizers)
n=10000000; case $WARD_BUILD in *asan*) n=2000000 ;; esac
awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) printf "d%x.example-big.test\n", i }' >"$t_tmp/big.txt"
t_status 1 "a $n-line list loads" "$WARD" url --lists "$t_tmp/big.txt" --no-search -q "http://www.d$(printf %x $((n - 1))).example-big.test/"
t_status 0 "and a miss is a miss" "$WARD" url --lists "$t_tmp/big.txt" --no-search -q "http://d$(printf %x $n).example-big.test/"
rm -f "$t_tmp/big.txt"
t_done
