-- RecordFailure: one atomic increment; and a bounded purge of expired rows
-- of other usernames (SKIP LOCKED), so each failure removes up to @purge of
-- them while adding at most one.
WITH purged AS (
	DELETE FROM login_attempts
	WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM login_attempts WHERE expires_at <= @now AND username <> @username
		ORDER BY expires_at LIMIT @purge
		FOR UPDATE SKIP LOCKED
	))
)
INSERT INTO login_attempts AS a (username, failures, last_failure, expires_at)
VALUES (@username, 1, @now, @expires_at)
ON CONFLICT (username) DO UPDATE
SET failures = a.failures + 1,
	last_failure = greatest(a.last_failure, excluded.last_failure),
	expires_at = greatest(a.expires_at, excluded.expires_at)
RETURNING failures, last_failure
