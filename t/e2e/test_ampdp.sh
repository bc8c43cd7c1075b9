#!/bin/sh
# The AM.PDP release service (release_socket): mavisd answers amavisd's
# port-9998 / amavisd.sock protocol for its file quarantine.
#  1. Debian's own amavisd-release (amavisd-new 2.13, unpacked by
#     contrib/install-amavis-ref, run unchanged: its socket path is fixed at
#     /var/lib/amavis/amavisd.sock, so it runs in a private mount namespace
#     where a temp dir is mounted on /var/lib) releases a virus that mavisd
#     rejected and quarantined: both blocked recipients get it through the
#     release port of a real Postfix, with Resent- fields, once.
#  2. A client as iRedAdmin and MailZu speak it, over inet: release with the
#     secret_id (Resent-From = requested_by), wrong secret, missing secret,
#     unknown mail_id, a client outside release_clients, several requests on
#     one connection (mail_file + recipient=, requeue, quar_type=Q refused
#     without sql_dsn),
#     an over-long line, release_max_clients and an idle client; after a
#     reload, a release_trusted_clients address needs no secret_id.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVIS_BUILD_DIR:=$MAVIS_SOURCE_DIR/build}"
: "${MAVISD:=$MAVIS_BUILD_DIR/milter/mavisd}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
[ -x "$MAVISD" ] || pf_die "no mavisd at $MAVISD (set MAVISD)"
AMREL=${MAVIS_AMAVIS_REF:-/var/cache/mavis-test/amavisd-new}/usr/sbin/amavisd-release
if [ ! -x "$AMREL" ]; then
	echo "SKIP: no amavisd-release at $AMREL (contrib/install-amavis-ref)" >&2
	exit 77
fi
unshare -m --propagation private true 2>/dev/null || {
	echo "SKIP: no private mount namespace (unshare -m) for amavisd-release" >&2
	exit 77
}

fail() {
	echo "FAIL: $*" >&2
	[ -n "${MAVISD_LOG:-}" ] && tail -n 30 "$MAVISD_LOG" >&2
	exit 1
}

T=$(pf_mktemp e2e-ampdp)
pf_cleanup_on_exit "$T"
Q=$T/quarantine
mkdir -p "$Q" "$T/varlib/amavis"
SOCK=$T/varlib/amavis/amavisd.sock
PPORT=$(pf_free_port)
RPORT=$(pf_free_port)
write_conf() { # EXTRA-LINES...
	mavisd_e2e_conf "$T" \
		"av_scanners = clamav" \
		"clamav_database_dir = $MAVIS_SOURCE_DIR/t/data/clamav" \
		"clamav_reload_check_interval = 0" \
		"final_virus_destiny = reject" \
		"quarantine_dir = $Q" \
		"quarantine_subdir_levels = 1" \
		"release_method = smtp:[127.0.0.1]:$RPORT" \
		"release_socket = unix:$SOCK, inet:$PPORT@127.0.0.1" \
		"release_clients = 127.0.0.1" \
		"release_timeout = 3s" \
		"release_max_clients = 2" \
		"release_max_line = 1K" "$@"
}
write_conf
mavisd_e2e_start "$T"
pf_prepare "$T" "smtpd_milters = $MAVISD_MILTER" \
	"non_smtpd_milters = $MAVISD_MILTER" \
	"milter_default_action = tempfail" \
	"milter_protocol = 6"
sed "s/^127\.0\.0\.1:10026 /127.0.0.1:$RPORT /" "$MAVIS_SOURCE_DIR/contrib/postfix/master.cf.release" \
	>>"$T/etc/master.cf"
pf_launch "$T"
pf_wait_port() { # PORT: until something listens
	_i=0
	while [ $_i -lt 100 ] && ! "$PF_PYTHON" -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$1" 2>/dev/null; do
		pf_sleep 0.1
		_i=$((_i + 1))
	done
}
pf_wait_port "$PPORT"
[ -S "$SOCK" ] || fail "no unix release socket at $SOCK"
grep -q "release listener (AM.PDP) on inet:$PPORT@127.0.0.1" "$MAVISD_LOG" || fail "listener not logged"
echo "postfix smtpd on 127.0.0.1:$PF_SMTP_PORT, release port $RPORT, AM.PDP on $PPORT and $SOCK"

