-- PutChallenge, atomically. KEYS[1]: the mfa_token record. ARGV: user id,
-- username, epoch, device binding, created and expires (Unix ms), the
-- record's time to live (ms). Returns 'exists' when the id is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 'exists'
end
redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'name', ARGV[2], 'epoch', ARGV[3], 'dev', ARGV[4], 'cat', ARGV[5], 'exp', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 'ok'
