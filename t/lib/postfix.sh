# t/lib/postfix.sh - private Postfix instance + smtp-sink on loopback for e2e tests.
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Source this file from a POSIX sh test (set -eu is fine):
#
#   . "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
#   T=$(pf_mktemp)                         # /tmp/mavis-e2e.XXXXXX, mode 0755
#   pf_cleanup_on_exit "$T"                # stop everything and rm -rf on any exit
#   pf_start "$T" "smtpd_milters = inet:127.0.0.1:$port"   # sink + Postfix
#   pf_smtpsend "$T" --from a@example.org --to b@example.com msg.eml --expect 250
#   pf_wait_delivered "$T" 1 20
#
# Layout of an instance directory DIR (everything the instance owns lives here):
#   DIR/etc/{main,master}.cf   config_directory (postfix -c DIR/etc)
#   DIR/queue  DIR/data        queue_directory, data_directory
#   DIR/maillog                Postfix log (maillog_file via postlogd)
#   DIR/sink/                  one file per message received by smtp-sink
#   DIR/sink.{pid,port,log}    smtp-sink bookkeeping
#   DIR/smtp.port DIR/master.pid DIR/postfix.log (output of postfix(1) commands)
#
#   DIR/spawn/NAME.{pid,log}   processes started with pf_spawn (e.g. mavisd)
#
# Requirements: root (postfix(1) is reserved for the superuser), Linux /proc
# (to tell finished sink files from ones still being written), ss(8), python3.
# Nothing here touches /etc/postfix or the system Postfix instance, and no
# process is ever killed by name: only by pids this library recorded.
#
# POSIX sh has no local variables: the functions use names starting with "_"
# as scratch space, so tests should not use such names themselves.

# Where the python helpers live. Tests set MAVIS_SOURCE_DIR (ctest does too).
PF_LIBDIR=${PF_LIBDIR:-${MAVIS_SOURCE_DIR:-.}/t/lib}
PF_PYTHON=${PF_PYTHON:-python3}
# Postfix commands by absolute path: PATH in CI may not contain /usr/sbin.
PF_POSTFIX=/usr/sbin/postfix
PF_POSTCONF=/usr/sbin/postconf
PF_POSTQUEUE=/usr/sbin/postqueue
PF_SENDMAIL=/usr/sbin/sendmail
PF_SMTP_SINK=/usr/sbin/smtp-sink
# User the sink drops to: smtp-sink refuses to run as root without -u.
PF_SINK_USER=${PF_SINK_USER:-nobody}

pf_die() {
	echo "postfix.sh: FATAL: $*" >&2
	exit 1
}

pf_note() {
	echo "postfix.sh: $*" >&2
}

# pf_require_root - a private Postfix needs root (postfix(1) is superuser-only).
# Exit 77 otherwise, which t/CMakeLists.txt maps to "skipped".
pf_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "postfix.sh: SKIP: e2e tests need root (postfix start is superuser-only)" >&2
		exit 77
	fi
}

# pf_mktemp [TAG] - private temp dir under /tmp, traversable by the postfix and
# sink users (mktemp -d makes it 0700, and Postfix daemons chdir into it).
pf_mktemp() {
	_d=$(mktemp -d "/tmp/mavis-${1:-e2e}.XXXXXX") || pf_die "mktemp failed"
	chmod 0755 "$_d"
	echo "$_d"
}

# pf_free_port - print a TCP port on 127.0.0.1 that nobody listens on now.
# Picked below the Linux ephemeral range (32768+) so outgoing connections of
# concurrent tests cannot grab it between our check and the real bind; the
# callers still retry when the bind loses a race.
pf_free_port() {
	"$PF_PYTHON" - <<'EOF'
import random, socket, sys
for _ in range(200):
    port = random.randrange(20000, 32000)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    sys.exit(0)
sys.exit("no free port found")
EOF
}

# pf_listening PORT PID - true when PID (or a process in its group) listens on
# 127.0.0.1:PORT. Checking the owner matters: someone else may hold the port.
pf_listening() {
	ss -Hltnp "( sport = :$1 )" 2>/dev/null | grep -q "pid=$2,"
}

# pf_alive PID - process exists and is not a zombie.
pf_alive() {
	[ -n "$1" ] || return 1
	kill -0 "$1" 2>/dev/null || return 1
	_st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $_st in Z*) return 1 ;; esac
	return 0
}

