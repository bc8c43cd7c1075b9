#!/bin/sh
# mavisd as a non_smtpd_milter: mail injected with sendmail(1) (postdrop ->
# maildrop -> pickup -> cleanup, which plays CONNECT/HELO/MAIL/RCPT/DATA to
# the milter itself). What Postfix does with each of mavisd's answers on that
# path, as observed here with Postfix 3.7 (Debian 12):
#
#   accept   delivered (with mavisd's edits, e.g. a deleted recipient);
#   reject   cleanup logs "milter-reject: END-OF-MESSAGE ... 5.x.x ...",
#            then "status=bounced" for every recipient: the message is
#            BOUNCED to the envelope sender (a non-delivery notification from
#            <> carrying mavisd's reply text and Status, and the returned
#            message's header section only, as text/rfc822-headers). Nothing
#            stays in any queue; sendmail(1) itself exited 0 long before
#            (postdrop had accepted the message);
#   discard  "milter-discard: ... milter triggers DISCARD action": silently
#            dropped, no bounce, nothing queued;
#   tempfail "milter-reject: END-OF-MESSAGE ... 4.x.x ...": the file STAYS IN
#            MAILDROP (no queue id of its own yet, no bounce, no deferred
#            entry); pickup tries it again on its next scan (every 60 s, or
#            at once when postdrop wakes it for new mail, or postkick), each
#            try with a new cleanup queue id. That holds for a content
#            tempfail (final_oversized_destiny = tempfail) and for an
#            internal error (spool file cannot be created -> on_internal_error
#            = tempfail -> 451 4.7.1);
#   non_smtpd_reject_action = hold
#            mavisd answers QUARANTINE (smfi_quarantine) instead of reject:
#            "milter-hold: ... milter triggers HOLD action", the message sits
#            in the hold queue (postsuper -r / -H to release), no bounce;
#   non_smtpd_reject_action = discard
#            mavisd answers DISCARD instead of reject: as discard above.
#
# mavisd must never refuse a simulated RCPT on this path (Postfix would treat
# it as a configuration error): with max_recipients = 1 and two recipients
# no "milter-reject: RCPT" appears, and every recipient still goes through
# the checks (the oversized one is deleted, the other delivered).
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"

T=$(pf_mktemp e2e-sendmail)
pf_cleanup_on_exit "$T"
D=$MAVIS_SOURCE_DIR/t/data/e2e
t0=$(date +%s)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# Checks read the split copies (pf_sink_arrived: one python start for all;
# python starts slowly on a loaded machine).
arrived() { pf_sink_arrived "$T" "$1" 30 || fail "expected $1 new messages in the sink"; }
msg() { pf_sink_msg "$T" "$1" || fail "no single message $1"; }
envelope() { # BASE SENDER RCPT...
	_f=$1 _s=$2
	shift 2
	_got=$(tr '\n' ' ' <"$_f.env")
	_want="MAIL $_s $(printf 'RCPT %s ' "$@")"
	[ "$_got" = "$_want" ] || fail "$_f: envelope '$_got', expected '$_want'"
}
# header BASE NAME - the (first) value of field NAME, unfolded.
header() {
	awk -v n="$2" 'BEGIN { n = tolower(n) ":" }
		found && /^[ \t]/ { v = v $0; next }
		found { exit }
		tolower(substr($0, 1, length(n))) == n { v = substr($0, length(n) + 1); found = 1 }
		END { sub(/^[ \t]/, "", v); print v }' "$1.hdr"
}
# count REGEX - maillog lines matching REGEX now.
count() { grep -Ec -- "$1" "$T/maillog" || true; }
# inject FILE RCPT... - sendmail(1) as the shell user, sender alice@.
inject() {
	_f=$1
	shift
	pf_sendmail "$T" -i -f alice@example.org "$@" <"$_f" || fail "sendmail(1) exited $?"
}
kick_pickup() { /usr/sbin/postkick -c "$T/etc" public pickup W; }

