#!/usr/bin/env bash
# URL lookups: ward against squidGuard (Debian package squidguard, batch mode: redirector lines
# on standard input) on the same lists and the same URLs.  Prints lookups per second, load
# time and peak resident memory for both, the ratios, and whether the verdicts agree.
#   DOMAINS (default 3000000) domains in squidGuard layout, URLS (default 10000000) URLs.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
O=${O:-build}
DOMAINS=${DOMAINS:-3000000}
URLS=${URLS:-10000000}
W=${WARD_BENCH_DIR:-$O/bench-url}/$DOMAINS-$URLS
command -v squidGuard >/dev/null || { echo "squidGuard is not installed (apt-get install squidguard)"; exit 1; }
make -s O="$O" "$O/libward.a"
LIB_PKGS=$(make -s print-LIB_PKGS 2>/dev/null || echo "libhs libutf8proc icu-uc icu-i18n libpsl libidn2 libjpeg libpng libwebp nettle")
cc -O2 -std=c17 -D_GNU_SOURCE -Iinclude bench/url/urlbench.c "$O/libward.a" \
	$(pkg-config --libs $LIB_PKGS) -lgif -lm -lpthread -lstdc++ -o "$O/urlbench"
if [ ! -f "$W/urls.txt" ]; then
	echo "generating $DOMAINS domains and $URLS URLs in $W ..."
	mkdir -p "$W"
	python3 bench/url/gen.py "$W" "$DOMAINS" "$URLS"
fi
W=$(cd "$W" && pwd)
rm -f "$W"/lists/*/*.db
mkdir -p "$W/sglog"
cat >"$W/sg.conf" <<CONF
dbhome $W/lists
logdir $W/sglog
dest adult {
	domainlist adult/domains
	urllist adult/urls
}
dest gambling {
	domainlist gambling/domains
}
acl {
	default {
		pass !adult !gambling all
		redirect http://blocked.invalid/
	}
}
CONF
tm() { /usr/bin/time -f "%e %M" -o "$W/time" "$@"; }
echo "http://warm.invalid/ 10.0.0.1/- - GET" >"$W/one.in"

# ward: load the text lists, then every URL
# (batch: 32 URLs at a time through ward_urllists_check_many, as a proxy helper or log reader
# with many requests at hand would; single: one ward_urllists_check call per URL)
tm "$O/urlbench" "$W/lists" "$W/urls.txt" "$W/ward1.v" single >"$W/ward1.out"
w_rate1=$(awk '$1=="lookups_per_s"{print $2}' "$W/ward1.out")
tm "$O/urlbench" "$W/lists" "$W/urls.txt" "$W/ward.v" batch >"$W/ward.out"
cmp -s "$W/ward.v" "$W/ward1.v" || echo "ward: batch and single verdicts differ!"
w_load=$(awk '$1=="load_s"{print $2}' "$W/ward.out")
w_rate=$(awk '$1=="lookups_per_s"{print $2}' "$W/ward.out")
w_rss=$(awk '{print $2}' "$W/time")
w_rss_loaded=$(awk '$1=="rss_loaded_kb"{print $2}' "$W/ward.out")

# squidGuard: start from the text lists (it builds its Berkeley DB in memory), then build the
# .db files (squidGuard -C all) and start from those, as a school would run it
tm squidGuard -c "$W/sg.conf" <"$W/one.in" >/dev/null
s_load_text=$(awk '{print $1}' "$W/time")
rm -f "$W"/lists/*/*.db
tm squidGuard -c "$W/sg.conf" -C all
s_build=$(awk '{print $1}' "$W/time")
tm squidGuard -c "$W/sg.conf" <"$W/one.in" >/dev/null
s_start=$(awk '{print $1}' "$W/time")
awk '{print $0 " 10.0.0.1/- - GET"}' "$W/urls.txt" >"$W/sg.in"
tm squidGuard -c "$W/sg.conf" <"$W/sg.in" >"$W/sg.out"
s_total=$(awk '{print $1}' "$W/time")
s_rss=$(awk '{print $2}' "$W/time")
n=$(wc -l <"$W/urls.txt")
s_rate=$(awk -v n="$n" -v t="$s_total" -v s="$s_start" 'BEGIN{printf "%.0f", n / (t - s > 0.001 ? t - s : 0.001)}')
awk '{printf "%s", ($1 == "OK") ? "B" : "A"}' "$W/sg.out" >"$W/sg.v"
rm -f "$W/sg.in" "$W/sg.out" "$W"/lists/*/*.db "$W/ward1.v"

agree=$(python3 - "$W" <<'PY'
import sys
w = sys.argv[1]
a = open(w + "/ward.v").read()
b = open(w + "/sg.v").read()
urls = open(w + "/urls.txt").read().split("\n")
diff = [i for i in range(min(len(a), len(b))) if a[i] != b[i]]
print(len(a) == len(b) and not diff and "yes" or "NO", len(diff), len(a), len(b))
for i in diff[:5]:
    print("  ward %s squidGuard %s %s" % (a[i], b[i], urls[i]), file=sys.stderr)
PY
)
blocked=$(tr -cd B <"$W/ward.v" | wc -c)
printf '\nURL lookups: %s domains (plus %s URL entries), %s URLs (%s blocked)\n' "$DOMAINS" \
	"$(wc -l <"$W/lists/adult/urls")" "$n" "$blocked"
printf '%-34s %14s %14s %10s\n' "" "ward" "squidGuard" "ratio"
printf '%-34s %14s %14s %9.1fx\n' "lookups per second (batches)" "$w_rate" "$s_rate" "$(awk -v a="$w_rate" -v b="$s_rate" 'BEGIN{print a/b}')"
printf '%-34s %14s %14s %9.1fx\n' "lookups per second (one a call)" "$w_rate1" "$s_rate" "$(awk -v a="$w_rate1" -v b="$s_rate" 'BEGIN{print a/b}')"
printf '%-34s %14s %14s %9.1fx\n' "load from text lists (s)" "$w_load" "$s_load_text" "$(awk -v a="$w_load" -v b="$s_load_text" 'BEGIN{print b/a}')"
printf '%-34s %14s %14s\n' "squidGuard -C all, then start (s)" "-" "$s_build + $s_start"
printf '%-34s %14s %14s %9.2fx\n' "peak resident memory (MB)" "$((w_rss / 1024))" "$((s_rss / 1024))" "$(awk -v a="$w_rss" -v b="$s_rss" 'BEGIN{print a/b}')"
printf '%-34s %14s\n' "ward resident after load (MB)" "$((w_rss_loaded / 1024))"
printf 'verdicts agree: %s (%s differ of %s / %s)\n' $agree
printf 'targets: >= 20x lookups, load < 2 s, <= 150 MB for 3M domains\n'
