-- DueMessages. KEYS[1]: the waiting set. ARGV: now (ms), the limit (0: no
-- limit), the prefix of message keys. Returns the fields of each waiting
-- message due at now and not leased past it, oldest first, paging past the
-- leased ones; a member whose hash expired is dropped.
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local out, offset, page = {}, 0, 100
while true do
	local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', offset, page)
	for _, id in ipairs(ids) do
		local m = redis.call('HGETALL', ARGV[3] .. id)
		if #m == 0 then
			redis.call('ZREM', KEYS[1], id)
			offset = offset - 1
		else
			local lease = redis.call('HGET', ARGV[3] .. id, 'lease_until')
			if not lease or tonumber(lease) <= now then
				out[#out + 1] = m
				if limit > 0 and #out >= limit then
					return out
				end
			end
		end
	end
	if #ids < page then
		return out
	end
	offset = offset + page
end
