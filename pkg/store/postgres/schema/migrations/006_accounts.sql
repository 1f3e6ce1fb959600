-- Account recovery (package onetime, auth.AccountStore): an address on each
-- user, verified or not, and a pending new one; one-time token records.
-- The claim of a verified address is the unique index below: no two
-- accounts hold the same verified address, and an unverified one claims
-- nothing. (004 and 005 are taken by other branches' migrations.)

ALTER TABLE users
	ADD COLUMN email             text CHECK (length(email) BETWEEN 1 AND 320),
	ADD COLUMN email_verified    boolean NOT NULL DEFAULT false,
	ADD COLUMN email_verified_at timestamptz,
	ADD COLUMN pending_email     text CHECK (length(pending_email) BETWEEN 1 AND 320),
	ADD CHECK (email IS NOT NULL OR NOT email_verified);

CREATE UNIQUE INDEX users_verified_email ON users (email) WHERE email_verified;

-- A token record holds no secret: the token is its id's MAC tag, which only
-- the server's key makes. It goes with its user.
CREATE TABLE onetime_tokens (
	id         text        PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
	purpose    text        NOT NULL CHECK (purpose IN ('verify_email', 'password_reset', 'email_change')),
	user_id    text        NOT NULL,
	username   text        NOT NULL,
	epoch      bigint      NOT NULL CHECK (epoch >= 0),
	email      text        NOT NULL DEFAULT '' CHECK (length(email) <= 320),
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	FOREIGN KEY (username, user_id) REFERENCES users (username, user_id) ON DELETE CASCADE ON UPDATE CASCADE
);

-- What a purge of records a day past their expiry looks for.
CREATE INDEX onetime_tokens_by_expiry ON onetime_tokens (expires_at);
