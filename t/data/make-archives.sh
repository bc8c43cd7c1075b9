#!/bin/sh
# make-archives.sh - regenerate the few binary archives that libarchive
# cannot write (t/unit/testmsg.h builds everything else at run time):
# password-protected 7z files, one with encrypted data only, one with
# encrypted headers too. Needs p7zip-full (contrib/install-deps).
# Usage: t/data/make-archives.sh   (from the top of the tree)
set -eu
out=t/data/decode
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'MZ secret payload\n' > "$tmp/payload.exe"
rm -f "$out/enc-data.7z" "$out/enc-headers.7z"
(cd "$tmp" && 7za a -bso0 -bsp0 -psecret -mhe=off data.7z payload.exe &&
	7za a -bso0 -bsp0 -psecret -mhe=on headers.7z payload.exe)
cp "$tmp/data.7z" "$out/enc-data.7z"
cp "$tmp/headers.7z" "$out/enc-headers.7z"
ls -l "$out"/enc-*.7z
