#!/bin/sh
# Start-up privileges of mavisd (issue 10), as root:
#  1. daemon_user empty: refuses to run the filter as root (exit 78, one
#     clear line) unless allow_root = yes; daemon_user = root likewise;
#  2. pid_file planted as a symbolic link: its target is left alone, no pid
#     file is written through it; a free path gets a 0644 file with the pid,
#     whatever the umask;
#  3. daemon_user = nobody, a unix socket with milter_socket_mode 0660 and
#     milter_socket_group nogroup: the socket is made by bind() with that
#     owner, group and mode (no chmod/chown by path afterwards), and so is
#     a unix release_socket (AM.PDP);
#  4. quarantine_dir and tmp_dir that do not exist are created 0750 and
#     owned by the daemon user, and the filter process runs as that user.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVISD:=${MAVIS_BUILD_DIR:-$MAVIS_SOURCE_DIR/build}/milter/mavisd}"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root" >&2
	exit 77
fi
getent passwd nobody >/dev/null && getent group nogroup >/dev/null || {
	echo "SKIP: no nobody/nogroup" >&2
	exit 77
}

D=$(mktemp -d /tmp/mavis-privs.XXXXXX)
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		sleep 1
		kill -KILL "$PID" 2>/dev/null || true
	fi
	rm -rf "$D"
}
trap cleanup EXIT INT TERM
chmod 0755 "$D"
fail() {
	echo "FAIL: $*" >&2
	[ -f "$D/log" ] && tail -n 20 "$D/log" >&2
	exit 1
}

conf() { # lines...
	{
		echo "myhostname = mx.test.example"
		echo "shutdown_timeout = 2s"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$D/mavisd.conf"
}

# 1. Root without a word: refused, before anything else happens.
conf "daemon_user =" "tmp_dir = $D/tmp0"
rc=0
"$MAVISD" -n -c "$D/mavisd.conf" >"$D/out" 2>&1 || rc=$?
[ "$rc" -eq 78 ] || fail "daemon_user empty: exit $rc, want 78: $(cat "$D/out")"
grep -q 'refusing to run the filter as root' "$D/out" || fail "no reason given: $(cat "$D/out")"
rc=0
"$MAVISD" -f -c "$D/mavisd.conf" -s "unix:$D/x.sock" >"$D/out" 2>&1 || rc=$?
[ "$rc" -eq 78 ] && [ ! -e "$D/x.sock" ] || fail "mavisd ran as root: exit $rc $(cat "$D/out")"
conf "daemon_user = root" "tmp_dir = $D/tmp0"
rc=0
"$MAVISD" -n -c "$D/mavisd.conf" >"$D/out" 2>&1 || rc=$?
[ "$rc" -eq 78 ] || fail "daemon_user = root: exit $rc, want 78"
conf "daemon_user =" "allow_root = yes" "tmp_dir = $D/tmp0"
"$MAVISD" -n -c "$D/mavisd.conf" >"$D/out" 2>&1 || fail "allow_root = yes refused: $(cat "$D/out")"
# The shipped configuration names its user and passes the check.
if getent passwd mavis >/dev/null; then
	"$MAVISD" -n -c "$MAVIS_SOURCE_DIR/etc/mavisd.conf" >"$D/out" 2>&1 ||
		fail "shipped config refused: $(cat "$D/out")"
fi

# start CONF-LINES... - run mavisd in the foreground on $D/run/m.sock.
start() {
	conf "$@"
	"$MAVISD" -f -c "$D/mavisd.conf" -s "unix:$D/run/m.sock" >"$D/log" 2>&1 &
	PID=$!
	i=0
	while [ ! -S "$D/run/m.sock" ]; do
		i=$((i + 1))
		[ $i -le 100 ] && kill -0 "$PID" 2>/dev/null || fail "mavisd did not start"
		sleep 0.1
	done
}
stop() {
	kill -TERM "$PID"
	wait "$PID" || fail "mavisd exited $?"
	PID=
}

# 2 + 3 + 4. A socket directory the daemon user may write; a planted link.
mkdir -p "$D/run"
chown nobody "$D/run"
echo precious >"$D/victim"
ln -s "$D/victim" "$D/link.pid"
umask 077
start "daemon_user = nobody" "milter_socket_mode = 0660" "milter_socket_group = nogroup" \
	"tmp_dir = $D/tmp" "quarantine_dir = $D/quarantine" "pid_file = $D/link.pid" \
	"release_socket = unix:$D/run/r.sock"
[ "$(cat "$D/victim")" = precious ] || fail "pid file written through a symbolic link"
grep -q 'cannot write pid file' "$D/log" || fail "no warning about the planted pid file"
[ "$(stat -c '%U:%G %a' "$D/run/m.sock")" = "nobody:nogroup 660" ] ||
	fail "socket is $(stat -c '%U:%G %a' "$D/run/m.sock"), want nobody:nogroup 660"
# The AM.PDP release socket (whose clients are trusted) is made the same way.
i=0
while [ ! -S "$D/run/r.sock" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(stat -c '%U:%G %a' "$D/run/r.sock" 2>&1)" = "nobody:nogroup 660" ] ||
	fail "release socket is $(stat -c '%U:%G %a' "$D/run/r.sock" 2>&1), want nobody:nogroup 660"
for dir in "$D/tmp" "$D/quarantine"; do
	[ "$(stat -c '%U %a' "$dir")" = "nobody 750" ] ||
		fail "$dir is $(stat -c '%U %a' "$dir"), want nobody 750"
done
child=$(ps -o pid= --ppid "$PID" | awk 'NR == 1 { print $1 }')
[ "$(ps -o user= -p "$child")" = nobody ] || fail "filter runs as $(ps -o user= -p "$child")"
# The root parent is the launcher (libc only); the filter process is
# mavisd-filter with libmavis: no filter library code runs as root after
# the filter's start-up.
grep -q libmavis "/proc/$PID/maps" && fail "the root parent maps libmavis"
grep -q libmavis "/proc/$child/maps" || fail "the filter process maps no libmavis"
case $(tr '\0' ' ' <"/proc/$child/cmdline") in
*mavisd-filter\ -F\ *) ;;
*) fail "filter process runs $(tr '\0' ' ' <"/proc/$child/cmdline")" ;;
esac
# 5. After the bind the filter has no capability and cannot get one back.
for f in CapEff CapPrm CapBnd CapAmb; do
	[ "$(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$child/status")" = 0000000000000000 ] ||
		fail "filter process $f is $(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$child/status")"
