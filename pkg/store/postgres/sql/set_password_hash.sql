-- SetPasswordHash: the new hash and a new credential epoch in one write, so
-- no login that checked the old password can insert a session afterwards;
-- only while the epoch is still @epoch, the one the change read. Returns
-- whether it was set, and whether the user exists (not set: the epoch moved).
WITH set AS (
	UPDATE users
	SET password_hash = @password_hash, updated_at = @updated_at, password_changed_at = @updated_at,
		epoch = epoch + 1
	WHERE username = @username AND user_id = @user_id AND epoch = @epoch
	RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM set),
	EXISTS (SELECT 1 FROM users WHERE username = @username AND user_id = @user_id)
