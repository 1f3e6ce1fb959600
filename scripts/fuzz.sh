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

# inputs counts the files of a corpus directory (0 when there is none).
inputs() {
	if [ -d "$1" ]; then
		find "$1" -type f | wc -l
	else
		echo 0
	fi
}

run() {
	echo "fuzz: $2 in $1 for $FUZZTIME"
	local corpus="$1/testdata/fuzz/$2" before
	before=$(inputs "$corpus")
	if go test -run='^$' -fuzz="^$2\$" -fuzztime="$FUZZTIME" -parallel="$FUZZ_PARALLEL" "$1"; then
		return 0
	fi
	# A failing input is written to the corpus and fails the run. A failure
	# that wrote nothing is the fuzzing engine's own (a worker that hung or
	# died on a loaded machine): run once more, and let that answer stand.
	if [ "$(inputs "$corpus")" -gt "$before" ]; then
		echo "fuzz: $2 found a failing input: $corpus" >&2
		return 1
	fi
	echo "fuzz: $2: the fuzzing engine failed without a failing input; once more"
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
