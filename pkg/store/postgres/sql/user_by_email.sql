-- UserByEmail: the account whose verified address is @email (the unique
-- index users_verified_email), with its session list, as get_user.sql.
SELECT u.user_id, u.username, u.password_hash, u.created_at, u.updated_at, u.epoch,
	coalesce(l.ids, '{}'), coalesce(l.created, '{}'), coalesce(u.locked, false), u.password_changed_at,
	u.email, u.email_verified, u.email_verified_at, u.pending_email
FROM users u
LEFT JOIN LATERAL (
	SELECT array_agg(s.session_id ORDER BY s.session_id) AS ids,
		array_agg(s.created_at ORDER BY s.session_id) AS created
	FROM sessions s
	WHERE s.user_id = u.user_id
) l ON true
WHERE u.email = @email AND u.email_verified
