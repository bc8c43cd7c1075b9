#!/bin/sh
# Release from quarantine: mavisctl release re-sends quarantined copies (written
# here in the amavisd file format) through a private Postfix, over SMTP and
# through sendmail(1). The sink must get each message for the blocked (or the
# asked) recipients only, with the original envelope sender, Resent- fields on
# top, the X-Envelope-*/X-Quarantine-ID prefix gone and the rest unchanged.
# The Postfix runs mavisd in smtpd_milters and non_smtpd_milters, as the
# README hooks it, with the shipped release port (contrib/postfix/
# master.cf.release) on a free port: a virus mavisd blocked and quarantined
# is released through that port and delivered once, without a second
# verdict, and nothing bounces (case 5).
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVIS_BUILD_DIR:=$MAVIS_SOURCE_DIR/build}"
: "${MAVISCTL:=$MAVIS_BUILD_DIR/ctl/mavisctl}"
: "${MAVISD:=$MAVIS_BUILD_DIR/milter/mavisd}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
[ -x "$MAVISCTL" ] || pf_die "no mavisctl at $MAVISCTL (set MAVISCTL)"
[ -x "$MAVISD" ] || pf_die "no mavisd at $MAVISD (set MAVISD)"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

T=$(pf_mktemp e2e-release)
pf_cleanup_on_exit "$T"
Q=$T/quarantine
mkdir -p "$Q"
# The filter, as an admin runs it: virus checks on, blocked mail quarantined.
mavisd_e2e_conf "$T" \
	"av_scanners = clamav" \
	"clamav_database_dir = $MAVIS_SOURCE_DIR/t/data/clamav" \
	"clamav_reload_check_interval = 0" \
	"final_virus_destiny = reject" \
	"quarantine_dir = $Q" \
	"quarantine_subdir_levels = 1"
mavisd_e2e_start "$T"
# One recipient Postfix refuses, for the partial-failure case.
printf 'refused@example.com REJECT no such user\n' >"$T/rcpt_access"
pf_prepare "$T" "smtpd_recipient_restrictions = check_recipient_access texthash:$T/rcpt_access, permit_mynetworks, reject" \
	"smtpd_milters = $MAVISD_MILTER" \
	"non_smtpd_milters = $MAVISD_MILTER" \
	"milter_default_action = tempfail" \
	"milter_protocol = 6"
# The shipped release port, moved to a free port.
RPORT=$(pf_free_port)
sed "s/^127\.0\.0\.1:10026 /127.0.0.1:$RPORT /" "$MAVIS_SOURCE_DIR/contrib/postfix/master.cf.release" \
	>>"$T/etc/master.cf"
grep -q "^127.0.0.1:$RPORT " "$T/etc/master.cf" || fail "release port entry not installed"
pf_launch "$T"
echo "postfix smtpd on 127.0.0.1:$PF_SMTP_PORT, release port $RPORT, sink on 127.0.0.1:$SINK_PORT, mavisd $MAVISD_MILTER"

# The default is the release port of the snippet.
"$MAVISCTL" config -d -c "$T/mavisd.conf" | grep -qx 'release_method = smtp:\[127.0.0.1\]:10026' ||
	fail "release_method default: $("$MAVISCTL" config -d -c "$T/mavisd.conf" | grep release_method)"

write_conf() { # RELEASE_METHOD
	cat >"$T/release.conf" <<EOF
myhostname = mavis.test
quarantine_dir = $Q
quarantine_subdir_levels = 1
release_method = $1
EOF
}
release() { "$MAVISCTL" release -c "$T/release.conf" "$@"; }
sm() { "$PF_PYTHON" "$PF_LIBDIR/sinkmsg.py" "$@"; }
# dump_header FILE OUT: the delivered message's header fields, unfolded, one
# "Name: value" line each (one python start per message, not one per field).
dump_header() {
	"$PF_PYTHON" - "$1" "$PF_LIBDIR" >"$2" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import sinkmsg
for name, value in sinkmsg.SinkMessage(sys.argv[1]).headers:
    value = value.replace("\n", "")
    print("%s: %s" % (name, value[1:] if value[:1] in (" ", "\t") else value))
EOF
}
# hdr NAME: every value of NAME in the last dump_header output ($T/hdr).
hdr() {
	awk -v n="$1" 'BEGIN { n = tolower(n) ": " }
		tolower(substr($0, 1, length(n))) == n { print substr($0, length(n) + 1) }' "$T/hdr"
}

