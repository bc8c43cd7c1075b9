#!/bin/sh
# Virus-scanner faults end to end (issue 5 item 6). Acceptance: 0 messages
# delivered unscanned. A private Postfix (smtpd_milters and non_smtpd_milters,
# milter_default_action = tempfail) in front of a real mavisd:
#  A. av_scanners = clamd:SOCKET with a real clamd started here on the test
#     signatures: EICAR 554 INFECTED, clean delivered with X-Virus-Scanned;
#  B. clamd stopped: clean mail 451 4.7.1 over SMTP, and a sendmail(1)
#     message stays in the queue; nothing reaches the sink;
#  C. a fake clamd that accepts and never answers, clamd_timeout = 3s: 451,
#     nothing delivered;
#  D. recovery: clamd back, the queued sendmail message is delivered scanned;
#  E. av_scanners = clamav (in-process), av_degraded_start = yes (as shipped):
#     a corrupt signature file + SIGUSR1, then the database emptied, then the
#     directory removed + SIGUSR1: the old engine stays ("keeping the old
#     engine"), EICAR still rejected, clean mail still scanned and delivered;
#     a repaired database is loaded again. The corrupt file also with
#     av_degraded_start = no;
#  F. primary clamd down, av_scanners_backup = clamav: delivered and scanned;
#  G. on_scanner_failure = pass: delivered with the ***UNCHECKED*** tag and
#     without X-Virus-Scanned (the admin's explicit choice);
#  H. reload under load: 100 messages (50 clean, 50 EICAR) over 4
#     connections while SIGUSR1 reloads new signature files (concurrent
#     reloads), and 40 with serial ones (clamav_concurrent_reload = no):
#     every clean one delivered, every EICAR one rejected, none lost;
#  I. no usable database: av_degraded_start = no refuses to start (one clear
#     line); = yes runs and answers 451 until the database is repaired.
# After every phase the sink holds exactly the messages expected so far, each
# with X-Virus-Scanned unless phase G tagged it ***UNCHECKED***.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVIS_BUILD_DIR:=$MAVIS_SOURCE_DIR/build}"
: "${MAVISD:=$MAVIS_BUILD_DIR/milter/mavisd}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
. "$MAVIS_SOURCE_DIR/t/lib/milter.sh"
pf_require_root

CLAMD=${CLAMD:-/usr/sbin/clamd}
[ -x "$CLAMD" ] || {
	echo "SKIP: no clamd ($CLAMD); contrib/install-deps installs clamav-daemon" >&2
	exit 77
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

START=$(date +%s)
phase_t=$START
phase() {
	_now=$(date +%s)
	echo "--- phase $* (previous took $((_now - phase_t)) s)"
	phase_t=$_now
}

T=$(pf_mktemp e2e-avfaults)
pf_cleanup_on_exit "$T"
MPORT=$(pf_free_port)
LOG="$T/spawn/mavisd.log"
mkdir -p "$T/mavis-tmp"

# ---------------------------------------------------------------- helpers

# The EICAR string in two halves: no file of the project is itself detected.
# shellcheck disable=SC2016 # literal $ on purpose
EICAR1='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-'
# shellcheck disable=SC2016
EICAR2='ANTIVIRUS-TEST-FILE!$H+H*'

mkmsg() { # FILE SUBJECT clean|eicar
	{
		printf 'From: Sender <sender@example.net>\nTo: <rcpt@example.com>\n'
		printf 'Subject: %s\nDate: %s\nMessage-ID: <%s@av-faults.mavis.test>\n' "$2" "$(date -R)" "$2"
		printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
		if [ "$3" = eicar ]; then
			printf '%s%s\n' "$EICAR1" "$EICAR2"
		else
			printf 'Nothing to see here (%s).\n' "$2"
		fi
	} >"$1"
}

# send SUBJECT clean|eicar EXPECT [TEXT]: one message over SMTP; the final
# reply must start with EXPECT and contain TEXT.
send() {
	mkmsg "$T/m-$1.eml" "$1" "$2"
	_out=$(pf_smtpsend "$T" --from sender@example.net --to rcpt@example.com "$T/m-$1.eml" \
		--expect "${3%% *}") || fail "$1: expected $3, got: $_out"
	_res=$(printf '%s\n' "$_out" | grep '^RESULT')
	case $_res in "RESULT $3"*) ;; *) fail "$1: expected $3, got $_res" ;; esac
	if [ -n "${4:-}" ]; then
		case $_res in *"$4"*) ;; *) fail "$1: reply lacks '$4': $_res" ;; esac
	fi
	echo "  $1 ($2): $_res"
}

