#!/bin/sh
# Regenerates the animated WebP fixtures with img2webp (Debian package
# webp) from the frames animation_test.go draws; the files are committed,
# so tests never need the tool.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd .. && go test -run TestWritePNGs -png-dir "$work" .)
img2webp -loop 0 -lossless -d 100 "$work/frame0.png" "$work/frame1.png" "$work/frame2.png" -o anim-lossless.webp
img2webp -loop 0 -lossy -q 90 -d 100 "$work/frame0.png" "$work/frame1.png" "$work/frame2.png" -o anim-lossy.webp
img2webp -loop 0 -lossless -d 100 "$work/alpha0.png" "$work/alpha1.png" "$work/alpha2.png" -o anim-alpha-lossless.webp
img2webp -loop 0 -lossy -q 90 -d 100 "$work/alpha0.png" "$work/alpha1.png" "$work/alpha2.png" -o anim-alpha-lossy.webp
