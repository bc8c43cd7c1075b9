# Sourceable helpers to run the real mavisd for a test: a private temp dir,
# a unix socket inside it, the log in a file, and cleanup by pid.
#   mavisd_start CONFIG [extra mavisd args]   sets MAVISD_PID, MAVISD_SOCKET, MAVISD_DIR
#   mavisd_stop                               SIGTERM, wait, fail if it does not exit 0
#   mavisd_check_log                          fail on sanitizer reports or "panic"
MAVISD_DIR=$(mktemp -d /tmp/mavisd-test.XXXXXX)
MAVISD_PID=
MAVISD_SOCKET="unix:$MAVISD_DIR/mavisd.sock"
MAVISD_LOG="$MAVISD_DIR/mavisd.log"

mavisd_cleanup() {
	if [ -n "$MAVISD_PID" ] && kill -0 "$MAVISD_PID" 2>/dev/null; then
		kill -TERM "$MAVISD_PID" 2>/dev/null || true
		sleep 1
		kill -KILL "$MAVISD_PID" 2>/dev/null || true
	fi
	rm -rf "$MAVISD_DIR"
}
trap mavisd_cleanup EXIT INT TERM

# Copy the config and point tmp_dir into the test directory.
mavisd_start() {
	conf=$1
	shift
	mkdir -p "$MAVISD_DIR/tmp"
	{ cat "$conf"; printf '\ntmp_dir = %s/tmp\ndaemon_user =\n' "$MAVISD_DIR"; } > "$MAVISD_DIR/mavisd.conf"
	"$MAVISD" -f -c "$MAVISD_DIR/mavisd.conf" -s "$MAVISD_SOCKET" "$@" >"$MAVISD_LOG" 2>&1 &
	MAVISD_PID=$!
	i=0
	while [ ! -S "$MAVISD_DIR/mavisd.sock" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$MAVISD_PID" 2>/dev/null; then
			echo "mavisd did not start:" >&2
			cat "$MAVISD_LOG" >&2
			exit 1
		fi
		sleep 0.1
	done
}

mavisd_stop() {
	kill -TERM "$MAVISD_PID"
	rc=0
	wait "$MAVISD_PID" || rc=$?
	MAVISD_PID=
	if [ "$rc" != 0 ]; then
		echo "mavisd exited with status $rc" >&2
		cat "$MAVISD_LOG" >&2
		exit 1
	fi
}

mavisd_check_log() {
	if grep -E "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|panic:" "$MAVISD_LOG" >/dev/null; then
		echo "mavisd log shows a sanitizer report or panic:" >&2
		cat "$MAVISD_LOG" >&2
		exit 1
	fi
}
