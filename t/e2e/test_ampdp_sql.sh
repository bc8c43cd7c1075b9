#!/bin/sh
# AM.PDP releases from the SQL quarantine (quar_type Q), with a real
# PostgreSQL (t/lib/pgsql.sh) holding amavisd's schema, and two mavisd
# hosts on that one database (issue 15 item 8):
#  1. host A (the Postfix's smtpd) quarantines a virus of several 16 KB
#     chunks with virus_quarantine_method = sql:; Debian's amavisd-release,
#     unchanged, releases it through A's unix socket: both recipients get
#     the message byte for byte through the release port;
#  2. host B (a second smtpd port) quarantines another; it is released
#     through host A, and A's message a second time through host B;
#  3. rows as amavisd writes them, with a known secret: a panel's release
#     with quar_type=Q and the secret_id works over inet, a wrong secret is
#     refused, a mail_id in two partitions needs its partition_tag.
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
PGSH=$MAVIS_SOURCE_DIR/t/lib/pgsql.sh

fail() {
	echo "FAIL: $*" >&2
	[ -n "${MAVISD_LOG:-}" ] && tail -n 20 "$MAVISD_LOG" >&2
	[ -f "$T/spawn/mavisd-b.log" ] && tail -n 20 "$T/spawn/mavisd-b.log" >&2
	exit 1
}

T=$(pf_mktemp e2e-ampdp-sql)
pf_cleanup_on_exit "$T"
# PostgreSQL goes down before the rest is cleaned up.
trap 'rc=$?; sh "$PGSH" stop "$T/pg" >/dev/null 2>&1; pf__on_exit $rc' EXIT
rc=0
DSN=$(sh "$PGSH" start "$T/pg") || rc=$?
[ "$rc" -eq 77 ] && exit 77
[ "$rc" -eq 0 ] || fail "PostgreSQL did not start"
psql() { sh "$PGSH" psql "$T/pg"; }
mkdir -p "$T/varlib/amavis"
SOCK=$T/varlib/amavis/amavisd.sock
PA=$(pf_free_port)
PB=$(pf_free_port)
RPORT=$(pf_free_port)
BPORT=$(pf_free_port)
SMTP_B=$(pf_free_port)
mavisd_e2e_conf "$T" \
	"av_scanners = clamav" \
	"clamav_database_dir = $MAVIS_SOURCE_DIR/t/data/clamav" \
	"clamav_reload_check_interval = 0" \
	"final_virus_destiny = reject" \
	"sql_dsn = $DSN" \
	"virus_quarantine_method = sql:" \
	"release_method = smtp:[127.0.0.1]:$RPORT" \
	"release_socket = unix:$SOCK, inet:$PA@127.0.0.1"
# Host B: the same database, its own name, listener and temp dir.
mkdir -p "$T/mavis-tmp-b"
sed -e "s|^myhostname = .*|myhostname = mx-b.mavis.test|" \
	-e "s|^tmp_dir = .*|tmp_dir = $T/mavis-tmp-b|" \
	-e "s|^release_socket = .*|release_socket = inet:$PB@127.0.0.1\nrelease_trusted_clients = 127.0.0.1|" \
	"$T/mavisd.conf" >"$T/b.conf"
mavisd_e2e_start "$T"
pf_spawn "$T" mavisd-b "$MAVISD" -f -c "$T/b.conf" -s "inet:$BPORT@127.0.0.1"
echo 30 >"$T/spawn/mavisd-b.grace"
pf_prepare "$T" "smtpd_milters = $MAVISD_MILTER" \
	"milter_default_action = tempfail" \
	"milter_protocol = 6"
sed "s/^127\.0\.0\.1:10026 /127.0.0.1:$RPORT /" "$MAVIS_SOURCE_DIR/contrib/postfix/master.cf.release" \
	>>"$T/etc/master.cf"
printf '127.0.0.1:%s inet n - n - - smtpd\n  -o syslog_name=postfix/host-b\n  -o smtpd_milters=inet:127.0.0.1:%s\n' \
	"$SMTP_B" "$BPORT" >>"$T/etc/master.cf"
pf_launch "$T"
wait_port() { # PORT
	_i=0
	while [ $_i -lt 150 ] && ! "$PF_PYTHON" -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$1" 2>/dev/null; do
		pf_sleep 0.1
		_i=$((_i + 1))
	done
}
for p in "$PA" "$PB" "$BPORT" "$SMTP_B"; do wait_port "$p"; done
BLOG=$T/spawn/mavisd-b.log
grep -q "release listener (AM.PDP) on inet:$PB@127.0.0.1" "$BLOG" || fail "host B has no listener"