# pf_sleep - short sleep; GNU sleep takes fractions, fall back to 1s elsewhere.
pf_sleep() {
	sleep "${1:-0.2}" 2>/dev/null || sleep 1
}

# ---------------------------------------------------------------- smtp-sink

# pf_sink_start DIR [smtp-sink options...] - start smtp-sink on a free port.
# Each transaction goes to its own file DIR/sink/<time>.<hex> (-d): the file
# starts with X-Mail-Args (MAIL FROM) and one X-Rcpt-Args per RCPT TO, so tests
# see the envelope as Postfix delivered it (after smfi_delrcpt/addrcpt/chgfrom).
# Extra options go to smtp-sink, e.g. -r RCPT to answer 4xx to every RCPT.
pf_sink_start() {
	_dir=$1
	shift
	[ -d "$_dir" ] || pf_die "pf_sink_start: no directory $_dir"
	if [ -f "$_dir/sink.pid" ] && pf_alive "$(cat "$_dir/sink.pid")"; then
		pf_die "pf_sink_start: sink already running in $_dir"
	fi
	mkdir -p "$_dir/sink"
	_sinkopts=""
	if [ "$(id -u)" = 0 ]; then
		chown "$PF_SINK_USER" "$_dir/sink"
		_sinkopts="-u $PF_SINK_USER"
	fi
	_try=0
	while [ $_try -lt 5 ]; do
		_try=$((_try + 1))
		_port=$(pf_free_port) || pf_die "pf_sink_start: no free port"
		# -h: a greeting name other than Postfix's myhostname, or the smtp
		# client would bounce the mail as "loops back to myself".
		# shellcheck disable=SC2086 # _sinkopts is a word list on purpose
		"$PF_SMTP_SINK" $_sinkopts -h sink.mavis.test -d "$_dir/sink/%Y%m%d%H%M%S." \
			"$@" "127.0.0.1:$_port" 100 \
			</dev/null >>"$_dir/sink.log" 2>&1 &
		_pid=$!
		echo "$_pid" >"$_dir/sink.pid"
		_waited=0
		while [ $_waited -lt 50 ]; do
			if ! pf_alive "$_pid"; then
				break
			fi
			if pf_listening "$_port" "$_pid"; then
				echo "$_port" >"$_dir/sink.port"
				SINK_PORT=$_port
				SINK_PID=$_pid
				export SINK_PORT SINK_PID
				return 0
			fi
			pf_sleep 0.1
			_waited=$((_waited + 1))
		done
		# Died (port taken between check and bind) or never listened: retry.
		kill "$_pid" 2>/dev/null || true
		wait "$_pid" 2>/dev/null || true
		pf_note "smtp-sink on port $_port did not come up (try $_try): $(tail -n 3 "$_dir/sink.log")"
	done
	pf_die "pf_sink_start: smtp-sink would not start; log: $(cat "$_dir/sink.log")"
}

pf_sink_stop() {
	_dir=$1
	[ -f "$_dir/sink.pid" ] || return 0
	_pid=$(cat "$_dir/sink.pid")
	if pf_alive "$_pid"; then
		kill "$_pid" 2>/dev/null || true
		_i=0
		while pf_alive "$_pid" && [ $_i -lt 25 ]; do
			pf_sleep 0.1
			_i=$((_i + 1))
		done
		pf_alive "$_pid" && kill -9 "$_pid" 2>/dev/null
	fi
	# Reap it when it is our child, so no zombie is left for the pid checks.
	wait "$_pid" 2>/dev/null || true
	rm -f "$_dir/sink.pid"
}

# ---------------------------------------------------------------- other daemons

# pf_spawn DIR NAME COMMAND [ARGS...] - run COMMAND in the background with its
# output in DIR/spawn/NAME.log and its pid in DIR/spawn/NAME.pid, so that
# pf_stop (and thus pf_cleanup_on_exit) stops it too. For mavisd and friends:
#   pf_spawn "$T" mavisd "$MAVISD" -f -c "$T/mavisd.conf"
#   mt_wait_socket "inet:$mport@127.0.0.1" 10
pf_spawn() {
	_sp_dir=$1 _sp_name=$2
	shift 2
	mkdir -p "$_sp_dir/spawn"
	if [ -f "$_sp_dir/spawn/$_sp_name.pid" ] && pf_alive "$(cat "$_sp_dir/spawn/$_sp_name.pid")"; then
		pf_die "pf_spawn: $_sp_name already running in $_sp_dir"
	fi
	"$@" </dev/null >>"$_sp_dir/spawn/$_sp_name.log" 2>&1 &
	echo $! >"$_sp_dir/spawn/$_sp_name.pid"
}

