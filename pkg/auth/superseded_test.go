package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// TestLeftBehindSessionDoesNotRefresh, as a thief whose session a password
// change or a lock left behind (the store failed after the epoch moved,
// before the session was deleted, and the owner's client never retried):
// the thief's refresh token is refused, so the session ends with the old
// credentials instead of refreshing for its whole lifetime.
func TestLeftBehindSessionDoesNotRefresh(t *testing.T) {
	cases := []struct {
		name string
		half func(t *testing.T, svc *auth.Service, st *memory.Store, p auth.Pair)
	}{
		{"half a password change", func(t *testing.T, svc *auth.Service, st *memory.Store, _ auth.Pair) {
			halfChange(t, svc, st, "a brand new password")
		}},
		{"half a lock", func(t *testing.T, svc *auth.Service, st *memory.Store, p auth.Pair) {
			if err := st.SetLocked(context.Background(), "alice", p.UserID, true, svc.Now()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			st := memory.New()
			svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, nil))
			clock := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
			svc.Now = func() time.Time { return clock }
			ctx := context.Background()
			if _, err := svc.Signup(ctx, "alice", alicePW); err != nil {
				t.Fatal(err)
			}
			thief := login(t, svc, "alice", alicePW, "", ipA)
			tc.half(t, svc, st, thief)
			clock = clock.Add(time.Minute)
			_, err := svc.Refresh(ctx, thief.RefreshToken, "")
			if !errors.Is(err, sessions.ErrSuperseded) {
				t.Fatalf("refresh of a session left behind: %v; want invalid_grant (ErrSuperseded)", err)
			}
		})
	}
}
