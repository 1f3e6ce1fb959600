-- CreateUser: insert the user, or name the id that already holds the
-- username or the skeleton (the caller tells a retried request from a taken
-- name: a retry finds its own row under both).
WITH inserted AS (
	INSERT INTO users (username, user_id, password_hash, created_at, updated_at, skeleton)
	VALUES (@username, @user_id, @password_hash, @created_at, @updated_at, @skeleton)
	ON CONFLICT DO NOTHING
	RETURNING user_id
)
SELECT user_id FROM inserted
UNION ALL
SELECT user_id FROM users WHERE username = @username OR skeleton = @skeleton
LIMIT 1
