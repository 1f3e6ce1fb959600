-- CreateSession, atomically. KEYS[1]: the owner's hash, KEYS[2]: the owner's
-- session list, KEYS[3]: the new session's hash. ARGV[1]: the prefix of
-- session keys, ARGV[2]: session id, ARGV[3]: owner id, ARGV[4]: the epoch
-- the login read, ARGV[5]: token hash, ARGV[6]: creation (Unix ms, the list's
-- score), ARGV[7]: milliseconds until the session dies, ARGV[8]: n, then n
-- field/value pairs of the session, then the ids to evict.
-- Returns 'ok', 'conflict' (the id holds another session) or 'stale'.
local existing = redis.call('HGET', KEYS[3], 'th')
if existing then
	if existing == ARGV[5] then
		return 'ok' -- our own earlier write: a retried request
	end
	return 'conflict'
end
local owner = redis.call('HMGET', KEYS[1], 'id', 'epoch')
if owner[1] ~= ARGV[3] or owner[2] ~= ARGV[4] then
	return 'stale'
end
local n = tonumber(ARGV[8])
local fields = {}
for i = 9, 8 + 2 * n do
	fields[#fields + 1] = ARGV[i]
end
for i = 9 + 2 * n, #ARGV do
	local key = ARGV[1] .. ARGV[i]
	if redis.call('HGET', key, 'uid') == ARGV[3] then
		redis.call('DEL', key)
	end
	redis.call('ZREM', KEYS[2], ARGV[i])
end
redis.call('HSET', KEYS[3], unpack(fields))
redis.call('PEXPIRE', KEYS[3], ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[2])
return 'ok'
