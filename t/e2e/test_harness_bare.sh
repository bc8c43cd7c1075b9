#!/bin/sh
# Harness self-test: a private Postfix (no milter) relays to smtp-sink.
# Proves pf_start/pf_stop, smtpsend.py, sendmail(1) submission, sinkmsg.py
# envelope parsing and that cleanup leaves no process of the instance behind.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
pf_require_root

T=$(pf_mktemp e2e-bare)
pf_cleanup_on_exit "$T"
pf_start "$T"
echo "postfix smtpd on 127.0.0.1:$PF_SMTP_PORT, sink on 127.0.0.1:$SINK_PORT"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Three messages over SMTP (the second one to two recipients), one through
# sendmail(1). Subjects identify them in the sink; the third has a line that
# starts with a dot (SMTP dot-stuffing) and a folded header.
mk_msg() { # FILE SUBJECT [extra body line]
	cat >"$1" <<MSG
From: Sender <sender@example.org>
To: someone@example.com
Subject: $2
X-Folded: first part
	second part
Message-ID: <$2@harness.mavis.test>

Body of $2.
${3:-}
MSG
}
mk_msg "$T/m1.eml" harness-one
mk_msg "$T/m2.eml" harness-two
mk_msg "$T/m3.eml" harness-three ".leading dot line"
mk_msg "$T/m4.eml" harness-four

pf_smtpsend "$T" --from s1@example.org --to r1@example.com "$T/m1.eml" --expect 250
pf_smtpsend "$T" --from s2@example.org --to r2a@example.com --to r2b@example.net "$T/m2.eml" --expect 250
pf_smtpsend "$T" --from '' --to r3@example.org "$T/m3.eml" --expect 250
pf_sendmail "$T" -i -f s4@example.org r4@example.net <"$T/m4.eml"

pf_wait_delivered "$T" 4 30
# Nothing else may trickle in (e.g. a bounce or a duplicate).
pf_sleep 1
n=$(pf_sink_count "$T")
[ "$n" -eq 4 ] || fail "expected 4 messages in the sink, found $n"

pf_sink_list "$T" >"$T/list"
cat "$T/list"
# FILE<TAB>SENDER<TAB>RCPTS<TAB>SUBJECT, one line per message.
expect_env() { # SUBJECT SENDER RCPTS
	line=$(awk -F '\t' -v s="$1" '$4 == s' "$T/list")
	[ -n "$line" ] || fail "message '$1' not in the sink"
	got=$(printf '%s\n' "$line" | cut -f2,3)
	want=$(printf '%s\t%s' "$2" "$3")
	[ "$got" = "$want" ] || fail "message '$1': envelope '$got', expected '$want'"
}
expect_env harness-one s1@example.org r1@example.com
expect_env harness-two s2@example.org r2a@example.com,r2b@example.net
expect_env harness-three '<>' r3@example.org
expect_env harness-four s4@example.org r4@example.net

f3=$(awk -F '\t' '$4 == "harness-three" { print $1 }' "$T/list")
sm() { "$PF_PYTHON" "$PF_LIBDIR/sinkmsg.py" "$@"; }
[ "$(sm --header X-Folded "$f3")" = "first part	second part" ] ||
	fail "folded header not unfolded: '$(sm --header X-Folded "$f3")'"
sm --body "$f3" | grep -qx '\.leading dot line' || fail "dot line mangled: $(sm --body "$f3")"
# The sink's own Received: is not part of the message; Postfix's is.
sm --header Received "$f3" | grep -q 'by mta.mavis.test (Postfix)' ||
	fail "Postfix Received: header missing"
if sm --header Received "$f3" | grep -q smtp-sink; then
	fail "sink Received: header leaked into the message headers"
fi
[ "$(sm --envelope "$f3" | tr '\n' ' ')" = "MAIL <> RCPT r3@example.org " ] ||
	fail "envelope of harness-three: $(sm --envelope "$f3")"

# Postfix's view agrees: five recipients sent, queue empty.
pf_wait_log "$T" 'status=sent' 10 5
[ "$(pf_queue_count "$T")" -eq 0 ] || fail "queue not empty: $(/usr/sbin/postqueue -c "$T/etc" -p)"

# Cleanup must leave nothing of this instance running, pf_spawn'ed helpers
# (how tests will run mavisd) included.
pf_spawn "$T" sleeper sleep 300
sleeper=$(pf_spawn_pid "$T" sleeper)
pids=$(pf_pids "$T")
[ -n "$pids" ] || fail "pf_pids found no processes while running"
master=$(cat "$T/master.pid")
sink=$(cat "$T/sink.pid")
printf '%s\n' "$pids" | grep -qx "$master" || fail "master $master not among pf_pids: $pids"
printf '%s\n' "$pids" | grep -qx "$sink" || fail "sink $sink not among pf_pids: $pids"
printf '%s\n' "$pids" | grep -qx "$sleeper" || fail "spawned $sleeper not among pf_pids: $pids"
pf_stop "$T"
for p in $pids; do
	if pf_alive "$p"; then
		fail "process $p survived pf_stop: $(ps -o pid,pgid,args -p "$p")"
	fi
done
[ -z "$(pf_pids "$T")" ] || fail "pf_pids still lists $(pf_pids "$T")"
[ -z "$(pf_group_pids "$master")" ] || fail "process group $master not empty"
echo "PASS test_harness_bare ($(printf '%s\n' "$pids" | wc -l) processes stopped)"
