#!/usr/bin/env bash
# `make run` (through scripts/run.sh): starts wardd on http://127.0.0.1:8080 with its embedded
# database in ./run/ (not in git).  The first run makes a demo school with one account of every
# role and keeps their passwords in run/first-sign-in.txt; every run prints how to sign in.
#   O=DIR          the build directory (default build)
#   WARD_RUN_DIR   where the data lives (default ./run)
#   WARD_PORT      the port (default 8080)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
O=${O:-build}
case $O in /*) ;; *) O=$top/$O ;; esac
run=${WARD_RUN_DIR:-$top/run}
port=${WARD_PORT:-8080}
school="Demo School"
data=$run/data
sheet=$run/first-sign-in.txt
conf=$run/wardd.conf

for b in ward wardd; do
	if [ ! -x "$O/$b" ]; then
		echo "run-wardd: $O/$b is not built; run make first" >&2
		exit 2
	fi
done
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	echo "run-wardd: something is already listening on 127.0.0.1:$port;" \
	     "stop it or choose another port: WARD_PORT=8081 make run" >&2
	exit 2
fi

# A password of 16 characters without look-alikes.
pw() (
	set +o pipefail # tr ends on SIGPIPE once head has enough
	LC_ALL=C tr -dc 'abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679' </dev/urandom | head -c 16
)

if [ ! -e "$data/ward.db" ]; then
	umask 077
	mkdir -p "$run"
	echo "First run: making a demo school in $data"
	declare -A pass
	for role in admin dsl deputy-dsl staff auditor; do pass[$role]=$(pw); done
	"$O/ward" admin --data-dir "$data" init --school "$school" --username admin \
		--password "${pass[admin]}" >/dev/null
	for role in dsl deputy-dsl staff auditor; do
		"$O/ward" admin --data-dir "$data" user add --school "$school" --username "$role" \
			--role "$role" --password "${pass[$role]}" >/dev/null
	done
	{
		echo "School:  $school"
		printf '  %-11s %-11s %s\n' role name password
		for role in admin dsl deputy-dsl staff auditor; do
			printf '  %-11s %-11s %s\n' "$role" "$role" "${pass[$role]}"
		done
	} >"$sheet"
	cat >"$conf" <<EOF
# wardd configuration for \`make run\` (see wardd(8) for every key)
[wardd]
listen = 127.0.0.1
port = $port
data_dir = $data
log = stderr
EOF
fi

url="http://127.0.0.1:$port"
cat <<EOF

ward's safeguarding service (wardd) is starting at $url/
Ctrl-C stops it.  The data is in $data: delete $run to start again.

How to sign in the first time (this sheet is kept in $sheet):
$(cat "$sheet")

  staff and auditor sign in with the school, name and password.
  dsl, deputy-dsl and admin also need an authenticator app (a second factor, TOTP): at the
  first sign-in ward shows a QR code; scan it with any authenticator app (Aegis, FreeOTP,
  Google or Microsoft Authenticator) and type the 6-digit code the app shows.  No phone to
  hand?  Use the secret shown beside the QR code: \`oathtool --totp -b SECRET\` prints the
  code (Debian package oathtool).  Each code works once; the next one comes 30 s later.
  A lost authenticator: $O/ward admin --data-dir $data user reset-totp --school "$school" --username NAME

From a terminal instead of the browser:
  curl -c $run/cookies -H 'content-type: application/json' \\
    -d '{"school":"$school","username":"staff","password":"PASSWORD"}' $url/api/v1/session
  curl -b $run/cookies $url/api/v1/concerns
  Sign-in answers a csrf_token: send it as X-CSRF-Token on every POST, PATCH and DELETE.
  The API is described in docs/openapi.yaml; wardd(8) describes the service.

EOF
exec "$O/wardd" --config "$conf" --port "$port"
