-- EndUserSessions, second statement, in the same implicit transaction: its
-- own snapshot, taken after the epoch moved, sees every session a login
-- committed before that, and no later login can insert one.
DELETE FROM sessions
WHERE user_id = @user_id AND username = @username
