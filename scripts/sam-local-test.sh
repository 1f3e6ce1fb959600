#!/usr/bin/env bash
# sam-local-test.sh: the whole API under `sam local`, for real: every function
# in a Lambda container with `sam local invoke`, then `sam local start-api`
# with the authorizer in front, against a private moto_server.
#
#   bash scripts/sam-local-test.sh        # or: make sam-local-test
#   bash scripts/sam-local-test.sh -run TestStartAPI   # arguments go to go test
#
# Sets up, idempotently, what it needs and installs what is missing (Debian,
# as root; elsewhere it says what to install):
#   - Docker: a running daemon is used as it is (Docker Desktop, a system
#     service). Otherwise it starts its own dockerd in the background (data in
#     .tools/sam-local/docker, socket and pid file under /tmp) and stops it at
#     the end; never a system service.
#   - arm64 emulation (the functions are arm64, as deployed) on a non-arm64
#     Linux host: qemu-user-static registered with binfmt_misc.
#   - The Lambda base image public.ecr.aws/lambda/provided:al2023-arm64 that
#     SAM CLI builds its emulation image from: pulled when the registry is
#     reachable, else built here from a Debian arm64 minbase root filesystem
#     (debootstrap; the tarball is cached in .tools/sam-local).
#   - SAM CLI in .venv/sam (scripts/sam-check.sh), `sam build` for arm64 into
#     .aws-sam/sam-local (so the emulator test's host build stays as it is).
# Then it starts moto_server on a free loopback port and runs the Go test
# test/samlocal (build tag samlocal), which forwards to moto from where the
# containers reach the host (the Docker bridge's gateway address,
# host.docker.internal), creates the tables and secrets, runs `sam local
# invoke` and `sam local start-api` and checks every answer.
# Everything it started (dockerd, moto_server, sam, containers) is stopped on
# exit, by PID. Runs on one machine are serialised by a lock in /tmp.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=$ROOT/.tools/sam-local
BASE_IMAGE=public.ecr.aws/lambda/provided:al2023-arm64
RAPID_IMAGE=public.ecr.aws/lambda/provided:al2023-rapid-arm64
EMULATED=0
BUILD_DIR=.aws-sam/sam-local
SAM=$ROOT/.venv/sam/bin/sam
SAM_CLI_VERSION=${SAM_CLI_VERSION:-1.170.0}

export SAM_CLI_TELEMETRY=0
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nsam-local-test: FAIL: %s\n' "$*" >&2; exit 1; }
started() { date +%s; }
T0=$(started)

mkdir -p "$CACHE"
# One run at a time on this machine: the daemon's bridge and the emulation
# image are shared.
exec 9>/tmp/rotor-sam-local.lock
if ! flock -n 9; then
	echo "another sam-local-test runs on this machine; waiting for it"
	flock 9
fi

