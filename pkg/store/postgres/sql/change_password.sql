-- ChangePassword: SetPasswordHash (set_password_hash.sql) and the notices it
-- carries, in one statement: the messages are inserted only when the hash
-- was set, so a refused or failed change leaves no notice and a change never
-- lands without its notice. Returns whether it was set, and whether the user
-- exists (not set: the epoch moved).
WITH set AS (
	UPDATE users
	SET password_hash = @password_hash, updated_at = @updated_at, password_changed_at = @updated_at,
		epoch = epoch + 1
	WHERE username = @username AND user_id = @user_id AND epoch = @epoch
	RETURNING 1
),
mail AS (
	INSERT INTO outbox (id, kind, to_address, user_id, token_id, data, created_at, next_at)
	SELECT m.id, m.kind, m.to_address, m.user_id, m.token_id, m.data::jsonb, m.created_at, m.next_at
	FROM unnest(@m_id::text[], @m_kind::text[], @m_to::text[], @m_user_id::text[], @m_token_id::text[],
		@m_data::text[], @m_created_at::timestamptz[], @m_next_at::timestamptz[])
		AS m (id, kind, to_address, user_id, token_id, data, created_at, next_at)
	WHERE EXISTS (SELECT 1 FROM set)
	ON CONFLICT (id) DO NOTHING
)
SELECT EXISTS (SELECT 1 FROM set),
	EXISTS (SELECT 1 FROM users WHERE username = @username AND user_id = @user_id)
