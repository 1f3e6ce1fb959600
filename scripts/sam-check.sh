#!/usr/bin/env bash
# sam-check.sh: lint, validate and build the SAM application, with no Docker
# and no AWS account.
#
#   bash scripts/sam-check.sh            # lint + validate + build (arm64)
#   GOARCH=amd64 bash scripts/sam-check.sh   # build binaries for this host
#   SAM_CHECK_SKIP_BUILD=1 bash scripts/sam-check.sh   # lint + validate only
#
# Installs the SAM CLI into .venv/sam on first use (idempotent afterwards).
# Non-interactive: safe with CI=true and no stdin. Exits non-zero on failure.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

SAM_CLI_VERSION=${SAM_CLI_VERSION:-1.170.0}
VENV=$ROOT/.venv/sam

# Never talk to AWS, never ask questions, never send telemetry.
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_REGION=${AWS_REGION:-$AWS_DEFAULT_REGION}
export AWS_EC2_METADATA_DISABLED=true
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1

TEMPLATES=(template.yaml examples/protect-other-apis/template.yaml examples/jwt-authorizer/template.yaml)

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nsam-check: FAIL: %s\n' "$*" >&2; exit 1; }

step "SAM CLI ${SAM_CLI_VERSION} in .venv/sam"
have_version() {
	[ -x "$VENV/bin/sam" ] && "$VENV/bin/sam" --version 2>/dev/null | grep -q "version ${SAM_CLI_VERSION}\$"
}
if have_version; then
	echo "already installed: $("$VENV/bin/sam" --version)"
else
	command -v python3 >/dev/null || fail "python3 not found"
	if [ ! -x "$VENV/bin/python" ]; then
		python3 -m venv "$VENV" || fail "python3 -m venv $VENV (on Debian: apt-get install python3-venv)"
	fi
	"$VENV/bin/python" -m pip install --quiet --upgrade pip </dev/null
	"$VENV/bin/python" -m pip install --quiet "aws-sam-cli==${SAM_CLI_VERSION}" </dev/null ||
		fail "pip install aws-sam-cli==${SAM_CLI_VERSION}"
	have_version || fail "sam --version does not report ${SAM_CLI_VERSION}"
	echo "installed: $("$VENV/bin/sam" --version)"
fi
SAM=$VENV/bin/sam
# The cfn-lint that the SAM CLI itself uses for `sam validate --lint`.
CFN_LINT=$VENV/bin/cfn-lint

step "cfn-lint ($("$CFN_LINT" --version)) ${TEMPLATES[*]}"
"$CFN_LINT" "${TEMPLATES[@]}" </dev/null || fail "cfn-lint reported problems"
echo "cfn-lint: clean"

for t in "${TEMPLATES[@]}"; do
	step "sam validate --lint -t $t"
	"$SAM" validate --lint -t "$t" </dev/null || fail "sam validate --lint -t $t"
done

# The Store parameter switches tables, policies and the VPC on and off by
# conditions, and EnableAccessLogs with CreateApiGatewayLogsRole the access
# log group, the API Gateway logs role and the account setting: lint the
# template as deployed with each combination (a copy whose defaults are that
# choice's), so a reference to a resource that a condition removes cannot
# hide behind the defaults. sam validate runs once per store.
STORE_TMP=$(mktemp -d)
trap 'rm -rf "$STORE_TMP"' EXIT
for store in DynamoDB PostgreSQL Redis; do
	for logs in create existing off; do
		t=$STORE_TMP/template-$store-$logs.yaml
		python3 - "$store" "$logs" "$t" <<'PY' || fail "could not write the $store/$logs template"
