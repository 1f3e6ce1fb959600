#!/usr/bin/env bash
# lambda-test.sh: run the real function binaries under the AWS Lambda Runtime
# Interface Emulator against moto_server (DynamoDB + Secrets Manager). No
# Docker, no AWS account.
#
#   bash scripts/lambda-test.sh                # build if needed, then go test
#   LAMBDA_TEST_REBUILD=1 bash scripts/lambda-test.sh   # force sam build
#   ROTOR_COLDSTART_OUT=test/lambda/coldstart.txt bash scripts/lambda-test.sh
#
# Prepares: aws-lambda-rie in .tools/bin (go install), moto_server (pip, if
# missing), and .aws-sam/build with binaries for this machine's architecture
# (GOARCH=<host> via scripts/sam-check.sh). Then: go test ./test/lambda/.
# The Go test fails, never skips, when anything is missing, and names this
# script as the command that provides it. After the tests it checks every
# AWS call each function made against its IAM policy in template.yaml (the
# IAM audit, test/lambda/iam_test.go): a call the role does not allow fails.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
HOST_ARCH=$(go env GOARCH)

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nlambda-test: FAIL: %s\n' "$*" >&2; exit 1; }

step "aws-lambda-rie"
# Pinned, so every run tests against the same emulator (a pseudo-version: the
# module publishes no tags). Bump deliberately.
RIE_VERSION=${RIE_VERSION:-v0.0.0-20261030222936-bef5c4ba774d}
RIE=$ROOT/.tools/bin/aws-lambda-rie
if [ -x "$RIE" ]; then
	echo "present: $RIE"
else
	GOBIN=$ROOT/.tools/bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@${RIE_VERSION} ||
		fail "go install aws-lambda-rie"
	echo "installed: $RIE"
fi

step "moto_server"
if command -v moto_server >/dev/null 2>&1; then
	echo "present: $(command -v moto_server)"
elif python3 -c 'import moto.server, flask' >/dev/null 2>&1; then
	echo "present: python3 -m moto.server"
else
	python3 -m pip install --quiet --disable-pip-version-check "moto[server]>=5" </dev/null ||
		fail 'pip install "moto[server]"'
	command -v moto_server >/dev/null 2>&1 || python3 -c 'import moto.server' ||
		fail "moto_server still not found after pip install"
fi

# Rebuild when a binary is missing, built for another architecture, or older
# than any Go source: a stale binary would test yesterday's code.
need_build() {
	[ "${LAMBDA_TEST_REBUILD:-0}" = 1 ] && return 0
	local want
	case $HOST_ARCH in
	amd64) want=3e ;; # EM_X86_64
	arm64) want=b7 ;; # EM_AARCH64
	*) return 0 ;;
	esac
	local ids
	ids=$(grep -E '^  [A-Za-z]+Function:$' template.yaml | tr -d ' :')
	for id in $ids; do
		local bin=.aws-sam/build/$id/bootstrap
		[ -f "$bin" ] || return 0
		[ "$(od -An -tx1 -j18 -N1 "$bin" | tr -d ' ')" = "$want" ] || return 0
	done
	[ -z "$(find pkg functions go.mod go.sum Makefile template.yaml -newer .aws-sam/build/template.yaml -print -quit 2>/dev/null)" ] || return 0
	return 1
}

step "sam build (GOARCH=$HOST_ARCH)"
if need_build; then
	GOARCH=$HOST_ARCH bash scripts/sam-check.sh || fail "scripts/sam-check.sh"
else
	echo "up to date: .aws-sam/build (LAMBDA_TEST_REBUILD=1 forces a build)"
fi

step "go test ./test/lambda/"
go test ./test/lambda/ -count=1 -v
