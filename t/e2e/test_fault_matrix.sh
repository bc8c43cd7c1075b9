#!/bin/sh
# Fault matrix (issue 10): one row per fault, through a real Postfix
# (smtpd_milters and non_smtpd_milters, milter_default_action = tempfail) in
# front of mavisd running as daemon_user nobody with the in-process ClamAV
# engine. Acceptance: 0 messages lost, 0 passed unchecked. Every message sent
# is in the end either delivered once with X-Virus-Scanned (clean mail), or
# rejected (viruses), or still in the Postfix queue; one that was tempfailed
# is sent again by the test (an SMTP client's retry) or left to Postfix
# (sendmail(1)) once the fault is repaired. The ledger is checked against the
# sink and the queue at the end.
#   T. tmp_dir unwritable: a message spooled to disk is tempfailed (SMTP 451,
#      sendmail copy stays queued); delivered scanned after the repair;
#   Q. quarantine_dir unwritable: a virus to quarantine is tempfailed, then
#      rejected (and quarantined) after the repair;
#   F. quarantine_dir full (a 1 MiB tmpfs filled up): likewise;
#   K. the filter process SIGKILLed mid-message (at the final dot): 451, the
#      supervisor restarts it, the retry is delivered scanned;
#   S. reload storm under load: SIGUSR1 every 50 ms while 30 messages go
#      through over 3 connections and 4 by sendmail(1), the filter killed
#      once in the storm: every clean one delivered scanned, every virus
#      rejected, no filter death by a reload signal;
#   M. malformed config on reload: the old config is kept (logged), mail is
#      still scanned with it; a repaired file is taken again.
# Rows covered by test_av_faults.sh and not repeated here: the ClamAV engine
# unloadable (its phases E and I), clamd down (B) and hanging (C), reloads
# of new signatures under load (H).
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVIS_BUILD_DIR:=$MAVIS_SOURCE_DIR/build}"
: "${MAVISD:=$MAVIS_BUILD_DIR/milter/mavisd}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
. "$MAVIS_SOURCE_DIR/t/lib/milter.sh"
pf_require_root
getent passwd nobody >/dev/null || {
	echo "SKIP: no user nobody" >&2
	exit 77
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
START=$(date +%s)
phase_t=$START
row() {
	_now=$(date +%s)
	echo "--- row $* (previous took $((_now - phase_t)) s)"
	phase_t=$_now
}

T=$(pf_mktemp e2e-faults)
pf_cleanup_on_exit "$T"
QDIR=$T/quarantine
mkdir -p "$QDIR" "$T/mavis-tmp"
# The quarantine lives on a small tmpfs of its own, so that row F can fill it.
mount -t tmpfs -o "size=1m,mode=0750,uid=$(id -u nobody)" mavis-test-quarantine "$QDIR" ||
	fail "cannot mount a tmpfs on $QDIR"
trap '_rc=$?; umount "$QDIR" 2>/dev/null || true; pf__on_exit $_rc' EXIT
MPORT=$(pf_free_port)
LOG="$T/spawn/mavisd.log"

conf() { # extra lines
	cat >"$T/mavisd.conf.new" <<CONF
myhostname = mx.mavis.test
milter_socket = inet:$MPORT@127.0.0.1
daemon_user = nobody
tmp_dir = $T/mavis-tmp
body_memory_limit = 64K
shutdown_timeout = 5s
local_domains_maps = .example.com
av_scanners = clamav
clamav_database_dir = $MAVIS_SOURCE_DIR/t/data/clamav
clamav_reload_check_interval = 0
final_virus_destiny = reject
quarantine_dir = $QDIR
quarantine_subdir_levels = 0
$1
CONF
	mv -f "$T/mavisd.conf.new" "$T/mavisd.conf"
}
conf ""
pf_spawn "$T" mavisd "$MAVISD" -f -c "$T/mavisd.conf"
echo 20 >"$T/spawn/mavisd.grace"
mt_wait_socket "inet:$MPORT@127.0.0.1" 30 || fail "mavisd did not start: $(tail -n 20 "$LOG")"
pf_start "$T" \
	"smtpd_milters = inet:127.0.0.1:$MPORT" \
	"non_smtpd_milters = inet:127.0.0.1:$MPORT" \
	"milter_default_action = tempfail" \
	"milter_protocol = 6"
echo "postfix on $PF_SMTP_PORT, mavisd $MPORT, sink $SINK_PORT"

logcount() { grep -Ec -- "$1" "$LOG" 2>/dev/null || true; }
wait_log() { # REGEX BEFORE [TIMEOUT]
	_end=$(($(date +%s) + ${3:-30}))
	while [ "$(logcount "$1")" -le "$2" ]; do
		[ "$(date +%s)" -lt "$_end" ] || fail "no new '$1' in the mavisd log: $(tail -n 20 "$LOG")"
		pf_sleep 0.1
	done
}
filter_pid() { ps -o pid= --ppid "$(pf_spawn_pid "$T" mavisd)" | awk 'NR == 1 { print $1 }'; }
# Until a (new) filter process listens again.
wait_filter() {
	_i=0
	while [ $_i -lt 150 ]; do
		_c=$(filter_pid)
		[ -n "$_c" ] && pf_listening "$MPORT" "$_c" && return 0
		pf_sleep 0.1
		_i=$((_i + 1))
	done
	fail "the filter process did not come back: $(tail -n 20 "$LOG")"
}

# ---- messages and the ledger
LEDGER=$T/ledger	# SUBJECT clean|virus: every message that ever left the test
mkmsg() { # FILE SUBJECT clean|virus|big
	{
		printf 'From: Sender <sender@example.net>\nTo: <rcpt@example.com>\n'
		printf 'Subject: %s\nDate: %s\nMessage-ID: <%s@faults.mavis.test>\n\n' "$2" "$(date -R)" "$2"
		case $3 in
		virus) printf 'MAVIS-TEST-VIRUS-STRING\n' ;;
		big) awk 'BEGIN { for (i = 0; i < 3000; i++) printf "line %05d of a message spooled to tmp_dir\n", i }' ;;
		*) printf 'Nothing to see here (%s).\n' "$2" ;;
		esac
	} >"$1"
}
note() { # SUBJECT KIND: into the ledger once (a big message is clean)
	_k=$2
	[ "$_k" = big ] && _k=clean
	grep -qx "$1 $_k" "$LEDGER" 2>/dev/null || echo "$1 $_k" >>"$LEDGER"
}
# send SUBJECT KIND EXPECT: over SMTP; the answer must be EXPECT (a code prefix).
send() {
	[ -f "$T/m-$1.eml" ] || mkmsg "$T/m-$1.eml" "$1" "$2"
	note "$1" "$2"
	_out=$(pf_smtpsend "$T" --from sender@example.net --to rcpt@example.com "$T/m-$1.eml" \
		--expect "$3") || fail "$1: expected $3, got: $_out"
	printf '%s\n' "$_out" | grep '^RESULT' | sed "s/^/  $1: /"
	case $3 in 5*) echo "$1" >>"$T/rejected" ;; esac
}
# by_sendmail SUBJECT KIND: through pickup (non_smtpd_milters)
by_sendmail() {
	mkmsg "$T/m-$1.eml" "$1" "$2"
	note "$1" "$2"
	pf_sendmail "$T" -i -f sender@example.net rcpt@example.com <"$T/m-$1.eml"
}
delivered() { # SUBJECT: there, once, scanned
	_got=$(python3 "$PF_LIBDIR/sinkfind.py" "$T/sink" "$(cat "$T/sink.pid")" --subject "$1" --wait 30)
	[ "$(printf '%s\n' "$_got" | cut -f1)" = 1 ] || fail "$1: $(printf '%s' "$_got" | cut -f1) copies in the sink"
	[ "$(printf '%s\n' "$_got" | cut -f2)" = "mavis at mx.mavis.test" ] ||
		fail "$1: delivered without a scan: $_got"
}

