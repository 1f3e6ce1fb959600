// Package throttle slows down password guessing: after a few consecutive
// failures counted under a key each further attempt must wait, the wait
// doubling up to a cap. The keys are the username (for clients without a
// device token), a device token, a source IP and a session; known and unknown
// usernames are counted alike, so throttling reveals nothing about which
// accounts exist.
package throttle
