#!/bin/sh
# The control socket and the metrics endpoint of the real mavisd:
#   - mavisctl status shows a session held open mid-message (client, stage,
#     queue id), and nothing once it is gone;
#   - mavisctl stats --json counts exactly what was sent (messages by
#     category and action, recipients by category and destiny, sessions);
#   - GET /metrics (curl) parses under the exposition format rules
#     (t/lib/promparse.py) and carries the same numbers;
#   - mavisctl reload: ok for a good config; for a broken one exit 1 with
#     the file:line, and the old config keeps serving; both counted;
#   - a bad request gets -ERR, and the socket is 0660.
set -eu
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
MAVISCTL=${MAVISCTL:-$MAVIS_BUILD_DIR/ctl/mavisctl}

fail() {
	echo "FAIL: $*" >&2
	cat "$MAVISD_LOG" >&2
	exit 1
}

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CTL="$MAVISD_DIR/control"
{
	cat "$MAVIS_SOURCE_DIR/t/milter/mavisd-test.conf"
	printf '\ncontrol_socket = unix:%s\nmetrics_socket = inet:%s@127.0.0.1\n' "$CTL" "$PORT"
} > "$MAVISD_DIR/base.conf"
mavisd_start "$MAVISD_DIR/base.conf"
i=0
while [ ! -S "$CTL" ]; do
	i=$((i + 1)); [ $i -le 100 ] || fail "no control socket $CTL"
	sleep 0.1
done
mode=$(stat -c %a "$CTL")
[ "$mode" = 660 ] || fail "control socket mode $mode, want 660"

# 1. A session held after its body: status shows it.
miltertest -D socket="$MAVISD_SOCKET" -D mode=hold -D hold_secs=8 \
	-s "$MAVIS_SOURCE_DIR/t/milter/control.lua" > "$MAVISD_DIR/hold.out" 2>&1 &
HOLD=$!
i=0
while :; do
	"$MAVISCTL" status -s "unix:$CTL" > "$MAVISD_DIR/status.out" || fail "mavisctl status failed"
	grep -q HOLDQID1 "$MAVISD_DIR/status.out" && break
	i=$((i + 1)); [ $i -le 60 ] || { cat "$MAVISD_DIR/status.out" >&2; fail "held session not in status"; }
	sleep 0.1
done
echo "--- mavisctl status with a session held mid-message:"
cat "$MAVISD_DIR/status.out"
line=$(grep HOLDQID1 "$MAVISD_DIR/status.out")
echo "$line" | grep -q ' body ' || fail "stage of the held session is not body: $line"
echo "$line" | grep -q 'hold.example.net \[203.0.113.77\]' || fail "client not shown: $line"
grep -q '^1 session(s) in flight, 1 listed, 0 unlisted$' "$MAVISD_DIR/status.out" ||
	fail "in-flight count wrong"
# The same in the metrics, while it is held.
curl -sf "http://127.0.0.1:$PORT/metrics" > "$MAVISD_DIR/metrics1.txt" || fail "scrape failed"
grep -q '^mavis_sessions_in_flight 1$' "$MAVISD_DIR/metrics1.txt" || fail "metrics: not 1 session in flight"

# 2. More mail on another connection while the first is held.
miltertest -D socket="$MAVISD_SOCKET" -D mode=send -s "$MAVIS_SOURCE_DIR/t/milter/control.lua" ||
	fail "send script failed"
wait "$HOLD" || { cat "$MAVISD_DIR/hold.out" >&2; fail "hold script failed"; }
# mavisd frees a session when the MTA closes it: wait for that.
i=0
while :; do
	"$MAVISCTL" status -s "unix:$CTL" > "$MAVISD_DIR/status.out"
	grep -q '^0 session(s) in flight' "$MAVISD_DIR/status.out" && break
	i=$((i + 1)); [ $i -le 50 ] || { cat "$MAVISD_DIR/status.out" >&2; fail "sessions did not end"; }
	sleep 0.1
done

# 3. The counters: exactly what was sent.
"$MAVISCTL" stats --json -s "unix:$CTL" > "$MAVISD_DIR/stats.json" || fail "stats --json failed"
python3 - "$MAVISD_DIR/stats.json" <<'PY' || fail "stats --json does not match what was sent"
import json, sys
s = json.load(open(sys.argv[1]))
want = {
    ("sessions", "started"): 2,
    ("sessions", "in_flight"): 0,
    ("messages", "total"): 5,
    ("recipients", "total"): 5,
}
bad = []
for (a, b), v in want.items():
    if s[a][b] != v:
        bad.append(f"{a}.{b} = {s[a][b]}, want {v}")
m = s["messages"]["by_ccat"]
r = s["recipients"]["by_ccat"]
if m["clean"] != {"accept": 4}: bad.append(f"messages clean {m['clean']}")
if m["oversized"] != {"reject": 1}: bad.append(f"messages oversized {m['oversized']}")
if r["clean"] != {"pass": 4}: bad.append(f"recipients clean {r['clean']}")
if r["oversized"] != {"reject": 1}: bad.append(f"recipients oversized {r['oversized']}")
if s["messages"]["by_action"] != {"accept": 4, "reject": 1, "tempfail": 0, "discard": 0, "hold": 0}:
    bad.append(f"by_action {s['messages']['by_action']}")
