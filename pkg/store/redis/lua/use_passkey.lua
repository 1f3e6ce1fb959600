-- UsePasskey, atomically. KEYS[1]: the credential. ARGV: user id, the sign
-- count as read, the new count, backup state, now (ms), this call's id.
-- The count moves only from the one read; a resend of this call (its id
-- recorded) answers 'ok' again.
local h = redis.call('HMGET', KEYS[1], 'uid', 'cnt', 'by')
if not h[1] or h[1] ~= ARGV[1] then
	return 'no_credential'
end
if h[2] ~= ARGV[2] then
	if h[3] == ARGV[6] then
		return 'ok'
	end
	return 'counter_moved'
end
redis.call('HSET', KEYS[1], 'cnt', ARGV[3], 'bs', ARGV[4], 'lat', ARGV[5], 'by', ARGV[6])
return 'ok'
