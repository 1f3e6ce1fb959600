-- Reserve (and ReserveLogin), second statement of its batch: refuse when any
-- attempt key is locked at @now (the doubling lock of throttle.Policy:
-- base * 2^(failures - max), at most cap, after max failures), else count a
-- failure at @now under every key; a bounded purge of expired rows of other
-- keys (SKIP LOCKED) keeps the table from growing. With @username it also
-- reads the login's user (NULLs when unknown), its session list and the
-- revocation watermark. Returns ok, the failures and last failures in the
-- order of @keys (after this guess when ok), the watermark, then the user.
WITH k AS (
	SELECT key.attempt_key, key.n, key.max_failures, key.base_ms, key.cap_ms, key.forget_ms,
		coalesce(a.failures, 0) AS failures, a.last_failure
	FROM unnest(@keys::text[], @max_failures::integer[], @base_ms::bigint[], @cap_ms::bigint[], @forget_ms::bigint[])
		WITH ORDINALITY AS key (attempt_key, max_failures, base_ms, cap_ms, forget_ms, n)
	LEFT JOIN login_attempts a ON a.attempt_key = key.attempt_key
),
verdict AS (
	SELECT coalesce(bool_and(
		k.failures < k.max_failures
		OR k.last_failure + least(k.base_ms * power(2::numeric, least(k.failures - k.max_failures, 62)), k.cap_ms) * interval '1 millisecond' <= @now
	), true) AS ok
	FROM k
),
purged AS (
	DELETE FROM login_attempts
	WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM login_attempts WHERE expires_at <= @now AND attempt_key <> ALL (@keys::text[])
		ORDER BY expires_at LIMIT @purge
		FOR UPDATE SKIP LOCKED
	))
),
counted AS (
	INSERT INTO login_attempts AS a (attempt_key, failures, last_failure, expires_at)
	SELECT k.attempt_key, count(*), @now, @now + max(k.forget_ms) * interval '1 millisecond'
	FROM k, verdict
	WHERE verdict.ok
	GROUP BY k.attempt_key
	ON CONFLICT (attempt_key) DO UPDATE
	SET failures = a.failures + excluded.failures,
		last_failure = greatest(a.last_failure, excluded.last_failure),
		expires_at = greatest(a.expires_at, excluded.expires_at)
	RETURNING a.attempt_key, a.failures, a.last_failure
),
states AS (
	SELECT array_agg(coalesce(c.failures, k.failures) ORDER BY k.n) AS failures,
		array_agg(coalesce(c.last_failure, k.last_failure) ORDER BY k.n) AS last_failures
	FROM k LEFT JOIN counted c ON c.attempt_key = k.attempt_key
)
SELECT v.ok, coalesce(s.failures, '{}'), coalesce(s.last_failures, '{}'), (SELECT revoked_before FROM revocation),
	u.user_id, u.username, u.password_hash, u.created_at, u.updated_at, u.epoch,
	coalesce(l.ids, '{}'), coalesce(l.created, '{}'), coalesce(u.locked, false), u.password_changed_at,
	u.email, coalesce(u.email_verified, false), u.email_verified_at, u.pending_email
FROM verdict v
CROSS JOIN states s
LEFT JOIN users u ON u.username = @username::text
LEFT JOIN LATERAL (
	SELECT array_agg(x.session_id ORDER BY x.session_id) AS ids,
		array_agg(x.created_at ORDER BY x.session_id) AS created
	FROM sessions x
	WHERE x.user_id = u.user_id
) l ON true
