-- RemovePasskey, atomically. KEYS[1]: the credential, KEYS[2]: the user's
-- credential index, KEYS[3]: the outbox's waiting set, KEYS[4..]: the
-- messages. ARGV: id, user id, then 9 per message. Returns 'no_credential'
-- when the user has no such credential.
if redis.call('HGET', KEYS[1], 'uid') ~= ARGV[2] then
	return 'no_credential'
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local k = 4
for i = 3, #ARGV, 9 do
	if redis.call('EXISTS', KEYS[k]) == 0 then
		redis.call('HSET', KEYS[k], 'id', ARGV[i], 'kind', ARGV[i + 1], 'to', ARGV[i + 2], 'user_id', ARGV[i + 3],
			'token_id', ARGV[i + 4], 'data', ARGV[i + 5], 'created_at', ARGV[i + 6], 'next_at', ARGV[i + 7], 'attempts', 0)
		redis.call('PEXPIRE', KEYS[k], ARGV[i + 8])
		redis.call('ZADD', KEYS[3], ARGV[i + 7], ARGV[i])
	end
	k = k + 1
end
return 'ok'
