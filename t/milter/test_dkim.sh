#!/bin/sh
# DKIM against other implementations, no network: a private dnsmasq on
# 127.0.0.1 serves the keys that `mavisctl dkim genkey` made (RSA-2048 and
# Ed25519); mavis signs originating mail and Python's dkim module
# (python3-dkim) verifies it through that server; mail signed by Python
# and by opendkim-testmsg verifies in mavis; tampered bodies and headers
# fail; a dead DNS server is a temperror, never a pass; our own A-R edit
# is covered by the signature when h= names it (the signature is made
# after the edits); forged A-R fields with our authserv-id are deleted;
# dkim_max_signatures; ed25519 with c=simple/* is refused at load; the
# keys tooling (showkeys, testkey).
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVISCTL:=${MAVIS_BUILD_DIR:-$MAVIS_SOURCE_DIR/build}/ctl/mavisctl}"
PY=/usr/bin/python3
TOOL="$MAVIS_SOURCE_DIR/t/lib/dkimtool.py"
for need in dnsmasq opendkim-testmsg; do
	command -v "$need" >/dev/null || { echo "SKIP: no $need"; exit 77; }
done
$PY -c 'import dkim' 2>/dev/null || { echo "SKIP: no python3-dkim"; exit 77; }
# libopendkim leaks the Ed25519 key of each signing handle (t/lsan.supp):
# full stacks so that the suppression finds its frame inside libcrypto.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
D=$(mktemp -d /tmp/mavis-dkim.XXXXXX)
. "$MAVIS_SOURCE_DIR/t/lib/dkimdns.sh"
trap 'dkimdns_stop; rm -rf "$D"' EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# keys by the tool under test; the records it prints go to the DNS server
"$MAVISCTL" dkim genkey -d example.com -s rsa1 -o "$D/rsa1.pem" >"$D/g1" || fail "genkey rsa"
"$MAVISCTL" dkim genkey -d example.org -s ed1 -t ed25519 -o "$D/ed1.pem" >"$D/g2" || fail "genkey ed25519"
[ "$(stat -c %a "$D/rsa1.pem")" = 640 ] || fail "key file mode $(stat -c %a "$D/rsa1.pem")"
! "$MAVISCTL" dkim genkey -d example.com -s rsa1 -o "$D/rsa1.pem" >/dev/null 2>&1 ||
	fail "genkey overwrote a key"
grep -q 'k=ed25519; p=' "$D/g2" || fail "no ed25519 record: $(cat "$D/g2")"
# a third-party signer (Python) with a key of its own
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/py.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$D/pyed.pem" 2>/dev/null
{
	$PY - "$D/g1" "$D/g2" <<'PY'
import re, sys
for f in sys.argv[1:]:
    t = open(f).read()
    name = re.search(r'^(\S+)\.\t', t, re.M).group(1)
    print(name, ''.join(re.findall(r'"([^"]*)"', t)))
PY
	printf 'py._domainkey.example.net v=DKIM1; k=rsa; p=%s\n' \
		"$(openssl pkey -in "$D/py.pem" -pubout -outform DER | base64 -w0)"
	printf 'pyed._domainkey.example.net v=DKIM1; k=ed25519; p=%s\n' \
		"$(openssl pkey -in "$D/pyed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)"
} >"$D/records"
dkimdns_start "$D/records"

cat >"$D/mavis.conf" <<EOF2
myhostname = mx.test.example
banned_rules_file = none
tmp_dir = $D
local_domains_maps = .example.net
dns_servers = 127.0.0.1:$DKIMDNS_PORT
dns_timeout = 2s
enable_dkim_verification = yes
enable_dkim_signing = yes
dkim_key = example.com rsa1 $D/rsa1.pem
dkim_key = .example.org ed1 $D/ed1.pem
EOF2

