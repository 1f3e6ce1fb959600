-- SetLocked: the flag, and (when locking) a new credential epoch in the same
-- write, so no login that read the unlocked user can insert a session.
UPDATE users
SET locked = @locked::boolean, updated_at = @updated_at,
	epoch = epoch + CASE WHEN @locked::boolean THEN 1 ELSE 0 END
WHERE username = @username AND user_id = @user_id
