#!/bin/sh
# systemd notifications: mavisd started with NOTIFY_SOCKET pointing at a
# datagram socket of our own must send READY=1 once it listens, RELOADING=1
# then READY=1 around a reload (SIGUSR1), STOPPING=1 at SIGTERM, and a
# STATUS line; WATCHDOG_USEC makes it send WATCHDOG=1.
set -eu
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"

NOTIFY_LOG=$MAVISD_DIR/notify.log
: > "$NOTIFY_LOG"
# One line per datagram, its fields joined with " | ", in arrival order.
python3 - "$MAVISD_DIR/notify.sock" "$NOTIFY_LOG" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
with open(sys.argv[2], "a") as log:
    while True:
        try:
            data = s.recv(4096)
        except socket.timeout:
            break
        log.write(data.decode(errors="replace").replace("\n", " | ") + "\n")
        log.flush()
PY
LISTENER=$!
trap 'kill "$LISTENER" 2>/dev/null || true; mavisd_cleanup' EXIT INT TERM
i=0
while [ ! -S "$MAVISD_DIR/notify.sock" ]; do
	i=$((i + 1)); [ $i -le 100 ] || { echo "notify listener did not start" >&2; exit 1; }
	sleep 0.1
done

# wait_for N REGEX: until N lines of the log match REGEX (10 s at most).
wait_for() {
	i=0
	while [ "$(grep -c -E "$2" "$NOTIFY_LOG" || true)" -lt "$1" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "no $1 x \"$2\" from mavisd; got:" >&2
			cat "$NOTIFY_LOG" "$MAVISD_LOG" >&2
			exit 1
		fi
		sleep 0.1
	done
}

NOTIFY_SOCKET=$MAVISD_DIR/notify.sock WATCHDOG_USEC=1000000 \
	mavisd_start "$MAVIS_SOURCE_DIR/t/milter/mavisd-test.conf"
wait_for 1 '^READY=1'
wait_for 1 'STATUS=[0-9]+ sessions, [0-9]+ messages'
wait_for 1 '^WATCHDOG=1'

kill -USR1 "$MAVISD_PID"
wait_for 1 '^RELOADING=1'
wait_for 2 '^READY=1'
# The second READY comes after the RELOADING, not before.
awk '/^RELOADING=1/ { r = NR } /^READY=1/ { last = NR } END { exit !(r && last > r) }' \
	"$NOTIFY_LOG" || { echo "READY=1 did not follow RELOADING=1:" >&2; cat "$NOTIFY_LOG" >&2; exit 1; }

kill -TERM "$MAVISD_PID"
wait_for 1 '^STOPPING=1'
rc=0
wait "$MAVISD_PID" || rc=$?
MAVISD_PID=
[ "$rc" = 0 ] || { echo "mavisd exited with status $rc" >&2; cat "$MAVISD_LOG" >&2; exit 1; }
mavisd_check_log
