// Package mfa holds the pure pieces of Rotor's second factor (the TOTP
// protocol is package totp): the TOTP secret sealed at rest under a key
// derived from the server MAC key,
// recovery codes and their keyed hashes, the mfa_token a login hands out
// between its two steps, and the Store each store implements (one file per
// store, "factors"). The flows live in pkg/auth.
package mfa
