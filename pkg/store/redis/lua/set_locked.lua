-- SetLocked (rotor users lock/unlock). KEYS[1]: the user hash. ARGV: user id,
-- 1 to lock or 0 to unlock, updated (Unix ms). Locking moves the epoch in the
-- same step, so no login that read the unlocked user can start a session.
-- Returns 1, or 0 for a wrong id.
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then
	return 0
end
redis.call('HSET', KEYS[1], 'locked', ARGV[2], 'uat', ARGV[3])
if ARGV[2] == '1' then
	redis.call('HINCRBY', KEYS[1], 'epoch', 1)
end
return 1
