#!/bin/sh
# log_level and log_templ through mavisd with a real Postfix (issue 16 item 3):
#  1. log_level = 4 with a log_templ of our own: the main line is that
#     template, expanded with Postfix's queue id, at syslog priority notice;
#     the levels' lines are there with amavisd's priorities (Checking: info,
#     the recipient's outcome and the envelope debug), level 5's are not;
#  2. a reload with an unknown macro is refused with file:line and the
#     running configuration (template and level) stays;
#  3. a reload to log_level 0 and the default template: the main line is
#     amavisd's shape, exactly as before log_templ existed, and nothing of
#     levels 1..5 is logged for that message.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"

T=$(pf_mktemp e2e-logtempl)
pf_cleanup_on_exit "$T"

fail() {
	echo "FAIL: $*" >&2
	[ -n "${MAVISD_LOG:-}" ] && tail -n 30 "$MAVISD_LOG" >&2
	exit 1
}
# send SUBJECT - one clean message through Postfix; prints its queue id.
send() {
	_out=$(pf_smtpsend "$T" --from alice@example.org --to big@example.com --subject "$1" --expect 250) ||
		fail "message $1 not accepted: $_out"
	printf '%s\n' "$_out" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' | tail -n 1
}
# wait_mavis REGEX - until the mavisd log has a line matching it.
wait_mavis() {
	_i=0
	until grep -Eq -- "$1" "$MAVISD_LOG"; do
		_i=$((_i + 1))
		[ $_i -le 200 ] || fail "no line /$1/ in the mavisd log after 20 s"
		pf_sleep 0.1
	done
}
has() { grep -Eq -- "$1" "$MAVISD_LOG"; }

# ---- 1. log_level 4, a template of our own.
mavisd_e2e_conf "$T" "log_level = 4" \
	"log_templ = MAIN %Q [:status] [:ccat] {[:actions_performed]} %s -> %R, mail_id: %i[?%c|| score %c], size: %z"
mavisd_e2e_start "$T"
pf_start "$T" "smtpd_milters = $MAVISD_MILTER" "milter_default_action = tempfail"
q1=$(send one)
[ -n "$q1" ] || fail "no queue id from Postfix"
wait_mavis "notice: $q1: MAIN $q1 Passed CLEAN \{RelayedOutbound\} <alice@example.org> -> <big@example.com>, mail_id: [A-Za-z0-9_+-]{12}, size: [0-9]+$"
has "info: [^ ]+: Checking: [A-Za-z0-9_+-]{12} MYNETS \[127\.0\.0\.1\] <alice@example.org> -> <big@example.com>$" ||
	fail "level 1: no Checking: line at priority info"
has "debug: $q1: recipient <big@example.com>: CLEAN, passed" || fail "level 3: no recipient outcome"
has "debug: [^ ]+: connect from \[127\.0\.0\.1\]" || fail "level 4: no connect line"
has "debug: [^ ]+: MAIL FROM <alice@example.org>" || fail "level 4: no MAIL FROM line"
has "debug: [^ ]+: RCPT TO <big@example.com>" || fail "level 4: no RCPT TO line"
has "TIMING \[total " || fail "level 2: no TIMING line"
has "end of header:|end of message:" && fail "level 5 lines at log_level 4"
has "Passed CLEAN \{RelayedOutbound\}, " && fail "the default template was used"
echo "ok 1 log_level 4 with log_templ: main line from the template ($q1), levels 1-4 logged, 5 not"

# ---- 2. An unknown macro: the reload is refused, the running config stays.
mavisd_e2e_conf "$T" "log_level = 0" "log_templ = %s -> %R %Z"
n=$(grep -c '' "$T/mavisd.conf")
mavisd_e2e_reload "$T" && fail "a log_templ with %Z was accepted"
has "reload failed, keeping the running configuration: .*mavisd.conf:$n: log_templ: unknown macro %Z at character 10" ||
	fail "the refusal does not name file:line and the macro"
q2=$(send two)
wait_mavis "notice: $q2: MAIN $q2 Passed CLEAN"
has "debug: $q2: recipient <big@example.com>: CLEAN, passed" || fail "log_level 4 did not stay"
echo "ok 2 unknown macro %Z: reload refused at mavisd.conf:$n, template and level kept"

# ---- 3. Back to the defaults: amavisd's line, and only it.
mavisd_e2e_conf "$T"
mavisd_e2e_reload "$T" || fail "reload to the default configuration failed"
before=$(grep -c '' "$MAVISD_LOG")
q3=$(send three)
wait_mavis "notice: $q3: Passed CLEAN"
line=$(grep "notice: $q3: Passed CLEAN" "$MAVISD_LOG")
echo "$line" | grep -Eq "notice: $q3: Passed CLEAN \{RelayedOutbound\}, MYNETS \[127\.0\.0\.1\] <alice@example.org> -> <big@example.com>, Queue-ID: $q3, Message-ID: <[^>]+@smtpsend\.mavis\.test>, mail_id: [A-Za-z0-9_+-]{12}, Hits: -, size: [0-9]+, [0-9]+ ms$" ||
	fail "default main line: $line"
pf_sleep 1
tail -n +"$((before + 1))" "$MAVISD_LOG" | grep -E "info: |debug: " >&2 &&
	fail "log_level 0 logged lines of higher levels"
echo "ok 3 defaults: $line"
mavisd_check_log
echo "PASS test_log_templ"