# amavisd-release as Debian ships it, talking to /var/lib/amavis/amavisd.sock.
amavisd_release() {
	unshare -m --propagation private sh -c 'mount --bind "$1" /var/lib && shift && exec "$@"' \
		sh "$T/varlib" "$AMREL" "$@"
}
pdp() { "$PF_PYTHON" "$PF_LIBDIR/ampdp_client.py" --inet "127.0.0.1:$PPORT" "$@"; }
sm() { "$PF_PYTHON" "$PF_LIBDIR/sinkmsg.py" "$@"; }
# field FILE NAME: the first value of header field NAME of a sink file.
field() { sm --header "$2" "$1" | head -n 1; }
# sink_by_subject SUBJECT: the one sink line of that subject.
sink_by_subject() {
	_l=$(pf_sink_list "$T" | awk -F '\t' -v s="$1" '$4 == s')
	[ -n "$_l" ] || fail "message '$1' not in the sink: $(pf_sink_list "$T")"
	[ "$(printf '%s\n' "$_l" | wc -l)" -eq 1 ] || fail "message '$1' arrived more than once"
	printf '%s\n' "$_l"
}

# 1. A virus, blocked and quarantined by mavisd, released by amavisd-release.
printf '%s\r\n' 'From: Virus Sender <vsender@example.org>' 'To: v1@example.com, v2@example.net' \
	'Subject: ampdp-virus' 'Message-ID: <ampdp-virus@origin.example.org>' '' \
	'MAVIS-TEST-VIRUS-STRING' >"$T/virus.eml"
pf_smtpsend "$T" --from vsender@example.org --to v1@example.com --to v2@example.net "$T/virus.eml" \
	--expect 554 >"$T/virus.smtp" 2>&1 || fail "virus not rejected: $(cat "$T/virus.smtp")"
