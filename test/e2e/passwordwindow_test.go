package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestPasswordWindowOnlyAfterAChange: /auth/password tries new_password
// against the stored hash only within an access-token lifetime of a real
// password change (the retry of a change whose sessions were not all
// ended). Signup and an operator's lock and unlock are no password change:
// right after them a thief with a stolen session who puts the real password
// in new_password gets a refusal that counts as a failed guess, never a 204
// that confirms the guess (and ends every session of the owner).
func TestPasswordWindowOnlyAfterAChange(t *testing.T) {
	cases := []struct {
		name   string
		before func(e *env, user string)
	}{
		{"right after signup", func(*env, string) {}},
		{"right after an operator's lock and unlock", func(e *env, user string) {
			e.clock.Advance(time.Hour) // the signup is long past
			u, err := e.store.GetUser(context.Background(), user)
			if err != nil {
				e.t.Fatal(err)
			}
			for _, locked := range []bool{true, false} {
				if err := e.store.SetLocked(context.Background(), u.Username, u.ID, locked, e.clock.Now()); err != nil {
					e.t.Fatal(err)
				}
			}
		}},
	}
	for _, kind := range stores {
		for _, tc := range cases {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t, kind, throttled, nil)
				const pw = "correct horse battery"
				e.signup("ivan", pw)
				tc.before(e, "ivan")
				stolen := e.login("ivan", pw)
				guess := func(current string) response {
					return e.do("POST", "/auth/password", map[string]string{"current_password": current, "new_password": pw}, bearer(stolen.Access)...)
				}
				for i := range 3 {
					wantError(t, guess(fmt.Sprintf("guess number %d", i)), http.StatusUnauthorized, "invalid_credentials")
				}
				wantError(t, guess("one more guess"), http.StatusTooManyRequests, "too_many_attempts")
				// No guess changed anything: the owner's sessions live on.
				if r := e.refresh(stolen.Refresh); r.Status != http.StatusOK {
					t.Fatalf("the session after refused guesses: %d %s", r.Status, r.Raw)
				}
			})
		}
	}
}
