-- UsePasskey: one conditional update on the count as read. No row:
-- refused (get_passkey.sql says why).
UPDATE passkeys SET sign_count = @sign_count::bigint, backup_state = @backup_state::boolean, last_used_at = @now::timestamptz
WHERE id = @id::text AND user_id = @user_id::text AND sign_count = @from::bigint
RETURNING true
