package sessions_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/users"
)

// counting counts every store call.
type counting struct {
	*memory.Store
	n atomic.Int64
}

func (c *counting) RotateSession(ctx context.Context, r sessions.Rotation) (sessions.Session, error) {
	c.n.Add(1)
	return c.Store.RotateSession(ctx, r)
}
func (c *counting) DeleteSession(ctx context.Context, id, userID string) error {
	c.n.Add(1)
	return c.Store.DeleteSession(ctx, id, userID)
}
func (c *counting) DeleteSessionByToken(ctx context.Context, id string, h []byte) error {
	c.n.Add(1)
	return c.Store.DeleteSessionByToken(ctx, id, h)
}

// forge builds, for a session id the attacker knows (the sid claim of any
// access token), a refresh token with a made-up secret and a made-up tag.
func forge(t *testing.T, sessionID string) string {
	id, err := base64.RawURLEncoding.DecodeString(sessionID)
	if err != nil {
		t.Fatal(err)
	}
	rest := make([]byte, 48)
	if _, err := rand.Read(rest); err != nil {
		t.Fatal(err)
	}
	return sessions.TokenPrefix + base64.RawURLEncoding.EncodeToString(append(id, rest...))
}

// TestForgedTokenChangesNothing: an outsider who knows a session id and makes
// up the rest of a refresh token, or holds a token tagged by another server's
// key, is refused before any store call; the session lives on.
func TestForgedTokenChangesNothing(t *testing.T) {
	st := &counting{Store: newStore(t)}
	m := newManager(st, 10*time.Second)
	ctx := context.Background()
	iss := start(t, m)
	next, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := mac.Generate(nil)
	foreign := &sessions.Manager{Store: memory.New(), MAC: mac.Static(other), IdleTTL: time.Hour, MaxTTL: 2 * time.Hour}
	_ = foreign.Store.(*memory.Store).CreateUser(ctx, owner2user())
	theirs, err := foreign.Start(ctx, sessions.Owner{UserID: "usr_1", Username: "alice"}, sessions.Meta{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := sessions.ParseRefreshToken(theirs.RefreshToken)
	tok.SessionID = iss.Session.ID // their valid tag, our victim's id
	for _, c := range []struct{ name, token string }{
		{"made-up secret", forge(t, iss.Session.ID)},
		{"another server's token", theirs.RefreshToken},
		{"another server's tag on the victim's id", tok.String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := st.n.Load()
			if _, err := m.Rotate(ctx, c.token, "", t0.Add(2*time.Minute)); !errors.Is(err, sessions.ErrForged) {
				t.Fatalf("rotate: %v, want ErrForged", err)
			}
			if _, err := m.Revoke(ctx, c.token); !errors.Is(err, sessions.ErrForged) {
				t.Fatalf("revoke: %v, want ErrForged", err)
			}
			if n := st.n.Load() - before; n != 0 {
				t.Fatalf("%d store calls for a forged token, want 0", n)
			}
			if err := m.Check(ctx, iss.Session.ID, t0.Add(2*time.Minute)); err != nil {
				t.Fatalf("the victim's session: %v", err)
			}
		})
	}
	// The victim never noticed.
	if _, err := m.Rotate(ctx, next.RefreshToken, "", t0.Add(3*time.Minute)); err != nil {
		t.Fatalf("the victim's refresh after the forgeries: %v", err)
	}
	// Whereas the genuine superseded token still triggers reuse revocation.
	if _, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Hour)); !errors.Is(err, sessions.ErrReused) {
		t.Fatalf("genuine superseded token: %v, want ErrReused", err)
	}
}

// TestPreviousMACKeyStillVerifies: replacing the server MAC key does not log
// anyone out: tokens tagged with the previous key still refresh.
func TestPreviousMACKeyStillVerifies(t *testing.T) {
	m, st := manager(t, 10*time.Second)
	iss := start(t, m)
	newer, _ := mac.NewKeyring([]byte("a brand new server mac key, 32+ bytes"), ringKey())
	m2 := &sessions.Manager{Store: st, MAC: mac.Static(newer), IdleTTL: m.IdleTTL, MaxTTL: m.MaxTTL, Grace: m.Grace}
	next, err := m2.Rotate(context.Background(), iss.RefreshToken, "", t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("token of the previous key: %v", err)
	}
	nt, _ := sessions.ParseRefreshToken(next.RefreshToken)
	if nt.Genuine(ring) {
		t.Fatal("the new token is still tagged with the old key")
	}
}

