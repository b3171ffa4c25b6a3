#!/usr/bin/env bash
# wardd on PostgreSQL beside wardd on SQLite, with many schools: both stores are seeded with
# SCHOOLS schools (default 200) and CONCERNS concern rows (default 1000000) spread across them,
# with as many audit rows, then wrk measures on loopback, for each store, authenticated reads of
# one concern (each read appends an audit entry, durable before the answer; the entries of reads
# waiting together are committed in one transaction) and concern creation (one durable
# transaction with its audit entry), with p50 and p99.  CONNS_READ=1 CONNS_WRITE=1 gives one
# request at a time: each one's own latency, without queueing.
#
# The seeded rows are filler for size (their payloads are random bytes, their audit rows do not
# chain, and they raise no notice for the DSL, as if every one had been acknowledged):
# `ward admin audit verify` is not meaningful on a seeded database.  PostgreSQL is a
# throwaway server from the Debian packages (tests/pg/pg.sh), fsync and synchronous_commit on.
#   O (default build), SECONDS_EACH (default 10), THREADS (default 16), CONNS_READ (default 32),
#   CONNS_WRITE (default 8), SCHOOLS, CONCERNS, STORES (default "sqlite postgres").
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
O=${O:-build}
case $O in /*) ;; *) O=$top/$O ;; esac
SECS=${SECONDS_EACH:-10}
THREADS=${THREADS:-16}
CONNS_READ=${CONNS_READ:-32}
CONNS_WRITE=${CONNS_WRITE:-8}
SCHOOLS=${SCHOOLS:-200}
CONCERNS=${CONCERNS:-1000000}
STORES=${STORES:-sqlite postgres}
for t in wrk jq sqlite3 psql; do command -v $t >/dev/null || { echo "$t is not installed (scripts/deps.sh)"; exit 1; }; done
[ -x "$O/wardd" ] && [ -x "$O/ward" ] || make -s O="$O" "$O/wardd" "$O/ward"
. "$top/tests/pg/pg.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wardd-pgbench.XXXXXX")
chmod 755 "$tmp"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pg_stop; rm -rf "$tmp"; }
trap cleanup EXIT
pw='a long benchmark password'
body='{"occurred_at":"2026-11-01","children":[{"name":"Pupil 1","date_of_birth":"2014-05-06","year_group":"7","internal_id":"P1"}],"areas":["grooming","peer-images"],"account":"An adult online asked the pupil to keep their chats secret and to move to a private app.","source":"staff"}'

# The filler, as SQL both stores take: SCHOOLS schools and CONCERNS concern versions and audit
# rows with ids far above wardd's own.
seed_sql() {
	local series=$1 # a row source of v = 1..N, N in %s
	cat <<SQL
INSERT INTO schools (id, name, created) SELECT 1000000 + v, 'Seed School ' || v, 0 FROM ($(printf "$series" "$SCHOOLS")) AS g;
INSERT INTO concern_versions (concern_id, version, school_id, reporter_id, created, status, payload)
  SELECT 500000000000 + v, 1, 1000000 + 1 + (v % $SCHOOLS), 1, 1700000000 + v, 'new', $(blob) FROM ($(printf "$series" "$CONCERNS")) AS g;
INSERT INTO audit (seq, school_id, actor_id, at, action, target, source, digest, prev, hash)
  SELECT 900000000000 + v, 1000000 + 1 + (v % $SCHOOLS), 1, 1700000000 + v, 'concern.create',
  'concern/' || (500000000000 + v) || '/v1', 'seed', $(blob32), $(blob32), $(blob32) FROM ($(printf "$series" "$CONCERNS")) AS g;
SQL
}

run_store() {
	local store=$1 data=$tmp/$1 port out read_out create_out
	export -n WARD_POSTGRES_DSN 2>/dev/null || true
	unset WARD_POSTGRES_DSN
	if [ "$store" = postgres ]; then
		createdb bench
		export WARD_POSTGRES_DSN="$(pg_dsn bench)"
	fi
	"$O/ward" admin --data-dir "$data" init --school "Bench School" --password "$pw" >/dev/null
	"$O/ward" admin --data-dir "$data" user add --school "Bench School" --username staff --role staff \
		--password "$pw" >/dev/null
	local t0=$SECONDS
	if [ "$store" = postgres ]; then
		blob() { echo "decode(md5(v::text) || md5((v+1)::text) || md5((v+2)::text) || md5((v+3)::text), 'hex')"; }
		blob32() { echo "decode(md5(v::text) || md5((v+7)::text), 'hex')"; }
		# as the server's superuser, triggers off: no notices for the filler
		{ echo "BEGIN; SET LOCAL session_replication_role = replica;"
		  seed_sql 'SELECT generate_series(1, %s) AS v'; echo "COMMIT; VACUUM ANALYZE;"; } |
			psql -X -q -v ON_ERROR_STOP=1 -d bench >/dev/null
	else
		blob() { echo "randomblob(64)"; }
		blob32() { echo "randomblob(32)"; }
		{ echo "BEGIN;"; seed_sql 'WITH RECURSIVE c(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM c WHERE v < %s) SELECT v FROM c'
		  echo "DELETE FROM notices WHERE school_id > 1000000; COMMIT; ANALYZE;"; } |
			sqlite3 -bail "$data/ward.db"
	fi
	local seed_s=$((SECONDS - t0))
	port=$(pg_free_port)
	"$O/wardd" --config /dev/null --data-dir "$data" --port "$port" --threads "$THREADS" 2>"$tmp/$store.log" &
	pid=$!
	local base=http://127.0.0.1:$port
	for _ in $(seq 400); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.05; done
	local resp csrf cookie id
	resp=$(curl -sf -c "$tmp/jar" -H 'content-type: application/json' \
		-d "{\"school\":\"Bench School\",\"username\":\"staff\",\"password\":\"$pw\"}" "$base/api/v1/session")
	csrf=$(jq -r .csrf_token <<<"$resp")
	cookie="ward_session=$(awk '$6 == "ward_session" { print $7 }' "$tmp/jar")"
	id=$(curl -sf -H "cookie: $cookie" -H "x-csrf-token: $csrf" -H 'content-type: application/json' \
		-d "$body" "$base/api/v1/concerns" | jq -r .id)
	cat >"$tmp/report.lua" <<'LUA'
done = function(summary, latency, requests)
	local secs = summary.duration / 1e6
	io.write(string.format("RESULT rps=%.0f p50_us=%d p99_us=%d non2xx=%d errors=%d\n",
		summary.requests / secs, latency:percentile(50), latency:percentile(99),
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
	# wrk needs a connection per thread at least (CONNS_READ=1 CONNS_WRITE=1: one request at a
	# time, each one's own latency)
	read_out=$(wrk -t"$((CONNS_READ < 2 ? 1 : 2))" -c"$CONNS_READ" -d"${SECS}s" -s "$tmp/report.lua" -H "cookie: $cookie" \
		"$base/api/v1/concerns/$id" | grep '^RESULT')
	create_out=$(wrk -t"$((CONNS_WRITE < 2 ? 1 : 2))" -c"$CONNS_WRITE" -d"${SECS}s" -s "$tmp/create.lua" "$base/api/v1/concerns" | grep '^RESULT')
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
	f() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $2"; }
	printf '%-9s seeded in %4ss | read one concern (audited): %6s/s p50 %6s us p99 %7s us (non-2xx %s) | create: %5s/s p50 %6s us p99 %7s us (non-2xx %s)\n' \
		"$store" "$seed_s" "$(f rps "$read_out")" "$(f p50_us "$read_out")" "$(f p99_us "$read_out")" "$(f non2xx "$read_out")" \
		"$(f rps "$create_out")" "$(f p50_us "$create_out")" "$(f p99_us "$create_out")" "$(f non2xx "$create_out")"
}

case " $STORES " in *" postgres "*) pg_start || { echo "PostgreSQL did not start"; exit 1; } ;; esac
echo "wardd, $THREADS worker threads, $SCHOOLS schools and $CONCERNS concern rows (+ as many audit rows) seeded;"
echo "wrk on the same machine ($(nproc) CPUs; the figures depend on the load others put on it), ${SECS}s each"
for s in $STORES; do run_store "$s"; done
