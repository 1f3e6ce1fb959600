-- PutChallenge: a new mfa_token record (no row returned when the id
-- exists); a bounded purge (@purge rows, SKIP LOCKED) deletes records a day
-- past their expiry, so the table does not grow.
WITH purged AS (
	DELETE FROM mfa_tokens WHERE id IN (
		SELECT id FROM mfa_tokens
		WHERE expires_at < @created_at::timestamptz - interval '1 day'
		ORDER BY expires_at LIMIT @purge::int
		FOR UPDATE SKIP LOCKED
	)
)
INSERT INTO mfa_tokens (id, user_id, username, epoch, device, created_at, expires_at)
VALUES (@id::text, @user_id::text, @username::text, @epoch::bigint, @device::text, @created_at::timestamptz, @expires_at::timestamptz)
ON CONFLICT (id) DO NOTHING
RETURNING true
