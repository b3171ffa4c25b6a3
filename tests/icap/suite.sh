#!/usr/bin/env bash
# tests/icap/suite.sh: Squid and c-icap (Debian packages) with the srv_ward module on loopback
# ports, a local origin server and wardd.  Checks the block page, a flagged
# search that is let through with an alert, a page with an indicator phrase, and that each alert
# arrives in wardd exactly once.  wardd is started here (tests/icap/wardd.sh: a data directory
# made with `ward admin`, a token from `ward admin token add`) and the checks read the alerts
# back through its API as a DSL; the test receiver stands in only when wardd is not built.  To
# post elsewhere, set WARD_TEST_ALERTS_URL and WARD_TEST_ALERTS_TOKEN; the checks then read
# WARD_TEST_ALERTS_RECORD.
. "$(dirname "$0")/../lib.sh"
SO=$(realpath -m "$WARD_BUILD/icap/srv_ward.so")
if [ ! -f "$SO" ] || ! command -v c-icap >/dev/null || [ ! -x /usr/sbin/squid ]; then
	echo "1..0 # SKIP needs $SO, c-icap and squid"
	exit 0
fi
T=$t_tmp
chmod 755 "$T"
mkdir -p "$T/www" "$T/lists" "$T/logs" "$T/cache"
chmod 777 "$T/logs" "$T/cache"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -f "$T/squid.pid" ] && kill "$(cat "$T/squid.pid")" 2>/dev/null
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$WARD_TEST_KEEP" ] && cp -r "$T/logs" "$WARD_TEST_KEEP"; rm -rf "$T"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfile() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }
waitport() { for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# Origin: an ordinary page, a page with a clinical indicator phrase, an ordinary photograph.
printf '<html><body><p>The school trip to the museum is on Friday.</p></body></html>\n' >"$T/www/index.html"
printf '<html><body><p>Forum post: men pay him to see me at the flat.</p></body></html>\n' >"$T/www/indicator.html"
# An ordinary photograph from the PDQ test data, listed in a test hash list by its PDQ hash.
P=${WARD_PDQ_DATA:-$WARD_TOP/../shared/testdata/pdq}; [ -d "$P" ] || P=/work/shared/testdata/pdq
cp "$P/images/misc-images/c.png" "$T/www/photo.png"
pdq=$("$WARD" hash "$T/www/photo.png" | awk '/^pdq:/ {print $2}')
printf '# test list: an ordinary photograph\n%s,test-photo,abuse-images-subject\n' "$pdq" >"$T/test.hashes"
python3 "$WARD_TOP/tests/icap/origin.py" "$T/origin.port" "$T/www" & pids+=($!)

. "$WARD_TOP/tests/icap/wardd.sh"
RECORD=${WARD_TEST_ALERTS_RECORD:-$T/alerts.jsonl}
if [ -n "$WARD_TEST_ALERTS_URL" ]; then
	TOKEN=$WARD_TEST_ALERTS_TOKEN ALERTS_URL=$WARD_TEST_ALERTS_URL
elif wardd_usable; then
	# a real wardd: the checks below read the alerts back as the DSL sees them
	t_ok "wardd starts with a DSL and a token from ward admin token add" wardd_start icap
else
	TOKEN=test-service-token
	python3 "$WARD_TOP/tests/icap/receiver.py" "$T/recv.port" "$RECORD" "$TOKEN" & pids+=($!)
	waitfile "$T/recv.port"
	ALERTS_URL=http://127.0.0.1:$(cat "$T/recv.port")/api/v1/alerts
fi
waitfile "$T/origin.port"
OPORT=$(cat "$T/origin.port")
: >"$RECORD"
printf '%s\n' "$TOKEN" >"$T/token"

echo "blocked.example.test" >"$T/lists/adult-content"
IPORT=$(freeport)
cat >"$T/c-icap.conf" <<CONF
PidFile $T/c-icap.pid
CommandsSocket $T/c-icap.ctl
Port 127.0.0.1:$IPORT
StartServers 1
MaxServers 1
ThreadsPerChild 8
ServerLog $T/logs/cicap-server.log
AccessLog $T/logs/cicap-access.log
DebugLevel ${WARD_TEST_ICAP_DEBUG:-1}
ModulesDir /usr/lib/x86_64-linux-gnu/c_icap
ServicesDir /usr/lib/x86_64-linux-gnu/c_icap
Service ward $SO
ward.Rules $WARD_TOP/rules
ward.Lists $T/lists
ward.AlertURL $ALERTS_URL
ward.TokenFile $T/token
ward.SpoolFile $T/spool
ward.Monitor 127.0.0.0/8
ward.HashList $T/test.hashes
ward.ListsCheckInterval 1
CONF
c-icap -N -f "$T/c-icap.conf" >"$T/logs/cicap.out" 2>&1 & pids+=($!)
t_ok "c-icap starts with srv_ward" waitport "$IPORT"

SPORT=$(freeport)
cat >"$T/squid.conf" <<CONF
http_port 127.0.0.1:$SPORT
pid_filename $T/squid.pid
access_log stdio:$T/logs/access.log
cache_log $T/logs/cache.log
cache_store_log none
coredump_dir $T/cache
cache deny all
dns_nameservers 127.0.0.1
shutdown_lifetime 0 seconds
http_access allow localhost
http_access deny all
cache_peer 127.0.0.1 parent $OPORT 0 no-query originserver name=origin
never_direct allow all
icap_enable on
icap_send_client_ip on
icap_preview_enable on
icap_service ward_req reqmod_precache icap://127.0.0.1:$IPORT/ward bypass=off
icap_service ward_resp respmod_precache icap://127.0.0.1:$IPORT/ward bypass=off
adaptation_access ward_req allow all
adaptation_access ward_resp allow all
CONF
/usr/sbin/squid -N -f "$T/squid.conf" >"$T/logs/squid.out" 2>&1 & pids+=($!)
t_ok "Squid starts" waitport "$SPORT"

get() { curl -s -o "$T/body" -w '%{http_code}' --max-time 10 -x "http://127.0.0.1:$SPORT" "$1"; }
code=$(get http://www.ordinary.test/index.html)
t_ok "an ordinary page passes unchanged" test "$code" = 200 -a "$(cat "$T/body")" = "$(cat "$T/www/index.html")"
code=$(get http://blocked.example.test/some/page)
t_ok "a blocked test domain gets the block page (403)" test "$code" = 403
t_grep "the block page links to Childline" 'childline\.org\.uk' "$T/body"
t_grep "the block page links to CEOP" 'ceop\.police\.uk' "$T/body"
t_ok "the block page names nothing that was matched" sh -c "! grep -Eqi 'adult-content|blocked\.example|categor' '$T/body'"
code=$(get 'http://www.google.com/search?q=youre+so+mature')
t_ok "a search for a flagged term is let through" test "$code" = 200
code=$(get http://www.ordinary.test/indicator.html)
t_ok "a page with an indicator phrase passes unchanged" test "$code" = 200 -a "$(cat "$T/body")" = "$(cat "$T/www/indicator.html")"
get http://www.ordinary.test/photo.png >/dev/null
t_ok "the listed image passes through unchanged" cmp -s "$T/body" "$T/www/photo.png"
# The same requests again: the server merges them by dedup_key.
get http://blocked.example.test/some/page >/dev/null
get http://www.ordinary.test/indicator.html >/dev/null
for _ in $(seq 50); do record_sync; [ "$(wc -l <"$RECORD")" -ge 4 ] && break; sleep 0.1; done
sleep 0.5
record_sync
[ -z "$WARDD_BASE" ] || t_ok "wardd merged each repeated request into its alert" \
	test "$(jq -r '.dedup_key' "$RECORD.all" | sort | uniq -d | wc -l)" = 2
t_grep "the blocked domain raised an alert" '"area": "adult-content".*"source": "icap".*blocked\.example\.test' "$RECORD"
t_grep "the search raised an alert" '"rule": "grooming\.[^"]*".*google\.com/search' "$RECORD"
t_grep "the indicator page raised an alert" '"area": "exploitation".*indicator\.html' "$RECORD"
t_grep "the listed image raised an alert" '"area": "abuse-images-subject", "rule": "hashlist:test-photo".*photo\.png' "$RECORD"
t_ok "the image alert holds no image bytes" sh -c "! grep -q PNG '$RECORD'"
t_grep "the subject is the client address" '"subject": "127\.0\.0\.1"' "$RECORD"
t_ok "no alert carries image bytes or the page itself" sh -c "! grep -q 'museum' '$RECORD'"
t_ok "each alert arrives exactly once" test "$(jq -r .dedup_key "$RECORD" | sort | uniq -d | wc -l)" = 0 -a "$(wc -l <"$RECORD")" = 4
t_ok "the ordinary page raised no alert" sh -c "! grep -q 'index\.html' '$RECORD'"
t_ok "nothing was left in the spool" test ! -s "$T/spool"
# A list changed on disk takes effect without a restart: a new index is built aside and
# swapped in while requests go on being answered.
cpid=$(cat "$T/c-icap.pid")
code=$(get http://newly.listed.test/)
t_ok "a domain not yet listed passes" test "$code" = 200
echo newly.listed.test >>"$T/lists/adult-content"
for _ in $(seq 60); do code=$(get http://newly.listed.test/); [ "$code" = 403 ] && break; sleep 0.2; done
t_ok "once it is added to a list file it is blocked, without a restart" test "$code" = 403
t_ok "c-icap was not restarted" test "$(cat "$T/c-icap.pid")" = "$cpid" -a -d "/proc/$cpid"
t_grep "the reload is logged" 'lists .* reloaded' "$T/logs/cicap-server.log"
code=$(get http://blocked.example.test/still)
t_ok "the old entries still block after the reload" test "$code" = 403
# Policy (ward.AreaAction, ward.Monitor, ward.QuietHours) on a c-icap of its own, asked
# directly with c-icap-client as Squid would.
mkdir -p "$T/plists"
echo policy-adult.test >"$T/plists/adult-content"
echo policy-exploit.test >"$T/plists/exploitation"
policy_icap() { # NAME EXTRA-DIRECTIVES: starts a c-icap with srv_ward, sets PPORT
	PPORT=$(freeport)
	cat >"$T/$1.conf" <<CONF
PidFile $T/$1.pid
CommandsSocket $T/$1.ctl
Port 127.0.0.1:$PPORT
StartServers 1
MaxServers 1
ThreadsPerChild 4
ServerLog $T/logs/$1-server.log
AccessLog $T/logs/$1-access.log
DebugLevel 1
ModulesDir /usr/lib/x86_64-linux-gnu/c_icap
ServicesDir /usr/lib/x86_64-linux-gnu/c_icap
Service ward $SO
ward.Rules $WARD_TOP/rules
ward.Lists $T/plists
ward.AlertURL $ALERTS_URL
ward.TokenFile $T/token
ward.SpoolFile $T/$1.spool
$2
CONF
	c-icap -N -f "$T/$1.conf" >"$T/logs/$1.out" 2>&1 &
	pids+=($!)
	waitport "$PPORT"
}
# asks for URL as client address IP (and account USER); prints the HTTP status wardd's module
# answers: 403 for the block page, 204 for "unchanged"
icap_ask() {
	rm -f "$T/icap.out" # c-icap-client will not write over a file
	c-icap-client -i 127.0.0.1 -p "$PPORT" -s ward -req "$1" -x "X-Client-IP: $2" \
		${3:+-x "X-Client-Username: $3"} -v -o "$T/icap.out" >"$T/icap.hdr" 2>&1
	if grep -q 'HTTP/1.1 403' "$T/icap.hdr" "$T/icap.out" 2>/dev/null; then echo 403
	elif grep -q "ICAP/1.0 204" "$T/icap.hdr"; then echo 204; else echo other; cat "$T/icap.hdr" >&2; fi
}
alerts_for() { record_sync; grep -c -- "$1" "$RECORD" || true; }
t_ok "a c-icap with a policy starts" policy_icap pol "ward.AreaAction adult-content alert
ward.AreaAction exploitation both
ward.Monitor 10.20.0.0/16 user:year9-laptop-17"
t_ok "AreaAction alert: a listed adult-content site is not blocked" \
	test "$(icap_ask http://policy-adult.test/a 10.20.1.2)" = 204
t_ok "AreaAction both: a listed exploitation site is blocked" \
	test "$(icap_ask http://policy-exploit.test/a 10.20.1.2)" = 403
t_ok "an unmonitored address is still blocked" \
	test "$(icap_ask http://policy-exploit.test/b 192.168.7.7)" = 403
t_ok "a monitored account on an unmonitored address" \
	test "$(icap_ask http://policy-adult.test/c 192.168.7.8 year9-laptop-17)" = 204
for _ in $(seq 40); do [ "$(alerts_for policy-)" -ge 3 ] && break; sleep 0.1; done
sleep 0.5
t_ok "the monitored subject raised an alert for each area" \
	test "$(alerts_for '"subject": "10.20.1.2".*policy-adult.test/a')" = 1 -a \
	"$(alerts_for '"subject": "10.20.1.2".*policy-exploit.test/a')" = 1
t_ok "the monitored account raised one" test "$(alerts_for 'year9-laptop-17@192.168.7.8')" = 1
t_ok "the unmonitored address raised none" test "$(alerts_for 192.168.7.7)" = 0
kill "$(cat "$T/pol.pid")" 2>/dev/null
# quiet hours around now (local time): blocking goes on, alerts stop
from=$(date -d '-2 min' +%H:%M) to=$(date -d '+3 min' +%H:%M)
t_ok "a c-icap with quiet hours $from-$to starts" policy_icap quiet "ward.QuietHours $from-$to"
t_ok "in quiet hours a listed site is still blocked" \
	test "$(icap_ask http://policy-exploit.test/quiet 10.20.1.3)" = 403
sleep 1.5
t_ok "but raises no alert" test "$(alerts_for policy-exploit.test/quiet)" = 0
kill "$(cat "$T/quiet.pid")" 2>/dev/null
if [ -n "$WARDD_BASE" ]; then
	# wardd down: the proxy still answers at once, the alert waits in the spool and reaches
	# wardd once it is back
	t_ok "wardd stops" wardd_stop
	code=$(get http://blocked.example.test/while-down)
	t_ok "with wardd down the block page still comes at once" test "$code" = 403
	for _ in $(seq 50); do [ -s "$T/spool" ] && break; sleep 0.1; done
	t_grep "the alert waits in the spool" 'while-down' "$T/spool"
	t_ok "wardd starts again" wardd_run
	for _ in $(seq 80); do record_sync; grep -q while-down "$RECORD" && break; sleep 0.1; done
	t_grep "the spooled alert reached wardd" '"area": "adult-content".*while-down' "$RECORD"
	t_ok "once" test "$(grep -c while-down "$RECORD.all")" = 1
	t_ok "and the spool is empty" test ! -s "$T/spool"
fi
t_done
