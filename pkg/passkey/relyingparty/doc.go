// Package relyingparty runs the WebAuthn ceremonies of Rotor's passkeys
// with github.com/go-webauthn/webauthn: options out, responses parsed and
// verified (origin, RP id, challenge, signature, flags). It holds no state:
// the challenges are the store's (package passkey), and only the passkeys
// function links it.
package relyingparty
