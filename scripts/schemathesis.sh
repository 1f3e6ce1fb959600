#!/usr/bin/env bash
# schemathesis.sh: property-based fuzzing of the local server, driven by
# docs/openapi.yaml. Starts the local server (cmd/rotor-local) on a free
# loopback port, signs a user up so the protected routes are reached with a
# real access token too, and runs schemathesis with a bounded example budget.
# Fails on any 5xx and on any answer that departs from the description
# (status, content type, headers, body).
#
#   bash scripts/schemathesis.sh
#   ST_MAX_EXAMPLES=200 bash scripts/schemathesis.sh   # a longer run
#
# Installs schemathesis into .venv/schemathesis on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ST_VERSION=${ST_VERSION:-4.32.5}
ST_MAX_EXAMPLES=${ST_MAX_EXAMPLES:-30}
ST_SEED=${ST_SEED:-$RANDOM}
VENV=$ROOT/.venv/schemathesis
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nschemathesis: FAIL: %s\n' "$*" >&2; exit 1; }

step "schemathesis ${ST_VERSION} in .venv/schemathesis"
if ! { [ -x "$VENV/bin/st" ] && "$VENV/bin/st" --version 2>/dev/null | grep -q "version ${ST_VERSION}\$"; }; then
	[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || fail "python3 -m venv $VENV"
	"$VENV/bin/python" -m pip install --quiet "schemathesis==${ST_VERSION}" </dev/null || fail "pip install schemathesis==${ST_VERSION}"
fi
"$VENV/bin/st" --version

step "local server on a free port"
work=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/rotor-local" ./cmd/rotor-local
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
# A short backoff keeps throttled logins from slowing the run down.
ROTOR_ADDR=127.0.0.1:$port ROTOR_LOGIN_BACKOFF_BASE=1s ROTOR_LOGIN_BACKOFF_MAX=2s \
	"$work/rotor-local" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
	curl -fsS -o /dev/null "$url/.well-known/openid-configuration" 2>/dev/null && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "rotor-local exited"; }
	sleep 0.1
done
curl -fsS -o /dev/null "$url/.well-known/openid-configuration" || fail "rotor-local did not answer on $url"
echo "rotor-local at $url"

curl -fsS -o /dev/null -H 'Content-Type: application/json' -d '{"username":"fuzz","password":"correct horse battery"}' "$url/auth/signup"
access=$(curl -fsS -H 'Content-Type: application/x-www-form-urlencoded' \
	-d 'grant_type=password&username=fuzz&password=correct+horse+battery' "$url/oauth/token" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

step "st run docs/openapi.yaml (max ${ST_MAX_EXAMPLES} examples per operation, seed ${ST_SEED})"
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
status=0
"$VENV/bin/st" run docs/openapi.yaml --url "$url" \
	--checks "$checks" \
	--phases examples,coverage,fuzzing \
	--max-examples "$ST_MAX_EXAMPLES" --seed "$ST_SEED" \
	--header "Authorization: Bearer $access" \
	--generation-database none --workers 2 --no-color \
	--request-timeout 10 </dev/null || status=$?
if grep -q '"level":"ERROR"' "$work/server.log"; then
	grep '"level":"ERROR"' "$work/server.log" | head -20 >&2
	fail "the server logged errors"
fi
[ "$status" = 0 ] || fail "schemathesis found problems (seed ${ST_SEED}; rerun with ST_SEED=${ST_SEED})"
echo "schemathesis: no 5xx, every answer conforms"
