#!/bin/sh
# Harness self-test: Postfix with milters that are down (nothing listens).
# milter_default_action = tempfail: SMTP clients get 451 4.7.1, sendmail(1)
# mail waits in the maildrop queue, nothing reaches the sink. Switched to
# accept (pf_postconf + pf_reload): new mail and the waiting mail are delivered.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
pf_require_root

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

T=$(pf_mktemp e2e-mdown)
pf_cleanup_on_exit "$T"
# A port nobody listens on: free now, and never bound by this test.
MPORT=$(pf_free_port)
pf_start "$T" \
	"smtpd_milters = inet:127.0.0.1:$MPORT" \
	"non_smtpd_milters = inet:127.0.0.1:$MPORT" \
	"milter_default_action = tempfail" \
	"milter_connect_timeout = 5s"

# 1. tempfail over SMTP: Postfix defers the CONNECT-time milter failure to the
# first command that can carry it, MAIL FROM.
out=$(pf_smtpsend "$T" --from s1@example.org --to r1@example.com --subject down-tempfail --expect 451) ||
	fail "expected 451, got: $out"
echo "$out"
case $out in *"RESULT 451 4.7.1 "*) ;; *) fail "expected 451 4.7.1, got: $out" ;; esac
pf_wait_log "$T" 'milter-reject: .*451 4\.7\.1' 10
grep -q "connect to Milter service inet:127.0.0.1:$MPORT: Connection refused" "$T/maillog" ||
	fail "no 'Connection refused' for the milter in maillog"

# 2. tempfail via sendmail(1): postdrop accepts, cleanup (for pickup) gets
# the tempfail, the file stays in maildrop for a later pickup scan.
printf 'Subject: down-sendmail\n\nvia sendmail\n' | pf_sendmail "$T" -i -f s2@example.org r2@example.net
pf_wait_log "$T" 'cleanup.*milter-reject: CONNECT .*4\.7\.1' 10
pf_wait_queue "$T" 1 10 maildrop

pf_sleep 1
n=$(pf_sink_count "$T")
[ "$n" -eq 0 ] || fail "tempfail: $n messages reached the sink"

# 3. accept: the same dead milter is now ignored.
pf_postconf "$T" -e "milter_default_action = accept"
pf_reload "$T"
out=$(pf_smtpsend "$T" --from s3@example.org --to r3@example.com --subject down-accept --expect 250) ||
	fail "expected 250 with milter_default_action=accept, got: $out"
echo "$out"
# The new message plus the one waiting in maildrop (the reload restarts pickup,
# which scans maildrop at once).
pf_wait_delivered "$T" 2 30
pf_sink_list "$T" | tee "$T/list"
awk -F '\t' '$4 == "down-accept" && $3 == "r3@example.com"' "$T/list" | grep -q . ||
	fail "down-accept not delivered to r3@example.com"
awk -F '\t' '$4 == "down-sendmail" && $3 == "r2@example.net"' "$T/list" | grep -q . ||
	fail "down-sendmail not delivered to r2@example.net"
if grep -q down-tempfail "$T/list"; then
	fail "the tempfailed message was delivered"
fi
pf_wait_queue "$T" 0 10
echo "PASS test_harness_milter_down"