DELIVERED=0	# messages that must be in the sink by now

# delivered SUBJECT [scanned|unchecked]: SUBJECT arrived (once), scanned
# (X-Virus-Scanned) or tagged ***UNCHECKED*** without X-Virus-Scanned.
delivered() {
	DELIVERED=$((DELIVERED + 1))
	_got=$(python3 "$PF_LIBDIR/sinkfind.py" "$T/sink" "$(cat "$T/sink.pid")" --subject "$1" --wait 30)
	_n=$(printf '%s\n' "$_got" | cut -f1)
	_xvs=$(printf '%s\n' "$_got" | cut -f2)
	_subj=$(printf '%s\n' "$_got" | cut -f3)
	[ "$_n" = 1 ] || fail "$1: $_n copies in the sink"
	case ${2:-scanned} in
	scanned)
		[ "$_xvs" = "mavis at mx.mavis.test" ] || fail "$1: X-Virus-Scanned '$_xvs'"
		[ "$_subj" = "$1" ] || fail "$1: Subject '$_subj'"
		;;
	unchecked)
		[ -z "$_xvs" ] || fail "$1: unchecked mail says X-Virus-Scanned: $_xvs"
		[ "$_subj" = "***UNCHECKED*** $1" ] || fail "$1: Subject '$_subj' lacks the tag"
		;;
	esac
}

# nothing_new: the sink holds exactly the messages expected so far.
nothing_new() {
	pf_sleep 0.5
	_n=$(pf_sink_count "$T")
	[ "$_n" = "$DELIVERED" ] || {
		pf_sink_list "$T" >&2
		fail "$_n messages in the sink, expected $DELIVERED: something was delivered unscanned"
	}
}

# Every message in the sink is scanned or explicitly tagged UNCHECKED.
all_scanned() {
	python3 "$PF_LIBDIR/sinkfind.py" "$T/sink" "$(cat "$T/sink.pid")" \
		--all-scanned "mavis at mx.mavis.test" || fail "mail delivered unscanned and untagged"
}

logcount() { # REGEX: lines of the mavisd log matching
	grep -Ec -- "$1" "$LOG" 2>/dev/null || true
}

# wait_log REGEX BEFORE [TIMEOUT]: until the log has more than BEFORE matches.
wait_log() {
	_end=$(($(date +%s) + ${3:-30}))
	while [ "$(logcount "$1")" -le "$2" ]; do
		[ "$(date +%s)" -lt "$_end" ] || fail "no new '$1' in the mavisd log: $(tail -n 20 "$LOG")"
		pf_sleep 0.1
	done
}

BASE_CONF="myhostname = mx.mavis.test
milter_socket = inet:$MPORT@127.0.0.1
daemon_user =
allow_root = yes
tmp_dir = $T/mavis-tmp
log_level = 1
local_domains_maps = .example.com
final_virus_destiny = reject
on_scanner_failure = tempfail
clamav_reload_check_interval = 0
clamd_timeout = 3s"

# use_config NAME CONFIG-LINES: mavisd runs with BASE_CONF + lines, from
# now on. The first call starts it; later ones rewrite the file and reload
# (SIGUSR1), which is how an admin switches scanners (and it saves the 5 s a
# libmilter shutdown takes). Waits until the reload thread is done with it.
use_config() {
	printf '%s\n%s\n' "$BASE_CONF" "$2" >"$T/mavisd.conf"
	cp "$T/mavisd.conf" "$T/mavisd-$1.conf"
	echo "  config $1: $(printf '%s' "$2" | tr '\n' ';')"
	if [ -z "$(pf_spawn_pid "$T" mavisd)" ]; then
		pf_spawn "$T" mavisd "$MAVISD" -f -c "$T/mavisd.conf"
		mt_wait_socket "inet:$MPORT@127.0.0.1" 30 || fail "mavisd did not start: $(tail -n 20 "$LOG")"
		return 0
	fi
	_bad=$(logcount "reload failed, keeping the running configuration")
	usr1
	[ "$(logcount "reload failed, keeping the running configuration")" = "$_bad" ] ||
		fail "mavisd refused the $1 configuration: $(tail -n 5 "$LOG")"
}