# pf_spawn_pid DIR NAME - pid of a pf_spawn'ed process (empty if none).
pf_spawn_pid() {
	cat "$1/spawn/$2.pid" 2>/dev/null || true
}

# pf_unspawn DIR NAME [SIGNAL] - stop it (TERM, KILL after 5 s, or after the
# seconds in DIR/spawn/NAME.grace) and reap it. When it has to be killed, its
# child processes are killed too (by pid, from ps --ppid), so a supervisor
# such as mavisd leaves no orphan behind. Returns the process's exit status
# when it was our child, else 0.
pf_unspawn() {
	_sp_dir=$1 _sp_name=$2 _sp_sig=${3:-TERM}
	_sp_pid=$(pf_spawn_pid "$_sp_dir" "$_sp_name")
	[ -n "$_sp_pid" ] || return 0
	_sp_grace=$(cat "$_sp_dir/spawn/$_sp_name.grace" 2>/dev/null || echo 5)
	_sp_i=0
	if pf_alive "$_sp_pid"; then
		kill "-$_sp_sig" "$_sp_pid" 2>/dev/null || true
		while pf_alive "$_sp_pid" && [ $_sp_i -lt $((_sp_grace * 10)) ]; do
			pf_sleep 0.1
			_sp_i=$((_sp_i + 1))
		done
		if pf_alive "$_sp_pid"; then
			_sp_kids=$(ps -o pid= --ppid "$_sp_pid" 2>/dev/null || true)
			pf_note "$_sp_name ($_sp_pid) ignored SIG$_sp_sig for $_sp_grace s, killing it${_sp_kids:+ and its children}"
			kill -9 "$_sp_pid" 2>/dev/null || true
			# shellcheck disable=SC2086 # a list of pids
			[ -z "$_sp_kids" ] || kill -9 $_sp_kids 2>/dev/null || true
		fi
	fi
	rm -f "$_sp_dir/spawn/$_sp_name.pid"
	_sp_rc=0
	wait "$_sp_pid" 2>/dev/null || _sp_rc=$?
	# 127: not our child (started by another shell), nothing to report.
	[ "$_sp_rc" = 127 ] && _sp_rc=0
	return "$_sp_rc"
}

# pf_sink_count DIR - number of complete messages in the sink. A file the sink
# still holds open is a transaction in progress (smtp-sink creates it at MAIL
# FROM and closes it before answering the final dot), so it is not counted.
pf_sink_count() {
	_sk_pid=$(cat "$1/sink.pid" 2>/dev/null || true)
	"$PF_PYTHON" "$PF_LIBDIR/sinkmsg.py" "$1/sink" --count ${_sk_pid:+--sink-pid "$_sk_pid"}
}

# pf_sink_list DIR - one line per complete message (see sinkmsg.py --list):
# FILE<TAB>SENDER (<> if null)<TAB>RCPT,RCPT...<TAB>Subject, oldest first.
pf_sink_list() {
	_sk_pid=$(cat "$1/sink.pid" 2>/dev/null || true)
	"$PF_PYTHON" "$PF_LIBDIR/sinkmsg.py" "$1/sink" --list ${_sk_pid:+--sink-pid "$_sk_pid"}
}

# pf_sink_new DIR N TIMEOUT - wait until N messages arrived in the sink since
# the last pf_sink_new call (or the start), print their files, oldest first,
# and mark them seen. Fails (with a dump) on timeout, and when more than N
# arrived: tests that send one thing at a time get exact accounting.
pf_sink_new() {
	_sn_dir=$1 _sn_want=$2 _sn_tmo=$3
	touch "$_sn_dir/sink.seen"
	_sn_end=$(($(date +%s) + _sn_tmo))
	while :; do
		pf_sink_list "$_sn_dir" | cut -f1 | grep -vxF -f "$_sn_dir/sink.seen" >"$_sn_dir/sink.new" || true
		_sn_n=$(wc -l <"$_sn_dir/sink.new")
		[ "$_sn_n" -ge "$_sn_want" ] && break
		if [ "$(date +%s)" -ge "$_sn_end" ]; then
			pf_note "pf_sink_new: $_sn_n of $_sn_want new messages in the sink after ${_sn_tmo}s"
			pf_dump "$_sn_dir" >&2
			return 1
		fi
		pf_sleep 0.2
	done
	cat "$_sn_dir/sink.new" >>"$_sn_dir/sink.seen"
	if [ "$_sn_n" -gt "$_sn_want" ]; then
		pf_note "pf_sink_new: $_sn_n new messages in the sink, expected $_sn_want:"
		cat "$_sn_dir/sink.new" >&2
		return 1
	fi
	cat "$_sn_dir/sink.new"
}

