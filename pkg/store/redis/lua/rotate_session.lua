-- RotateSession: check and swap in one step. KEYS[1]: the session hash,
-- KEYS[2]: the revocation watermark (rotor revoke-all; Unix ms): a session
-- created before it returns {2, fields} and never rotates.
-- ARGV: presented hash, new hash, salt, now (Unix ms), new idle expiry (Unix
-- ms), the prefix of user keys, the thumbprint of the presented DPoP proof's
-- key ('' without one: it must equal the session's 'jkt' field, absent on a
-- bearer session). Returns nil when there is no session, else
-- {1, fields} when rotated or {0, fields as they are} when a condition failed. The key then lives until
-- the session dies: its idle or absolute expiry, whichever comes first.
local s = redis.call('HMGET', KEYS[1], 'th', 'exp', 'abs', 'jkt')
if not s[1] then
	return false
end
local cat = tonumber(redis.call('HGET', KEYS[1], 'cat'))
if cat < tonumber(redis.call('GET', KEYS[2]) or '0') then
	return {2, redis.call('HGETALL', KEYS[1])}
end
-- The owner's record, in the namespace's slot like KEYS (ARGV[6] is its
-- key's prefix, the session names the user): a session of an older
-- credential epoch returns {3, fields} and never rotates.
local owner = redis.call('HMGET', ARGV[6] .. redis.call('HGET', KEYS[1], 'name'), 'id', 'epoch')
if owner[1] ~= redis.call('HGET', KEYS[1], 'uid') or (owner[2] or '0') ~= (redis.call('HGET', KEYS[1], 'epoch') or '0') then
	return {3, redis.call('HGETALL', KEYS[1])}
end
local now, exp = tonumber(ARGV[4]), tonumber(ARGV[5])
local sexp, sabs = tonumber(s[2]), tonumber(s[3])
if s[1] ~= ARGV[1] or (s[4] or '') ~= ARGV[7] or sexp <= now or sabs <= now or sabs < exp then
	return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'ph', s[1], 'th', ARGV[2], 'salt', ARGV[3], 'rat', ARGV[4], 'lat', ARGV[4], 'exp', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'rot', 1)
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(math.min(exp, sabs) - now, 1000)))
return {1, redis.call('HGETALL', KEYS[1])}