BASE="message_size_limit_maps = inline:{small@example.com=2000}
max_recipients = 1
body_memory_limit = 64K"
conf() {
	_old_ifs=$IFS
	IFS='
'
	# shellcheck disable=SC2086 # one line per argument on purpose
	mavisd_e2e_conf "$T" $BASE "$@"
	IFS=$_old_ifs
}
conf
mavisd_e2e_start "$T"
pf_start "$T" \
	"non_smtpd_milters = $MAVISD_MILTER" \
	"milter_default_action = tempfail"
echo "postfix (sendmail -C $T/etc), mavisd on $MAVISD_PORT (pid $MAVISD_PID), sink on $SINK_PORT"

# accept: a clean message to two recipients, over max_recipients = 1: both
# delivered, the simulated RCPTs are never refused.
inject "$D/clean.eml" big@example.com r2@example.net
arrived 1
envelope "$(msg '<clean.1@e2e.mavis.test>')" alice@example.org big@example.com r2@example.net
echo "ok 1 accept: delivered to both recipients despite max_recipients = 1"

# accept with an edit: big@ + small@ (over its size limit). small@ must be
# checked although it is past max_recipients, and deleted.
inject "$D/big.eml" big@example.com small@example.com
arrived 1
envelope "$(msg '<big.1@e2e.mavis.test>')" alice@example.org big@example.com
grep -q 'Passed/Blocked OVERSIZED.*<big@example.com>, <small@example.com>' "$MAVISD_LOG" ||
	fail "mavisd did not log both recipients of the mixed message"
echo "ok 2 accept with delrcpt: small@ (past max_recipients) deleted, big@ delivered"

# reject: bounced to the envelope sender by cleanup.
inject "$D/big.eml" small@example.com
pf_wait_log "$T" 'cleanup.*milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 5\.3\.4 Reject' 20
pf_wait_log "$T" 'to=<small@example.com>, relay=none, .*dsn=5\.3\.4, status=bounced \(Reject, id=' 20
pf_wait_log "$T" 'sender non-delivery notification' 20
arrived 1
f=$T/split/$(cut -f1 "$T/split/ids")
envelope "$f" '<>' alice@example.org
[ "$(header "$f" Subject)" = "Undelivered Mail Returned to Sender" ] ||
	fail "reject: the sink got '$(header "$f" Subject)', not a bounce"
cp "$f.body" "$T/ndn.body"
grep -q '^<small@example.com>: Reject, id=' "$T/ndn.body" ||
	fail "reject: the bounce does not carry mavisd's reply text: $(cat "$T/ndn.body")"
grep -qx 'Status: 5\.3\.4' "$T/ndn.body" || fail "reject: the bounce has no Status: 5.3.4"
# Postfix returns the header section only (text/rfc822-headers).
grep -qx 'Content-Type: text/rfc822-headers' "$T/ndn.body" ||
	fail "reject: the bounce does not return the headers as text/rfc822-headers"
pf_wait_queue "$T" 0 20
echo "ok 3 reject: bounced to the sender (NDN in the sink), nothing queued"

# discard.
conf "final_oversized_destiny = discard"
mavisd_e2e_reload "$T" || fail "reload (discard) failed"
inject "$D/big.eml" small@example.com
pf_wait_log "$T" 'cleanup.*milter-discard: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: milter triggers DISCARD action' 20
pf_wait_queue "$T" 0 20
# (Nothing delivered: case 7 expects exactly its two messages in the sink.)
echo "ok 4 discard: dropped, no bounce, nothing queued"

# tempfail from content (final_oversized_destiny = tempfail): stays in maildrop.
conf "final_oversized_destiny = tempfail"
mavisd_e2e_reload "$T" || fail "reload (tempfail) failed"
inject "$D/big.eml" small@example.com
pf_wait_log "$T" 'cleanup.*milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 4\.3\.4 Temporary failure' 20
pf_wait_queue "$T" 1 20 maildrop
[ "$(pf_queue_count "$T")" -eq 1 ] || fail "tempfail: not only in maildrop"
echo "ok 5 content tempfail: the message stays in maildrop"

