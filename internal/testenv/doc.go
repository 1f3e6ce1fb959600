// Package testenv gives integration tests the real servers they talk to: a
// moto_server for DynamoDB and Secrets Manager (started once per test binary
// unless ROTOR_MOTO_URL names a running one) and AWS clients pointed at it.
// With CI=true a missing server fails the test; it never skips.
package testenv
