// Package users defines accounts as Rotor stores them (a normalised username,
// an opaque user id and an argon2id hash) and the store they live in.
package users