vfile=$(find "$Q" -name 'virus-*' | head -n 1)
[ -n "$vfile" ] || fail "no virus quarantined: $(ls -R "$Q")"
vid=${vfile##*/virus-}
rc=0
amavisd_release "$vid" >"$T/amrel.out" 2>&1 || rc=$?
cat "$T/amrel.out"
[ "$rc" -eq 0 ] || fail "amavisd-release exit $rc"
[ "$(grep -c '^250 2\.0\.0 Ok, id=rel-' "$T/amrel.out")" -eq 2 ] ||
	fail "amavisd-release: want two 250 lines: $(cat "$T/amrel.out")"
grep -Eq "from MTA\(smtp:\[127\.0\.0\.1\]:$RPORT\): 250 .*queued as" "$T/amrel.out" ||
	fail "amavisd-release: no MTA answer: $(cat "$T/amrel.out")"
pf_wait_delivered "$T" 1 30
line=$(sink_by_subject ampdp-virus)
[ "$(printf '%s\n' "$line" | cut -f2,3)" = "$(printf 'vsender@example.org\tv1@example.com,v2@example.net')" ] ||
	fail "released virus envelope: $line"
f=$(printf '%s\n' "$line" | cut -f1)
[ "$(field "$f" Resent-From)" = '"Content-filter at mx.mavis.test" <postmaster@mx.mavis.test>' ] ||
	fail "Resent-From: $(field "$f" Resent-From)"
[ "$(field "$f" Resent-To)" = 'undisclosed-recipients:;' ] || fail "Resent-To: $(field "$f" Resent-To)"
field "$f" Resent-Message-ID | grep -Eq "^<$vid-rel-[A-Za-z0-9_-]{12}@mx\.mavis\.test>\$" ||
	fail "Resent-Message-ID: $(field "$f" Resent-Message-ID)"
[ -z "$(field "$f" X-Quarantine-ID)" ] || fail "X-Quarantine-ID leaked into the released copy"
sm --body "$f" | grep -q MAVIS-TEST-VIRUS-STRING || fail "body of the released virus changed"
grep -q "rel-.*: release $vid (.*) from unix (trusted), <vsender@example.org> -> <v1@example.com>: 250" \
	"$MAVISD_LOG" || fail "release not logged"

# 2. Panel clients over inet. A spam copy as amavisd writes it, with an id
# made from a known secret (mail_id = base64url(md5(secret))[:12]).
ids=$("$PF_PYTHON" -c '
import base64, hashlib
for sec in (b"\x01\x02\x03\x04\x05\x06\x07\x08\x09", b"\x09\x08\x07\x06\x05\x04\x03\x02\x01"):
    s = base64.urlsafe_b64encode(sec).decode()
    print(base64.urlsafe_b64encode(hashlib.md5(sec).digest()).decode()[:12], s)')
sid=$(echo "$ids" | sed -n 1p | cut -d' ' -f1)
secret=$(echo "$ids" | sed -n 1p | cut -d' ' -f2)
unknown=$(echo "$ids" | sed -n 2p | cut -d' ' -f1)
unknown_secret=$(echo "$ids" | sed -n 2p | cut -d' ' -f2)
c=$(printf '%s' "$sid" | cut -c1)
mkdir -p "$Q/$c"
printf '%s\n' \
	'X-Envelope-From: <ssender@example.org>' \
	'X-Envelope-To: <ok@example.com>,' \
	'	<s1@example.com>' \
	'X-Envelope-To-Blocked: <s1@example.com>' \
	"X-Quarantine-ID: <$sid>" \
	'From: ssender@example.org' \
	'Subject: ampdp-spam' \
	'' \
	'cheap stuff' >"$Q/$c/spam-$sid"

# iRedAdmin: release, mail_id, secret_id, requested_by; one read.
pdp --style iredadmin --check-close request=release "mail_id=$sid" "secret_id=$secret" \
	"requested_by=<admin@example.org>" quar_type=F >"$T/ired.out" || fail "iredadmin client failed"
cat "$T/ired.out"
grep -Eq '^setreply=250 2\.0\.0 Ok, id=rel-[A-Za-z0-9_-]{12}, from MTA' "$T/ired.out" ||
	fail "iRedAdmin release: $(cat "$T/ired.out")"
grep -qx OPEN "$T/ired.out" || fail "the connection did not stay open after a request"
pf_wait_delivered "$T" 2 30
line=$(sink_by_subject ampdp-spam)
[ "$(printf '%s\n' "$line" | cut -f2,3)" = "$(printf 'ssender@example.org\ts1@example.com')" ] ||
	fail "released spam envelope: $line"
f=$(printf '%s\n' "$line" | cut -f1)
[ "$(field "$f" Resent-From)" = '<admin@example.org>' ] || fail "Resent-From: $(field "$f" Resent-From)"
[ "$(field "$f" Resent-To)" = '<s1@example.com>' ] || fail "Resent-To: $(field "$f" Resent-To)"

# want_failure FILE TEXT: an amavisd failure answer naming TEXT.
want_failure() {
	grep -q "^setreply=450 4\.5\.0 Failure: .*$2" "$1" && grep -qx 'return_value=tempfail' "$1" &&
		grep -qx 'exit_code=75' "$1" || fail "want a failure with '$2': $(cat "$1")"
}
# A wrong secret, none at all, an unknown id (with its own valid secret).
pdp request=release "mail_id=$sid" "secret_id=$unknown_secret" >"$T/wrong.out"
want_failure "$T/wrong.out" "Secret_id does not match mail_id $sid"
pdp request=release "mail_id=$sid" >"$T/nosecret.out"
want_failure "$T/nosecret.out" "Secret_id is required, but missing"
pdp request=release "mail_id=$unknown" "secret_id=$unknown_secret" >"$T/unknown.out"
want_failure "$T/unknown.out" "no quarantined message $unknown"
# request=report (amavisd-report, an ARF report): refused with the reason,
# after the secret_id check, and nothing is sent.
pdp request=report "mail_id=$sid" "secret_id=$secret" "recipient=<abuse@example.org>" >"$T/report.out"
want_failure "$T/report.out" "request=report (an ARF abuse report) is not supported"
grep -q "release: report $sid from 127.0.0.1 refused: request=report" "$MAVISD_LOG" ||
	fail "refused report not logged: $(tail -n 3 "$MAVISD_LOG")"
# A client outside release_clients gets a failure before any request.
pdp --source 127.0.0.2 request=release "mail_id=$sid" "secret_id=$secret" >"$T/denied.out"
want_failure "$T/denied.out" "client not allowed"
grep -q 'release: client 127.0.0.2 on inet:.* not in release_clients, refused' "$MAVISD_LOG" ||
	fail "refused client not logged"

# MailZu: mail_file and recipient=, and more requests on the same
# connection: a requeue (the blocked recipient, through requeue_method: the
# filtered smtpd, which checks it again) and an SQL one.
write_conf "requeue_method = smtp:[127.0.0.1]:$PF_SMTP_PORT"
mavisd_e2e_reload "$T"
pdp request=release "mail_id=$sid" "secret_id=$secret" "mail_file=$c/spam-$sid" quar_type=F \
	"recipient=<other@example.org>" NEXT \
	request=requeue "mail_id=$sid" "secret_id=$secret" NEXT \
	request=release "mail_id=$sid" "secret_id=$secret" quar_type=Q >"$T/mailzu.out"
cat "$T/mailzu.out"
[ "$(grep -c '^--$' "$T/mailzu.out")" -eq 3 ] || fail "want three answers: $(cat "$T/mailzu.out")"
awk -v d="$T" 'BEGIN { n = 1 } /^--$/ { n++; next } { print > (d "/mz" n) }' "$T/mailzu.out"
[ "$(grep -c '^setreply=250 ' "$T/mz1")" -eq 1 ] || fail "MailZu release: $(cat "$T/mz1")"
grep -Eq "^setreply=250 2\.0\.0 Ok, id=rel-.*from MTA\(smtp:\[127\.0\.0\.1\]:$PF_SMTP_PORT\)" "$T/mz2" &&
	[ "$(grep -c '^setreply=' "$T/mz2")" -eq 1 ] || fail "requeue: $(cat "$T/mz2")"
want_failure "$T/mz3" "SQL quarantine is not enabled (sql_dsn is empty)"
pf_wait_delivered "$T" 4 30
pf_sink_list "$T" | awk -F '\t' '$4 == "ampdp-spam" { print $3 }' | sort >"$T/spam.rcpts"
printf '%s\n' s1@example.com other@example.org s1@example.com | sort | cmp -s - "$T/spam.rcpts" ||
	fail "spam copies went to: $(cat "$T/spam.rcpts")"
# The requeued copy passed the filter again (its verdict is logged).
grep -q ": Passed .*<ssender@example.org> -> <s1@example.com>" "$MAVISD_LOG" ||
	fail "the requeued copy was not checked again"

# Bounds: a line over release_max_line ends the connection with a failure;
# a client idle for release_timeout is closed.
long=$(head -c 2000 /dev/zero | tr '\0' x)
pdp --raw --check-close request=release "mail_id=$long" >"$T/long.out"
want_failure "$T/long.out" "line too long"
grep -qx CLOSED "$T/long.out" || fail "connection open after an over-long line: $(cat "$T/long.out")"
# Two idle clients fill release_max_clients: a third is refused at once.
"$PF_PYTHON" - "$PPORT" >"$T/busy.out" <<'EOF' || fail "release_max_clients: $(cat "$T/busy.out")"
import socket, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port), 5) for _ in range(2)]
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port), 5)
s.settimeout(5)
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
print(data.decode())
sys.exit(0 if b"too%20many%20release%20connections" in data else 1)
EOF
grep -q 'refused: release_max_clients (2) busy' "$MAVISD_LOG" || fail "busy refusal not logged"
pf_sleep 4
t0=$(date +%s)
"$PF_PYTHON" - "$PPORT" <<'EOF' || fail "idle client not closed"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"request=release\r\n")
s.settimeout(20)
sys.exit(0 if s.recv(100) == b"" else 1)
EOF
[ $(($(date +%s) - t0)) -le 10 ] || fail "idle client closed after $(($(date +%s) - t0))s, want ~3s"

