// Package client is the Go side of Rotor for programs that call APIs
// protected by Rotor: an http.RoundTripper that sends the access token,
// refreshes it once when a protected route answers 401 (however many
// requests failed together), persists the rotated pair and retries the
// request, so callers never handle token expiry themselves.
//
// When the server refuses the refresh token itself the session is over;
// the transport reports ErrSessionEnded and never loops.
//
// With Transport.DPoPKey set (an *ecdsa.PrivateKey on P-256) the session is
// bound to that key (DPoP, RFC 9449): every call that starts or uses the
// session carries a proof signed with it, so tokens copied out of the
// program are useless without the key, and a refresh whose answer was lost
// is retried with the same token and a fresh proof instead of ending the
// session. Keep the key as long as the tokens: a bound session refuses any
// other.
//
// Passkeys need a browser (or an authenticator library) to sign, so this
// package has no calls for them; a Go program that holds tokens from a
// passkey login uses the transport as after any login. The routes:
// POST /auth/passkeys/register/options and /auth/passkeys/register
// (bearer), POST /auth/passkeys/login/options and /auth/passkeys/login
// (the token response), GET /auth/passkeys, PATCH and DELETE
// /auth/passkeys/{id} (bearer); and a passkey as a login's second step,
// when 403 mfa_required lists "passkey" in mfa_methods: POST
// /auth/mfa/passkey/options {"mfa_token"} (request options for that
// user's passkeys; the mfa_token is checked, not used), then POST
// /auth/mfa/verify {"mfa_token","credential"} (the token response, as
// with a code). docs/openapi.yaml describes each.
package client
