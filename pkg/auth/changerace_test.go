package auth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/throttle"
)

// whileChecking runs during a guess's check: after its reservation, so after
// the route's liveness check and before the hash is verified.
type whileChecking struct {
	throttle.Store
	during func()
}

func (w *whileChecking) Reserve(ctx context.Context, cs []throttle.Counter, now time.Time) (throttle.Reservation, error) {
	r, err := w.Store.Reserve(ctx, cs, now)
	if f := w.during; f != nil {
		w.during = nil
		f()
	}
	return r, err
}

// TestPasswordChangeRacingAChange, as a thief who knows the password and
// holds a live session: the thief's change is in flight (its session
// checked alive, the current password being verified) when the owner changes
// the password, logs out everywhere, or an operator locks the account. The
// thief's change, which checked credentials that no longer exist, must not
// land afterwards: refused, and the password is not the thief's (for the
// lock: still locked, with the old password). When the new hash was stored
// whatever the epoch, it overwrote the owner's change (the thief kept the
// account) or set a password on a locked account, for its unlock.
func TestPasswordChangeRacingAChange(t *testing.T) {
	const ownerNew, thiefNew = "the owner's new password", "the thief's own password"
	cases := []struct {
		name string
		// during runs while the thief's guess is checked.
		during func(t *testing.T, svc *auth.Service, st *memory.Store, owner auth.Pair)
		// pw is the password in force afterwards.
		pw string
	}{
		{"the owner changes the password", func(t *testing.T, svc *auth.Service, _ *memory.Store, owner auth.Pair) {
			if err := svc.ChangePassword(context.Background(), auth.Caller{UserID: owner.UserID, Username: "alice", SessionID: owner.SessionID}, alicePW, ownerNew); err != nil {
				t.Fatal(err)
			}
		}, ownerNew},
		{"the owner logs out everywhere", func(t *testing.T, svc *auth.Service, _ *memory.Store, owner auth.Pair) {
			if err := svc.LogoutAll(context.Background(), auth.Caller{UserID: owner.UserID, Username: "alice", SessionID: owner.SessionID}); err != nil {
				t.Fatal(err)
			}
		}, alicePW},
		{"an operator locks the account", func(t *testing.T, _ *auth.Service, st *memory.Store, owner auth.Pair) {
			ctx := context.Background()
			if err := st.SetLocked(ctx, "alice", owner.UserID, true, time.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := st.EndUserSessions(ctx, "alice", owner.UserID); err != nil {
				t.Fatal(err)
			}
		}, alicePW},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			st := memory.New()
			svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, nil))
			ctx := context.Background()
			if _, err := svc.Signup(ctx, "alice", alicePW); err != nil {
				t.Fatal(err)
			}
			thief := login(t, svc, "alice", alicePW, "", ipA)
			owner := login(t, svc, "alice", alicePW, "", ipB)
			race := &whileChecking{Store: svc.Attempts}
			svc.Attempts = race
			race.during = func() { tc.during(t, svc, st, owner) }
			err := svc.ChangePassword(ctx, auth.Caller{UserID: thief.UserID, Username: "alice", SessionID: thief.SessionID}, alicePW, thiefNew)
			if apierr.From(err).Status != http.StatusUnauthorized {
				t.Fatalf("the thief's change that checked the old credentials: %v; want 401", err)
			}
			u, err := st.GetUser(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if svc.Passwords.Verify(ctx, thiefNew, u.PasswordHash) == nil || svc.Passwords.Verify(ctx, tc.pw, u.PasswordHash) != nil {
				t.Fatalf("after the race the password is not %q", tc.pw)
			}
		})
	}
}
