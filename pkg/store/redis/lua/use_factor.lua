-- UseFactor, atomically: every condition is checked before anything is
-- written. KEYS[1]: the factor hash, KEYS[2]: its recovery code set,
-- KEYS[3]: the mfa_token record (any key when none), KEYS[4]: the outbox's
-- waiting set, KEYS[5] and on: the hash of each message.
-- ARGV[1..12]: user id, the factor's created (Unix ms), now (Unix ms), the
-- step to accept ('0': none), the code hash to spend (''), the record id
-- (''), confirm ('1'/'0'), replace the codes ('1'/'0'), the new sealed
-- secret (''), remove ('1'/'0'), the id of this call, the number of new
-- codes n; then the n codes; then the 9 arguments of each message (as
-- add_message.lua takes them). Returns 'ok' or a refusal: 'no_factor',
-- 'replayed', 'code_used', 'no_challenge', 'challenge_used',
-- 'challenge_expired', 'enrolled'. A use made by this very call (the client
-- resent the script after its answer was lost) answers 'ok' again.
local f = redis.call('HMGET', KEYS[1], 'cat', 'step', 'conf', 'by')
if f[4] and f[4] == ARGV[11] then
	return 'ok'
end
if not f[1] or f[1] ~= ARGV[2] then
	return 'no_factor'
end
local step = tonumber(ARGV[4])
if step > 0 and tonumber(f[2]) >= step then
	return 'replayed'
end
if ARGV[5] ~= '' and redis.call('SISMEMBER', KEYS[2], ARGV[5]) == 0 then
	return 'code_used'
end
if ARGV[6] ~= '' then
	local c = redis.call('HMGET', KEYS[3], 'uid', 'used', 'exp')
	if not c[1] or c[1] ~= ARGV[1] then
		return 'no_challenge'
	end
	if c[2] then
		return 'challenge_used'
	end
	if tonumber(ARGV[3]) >= tonumber(c[3]) then
		return 'challenge_expired'
	end
end
if ARGV[7] == '1' and f[3] == '1' then
	return 'enrolled'
end
if ARGV[6] ~= '' then
	redis.call('HSET', KEYS[3], 'used', ARGV[3])
end
if ARGV[10] == '1' then
	redis.call('DEL', KEYS[1], KEYS[2])
else
	if step > 0 then
		redis.call('HSET', KEYS[1], 'step', ARGV[4])
	end
	if ARGV[5] ~= '' then
		redis.call('SREM', KEYS[2], ARGV[5])
	end
	if ARGV[7] == '1' then
		redis.call('HSET', KEYS[1], 'conf', '1', 'confat', ARGV[3])
	end
	local n = tonumber(ARGV[12])
	if ARGV[8] == '1' then
		redis.call('DEL', KEYS[2])
		for i = 13, 12 + n do
			redis.call('SADD', KEYS[2], ARGV[i])
		end
	end
	if ARGV[9] ~= '' then
		redis.call('HSET', KEYS[1], 'sealed', ARGV[9])
	end
	redis.call('HSET', KEYS[1], 'by', ARGV[11])
end
local k = 5
for i = 13 + tonumber(ARGV[12]), #ARGV, 9 do
	if redis.call('EXISTS', KEYS[k]) == 0 then
		redis.call('HSET', KEYS[k], 'id', ARGV[i], 'kind', ARGV[i + 1], 'to', ARGV[i + 2], 'user_id', ARGV[i + 3],
			'token_id', ARGV[i + 4], 'data', ARGV[i + 5], 'created_at', ARGV[i + 6], 'next_at', ARGV[i + 7], 'attempts', 0)
		redis.call('PEXPIRE', KEYS[k], ARGV[i + 8])
		redis.call('ZADD', KEYS[4], ARGV[i + 7], ARGV[i])
	end
	k = k + 1
end
return 'ok'
