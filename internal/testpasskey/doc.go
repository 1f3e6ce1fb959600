// Package testpasskey is the browser and authenticator of Rotor's passkey
// tests and benchmarks: github.com/descope/virtualwebauthn (real
// attestation and assertion responses, ECDSA P-256 signatures, an
// independent encoder) holding keys it can encode.
package testpasskey