func ringKey() []byte { return bytes.Repeat([]byte{7}, 32) }

// TestAbsoluteExpiryAlone: a stored session whose idle expiry lies past its
// absolute expiry (never written by the manager, but the check must not rely
// on that) is dead at its absolute expiry for rotate, list and check.
func TestAbsoluteExpiryAlone(t *testing.T) {
	m, st := manager(t, 10*time.Second)
	ctx := context.Background()
	iss := start(t, m)
	s, _ := st.GetSession(ctx, iss.Session.ID)
	if err := st.DeleteSession(ctx, s.ID, ""); err != nil {
		t.Fatal(err)
	}
	s.ExpiresAt = s.AbsoluteExpiresAt.Add(24 * time.Hour)
	u := owner(t, st)
	s.Epoch = u.Epoch
	if err := st.CreateSession(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	at := s.AbsoluteExpiresAt
	if err := m.Check(ctx, s.ID, at); !errors.Is(err, sessions.ErrExpired) {
		t.Fatalf("check at absolute expiry: %v, want ErrExpired", err)
	}
	if list, err := m.List(ctx, "alice", "usr_1", at); err != nil || len(list) != 0 {
		t.Fatalf("list at absolute expiry: %d sessions, %v", len(list), err)
	}
	if _, err := m.Rotate(ctx, iss.RefreshToken, "", at); !errors.Is(err, sessions.ErrExpired) {
		t.Fatalf("rotate at absolute expiry: %v, want ErrExpired", err)
	}
	if list, _ := m.List(ctx, "alice", "usr_1", at.Add(-time.Second)); len(list) != 1 {
		t.Fatalf("list just before: %d sessions, want 1", len(list))
	}
}

// stalling applies a rotation but loses its answer, as a store that stalled
// past the function's deadline and applied the write late.
type stalling struct {
	*memory.Store
	apply bool // apply the write (late) or not at all
	stall bool
}

func (s *stalling) RotateSession(ctx context.Context, r sessions.Rotation) (sessions.Session, error) {
	if !s.stall {
		return s.Store.RotateSession(ctx, r)
	}
	s.stall = false
	if s.apply {
		_, _ = s.Store.RotateSession(ctx, r)
	}
	return sessions.Session{}, context.DeadlineExceeded
}

// TestOutageLongerThanGrace: a client whose refresh got a 503 (the store
// stalled, then applied the write late) retries with its old token and the
// ticket after the grace window: it keeps its session and gets the token the
// late write stored. A thief replaying the old token after the client moved
// on is still caught.
func TestOutageLongerThanGrace(t *testing.T) {
	for _, apply := range []bool{true, false} {
		name := map[bool]string{true: "write applied late", false: "write never applied"}[apply]
		t.Run(name, func(t *testing.T) {
			st := &stalling{Store: newStore(t), apply: apply, stall: true}
			m := newManager(st, 10*time.Second)
			ctx := context.Background()
			iss := start(t, m)
			first, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Minute))
			if !errors.Is(err, context.DeadlineExceeded) || first.Ticket == "" {
				t.Fatalf("stalled rotation: %v, ticket %q; want a deadline error with a ticket", err, first.Ticket)
			}
			later := t0.Add(time.Minute + 5*m.Grace)
			// Without the ticket, the late retry looks like theft.
			probe := newManager(&stalling{Store: cloneStore(t, st.Store)}, m.Grace)
			if _, err := probe.Rotate(ctx, iss.RefreshToken, "", later); apply && !errors.Is(err, sessions.ErrReused) {
				t.Fatalf("retry without the ticket: %v; the test needs it to be reuse", err)
			}
			retry, err := m.Rotate(ctx, iss.RefreshToken, first.Ticket, later)
			if err != nil {
				t.Fatalf("retry with the ticket after the grace window: %v", err)
			}
			if err := m.Check(ctx, iss.Session.ID, later); err != nil {
				t.Fatalf("session after the retry: %v", err)
			}
			moved, err := m.Rotate(ctx, retry.RefreshToken, "", later.Add(time.Minute))
			if err != nil {
				t.Fatalf("the retried token: %v", err)
			}
			// The thief replays the old token (with or without a ticket) after
			// the client moved on: reuse, the session dies.
			if _, err := m.Rotate(ctx, iss.RefreshToken, "", later.Add(2*time.Minute)); !errors.Is(err, sessions.ErrReused) {
				t.Fatalf("thief's replay: %v, want ErrReused", err)
			}
			if _, err := m.Rotate(ctx, moved.RefreshToken, "", later.Add(3*time.Minute)); !errors.Is(err, sessions.ErrUnknown) {
				t.Fatalf("after reuse the session must be gone: %v", err)
			}
		})
	}
	t.Run("stale ticket after the client moved on", func(t *testing.T) {
		st := &stalling{Store: newStore(t), apply: true, stall: true}
		m := newManager(st, 10*time.Second)
		ctx := context.Background()
		iss := start(t, m)
		first, _ := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Minute))
		retry, err := m.Rotate(ctx, iss.RefreshToken, first.Ticket, t0.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Rotate(ctx, retry.RefreshToken, "", t0.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Rotate(ctx, iss.RefreshToken, first.Ticket, t0.Add(time.Hour)); !errors.Is(err, sessions.ErrReused) {
			t.Fatalf("old token and old ticket after the client moved on: %v, want ErrReused", err)
		}
	})
	t.Run("malformed ticket", func(t *testing.T) {
		m, _ := manager(t, 10*time.Second)
		iss := start(t, m)
		for _, bad := range []string{"x", base64.RawURLEncoding.EncodeToString(make([]byte, 31)), base64.StdEncoding.EncodeToString(make([]byte, 32))} {
			if _, err := m.Rotate(context.Background(), iss.RefreshToken, bad, t0.Add(time.Minute)); !errors.Is(err, sessions.ErrMalformedTicket) {
				t.Fatalf("ticket %q: %v", bad, err)
			}
		}
	})
}