amavisd_release() {
	unshare -m --propagation private sh -c 'mount --bind "$1" /var/lib && shift && exec "$@"' \
		sh "$T/varlib" "$AMREL" "$@"
}
pdp() { # PORT ARGS...
	_port=$1
	shift
	"$PF_PYTHON" "$PF_LIBDIR/ampdp_client.py" --inet "127.0.0.1:$_port" "$@"
}
sm() { "$PF_PYTHON" "$PF_LIBDIR/sinkmsg.py" "$@"; }
# virus_eml SUBJECT FILE: a virus of ~50 KB (four quarantine chunks).
virus_eml() {
	{
		printf '%s\r\n' 'From: Virus Sender <vsender@example.org>' 'To: v1@example.com' \
			"Subject: $1" "Message-ID: <$1@origin.example.org>" '' 'MAVIS-TEST-VIRUS-STRING'
		i=0
		while [ $i -lt 700 ]; do
			printf 'padding line %04d of the quarantined message, to make chunks\r\n' $i
			i=$((i + 1))
		done
	} >"$2"
}
# body_of_eml FILE: the body as the sink stores it (LF lines).
body_of_eml() { sed '1,/^\r$/d' "$1" | tr -d '\r'; }
# check_copy SUBJECT EML RCPTS: exactly one copy of SUBJECT went to RCPTS
# with the body unchanged.
check_copy() {
	_l=$(pf_sink_list "$T" | awk -F '\t' -v s="$1" -v r="$3" '$4 == s && $3 == r')
	[ -n "$_l" ] || fail "'$1' not delivered to $3: $(pf_sink_list "$T")"
	[ "$(printf '%s\n' "$_l" | wc -l)" -eq 1 ] || fail "'$1' to $3 arrived more than once"
	_f=$(printf '%s\n' "$_l" | cut -f1)
	sm --body "$_f" >"$T/got.body"
	body_of_eml "$2" | cmp -s - "$T/got.body" || fail "'$1': body changed in the release"
	[ -n "$(sm --header Resent-Message-ID "$_f")" ] || fail "'$1': no Resent-Message-ID"
}
# quarantined_id LOG SUBJECT: the mail_id the log line of SUBJECT names.
quarantined_id() {
	_id=$(grep "Message-ID: <$2@origin.example.org>" "$1" | sed -n 's/.*mail_id: \([A-Za-z0-9_-]*\),.*/\1/p' | tail -n 1)
	[ -n "$_id" ] || fail "no mail_id for $2 in $1"
	echo "$_id"
}

# 1. Host A quarantines into SQL; amavisd-release releases it through A.
virus_eml sql-virus-a "$T/a.eml"
pf_smtpsend "$T" --from vsender@example.org --to v1@example.com --to v2@example.net "$T/a.eml" \
	--expect 554 >"$T/a.smtp" 2>&1 || fail "virus not rejected by A: $(cat "$T/a.smtp")"
ida=$(quarantined_id "$MAVISD_LOG" sql-virus-a)
chunks=$(echo "SELECT count(*) FROM quarantine WHERE mail_id = '$ida';" | psql)
[ "$chunks" -ge 3 ] || fail "quarantine of $ida has $chunks chunks, want 3 or more"
amavisd_release "$ida" >"$T/amrel.out" 2>&1 || fail "amavisd-release failed: $(cat "$T/amrel.out")"
cat "$T/amrel.out"
[ "$(grep -c '^250 2\.0\.0 Ok, id=rel-' "$T/amrel.out")" -eq 2 ] ||
	fail "amavisd-release: want two 250 lines: $(cat "$T/amrel.out")"
pf_wait_delivered "$T" 1 30
check_copy sql-virus-a "$T/a.eml" v1@example.com,v2@example.net
grep -q "release $ida (sql:$ida\[0\]) from unix (trusted)" "$MAVISD_LOG" || fail "SQL release not logged"

# 2. Host B quarantines; released through host A. A's message again
# through host B (trusted there for this test: nobody logs its secret).
virus_eml sql-virus-b "$T/b.eml"
"$PF_PYTHON" "$PF_LIBDIR/smtpsend.py" --port "$SMTP_B" --from vsender@example.org --to v3@example.com \
	"$T/b.eml" --expect 554 >"$T/b.smtp" 2>&1 || fail "virus not rejected by B: $(cat "$T/b.smtp")"
idb=$(quarantined_id "$BLOG" sql-virus-b)
amavisd_release "$idb" >"$T/amrel-b.out" 2>&1 || fail "release of B's message via A: $(cat "$T/amrel-b.out")"
grep -q '^250 2\.0\.0 Ok, id=rel-' "$T/amrel-b.out" || fail "release of B's message via A: $(cat "$T/amrel-b.out")"
pdp "$PB" request=release "mail_id=$ida" quar_type=Q "recipient=<again@example.org>" >"$T/via-b.out"
grep -q '^setreply=250 2\.0\.0 Ok, id=rel-' "$T/via-b.out" || fail "release of A's message via B: $(cat "$T/via-b.out")"
pf_wait_delivered "$T" 3 30
check_copy sql-virus-b "$T/b.eml" v3@example.com
check_copy sql-virus-a "$T/a.eml" again@example.org
grep -q "release $ida (sql:$ida\[0\]) from 127.0.0.1 (trusted)" "$BLOG" || fail "host B did not log the release"

