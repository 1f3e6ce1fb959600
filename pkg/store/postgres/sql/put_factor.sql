-- PutFactor: a new pending factor, replacing a pending one, never a
-- confirmed one (no row returned then).
INSERT INTO mfa_factors (user_id, sealed, created_at)
VALUES (@user_id::text, @sealed::text, @created_at::timestamptz)
ON CONFLICT (user_id) DO UPDATE SET
	sealed = EXCLUDED.sealed, confirmed = false, created_at = EXCLUDED.created_at,
	confirmed_at = NULL, last_step = 0, codes = '{}'
WHERE NOT mfa_factors.confirmed
RETURNING true
