#!/bin/sh
# The native SpamAssassin-rule scanner through the real path: Postfix smtpd
# -> mavisd (spam_scanners = native, Debian's rule files) -> smtp-sink.
#   1. GTUBE, destiny pass: delivered with X-Spam-Flag: YES and
#      X-Spam-Status: Yes, score=999+ ... GTUBE=1000, the subject tagged;
#   2. a ham: delivered with X-Spam-Status: No (tag level below any score);
#   3. final_spam_destiny = reject: GTUBE gets 554 5.7.0 ... spam;
#   4. reload with an extra rule directory: the new rule set scores the
#      next message (a site rule with score 7 makes a marker word spam);
#   5. reload naming an unreadable rule directory fails, the old rule set
#      stays and keeps scoring.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"
[ -f /usr/share/spamassassin/50_scores.cf ] ||
	{ echo "SKIP: no SpamAssassin rules; contrib/install-deps installs them" >&2; exit 77; }

T=$(pf_mktemp e2e-spamnative)
pf_cleanup_on_exit "$T"
D=$MAVIS_SOURCE_DIR/t/data/e2e

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

BASE="local_domains_maps = .example.com
spam_scanners = native
spam_tag_level_maps = -999"
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
echo "postfix on $PF_SMTP_PORT, mavisd on $MAVISD_PORT, sink on $SINK_PORT"

gtube() { # MESSAGE-ID
	printf 'From: alice@example.org\nTo: bob@example.com\nSubject: buy now\nDate: %s\nMessage-ID: <%s@e2e.mavis.test>\nMIME-Version: 1.0\nContent-Type: text/plain\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n' \
		"$(date -R)" "$1"
}
marker() { # MESSAGE-ID
	printf 'From: alice@example.org\nTo: bob@example.com\nSubject: hello\nDate: %s\nMessage-ID: <%s@e2e.mavis.test>\n\nThe mavis-e2e-marker word is here.\n' \
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
	"$PF_PYTHON" - "$1" "$2" <<'PY'
import sys
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
PY
}

# 1. GTUBE, destiny pass
gtube gtube1 >"$T/gtube1.eml"
send 250 "$T/gtube1.eml"
arrived 1
m=$(msg "<gtube1@e2e.mavis.test>")
[ "$(field "$m" X-Spam-Flag)" = "YES" ] || fail "gtube: X-Spam-Flag is '$(field "$m" X-Spam-Flag)'"
st=$(field "$m" X-Spam-Status)
echo "$st" | grep -q '^Yes, score=\(9[0-9][0-9]\|1[0-9][0-9][0-9]\)' || fail "gtube: X-Spam-Status '$st'"
echo "$st" | grep -q 'GTUBE=1000' || fail "gtube: no GTUBE test in X-Spam-Status '$st'"
field "$m" Subject | grep -q '^\*\*\*SPAM\*\*\* buy now$' || fail "gtube: Subject '$(field "$m" Subject)'"
echo "ok 1 GTUBE tagged by the native rules: $st"

# 2. ham
send 250 "$D/clean.eml"
arrived 1
mid=$(sed -n 's/^Message-ID: *//Ip' "$D/clean.eml" | head -n 1)
m=$(msg "$mid")
st=$(field "$m" X-Spam-Status)
echo "$st" | grep -q '^No, score=' || fail "ham: X-Spam-Status '$st'"
[ "$(field "$m" X-Spam-Flag)" != "YES" ] || fail "ham: X-Spam-Flag YES"
echo "ok 2 ham passed: X-Spam-Status: $st"

# 3. destiny reject
conf "final_spam_destiny = reject"
mavisd_e2e_reload "$T" || fail "reload (reject) failed"
gtube gtube3 >"$T/gtube3.eml"
send 554 "$T/gtube3.eml"
grep -q '^RESULT 554 5\.7\.0 Reject, id=[0-9A-F]* - spam' "$T/last.smtp" || fail "reject: $(cat "$T/last.smtp")"
echo "ok 3 final_spam_destiny = reject: 554 5.7.0"

# 4. reload with a site rule: the next message sees the new rule set
mkdir -p "$T/site-rules"
printf 'body MAVIS_E2E_MARKER /mavis-e2e-marker/\nscore MAVIS_E2E_MARKER 7\n' >"$T/site-rules/local.cf"
marker marker0 >"$T/marker0.eml"
send 250 "$T/marker0.eml"
arrived 1
m=$(msg "<marker0@e2e.mavis.test>")
field "$m" X-Spam-Status | grep -q MAVIS_E2E_MARKER && fail "marker hit before the reload"
conf "spamassassin_rules_dirs = /usr/share/spamassassin, $T/site-rules"
mavisd_e2e_reload "$T" || fail "reload (site rules) failed"
marker marker1 >"$T/marker1.eml"
send 250 "$T/marker1.eml"
arrived 1
m=$(msg "<marker1@e2e.mavis.test>")
st=$(field "$m" X-Spam-Status)
echo "$st" | grep -q '^Yes,.*MAVIS_E2E_MARKER=7' || fail "after reload: X-Spam-Status '$st'"
echo "ok 4 reload swapped the rule set: $st"

# 5. a rule directory that cannot be read: the reload fails, the old set stays
conf "spamassassin_rules_dirs = /usr/share/spamassassin, $T/site-rules, $T/no-such-dir"
if mavisd_e2e_reload "$T"; then fail "reload with a missing rule directory succeeded"; fi
grep 'reload failed' "$MAVISD_LOG" | tail -n 1 | grep -q "no-such-dir" ||
	fail "reload failure does not name the directory: $(grep 'reload failed' "$MAVISD_LOG" | tail -n 1)"
marker marker2 >"$T/marker2.eml"
send 250 "$T/marker2.eml"
arrived 1
m=$(msg "<marker2@e2e.mavis.test>")
field "$m" X-Spam-Status | grep -q 'MAVIS_E2E_MARKER=7' || fail "old rule set not kept"
echo "ok 5 failed reload kept the old rule set"
pf_wait_queue "$T" 0 20
mavisd_e2e_stop "$T"
echo "all native spam scanner cases passed"