# ---------------------------------------------------------------- rows
row "T: tmp_dir unwritable"
mkmsg "$T/m-t-smtp.eml" t-smtp big
chmod 0500 "$T/mavis-tmp"
n=$(logcount "spool")
send t-smtp big 451
by_sendmail t-sendmail big
# (the pickup path's line is the one without proto=ESMTP at the end)
pf_wait_log "$T" 'milter-reject: END-OF-MESSAGE .* 4\.7\.1 .*to=<rcpt@example\.com>$' 20 ||
	fail "the sendmail copy was not tempfailed"
[ "$(logcount "spool")" -gt "$n" ] || fail "no spool failure logged: $(tail -n 5 "$LOG")"
[ "$(pf_queue_count "$T")" -ge 1 ] || fail "the sendmail copy left the queue"
chmod 0750 "$T/mavis-tmp"
send t-smtp big 250
pf_reload "$T"		# pickup looks at maildrop again
delivered t-smtp
delivered t-sendmail

row "Q: quarantine_dir unwritable"
chmod 0550 "$QDIR"
n=$(logcount "Can't quarantine")
send q-virus virus 451
[ "$(logcount "Can't quarantine")" -gt "$n" ] || fail "no quarantine failure logged"
chmod 0750 "$QDIR"
send q-virus virus 554
ls "$QDIR" | grep -q '^virus-' || fail "nothing quarantined after the repair"

row "F: quarantine_dir full"
dd if=/dev/zero of="$QDIR/fill" bs=64k 2>/dev/null || true
dd if=/dev/zero of="$QDIR/fill2" bs=4k 2>/dev/null || true
n=$(logcount "Can't quarantine")
send f-virus virus 451
[ "$(logcount "Can't quarantine")" -gt "$n" ] || fail "no quarantine failure logged"
rm -f "$QDIR/fill" "$QDIR/fill2"
send f-virus virus 554

row "K: filter SIGKILLed mid-message"
mkmsg "$T/m-k-clean.eml" k-clean clean
note k-clean clean
rm -f "$T/kflag.ready" "$T/kflag.go"
pf_smtpsend "$T" --from sender@example.net --to rcpt@example.com "$T/m-k-clean.eml" \
	--pause-at-dot "$T/kflag" --expect 4 >"$T/k.out" 2>&1 &
kpid=$!
i=0
while [ ! -f "$T/kflag.ready" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "smtpsend did not reach the dot"
	pf_sleep 0.1
done
victim=$(filter_pid)
kill -KILL "$victim"
touch "$T/kflag.go"
wait "$kpid" || fail "killed mid-message: $(cat "$T/k.out")"
grep '^RESULT' "$T/k.out" | sed 's/^/  k-clean: /'
wait_log "ended unexpectedly \(signal 9\)" 0
wait_filter
send k-clean clean 250
delivered k-clean

row "S: reload storm under load"
: >"$T/storm.list"
i=0
while [ $i -lt 30 ]; do
	kind=clean
	[ $((i % 3)) -eq 0 ] && kind=virus
	mkmsg "$T/m-s$i.eml" "s$i" "$kind"
	note "s$i" "$kind"
	echo "s$i sender@example.net rcpt@example.com $T/m-s$i.eml" >>"$T/storm.list"
	i=$((i + 1))
done
split -n l/3 "$T/storm.list" "$T/storm.part."
deaths=$(logcount "ended unexpectedly \(signal (10|12|1|15)\)")
reloads=$(logcount "configuration reloaded")
(
	while [ ! -f "$T/storm.stop" ]; do
		kill -USR1 "$(pf_spawn_pid "$T" mavisd)" 2>/dev/null || true
		sleep 0.05
	done
) &
storm=$!
senders=""
for p in "$T"/storm.part.*; do
	pf_smtpsend "$T" --batch "$p" --batch-out "$T" >"$p.out" 2>&1 &
	senders="$senders $!"
done
i=0
while [ $i -lt 4 ]; do
	by_sendmail "sm$i" clean
	i=$((i + 1))
done
pf_sleep 1
kill -KILL "$(filter_pid)" 2>/dev/null || true	# a restart inside the storm
wait_filter
pf_sleep 1
touch "$T/storm.stop"
wait "$storm" || true
for j in $senders; do wait "$j" || fail "smtpsend --batch failed"; done
reloads=$(($(logcount "configuration reloaded") - reloads))
echo "  $reloads reloads done during the storm"
[ "$reloads" -ge 5 ] || fail "only $reloads reloads during the storm"
[ "$(logcount "ended unexpectedly \(signal (10|12|1|15)\)")" = "$deaths" ] ||
	fail "a reload signal killed the filter: $(grep 'ended unexpectedly' "$LOG")"
# The batch answers: a clean one 250, a virus 554; one caught by the kill
# (451) is sent again, as a client would.
i=0
while [ $i -lt 30 ]; do
	res=$(grep '^RESULT' "$T/s$i.smtp" | cut -d' ' -f2)
	kind=virus
	[ $((i % 3)) -eq 0 ] || kind=clean
	case $res in
	4*)
		if [ "$kind" = virus ]; then send "s$i" virus 554; else send "s$i" clean 250; fi
		;;
	5*) [ "$kind" = virus ] || fail "s$i (clean) rejected: $(cat "$T/s$i.smtp")"
		echo "s$i" >>"$T/rejected" ;;
	2*) [ "$kind" = clean ] || fail "s$i (virus) accepted: $(cat "$T/s$i.smtp")" ;;
	*) fail "s$i: no answer: $(cat "$T/s$i.smtp")" ;;
	esac
	i=$((i + 1))
