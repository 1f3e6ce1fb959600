-- PutPasskeyChallenge, atomically. KEYS[1]: the challenge record (named by
-- the challenge's hash). ARGV: ceremony, user id, created and expires (Unix
-- ms), the record's time to live (ms). Returns 'exists' when the hash is
-- taken.
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 'exists'
end
redis.call('HSET', KEYS[1], 'cer', ARGV[1], 'uid', ARGV[2], 'cat', ARGV[3], 'exp', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 'ok'
