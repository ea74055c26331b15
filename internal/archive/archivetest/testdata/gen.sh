#!/bin/sh
# Regenerates the fixtures that Go cannot write (bzip2, 7z, xz as xz-utils
# writes it). Needs tar, bzip2, xz and 7zz (Debian package 7zip). The
# contents are mirrored by archivetest.FixtureFiles; the archives are
# committed, so tests never need these tools.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/dir"
printf 'alpha\n' >"$work/src/a.txt"
printf 'bravo bravo\n' >"$work/src/dir/b.txt"
yes charlie | head -c 3000 >"$work/src/c.bin"
printf 'delta\n' >"$work/deep.txt"
printf 'bzip2 single file\n' >"$work/note.txt"

(cd "$work/src" && tar --format=ustar --sort=name --owner=0 --group=0 --numeric-owner \
	--mtime=2024-01-01T00:00:00Z -cf - a.txt c.bin dir) | bzip2 -9 >benign.tar.bz2
bzip2 -9 -c "$work/note.txt" >note.txt.bz2

rm -f benign.7z nested.7z encrypted.7z encrypted-headers.7z
(cd "$work/src" && 7zz a -bd -bso0 -t7z "$OLDPWD/benign.7z" a.txt c.bin dir)
(cd "$work" && 7zz a -bd -bso0 -tzip inner.zip deep.txt)
(cd "$work" && 7zz a -bd -bso0 -t7z "$OLDPWD/nested.7z" inner.zip src/a.txt)
(cd "$work/src" && 7zz a -bd -bso0 -t7z -pSECRET -mhe=off "$OLDPWD/encrypted.7z" a.txt c.bin)
(cd "$work/src" && 7zz a -bd -bso0 -t7z -pSECRET -mhe=on "$OLDPWD/encrypted-headers.7z" a.txt c.bin)
# Non-solid, twelve encrypted folders, then two plain ones added by update.
rm -f mixed-encryption.7z
mkdir -p "$work/mixed"
for i in 01 02 03 04 05 06 07 08 09 10 11 12; do printf 'secret file %s\n' "$i" >"$work/mixed/s$i.txt"; done
printf 'plain one\n' >"$work/mixed/p1.txt"
printf 'plain two\n' >"$work/mixed/p2.txt"
(cd "$work/mixed" && 7zz a -bd -bso0 -t7z -pSECRET -mhe=off -ms=off "$OLDPWD/mixed-encryption.7z" s*.txt &&
	7zz a -bd -bso0 -t7z -ms=off "$OLDPWD/mixed-encryption.7z" p1.txt p2.txt)
# xz as xz-utils writes it (needs xz-utils): several blocks and check
# types, a two-filter chain, stored LZMA2 chunks, two streams with padding.
(cd "$work/src" && tar --format=ustar --sort=name --owner=0 --group=0 --numeric-owner \
	--mtime=2024-01-01T00:00:00Z -cf "$work/benign.tar" a.txt c.bin dir)
xz -9 --check=sha256 --block-size=1KiB -c "$work/benign.tar" >blocks-sha256.tar.xz
xz --check=none -c "$work/benign.tar" >check-none.tar.xz
xz --x86 --lzma2=preset=1 -c "$work/benign.tar" >x86-filter.tar.xz
head -c 6000 /dev/urandom | xz --check=crc32 --block-size=2500 >stored-chunks.bin.xz
{ xz -c "$work/note.txt"; printf '\0\0\0\0\0\0\0\0'; xz --check=crc64 -c "$work/deep.txt"; } >two-streams.txt.xz