import re, sys
store, logs, out = sys.argv[1], sys.argv[2], sys.argv[3]
s = open("template.yaml").read()
defaults = {
    "Store": store,
    "DatabaseUrl": "postgres://rotor@proxy.example:5432/rotor?sslmode=require" if store == "PostgreSQL" else "",
    "RedisUrl": "rediss://rotor@cache.example:6379" if store == "Redis" else "",
    "ConnectionSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0-AbCdEf" if store != "DynamoDB" else "",
    "VpcSubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1" if store != "DynamoDB" else "subnet-00000000",
    "VpcSecurityGroupIds": "sg-0123456789abcdef0" if store != "DynamoDB" else "sg-00000000",
    "EnableAccessLogs": "false" if logs == "off" else "true",
    "CreateApiGatewayLogsRole": "true" if logs == "create" else "false",
}
for name, value in defaults.items():
    s, n = re.subn(r"(\n  %s:\n    Type: [^\n]+\n    Default: )[^\n]*" % name, lambda m: m.group(1) + '"%s"' % value, s)
    if n != 1:
        sys.exit("parameter %s not found" % name)
open(out, "w").write(s)
PY
		step "Store=$store, access logs $logs (EnableAccessLogs, CreateApiGatewayLogsRole): cfn-lint"
		"$CFN_LINT" "$t" </dev/null || fail "cfn-lint reported problems with Store=$store, access logs $logs"
	done
	step "Store=$store: sam validate --lint"
	"$SAM" validate --lint -t "$STORE_TMP/template-$store-create.yaml" </dev/null || fail "sam validate --lint with Store=$store"
done

# Dpop switches the API's authorizer (a TOKEN one with API Gateway's cache,
# or a REQUEST one without: DefaultAuthorizer is !Ref Dpop, the one
# intrinsic SAM resolves in Auth), the 401's challenge and the authorizer's
# environment and policies by conditions: lint and validate each mode, the
# nonce on with required.
for dpop in optional required; do
	t=$STORE_TMP/template-dpop-$dpop.yaml
	python3 - "$dpop" "$t" <<'PY' || fail "could not write the Dpop=$dpop template"
import re, sys
dpop, out = sys.argv[1], sys.argv[2]
s = open("template.yaml").read()
for name, value in {"Dpop": dpop, "DpopNonce": "true" if dpop == "required" else "false"}.items():
    s, n = re.subn(r"(\n  %s:\n    Type: [^\n]+\n    Default: )[^\n]*" % name, lambda m: m.group(1) + '"%s"' % value, s)
    if n != 1:
        sys.exit("parameter %s not found" % name)
open(out, "w").write(s)
PY
	step "Dpop=$dpop: cfn-lint, sam validate --lint"
	"$CFN_LINT" "$t" </dev/null || fail "cfn-lint reported problems with Dpop=$dpop"
	"$SAM" validate --lint -t "$t" </dev/null || fail "sam validate --lint with Dpop=$dpop"
done

if [ "${SAM_CHECK_SKIP_BUILD:-0}" = 1 ]; then
	step "sam build skipped (SAM_CHECK_SKIP_BUILD=1)"
	echo "sam-check: OK (no build)"
	exit 0
fi

# Each function is built by `make build-<LogicalId>` in the repository root
# (Metadata: BuildMethod: makefile). The Makefile honours GOARCH (default
# arm64, as the template's Architectures); the Lambda emulator test sets
# GOARCH=amd64. `sam build` passes the environment through to make.
step "sam build --build-in-source (GOARCH=${GOARCH:-arm64 (Makefile default)})"
command -v make >/dev/null || fail "make not found (apt-get install make)"
command -v go >/dev/null || fail "go not found"
missing=()
for id in $(grep -E '^  [A-Za-z]+Function:$' template.yaml | tr -d ' :'); do
	grep -qE "^build-${id}:" Makefile 2>/dev/null || missing+=("build-$id")
done
[ ${#missing[@]} -eq 0 ] || fail "Makefile lacks targets: ${missing[*]}"
"$SAM" build --build-in-source --template-file template.yaml </dev/null || fail "sam build"

step "built artifacts"
ok=1
for d in .aws-sam/build/*Function; do
	if [ -x "$d/bootstrap" ]; then
		printf '  %-22s %8d bytes  %s\n' "$(basename "$d")" "$(stat -c %s "$d/bootstrap")" \
			"$(file -b "$d/bootstrap" 2>/dev/null | cut -d, -f1-2 || true)"
	else
		printf '  %-22s MISSING bootstrap\n' "$(basename "$d")"
		ok=0
	fi
done
[ "$ok" = 1 ] || fail "some functions have no bootstrap"
echo
echo "sam-check: OK"
