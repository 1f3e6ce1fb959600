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
#   bash scripts/bench.sh authorizer   # only the authorizer comparison
#   bash scripts/bench.sh refresh-cpu  # only the CPU per refresh by store (server +
#                                      # database processes; 8 clients, 2,400 refreshes, 3 runs)
#   BENCH_BEFORE=/tmp/rotor-local-base bash scripts/bench.sh refresh-cpu
#                                      # the same, each run interleaved with another build
#                                      # of rotor-local (a base commit's) on the same servers
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

if [ "$what" = all ] || [ "$what" = authorizer ]; then
rounds=${BENCH_ROUNDS:-11}
step "authorizer on one ES256 token: bare check, golang-jwt, Rotor, aws-jwt-verify (CPU per decision; $rounds interleaved rounds, medians)"
(cd bench && npm ci --silent --no-audit --no-fund)
fx=$(mktemp)
raw=$(mktemp)
go run ./bench/fixture >"$fx"
go test -c -o bin/authorizer.test ./pkg/authorizer/
# Short interleaved rounds: other load on a shared machine drifts over
# seconds, so each round's ratios compare neighbours, and the medians of the
# per-round ratios are what BENCHMARKS.md reports.
for _ in $(seq "$rounds"); do
	(cd pkg/authorizer && ROTOR_BENCH_FIXTURE="$fx" ../../bin/authorizer.test -test.run '^$' -test.benchmem -test.benchtime 0.5s \
		-test.bench 'BareVerifyES256|GolangJWTParse|RotorTokenEvent|HandleTokenEventCached|CacheHit') | grep '^Benchmark' >>"$raw"
	node bench/verify.mjs "$fx" 6000 >>"$raw"
done
grep -m1 aws-jwt-verify "$raw" | sed 's/.*(/(/'
awk '
	function median(list, k,   i, j, t) {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (list[j] < list[i]) { t = list[i]; list[i] = list[j]; list[j] = t }
		return k % 2 ? list[(k + 1) / 2] : (list[k / 2] + list[k / 2 + 1]) / 2 }
	{ name = $1; sub(/-[0-9]+$/, "", name); cpu = ""; allocs = ""
	  for (i = 2; i <= NF; i++) { if ($i == "cpu-ns/op") cpu = $(i-1); if ($i == "allocs/op") allocs = $(i-1) }
	  if (cpu == "") next
	  r = round + 1; v[name, r] = cpu + 0; a[name] = allocs
	  if (name ~ /-node$/) round++ }
	END {
		split("BenchmarkBareVerifyES256 BenchmarkGolangJWTParse BenchmarkRotorTokenEvent BenchmarkAwsJwtVerifySync-node BenchmarkHandleTokenEventCached BenchmarkCacheHit", order, " ")
		printf "%-36s %12s %10s %9s %9s   (%d rounds)\n", "benchmark", "cpu-ns/op", "allocs/op", "x bare", "x node", round
		for (i = 1; i <= 6; i++) {
			b = order[i]; delete c; delete xb; delete xn
			for (r = 1; r <= round; r++) { c[r] = v[b, r]; xb[r] = v[b, r] / v["BenchmarkBareVerifyES256", r]; xn[r] = v[b, r] / v["BenchmarkAwsJwtVerifySync-node", r] }
			printf "%-36s %12.0f %10s %9.2f %9.2f\n", b, median(c, round), (a[b] == "" ? "-" : a[b]), median(xb, round), median(xn, round)
		}
		printf "%-36s", "Rotor x bare, each round:"
		for (r = 1; r <= round; r++) printf " %.2f", v["BenchmarkRotorTokenEvent", r] / v["BenchmarkBareVerifyES256", r]
		printf "\n"
	}' "$raw"
echo
echo "paired: one of each per iteration, medians of the wall time of each (BenchmarkPaired, 3 runs of 5 s)"
(cd pkg/authorizer && ROTOR_BENCH_FIXTURE="$fx" ../../bin/authorizer.test -test.run '^$' -test.bench 'Paired$' \
	-test.benchtime 5s -test.count 3) | grep '^Benchmark'
echo
echo "as Lambda runs it: Rotor's Invoke vs the same decision as a typed aws-lambda-go handler (lambda.NewHandler)"
(cd pkg/authorizer && ROTOR_BENCH_FIXTURE="$fx" ../../bin/authorizer.test -test.run '^$' -test.bench 'LambdaHandler' \
	-test.benchmem -test.count 3) | grep '^Benchmark'
rm -f "$fx" "$raw"

step "go test -bench"
go test -run '^$' -bench . -benchmem -count 1 ./pkg/token/ ./pkg/password/ ./pkg/authorizer/ ./pkg/sessions/ | grep -E '^(Benchmark|goos|cpu)'

fi

if [ "$what" != authorizer ]; then
go build -o bin/rotor-local ./cmd/rotor-local
go build -o bin/rotor-load ./cmd/rotor-load
port=$(freeport)
local=bin/rotor-local
serve() { # serve ENV... : start $local with extra env, wait for it
	env ROTOR_ADDR=127.0.0.1:$port "$@" "$local" >/dev/null 2>&1 &
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

if [ "$what" = refresh-cpu ] || [ "$what" = all ]; then
step "CPU per refresh: rotor-local plus the database's processes (8 clients, 2,400 refreshes, 3 runs each)"
# cpu_per_req is the total; of_each the server's share, then the database's.
builds=(bin/rotor-local ${BENCH_BEFORE:-})
for store in memory postgres redis; do
	for run in 1 2 3; do
		for local in "${builds[@]}"; do
			case $store in
			memory) serve; of=$srv ;;
			postgres) serve ROTOR_STORE=postgres ROTOR_DATABASE_URL="postgres://rotor@127.0.0.1:$pgport/rotor?sslmode=disable"; of=$srv,${pids[1]} ;;
			redis) serve ROTOR_STORE=redis ROTOR_REDIS_URL="redis://:bench@127.0.0.1:$rport/0"; of=$srv,${pids[2]} ;;
			esac
			printf '%-9s run %d %-22s load %s ' $store $run "$(basename "$local")" "$(cut -d' ' -f1 /proc/loadavg)"
			load -scenario refresh -n 2400 -c 8 -cpu-of "$of"
			stop
		done
	done
done
local=bin/rotor-local
fi

if [ "$what" != refresh-cpu ]; then
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
fi
fi
} | tee "$out"
