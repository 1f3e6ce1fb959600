-- CreateAccount with an address, in one statement: insert the user with
-- its address (unverified) and its username's skeleton (unique like the
-- username: a look-alike of a taken name is refused by the same INSERT); when the address is no account's verified one,
-- the verification record and its mail (@sent_*), else the owner's notice
-- (@taken_*, none when its id is empty). Returns the id holding the
-- username or the skeleton (ours when inserted now or by an earlier try of the same
-- request; nothing else is written then) and whether the address is taken.
WITH inserted AS (
	INSERT INTO users (username, user_id, password_hash, created_at, updated_at, email, skeleton)
	VALUES (@username::text, @user_id::text, @password_hash::text, @created_at::timestamptz, @updated_at::timestamptz, @email::text, @skeleton::text)
	ON CONFLICT DO NOTHING
	RETURNING user_id
),
claimed AS (
	SELECT EXISTS (SELECT 1 FROM users WHERE email = @email::text AND email_verified) AS taken
),
token AS (
	INSERT INTO onetime_tokens (id, purpose, user_id, username, epoch, email, created_at, expires_at)
	SELECT @token_id::text, @purpose::text, @user_id::text, @username::text, 0, @email::text, @token_created_at::timestamptz, @expires_at::timestamptz
	FROM inserted, claimed
	WHERE NOT claimed.taken
),
mail AS (
	INSERT INTO outbox (id, kind, to_address, user_id, token_id, data, created_at, next_at)
	SELECT m.id, m.kind, m.to_address, m.user_id, m.token_id, m.data::jsonb, m.created_at, m.next_at
	FROM inserted, claimed,
		unnest(@m_id::text[], @m_kind::text[], @m_to::text[], @m_user_id::text[], @m_token_id::text[],
			@m_data::text[], @m_created_at::timestamptz[], @m_next_at::timestamptz[], @m_taken::boolean[])
		AS m (id, kind, to_address, user_id, token_id, data, created_at, next_at, taken)
	WHERE m.taken = claimed.taken AND m.id <> ''
	ON CONFLICT (id) DO NOTHING
)
SELECT i.user_id, c.taken FROM inserted i, claimed c
UNION ALL
SELECT u.user_id, false FROM users u WHERE u.username = @username::text OR u.skeleton = @skeleton::text
LIMIT 1