RUN=$(mktemp -d /tmp/rotor-sam-local.XXXXXX)
DOCKERD_PID= MOTO_PID= OWN_DOCKER=0
BEFORE_CONTAINERS=$RUN/containers-before

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	# sam processes the Go test started (it records their PIDs; each leads its
	# own process group).
	if [ -f "$RUN/sam.pids" ]; then
		while read -r pid; do
			[ -n "$pid" ] && kill -INT -- "-$pid" 2>/dev/null
		done <"$RUN/sam.pids"
		sleep 1
		while read -r pid; do
			[ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null
		done <"$RUN/sam.pids"
	fi
	if [ -f "$BEFORE_CONTAINERS" ]; then
		# SAM's function containers (label sam.cli.container.type=lambda) that
		# were not there before this run.
		local ids n=0
		ids=$(docker ps -aq --filter label=sam.cli.container.type=lambda 2>/dev/null)
		for id in $ids; do
			grep -qx "$id" "$BEFORE_CONTAINERS" 2>/dev/null && continue
			docker rm -f "$id" >/dev/null 2>&1 && n=$((n + 1))
		done
		echo "containers left by sam and removed: $n"
	fi
	if [ -n "$MOTO_PID" ]; then
		kill "$MOTO_PID" 2>/dev/null
		wait "$MOTO_PID" 2>/dev/null
	fi
	if [ -n "$DOCKERD_PID" ]; then
		kill -TERM "$DOCKERD_PID" 2>/dev/null
		for _ in $(seq 1 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DOCKERD_PID" 2>/dev/null
		wait "$DOCKERD_PID" 2>/dev/null
		rm -f "$CACHE/dockerd.pid"
	fi
	if [ "$rc" != 0 ]; then
		for log in "$RUN"/*.log; do
			[ -s "$log" ] || continue
			printf '\n--- last lines of %s\n' "$(basename "$log")" >&2
			tail -n 30 "$log" >&2
		done
	fi
	rm -rf "$RUN"
	printf '\nsam-local-test: %s in %ss\n' "$([ "$rc" = 0 ] && echo OK || echo FAILED)" "$(($(started) - T0))"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------- packages
apt_updated=0
apt_install() {
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
		fail "missing: $* (install them; this script installs them itself only as root on Debian/Ubuntu)"
	if [ "$apt_updated" = 0 ]; then
		apt-get update -qq </dev/null || fail "apt-get update"
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null ||
		fail "apt-get install $*"
}

step "Docker"
if docker info >/dev/null 2>&1; then
	echo "using the running Docker daemon: $(docker info -f '{{.Name}} {{.ServerVersion}} {{.OSType}}/{{.Architecture}}')"
else
	[ "$(uname -s)" = Linux ] || fail "no Docker daemon answers: start Docker Desktop"
	if ! command -v dockerd >/dev/null; then
		apt_install docker.io
	fi
	# A daemon of an earlier run that was killed before it could stop it.
	if [ -f "$CACHE/dockerd.pid" ]; then
		old=$(cat "$CACHE/dockerd.pid")
		if [ -n "$old" ] && tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null | grep -q -- "--data-root $CACHE/docker"; then
			echo "stopping the dockerd left by an earlier run (pid $old)"
			kill -TERM "$old" 2>/dev/null || true
			for _ in $(seq 1 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
		fi
		rm -f "$CACHE/dockerd.pid"
	fi
	# --iptables=false: no NAT rules, so containers reach nothing beyond this
	# host. The default bridge stays: SAM reaches each container's emulator
	# through a port published on 127.0.0.1.
	dockerd --host "unix://$RUN/docker.sock" --data-root "$CACHE/docker" --exec-root "$RUN/exec" \
		--pidfile "$RUN/dockerd.pid" --storage-driver=overlay2 --iptables=false --ip6tables=false \
		>"$RUN/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	OWN_DOCKER=1
	echo "$DOCKERD_PID" >"$CACHE/dockerd.pid"
	export DOCKER_HOST=unix://$RUN/docker.sock
	for _ in $(seq 1 300); do
		docker info >/dev/null 2>&1 && break
		kill -0 "$DOCKERD_PID" 2>/dev/null || fail "dockerd exited (see dockerd.log)"
		sleep 0.2
	done
	docker info >/dev/null 2>&1 || fail "dockerd did not answer within 60s"
	echo "started dockerd (pid $DOCKERD_PID, $DOCKER_HOST, data in ${CACHE#"$ROOT"/}/docker)"
fi
docker ps -aq --filter label=sam.cli.container.type=lambda >"$BEFORE_CONTAINERS"

step "arm64 emulation"
if [ "$(docker info -f '{{.Architecture}}')" = aarch64 ]; then
	echo "not needed: the Docker host is arm64"
elif [ "$OWN_DOCKER" = 0 ] && [ "$(uname -s)" != Linux ]; then
	echo "left to Docker Desktop (its VM runs arm64 images)"
else
	EMULATED=1
	if [ ! -e /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
		apt_install qemu-user-static
	fi
	if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || fail "mount binfmt_misc"
	fi
	if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
		echo "registered: $(head -n 2 /proc/sys/fs/binfmt_misc/qemu-aarch64 | tr '\n' ' ')"
	else
		# The F flag opens the interpreter now, so it works inside containers.
		cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register ||
			fail "register qemu-aarch64 with binfmt_misc"
		echo "registered qemu-aarch64 ($(grep flags /proc/sys/fs/binfmt_misc/qemu-aarch64))"
	fi
fi

step "SAM CLI $SAM_CLI_VERSION"
if [ -x "$SAM" ] && "$SAM" --version 2>/dev/null | grep -q "version ${SAM_CLI_VERSION}\$"; then
	echo "present: $("$SAM" --version)"
else
	SAM_CHECK_SKIP_BUILD=1 bash scripts/sam-check.sh || fail "scripts/sam-check.sh (installs the SAM CLI)"
fi

step "base image $BASE_IMAGE"
image_arch() { docker image inspect -f '{{.Architecture}}' "$BASE_IMAGE" 2>/dev/null || true; }
registry_reachable() {
	local code
	code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' https://public.ecr.aws/v2/ 2>/dev/null || true)
	[ -n "$code" ] && [ "$code" != 000 ]
}
if [ "$(image_arch)" = arm64 ]; then
	echo "present"
elif [ "${ROTOR_SAM_LOCAL_BUILD_IMAGE:-0}" != 1 ] && registry_reachable; then
	docker pull --platform linux/arm64 "$BASE_IMAGE" || fail "docker pull $BASE_IMAGE"
else
	echo "registry not reachable: building it from a Debian arm64 root filesystem"
	ROOTFS_TAR=$CACHE/rootfs-arm64.tar
	if [ ! -s "$ROOTFS_TAR" ]; then
		command -v debootstrap >/dev/null || apt_install debootstrap
		rootfs=$CACHE/rootfs-arm64
		rm -rf "$rootfs"
		# First stage only: download and unpack the essential packages with
		# this machine's tools. The second stage would configure them by
		# running arm64 programs under emulation (minutes); SAM needs only a
		# shell, mv and chmod to add its emulator, and the functions are
		# static Go binaries.
		debootstrap --foreign --arch=arm64 --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
			>"$RUN/debootstrap.log" 2>&1 || fail "debootstrap (see debootstrap.log)"
		rm -rf "$rootfs/debootstrap"
		[ -e "$rootfs/bin/sh" ] || ln -s dash "$rootfs/bin/sh"
		for tool in sh mv chmod; do
			[ -x "$rootfs/bin/$tool" ] || fail "the arm64 root filesystem has no $tool"
		done
		# What the Lambda runtime images have and SAM relies on: the code in
		# /var/task, runtime and layers in /var/runtime and /opt, the
		# entrypoint (SAM replaces it with its emulator in /var/rapid).
		mkdir -p "$rootfs/var/task" "$rootfs/var/runtime" "$rootfs/opt"
		cat >"$rootfs/lambda-entrypoint.sh" <<-'EOF'
			#!/bin/sh
			# Stand-in for the Lambda base image's entrypoint: `sam local`
			# replaces it with its emulator, /var/rapid/aws-lambda-rie.
			exec "$@"
		EOF
		chmod 755 "$rootfs/lambda-entrypoint.sh"
		rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
		tar -C "$rootfs" -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
		rm -rf "$rootfs"
	fi
	ctx=$RUN/image
	mkdir -p "$ctx"
	ln "$ROOTFS_TAR" "$ctx/rootfs.tar" 2>/dev/null || cp "$ROOTFS_TAR" "$ctx/rootfs.tar"
	cat >"$ctx/Dockerfile" <<-'EOF'
		FROM scratch
		ADD rootfs.tar /
		ENV LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime LANG=C.UTF-8 TZ=:/etc/localtime
		WORKDIR /var/task
		ENTRYPOINT ["/lambda-entrypoint.sh"]
	EOF
	# The classic builder records --platform (docker import ignores it).
	DOCKER_BUILDKIT=0 docker build --platform linux/arm64 -t "$BASE_IMAGE" "$ctx" >"$RUN/image-build.log" 2>&1 ||
		fail "docker build $BASE_IMAGE (see image-build.log)"
	rm -rf "$ctx"
	[ "$(image_arch)" = arm64 ] || fail "$BASE_IMAGE is $(image_arch), want arm64"
	echo "built $BASE_IMAGE (arm64)"
fi

step "SAM's emulation image $RAPID_IMAGE"
# SAM CLI adds its Lambda runtime interface emulator (RIE) to the base image
# and publishes the emulator's port on 127.0.0.1. With --iptables=false that
# port is served by docker-proxy, which accepts a connection before the
# emulator inside listens; SAM retries for under a second, and the arm64 RIE
# starting under qemu takes longer ("No response from invoke container"). So
# on an emulating host the test builds that image itself, under the name SAM
# looks for, with SAM's own x86-64 RIE (same version, from the same package):
# it listens at once, and runs the arm64 bootstrap through qemu as before.
# Elsewhere SAM builds it as usual.
if [ "$EMULATED" = 1 ]; then
	rie=$("$ROOT/.venv/sam/bin/python" -c 'import pathlib, samcli; print(pathlib.Path(samcli.__file__).parent / "local" / "rapid" / "aws-lambda-rie-x86_64")')
	[ -x "$rie" ] || fail "SAM CLI's x86-64 emulator not found at $rie"
	want="$(sha256sum "$rie" | cut -c1-16) $(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")"
	if [ "$(docker image inspect -f '{{index .Config.Labels "rotor.rie"}}' "$RAPID_IMAGE" 2>/dev/null || true)" = "$want" ]; then
		echo "present (native emulator)"
	else
		ctx=$RUN/rapid
		mkdir -p "$ctx"
		cp "$rie" "$ctx/aws-lambda-rie"
		chmod 755 "$ctx/aws-lambda-rie"
		printf 'FROM %s\nCOPY aws-lambda-rie /var/rapid/aws-lambda-rie\nLABEL rotor.rie="%s"\n' "$BASE_IMAGE" "$want" >"$ctx/Dockerfile"
		DOCKER_BUILDKIT=0 docker build --platform linux/arm64 -t "$RAPID_IMAGE" "$ctx" >"$RUN/rapid-build.log" 2>&1 ||
			fail "docker build $RAPID_IMAGE (see rapid-build.log)"
		rm -rf "$ctx"
		echo "built with SAM's x86-64 emulator"
	fi
else
	echo "left to SAM CLI"
fi

step "sam build (arm64) into $BUILD_DIR"
# Up to date when every function's binary is arm64 and newer than the sources.
need_build() {
	[ -f "$BUILD_DIR/template.yaml" ] || return 0
	for id in $(grep -E '^  [A-Za-z]+Function:$' template.yaml | tr -d ' :'); do
		local bin=$BUILD_DIR/$id/bootstrap
		[ -f "$bin" ] || return 0
		[ "$(od -An -tx1 -j18 -N1 "$bin" | tr -d ' ')" = b7 ] || return 0 # EM_AARCH64
	done
	[ -n "$(find pkg functions internal go.mod go.sum Makefile template.yaml -newer "$BUILD_DIR/template.yaml" -print -quit)" ]
}
if need_build; then
	GOARCH=arm64 "$SAM" build --build-dir "$BUILD_DIR" </dev/null >"$RUN/sam-build.log" 2>&1 ||
		fail "sam build (see sam-build.log)"
	echo "built"
else
	echo "up to date"
fi

# The test's copy of the built template, with two changes:
# - every function's Timeout raised to 60 s and ROTOR_STORE_TIMEOUT (the
#   bound on one request's store and key calls, 2 s by default; the template
#   does not declare it, so env vars cannot set it) to 30 s. They are sized for
#   Graviton next to DynamoDB; arm64 under qemu on a busy CI machine is many
#   times slower, and a timeout there would say nothing about Rotor.
# - no OPTIONS event on a path that also has a protected method. SAM CLI
#   (1.170, ApiCollector.dedupe_function_routes) merges one function's events
#   on one path into one route with ONE authorizer, the last event's, in an
#   order that changes with Python's hash seed: GET /auth/sessions and its
#   unauthenticated preflight then sometimes run without the authorizer (the
#   function refuses: 401) and sometimes the preflight needs a token. API
#   Gateway keeps them apart; test/lambda checks those preflights.
TEST_TEMPLATE=$BUILD_DIR/template.sam-local-test.yaml
"$ROOT/.venv/sam/bin/python" - "$BUILD_DIR/template.yaml" "$TEST_TEMPLATE" <<-'PY' || fail "could not write $TEST_TEMPLATE"
	import sys, yaml
	src, dst = sys.argv[1], sys.argv[2]
	t = yaml.safe_load(open(src))
	fn = t.setdefault("Globals", {}).setdefault("Function", {})
	fn["Timeout"] = 60
	fn.setdefault("Environment", {}).setdefault("Variables", {})["ROTOR_STORE_TIMEOUT"] = "30s"
	dropped = []
	for name, res in t["Resources"].items():
	    if res.get("Type") != "AWS::Serverless::Function":
	        continue
	    props = res["Properties"]
	    if "Timeout" in props:
	        props["Timeout"] = 60
	    events = props.get("Events", {})
	    def protected(ev):
	        auth = ev["Properties"].get("Auth", {})
	        return ev.get("Type") == "Api" and auth.get("Authorizer") != "NONE"
	    protected_paths = {ev["Properties"]["Path"] for ev in events.values() if protected(ev)}
	    for ev_name, ev in list(events.items()):
	        p = ev["Properties"]
	        if ev.get("Type") == "Api" and p.get("Method", "").lower() == "options" and p.get("Path") in protected_paths:
	            del events[ev_name]
	            dropped.append(name + "." + ev_name)
	yaml.safe_dump(t, open(dst, "w"), sort_keys=False)
	print("test template: Timeout 60 s, ROTOR_STORE_TIMEOUT 30s; without the preflight events", ", ".join(dropped) or "(none)")
PY

step "moto_server"
if ! python3 -c 'import moto.server, flask' >/dev/null 2>&1; then
	python3 -m pip install --quiet --disable-pip-version-check "moto[server]>=5" </dev/null || fail 'pip install "moto[server]"'
fi
# moto listens on loopback only. The containers reach it through the test's
# forwarder (test/samlocal), which listens where containers reach the host
# (host.docker.internal = the bridge's gateway): there when that address is
# this host's own; Docker Desktop's gateway is in its VM, so there on every
# address.
bridge=$(docker network inspect bridge -f '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null || true)
gateway=
if [ -n "$bridge" ] && command -v ip >/dev/null; then
	gateway=$(ip -o -4 addr show dev "$bridge" 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
fi
LISTEN_HOST=${gateway:-0.0.0.0}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 scripts/moto-serial.py -H 127.0.0.1 -p "$port" >"$RUN/moto.log" 2>&1 &
MOTO_PID=$!
MOTO_URL=http://127.0.0.1:$port
for _ in $(seq 1 150); do
	curl -fsS -o /dev/null "$MOTO_URL/moto-api/" 2>/dev/null && break
	kill -0 "$MOTO_PID" 2>/dev/null || fail "moto_server exited (see moto.log)"
	sleep 0.2
done
curl -fsS -o /dev/null "$MOTO_URL/moto-api/" || fail "moto_server did not answer on $MOTO_URL"
echo "moto_server on $MOTO_URL (pid $MOTO_PID); the test forwards to it from $LISTEN_HOST"
echo "setup took $(($(started) - T0))s"

step "go test -tags samlocal ./test/samlocal/"
# The test fails (never skips) when any of these is missing.
ROTOR_SAMLOCAL=1 \
	ROTOR_SAM="$SAM" \
	ROTOR_SAM_TEMPLATE="$TEST_TEMPLATE" \
	ROTOR_SAM_RUN_DIR="$RUN" \
	ROTOR_SAM_MOTO_URL="$MOTO_URL" \
	ROTOR_SAM_LISTEN_HOST="$LISTEN_HOST" \
	go test -tags samlocal -count=1 -v -timeout 20m ./test/samlocal/ "$@"
