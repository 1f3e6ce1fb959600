-- GetSessionAndWatermark: the session (no row when unknown) and the
-- revocation watermark (NULL when none), in one snapshot.
SELECT session_id, user_id, username, epoch, token_hash, prev_hash, salt, rotated_at, rotations,
	created_at, last_used_at, expires_at, absolute_expires_at, ip, user_agent, amr, auth_time, jkt,
	(SELECT revoked_before FROM revocation)
FROM sessions
WHERE session_id = @session_id
