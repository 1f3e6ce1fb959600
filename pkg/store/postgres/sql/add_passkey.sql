-- AddPasskey: the credential (nothing when its id exists) and, only if it
-- was inserted, the messages, in one statement.
WITH added AS (
	INSERT INTO passkeys (id, user_id, name, data, sign_count, backup_state, created_at)
	VALUES (@id::text, @user_id::text, @name::text, @data::bytea, @sign_count::bigint, @backup_state::boolean, @created_at::timestamptz)
	ON CONFLICT (id) DO NOTHING
	RETURNING id
),
mail AS (
	INSERT INTO outbox (id, kind, to_address, user_id, token_id, data, created_at, next_at)
	SELECT m.id, m.kind, m.to_address, m.user_id, m.token_id, m.data::jsonb, m.created_at, m.next_at
	FROM unnest(@m_id::text[], @m_kind::text[], @m_to::text[], @m_user_id::text[], @m_token_id::text[],
		@m_data::text[], @m_created_at::timestamptz[], @m_next_at::timestamptz[])
		AS m (id, kind, to_address, user_id, token_id, data, created_at, next_at)
	WHERE EXISTS (SELECT 1 FROM added)
	ON CONFLICT (id) DO NOTHING
)
SELECT count(*) FROM added
