-- RecordFailure: one atomic increment; and a bounded purge of expired rows
-- of other keys (SKIP LOCKED), so each failure removes up to @purge of
-- them while adding at most one.
WITH purged AS (
	DELETE FROM login_attempts
	WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM login_attempts WHERE expires_at <= @now AND attempt_key <> @attempt_key
		ORDER BY expires_at LIMIT @purge
		FOR UPDATE SKIP LOCKED
	))
)
INSERT INTO login_attempts AS a (attempt_key, failures, last_failure, expires_at)
VALUES (@attempt_key, 1, @now, @expires_at)
ON CONFLICT (attempt_key) DO UPDATE
SET failures = a.failures + 1,
	last_failure = greatest(a.last_failure, excluded.last_failure),
	expires_at = greatest(a.expires_at, excluded.expires_at)
RETURNING failures, last_failure
