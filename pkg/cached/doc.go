// Package cached keeps one value read from a slow source that may fail
// (a Secrets Manager secret) for a bounded time. A fresh value is read
// without a lock, at most one read is in flight at a time, and a read that
// stalls never holds up a caller who already has a value to use.
package cached
