#!/bin/sh
# Bayes of the native engine in SpamAssassin's own PostgreSQL schema, against
# SpamAssassin itself (sa-learn and spamassassin with BayesStore::PgSQL) on a
# private PostgreSQL (t/lib/pgsql.sh) holding Debian's bayes_pg.sql:
#   1. mavisctl spam learn 210 spam + 200 ham of the development splits
#      (spam-1, easy-ham-1; never spam-2/easy-ham-2) as user "mavis";
#      sa-learn the same files as user "sa" in the same tables;
#   2. the two users' bayes_token rows compared: token overlap and equal
#      counts reported, and bounded below; bayes_vars counts equal;
#   3. learning again changes nothing (bayes_seen), --forget takes one
#      message out and --spam puts it back;
#   4. a spam-1 message not learned gets BAYES_99 and a ham not learned
#      BAYES_00 from mavis; on those and two more of each, SpamAssassin
#      reading mavis's tokens (bayes_sql_override_username mavis) gives
#      the same BAYES_ rule, and so does mavis reading sa-learn's tokens;
#   5. the scanner as mavisd builds it from the configuration
#      (spam_scanners = native, spam_bayes_dsn; mavisctl scan): BAYES_99 with
#      its score of set 2 in X-Spam-Status;
#   6. PostgreSQL stopped: mavis scores the message without Bayes (score
#      set 0, no BAYES_ rule) and logs why, never a failure.
# Prints the learn rate, tokens per message and the lookup latency.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVISCTL:?set MAVISCTL to the mavisctl binary}"
PGSQL="sh $MAVIS_SOURCE_DIR/t/lib/pgsql.sh"
CORPUS=${MAVIS_SA_CORPUS:-/var/cache/mavis-test/sa-corpus}
SCHEMA=/usr/share/doc/spamassassin/sql/bayes_pg.sql

command -v sa-learn >/dev/null || { echo "SKIP: no sa-learn" >&2; exit 77; }
perl -MDBD::Pg -e 1 2>/dev/null || { echo "SKIP: no DBD::Pg (libdbd-pg-perl)" >&2; exit 77; }
[ -f "$SCHEMA" ] || { echo "SKIP: no $SCHEMA" >&2; exit 77; }
[ -f "$CORPUS/spam-1.list" ] && [ -f "$CORPUS/easy-ham-1.list" ] ||
	{ echo "SKIP: no corpus in $CORPUS (/work/shared/corpus/fetch-sa-corpus.sh)" >&2; exit 77; }

T=$(mktemp -d /tmp/mavis-e2e-bayes.XXXXXX)
chmod 0755 "$T"
cleanup() {
	_rc=$?
	trap - EXIT
	$PGSQL stop "$T/pg" >/dev/null 2>&1 || true
	if [ "$_rc" != 0 ] && [ -z "${MAVIS_KEEP_TMP:-}" ]; then
		tail -n 20 "$T/pg/postgres.log" 2>/dev/null >&2 || true
	fi
	[ -n "${MAVIS_KEEP_TMP:-}" ] || rm -rf "$T"
	exit "$_rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

conn=$($PGSQL start "$T/pg")
pguser=$(echo "$conn" | sed 's/.*user=//')
q() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- psql -h "$T/pg" -U "$pguser" -d bayes -qAt -v ON_ERROR_STOP=1 -F '|'
	else
		psql -h "$T/pg" -U "$pguser" -d bayes -qAt -v ON_ERROR_STOP=1 -F '|'
	fi
}
echo "CREATE DATABASE bayes" | { if [ "$(id -u)" = 0 ]; then
	runuser -u postgres -- psql -h "$T/pg" -U "$pguser" -d postgres -qAt; else
	psql -h "$T/pg" -U "$pguser" -d postgres -qAt; fi; } >/dev/null
q <"$SCHEMA" >/dev/null
DSN="host=$T/pg dbname=bayes user=$pguser"

# The training and test sets: the first 210 spam (200 and more different
# ones: bayes_min_spam_num) and 200 ham learned, the next ones only scored.
sed -n '1,210p' "$CORPUS/spam-1.list" | sed "s|^|$CORPUS/|" >"$T/spam.train"
sed -n '1,200p' "$CORPUS/easy-ham-1.list" | sed "s|^|$CORPUS/|" >"$T/ham.train"
sed -n '211,220p' "$CORPUS/spam-1.list" | sed "s|^|$CORPUS/|" >"$T/spam.test"
sed -n '201,210p' "$CORPUS/easy-ham-1.list" | sed "s|^|$CORPUS/|" >"$T/ham.test"

