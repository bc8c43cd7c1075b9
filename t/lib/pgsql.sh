#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A private PostgreSQL for a test, in a directory of its own:
#   pgsql.sh start DIR   initdb in DIR/data (as user postgres when run as
#                        root), listen only on the unix socket DIR/.s.PGSQL.5432
#                        (no TCP), create database amavisd with
#                        contrib/sql/amavisd-pg.sql loaded; prints the libpq
#                        conninfo. Exit 77 when PostgreSQL is not installed.
#   pgsql.sh stop DIR    stop it by the pid in DIR/data/postmaster.pid (fast
#                        shutdown, then SIGKILL after 10 s)
#   pgsql.sh kill DIR    SIGKILL the postmaster (a crash), children follow
#   pgsql.sh restart DIR start the same cluster again after stop/kill
#   pgsql.sh psql DIR    psql on the amavisd database, SQL on stdin
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"

pgbin=
for d in /usr/lib/postgresql/*/bin /usr/local/bin /usr/bin; do
	if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
		pgbin=$d
		break
	fi
done
[ -n "$pgbin" ] || { echo "PostgreSQL (initdb, pg_ctl) not installed" >&2; exit 77; }

# initdb and postgres refuse to run as root.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

dir=${2:?usage: pgsql.sh start|stop|kill|restart|psql DIR}
user=$(if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi)

pg_up() {
	as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
		-o "-k $dir -c listen_addresses= -c fsync=off -c max_connections=60" start >/dev/null
}

case $1 in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	as_pg "$pgbin/initdb" -D "$dir/data" -A trust -U "$user" -E UTF8 --locale=C.UTF-8 \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	pg_up
	as_pg "$pgbin/psql" -h "$dir" -U "$user" -d postgres -qAt -c "CREATE DATABASE amavisd" >/dev/null
	as_pg "$pgbin/psql" -h "$dir" -U "$user" -d amavisd -q -v ON_ERROR_STOP=1 \
		-f "$MAVIS_SOURCE_DIR/contrib/sql/amavisd-pg.sql" >/dev/null
	echo "host=$dir dbname=amavisd user=$user"
	;;
restart)
	pg_up
	;;
stop|kill)
	[ -f "$dir/data/postmaster.pid" ] || exit 0
	pid=$(head -n 1 "$dir/data/postmaster.pid")
	if [ "$1" = kill ]; then
		kill -KILL "$pid" 2>/dev/null || true
	else
		kill -INT "$pid" 2>/dev/null || true
	fi
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -ne 100 ] || kill -KILL "$pid" 2>/dev/null || true
		sleep 0.1
	done
	# After a SIGKILL the children (backends) notice within moments; wait
	# for the socket's lock to go so a restart finds the directory free.
	i=0
	while [ -e "$dir/.s.PGSQL.5432" ] && [ "$1" = kill ] && [ $i -lt 50 ]; do
		if ! pgrep -u postgres -f "$dir/data" >/dev/null 2>&1; then
			rm -f "$dir/.s.PGSQL.5432" "$dir/.s.PGSQL.5432.lock" "$dir/data/postmaster.pid"
			break
		fi
		i=$((i + 1))
		sleep 0.1
	done
	;;
psql)
	as_pg "$pgbin/psql" -h "$dir" -U "$user" -d amavisd -qAt -v ON_ERROR_STOP=1 -F '|'
	;;
*)
	echo "usage: pgsql.sh start|stop|kill|restart|psql DIR" >&2
	exit 2
	;;
esac
