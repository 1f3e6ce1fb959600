-- PutPasskeyChallenge: a new challenge record (no row returned when the
-- hash exists); a bounded purge (@purge rows, SKIP LOCKED) deletes records
-- a day past their expiry, so the table does not grow.
WITH purged AS (
	DELETE FROM passkey_challenges WHERE hash IN (
		SELECT hash FROM passkey_challenges
		WHERE expires_at < @created_at::timestamptz - interval '1 day'
		ORDER BY expires_at LIMIT @purge::int
		FOR UPDATE SKIP LOCKED
	)
)
INSERT INTO passkey_challenges (hash, ceremony, user_id, created_at, expires_at)
VALUES (@hash::text, @ceremony::text, @user_id::text, @created_at::timestamptz, @expires_at::timestamptz)
ON CONFLICT (hash) DO NOTHING
RETURNING true
