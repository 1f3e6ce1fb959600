-- SetPasswordHash: the new hash and a new credential epoch in one write, so
-- no login that checked the old password can insert a session afterwards.
UPDATE users
SET password_hash = @password_hash, updated_at = @updated_at, password_changed_at = @updated_at,
	epoch = epoch + 1
WHERE username = @username AND user_id = @user_id
