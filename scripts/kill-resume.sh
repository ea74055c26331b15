#!/bin/sh
# Runs the kill-and-resume test: scans are SIGKILLed at random points and
# rerun, then checked for lost or duplicated alert events (0 and 0
# expected). Everything runs on 127.0.0.1.
#
#   scripts/kill-resume.sh [CYCLES]     (default 50)
set -eu
cd "$(dirname "$0")/.."
exec go test -run '^TestKillResume$' -count=1 -v ./cmd/leakwatch -args -cycles="${1:-50}"
