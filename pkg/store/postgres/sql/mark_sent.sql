-- MarkSent, one statement: the update under the lease; when it does not
-- apply, whether the row exists and whether this very mark was applied
-- already (a resend after a lost answer).
WITH marked AS (
	UPDATE outbox SET sent_at = @now, lease_until = NULL, last_error = '', marked_lease = @lease
	WHERE id = @id AND lease_until = @lease AND sent_at IS NULL AND failed_at IS NULL
	RETURNING id
)
SELECT EXISTS (SELECT 1 FROM marked),
	coalesce((SELECT marked_lease = @lease FROM outbox WHERE id = @id), false),
	EXISTS (SELECT 1 FROM outbox WHERE id = @id)
