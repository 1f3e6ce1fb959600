-- AddPasskey, atomically. KEYS[1]: the credential (hash), KEYS[2]: the
-- user's credential index (sorted set, score created ms), KEYS[3]: the
-- outbox's waiting set, KEYS[4..]: the messages. ARGV: id, user id, name,
-- data, sign count, backup state ('1'/'0'), created (ms), this call's id,
-- then 9 per message. Returns 'exists' when the id is taken (by another
-- call: a resend of this one answers 'ok').
if redis.call('EXISTS', KEYS[1]) == 1 then
	if redis.call('HGET', KEYS[1], 'add') == ARGV[8] then
		return 'ok'
	end
	return 'exists'
end
redis.call('HSET', KEYS[1], 'uid', ARGV[2], 'name', ARGV[3], 'data', ARGV[4], 'cnt', ARGV[5], 'bs', ARGV[6], 'cat', ARGV[7], 'add', ARGV[8])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[1])
local k = 4
for i = 9, #ARGV, 9 do
	if redis.call('EXISTS', KEYS[k]) == 0 then
		redis.call('HSET', KEYS[k], 'id', ARGV[i], 'kind', ARGV[i + 1], 'to', ARGV[i + 2], 'user_id', ARGV[i + 3],
			'token_id', ARGV[i + 4], 'data', ARGV[i + 5], 'created_at', ARGV[i + 6], 'next_at', ARGV[i + 7], 'attempts', 0)
		redis.call('PEXPIRE', KEYS[k], ARGV[i + 8])
		redis.call('ZADD', KEYS[3], ARGV[i + 7], ARGV[i])
	end
	k = k + 1
end
return 'ok'
