-- MarkFailed, one statement, as mark_sent.sql: a transient failure waits
-- again until @next_at; a permanent one is given up (failed_at).
WITH marked AS (
	UPDATE outbox SET lease_until = NULL, last_error = @reason, marked_lease = @lease,
		next_at = CASE WHEN @permanent::boolean THEN next_at ELSE @next_at END,
		failed_at = CASE WHEN @permanent::boolean THEN statement_timestamp() END
	WHERE id = @id AND lease_until = @lease AND sent_at IS NULL AND failed_at IS NULL
	RETURNING id
)
SELECT EXISTS (SELECT 1 FROM marked),
	coalesce((SELECT marked_lease = @lease FROM outbox WHERE id = @id), false),
	EXISTS (SELECT 1 FROM outbox WHERE id = @id)
