#!/bin/sh
# mavisd behind a real Postfix smtpd (smtpd_milters, milter_default_action =
# tempfail), messages from smtpsend.py, results read in smtp-sink:
#  1. a clean message is delivered and its header section arrives unchanged
#     apart from Postfix's own Received: (mavisd edits nothing it does not
#     have to);
#  2. per-recipient size limit, one recipient: 552 5.3.4, nothing delivered;
#  3. mixed recipients (small@ over its limit, big@ not): 250, delivered to
#     big@ only (envelope checked);
#  4. header section over max_header_count / max_header_size with
#     final_bad_header_destiny = pass: delivered with X-Mavis-Alert;
#     = reject (after a reload): 554 5.6.0;
#  5. max_recipients = 2 with three RCPTs: the third gets 452 4.5.3, the
#     message goes to the first two;
#  6. soft_bounce = yes turns the rejects into 450;
#  7. two transactions on one SMTP connection (RSET between) are each
#     handled on their own (recipient count and size limit start afresh).
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"

T=$(pf_mktemp e2e-smtp)
pf_cleanup_on_exit "$T"
D=$MAVIS_SOURCE_DIR/t/data/e2e
t0=$(date +%s)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# send NAME EXPECT smtpsend-args... - send, keep the output in $T/out.NAME,
# fail when the final code does not match EXPECT.
send() {
	_name=$1 _exp=$2
	shift 2
	if ! pf_smtpsend "$T" --expect "$_exp" "$@" >"$T/out.$_name" 2>&1; then
		cat "$T/out.$_name" >&2
		fail "$_name: expected $_exp"
	fi
	sed "s/^/$_name: /" "$T/out.$_name"
}

# has NAME REGEX - the smtpsend output of NAME has a line matching REGEX.
has() {
	grep -Eq -- "$2" "$T/out.$1" || fail "$1: no line matching '$2' in: $(cat "$T/out.$1")"
}

sm() { "$PF_PYTHON" "$PF_LIBDIR/sinkmsg.py" "$@"; }

# envelope FILE RCPT... - the sink file has exactly these recipients, in order.
envelope() {
	_f=$1
	shift
	_got=$(sm --envelope "$_f" | sed -n 's/^RCPT //p' | tr '\n' ' ')
	_want="$* "
	[ "$_got" = "$_want" ] || fail "$_f: recipients '$_got', expected '$_want'"
}

# The recipient-level settings under test. Postfix's own Received: counts
# towards mavisd's header limits (Postfix shows it to the milter), so the
# limits leave room for it: clean mail has about 12 fields and 700 bytes.
BASE="message_size_limit_maps = inline:{small@example.com=2000}
max_recipients = 2
max_header_count = 20
max_header_size = 1K"
conf() { # extra lines
	_old_ifs=$IFS
	IFS='
'
	# shellcheck disable=SC2086 # one line per argument on purpose
	mavisd_e2e_conf "$T" $BASE "$@"
	IFS=$_old_ifs
}
conf "final_bad_header_destiny = pass"
mavisd_e2e_start "$T"
pf_start "$T" \
	"smtpd_milters = $MAVISD_MILTER" \
	"milter_default_action = tempfail"
echo "postfix on $PF_SMTP_PORT, mavisd on $MAVISD_PORT (pid $MAVISD_PID), sink on $SINK_PORT"

# 1. Clean message: delivered, header section unchanged but for Received:.
send clean 250 --from alice@example.org --to big@example.com "$D/clean.eml"
f=$(pf_sink_new "$T" 1 20)
envelope "$f" big@example.com
sm --raw-headers "$f" >"$T/clean.got"
# The first field is Postfix's Received: (folded over several lines).
head -n 1 "$T/clean.got" | grep -q '^Received: from client.mavis.test' ||
	fail "clean: first field is not Postfix's Received: $(head -n 3 "$T/clean.got")"
grep -c '^Received:' "$T/clean.got" | grep -qx 1 || fail "clean: more than one Received:"
awk 'NR == 1 { skip = 1; next } skip && /^[ \t]/ { next } { skip = 0; print }' \
	"$T/clean.got" >"$T/clean.rest"
sed '/^$/q' "$D/clean.eml" | sed '$d' >"$T/clean.sent"
if ! cmp -s "$T/clean.sent" "$T/clean.rest"; then
	diff -u "$T/clean.sent" "$T/clean.rest" >&2 || true
	fail "clean: header section changed on the way (diff above)"
fi
sm --body "$f" | grep -qx '\.A line that starts with a dot (SMTP dot-stuffing)\.' ||
	fail "clean: body changed: $(sm --body "$f")"
echo "ok 1 clean message delivered, header section unchanged"

# 2. One recipient, over its size limit: the message is refused at the dot.
send over 552 --from alice@example.org --to small@example.com "$D/big.eml"
has over '^RESULT 552 5\.3\.4 '
pf_sink_none "$T"
echo "ok 2 oversized for the only recipient: 552 5.3.4, nothing delivered"

# 3. Mixed: small@ over its limit, big@ has none. Accepted; small@ leaves
# the envelope (smfi_delrcpt); the header section is not touched.
send mixed 250 --from alice@example.org --to small@example.com --to big@example.com "$D/big.eml"
has mixed '^RCPT small@example.com 250 '
f=$(pf_sink_new "$T" 1 20)
envelope "$f" big@example.com
[ -z "$(sm --header X-Mavis-Alert "$f")" ] || fail "mixed: unexpected X-Mavis-Alert"
echo "ok 3 mixed recipients: 250, delivered to big@ only"

