#!/bin/sh
# Runs the kill-a-worker test: two workers share a run on a throwaway
# PostgreSQL (Debian's postgresql package) on 127.0.0.1, one is SIGKILLed
# at a random point, and the result is checked against a single-process
# scan: nothing lost, nothing duplicated, no URL fetched more than twice,
# no alert under two IDs. Everything runs on 127.0.0.1.
#
#   scripts/kill-worker.sh [CYCLES]     (default 20)
set -eu
cd "$(dirname "$0")/.."
exec go test -run '^TestKillWorker$' -count=1 -timeout 60m -v ./cmd/leakwatch -args -worker-cycles="${1:-20}"
