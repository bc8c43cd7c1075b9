#!/bin/sh
# PostgreSQL the amavisd way, through the real path: Postfix smtpd -> mavisd
# -> smtp-sink, with a private PostgreSQL (t/lib/pgsql.sh: initdb in the test
# dir, unix socket only, contrib/sql/amavisd-pg.sql) holding iRedMail-like
# rows, and Debian's spamd scoring (GTUBE = 1000, ALL_TRUSTED = -1: the message comes from 127.0.0.1):
#   1. alice@example.com has her own levels (kill 2000): GTUBE passes;
#   2. bob (only the @example.com row: the site's levels) gets 554 for GTUBE,
#      the copy goes to the SQL quarantine (table quarantine);
#   3. friend@example.org is whitelisted for @example.com: GTUBE passes;
#   4. spammer@example.org is blacklisted for @example.com: ham is SPAM, 554;
#   5. a banned .exe: 554, quarantined in SQL (quar_type Q);
#   6. every message logged (sql_log): msgs and msgrcpt checked field by
#      field against what amavisd-new 2.13 writes for the same message (taken
#      from its code, Amavis/Out/SQL/Log.pm);
#   7. PostgreSQL stopped: RCPT gets 451 with a log line that says why,
#      nothing is accepted; started again: the same message is delivered;
#   8. PostgreSQL killed and restarted under load: every message is either
#      delivered or tempfailed, none is lost.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"
SPAMD=${SPAMD:-/usr/sbin/spamd}
[ -x "$SPAMD" ] || { echo "SKIP: no spamd; contrib/install-deps installs it" >&2; exit 77; }
PGSQL="sh $MAVIS_SOURCE_DIR/t/lib/pgsql.sh"

T=$(pf_mktemp e2e-sql)
pf_cleanup_on_exit "$T"
# PostgreSQL is stopped by its pid before the rest is cleaned up.
trap '_rc=$?; $PGSQL stop "$T/pg" >/dev/null 2>&1; pf__on_exit $_rc' EXIT
chmod 0711 "$T"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

DSN=$($PGSQL start "$T/pg") || fail "cannot start PostgreSQL"
psql_q() { $PGSQL psql "$T/pg"; }
psql_q <<'EOF' || fail "cannot load the policy rows"
INSERT INTO policy (id, policy_name, spam_tag_level, spam_tag2_level, spam_kill_level) VALUES
  (1, '@.', 2.0, 6.31, 6.31),
  (2, 'alice', 2.0, 1500, 2000);
INSERT INTO users (id, priority, policy_id, email) VALUES
  (1, 0, 1, '@.'), (2, 10, 2, 'alice@example.com'), (3, 5, 1, '@example.com');
INSERT INTO mailaddr (id, priority, email) VALUES
  (1, 10, 'friend@example.org'), (2, 10, 'spammer@example.org');
INSERT INTO wblist (rid, sid, wb) VALUES (3, 1, 'W'), (3, 2, 'B');
EOF

. "$MAVIS_SOURCE_DIR/t/lib/spamd.sh"
spamd_start "$T"

mavisd_e2e_conf "$T" \
	"sql_dsn = $DSN" \
	"sql_timeout = 2s" \
	"sql_log = yes" \
	"local_domains_maps = pgsql:policy, .example.com" \
	"spam_tag_level_maps = pgsql:policy, 2.0" \
	"spam_tag2_level_maps = pgsql:policy, 6.31" \
	"spam_kill_level_maps = pgsql:policy, 6.31" \
	"whitelist_sender_maps = pgsql:wblist" \
	"blacklist_sender_maps = pgsql:wblist" \
	"spam_scanners = spamd:inet:127.0.0.1:$SA_PORT" \
	"spam_scanner_timeout = 20s" \
	"final_spam_destiny = reject" \
	"final_banned_destiny = reject" \
	"spam_quarantine_method = sql:" \
	"banned_quarantine_method = sql:"
