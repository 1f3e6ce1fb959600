#!/usr/bin/env bash
# Builds and tests the TypeScript client (clients/js) with node's test runner:
# first against its fake API, then against the local Rotor server (built here,
# on a free loopback port, DPoP optional as make dev runs it): the client's
# DPoP binding, and DPoP by independent implementations (oauth4webapi, the
# dpop package) at /oauth/token, /auth/login and /auth/refresh.
# Usage: scripts/js-test.sh   (works in CI: no prompts, no stdin)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/clients/js"
export CI="${CI:-true}" npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
npm ci --no-progress
npm run build
npm test

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/rotor-local" "${ROTOR_LOCAL_PKG:-./cmd/rotor-local}")
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
url="http://127.0.0.1:$port"
ROTOR_ADDR="127.0.0.1:$port" \
ROTOR_CORS_ALLOW_ORIGIN="$url" \
ROTOR_APP_URL="$url" \
ROTOR_DPOP=optional \
  "$work/rotor-local" >"$work/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 100); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "js-test: rotor-local exited early:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$url/.well-known/jwks.json" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "js-test: rotor-local did not answer at $url within 20 s:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

status=0
ROTOR_URL="$url" npm run test:local || status=$?
if [ "$status" -ne 0 ]; then
  echo "js-test: server log:" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
