#!/usr/bin/env bash
# wardd under wrk (Debian package wrk) on loopback: authenticated reads per second (GET one
# concern with a staff session cookie; every read is audited), concern creation with durable
# commits (POST with the CSRF header, one fsync'd transaction each) with its p50 and p99, and
# wardd's resident memory idle and under load (VmRSS and VmHWM from /proc).  Each figure is
# printed beside its target from DESIGN.md.
#   SECONDS_EACH (default 10) per run; THREADS (default 16, as wardd) wardd's worker threads;
#   CONNS_READ (default 32) and CONNS_WRITE (default 8) wrk connections.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
O=${O:-build}
case $O in /*) ;; *) O=$top/$O ;; esac
SECS=${SECONDS_EACH:-10}
THREADS=${THREADS:-16}
CONNS_READ=${CONNS_READ:-32}
CONNS_WRITE=${CONNS_WRITE:-8}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
command -v jq >/dev/null || { echo "jq is not installed (apt-get install jq)"; exit 1; }
[ -x "$O/wardd" ] && [ -x "$O/ward" ] || make -s O="$O" "$O/wardd" "$O/ward"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wardd-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
data=$tmp/data
pw='a long benchmark password'
"$O/ward" admin --data-dir "$data" init --school "Bench School" --password "$pw" >/dev/null
"$O/ward" admin --data-dir "$data" user add --school "Bench School" --username staff --role staff \
	--password "$pw" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$O/wardd" --config /dev/null --data-dir "$data" --port "$port" --threads "$THREADS" 2>"$tmp/wardd.log" &
pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 200); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.05; done
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; } # kB
sleep 1
idle_kb=$(rss VmRSS)

# sign in, and one concern to read
resp=$(curl -sf -c "$tmp/jar" -H 'content-type: application/json' \
	-d "{\"school\":\"Bench School\",\"username\":\"staff\",\"password\":\"$pw\"}" "$base/api/v1/session")
csrf=$(jq -r .csrf_token <<<"$resp")
cookie="ward_session=$(awk '$6 == "ward_session" { print $7 }' "$tmp/jar")"
body='{"occurred_at":"2026-11-01","children":[{"name":"Pupil 1","date_of_birth":"2014-05-06","year_group":"7","internal_id":"P1"}],"areas":["grooming","peer-images"],"account":"An adult online asked the pupil to keep their chats secret and to move to a private app.","source":"staff"}'
id=$(curl -sf -H "cookie: $cookie" -H "x-csrf-token: $csrf" -H 'content-type: application/json' \
	-d "$body" "$base/api/v1/concerns" | jq -r .id)

cat >"$tmp/report.lua" <<'LUA'
done = function(summary, latency, requests)
	local secs = summary.duration / 1e6
	io.write(string.format("RESULT rps=%.0f p50_us=%d p99_us=%d requests=%d non2xx=%d errors=%d\n",
		summary.requests / secs, latency:percentile(50), latency:percentile(99), summary.requests,
		summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write +
		summary.errors.timeout))
end
LUA
cat >"$tmp/create.lua" <<LUA
wrk.method = "POST"
wrk.headers["cookie"] = "$cookie"
wrk.headers["x-csrf-token"] = "$csrf"
wrk.headers["content-type"] = "application/json"
wrk.body = '$body'
$(cat "$tmp/report.lua")
LUA

# peak resident memory while wrk runs: VmHWM after the runs
echo "wardd with $THREADS worker threads; wrk on the same machine ($(nproc) CPUs; the figures depend on the load others put on it)"
read_out=$(wrk -t2 -c"$CONNS_READ" -d"${SECS}s" -s "$tmp/report.lua" -H "cookie: $cookie" \
	"$base/api/v1/concerns/$id" | grep '^RESULT')
create_out=$(wrk -t2 -c"$CONNS_WRITE" -d"${SECS}s" -s "$tmp/create.lua" "$base/api/v1/concerns" | grep '^RESULT')
loaded_kb=$(rss VmHWM)
sleep 1
after_kb=$(rss VmRSS)
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $2"; }

read_rps=$(field rps "$read_out")
c_rps=$(field rps "$create_out"); c50=$(field p50_us "$create_out"); c99=$(field p99_us "$create_out")
verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "NOT met"; fi; }
printf '%-44s %12s   %-18s %s\n' figure wardd target verdict
printf '%-44s %12s   %-18s %s\n' "authenticated reads/s (GET a concern, audited)" "$read_rps" ">= 10000" \
	"$(verdict $((read_rps >= 10000)))"
printf '%-44s %12s   %-18s %s\n' "  read p50 / p99 (ms)" \
	"$(awk -v a="$(field p50_us "$read_out")" -v b="$(field p99_us "$read_out")" 'BEGIN { printf "%.2f / %.2f", a/1000, b/1000 }')" "" ""
printf '%-44s %12s   %-18s %s\n' "concern creation/s (durable commits)" "$c_rps" "" ""
printf '%-44s %12s   %-18s %s\n' "concern creation p50 (ms)" "$(awk -v a="$c50" 'BEGIN { printf "%.2f", a/1000 }')" "" ""
printf '%-44s %12s   %-18s %s\n' "concern creation p99 (ms)" "$(awk -v a="$c99" 'BEGIN { printf "%.2f", a/1000 }')" "< 20" \
	"$(verdict $((c99 < 20000)))"
printf '%-44s %12s   %-18s %s\n' "resident memory idle (MB)" "$(awk -v a="$idle_kb" 'BEGIN { printf "%.1f", a/1024 }')" "< 30" \
	"$(verdict $((idle_kb < 30 * 1024)))"
printf '%-44s %12s   %-18s %s\n' "resident memory peak under load (MB)" "$(awk -v a="$loaded_kb" 'BEGIN { printf "%.1f", a/1024 }')" "" ""
printf '%-44s %12s   %-18s %s\n' "resident memory after load (MB)" "$(awk -v a="$after_kb" 'BEGIN { printf "%.1f", a/1024 }')" "" ""
for o in "$read_out" "$create_out"; do
	if [ "$(field non2xx "$o")" != 0 ] || [ "$(field errors "$o")" != 0 ]; then
		echo "some requests failed: $o"; exit 1
	fi
done
