-- Reserve (and ReserveLogin): count a guess before it is checked, at once
-- under every attempt key, unless one of them is locked. ARGV[1]: how many
-- leading keys are a login's reads (0, or 3: the user hash, its session list,
-- the revocation watermark); the other KEYS are attempt hashes. ARGV[2]: now
-- (Unix ms), ARGV[3]: the reservation's id (a resent script finds it on its
-- first key and counts nothing again), then per attempt key: failures before
-- the first lock, first lock (ms), longest lock (ms), how long to keep the
-- record (ms). Returns {ok (1 or 0), {{failures, last}...}, the login's reads}.
local first = tonumber(ARGV[1]) + 1
local now = tonumber(ARGV[2])
local id = ARGV[3]

local function lock_for(n, max, base, cap)
	if n < max then return 0 end
	local d = base
	local i = max
	while i < n and d < cap do
		d = d * 2
		i = i + 1
	end
	if d > cap then d = cap end
	return d
end

local states = {}
local ok = 1
local resent = first <= #KEYS and redis.call('HGET', KEYS[first], 'id') == id
for i = first, #KEYS do
	local p = 4 + (i - first) * 4
	local s = redis.call('HMGET', KEYS[i], 'n', 'last')
	local n, last = tonumber(s[1] or '0'), tonumber(s[2] or '0')
	local lock = lock_for(n, tonumber(ARGV[p]), tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2]))
	if not resent and lock > 0 and now < last + lock then
		ok = 0
	end
	states[#states + 1] = {n, last}
end
if ok == 1 and not resent then
	for i = first, #KEYS do
		local keep = ARGV[4 + (i - first) * 4 + 3]
		local n = redis.call('HINCRBY', KEYS[i], 'n', 1)
		local last = tonumber(redis.call('HGET', KEYS[i], 'last') or '0')
		if now > last then
			last = now
			redis.call('HSET', KEYS[i], 'last', ARGV[2])
		end
		redis.call('HSET', KEYS[i], 'id', id)
		redis.call('PEXPIRE', KEYS[i], keep)
		states[i - first + 1] = {n, last}
	end
end
local reply = {ok, states}
if first > 1 then
	reply[3] = redis.call('HGETALL', KEYS[1])
	reply[4] = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
	reply[5] = redis.call('GET', KEYS[3])
end
return reply
