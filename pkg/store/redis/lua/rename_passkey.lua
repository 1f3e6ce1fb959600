-- RenamePasskey, atomically. KEYS[1]: the credential. ARGV: user id, name.
if redis.call('HGET', KEYS[1], 'uid') ~= ARGV[1] then
	return 'no_credential'
end
redis.call('HSET', KEYS[1], 'name', ARGV[2])
return 'ok'
