-- RemovePasskey: the user's credential and, only if it was there, the
-- messages, in one statement.
WITH removed AS (
	DELETE FROM passkeys WHERE id = @id::text AND user_id = @user_id::text
	RETURNING id
),
mail AS (
	INSERT INTO outbox (id, kind, to_address, user_id, token_id, data, created_at, next_at)
	SELECT m.id, m.kind, m.to_address, m.user_id, m.token_id, m.data::jsonb, m.created_at, m.next_at
	FROM unnest(@m_id::text[], @m_kind::text[], @m_to::text[], @m_user_id::text[], @m_token_id::text[],
		@m_data::text[], @m_created_at::timestamptz[], @m_next_at::timestamptz[])
		AS m (id, kind, to_address, user_id, token_id, data, created_at, next_at)
	WHERE EXISTS (SELECT 1 FROM removed)
	ON CONFLICT (id) DO NOTHING
)
SELECT count(*) FROM removed
