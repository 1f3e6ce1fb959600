package authorizer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/sessions"
)

// clock is a fake clock the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestCacheExpiry(t *testing.T) {
	id := authorizer.Identity{UserID: "u", SessionID: "s"}
	key := authorizer.KeyOf("token")
	tests := []struct {
		name     string
		ttl      time.Duration
		exp      time.Duration // token exp, from the time of Put
		at       time.Duration // Get, from the time of Put
		wantFind bool
	}{
		{"within ttl and exp", time.Minute, time.Hour, 59 * time.Second, true},
		{"at ttl", time.Minute, time.Hour, time.Minute, false},
		{"past ttl", time.Minute, time.Hour, 2 * time.Minute, false},
		{"exp before ttl: within exp", time.Hour, 10 * time.Second, 9 * time.Second, true},
		{"exp before ttl: at exp", time.Hour, 10 * time.Second, 10 * time.Second, false},
		{"exp before ttl: past exp", time.Hour, 10 * time.Second, time.Minute, false},
		{"already expired token", time.Hour, -time.Second, 0, false},
		{"ttl zero caches nothing", 0, time.Hour, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &authorizer.Cache{TTL: tc.ttl, Size: 4}
			c.Put(key, id, now.Add(tc.exp), now)
			got, ok := c.Get(key, now.Add(tc.at))
			if ok != tc.wantFind {
				t.Fatalf("Get at +%s = %v, %v; want found=%v", tc.at, got, ok, tc.wantFind)
			}
			if ok && got != id {
				t.Errorf("Get = %+v; want %+v", got, id)
			}
		})
	}
}

func TestCacheBound(t *testing.T) {
	const size = 8
	c := &authorizer.Cache{TTL: time.Hour, Size: size}
	exp := now.Add(time.Hour)
	// A hot token, read between every insertion, must survive the churn:
	// CLOCK keeps what was used since the hand last passed.
	hot := authorizer.KeyOf("hot")
	c.Put(hot, authorizer.Identity{UserID: "hot"}, exp, now)
	for i := range 10 * size {
		c.Put(authorizer.KeyOf(fmt.Sprint("token-", i)), authorizer.Identity{UserID: fmt.Sprint(i)}, exp, now)
		if n := c.Len(); n > size {
			t.Fatalf("after %d insertions the cache holds %d decisions; bound is %d", i+1, n, size)
		}
		if _, ok := c.Get(hot, now); !ok {
			t.Fatalf("hot token evicted after %d insertions", i+1)
		}
	}
	if n := c.Len(); n != size {
		t.Errorf("cache holds %d decisions; want it full at %d", n, size)
	}
	// The latest insertion is there, the first cold ones are gone.
	if id, ok := c.Get(authorizer.KeyOf(fmt.Sprint("token-", 10*size-1)), now); !ok || id.UserID != fmt.Sprint(10*size-1) {
		t.Errorf("latest decision = %+v, %v", id, ok)
	}
	if _, ok := c.Get(authorizer.KeyOf("token-0"), now); ok {
		t.Error("the first cold decision survived 10× the bound of insertions")
	}
}

func TestCacheDefaultSize(t *testing.T) {
	c := &authorizer.Cache{TTL: time.Hour}
	for i := range authorizer.DefaultCacheSize + 100 {
		c.Put(authorizer.KeyOf(fmt.Sprint(i)), authorizer.Identity{}, now.Add(time.Hour), now)
	}
	if n := c.Len(); n != authorizer.DefaultCacheSize {
		t.Errorf("Len = %d; want DefaultCacheSize %d", n, authorizer.DefaultCacheSize)
	}
}

// TestAuthorizerCache runs the cache inside Authorize: a hit skips the
// verification and the session check, within the token's exp and TTL only;
// refusals are never cached.
func TestAuthorizerCache(t *testing.T) {
	f := newFixture(t)
	const ttl = time.Minute
	clk := &clock{t: now}
	checker := &fakeSessions{}
	a := f.authorizer(f.src, checker)
	a.Now = clk.now
	a.Verifier.Now = clk.now
	a.Cache = &authorizer.Cache{TTL: ttl}
	raw := "Bearer " + f.token(t, now) // exp = now + 15m
	ctx := context.Background()

	authorize := func(t *testing.T, wantChecks int) {
		t.Helper()
		id, err := a.Authorize(ctx, raw)
		if err != nil || id.SessionID != subject.SessionID {
			t.Fatalf("Authorize at %s = %+v, %v", clk.t.Sub(now), id, err)
		}
		if len(checker.calls) != wantChecks {
			t.Fatalf("session checks at %s = %d; want %d", clk.t.Sub(now), len(checker.calls), wantChecks)
		}
	}
	authorize(t, 1)          // miss: verified and checked
	clk.t = now.Add(ttl / 2) // hit
	authorize(t, 1)
	clk.t = now.Add(ttl) // the recheck interval is over: strict mode checks again
	authorize(t, 2)
	clk.t = now.Add(ttl + ttl/2)
	authorize(t, 2)

	// A session ended since the last check is refused once the interval is over.
	checker.err = sessions.ErrUnknown
	clk.t = now.Add(2*ttl - time.Second)
	authorize(t, 2) // still cached: the documented staleness bound
	clk.t = now.Add(2 * ttl)
	if _, err := a.Authorize(ctx, raw); !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Fatalf("Authorize after the session ended and the interval passed = %v; want Unauthorized", err)
	}
	// ...and the refusal is not cached: the next call checks again.
	if _, err := a.Authorize(ctx, raw); !errors.Is(err, authorizer.ErrUnauthorized) || len(checker.calls) != 4 {
		t.Fatalf("second call: %v after %d checks; want Unauthorized after 4", err, len(checker.calls))
	}

	// Never past exp: a fresh token cached 30 s before its exp is refused at exp.
	checker.err = nil
	clk.t = now.Add(15*time.Minute - 30*time.Second)
	authorize(t, 5)
	clk.t = now.Add(15 * time.Minute)
	a.Verifier.Leeway = 0 // so the verifier itself refuses at exp
	if _, err := a.Authorize(ctx, raw); !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Fatalf("Authorize at exp = %v; want Unauthorized, not a cached allow", err)
	}
}

// TestAuthorizerCacheRefusalsNotCached: a bad token never enters the cache,
// and a good one does not open it for a forgery of the same claims.
func TestAuthorizerCacheRefusalsNotCached(t *testing.T) {
	f := newFixture(t)
	a := f.authorizer(f.src, nil)
	a.Cache = &authorizer.Cache{TTL: time.Hour}
	ctx := context.Background()
	if _, err := a.Authorize(ctx, "Bearer "+f.token(t, now)); err != nil {
		t.Fatal(err)
	}
	forged := "Bearer " + f.forged(t)
	for range 2 {
		if _, err := a.Authorize(ctx, forged); !errors.Is(err, authorizer.ErrUnauthorized) {
			t.Fatalf("forged token = %v; want Unauthorized", err)
		}
	}
	if n := a.Cache.Len(); n != 1 {
		t.Errorf("cache holds %d decisions; want only the genuine token's", n)
	}
}
