#!/usr/bin/env bash
# Browser test of the demo page: builds and starts the local Rotor server
# with a short access-token lifetime and DPoP optional (as make dev) on a
# free loopback port, then drives
# headless Chromium (Debian's package, through playwright-core) against it
# with node's test runner, and stops the server.
# Usage: scripts/browser-test.sh   (works in CI: no prompts, no stdin)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

ttl_seconds="${ROTOR_BROWSER_TTL_SECONDS:-3}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "browser-test: installing chromium with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# The two-factor test takes its codes from Debian's oathtool (an independent
# RFC 6238 generator), as test/e2e does.
if ! command -v oathtool >/dev/null; then
  echo "browser-test: installing oathtool with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends oathtool >/dev/null
fi

(cd test/browser && CI=true npm ci --no-audit --no-fund --no-progress)

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

go build -o "$work/rotor-local" "${ROTOR_LOCAL_PKG:-./cmd/rotor-local}"

port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
url="http://127.0.0.1:$port"
ROTOR_ADDR="127.0.0.1:$port" \
ROTOR_CORS_ALLOW_ORIGIN="$url" \
ROTOR_APP_URL="$url" \
ROTOR_ACCESS_TOKEN_TTL="${ttl_seconds}s" \
ROTOR_CLOCK_LEEWAY=0s \
ROTOR_WEBAUTHN_ORIGINS="http://localhost:$port" \
ROTOR_DPOP=optional \
  "$work/rotor-local" >"$work/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 100); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "browser-test: rotor-local exited early:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$url/" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "browser-test: rotor-local did not serve the demo page at $url/ within 20 s:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

status=0
(cd test/browser && ROTOR_URL="$url" ROTOR_PASSKEY_URL="http://localhost:$port" ROTOR_ACCESS_TTL_SECONDS="$ttl_seconds" node --test browser.test.mjs passkey.test.mjs mfa-passkey.test.mjs dpop.test.mjs) || status=$?
if [ "$status" -ne 0 ]; then
  echo "browser-test: server log:" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
