-- CreateAccount with an address, atomically. KEYS[1]: the user hash,
-- KEYS[2]: the address's claim, KEYS[3]: the verification record's hash,
-- KEYS[4]: the outbox's waiting set, KEYS[5]: the hash of the verification
-- mail, KEYS[6]: the hash of the owner's notice, KEYS[7]: the skeleton
-- hash (as create_user.lua: a look-alike of a taken name is taken). ARGV[1..5]: user id,
-- password hash, created and updated (Unix ms), the address; ARGV[6]: the
-- record's lifetime (ms); ARGV[7]: n, then n field/value pairs of the
-- record; then the 9 arguments of each message (as add_message.lua takes
-- them): the verification mail, the owner's notice (an empty id: none).
-- Returns {the id holding the username or the skeleton, 'ok' or
-- 'email_taken'}: the user is
-- created in both cases, and only on 'ok' the record and the verification
-- mail; on 'email_taken' the notice instead.
local function add(key, i)
	if ARGV[i] == '' or redis.call('EXISTS', key) == 1 then
		return
	end
	redis.call('HSET', key, 'id', ARGV[i], 'kind', ARGV[i + 1], 'to', ARGV[i + 2], 'user_id', ARGV[i + 3],
		'token_id', ARGV[i + 4], 'data', ARGV[i + 5], 'created_at', ARGV[i + 6], 'next_at', ARGV[i + 7], 'attempts', 0)
	redis.call('PEXPIRE', key, ARGV[i + 8])
	redis.call('ZADD', KEYS[4], ARGV[i + 7], ARGV[i])
end

local holder = redis.call('HGET', KEYS[1], 'id')
if holder then
	return {holder, 'ok'} -- taken, or our own earlier write (a retried request)
end
holder = redis.call('HGET', KEYS[7], 'id')
if holder then
	return {holder, 'ok'} -- a look-alike's (ours would hold the username too)
end
redis.call('HSET', KEYS[7], 'id', ARGV[1])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'pw', ARGV[2], 'cat', ARGV[3], 'uat', ARGV[4], 'epoch', '0', 'email', ARGV[5])
local n = tonumber(ARGV[7])
local sent = 8 + 2 * n
if redis.call('EXISTS', KEYS[2]) == 1 then
	add(KEYS[6], sent + 9)
	return {ARGV[1], 'email_taken'}
end
local fields = {}
for i = 8, 7 + 2 * n do
	fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[3], unpack(fields))
redis.call('PEXPIRE', KEYS[3], ARGV[6])
add(KEYS[5], sent)
return {ARGV[1], 'ok'}
