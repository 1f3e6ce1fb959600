-- AddMessage (the flows run the same commands inside their own scripts).
-- KEYS[1]: the message hash, KEYS[2]: the waiting set. ARGV: id, kind, to,
-- user id, token id, data (JSON), created_at and next_at (ms), the key's
-- lifetime (ms). A message already stored under the id is kept (a retry).
-- The waiting set's score is next_at.
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'kind', ARGV[2], 'to', ARGV[3], 'user_id', ARGV[4],
	'token_id', ARGV[5], 'data', ARGV[6], 'created_at', ARGV[7], 'next_at', ARGV[8], 'attempts', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[9])
redis.call('ZADD', KEYS[2], ARGV[8], ARGV[1])
return 1
