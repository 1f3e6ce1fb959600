-- SpendDPoPProof, atomically. KEYS[1]: the proof's replay key. ARGV[1]: when
-- the proof's iat window closes (Unix ms). Returns 'replayed' when the key
-- is already spent and not yet expired.
if redis.call('SET', KEYS[1], '1', 'NX', 'PXAT', ARGV[1]) then
	return 'ok'
end
return 'replayed'
