-- ClaimMessage, one statement: the conditional lease (which counts the
-- attempt), or, when its condition fails, whether the row exists. Racing
-- claims queue on the row lock and re-check the condition on the winner's
-- version, so one wins.
WITH claimed AS (
	UPDATE outbox SET lease_until = @lease, attempts = attempts + 1
	WHERE id = @id AND sent_at IS NULL AND failed_at IS NULL
		AND (lease_until IS NULL OR lease_until <= @now)
	RETURNING id, kind, to_address, user_id, token_id, data, created_at, next_at, attempts,
		sent_at, failed_at IS NOT NULL, lease_until, last_error
)
SELECT true, * FROM claimed
UNION ALL
SELECT false, id, kind, to_address, user_id, token_id, data, created_at, next_at, attempts,
	sent_at, failed_at IS NOT NULL, lease_until, last_error
FROM outbox WHERE id = @id AND NOT EXISTS (SELECT 1 FROM claimed)
