#!/bin/sh
# SPF and DMARC, no network: a private dnsmasq on 127.0.0.1 serves SPF
# records (ip4, a, mx, include, redirect, errors), DMARC policies and a
# DKIM key, with mavis's resolver pointed at it. SPF pass, fail, softfail,
# neutral, none, permerror and temperror (DNS down) for the MAIL FROM and
# the HELO identity; DMARC pass by an aligned SPF pass and by an aligned
# DKIM signature, fail with p=reject under dmarc_reject_policy = honour
# (550 5.7.1) and tag (the field and a soft score in the spam level),
# p=none, a subdomain's sp= at its organisational domain, pct=, strict
# alignment, a record that does not parse; all in the one Authentication-Results field, whose forged
# twin with our authserv-id goes; originating mail is not checked; the
# native rules' SPF/DKIM/DMARC evals hit on our results.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVISCTL:=${MAVIS_BUILD_DIR:-$MAVIS_SOURCE_DIR/build}/ctl/mavisctl}"
PY=/usr/bin/python3
TOOL="$MAVIS_SOURCE_DIR/t/lib/dkimtool.py"
command -v dnsmasq >/dev/null || { echo "SKIP: no dnsmasq"; exit 77; }
$PY -c 'import dkim' 2>/dev/null || { echo "SKIP: no python3-dkim"; exit 77; }
[ -r /usr/share/publicsuffix/public_suffix_list.dafsa ] || { echo "SKIP: no publicsuffix"; exit 77; }
D=$(mktemp -d /tmp/mavis-auth.XXXXXX)
. "$MAVIS_SOURCE_DIR/t/lib/dkimdns.sh"
trap 'dkimdns_stop; [ -n "${KEEP:-}" ] || rm -rf "$D"' EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/k.pem" 2>/dev/null
cat >"$D/records" <<EOF2
+LOCAL example.com
+LOCAL example.net
+LOCAL example.org
pass.example.com v=spf1 ip4:192.0.2.1 -all
fail.example.com v=spf1 ip4:198.51.100.0/24 -all
soft.example.com v=spf1 ~all
neutral.example.com v=spf1 ?all
perm.example.com v=spf1 bogus:x.example.com -all
amech.example.com v=spf1 a mx:mxd.example.com -all
+A amech.example.com 198.51.100.7
+MX mxd.example.com mail.example.net
+A mail.example.net 192.0.2.1
inc.example.com v=spf1 include:pass.example.com -all
redir.example.com v=spf1 redirect=soft.example.com
two.example.com v=spf1 -all
two.example.com v=spf1 +all
helo.example.net v=spf1 ip4:192.0.2.1 -all
badhelo.example.net v=spf1 -all
_dmarc.pass.example.com v=DMARC1; p=reject
_dmarc.rej.example.org v=DMARC1; p=reject; pct=100
_dmarc.mon.example.org v=DMARC1; p=none
_dmarc.example.org v=DMARC1; p=none; sp=reject
_dmarc.quar.example.org v=DMARC1; p=quarantine
_dmarc.strict.example.net v=DMARC1; p=reject; aspf=s; adkim=s
_dmarc.signed.example.net v=DMARC1; p=reject
sel._domainkey.example.net v=DKIM1; k=rsa; p=$(openssl pkey -in "$D/k.pem" -pubout -outform DER | base64 -w0)
_dmarc.bad.example.org v=DMARC1; p=bogus
_dmarc.pct.example.org v=DMARC1; p=reject; pct=0
EOF2
dkimdns_start "$D/records"