// cloneStore copies what a probe needs: the victim's session as it is now.
func cloneStore(t *testing.T, st *memory.Store) *memory.Store {
	t.Helper()
	c := newStore(t)
	u := owner(t, st)
	for id := range u.Sessions {
		s, err := st.GetSession(context.Background(), id)
		if err != nil {
			continue
		}
		s.Epoch = owner(t, c).Epoch
		if err := c.CreateSession(context.Background(), s, nil); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestStartAfterEpochMoved: a login that read the user before a password
// change or an end-all creates no session.
func TestStartAfterEpochMoved(t *testing.T) {
	ctx := context.Background()
	for _, move := range []struct {
		name string
		do   func(m *sessions.Manager, st *memory.Store) error
	}{
		{"password change", func(_ *sessions.Manager, st *memory.Store) error {
			u, err := st.GetUser(ctx, "alice")
			if err != nil {
				return err
			}
			return st.SetPasswordHash(ctx, "alice", "usr_1", u.Epoch, "new", t0)
		}},
		{"end all", func(m *sessions.Manager, _ *memory.Store) error {
			_, err := m.EndAll(ctx, "alice", "usr_1")
			return err
		}},
	} {
		t.Run(move.name, func(t *testing.T) {
			m, st := manager(t, 10*time.Second)
			read := owner(t, st) // the login reads the user, then checks the password...
			if err := move.do(m, st); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Start(ctx, read, sessions.Meta{}, t0); !errors.Is(err, sessions.ErrStale) {
				t.Fatalf("start with the old epoch: %v, want ErrStale", err)
			}
			if list, _ := m.List(ctx, "alice", "usr_1", t0); len(list) != 0 {
				t.Fatalf("%d sessions exist", len(list))
			}
		})
	}
}

// TestSessionCap: beyond MaxPerUser sessions, a login ends the oldest.
func TestSessionCap(t *testing.T) {
	m, st := manager(t, 10*time.Second)
	m.MaxPerUser = 3
	ctx := context.Background()
	var first []sessions.Issued
	for i := range 5 {
		iss, err := m.Start(ctx, owner(t, st), sessions.Meta{}, t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, iss)
	}
	list, _ := m.List(ctx, "alice", "usr_1", t0.Add(time.Minute))
	if len(list) != 3 || len(owner(t, st).Sessions) != 3 {
		t.Fatalf("%d live, %d listed; want 3", len(list), len(owner(t, st).Sessions))
	}
	for i, iss := range first {
		_, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Minute))
		if gone := errors.Is(err, sessions.ErrUnknown); gone != (i < 2) {
			t.Fatalf("session %d: %v (the two oldest must be gone, the rest alive)", i, err)
		}
	}
}

