#!/usr/bin/env bash
# mutate.sh: mutation testing of the security packages (`make mutate`), with
# gremlins (github.com/go-gremlins/gremlins). Not part of `make test`: it
# runs each package's tests once per mutant, which takes a while.
#
#   bash scripts/mutate.sh                     # every package below
#   bash scripts/mutate.sh pkg/token pkg/auth  # some of them
#   MUTATE_WORKERS=1 bash scripts/mutate.sh    # fewer parallel test runs
#
# Installs gremlins (pinned) into .tools/bin and starts one moto_server for
# the packages whose tests need DynamoDB or Secrets Manager. For each package
# it runs the package's own tests against every covered mutant and writes
# .tools/mutate/<pkg>.txt (every mutant and its status) and .json. A mutant
# that LIVED is a change to the code no test noticed: kill it with a test, or
# record in docs/TESTING.md why it is equivalent. Survivors are listed at
# the end; MUTATE_STRICT=1 makes any survivor fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nmutate: FAIL: %s\n' "$*" >&2; exit 1; }

# The security packages: tokens, sessions, the authorizer, the auth service,
# password hashing, the HTTP boundary, signing keys and the stores.
PACKAGES=(pkg/token pkg/authorizer pkg/auth pkg/password pkg/httpapi pkg/keys pkg/throttle pkg/sessions pkg/store/memory pkg/store/dynamo)
[ -d pkg/mac ] && PACKAGES+=(pkg/mac)
[ $# -gt 0 ] && PACKAGES=("$@")

step "gremlins"
# Pinned, so scores compare across runs. Bump deliberately.
GREMLINS_VERSION=${GREMLINS_VERSION:-v0.6.0}
GREMLINS=$ROOT/.tools/bin/gremlins
if [ -x "$GREMLINS" ] && [ -f "$ROOT/.tools/bin/gremlins.version" ] && [ "$(cat "$ROOT/.tools/bin/gremlins.version")" = "$GREMLINS_VERSION" ]; then
	echo "present: $GREMLINS ($GREMLINS_VERSION)"
else
	GOBIN=$ROOT/.tools/bin go install github.com/go-gremlins/gremlins/cmd/gremlins@"$GREMLINS_VERSION" ||
		fail "go install github.com/go-gremlins/gremlins/cmd/gremlins@$GREMLINS_VERSION"
	echo "$GREMLINS_VERSION" >"$ROOT/.tools/bin/gremlins.version"
	echo "installed: $GREMLINS ($GREMLINS_VERSION)"
fi

# No test result from the cache: gremlins times each mutant's test run
# against its own coverage run, and a coverage run answered from the cache
# (any rerun) takes a second, so every mutant would be "TIMED OUT".
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-count=1"

step "moto_server"
if [ -z "${ROTOR_MOTO_URL:-}" ]; then
	python3 -c 'import moto.server, werkzeug' 2>/dev/null || fail 'python moto is missing: python3 -m pip install "moto[server]>=5"'
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	python3 scripts/moto-serial.py -H 127.0.0.1 -p "$port" >"${TMPDIR:-/tmp}/rotor-mutate-moto.log" 2>&1 &
	moto_pid=$!
	trap 'kill $moto_pid 2>/dev/null || true' EXIT
	export ROTOR_MOTO_URL=http://127.0.0.1:$port
	for _ in $(seq 1 150); do
		curl -fsS -o /dev/null "$ROTOR_MOTO_URL/moto-api/" 2>/dev/null && break
		kill -0 $moto_pid 2>/dev/null || fail "moto_server exited: see ${TMPDIR:-/tmp}/rotor-mutate-moto.log"
		sleep 0.2
	done
fi
echo "moto_server at $ROTOR_MOTO_URL"

step "canary: gremlins must see a surviving mutant"
# gremlins v0.6.0 passes --test-cpu N to go test as one argument "-cpu N",
# which fails every test run: every mutant then counts as KILLED. The canary
# module's test leaves one mutant alive; if gremlins reports none, no score
# below could be trusted.
canary=$(cd scripts/testdata/mutate-canary && "$GREMLINS" unleash --workers 1 . 2>&1) || true
echo "$canary" | grep -E 'LIVED|KILLED'
echo "$canary" | grep -q 'Lived: 1,' || fail "gremlins did not report the canary's surviving mutant: its results cannot be trusted"

OUT=$ROOT/.tools/mutate
mkdir -p "$OUT"
workers=${MUTATE_WORKERS:-2}
lived_total=0
summary=()
for pkg in "${PACKAGES[@]}"; do
	[ -d "$pkg" ] || fail "no package directory $pkg"
	name=${pkg//\//_}
	# Mutants only mean something against a green suite: a test that
	# already fails (or cannot reach moto) would "kill" every mutant.
	step "go test ./$pkg (baseline)"
	go test -count=1 "./$pkg" || fail "the tests of $pkg fail before any mutation"
	step "gremlins unleash ./$pkg"
	# Slow tests (argon2id, moto) make gremlins' default timeout too tight
	# on a busy machine: a timed-out mutant is not a killed one. No
	# --test-cpu: see the canary above.
	"$GREMLINS" unleash "./$pkg" --workers "$workers" --timeout-coefficient 10 \
		--invert-logical --invert-loopctrl --invert-assignments --remove-self-assignments \
		-o "$OUT/$name.json" | tee "$OUT/$name.txt"
	lived=$(grep -c '^ *LIVED' "$OUT/$name.txt" || true)
	lived_total=$((lived_total + lived))
	summary+=("$pkg: $(grep -E '^Killed: ' "$OUT/$name.txt" | tr -d '\n') $(grep -E '^Test efficacy' "$OUT/$name.txt" | tr -d '\n')")
done

step "summary"
printf '%s\n' "${summary[@]}"
if [ "$lived_total" -gt 0 ]; then
	echo
	for pkg in "${PACKAGES[@]}"; do
		grep '^ *LIVED' "$OUT/${pkg//\//_}.txt" | sed -E "s|^ *LIVED ([A-Z_]+) at (.*)|LIVED \1 $pkg/\2|" || true
	done
	echo "$lived_total mutants lived: each must be killed by a test or explained in docs/TESTING.md"
	if [ "${MUTATE_STRICT:-0}" = 1 ]; then fail "$lived_total mutants lived"; fi
else
	echo "No mutant lived."
fi
