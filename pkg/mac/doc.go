// Package mac holds the server's MAC key: a per-deployment secret, kept in
// Secrets Manager, with which Rotor tags what it hands out and must recognise
// later without storing it (refresh tokens, device tokens) and fingerprints
// what logs must correlate without revealing (a username as typed). Every use
// derives its own subkey from a label, so one tag can never pass for another.
package mac
