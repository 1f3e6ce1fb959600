-- SetPasswordHash. KEYS[1]: the user hash. ARGV: user id, new hash, updated
-- (Unix ms), which is also when the password changed (pwat). The epoch moves with the hash, so no login that checked the old
-- password can start a session afterwards. Returns 1, or 0 for a wrong id.
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then
	return 0
end
redis.call('HSET', KEYS[1], 'pw', ARGV[2], 'uat', ARGV[3], 'pwat', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'epoch', 1)
return 1
