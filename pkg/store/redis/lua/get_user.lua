-- GetUser. KEYS[1]: the user hash, KEYS[2]: the user's session list (a
-- sorted set: session id scored by creation, Unix ms). Returns both, read
-- together: {user fields, list with scores}; an empty first part when unknown.
return {redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')}
