// Package samlocal runs Rotor under `sam local`, for real: each function in a
// Lambda container with `sam local invoke`, then the whole API with its
// authorizer under `sam local start-api`, against a private moto_server.
//
// The tests carry the build tag samlocal and need what
// scripts/sam-local-test.sh (`make sam-local-test`) sets up: Docker, the
// arm64 Lambda base image, the SAM CLI, an arm64 `sam build` and moto_server
// reachable from the containers. Run by that script they fail, never skip,
// when anything is missing.
package samlocal
