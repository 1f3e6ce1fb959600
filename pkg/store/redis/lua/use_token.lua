-- UseToken, atomically: every condition is checked before anything is
-- written. KEYS[1]: the record's hash, KEYS[2]: the user hash, KEYS[3]: the
-- user's session list, KEYS[4]: the claim of the record's address, KEYS[5]:
-- the outbox's waiting set, KEYS[6] and on: the hash of each message.
-- ARGV[1..9]: purpose, user id, username, now (Unix ms), the record's epoch,
-- the record's address, the new password hash (a reset), the prefix of
-- claim keys, the id of this call; then the 9 arguments of each message (as
-- add_message.lua takes them). Returns {'ok', user fields, list with
-- scores}, or {reason}: 'not_found', 'used', 'expired', 'stale',
-- 'email_taken'. A record used by this very call (the client resent the
-- script after its answer was lost) answers 'ok' again, writing nothing.
local t = redis.call('HMGET', KEYS[1], 'purpose', 'uid', 'name', 'used', 'exp', 'by')
if not t[1] or t[1] ~= ARGV[1] or t[2] ~= ARGV[2] or t[3] ~= ARGV[3] then
	return {'not_found'}
end
if t[4] and t[6] == ARGV[9] then
	return {'ok', redis.call('HGETALL', KEYS[2]), redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')}
end
if t[4] then
	return {'used'}
end
if tonumber(ARGV[4]) >= tonumber(t[5]) then
	return {'expired'}
end
local u = redis.call('HMGET', KEYS[2], 'id', 'epoch', 'email', 'ev', 'pend')
if u[1] ~= ARGV[2] then
	return {'stale'}
end
local function free()
	local owner = redis.call('GET', KEYS[4])
	return not owner or owner == ARGV[3]
end
if ARGV[1] == 'verify_email' then
	if u[3] ~= ARGV[6] then
		return {'stale'}
	end
	if not free() then
		return {'email_taken'}
	end
	redis.call('HSET', KEYS[2], 'ev', '1', 'evat', ARGV[4])
	redis.call('SET', KEYS[4], ARGV[3])
elseif ARGV[1] == 'email_change' then
	if u[2] ~= ARGV[5] or u[5] ~= ARGV[6] then
		return {'stale'}
	end
	if not free() then
		return {'email_taken'}
	end
	if u[4] == '1' and u[3] and u[3] ~= ARGV[6] and redis.call('GET', ARGV[8] .. u[3]) == ARGV[3] then
		redis.call('DEL', ARGV[8] .. u[3])
	end
	redis.call('HSET', KEYS[2], 'email', ARGV[6], 'ev', '1', 'evat', ARGV[4])
	redis.call('HDEL', KEYS[2], 'pend')
	redis.call('SET', KEYS[4], ARGV[3])
elseif ARGV[1] == 'password_reset' then
	if u[2] ~= ARGV[5] then
		return {'stale'}
	end
	redis.call('HSET', KEYS[2], 'pw', ARGV[7], 'uat', ARGV[4], 'pwat', ARGV[4])
	redis.call('HINCRBY', KEYS[2], 'epoch', 1)
else
	return {'not_found'}
end
redis.call('HSET', KEYS[1], 'used', ARGV[4], 'by', ARGV[9])
local k = 6
for i = 10, #ARGV, 9 do
	if redis.call('EXISTS', KEYS[k]) == 0 then
		redis.call('HSET', KEYS[k], 'id', ARGV[i], 'kind', ARGV[i + 1], 'to', ARGV[i + 2], 'user_id', ARGV[i + 3],
			'token_id', ARGV[i + 4], 'data', ARGV[i + 5], 'created_at', ARGV[i + 6], 'next_at', ARGV[i + 7], 'attempts', 0)
		redis.call('PEXPIRE', KEYS[k], ARGV[i + 8])
		redis.call('ZADD', KEYS[5], ARGV[i + 7], ARGV[i])
	end
	k = k + 1
end
return {'ok', redis.call('HGETALL', KEYS[2]), redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')}