# 1. A spam copy as mavisd writes it: CRLF lines (the milter's bytes), two
# recipients of which one was blocked; a body line starting with a dot and
# 8-bit UTF-8 text that must survive.
mkdir -p "$Q/R"
printf '%s\r\n' \
	'X-Envelope-From: <sender@example.org>' \
	'X-Envelope-To: <delivered@example.com>,' \
	'	<blocked@example.net>' \
	'X-Envelope-To-Blocked: <blocked@example.net>' \
	'X-Quarantine-ID: <RelSmtp00001>' \
	'X-Spam-Flag: YES' \
	'From: Sender <sender@example.org>' \
	'To: delivered@example.com, blocked@example.net' \
	'Subject: release-smtp' \
	'Message-ID: <release-smtp@origin.example.org>' \
	'' \
	'first body line' \
	'.a line with a leading dot' \
	"caf$(printf '\303\251') in UTF-8" >"$Q/R/spam-RelSmtp00001"

write_conf "smtp:[127.0.0.1]:$RPORT"
# A dry run sends nothing.
release --dry-run RelSmtp00001 >"$T/dry.out" || fail "dry run failed: $(cat "$T/dry.out")"
grep -q '^  <blocked@example.net>$' "$T/dry.out" || fail "dry run: $(cat "$T/dry.out")"
grep -q '^Resent-Message-ID: <RelSmtp00001-rel-' "$T/dry.out" || fail "dry run: $(cat "$T/dry.out")"

release RelSmtp00001 >"$T/smtp.out" 2>&1 || fail "release over SMTP failed: $(cat "$T/smtp.out")"
cat "$T/smtp.out"
[ "$(wc -l <"$T/smtp.out")" -eq 1 ] || fail "want one result line: $(cat "$T/smtp.out")"
grep -Eq "^250 2\.[0-9]\.[0-9] Ok, id=rel-[A-Za-z0-9_-]{12}, from MTA\(smtp:\[127\.0\.0\.1\]:$RPORT\): 250 .*queued as" \
	"$T/smtp.out" || fail "unexpected result line: $(cat "$T/smtp.out")"
relid=$(sed -n 's/.*id=rel-\([A-Za-z0-9_-]*\),.*/\1/p' "$T/smtp.out")
pf_wait_delivered "$T" 1 30

# check_released SUBJECT SENDER RCPTS MAIL_ID [RELID]: the sink's copy.
check_released() {
	line=$(pf_sink_list "$T" | awk -F '\t' -v s="$1" '$4 == s')
	[ -n "$line" ] || fail "message '$1' not in the sink"
	[ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || fail "message '$1' arrived more than once"
	got=$(printf '%s\n' "$line" | cut -f2,3)
	[ "$got" = "$(printf '%s\t%s' "$2" "$3")" ] || fail "'$1': envelope '$got', want '$2 $3'"
	f=$(printf '%s\n' "$line" | cut -f1)
	dump_header "$f" "$T/hdr"
	for h in X-Envelope-From X-Envelope-To X-Envelope-To-Blocked X-Quarantine-ID; do
		[ -z "$(hdr "$h")" ] || fail "'$1': $h leaked into the released copy"
	done
	[ "$(hdr Resent-From)" = '"Content-filter at mavis.test" <postmaster@mavis.test>' ] ||
		fail "'$1': Resent-From '$(hdr Resent-From)'"
	case $3 in
	*,*) want_to='undisclosed-recipients:;' ;;
	*) want_to="<$3>" ;;
	esac
	[ "$(hdr Resent-To)" = "$want_to" ] ||
		fail "'$1': Resent-To '$(hdr Resent-To)', want '$want_to'"
	hdr Resent-Date | grep -Eq '^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [+-][0-9]{4}$' ||
		fail "'$1': Resent-Date '$(hdr Resent-Date)'"
	relpat=${5:-'[A-Za-z0-9_-]{12}'}
	hdr Resent-Message-ID | grep -Eq "^<$4-rel-$relpat@mavis\.test>\$" ||
		fail "'$1': Resent-Message-ID '$(hdr Resent-Message-ID)'"
	# The Resent- block sits on top of the original header (below Postfix's
	# Received:), which follows unchanged.
	hdr Subject | grep -qx "$1" || fail "'$1': Subject lost"
	[ -n "$(hdr From)" ] || fail "'$1': original From lost"
}
check_released release-smtp sender@example.org blocked@example.net RelSmtp00001 "$relid"
f1=$(pf_sink_list "$T" | awk -F '\t' '$4 == "release-smtp" { print $1 }')
sm --body "$f1" >"$T/body1"
printf 'first body line\n.a line with a leading dot\ncaf\303\251 in UTF-8\n' | cmp -s - "$T/body1" ||
	fail "body changed: $(od -c "$T/body1" | head -20)"
