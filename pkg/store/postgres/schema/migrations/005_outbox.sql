-- The outbox (package outbox): mail written in the same transaction as the
-- token or change it carries, delivered by the sender (package mail). A row
-- waits while sent_at and failed_at are NULL; lease_until is the claim of a
-- sender, marked_lease the lease of the last mark (so that a resent mark
-- succeeds once and changes nothing).
CREATE TABLE outbox (
	id           text PRIMARY KEY,
	kind         text NOT NULL,
	to_address   text NOT NULL,
	user_id      text NOT NULL,
	token_id     text NOT NULL DEFAULT '',
	data         jsonb NOT NULL DEFAULT '{}',
	created_at   timestamptz NOT NULL,
	next_at      timestamptz NOT NULL,
	attempts     integer NOT NULL DEFAULT 0,
	sent_at      timestamptz,
	failed_at    timestamptz,
	lease_until  timestamptz,
	marked_lease timestamptz,
	last_error   text NOT NULL DEFAULT ''
);

-- The sweep's query: waiting rows by next_at.
CREATE INDEX outbox_due ON outbox (next_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;
