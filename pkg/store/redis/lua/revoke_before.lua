-- RevokeBefore (rotor revoke-all). KEYS[1]: the revocation watermark (Unix
-- ms). ARGV[1]: the new watermark. It only moves forward; returns the one in
-- force. One key, whatever the number of sessions.
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local new = tonumber(ARGV[1])
if new > cur then
	redis.call('SET', KEYS[1], ARGV[1])
	return ARGV[1]
end
return tostring(cur)
