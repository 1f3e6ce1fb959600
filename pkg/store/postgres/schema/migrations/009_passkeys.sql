-- Passkeys (package passkey, passkey.Store): the WebAuthn credentials of
-- each user, looked up by credential id (a discoverable login names only
-- the credential) and listed per user; and the challenges of the
-- ceremonies, stored as the SHA-256 of the challenge, never the challenge.
-- (Other branches may add migrations: the number is the merge's to settle.)

CREATE TABLE passkeys (
	id           text        PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 1400),
	user_id      text        NOT NULL CHECK (length(user_id) BETWEEN 1 AND 64),
	name         text        NOT NULL CHECK (length(name) <= 256),
	data         bytea       NOT NULL,
	sign_count   bigint      NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
	backup_state boolean     NOT NULL DEFAULT false,
	created_at   timestamptz NOT NULL,
	last_used_at timestamptz
);

CREATE INDEX passkeys_by_user ON passkeys (user_id, created_at);

CREATE TABLE passkey_challenges (
	hash       text        PRIMARY KEY CHECK (length(hash) = 64),
	ceremony   text        NOT NULL CHECK (ceremony IN ('register', 'login', 'mfa')),
	user_id    text        NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz
);

-- What a purge of records a day past their expiry looks for.
CREATE INDEX passkey_challenges_by_expiry ON passkey_challenges (expires_at);
