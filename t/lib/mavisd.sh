# Sourceable helpers to run the real mavisd for a test: a private temp dir,
# a unix socket inside it, the log in a file, and cleanup by pid.
#   mavisd_start CONFIG [extra mavisd args]   sets MAVISD_PID, MAVISD_SOCKET, MAVISD_DIR
#   mavisd_stop                               SIGTERM, wait, fail if it does not exit 0
#   mavisd_check_log                          fail on sanitizer reports or "panic"
#
# e2e tests (t/e2e) run mavisd inside a private Postfix instance directory
# instead (see the "e2e" section at the end): they source t/lib/postfix.sh
# first, set MAVISD_E2E=1, then source this file, which then creates no temp
# dir and sets no trap (pf_cleanup_on_exit owns cleanup).
MAVISD_PID=
if [ "${MAVISD_E2E:-0}" != 1 ]; then
MAVISD_DIR=$(mktemp -d /tmp/mavisd-test.XXXXXX)
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
fi

# Copy the config and point tmp_dir into the test directory.
mavisd_start() {
	conf=$1
	shift
	mkdir -p "$MAVISD_DIR/tmp"
	# The control socket in the test's directory, not /run/mavis: tests
	# that run at the same time must not meet there.
	{
		cat "$conf"
		printf '\ntmp_dir = %s/tmp\ndaemon_user =\nallow_root = yes\n' "$MAVISD_DIR"
		grep -q '^control_socket' "$conf" || printf 'control_socket = unix:%s/control\n' "$MAVISD_DIR"
	} > "$MAVISD_DIR/mavisd.conf"
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

# ---------------------------------------------------------------- e2e
# mavisd for a private Postfix instance DIR (t/lib/postfix.sh): config, temp
# dir and log live in DIR, the socket is inet on a free loopback port, and
# the process is pf_spawn'ed as "mavisd", so pf_stop / pf_cleanup_on_exit
# stop it by its recorded pid. With -f, the spawned pid is mavisd's
# supervising parent (the one that takes SIGHUP/SIGUSR1/SIGTERM); the filter
# process is its child.
#
#   mavisd_e2e_conf DIR [LINE...]   write DIR/mavisd.conf: test basics + LINEs
#   mavisd_e2e_start DIR            start it; sets MAVISD_PID, MAVISD_PORT,
#                                   MAVISD_MILTER (Postfix spelling), MAVISD_LOG
#   mavisd_e2e_reload DIR [SIG]     SIGUSR1 (or SIG) to the parent, wait for
#                                   one more "configuration reloaded" (or
#                                   "reload failed") line in the log
#   mavisd_e2e_stop DIR             SIGTERM, wait, fail unless it exits 0
#   mavisd_check_log                (above) works on MAVISD_LOG

# mavisd_e2e_conf DIR [LINE...] - the config every e2e test starts from:
# daemon_user empty and allow_root = yes (stay root: tests own no mavis
# user), tmp_dir in DIR.
mavisd_e2e_conf() {
	_me_dir=$1
	shift
	mkdir -p "$_me_dir/mavis-tmp"
	{
		echo "# mavisd config of an e2e test (t/lib/mavisd.sh)"
		echo "myhostname = mx.mavis.test"
		echo "daemon_user ="
		echo "allow_root = yes"
		echo "tmp_dir = $_me_dir/mavis-tmp"
		echo "shutdown_timeout = 10s"
		# Not /run/mavis: tests that run at the same time must not meet.
		echo "control_socket = unix:$_me_dir/mavis-control"
		# The tests check the one-transaction path (deleted recipients,
		# shared edits); test_bucketing.sh turns bucketing on.
		echo "recipient_bucketing = no"
		for _me_l in "$@"; do
			printf '%s\n' "$_me_l"
		done
	} >"$_me_dir/mavisd.conf.new"
	# Renamed into place: a reload never reads a half-written file.
	mv -f "$_me_dir/mavisd.conf.new" "$_me_dir/mavisd.conf"
}

# mavisd_e2e_filter_pid - pid of the filter process (the parent's child).
mavisd_e2e_filter_pid() {
	ps -o pid= --ppid "$MAVISD_PID" 2>/dev/null | awk 'NR == 1 { print $1 }'
}

mavisd_e2e_start() {
	_me_dir=$1
	[ -f "$_me_dir/mavisd.conf" ] || mavisd_e2e_conf "$_me_dir"
	MAVISD_LOG="$_me_dir/spawn/mavisd.log"
	_me_try=0
	while [ $_me_try -lt 5 ]; do
		_me_try=$((_me_try + 1))
		MAVISD_PORT=$(pf_free_port) || pf_die "mavisd_e2e_start: no free port"
		pf_spawn "$_me_dir" mavisd "$MAVISD" -f -c "$_me_dir/mavisd.conf" \
			-s "inet:$MAVISD_PORT@127.0.0.1"
		MAVISD_PID=$(pf_spawn_pid "$_me_dir" mavisd)
		# pf_stop (also on a failed test) must give the graceful stop its
		# time: shutdown_timeout + libmilter's 5 s, or it kills the parent.
		echo 30 >"$_me_dir/spawn/mavisd.grace"
		_me_i=0
		while [ $_me_i -lt 150 ]; do
			pf_alive "$MAVISD_PID" || break
			_me_child=$(mavisd_e2e_filter_pid)
			if [ -n "$_me_child" ] && pf_listening "$MAVISD_PORT" "$_me_child"; then
				MAVISD_MILTER="inet:127.0.0.1:$MAVISD_PORT"
				export MAVISD_PID MAVISD_PORT MAVISD_MILTER MAVISD_LOG
				return 0
			fi
			pf_sleep 0.1
			_me_i=$((_me_i + 1))
		done
		# Lost the port race (bind failed, mavisd gave up) or hung: retry.
		pf_unspawn "$_me_dir" mavisd || true
		pf_note "mavisd on port $MAVISD_PORT did not come up (try $_me_try): $(tail -n 3 "$MAVISD_LOG")"
	done
	pf_die "mavisd_e2e_start: mavisd would not start; log: $(cat "$MAVISD_LOG")"
}

# mavisd_e2e_reload DIR [SIGNAL] - ask for a reload and wait until the filter
# process logged the outcome (either way); returns 1 when it was a failure.
mavisd_e2e_reload() {
	_me_dir=$1 _me_sig=${2:-USR1}
	_me_before=$(grep -Ec "configuration reloaded|reload failed" "$MAVISD_LOG" || true)
	kill "-$_me_sig" "$MAVISD_PID" || pf_die "mavisd_e2e_reload: mavisd $MAVISD_PID is gone"
	_me_i=0
	while [ $_me_i -lt 100 ]; do
		_me_now=$(grep -Ec "configuration reloaded|reload failed" "$MAVISD_LOG" || true)
		if [ "$_me_now" -gt "$_me_before" ]; then
			grep -E "configuration reloaded|reload failed" "$MAVISD_LOG" | tail -n 1 |
				grep -q "configuration reloaded"
			return $?
		fi
		pf_sleep 0.1
		_me_i=$((_me_i + 1))
	done
	pf_die "mavisd_e2e_reload: no reload logged 10 s after SIG$_me_sig; log: $(tail -n 5 "$MAVISD_LOG")"
}

# mavisd_e2e_stop DIR [TIMEOUT] - SIGTERM the parent; it must exit 0 within
# TIMEOUT seconds (default 20: shutdown_timeout 10 s + the parent's 5 s).
# Sets MAVISD_STOP_SECS to how long it took.
mavisd_e2e_stop() {
	_me_dir=$1 _me_tmo=${2:-20}
	[ -n "$MAVISD_PID" ] || pf_die "mavisd_e2e_stop: mavisd is not running"
	_me_t0=$(date +%s)
	kill -TERM "$MAVISD_PID" 2>/dev/null || true
	while pf_alive "$MAVISD_PID"; do
		if [ $(($(date +%s) - _me_t0)) -ge "$_me_tmo" ]; then
			echo "mavisd $MAVISD_PID still running ${_me_tmo}s after SIGTERM" >&2
			tail -n 40 "$MAVISD_LOG" >&2
			exit 1
		fi
		pf_sleep 0.1
	done
	# shellcheck disable=SC2034 # for the caller
	MAVISD_STOP_SECS=$(($(date +%s) - _me_t0))
	_me_rc=0
	wait "$MAVISD_PID" 2>/dev/null || _me_rc=$?
	rm -f "$_me_dir/spawn/mavisd.pid"
	MAVISD_PID=
	if [ "$_me_rc" != 0 ]; then
		echo "mavisd exited with status $_me_rc" >&2
		tail -n 40 "$MAVISD_LOG" >&2
		exit 1
	fi
}
