// Package throttle slows down password guessing per username: after a few
// consecutive failures each further attempt must wait, the wait doubling up to
// a cap. Known and unknown usernames are counted alike, so throttling reveals
// nothing about which accounts exist.
package throttle
