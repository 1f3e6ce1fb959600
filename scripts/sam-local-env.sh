# sam-local-env.sh: the local AWS and Docker that `sam local` runs Rotor on,
# sourced by scripts/sam-local.sh (`make sam-local`: the API on :3000 until
# Ctrl-C) and scripts/sam-local-test.sh (`make sam-local-test`), so the
# environment a user runs is the one the test checks. The caller sets NAME
# (for messages) and, after sourcing, calls sam_local_setup.
#
# Sets up, idempotently, what it needs and installs what is missing (Debian,
# as root; elsewhere it says what to install):
#   - Docker: a running daemon is used as it is (Docker Desktop, a system
#     service). Otherwise it starts its own dockerd in the background (data in
#     .tools/sam-local/docker, socket and pid file under /tmp) and stops it at
#     the end; never a system service.
#   - The functions run natively: the template's Architecture parameter is
#     set to the Docker host's (x86_64 or arm64) and the binaries are built
#     for it (the Makefile's ARCHITECTURE), so nothing runs under emulation.
#   - The Lambda base image public.ecr.aws/lambda/provided:al2023-<arch>
#     that SAM CLI builds its emulation image from: pulled when the registry
#     is reachable, else built here from a Debian minbase root filesystem
#     (debootstrap; the tarball is cached in .tools/sam-local).
#   - SAM CLI in .venv/sam (scripts/sam-check.sh); `sam build` into
#     .aws-sam/sam-local (so the emulator test's build in .aws-sam/build stays).
#   - moto_server (scripts/moto-serial.py) on a free loopback port; the
#     callers serve it to the containers on LISTEN_HOST (internal/samlocal).
# Everything it started (dockerd, moto_server, sam, containers) is stopped on
# exit, by PID. Runs on one machine are serialised by a lock in /tmp.
# shellcheck shell=bash

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
CACHE=$ROOT/.tools/sam-local
BUILD_DIR=.aws-sam/sam-local
SAM=$ROOT/.venv/sam/bin/sam
SAM_CLI_VERSION=${SAM_CLI_VERSION:-1.170.0}

export SAM_CLI_TELEMETRY=0
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\n%s: FAIL: %s\n' "$NAME" "$*" >&2; exit 1; }
started() { date +%s; }
T0=$(started)

DOCKERD_PID= MOTO_PID= OWN_DOCKER=0 RUN= BEFORE_CONTAINERS=

