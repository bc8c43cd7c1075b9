# Sourceable: a private DNS server (dnsmasq) on 127.0.0.1 serving TXT
# records, for the DKIM, SPF and DMARC tests. Needs $D (the test's temp dir).
#   dkimdns_start FILE   FILE has lines "NAME TXT-VALUE" (a name may have
#                        several), "+A NAME IP", "+MX NAME EXCHANGE" and
#                        "+LOCAL DOMAIN" (names under it that are not
#                        listed do not exist); sets DKIMDNS_PORT
#   dkimdns_stop         kills it by pid
# Long values are cut in strings of 250 octets (a TXT string holds 255).
DKIMDNS_PID=

dkimdns_start() {
	DKIMDNS_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	/usr/bin/python3 - "$1" >"$D/dnsmasq.conf" <<'PY'
import sys
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if not line:
        continue
    name, val = line.split(' ', 1)
    if name == '+A':
        print('host-record=%s,%s' % tuple(val.split()))
        continue
    if name == '+MX':
        print('mx-host=%s,%s,10' % tuple(val.split()))
        continue
    if name == '+LOCAL':
        print('local=/%s/' % val.strip())
        continue
    parts = [val[i:i + 250] for i in range(0, len(val), 250)] or ['']
    print('txt-record=%s,%s' % (name, ','.join('"%s"' % p for p in parts)))
PY
	dnsmasq -k --no-resolv --no-hosts --conf-file="$D/dnsmasq.conf" -p "$DKIMDNS_PORT" \
		--listen-address=127.0.0.1 --bind-interfaces --pid-file= >"$D/dnsmasq.log" 2>&1 &
	DKIMDNS_PID=$!
	i=0
	until /usr/bin/python3 "$MAVIS_SOURCE_DIR/t/lib/dkimtool.py" txt probe.invalid "$DKIMDNS_PORT" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 50 ] || ! kill -0 "$DKIMDNS_PID" 2>/dev/null; then
			echo "dnsmasq did not start:" >&2
			cat "$D/dnsmasq.log" >&2
			exit 1
		fi
		sleep 0.1
	done
}

dkimdns_stop() {
	if [ -n "$DKIMDNS_PID" ]; then
		kill "$DKIMDNS_PID" 2>/dev/null || true
		wait "$DKIMDNS_PID" 2>/dev/null || true
		DKIMDNS_PID=
	fi
}
