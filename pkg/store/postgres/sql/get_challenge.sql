-- GetChallenge.
SELECT user_id, username, epoch, device, created_at, expires_at, used_at
FROM mfa_tokens WHERE id = @id::text
