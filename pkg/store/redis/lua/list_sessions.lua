-- ListSessions. KEYS[1]: the user hash, KEYS[2]: its session list. ARGV: the
-- user id, the prefix of session keys. Returns the fields of every listed
-- session that still exists; none when the id is not the user's.
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then
	return {}
end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
	local s = redis.call('HGETALL', ARGV[2] .. id)
	if #s > 0 then
		out[#out + 1] = s
	end
end
return out
