// Package password hashes and verifies passwords with argon2id (RFC 9106) at
// or above OWASP's minimum, stored as PHC strings, and provides the dummy
// verification that makes an unknown user cost the same as a wrong password.
package password
