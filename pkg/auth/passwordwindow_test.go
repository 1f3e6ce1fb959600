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
)

// TestPasswordWindow: /auth/password tries new_password against the stored
// hash (the retry of a change whose sessions were not all ended) only within
// an access-token lifetime of a real password change. A signup, or an
// operator's lock and unlock, does not open it: there a thief's guess in
// new_password is a refused, counted failure.
func TestPasswordWindow(t *testing.T) {
	const next = "a brand new password"
	cfg := config.Default()
	ttl := cfg.AccessTokenTTL
	cases := []struct {
		name string
		// setup returns with the clock at the time of the guess.
		setup func(t *testing.T, svc *auth.Service, st *memory.Store, clock *time.Time)
		// guess is the new_password of a request whose current_password is wrong.
		guess string
		ok    bool
	}{
		{"right after signup", func(*testing.T, *auth.Service, *memory.Store, *time.Time) {}, alicePW, false},
		{"right after lock and unlock", func(t *testing.T, _ *auth.Service, st *memory.Store, clock *time.Time) {
			*clock = clock.Add(time.Hour)
			u, _ := st.GetUser(context.Background(), "alice")
			for _, locked := range []bool{true, false} {
				if err := st.SetLocked(context.Background(), "alice", u.ID, locked, *clock); err != nil {
					t.Fatal(err)
				}
			}
		}, alicePW, false},
		{"an access-token lifetime after a change", func(t *testing.T, svc *auth.Service, _ *memory.Store, clock *time.Time) {
			changePassword(t, svc)
			*clock = clock.Add(ttl)
		}, next, true},
		{"just past an access-token lifetime after a change", func(t *testing.T, svc *auth.Service, _ *memory.Store, clock *time.Time) {
			changePassword(t, svc)
			*clock = clock.Add(ttl + time.Millisecond)
		}, next, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := memory.New()
			svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, nil))
			clock := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
			svc.Now = func() time.Time { return clock }
			ctx := context.Background()
			if _, err := svc.Signup(ctx, "alice", alicePW); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, svc, st, &clock)
			pw := alicePW
			if tc.guess == next {
				pw = next // the password now in force
			}
			p, err := svc.Login(ctx, "alice", pw, "", auth.Client{IP: ipA})
			if err != nil {
				t.Fatal(err)
			}
			err = svc.ChangePassword(ctx, auth.Caller{UserID: p.UserID, Username: "alice", SessionID: p.SessionID}, "not the password", tc.guess)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("a retried change inside the window: %v, want accepted", err)
			case !tc.ok && (err == nil || apierr.From(err).Status != http.StatusUnauthorized):
				t.Fatalf("new_password = the real password outside the window: %v, want 401 invalid_credentials", err)
			}
		})
	}
}

// changePassword changes alice's password from alicePW to "a brand new
// password", from a session of its own.
func changePassword(t *testing.T, svc *auth.Service) {
	t.Helper()
	ctx := context.Background()
	p, err := svc.Login(ctx, "alice", alicePW, "", auth.Client{IP: ipA})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ChangePassword(ctx, auth.Caller{UserID: p.UserID, Username: "alice", SessionID: p.SessionID}, alicePW, "a brand new password"); err != nil {
		t.Fatal(err)
	}
}
