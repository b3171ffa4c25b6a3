# tests/pg/pg.sh: sourced by the PostgreSQL suites.  Starts a throwaway PostgreSQL server from
# the Debian packages: its own data directory under $pg_tmp, a free loopback port, a Unix socket
# in the same directory, run as a user that is not root (the postgres account when the suite
# runs as root).  pg_start sets PGHOST, PGPORT and PGUSER for psql and createdb; pg_stop stops
# it.  pg_dsn DB prints a libpq connection string for database DB.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

pg_as() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_start() {
	pg_tmp=$(mktemp -d /tmp/ward-pg.XXXXXX)
	chmod 755 "$pg_tmp"
	[ "$(id -u)" = 0 ] && chown postgres "$pg_tmp"
	pg_user=$(if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi)
	PGPORT=$(pg_free_port)
	pg_as "$pg_bin/initdb" -D "$pg_tmp/data" -U "$pg_user" -A trust -E UTF8 --no-locale >"$pg_tmp/initdb.log" 2>&1 || return 1
	pg_as "$pg_bin/pg_ctl" -D "$pg_tmp/data" -l "$pg_tmp/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$pg_tmp -c max_connections=300 -c fsync=on -c synchronous_commit=on -c shared_buffers=64MB" \
		start >/dev/null || { cat "$pg_tmp/server.log" >&2; return 1; }
	export PGHOST=127.0.0.1 PGPORT PGUSER=$pg_user
}

pg_stop() {
	[ -n "${pg_tmp:-}" ] || return 0
	pg_as "$pg_bin/pg_ctl" -D "$pg_tmp/data" -m fast -w stop >/dev/null 2>&1
	rm -rf "$pg_tmp"
	pg_tmp=
}

pg_dsn() {
	printf 'host=127.0.0.1 port=%s user=%s dbname=%s connect_timeout=10' "$PGPORT" "$PGUSER" "$1"
}
