#!/usr/bin/env bash
# coldstart.sh: regenerate test/lambda/coldstart.txt (`make coldstart`):
#  - each function's bootstrap size for arm64, built by the Makefile's
#    build-<Function> target as `sam build` deploys it, and
#  - its cold start under the Lambda Runtime Interface Emulator on this
#    machine (the median of ROTOR_COLDSTART_RUNS fresh starts, default 9),
# both beside a baseline (bench/baseline: lambda.Start of a constant, built by
# the same Makefile rule), in one run, as ratios. The authorizer's key fetch
# during its cold start is reported apart (keys_ms).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-test/lambda/coldstart.txt}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
host=$(go env GOARCH)
ids=$(grep -E '^build-[A-Za-z]+Function:' Makefile | sed -E 's/^build-([A-Za-z]+):.*/\1/')

echo "==> arm64 bootstraps (make build-<Function> GOARCH=arm64) and the baseline"
make -s build-Baseline GOARCH=arm64 ARTIFACTS_DIR="$tmp/arm64/Baseline"
for id in $ids; do make -s "build-$id" GOARCH=arm64 ARTIFACTS_DIR="$tmp/arm64/$id"; done
make -s build-Baseline GOARCH="$host" ARTIFACTS_DIR="$tmp/host/Baseline"

echo "==> cold starts under the emulator ($host), with the baseline"
ROTOR_COLDSTART_OUT="$tmp/cold.txt" ROTOR_COLDSTART_BASELINE="$tmp/host/Baseline/bootstrap" \
	ROTOR_COLDSTART_RUNS="${ROTOR_COLDSTART_RUNS:-9}" bash scripts/lambda-test.sh

size() { stat -c %s "$1"; }
base=$(size "$tmp/arm64/Baseline/bootstrap")
{
	cat "$tmp/cold.txt"
	echo
	echo "# arm64 bootstrap sizes as deployed (make build-<Function> GOARCH=arm64: $(go version | cut -d' ' -f3),"
	echo "# -trimpath -ldflags='-s -w' -tags $(sed -n 's/^GO_TAGS = //p' Makefile)); x_base: size / the baseline's."
	printf '%-20s %12s %8s %7s\n' function arm64_bytes MB x_base
	for id in Baseline $ids; do
		s=$(size "$tmp/arm64/$id/bootstrap")
		awk -v id="$id" -v s="$s" -v b="$base" 'BEGIN { printf "%-20s %12d %8.2f %7.2f\n", id, s, s / 1e6, s / b }'
	done
} >"$out"
echo
echo "==> $out"
cat "$out"
