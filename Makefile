# Rotor: the two commands are `make dev` (the API on 127.0.0.1:3000, no
# Docker, no AWS) and `make test` (the whole suite, installing what it needs).

# The functions' instruction set, as template.yaml's Architecture parameter:
# arm64 when deployed. sam build does not tell make which one the template
# says, so set both alike (make sam-local does, for this host):
#   ARCHITECTURE=x86_64 sam build --parameter-overrides Architecture=x86_64
# GOARCH follows ARCHITECTURE; set directly, it wins (the emulator tests do).
ARCHITECTURE ?= arm64
GOARCH ?= $(if $(filter x86_64,$(ARCHITECTURE)),amd64,$(if $(filter arm64,$(ARCHITECTURE)),arm64,$(error ARCHITECTURE=$(ARCHITECTURE): want arm64 or x86_64)))
# lambda.norpc: no net/rpc (the provided.al2023 runtime speaks the Runtime API).
# nethttpomithttp2: no HTTP/2 in net/http; Lambda's Runtime API, DynamoDB and
# Secrets Manager all speak HTTP/1.1, and it keeps ~330 KB out of every bootstrap.
# ROTOR_STORES: the server stores the functions link besides DynamoDB. The
# default links none, so a DynamoDB deployment's bootstraps carry no pgx or
# go-redis (about 6 MB each); deploy PostgreSQL or Redis with e.g.
# `ROTOR_STORES=postgres sam build` (sam build passes the environment to make).
ROTOR_STORES ?= dynamodb
comma := ,
STORE_TAGS = $(if $(findstring postgres,$(ROTOR_STORES)),,$(comma)rotor_nopostgres)$(if $(findstring redis,$(ROTOR_STORES)),,$(comma)rotor_noredis)
GO_TAGS = lambda.norpc,nethttpomithttp2$(STORE_TAGS)
GO_BUILD = CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) go build -tags $(GO_TAGS) -trimpath -buildvcs=false -ldflags='-s -w'

.PHONY: dev migrate test test-go lint sam-check lambda-test sam-local sam-local-test js-test browser-test bench load fuzz coldstart cost mutate clean

# The demo page uses the cookie transport, which needs a named CORS origin.
# The links of the mails (ROTOR_APP_URL) open the demo page, which verifies
# the address or offers the reset form.
dev:
	ROTOR_CORS_ALLOW_ORIGIN="$${ROTOR_CORS_ALLOW_ORIGIN:-http://127.0.0.1:3000}" \
	ROTOR_APP_URL="$${ROTOR_APP_URL:-http://127.0.0.1:3000}" \
	ROTOR_DPOP="$${ROTOR_DPOP:-optional}" \
	go run ./cmd/rotor-local

# The PostgreSQL store's schema, applied to ROTOR_DATABASE_URL (credentials
# from ROTOR_DATABASE_SECRET_ID when set). Idempotent; `make dev` applies it too.
migrate:
	go run ./cmd/rotor-migrate

test:
	bash scripts/test.sh

test-go:
	bash scripts/test.sh go

sam-check:
	bash scripts/sam-check.sh

lambda-test:
	bash scripts/lambda-test.sh

# The whole API under `sam local start-api` on :3000 (Docker; the functions
# built for this host, so nothing is emulated), with its own moto_server,
# tables and secrets, until Ctrl-C: see the script.
sam-local:
	bash scripts/sam-local.sh

# The same, tested: every function under `sam local invoke`, the API through
# `sam local start-api` across three restarts.
sam-local-test:
	bash scripts/sam-local-test.sh

js-test:
	bash scripts/js-test.sh

browser-test:
	bash scripts/browser-test.sh

bench:
	bash scripts/bench.sh

coldstart:
	bash scripts/coldstart.sh

# Every fuzz target for minutes each (make test runs them for seconds).
fuzz:
	FUZZTIME=$${FUZZTIME:-2m} bash scripts/fuzz.sh

# docs/COST.md and docs/cost.png, from the measured flows (bench/flowcost on
# moto_server) and the prices in scripts/cost.py; matplotlib in .venv/cost.
cost:
	test -x .venv/cost/bin/python || python3 -m venv .venv/cost
	.venv/cost/bin/python -c 'import matplotlib' 2>/dev/null || .venv/cost/bin/pip install --quiet --disable-pip-version-check 'matplotlib==3.9.4'
	.venv/cost/bin/python scripts/cost.py

# Mutation testing of the security packages (slow; not part of `make test`).
mutate:
	bash scripts/mutate.sh

clean:
	rm -rf .aws-sam bin

# sam build (Metadata: BuildMethod: makefile) runs these with ARTIFACTS_DIR set.
build-SignupFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/signup
build-LoginFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/login
build-RefreshFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/refresh
build-LogoutFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/logout
build-JwksFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/jwks
build-MeFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/me
build-SessionsFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sessions
build-PasswordFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/password
build-EmailFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/email
build-RecoveryFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/recovery
build-MfaFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/mfa
build-PasskeysFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/passkeys
build-AuthorizerFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/authorizer
build-TokenFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/token
build-RevokeFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/revoke
build-DiscoveryFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/discovery
build-RotateKeyFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/rotatekey
build-MailerFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/mailer
build-PreflightFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/preflight
# Not a function of the template: the baseline of scripts/coldstart.sh.
build-Baseline:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./bench/baseline
