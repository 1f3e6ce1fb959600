package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// What follows is for the tests of a store on a server (PostgreSQL, Redis):
// the design's round-trip budget counted at the wire, and durability
// across a crash of the server.

// Manager is a session manager on st under ring, with an hour's idle and a
// day's absolute lifetime and a 10 s grace window.
func Manager(st sessions.Store, ring mac.Keyring) *sessions.Manager {
	return &sessions.Manager{Store: st, MAC: mac.Static(ring), IdleTTL: time.Hour, MaxTTL: 24 * time.Hour, Grace: 10 * time.Second}
}

// Owner creates the user name on st and returns it as a login reads it: the
// owner of the sessions a test starts.
func Owner(t testing.TB, st Store, name string) sessions.Owner {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	if err := st.CreateUser(ctx, users.User{ID: "usr_" + name, Username: name, PasswordHash: "$argon2id$x", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	u, _, err := st.GetLogin(ctx, name, []string{throttle.UserKey(name)})
	if err != nil {
		t.Fatal(err)
	}
	return sessions.Owner{UserID: u.ID, Username: u.Username, Epoch: u.Epoch, Sessions: u.Sessions}
}

// RoundTrips holds st to the design's budget; sent returns the round trips
// st made to its server since sent was last called, counted at the wire. A
// signup and a login's read are two, the session's write one, a refresh
// one, a grace replay (the losing side of a race) one, a logout one; a
// login's reservation with its read one, giving the guess back one; for
// the account routes (docs/ARCHITECTURE.md), the check of the caller's
// session (with the watermark) one, the user's read one, the list one,
// ending one session one, ending them all one.
func RoundTrips(t *testing.T, st Store, sent func() int64) {
	t.Helper()
	ctx := context.Background()
	m := Manager(st, newRing(t))
	now := time.Now()

	sent()
	o := Owner(t, st, "alice") // CreateUser, then GetLogin
	if got := sent(); got != 2 {
		t.Fatalf("signup and login read: %d round trips, want 2", got)
	}
	// The login's store operation proper: the guess reserved under its
	// counters with the user and the watermark read, one round trip; a right
	// password gives the guess back, one more (sent with the session write).
	counters := []throttle.Counter{
		{Key: throttle.UserKey("alice"), Policy: throttle.Policy{MaxFailures: 5, Base: time.Second, Max: time.Minute}},
		{Key: throttle.IPKey("203.0.113.1"), Policy: throttle.Policy{MaxFailures: 20, Base: time.Second, Max: time.Minute}},
	}
	if _, _, r, err := st.ReserveLogin(ctx, "alice", counters, now); err != nil || !r.OK {
		t.Fatalf("reserve login: %+v, %v", r, err)
	}
	if got := sent(); got != 1 {
		t.Fatalf("login reservation and read: %d round trips, want 1", got)
	}
	if err := st.Release(ctx, []string{counters[0].Key}, []string{counters[1].Key}); err != nil {
		t.Fatal(err)
	}
	if got := sent(); got != 1 {
		t.Fatalf("giving the guess back: %d round trips, want 1", got)
	}
	iss, err := m.Start(ctx, o, sessions.Meta{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := sent(); got != 1 {
		t.Fatalf("session write: %d round trips, want 1", got)
	}
	other, err := m.Start(ctx, o, sessions.Meta{}, now)
	if err != nil {
		t.Fatal(err)
	}
	sent()
	var before time.Time
	steps := []struct {
		name string
		run  func() error
	}{
		{"refresh", func() error { _, err := m.Rotate(ctx, iss.RefreshToken, "", now.Add(time.Second)); return err }},
		{"grace replay", func() error {
			r, err := m.Rotate(ctx, iss.RefreshToken, "", now.Add(2*time.Second))
			if err == nil && !r.Replayed {
				t.Fatal("not a replay")
			}
			iss = r
			return err
		}},
		{"account check", func() error {
			_, before, err = m.Live(ctx, o.UserID, iss.Session.ID, now.Add(3*time.Second))
			return err
		}},
		{"account user read", func() error { _, err := st.GetUser(ctx, o.Username); return err }},
		{"list sessions", func() error {
			l, err := m.ListWithWatermark(ctx, o.Username, o.UserID, before, now.Add(3*time.Second))
			if err == nil && len(l) != 2 {
				t.Fatalf("listed %d sessions, want 2", len(l))
			}
			return err
		}},
		{"end one session", func() error { return m.End(ctx, o.UserID, other.Session.ID) }},
		{"logout", func() error { _, err := m.Revoke(ctx, iss.RefreshToken); return err }},
		{"end all sessions", func() error { _, err := m.EndAll(ctx, o.Username, o.UserID); return err }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := sent(); got != 1 {
			t.Fatalf("%s: %d round trips, want 1", s.name, got)
		}
	}
}

// AnsweredRefreshSurvives runs a chain of answered refreshes on st, then
// crash, which kills st's server with SIGKILL, restarts it on the same
// directory and returns the store to read through from then on. The last
// answered rotation must be there: the token it handed out still refreshes.
func AnsweredRefreshSurvives(t *testing.T, st Store, crash func() Store) {
	t.Helper()
	ctx := context.Background()
	ring := newRing(t)
	m := Manager(st, ring)
	now := time.Now()
	iss, err := m.Start(ctx, Owner(t, st, "crash"), sessions.Meta{}, now)
	if err != nil {
		t.Fatal(err)
	}
	const chain = 25
	for i := range chain {
		if iss, err = m.Rotate(ctx, iss.RefreshToken, "", now.Add(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	m = Manager(crash(), ring)
	s, err := m.Store.GetSession(ctx, iss.Session.ID)
	if err != nil || s.Rotations != chain {
		t.Fatalf("after kill -9 and restart: rotations %d, %v; want %d", s.Rotations, err, chain)
	}
	if _, err := m.Rotate(ctx, iss.RefreshToken, "", now.Add(time.Minute)); err != nil {
		t.Fatalf("the last answered refresh token after the crash: %v", err)
	}
}

func newRing(t testing.TB) mac.Keyring {
	ring, err := mac.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}
