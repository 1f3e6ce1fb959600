-- GetLogin: what a login reads, in one round trip and one snapshot: the user
-- (NULLs when unknown), its session list, and the failed attempts under each
-- attempt key, in the order of @keys (0 failures for a key never seen).
SELECT u.user_id, u.username, u.password_hash, u.created_at, u.updated_at, u.epoch,
	coalesce(l.ids, '{}'), coalesce(l.created, '{}'), coalesce(u.locked, false), u.password_changed_at,
	u.email, coalesce(u.email_verified, false), u.email_verified_at, u.pending_email,
	coalesce(a.failures, '{}'), coalesce(a.last_failures, '{}')
FROM (SELECT @username::text AS username) k
LEFT JOIN users u ON u.username = k.username
LEFT JOIN LATERAL (
	SELECT array_agg(s.session_id ORDER BY s.session_id) AS ids,
		array_agg(s.created_at ORDER BY s.session_id) AS created
	FROM sessions s
	WHERE s.user_id = u.user_id
) l ON true
CROSS JOIN LATERAL (
	SELECT array_agg(coalesce(la.failures, 0) ORDER BY key.n) AS failures,
		array_agg(la.last_failure ORDER BY key.n) AS last_failures
	FROM unnest(@keys::text[]) WITH ORDINALITY AS key (attempt_key, n)
	LEFT JOIN login_attempts la ON la.attempt_key = key.attempt_key
) a
