package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// testSuperseded: a session of an older credential epoch than its owner's
// (a password change or a lock moved the epoch) never rotates, and never
// conflicts (which would get a grace replay). A store either keeps such a
// session and refuses it (ErrSuperseded, with the session: the end-all that
// follows may fail) or deletes it in the very write that moves the epoch
// (ErrNotFound, and the session is gone: DynamoDB, whose refresh reads no
// owner). A session of the current epoch rotates. The same holds for a
// session bound to a DPoP key, rotated with that key (the lost-response
// rule answers a conflict of such a session whatever its age, so a
// conflict instead of ErrSuperseded would resurrect it).
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
	for i, m := range append(moves, moves...) {
		x := newSession(t, st, "usr_sup"+string(rune('a'+i)))
		if i >= len(moves) {
			x.JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
			m.name += " (a session bound to a DPoP key)"
		}
		if err := st.CreateSession(ctx, x, nil); err != nil {
			t.Fatal(err)
		}
		rot := func(presented []byte) (sessions.Session, error) {
			return st.RotateSession(ctx, sessions.Rotation{
				SessionID: x.ID, PresentedHash: presented, NewHash: random(t, 32), Salt: random(t, 32),
				Now: t0.Add(2 * time.Minute), ExpiresAt: t0.Add(2 * time.Hour), JKT: x.JKT,
			})
		}
		got, err := rot(x.TokenHash)
		if err != nil {
			t.Fatalf("%s: rotate before it: %v", m.name, err)
		}
		if err := m.move(x); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if s, err := rot(got.TokenHash); !oldEpochRefused(ctx, st, x, s, err) {
			t.Fatalf("%s: rotate a session of the older epoch: %+v, %v; want ErrSuperseded with the session, or ErrNotFound and no session", m.name, s.UserID, err)
		}
		if s, err := rot(x.TokenHash); !oldEpochRefused(ctx, st, x, s, err) {
			t.Fatalf("%s: a conflicting rotation (the superseded token, a grace replay elsewhere): %+v, %v; want ErrSuperseded or ErrNotFound, not ErrConflict", m.name, s.UserID, err)
		}
	}
}

// oldEpochRefused reports whether a rotation of x, whose epoch moved, was
// refused as it must be: ErrSuperseded with the session, or ErrNotFound
// with the session deleted by the move itself.
func oldEpochRefused(ctx context.Context, st sessions.Store, x, got sessions.Session, err error) bool {
	switch {
	case errors.Is(err, sessions.ErrSuperseded):
		return got.UserID == x.UserID
	case errors.Is(err, sessions.ErrNotFound):
		_, err := st.GetSession(ctx, x.ID)
		return errors.Is(err, sessions.ErrNotFound)
	}
	return false
}
