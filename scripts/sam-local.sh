#!/usr/bin/env bash
# sam-local.sh: the whole API under `sam local start-api` on
# http://127.0.0.1:3000, at native speed, until Ctrl-C (`make sam-local`).
#
#   make sam-local                 # or: bash scripts/sam-local.sh
#   SAM_LOCAL_PORT=3001 make sam-local
#
# scripts/sam-local-env.sh prepares Docker, the base image, SAM CLI, the
# build (this host's Architecture) and a private moto_server, exactly as for
# `make sam-local-test`. cmd/rotor-sam-local then serves moto to the
# containers, writes env.local.json pointed at it to
# .aws-sam/sam-local/env.json, creates the tables and the two secrets it
# names, and runs `sam local start-api` on the built template. Ctrl-C stops
# sam, moto_server, the containers and the Docker daemon it started, if any.
# Another terminal can run `sam local invoke` against the same moto while it
# runs: the command is printed below.
set -euo pipefail
NAME=sam-local
# shellcheck source=scripts/sam-local-env.sh
source "$(dirname "$0")/sam-local-env.sh"
sam_local_setup

PORT=${SAM_LOCAL_PORT:-3000}
ENV_OUT=$BUILD_DIR/env.json
go build -o "$RUN/rotor-sam-local" ./cmd/rotor-sam-local || fail "go build ./cmd/rotor-sam-local"

step "sam local start-api on http://127.0.0.1:$PORT (Ctrl-C stops everything)"
cat <<EOF
Try, in another terminal:
  curl -s -X POST localhost:$PORT/auth/signup -H 'Content-Type: application/json' \\
       -d '{"username":"alice","password":"correct horse battery staple 42"}'
  ACCESS_TOKEN=\$(curl -s -X POST localhost:$PORT/auth/login -H 'Content-Type: application/json' \\
       -d '{"username":"alice","password":"correct horse battery staple 42"}' | jq -r .access_token)
  curl -s localhost:$PORT/me -H "Authorization: Bearer \$ACCESS_TOKEN"
One function at a time, against the same moto:
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test .venv/sam/bin/sam local invoke LoginFunction -e events/login.json \\
       -t $BUILD_DIR/template.yaml --env-vars $ENV_OUT --parameter-overrides Architecture=$ARCH
EOF
"$RUN/rotor-sam-local" -moto "$MOTO_URL" -listen "$LISTEN_HOST" -env env.local.json -out "$ENV_OUT" \
	-set "ROTOR_ISSUER=http://127.0.0.1:$PORT" -- \
	"$SAM" local start-api --template-file "$BUILD_DIR/template.yaml" --config-file "$ROOT/samconfig.toml" \
	--env-vars "$ENV_OUT" --parameter-overrides "Architecture=$ARCH" --host 127.0.0.1 --port "$PORT"
