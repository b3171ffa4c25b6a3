#!/usr/bin/env bash
# tests/ingest/suite.sh: ward ingest on growing, rotated and truncated Squid and DNS query logs;
# a restart keeps its position; nothing is posted twice.  Alerts go to
# a real wardd started here (tests/icap/wardd.sh; the test receiver of tests/icap only when wardd
# is not built), or to WARD_TEST_ALERTS_URL with WARD_TEST_ALERTS_RECORD.
# sanitizers: yes
. "$(dirname "$0")/../lib.sh"
T=$t_tmp
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
. "$WARD_TOP/tests/icap/wardd.sh"
RECORD=${WARD_TEST_ALERTS_RECORD:-$T/alerts.jsonl}
if [ -n "$WARD_TEST_ALERTS_URL" ]; then
	TOKEN=$WARD_TEST_ALERTS_TOKEN URL=$WARD_TEST_ALERTS_URL
elif wardd_usable; then
	# a real wardd: every check below reads the alerts back as the DSL sees them
	t_ok "wardd starts with a DSL and a token from ward admin token add" wardd_start ingest
	URL=$ALERTS_URL
else
	TOKEN=ingest-token
	python3 "$WARD_TOP/tests/icap/receiver.py" "$T/recv.port" "$RECORD" "$TOKEN" & pids+=($!)
	for _ in $(seq 100); do [ -s "$T/recv.port" ] && break; sleep 0.1; done
	URL=http://127.0.0.1:$(cat "$T/recv.port")/api/v1/alerts
fi
eval "recv_$(declare -f t_grep)"
t_grep() { record_sync; recv_t_grep "$@"; }
printf '%s\n' "$TOKEN" >"$T/token"
mkdir -p "$T/lists"
printf 'blocked.example.test\nother.example.test\n' >"$T/lists/adult-content"
: >"$RECORD"; : >"$RECORD.all"
L=$T/access.log D=$T/dnsmasq.log U=$T/unbound.log
sq() { printf '1795909233.399 2 %s TCP_MISS/200 1041 GET %s - HIER_NONE/- text/html\n' "$1" "$2"; }
ingest() { "$WARD" ingest --once -s "$L" -d "$D" -d "$U" -S "$T/state" -w "$URL" -t "$T/token" \
	-l "$T/lists" -r "$WARD_TOP/rules" --interval 10 "$@"; }
