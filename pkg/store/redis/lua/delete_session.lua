-- DeleteSession. KEYS[1]: the session hash. ARGV: the owner's id (any owner
-- when empty), the prefix of list keys, the session id. Returns 1 when deleted.
local s = redis.call('HMGET', KEYS[1], 'uid', 'name')
if not s[1] or (ARGV[1] ~= '' and s[1] ~= ARGV[1]) then
	return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[2] .. s[2], ARGV[3])
return 1
