// Package passkey holds what Rotor keeps of WebAuthn passkeys: the
// credentials of each user and the single-use challenges of the
// ceremonies, behind one Store interface every store implements. The
// ceremonies themselves (package auth) use github.com/go-webauthn/webauthn;
// nothing here parses CBOR or attestation.
package passkey
