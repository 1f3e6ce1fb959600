-- CreateUser: insert the user, or name the id that already holds the
-- username (the caller tells a retried request from a taken name).
WITH inserted AS (
	INSERT INTO users (username, user_id, password_hash, created_at, updated_at)
	VALUES (@username, @user_id, @password_hash, @created_at, @updated_at)
	ON CONFLICT (username) DO NOTHING
	RETURNING user_id
)
SELECT user_id FROM inserted
UNION ALL
SELECT user_id FROM users WHERE username = @username
LIMIT 1
