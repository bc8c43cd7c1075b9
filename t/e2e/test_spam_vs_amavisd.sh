#!/bin/sh
# The same messages through mavisd + spamd and through a running amavisd-new
# with SpamAssassin, both behind a private Postfix, on the same SpamAssassin
# rules and site config (t/lib/spamd.sh: local tests only, no Bayes, no DNS);
# the X-Spam-* fields and the Subject of every delivered copy must be equal
# byte for byte (folding included).
#
#   mavis:   Postfix smtpd_milters -> mavisd (spam_scanners = spamd:...) -> sink
#   amavisd: Postfix content_filter -> amavisd-new (bench/amavisd.conf.in +
#            bench/amavisd-spam.conf.in, SpamAssassin in-process) ->
#            re-injection smtpd -> sink
#
# Both put the fields on every message (tag level -999), so ham is compared
# too. Messages: GTUBE, t/data/e2e/clean.eml, a generated spammy message, and
# with the SpamAssassin corpus (MAVIS_SA_CORPUS, default /var/tmp/mavis-bench,
# development splits spam-1 / easy-ham-1 only) the files named below.
#
# What cannot match, and how it is compared:
#  - X-Spam-Status's autolearn=: amavisd takes it from SpamAssassin's
#    AUTOLEARN tag, which the spamd protocol does not carry, so mavis writes
#    "unavailable": compared with the value normalised;
#  - scores with more than one decimal: amavisd calls SpamAssassin in-process
#    and prints its numbers (RDNS_NONE=2.399, score=11.126); spamd's reply
#    has one decimal (the "Spam:" line and the report's %4.1f column), so
#    mavis has 2.4 and 11.1, and the folding moves with the shorter texts.
#    The messages in EXACT below hit only rules whose scores have at most
#    one decimal, and their fields must be equal byte for byte; the others
#    must be equal once amavisd's numbers are rounded as spamd rounds them
#    (and the folding is undone): the same rules, the same Yes/No, the same
#    levels and subject.
#
# amavisd-new must be installed (/usr/sbin/amavisd, user amavis): as root the
# set-up installs it with contrib/install-amavisd (the system daemon is kept
# from starting); skipped when that is impossible.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"
SPAMD=${SPAMD:-/usr/sbin/spamd}
AMAVISD=${AMAVISD:-/usr/sbin/amavisd}
[ -x "$SPAMD" ] || { echo "SKIP: no spamd; contrib/install-deps installs it" >&2; exit 77; }
if [ ! -x "$AMAVISD" ] || ! id amavis >/dev/null 2>&1; then
	"$MAVIS_SOURCE_DIR/contrib/install-amavisd" >&2 || {
		echo "SKIP: amavisd-new is not installed and could not be installed" >&2
		exit 77
	}
fi

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

T=$(pf_mktemp e2e-spamvs)
pf_cleanup_on_exit "$T"
A=$(pf_mktemp e2e-spamvs-amavis)
pf_cleanup_on_exit "$A"

# ---- spamd (mavis's scanner) and its site config, which amavisd reads too
# shellcheck source=t/lib/spamd.sh
. "$MAVIS_SOURCE_DIR/t/lib/spamd.sh"
spamd_start "$T"

# ---- amavisd-new with SpamAssassin, in the foreground under pf_spawn
AH=$A/amavis
mkdir -p "$AH/tmp" "$AH/db" "$AH/var"
chown -R amavis:amavis "$AH"
AM_PORT=$(pf_free_port)
AM_FO_PORT=$(pf_free_port)
REINJ_PORT=$(pf_free_port)
sed -e "s|@HOME@|$AH|g" -e "s|@MAX_SERVERS@|2|g" -e "s|@PORT@|$AM_PORT|g" \
	-e "s|@FO_PORT@|$AM_FO_PORT|g" -e "s|@REINJECT_PORT@|$REINJ_PORT|g" \
	-e "s|@SINK_PORT@|$REINJ_PORT|g" \
	"$MAVIS_SOURCE_DIR/bench/amavisd.conf.in" >"$A/amavisd.conf"
sed -e "s|@SA_SITE@|$T/sa/site|g" -e "s|@SA_TAG_LEVEL@|-999|g" \
	"$MAVIS_SOURCE_DIR/bench/amavisd-spam.conf.in" >>"$A/amavisd.conf"
chmod 0644 "$A/amavisd.conf"
# amavisd forks its children before it listens; SIGTERM stops them all
pf_spawn "$A" amavisd "$AMAVISD" -c "$A/amavisd.conf" foreground
echo 30 >"$A/spawn/amavisd.grace"

# ---- the two Postfix instances
pf_prepare "$A" "content_filter = smtp-amavis:[127.0.0.1]:$AM_PORT"
cat >>"$A/etc/master.cf" <<EOF
smtp-amavis unix -      -       n       -       2       smtp
  -o syslog_name=postfix/amavis
  -o smtp_data_done_timeout=1200
  -o smtp_send_xforward_command=yes
