-- IssueToken, in one statement: on condition that the user @username has
-- the id @user_id and the epoch @epoch (checked on the row as locked, so a
-- concurrent password change is seen) and that the record does not exist
-- yet, set the pending address of a change, insert the record and its
-- messages; a bounded purge (@purge rows, SKIP LOCKED) deletes records a
-- day past their expiry, so the table does not grow. Returns whether the record was inserted, whether it existed
-- (a retried request), and the user's id and epoch as the statement saw them.
WITH owner AS (
	UPDATE users
	SET pending_email = CASE WHEN @purpose::text = 'email_change' THEN @email::text ELSE pending_email END
	WHERE username = @username::text AND user_id = @user_id::text AND epoch = @epoch::bigint
		AND NOT EXISTS (SELECT 1 FROM onetime_tokens WHERE id = @id::text)
	RETURNING user_id
),
token AS (
	INSERT INTO onetime_tokens (id, purpose, user_id, username, epoch, email, created_at, expires_at)
	SELECT @id::text, @purpose::text, @user_id::text, @username::text, @epoch::bigint, @email::text, @created_at::timestamptz, @expires_at::timestamptz
	FROM owner
	RETURNING id
),
purged AS (
	DELETE FROM onetime_tokens
	WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM onetime_tokens
		WHERE expires_at <= @created_at::timestamptz - interval '1 day' AND id <> @id::text
		ORDER BY expires_at LIMIT @purge::integer
		FOR UPDATE SKIP LOCKED
	))
),
mail AS (
	INSERT INTO outbox (id, kind, to_address, user_id, token_id, data, created_at, next_at)
	SELECT m.id, m.kind, m.to_address, m.user_id, m.token_id, m.data::jsonb, m.created_at, m.next_at
	FROM token,
		unnest(@m_id::text[], @m_kind::text[], @m_to::text[], @m_user_id::text[], @m_token_id::text[],
			@m_data::text[], @m_created_at::timestamptz[], @m_next_at::timestamptz[])
		AS m (id, kind, to_address, user_id, token_id, data, created_at, next_at)
	ON CONFLICT (id) DO NOTHING
)
SELECT EXISTS (SELECT 1 FROM token),
	EXISTS (SELECT 1 FROM onetime_tokens WHERE id = @id::text),
	(SELECT user_id FROM users WHERE username = @username::text),
	(SELECT epoch FROM users WHERE username = @username::text)
