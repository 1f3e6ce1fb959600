-- Rotor's tables. Constraints live here, not only in code: a username is
-- one account, a session belongs to an existing user and goes with it, hashes
-- have the size of a SHA-256.

CREATE TABLE users (
	username      text        PRIMARY KEY CHECK (length(username) BETWEEN 1 AND 256),
	user_id       text        NOT NULL UNIQUE CHECK (length(user_id) BETWEEN 1 AND 128),
	password_hash text        NOT NULL CHECK (password_hash <> ''),
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL,
	-- The credential epoch: a password change or an end-all moves it; a
	-- session is only inserted while it still has the value its login read.
	epoch         bigint      NOT NULL DEFAULT 0 CHECK (epoch >= 0),
	UNIQUE (username, user_id) -- what a session's foreign key names
);

CREATE TABLE sessions (
	session_id          text        PRIMARY KEY CHECK (length(session_id) BETWEEN 1 AND 128),
	user_id             text        NOT NULL,
	username            text        NOT NULL,
	epoch               bigint      NOT NULL CHECK (epoch >= 0),
	token_hash          bytea       NOT NULL CHECK (length(token_hash) = 32),
	prev_hash           bytea       CHECK (length(prev_hash) = 32),
	salt                bytea       CHECK (length(salt) = 32),
	rotated_at          timestamptz,
	rotations           integer     NOT NULL DEFAULT 0 CHECK (rotations >= 0),
	created_at          timestamptz NOT NULL,
	last_used_at        timestamptz NOT NULL,
	expires_at          timestamptz NOT NULL,
	absolute_expires_at timestamptz NOT NULL,
	-- When the session dies: what the purge looks for.
	dies_at             timestamptz NOT NULL GENERATED ALWAYS AS (least(expires_at, absolute_expires_at)) STORED,
	ip                  text        NOT NULL CHECK (length(ip) <= 64),
	user_agent          text        NOT NULL CHECK (length(user_agent) <= 1024),
	FOREIGN KEY (username, user_id) REFERENCES users (username, user_id) ON DELETE CASCADE ON UPDATE CASCADE,
	CHECK ((prev_hash IS NULL) = (salt IS NULL) AND (prev_hash IS NULL) = (rotated_at IS NULL))
);

-- The per-user session list is this index: listing and ending all of a
-- user's sessions read it, strongly consistently, as any query does.
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);
CREATE INDEX sessions_by_death ON sessions (dies_at);

-- Failed logins per attempt key: a username, a source address, a device
-- token or a session (throttle.UserKey and friends).
CREATE TABLE login_attempts (
	attempt_key  text        PRIMARY KEY CHECK (length(attempt_key) BETWEEN 1 AND 512),
	failures     integer     NOT NULL CHECK (failures > 0),
	last_failure timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL
);

CREATE INDEX login_attempts_by_expiry ON login_attempts (expires_at);
