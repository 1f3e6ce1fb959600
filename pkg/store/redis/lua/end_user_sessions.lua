-- EndUserSessions, atomically. KEYS[1]: the user hash, KEYS[2]: its session
-- list. ARGV: the user id, the prefix of session keys. Moves the epoch,
-- deletes every listed session and the list. Returns how many sessions
-- existed, or -1 when the id is not the user's.
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then
	return -1
end
redis.call('HINCRBY', KEYS[1], 'epoch', 1)
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
	n = n + redis.call('DEL', ARGV[2] .. id)
end
redis.call('DEL', KEYS[2])
return n