127.0.0.1:$REINJ_PORT inet n  -       n       -       -       smtpd
  -o syslog_name=postfix/reinject
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters,no_address_mappings
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
EOF
pf_launch "$A"

mavisd_e2e_conf "$T" "local_domains_maps = .example.com" \
	"spam_scanners = spamd:inet:127.0.0.1:$SA_PORT" "spam_scanner_timeout = 60s" \
	"spam_tag_level_maps = -999"
mavisd_e2e_start "$T"
pf_start "$T" "smtpd_milters = $MAVISD_MILTER" "milter_default_action = tempfail"

spamd_wait_port "$A" "$AM_PORT" 120 amavisd
echo "mavis side: postfix $(cat "$T/smtp.port"), mavisd $MAVISD_PORT, spamd $SA_PORT;" \
	"amavisd side: postfix $(cat "$A/smtp.port"), amavisd $AM_PORT, re-injection $REINJ_PORT"

# ---- the messages: each gets an X-Test-Id to find its two copies
mkdir -p "$T/in"
printf 'From: alice@example.org\nTo: bob@example.com\nSubject: test message\nDate: %s\nMessage-ID: <gtube@e2e.mavis.test>\nX-Spam-Flag: NO\nMIME-Version: 1.0\nContent-Type: text/plain\n\nHello Bob,\n\nthis is the test message we talked about on the phone.\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n\nRegards, Alice\n' \
	"$(date -R)" >"$T/in/gtube.eml"