posts() { record_sync; wc -l <"$RECORD.all"; }
: >"$D"; : >"$U"
{ sq 10.0.0.5 http://www.ordinary.test/; sq 10.0.0.5 http://blocked.example.test/a; } >"$L"
t_ok "first pass" ingest
t_ok "a blocked request in the Squid log raised one alert" test "$(posts)" = 1
t_grep "the alert names the area, source and client" '"area": "adult-content".*"source": "squid-log", "subject": "10\.0\.0\.5"' "$RECORD"
t_ok "the state file was written" test -s "$T/state"
t_ok "a restart with nothing new posts nothing" ingest
t_ok "still one alert" test "$(posts)" = 1
sq 10.0.0.6 'http://www.google.com/search?q=men+pay+him+to+see+me+at+the+flat' >>"$L"
printf '%s' "$(sq 10.0.0.7 http://other.example.test/)" >>"$L"   # no newline yet
t_ok "the log grew" ingest
t_ok "only the new whole line was posted (the partial one waits)" test "$(posts)" = 2
t_grep "a flagged search raised an alert of its rule" '"rule": "exploitation\.[^"]*".*"subject": "10\.0\.0\.6"' "$RECORD"
printf '\n' >>"$L"
t_ok "the partial line completed" ingest
t_ok "and was posted once" test "$(posts)" = 3
mv "$L" "$L.1"
sq 10.0.0.8 http://blocked.example.test/rotated >"$L"
t_ok "after rotation" ingest
t_ok "the new file is read from its start" test "$(posts)" = 4
t_grep "the rotated file's line arrived" 'rotated' "$RECORD"
: >"$L"
sq 10.0.0.9 http://blocked.example.test/t >>"$L"
t_ok "after truncation" ingest
t_ok "the truncated file is read again from its start" test "$(posts)" = 5
echo 'Nov 28 10:00:00 dnsmasq[123]: query[A] www.blocked.example.test from 10.0.1.2' >>"$D"
echo 'Nov 28 10:00:01 dnsmasq[123]: forwarded www.blocked.example.test to 127.0.0.1' >>"$D"
echo '[1795909233] unbound[55:0] info: 10.0.1.3 other.example.test. AAAA IN' >>"$U"
echo '[1795909233] unbound[55:0] info: 10.0.1.3 www.ordinary.test. A IN' >>"$U"
t_ok "DNS logs" ingest
t_ok "a dnsmasq and an Unbound query raised one alert each" test "$(posts)" = 7
t_grep "dnsmasq query alert" '"source": "dns-log", "subject": "10\.0\.1\.2"' "$RECORD"
t_grep "Unbound query alert" '"source": "dns-log", "subject": "10\.0\.1\.3"' "$RECORD"
record_sync
t_ok "every alert was posted exactly once" test "$(jq -r .dedup_key "$RECORD.all" | sort | uniq -d | wc -l)" = 0
sq 192.168.5.5 http://blocked.example.test/unmonitored >>"$L"
t_ok "an unmonitored subject" ingest --monitor 10.0.0.0/8
t_ok "raises no alert" test "$(posts)" = 7
sq 10.1.2.3 http://blocked.example.test/area-off >>"$L"
t_ok "an area turned off" ingest --area-off adult-content
t_ok "raises no alert" test "$(posts)" = 7
# the log lines are stamped 1795909233: quiet hours around that local time silence them
qf=$(date -d @$((1795909233 - 120)) +%H:%M) qt=$(date -d @$((1795909233 + 180)) +%H:%M)
sq 10.1.2.5 http://blocked.example.test/quiet >>"$L"
t_ok "an event logged in quiet hours ($qf-$qt)" ingest --quiet-hours "$qf-$qt"
t_ok "raises no alert" test "$(posts)" = 7
qf=$(date -d @$((1795909233 + 3600)) +%H:%M) qt=$(date -d @$((1795909233 + 7200)) +%H:%M)
sq 10.1.2.6 http://blocked.example.test/not-quiet >>"$L"
t_ok "an event logged outside quiet hours ($qf-$qt)" ingest --quiet-hours "$qf-$qt"
t_ok "raises its alert" test "$(posts)" = 8
sq 10.1.2.4 http://blocked.example.test/spooled >>"$L"
t_ok "with wardd unreachable" "$WARD" ingest --once -s "$L" -S "$T/state" -w http://127.0.0.1:9/api/v1/alerts -l "$T/lists"
t_ok "the alert waits in the spool" grep -q spooled "$T/state.spool"
t_ok "the next run delivers the spool" sh -c "ingest() { \"\$@\"; }; \"$WARD\" ingest --once -s \"$L\" -S \"$T/state\" -w \"$URL\" -t \"$T/token\" -l \"$T/lists\" --interval 10; sleep 0; true"
for _ in $(seq 40); do [ "$(posts)" = 9 ] && break; sleep 0.1; done
t_ok "the spooled alert arrived once" test "$(posts)" = 9
C=$T/chat.txt
cp "$WARD_TOP/tests/eval/set/grooming/g00-fast-plain.txt" "$C"
chat() { "$WARD" ingest --once -c "$C" -S "$T/chat.state" -w "$URL" -t "$T/token" -r "$WARD_TOP/rules" --interval 10; }
t_ok "a chat export" chat
t_grep "a grooming conversation raised an alert" '"area": "grooming", "rule": "conversation:[a-z]+".*"source": "chat-export"' "$RECORD"
n=$(posts)
t_ok "the unchanged export again" chat
t_ok "posts nothing" test "$(posts)" = "$n"
record_sync
t_ok "every chat alert was posted once" test "$(jq -r 'select(.source == "chat-export") | .dedup_key' "$RECORD.all" | sort | uniq -d | wc -l)" = 0
t_status 2 "a bad option is an error" "$WARD" ingest --quiet-hours 25 -S "$T/state" -w "$URL" -s "$L"
t_status 2 "missing --state is an error" "$WARD" ingest -w "$URL" -s "$L"
t_done