# ---- 1. learning ---------------------------------------------------------------
M() { "$MAVISCTL" spam --dsn "$DSN" --username mavis "$@"; }
# shellcheck disable=SC2046
M learn --spam $(cat "$T/spam.train") >"$T/learn.spam" || fail "mavisctl learn --spam"
# shellcheck disable=SC2046
M learn --ham $(cat "$T/ham.train") >"$T/learn.ham" || fail "mavisctl learn --ham"
cat "$T/learn.spam" "$T/learn.ham"
# (spam-1 holds a few copies of one message: learned once, as sa-learn does)
grep -q "210 examined, [0-9]* already so, 0 relearned, 0 failed" "$T/learn.spam" || fail "spam not learned"
grep -q "200 examined, [0-9]* already so, 0 relearned, 0 failed" "$T/learn.ham" || fail "ham not learned"

cat >"$T/sa.cf" <<EOF
use_bayes 1
bayes_auto_learn 0
bayes_auto_expire 0
bayes_store_module Mail::SpamAssassin::BayesStore::PgSQL
bayes_sql_dsn DBI:Pg:dbname=bayes;host=$T/pg
bayes_sql_username $pguser
bayes_sql_override_username sa
EOF
sed 's/^bayes_sql_override_username sa$/bayes_sql_override_username mavis/' "$T/sa.cf" >"$T/sa-mavis.cf"
t0=$(date +%s)
# shellcheck disable=SC2046
sa-learn -p "$T/sa.cf" --spam $(cat "$T/spam.train") >"$T/salearn.out" 2>&1 ||
	{ cat "$T/salearn.out" >&2; fail "sa-learn --spam"; }
# shellcheck disable=SC2046
sa-learn -p "$T/sa.cf" --ham $(cat "$T/ham.train") >>"$T/salearn.out" 2>&1 ||
	{ cat "$T/salearn.out" >&2; fail "sa-learn --ham"; }
t1=$(date +%s)
echo "sa-learn: 410 messages in $((t1 - t0)) s"

# ---- 2. the rows, side by side -------------------------------------------------------
vars=$(echo "SELECT username, spam_count, ham_count FROM bayes_vars ORDER BY username" | q)
echo "$vars"
[ "$(echo "$vars" | grep '^mavis|' | cut -d'|' -f2-)" = "$(echo "$vars" | grep '^sa|' | cut -d'|' -f2-)" ] ||
	fail "bayes_vars counts differ from sa-learn's: $vars"
nspam=$(echo "$vars" | grep '^mavis|' | cut -d'|' -f2)
cmp=$(q <<'EOF'
WITH m AS (SELECT token, spam_count, ham_count FROM bayes_token
           WHERE id = (SELECT id FROM bayes_vars WHERE username = 'mavis')),
     s AS (SELECT token, spam_count, ham_count FROM bayes_token
           WHERE id = (SELECT id FROM bayes_vars WHERE username = 'sa'))
SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM s),
       (SELECT count(*) FROM m JOIN s USING (token)),
       (SELECT count(*) FROM m JOIN s USING (token, spam_count, ham_count));
EOF
)
echo "$cmp" | {
	IFS='|' read -r nm ns both same
	echo "bayes_token rows: mavis $nm, sa-learn $ns, in both $both, of them with equal counts $same"
	# Of SpamAssassin's tokens, the share mavis has too, and of those the
	# share with the very same counts (per mille).
	cov=$((both * 1000 / ns))
	eq=$((same * 1000 / both))
	echo "overlap: $((cov / 10)).$((cov % 10))% of sa-learn's tokens, $((eq / 10)).$((eq % 10))% of them with equal counts"
	[ "$cov" -ge 900 ] || fail "token overlap $cov per mille < 900"
	[ "$eq" -ge 900 ] || fail "equal counts $eq per mille < 900"
}

# ---- 3. idempotent learning, forget ----------------------------------------------------------
one=$(head -n 1 "$T/spam.train")
M learn --spam "$one" | tee "$T/again" | grep -q "^Learned tokens from 0 message.*1 already" ||
	fail "learning a learned message again changed something: $(cat "$T/again")"
M learn --forget "$one" | grep -q "^Forgot 1 message" || fail "forget"
echo "SELECT spam_count FROM bayes_vars WHERE username = 'mavis'" | q | grep -qx $((nspam - 1)) ||
	fail "spam_count after forget"
M learn --spam "$one" | grep -q "^Learned tokens from 1 message" || fail "learn after forget"
echo "SELECT spam_count FROM bayes_vars WHERE username = 'mavis'" | q | grep -qx "$nspam" ||
	fail "spam_count after learning again"

