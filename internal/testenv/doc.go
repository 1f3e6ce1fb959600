// Package testenv gives integration tests the real servers they talk to: a
// moto_server for DynamoDB and Secrets Manager (started once per test binary
// unless ROTOR_MOTO_URL names a running one) and AWS clients pointed at it;
// private PostgreSQL and Redis servers, each in a temporary directory on a
// free loopback port (started once per test binary unless ROTOR_POSTGRES_URL
// or ROTOR_REDIS_URL names one, or on demand for a test that kills and
// restarts its own). A missing server fails the test with the command that
// installs it (for moto: the pip command); nothing skips.
package testenv
