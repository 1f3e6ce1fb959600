-- Why use_passkey_challenge.sql matched nothing (read after it: only the
-- error's name depends on it).
SELECT ceremony, user_id, used_at IS NOT NULL, expires_at
FROM passkey_challenges WHERE hash = @hash::text
