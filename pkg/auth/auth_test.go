package auth_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/internal/testlog"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// calls counts the sequential round trips a flow makes: each store call is
// one DynamoDB round trip in production, except that calls made at the same
// time share one. A login gives the guess's slot back (Release) while it
// writes the session (CreateSession): each of the two waits for the other
// to start before going on, so that when the flow makes them concurrently
// they always overlap and count once; made one after the other, the first
// waits in vain (a minute at most), and they count twice.
type calls struct {
	*memory.Store
	n        atomic.Int64
	inflight atomic.Int64
	mu       sync.Mutex
	entered  map[string]chan struct{}
	// alone names the calls a flow makes without their pair (a passkey
	// login writes its session with no guess to give back): they signal
	// their start but wait for nothing.
	alone map[string]bool
}

// call runs f as one store call: a new round trip unless another call is in
// flight. pair names the call it may overlap with (empty: none).
func (c *calls) call(name, pair string, f func()) {
	if c.inflight.Add(1) == 1 {
		c.n.Add(1)
	}
	defer c.inflight.Add(-1)
	if pair != "" {
		ch := c.signal(name)
		select {
		case <-ch:
			// Left closed by a login made outside count: start afresh.
			c.mu.Lock()
			c.entered = nil
			c.mu.Unlock()
			ch = c.signal(name)
		default:
		}
		close(ch)
		if !c.alone[name] {
			select {
			case <-c.signal(pair):
			case <-time.After(time.Minute):
			}
		}
	}
	f()
}

func (c *calls) signal(name string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entered == nil {
		c.entered = map[string]chan struct{}{}
	}
	ch, ok := c.entered[name]
	if !ok {
		ch = make(chan struct{})
		c.entered[name] = ch
	}
	return ch
}

func (c *calls) GetLogin(ctx context.Context, u string, keys []string) (users.User, []throttle.State, error) {
	c.n.Add(1)
	return c.Store.GetLogin(ctx, u, keys)
}
func (c *calls) ReserveLogin(ctx context.Context, u string, cs []throttle.Counter, now time.Time) (users.User, time.Time, throttle.Reservation, error) {
	c.n.Add(1)
	return c.Store.ReserveLogin(ctx, u, cs, now)
}
func (c *calls) Reserve(ctx context.Context, cs []throttle.Counter, now time.Time) (throttle.Reservation, error) {
	c.n.Add(1)
	return c.Store.Reserve(ctx, cs, now)
}
func (c *calls) Release(ctx context.Context, reset, giveBack []string) (err error) {
	c.call("release", "create", func() { err = c.Store.Release(ctx, reset, giveBack) })
	return err
}
func (c *calls) RecordFailure(ctx context.Context, k string, now, exp time.Time) (throttle.State, error) {
	c.n.Add(1)
	return c.Store.RecordFailure(ctx, k, now, exp)
}
func (c *calls) GetUser(ctx context.Context, u string) (users.User, error) {
	c.n.Add(1)
	return c.Store.GetUser(ctx, u)
}
func (c *calls) GetAttempts(ctx context.Context, u string) (throttle.State, error) {
	c.n.Add(1)
	return c.Store.GetAttempts(ctx, u)
}
func (c *calls) ResetAttempts(ctx context.Context, u string) error {
	c.n.Add(1)
	return c.Store.ResetAttempts(ctx, u)
}
func (c *calls) CreateSession(ctx context.Context, s sessions.Session, evict []string) (err error) {
	c.call("create", "release", func() { err = c.Store.CreateSession(ctx, s, evict) })
	return err
}
func (c *calls) RotateSession(ctx context.Context, r sessions.Rotation) (sessions.Session, error) {
	c.n.Add(1)
	return c.Store.RotateSession(ctx, r)
}
func (c *calls) GetSession(ctx context.Context, id string) (sessions.Session, error) {
	c.n.Add(1)
	return c.Store.GetSession(ctx, id)
}
func (c *calls) DeleteSessionByToken(ctx context.Context, id string, h []byte) error {
	c.n.Add(1)
	return c.Store.DeleteSessionByToken(ctx, id, h)
}

// count returns how many sequential round trips f made.
func (c *calls) count(f func()) int64 {
	c.mu.Lock()
	c.entered = nil
	c.mu.Unlock()
	before := c.n.Load()
	f()
	return c.n.Load() - before
}