MAVISCTL=${MAVISCTL:-$(dirname "$MAVISD")/../ctl/mavisctl}
"$MAVISCTL" sql check -c "$T/mavisd.conf" >"$T/check" || fail "mavisctl sql check: $(cat "$T/check")"
grep -qx "schema: amavisd-new 2.13: complete" "$T/check" || fail "sql check: $(cat "$T/check")"
mavisd_e2e_start "$T"
pf_start "$T" "smtpd_milters = $MAVISD_MILTER" "milter_default_action = tempfail"
echo "postfix on $PF_SMTP_PORT, mavisd on $MAVISD_PORT, spamd on $SA_PORT, PostgreSQL in $T/pg"

msg() { # NAME FROM TO SUBJECT BODY
	printf 'From: %s\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: <%s@e2e.mavis.test>\nMIME-Version: 1.0\nContent-Type: text/plain\n\n%s\n' \
		"$2" "$3" "$4" "$(date -R)" "$1" "$5" >"$T/$1.eml"
}
GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
msg m1 x@example.org alice@example.com "gtube for alice" "$GTUBE"
msg m2 x@example.org bob@example.com "gtube for bob" "$GTUBE"
msg m3 friend@example.org bob@example.com "gtube from a friend" "$GTUBE"
msg m4 spammer@example.org bob@example.com "=?UTF-8?Q?gr=C3=BC=C3=9Fe?= from a spammer" "just ham"
{
	printf 'From: x@example.org\nTo: bob@example.com\nSubject: invoice\nMessage-ID: <m5@e2e.mavis.test>\nMIME-Version: 1.0\n'
	printf 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nsee attached\n'
	printf -- '--b\nContent-Type: application/octet-stream; name="invoice.exe"\nContent-Disposition: attachment; filename="invoice.exe"\nContent-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA=\n--b--\n'
} >"$T/m5.eml"
cat >"$T/batch" <<EOF
m1 x@example.org alice@example.com $T/m1.eml
m2 x@example.org bob@example.com $T/m2.eml
m3 friend@example.org bob@example.com $T/m3.eml
m4 spammer@example.org bob@example.com $T/m4.eml
m5 x@example.org bob@example.com $T/m5.eml
EOF
mkdir -p "$T/out"
"$PF_PYTHON" "$PF_LIBDIR/smtpsend.py" --port "$PF_SMTP_PORT" --batch "$T/batch" --batch-out "$T/out" ||
	fail "batch send"
result() { grep '^RESULT' "$T/out/$1.smtp" | cut -d' ' -f2; }
for c in "m1 250" "m2 554" "m3 250" "m4 554" "m5 554"; do
	set -- $c
	[ "$(result "$1")" = "$2" ] || fail "$1: want $2, got $(cat "$T/out/$1.smtp")"
done
grep -qi "spam" "$T/out/m2.smtp" || fail "m2: not refused as spam: $(cat "$T/out/m2.smtp")"
grep -q "BANNED" "$T/out/m5.smtp" || fail "m5: not refused as banned: $(cat "$T/out/m5.smtp")"
pf_sink_new "$T" 2 30 >"$T/delivered" || fail "want 2 delivered (m1, m3)"
echo "verdicts: alice's levels, bob's site levels, whitelist, blacklist, banned: as the rows say"

