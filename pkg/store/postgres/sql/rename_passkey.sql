-- RenamePasskey.
UPDATE passkeys SET name = @name::text
WHERE id = @id::text AND user_id = @user_id::text
RETURNING true