mkdir "$D/rules"
cat >"$D/rules/auth.cf" <<'EOF2'
header SPF_PASS eval:check_for_spf_pass()
tflags SPF_PASS net nice
score SPF_PASS -0.001
header SPF_FAIL eval:check_for_spf_fail()
tflags SPF_FAIL net
score SPF_FAIL 0.9
header SPF_HELO_PASS eval:check_for_spf_helo_pass()
tflags SPF_HELO_PASS net
score SPF_HELO_PASS -0.001
header SPF_HELO_NONE eval:check_for_spf_helo_none()
tflags SPF_HELO_NONE net
score SPF_HELO_NONE 0.001
full DKIM_SIGNED eval:check_dkim_signed()
tflags DKIM_SIGNED net
score DKIM_SIGNED 0.1
full DKIM_VALID eval:check_dkim_valid()
tflags DKIM_VALID net nice
score DKIM_VALID -0.1
full DKIM_VALID_AU eval:check_dkim_valid_author_sig()
tflags DKIM_VALID_AU net nice
score DKIM_VALID_AU -0.1
full DKIM_VALID_EF eval:check_dkim_valid_envelopefrom()
tflags DKIM_VALID_EF net nice
score DKIM_VALID_EF -0.1
header DMARC_PASS eval:check_dmarc_pass()
tflags DMARC_PASS net nice
score DMARC_PASS -0.001
header DMARC_REJECT eval:check_dmarc_reject()
tflags DMARC_REJECT net
score DMARC_REJECT 0.001
header DMARC_NONE eval:check_dmarc_none()
tflags DMARC_NONE net
score DMARC_NONE 0.001
header DMARC_MISSING eval:check_dmarc_missing()
tflags DMARC_MISSING net
score DMARC_MISSING 0.001
EOF2

cat >"$D/mavis.conf" <<EOF2
myhostname = mx.test.example
banned_rules_file = none
tmp_dir = $D
local_domains_maps = .example.net
dns_servers = 127.0.0.1:$DKIMDNS_PORT
dns_timeout = 2s
enable_dkim_verification = yes
enable_spf = yes
enable_dmarc = yes
spam_scanners = native
spamassassin_rules_dirs = $D/rules
spam_tag_level_maps = -999
EOF2

msg() { # FROM FILE [extra header line]
	{
		printf 'From: Alice <%s>\r\nTo: bob@example.net\r\nSubject: hello\r\n' "$1"
		printf 'Date: Thu, 03 Dec 2026 14:00:00 +0000\r\nMessage-ID: <%s.1@test>\r\n' "$(echo "$1" | tr @ .)"
		[ $# -lt 3 ] || printf '%s\r\n' "$3"
		printf 'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello world.\r\n'
	} >"$2"
}
# scan CONF FILE CLIENT HELO SENDER -> $FILE.json
scan() {
	"$MAVISCTL" scan -c "$1" -v --sender "$5" --rcpt bob@example.net --client-ip "$3" --helo "$4" \
		--json "$2" >"$2.json" 2>"$2.log" || fail "scan $2: $(cat "$2.log")"
}
# the method results of our A-R edit: "spf=pass smtp.mailfrom=x dmarc=..."
ar() {
	$PY - "$1.json" <<'PY'
import json, re, sys
v = json.load(open(sys.argv[1]))
ar = [e['value'] for e in v['edits'] if e['op'] == 'insert_header' and e['name'] == 'Authentication-Results']
if not ar:
    print('none')
else:
    parts = [p.strip() for p in ar[0].split(';')[1:]]
    print(' '.join(re.sub(r'\s*\([^)]*\)', '', re.sub(r'\s+', ' ', p)) for p in parts))
PY
}
field() { # FILE: the whole A-R value
	$PY -c 'import json,sys; v=json.load(open(sys.argv[1])); print([e["value"] for e in v["edits"] if e["name"] == "Authentication-Results"][0])' "$1.json"
}
tests() { # FILE: the spam tests that hit
	$PY -c 'import json,sys; v=json.load(open(sys.argv[1])); print(" ".join(sorted(t["name"] for t in v.get("spam_tests", []))))' "$1.json"
}
reply() {
	$PY -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v["smtp_reply"])' "$1.json"
}
level() {
	$PY -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v["recipients"][0].get("spam_level"))' "$1.json"
}
expect() { # FILE WANT
	got=$(ar "$1")
	[ "$got" = "$2" ] || fail "$(basename "$1"): want '$2', got '$got' ($(cat "$1.log" | grep -E 'spf|dmarc' | head -3))"
}

