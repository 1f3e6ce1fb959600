-- GetSessionAndWatermark. KEYS[1]: the session hash, KEYS[2]: the revocation
-- watermark. Returns {session fields (empty when unknown), watermark or false}.
return {redis.call('HGETALL', KEYS[1]), redis.call('GET', KEYS[2])}
