# tests/icap/wardd.sh: a real wardd for the detector suites (tests/icap, tests/ingest), sourced
# after tests/lib.sh.  wardd_start NAME makes a data directory with `ward admin` (a school, a
# DSL, a service token from `ward admin token add`), starts wardd on a free loopback port and
# signs the DSL in; it sets TOKEN and ALERTS_URL.  record_sync writes RECORD (one line an
# alert) and RECORD.all (each alert as many times as wardd counted it) from what the DSL reads
# through the API.  Needs node and $WARD_BUILD/wardd; the caller keeps its pids in pids.
WARDD_PW='a long test password'
wardd_start() {
	local d=$T/wardd port
	mkdir -p "$d" || return 1
	"$WARD" admin --data-dir "$d/data" init --school "Test School" --username admin \
		--password "$WARDD_PW" >"$d/admin.out" 2>&1 || return 1
	"$WARD" admin --data-dir "$d/data" user add --school "Test School" --username dsl --role dsl \
		--password "$WARDD_PW" >>"$d/admin.out" 2>&1 || return 1
	TOKEN=$("$WARD" admin --data-dir "$d/data" token add --school "Test School" --name "$1" | tail -1)
	[ -n "$TOKEN" ] || return 1
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	WARDD_PORT=$port
	WARDD_BASE=http://127.0.0.1:$port
	ALERTS_URL=$WARDD_BASE/api/v1/alerts
	wardd_run || return 1
	WARD_BUILD=$WARD_BUILD node "$WARD_TOP/tests/icap/wardd_alerts.mjs" login "$WARDD_BASE" \
		"Test School" dsl "$WARDD_PW" "$d/cookie"
}
# Starts (again) the wardd of wardd_start on its port and data directory.
wardd_run() {
	WARD_GUIDANCE=${WARD_GUIDANCE:-$WARD_TOP/guidance/response.txt} \
		"$WARD_BUILD/wardd" --data-dir "$T/wardd/data" --port "$WARDD_PORT" --config /dev/null \
		2>>"$T/wardd/wardd.log" &
	WARDD_PID=$!
	pids+=($WARDD_PID)
	for _ in $(seq 100); do curl -sf "$WARDD_BASE/healthz" >/dev/null && return 0; sleep 0.1; done
	return 1
}
# Stops it (SIGTERM) and waits until it has gone.
wardd_stop() { kill "$WARDD_PID" && wait "$WARDD_PID" 2>/dev/null; ! curl -sf "$WARDD_BASE/healthz" >/dev/null; }
record_sync() {
	[ -n "$WARDD_BASE" ] || return 0
	WARD_BUILD=$WARD_BUILD node "$WARD_TOP/tests/icap/wardd_alerts.mjs" dump "$WARDD_BASE" \
		"$T/wardd/cookie" "$RECORD"
}
wardd_usable() { [ -x "$WARD_BUILD/wardd" ] && command -v node >/dev/null; }
