-- CreateSession, one statement: insert the session only while its owner
-- still has the epoch the login read (the owner row is locked FOR SHARE, so a
-- concurrent epoch move either waits for this insert and then sees it, or
-- ran first and this finds no owner), delete the evicted sessions, and purge
-- a bounded batch of dead sessions of anyone (SKIP LOCKED: purges never wait
-- on each other). Every login purges up to @purge dead sessions and creates
-- one, so dead rows never pile up faster than they are removed.
WITH owner AS (
	SELECT user_id FROM users
	WHERE username = @username AND user_id = @user_id AND epoch = @epoch
	FOR SHARE
),
existing AS (
	SELECT token_hash FROM sessions WHERE session_id = @session_id
),
evicted AS (
	DELETE FROM sessions
	WHERE session_id = ANY (@evict::text[]) AND user_id = @user_id
		AND EXISTS (SELECT 1 FROM owner) AND NOT EXISTS (SELECT 1 FROM existing)
),
purged AS (
	DELETE FROM sessions
	WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM sessions WHERE dies_at <= @now
		ORDER BY dies_at LIMIT @purge
		FOR UPDATE SKIP LOCKED
	))
),
inserted AS (
	INSERT INTO sessions (session_id, user_id, username, epoch, token_hash, prev_hash, salt, rotated_at, rotations,
	created_at, last_used_at, expires_at, absolute_expires_at, ip, user_agent, amr, auth_time, jkt)
	SELECT @session_id, @user_id, @username, @epoch, @token_hash, @prev_hash, @salt, @rotated_at, @rotations,
		@created_at, @last_used_at, @expires_at, @absolute_expires_at, @ip, @user_agent, @amr::text[], @auth_time::timestamptz, @jkt::text
	FROM owner
	WHERE NOT EXISTS (SELECT 1 FROM existing)
	ON CONFLICT (session_id) DO NOTHING
	RETURNING session_id
)
SELECT EXISTS (SELECT 1 FROM inserted), EXISTS (SELECT 1 FROM owner), (SELECT token_hash FROM existing)
