#!/usr/bin/env bash
# bench.sh: reproduces BENCHMARKS.md (`make bench`). Go micro-benchmarks, then
# bounded load runs against the local server on 127.0.0.1, compared across
# signing algorithms and stores. Takes about 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-/dev/stdout}
step() { printf '\n## %s\n\n' "$*"; }
{
step "machine"
echo "date: $(date -u +%FT%TZ)  go: $(go version | cut -d' ' -f3)  cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

step "go test -bench"
go test -run '^$' -bench . -benchmem -count 1 ./pkg/token/ ./pkg/password/ ./pkg/authorizer/ ./pkg/sessions/ | grep -E '^(Benchmark|goos|cpu)'

go build -o bin/rotor-local ./cmd/rotor-local
go build -o bin/rotor-load ./cmd/rotor-load
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
serve() { # serve ENV... : start rotor-local with extra env, wait for it
	env ROTOR_ADDR=127.0.0.1:$port "$@" bin/rotor-local >/dev/null 2>&1 &
	srv=$!
	for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/.well-known/jwks.json" 2>/dev/null && return; sleep 0.1; done
	echo "rotor-local did not start" >&2; exit 1
}
stop() { kill $srv; wait $srv 2>/dev/null || true; }
load() { bin/rotor-load -url "http://127.0.0.1:$port" "$@"; }

step "load: embedded store, ES256 (the default)"
serve
load -scenario me -n 20000 -c 8
load -scenario refresh -n 10000 -c 8
load -scenario login -n 200 -c 2
stop

step "load: GET /me (authorizer + route) by signing algorithm"
for alg in RS256 EdDSA HS256; do serve ROTOR_SIGNING_ALG=$alg; printf '%-6s ' $alg; load -scenario me -n 20000 -c 8; stop; done

step "load: refresh on DynamoDB (moto_server, one request at a time) vs the embedded store above"
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 scripts/moto-serial.py -p "$mport" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$mport/moto-api/" 2>/dev/null && break; sleep 0.2; done
serve ROTOR_STORE=dynamodb AWS_ENDPOINT_URL=http://127.0.0.1:$mport AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
load -scenario refresh -n 2000 -c 4
load -scenario me -n 5000 -c 8
stop
} | tee "$out"
