// Package totp is Rotor's policy on RFC 6238 time-based one-time codes:
// the parameters every authenticator app expects (SHA-1, 6 digits, 30 s,
// ±1 step), a fresh key and its otpauth URI, and a check that says which
// time step a code matched, so a store can accept each step once. The
// protocol itself comes from github.com/pquerna/otp; only the programs that
// check codes link it (the stores and the authorizer do not).
package totp
