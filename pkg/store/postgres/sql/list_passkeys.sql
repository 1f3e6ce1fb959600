-- ListPasskeys: oldest first.
SELECT id, name, data, sign_count, backup_state, created_at, last_used_at
FROM passkeys WHERE user_id = @user_id::text
ORDER BY created_at, id
