#!/bin/sh
# Recipient bucketing through two real Postfix instances on loopback:
#   sender Postfix (no milter) --smtp--> receiving Postfix + mavisd --> sink.
# One message to two virus lovers, one local (subject tag) and one not: the
# milter protocol gives one header set per transaction, so mavisd answers the
# second RCPT 452 4.5.3; the sender's Postfix smtp client sends it again in a
# transaction of its own. Both copies arrive, each with its own headers, and
# nothing stays queued or bounces. With recipient_bucketing = no the two
# share one transaction and one copy.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"

T=$(pf_mktemp e2e-bucket)
S=$(pf_mktemp e2e-bucket-sender)
pf_cleanup_on_exit "$T"
pf_cleanup_on_exit "$S"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

conf() {
	mavisd_e2e_conf "$T" "local_domains_maps = .example.com" "av_scanners = clamav" \
		"clamav_database_dir = $MAVIS_SOURCE_DIR/t/data/clamav" \
		"virus_lovers_maps = bob@example.com, eve@example.net" "$@"
}
conf "recipient_bucketing = yes"
mavisd_e2e_start "$T"
pf_start "$T" "smtpd_milters = $MAVISD_MILTER" "milter_default_action = tempfail"
RECV_PORT=$PF_SMTP_PORT
echo "receiver on $RECV_PORT (mavisd $MAVISD_PORT, sink $SINK_PORT)"
pf_start "$S" "relayhost = [127.0.0.1]:$RECV_PORT"
SENDER_PORT=$(cat "$S/smtp.port")
echo "sender on $SENDER_PORT"

msg_eicar() { # MESSAGE-ID
	printf 'From: alice@example.org\nTo: bob@example.com, eve@example.net\nSubject: two copies\nDate: %s\nMessage-ID: <%s@e2e.mavis.test>\n\nX5O!P%%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\n' \
		"$(date -R)" "$1"
}
send() { # FILE
	"$PF_PYTHON" "$PF_LIBDIR/smtpsend.py" --port "$SENDER_PORT" --expect 250 \
		--from alice@example.org --to bob@example.com --to eve@example.net "$1" \
		>"$T/last.smtp" 2>&1 || fail "send: $(cat "$T/last.smtp")"
}
subject_of() { # BASE
	sed -n 's/^Subject: //p' "$1.hdr" | head -n 1
}

# With bucketing: two transactions at the receiver, two copies.
msg_eicar bucket1 >"$T/b1.eml"
send "$T/b1.eml"
pf_sink_arrived "$T" 2 60 || fail "expected 2 copies at the sink: $(pf_log_tail "$T")"
grep -q '452 4.5.3' "$S/maillog" || grep -q 'policy differs' "$MAVISD_LOG" ||
	fail "no 452 4.5.3 at the receiver"
bob='' eve=''
for n in $(cut -f1 "$T/split/ids"); do
	r=$(sed -n 's/^RCPT //p' "$T/split/$n.env" | tr '\n' ' ')
	case "$r" in
	"bob@example.com ") bob=$T/split/$n ;;
	"eve@example.net ") eve=$T/split/$n ;;
	*) fail "a copy for '$r'" ;;
	esac
done
{ [ -n "$bob" ] && [ -n "$eve" ]; } || fail "not one copy each"
subject_of "$bob" | grep -q '^\*\*\*INFECTED\*\*\* two copies$' || fail "bob's subject: $(subject_of "$bob")"
[ "$(subject_of "$eve")" = "two copies" ] || fail "eve's subject: $(subject_of "$eve")"
grep -q '^X-Mavis-Alert: INFECTED' "$bob.hdr" || fail "bob: no alert"
grep -q '^X-Mavis-Alert: INFECTED' "$eve.hdr" || fail "eve: no alert"
pf_wait_queue "$S" 0 30 || fail "sender queue not empty"
grep -q 'status=bounced' "$S/maillog" && fail "the sender bounced something"
echo "ok 1 bucketing: 452 for the second recipient, retried by Postfix, two copies with their own headers"

# Without: one transaction, one copy (delivery 0's headers for both).
conf "recipient_bucketing = no"
mavisd_e2e_reload "$T" || fail "reload failed"
msg_eicar bucket2 >"$T/b2.eml"
send "$T/b2.eml"
pf_sink_arrived "$T" 1 60 || fail "expected 1 copy"
n=$(cut -f1 "$T/split/ids")
[ "$(sed -n 's/^RCPT //p' "$T/split/$n.env" | tr '\n' ' ')" = "bob@example.com eve@example.net " ] ||
	fail "one copy for both expected"
pf_wait_queue "$S" 0 30 || fail "sender queue not empty"
echo "ok 2 recipient_bucketing = no: one transaction, one copy"
pf_stop "$S"
mavisd_e2e_stop "$T"
