#!/bin/sh
# Reloads under load: 400 messages over 4 parallel SMTP connections (5 per
# connection) while mavisd's parent gets SIGUSR1 and SIGHUP again and again,
# each time with a changed configuration (x_header_line, a policy bank, the
# recipient maps), once with a broken one. Every message must be delivered
# (none tempfailed, none lost: sink count = sent ok count), mavisd must
# still run, log every reload, keep the old configuration on the broken
# one, and apply the new configuration after the last good reload (a
# recipient size limit visible as 552 5.3.4).
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MAVIS_SOURCE_DIR/t/lib/postfix.sh"
MAVISD_E2E=1
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
pf_require_root
: "${MAVISD:?set MAVISD to the mavisd binary}"

T=$(pf_mktemp e2e-reload)
pf_cleanup_on_exit "$T"
D=$MAVIS_SOURCE_DIR/t/data/e2e
t0=$(date +%s)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
reloaded() { grep -c 'configuration reloaded' "$MAVISD_LOG" || true; }

# gen N - configuration generation N. Odd generations stack a MYNETS bank
# (the test client is in mynetworks); all keep probe@ without a size limit.
gen() {
	if [ $(($1 % 2)) = 1 ]; then
		mavisd_e2e_conf "$T" "x_header_line = mavis generation $1" \
			"message_size_limit_maps = inline:{other$1@example.com=1K}" \
			"[bank MYNETS]" "max_recipients = $((50 + $1))" "final_bad_header_destiny = pass"
	else
		mavisd_e2e_conf "$T" "x_header_line = mavis generation $1" \
			"message_size_limit_maps = inline:{other$1@example.com=1K}"
	fi
}

gen 0
mavisd_e2e_start "$T"
pf_start "$T" \
	"smtpd_milters = $MAVISD_MILTER" \
	"milter_default_action = tempfail"
echo "postfix on $PF_SMTP_PORT, mavisd on $MAVISD_PORT (pid $MAVISD_PID), sink on $SINK_PORT"

# probe@ has no limit yet: a 4 KB message is accepted.
pf_smtpsend "$T" --from alice@example.org --to probe@example.com "$D/big.eml" --expect 250 >/dev/null ||
	fail "probe@ refused before any reload"
pf_sink_new "$T" 1 20 >/dev/null

# The stream.
# (pf_spawn'ed: cleanup stops it if the test fails.)
pf_spawn "$T" stream "$PF_PYTHON" "$PF_LIBDIR/smtpsend.py" --port "$(cat "$T/smtp.port")" \
	--from stream@example.org --to stream@example.com --subject reload-stream \
	--count 400 --concurrency 4 --per-connection 2 --expect 250
stream=$(pf_spawn_pid "$T" stream)

# Reloads while it runs, one after the other (each waits until the filter
# logged the outcome, so none coalesce): alternate SIGUSR1 and SIGHUP (the
# parent forwards both as a reload), a new generation each time; the 3rd is
# broken. At least 12 reloads; more while the stream lasts.
n=0 good=0 bad=0 during=0
while [ $n -lt 12 ] || { pf_alive "$stream" && [ $n -lt 100 ]; }; do
	n=$((n + 1))
	if [ $n = 3 ]; then
		# Broken: the probe limit it would bring must not take effect.
		mavisd_e2e_conf "$T" "message_size_limit_maps = inline:{probe@example.com=1K}" \
			"max_recipients = lots"
	else
		gen $n
	fi
	if [ $((n % 2)) = 1 ]; then sig=USR1; else sig=HUP; fi
	pf_alive "$stream" && during=$((during + 1))
	if mavisd_e2e_reload "$T" $sig; then
		good=$((good + 1))
	else
		bad=$((bad + 1))
		[ $n = 3 ] || fail "reload $n ($sig) failed: $(tail -n 3 "$MAVISD_LOG")"
		# Old configuration kept: mail keeps flowing, probe@ still unlimited.
		pf_smtpsend "$T" --from alice@example.org --to probe@example.com "$D/big.eml" --expect 250 \
			>"$T/probe.kept" 2>&1 || fail "after the broken reload: $(cat "$T/probe.kept")"
	fi
	pf_sleep 0.1
done
echo "reloads: $good good, $bad broken; $during of them while the stream ran"
[ $bad = 1 ] || fail "the broken configuration was not refused exactly once (bad=$bad)"
# On an idle machine the stream is quick: a few reloads inside it prove the point.
[ $during -ge 2 ] || fail "only $during reloads happened during the stream"

wait "$stream" || fail "stream: $(cat "$T/spawn/stream.log")"
rm -f "$T/spawn/stream.pid"
cp "$T/spawn/stream.log" "$T/stream.out"
cat "$T/stream.out"
grep -q '^SENT ok=400 tempfail=0 reject=0 error=0$' "$T/stream.out" || fail "stream: not 400 ok"
# Nothing lost: 400 stream messages + the two probes.
pf_wait_delivered "$T" 402 60
pf_sleep 1
[ "$(pf_sink_count "$T")" -eq 402 ] || fail "sink has $(pf_sink_count "$T") messages, expected 402"
pf_sink_seen "$T"
pf_wait_queue "$T" 0 20
echo "ok 1 400 messages during $during reloads: all accepted and delivered"

pf_alive "$MAVISD_PID" || fail "mavisd died"
grep -q 'reload failed, keeping the running configuration' "$MAVISD_LOG" ||
	fail "no 'reload failed, keeping' in the log"
[ "$(reloaded)" -eq "$good" ] || fail "$(reloaded) 'configuration reloaded' lines, expected $good"
echo "ok 2 mavisd alive; $good reloads logged, the broken one kept the old configuration"

# The last good reload is in effect: probe@ gets a limit now.
mavisd_e2e_conf "$T" "message_size_limit_maps = inline:{probe@example.com=1K}"
mavisd_e2e_reload "$T" HUP || fail "final reload failed"
out=$(pf_smtpsend "$T" --from alice@example.org --to probe@example.com "$D/big.eml" --expect 552) ||
	fail "probe@ after the final reload: $out"
case $out in *"RESULT 552 5.3.4 "*) ;; *) fail "probe@: expected 552 5.3.4, got $out" ;; esac
pf_sink_none "$T"
echo "ok 3 the new configuration is in effect after the reload"

mavisd_e2e_stop "$T"
mavisd_check_log
echo "PASS test_mavisd_reload ($(($(date +%s) - t0)) s)"
