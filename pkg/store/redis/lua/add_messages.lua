-- AddMessages, atomically. KEYS[1]: the outbox's waiting set, KEYS[2] and
-- on: the hash of each message. ARGV: the 9 arguments of each message (as
-- add_message.lua takes them). A message already stored is kept (a retry).
local k = 2
for i = 1, #ARGV, 9 do
	if redis.call('EXISTS', KEYS[k]) == 0 then
		redis.call('HSET', KEYS[k], 'id', ARGV[i], 'kind', ARGV[i + 1], 'to', ARGV[i + 2], 'user_id', ARGV[i + 3],
			'token_id', ARGV[i + 4], 'data', ARGV[i + 5], 'created_at', ARGV[i + 6], 'next_at', ARGV[i + 7], 'attempts', 0)
		redis.call('PEXPIRE', KEYS[k], ARGV[i + 8])
		redis.call('ZADD', KEYS[1], ARGV[i + 7], ARGV[i])
	end
	k = k + 1
end
return 1
