#!/bin/sh
# mavisctl scan --json and the real path (Postfix smtpd -> mavisd -> smtp-sink)
# agree, with one configuration file for both: for every case in
# t/data/e2e/scan-cases.txt the accept/reject/tempfail/discard action and
# reply code match what the SMTP client saw, every add/insert_header edit is
# in the delivered header section byte for byte, change/delete_header are
# applied, delete_rcpt recipients are gone from the envelope, and the
# recipients mavisctl refuses (max_recipients) are the ones refused at RCPT.
# (t/lib/verdict_check.py does the comparing.)
#
# Known, intended difference: on the milter path Postfix shows its own
# Received: field to mavisd, so sizes and header counts there are about
# 200 bytes and one field larger than for mavisctl scan of the same file;
# the messages keep clear of the limits by more than that.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"
: "${MAVISCTL:?set MAVISCTL to the mavisctl binary}"

T=$(pf_mktemp e2e-scan)
pf_cleanup_on_exit "$T"
D=$MAVIS_SOURCE_DIR/t/data/e2e
t0=$(date +%s)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

conf() { # final_bad_header_destiny
	mavisd_e2e_conf "$T" \
		"local_domains_maps = .example.com" \
		"message_size_limit_maps = inline:{small@example.com=2000}" \
		"max_recipients = 3" \
		"max_header_count = 20" \
		"max_header_size = 1K" \
		"final_bad_header_destiny = $1"
}

conf pass
mavisd_e2e_start "$T"
pf_start "$T" \
	"smtpd_milters = $MAVISD_MILTER" \
	"milter_default_action = tempfail"
echo "postfix on $PF_SMTP_PORT, mavisd on $MAVISD_PORT (pid $MAVISD_PID), sink on $SINK_PORT"

# run_cases CONFIG - scan every case of the manifest that applies to CONFIG
# and send them all (one smtpsend.py for all: python starts slowly on a
# loaded machine); the comparing is done at the end, in one go.
run_cases() {
	_cfg=$1
	grep -v '^#' "$D/scan-cases.txt" | while read -r name cfgs file rcpts; do
		[ -n "$name" ] || continue
		case $cfgs in *"$_cfg"*) ;; *) continue ;; esac
		c="$_cfg-$name"
		# shellcheck disable=SC2046 # one --rcpt per recipient
		set -- $(echo "$rcpts" | tr ',' ' ')
		scan_args=""
		for r in "$@"; do
			scan_args="$scan_args --rcpt $r"
		done
		# shellcheck disable=SC2086
		"$MAVISCTL" scan -c "$T/mavisd.conf" --json --sender alice@example.org \
			--client-ip 127.0.0.1 $scan_args "$D/$file" >"$T/$c.json" 2>"$T/$c.err" ||
			fail "$c: mavisctl scan failed: $(cat "$T/$c.err")"
		echo "$c alice@example.org $rcpts $D/$file" >>"$T/batch.$_cfg"
		echo "$c $D/$file" >>"$T/cases"
		echo "scanned $c ($file -> $rcpts): mavisctl says $(sed -n 's/^{"action":"\([a-z]*\)".*/\1/p' "$T/$c.json")"
	done
	pf_smtpsend "$T" --batch "$T/batch.$_cfg" --batch-out "$T" >"$T/sent.$_cfg" 2>&1 ||
		fail "smtpsend --batch failed: $(cat "$T/sent.$_cfg")"
	sed 's/^/sent /' "$T/sent.$_cfg"
}

: >"$T/cases"
run_cases A
conf reject
mavisd_e2e_reload "$T" || fail "reload to final_bad_header_destiny = reject failed"
run_cases B

n=$(wc -l <"$T/cases")
want=$(grep -v '^#' "$D/scan-cases.txt" | awk 'NF { n += length($2) } END { print n }')
[ "$n" -eq "$want" ] || fail "$n cases run, the manifest has $want"
# Wait for every message mavisctl says is accepted, then compare everything.
accepted=$(cat "$T"/*.json | grep -c '^{"action":"accept"' || true)
pf_wait_delivered "$T" "$accepted" 30
pf_sleep 1
set --
while read -r c file; do
	set -- "$@" --case "$c" "$T/$c.json" "$T/$c.smtp" "$file" "$T/$c.err"
done <"$T/cases"
if ! "$PF_PYTHON" "$PF_LIBDIR/verdict_check.py" --sink-dir "$T/sink" --sink-pid "$SINK_PID" "$@" >"$T/check"; then
	cat "$T/check" >&2
	fail "mavisctl scan and the real path disagree (above)"
fi
sed 's/^/ok /' "$T/check"

# The checker itself notices a disagreement: the same case with a doctored
# verdict (an alert value the delivered message does not have).
sed 's/Header section over limits/Header section doctored/' "$T/A-badh-count.json" >"$T/doctored.json"
if "$PF_PYTHON" "$PF_LIBDIR/verdict_check.py" --sink-dir "$T/sink" --sink-pid "$SINK_PID" \
	"$@" --case doctored "$T/doctored.json" "$T/A-badh-count.smtp" "$D/many-headers.eml" \
	"$T/A-badh-count.err" >"$T/check.doctored"; then
	fail "verdict_check.py did not notice a doctored verdict"
fi
grep -q "^DISAGREE doctored: insert_header X-Mavis-Alert" "$T/check.doctored" ||
	fail "verdict_check.py on a doctored verdict: $(cat "$T/check.doctored")"
echo "ok verdict_check.py notices a doctored verdict"
pf_wait_queue "$T" 0 20
mavisd_e2e_stop "$T"
mavisd_check_log
echo "PASS test_scan_agreement ($n cases, $accepted delivered, $(($(date +%s) - t0)) s)"
