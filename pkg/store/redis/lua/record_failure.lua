-- RecordFailure: one atomic increment. KEYS[1]: the username's attempts
-- hash. ARGV: now (Unix ms), milliseconds to keep the record. Returns
-- {failures, last failure (Unix ms)}.
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local last = redis.call('HGET', KEYS[1], 'last')
if not last or tonumber(ARGV[1]) > tonumber(last) then
	redis.call('HSET', KEYS[1], 'last', ARGV[1])
	last = ARGV[1]
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {n, last}
