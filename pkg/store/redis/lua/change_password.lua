-- ChangePassword: set_password_hash.lua and the notices it carries, in one
-- script: the messages are added only when the hash is set. KEYS[1]: the
-- user hash, KEYS[2]: the outbox's waiting set, KEYS[3] and on: the hash of
-- each message. ARGV: user id, new hash, updated (Unix ms), the epoch the
-- change read, then the 9 arguments of each message (as add_message.lua
-- takes them). Returns 1, 0 for a wrong id, 2 when the epoch moved.
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then
	return 0
end
if (redis.call('HGET', KEYS[1], 'epoch') or '0') ~= ARGV[4] then
	return 2
end
redis.call('HSET', KEYS[1], 'pw', ARGV[2], 'uat', ARGV[3], 'pwat', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'epoch', 1)
local k = 3
for i = 5, #ARGV, 9 do
	if redis.call('EXISTS', KEYS[k]) == 0 then
		redis.call('HSET', KEYS[k], 'id', ARGV[i], 'kind', ARGV[i + 1], 'to', ARGV[i + 2], 'user_id', ARGV[i + 3],
			'token_id', ARGV[i + 4], 'data', ARGV[i + 5], 'created_at', ARGV[i + 6], 'next_at', ARGV[i + 7], 'attempts', 0)
		redis.call('PEXPIRE', KEYS[k], ARGV[i + 8])
		redis.call('ZADD', KEYS[2], ARGV[i + 7], ARGV[i])
	end
	k = k + 1
end
return 1
