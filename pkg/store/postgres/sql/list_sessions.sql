-- ListSessions: every session of the user, by the sessions_by_user index.
-- (username, user_id) is the sessions' foreign key, so a wrong id finds none.
SELECT session_id, user_id, username, epoch, token_hash, prev_hash, salt, rotated_at, rotations,
	created_at, last_used_at, expires_at, absolute_expires_at, ip, user_agent, amr, auth_time, jkt
FROM sessions
WHERE user_id = @user_id AND username = @username