# 1. SPF of the MAIL FROM identity, each result (the HELO passes)
i=0
for c in "pass.example.com pass" "fail.example.com fail" "soft.example.com softfail" \
	"neutral.example.com neutral" "perm.example.com permerror" "nosuch.example.com none" \
	"amech.example.com pass" "inc.example.com pass" "redir.example.com softfail" \
	"two.example.com permerror"; do
	set -- $c
	i=$((i + 1))
	msg "a@$1" "$D/s$i.eml"
	scan "$D/mavis.conf" "$D/s$i.eml" 192.0.2.1 helo.example.net "a@$1"
	expect "$D/s$i.eml" "spf=$2 smtp.mailfrom=$1 dmarc=$( [ "$1" = pass.example.com ] && echo pass || echo none) header.from=$1"
done
# the native rules see the two identities
[ "$(tests "$D/s1.eml")" = "DMARC_PASS SPF_HELO_PASS SPF_PASS" ] || fail "rules s1: $(tests "$D/s1.eml")"
[ "$(tests "$D/s2.eml")" = "DMARC_MISSING SPF_FAIL SPF_HELO_PASS" ] || fail "rules s2: $(tests "$D/s2.eml")"

# 2. the HELO identity decides for the null sender (postmaster@HELO)
msg a@pass.example.com "$D/h1.eml"
scan "$D/mavis.conf" "$D/h1.eml" 192.0.2.1 helo.example.net ""
expect "$D/h1.eml" "spf=pass smtp.helo=helo.example.net dmarc=fail header.from=pass.example.com"
scan "$D/mavis.conf" "$D/h1.eml" 192.0.2.1 badhelo.example.net ""
expect "$D/h1.eml" "spf=fail smtp.helo=badhelo.example.net dmarc=fail header.from=pass.example.com"
# a HELO without a record: SPF_HELO_NONE; a HELO that is no domain: none
scan "$D/mavis.conf" "$D/s1.eml" 192.0.2.1 nohelo.example.net a@pass.example.com
[ "$(tests "$D/s1.eml")" = "DMARC_PASS SPF_HELO_NONE SPF_PASS" ] || fail "rules helo none: $(tests "$D/s1.eml")"
scan "$D/mavis.conf" "$D/s1.eml" 192.0.2.1 "[192.0.2.1]" a@pass.example.com
grep -q 'spf: helo=none (-), mailfrom=pass' "$D/s1.eml.log" || fail "literal HELO: $(grep spf: "$D/s1.eml.log")"

# 3. DNS down: temperror for both identities and DMARC, never pass
sed "s/^dns_servers = .*/dns_servers = 127.0.0.1:9/" "$D/mavis.conf" >"$D/down.conf"
scan "$D/down.conf" "$D/s1.eml" 192.0.2.1 helo.example.net a@pass.example.com
expect "$D/s1.eml" "spf=temperror smtp.mailfrom=pass.example.com dmarc=temperror header.from=pass.example.com"
grep -q 'spf: helo=temperror' "$D/s1.eml.log" || fail "helo temperror: $(grep spf: "$D/s1.eml.log")"

# 4. DMARC by an aligned DKIM signature while SPF fails
msg a@signed.example.net "$D/d.eml"
$PY "$TOOL" sign "$D/d.eml" "$D/d.signed" example.net sel "$D/k.pem" rsa
scan "$D/mavis.conf" "$D/d.signed" 192.0.2.1 helo.example.net a@fail.example.com
expect "$D/d.signed" "dkim=pass header.d=example.net header.i=@example.net header.s=sel header.a=rsa-sha256 header.b=$(field "$D/d.signed" | sed -n 's/.*header.b=\("[^"]*"\).*/\1/p') spf=fail smtp.mailfrom=fail.example.com dmarc=pass header.from=signed.example.net"
[ "$(tests "$D/d.signed")" = "DKIM_SIGNED DKIM_VALID DMARC_PASS SPF_FAIL SPF_HELO_PASS" ] ||
	fail "rules dkim: $(tests "$D/d.signed")"
