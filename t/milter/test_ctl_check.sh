#!/bin/sh
# mavisctl check: a check switched on with nothing to check with is named
# (banned rules off but banned settings given, virus settings without a
# scanner, a clamav scanner without signatures, clamd without sockets,
# quarantine destinations without quarantine_dir); a banned rules file that
# does not load fails the check, as it fails mavisd's start. A config
# without such gaps passes without a word.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVISCTL:=${MAVIS_BUILD_DIR:-$MAVIS_SOURCE_DIR/build}/ctl/mavisctl}"
D=$(mktemp -d /tmp/mavis-ctlcheck.XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# check WANT_RC PATTERN CONF-LINES... - run mavisctl check, the exit status
# must be WANT_RC and stderr must match PATTERN ("" = stay silent).
check() {
	want=$1 pat=$2
	shift 2
	printf '%s\n' "$@" >"$D/c.conf"
	rc=0
	"$MAVISCTL" check -c "$D/c.conf" >"$D/out" 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || fail "exit $rc, want $want for: $* -- $(cat "$D/out")"
	if [ -z "$pat" ]; then
		[ ! -s "$D/out" ] || fail "unexpected output for: $* -- $(cat "$D/out")"
	else
		grep -q -- "$pat" "$D/out" || fail "no '$pat' for: $* -- $(cat "$D/out")"
	fi
}
check 0 "banned checks are off (banned_rules_file = none), but banned_filename_maps is set" \
	"banned_rules_file = none" "banned_filename_maps = DEFAULT"
check 0 "virus checks are off (av_scanners is empty), but final_virus_destiny is set" \
	"final_virus_destiny = reject"
check 0 "clamav_database_dir $D has no signatures" \
	"av_scanners = clamav" "clamav_database_dir = $D"
check 0 "av_scanners names clamd, but clamd_sockets is empty" \
	"av_scanners = clamd" "clamd_sockets ="
check 0 "banned_quarantine_to_maps is set, but quarantine_dir is empty" \
	"banned_quarantine_to_maps = banned-q"
printf '[DEFAULT]\n' >"$D/empty-rules.conf"
check 0 "has no rules in set DEFAULT: nothing is banned" "banned_rules_file = $D/empty-rules.conf"
check 1 "banned_rules_file: $D/missing.conf" "banned_rules_file = $D/missing.conf"
# Silent when everything has something to work with; the built-in banned
# rules count as rules.
check 0 "" "av_scanners = clamav" "clamav_database_dir = $MAVIS_SOURCE_DIR/t/data/clamav" \
	"final_virus_destiny = reject" "quarantine_dir = $D" "banned_quarantine_to_maps = banned-q"
check 0 "" "banned_rules_file = $MAVIS_SOURCE_DIR/etc/banned-rules.conf"
echo "PASS test_ctl_check"
