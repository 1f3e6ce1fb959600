#!/usr/bin/env bash
# stress.sh: the Go stage of `make test` under CPU contention, to find the
# tests that depend on timing (issue 19, item 6). BUSY bounded busy loops
# (each stops after LIMIT seconds at the latest, and all stop when this script
# ends) share the cores with `go test -count=COUNT` of the packages, so every
# test runs COUNT times in a row on a machine busier than it has cores. It
# prints each failing test with how often it failed, and exits non-zero when
# any did. It starts nothing else: the tests start their own moto_server,
# PostgreSQL and redis-server.
#
#   bash scripts/stress.sh                              # the Go stage's packages, 20 times, 3 loops
#   COUNT=5 bash scripts/stress.sh ./test/faults ./pkg/devserver
#   RUN=TestFrozenDynamoDB COUNT=20 bash scripts/stress.sh ./test/faults
#   RACE=1 bash scripts/stress.sh ./pkg/sessions/... ./pkg/store/...
#
# Timing assertions are defects: a test may wait for an event, never for a
# time to pass, and a deadline in a test is a hang guard far above any
# plausible run (see docs/TESTING.md, "Under load").
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-20}
BUSY=${BUSY:-3}
LIMIT=${LIMIT:-7200}     # seconds: the busy loops end by then whatever happens
TIMEOUT=${TIMEOUT:-3h}   # go test -timeout, per package binary (COUNT runs)
RUN=${RUN:-}
RACE=${RACE:-}

if [ $# -gt 0 ]; then
	pkgs=("$@")
else
	# The Go stage of scripts/test.sh: every package but the emulator tests.
	mapfile -t pkgs < <(go list ./... | grep -v '/test/lambda$')
fi

busy=()
stop() {
	for p in "${busy[@]}"; do
		kill "$p" 2>/dev/null || true
	done
}
trap stop EXIT
for _ in $(seq 1 "$BUSY"); do
	timeout "$LIMIT" sh -c 'while :; do :; done' &
	busy+=($!)
done

args=(-count="$COUNT" -timeout="$TIMEOUT")
[ -n "$RUN" ] && args+=(-run "$RUN")
[ -n "$RACE" ] && args+=(-race)
log=$(mktemp "${TMPDIR:-/tmp}/rotor-stress.XXXXXX")
echo "stress: $BUSY busy loops; go test ${args[*]} on ${#pkgs[@]} package(s); log $log" >&2
status=0
go test "${args[@]}" "${pkgs[@]}" >"$log" 2>&1 || status=$?
stop

grep -E '^(ok|FAIL|---)' "$log" | grep -vE '^--- PASS' || true
failed=$(grep -E '^\s*--- FAIL' "$log" | sed -E 's/^\s*--- FAIL: ([^ ]+).*/\1/' | sort | uniq -c | sort -rn || true)
if [ "$status" -ne 0 ]; then
	echo "stress: FAILED (go test exit $status); failures by test:" >&2
	echo "${failed:-  (none named: a build error, panic or timeout; see $log)}" >&2
	exit 1
fi
echo "stress: every test passed $COUNT times in a row" >&2
