#!/usr/bin/env bash
# coldstart.sh: regenerate test/lambda/coldstart.txt, each function's binary
# size and cold start under the Lambda Runtime Interface Emulator on this
# machine. Runs the emulator test once with ROTOR_COLDSTART_OUT set.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-test/lambda/coldstart.txt}
ROTOR_COLDSTART_OUT=$PWD/$out bash scripts/lambda-test.sh
echo
echo "==> $out"
cat "$out"
