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
#     = reject (after a reload): 554 5.6.0 naming the cause;
#  5. max_recipients = 2 with three RCPTs: the third gets 452 4.5.3, the
#     message goes to the first two;
#  6. soft_bounce = yes turns the rejects into 450;
#  7. two transactions on one SMTP connection (RSET between) are each
#     handled on their own (recipient count and size limit start afresh).
# Messages of one configuration go out in one smtpsend.py --batch and are
# checked from one sinkmsg.py --split (pf_sink_arrived): python starts slowly on a loaded
# machine, and this keeps the test well inside its time.
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

# batch NAME - send the messages listed in $T/NAME.list (smtpsend.py --batch
# lines: CASE SENDER RCPTS FILE); each CASE's answers land in $T/CASE.smtp.
batch() {
	pf_smtpsend "$T" --batch "$T/$1.list" --batch-out "$T" >"$T/$1.sent" 2>&1 ||
		fail "smtpsend --batch $1: $(cat "$T/$1.sent")"
	cat "$T/$1.sent"
}

# has CASE REGEX - the smtpsend output of CASE has a line matching REGEX.
has() {
	grep -Eq -- "$2" "$T/$1.smtp" || fail "$1: no line matching '$2' in: $(cat "$T/$1.smtp")"
}

# arrived N - exactly N new messages in the sink, split (pf_sink_arrived).
arrived() {
	pf_sink_arrived "$T" "$1" 30 || fail "expected $1 new messages in the sink"
}
# msg MESSAGE-ID - the base name of the new message with that Message-ID.
msg() {
	pf_sink_msg "$T" "$1" || fail "no single message $1"
}