# the author's own domain and the envelope sender's: DKIM_VALID_AU, DKIM_VALID_EF
msg a@example.net "$D/au.eml"
$PY "$TOOL" sign "$D/au.eml" "$D/au.signed" example.net sel "$D/k.pem" rsa
scan "$D/mavis.conf" "$D/au.signed" 192.0.2.1 helo.example.net b@example.net
[ "$(tests "$D/au.signed")" = "DKIM_SIGNED DKIM_VALID DKIM_VALID_AU DKIM_VALID_EF DMARC_MISSING SPF_HELO_PASS" ] ||
	fail "rules au: $(tests "$D/au.signed")"
# strict alignment: d=example.net does not align with signed... strict.example.net
msg a@strict.example.net "$D/st.eml"
$PY "$TOOL" sign "$D/st.eml" "$D/st.signed" example.net sel "$D/k.pem" rsa
scan "$D/mavis.conf" "$D/st.signed" 192.0.2.1 helo.example.net a@helo.example.net
grep -q 'dmarc=fail (p=reject) header.from=strict.example.net' "$D/st.signed.json" ||
	fail "strict: $(field "$D/st.signed")"

# 5. p=reject failure: tag (default) = the field and a soft score
msg a@rej.example.org "$D/r.eml"
scan "$D/mavis.conf" "$D/r.eml" 192.0.2.1 helo.example.net a@fail.example.com
expect "$D/r.eml" "spf=fail smtp.mailfrom=fail.example.com dmarc=fail header.from=rej.example.org"
grep -q 'dmarc=fail (p=reject) header.from' "$D/r.eml.json" || fail "no policy comment: $(field "$D/r.eml")"
case "$(reply "$D/r.eml")" in 250*) ;; *) fail "tag rejected: $(reply "$D/r.eml")";; esac
[ "$(tests "$D/r.eml")" = "DMARC_REJECT SPF_FAIL SPF_HELO_PASS" ] || fail "rules rej: $(tests "$D/r.eml")"
# 0.9 + 0.001 - 0.001 from the rules, 1.797 from the policy
[ "$(level "$D/r.eml")" = 2.697 ] || fail "tag score: $(level "$D/r.eml")"
# honour: 550 5.7.1
cp "$D/mavis.conf" "$D/honour.conf"
echo 'dmarc_reject_policy = honour' >>"$D/honour.conf"
scan "$D/honour.conf" "$D/r.eml" 192.0.2.1 helo.example.net a@fail.example.com
reply "$D/r.eml" | grep -q '^550 5.7.1 rejected by DMARC policy for rej.example.org' ||
	fail "honour: $(reply "$D/r.eml")"
grep -q 'Blocked DMARC-REJECT' "$D/r.eml.log" || fail "honour log: $(cat "$D/r.eml.log")"
# ignore: the result only, no score
cp "$D/mavis.conf" "$D/ignore.conf"
echo 'dmarc_reject_policy = ignore' >>"$D/ignore.conf"
scan "$D/ignore.conf" "$D/r.eml" 192.0.2.1 helo.example.net a@fail.example.com
[ "$(level "$D/r.eml")" = 0.9 ] || fail "ignore score: $(level "$D/r.eml")"
# honour and p=quarantine: tagged and scored, not refused
msg a@quar.example.org "$D/q.eml"
scan "$D/honour.conf" "$D/q.eml" 192.0.2.1 helo.example.net a@fail.example.com
case "$(reply "$D/q.eml")" in 250*) ;; *) fail "quarantine refused: $(reply "$D/q.eml")";; esac
[ "$(level "$D/q.eml")" = 2.097 ] || fail "quarantine score: $(level "$D/q.eml")"

