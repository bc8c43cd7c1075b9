#!/bin/sh
# The spam stage through the real path: Postfix smtpd -> mavisd -> smtp-sink,
# with Debian's spamd (private site config: local tests only, no Bayes, no
# DNS) as the scanner. Cases:
#   1. GTUBE to a local recipient, final_spam_destiny = pass: delivered with
#      X-Spam-Flag: YES, X-Spam-Score, X-Spam-Level, X-Spam-Status: Yes and
#      the ***SPAM*** subject tag; an X-Spam-Flag from outside is removed;
#      mavisctl scan reports the same score and tests;
#   2. a ham message: delivered without X-Spam-Flag: YES;
#   3. final_spam_destiny = reject: GTUBE gets 554 5.7.0 ... spam;
#   4. spamd down, on_spam_scanner_failure = pass (default): delivered,
#      X-Mavis-Alert: spam check failed, no X-Spam fields;
#   5. on_spam_scanner_failure = tempfail: 451, nothing delivered.
# Then the same path with Debian's rspamd (private config, t/lib/spamd.sh)
# as the only scanner:
#   6. GTUBE: delivered with X-Spam-Flag: YES, X-Spam-Status: Yes and rspamd's
#      GTUBE symbol in its tests, the subject tag; mavisctl scan agrees;
#   7. the ham message: delivered, not flagged;
#   8. rspamd down, pass: delivered with X-Mavis-Alert, no X-Spam fields;
#   9. rspamd down, tempfail: 451.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"
: "${MAVISCTL:=$(dirname "$MAVISD")/../ctl/mavisctl}"
SPAMD=${SPAMD:-/usr/sbin/spamd}
[ -x "$SPAMD" ] || { echo "SKIP: no spamd; contrib/install-deps installs it" >&2; exit 77; }
RSPAMD=${RSPAMD:-/usr/bin/rspamd}
[ -x "$RSPAMD" ] || { echo "SKIP: no rspamd; contrib/install-deps installs it" >&2; exit 77; }

T=$(pf_mktemp e2e-spamstage)
pf_cleanup_on_exit "$T"
D=$MAVIS_SOURCE_DIR/t/data/e2e

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# ---- spamd on loopback, private config
# shellcheck source=t/lib/spamd.sh
. "$MAVIS_SOURCE_DIR/t/lib/spamd.sh"
spamd_start "$T"
rspamd_start "$T"

SCANNER="spamd:inet:127.0.0.1:$SA_PORT"
conf_base() {
	BASE="local_domains_maps = .example.com
spam_scanners = $SCANNER
spam_scanner_timeout = 20s"
}
conf_base
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
pf_start "$T" "smtpd_milters = $MAVISD_MILTER" "milter_default_action = tempfail"
echo "postfix on $PF_SMTP_PORT, mavisd on $MAVISD_PORT, spamd on $SA_PORT, rspamd on $RS_PORT, sink on $SINK_PORT"

gtube() { # MESSAGE-ID
	printf 'From: alice@example.org\nTo: bob@example.com\nSubject: buy now\nDate: %s\nMessage-ID: <%s@e2e.mavis.test>\nX-Spam-Flag: NO\nMIME-Version: 1.0\nContent-Type: text/plain\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n' \
		"$(date -R)" "$1"
}
send() { # EXPECT FILE
	pf_smtpsend "$T" --expect "$1" --from alice@example.org --to bob@example.com "$2" \
		>"$T/last.smtp" 2>&1 || fail "send $2: $(cat "$T/last.smtp")"
}
arrived() {
	pf_sink_arrived "$T" "$1" 30 || fail "expected $1 new messages in the sink"
}
msg() {
	pf_sink_msg "$T" "$1" || fail "no single message $1"
}
field() { # BASE NAME - unfolded value(s)
	"$PF_PYTHON" - "$1" "$2" <<'EOF'
import sys
sys.path.insert(0, __import__("os").environ.get("PF_LIBDIR", ""))
name = sys.argv[2].lower()
with open(sys.argv[1] + ".hdr", encoding="utf-8", errors="surrogateescape") as f:
    head = f.read()
fields, cur = [], None
for line in head.split("\n"):
    if line[:1] in (" ", "\t") and cur is not None:
        cur[1] += line
    elif ":" in line:
        cur = line.split(":", 1)
        fields.append(cur)
for n, v in fields:
    if n.lower() == name:
        print(v.strip())
EOF
}

