-- DeleteSessionByToken. KEYS[1]: the session hash. ARGV: a token hash, the
-- prefix of list keys, the session id. Deletes the session when the hash is
-- its current or previous one; returns 1 when deleted.
local s = redis.call('HMGET', KEYS[1], 'th', 'ph', 'name')
if not s[1] or (s[1] ~= ARGV[1] and s[2] ~= ARGV[1]) then
	return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[2] .. s[3], ARGV[3])
return 1
