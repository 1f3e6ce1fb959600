// Package redis implements Rotor's users, sessions and throttle stores on
// Redis or Valkey with go-redis. Every store operation is one round trip: a
// Lua script, embedded from lua/*.lua and run by SHA (EVALSHA), or a single
// read command. Session keys expire when the session dies.
//
// Every key carries one hash tag, {Namespace}, so every key lives in one
// cluster slot: a refresh names only its session id, yet creating a session
// must check its owner's epoch and list it atomically, so the session's key
// and its owner's keys must share a slot, and with random session ids that
// holds for all of them only if every key shares one.
package redis
