-- AddMessage (and the flows' transactions): a new waiting message; a row
-- already stored under the id is kept (the write is a retry).
INSERT INTO outbox (id, kind, to_address, user_id, token_id, data, created_at, next_at)
VALUES (@id, @kind, @to_address, @user_id, @token_id, @data::jsonb, @created_at, @next_at)
ON CONFLICT (id) DO NOTHING
