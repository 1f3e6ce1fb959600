package authorizer

import (
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultCacheSize is how many decisions a Cache keeps when Size is not set:
// about 2.5 MB of a 256 MB authorizer.
const DefaultCacheSize = 10_000

// CacheKey names a token in a Cache: its SHA-256, so the cache holds no token.
type CacheKey [sha256.Size]byte

// KeyOf returns the cache key of a raw access token.
func KeyOf(raw string) CacheKey { return sha256.Sum256([]byte(raw)) }

// Cache is a warm container's memory of its own allow decisions, for the
// events API Gateway does not cache itself (REQUEST authorizers without
// identity sources, HTTP API authorizers with caching off) and for requests
// that miss API Gateway's cache. Refusals are never cached. It holds at most
// Size decisions, evicting with the CLOCK algorithm (an approximation of
// least recently used that needs no list). Safe for concurrent use.
//
// TTL bounds how stale a decision may be wherever it is served from: this
// cache, or API Gateway's cache of an answer this cache gave. A gateway node
// that misses its own cache at the last moment of an entry keeps the answer
// GatewayTTL more, so an entry is served only for TTL - GatewayTTL after the
// decision (and never at or past the token's exp): with strict sessions a
// logout is then refused everywhere within TTL of it, and after a key
// rotation no answer outlives the key's removal by more than TTL, however
// many gateway nodes there are. When GatewayTTL >= TTL the cache keeps
// nothing: API Gateway's cache already spends the whole bound.
type Cache struct {
	TTL time.Duration // the staleness bound of a decision; 0 caches nothing
	// GatewayTTL is how long API Gateway may keep an answer of this
	// authorizer (its authorizer result TTL; 0 when it caches nothing).
	GatewayTTL time.Duration
	Size       int // DefaultCacheSize when 0

	mu    sync.Mutex
	index map[CacheKey]int // slot of each cached key
	slots []slot
	hand  int
}

type slot struct {
	key   CacheKey
	id    Identity
	until time.Time
	used  bool // the CLOCK reference bit: read since the hand last passed
	live  bool
}

// Get returns the decision cached for key, if it still stands at now.
func (c *Cache) Get(key CacheKey, now time.Time) (Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[key]
	if !ok {
		return Identity{}, false
	}
	s := &c.slots[i]
	if !now.Before(s.until) {
		delete(c.index, key)
		*s = slot{}
		return Identity{}, false
	}
	s.used = true
	return s.id, true
}

// Put records that key's token was allowed as id at now; the decision
// stands until the token's exp or now+TTL-GatewayTTL, whichever comes first.
func (c *Cache) Put(key CacheKey, id Identity, exp, now time.Time) {
	until := now.Add(c.TTL - c.GatewayTTL)
	if exp.Before(until) {
		until = exp
	}
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.index == nil {
		size := c.Size
		if size <= 0 {
			size = DefaultCacheSize
		}
		c.index = make(map[CacheKey]int, size)
		c.slots = make([]slot, size)
	}
	if i, ok := c.index[key]; ok {
		c.slots[i] = slot{key: key, id: id, until: until, live: true}
		return
	}
	i := c.victim(now)
	if old := &c.slots[i]; old.live {
		delete(c.index, old.key)
	}
	c.slots[i] = slot{key: key, id: id, until: until, live: true}
	c.index[key] = i
}

// victim advances the clock hand to a free, expired or not recently used
// slot and returns it. Each pass clears reference bits, so it stops within
// two turns.
func (c *Cache) victim(now time.Time) int {
	for {
		i := c.hand
		c.hand = (c.hand + 1) % len(c.slots)
		s := &c.slots[i]
		if !s.live || !now.Before(s.until) || !s.used {
			return i
		}
		s.used = false
	}
}

// Len returns how many decisions are held, expired ones included until they
// are found or replaced.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index)
}
