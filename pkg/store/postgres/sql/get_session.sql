-- GetSession: the session, expired or not (the caller checks Alive).
SELECT session_id, user_id, username, epoch, token_hash, prev_hash, salt, rotated_at, rotations,
	created_at, last_used_at, expires_at, absolute_expires_at, ip, user_agent, amr, auth_time, jkt
FROM sessions
WHERE session_id = @session_id
