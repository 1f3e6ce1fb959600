-- GetFactor.
SELECT sealed, confirmed, created_at, confirmed_at, last_step, codes
FROM mfa_factors WHERE user_id = @user_id::text
