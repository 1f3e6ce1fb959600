-- IssueToken, atomically. KEYS[1]: the user hash, KEYS[2]: the record's
-- hash, KEYS[3]: the outbox's waiting set, KEYS[4] and on: the hash of each
-- message. ARGV[1]: the user id, ARGV[2]: the epoch the record is bound to,
-- ARGV[3]: the pending address to set ('' for none: not a change),
-- ARGV[4]: the record's lifetime (ms), ARGV[5]: n, then n field/value pairs
-- of the record, then the 9 arguments of each message (as add_message.lua
-- takes them). Returns 'ok' (also when the record exists: a retried
-- request), 'not_found' (no such user id) or 'stale' (the epoch moved).
if redis.call('EXISTS', KEYS[2]) == 1 then
	return 'ok'
end
local u = redis.call('HMGET', KEYS[1], 'id', 'epoch')
if u[1] ~= ARGV[1] then
	return 'not_found'
end
if u[2] ~= ARGV[2] then
	return 'stale'
end
if ARGV[3] ~= '' then
	redis.call('HSET', KEYS[1], 'pend', ARGV[3])
end
local n = tonumber(ARGV[5])
local fields = {}
for i = 6, 5 + 2 * n do
	fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local k = 4
for i = 6 + 2 * n, #ARGV, 9 do
	if redis.call('EXISTS', KEYS[k]) == 0 then
		redis.call('HSET', KEYS[k], 'id', ARGV[i], 'kind', ARGV[i + 1], 'to', ARGV[i + 2], 'user_id', ARGV[i + 3],
			'token_id', ARGV[i + 4], 'data', ARGV[i + 5], 'created_at', ARGV[i + 6], 'next_at', ARGV[i + 7], 'attempts', 0)
		redis.call('PEXPIRE', KEYS[k], ARGV[i + 8])
		redis.call('ZADD', KEYS[3], ARGV[i + 7], ARGV[i])
	end
	k = k + 1
end
return 'ok'
