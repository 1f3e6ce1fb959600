-- Release: a guess that needs no counting. ARGV[1]: how many leading KEYS
-- are reset (deleted); every other key gives back one slot (never below 0).
-- ARGV[2]: the release's id: a key already carrying it was given back by an
-- earlier send of this script, and is not given back twice.
local reset = tonumber(ARGV[1])
for i = 1, #KEYS do
	if i <= reset then
		redis.call('DEL', KEYS[i])
	elseif redis.call('HGET', KEYS[i], 'rel') ~= ARGV[2] and tonumber(redis.call('HGET', KEYS[i], 'n') or '0') > 0 then
		redis.call('HINCRBY', KEYS[i], 'n', -1)
		redis.call('HSET', KEYS[i], 'rel', ARGV[2])
	end
end
return 1