# pf_sink_arrived DIR N TIMEOUT - pf_sink_new, then split the N new messages
# with one sinkmsg.py --split into DIR/split/: for each, NAME.env (MAIL/RCPT
# lines), NAME.hdr (raw header section), NAME.body; DIR/split/ids maps NAME
# to Message-ID for pf_sink_msg. One python start for all the checks.
pf_sink_arrived() {
	_sa_files=$(pf_sink_new "$1" "$2" "$3") || return 1
	mkdir -p "$1/split"
	# shellcheck disable=SC2086 # one argument per file
	"$PF_PYTHON" "$PF_LIBDIR/sinkmsg.py" --split "$1/split" $_sa_files >"$1/split/ids"
}

# pf_sink_msg DIR MESSAGE-ID - DIR/split/NAME of the one message of the last
# pf_sink_arrived with that Message-ID (fails unless there is exactly one).
pf_sink_msg() {
	_sm_n=$(awk -F '\t' -v id="$2" '$2 == id { print $1 }' "$1/split/ids")
	if [ "$(printf '%s\n' "$_sm_n" | grep -c .)" != 1 ]; then
		pf_note "pf_sink_msg: not one new message with Message-ID $2: '$_sm_n'"
		return 1
	fi
	echo "$1/split/$_sm_n"
}

# pf_sink_seen DIR - mark every message now in the sink as seen (after a
# bulk check with pf_wait_delivered / pf_sink_count).
pf_sink_seen() {
	pf_sink_list "$1" | cut -f1 >>"$1/sink.seen"
}

# pf_sink_none DIR [SECONDS] - nothing new arrived in the sink, also after
# waiting SECONDS (default 1) for stragglers.
pf_sink_none() {
	pf_sleep "${2:-1}"
	touch "$1/sink.seen"
	_sn_new=$(pf_sink_list "$1" | cut -f1 | grep -vxF -f "$1/sink.seen" || true)
	if [ -n "$_sn_new" ]; then
		pf_note "pf_sink_none: $(printf '%s\n' "$_sn_new" | wc -l) unexpected messages in the sink, the first ones:"
		printf '%s\n' "$_sn_new" | head -n 5 | while IFS= read -r _f; do
			pf_note "  $_f: $("$PF_PYTHON" "$PF_LIBDIR/sinkmsg.py" --envelope "$_f" | tr '\n' ' ')"
		done
		return 1
	fi
	return 0
}

# ---------------------------------------------------------------- Postfix

# pf_postconf DIR postconf-args... - postconf(1) on the instance, e.g.
# pf_postconf DIR -e "milter_default_action = accept"; then pf_reload DIR.
pf_postconf() {
	_pc_dir=$1
	shift
	"$PF_POSTCONF" -c "$_pc_dir/etc" "$@" || return $?
	pf_cool "$_pc_dir"
}

# pf_cool DIR - backdate main.cf and master.cf by 3 s. Every Postfix program
# re-reads a main.cf modified within the last second, 300 ms at a time, until
# it has "cooled down" (dict_load_file: protection against reading a file in
# the middle of an edit). Right after an edit, 'postfix check', 'start' and
# 'reload' each lost 1-2 s to that. postconf -e replaces the file atomically
# (rename), so there is nothing half-written to protect here.
pf_cool() {
	_past=$(($(date +%s) - 3))
	for _f in "$1/etc/main.cf" "$1/etc/master.cf"; do
		[ -f "$_f" ] && touch -d "@$_past" "$_f"
	done
	return 0
}

