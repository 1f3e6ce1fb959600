#!/usr/bin/env bash
# Builds and tests the TypeScript client (clients/js) with node's test runner:
# first against its fake API, then against two local Rotor servers (built
# here, each on a free loopback port): one with DPoP optional as make dev
# runs it, one that also requires server nonces. They test the client's DPoP
# binding, and DPoP by independent implementations (oauth4webapi, the dpop
# package) at /oauth/token, /auth/login, /auth/refresh and a protected route.
# Usage: scripts/js-test.sh   (works in CI: no prompts, no stdin)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/clients/js"
export CI="${CI:-true}" npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
npm ci --no-progress
npm run build
npm test

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/rotor-local" "${ROTOR_LOCAL_PKG:-./cmd/rotor-local}")

# start NAME [VAR=value...]: runs rotor-local with those settings on a free
# port, waits until it answers, and prints its URL.
start() {
  local name=$1 port url pid
  shift
  port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  url="http://127.0.0.1:$port"
  env ROTOR_ADDR="127.0.0.1:$port" ROTOR_CORS_ALLOW_ORIGIN="$url" ROTOR_APP_URL="$url" "$@" \
    "$work/rotor-local" >"$work/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "js-test: rotor-local ($name) exited early:" >&2
      cat "$work/$name.log" >&2
      return 1
    fi
    if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$url/.well-known/jwks.json" 2>/dev/null; then
      started_url=$url
      return 0
    fi
    sleep 0.2
  done
  echo "js-test: rotor-local ($name) did not answer at $url within 20 s:" >&2
  cat "$work/$name.log" >&2
  return 1
}

start dpop ROTOR_DPOP=optional
url=$started_url
start nonce ROTOR_DPOP=optional ROTOR_DPOP_NONCE=true
nonce_url=$started_url

status=0
ROTOR_URL="$url" ROTOR_NONCE_URL="$nonce_url" npm run test:local || status=$?
if [ "$status" -ne 0 ]; then
  for name in dpop nonce; do
    echo "js-test: server log ($name):" >&2
    tail -n 30 "$work/$name.log" >&2
  done
fi
exit "$status"