# 1. GTUBE, destiny pass
gtube gtube1 >"$T/gtube1.eml"
send 250 "$T/gtube1.eml"
arrived 1
m=$(msg "<gtube1@e2e.mavis.test>")
[ "$(field "$m" X-Spam-Flag)" = "YES" ] || fail "gtube: X-Spam-Flag is '$(field "$m" X-Spam-Flag)'"
field "$m" X-Spam-Status | grep -q '^Yes, score=\(9[0-9][0-9]\|1[0-9][0-9][0-9]\)' ||
	fail "gtube: X-Spam-Status '$(field "$m" X-Spam-Status)'"
field "$m" X-Spam-Status | grep -q 'GTUBE=1000' || fail "gtube: no GTUBE test in X-Spam-Status"
field "$m" X-Spam-Level | grep -q '^\*\{64\}$' || fail "gtube: X-Spam-Level '$(field "$m" X-Spam-Level)'"
field "$m" Subject | grep -q '^\*\*\*SPAM\*\*\* buy now$' || fail "gtube: Subject '$(field "$m" Subject)'"
"$MAVISCTL" scan -c "$T/mavisd.conf" --rcpt bob@example.com --json "$T/gtube1.eml" >"$T/gtube1.json" ||
	fail "mavisctl scan gtube failed"
"$PF_PYTHON" - "$T/gtube1.json" <<'EOF' || fail "mavisctl scan: $(cat "$T/gtube1.json")"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["spam_score"] >= 1000, v["spam_score"]
assert any(t["name"] == "GTUBE" for t in v["spam_tests"]), v["spam_tests"]
assert v["spam_scanner"].startswith("spamd:"), v["spam_scanner"]
r = v["recipients"][0]
assert r["ccat"] == "SPAM" and r["spam_level"] >= 1000, r
EOF
echo "ok 1 GTUBE passed with amavisd's X-Spam fields and subject tag; mavisctl scan agrees"

# 2. ham
send 250 "$D/clean.eml"
arrived 1
mid=$(sed -n 's/^Message-ID: *//Ip' "$D/clean.eml" | head -n 1)
m=$(msg "$mid")
[ "$(field "$m" X-Spam-Flag)" != "YES" ] || fail "ham: X-Spam-Flag YES"
echo "ok 2 ham delivered, not flagged"

# 3. destiny reject
conf "final_spam_destiny = reject"
mavisd_e2e_reload "$T" || fail "reload (reject) failed"
gtube gtube3 >"$T/gtube3.eml"
send 554 "$T/gtube3.eml"
grep -q '^RESULT 554 5\.7\.0 Reject, id=[0-9A-F]* - spam' "$T/last.smtp" || fail "reject: $(cat "$T/last.smtp")"
echo "ok 3 final_spam_destiny = reject: 554 5.7.0"

# 4. spamd down, pass
pf_unspawn "$T" spamd
conf
mavisd_e2e_reload "$T" || fail "reload (pass) failed"
gtube gtube4 >"$T/gtube4.eml"
send 250 "$T/gtube4.eml"
arrived 1
m=$(msg "<gtube4@e2e.mavis.test>")
field "$m" X-Mavis-Alert | grep -qx 'spam check failed' || fail "down: no alert"
[ -z "$(field "$m" X-Spam-Status)" ] || fail "down: X-Spam-Status added"
grep -q 'spam check failed' "$MAVISD_LOG" || fail "down: not logged"
echo "ok 4 spamd down, on_spam_scanner_failure = pass: delivered with the alert"

