-- CreateUser. KEYS[1]: the user hash; KEYS[2]: the skeleton hash (field id:
-- the user with that skeleton). ARGV: user id, password hash, created and
-- updated (Unix ms). Returns the id holding the username or the skeleton:
-- ours when created now or by an earlier try of the same request.
local holder = redis.call('HGET', KEYS[1], 'id')
if holder then
	return holder
end
holder = redis.call('HGET', KEYS[2], 'id')
if holder then
	return holder
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'pw', ARGV[2], 'cat', ARGV[3], 'uat', ARGV[4], 'epoch', '0')
redis.call('HSET', KEYS[2], 'id', ARGV[1])
return ARGV[1]
