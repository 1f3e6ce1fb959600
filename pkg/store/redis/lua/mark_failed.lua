-- MarkFailed. KEYS[1]: the message hash, KEYS[2]: the waiting set. ARGV: the
-- id, the lease, next_at (ms), "1" when permanent, the reason. Returns as
-- mark_sent.lua; a transient failure waits again until next_at, a permanent
-- one leaves the waiting set.
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
redis.call('HSET', KEYS[1], 'last_error', ARGV[5], 'marked_lease', ARGV[2])
redis.call('HDEL', KEYS[1], 'lease_until')
if ARGV[4] == '1' then
	redis.call('HSET', KEYS[1], 'failed', '1')
	redis.call('ZREM', KEYS[2], ARGV[1])
else
	redis.call('HSET', KEYS[1], 'next_at', ARGV[3])
	redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 1
