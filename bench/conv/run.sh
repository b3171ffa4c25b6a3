#!/usr/bin/env bash
# bench/conv: conversation scanning in messages per second.
#
# Builds (once, cached in $O/bench/conv) a WhatsApp export of $WARD_BENCH_MESSAGES (default
# 1,000,000) messages: ordinary small talk among 1,500 pairs, with a grooming pattern planted
# in one conversation in 200.  Then times, in the same run:
#   ward scan --conversation -q --rules rules EXPORT   (readers, per-message scan, model)
#   LC_ALL=C grep -E -i -c -f PATTERNS EXPORT          (the peer: a keyword monitor, which
#                                                       flags lines, not conversations)
# and prints messages per second for both and the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
O=${O:-build}
WARD=${WARD:-$O/ward}
N=${WARD_BENCH_MESSAGES:-1000000}
dir=$O/bench/conv
mkdir -p "$dir"
export=$dir/export-$N.txt
if [ ! -s "$export" ]; then
	echo "building a $N-message export in $export ..."
	awk -v n="$N" 'BEGIN {
		srand(7)
		split("what are you up to|just watching tv|did you see the match|school was so boring today|what music do you like|i like that song too|what did you have for tea|ugh homework|have you played the new game|its raining again|lol same|going to get food brb|back|see you tomorrow|that was so funny|are you coming to the park with everyone|my cat is being weird|the bus was late again", small, "|")
		split("youre so mature for your age|how old are you|does anyone check your phone|this is our little secret ok|add me on snapchat, its more private|ill buy you some robux|send me a selfie|i want to meet you so much", risk, "|")
		t = 1740000000; blk = 0; k = 0
		for (i = 0; i < n; i++) {
			if (i % 40 == 0) { blk++; pair = blk % 1500; k = 0 }
			a = "User" pair; b = "Friend" pair
			who = (i % 2) ? b : a
			if (blk % 200 == 0 && who == a && k < 8) text = risk[++k]
			else text = small[int(rand() * 18) + 1]
			t += int(rand() * 120)
			printf "[%s] %s: %s\n", strftime("%d/%m/%Y, %H:%M:%S", t, 1), who, text
		}
	}' >"$export.tmp"
	mv "$export.tmp" "$export"
fi
bytes=$(stat -c %s "$export")
"$WARD" rules export-grep rules >"$dir/patterns"
export WARD_CACHE_DIR=$dir/cache
"$WARD" rules check rules >/dev/null
cat "$export" >/dev/null

now() { date +%s.%N; }
t0=$(now)
"$WARD" scan --conversation -q --rules rules "$export" || [ $? -eq 1 ]
t1=$(now)
alerts=$("$WARD" scan --conversation --json --min-level medium --rules rules "$export" 2>/dev/null | grep -c '"kind":"conversation"' || true)
t2=$(now)
grep_count=$(LC_ALL=C grep -E -i -c -f "$dir/patterns" "$export" || true)
t3=$(now)
awk -v n="$N" -v b="$bytes" -v tw="$(awk "BEGIN{print $t1 - $t0}")" -v tg="$(awk "BEGIN{print $t3 - $t2}")" \
    -v al="$alerts" -v gc="$grep_count" 'BEGIN {
	printf "export: %d messages, %.0f MB (WhatsApp text)\n", n, b / 1048576
	printf "ward scan --conversation: %10.0f messages/s (%.2f s; %d conversation alerts at medium or above)\n", n / tw, tw, al
	printf "grep -E -i -c -f:         %10.0f messages/s (%.2f s; %d lines matched, no conversations)\n", n / tg, tg, gc
	printf "ratio ward/grep:          %10.2fx\n", tg / tw
}'
