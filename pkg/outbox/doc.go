// Package outbox is the mail waiting to be sent: a Message is written in the
// same atomic store write as the token or change it carries, and a sender
// (pkg/mail) delivers it outside the request, at least once and never twice
// on a retry.
//
// A Message holds no secret. A mail that carries a link token names the
// token's record (TokenID); the sender derives the token from that id with the
// server MAC key at send time, so a reader of the store cannot use a link.
//
// Storage, the same fields in every store (the flows write messages, the
// sender reads and marks them). A claim counts the attempt and sets
// lease_until; a mark is conditional on that lease and records it as
// marked_lease, so a mark resent after a lost answer succeeds once and
// changes nothing:
//
//   - embedded: a map by ID.
//   - DynamoDB: table Outbox keyed by "id" (S); attributes kind, to, user_id,
//     token_id, data (M of S), created_at and next_at (Unix ms, N), attempts
//     (N), sent_at (ms), failed ("1" once permanent), lease_until (ms),
//     marked_lease (ms), last_error, expires_at (TTL, seconds: 30 days after creation), and
//     "due" = "1" while the message waits (removed when sent or failed): the
//     sparse GSI "due" (partition due, sort next_at) is the sweep's query.
//   - PostgreSQL: table outbox (id text primary key, kind, to_address,
//     user_id, token_id, data jsonb, created_at, next_at, attempts, sent_at,
//     failed_at, lease_until, marked_lease, last_error), index on next_at
//     where sent_at and failed_at are null (migration 005).
//   - Redis: hash <prefix>o:<id> with the same fields (data as JSON), and
//     the sorted set <prefix>od (member id, score next_at in ms) of waiting
//     messages; leased members stay in it and the sweep skips them.
package outbox
