-- DueMessages: waiting messages whose time has come and whose lease (if
-- any) has ended, oldest first (index outbox_due).
SELECT id, kind, to_address, user_id, token_id, data, created_at, next_at, attempts,
	sent_at, failed_at IS NOT NULL, lease_until, last_error
FROM outbox
WHERE sent_at IS NULL AND failed_at IS NULL AND next_at <= @now
	AND (lease_until IS NULL OR lease_until <= @now)
ORDER BY next_at, id
LIMIT @limit
