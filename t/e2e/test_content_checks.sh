#!/bin/sh
# Content checks end to end: the hand-made corpus (t/lib/content_corpus.py:
# banned names, archives, encrypted and deeply nested zips, bad headers, size
# limits, mixed recipients, EICAR in many encodings and containers, every
# file of clamav-testfiles) through a private Postfix to a real mavisd:
#   - the SMTP reply of each message (BANNED / INFECTED / BAD HEADER ...);
#   - what reaches the smtp-sink (recipients, X-Virus-Scanned, X-Mavis-Alert,
#     ***UNCHECKED*** subject tags, deleted recipients);
#   - `mavisctl scan --json` with the same config agrees (action, ccat, reply,
#     header edits);
#   - blocked virus/banned mail is in quarantine_dir as virus-/banned-MAILID
#     and `mavisctl release MAILID` delivers it to the blocked recipient (via
#     a second smtpd port without milters, as a release must not be scanned
#     and blocked again).
# Bad headers are passed on the main port (final_bad_header_destiny = pass)
# and rejected on a third port whose milter_macro_daemon_name loads the
# bank BADHREJECT (final_bad_header_destiny = reject).
# CONTENT_ONLY=case,case... runs only those cases (see t/lib/content_corpus.py).
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVIS_BUILD_DIR:=$MAVIS_SOURCE_DIR/build}"
: "${MAVISD:=$MAVIS_BUILD_DIR/milter/mavisd}"
: "${MAVISCTL:=$MAVIS_BUILD_DIR/ctl/mavisctl}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
. "$MAVIS_SOURCE_DIR/t/lib/milter.sh"
pf_require_root

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

command -v zip >/dev/null 2>&1 || fail "zip(1) is needed for the encrypted zip (contrib/install-deps)"
[ -d /usr/share/clamav-testfiles ] || fail "clamav-testfiles is not installed (contrib/install-deps)"

START=$(date +%s)
T=$(pf_mktemp e2e-content)
pf_cleanup_on_exit "$T"

MPORT=$(pf_free_port)
RELPORT=$(pf_free_port)
BADHPORT=$(pf_free_port)
while [ "$RELPORT" = "$MPORT" ]; do RELPORT=$(pf_free_port); done
while [ "$BADHPORT" = "$MPORT" ] || [ "$BADHPORT" = "$RELPORT" ]; do BADHPORT=$(pf_free_port); done

mkdir -p "$T/quarantine" "$T/mavis-tmp"
cat >"$T/mavisd.conf" <<EOF
myhostname = mx.mavis.test
milter_socket = inet:$MPORT@127.0.0.1
daemon_user =
allow_root = yes
# the mixed-recipient cases test the one-transaction path
recipient_bucketing = no
tmp_dir = $T/mavis-tmp
log_level = 1
local_domains_maps = .example.com
banned_rules_file = $MAVIS_SOURCE_DIR/etc/banned-rules.conf
av_scanners = clamav
clamav_database_dir = $MAVIS_SOURCE_DIR/t/data/clamav
clamav_reload_check_interval = 0
banned_files_lovers_maps = lover@example.com
message_size_limit_maps = inline:{small@example.com=4K}
final_virus_destiny = reject
final_banned_destiny = reject
final_unchecked_destiny = pass
final_bad_header_destiny = pass
quarantine_dir = $T/quarantine
quarantine_subdir_levels = 1
release_method = smtp:[127.0.0.1]:$RELPORT

[bank BADHREJECT]
final_bad_header_destiny = reject
EOF
"$MAVISCTL" check -c "$T/mavisd.conf" || fail "mavisctl check refused the test config"

pf_spawn "$T" mavisd "$MAVISD" -f -c "$T/mavisd.conf"
mt_wait_socket "inet:$MPORT@127.0.0.1" 30 || fail "mavisd did not come up: $(cat "$T/spawn/mavisd.log")"

# local_header_rewrite_clients empty: cleanup must not add the From: and
# Date: the corpus leaves out on purpose (127.0.0.1 is an inet interface).
pf_prepare "$T" \
	"smtpd_milters = inet:127.0.0.1:$MPORT" \
	"milter_default_action = tempfail" \
	"milter_protocol = 6" \
	"local_header_rewrite_clients ="
# Release port: no milter (what a re-injection port looks like).
pf_postconf "$T" -M "127.0.0.1:$RELPORT/inet=127.0.0.1:$RELPORT inet n - n - - smtpd"
pf_postconf "$T" -P "127.0.0.1:$RELPORT/inet/smtpd_milters="
# Bad-header-reject port: same milter, daemon name selects the bank.
pf_postconf "$T" -M "127.0.0.1:$BADHPORT/inet=127.0.0.1:$BADHPORT inet n - n - - smtpd"
pf_postconf "$T" -P "127.0.0.1:$BADHPORT/inet/milter_macro_daemon_name=BADHREJECT"
pf_launch "$T"
echo "postfix on $PF_SMTP_PORT (release $RELPORT, badh-reject $BADHPORT), milter $MPORT, sink $SINK_PORT"

python3 "$MAVIS_SOURCE_DIR/t/lib/content_corpus.py" "$T/corpus"

rc=0
python3 "$MAVIS_SOURCE_DIR/t/lib/content_run.py" --corpus "$T/corpus" \
	--port "$PF_SMTP_PORT" --badh-port "$BADHPORT" \
	--sink "$T/sink" --sink-pid "$(cat "$T/sink.pid")" \
	--mavisctl "$MAVISCTL" --config "$T/mavisd.conf" --mavisd-log "$T/spawn/mavisd.log" \
	--qdir "$T/quarantine" --subdir-levels 1 --release ${CONTENT_ONLY:+--only "$CONTENT_ONLY"} || rc=$?
[ "$rc" = 0 ] || fail "content cases failed (see above)"

# The release port really bypasses the milter, and the milter ports do not.
[ -n "${CONTENT_ONLY:-}" ] || grep -q "milter-reject: END-OF-MESSAGE" "$T/maillog" ||
	fail "no milter-reject in the Postfix log"

# mavisd: no sanitizer report, clean exit.
if grep -E "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|panic:" "$T/spawn/mavisd.log"; then
	fail "mavisd log shows a sanitizer report"
fi
pf_stop_postfix "$T"
pf_unspawn "$T" mavisd || fail "mavisd exited with status $?"
echo "PASS test_content_checks ($(($(date +%s) - START)) s)"