done
pf_reload "$T"		# sendmail copies a dying filter tempfailed: pickup again

row "M: malformed config on reload"
cp "$T/mavisd.conf" "$T/mavisd.conf.good"
printf 'this is = not\n  a config\nfinal_virus_destiny = maybe\n' >>"$T/mavisd.conf"
n=$(logcount "reload failed, keeping the running configuration")
kill -USR1 "$(pf_spawn_pid "$T" mavisd)"
wait_log "reload failed, keeping the running configuration" "$n"
send m-virus virus 554
send m-clean clean 250
mv -f "$T/mavisd.conf.good" "$T/mavisd.conf"
n=$(logcount "configuration reloaded")
kill -USR1 "$(pf_spawn_pid "$T" mavisd)"
wait_log "configuration reloaded" "$n"
send m-clean2 clean 250

# ---------------------------------------------------------------- ledger
row "ledger"
pf_flush "$T"
sent=$(wc -l <"$LEDGER")
rejected=$(sort -u "$T/rejected" | wc -l)
clean=$(grep -c ' clean$' "$LEDGER")
viruses=$(grep -c ' virus$' "$LEDGER")
[ "$rejected" -eq "$viruses" ] || fail "$viruses viruses sent, $rejected rejected"
pf_wait_delivered "$T" "$clean" 60 || fail "not every clean message arrived"
pf_wait_queue "$T" 0 30 || true
queued=$(pf_queue_count "$T")
while read -r subj kind; do
	[ "$kind" = clean ] && delivered "$subj"
done <"$LEDGER"
python3 "$PF_LIBDIR/sinkfind.py" "$T/sink" "$(cat "$T/sink.pid")" \
	--all-scanned "mavis at mx.mavis.test" >/dev/null || fail "mail delivered unscanned"
in_sink=$(pf_sink_count "$T")
echo "sent $sent: delivered scanned $in_sink, rejected $rejected, queued $queued"
[ "$in_sink" -eq "$clean" ] || fail "$in_sink messages in the sink, $clean clean ones sent"
[ $((in_sink + rejected + queued)) -eq "$sent" ] || fail "messages lost: $sent sent"
grep -E "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|panic:" "$LOG" && fail "sanitizer or panic in the log"
echo "PASS test_fault_matrix ($(($(date +%s) - START)) s)"
