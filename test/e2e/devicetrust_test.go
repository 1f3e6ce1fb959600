package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/config"
)

// collectDeviceTokens logs in n times with the password, as whoever once
// knew it would, and keeps every device token issued.
func (e *env) collectDeviceTokens(user, pw string, n int) []string {
	e.t.Helper()
	tokens := make([]string, n)
	for i := range tokens {
		_, tokens[i] = e.trustedLogin(user, pw, "")
	}
	return tokens
}

// guessRound sends wrong passwords with tokens in turn and returns the
// statuses.
func (e *env) guessRound(user string, tokens []string, n int) []int {
	e.t.Helper()
	got := make([]int, n)
	for i := range got {
		got[i] = e.loginWith(user, fmt.Sprintf("wrong guess %d", i), tokens[i%len(tokens)]).Status
	}
	return got
}

// TestStaleDeviceTokensGetNoBudget, as whoever once knew the password: 20
// device tokens collected with it. Then the owner changes the password, or
// an operator locks and unlocks the account, or runs revoke-all. Each old
// token then has no budget of its own: all the username's stale tokens
// share one, under the username limit, so the 6th guess across all 20 is
// refused (the right password too). Before, each token kept a fresh budget
// of its own: 100 guesses. (Not the username's own counter, which strangers
// can lock: TestStrangerCannotLockOwnerOut.)
func TestStaleDeviceTokensGetNoBudget(t *testing.T) {
	const pw, next = "correct horse battery", "a brand new passphrase"
	events := []struct {
		name string
		run  func(e *env, userID string, p pair) string // returns the password now
	}{
		{"password change", func(e *env, _ string, p pair) string {
			r := e.do("POST", "/auth/password", map[string]string{"current_password": pw, "new_password": next}, bearer(p.Access)...)
			if r.Status != http.StatusNoContent {
				e.t.Fatalf("password change: %d %s", r.Status, r.Raw)
			}
			return next
		}},
		{"lock and unlock", func(e *env, userID string, _ pair) string {
			ctx := testenv.Context(e.t)
			for _, locked := range []bool{true, false} {
				if err := e.store.SetLocked(ctx, "wendy", userID, locked, e.clock.Now()); err != nil {
					e.t.Fatal(err)
				}
			}
			return pw
		}},
		{"revoke-all", func(e *env, _ string, _ pair) string {
			e.clock.Advance(time.Second)
			if _, err := e.store.RevokeBefore(testenv.Context(e.t), e.clock.Now()); err != nil {
				e.t.Fatal(err)
			}
			return pw
		}},
	}
	for _, kind := range stores {
		for _, ev := range events {
			t.Run(kind+"/"+ev.name, func(t *testing.T) {
				e := newEnv(t, kind, func(c *config.Config) {
					c.LoginMaxFailures, c.IPMaxFailures, c.DeviceMaxFailures = 5, 1000, 1000
				}, nil)
				id := e.signup("wendy", pw)
				old := e.collectDeviceTokens("wendy", pw, 20)
				current := ev.run(e, id, e.login("wendy", pw))
				got := e.guessRound("wendy", old, 6)
				if !all(got[:5], func(s int) bool { return s == http.StatusUnauthorized }) || got[5] != http.StatusTooManyRequests {
					t.Fatalf("6 guesses across 20 old device tokens: %v; want 5 × 401 then 429", got)
				}
				wantError(t, e.loginWith("wendy", current, old[7]), http.StatusTooManyRequests, "too_many_attempts")
			})
		}
	}
}

// TestDeviceTokensShareABudget, as whoever knows the password now (or did,
// until a change he missed did not come): 25 device tokens, one guess each.
// All of a username's tokens share one budget on top of their own (4 times
// the login limit by default, 20 here), so collecting tokens buys no more
// than that; before, each token brought 5 fresh guesses.
func TestDeviceTokensShareABudget(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, func(c *config.Config) { c.LoginMaxFailures, c.IPMaxFailures = 5, 1000 }, nil)
			const pw = "correct horse battery"
			e.signup("xavier", pw)
			tokens := e.collectDeviceTokens("xavier", pw, 25)
			got := e.guessRound("xavier", tokens, 25)
			if !all(got[:20], func(s int) bool { return s == http.StatusUnauthorized }) ||
				!all(got[20:], func(s int) bool { return s == http.StatusTooManyRequests }) {
				t.Fatalf("one guess with each of 25 device tokens: %v; want 20 × 401 then 429", got)
			}
			// Strangers cannot touch the shared budget: the username's own
			// counter is untouched, so a login without a device token works.
			e.login("xavier", pw)
		})
	}
}
