#!/bin/sh
# mavisd behind a real Sendmail 8.17 daemon on loopback (t/lib/sendmail.sh:
# Debian's binary unpacked by contrib/install-sendmail, a private sendmail.cf
# made with m4, INPUT_MAIL_FILTER with F=T over an inet: socket, everything
# relayed to smtp-sink), the way a Sendmail admin would hook it in:
#  1. clean mail is delivered once, with exactly the edits `mavisctl scan`
#     predicts (t/lib/verdict_check.py); banned mail (.exe) gets 554 at end
#     of data; with two recipients, one over its size limit, the message
#     goes to the other one only (smfi_delrcpt);
#  2. mavisd logs Sendmail's queue id (macro i) as Queue-ID;
#  3. two transactions on one connection, RSET between: each handled afresh;
#  4. per-message time over inet within 2x of the same Sendmail without a
#     milter (N messages each way, alternating, best of the rounds), both
#     on one connection and with one connection per message;
#  5. mavisd stopped: Sendmail tempfails (4xx) and accepts nothing, so the
#     client keeps the message; once mavisd is back it is delivered;
#  6. mavisd killed in the middle of a transaction (before the final dot):
#     4xx at end of data, nothing delivered, nothing left in Sendmail's queue.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
. "$MAVIS_SOURCE_DIR/t/lib/sendmail.sh"
pf_require_root
sm_require
: "${MAVISD:?set MAVISD to the mavisd binary}"
: "${MAVISCTL:?set MAVISCTL to the mavisctl binary}"
# Messages per timing round (each way, each connection pattern).
N=${SM_TIMING_N:-20}

T=$(pf_mktemp e2e-sendmail)
pf_cleanup_on_exit "$T"
D=$MAVIS_SOURCE_DIR/t/data/e2e
t0=$(date +%s)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# send PORT smtpsend-args... - smtpsend.py against one of the daemons.
send() {
	_port=$1
	shift
	"$PF_PYTHON" "$PF_LIBDIR/smtpsend.py" --port "$_port" "$@"
}

# The milter as the issue's admin wrote it: tempfail when it is unavailable,
# 30 s to connect, 60 s per reply, 5 min overall.
pf_sink_start "$T"
mavisd_e2e_conf "$T" \
	"local_domains_maps = .example.com" \
	"banned_rules_file = $MAVIS_SOURCE_DIR/etc/banned-rules.conf" \
	"message_size_limit_maps = inline:{small@example.com=2000}"
mavisd_e2e_start "$T"
sm_start "$T" milter "S=inet:$MAVISD_PORT@127.0.0.1, F=T, T=S:30s;R:60s;E:5m"
MPORT=$SM_PORT
sm_start "$T" bare
BPORT=$SM_PORT
echo "sendmail+mavisd on $MPORT, sendmail alone on $BPORT, mavisd on $MAVISD_PORT, sink on $SINK_PORT"

# A banned attachment: the name alone is enough (etc/banned-rules.conf).
cat >"$T/banned.eml" <<'EOF'
From: Alice Example <alice@example.org>
To: Bob <big@example.com>
Subject: banned attachment
Date: Mon, 01 Jan 2024 12:00:00 +0000
Message-ID: <banned.1@e2e.mavis.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain

See the attachment.
--b1
Content-Type: application/octet-stream; name="setup.exe"
Content-Disposition: attachment; filename="setup.exe"
Content-Transfer-Encoding: base64

TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
--b1--
EOF

