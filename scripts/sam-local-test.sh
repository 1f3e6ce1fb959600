#!/usr/bin/env bash
# sam-local-test.sh: the whole API under `sam local`, for real, at native
# speed: every function in a Lambda container with `sam local invoke`, then
# `sam local start-api` with the authorizer in front, started three times
# over, against a private moto_server. It runs the template as committed
# (sam build's output, no edited copy), with this host's Architecture.
#
#   bash scripts/sam-local-test.sh        # or: make sam-local-test
#   bash scripts/sam-local-test.sh -run TestStartAPI   # arguments go to go test
#
# scripts/sam-local-env.sh prepares Docker, the base image, SAM CLI, the
# build and moto_server, as for `make sam-local`. Then the Go test
# test/samlocal (build tag samlocal) serves moto to the containers, creates
# the tables and secrets (internal/samlocal), runs `sam local invoke` and
# `sam local start-api` and checks every answer.
set -euo pipefail
NAME=sam-local-test
# shellcheck source=scripts/sam-local-env.sh
source "$(dirname "$0")/sam-local-env.sh"
sam_local_setup

# The MFA test takes its codes from Debian's oathtool (an independent RFC
# 6238 generator), as test/e2e does.
command -v oathtool >/dev/null || apt_install oathtool

step "go test -tags samlocal ./test/samlocal/"
# The test fails (never skips) when any of these is missing.
ROTOR_SAMLOCAL=1 \
	ROTOR_SAM="$SAM" \
	ROTOR_SAM_TEMPLATE="$BUILD_DIR/template.yaml" \
	ROTOR_SAM_ARCHITECTURE="$ARCH" \
	ROTOR_SAM_RUN_DIR="$RUN" \
	ROTOR_SAM_MOTO_URL="$MOTO_URL" \
	ROTOR_SAM_LISTEN_HOST="$LISTEN_HOST" \
	go test -tags samlocal -count=1 -v -timeout 20m ./test/samlocal/ "$@"