func owner2user() users.User { return users.User{ID: "usr_1", Username: "alice"} }

// TestStringRefusesMalformedParts: a token whose parts have the wrong sizes
// has no spelling at all.
func TestStringRefusesMalformedParts(t *testing.T) {
	good := sessions.RefreshToken{SessionID: base64.RawURLEncoding.EncodeToString(make([]byte, 16)), Secret: make([]byte, 32), Tag: make([]byte, 16)}
	if good.String() == "" {
		t.Fatal("a well-formed token has no spelling")
	}
	for name, edit := range map[string]func(*sessions.RefreshToken){
		"short session id": func(r *sessions.RefreshToken) { r.SessionID = r.SessionID[:20] },
		"bad session id":   func(r *sessions.RefreshToken) { r.SessionID = "!!!!!!!!!!!!!!!!!!!!!!" },
		"short secret":     func(r *sessions.RefreshToken) { r.Secret = r.Secret[:31] },
		"long tag":         func(r *sessions.RefreshToken) { r.Tag = make([]byte, 17) },
	} {
		tok := good
		edit(&tok)
		if s := tok.String(); s != "" {
			t.Errorf("%s: spelled %q", name, s)
		}
	}
	for _, id := range []string{good.SessionID[:21], good.SessionID + "A", good.SessionID[:21] + "B", "!" + good.SessionID[1:]} {
		if sessions.ValidSessionID(id) {
			t.Errorf("ValidSessionID(%q) = true", id)
		}
	}
	if !sessions.ValidSessionID(good.SessionID) {
		t.Error("a session id of 16 bytes is not valid")
	}
}

// TestUserAgentCutOnARuneBoundary: a long user agent is kept to 256 bytes
// without splitting a multi-byte character.
func TestUserAgentCutOnARuneBoundary(t *testing.T) {
	m, st := manager(t, 10*time.Second)
	ua := strings.Repeat("a", 255) + "é and more" // é is 2 bytes at offsets 255-256
	iss, err := m.Start(context.Background(), owner(t, st), sessions.Meta{UserAgent: ua, IP: strings.Repeat("1", 100)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := iss.Session.UserAgent; got != strings.Repeat("a", 255) {
		t.Fatalf("user agent cut to %q (%d bytes), want the 255 bytes before the split character", got[250:], len(got))
	}
	if len(iss.Session.IP) != 64 {
		t.Fatalf("ip kept at %d bytes, want 64", len(iss.Session.IP))
	}
}

// racing returns a conflict with the session unchanged the first n times (a
// write that lost a race with an update that left the token as it was), then
// applies the rotation.
type racing struct {
	*memory.Store
	n, calls int
}

func (r *racing) RotateSession(ctx context.Context, rot sessions.Rotation) (sessions.Session, error) {
	r.calls++
	if r.calls <= r.n {
		s, err := r.Store.GetSession(ctx, rot.SessionID)
		if err != nil {
			return s, err
		}
		return s, sessions.ErrConflict
	}
	return r.Store.RotateSession(ctx, rot)
}

// TestLostRaceLooksAgainOnce: a conflict on a session whose current token
// is still the presented one is a lost race, not reuse: the manager writes
// again once, and gives up (without revoking) if it loses again.
func TestLostRaceLooksAgainOnce(t *testing.T) {
	ctx := context.Background()
	t.Run("second write applies", func(t *testing.T) {
		st := &racing{Store: newStore(t), n: 1}
		m := newManager(st, 10*time.Second)
		iss := start(t, m)
		if _, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Minute)); err != nil {
			t.Fatalf("rotate after a lost race: %v", err)
		}
		if st.calls != 2 {
			t.Fatalf("%d writes, want 2", st.calls)
		}
	})
	t.Run("lost twice", func(t *testing.T) {
		st := &racing{Store: newStore(t), n: 5}
		m := newManager(st, 10*time.Second)
		iss := start(t, m)
		_, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Minute))
		if !errors.Is(err, sessions.ErrConflict) || errors.Is(err, sessions.ErrReused) {
			t.Fatalf("rotate that keeps losing: %v, want ErrConflict", err)
		}
		if st.calls != 2 {
			t.Fatalf("%d writes, want exactly 2", st.calls)
		}
		if err := m.Check(ctx, iss.Session.ID, t0.Add(time.Minute)); err != nil {
			t.Fatalf("a lost race revoked the session: %v", err)
		}
	})
}

