-- GetFactor: the factor hash and its recovery code set, read at once.
-- KEYS[1]: the factor hash, KEYS[2]: the code set.
return {redis.call('HGETALL', KEYS[1]), redis.call('SMEMBERS', KEYS[2])}