# 5. spamd down, tempfail
conf "on_spam_scanner_failure = tempfail"
mavisd_e2e_reload "$T" || fail "reload (tempfail) failed"
gtube gtube5 >"$T/gtube5.eml"
send 451 "$T/gtube5.eml"
echo "ok 5 on_spam_scanner_failure = tempfail: 451"

# 6. rspamd: GTUBE
SCANNER="rspamd:http://127.0.0.1:$RS_PORT"
conf_base
conf
mavisd_e2e_reload "$T" || fail "reload (rspamd) failed"
gtube gtube6 >"$T/gtube6.eml"
send 250 "$T/gtube6.eml"
arrived 1
m=$(msg "<gtube6@e2e.mavis.test>")
[ "$(field "$m" X-Spam-Flag)" = "YES" ] || fail "rspamd gtube: X-Spam-Flag is '$(field "$m" X-Spam-Flag)'"
field "$m" X-Spam-Status | grep -q '^Yes, score=' || fail "rspamd gtube: X-Spam-Status '$(field "$m" X-Spam-Status)'"
field "$m" X-Spam-Status | grep -q 'tests=\[.*GTUBE=' || fail "rspamd gtube: no GTUBE symbol: '$(field "$m" X-Spam-Status)'"
[ "$(field "$m" X-Spam-Flag | wc -l)" = 1 ] || fail "rspamd gtube: the X-Spam-Flag from outside was kept"
field "$m" Subject | grep -q '^\*\*\*SPAM\*\*\* buy now$' || fail "rspamd gtube: Subject '$(field "$m" Subject)'"
"$MAVISCTL" scan -c "$T/mavisd.conf" --rcpt bob@example.com --json "$T/gtube6.eml" >"$T/gtube6.json" ||
	fail "mavisctl scan gtube (rspamd) failed"
"$PF_PYTHON" - "$T/gtube6.json" <<'EOF' || fail "mavisctl scan (rspamd): $(cat "$T/gtube6.json")"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["spam_scanner"].startswith("rspamd:"), v["spam_scanner"]
assert any(t["name"] == "GTUBE" for t in v["spam_tests"]), v["spam_tests"]
assert v["recipients"][0]["ccat"] == "SPAM", v["recipients"][0]
EOF
grep -q 'GTUBE' "$T/rs/rspamd.log" || fail "rspamd did not log the GTUBE scan"
echo "ok 6 rspamd: GTUBE delivered as spam with amavisd's X-Spam fields; mavisctl scan agrees"

# 7. rspamd: ham
send 250 "$D/clean.eml"
arrived 1
m=$(msg "$mid")
[ "$(field "$m" X-Spam-Flag)" != "YES" ] || fail "rspamd ham: X-Spam-Flag YES"
echo "ok 7 rspamd: ham delivered, not flagged"

# 8. rspamd down, pass
pf_unspawn "$T" rspamd
conf
mavisd_e2e_reload "$T" || fail "reload (rspamd down, pass) failed"
gtube gtube8 >"$T/gtube8.eml"
send 250 "$T/gtube8.eml"
arrived 1
m=$(msg "<gtube8@e2e.mavis.test>")
field "$m" X-Mavis-Alert | grep -qx 'spam check failed' || fail "rspamd down: no alert"
[ -z "$(field "$m" X-Spam-Status)" ] || fail "rspamd down: X-Spam-Status added"
[ "$(field "$m" X-Spam-Flag)" != "YES" ] || fail "rspamd down: flagged"
echo "ok 8 rspamd down, on_spam_scanner_failure = pass: delivered with the alert"

# 9. rspamd down, tempfail
conf "on_spam_scanner_failure = tempfail"
mavisd_e2e_reload "$T" || fail "reload (rspamd down, tempfail) failed"
gtube gtube9 >"$T/gtube9.eml"
send 451 "$T/gtube9.eml"
pf_sink_none "$T" 2 || fail "rspamd down, tempfail: something was delivered"
echo "ok 9 rspamd down, on_spam_scanner_failure = tempfail: 451, nothing delivered"
pf_wait_queue "$T" 0 20
mavisd_e2e_stop "$T"
echo "all spam stage cases passed"
