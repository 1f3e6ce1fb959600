#!/usr/bin/env bash
# bench.sh: reproduces BENCHMARKS.md (`make bench`). The authorizer beside a
# bare signature check, golang-jwt and aws-jwt-verify (Node, pinned in
# bench/package.json) on one token; Go micro-benchmarks; then bounded load runs
# against the local server on 127.0.0.1, compared across signing algorithms,
# then the same load on every store: embedded, DynamoDB
# (moto_server), PostgreSQL and Redis (private servers started here, in
# temporary directories, durable settings as in production: synchronous
# commit, AOF appendfsync always). About 5 minutes on 2 cores.
#
#   bash scripts/bench.sh          # everything
#   bash scripts/bench.sh stores   # only the store comparison
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-/dev/stdout}
what=${1:-all}
step() { printf '\n## %s\n\n' "$*"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "${tmp:-}"' EXIT
tmp=$(mktemp -d)
chmod 755 "$tmp" # postgres runs as nobody when we are root
{
step "machine"
echo "date: $(date -u +%FT%TZ)  go: $(go version | cut -d' ' -f3)  cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

if [ "$what" = all ]; then
step "authorizer on one ES256 token: bare check, golang-jwt, Rotor, aws-jwt-verify (CPU per decision, median of 5 interleaved rounds)"
(cd bench && npm ci --silent --no-audit --no-fund)
fx=$(mktemp)
raw=$(mktemp)
go run ./bench/fixture >"$fx"
go test -c -o bin/authorizer.test ./pkg/authorizer/
for _ in 1 2 3 4 5; do
	(cd pkg/authorizer && ROTOR_BENCH_FIXTURE="$fx" ../../bin/authorizer.test -test.run '^$' -test.benchmem \
		-test.bench 'BareVerifyES256|GolangJWTParse|RotorTokenEvent|HandleTokenEventCached|CacheHit') | grep '^Benchmark' >>"$raw"
	node bench/verify.mjs "$fx" 20000 >>"$raw"
done
grep -m1 aws-jwt-verify "$raw" | sed 's/.*(/(/'
awk '
	{ name = $1; sub(/-[0-9]+$/, "", name); cpu = ""; allocs = ""
	  for (i = 2; i <= NF; i++) { if ($i == "cpu-ns/op") cpu = $(i-1); if ($i == "allocs/op") allocs = $(i-1) }
	  if (cpu != "") { n[name]++; v[name, n[name]] = cpu + 0; a[name] = allocs } }
	function median(name,   k, i, j, t, arr) {
		k = n[name]; for (i = 1; i <= k; i++) arr[i] = v[name, i]
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
		return arr[int((k + 1) / 2)] }
	END {
		bare = median("BenchmarkBareVerifyES256"); node = median("BenchmarkAwsJwtVerifySync-node")
		printf "%-36s %12s %10s %9s %9s\n", "benchmark", "cpu-ns/op", "allocs/op", "x bare", "x node"
		split("BenchmarkBareVerifyES256 BenchmarkGolangJWTParse BenchmarkRotorTokenEvent BenchmarkAwsJwtVerifySync-node BenchmarkHandleTokenEventCached BenchmarkCacheHit", order, " ")
		for (i = 1; i <= 6; i++) { m = median(order[i]); printf "%-36s %12.0f %10s %9.2f %9.2f\n", order[i], m, (a[order[i]] == "" ? "-" : a[order[i]]), m / bare, m / node }
	}' "$raw"
rm -f "$fx" "$raw"

step "go test -bench"
go test -run '^$' -bench . -benchmem -count 1 ./pkg/token/ ./pkg/password/ ./pkg/authorizer/ ./pkg/sessions/ | grep -E '^(Benchmark|goos|cpu)'

fi

go build -o bin/rotor-local ./cmd/rotor-local
go build -o bin/rotor-load ./cmd/rotor-load
port=$(freeport)
serve() { # serve ENV... : start rotor-local with extra env, wait for it
	env ROTOR_ADDR=127.0.0.1:$port "$@" bin/rotor-local >/dev/null 2>&1 &
	srv=$!
	for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/.well-known/jwks.json" 2>/dev/null && return; sleep 0.1; done
	echo "rotor-local did not start" >&2; exit 1
}
stop() { kill $srv; wait $srv 2>/dev/null || true; }
load() { bin/rotor-load -url "http://127.0.0.1:$port" "$@"; }

if [ "$what" = all ]; then
step "load: embedded store, ES256 (the default)"
serve
load -scenario me -n 20000 -c 8
load -scenario refresh -n 10000 -c 8
load -scenario login -n 200 -c 2
stop

step "load: GET /me (authorizer + route) by signing algorithm"
for alg in RS256 EdDSA HS256; do serve ROTOR_SIGNING_ALG=$alg; printf '%-6s ' $alg; load -scenario me -n 20000 -c 8; stop; done
fi

# ---- the stores' servers, private to this run
mport=$(freeport)
python3 scripts/moto-serial.py -p "$mport" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$mport/moto-api/" 2>/dev/null && break; sleep 0.2; done

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL not installed (apt-get install -y postgresql)" >&2; exit 1; }
pgport=$(freeport)
mkdir -p "$tmp/pg"
as=()
if [ "$(id -u)" = 0 ]; then chown nobody "$tmp/pg"; as=(runuser -u nobody --); fi # postgres refuses root
"${as[@]}" "$pgbin/initdb" -D "$tmp/pg/data" -U rotor --auth=trust -E UTF8 --no-locale --no-sync >/dev/null
"${as[@]}" "$pgbin/postgres" -D "$tmp/pg/data" -p "$pgport" -c listen_addresses=127.0.0.1 \
	-c unix_socket_directories="$tmp/pg" -c synchronous_commit=on -c fsync=on >"$tmp/pg.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport" && break; sleep 0.2; done
"$pgbin/psql" -q -h 127.0.0.1 -p "$pgport" -U rotor -d postgres -c 'CREATE DATABASE rotor' >/dev/null

command -v redis-server >/dev/null || { echo "Redis not installed (apt-get install -y redis-server)" >&2; exit 1; }
rport=$(freeport)
mkdir -p "$tmp/redis"
redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp/redis" --requirepass bench \
	--appendonly yes --appendfsync always --save '' >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do redis-cli -p "$rport" -a bench --no-auth-warning ping >/dev/null 2>&1 && break; sleep 0.1; done

step "load: the same load on every store (refresh chains, logins, GET /me)"
for store in memory dynamodb postgres redis; do
	case $store in
	memory) serve ;;
	dynamodb) serve ROTOR_STORE=dynamodb AWS_ENDPOINT_URL=http://127.0.0.1:$mport AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 ;;
	postgres) serve ROTOR_STORE=postgres ROTOR_DATABASE_URL="postgres://rotor@127.0.0.1:$pgport/rotor?sslmode=disable" ;;
	redis) serve ROTOR_STORE=redis ROTOR_REDIS_URL="redis://:bench@127.0.0.1:$rport/0" ;;
	esac
	n=5000
	[ $store = dynamodb ] && n=1000 # moto serves one request at a time
	printf '%-9s refresh ' $store; load -scenario refresh -n $n -c 8
	printf '%-9s login   ' $store; load -scenario login -n 100 -c 2
	printf '%-9s me      ' $store; load -scenario me -n 5000 -c 8
	stop
done
} | tee "$out"