done
stop
rm -f "$D/run/m.sock"
# 6. Under the unit's CapabilityBoundingSet the parent still starts the
# filter, and the filter's set is empty again.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$MAVIS_SOURCE_DIR/etc/mavisd.service.in")
[ -n "$caps" ] || fail "no CapabilityBoundingSet in etc/mavisd.service.in"
bset=-all
for c in $caps; do
	bset="$bset,+$(echo "$c" | sed 's/^CAP_//' | tr 'A-Z' 'a-z')"
done
if setpriv --bounding-set="$bset" true 2>/dev/null; then
	conf "daemon_user = nobody" "tmp_dir = $D/tmp" "quarantine_dir = $D/quarantine"
	setpriv --bounding-set="$bset" "$MAVISD" -f -c "$D/mavisd.conf" -s "unix:$D/run/m.sock" >"$D/log" 2>&1 &
	PID=$!
	i=0
	while [ ! -S "$D/run/m.sock" ]; do
		i=$((i + 1))
		[ $i -le 100 ] && kill -0 "$PID" 2>/dev/null || fail "mavisd did not start with the unit's capabilities"
		sleep 0.1
	done
	child=$(ps -o pid= --ppid "$PID" | awk 'NR == 1 { print $1 }')
	[ "$(awk '$1 == "CapBnd:" { print $2 }' "/proc/$child/status")" = 0000000000000000 ] ||
		fail "filter bounding set not empty under the unit's set"
	grep -q 'no CAP_SETPCAP' "$D/log" && fail "the unit's set lacks CAP_SETPCAP"
	kill -USR1 "$PID"
	sleep 1
	grep -q 'configuration reloaded' "$D/log" || fail "no reload logged: the parent cannot signal the filter"
	stop
else
	echo "note: setpriv --bounding-set not permitted here; unit set not exercised" >&2
fi
rm -f "$D/run/m.sock"
start "daemon_user = nobody" "tmp_dir = $D/tmp" "pid_file = $D/run.pid"
[ "$(stat -c '%a' "$D/run.pid")" = 644 ] || fail "pid file mode $(stat -c '%a' "$D/run.pid")"
[ "$(cat "$D/run.pid")" = "$PID" ] || fail "pid file holds $(cat "$D/run.pid"), want $PID"
stop
echo "PASS test_privs"
