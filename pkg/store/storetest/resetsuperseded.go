package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/sessions"
)

// testResetSupersedes: a session started before a password reset never
// rotates again, even if the reset's end-all never runs (the store failed
// after the reset's write): the reset moved the epoch in the same write as
// the new hash, and RotateSession refuses a session of an older epoch with
// ErrSuperseded, the superseded token too (no grace replay), unless that
// same write deleted the session (ErrNotFound: DynamoDB).
func testResetSupersedes(st AccountStore, _ Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		x := newSession(t, st, "usr_rs")
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
			t.Fatalf("rotate before the reset: %v", err)
		}
		u, err := st.GetUser(ctx, x.Username)
		if err != nil {
			t.Fatal(err)
		}
		rec := record(t, onetime.PasswordReset, u, "")
		if err := st.IssueToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UseToken(ctx, onetime.Use{Record: rec, Now: t0.Add(time.Minute), PasswordHash: "$argon2id$reset"}); err != nil {
			t.Fatalf("reset: %v", err)
		}
		if s, err := rot(got.TokenHash); !oldEpochRefused(ctx, st, x, s, err) {
			t.Fatalf("rotate a session from before the reset: %+v, %v; want ErrSuperseded with the session, or ErrNotFound and no session", s.UserID, err)
		}
		if s, err := rot(x.TokenHash); !oldEpochRefused(ctx, st, x, s, err) {
			t.Fatalf("its superseded token (a grace replay): %+v, %v; want ErrSuperseded or ErrNotFound", s.UserID, err)
		}
	}
}

// testChangeSupersedes: a session started before a password change that
// carries its notice (AccountStore.ChangePassword) never rotates again,
// even if the change's end-all never runs: the new hash, the epoch's move
// and the notice are one write, and RotateSession refuses the older
// session (ErrSuperseded), unless that same write deleted it (ErrNotFound:
// DynamoDB, whose refresh reads no owner and so relies on that delete).
func testChangeSupersedes(st AccountStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		x := newSession(t, st, "usr_cs")
		if err := st.CreateSession(ctx, x, nil); err != nil {
			t.Fatal(err)
		}
		u, err := st.GetUser(ctx, x.Username)
		if err != nil {
			t.Fatal(err)
		}
		m := msg("cs", outbox.PasswordChanged, "cs@example.com")
		if err := st.ChangePassword(ctx, u.Username, u.ID, u.Epoch, "$argon2id$changed", t0.Add(time.Minute), m); err != nil {
			t.Fatalf("change: %v", err)
		}
		s, err := st.RotateSession(ctx, sessions.Rotation{
			SessionID: x.ID, PresentedHash: x.TokenHash, NewHash: random(t, 32), Salt: random(t, 32),
			Now: t0.Add(2 * time.Minute), ExpiresAt: t0.Add(2 * time.Hour),
		})
		if !oldEpochRefused(ctx, st, x, s, err) {
			t.Fatalf("rotate a session from before the change: %+v, %v; want ErrSuperseded with the session, or ErrNotFound and no session", s.UserID, err)
		}
	}
}
