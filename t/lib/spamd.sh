# Debian's spamd for a test, on loopback (source after t/lib/postfix.sh):
#   spamd_site DIR       the private site config in DIR/sa/site (the .pre files
#                        load the plugins, Check among them; no .cf from /etc:
#                        local tests only, no Bayes, no DNS), which amavisd-new
#                        reads too where it is compared with mavis
#   spamd_start DIR      spamd_site, then spamd on SA_PORT with SPAMD_CHILDREN
#                        (default 2) children at most, SPAMD_MIN_CHILDREN (1) at
#                        least; stopped with DIR by pf_cleanup_on_exit, or by
#                        pf_unspawn DIR spamd
#   rspamd_start DIR [stock]
#                        Debian's rspamd in DIR/rs, one normal worker on RS_PORT,
#                        no Redis, DNS pointed at a closed port, caches in DIR/rs;
#                        without "stock" no rules at all (GTUBE is in rspamd's
#                        core), with it the package's rules and modules
#                        ($CONFDIR/common.conf) but none of its other workers;
#                        RS_WORKERS (default 1) normal workers; stopped with DIR
#   spamd_wait_port DIR PORT SECONDS NAME
#                        until NAME (pf_spawn'ed in DIR) listens on 127.0.0.1:PORT
# SPDX-License-Identifier: GPL-2.0-or-later
: "${SPAMD:=/usr/sbin/spamd}"
: "${RSPAMD:=/usr/bin/rspamd}"

spamd_wait_port() {
	_sw_i=0
	while ! ss -Hltn "sport = :$2" | grep -q .; do
		_sw_i=$((_sw_i + 1))
		[ $_sw_i -le $(($3 * 10)) ] || pf_die "$4 did not listen on $2 within $3 s"
		pf_alive "$(pf_spawn_pid "$1" "$4")" || pf_die "$4 died: $(tail -n 20 "$1/spawn/$4.log")"
		pf_sleep 0.1
	done
}

spamd_site() {
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
}

spamd_start() {
	_sd_dir=$1
	spamd_site "$_sd_dir"
	SA_PORT=$(pf_free_port)
	pf_spawn "$_sd_dir" spamd "$SPAMD" -L -x -u nobody --listen="127.0.0.1:$SA_PORT" \
		--siteconfigpath="$_sd_dir/sa/site" -H "$_sd_dir/sa/home" --max-children="${SPAMD_CHILDREN:-2}" \
		--min-children="${SPAMD_MIN_CHILDREN:-1}" --syslog=stderr
	spamd_wait_port "$_sd_dir" "$SA_PORT" 60 spamd
}

rspamd_start() {
	_rs_dir=$1
	mkdir -p "$_rs_dir/rs/db"
	RS_PORT=$(pf_free_port)
	_rs_dns=$(pf_free_port)
	_rs_inc=""
	# rspamd's own variable, expanded by rspamd
	# shellcheck disable=SC2016
	[ "${2:-}" != stock ] || _rs_inc='.include "$CONFDIR/common.conf"'
	cat >"$_rs_dir/rs/rspamd.conf" <<RSEOF
$_rs_inc
options {
  pidfile = "$_rs_dir/rs/rspamd.pid";
  hs_cache_dir = "$_rs_dir/rs/db";
  stats_file = "$_rs_dir/rs/db/stats.ucl";
  # nothing answers there: lookups fail at once instead of timing out
  dns { nameserver = ["127.0.0.1:$_rs_dns"]; timeout = 0.2s; retransmits = 1; }
}
logging { type = "file"; filename = "$_rs_dir/rs/rspamd.log"; level = "info"; }
worker "normal" { bind_socket = "127.0.0.1:$RS_PORT"; count = ${RS_WORKERS:-1}; task_timeout = 8s; }
actions { reject = 15; add_header = 6; greylist = 4; }
RSEOF
	pf_spawn "$_rs_dir" rspamd "$RSPAMD" -c "$_rs_dir/rs/rspamd.conf" -u root -g root -f \
		--var "DBDIR=$_rs_dir/rs/db" --var "RUNDIR=$_rs_dir/rs" --var "LOGDIR=$_rs_dir/rs"
	spamd_wait_port "$_rs_dir" "$RS_PORT" 120 rspamd
}
