-- UserByEmail. KEYS[1]: the address's claim. ARGV: the prefix of user
-- hashes, the prefix of session lists. Returns {username, user fields, list
-- with scores} of the claim's holder, or {} when nobody claims the address.
local name = redis.call('GET', KEYS[1])
if not name then
	return {}
end
return {name, redis.call('HGETALL', ARGV[1] .. name), redis.call('ZRANGE', ARGV[2] .. name, 0, -1, 'WITHSCORES')}
