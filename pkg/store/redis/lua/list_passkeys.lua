-- ListPasskeys: the user's credentials, oldest first (ties by id), each
-- as {id, fields}. KEYS[1]: the user's credential index. ARGV[1]: the
-- credential keys' prefix.
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
	local h = redis.call('HGETALL', ARGV[1] .. id)
	if #h > 0 then
		table.insert(out, {id, h})
	end
end
return out