# 3. Rows as amavisd writes them (prefix + message, 16 KB chunks), with a
# mail_id from a known secret, in partition 0; a panel releases it.
"$PF_PYTHON" - "$T" <<'EOF' >"$T/rows.sql"
import base64, hashlib, sys
sec = bytes(range(20, 29))
secret = base64.urlsafe_b64encode(sec).decode()
mid = base64.urlsafe_b64encode(hashlib.md5(sec).digest()).decode()[:12]
open(sys.argv[1] + "/ids", "w").write("%s %s\n" % (mid, secret))
text = ("X-Envelope-From: <psender@example.org>\n"
        "X-Envelope-To: <p1@example.com>, <p2@example.com>\n"
        "X-Envelope-To-Blocked: <p1@example.com>\n"
        "X-Quarantine-ID: <%s>\n"
        "From: psender@example.org\nSubject: sql-panel\n\n" % mid)
text += "".join("panel body line %05d\n" % i for i in range(1500))
open(sys.argv[1] + "/panel.body", "w").write(text.split("\n\n", 1)[1])
data = text.encode()
for i in range(0, len(data), 16384):
    print("INSERT INTO quarantine (partition_tag, mail_id, chunk_ind, mail_text) VALUES "
          "(0, '%s', %d, decode('%s', 'base64'));"
          % (mid, i // 16384 + 1, base64.b64encode(data[i:i + 16384]).decode()))
EOF
psql <"$T/rows.sql" >/dev/null || fail "cannot insert the quarantine rows"
pid=$(cut -d' ' -f1 "$T/ids")
psecret=$(cut -d' ' -f2 "$T/ids")
pdp "$PA" --style iredadmin request=release "mail_id=$pid" "secret_id=$psecret" \
	"requested_by=<admin@example.org>" quar_type=Q >"$T/panel.out"
cat "$T/panel.out"
grep -q '^setreply=250 2\.0\.0 Ok, id=rel-' "$T/panel.out" || fail "panel release: $(cat "$T/panel.out")"
pf_wait_delivered "$T" 4 30
l=$(pf_sink_list "$T" | awk -F '\t' '$4 == "sql-panel"')
[ "$(printf '%s\n' "$l" | cut -f2,3)" = "$(printf 'psender@example.org\tp1@example.com')" ] ||
	fail "panel release envelope: $l"
sm --body "$(printf '%s\n' "$l" | cut -f1)" | cmp -s - "$T/panel.body" || fail "panel release: body changed"
[ "$(sm --header Resent-From "$(printf '%s\n' "$l" | cut -f1)")" = '<admin@example.org>' ] ||
	fail "panel release: Resent-From"
secret_wrong=AAAAAAAAAAAA
pdp "$PA" request=release "mail_id=$pid" "secret_id=$secret_wrong" quar_type=Q >"$T/wrong.out"
grep -q '^setreply=450 4\.5\.0 Failure: Secret_id does not match' "$T/wrong.out" ||
	fail "wrong secret: $(cat "$T/wrong.out")"
# The same mail_id logged in two partitions: ambiguous without a tag.
cat <<EOF | psql >/dev/null || fail "cannot insert msgs rows"
INSERT INTO msgs (partition_tag, mail_id, secret_id, am_id, time_num, time_iso, sid, size, host)
  VALUES (0, '$pid', '$psecret', 'a1', 1, now(), 0, 100, 'mx.mavis.test'),
         (1, '$pid', '$psecret', 'a2', 1, now(), 0, 100, 'mx-b.mavis.test');
EOF
pdp "$PA" request=release "mail_id=$pid" "secret_id=$psecret" quar_type=Q >"$T/multi.out"
grep -q '^setreply=450 4\.5\.0 Failure: Multiple (2) records with same mail_id exist' "$T/multi.out" ||
	fail "two partitions: $(cat "$T/multi.out")"
pdp "$PA" request=release "mail_id=$pid" "secret_id=$psecret" quar_type=Q partition_tag=0 \
	"recipient=<p3@example.com>" >"$T/ptag.out"
grep -q '^setreply=250 2\.0\.0 Ok, id=rel-' "$T/ptag.out" || fail "with partition_tag: $(cat "$T/ptag.out")"
pdp "$PA" request=release "mail_id=$pid" "secret_id=$psecret" quar_type=Q partition_tag=1 >"$T/ptag1.out"
grep -q '^setreply=450 4\.5\.0 Failure: .*' "$T/ptag1.out" || fail "empty partition 1: $(cat "$T/ptag1.out")"
pf_wait_delivered "$T" 5 30

pf_sleep 1
[ "$(pf_sink_count "$T")" -eq 5 ] || fail "sink has $(pf_sink_count "$T") messages, want 5: $(pf_sink_list "$T")"
mavisd_check_log
grep -E "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$BLOG" && fail "host B: sanitizer report"
mavisd_e2e_stop "$T"
echo "PASS test_ampdp_sql"