# ---- 4. scores, mavis and SpamAssassin on the same tables -------------------------------------
bayes_rule() {	# the BAYES_ rule in a mavisctl score line or spamassassin's tests=
	grep -o 'BAYES_[0-9]*' | head -n 1
}
check_set() {	# $1 file list, $2 pattern of the rule the first one must get
	want=$2
	for f in $(cat "$1"); do
		line=$(M score "$f") || fail "score $f"
		ours=$(echo "$line" | bayes_rule)
		echo "$line" | sed 's/.*\t\(bayes=.*\)/\1/' >>"$T/lookups"
		sa=$(spamassassin -L -p "$T/sa-mavis.cf" -t <"$f" 2>/dev/null | grep -A3 '^X-Spam-Status' | tr -d '\n\t ' | bayes_rule || true)
		sa2=$($MAVISCTL spam --dsn "$DSN" --username sa score "$f" | bayes_rule)
		echo "$(basename "$f"): mavis $ours, SpamAssassin on mavis's tokens $sa, mavis on sa-learn's $sa2"
		echo "$ours" | grep -Eq "$want" || fail "$f: $ours, want $want"
		want=.
		[ "$ours" = "$sa" ] && agree=$((agree + 1))
		[ "$ours" = "$sa2" ] && agree2=$((agree2 + 1))
		n=$((n + 1))
	done
}
agree=0 agree2=0 n=0
: >"$T/lookups"
head -n 3 "$T/spam.test" >"$T/spam.3"
head -n 3 "$T/ham.test" >"$T/ham.3"
check_set "$T/spam.3" '^BAYES_99$'
check_set "$T/ham.3" '^BAYES_00$'
echo "same BAYES_ rule as SpamAssassin: $agree of $n; on sa-learn's tokens: $agree2 of $n"
[ "$agree" -ge $((n - 1)) ] || fail "SpamAssassin disagrees on $((n - agree)) of $n"
[ "$agree2" -ge $((n - 1)) ] || fail "sa-learn's database gives other rules on $((n - agree2)) of $n"
# the lookup: one round trip per message
sed -n 's/.*lookup_us=\([0-9]*\).*/\1/p' "$T/lookups" | sort -n | awk '{v[NR]=$1} END {
	printf "lookup latency over %d messages: p50 %d us, max %d us\n", NR, v[int((NR+1)/2)], v[NR] }'
sed -n 's/.*tokens=\([0-9]*\).*/\1/p' "$T/lookups" | awk '{s+=$1} END {
	printf "tokens per scored message: %.0f\n", s/NR }'

# ---- 5. the scanner as mavisd builds it (spam_scanners = native, spam_bayes_dsn) -------------
cat >"$T/mavisd.conf" <<EOF
spam_scanners = native
spam_bayes_dsn = $DSN
spam_bayes_username = mavis
quarantine_dir = $T/quarantine
EOF
f=$(head -n 1 "$T/spam.test")
"$MAVISCTL" scan -c "$T/mavisd.conf" "$f" >"$T/scan.out" 2>"$T/scan.err" || fail "mavisctl scan: $(cat "$T/scan.err")"
# BAYES_99 with its score of set 2 (50_scores.cf: 0 0 3.8 3.5)
tr -d '\n' <"$T/scan.out" | grep -q "X-Spam-Status.*BAYES_99=3.8" ||
	fail "mavisctl scan: no BAYES_99=3.8: $(cat "$T/scan.out")"

# ---- 6. the database away: scored without Bayes, said why ------------------------------------
$PGSQL stop "$T/pg"
"$MAVISCTL" scan -c "$T/mavisd.conf" "$f" >"$T/scan.out" 2>"$T/scan.err" ||
	fail "mavisctl scan without the database failed: $(cat "$T/scan.err")"
grep -q "X-Spam-Status" "$T/scan.out" || fail "not scored without the database"
grep -q "BAYES_" "$T/scan.out" && fail "a BAYES_ rule without a database"
grep -q "scored without Bayes" "$T/scan.err" || fail "no log line says why: $(cat "$T/scan.err")"
f=$(head -n 1 "$T/spam.test")
line=$(M score "$f" 2>"$T/err") || fail "score without database failed"
grep -q "scored without Bayes" "$T/err" || fail "no reason given: $(cat "$T/err")"
echo "$line" | grep -q BAYES_ && fail "a BAYES_ rule without a database: $line"
echo "$line" | grep -q "bayes=unavailable" || fail "not marked: $line"
echo "PASS: test_sa_bayes"