# ---- 1. what mavisctl scan predicts is what Sendmail does
cat >"$T/cases" <<EOF
clean  big@example.com                    $D/clean.eml
banned big@example.com                    $T/banned.eml
mixed  small@example.com,big@example.com  $D/big.eml
EOF
: >"$T/batch"
set --
while read -r c rcpts file; do
	scan_args=""
	for r in $(echo "$rcpts" | tr ',' ' '); do
		scan_args="$scan_args --rcpt $r"
	done
	# shellcheck disable=SC2086 # one --rcpt per recipient
	"$MAVISCTL" scan -c "$T/mavisd.conf" --json --sender alice@example.org \
		--client-ip 127.0.0.1 $scan_args "$file" >"$T/$c.json" 2>"$T/$c.err" ||
		fail "$c: mavisctl scan failed: $(cat "$T/$c.err")"
	echo "$c alice@example.org $rcpts $file" >>"$T/batch"
	set -- "$@" --case "$c" "$T/$c.json" "$T/$c.smtp" "$file" "$T/$c.err"
done <"$T/cases"
send "$MPORT" --batch "$T/batch" --batch-out "$T" >"$T/batch.out" 2>&1 ||
	fail "smtpsend --batch: $(cat "$T/batch.out")"
cat "$T/batch.out"
grep -q '^RESULT 554 5\.7\.0 Reject, id=[0-9A-Za-z]* - BANNED: .*setup\.exe' "$T/banned.smtp" ||
	fail "banned: no 554 at end of data: $(cat "$T/banned.smtp")"
pf_wait_delivered "$T" 2 30
pf_sleep 1
if ! "$PF_PYTHON" "$PF_LIBDIR/verdict_check.py" --sink-dir "$T/sink" --sink-pid "$SINK_PID" "$@" >"$T/check"; then
	cat "$T/check" >&2
	fail "mavisctl scan and Sendmail + mavisd disagree (above)"
fi
sed 's/^/ok 1 /' "$T/check"
pf_sink_seen "$T"

# ---- 2. Sendmail's queue id reaches mavisd's log line
qid=$(sed -n 's/^RESULT 250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted.*/\1/p' "$T/clean.smtp")
[ -n "$qid" ] || fail "clean: no queue id in $(cat "$T/clean.smtp")"
grep -q "Passed CLEAN .*Queue-ID: $qid," "$MAVISD_LOG" || fail "no 'Queue-ID: $qid' in the mavisd log"
echo "ok 2 mavisd logged Sendmail's queue id $qid"

# ---- 3. RSET between two transactions on one connection
send "$MPORT" --expect 250 --repeat 2 --from alice@example.org --to small@example.com \
	--to big@example.com "$D/big.eml" >"$T/twice.smtp" 2>&1 || fail "twice: $(cat "$T/twice.smtp")"
ids=$(sed -n 's/^RESULT 250 2\.0\.0 \([0-9A-Za-z]*\) .*/\1/p' "$T/twice.smtp" | sort -u | wc -l)
[ "$ids" = 2 ] || fail "twice: not two queue ids: $(cat "$T/twice.smtp")"
pf_sink_arrived "$T" 2 30 || fail "twice: expected 2 new messages in the sink"
cut -f1 "$T/split/ids" | while IFS= read -r n; do
	got=$(sed -n 's/^RCPT //p' "$T/split/$n.env" | tr '\n' ' ')
	[ "$got" = "big@example.com " ] || fail "twice: recipients '$got', expected big@example.com only"
done
echo "ok 3 two transactions on one connection (RSET between), small@ deleted in both"

# ---- 4. time per message, with and without mavisd
# per_msg PORT PER-CONNECTION - ms per message for N messages, one at a time.
per_msg() {
	send "$1" --from alice@example.org --to big@example.com --count "$N" --per-connection "$2" \
		--expect 250 "$D/clean.eml" >"$T/timing.out" 2>&1 || fail "timing on port $1: $(cat "$T/timing.out")"
	sed -n 's/^TIME elapsed=\([0-9.]*\) .*/\1/p' "$T/timing.out" | awk -v n="$N" '{ printf "%.1f\n", $1 * 1000 / n }'
}
# min A B - the smaller of two decimals.
min() {
	awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? a : b }'
}
sent=$(pf_sink_count "$T")
for pc in "$N" 1; do
	best_m=999999 best_b=999999
	# The machine is shared: alternate, and take the best round of each.
	for round in 1 2 3; do
		m=$(per_msg "$MPORT" "$pc")
		b=$(per_msg "$BPORT" "$pc")
		echo "timing (messages per connection $pc) round $round: with mavisd $m ms, Sendmail alone $b ms"
		best_m=$(min "$best_m" "$m")
		best_b=$(min "$best_b" "$b")
	done
	awk -v m="$best_m" -v b="$best_b" 'BEGIN { exit !(m <= 2 * b) }' ||
		fail "Sendmail + mavisd $best_m ms per message, more than 2x Sendmail alone ($best_b ms)"
	echo "ok 4 $pc per connection: $best_m ms per message with mavisd, $best_b ms without (best of 3 x $N)"
