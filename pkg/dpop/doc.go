// Package dpop makes and checks DPoP proofs (RFC 9449): a short JWT a client
// signs with a key pair it keeps, sent in the DPoP header of each request, so
// a token bound to that key (its RFC 7638 thumbprint) is useless to anyone
// who copies the token but not the key.
//
// Verifier.Verify checks one proof against the request it came with (method,
// URL, the access token it accompanies, the key a session is bound to) and
// spends its jti in a ReplayCache; Nonces makes and checks the stateless
// server nonces of RFC 9449 §8. NewProof makes a proof (the Go client and
// the tests). JWS and JWK handling is go-jose's; nothing here parses a
// signature by hand.
package dpop