# pf_write_master DIR PORT - master.cf of the private instance. Every service
# is non-chrooted (chroot would need copies of libs and /etc files inside the
# queue dir); local and virtual delivery are left out on purpose: nothing
# should ever be delivered on this host.
pf_write_master() {
	cat >"$1/etc/master.cf" <<EOF
# Generated by t/lib/postfix.sh for a private test instance.
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$2 inet n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/\$service_name
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# pf_prepare DIR [main.cf lines...] - write the configuration of a private
# instance without starting it (starts the sink when it is not running yet,
# since relayhost needs its port). Tests that need master.cf changes call this,
# edit with pf_postconf DIR -M/-P/-e ..., then pf_launch DIR.
pf_prepare() {
	_dir=$1
	shift
	[ "$(id -u)" = 0 ] || pf_die "a private Postfix instance needs root (postfix(1) is superuser-only)"
	[ -d "$_dir" ] || pf_die "pf_prepare: no directory $_dir"
	case $_dir in /*) ;; *) pf_die "pf_prepare: $_dir is not absolute (postfix -c requires that)" ;; esac
	# Postfix daemons run as 'postfix' and must traverse DIR to reach the queue.
	chmod 0755 "$_dir"
	if ! { [ -f "$_dir/sink.port" ] && [ -f "$_dir/sink.pid" ] && pf_alive "$(cat "$_dir/sink.pid")"; }; then
		pf_sink_start "$_dir"
	fi
	SINK_PORT=$(cat "$_dir/sink.port")
	export SINK_PORT
	# postfix-script cds into the queue dir before post-install creates it;
	# data_directory is left to post-install, which makes it postfix-owned.
	mkdir -p "$_dir/etc" "$_dir/queue"
	chmod 0755 "$_dir/etc"
	# main.cf must exist for postconf -e; master.cf gets the port at launch
	# (smtpd.cur remembers which 127.0.0.1:PORT line is ours to rewrite).
	: >"$_dir/etc/main.cf"
	pf_write_master "$_dir" 0
	echo 0 >"$_dir/smtpd.cur"
	# Lines are "name = value"; postconf -e takes them as separate arguments.
	# Why each group is here:
	# - own queue/data dirs: nothing shared with a system instance;
	# - mydestination empty + no local/virtual: every recipient is relayed to
	#   the sink, including postmaster notices;
	# - relayhost in brackets, no DNS: loopback only, works without resolv.conf;
	# - maillog_file: Postfix >= 3.4 logs through postlogd to a file we can
	#   read; maillog_file_prefixes must allow DIR or postfix refuses the path;
	# - short queue timers so deferred mail is retried within a test's time;
	# - smtpd_error_sleep_time 0 so tempfail/reject answers come back at once.
	pf_postconf "$_dir" -e \
		"compatibility_level = 3.6" \
		"queue_directory = $_dir/queue" \
		"data_directory = $_dir/data" \
		"mail_owner = postfix" \
		"setgid_group = postdrop" \
		"myhostname = mta.mavis.test" \
		"mydomain = mavis.test" \
		"myorigin = \$myhostname" \
		"mydestination =" \
		"inet_interfaces = 127.0.0.1" \
		"inet_protocols = ipv4" \
		"mynetworks = 127.0.0.0/8" \
		"relay_domains = example.com example.net example.org" \
		"relayhost = [127.0.0.1]:$SINK_PORT" \
		"default_transport = smtp" \
		"relay_transport = relay" \
		"local_transport = error:5.1.1 local delivery is disabled in this test instance" \
		"virtual_transport = error:5.1.1 virtual delivery is disabled in this test instance" \
		"alias_maps =" \
		"alias_database =" \
		"local_recipient_maps =" \
		"smtp_host_lookup = native" \
		"smtp_dns_support_level = disabled" \
		"smtp_tls_security_level = none" \
		"smtpd_tls_security_level = none" \
		"smtputf8_enable = no" \
		"biff = no" \
		"append_dot_mydomain = no" \
		"smtpd_banner = \$myhostname ESMTP mavis-e2e" \
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
		"maillog_file = $_dir/maillog" \
		"maillog_file_prefixes = $_dir" \
		"import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME" \
		"queue_run_delay = 1s" \
		"minimal_backoff_time = 2s" \
		"maximal_backoff_time = 4s" \
		"delay_warning_time = 0h" \
		"smtp_connect_timeout = 5s" \
		"smtpd_error_sleep_time = 0s" \
		"smtpd_soft_error_limit = 1000" \
		"smtpd_hard_error_limit = 1000" \
		"in_flow_delay = 0s"
	for _line in "$@"; do
		pf_postconf "$_dir" -e "$_line" || pf_die "pf_prepare: postconf -e '$_line' failed"
	done
}

# pf_launch DIR - check and start a prepared instance; smtpd listens on a free
# port exported as PF_SMTP_PORT (also in DIR/smtp.port).
pf_launch() {
	_dir=$1
	[ -f "$_dir/etc/main.cf" ] || pf_die "pf_launch: $_dir is not prepared (pf_prepare)"
	_try=0
	while [ $_try -lt 5 ]; do
		_try=$((_try + 1))
		_port=$(pf_free_port) || pf_die "pf_launch: no free port"
		# Only our smtpd line changes between tries; the rest of master.cf
		# may carry test edits (pf_postconf -M, maybe a second smtpd), so
		# rewrite just that line.
		_old=$(cat "$_dir/smtpd.cur")
		sed -i "s/^127\.0\.0\.1:$_old /127.0.0.1:$_port /" "$_dir/etc/master.cf"
		echo "$_port" >"$_dir/smtpd.cur"
		pf_cool "$_dir"
		# Misspelt parameters only show up as "unused parameter" warnings.
		"$PF_POSTCONF" -c "$_dir/etc" -n 2>&1 >/dev/null | while IFS= read -r _w; do
			pf_note "$_w"
		done
		if ! "$PF_POSTFIX" -c "$_dir/etc" check </dev/null >>"$_dir/postfix.log" 2>&1; then
			pf_die "pf_launch: 'postfix -c $_dir/etc check' failed:
$(cat "$_dir/postfix.log")
$(pf_log_tail "$_dir")"
		fi
		# 'postfix start' would repeat the whole check (0.4 s); quick-start is
		# postfix-script's own marker for "checks already done".
		touch "$_dir/queue/quick-start"
		if "$PF_POSTFIX" -c "$_dir/etc" start </dev/null >>"$_dir/postfix.log" 2>&1; then
			_mpid=$(awk '{ print $1; exit }' "$_dir/queue/pid/master.pid" 2>/dev/null || true)
			[ -n "$_mpid" ] || pf_die "pf_launch: no master.pid after start"
			echo "$_mpid" >"$_dir/master.pid"
			# master -w returns after its own init; smtpd is master's socket.
			_i=0
			while [ $_i -lt 50 ]; do
				if pf_listening "$_port" "$_mpid"; then
					echo "$_port" >"$_dir/smtp.port"
					PF_SMTP_PORT=$_port
					export PF_SMTP_PORT
					return 0
				fi
				pf_sleep 0.1
				_i=$((_i + 1))
			done
			pf_note "master $_mpid is not listening on $_port"
			pf_stop_postfix "$_dir"
		fi
		if grep -q "Address already in use" "$_dir/maillog" "$_dir/postfix.log" 2>/dev/null; then
			pf_note "port $_port taken (try $_try), retrying"
			# Keep the evidence but let the next try start clean.
			mv "$_dir/maillog" "$_dir/maillog.try$_try" 2>/dev/null || true
			continue
		fi
		pf_die "pf_launch: Postfix in $_dir did not start:
$(cat "$_dir/postfix.log")
$(pf_log_tail "$_dir")"
	done
	pf_die "pf_launch: no usable smtpd port after $_try tries"
}

# pf_start DIR [main.cf lines...] - pf_prepare + pf_launch.
pf_start() {
	pf_prepare "$@"
	pf_launch "$1"
}

# pf_reload DIR - 'postfix reload' after pf_postconf changes. smtpd and cleanup
# processes pick up the new main.cf when they are next started; master
# reloads at once. Waits until the reload is logged.
pf_reload() {
	_dir=$1
	_before=$(grep -c "reload -- version" "$_dir/maillog" 2>/dev/null || true)
	"$PF_POSTFIX" -c "$_dir/etc" reload </dev/null >>"$_dir/postfix.log" 2>&1 ||
		pf_die "pf_reload: postfix reload failed: $(tail -n 5 "$_dir/postfix.log")"
	_i=0
	while [ $_i -lt 50 ]; do
		_now=$(grep -c "reload -- version" "$_dir/maillog" 2>/dev/null || true)
		[ "${_now:-0}" -gt "${_before:-0}" ] && return 0
		pf_sleep 0.1
		_i=$((_i + 1))
	done
	pf_die "pf_reload: master did not log the reload"
}

# pf_pids DIR - live pids of this instance: the master's process group (all
# Postfix daemons; master makes itself a session leader), pf_spawn'ed
# processes and the sink.
pf_pids() {
	_dir=$1
	if [ -f "$_dir/master.pid" ]; then
		pf_group_pids "$(cat "$_dir/master.pid")"
	fi
	for _p in "$_dir"/spawn/*.pid; do
		[ -f "$_p" ] || continue
		pf_alive "$(cat "$_p")" && cat "$_p"
	done
	if [ -f "$_dir/sink.pid" ]; then
		_spid=$(cat "$_dir/sink.pid")
		pf_alive "$_spid" && echo "$_spid"
	fi
	return 0
}

pf_stop_postfix() {
	_dir=$1
	[ -f "$_dir/master.pid" ] || [ -f "$_dir/queue/pid/master.pid" ] || return 0
	_mpid=$(cat "$_dir/master.pid" 2>/dev/null ||
		awk '{ print $1; exit }' "$_dir/queue/pid/master.pid")
	if pf_alive "$_mpid"; then
		# postfix stop waits up to 5 s itself, then kills the process group.
		"$PF_POSTFIX" -c "$_dir/etc" stop </dev/null >>"$_dir/postfix.log" 2>&1 || true
		_i=0
		while pf_alive "$_mpid" && [ $_i -lt 50 ]; do
			pf_sleep 0.1
			_i=$((_i + 1))
		done
	fi
	# The master SIGTERMs its process group on the way out; give the daemons
	# a moment to exit. Then, as a last resort (and for daemons orphaned by a
	# master that died), SIGKILL the group: its id is the recorded master pid,
	# so only this instance is hit.
	_i=0
	while [ $_i -lt 30 ]; do
		_left=$(pf_group_pids "$_mpid")
		[ -z "$_left" ] && return 0
		pf_sleep 0.1
		_i=$((_i + 1))
	done
	# shellcheck disable=SC2086 # one line of pids, not one per line
	pf_note "killing leftover Postfix processes of $_dir:" $_left
	kill -9 -- "-$_mpid" 2>/dev/null || true
	# shellcheck disable=SC2086
	kill -9 $_left 2>/dev/null || true
}

# pf_group_pids PGID - live (non-zombie) members of process group PGID.
pf_group_pids() {
	ps -e -o pid= -o pgid= -o stat= | awk -v g="$1" '$2 == g && $3 !~ /^Z/ { print $1 }'
}

# pf_stop DIR - stop Postfix, then pf_spawn'ed processes, then the sink of
# DIR (Postfix first, so it does not react to its milter going away). Safe to
# call twice.
pf_stop() {
	_dir=$1
	pf_stop_postfix "$_dir"
	for _p in "$_dir"/spawn/*.pid; do
		[ -f "$_p" ] || continue
		_n=${_p##*/}
		pf_unspawn "$_dir" "${_n%.pid}" || true
	done
	pf_sink_stop "$_dir"
}

