# Debian's spamd for a test, on loopback (source after t/lib/postfix.sh):
#   spamd_start DIR      private site config in DIR/sa (the .pre files load the
#                        plugins, Check among them; no .cf from /etc: local tests
#                        only, no Bayes, no DNS); listens on SA_PORT; stopped with
#                        DIR by pf_cleanup_on_exit, or by pf_unspawn DIR spamd
#   spamd_wait_port DIR PORT SECONDS NAME
#                        until NAME (pf_spawn'ed in DIR) listens on 127.0.0.1:PORT
# SPDX-License-Identifier: GPL-2.0-or-later
: "${SPAMD:=/usr/sbin/spamd}"

spamd_wait_port() {
	_sw_i=0
	while ! ss -Hltn "sport = :$2" | grep -q .; do
		_sw_i=$((_sw_i + 1))
		[ $_sw_i -le $(($3 * 10)) ] || pf_die "$4 did not listen on $2 within $3 s"
		pf_alive "$(pf_spawn_pid "$1" "$4")" || pf_die "$4 died: $(tail -n 20 "$1/spawn/$4.log")"
		pf_sleep 0.1
	done
}

spamd_start() {
	_sd_dir=$1
	mkdir -p "$_sd_dir/sa/site" "$_sd_dir/sa/home"
	cp /etc/spamassassin/*.pre "$_sd_dir/sa/site/"
	cat >"$_sd_dir/sa/site/local.cf" <<SAEOF
use_bayes 0
bayes_auto_learn 0
bayes_path $_sd_dir/sa/home/bayes
skip_rbl_checks 1
dns_available no
SAEOF
	chown -R nobody "$_sd_dir/sa/home"
	chmod -R a+rX "$_sd_dir/sa"
	SA_PORT=$(pf_free_port)
	pf_spawn "$_sd_dir" spamd "$SPAMD" -L -x -u nobody --listen="127.0.0.1:$SA_PORT" \
		--siteconfigpath="$_sd_dir/sa/site" -H "$_sd_dir/sa/home" --max-children=2 \
		--min-children=1 --syslog=stderr
	spamd_wait_port "$_sd_dir" "$SA_PORT" 60 spamd
}
