# t/lib/milter.sh - run miltertest(8) Lua scripts against a milter socket.
# SPDX-License-Identifier: GPL-2.0-or-later
#
#   . "$MAVIS_SOURCE_DIR/t/lib/milter.sh"
#   MT_SOCKET="inet:$port@127.0.0.1"        # or unix:/path/to/sock
#   mt_wait_socket "$MT_SOCKET" 10           # until the milter accepts connections
#   mt_run "$MAVIS_SOURCE_DIR/t/milter/example.lua" expect=accept
#
# Every script gets these Lua globals (miltertest -D name=value, always
# strings): socket (= $MT_SOCKET), srcdir (= $MAVIS_SOURCE_DIR), plus every
# name=value argument after the script. Socket syntax is libmilter's:
# inet:PORT@HOST, inet6:PORT@HOST, unix:PATH (Postfix's inet:HOST:PORT form
# is not understood by miltertest).
#
# Scripts run under t/lib/mt_driver.lua: Debian 12's miltertest exits 1
# without a word on Lua syntax errors and on error(); the driver prints the
# message and a traceback, and exits 3 when the script does not compile.

MT_MILTERTEST=${MT_MILTERTEST:-miltertest}
MT_DRIVER=${MT_DRIVER:-${MAVIS_SOURCE_DIR:-.}/t/lib/mt_driver.lua}

mt_die() {
	echo "milter.sh: FATAL: $*" >&2
	exit 1
}

# mt_run SCRIPT.lua [name=value...] - run the script; on failure print its
# output and return 1 (the caller's set -e then ends the test). Output of a
# passing run goes to stdout so mt.echo() traces stay visible in ctest logs.
mt_run() {
	_mt_script=$1
	shift
	[ -f "$_mt_script" ] || mt_die "mt_run: no script $_mt_script"
	[ -n "${MT_SOCKET:-}" ] || mt_die "mt_run: set MT_SOCKET (e.g. inet:PORT@127.0.0.1)"
	# Turn each name=value argument into "-D name=value", rotating through
	# "$@" so values with blanks survive without eval.
	_mt_n=$#
	while [ "$_mt_n" -gt 0 ]; do
		case $1 in
		*=*) set -- "$@" -D "$1" ;;
		*) mt_die "mt_run: argument '$1' is not name=value" ;;
		esac
		shift
		_mt_n=$((_mt_n - 1))
	done
	set -- -D "socket=$MT_SOCKET" -D "srcdir=${MAVIS_SOURCE_DIR:-.}" \
		-D "mt_script=$_mt_script" "$@"
	if _mt_out=$("$MT_MILTERTEST" "$@" -s "$MT_DRIVER" 2>&1); then
		[ -z "$_mt_out" ] || printf '%s\n' "$_mt_out"
		return 0
	else
		_mt_rc=$?
		echo "milter.sh: miltertest $* -s $MT_DRIVER failed (exit $_mt_rc):" >&2
		printf '%s\n' "$_mt_out" >&2
		return 1
	fi
}

# mt_syntax SCRIPT.lua - compile the script without running it.
mt_syntax() {
	[ -f "$1" ] || mt_die "mt_syntax: no script $1"
	if ! _mt_out=$("$MT_MILTERTEST" -D "mt_script=$1" -D mt_syntax_only=1 -s "$MT_DRIVER" 2>&1); then
		echo "milter.sh: $1 does not compile:" >&2
		printf '%s\n' "$_mt_out" >&2
		return 1
	fi
}

# mt_wait_socket SOCKET TIMEOUT - wait until something accepts connections on
# a libmilter socket spec (inet:PORT@HOST or unix:PATH).
mt_wait_socket() {
	"${PF_PYTHON:-python3}" - "$1" "$2" <<'EOF'
import socket, sys, time
spec, timeout = sys.argv[1], float(sys.argv[2])
kind, _, rest = spec.partition(":")
deadline = time.monotonic() + timeout
while True:
    try:
        if kind in ("unix", "local"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(rest)
        elif kind in ("inet", "inet6"):
            port, _, host = rest.partition("@")
            fam = socket.AF_INET6 if kind == "inet6" else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.connect((host or "127.0.0.1", int(port)))
        else:
            sys.exit("milter.sh: unsupported socket spec %s" % spec)
        s.close()
        sys.exit(0)
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("milter.sh: nothing accepts connections on %s after %ss" % (spec, timeout))
        time.sleep(0.1)
EOF
}
