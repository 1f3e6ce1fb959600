#!/usr/bin/env bash
# fuzz.sh: runs every Go native fuzz target (`func FuzzX` in a _test.go file)
# for FUZZTIME each, one after the other. `make test` runs them briefly
# (FUZZTIME=3s); `make fuzz` runs them for minutes (FUZZTIME=2m). A crash
# stops the run; Go writes the input to the package's testdata/fuzz/FuzzX/,
# where it stays as a regression test once the bug is fixed.
#
#   FUZZTIME=30s bash scripts/fuzz.sh              # every target
#   bash scripts/fuzz.sh ./pkg/httpapi FuzzRoutes  # one target
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-3s}
# One worker by default: the suite shares the machine with moto and others.
FUZZ_PARALLEL=${FUZZ_PARALLEL:-1}

run() {
	echo "fuzz: $2 in $1 for $FUZZTIME"
	go test -run='^$' -fuzz="^$2\$" -fuzztime="$FUZZTIME" -parallel="$FUZZ_PARALLEL" "$1"
}

if [ $# -eq 2 ]; then
	run "$1" "$2"
	exit 0
fi

targets=$(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' pkg cmd internal 2>/dev/null | sort)
[ -n "$targets" ] || { echo "fuzz: no targets found" >&2; exit 1; }
n=0
for file in $targets; do
	for name in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | cut -d' ' -f2); do
		run "./$(dirname "$file")" "$name"
		n=$((n + 1))
	done
done
echo "fuzz: $n targets passed"