[ "$(hdr X-Spam-Flag)" = YES ] || fail "X-Spam-Flag (after the prefix) lost"
# Header order: Resent-From first among the message's own fields.
awk '/^Resent-From:/ { print NR; exit }' "$f1" >"$T/rf"
awk '/^From: Sender/ { print NR; exit }' "$f1" >"$T/fr"
[ "$(cat "$T/rf")" -lt "$(cat "$T/fr")" ] || fail "Resent- fields are not above the original header"

# 2. A gzip'ed virus copy with the null sender, LF lines (what amavisd
# writes), released through the private instance's sendmail(1).
mkdir -p "$Q/S"
printf '%s\n' \
	'X-Envelope-From: <>' \
	'X-Envelope-To: <bounce-target@example.org>' \
	'X-Envelope-To-Blocked: <bounce-target@example.org>' \
	'X-Quarantine-ID: <SendmailGz01>' \
	'From: MAILER-DAEMON@origin.example.org' \
	'Subject: release-sendmail' \
	'' \
	'a bounce' \
	'.' \
	'after a lone dot' | gzip -c >"$Q/S/virus-SendmailGz01.gz"
write_conf "sendmail:$PF_SENDMAIL -C $T/etc"
release SendmailGz01 >"$T/sendmail.out" 2>&1 || fail "release by sendmail failed: $(cat "$T/sendmail.out")"
cat "$T/sendmail.out"
grep -Eq "^250 2\.0\.0 Ok, id=rel-[A-Za-z0-9_-]{12}, from MTA\(sendmail:$PF_SENDMAIL\): 250 " "$T/sendmail.out" ||
	fail "unexpected result line: $(cat "$T/sendmail.out")"
pf_wait_delivered "$T" 2 60
check_released release-sendmail '<>' bounce-target@example.org SendmailGz01
f2=$(pf_sink_list "$T" | awk -F '\t' '$4 == "release-sendmail" { print $1 }')
# -i: the lone dot is text, not the end of the message.
sm --body "$f2" | grep -qx 'after a lone dot' || fail "body cut at the lone dot: $(sm --body "$f2")"

# 3. Asked recipients instead of the blocked ones; Postfix refuses one: the
# other still gets the message, and the exit status says not all went.
write_conf "smtp:[127.0.0.1]:$RPORT"
rc=0
release --rcpt refused@example.com --rcpt asked@example.com --requested-by admin@example.org \
	RelSmtp00001 >"$T/partial.out" 2>&1 || rc=$?
cat "$T/partial.out"
[ "$rc" -eq 1 ] || fail "partial release: exit $rc, want 1"
[ "$(wc -l <"$T/partial.out")" -eq 2 ] || fail "want two result lines: $(cat "$T/partial.out")"
sed -n 1p "$T/partial.out" | grep -Eq '^554 5\.7\.1 Failed, id=rel-.*: 554 5\.7\.1 <refused@example.com>: Recipient address rejected: no such user' ||
	fail "refused recipient line: $(sed -n 1p "$T/partial.out")"
sed -n 2p "$T/partial.out" | grep -Eq '^250 2\.0\.0 Ok, id=rel-' ||
	fail "accepted recipient line: $(sed -n 2p "$T/partial.out")"
pf_wait_delivered "$T" 3 30
line=$(pf_sink_list "$T" | awk -F '\t' '$3 == "asked@example.com"')
f3=$(printf '%s\n' "$line" | cut -f1)
[ -n "$f3" ] || fail "no copy for asked@example.com: $(pf_sink_list "$T")"
dump_header "$f3" "$T/hdr"
[ "$(hdr Resent-From)" = '<admin@example.org>' ] ||
	fail "Resent-From with --requested-by: '$(hdr Resent-From)'"
[ "$(hdr Resent-Sender)" = '"Content-filter at mavis.test" <postmaster@mavis.test>' ] ||
	fail "Resent-Sender: '$(hdr Resent-Sender)'"
