package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// testSuperseded: a session of an older credential epoch than its owner's
// (a password change or a lock moved the epoch; the store failed before the
// session was deleted) never rotates, and never conflicts (which would get a
// grace replay): ErrSuperseded, with the session. A session of the current
// epoch rotates.
func testSuperseded(t *testing.T, st Store) {
	ctx := context.Background()
	moves := []struct {
		name string
		move func(x sessions.Session) error
	}{
		{"password change", func(x sessions.Session) error {
			return st.SetPasswordHash(ctx, x.Username, x.UserID, x.Epoch, "new-hash", t0.Add(time.Minute))
		}},
		{"lock", func(x sessions.Session) error {
			return st.SetLocked(ctx, x.Username, x.UserID, true, t0.Add(time.Minute))
		}},
	}
	for i, m := range moves {
		x := newSession(t, st, "usr_sup"+string(rune('a'+i)))
		if err := st.CreateSession(ctx, x, nil); err != nil {
			t.Fatal(err)
		}
		rot := func(presented []byte) (sessions.Session, error) {
			return st.RotateSession(ctx, sessions.Rotation{
				SessionID: x.ID, PresentedHash: presented, NewHash: random(t, 32), Salt: random(t, 32),
				Now: t0.Add(2 * time.Minute), ExpiresAt: t0.Add(2 * time.Hour),
			})
		}
		got, err := rot(x.TokenHash)
		if err != nil {
			t.Fatalf("%s: rotate before it: %v", m.name, err)
		}
		if err := m.move(x); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if s, err := rot(got.TokenHash); !errors.Is(err, sessions.ErrSuperseded) || s.UserID != x.UserID {
			t.Fatalf("%s: rotate a session of the older epoch: %+v, %v; want ErrSuperseded with the session", m.name, s.UserID, err)
		}
		if s, err := rot(x.TokenHash); !errors.Is(err, sessions.ErrSuperseded) || s.UserID != x.UserID {
			t.Fatalf("%s: a conflicting rotation (the superseded token, a grace replay elsewhere): %+v, %v; want ErrSuperseded, not ErrConflict", m.name, s.UserID, err)
		}
	}
}