# 6. p=none; a subdomain under its organisational domain's sp=reject
msg a@mon.example.org "$D/n.eml"
scan "$D/honour.conf" "$D/n.eml" 192.0.2.1 helo.example.net a@fail.example.com
grep -q 'dmarc=fail (p=none) header.from=mon.example.org' "$D/n.eml.json" || fail "p=none: $(field "$D/n.eml")"
case "$(reply "$D/n.eml")" in 250*) ;; *) fail "p=none refused";; esac
msg a@news.example.org "$D/sub.eml"
scan "$D/mavis.conf" "$D/sub.eml" 192.0.2.1 helo.example.net a@fail.example.com
grep -q 'dmarc=fail (p=reject sp) header.from=news.example.org' "$D/sub.eml.json" || fail "sp=: $(field "$D/sub.eml")"
scan "$D/honour.conf" "$D/sub.eml" 192.0.2.1 helo.example.net a@fail.example.com
reply "$D/sub.eml" | grep -q '^550 5.7.1' || fail "sp=reject not refused: $(reply "$D/sub.eml")"
# the organisational domain itself has p=none
msg a@example.org "$D/org.eml"
scan "$D/honour.conf" "$D/org.eml" 192.0.2.1 helo.example.net a@fail.example.com
grep -q 'dmarc=fail (p=none) header.from=example.org' "$D/org.eml.json" || fail "org p=: $(field "$D/org.eml")"
# a record that does not parse: permerror, no action
msg a@bad.example.org "$D/bad.eml"
scan "$D/honour.conf" "$D/bad.eml" 192.0.2.1 helo.example.net a@fail.example.com
grep -q 'dmarc=permerror header.from=bad.example.org' "$D/bad.eml.json" || fail "bad record: $(field "$D/bad.eml")"

# pct=0: the policy one step milder (RFC 7489 6.6.4): not refused
msg a@pct.example.org "$D/pct.eml"
scan "$D/honour.conf" "$D/pct.eml" 192.0.2.1 helo.example.net a@fail.example.com
case "$(reply "$D/pct.eml")" in 250*) ;; *) fail "pct=0 refused: $(reply "$D/pct.eml")";; esac
grep -q 'dmarc=fail (p=quarantine pct) header.from=pct.example.org' "$D/pct.eml.json" ||
	fail "pct=0: $(field "$D/pct.eml")"

# 7. a forged A-R with our authserv-id goes, a foreign one stays
msg a@pass.example.com "$D/f.eml" 'Authentication-Results: mx.test.example; spf=pass smtp.mailfrom=evil.example; dmarc=pass'
printf 'Authentication-Results: other.example; spf=fail\r\n' | cat - "$D/f.eml" >"$D/f2.eml"
scan "$D/mavis.conf" "$D/f2.eml" 192.0.2.1 helo.example.net a@fail.example.com
$PY - "$D/f2.eml.json" <<'PY' || fail "forged A-R: $(cat "$D/f2.eml.json")"
import json, sys
e = json.load(open(sys.argv[1]))['edits']
d = [x for x in e if x['op'] == 'delete_header']
assert len(d) == 1 and d[0]['name'] == 'Authentication-Results' and d[0]['index'] == 2, d
ar = [x['value'] for x in e if x['op'] == 'insert_header' and x['name'] == 'Authentication-Results']
assert len(ar) == 1 and 'spf=fail smtp.mailfrom=fail.example.com' in ar[0], ar
PY

# 8. originating mail (our network, SASL) is not checked
scan "$D/mavis.conf" "$D/r.eml" 127.0.0.1 helo.example.net a@fail.example.com
[ "$(ar "$D/r.eml")" = none ] || fail "checked our own mail: $(ar "$D/r.eml")"
"$MAVISCTL" scan -c "$D/honour.conf" --sender a@fail.example.com --sasl-user alice --rcpt bob@example.net \
	--client-ip 192.0.2.1 --helo helo.example.net --json "$D/r.eml" >"$D/r.eml.json" 2>/dev/null ||
	fail "scan sasl"
[ "$(ar "$D/r.eml")" = none ] || fail "checked SASL mail: $(ar "$D/r.eml")"
echo "PASS test_auth"
