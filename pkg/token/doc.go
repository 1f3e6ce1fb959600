// Package token issues and verifies Rotor's access tokens: short-lived JWTs
// (RFC 9068 "at+jwt") signed with the current key of a keys.Source. Verification
// pins the algorithm, issuer and audience, requires an expiry and resolves the
// key by kid, so no token can choose how it is checked.
package token