[ "$(hdr Resent-To)" = 'undisclosed-recipients:;' ] ||
	fail "Resent-To: '$(hdr Resent-To)'"

# 4. Refusals that send nothing: a copy whose X-Quarantine-ID is another
# message's, an unknown id, an id that is no id.
cp "$Q/R/spam-RelSmtp00001" "$Q/R/spam-RelSmtp00002"
rc=0
release RelSmtp00002 >"$T/mismatch.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'does not match' "$T/mismatch.out" ||
	fail "mismatched X-Quarantine-ID: exit $rc, $(cat "$T/mismatch.out")"
rc=0
release NoSuchId0000 >"$T/missing.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "unknown id: exit $rc"
rc=0
release ../../etc/passwd >"$T/bad.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "bad id: exit $rc"

# 5. A virus through the filtered smtpd: rejected, quarantined; released
# through the release port, it reaches its recipient once, with no second
# verdict and no bounce. (Through pickup, non_smtpd_milters would block the
# copy again and Postfix would bounce it to the sender.)
printf '%s\r\n' 'From: Virus Sender <vsender@example.org>' 'To: victim@example.com' \
	'Subject: release-virus' 'Message-ID: <release-virus@origin.example.org>' '' \
	'MAVIS-TEST-VIRUS-STRING' >"$T/virus.eml"
pf_smtpsend "$T" --from vsender@example.org --to victim@example.com "$T/virus.eml" --expect 554 \
	>"$T/virus.smtp" 2>&1 || fail "virus not rejected: $(cat "$T/virus.smtp")"
vfile=$(find "$Q" -name 'virus-*' ! -name '*.gz' | head -n 1)
[ -n "$vfile" ] || fail "no virus quarantined: $(ls -R "$Q"); $(tail -n 5 "$MAVISD_LOG")"
vid=${vfile##*/virus-}
blocked_before=$(grep -c 'Blocked INFECTED' "$MAVISD_LOG" || true)
write_conf "smtp:[127.0.0.1]:$RPORT"
release "$vid" >"$T/virus.out" 2>&1 || fail "virus release failed: $(cat "$T/virus.out")"
grep -Eq "^250 2\.0\.0 Ok, id=rel-.*from MTA\(smtp:\[127\.0\.0\.1\]:$RPORT\): 250 " "$T/virus.out" ||
	fail "virus release: $(cat "$T/virus.out")"
pf_wait_delivered "$T" 4 30
check_released release-virus vsender@example.org victim@example.com "$vid"
pf_sleep 1
[ "$(grep -c 'Blocked INFECTED' "$MAVISD_LOG" || true)" -eq "$blocked_before" ] ||
	fail "the released virus got a second verdict: $(grep 'Blocked INFECTED' "$MAVISD_LOG")"
if pf_sink_list "$T" | awk -F '\t' '$2 == "<>" && $4 != "release-sendmail"' | grep -q .; then
	fail "a bounce reached the sink: $(pf_sink_list "$T")"
fi
# Release by sendmail(1) says what it risks.
write_conf "sendmail:$PF_SENDMAIL -C $T/etc"
release --dry-run "$vid" >"$T/warn.out" 2>&1 || true
grep -q 'warning: release_method sendmail:.*non_smtpd_milters' "$T/warn.out" ||
	fail "no warning for a sendmail release: $(cat "$T/warn.out")"

# The listing shows each copy by id, category and type.
"$MAVISCTL" quarantine -c "$T/release.conf" list >"$T/list.out" || fail "quarantine list failed"
grep -q "^RelSmtp00001	spam	F	[0-9]*	[^	]*	R/spam-RelSmtp00001\$" "$T/list.out" &&
	grep -q "^SendmailGz01	virus	Z	[0-9]*	[^	]*	S/virus-SendmailGz01.gz\$" "$T/list.out" ||
	fail "quarantine list: $(cat "$T/list.out")"

# Nothing else arrives: four messages in all, the queue is empty.
pf_sleep 1
[ "$(pf_sink_count "$T")" -eq 4 ] || fail "sink has $(pf_sink_count "$T") messages, want 4: $(pf_sink_list "$T")"
[ "$(pf_queue_count "$T")" -eq 0 ] || fail "queue not empty: $(/usr/sbin/postqueue -c "$T/etc" -p)"
mavisd_check_log
mavisd_e2e_stop "$T"
echo "PASS test_release"
