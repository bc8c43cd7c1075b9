#!/bin/sh
# SIGTERM to mavisd while an SMTP session is in flight (held open mid-DATA by
# smtpsend.py --pause-at-dot, so Postfix has a milter connection open):
#  A. the in-flight message is still answered by mavisd and delivered; new
#     connections during the drain get 451 4.7.1; mavisd exits 0 within
#     shutdown_timeout, a few seconds after the last session ended
#     (libmilter's listener looks for the stop every 5 s); afterwards
#     Postfix applies milter_default_action (tempfail: 451 4.7.1) since
#     nothing listens any more;
#  B. a session that outlives shutdown_timeout is cut off: its message gets
#     451 4.7.1 (milter_default_action, never lost, never delivered
#     unfiltered) and mavisd still exits 0, shortly after shutdown_timeout.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"

T=$(pf_mktemp e2e-sigterm)
pf_cleanup_on_exit "$T"
D=$MAVIS_SOURCE_DIR/t/data/e2e
t0=$(date +%s)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
sm() { "$PF_PYTHON" "$PF_LIBDIR/sinkmsg.py" "$@"; }
# wait_file FILE SECONDS
wait_file() {
	_i=0
	while [ ! -e "$1" ]; do
		_i=$((_i + 1))
		[ $_i -le $(($2 * 10)) ] || fail "no $1 after $2 s"
		pf_sleep 0.1
	done
}
# wait_gone PID SECONDS - wait for a process to end; prints how long it took.
wait_gone() {
	_w0=$(date +%s)
	while pf_alive "$1"; do
		[ $(($(date +%s) - _w0)) -le "$2" ] || fail "process $1 still alive after $2 s"
		pf_sleep 0.1
	done
	echo $(($(date +%s) - _w0))
}
# hold NAME - start a message that stops before its final dot (in the
# background, pf_spawn'ed so that cleanup stops it if the test fails);
# $T/NAME.ready appears when the server is mid-DATA.
hold() {
	pf_spawn "$T" "$1" "$PF_PYTHON" "$PF_LIBDIR/smtpsend.py" --port "$(cat "$T/smtp.port")" \
		--from alice@example.org --to big@example.com \
		--pause-at-dot "$T/$1" --timeout 60 "$D/clean.eml" --expect 2,4,5
	wait_file "$T/$1.ready" 30
}
# release NAME - send the dot, wait for the client's answer ($T/out.NAME).
release() {
	touch "$T/$1.go"
	wait "$(pf_spawn_pid "$T" "$1")" || fail "$1: smtpsend failed: $(cat "$T/spawn/$1.log")"
	rm -f "$T/spawn/$1.pid"
	cp "$T/spawn/$1.log" "$T/out.$1"
	sed "s/^/$1: /" "$T/out.$1"
}
# stop_wait SECONDS - the parent must exit 0 within SECONDS.
stop_wait() {
	wait_gone "$MAVISD_PID" "$1" >/dev/null
	_rc=0
	wait "$MAVISD_PID" || _rc=$?
	[ "$_rc" = 0 ] || fail "mavisd exited with status $_rc: $(tail -n 20 "$MAVISD_LOG")"
	rm -f "$T/spawn/mavisd.pid"
	MAVISD_PID=
}

# ---- A: the in-flight session finishes, mavisd exits within shutdown_timeout.
mavisd_e2e_conf "$T" "shutdown_timeout = 20s"
mavisd_e2e_start "$T"
pf_start "$T" \
	"smtpd_milters = $MAVISD_MILTER" \
	"milter_default_action = tempfail"
echo "postfix on $PF_SMTP_PORT, mavisd on $MAVISD_PORT (pid $MAVISD_PID), sink on $SINK_PORT"

hold a
# The session is open in mavisd (CONNECT..DATA seen); stop it now.
kill -TERM "$MAVISD_PID"
ts=$(date +%s)
pf_sleep 1
pf_alive "$MAVISD_PID" || fail "mavisd did not wait for the session in flight"
# A new client meanwhile is not filtered: 451 4.7.1.
out=$(pf_smtpsend "$T" --from alice@example.org --to big@example.com --subject during-drain --expect 451) ||
	fail "a new message during the drain was not tempfailed: $out"
echo "during drain: $out"
release a
tr=$(date +%s)
grep -q '^RESULT 250 ' "$T/out.a" || fail "the in-flight message was not accepted: $(cat "$T/out.a")"
stop_wait 30
took=$(($(date +%s) - ts))
after=$(($(date +%s) - tr))
[ "$took" -le 20 ] || fail "mavisd took $took s to stop, shutdown_timeout is 20 s"
# Not the whole shutdown_timeout: up to 5 s for libmilter's listener to see
# the stop, 1 s for the parent to notice, and slack for a loaded machine.
[ "$after" -le 12 ] || fail "mavisd took $after s to stop after the last session ended"
f=$(pf_sink_new "$T" 1 20)
[ "$(sm --header Message-ID "$f")" = "<clean.1@e2e.mavis.test>" ] || fail "the sink got $f, not the held message"
grep -q 'Passed CLEAN .*Message-ID: <clean.1@e2e.mavis.test>' "$MAVISD_LOG" ||
	fail "mavisd did not log the in-flight message"
echo "ok 1 SIGTERM with a session in flight: answered (250, delivered), mavisd exited 0 after $took s ($after s after the session)"

# Gone: Postfix's milter_default_action = tempfail.
out=$(pf_smtpsend "$T" --from alice@example.org --to big@example.com --subject after-stop --expect 451) ||
	fail "after the stop: $out"
case $out in *"RESULT 451 4.7.1 "*) ;; *) fail "after the stop: expected 451 4.7.1, got $out" ;; esac
pf_wait_log "$T" "connect to Milter service $MAVISD_MILTER: Connection refused" 10
pf_sink_none "$T"
echo "ok 2 after the stop: 451 4.7.1 (milter_default_action = tempfail)"
mavisd_check_log

# ---- B: a session that outlives shutdown_timeout.
mavisd_e2e_conf "$T" "shutdown_timeout = 2s"
: >"$T/spawn/mavisd.log"
mavisd_e2e_start "$T"
pf_postconf "$T" -e "smtpd_milters = $MAVISD_MILTER"
pf_reload "$T"
hold b
kill -TERM "$MAVISD_PID"
ts=$(date +%s)
# 2 s of drain, then libmilter's listener notices the stop within 5 s.
stop_wait 12
took=$(($(date +%s) - ts))
release b
grep -q '^RESULT 451 4\.7\.1 ' "$T/out.b" || fail "the cut-off message did not get 451 4.7.1: $(cat "$T/out.b")"
pf_sink_none "$T"
pf_wait_queue "$T" 0 10
echo "ok 3 session longer than shutdown_timeout: cut off after $took s, its message got 451 4.7.1"
mavisd_check_log
echo "PASS test_mavisd_sigterm ($(($(date +%s) - t0)) s)"
