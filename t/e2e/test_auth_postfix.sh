#!/bin/sh
# SPF and DMARC through a private Postfix: clients from outside (XCLIENT
# ADDR=192.0.2.1, smtpd_authorized_xclient_hosts) get spf= and dmarc= in
# the one Authentication-Results field at the sink; with
# dmarc_reject_policy = honour a p=reject failure is refused with
# 550 5.7.1 and never reaches the sink; DMARC passes by an aligned DKIM
# signature while SPF fails; the HELO identity decides for the null
# sender; a forged A-R with our authserv-id is gone at
# the sink; mail from our network is not checked. Records from a private
# dnsmasq on 127.0.0.1.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVIS_BUILD_DIR:=$MAVIS_SOURCE_DIR/build}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"
PY=/usr/bin/python3
TOOL="$MAVIS_SOURCE_DIR/t/lib/dkimtool.py"
command -v dnsmasq >/dev/null || { echo "SKIP: no dnsmasq"; exit 77; }
$PY -c 'import dkim' 2>/dev/null || { echo "SKIP: no python3-dkim"; exit 77; }
[ -r /usr/share/publicsuffix/public_suffix_list.dafsa ] || { echo "SKIP: no publicsuffix"; exit 77; }

T=$(pf_mktemp e2e-auth)
pf_cleanup_on_exit "$T"
D=$T
. "$MAVIS_SOURCE_DIR/t/lib/dkimdns.sh"
fail() {
	dkimdns_stop
	echo "FAIL: $*" >&2
	exit 1
}

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k.pem" 2>/dev/null
cat >"$T/records" <<EOF2
+LOCAL example.com
+LOCAL example.net
+LOCAL example.org
pass.example.com v=spf1 ip4:192.0.2.1 -all
fail.example.com v=spf1 -all
helo.example.net v=spf1 ip4:192.0.2.1 -all
_dmarc.helo.example.net v=DMARC1; p=reject
_dmarc.pass.example.com v=DMARC1; p=reject
_dmarc.rej.example.org v=DMARC1; p=reject
_dmarc.signed.example.net v=DMARC1; p=reject
sel._domainkey.example.net v=DKIM1; k=rsa; p=$(openssl pkey -in "$T/k.pem" -pubout -outform DER | base64 -w0)
EOF2
dkimdns_start "$T/records"

mavisd_e2e_conf "$T" "local_domains_maps = .example.com" "banned_rules_file = none" \
	"dns_servers = 127.0.0.1:$DKIMDNS_PORT" "dns_timeout = 2s" "enable_dkim_verification = yes" \
	"enable_spf = yes" "enable_dmarc = yes" "dmarc_reject_policy = honour" \
	"mynetworks = 127.0.0.0/8"
mavisd_e2e_start "$T"
pf_start "$T" "smtpd_milters = $MAVISD_MILTER" "milter_default_action = tempfail" \
	"smtpd_authorized_xclient_hosts = 127.0.0.0/8"

mk() { # FILE FROM SUBJECT [EXTRA-HEADER]
	{
		printf 'From: %s\nTo: bob@example.com\nSubject: %s\nDate: %s\n' "$2" "$3" "$(date -R)"
		[ $# -lt 4 ] || printf '%s\n' "$4"
		printf 'Message-ID: <%s@e2e.mavis.test>\n\nHello from the e2e test.\n' "$3"
	} >"$1"
}
send() { # FILE SENDER EXPECT [XCLIENT-ADDR]
	pf_smtpsend "$T" --from "$2" --to bob@example.com --ehlo helo.example.net \
		${4:+--xclient "$4"} "$1" --expect "$3" >"$1.smtp" || fail "$1: $(cat "$1.smtp")"
}
mk "$T/m1.eml" a@pass.example.com spf-pass
mk "$T/m2.eml" a@rej.example.org dmarc-reject
mk "$T/m3.raw" a@signed.example.net dkim-aligned
$PY "$TOOL" sign "$T/m3.raw" "$T/m3.eml" example.net sel "$T/k.pem" rsa
mk "$T/m4.eml" a@pass.example.com forged 'Authentication-Results: mx.mavis.test; spf=pass smtp.mailfrom=evil.example; dmarc=pass'
mk "$T/m5.eml" a@rej.example.org ours
send "$T/m1.eml" a@pass.example.com 250 192.0.2.1
send "$T/m2.eml" a@fail.example.com 550 192.0.2.1
grep -q 'RESULT 550 5.7.1 rejected by DMARC policy for rej.example.org' "$T/m2.eml.smtp" ||
	fail "DMARC reject reply: $(cat "$T/m2.eml.smtp")"
send "$T/m3.eml" a@fail.example.com 250 192.0.2.1
send "$T/m4.eml" a@pass.example.com 250 192.0.2.1
send "$T/m5.eml" a@fail.example.com 250
# the null sender: the HELO name Postfix hands over decides, and DMARC
# aligns the From domain with it
mk "$T/m6.eml" mailer-daemon@helo.example.net bounce
send "$T/m6.eml" "" 250 192.0.2.1
pf_sink_arrived "$T" 5 60 || fail "expected 5 messages at the sink"

hdr() { # SUBJECT -> the header section at the sink, folds joined
	f=$(grep -l "^Subject: $1\$" "$T"/split/*.hdr | head -n 1)
	[ -n "$f" ] || fail "$1 not at the sink"
	$PY -c 'import re,sys; print(re.sub(r"\r?\n[ \t]+", " ", open(sys.argv[1]).read()))' "$f"
}
hdr spf-pass | grep -q '^Authentication-Results: mx.mavis.test (mavis); spf=pass smtp.mailfrom=pass.example.com; dmarc=pass header.from=pass.example.com$' ||
	fail "spf-pass: $(hdr spf-pass | grep Authentication-Results)"
hdr dkim-aligned | grep -q '^Authentication-Results: mx.mavis.test (mavis); dkim=pass .*header.d=example.net.*; spf=fail smtp.mailfrom=fail.example.com; dmarc=pass header.from=signed.example.net$' ||
	fail "dkim-aligned: $(hdr dkim-aligned | grep Authentication-Results)"
[ "$(hdr forged | grep -c '^Authentication-Results:')" = 1 ] || fail "forged A-R kept: $(hdr forged)"
hdr forged | grep -q 'evil.example' && fail "forged A-R kept: $(hdr forged)"
hdr ours | grep -q '^Authentication-Results:' && fail "our own mail checked: $(hdr ours)"
hdr bounce | grep -q '^Authentication-Results: mx.mavis.test (mavis); spf=pass smtp.helo=helo.example.net; dmarc=pass header.from=helo.example.net$' ||
	fail "null sender: $(hdr bounce | grep Authentication-Results)"
grep -q 'Blocked DMARC-REJECT {RejectedInbound}, \[192.0.2.1\] <a@fail.example.com>' "$MAVISD_LOG" ||
	fail "no DMARC reject log line: $(grep dmarc "$MAVISD_LOG")"
mavisd_check_log
dkimdns_stop
echo "PASS test_auth_postfix"