# pf_cleanup_on_exit DIR - on any exit: show diagnostics when the test failed,
# stop the instance, remove DIR (kept when MAVIS_KEEP_TMP=1, for debugging).
# May be called for several directories (no blanks in their names).
pf_cleanup_on_exit() {
	PF_CLEANUP_DIRS="${PF_CLEANUP_DIRS:-} $1"
	trap 'pf__on_exit $?' EXIT
	# Signals end the shell without running the EXIT trap unless caught;
	# PIPE matters for "sh test.sh | head".
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	trap 'exit 141' PIPE
}

pf__on_exit() {
	_rc=$1
	trap - EXIT
	set +e
	for _cd in $PF_CLEANUP_DIRS; do
		[ -d "$_cd" ] || continue
		if [ "$_rc" != 0 ] && [ "$_rc" != 77 ]; then
			if [ "${PF_DUMPED:-0}" = 1 ]; then
				pf_note "test failed (exit $_rc); diagnostics are above"
			else
				pf_note "test failed (exit $_rc); diagnostics of $_cd follow"
				pf_dump "$_cd" >&2
			fi
		fi
		pf_stop "$_cd"
		if [ "${MAVIS_KEEP_TMP:-0}" = 1 ]; then
			pf_note "kept $_cd (MAVIS_KEEP_TMP=1)"
		else
			rm -rf "$_cd"
		fi
	done
	exit "$_rc"
}