// TestRoundTrips holds the happy paths to DESIGN.md's budget: login 2 (read
// the user while reserving the guess; write the session while giving the
// guess back), refresh 1 (one conditional update), logout 1.
func TestRoundTrips(t *testing.T) {
	st := &calls{Store: memory.New()}
	cfg := config.Default()
	svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, nil))
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	ctx := context.Background()
	if _, err := svc.Signup(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}

	var (
		p   auth.Pair
		err error
	)
	if n := st.count(func() { p, err = svc.Login(ctx, "alice", "correct horse battery", "", auth.Client{}) }); err != nil || n != 2 {
		t.Fatalf("login: %d store calls (%v), want 2", n, err)
	}
	// On a trusted device too: its counter comes in the same read.
	if n := st.count(func() { p, err = svc.Login(ctx, "alice", "correct horse battery", p.DeviceToken, auth.Client{}) }); err != nil || n != 2 {
		t.Fatalf("login with a device token: %d store calls (%v), want 2", n, err)
	}
	now = now.Add(time.Minute)
	if n := st.count(func() { p, err = svc.Refresh(ctx, p.RefreshToken, "") }); err != nil || n != 1 {
		t.Fatalf("refresh: %d store calls (%v), want 1", n, err)
	}
	if n := st.count(func() { err = svc.Logout(ctx, p.RefreshToken) }); err != nil || n != 1 {
		t.Fatalf("logout: %d store calls (%v), want 1", n, err)
	}
}

// TestDefaultClock: a Service without Now runs on the wall clock, in UTC.
func TestDefaultClock(t *testing.T) {
	cfg := config.Default()
	st := memory.New()
	svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, nil))
	svc.Now = nil
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	if _, err := svc.Signup(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	u, err := st.GetUser(ctx, "alice")
	after := time.Now().Add(time.Second)
	if err != nil || u.CreatedAt.Before(before) || u.CreatedAt.After(after) || u.CreatedAt.Location() != time.UTC {
		t.Fatalf("created at %v (%v), want the wall clock in UTC between %v and %v", u.CreatedAt, err, before, after)
	}
}

// TestThrottleLogRoundsRetryAfter: the login_throttled event tells the
// operator the wait to the nearest second, as the Retry-After header does
// (rounded up there, to the nearest here).
func TestThrottleLogRoundsRetryAfter(t *testing.T) {
	cfg := config.Default()
	cfg.LoginMaxFailures, cfg.LoginBackoffBase = 1, 2*time.Second
	logs := &testlog.Buffer{}
	svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, memory.New(), logs.Logger(slog.LevelInfo)))
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	ctx := context.Background()
	_, _ = svc.Login(ctx, "mallory", "wrong password", "", auth.Client{IP: "192.0.2.9"})
	now = now.Add(400 * time.Millisecond) // 1.6 s left of the 2 s lock
	if _, err := svc.Login(ctx, "mallory", "wrong password", "", auth.Client{IP: "192.0.2.9"}); err == nil {
		t.Fatal("a locked login went through")
	}
	if !strings.Contains(logs.String(), `"retry_after_s":2`) {
		t.Fatalf("want retry_after_s 2 (1.6 s rounded); logs:\n%s", logs.String())
	}
}

// TestThrottleLogNamesEachBlock: after guesses from one IPv6 /48, the
// operator reads in the security log which counter each failure was counted
// under: the username, the address (an IPv4 address or an IPv6 /64: "ip"),
// and the wider IPv6 blocks ("ip56", "ip48"), each its own. A /56 or /48
// logged as a plain "ip" (or the /64 as "ip64") points the block list at the
// wrong range.
func TestThrottleLogNamesEachBlock(t *testing.T) {
	cases := []struct {
		name, ip string
		want     []string
		not      []string
	}{
		{"IPv4", "192.0.2.9", []string{`"user_failures":1`, `"ip_failures":1`}, []string{"ip56", "ip48", "ip64", "ip32"}},
		{"IPv6", "2001:db8:1:2::9", []string{`"user_failures":1`, `"ip_failures":1`, `"ip56_failures":1`, `"ip48_failures":1`}, []string{"ip64"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			logs := &testlog.Buffer{}
			svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, memory.New(), logs.Logger(slog.LevelInfo)))
			if _, err := svc.Login(context.Background(), "mallory", "wrong password", "", auth.Client{IP: tc.ip}); err == nil {
				t.Fatal("a wrong password logged in")
			}
			got := logs.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("log lacks %s:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("log names a counter %s:\n%s", n, got)
				}
			}
		})
	}
}
