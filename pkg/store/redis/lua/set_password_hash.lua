-- SetPasswordHash. KEYS[1]: the user hash. ARGV: user id, new hash, updated
-- (Unix ms), which is also when the password changed (pwat), and the epoch
-- the change read. The epoch moves with the hash, so no login that checked
-- the old password can start a session afterwards; and only from the epoch
-- read, so a change that checked replaced credentials never lands. Returns
-- 1, 0 for a wrong id, 2 when the epoch moved.
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then
	return 0
end
if (redis.call('HGET', KEYS[1], 'epoch') or '0') ~= ARGV[4] then
	return 2
end
redis.call('HSET', KEYS[1], 'pw', ARGV[2], 'uat', ARGV[3], 'pwat', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'epoch', 1)
return 1