done
pf_wait_delivered "$T" $((sent + 12 * N)) 60
pf_sink_seen "$T"

# ---- 5. mavisd stopped: tempfail, nothing accepted; back: delivered
mavisd_e2e_stop "$T"
send "$MPORT" --expect 4 --from alice@example.org --to big@example.com "$D/clean.eml" \
	>"$T/down.smtp" 2>&1 || fail "mavisd stopped: no 4xx: $(cat "$T/down.smtp")"
cat "$T/down.smtp"
pf_sink_none "$T" 1 || fail "mavisd stopped: something was delivered"
[ "$(sm_queue_count "$T" milter)" = 0 ] || fail "mavisd stopped: Sendmail queued the message"
echo "ok 5a mavisd stopped: $(sed -n 's/^RESULT //p' "$T/down.smtp"), nothing accepted"

# restart - mavisd again, on the port sendmail.cf names.
restart() {
	pf_spawn "$T" mavisd "$MAVISD" -f -c "$T/mavisd.conf" -s "inet:$MAVISD_PORT@127.0.0.1"
	MAVISD_PID=$(pf_spawn_pid "$T" mavisd)
	_i=0
	until _c=$(mavisd_e2e_filter_pid) && [ -n "$_c" ] && pf_listening "$MAVISD_PORT" "$_c"; do
		_i=$((_i + 1))
		if [ $_i -ge 150 ] || ! pf_alive "$MAVISD_PID"; then
			fail "mavisd did not come back: $(tail -n 5 "$MAVISD_LOG")"
		fi
		pf_sleep 0.1
	done
}
restart
send "$MPORT" --expect 250 --from alice@example.org --to big@example.com "$D/clean.eml" \
	>"$T/back.smtp" 2>&1 || fail "mavisd back: $(cat "$T/back.smtp")"
pf_sink_new "$T" 1 30 >/dev/null || fail "mavisd back: the message was not delivered once"
echo "ok 5b mavisd back: delivered"

# ---- 6. mavisd killed before the final dot
send "$MPORT" --expect 4 --pause-at-dot "$T/dot" --from alice@example.org --to big@example.com \
	"$D/clean.eml" >"$T/killed.smtp" 2>&1 &
client=$!
i=0
while [ ! -f "$T/dot.ready" ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "the client never reached the final dot"
	pf_sleep 0.1
done
filter=$(mavisd_e2e_filter_pid)
kill -9 "$MAVISD_PID" "$filter"
wait "$MAVISD_PID" 2>/dev/null || true
rm -f "$T/spawn/mavisd.pid"
touch "$T/dot.go"
wait "$client" || fail "mavisd killed: no 4xx at end of data: $(cat "$T/killed.smtp")"
cat "$T/killed.smtp"
pf_sink_none "$T" 1 || fail "mavisd killed: something was delivered"
[ "$(sm_queue_count "$T" milter)" = 0 ] || fail "mavisd killed: Sendmail queued the message"
echo "ok 6 mavisd killed mid-transaction: $(sed -n 's/^RESULT //p' "$T/killed.smtp"), nothing accepted"

restart
mavisd_e2e_stop "$T"
mavisd_check_log
echo "PASS test_sendmail ($(($(date +%s) - t0)) s)"