# envelope BASE RCPT... - exactly these recipients, in order.
envelope() {
	_got=$(sed -n 's/^RCPT //p' "$1.env" | tr '\n' ' ')
	shift
	[ "$_got" = "$* " ] || fail "recipients '$_got', expected '$* '"
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

# ---- final_bad_header_destiny = pass
"$PF_PYTHON" -c '
import email.utils, sys
sys.stdout.write("From: alice@example.org\nTo: r1@example.com\nSubject: too-many-rcpts\n"
                 "Date: %s\nMessage-ID: <rcpts.1@e2e.mavis.test>\n\nThree recipients.\n"
                 % email.utils.formatdate())' >"$T/rcpts.eml"
cat >"$T/pass.list" <<EOF
clean  alice@example.org big@example.com                                $D/clean.eml
over   alice@example.org small@example.com                              $D/big.eml
mixed  alice@example.org small@example.com,big@example.com              $D/big.eml
hcount alice@example.org big@example.com                                $D/many-headers.eml
hsize  alice@example.org big@example.com                                $D/long-header.eml
rcpts  alice@example.org r1@example.com,r2@example.net,r3@example.org   $T/rcpts.eml
EOF
batch pass
arrived 5

# 1. Clean message: delivered, header section unchanged but for Received:.
has clean '^RESULT 250 '
m=$(msg '<clean.1@e2e.mavis.test>')
envelope "$m" big@example.com
# The first field is Postfix's Received: (folded over several lines).
head -n 1 "$m.hdr" | grep -q '^Received: from client.mavis.test' ||
	fail "clean: first field is not Postfix's Received: $(head -n 3 "$m.hdr")"
[ "$(grep -c '^Received:' "$m.hdr")" = 1 ] || fail "clean: more than one Received:"
awk 'NR == 1 { skip = 1; next } skip && /^[ \t]/ { next } { skip = 0; print }' "$m.hdr" >"$T/clean.rest"
sed '/^$/q' "$D/clean.eml" | sed '$d' >"$T/clean.sent"
if ! cmp -s "$T/clean.sent" "$T/clean.rest"; then
	diff -u "$T/clean.sent" "$T/clean.rest" >&2 || true
	fail "clean: header section changed on the way (diff above)"
fi
grep -qx '\.A line that starts with a dot (SMTP dot-stuffing)\.' "$m.body" ||
	fail "clean: body changed: $(cat "$m.body")"
echo "ok 1 clean message delivered, header section unchanged"

# 2. One recipient, over its size limit: the message is refused at the dot.
has over '^RESULT 552 5\.3\.4 Reject, id=[0-9A-F]+ - Message size exceeds recipient.s size limit$'
echo "ok 2 oversized for the only recipient: 552 5.3.4, nothing delivered"

# 3. Mixed: small@ over its limit, big@ has none. Accepted; small@ leaves
# the envelope (smfi_delrcpt); the header section is not touched.
has mixed '^RCPT small@example.com 250 '
has mixed '^RESULT 250 '
m=$(msg '<big.1@e2e.mavis.test>')
envelope "$m" big@example.com
if grep -q '^X-Mavis-Alert:' "$m.hdr"; then fail "mixed: unexpected X-Mavis-Alert"; fi
echo "ok 3 mixed recipients: 250, delivered to big@ only"

# 4a. Header section over the limits, final_bad_header_destiny = pass. The
# field arrives byte for byte, above everything else (milter insert at 0).
for c in hcount:many-headers hsize:long-header; do
	has "${c%%:*}" '^RESULT 250 '
	m=$(msg "<${c#*:}.1@e2e.mavis.test>")
	envelope "$m" big@example.com
	[ "$(head -n 1 "$m.hdr")" = "X-Mavis-Alert: BAD HEADER SECTION, Header section over limits" ] ||
		fail "${c%%:*}: first field is not the alert: $(head -n 1 "$m.hdr")"
done
# Every field the client sent still arrives: past the limit mavisd stores
# no more fields, but it never deletes any.
m=$(msg '<many-headers.1@e2e.mavis.test>')
grep -qx 'X-Filler-30: filler field number 30' "$m.hdr" || fail "hcount: X-Filler-30 lost"
echo "ok 4a bad header section with destiny pass: delivered with X-Mavis-Alert"

# 5. Too many recipients: the third is refused at RCPT time.
has rcpts '^RCPT r1@example.com 250 '
has rcpts '^RCPT r2@example.net 250 '
has rcpts '^RCPT r3@example.org 452 4\.5\.3 Too many recipients'
has rcpts '^RESULT 250 '
m=$(msg '<rcpts.1@e2e.mavis.test>')
envelope "$m" r1@example.com r2@example.net
echo "ok 5 max_recipients = 2: third RCPT 452 4.5.3, delivered to the first two"

# ---- final_bad_header_destiny = reject
conf "final_bad_header_destiny = reject"
mavisd_e2e_reload "$T" || fail "reload to final_bad_header_destiny = reject failed"
cat >"$T/reject.list" <<EOF
hcount-rej alice@example.org big@example.com $D/many-headers.eml
hsize-rej  alice@example.org big@example.com $D/long-header.eml
EOF
batch reject
# 4b. The reply names the real cause, like the X-Mavis-Alert field does (not
# "line longer than RFC 5322 limit", which no line here is).
has hcount-rej '^RESULT 554 5\.6\.0 Reject, id=[0-9A-F]+ - BAD HEADER: Header section over limits$'
has hsize-rej '^RESULT 554 5\.6\.0 Reject, id=[0-9A-F]+ - BAD HEADER: Header section over limits$'
echo "ok 4b bad header section with destiny reject: 554 5.6.0"

# 7. Two transactions on one connection, RSET between: each starts afresh.
# Three recipients each time (the third refused both times, so the count is
# per message), big@ kept and small@ deleted both times.
pf_smtpsend "$T" --expect 250 --repeat 2 --from alice@example.org --to big@example.com \
	--to small@example.com --to r3@example.org "$D/big.eml" >"$T/twice.smtp" 2>&1 ||
	fail "twice: $(cat "$T/twice.smtp")"
cat "$T/twice.smtp"
[ "$(grep -c '^RCPT r3@example.org 452 4\.5\.3 ' "$T/twice.smtp")" = 2 ] ||
	fail "twice: third recipient not refused in both transactions"
[ "$(grep -c '^RCPT small@example.com 250 ' "$T/twice.smtp")" = 2 ] ||
	fail "twice: small@ not accepted at RCPT in both transactions"
[ "$(grep -c '^RESULT 250 ' "$T/twice.smtp")" = 2 ] || fail "twice: not two 250 results"
q1=$(sed -n 's/^RESULT 250 .*queued as \([0-9A-F]*\).*/\1/p' "$T/twice.smtp" | sed -n 1p)
q2=$(sed -n 's/^RESULT 250 .*queued as \([0-9A-F]*\).*/\1/p' "$T/twice.smtp" | sed -n 2p)
{ [ -n "$q1" ] && [ -n "$q2" ] && [ "$q1" != "$q2" ]; } || fail "twice: queue ids '$q1' '$q2'"
arrived 2
cut -f1 "$T/split/ids" | while IFS= read -r n; do
	envelope "$T/split/$n" big@example.com
done
echo "ok 7 two messages on one connection, both handled"

# ---- soft_bounce = yes: the same rejects become 450.
conf "final_bad_header_destiny = reject" "soft_bounce = yes"
mavisd_e2e_reload "$T" || fail "reload to soft_bounce = yes failed"
cat >"$T/soft.list" <<EOF
soft-size alice@example.org small@example.com $D/big.eml
soft-badh alice@example.org big@example.com   $D/many-headers.eml
EOF
batch soft
has soft-size '^RESULT 450 4\.3\.4 Temporary failure \(soft_bounce\), id=[0-9A-F]+ - Message size exceeds'
has soft-badh '^RESULT 450 4\.6\.0 Temporary failure \(soft_bounce\), '
echo "ok 6 soft_bounce = yes: 450 instead of 552 and 554"

# Postfix logged the milter's answers as such (the END-OF-MESSAGE line shows
# only the enhanced status code).
grep -q 'milter-reject: END-OF-MESSAGE from .*: 5\.3\.4 Reject' "$T/maillog" ||
	fail "no milter-reject 5.3.4 in maillog"
grep -q 'milter-reject: RCPT .*452 4\.5\.3' "$T/maillog" || fail "no milter-reject RCPT 452 in maillog"

# Nothing else reached the sink (the refused messages included), Postfix's
# queue is empty, mavisd is alive and stops cleanly, and its log is free of
# sanitizer reports.
pf_sink_none "$T" 1
pf_wait_queue "$T" 0 20
pf_alive "$MAVISD_PID" || fail "mavisd died"
mavisd_e2e_stop "$T"
mavisd_check_log
echo "PASS test_mavisd_smtp ($(($(date +%s) - t0)) s)"
