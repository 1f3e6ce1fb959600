-- UseToken, in one statement. The record, then its user, are locked (FOR
-- UPDATE: a concurrent use or password change is waited for and its result
-- seen); the verdict checks the conditions in the contract's order; only on
-- 'ok' is the record marked used, the user changed by the purpose's effect
-- and the messages inserted. A verified address is claimed by the unique
-- index users_verified_email (a race the verdict could not see fails the
-- statement: unique violation, nothing written). Returns the verdict and
-- the user as written (NULLs unless 'ok'), with its session list.
WITH tok AS (
	SELECT purpose, user_id, username, used_at, expires_at
	FROM onetime_tokens WHERE id = @id::text
	FOR UPDATE
),
usr AS (
	SELECT user_id, epoch, email, pending_email
	FROM users WHERE username = @username::text
	FOR UPDATE
),
verdict AS (
	SELECT CASE
		WHEN NOT EXISTS (SELECT 1 FROM tok WHERE purpose = @purpose::text AND user_id = @user_id::text AND username = @username::text)
			THEN 'not_found'
		WHEN (SELECT used_at FROM tok) IS NOT NULL THEN 'used'
		WHEN (SELECT expires_at FROM tok) <= @now::timestamptz THEN 'expired'
		WHEN NOT EXISTS (SELECT 1 FROM usr WHERE user_id = @user_id::text) THEN 'stale'
		WHEN @purpose::text = 'verify_email' AND (SELECT email FROM usr) IS DISTINCT FROM @email::text THEN 'stale'
		WHEN @purpose::text IN ('email_change', 'password_reset') AND (SELECT epoch FROM usr) <> @epoch::bigint THEN 'stale'
		WHEN @purpose::text = 'email_change' AND (SELECT pending_email FROM usr) IS DISTINCT FROM @email::text THEN 'stale'
		WHEN @purpose::text IN ('verify_email', 'email_change')
			AND EXISTS (SELECT 1 FROM users o WHERE o.email = @email::text AND o.email_verified AND o.username <> @username::text)
			THEN 'email_taken'
		ELSE 'ok'
	END AS v
),
used AS (
	UPDATE onetime_tokens SET used_at = @now::timestamptz
	WHERE id = @id::text AND (SELECT v FROM verdict) = 'ok'
),
written AS (
	UPDATE users u SET
		password_hash       = CASE WHEN @purpose::text = 'password_reset' THEN @password_hash::text ELSE u.password_hash END,
		updated_at          = CASE WHEN @purpose::text = 'password_reset' THEN @now::timestamptz ELSE u.updated_at END,
		password_changed_at = CASE WHEN @purpose::text = 'password_reset' THEN @now::timestamptz ELSE u.password_changed_at END,
		epoch               = u.epoch + CASE WHEN @purpose::text = 'password_reset' THEN 1 ELSE 0 END,
		email               = CASE WHEN @purpose::text = 'email_change' THEN @email::text ELSE u.email END,
		email_verified      = u.email_verified OR @purpose::text IN ('verify_email', 'email_change'),
		email_verified_at   = CASE WHEN @purpose::text IN ('verify_email', 'email_change') THEN @now::timestamptz ELSE u.email_verified_at END,
		pending_email       = CASE WHEN @purpose::text = 'email_change' THEN NULL ELSE u.pending_email END
	WHERE u.username = @username::text AND (SELECT v FROM verdict) = 'ok'
	RETURNING u.*
),
mail AS (
	INSERT INTO outbox (id, kind, to_address, user_id, token_id, data, created_at, next_at)
	SELECT m.id, m.kind, m.to_address, m.user_id, m.token_id, m.data::jsonb, m.created_at, m.next_at
	FROM unnest(@m_id::text[], @m_kind::text[], @m_to::text[], @m_user_id::text[], @m_token_id::text[],
		@m_data::text[], @m_created_at::timestamptz[], @m_next_at::timestamptz[])
		AS m (id, kind, to_address, user_id, token_id, data, created_at, next_at)
	WHERE (SELECT v FROM verdict) = 'ok'
	ON CONFLICT (id) DO NOTHING
)
SELECT v.v,
	w.user_id, w.username, w.password_hash, w.created_at, w.updated_at, w.epoch,
	coalesce(l.ids, '{}'), coalesce(l.created, '{}'), coalesce(w.locked, false), w.password_changed_at,
	w.email, coalesce(w.email_verified, false), w.email_verified_at, w.pending_email
FROM verdict v
LEFT JOIN written w ON true
LEFT JOIN LATERAL (
	SELECT array_agg(s.session_id ORDER BY s.session_id) AS ids,
		array_agg(s.created_at ORDER BY s.session_id) AS created
	FROM sessions s
	WHERE s.user_id = w.user_id
) l ON true
