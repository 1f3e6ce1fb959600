// Package sessions is the heart of Rotor: a login starts a session (a family
// of refresh tokens), every refresh rotates the session's token in one
// conditional write, a superseded token replayed inside the grace window gets
// the same new token again, and one replayed after it revokes the session.
// Refresh tokens are opaque and stored only as SHA-256 hashes.
package sessions
