-- PutFactor, atomically. KEYS[1]: the factor hash, KEYS[2]: its recovery
-- code set. ARGV: user id, sealed secret, created (Unix ms). A confirmed
-- factor is never replaced ('enrolled'); a pending one is.
if redis.call('HGET', KEYS[1], 'conf') == '1' then
	return 'enrolled'
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'sealed', ARGV[2], 'conf', '0', 'cat', ARGV[3], 'step', '0')
return 'ok'
