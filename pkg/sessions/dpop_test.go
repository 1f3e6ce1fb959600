package sessions_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/users"
)

const (
	ownerKey = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	thiefKey = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

// startBound logs alice in with a proof by ownerKey.
func startBound(t *testing.T, m *sessions.Manager, st *memory.Store) sessions.Issued {
	t.Helper()
	iss, err := m.Start(context.Background(), owner(t, st), sessions.Meta{JKT: ownerKey}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if iss.Session.JKT != ownerKey {
		t.Fatalf("session bound to %q, want %q", iss.Session.JKT, ownerKey)
	}
	return iss
}

// A refresh of a bound session without a proof by its key (none, another
// key's) is refused and changes nothing: the session neither rotates nor
// ends, and its owner goes on refreshing. The attacker holds the current
// refresh token, not the key.
func TestRotateBoundSessionNeedsItsKey(t *testing.T) {
	ctx := context.Background()
	m, st := manager(t, 10*time.Second)
	iss := startBound(t, m, st)
	for _, key := range []string{"", thiefKey} {
		_, err := m.RotateWithKey(ctx, iss.RefreshToken, "", key, t0.Add(time.Minute))
		if !errors.Is(err, sessions.ErrKeyMismatch) {
			t.Fatalf("refresh with key %q: %v, want ErrKeyMismatch", key, err)
		}
	}
	// A stolen token with a forged ticket: still the key.
	if _, err := m.RotateWithKey(ctx, iss.RefreshToken, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", thiefKey, t0.Add(time.Minute)); !errors.Is(err, sessions.ErrKeyMismatch) {
		t.Fatalf("refresh with a ticket and another key: %v, want ErrKeyMismatch", err)
	}
	s, err := st.GetSession(ctx, iss.Session.ID)
	if err != nil || s.Rotations != 0 {
		t.Fatalf("after refused refreshes: rotations %d, %v", s.Rotations, err)
	}
	next, err := m.RotateWithKey(ctx, iss.RefreshToken, "", ownerKey, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("owner's refresh: %v", err)
	}
	if next.Session.JKT != ownerKey {
		t.Fatalf("rotated session bound to %q", next.Session.JKT)
	}
	// Inside the grace window the superseded token without the key gets
	// nothing, and ends nothing.
	if _, err := m.RotateWithKey(ctx, iss.RefreshToken, "", thiefKey, t0.Add(2*time.Minute+time.Second)); !errors.Is(err, sessions.ErrKeyMismatch) {
		t.Fatalf("grace replay with another key: %v, want ErrKeyMismatch", err)
	}
	if _, err := m.RotateWithKey(ctx, next.RefreshToken, "", ownerKey, t0.Add(3*time.Minute)); err != nil {
		t.Fatalf("owner's next refresh: %v", err)
	}
}

// The lost response (issue 24): the owner's refresh rotated, the answer never
// arrived; 11 s later (past the 10 s grace window) the owner retries the old
// token with a proof by the session's key and gets the same successor, twice.
// Once the successor is used, the old token is reuse even with the key. A
// retry without the key after the window is reuse, as for a bearer session.
func TestLostResponseWithTheSessionKey(t *testing.T) {
	ctx := context.Background()
	now := t0
	clock := func(d time.Duration) time.Time { now = now.Add(d); return now }
	m, st := manager(t, 10*time.Second)
	login := startBound(t, m, st)
	lost, err := m.RotateWithKey(ctx, login.RefreshToken, "", ownerKey, clock(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		again, err := m.RotateWithKey(ctx, login.RefreshToken, "", ownerKey, clock(11*time.Second))
		if err != nil {
			t.Fatalf("retry %d with the key past the grace window: %v", i, err)
		}
		if again.RefreshToken != lost.RefreshToken || !again.Replayed {
			t.Fatalf("retry %d: another token (replayed %v), want the lost successor", i, again.Replayed)
		}
	}
	// Much later, still the same answer: the rule has no window.
	if again, err := m.RotateWithKey(ctx, login.RefreshToken, "", ownerKey, clock(24*time.Hour)); err != nil || again.RefreshToken != lost.RefreshToken {
		t.Fatalf("retry a day later: %v", err)
	}
	s, _ := st.GetSession(ctx, login.Session.ID)
	if s.Rotations != 1 {
		t.Fatalf("retries rotated: %d rotations, want 1", s.Rotations)
	}
	used, err := m.RotateWithKey(ctx, lost.RefreshToken, "", ownerKey, clock(time.Minute))
	if err != nil {
		t.Fatalf("use the successor: %v", err)
	}
	if _, err := m.RotateWithKey(ctx, login.RefreshToken, "", ownerKey, clock(time.Minute)); !errors.Is(err, sessions.ErrReused) {
		t.Fatalf("old token with the key after the successor was used: %v, want ErrReused", err)
	}
	if _, err := m.RotateWithKey(ctx, used.RefreshToken, "", ownerKey, clock(time.Second)); !errors.Is(err, sessions.ErrUnknown) {
		t.Fatalf("session after reuse: %v, want it ended", err)
	}

	t.Run("without the key", func(t *testing.T) {
		for _, key := range []string{"", thiefKey} {
			m, st := manager(t, 10*time.Second)
			login := startBound(t, m, st)
			next, err := m.RotateWithKey(ctx, login.RefreshToken, "", ownerKey, t0.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.RotateWithKey(ctx, login.RefreshToken, "", key, t0.Add(time.Minute+11*time.Second)); !errors.Is(err, sessions.ErrReused) {
				t.Fatalf("old token with key %q past the window: %v, want ErrReused", key, err)
			}
			if _, err := m.RotateWithKey(ctx, next.RefreshToken, "", ownerKey, t0.Add(2*time.Minute)); !errors.Is(err, sessions.ErrUnknown) {
				t.Fatalf("session after reuse: %v, want it ended", err)
			}
		}
	})
}

// A proof that comes with the refresh of a bearer session is ignored when
// bearer sessions are allowed (ROTOR_DPOP=optional: turning DPoP on logs no
// one out) and refused, changing nothing, when they are not (required).
func TestRotateBearerSessionWithProof(t *testing.T) {
	ctx := context.Background()
	m, _ := manager(t, 10*time.Second)
	iss := start(t, m)
	next, err := m.RotateWithKey(ctx, iss.RefreshToken, "", ownerKey, t0.Add(time.Minute))
	if err != nil || next.Session.JKT != "" {
		t.Fatalf("optional: %v (jkt %q), want a bearer rotation", err, next.Session.JKT)
	}
	m.RefuseBearer = true
	if _, err := m.RotateWithKey(ctx, next.RefreshToken, "", ownerKey, t0.Add(2*time.Minute)); !errors.Is(err, sessions.ErrKeyMismatch) {
		t.Fatalf("required: %v, want ErrKeyMismatch", err)
	}
	s, err := m.Store.(users.Store).GetUser(ctx, "alice")
	if err != nil || len(s.Sessions) != 1 {
		t.Fatalf("session list after a refused refresh: %v", err)
	}
	m.RefuseBearer = false
	if _, err := m.Rotate(ctx, next.RefreshToken, "", t0.Add(3*time.Minute)); err != nil {
		t.Fatalf("the bearer session after the refused refresh: %v", err)
	}
}
