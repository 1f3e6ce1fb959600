-- UsePasskeyChallenge, atomically. KEYS[1]: the challenge record. ARGV:
-- ceremony, user id, now (Unix ms), this call's id. Returns {verdict,
-- created, expires}. A resend of the same call (go-redis resends a script
-- whose answer was lost) finds its own id and answers 'ok' again.
local h = redis.call('HMGET', KEYS[1], 'cer', 'uid', 'cat', 'exp', 'used')
if not h[1] or h[1] ~= ARGV[1] or h[2] ~= ARGV[2] then
	return {'no_challenge', '0', '0'}
end
if h[5] then
	if h[5] == ARGV[4] then
		return {'ok', h[3], h[4]}
	end
	return {'used', '0', '0'}
end
if tonumber(h[4]) <= tonumber(ARGV[3]) then
	return {'expired', '0', '0'}
end
redis.call('HSET', KEYS[1], 'used', ARGV[4])
return {'ok', h[3], h[4]}
