-- Operator actions (rotor CLI): a user can be locked, and every session
-- created before the revocation watermark is revoked (rotor revoke-all).

ALTER TABLE users ADD COLUMN locked boolean NOT NULL DEFAULT false;

-- One row at most: the revocation watermark.
CREATE TABLE revocation (
	id             boolean     PRIMARY KEY DEFAULT true CHECK (id),
	revoked_before timestamptz NOT NULL
);
