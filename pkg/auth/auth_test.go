package auth_test

import (
	"context"
	"log/slog"
	"strings"
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

// calls counts the store calls a flow makes: each is one DynamoDB round trip
// in production.
type calls struct {
	*memory.Store
	n atomic.Int64
}

func (c *calls) GetLogin(ctx context.Context, u string, keys []string) (users.User, []throttle.State, error) {
	c.n.Add(1)
	return c.Store.GetLogin(ctx, u, keys)
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
func (c *calls) CreateSession(ctx context.Context, s sessions.Session, evict []string) error {
	c.n.Add(1)
	return c.Store.CreateSession(ctx, s, evict)
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

// count returns how many store calls f made.
func (c *calls) count(f func()) int64 {
	before := c.n.Load()
	f()
	return c.n.Load() - before
}

// TestRoundTrips holds the happy paths to DESIGN.md's budget: login 2 (read
// user, write session), refresh 1 (one conditional update), logout 1.
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
