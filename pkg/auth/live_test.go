package auth_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/internal/testlog"
	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/users"
)

// TestOldEpochTokenCannotTouchNewerSessions: a session left behind with an
// older credential epoch than its user's (the password was stored, which
// moved the epoch, but the store failed before the sessions were ended:
// written here into the store directly) cannot list, end or log out the
// user's newer sessions, nor change the password, even with the current
// one; each is 401 invalid_token, logged, and the newer sessions still
// refresh.
func TestOldEpochTokenCannotTouchNewerSessions(t *testing.T) {
	const (
		pw    = "correct horse battery"
		newPW = "a whole new password"
	)
	cfg := config.Default()
	st := memory.New()
	logs := &testlog.Buffer{}
	svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, logs.Logger(slog.LevelInfo)))
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	ctx := context.Background()
	uid, err := svc.Signup(ctx, "alice", pw)
	if err != nil {
		t.Fatal(err)
	}
	old, err := svc.Login(ctx, "alice", pw, "", auth.Client{UserAgent: "thief"})
	if err != nil {
		t.Fatal(err)
	}
	// Half a password change: the new hash and epoch, no end of sessions.
	hash, err := svc.Passwords.Hash(ctx, newPW)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPasswordHash(ctx, "alice", uid, 0, hash, now); err != nil {
		t.Fatal(err)
	}
	if s, _ := st.GetSession(ctx, old.SessionID); s.Epoch != 0 {
		t.Fatalf("the old session's epoch is %d; want 0", s.Epoch)
	}
	if u, _ := st.GetUser(ctx, "alice"); u.Epoch == 0 {
		t.Fatal("the user's epoch did not move")
	}
	now = now.Add(time.Minute)
	var newer []auth.Pair
	for range 2 {
		p, err := svc.Login(ctx, "alice", newPW, "", auth.Client{UserAgent: "owner"})
		if err != nil {
			t.Fatal(err)
		}
		newer = append(newer, p)
	}

	thief := auth.Caller{UserID: uid, Username: "alice", SessionID: old.SessionID}
	cases := []struct {
		name string
		run  func() error
	}{
		{"list sessions", func() error { _, err := svc.ListSessions(ctx, thief); return err }},
		{"end a newer session", func() error { return svc.EndSession(ctx, thief, newer[0].SessionID) }},
		{"end its own session", func() error { return svc.EndSession(ctx, thief, old.SessionID) }},
		{"logout all", func() error { return svc.LogoutAll(ctx, thief) }},
		{"change the password with the current one", func() error { return svc.ChangePassword(ctx, thief, newPW, "the thief's password") }},
		{"change the address with the current password", func() error {
			return svc.ChangeEmail(ctx, thief, newPW, "thief@example.com", auth.Client{})
		}},
		{"resend a verification", func() error { return svc.ResendVerification(ctx, thief, auth.Client{}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if e := apierr.From(err); err == nil || e.Code != apierr.InvalidToken.Code || e.Status != 401 {
				t.Fatalf("got %v; want 401 invalid_token", err)
			}
		})
	}
	if n := strings.Count(logs.String(), `"event":"dead_session_token"`); n != len(cases) {
		t.Errorf("%d dead_session_token events; want %d:\n%s", n, len(cases), logs.String())
	}
	// One event per refusal, in order, naming the route and the reason.
	var routes []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var ev struct {
			Event     string `json:"event"`
			Route     string `json:"route"`
			Reason    string `json:"reason"`
			SessionID string `json:"session_id"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Event != "dead_session_token" {
			continue
		}
		if ev.Reason != "old_epoch" || ev.SessionID != old.SessionID {
			t.Errorf("dead_session_token with reason %q, session %q; want old_epoch, %s", ev.Reason, ev.SessionID, old.SessionID)
		}
		routes = append(routes, ev.Route)
	}
	if want := []string{"list_sessions", "end_session", "logout", "logout_all", "password", "email_change", "email_verify_resend"}; !slices.Equal(routes, want) {
		t.Errorf("dead_session_token routes %v; want %v", routes, want)
	}
	for i, p := range newer {
		if _, err := svc.Refresh(ctx, p.RefreshToken, ""); err != nil {
			t.Fatalf("newer session %d after the old token's attempts: %v", i, err)
		}
	}
	if _, err := svc.Login(ctx, "alice", newPW, "", auth.Client{}); err != nil {
		t.Fatalf("the password changed: %v", err)
	}
	// The owner's own, current session acts as before.
	owner := auth.Caller{UserID: uid, Username: "alice", SessionID: newer[1].SessionID}
	list, err := svc.ListSessions(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range list {
		if v.Current != (v.ID == owner.SessionID) {
			t.Errorf("session %s listed with current=%v; the caller's is %s", v.ID, v.Current, owner.SessionID)
		}
	}
	if err := svc.EndSession(ctx, owner, newer[0].SessionID); err != nil {
		t.Fatalf("the owner ending a session: %v (listed %d)", err, len(list))
	}
}

// TestLiveRefusesEveryDeadSession: each way a session ends (unknown,
// another user's, expired, before the revocation watermark) refuses the
// account routes with 401 invalid_token, and a store failure is not
// mistaken for one.
func TestLiveRefusesEveryDeadSession(t *testing.T) {
	const pw = "correct horse battery"
	cfg := config.Default()
	st := memory.New()
	svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, nil))
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	ctx := context.Background()
	uid, err := svc.Signup(ctx, "alice", pw)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := svc.Signup(ctx, "bobby", pw)
	if err != nil {
		t.Fatal(err)
	}
	a, err := svc.Login(ctx, "alice", pw, "", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		caller auth.Caller
		setup  func()
	}{
		{"unknown session", auth.Caller{UserID: uid, Username: "alice", SessionID: "AAAAAAAAAAAAAAAAAAAAAA"}, nil},
		{"another user's session", auth.Caller{UserID: bob, Username: "bobby", SessionID: a.SessionID}, nil},
		{"another user's name", auth.Caller{UserID: bob, Username: "alice", SessionID: a.SessionID}, nil},
		{"expired session", auth.Caller{UserID: uid, Username: "alice", SessionID: a.SessionID}, func() { now = now.Add(cfg.RefreshTokenTTL + time.Second) }},
		{"session before revoke-all", auth.Caller{UserID: uid, Username: "alice", SessionID: a.SessionID}, func() {
			now = now.Add(-cfg.RefreshTokenTTL)
			if _, err := svc.Sessions.RevokeAll(ctx, time.Time{}, now); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			for _, run := range []func() error{
				func() error { _, err := svc.ListSessions(ctx, tc.caller); return err },
				func() error { return svc.EndSession(ctx, tc.caller, tc.caller.SessionID) },
				func() error { return svc.LogoutAll(ctx, tc.caller) },
				func() error { return svc.ChangePassword(ctx, tc.caller, pw, "a whole new password") },
				// Refused as a dead token before any guess is verified
				// or counted, not as a wrong password.
				func() error { return svc.ChangePassword(ctx, tc.caller, "not the password", pw) },
			} {
				if err := run(); apierr.From(err).Code != apierr.InvalidToken.Code {
					t.Fatalf("got %v; want invalid_token", err)
				}
			}
		})
	}
	if _, err := svc.Login(ctx, "alice", pw, "", auth.Client{}); err != nil {
		t.Fatalf("alice's password changed: %v", err)
	}
}

func (c *calls) GetSessionAndWatermark(ctx context.Context, id string) (sessions.Session, time.Time, error) {
	c.n.Add(1)
	return c.Store.GetSessionAndWatermark(ctx, id)
}
func (c *calls) ListSessions(ctx context.Context, username, userID string) ([]sessions.Session, error) {
	c.n.Add(1)
	return c.Store.ListSessions(ctx, username, userID)
}
func (c *calls) DeleteSession(ctx context.Context, id, userID string) error {
	c.n.Add(1)
	return c.Store.DeleteSession(ctx, id, userID)
}
func (c *calls) EndUserSessions(ctx context.Context, username, userID string) (int, error) {
	c.n.Add(1)
	return c.Store.EndUserSessions(ctx, username, userID)
}
func (c *calls) SetPasswordHash(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time) error {
	c.n.Add(1)
	return c.Store.SetPasswordHash(ctx, username, userID, epoch, hash, now)
}

// TestAccountRoundTrips holds the account routes to the store calls
// docs/ARCHITECTURE.md gives them ("What the account routes cost"): the
// liveness check of the caller's session is one call (the session and the
// watermark together) plus one for the user where the route does not read
// it anyway; listing reads the watermark through it.
func TestAccountRoundTrips(t *testing.T) {
	st := &calls{Store: memory.New()}
	cfg := config.Default()
	svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, nil))
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	ctx := context.Background()
	const pw = "correct horse battery"
	if _, err := svc.Signup(ctx, "alice", pw); err != nil {
		t.Fatal(err)
	}
	var ps []auth.Pair
	for range 4 {
		p, err := svc.Login(ctx, "alice", pw, "", auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	caller := func(p auth.Pair) auth.Caller {
		return auth.Caller{UserID: p.UserID, Username: "alice", SessionID: p.SessionID}
	}
	steps := []struct {
		name string
		want int64
		run  func() error
	}{
		// check (session + watermark), user, list
		{"GET /auth/sessions", 3, func() error { _, err := svc.ListSessions(ctx, caller(ps[0])); return err }},
		// check, user, delete
		{"DELETE /auth/sessions/{id}", 3, func() error { return svc.EndSession(ctx, caller(ps[0]), ps[1].SessionID) }},
		{"bearer logout", 3, func() error { return svc.EndSession(ctx, caller(ps[2]), ps[2].SessionID) }},
		// user, check, throttle read, new hash, end all
		{"POST /auth/password", 5, func() error { return svc.ChangePassword(ctx, caller(ps[0]), pw, "a whole new password") }},
	}
	for _, s := range steps {
		var err error
		if n := st.count(func() { err = s.run() }); err != nil || n != s.want {
			t.Fatalf("%s: %d store calls (%v), want %d", s.name, n, err, s.want)
		}
	}
	p, err := svc.Login(ctx, "alice", "a whole new password", "", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	// check, user, end all
	if n := st.count(func() { err = svc.LogoutAll(ctx, caller(p)) }); err != nil || n != 3 {
		t.Fatalf("bearer logout all: %d store calls (%v), want 3", n, err)
	}
}

// failing fails one store read with a timeout.
type failing struct {
	*memory.Store
	read string // "session" or "user"
}

func (f *failing) GetSessionAndWatermark(ctx context.Context, id string) (sessions.Session, time.Time, error) {
	if f.read == "session" {
		return sessions.Session{}, time.Time{}, context.DeadlineExceeded
	}
	return f.Store.GetSessionAndWatermark(ctx, id)
}

func (f *failing) GetUser(ctx context.Context, name string) (users.User, error) {
	if f.read == "user" {
		return users.User{}, context.DeadlineExceeded
	}
	return f.Store.GetUser(ctx, name)
}

// TestLiveStoreFailureIsNotADeadSession: when the store cannot tell whether
// the caller's session is alive, the answer is 503 (try again), never 401
// (which would tell the client its session has ended).
func TestLiveStoreFailureIsNotADeadSession(t *testing.T) {
	const pw = "correct horse battery"
	for _, read := range []string{"session", "user"} {
		t.Run(read, func(t *testing.T) {
			st := &failing{Store: memory.New()}
			cfg := config.Default()
			svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, nil))
			ctx := context.Background()
			if _, err := svc.Signup(ctx, "alice", pw); err != nil {
				t.Fatal(err)
			}
			p, err := svc.Login(ctx, "alice", pw, "", auth.Client{})
			if err != nil {
				t.Fatal(err)
			}
			c := auth.Caller{UserID: p.UserID, Username: "alice", SessionID: p.SessionID}
			st.read = read
			for name, run := range map[string]func() error{
				"list":       func() error { _, err := svc.ListSessions(ctx, c); return err },
				"end":        func() error { return svc.EndSession(ctx, c, c.SessionID) },
				"logout all": func() error { return svc.LogoutAll(ctx, c) },
			} {
				if err := run(); apierr.From(err).Code != apierr.Unavailable.Code {
					t.Errorf("%s: %v; want temporarily_unavailable", name, err)
				}
			}
			if read == "session" {
				// The password change reads the user itself, then the session.
				if err := svc.ChangePassword(ctx, c, pw, "a whole new password"); apierr.From(err).Code != apierr.Unavailable.Code {
					t.Errorf("password: %v; want temporarily_unavailable", err)
				}
			}
		})
	}
}