# ---- the SQL log, field by field
q() { echo "$1" | psql_q; }
i=0
while [ "$(q "SELECT count(*) FROM msgs WHERE content IS NOT NULL")" != 5 ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "msgs not complete after 10 s: $(q "SELECT encode(mail_id,'escape'), content FROM msgs")"
	pf_sleep 0.1
done
# What amavisd-new 2.13 writes (Log.pm save_info_preliminary/_final):
# msgs.content = the message's main category, quar_type ' ' or Q with
# quar_loc = mail_id, dsn_sent N, spam_level = the recipients' minimum,
# from_addr/subject MIME-decoded, originating Y (127.0.0.1 is in
# mynetworks), host = myhostname, policy = the bank path (MYNETS), time_num = rx time; msgrcpt: rseqnum 1, is_local
# Y, ds P or R, rs ' ', bl/wl Y/N, bspam_level = the recipient's level (0
# when not scanned: a whitelisted or blacklisted sender is not),
# smtp_resp = the answer given for the recipient.
ROWS="SELECT regexp_replace(m.message_id, '@.*', ''), m.content,
       coalesce(CASE WHEN m.quar_type = ' ' THEN 'space' ELSE m.quar_type END, 'NULL'),
       CASE WHEN m.quar_type = 'Q' THEN m.quar_loc = encode(m.mail_id, 'escape') ELSE m.quar_loc = '' END,
       m.dsn_sent, round(m.spam_level::numeric), m.originating, m.host, m.policy, m.client_addr,
       m.size > 0, m.time_num BETWEEN extract(epoch FROM now())::int - 600 AND extract(epoch FROM now())::int,
       length(encode(m.secret_id, 'escape')), encode(s.email, 'escape'), s.domain,
       r.rseqnum, encode(d.email, 'escape'), r.is_local, r.content, r.ds, r.rs = ' ', r.bl, r.wl,
       round(r.bspam_level::numeric), left(r.smtp_resp, 3), m.subject
  FROM msgs m JOIN maddr s ON m.sid = s.id JOIN msgrcpt r ON r.mail_id = m.mail_id
  JOIN maddr d ON r.rid = d.id ORDER BY m.message_id"
q "$ROWS" >"$T/rows"
cat >"$T/rows.want" <<'EOF'
<m1|C|space|t|N|999|Y|mx.mavis.test|MYNETS|127.0.0.1|t|t|12|x@example.org|org.example|1|alice@example.com|Y|C|P|t|N|N|999|250|gtube for alice
<m2|S|Q|t|N|999|Y|mx.mavis.test|MYNETS|127.0.0.1|t|t|12|x@example.org|org.example|1|bob@example.com|Y|S|R|t|N|N|999|554|gtube for bob
<m3|C|space|t|N|0|Y|mx.mavis.test|MYNETS|127.0.0.1|t|t|12|friend@example.org|org.example|1|bob@example.com|Y|C|P|t|N|Y|0|250|gtube from a friend
<m4|S|Q|t|N|0|Y|mx.mavis.test|MYNETS|127.0.0.1|t|t|12|spammer@example.org|org.example|1|bob@example.com|Y|S|R|t|Y|N|0|554|grüße from a spammer
<m5|B|Q|t|N|0|Y|mx.mavis.test|MYNETS|127.0.0.1|t|t|12|x@example.org|org.example|1|bob@example.com|Y|B|R|t|N|N|0|554|invoice
EOF
diff -u "$T/rows.want" "$T/rows" || fail "SQL log rows differ from amavisd's (above)"
# The quarantined copies: in chunks, with the envelope prefix a file has.
[ "$(q "SELECT count(DISTINCT mail_id) FROM quarantine")" = 3 ] || fail "want 3 SQL quarantine copies"
q "SELECT convert_from(string_agg(mail_text, ''::bytea ORDER BY chunk_ind), 'UTF8') FROM quarantine q
   JOIN msgs m USING (mail_id) WHERE m.message_id LIKE '<m5@%' GROUP BY q.mail_id" >"$T/m5.quar"
grep -q '^X-Envelope-To-Blocked: <bob@example.com>' "$T/m5.quar" || fail "m5 copy: $(head -5 "$T/m5.quar")"
grep -q 'invoice.exe' "$T/m5.quar" || fail "m5 copy lacks the message"
echo "SQL log and SQL quarantine rows: as amavisd writes them"

# ---- PostgreSQL down: tempfail with a reason, nothing accepted; then back
$PGSQL stop "$T/pg" || fail "cannot stop PostgreSQL"
msg m6 x@example.org alice@example.com "while the database is down" "hello"
pf_smtpsend "$T" --from x@example.org --to alice@example.com "$T/m6.eml" --expect 451 >"$T/m6.smtp" ||
	fail "database down: want 451, got $(cat "$T/m6.smtp")"
grep -q "RCPT TO <alice@example.com>:.*policy lookup of <alice@example.com>" "$MAVISD_LOG" ||
	fail "no log line with the cause: $(tail -n 5 "$MAVISD_LOG")"
pf_sink_none "$T" || fail "something was delivered while the database was down"
# on_sql_failure = pass (mavis's choice, amavisd has none: it tempfails):
# the failed pgsql: table is "not found", the next table of each list
# decides (.example.com is local, the static levels), with a log line per
# failed query and the pass counted.
cp "$T/mavisd.conf" "$T/mavisd.conf.tempfail"
{ cat "$T/mavisd.conf.tempfail"; echo "on_sql_failure = pass"; } >"$T/mavisd.conf.new"
mv -f "$T/mavisd.conf.new" "$T/mavisd.conf"
mavisd_e2e_reload "$T" || fail "reload with on_sql_failure = pass: $(tail -n 3 "$MAVISD_LOG")"
msg m6p x@example.org alice@example.com "pass while the database is down" "hello"
pf_smtpsend "$T" --from x@example.org --to alice@example.com "$T/m6p.eml" --expect 250 >"$T/m6p.smtp" ||
	fail "on_sql_failure = pass, database down: want 250, got $(cat "$T/m6p.smtp")"
grep -q "RCPT <alice@example.com>: on_sql_failure = pass, looked up as not found.*policy lookup of <alice@example.com>" \
	"$MAVISD_LOG" || fail "pass: no log line with the cause: $(tail -n 5 "$MAVISD_LOG")"
pf_sink_new "$T" 1 30 >"$T/m6p.sink" || fail "on_sql_failure = pass: m6p not delivered"
passed=$("$MAVISCTL" stats -c "$T/mavisd.conf" 2>/dev/null | sed -n 's/^sql_lookups_passed  *\([0-9]*\)$/\1/p')
[ "${passed:-0}" -ge 1 ] || fail "pass: mavisctl stats has no sql_lookups_passed count: $("$MAVISCTL" stats -c "$T/mavisd.conf" 2>&1 | grep sql_)"
mv -f "$T/mavisd.conf.tempfail" "$T/mavisd.conf"
mavisd_e2e_reload "$T" || fail "reload back to tempfail"
echo "database down, on_sql_failure = pass: delivered on the static tables, logged (sql_lookups_passed $passed)"
$PGSQL restart "$T/pg" || fail "cannot restart PostgreSQL"
# The pool waits out its backoff (at most 10 s), then serves again.
i=0
until pf_smtpsend "$T" --from x@example.org --to alice@example.com "$T/m6.eml" --expect 250 >"$T/m6.smtp"; do
	i=$((i + 1))
	[ $i -lt 15 ] || fail "database back: still $(cat "$T/m6.smtp")"
	pf_sleep 1
done
pf_sink_new "$T" 1 30 >/dev/null || fail "m6 not delivered after recovery"
i=0
while [ "$(q "SELECT count(*) FROM msgs WHERE content IS NOT NULL AND message_id LIKE '<m6@%'")" != 1 ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "m6 not in the SQL log after recovery"
	pf_sleep 0.1
done
# As amavisd: the msgs row is written once the message is in (size known at
# insert), so the transactions refused at RCPT left none (content NULL).
[ "$(q "SELECT count(*) FROM msgs WHERE content IS NULL OR size <= 0")" = 0 ] ||
	fail "msgs rows of refused transactions: $(q "SELECT am_id, size, content FROM msgs WHERE content IS NULL")"
echo "database outage: 451 with the cause in the log, delivered once it was back"

# ---- a database restart under load: every message is delivered or gets a
# 4xx (the client keeps it); none is accepted and lost.
N=60
before=$(pf_sink_count "$T")
msg m7 x@example.org alice@example.com "under load" "hello"
pf_smtpsend "$T" --from x@example.org --to alice@example.com "$T/m7.eml" \
	--count $N --concurrency 4 --expect 2,4 >"$T/load.out" 2>&1 &
load=$!
pf_sleep 1
$PGSQL kill "$T/pg" || fail "cannot kill PostgreSQL"
pf_sleep 1
$PGSQL restart "$T/pg" || fail "cannot restart PostgreSQL under load"
rc=0
wait $load || rc=$?
echo "  load during the restart: $(grep '^SENT' "$T/load.out")"
[ "$rc" = 0 ] || fail "load: an answer neither 2xx nor 4xx: $(cat "$T/load.out")"
ok=$(sed -n 's/^SENT ok=\([0-9]*\) tempfail=\([0-9]*\) reject=0 error=0$/\1/p' "$T/load.out")
tf=$(sed -n 's/^SENT ok=[0-9]* tempfail=\([0-9]*\) reject=0 error=0$/\1/p' "$T/load.out")
[ -n "$ok" ] && [ $((ok + tf)) = $N ] || fail "load: $(grep '^SENT' "$T/load.out")"
[ "$tf" -gt 0 ] || fail "load: the outage caused no tempfail (was the database really down?)"
pf_wait_delivered "$T" $((before + ok)) 60 || fail "accepted $ok, not all delivered"
sleep 1
[ "$(pf_sink_count "$T")" = $((before + ok)) ] || fail "more delivered than accepted"
i=0
until pf_smtpsend "$T" --from x@example.org --to alice@example.com "$T/m7.eml" --expect 250 >"$T/m7.smtp"; do
	i=$((i + 1))
	[ $i -lt 15 ] || fail "after the restart under load: still $(cat "$T/m7.smtp")"
	pf_sleep 1
done
pf_wait_delivered "$T" $((before + ok + 1)) 60 || fail "m7 not delivered after the restart"
echo "database restart under load: $ok accepted and delivered, $tf tempfailed, none lost; then served again"

# ---- sql_dsn on reload: a second database where alice has the site's
# levels; after SIGUSR1 her GTUBE is refused and logged there.
q "CREATE DATABASE amavisd2" >/dev/null || fail "cannot create amavisd2"
DSN2="$DSN dbname=amavisd2"
psql2() { psql "$DSN2" -qAt -v ON_ERROR_STOP=1 -F '|' "$@"; }
psql2 -f "$MAVIS_SOURCE_DIR/contrib/sql/amavisd-pg.sql" >/dev/null || fail "cannot load the schema into amavisd2"
psql2 <<'EOF2' || fail "cannot load the amavisd2 rows"
INSERT INTO policy (id, policy_name, spam_tag_level, spam_tag2_level, spam_kill_level) VALUES
  (1, '@.', 2.0, 6.31, 6.31);
INSERT INTO users (id, priority, policy_id, email) VALUES (1, 0, 1, '@.'), (2, 10, 1, 'alice@example.com');
EOF2
sed "s|^sql_dsn = .*|sql_dsn = $DSN2|" "$T/mavisd.conf" >"$T/mavisd.conf.new"
mv -f "$T/mavisd.conf.new" "$T/mavisd.conf"
mavisd_e2e_reload "$T" || fail "reload with a new sql_dsn: $(tail -n 3 "$MAVISD_LOG")"
grep -q "reload: new database settings" "$MAVISD_LOG" || fail "the new sql_dsn was not taken: $(tail -n 3 "$MAVISD_LOG")"
pf_smtpsend "$T" --from x@example.org --to alice@example.com "$T/m1.eml" --expect 554 >"$T/m1b.smtp" ||
	fail "after the reload alice's row in amavisd2 should refuse GTUBE: $(cat "$T/m1b.smtp")"
i=0
while [ "$(echo "SELECT count(*) FROM msgs WHERE content = 'S'" | psql2)" != 1 ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "amavisd2 has no msgs row for the message after the reload"
	pf_sleep 0.1
done
echo "sql_dsn on reload: lookups and the log go to the new database"

mavisd_e2e_stop "$T"
mavisd_check_log
echo "PASS test_sql"
