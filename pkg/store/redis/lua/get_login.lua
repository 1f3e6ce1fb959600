-- GetLogin: what a login reads, at once. KEYS[1]: the user hash, KEYS[2]: its
-- session list, KEYS[3]: the username's failed attempts (known user or not).
return {
	redis.call('HGETALL', KEYS[1]),
	redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES'),
	redis.call('HMGET', KEYS[3], 'n', 'last'),
}