sam_local_cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	# sam processes started under this run (each leads its own process
	# group, recorded in sam.pids).
	if [ -f "$RUN/sam.pids" ]; then
		while read -r pid; do
			[ -n "$pid" ] && kill -INT -- "-$pid" 2>/dev/null
		done <"$RUN/sam.pids"
		sleep 1
		while read -r pid; do
			[ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null
		done <"$RUN/sam.pids"
	fi
	if [ -n "$BEFORE_CONTAINERS" ] && [ -f "$BEFORE_CONTAINERS" ]; then
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
	if [ "$rc" != 0 ] && [ "$rc" != 130 ] && [ -n "$RUN" ]; then
		for log in "$RUN"/*.log; do
			[ -s "$log" ] || continue
			printf '\n--- last lines of %s\n' "$(basename "$log")" >&2
			tail -n 30 "$log" >&2
		done
	fi
	[ -n "$RUN" ] && rm -rf "$RUN"
	printf '\n%s: %s in %ss\n' "$NAME" "$([ "$rc" = 0 ] && echo OK || { [ "$rc" = 130 ] && echo stopped; } || echo FAILED)" "$(($(started) - T0))"
	exit "$rc"
}

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

sam_local_docker() {
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
			local old
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
			>"$RUN/dockerd.log" 2>&1 9>&- &
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

	# The Docker host's architecture is the functions': native, never emulated.
	case $(docker info -f '{{.Architecture}}') in
	x86_64 | amd64) ARCH=x86_64 DEB_ARCH=amd64 GO_ARCH=amd64 ELF_MACHINE=3e ;;
	aarch64 | arm64) ARCH=arm64 DEB_ARCH=arm64 GO_ARCH=arm64 ELF_MACHINE=b7 ;;
	*) fail "Docker runs on $(docker info -f '{{.Architecture}}'); Lambda has x86_64 and arm64" ;;
	esac
	BASE_IMAGE=public.ecr.aws/lambda/provided:al2023-$ARCH
	echo "functions: Architecture=$ARCH (this Docker host's), built with GOARCH=$GO_ARCH"
}

sam_local_sam_cli() {
	step "SAM CLI $SAM_CLI_VERSION"
	if [ -x "$SAM" ] && "$SAM" --version 2>/dev/null | grep -q "version ${SAM_CLI_VERSION}\$"; then
		echo "present: $("$SAM" --version)"
	else
		SAM_CHECK_SKIP_BUILD=1 bash scripts/sam-check.sh || fail "scripts/sam-check.sh (installs the SAM CLI)"
	fi
}

sam_local_base_image() {
	step "base image $BASE_IMAGE"
	image_arch() { docker image inspect -f '{{.Architecture}}' "$BASE_IMAGE" 2>/dev/null || true; }
	registry_reachable() {
		local code
		code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' https://public.ecr.aws/v2/ 2>/dev/null || true)
		[ -n "$code" ] && [ "$code" != 000 ]
	}
	if [ "$(image_arch)" = "$DEB_ARCH" ]; then
		echo "present"
	elif [ "${ROTOR_SAM_LOCAL_BUILD_IMAGE:-0}" != 1 ] && registry_reachable; then
		docker pull --platform "linux/$DEB_ARCH" "$BASE_IMAGE" || fail "docker pull $BASE_IMAGE"
	else
		echo "registry not reachable: building it from a Debian $DEB_ARCH root filesystem"
		local rootfs_tar=$CACHE/rootfs-$DEB_ARCH.tar
		if [ ! -s "$rootfs_tar" ]; then
			command -v debootstrap >/dev/null || apt_install debootstrap
			local rootfs=$CACHE/rootfs-$DEB_ARCH
			rm -rf "$rootfs"
			# First stage only: download and unpack the essential packages. SAM
			# needs only a shell, mv and chmod to add its emulator, and the
			# functions are static Go binaries.
			debootstrap --foreign --arch="$DEB_ARCH" --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
				>"$RUN/debootstrap.log" 2>&1 || fail "debootstrap (see debootstrap.log)"
			rm -rf "$rootfs/debootstrap"
			[ -e "$rootfs/bin/sh" ] || ln -s dash "$rootfs/bin/sh"
			for tool in sh mv chmod; do
				[ -x "$rootfs/bin/$tool" ] || fail "the $DEB_ARCH root filesystem has no $tool"
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
			tar -C "$rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
			rm -rf "$rootfs"
		fi
		local ctx=$RUN/image
		mkdir -p "$ctx"
		ln "$rootfs_tar" "$ctx/rootfs.tar" 2>/dev/null || cp "$rootfs_tar" "$ctx/rootfs.tar"
		cat >"$ctx/Dockerfile" <<-'EOF'
			FROM scratch
			ADD rootfs.tar /
			ENV LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime LANG=C.UTF-8 TZ=:/etc/localtime
			WORKDIR /var/task
			ENTRYPOINT ["/lambda-entrypoint.sh"]
		EOF
		# The classic builder records --platform (docker import ignores it).
		DOCKER_BUILDKIT=0 docker build --platform "linux/$DEB_ARCH" -t "$BASE_IMAGE" "$ctx" >"$RUN/image-build.log" 2>&1 ||
			fail "docker build $BASE_IMAGE (see image-build.log)"
		rm -rf "$ctx"
		[ "$(image_arch)" = "$DEB_ARCH" ] || fail "$BASE_IMAGE is $(image_arch), want $DEB_ARCH"
		echo "built $BASE_IMAGE ($DEB_ARCH)"
	fi
}

sam_local_build() {
	step "sam build (Architecture=$ARCH) into $BUILD_DIR"
	# Up to date when every function's binary is for this architecture and
	# newer than the sources.
	need_build() {
		[ -f "$BUILD_DIR/template.yaml" ] || return 0
		local id
		for id in $(grep -E '^  [A-Za-z]+Function:$' template.yaml | tr -d ' :'); do
			local bin=$BUILD_DIR/$id/bootstrap
			[ -f "$bin" ] || return 0
			[ "$(od -An -tx1 -j18 -N1 "$bin" | tr -d ' ')" = "$ELF_MACHINE" ] || return 0
		done
		[ -n "$(find cmd pkg functions internal go.mod go.sum Makefile template.yaml -newer "$BUILD_DIR/template.yaml" -print -quit)" ]
	}
	if need_build; then
		# sam build does not tell make the architecture: ARCHITECTURE does
		# (the Makefile's GOARCH follows it). An exported GOARCH would win.
		env -u GOARCH ARCHITECTURE="$ARCH" "$SAM" build --build-dir "$BUILD_DIR" --parameter-overrides "Architecture=$ARCH" \
			</dev/null >"$RUN/sam-build.log" 2>&1 || fail "sam build (see sam-build.log)"
		echo "built"
	else
		echo "up to date"
	fi
}

sam_local_moto() {
	step "moto_server"
	if ! python3 -c 'import moto.server, flask' >/dev/null 2>&1; then
		python3 -m pip install --quiet --disable-pip-version-check "moto[server]>=5" </dev/null || fail 'pip install "moto[server]"'
	fi
	# moto listens on loopback only. The containers reach it through a
	# forwarder (internal/samlocal) that listens where containers reach the
	# host (host.docker.internal = the bridge's gateway): there when that
	# address is this host's own; Docker Desktop's gateway is in its VM, so
	# there on every address.
	local bridge gateway= port
	bridge=$(docker network inspect bridge -f '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null || true)
	if [ -n "$bridge" ] && command -v ip >/dev/null; then
		gateway=$(ip -o -4 addr show dev "$bridge" 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
	fi
	LISTEN_HOST=${gateway:-0.0.0.0}
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	python3 scripts/moto-serial.py -H 127.0.0.1 -p "$port" >"$RUN/moto.log" 2>&1 9>&- &
	MOTO_PID=$!
	MOTO_URL=http://127.0.0.1:$port
	for _ in $(seq 1 150); do
		curl -fsS -o /dev/null "$MOTO_URL/moto-api/" 2>/dev/null && break
		kill -0 "$MOTO_PID" 2>/dev/null || fail "moto_server exited (see moto.log)"
		sleep 0.2
	done
	curl -fsS -o /dev/null "$MOTO_URL/moto-api/" || fail "moto_server did not answer on $MOTO_URL"
	echo "moto_server on $MOTO_URL (pid $MOTO_PID); served to the containers from $LISTEN_HOST"
}

# sam_local_setup: everything above, in order, under the machine's lock.
sam_local_setup() {
	mkdir -p "$CACHE"
	# One run at a time on this machine: the daemon's bridge and the images
	# are shared. The daemon and moto do not inherit the lock (9>&-), so one
	# left behind by a killed run does not hold it.
	# (flock is util-linux: on macOS, where Docker Desktop owns the daemon,
	# runs are not serialised.)
	exec 9>/tmp/rotor-sam-local.lock
	if command -v flock >/dev/null && ! flock -n 9; then
		echo "another sam local run holds /tmp/rotor-sam-local.lock on this machine; waiting for it"
		flock 9
	fi
	RUN=$(mktemp -d /tmp/rotor-sam-local.XXXXXX)
	BEFORE_CONTAINERS=$RUN/containers-before
	trap sam_local_cleanup EXIT
	trap 'exit 130' INT TERM

	sam_local_docker
	sam_local_sam_cli
	sam_local_base_image
	sam_local_build
	sam_local_moto
	echo "setup took $(($(started) - T0))s"
}