# tempfail from an internal error: tmp_dir gone (a file in its place; root
# ignores directory permissions), a 200 KB message with body_memory_limit =
# 64K must spill, cannot, and mavisd answers on_internal_error = tempfail.
rmdir "$T/mavis-tmp"
echo "not a directory" >"$T/mavis-tmp"
{
	printf 'From: alice@example.org\nTo: big@example.com\nSubject: 200 KB\n'
	printf 'Message-ID: <large.1@e2e.mavis.test>\n\n'
	yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx | head -n 2900
} >"$T/large.eml"
before=$(count 'milter-reject: END-OF-MESSAGE .*4\.7\.1 Temporary failure, id=.* - error in processing')
inject "$T/large.eml" big@example.com
pf_wait_log "$T" 'milter-reject: END-OF-MESSAGE .*4\.7\.1 Temporary failure, id=.* - error in processing' 20 $((before + 1))
grep -q 'spool: cannot create spool file' "$MAVISD_LOG" || fail "mavisd did not log the spool failure"
pf_wait_queue "$T" 2 20 maildrop
[ "$(count 'status=bounced')" -eq 1 ] || fail "tempfail: something was bounced"
echo "ok 6 internal error: 451 4.7.1 tempfail, the message stays in maildrop"

# Both wait in maildrop and nothing is lost: repair, let oversized mail
# pass, wake pickup: both are delivered.
rm -f "$T/mavis-tmp"
mkdir "$T/mavis-tmp"
conf "final_oversized_destiny = pass"
mavisd_e2e_reload "$T" || fail "reload (pass) failed"
kick_pickup
pf_sink_arrived "$T" 2 40 || fail "the two messages from maildrop did not arrive"
envelope "$(msg '<large.1@e2e.mavis.test>')" alice@example.org big@example.com
envelope "$(msg '<big.1@e2e.mavis.test>')" alice@example.org small@example.com
pf_wait_queue "$T" 0 20
echo "ok 7 after repair, pickup delivered both tempfailed messages from maildrop"

# non_smtpd_reject_action = hold: the reject becomes a hold.
conf "non_smtpd_reject_action = hold"
mavisd_e2e_reload "$T" || fail "reload (hold) failed"
inject "$D/big.eml" small@example.com
pf_wait_log "$T" 'cleanup.*milter-hold: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: milter triggers HOLD action' 20
pf_wait_queue "$T" 1 20 hold
[ "$(count 'status=bounced')" -eq 1 ] || fail "hold: a bounce was sent"
grep -q 'non-SMTP mail put on hold' "$MAVISD_LOG" || fail "mavisd did not log the hold"
/usr/sbin/postsuper -c "$T/etc" -d ALL hold >/dev/null 2>&1
pf_wait_queue "$T" 0 20
echo "ok 8 non_smtpd_reject_action = hold: in the hold queue, no bounce"

# non_smtpd_reject_action = discard: the reject becomes a discard.
conf "non_smtpd_reject_action = discard"
mavisd_e2e_reload "$T" || fail "reload (nsra discard) failed"
before=$(count 'milter-discard: END-OF-MESSAGE')
inject "$D/big.eml" small@example.com
pf_wait_log "$T" 'cleanup.*milter-discard: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: milter triggers DISCARD action' 20 $((before + 1))
pf_wait_queue "$T" 0 20
pf_sink_none "$T"
[ "$(count 'status=bounced')" -eq 1 ] || fail "nsra discard: a bounce was sent"
echo "ok 9 non_smtpd_reject_action = discard: dropped, no bounce"

# Never a refused simulated RCPT, and no Postfix complaint about the milter.
[ "$(count 'milter-reject: RCPT')" -eq 0 ] || fail "mavisd refused a simulated RCPT: $(grep 'milter-reject: RCPT' "$T/maillog")"
if grep -Eq 'warning: .*milter|configuration error' "$T/maillog"; then
	fail "Postfix warned about the milter: $(grep -E 'warning: .*milter|configuration error' "$T/maillog")"
fi
pf_alive "$MAVISD_PID" || fail "mavisd died"
mavisd_e2e_stop "$T"
mavisd_check_log
echo "PASS test_mavisd_sendmail ($(($(date +%s) - t0)) s)"
