#!/usr/bin/env bash
# The PostgreSQL suite: starts a throwaway PostgreSQL server from the Debian packages (its own
# data directory, a free loopback port, run as a user that is not root), runs the whole API
# suite (tests/api) against it, and tests/pg/pg.test.mjs: row-level security refusing another
# school's rows when a query leaves the school out, tampering found by audit verify, a SQLite
# school migrated with its chain intact (and, in migrate.test.mjs, a second school moved in
# beside it with fresh ids), narrative sealed at rest.  Prints TAP.
#
# Every data directory the API tests make gets a database of its own: ward and wardd are
# reached through small wrappers that name the database after the directory and set
# WARD_POSTGRES_DSN.  The tests that open the SQLite file itself are skipped there
# (skip-sqlite.mjs) and made against PostgreSQL in pg.test.mjs; `make run` (run.test.mjs) is
# SQLite by design and left out.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${WARD_BUILD:-$top/build}
. "$top/tests/pg/pg.sh"
if [ ! -x "$build/wardd" ] || [ ! -x "$build/ward" ]; then
	echo "not ok 1 - wardd and ward are built in $build"; echo "1..1"; exit 1
fi
if [ -z "$pg_bin" ] || ! command -v node >/dev/null; then
	echo "1..0 # SKIP PostgreSQL server or node not installed (scripts/deps.sh)"; exit 0
fi
tmp=$(mktemp -d)
chmod 755 "$tmp"
cleanup() { pg_stop; rm -rf "$tmp"; }
trap cleanup EXIT
if ! pg_start; then
	echo "not ok 1 - PostgreSQL starts"; echo "1..1"; exit 1
fi

# ward and wardd wrappers: one database per data directory.
mkdir -p "$tmp/bin"
for b in ward wardd; do
	cat >"$tmp/bin/$b" <<WRAP
#!/usr/bin/env bash
[ -n "\${WARD_PG_OFF:-}" ] && exec "$build/$b" "\$@" # pg.test.mjs: the SQLite side of a migration
dir=\${WARD_DATA:-/var/lib/ward}
args=("\$@")
for ((i = 0; i < \${#args[@]}; i++)); do
	case \${args[i]} in
	--data-dir | -d) dir=\${args[i + 1]:-} ;;
	--data-dir=*) dir=\${args[i]#--data-dir=} ;;
	esac
done
db=w_\$(realpath -m "\$dir" | md5sum | cut -c1-24)
[ "$b" = ward ] && createdb "\$db" 2>/dev/null
export WARD_POSTGRES_DSN="host=127.0.0.1 port=$PGPORT user=$PGUSER dbname=\$db"
exec "$build/$b" "\$@"
WRAP
	chmod 755 "$tmp/bin/$b"
done

mkdir -p "$tmp/api"
export WARD_API_TMP=$tmp/api WARD_TOP=$top WARD_REAL_BUILD=$build WARD_BUILD=$tmp/bin
export NODE_OPTIONS="--import=$top/tests/pg/skip-sqlite.mjs ${NODE_OPTIONS:-}"
files=()
for f in "$top"/tests/api/*.test.mjs "$top"/tests/pg/*.test.mjs; do
	case $f in */run.test.mjs) continue ;; esac
	files+=("$f")
done
node --test --test-reporter=tap "${files[@]}"
