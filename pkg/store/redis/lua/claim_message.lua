-- ClaimMessage. KEYS[1]: the message hash, KEYS[2]: the waiting set (kept
-- as it is: due_messages.lua skips leased members). ARGV:
-- the id, now and the lease's end (ms). Returns {status, fields}: status 1
-- leased (the attempt counted), 0 sent, failed or leased past now, -1 unknown.
if redis.call('EXISTS', KEYS[1]) == 0 then
	return {-1}
end
local m = redis.call('HMGET', KEYS[1], 'sent_at', 'failed', 'lease_until')
if m[1] or m[2] or (m[3] and tonumber(m[3]) > tonumber(ARGV[2])) then
	return {0}
end
redis.call('HSET', KEYS[1], 'lease_until', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return {1, redis.call('HGETALL', KEYS[1])}
