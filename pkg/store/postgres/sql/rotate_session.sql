-- RotateSession, one statement: the conditional update, or, when its
-- condition fails, the row as it is; the revocation watermark; and whether
-- the session is of an older credential epoch than its owner's. The FOR KEY SHARE read waits for a
-- rotation in flight and returns the row it committed (READ COMMITTED follows
-- the update), so a racing loser sees the winner's hashes and can answer with
-- the grace replay without a second round trip.
WITH rotated AS (
	UPDATE sessions
	SET token_hash = @new_hash, prev_hash = token_hash, salt = @salt, rotated_at = @now,
		last_used_at = @now, expires_at = @expires_at, rotations = rotations + 1
	WHERE session_id = @session_id AND token_hash = @presented_hash
		AND expires_at > @now AND absolute_expires_at > @now AND absolute_expires_at >= @expires_at
		-- DPoP: a bound session rotates only with its key's proof, a bearer
		-- one (NULL) only without.
		AND jkt IS NOT DISTINCT FROM @jkt::text
		-- rotor revoke-all: a session created before the watermark never rotates.
		AND created_at >= coalesce((SELECT revoked_before FROM revocation), '-infinity')
		-- nor one of an older credential epoch than its owner's (left behind
		-- by a password change, end-all or lock whose deletes failed).
		AND epoch = (SELECT u.epoch FROM users u WHERE u.username = sessions.username AND u.user_id = sessions.user_id)
	RETURNING session_id, user_id, username, epoch, token_hash, prev_hash, salt, rotated_at, rotations,
	created_at, last_used_at, expires_at, absolute_expires_at, ip, user_agent, amr, auth_time, jkt
),
as_was AS (
	SELECT session_id, user_id, username, epoch, token_hash, prev_hash, salt, rotated_at, rotations,
	created_at, last_used_at, expires_at, absolute_expires_at, ip, user_agent, amr, auth_time, jkt
	FROM sessions
	WHERE session_id = @session_id AND NOT EXISTS (SELECT 1 FROM rotated)
	FOR KEY SHARE
)
SELECT true, *, (SELECT revoked_before FROM revocation), false FROM rotated
UNION ALL
SELECT false, *, (SELECT revoked_before FROM revocation),
	NOT EXISTS (SELECT 1 FROM users u WHERE u.username = as_was.username AND u.user_id = as_was.user_id AND u.epoch = as_was.epoch)
FROM as_was
