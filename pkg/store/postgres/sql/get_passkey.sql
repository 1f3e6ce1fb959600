-- GetPasskey.
SELECT user_id, name, data, sign_count, backup_state, created_at, last_used_at
FROM passkeys WHERE id = @id::text