cp "$MAVIS_SOURCE_DIR/t/data/e2e/clean.eml" "$T/in/clean.eml"
{
	printf 'From: "Best Deals" <deals@example.org>\nTo: bob@example.com\nSubject: FREE!!! Lowest mortgage rates, act now\n'
	printf 'Date: %s\nMessage-ID: <spammy@e2e.mavis.test>\nMIME-Version: 1.0\n' "$(date -R)"
	printf 'Content-Type: text/html; charset=us-ascii\n\n'
	printf '<html><body><p>Dear Friend,</p><p>You have been selected! Get the lowest mortgage rate\n'
	printf 'guaranteed. Lose weight fast, earn money from home, 100%% satisfied guaranteed.\n'
	printf 'This is not spam. To be removed from our mailing list click here.</p>\n'
	printf '<p><font size=7 color="#ff0000">ACT NOW! LIMITED TIME OFFER!</font></p></body></html>\n'
} >"$T/in/spammy.eml"
CORPUS=${MAVIS_SA_CORPUS:-/var/tmp/mavis-bench}
# Development splits only (spam-1, easy-ham-1), never spam-2 / easy-ham-2.
# Picked where both sides agree; see the header comment for what may not.
CORPUS_FILES=${SPAMVS_CORPUS_FILES:-"
easy-ham-1/00001.7c53336b37003a9286aba55d2945844c.eml
easy-ham-1/00002.9c4069e25e1ef370c078db7ee85ff9ac.eml
easy-ham-1/00003.860e3c3cee1b42ead714c5c874fe25f7.eml
easy-ham-1/00004.864220c5b6930b209cc287c361c99af1.eml
easy-ham-1/00005.bf27cdeaf0b8c4647ecd61b1d09da613.eml
easy-ham-1/00006.253ea2f9a9cc36fa0b1129b04b806608.eml
spam-1/00001.7848dde101aa985090474a91ec93fcf0.eml
spam-1/00002.d94f1b97e48ed3b553b3508d116e6a09.eml
spam-1/00003.2ee33bc6eacdb11f38d052c44819ba6c.eml
spam-1/00004.eac8de8d759b7e74154f142194282724.eml
spam-1/00005.57696a39d7d84318ce497886896bf90d.eml
spam-1/00006.5ab5620d3d7c6c0db76234556a16f6c1.eml
"}
# byte for byte (the others: up to spamd's rounding, see the top)
EXACT=${SPAMVS_EXACT:-"gtube clean
easy-ham-1_00001.7c53336b37003a9286aba55d2945844c
easy-ham-1_00002.9c4069e25e1ef370c078db7ee85ff9ac
easy-ham-1_00003.860e3c3cee1b42ead714c5c874fe25f7
easy-ham-1_00005.bf27cdeaf0b8c4647ecd61b1d09da613
easy-ham-1_00006.253ea2f9a9cc36fa0b1129b04b806608"}
ncorp=0
if [ -f "$CORPUS/spam-1.list" ]; then
	for f in $CORPUS_FILES; do
		case $f in spam-2/* | easy-ham-2/*) fail "$f: not a development split" ;; esac
		[ -f "$CORPUS/$f" ] || fail "corpus file $CORPUS/$f missing"
		cp "$CORPUS/$f" "$T/in/$(echo "${f%.eml}" | tr / _).eml"
		ncorp=$((ncorp + 1))
	done
else
	echo "note: no SpamAssassin corpus in $CORPUS: generated messages only"
fi

# The generated messages come from an outside relay: mavisd sees a message
# before Postfix adds its own Received field (Postfix does not pass it to
# milters), amavisd after, so on a message with no Received field of its own
# SpamAssassin would see no relay through mavisd (NO_RECEIVED, NO_RELAYS)
# and only trusted ones through amavisd (ALL_TRUSTED).
for g in gtube clean spammy; do
	{
		printf 'Received: from mail.example.org (mail.example.org [192.0.2.10])\n'
		printf '\tby mx.example.org (Postfix) with ESMTP id 4AB3C2E0F1\n'
		printf '\tfor <bob@example.com>; %s\n' "$(date -R)"
		cat "$T/in/$g.eml"
	} >"$T/in/$g.tmp"
	mv "$T/in/$g.tmp" "$T/in/$g.eml"
done

n=0
for m in "$T"/in/*.eml; do
	id=${m##*/}
	id=${id%.eml}
	{ printf 'X-Test-Id: %s\n' "$id"; cat "$m"; } >"$T/in/$id.send"
	for side in "$T" "$A"; do
		pf_smtpsend "$side" --expect 250 --from alice@example.org --to bob@example.com \
			"$T/in/$id.send" >"$T/last.smtp" 2>&1 || fail "send $id to $side: $(cat "$T/last.smtp")"
	done
	n=$((n + 1))
done
echo "sent $n messages ($ncorp from the corpus) to each side"
pf_wait_delivered "$T" "$n" 120 || fail "mavis side: not all $n delivered"
pf_wait_delivered "$A" "$n" 300 || fail "amavisd side: not all $n delivered"

"$PF_PYTHON" - "$T/sink" "$A/sink" "$T/in" "$EXACT" <<'EOF' || fail "the X-Spam-* fields differ (above)"
import os, re, sys
def fields(path):
    with open(path, "rb") as f:
        data = f.read()
    # the sink's own records, then the message; headers end at the first empty line
    head = data.split(b"\n\n", 1)[0].decode("utf-8", "surrogateescape")
    out, cur, tid = [], None, None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            cur.append(line)
            continue
        name = line.split(":", 1)[0].lower()
        cur = [line]
        if name.startswith("x-spam-") or name == "subject":
            out.append(cur)
        if name == "x-test-id":
            tid = line.split(":", 1)[1].strip()
    return tid, ["\n".join(c) for c in out]
def load(d):
    got = {}
    for e in sorted(os.listdir(d)):
        tid, fl = fields(os.path.join(d, e))
        if tid:
            got[tid] = fl
    return got
def perl_num(v):
    return "0" if v == 0 else "%.15g" % v
def spamd_rounded(text):
    """amavisd's field as mavis writes it from spamd's one-decimal numbers:
    a test's score as the report's column (a rounded zero kept as text),
    the total as the Spam: line."""
    def test(m):
        r = "%.1f" % float(m.group(2))
        return "%s=%s" % (m.group(1), r if float(r) == 0 else perl_num(float(r)))
    def total(m):
        return m.group(1) + perl_num(float("%.1f" % float(m.group(2))))
    text = re.sub(r"\b([A-Z][A-Z0-9_.:-]*)=(-?[0-9.]+)", test, text)
    return re.sub(r"(score=|^X-Spam-Score: )(-?[0-9.]+)", total, text)
def flat(text):
    return re.sub(r"\s+", " ", text)
mv, am = load(sys.argv[1]), load(sys.argv[2])
exact = set(sys.argv[4].split())
ids = sorted(f[:-5] for f in os.listdir(sys.argv[3]) if f.endswith(".send"))
bad = nexact = nround = spam = 0
for i in ids:
    if i not in mv or i not in am:
        print("%s: missing on the %s side" % (i, "mavis" if i not in mv else "amavisd"))
        bad += 1
        continue
    a = [re.sub(r"autolearn=\S+$", "autolearn=*", x) for x in am[i]]
    m = [re.sub(r"autolearn=unavailable$", "autolearn=*", x) for x in mv[i]]
    st = [x for x in a if x.startswith("X-Spam-Status:")]
    if not st:
        print("%s: amavisd wrote no X-Spam-Status" % i)
        bad += 1
        continue
    how = None
    if a == m:
        how, nexact = "byte for byte", nexact + 1
    elif i not in exact and [flat(spamd_rounded(x)) for x in a] == [flat(x) for x in m]:
        how, nround = "up to spamd's rounding", nround + 1
    if how is None:
        bad += 1
        print("%s differs%s:\n--- amavisd\n%s\n--- mavis\n%s" % (
            i, " (must be byte for byte)" if i in exact else "", "\n".join(am[i]), "\n".join(mv[i])))
        continue
    spam += flat(st[0]).startswith("X-Spam-Status: Yes")
    print("ok %s equal %s: %s" % (i, how, flat(st[0])))
print("%d messages: %d equal byte for byte, %d up to spamd's rounding (%d spam), %d differ" % (
    len(ids), nexact, nround, spam, bad))
sys.exit(1 if bad else 0)
EOF
grep -q 'GTUBE' "$T/sink"/* || fail "no GTUBE hit"
mavisd_e2e_stop "$T"
echo "PASS: the X-Spam-* fields and Subject of $n messages match amavisd-new's"