# 4. Header section over the limits, final_bad_header_destiny = pass.
send hcount 250 --from alice@example.org --to big@example.com "$D/many-headers.eml"
f=$(pf_sink_new "$T" 1 20)
envelope "$f" big@example.com
alert=$(sm --header X-Mavis-Alert "$f")
[ "$alert" = "BAD HEADER SECTION, Header section over limits" ] ||
	fail "hcount: X-Mavis-Alert is '$alert'"
# Every header field the client sent still arrives (the ones past the limit
# are not stored by mavisd, but mavisd never deletes fields).
[ "$(sm --header X-Filler-30 "$f")" = "filler field number 30" ] || fail "hcount: X-Filler-30 lost"
send hsize 250 --from alice@example.org --to big@example.com "$D/long-header.eml"
f=$(pf_sink_new "$T" 1 20)
alert=$(sm --header X-Mavis-Alert "$f")
[ "$alert" = "BAD HEADER SECTION, Header section over limits" ] ||
	fail "hsize: X-Mavis-Alert is '$alert'"
grep -q '^X-Mavis-Alert: BAD HEADER SECTION, Header section over limits$' "$f" ||
	fail "hsize: X-Mavis-Alert line not byte-exact: $(grep X-Mavis-Alert "$f")"
echo "ok 4a bad header section with destiny pass: delivered with X-Mavis-Alert"

# ... and with final_bad_header_destiny = reject.
conf "final_bad_header_destiny = reject"
mavisd_e2e_reload "$T" || fail "reload to final_bad_header_destiny = reject failed"
send hcount-rej 554 --from alice@example.org --to big@example.com "$D/many-headers.eml"
has hcount-rej '^RESULT 554 5\.6\.0 '
send hsize-rej 554 --from alice@example.org --to big@example.com "$D/long-header.eml"
has hsize-rej '^RESULT 554 5\.6\.0 '
pf_sink_none "$T"
echo "ok 4b bad header section with destiny reject: 554 5.6.0"

# 5. Too many recipients: the third is refused at RCPT time.
send rcpts 250 --from alice@example.org --to r1@example.com --to r2@example.net \
	--to r3@example.org --subject too-many-rcpts
has rcpts '^RCPT r1@example.com 250 '
has rcpts '^RCPT r2@example.net 250 '
has rcpts '^RCPT r3@example.org 452 4\.5\.3 '
f=$(pf_sink_new "$T" 1 20)
envelope "$f" r1@example.com r2@example.net
echo "ok 5 max_recipients = 2: third RCPT 452 4.5.3, delivered to the first two"

# 7. Two transactions on one connection, RSET between: each starts afresh.
# Three recipients each time (the third refused both times, so the count is
# per message), big@ kept and small@ deleted both times.
send twice 250 --repeat 2 --from alice@example.org --to big@example.com \
	--to small@example.com --to r3@example.org "$D/big.eml"
[ "$(grep -c '^RCPT r3@example.org 452 4\.5\.3 ' "$T/out.twice")" = 2 ] ||
	fail "twice: third recipient not refused in both transactions"
[ "$(grep -c '^RCPT small@example.com 250 ' "$T/out.twice")" = 2 ] ||
	fail "twice: small@ not accepted at RCPT in both transactions"
[ "$(grep -c '^RESULT 250 ' "$T/out.twice")" = 2 ] || fail "twice: not two 250 results"
files=$(pf_sink_new "$T" 2 20)
for f in $files; do
	envelope "$f" big@example.com
done
# Different queue ids: two messages, not one delivered twice.
q1=$(sed -n 's/^RESULT 250 .*queued as \([0-9A-F]*\).*/\1/p' "$T/out.twice" | sed -n 1p)
q2=$(sed -n 's/^RESULT 250 .*queued as \([0-9A-F]*\).*/\1/p' "$T/out.twice" | sed -n 2p)
[ -n "$q1" ] && [ -n "$q2" ] && [ "$q1" != "$q2" ] || fail "twice: queue ids '$q1' '$q2'"
echo "ok 7 two messages on one connection, both handled"

# 6. soft_bounce = yes: the same rejects become 450.
conf "final_bad_header_destiny = reject" "soft_bounce = yes"
mavisd_e2e_reload "$T" || fail "reload to soft_bounce = yes failed"
send soft-size 450 --from alice@example.org --to small@example.com "$D/big.eml"
has soft-size '^RESULT 450 4\.3\.4 '
send soft-badh 450 --from alice@example.org --to big@example.com "$D/many-headers.eml"
has soft-badh '^RESULT 450 4\.6\.0 '
pf_sink_none "$T"
echo "ok 6 soft_bounce = yes: 450 instead of 552 and 554"

# Postfix logged the milter's answers as such (the END-OF-MESSAGE line shows
# only the enhanced status code).
grep -q 'milter-reject: END-OF-MESSAGE from .*: 5\.3\.4 Reject' "$T/maillog" ||
	fail "no milter-reject 5.3.4 in maillog"
grep -q 'milter-reject: RCPT .*452 4\.5\.3' "$T/maillog" || fail "no milter-reject RCPT 452 in maillog"

# Nothing else reached the sink, Postfix's queue is empty, mavisd is alive
# and stops cleanly, and its log is free of sanitizer reports.
pf_sink_none "$T" 0
pf_wait_queue "$T" 0 20
pf_alive "$MAVISD_PID" || fail "mavisd died"
mavisd_e2e_stop "$T"
mavisd_check_log
echo "PASS test_mavisd_smtp ($(($(date +%s) - t0)) s)"
