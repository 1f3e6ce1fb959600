-- GetLogin: what a login reads, at once. KEYS[1]: the user hash, KEYS[2]: its
-- session list, KEYS[3] and on: the attempts hash of each attempt key, in the
-- caller's order. Returns {user fields, list with scores, {{failures, last}...}}.
local attempts = {}
for i = 3, #KEYS do
	attempts[#attempts + 1] = redis.call('HMGET', KEYS[i], 'n', 'last')
end
return {
	redis.call('HGETALL', KEYS[1]),
	redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES'),
	attempts,
}