msg() { # FROM FILE [extra header line]
	{
		printf 'From: Alice <%s>\r\nTo: bob@example.net\r\nSubject: hello\r\n' "$1"
		printf 'Date: Thu, 03 Dec 2026 14:00:00 +0000\r\nMessage-ID: <%s.1@test>\r\n' "$(echo "$1" | tr @ .)"
		[ $# -lt 3 ] || printf '%s\r\n' "$3"
		printf 'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello world.\r\n\r\n\r\n'
	} >"$2"
}
# scan CONF FILE CLIENT SENDER -> $FILE.json (mavisctl scan --json)
scan() {
	"$MAVISCTL" scan -c "$1" --sender "$4" --rcpt bob@example.net --client-ip "$3" --json "$2" \
		>"$2.json" 2>"$2.log" || fail "scan $2: $(cat "$2.log")"
}
# the dkim= results of our A-R edit, one word per signature
ar_results() {
	$PY - "$1.json" <<'PY'
import json, re, sys
v = json.load(open(sys.argv[1]))
ar = [e['value'] for e in v['edits'] if e['op'] == 'insert_header' and e['name'] == 'Authentication-Results']
print(' '.join(re.findall(r'dkim=(\w+)', ar[0])) if ar else 'none')
PY
}
sign_mavis() { # FROM NAME -> $D/NAME.signed
	msg "$1" "$D/$2.eml"
	scan "$D/mavis.conf" "$D/$2.eml" 127.0.0.1 "$1"
	$PY "$TOOL" apply "$D/$2.eml" "$D/$2.eml.json" "$D/$2.signed"
	grep -q '^DKIM-Signature:' "$D/$2.signed" || fail "$2: not signed: $(cat "$D/$2.eml.log")"
}

# 1. mavis signs (originating: our network), Python verifies
sign_mavis alice@example.com rsa
grep -q 'a=rsa-sha256' "$D/rsa.signed" || fail "rsa: algorithm"
$PY "$TOOL" verify "$D/rsa.signed" "$DKIMDNS_PORT" >"$D/v" || fail "rsa: python says $(cat "$D/v")"
sign_mavis carol@sub.example.org ed
grep -q 'a=ed25519-sha256' "$D/ed.signed" || fail "ed25519: algorithm"
grep -q 'd=example.org' "$D/ed.signed" || fail "ed25519: d= is not the parent domain"
$PY "$TOOL" verify "$D/ed.signed" "$DKIMDNS_PORT" >"$D/v" || fail "ed25519: python says $(cat "$D/v")"
# a domain without a key, and mail from outside, are not signed
msg dave@example.net "$D/nokey.eml"
scan "$D/mavis.conf" "$D/nokey.eml" 127.0.0.1 dave@example.net
! grep -q DKIM-Signature "$D/nokey.eml.json" || fail "signed without a key"
msg alice@example.com "$D/in.eml"
scan "$D/mavis.conf" "$D/in.eml" 192.0.2.1 alice@example.com
! grep -q DKIM-Signature "$D/in.eml.json" || fail "signed inbound mail"

# 2. mavis verifies its own and the others' signatures (inbound)
for f in rsa ed; do
	scan "$D/mavis.conf" "$D/$f.signed" 192.0.2.1 x@example.com
	[ "$(ar_results "$D/$f.signed")" = pass ] || fail "$f: mavis says $(ar_results "$D/$f.signed")"
done
msg eve@example.net "$D/p.eml"
$PY "$TOOL" sign "$D/p.eml" "$D/py.signed" example.net py "$D/py.pem" rsa
$PY "$TOOL" sign "$D/p.eml" "$D/pyed.signed" example.net pyed "$D/pyed.pem" ed25519
opendkim-testmsg -d example.net -s py -k "$D/py.pem" <"$D/p.eml" >"$D/od.signed" || fail "opendkim-testmsg"
for f in py pyed od; do
	scan "$D/mavis.conf" "$D/$f.signed" 192.0.2.1 eve@example.net
	[ "$(ar_results "$D/$f.signed")" = pass ] || fail "$f: mavis says $(ar_results "$D/$f.signed")"
done
grep -q 'header.a=ed25519-sha256' "$D/pyed.signed.json" || fail "no header.a in A-R"
grep -q 'header.d=example.net header.i=@example.net header.s=pyed' "$D/pyed.signed.json" ||
	fail "A-R properties: $(cat "$D/pyed.signed.json")"

# 3. tampered body and header fail, in mavis and in Python
sed 's/Hello world/Hello World/' "$D/py.signed" >"$D/tb.signed"
sed 's/^Subject: hello/Subject: hullo/' "$D/rsa.signed" >"$D/th.signed"
for f in tb th; do
	scan "$D/mavis.conf" "$D/$f.signed" 192.0.2.1 eve@example.net
	[ "$(ar_results "$D/$f.signed")" = fail ] || fail "$f: mavis says $(ar_results "$D/$f.signed")"
	! $PY "$TOOL" verify "$D/$f.signed" "$DKIMDNS_PORT" >/dev/null 2>&1 || fail "$f: python passes it"
done
grep -q 'body hash mismatch\|signature verification failed' "$D/tb.signed.json" || fail "no reason"

# 4. DNS down: temperror, never pass
sed "s/^dns_servers = .*/dns_servers = 127.0.0.1:9/" "$D/mavis.conf" >"$D/down.conf"
"$MAVISCTL" scan -c "$D/down.conf" --rcpt bob@example.net --client-ip 192.0.2.1 --json "$D/py.signed" \
	>"$D/py.signed.json" 2>/dev/null || fail "scan with DNS down"
[ "$(ar_results "$D/py.signed")" = temperror ] || fail "DNS down: $(ar_results "$D/py.signed")"

# 5. the signature is made after our edits: with h= naming
# Authentication-Results it covers the A-R field mavis adds to mail that
# arrives signed (originating mail to a local recipient)
printf 'dkim_signature_options = c=relaxed/relaxed; h=From:To:Subject:Date:Authentication-Results\n' >>"$D/mavis.conf"
scan "$D/mavis.conf" "$D/py.signed" 127.0.0.1 alice@example.com
$PY - "$D/py.signed.json" <<'PY' || fail "edit order: $(cat "$D/py.signed.json")"
import json, sys
e = json.load(open(sys.argv[1]))['edits']
names = [x['name'] for x in e]
assert names[-1] == 'DKIM-Signature', names
assert 'Authentication-Results' in names[:-1], names
assert 'Authentication-Results' in e[-1]['value'], e[-1]['value']
PY
$PY "$TOOL" apply "$D/py.signed" "$D/py.signed.json" "$D/both.signed"
$PY "$TOOL" verify "$D/both.signed" "$DKIMDNS_PORT" >"$D/v" || fail "edited and signed: $(cat "$D/v")"
[ "$(grep -c '^signature' "$D/v")" = 2 ] || fail "want two signatures: $(cat "$D/v")"

# 6. a forged A-R with our authserv-id goes, a foreign one stays
msg eve@example.net "$D/f.eml" 'Authentication-Results: mx.test.example; dkim=pass header.d=example.net'
$PY "$TOOL" sign "$D/f.eml" "$D/f.signed" example.net py "$D/py.pem" rsa
printf 'Authentication-Results: other.example; dkim=fail\r\n' | cat - "$D/f.signed" >"$D/f2.signed"
scan "$D/mavis.conf" "$D/f2.signed" 192.0.2.1 eve@example.net
$PY - "$D/f2.signed.json" <<'PY' || fail "forged A-R: $(cat "$D/f2.signed.json")"
import json, sys
e = json.load(open(sys.argv[1]))['edits']
d = [x for x in e if x['op'] == 'delete_header']
assert len(d) == 1 and d[0]['name'] == 'Authentication-Results' and d[0]['index'] == 2, d
PY

# 7. dkim_max_signatures: the second signature is not looked at
printf 'dkim_max_signatures = 1\n' >>"$D/mavis.conf"
"$MAVISCTL" scan -c "$D/mavis.conf" -v --rcpt bob@example.net --client-ip 192.0.2.1 --json \
	"$D/both.signed" >"$D/both.signed.json" 2>"$D/both.signed.log" || fail "scan max 1"
[ "$(ar_results "$D/both.signed")" = pass ] || fail "max 1: $(ar_results "$D/both.signed")"
grep -q 'over dkim_max_signatures' "$D/both.signed.log" || fail "no log of ignored signatures"

# 8. ed25519 with simple header canonicalisation: refused at load
printf 'dkim_signature_options = c=simple/simple\n' >>"$D/mavis.conf"
! "$MAVISCTL" check -c "$D/mavis.conf" >"$D/out" 2>&1 || fail "ed25519 c=simple accepted by check"
grep -q 'ed25519 needs relaxed header canonicalisation' "$D/out" || fail "$(cat "$D/out")"
! "$MAVISCTL" scan -c "$D/mavis.conf" "$D/p.eml" >"$D/out" 2>&1 || fail "ed25519 c=simple accepted"
grep -q 'ed25519 needs relaxed header canonicalisation' "$D/out" || fail "$(cat "$D/out")"

# 9. keys tooling against the DNS server
sed '/^dkim_signature_options/d; /^dkim_max/d' "$D/mavis.conf" >"$D/k.conf"
"$MAVISCTL" dkim showkeys -c "$D/k.conf" >"$D/out" || fail "showkeys"
grep -q '^rsa1._domainkey.example.com.' "$D/out" && grep -q '^ed1._domainkey.example.org.' "$D/out" ||
	fail "showkeys: $(cat "$D/out")"
"$MAVISCTL" dkim testkey -c "$D/k.conf" >"$D/out" || fail "testkey: $(cat "$D/out")"
[ "$(grep -c ': pass$' "$D/out")" = 2 ] || fail "testkey: $(cat "$D/out")"
# a key the DNS does not publish
"$MAVISCTL" dkim genkey -d example.com -s rsa2 -o "$D/rsa2.pem" >/dev/null
printf 'dkim_key = example.com rsa1 %s\n' "$D/rsa2.pem" >>"$D/k.conf"
! "$MAVISCTL" dkim testkey -c "$D/k.conf" >"$D/out" || fail "testkey passed a wrong key"
grep -q 'p= is another public key' "$D/out" || fail "testkey: $(cat "$D/out")"

# 10. author_to_policy_bank_maps: a valid signature by the author's domain
# loads the bank before the other checks (the log line's bank path shows
# it); a failed one does not
sed '/^dkim_signature_options/d; /^dkim_max/d' "$D/mavis.conf" >"$D/b.conf"
printf 'author_to_policy_bank_maps = inline:{example.net=WHITELIST}\n[bank WHITELIST]\nspam_tag_level_maps = 99\n' >>"$D/b.conf"
for f in py tb; do
	"$MAVISCTL" scan -c "$D/b.conf" -v --rcpt bob@example.net --client-ip 192.0.2.1 "$D/$f.signed" \
		>"$D/b.out" 2>&1 || fail "scan $f: $(cat "$D/b.out")"
	if [ $f = py ]; then
		grep -q 'author signature by d=example.net for <eve@example.net>: bank WHITELIST' "$D/b.out" &&
			grep -q 'Passed CLEAN .*WHITELIST' "$D/b.out" || fail "no author bank: $(cat "$D/b.out")"
	else
		! grep -q WHITELIST "$D/b.out" || fail "bank for a failed signature: $(cat "$D/b.out")"
	fi
done
echo "PASS test_dkim"
