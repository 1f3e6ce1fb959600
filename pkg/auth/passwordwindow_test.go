package auth_test

import (
	"context"
	"fmt"
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
// hash (the retry of a change whose sessions were not all ended, carrying
// the token of the session the change left in the older epoch) only within
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
		// after: the guessing session starts after setup, not before it.
		after bool
	}{
		{"right after signup", func(*testing.T, *auth.Service, *memory.Store, *time.Time) {}, alicePW, false, false},
		{"right after lock and unlock", func(t *testing.T, _ *auth.Service, st *memory.Store, clock *time.Time) {
			*clock = clock.Add(time.Hour)
			u, _ := st.GetUser(context.Background(), "alice")
			for _, locked := range []bool{true, false} {
				if err := st.SetLocked(context.Background(), "alice", u.ID, locked, *clock); err != nil {
					t.Fatal(err)
				}
			}
		}, alicePW, false, false},
		{"an access-token lifetime after a change", func(t *testing.T, svc *auth.Service, st *memory.Store, clock *time.Time) {
			halfChange(t, svc, st, next)
			*clock = clock.Add(ttl)
		}, next, true, false},
		{"just past an access-token lifetime after a change", func(t *testing.T, svc *auth.Service, st *memory.Store, clock *time.Time) {
			halfChange(t, svc, st, next)
			*clock = clock.Add(ttl + time.Millisecond)
		}, next, false, false},
		{"a session started after a change, inside the window", func(t *testing.T, svc *auth.Service, st *memory.Store, clock *time.Time) {
			changePassword(t, svc)
			*clock = clock.Add(time.Minute)
		}, next, false, true},
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
			var p auth.Pair
			var err error
			if !tc.after {
				if p, err = svc.Login(ctx, "alice", alicePW, "", auth.Client{IP: ipA}); err != nil {
					t.Fatal(err)
				}
			}
			tc.setup(t, svc, st, &clock)
			if tc.after {
				if p, err = svc.Login(ctx, "alice", tc.guess, "", auth.Client{IP: ipA}); err != nil {
					t.Fatal(err)
				}
			}
			err = svc.ChangePassword(ctx, auth.Caller{UserID: p.UserID, Username: "alice", SessionID: p.SessionID}, "not the password", tc.guess)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("a retried change inside the window: %v, want accepted", err)
			case !tc.ok && (err == nil || apierr.From(err).Status != http.StatusUnauthorized):
				t.Fatalf("new_password = the real password where no retried change can come: %v, want 401 invalid_credentials", err)
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

// TestPasswordWindowCountsEveryGuess, as the thief of an access token in the
// access-token lifetime after the owner changed the password: either the
// token of a session the owner started after the change, or one of a session
// of the old epoch that the change left behind (its sessions were not all
// ended). Each request carries two guesses, current_password and
// new_password, and the real password is the new_password of the request
// whose guesses are the limit's (2·limit−1)th and (2·limit)th: past the
// limit. No request is accepted (nothing learnt, no session ended) and the
// right password is refused afterwards. When new_password was tried for
// free, every slot verified two guesses and the last request changed
// nothing but answered 204, ending every session: the password was found
// with twice the guesses the limit allows.
func TestPasswordWindowCountsEveryGuess(t *testing.T) {
	const next = "a brand new password"
	cfg := config.Default()
	limit := cfg.LoginMaxFailures
	cases := []struct {
		name string
		// session returns the thief's session, with the change made.
		session func(t *testing.T, svc *auth.Service, st *memory.Store) auth.Pair
	}{
		{"a session started after the change", func(t *testing.T, svc *auth.Service, _ *memory.Store) auth.Pair {
			changePassword(t, svc)
			p, err := svc.Login(context.Background(), "alice", next, "", auth.Client{IP: ipA})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{"a session of the old epoch the change left behind", func(t *testing.T, svc *auth.Service, st *memory.Store) auth.Pair {
			p, err := svc.Login(context.Background(), "alice", alicePW, "", auth.Client{IP: ipA})
			if err != nil {
				t.Fatal(err)
			}
			halfChange(t, svc, st, next)
			return p
		}},
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
			p := tc.session(t, svc, st)
			clock = clock.Add(time.Minute)
			thief := auth.Caller{UserID: p.UserID, Username: "alice", SessionID: p.SessionID}
			for i := range limit {
				guess := fmt.Sprintf("wrong guess %d", i)
				if i == limit-1 {
					guess = next
				}
				err := svc.ChangePassword(ctx, thief, fmt.Sprintf("wrong current %d", i), guess)
				if err == nil {
					t.Fatalf("request %d (guesses %d and %d, limit %d) accepted: new_password was verified past the limit", i+1, 2*i+1, 2*i+2, limit)
				}
				if s := apierr.From(err).Status; s != http.StatusUnauthorized && s != http.StatusTooManyRequests {
					t.Fatalf("request %d: %v", i+1, err)
				}
			}
			err := svc.ChangePassword(ctx, thief, next, "the thief's own password")
			if apierr.From(err).Status != http.StatusTooManyRequests {
				t.Fatalf("the right password after the limit: %v; want 429", err)
			}
		})
	}
}

// halfChange stores alice's new password as a change does, without ending
// her sessions (the store failed in between).
func halfChange(t *testing.T, svc *auth.Service, st *memory.Store, next string) {
	t.Helper()
	ctx := context.Background()
	hash, err := svc.Passwords.Hash(ctx, next)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.GetUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPasswordHash(ctx, "alice", u.ID, u.Epoch, hash, svc.Now()); err != nil {
		t.Fatal(err)
	}
}
