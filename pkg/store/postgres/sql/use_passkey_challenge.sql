-- UsePasskeyChallenge: one conditional update. Of two racing uses the
-- second waits for the first's row lock, re-reads used_at and matches
-- nothing. No row: refused (get_passkey_challenge.sql says why).
UPDATE passkey_challenges SET used_at = @now::timestamptz
WHERE hash = @hash::text AND ceremony = @ceremony::text AND user_id = @user_id::text
	AND used_at IS NULL AND expires_at > @now::timestamptz
RETURNING created_at, expires_at