# A reload applies to the next connection: 127.0.0.2 is now allowed and
# trusted, so it releases without a secret_id; 127.0.0.1 still needs one.
write_conf "release_clients = 127.0.0.1 127.0.0.2" "release_trusted_clients = 127.0.0.2"
mavisd_e2e_reload "$T"
pdp --source 127.0.0.2 request=release "mail_id=$sid" >"$T/trusted.out"
grep -q '^setreply=250 2\.0\.0 Ok, id=rel-' "$T/trusted.out" || fail "trusted client: $(cat "$T/trusted.out")"
pdp request=release "mail_id=$sid" >"$T/untrusted.out"
want_failure "$T/untrusted.out" "Secret_id is required, but missing"
pf_wait_delivered "$T" 5 30
# The MTA unreachable: each recipient gets a 4xx answer with the cause, the
# quarantined copy stays for the next try.
DEAD=$(pf_free_port)
write_conf "release_method = smtp:[127.0.0.1]:$DEAD"
mavisd_e2e_reload "$T"
pdp request=release "mail_id=$sid" "secret_id=$secret" >"$T/dead.out"
grep -Eq "^setreply=4[0-9][0-9] 4\.[0-9.]+ Failed, id=rel-.*from MTA\(smtp:\[127\.0\.0\.1\]:$DEAD\): 4.*connect" \
	"$T/dead.out" || fail "MTA down: $(cat "$T/dead.out")"
[ -f "$Q/$c/spam-$sid" ] || fail "the quarantined copy is gone after a failed release"

pf_sleep 1
[ "$(pf_sink_count "$T")" -eq 5 ] || fail "sink has $(pf_sink_count "$T") messages, want 5: $(pf_sink_list "$T")"
mavisd_check_log
mavisd_e2e_stop "$T"
echo "PASS test_ampdp"
