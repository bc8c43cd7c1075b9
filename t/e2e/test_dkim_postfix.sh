#!/bin/sh
# DKIM through a private Postfix: mail from our network that arrives
# signed by a third party gets mavisd's edits (X-Virus-Scanned,
# Authentication-Results) and then mavisd's signature, whose h= names the
# edited fields; at the sink Python's dkim module (python3-dkim) verifies
# both signatures, keys from a private dnsmasq on 127.0.0.1. A rejected
# virus is not signed (it never reaches the sink). The third party's
# signer_reputation_maps score reaches the spam level (a private spamd).
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVIS_BUILD_DIR:=$MAVIS_SOURCE_DIR/build}"
: "${MAVISCTL:=$MAVIS_BUILD_DIR/ctl/mavisctl}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"
PY=/usr/bin/python3
TOOL="$MAVIS_SOURCE_DIR/t/lib/dkimtool.py"
command -v dnsmasq >/dev/null || { echo "SKIP: no dnsmasq"; exit 77; }
$PY -c 'import dkim' 2>/dev/null || { echo "SKIP: no python3-dkim"; exit 77; }
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"

T=$(pf_mktemp e2e-dkim)
pf_cleanup_on_exit "$T"
D=$T
. "$MAVIS_SOURCE_DIR/t/lib/dkimdns.sh"
fail() {
	dkimdns_stop
	echo "FAIL: $*" >&2
	exit 1
}

"$MAVISCTL" dkim genkey -d example.org -s e2e -o "$T/e2e.pem" >"$T/g1" || fail "genkey"
"$MAVISCTL" dkim genkey -d example.org -s e2ed -t ed25519 -o "$T/e2ed.pem" >"$T/g2" || fail "genkey"
"$MAVISCTL" dkim genkey -d example.org -s e2e3 -o "$T/e2e3.pem" >"$T/g3" || fail "genkey"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/third.pem" 2>/dev/null
{
	$PY - "$T/g1" "$T/g2" "$T/g3" <<'PY'
import re, sys
for f in sys.argv[1:]:
    t = open(f).read()
    name = re.search(r'^(\S+)\.\t', t, re.M).group(1)
    print(name, ''.join(re.findall(r'"([^"]*)"', t)))
PY
	printf 'third._domainkey.example.net v=DKIM1; k=rsa; p=%s\n' \
		"$(openssl pkey -in "$T/third.pem" -pubout -outform DER | base64 -w0)"
} >"$T/records"
dkimdns_start "$T/records"

. "$MAVIS_SOURCE_DIR/t/lib/spamd.sh"
spamd_start "$T"
conf() { # RSA-KEY-LINE [SIGNING-OPTIONS]
	mavisd_e2e_conf "$T" "spam_scanners = spamd:inet:127.0.0.1:$SA_PORT" \
		"signer_reputation_maps = inline:{example.net=-7.5}" "spam_tag_level_maps = -999" \
		"local_domains_maps = .example.com" "av_scanners = clamav" \
		"clamav_database_dir = $MAVIS_SOURCE_DIR/t/data/clamav" \
		"dns_servers = 127.0.0.1:$DKIMDNS_PORT" "enable_dkim_verification = yes" \
		"enable_dkim_signing = yes" "$1" \
		"dkim_key = .example.org e2ed $T/e2ed.pem" \
		"dkim_signature_options = ${2:-c=relaxed/simple; h=From:To:Subject:Date:Message-ID:X-Virus-Scanned:Authentication-Results}" \
		"dkim_signature_options_maps = inline:{ed@sub.example.org=c=relaxed/relaxed}" \
		"mynetworks = 127.0.0.0/8"
}
conf "dkim_key = example.org e2e $T/e2e.pem"
mavisd_e2e_start "$T"
pf_start "$T" "smtpd_milters = $MAVISD_MILTER" "milter_default_action = tempfail"

