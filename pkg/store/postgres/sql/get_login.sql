-- GetLogin: what a login reads, in one round trip and one snapshot: the user
-- (NULLs when unknown), its session list and the username's failed attempts.
SELECT u.user_id, u.username, u.password_hash, u.created_at, u.updated_at, u.epoch,
	coalesce(l.ids, '{}'), coalesce(l.created, '{}'),
	coalesce(a.failures, 0), a.last_failure
FROM (SELECT @username::text AS username) k
LEFT JOIN users u ON u.username = k.username
LEFT JOIN LATERAL (
	SELECT array_agg(s.session_id ORDER BY s.session_id) AS ids,
		array_agg(s.created_at ORDER BY s.session_id) AS created
	FROM sessions s
	WHERE s.user_id = u.user_id
) l ON true
LEFT JOIN login_attempts a ON a.username = k.username
