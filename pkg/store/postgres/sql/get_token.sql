-- GetToken: a record by id, used or not, expired or not.
SELECT id, purpose, user_id, username, epoch, email, created_at, expires_at, used_at
FROM onetime_tokens WHERE id = @id
