// Package keys turns signing-key material into usable key sets: parsing a
// Secrets Manager secret version (a pure function), fetching the current and
// previous versions, caching them for a bounded time, choosing which key
// signs at a given time (a new key only after every cache holds it),
// generating and rotating keys, and publishing the public halves as a JSON
// Web Key Set (RFC 7517).
package keys