// TestRevokeAllStopsResentAndReplayedRotations: after a revoke-all, neither
// answer Rotate gives without a write of its own (a grace replay of the
// previous token, a re-sent rotation with its ticket) hands out a token for a
// session created before the watermark; a session that has ended since gets
// none either.
func TestRevokeAllStopsResentAndReplayedRotations(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		after func(t *testing.T, m *sessions.Manager, id string) // what happens after the rotation
		want  error
	}{
		{"revoke-all", func(t *testing.T, m *sessions.Manager, _ string) {
			if _, err := m.RevokeAll(ctx, time.Time{}, t0.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}, sessions.ErrRevoked},
		{"logout of the session", func(t *testing.T, m *sessions.Manager, id string) {
			if err := m.Store.DeleteSession(ctx, id, ""); err != nil {
				t.Fatal(err)
			}
		}, sessions.ErrUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := manager(t, 10*time.Second)
			iss := start(t, m)
			first, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			// Before: both paths answer with the successor.
			if got, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Minute+time.Second)); err != nil || got.RefreshToken != first.RefreshToken {
				t.Fatalf("grace replay before: %v", err)
			}
			if got, err := m.Rotate(ctx, iss.RefreshToken, first.Ticket, t0.Add(time.Hour)); err != nil || got.RefreshToken != first.RefreshToken {
				t.Fatalf("re-sent rotation before: %v", err)
			}
			tc.after(t, m, iss.Session.ID)
			if got, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Minute+3*time.Second)); !errors.Is(err, tc.want) || got.RefreshToken != "" {
				t.Errorf("grace replay after %s: token %q, %v; want %v", tc.name, got.RefreshToken, err, tc.want)
			}
			if got, err := m.Rotate(ctx, iss.RefreshToken, first.Ticket, t0.Add(72*time.Hour)); !errors.Is(err, tc.want) || got.RefreshToken != "" {
				t.Errorf("re-sent rotation after %s: token %q, %v; want %v", tc.name, got.RefreshToken, err, tc.want)
			}
		})
	}
}

// TestListLeavesOutRevokedSessions: after a revoke-all, the sessions it ended
// are not listed as live (the user's device list and `rotor sessions list`
// share List); a session started after it is.
func TestListLeavesOutRevokedSessions(t *testing.T) {
	ctx := context.Background()
	m, _ := manager(t, 10*time.Second)
	start(t, m)
	start(t, m)
	if got, err := m.List(ctx, "alice", "usr_1", t0.Add(time.Minute)); err != nil || len(got) != 2 {
		t.Fatalf("before revoke-all: %d sessions, %v; want 2", len(got), err)
	}
	if _, err := m.RevokeAll(ctx, time.Time{}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, err := m.List(ctx, "alice", "usr_1", t0.Add(2*time.Minute)); err != nil || len(got) != 0 {
		t.Fatalf("after revoke-all: %d sessions, %v; want none", len(got), err)
	}
	after, err := m.Start(ctx, owner(t, m.Store.(users.Store)), sessions.Meta{IP: "192.0.2.1"}, t0.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.List(ctx, "alice", "usr_1", t0.Add(4*time.Minute))
	if err != nil || len(got) != 1 || got[0].ID != after.Session.ID {
		t.Fatalf("a session after revoke-all: %+v, %v; want it alone", got, err)
	}
}
