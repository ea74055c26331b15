#!/bin/sh
# Regenerates the split zip fixture with Info-ZIP's zip (Debian package
# zip): photo.bin (96 KiB of pseudo-random bytes, stored) and note.txt,
# split into 64 KiB volumes: photos.z01, photos.zip. The files are
# committed, so tests never need zip.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c 98304 /dev/urandom >"$work/photo.bin"
printf 'split zip note\n' >"$work/note.txt"
rm -f photos.z*
(cd "$work" && zip -q -0 -s 64k photos.zip photo.bin note.txt)
cp "$work"/photos.z* .
