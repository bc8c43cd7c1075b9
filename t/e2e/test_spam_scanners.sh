#!/bin/sh
# The spam scanner clients (lib/spam) against the real scanners, on loopback:
#  - Debian's spamd with a private site config (local tests only, no Bayes,
#    no DNS, no user preferences; its home in the temp dir);
#  - Debian's rspamd with a minimal private config (normal worker only, no
#    Lua rules, no Redis, DNS pointed at a closed port, caches in the temp dir).
# Through each: GTUBE is spam (score at or above the kill level), a plain
# hand-written ham message is not, a 300 KB message is scored, failover from
# a dead scanner works, concurrent scans all answer. Then the faults: a
# refused port, a listener that accepts and never answers, listeners that
# answer garbage: each is FAILED with a clear error, never a score.
# With MAVIS_SA_CORPUS (a fetch-sa-corpus.sh directory; /var/tmp/mavis-bench
# when present) also 25 easy-ham-1 and 25 spam-1 messages each (dev splits).
# The checks themselves are t/unit/test_spam.c's "live" mode.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVIS_BUILD_DIR:=$MAVIS_SOURCE_DIR/build}"
# shellcheck source=t/lib/postfix.sh
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
pf_require_root

SPAMD=${SPAMD:-/usr/sbin/spamd}
RSPAMD=${RSPAMD:-/usr/bin/rspamd}
DRIVER=$MAVIS_BUILD_DIR/t/test_spam
[ -x "$DRIVER" ] || { echo "FAIL: no $DRIVER (build first)" >&2; exit 1; }
if [ ! -x "$SPAMD" ] && [ ! -x "$RSPAMD" ]; then
	echo "SKIP: neither spamd nor rspamd; contrib/install-deps installs them" >&2
	exit 77
fi

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

T=$(pf_mktemp e2e-spam)
pf_cleanup_on_exit "$T"

# shellcheck source=t/lib/spamd.sh
. "$MAVIS_SOURCE_DIR/t/lib/spamd.sh"
wait_port() {
	spamd_wait_port "$T" "$@"
}

# ---------------------------------------------------------------- spamd
if [ -x "$SPAMD" ]; then
	t0=$(date +%s)
	spamd_start "$T"
	echo "spamd listening on $SA_PORT after $(($(date +%s) - t0)) s"
	export SPAM_LIVE_SPAMD="spamd:inet:127.0.0.1:$SA_PORT"
fi

# ---------------------------------------------------------------- rspamd
if [ -x "$RSPAMD" ]; then
	t0=$(date +%s)
	rspamd_start "$T"
	echo "rspamd listening on $RS_PORT after $(($(date +%s) - t0)) s"
	export SPAM_LIVE_RSPAMD="rspamd:http://127.0.0.1:$RS_PORT"
fi

# ---------------------------------------------------------------- faults
cat >"$T/fake.py" <<'EOF'
# fake.py MODE PORT COUNTFILE: hang = accept and never answer; garbage =
# answer one line of nonsense and close; junkjson = a well-formed HTTP reply
# with a body that is not JSON. Counts connections in COUNTFILE.
import socket, sys, threading, time
mode, port, countfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
n = 0
def serve(c):
    c.settimeout(5)
    try:
        c.recv(65536)
        if mode == "garbage":
            c.sendall(b"220 hello, this is not what you think\r\n")
        elif mode == "junkjson":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\n<html/>\r\n")
        else:
            time.sleep(3600)
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    n += 1
    open(countfile, "w").write("%d\n" % n)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
start_fake() {
	pf_spawn "$T" "fake-$1" python3 "$T/fake.py" "$1" "$2" "$T/$1.count"
	wait_port "$2" 10 "fake-$1"
}
FAKE_hang=$(pf_free_port)
start_fake hang "$FAKE_hang"
FAKE_garbage=$(pf_free_port)
start_fake garbage "$FAKE_garbage"
FAKE_junkjson=$(pf_free_port)
start_fake junkjson "$FAKE_junkjson"
DEAD=$(pf_free_port)
export SPAM_LIVE_DEAD="spamd:inet:127.0.0.1:$DEAD"
export SPAM_LIVE_DEAD_RSPAMD="rspamd:http://127.0.0.1:$DEAD"
export SPAM_LIVE_HANG_SPAMD="spamd:inet:127.0.0.1:$FAKE_hang"
export SPAM_LIVE_HANG_RSPAMD="rspamd:http://127.0.0.1:$FAKE_hang"
export SPAM_LIVE_GARBAGE_SPAMD="spamd:inet:127.0.0.1:$FAKE_garbage"
export SPAM_LIVE_GARBAGE_RSPAMD="rspamd:http://127.0.0.1:$FAKE_garbage"
export SPAM_LIVE_JUNKJSON_RSPAMD="rspamd:http://127.0.0.1:$FAKE_junkjson"

CORPUS=${MAVIS_SA_CORPUS:-/var/tmp/mavis-bench}
[ -f "$CORPUS/easy-ham-1.list" ] && export SPAM_LIVE_CORPUS="$CORPUS"

"$DRIVER" live || fail "live scanner checks failed (output above)"
for m in hang garbage junkjson; do
	[ -s "$T/$m.count" ] || fail "nothing connected to the $m listener"
done
# spamd and rspamd still alive after all of it
[ -z "${SA_PORT:-}" ] || pf_alive "$(pf_spawn_pid "$T" spamd)" || fail "spamd died"
[ -z "${RS_PORT:-}" ] || pf_alive "$(pf_spawn_pid "$T" rspamd)" || fail "rspamd died"
echo "PASS"
