#!/bin/sh
# The Debian package (issue 16 item 6), given as MAVIS_DEB (contrib/build-deb
# builds it and runs this test on it; without MAVIS_DEB the test is skipped):
#  1. its name and control fields: mavis_VERSION_ARCH.deb with the CMake
#     project version, Depends from shlibs plus adduser;
#  2. its contents list equals t/pkg/contents.list (library version
#     normalised), binaries with a RUNPATH to the private library directory;
#  3. conffiles: everything under /etc/mavis;
#  4. maintainer scripts: system user mavis, directories owned by it 0750,
#     the unit enabled, started only after "mavisd -n" passes, stopped on
#     remove; all parse with sh -n;
#  5. the unpacked tree works: its mavisd -n validates its shipped
#     configuration and refuses a broken one with file:line, its mavisctl
#     check agrees, and systemd-analyze verify accepts its unit.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
: "${MAVIS_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
if [ -z "${MAVIS_DEB:-}" ]; then
	echo "SKIP: no MAVIS_DEB given (contrib/build-deb builds the package and runs this test)" >&2
	exit 77
fi
[ -f "$MAVIS_DEB" ] || { echo "FAIL: $MAVIS_DEB does not exist" >&2; exit 1; }

D=$(mktemp -d /tmp/mavis-pkg.XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM
chmod 0755 "$D"
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# 1. Name and control fields.
version=$(sed -n 's/^project(mavis VERSION \([0-9.]*\).*/\1/p' "$MAVIS_SOURCE_DIR/CMakeLists.txt")
arch=$(dpkg --print-architecture)
[ "$(basename "$MAVIS_DEB")" = "mavis_${version}_${arch}.deb" ] ||
	fail "package file is $(basename "$MAVIS_DEB"), want mavis_${version}_${arch}.deb"
field() { dpkg-deb -f "$MAVIS_DEB" "$1"; }
[ "$(field Package)" = mavis ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), CMake says $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
deps=$(field Depends)
for want in adduser spamassassin libc6 libclamav libgmime-3.0 libpcre2-8 libsystemd0; do
	echo "$deps" | grep -q "$want" || fail "Depends lacks $want: $deps"
done

# 2. Contents: every file, and the directories that are ours.
dpkg-deb -c "$MAVIS_DEB" | awk '{ print substr($1, 1, 1), $6 }' |
	awk '$1 != "d" || $2 ~ /mavis/ { print $2 }' |
	sed "s/libmavis\.so\.$version\$/libmavis.so.VERSION/" | sort >"$D/contents"
sort "$MAVIS_SOURCE_DIR/t/pkg/contents.list" >"$D/want"
diff -u "$D/want" "$D/contents" >&2 || fail "contents differ from t/pkg/contents.list"

# 3. Conffiles.
dpkg-deb -e "$MAVIS_DEB" "$D/control"
dpkg-deb -c "$MAVIS_DEB" | awk '$1 !~ /^d/ && $6 ~ /^\.\/etc\// { print substr($6, 2) }' |
	sort >"$D/etc-files"
sort "$D/control/conffiles" | diff -u "$D/etc-files" - >&2 || fail "conffiles are not everything under /etc"

# 4. Maintainer scripts.
for s in preinst postinst prerm postrm; do
	[ -f "$D/control/$s" ] || fail "no $s"
	sh -n "$D/control/$s" || fail "$s does not parse"
done
pi=$D/control/postinst
grep -q 'adduser --system --group' "$pi" || fail "postinst makes no system user"
for dir in /var/lib/mavis /var/lib/mavis/tmp /var/lib/mavis/quarantine; do
	grep -q "own $dir 0750" "$pi" || fail "postinst does not give $dir to mavis 0750"
done
grep -q "deb-systemd-helper enable 'mavisd.service'" "$pi" || fail "postinst does not enable the unit"
# The only start is the restart behind the configuration check.
starts=$(grep -c 'deb-systemd-invoke \(start\|restart\)' "$pi" || true)
[ "$starts" -eq 1 ] || fail "postinst starts the unit $starts times, want 1 (after mavisd -n)"
awk '/mavisd -n -c/ { checked = 1 } /deb-systemd-invoke (start|restart)/ && !checked { bad = 1 }
	END { exit bad }' "$pi" || fail "postinst starts the unit before the configuration check"
grep -q 'deb-systemd-invoke stop mavisd.service' "$D/control/prerm" || fail "prerm does not stop the unit"

# 5. The unpacked tree.
dpkg-deb -x "$MAVIS_DEB" "$D/root"
libdir=$D/root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/mavis
for b in usr/libexec/mavis/mavisd-filter usr/sbin/mavisctl; do
	readelf -d "$D/root/$b" | grep -q "RUNPATH.*\[/usr/lib/.*/mavis\]" ||
		fail "$b has no RUNPATH to the private library directory"
done
# The launcher that stays root links libc alone (milter/launcher/main.c).
[ "$(readelf -d "$D/root/usr/sbin/mavisd" | grep -c NEEDED)" = 1 ] ||
	fail "mavisd links more than libc: $(readelf -d "$D/root/usr/sbin/mavisd" | grep NEEDED)"
# LD_LIBRARY_PATH comes before RUNPATH: the unpacked library, not one
# installed on this host.
export LD_LIBRARY_PATH="$libdir"
ldd "$D/root/usr/libexec/mavis/mavisd-filter" | grep -q "libmavis.so.0 => $libdir/" ||
	fail "mavisd-filter does not load $libdir/libmavis.so.0"
# As root, daemon_user = mavis must exist (postinst makes it); without
# that user here, check as an unprivileged user instead, which skips only
# the root check.
run=""
if [ "$(id -u)" = 0 ] && ! getent passwd mavis >/dev/null; then
	run="setpriv --reuid=nobody --regid=nogroup --clear-groups"
fi
conf=$D/root/etc/mavis/mavisd.conf
$run "$D/root/usr/sbin/mavisd" -n -c "$conf" >"$D/out" 2>&1 || fail "mavisd -n refuses the shipped config: $(cat "$D/out")"
$run "$D/root/usr/sbin/mavisctl" check -c "$conf" >"$D/out" 2>&1 || fail "mavisctl check refuses the shipped config: $(cat "$D/out")"
cp "$conf" "$D/bad.conf"
echo "final_virus_destiny = sometimes" >>"$D/bad.conf"
n=$(wc -l <"$D/bad.conf")
rc=0
$run "$D/root/usr/sbin/mavisd" -n -c "$D/bad.conf" >"$D/out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "mavisd -n accepted a bad destiny"
grep -q "bad.conf:$n:" "$D/out" || fail "no file:line for the bad line: $(cat "$D/out")"
if command -v systemd-analyze >/dev/null; then
	# verify checks that ExecStart= names an executable: point it at the
	# unpacked one.
	sed "s|/usr/sbin/mavisd|$D/root/usr/sbin/mavisd|g" "$D/root/lib/systemd/system/mavisd.service" \
		>"$D/mavisd.service"
	# --man=no: the manual pages are in the package, not on this host.
	systemd-analyze verify --man=no "$D/mavisd.service" >"$D/out" 2>&1 ||
		fail "systemd-analyze verify: $(cat "$D/out")"
	[ ! -s "$D/out" ] || fail "systemd-analyze verify complains: $(cat "$D/out")"
fi
echo "PASS test_package"