# ---------------------------------------------------------------- queue & log

# pf_queue_count DIR [QUEUE] - messages in the Postfix queue (all queues, or
# only QUEUE: maildrop incoming active deferred hold).
pf_queue_count() {
	_dir=$1
	_q=${2:-}
	_json=$("$PF_POSTQUEUE" -c "$_dir/etc" -j 2>>"$_dir/postfix.log") ||
		pf_die "pf_queue_count: postqueue -j failed: $(tail -n 3 "$_dir/postfix.log")"
	if [ -z "$_q" ]; then
		printf '%s\n' "$_json" | grep -c '"queue_id"' || true
	else
		printf '%s\n' "$_json" | grep -c "\"queue_name\": \"$_q\"" || true
	fi
}

# pf_wait_queue DIR N TIMEOUT [QUEUE] - wait until the queue holds N messages.
pf_wait_queue() {
	_dir=$1 _want=$2 _tmo=$3 _q=${4:-}
	_end=$(($(date +%s) + _tmo))
	while :; do
		_n=$(pf_queue_count "$_dir" "$_q")
		[ "$_n" -eq "$_want" ] && return 0
		if [ "$(date +%s)" -ge "$_end" ]; then
			pf_note "pf_wait_queue: ${_q:-queue} has $_n messages, wanted $_want after ${_tmo}s"
			pf_dump "$_dir" >&2
			return 1
		fi
		pf_sleep 0.2
	done
}

