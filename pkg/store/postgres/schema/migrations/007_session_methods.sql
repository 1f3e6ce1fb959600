-- Step-up (issue 21): the authentication methods (RFC 8176 values) that
-- started a session and when they were used. A rotation never writes them,
-- so a refresh keeps them. NULL on sessions stored before this migration:
-- the store returns none, and the sessions package reads that as a password
-- login at the session's creation (sessions.Session.Methods).
-- (The number may be taken by another branch's migration: renumber at merge.)

ALTER TABLE sessions
	ADD COLUMN amr       text[]      CHECK (cardinality(amr) BETWEEN 1 AND 16),
	ADD COLUMN auth_time timestamptz;
