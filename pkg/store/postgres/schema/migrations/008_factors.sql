-- Second factors (package mfa, mfa.Store): one TOTP factor per user, its
-- secret sealed (AES-GCM under a key derived from the server MAC key,
-- which the database never holds), the last accepted time step, and the
-- keyed hashes of the unused recovery codes; and the records of the
-- mfa_tokens a login hands out between its two steps (no secret: the
-- token is its id's MAC tag). (Other branches may add migrations: the
-- number is the merge's to settle.)

CREATE TABLE mfa_factors (
	user_id      text        PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 64),
	sealed       text        NOT NULL CHECK (length(sealed) BETWEEN 1 AND 512),
	confirmed    boolean     NOT NULL DEFAULT false,
	created_at   timestamptz NOT NULL,
	confirmed_at timestamptz,
	last_step    bigint      NOT NULL DEFAULT 0 CHECK (last_step >= 0),
	codes        text[]      NOT NULL DEFAULT '{}'
);

CREATE TABLE mfa_tokens (
	id         text        PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
	user_id    text        NOT NULL,
	username   text        NOT NULL,
	epoch      bigint      NOT NULL CHECK (epoch >= 0),
	device     text        NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz
);

-- What a purge of records a day past their expiry looks for.
CREATE INDEX mfa_tokens_by_expiry ON mfa_tokens (expires_at);