# usr1: SIGUSR1 to mavisd's supervisor (it forwards it to the filter
# process) and wait until the reload thread is through: the configuration
# reloaded (or refused), then, with the in-process engine, the signature
# check that follows it.
AV_OUTCOME="ClamAV signatures reloaded|ClamAV signature reload failed|running degraded"
usr1() {
	_c=$(logcount "configuration reloaded|reload failed, keeping the running configuration")
	_s=$(logcount "$AV_OUTCOME")
	kill -USR1 "$(pf_spawn_pid "$T" mavisd)"
	wait_log "configuration reloaded|reload failed, keeping the running configuration" "$_c"
	if grep -q "^av_scanners.*clamav" "$T/mavisd.conf"; then
		wait_log "$AV_OUTCOME" "$_s"
	fi
}

# A real clamd on a unix socket in the test dir, with a copy of the test DB.
mkdir -p "$T/clamd-db"
cp "$MAVIS_SOURCE_DIR"/t/data/clamav/*.?db "$T/clamd-db/"
cat >"$T/clamd.conf" <<EOF
LocalSocket $T/clamd.sock
LocalSocketMode 660
DatabaseDirectory $T/clamd-db
Foreground true
LogFile $T/clamd.log
LogTime true
User root
SelfCheck 0
EOF
start_clamd() {
	pf_spawn "$T" clamd "$CLAMD" --foreground --config-file="$T/clamd.conf"
	mt_wait_socket "unix:$T/clamd.sock" 60 || fail "clamd did not start: $(tail -n 5 "$T/clamd.log")"
}

# A "clamd" that accepts, reads and never answers.
cat >"$T/hang.py" <<'EOF'
import os, socket, sys, threading
path, count = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(64)
n = 0
def swallow(c):
    while c.recv(65536):
        pass
while True:
    c, _ = srv.accept()
    n += 1
    with open(count, "w") as f:
        f.write("%d\n" % n)
    threading.Thread(target=swallow, args=(c,), daemon=True).start()
EOF

# ---------------------------------------------------------------- Postfix

pf_start "$T" \
	"smtpd_milters = inet:127.0.0.1:$MPORT" \
	"non_smtpd_milters = inet:127.0.0.1:$MPORT" \
	"milter_default_action = tempfail" \
	"milter_protocol = 6"
echo "postfix on $PF_SMTP_PORT, milter $MPORT, sink $SINK_PORT"

# ---------------------------------------------------------------- A. clamd
phase "A: real clamd"
start_clamd
use_config clamd "av_scanners = clamd:$T/clamd.sock"
send eicar-clamd eicar "554 5.7.0" "INFECTED: Eicar-Signature"
send clean-clamd clean 250
delivered clean-clamd
grep -q "clamd:$T/clamd.sock av-scanner: CLEAN" "$LOG" || fail "clamd did not scan the clean message"

# ---------------------------------------------------------------- B. clamd stopped
phase "B: clamd stopped"
failed_before=$(logcount "AV: ALL VIRUS SCANNERS FAILED")
pf_unspawn "$T" clamd || true
for i in 1 2 3; do
	send "down-$i" clean "451 4.7.1" "virus scanning failed"
done
printf 'From: <sender@example.net>\nTo: <rcpt@example.com>\nSubject: queued-while-down\nDate: %s\nMessage-ID: <queued-while-down@av-faults.mavis.test>\n\nvia sendmail(1) while no scanner works\n' "$(date -R)" |
	pf_sendmail "$T" -i -f sender@example.net rcpt@example.com
# (the pickup path's line is the one without proto=ESMTP at the end)
pf_wait_log "$T" 'milter-reject: END-OF-MESSAGE .* 4\.7\.1 .*to=<rcpt@example\.com>$' 20 ||
	fail "the sendmail message was not tempfailed by the milter"
wait_log "AV: ALL VIRUS SCANNERS FAILED" $((failed_before + 3))
nothing_new
[ "$(pf_queue_count "$T")" -ge 1 ] || fail "the sendmail message left the queue"

# ---------------------------------------------------------------- C. hanging clamd
phase "C: clamd that never answers, clamd_timeout = 3s"
pf_spawn "$T" hang python3 "$T/hang.py" "$T/hang.sock" "$T/hang.count"
mt_wait_socket "unix:$T/hang.sock" 10
use_config hang "av_scanners = clamd:$T/hang.sock"
t0=$(date +%s)
send hang clean "451 4.7.1" "virus scanning failed"
took=$(($(date +%s) - t0))
if [ "$took" -lt 2 ] || [ "$took" -gt 30 ]; then
	fail "hang answered after $took s (clamd_timeout = 3s)"
fi
[ "$(cat "$T/hang.count")" -ge 1 ] || fail "mavisd never connected to the hanging clamd"
grep -q "hang.sock av-scanner FAILED" "$LOG" || fail "no FAILED line for the hanging clamd"
nothing_new
pf_unspawn "$T" hang || true

# ---------------------------------------------------------------- D. recovery
phase "D: clamd back, queued mail delivered scanned"
start_clamd
use_config clamd "av_scanners = clamd:$T/clamd.sock"
pf_reload "$T"		# pickup scans maildrop again at once
delivered queued-while-down
pf_wait_queue "$T" 0 20 || fail "mail left in the queue"

# ---------------------------------------------------------------- E. corrupt / removed DB
# The whole sequence with the shipped setting (av_degraded_start = yes); a
# corrupt file also without it.
for degraded in yes no; do
	phase "E: in-process engine, broken signature updates, av_degraded_start = $degraded"
	db="$T/db-$degraded"
	mkdir "$db"
	cp "$MAVIS_SOURCE_DIR"/t/data/clamav/*.?db "$db/"
	use_config "clamav-$degraded" "av_scanners = clamav
clamav_database_dir = $db
av_degraded_start = $degraded"
	send "eicar-$degraded-0" eicar "554 5.7.0" "INFECTED: Eicar-Signature"
	send "clean-$degraded-0" clean 250
	delivered "clean-$degraded-0"
	degraded_lines=$(logcount "running degraded")
	step=0
	breakages="corrupt empty removed"
	[ "$degraded" = yes ] || breakages=corrupt
	for breakage in $breakages; do
		step=$((step + 1))
		case $breakage in
		corrupt) printf 'this is not a signature database\n' >"$db/broken.ndb" ;;
		empty) rm -f "$db"/* ;;
		removed) rm -rf "$db" ;;
		esac
		kept=$(logcount "ClamAV signature reload failed, keeping the old engine")
		usr1
		[ "$(logcount "running degraded")" = "$degraded_lines" ] ||
			fail "$breakage database: mavisd went degraded instead of keeping the old engine"
		[ "$(logcount "ClamAV signature reload failed, keeping the old engine")" -gt "$kept" ] ||
			fail "$breakage database: no 'keeping the old engine' line"
		send "eicar-$degraded-$step" eicar "554 5.7.0" "INFECTED: Eicar-Signature"
		send "clean-$degraded-$step" clean 250
		delivered "clean-$degraded-$step"
	done
	# a good database again: reloaded, still detecting
	rm -rf "$db"
	mkdir "$db"
	cp "$MAVIS_SOURCE_DIR"/t/data/clamav/*.?db "$db/"
	ok=$(logcount "ClamAV signatures reloaded")
	usr1
	[ "$(logcount "ClamAV signatures reloaded")" -gt "$ok" ] || fail "the repaired database was not loaded"
	send "eicar-$degraded-fixed" eicar "554 5.7.0" "INFECTED: Eicar-Signature"
done
nothing_new

# ---------------------------------------------------------------- F. backup scanner
phase "F: primary clamd down, backup clamav"
pf_unspawn "$T" clamd || true
use_config backup "av_scanners = clamd:$T/clamd.sock
av_scanners_backup = clamav
clamav_database_dir = $MAVIS_SOURCE_DIR/t/data/clamav"
send backup-clean clean 250
delivered backup-clean
send backup-eicar eicar "554 5.7.0" "INFECTED: Eicar-Signature"
grep -q "all primary virus scanners failed, considering backups" "$LOG" ||
	fail "no 'considering backups' line"
grep -q "clamav av-scanner: CLEAN" "$LOG" || fail "the backup clamav did not scan"

# ---------------------------------------------------------------- G. pass on failure
phase "G: on_scanner_failure = pass"
use_config pass "av_scanners = clamd:$T/clamd.sock
on_scanner_failure = pass"
send unchecked-pass clean 250
delivered unchecked-pass unchecked
nothing_new

# ---------------------------------------------------------------- H. reload under load
# 100 messages with concurrent reloads (the default); 40 with serial ones.
for concurrent in yes no; do
	half=50
	[ "$concurrent" = yes ] || half=20
	phase "H: $((2 * half)) messages while reloading signatures, clamav_concurrent_reload = $concurrent"
	db="$T/db-load-$concurrent"
	mkdir "$db"
	cp "$MAVIS_SOURCE_DIR"/t/data/clamav/*.?db "$db/"
	use_config "load-$concurrent" "av_scanners = clamav
clamav_database_dir = $db
clamav_concurrent_reload = $concurrent"
	mkmsg "$T/load-clean-$concurrent.eml" "load-clean-$concurrent" clean
	mkmsg "$T/load-eicar-$concurrent.eml" "load-eicar-$concurrent" eicar
	reloads=$(logcount "ClamAV signatures reloaded")
	blocked=$(logcount "Blocked INFECTED.*load-eicar-$concurrent@")
	pf_smtpsend "$T" --from sender@example.net --to rcpt@example.com "$T/load-clean-$concurrent.eml" \
		--count "$half" --concurrency 2 --expect 250 >"$T/load-clean.out" 2>&1 &
	pid_clean=$!
	pf_smtpsend "$T" --from sender@example.net --to rcpt@example.com "$T/load-eicar-$concurrent.eml" \
		--count "$half" --concurrency 2 --expect 554 >"$T/load-eicar.out" 2>&1 &
	pid_eicar=$!
	for i in 1 2 3 4 5; do
		pf_sleep 0.4
		# a new signature file each time: the reload really loads
		hex=$(printf 'MAVIS-LOAD-%s-%s' "$concurrent" "$i" | od -An -tx1 | tr -d ' \n')
		echo "Mavis.Test.Load-$concurrent-$i:0:*:$hex" >"$db/load$i.ndb"
		kill -USR1 "$(pf_spawn_pid "$T" mavisd)"
	done
	rc_clean=0 rc_eicar=0
	wait "$pid_clean" || rc_clean=$?
	wait "$pid_eicar" || rc_eicar=$?
	echo "  clean: $(tr '\n' ' ' <"$T/load-clean.out")"
	echo "  eicar: $(tr '\n' ' ' <"$T/load-eicar.out")"
	[ "$rc_clean" = 0 ] || fail "clean load: not every message got 250: $(cat "$T/load-clean.out")"
	[ "$rc_eicar" = 0 ] || fail "EICAR load: not every message got 554: $(cat "$T/load-eicar.out")"
	grep -q "^SENT ok=$half tempfail=0 reject=0 error=0" "$T/load-clean.out" || fail "clean load lost messages"
	grep -q "^SENT ok=0 tempfail=0 reject=$half error=0" "$T/load-eicar.out" || fail "EICAR load lost messages"
	DELIVERED=$((DELIVERED + half))
	pf_wait_delivered "$T" "$DELIVERED" 60 || fail "not all $half clean messages arrived"
	n=$(python3 "$PF_LIBDIR/sinkfind.py" "$T/sink" "$(cat "$T/sink.pid")" --subject "load-clean-$concurrent" | cut -f1)
	[ "$n" = "$half" ] || fail "$n copies of load-clean-$concurrent in the sink, expected $half"
	wait_log "Blocked INFECTED.*load-eicar-$concurrent@" $((blocked + half - 1))
	[ "$(logcount "Blocked INFECTED.*load-eicar-$concurrent@")" = $((blocked + half)) ] ||
		fail "mavisd logged $(($(logcount "Blocked INFECTED.*load-eicar-$concurrent@") - blocked)) blocked EICAR messages, expected $half"
	wait_log "ClamAV signatures reloaded" "$reloads"
	counts=$(grep -o "ClamAV signatures reloaded: [0-9]* -> [0-9]*" "$LOG" | tail -n +$((reloads + 1)) |
		sed 's/.*: //; s/ //g' | tr '\n' ' ')
	echo "  $(($(logcount "ClamAV signatures reloaded") - reloads)) reloads during the load: $counts"
	# The signature check loads the new files (N -> N+k); the configuration
	# reload before it only shares the running engine, it does not load
	# them itself (twice per signal, the first beside the old engine).
	grep -o "ClamAV signatures reloaded: [0-9]* -> [0-9]*" "$LOG" | tail -n +$((reloads + 1)) |
		awk '$4 > $6 { bad = 1 } $6 > $4 { grew = 1 } END { exit !(grew && !bad) }' ||
		fail "no reload during the load loaded the new signature files"
done
nothing_new

# ---------------------------------------------------------------- I. no usable database
phase "I: no usable database: refuse to start, or run degraded (451) until repaired"
mkdir "$T/db-broken"
printf 'this is not a signature database\n' >"$T/db-broken/broken.ndb"
# I1. av_degraded_start = no: a second mavisd (not the one Postfix uses)
# refuses to start and says why in one line.
RPORT=$(pf_free_port)
printf '%s\nmilter_socket = inet:%s@127.0.0.1\nav_scanners = clamav\nclamav_database_dir = %s\nav_degraded_start = no\n' \
	"$(printf '%s\n' "$BASE_CONF" | grep -v '^milter_socket')" "$RPORT" "$T/db-broken" >"$T/mavisd-refuse.conf"
pf_spawn "$T" refuse "$MAVISD" -f -c "$T/mavisd-refuse.conf"
i=0
while pf_alive "$(pf_spawn_pid "$T" refuse)" && [ $i -lt 300 ]; do
	pf_sleep 0.1
	i=$((i + 1))
done
rc=0
pf_unspawn "$T" refuse || rc=$?
[ "$rc" != 0 ] || fail "mavisd started without a usable signature database"
grep -q "cannot start: .*broken.ndb" "$T/spawn/refuse.log" ||
	fail "no clear 'cannot start' line: $(cat "$T/spawn/refuse.log")"
echo "  refused to start (exit $rc): $(grep "cannot start" "$T/spawn/refuse.log" | cut -c1-120)..."
# I2. av_degraded_start = yes (the running mavisd, switched to the broken
# directory): up, but every message 451 until the database is repaired.
use_config degraded "av_scanners = clamav
clamav_database_dir = $T/db-broken
av_degraded_start = yes"
grep -q "running degraded: .*broken.ndb" "$LOG" || fail "no 'running degraded' line"
send degraded-1 clean "451 4.7.1" "virus scanning failed"
send degraded-2 eicar "451 4.7.1" "virus scanning failed"
nothing_new
cp "$MAVIS_SOURCE_DIR"/t/data/clamav/*.?db "$T/db-broken/"
rm "$T/db-broken/broken.ndb"
usr1
send repaired-clean clean 250
delivered repaired-clean
send repaired-eicar eicar "554 5.7.0" "INFECTED: Eicar-Signature"

# ---------------------------------------------------------------- verdict
phase "end"
all_scanned
if grep -E "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|panic:" "$LOG"; then
	fail "mavisd log shows a sanitizer report"
fi
pf_stop_postfix "$T"
pf_unspawn "$T" mavisd || fail "mavisd exited with status $?"
echo "PASS test_av_faults: $DELIVERED delivered, all scanned or tagged, 0 unscanned ($(($(date +%s) - START)) s)"
