#!/usr/bin/env bash
# bench/icap/run.sh: requests per second through Squid with and without the srv_ward c-icap
# module (REQMOD and RESPMOD) to a local origin, and the latency ward adds at p50 and p99;
# c-icap's own echo service (srv_echo) as the peer shows what ICAP costs before ward does any work.
# Load from ab (apache2-utils).  BENCH_REQUESTS (default 5000), BENCH_CONCURRENCY (default 16).
set -e
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${WARD_BUILD:-$TOP/build}
SO=$(realpath -m "$BUILD/icap/srv_ward.so")
N=${BENCH_REQUESTS:-5000}
C=${BENCH_CONCURRENCY:-16}
[ -f "$SO" ] || { echo "bench/icap: $SO not built (make all)"; exit 1; }
command -v ab >/dev/null || { echo "bench/icap: ab (apache2-utils) missing"; exit 1; }
T=$(mktemp -d)
chmod 755 "$T"
mkdir -p "$T/www" "$T/lists" "$T/logs"
chmod 777 "$T/logs"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# An ordinary 20 KB school page.
{ echo '<html><body>'; for i in $(seq 200); do echo "<p>Paragraph $i of the newsletter: clubs, trips and term dates.</p>"; done; echo '</body></html>'; } >"$T/www/index.html"
python3 "$TOP/tests/icap/origin.py" "$T/origin.port" "$T/www" & pids+=($!)
for _ in $(seq 100); do [ -s "$T/origin.port" ] && break; sleep 0.1; done
OPORT=$(cat "$T/origin.port")
for i in $(seq 10000); do echo "blocked$i.example.test"; done >"$T/lists/adult-content"

IPORT=$(freeport)
cat >"$T/c-icap.conf" <<CONF
PidFile $T/c-icap.pid
CommandsSocket $T/c-icap.ctl
Port 127.0.0.1:$IPORT
StartServers 1
MaxServers 4
ThreadsPerChild 32
ServerLog $T/logs/cicap-server.log
DebugLevel 0
ModulesDir /usr/lib/x86_64-linux-gnu/c_icap
ServicesDir /usr/lib/x86_64-linux-gnu/c_icap
Service ward $SO
Service echo srv_echo.so
ward.Rules $TOP/rules
ward.Lists $T/lists
CONF
c-icap -N -f "$T/c-icap.conf" & pids+=($!)
waitport "$IPORT"

run_squid() { # run_squid NAME SERVICE|0 -> prints "rps p50 p99 failed"
	local port; port=$(freeport)
	cat >"$T/squid-$1.conf" <<CONF
http_port 127.0.0.1:$port
pid_filename $T/squid-$1.pid
access_log none
cache_log $T/logs/cache-$1.log
cache_store_log none
coredump_dir $T/logs
cache deny all
dns_nameservers 127.0.0.1
shutdown_lifetime 0 seconds
http_access allow localhost
http_access deny all
cache_peer 127.0.0.1 parent $OPORT 0 no-query originserver name=origin
never_direct allow all
CONF
	if [ "$2" != 0 ]; then cat >>"$T/squid-$1.conf" <<CONF
icap_enable on
icap_send_client_ip on
icap_service ward_req reqmod_precache icap://127.0.0.1:$IPORT/$2 bypass=off
icap_service ward_resp respmod_precache icap://127.0.0.1:$IPORT/$2 bypass=off
adaptation_access ward_req allow all
adaptation_access ward_resp allow all
CONF
	fi
	/usr/sbin/squid -N -f "$T/squid-$1.conf" & local sp=$!
	pids+=($sp)
	waitport "$port"
	ab -q -n 200 -c "$C" -X "127.0.0.1:$port" http://www.ordinary.test/index.html >/dev/null 2>&1
	ab -q -n "$N" -c "$C" -e "$T/$1.csv" -X "127.0.0.1:$port" http://www.ordinary.test/index.html >"$T/$1.out" 2>&1
	kill "$sp"; wait "$sp" 2>/dev/null || true
	local rps fails p50 p99
	rps=$(awk '/^Requests per second/ {print $4}' "$T/$1.out")
	fails=$(awk '/^Failed requests/ {print $3}' "$T/$1.out")
	p50=$(awk -F, '$1=="50" {print $2}' "$T/$1.csv")
	p99=$(awk -F, '$1=="99" {print $2}' "$T/$1.csv")
	echo "$rps $p50 $p99 $fails"
}
read -r rps0 p500 p990 f0 <<<"$(run_squid plain 0)"
read -r rpse p50e p99e fe <<<"$(run_squid echo echo)"
read -r rps1 p501 p991 f1 <<<"$(run_squid ward ward)"
echo "bench/icap: $N requests, concurrency $C, 20 KB text page, through Squid to a local origin"
printf '%-28s %10s %10s %10s %8s\n' "" "req/s" "p50 ms" "p99 ms" "failed"
printf '%-28s %10s %10s %10s %8s\n' "Squid alone" "$rps0" "$p500" "$p990" "$f0"
printf '%-28s %10s %10s %10s %8s\n' "Squid + c-icap echo" "$rpse" "$p50e" "$p99e" "$fe"
printf '%-28s %10s %10s %10s %8s\n' "Squid + c-icap + srv_ward" "$rps1" "$p501" "$p991" "$f1"
awk -v a="$rps0" -v b="$rps1" -v p0="$p500" -v p1="$p501" -v q0="$p990" -v q1="$p991" 'BEGIN {
	printf "ratio (with ward / without): %.2f of the throughput; added latency p50 %.1f ms, p99 %.1f ms\n", b / a, p1 - p0, q1 - q0 }'
awk -v a="$rpse" -v b="$rps1" -v p0="$p50e" -v p1="$p501" 'BEGIN {
	printf "ratio (srv_ward / c-icap echo, the ICAP peer): %.2f of the throughput; p50 %+.1f ms\n", b / a, p1 - p0 }'
