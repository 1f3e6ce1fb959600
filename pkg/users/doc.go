// Package users defines accounts as Rotor stores them (a normalised username,
// an opaque user id, an argon2id hash, an optional address and whether it is
// verified) and the store they live in.
package users
