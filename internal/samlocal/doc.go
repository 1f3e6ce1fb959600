// Package samlocal prepares the local AWS that `sam local` runs Rotor
// against: the env-vars file (env.local.json pointed at this run's
// endpoint), a forwarder that serves moto_server where the Lambda containers
// reach the host, and the tables and secrets the file names. `make
// sam-local` (cmd/rotor-sam-local) and `make sam-local-test` (test/samlocal)
// share it, so the environment a user runs is the one the test checks.
package samlocal
