#!/bin/sh
# X-Spam-Status folding and score formatting compared with amavisd-new's own
# code on 2,000 random cases (t/lib/amavis_oracle.pl). Needs amavisd-new's
# Perl modules: installed (/usr/share/perl5/Amavis), or AMAVIS_PERL5LIB
# pointing at an unpacked package's usr/share/perl5 (apt-get download
# amavisd-new; dpkg-deb -x; it needs libnet-libidn2-perl, libmime-tools-perl
# and libunix-syslog-perl). Skipped otherwise.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAVIS_BUILD_DIR:=$MAVIS_SOURCE_DIR/build}"
LIB=${AMAVIS_PERL5LIB:-/usr/share/perl5}
[ -n "${AMAVIS_PERL5LIB:-}" ] || [ ! -d /var/cache/mavis-test/amavisd-new/usr/share/perl5 ] ||
	LIB=/var/cache/mavis-test/amavisd-new/usr/share/perl5
if [ ! -f "$LIB/Amavis/Out/EditHeader.pm" ] ||
	! perl -I"$LIB" -e 'require Amavis::Out::EditHeader' 2>/dev/null; then
	echo "SKIP: amavisd-new's Perl modules not found (set AMAVIS_PERL5LIB)" >&2
	exit 77
fi
T=$(mktemp -d /tmp/mavis-spamfmt.XXXXXX)
trap 'rm -rf "$T"' EXIT
ORACLE=$MAVIS_SOURCE_DIR/t/lib/amavis_oracle.pl
perl "$ORACLE" gen 1000 "${SEED:-12}" >"$T/cases"
perl -I"$LIB" "$ORACLE" run <"$T/cases" >"$T/amavis" 2>/dev/null
"$MAVIS_BUILD_DIR/t/test_spam" oracle <"$T/cases" >"$T/mavis"
n=$(wc -l <"$T/cases")
if ! cmp -s "$T/amavis" "$T/mavis"; then
	diff "$T/amavis" "$T/mavis" | head -20 >&2
	echo "FAIL: mavis differs from amavisd-new (first differences above)" >&2
	exit 1
fi
echo "PASS: $n cases identical"