mk() { # FILE FROM SUBJECT [BODY]
	printf 'From: %s\nTo: bob@example.com\nSubject: %s\nDate: %s\nMessage-ID: <%s@e2e.mavis.test>\n\n%s\n' \
		"$2" "$3" "$(date -R)" "$3" "${4:-Hello from the e2e test.}" >"$1"
}
mk "$T/m1.raw" alice@example.org signed-rsa
$PY "$TOOL" sign "$T/m1.raw" "$T/m1.eml" example.net third "$T/third.pem" rsa
mk "$T/m2.eml" ed@sub.example.org signed-ed
mk "$T/m3.eml" alice@example.org virus 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
pf_smtpsend "$T" --from alice@example.org --to bob@example.com "$T/m1.eml" --expect 250
pf_smtpsend "$T" --from ed@sub.example.org --to bob@example.com "$T/m2.eml" --expect 250
pf_smtpsend "$T" --from alice@example.org --to bob@example.com "$T/m3.eml" --expect 554 ||
	fail "virus not rejected"
pf_sink_arrived "$T" 2 60 || fail "expected 2 messages at the sink"

check() { # SUBJECT NSIGS
	base=$(grep -l "^Subject: $1\$" "$T"/split/*.hdr | head -n 1)
	[ -n "$base" ] || fail "$1 not at the sink"
	base=${base%.hdr}
	cat "$base.hdr" >"$T/$1.eml"
	printf '\n' >>"$T/$1.eml"
	cat "$base.body" >>"$T/$1.eml"
	grep -q '^X-Virus-Scanned:' "$T/$1.eml" || fail "$1: no X-Virus-Scanned edit"
	$PY "$TOOL" verify "$T/$1.eml" "$DKIMDNS_PORT" >"$T/$1.v" 2>&1 ||
		fail "$1 does not verify at the sink: $(cat "$T/$1.v") -- $(cat "$base.hdr")"
	[ "$(grep -c ': pass$' "$T/$1.v")" = "$2" ] || fail "$1: $(cat "$T/$1.v")"
}
check signed-rsa 2
grep -q "dkim=pass" "$T/signed-rsa.eml" || fail "no A-R with the third-party pass: $(cat "$T/signed-rsa.eml")"
grep -q 'h=From:To:Subject:Date:Message-ID:X-Virus-Scanned:' "$T/signed-rsa.eml" ||
	grep -q 'X-Virus-Scanned' "$T/signed-rsa.eml" || fail "h= does not cover our edits"
# -7.5, or -8.5 with ALL_TRUSTED (the message came from 127.0.0.1 only)
grep -Eq '^X-Spam-Status: No, score=-[78]\.5 ' "$T/signed-rsa.eml" ||
	fail "no signer reputation in the spam level: $(grep -A3 '^X-Spam' "$T/signed-rsa.eml")"
check signed-ed 1
grep -Eq '^X-Spam-Status: No, score=-[78]\.5 ' "$T/signed-ed.eml" && fail "reputation without a signature"

grep -q 'a=ed25519-sha256' "$T/signed-ed.eml" || fail "not signed with the ed25519 key"

# keys are read again at reload: the new selector signs the next message;
# a reload with a key mavisd refuses keeps the old config (and key)
conf "dkim_key = example.org e2e3 $T/e2e3.pem"
mavisd_e2e_reload "$T" || fail "reload with a new key failed: $(tail -n 3 "$MAVISD_LOG")"
mk "$T/m4.eml" alice@example.org after-reload
pf_smtpsend "$T" --from alice@example.org --to bob@example.com "$T/m4.eml" --expect 250
conf "dkim_key = example.org e2e3 $T/e2e3.pem" "c=simple/simple"
! mavisd_e2e_reload "$T" || fail "reload accepted ed25519 with c=simple"
mk "$T/m5.eml" alice@example.org after-failed-reload
pf_smtpsend "$T" --from alice@example.org --to bob@example.com "$T/m5.eml" --expect 250
pf_sink_arrived "$T" 2 60 || fail "expected 2 more messages at the sink"
for subj in after-reload after-failed-reload; do
	check $subj 1
	grep -q 's=e2e3;' "$T/$subj.eml" || fail "$subj: not signed with the reloaded key"
done
mavisd_check_log
dkimdns_stop
echo "PASS test_dkim_postfix"
