#!/usr/bin/env bash
# test.sh: the whole test suite (`make test`). Installs and starts what the
# tests need, as a new user's machine would: one moto_server for DynamoDB and
# Secrets Manager, the SAM CLI in .venv/sam, the Lambda runtime emulator in
# .tools/bin, npm packages, Debian's chromium for the browser test; test/oauth
# installs requests-oauthlib (.venv/oauth-clients) and aws-jwt-verify
# (test/oauth/node) itself, scripts/schemathesis.sh schemathesis (.venv/schemathesis).
#
#   bash scripts/test.sh          # everything
#   bash scripts/test.sh go       # only the Go packages (with moto)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
what=${1:-all}

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\ntest: FAIL: %s\n' "$*" >&2; exit 1; }

step "go vet and gofmt"
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.*'))
[ -z "$unformatted" ] || fail "gofmt would change: $unformatted"

step "go mod tidy"
go mod tidy -diff || fail "go.mod/go.sum are not tidy: run go mod tidy"

step "PostgreSQL, Redis, an SMTP server and oathtool (Debian packages; the tests start private servers)"
# The tests run initdb/postgres (as nobody when root) and redis-server in
# temporary directories on free ports; the system services are never used.
need=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
# pkg/mail's SMTP tests run a private aiosmtpd under Debian's python3.
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)
# test/e2e's MFA flows take their TOTP codes from oathtool: an independent
# RFC 6238 implementation.
command -v oathtool >/dev/null || need+=(oathtool)
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || fail "install ${need[*]} (apt-get install -y ${need[*]}), or run as root"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq </dev/null >/dev/null || fail "apt-get update"
	apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null >/dev/null || fail "apt-get install ${need[*]}"
fi
echo "postgres: $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1 || command -v initdb)  redis: $(redis-server --version | cut -d' ' -f3)"

step "moto_server"
if ! command -v moto_server >/dev/null 2>&1 && ! python3 -c 'import moto.server, flask' >/dev/null 2>&1; then
	python3 -m pip install --quiet --disable-pip-version-check "moto[server]>=5" </dev/null || fail 'pip install "moto[server]"'
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# One request at a time, like DynamoDB's per-item atomic conditional writes
# (see the script for why moto's threaded server is not enough).
python3 scripts/moto-serial.py -H 127.0.0.1 -p "$port" >"${TMPDIR:-/tmp}/rotor-moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
export ROTOR_MOTO_URL=http://127.0.0.1:$port
for _ in $(seq 1 150); do
	curl -fsS -o /dev/null "$ROTOR_MOTO_URL/moto-api/" 2>/dev/null && break
	kill -0 $moto_pid 2>/dev/null || { cat "${TMPDIR:-/tmp}/rotor-moto.log" >&2; fail "moto_server exited"; }
	sleep 0.2
done
curl -fsS -o /dev/null "$ROTOR_MOTO_URL/moto-api/" || fail "moto_server did not start on $ROTOR_MOTO_URL"
echo "moto_server at $ROTOR_MOTO_URL"

step "go test (every package but the emulator tests)"
pkgs=$(go list ./... | grep -v '/test/lambda$')
# go test's default -timeout (10m per test binary) is a wall clock: test/e2e
# alone took 7m45s beside three busy loops and four other builds (issue 19).
# The bound is a hang guard, not a budget: see docs/TESTING.md, "Under load".
GO_TEST_TIMEOUT=${GO_TEST_TIMEOUT:-60m}
go test -count=1 -timeout "$GO_TEST_TIMEOUT" $pkgs

step "go test -race (the concurrent parts)"
go test -count=1 -timeout "$GO_TEST_TIMEOUT" -race ./pkg/sessions/... ./pkg/store/... ./pkg/client/... ./pkg/keys/...

step "fuzz targets, briefly (make fuzz runs them for minutes)"
FUZZTIME=3s bash scripts/fuzz.sh

[ "$what" = go ] && exit 0

step "schemathesis: the local server fuzzed from docs/openapi.yaml (no 5xx, every answer conforms)"
bash scripts/schemathesis.sh

step "SAM template: cfn-lint, sam validate --lint, sam build; then the real binaries under the Lambda runtime emulator"
bash scripts/lambda-test.sh

step "sam local: every function under sam local invoke, the API under sam local start-api across three starts (Docker, native architecture)"
bash scripts/sam-local-test.sh

step "TypeScript client"
bash scripts/js-test.sh

if [ -f scripts/browser-test.sh ]; then
	step "browser test (Playwright + Debian chromium)"
	bash scripts/browser-test.sh
fi
printf '\nAll test stages passed.\n'
