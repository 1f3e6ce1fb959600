-- DeleteSessionByToken: the current token, or the one it just replaced.
DELETE FROM sessions
WHERE session_id = @session_id AND (token_hash = @hash OR prev_hash = @hash)