if s["messages"]["seconds"]["count"] != 5: bad.append("latency histogram count")
for k in m:
    if k not in ("clean", "oversized") and m[k]: bad.append(f"messages {k} {m[k]}")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
"$MAVISCTL" stats -s "unix:$CTL" > "$MAVISD_DIR/stats.txt" || fail "stats failed"
grep -Eq '^messages\.clean\.accept +4$' "$MAVISD_DIR/stats.txt" || fail "stats text: clean accept"

# 4. The exposition, strictly parsed, with the same numbers.
curl -sf -D "$MAVISD_DIR/headers.txt" "http://127.0.0.1:$PORT/metrics" > "$MAVISD_DIR/metrics.txt" ||
	fail "scrape failed"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$MAVISD_DIR/headers.txt" || fail "content type"
python3 - "$MAVIS_SOURCE_DIR/t/lib" "$MAVISD_DIR/metrics.txt" <<'PY' || fail "metrics do not parse or do not match"
import sys
sys.path.insert(0, sys.argv[1])
import promparse
f = promparse.parse(open(sys.argv[2], encoding="utf-8").read())
v = lambda name, **l: promparse.value_of(f, name, **l)
checks = [
    (v("mavis_messages_total", ccat="clean", action="accept"), 4),
    (v("mavis_messages_total", ccat="oversized", action="reject"), 1),
    (v("mavis_messages_total", ccat="virus", action="accept"), 0),
    (v("mavis_recipients_total", ccat="clean", destiny="pass"), 4),
    (v("mavis_recipients_total", ccat="oversized", destiny="reject"), 1),
    (v("mavis_message_duration_seconds_count"), 5),
    (v("mavis_message_duration_seconds_bucket", le="+Inf"), 5),
    (v("mavis_sessions_total"), 2),
    (v("mavis_sessions_in_flight"), 0),
    (v("mavis_reloads_total", result="ok"), 0),
]
bad = [f"check {i}: {got} != {want}" for i, (got, want) in enumerate(checks) if got != want]
for fam, t in (("mavis_messages_total", "counter"), ("mavis_message_duration_seconds", "histogram"),
               ("mavis_sessions_in_flight", "gauge"), ("mavis_build_info", "gauge"),
               ("mavis_config_age_seconds", "gauge")):
    if f.get(fam, {}).get("type") != t:
        bad.append(f"{fam} type {f.get(fam, {}).get('type')}")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
print("metrics: ok,", sum(len(x["samples"]) for x in f.values()), "samples")
PY
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/other")
[ "$code" = 404 ] || fail "GET /other gave $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 "http://127.0.0.1:$PORT/metrics")
[ "$code" = 405 ] || fail "POST /metrics gave $code"

# 5. Reload: good, then broken (the old config stays and still filters).
out=$("$MAVISCTL" reload -s "unix:$CTL") || fail "reload of a good config failed"
[ "$out" = ok ] || fail "reload said: $out"
cp "$MAVISD_DIR/mavisd.conf" "$MAVISD_DIR/good.conf"
printf 'no_such_setting = 1\n' >> "$MAVISD_DIR/mavisd.conf"
line=$(wc -l < "$MAVISD_DIR/mavisd.conf")
rc=0
"$MAVISCTL" reload -s "unix:$CTL" > "$MAVISD_DIR/reload.out" 2> "$MAVISD_DIR/reload.err" || rc=$?
[ "$rc" = 1 ] || fail "reload of a broken config exited $rc"
grep -q "mavisd.conf:$line: no_such_setting" "$MAVISD_DIR/reload.err" ||
	{ cat "$MAVISD_DIR/reload.err" >&2; fail "reload error without file:line"; }
cp "$MAVISD_DIR/good.conf" "$MAVISD_DIR/mavisd.conf"
miltertest -D socket="$MAVISD_SOCKET" -D mode=send -s "$MAVIS_SOURCE_DIR/t/milter/control.lua" ||
	fail "mail after a failed reload"
"$MAVISCTL" stats --json -s "unix:$CTL" > "$MAVISD_DIR/stats2.json"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["reloads_ok"] == 1 and s["reloads_failed"] == 1, (s["reloads_ok"], s["reloads_failed"])
assert s["messages"]["total"] == 9, s["messages"]["total"]
' "$MAVISD_DIR/stats2.json" || fail "reload or message counts after the reloads"

# 6. Bad requests: an -ERR line, and mavisd goes on.
reply=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"shutdown now\n")
print(s.recv(512).decode().strip())
' "$CTL")
case $reply in "-ERR unknown request"*) ;; *) fail "bad request got: $reply" ;; esac
reply=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"s" * 4096)
print(s.recv(512).decode().strip())
' "$CTL")
case $reply in "-ERR request longer than 255 bytes") ;; *) fail "long request got: $reply" ;; esac
"$MAVISCTL" status -s "unix:$CTL" > /dev/null || fail "status after bad requests"

mavisd_stop
[ ! -e "$CTL" ] || fail "control socket left behind after stop"
mavisd_check_log
