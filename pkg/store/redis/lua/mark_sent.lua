-- MarkSent. KEYS[1]: the message hash, KEYS[2]: the waiting set. ARGV: the
-- id, the lease, now (ms). Returns 1 marked (or this very mark resent after
-- a lost answer), 0 the lease is not the message's or it does not wait,
-- -1 unknown.
if redis.call('EXISTS', KEYS[1]) == 0 then
	return -1
end
local m = redis.call('HMGET', KEYS[1], 'sent_at', 'failed', 'lease_until', 'marked_lease')
if m[1] or m[2] or m[3] ~= ARGV[2] then
	if m[4] == ARGV[2] then
		return 1
	end
	return 0
end
redis.call('HSET', KEYS[1], 'sent_at', ARGV[3], 'marked_lease', ARGV[2])
redis.call('HDEL', KEYS[1], 'lease_until', 'last_error')
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
