// Package onetime is the single-use tokens that mail links carry: verify an
// address, reset a password, confirm an address change. A token is its
// purpose's prefix and the base64url of a random 128-bit record id and a MAC
// tag over purpose and id: the store keeps the record (whose id alone is not
// a token), never the token, so a reader of the store cannot mint one, while
// the mail sender derives it from the outbox message's TokenID at send time.
package onetime
