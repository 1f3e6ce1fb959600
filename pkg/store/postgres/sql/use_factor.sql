-- UseFactor, in one statement. The factor, then the mfa_token record, are
-- locked (FOR UPDATE: a concurrent use is waited for and its result seen);
-- the verdict checks the conditions in the contract's order; only on 'ok'
-- is the record marked used, the factor updated (or deleted) and the
-- messages inserted. Of two racing uses of one step, one code or one
-- record, the second sees the first's write and is refused.
WITH f AS (
	SELECT created_at, last_step, codes, confirmed
	FROM mfa_factors WHERE user_id = @user_id::text
	FOR UPDATE
),
ch AS (
	SELECT user_id, used_at, expires_at
	FROM mfa_tokens WHERE id = @challenge::text
	FOR UPDATE
),
verdict AS (
	SELECT CASE
		WHEN NOT EXISTS (SELECT 1 FROM f WHERE created_at = @created_at::timestamptz) THEN 'no_factor'
		WHEN @step::bigint > 0 AND (SELECT last_step FROM f) >= @step::bigint THEN 'replayed'
		WHEN @code::text <> '' AND NOT EXISTS (SELECT 1 FROM f WHERE @code::text = ANY (f.codes)) THEN 'code_used'
		WHEN @challenge::text <> '' AND NOT EXISTS (SELECT 1 FROM ch WHERE user_id = @user_id::text) THEN 'no_challenge'
		WHEN @challenge::text <> '' AND (SELECT used_at FROM ch) IS NOT NULL THEN 'challenge_used'
		WHEN @challenge::text <> '' AND (SELECT expires_at FROM ch) <= @now::timestamptz THEN 'challenge_expired'
		WHEN @confirm::boolean AND (SELECT confirmed FROM f) THEN 'enrolled'
		ELSE 'ok'
	END AS v
),
used AS (
	UPDATE mfa_tokens SET used_at = @now::timestamptz
	WHERE id = @challenge::text AND (SELECT v FROM verdict) = 'ok'
),
removed AS (
	DELETE FROM mfa_factors
	WHERE user_id = @user_id::text AND @remove::boolean AND (SELECT v FROM verdict) = 'ok'
),
written AS (
	UPDATE mfa_factors SET
		last_step    = CASE WHEN @step::bigint > 0 THEN @step::bigint ELSE last_step END,
		codes        = CASE WHEN @set_codes::boolean THEN @codes::text[]
		                    WHEN @code::text <> '' THEN array_remove(codes, @code::text)
		                    ELSE codes END,
		confirmed    = confirmed OR @confirm::boolean,
		confirmed_at = CASE WHEN @confirm::boolean THEN @now::timestamptz ELSE confirmed_at END,
		sealed       = CASE WHEN @sealed::text <> '' THEN @sealed::text ELSE sealed END
	WHERE user_id = @user_id::text AND NOT @remove::boolean AND (SELECT v FROM verdict) = 'ok'
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
SELECT v FROM verdict