# pf_flush DIR - attempt delivery of deferred mail now.
pf_flush() {
	"$PF_POSTQUEUE" -c "$1/etc" -f
}

# pf_wait_delivered DIR N TIMEOUT - wait until at least N complete messages
# are in the sink; on timeout dump maillog and queue and fail.
pf_wait_delivered() {
	_dir=$1 _want=$2 _tmo=$3
	_end=$(($(date +%s) + _tmo))
	while :; do
		_n=$(pf_sink_count "$_dir")
		[ "$_n" -ge "$_want" ] && return 0
		if [ "$(date +%s)" -ge "$_end" ]; then
			pf_note "pf_wait_delivered: $_n of $_want messages in the sink after ${_tmo}s"
			pf_dump "$_dir" >&2
			return 1
		fi
		pf_sleep 0.2
	done
}

# pf_sendmail DIR sendmail-args... - submit through sendmail(1) -> postdrop ->
# pickup -> cleanup, the path that non_smtpd_milters see. Message on stdin.
pf_sendmail() {
	_dir=$1
	shift
	"$PF_SENDMAIL" -C "$_dir/etc" "$@"
}

# pf_smtpsend DIR smtpsend.py-args... - smtpsend.py against this instance.
pf_smtpsend() {
	_dir=$1
	shift
	"$PF_PYTHON" "$PF_LIBDIR/smtpsend.py" --port "$(cat "$_dir/smtp.port")" "$@"
}

pf_log() {
	cat "$1/maillog" 2>/dev/null || true
}

pf_log_tail() {
	if [ -f "$1/maillog" ]; then
		echo "--- tail of $1/maillog:"
		tail -n "${2:-40}" "$1/maillog"
	fi
}

# pf_wait_log DIR REGEX TIMEOUT [COUNT] - wait until maillog has COUNT (1)
# lines matching the extended REGEX.
pf_wait_log() {
	_dir=$1 _re=$2 _tmo=$3 _want=${4:-1}
	_end=$(($(date +%s) + _tmo))
	while :; do
		_n=$(grep -Ec -- "$_re" "$_dir/maillog" 2>/dev/null || true)
		[ "${_n:-0}" -ge "$_want" ] && return 0
		if [ "$(date +%s)" -ge "$_end" ]; then
			pf_note "pf_wait_log: '$_re' seen ${_n:-0} times, wanted $_want after ${_tmo}s"
			pf_log_tail "$_dir" >&2
			return 1
		fi
		pf_sleep 0.2
	done
}

# pf_dump DIR - everything useful for a post-mortem, on stdout.
pf_dump() {
	_dir=$1
	PF_DUMPED=1
	echo "=== maillog ($_dir/maillog)"
	pf_log "$_dir" | tail -n 200
	if [ -f "$_dir/etc/main.cf" ]; then
		echo "=== postqueue -p"
		"$PF_POSTQUEUE" -c "$_dir/etc" -p 2>&1 || true
	fi
	echo "=== sink ($_dir/sink)"
	pf_sink_list "$_dir" 2>&1 || true
	if [ -s "$_dir/sink.log" ]; then
		echo "=== sink.log"
		tail -n 20 "$_dir/sink.log"
	fi
	if [ -s "$_dir/postfix.log" ]; then
		echo "=== postfix command output"
		tail -n 40 "$_dir/postfix.log"
	fi
	for _l in "$_dir"/spawn/*.log; do
		[ -f "$_l" ] || continue
		echo "=== $_l"
		tail -n 60 "$_l"
	done
}
