package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/rotor-auth/rotor/pkg/config"
)

// burstLimit is the guess limit of the burst tests.
const burstLimit = 5

func burstLimited(c *config.Config) {
	c.LoginMaxFailures = burstLimit
	c.IPMaxFailures = 1000
}

// TestLoginBurstVerifiesAtMostTheLimit, as the attacker: 29 wrong guesses
// at one username sent at once, then the right password. Each guess takes
// its slot before its hash is checked, so no more than the limit are
// verified (answered 401; the others 429 at once), and the right password,
// coming once the limit is spent, is refused too. Without the reservation
// every guess of the burst was verified.
func TestLoginBurstVerifiesAtMostTheLimit(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, burstLimited, nil)
			const pw = "correct horse battery"
			e.signup("ursula", pw)
			got := together(29, func(i int) response {
				return e.do("POST", "/auth/login", map[string]string{"username": "ursula", "password": fmt.Sprintf("wrong guess %d", i)})
			})
			verified, refused := 0, 0
			for i, r := range got {
				switch {
				case r.Status == http.StatusUnauthorized && r.str("error") == "invalid_credentials":
					verified++
				case r.Status == http.StatusTooManyRequests && r.str("error") == "too_many_attempts":
					refused++
				default:
					t.Fatalf("guess %d: %d %s", i, r.Status, r.Raw)
				}
			}
			if verified != burstLimit || refused != 29-burstLimit {
				t.Fatalf("%d guesses verified, %d refused; want %d and %d", verified, refused, burstLimit, 29-burstLimit)
			}
			r := e.do("POST", "/auth/login", map[string]string{"username": "ursula", "password": pw})
			wantError(t, r, http.StatusTooManyRequests, "too_many_attempts")
		})
	}
}

// TestPasswordChangeBurstVerifiesAtMostTheLimit, as the holder of a stolen
// access token: 30 guesses at the current password sent at once, one of
// them right. At most the limit are verified (401 invalid_credentials, or
// 204 if the right one was among them); when it was not, the right one is
// refused afterwards. Without the reservation all 30 were verified and the
// right one always changed the password.
func TestPasswordChangeBurstVerifiesAtMostTheLimit(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, burstLimited, nil)
			const pw, next = "correct horse battery", "the thief's new passphrase"
			e.signup("victor", pw)
			stolen := e.login("victor", pw)
			const right = 17
			got := together(30, func(i int) response {
				guess := fmt.Sprintf("wrong guess %d", i)
				if i == right {
					guess = pw
				}
				return e.do("POST", "/auth/password", map[string]string{"current_password": guess, "new_password": next}, bearer(stolen.Access)...)
			})
			verified, changed := 0, false
			for i, r := range got {
				switch {
				case r.Status == http.StatusNoContent && i == right:
					verified++
					changed = true
				case r.Status == http.StatusUnauthorized && r.str("error") == "invalid_credentials":
					verified++
				case r.Status == http.StatusTooManyRequests && r.str("error") == "too_many_attempts":
				case r.Status == http.StatusUnauthorized:
					// the session ended by the right guess's change
				default:
					t.Fatalf("guess %d: %d %s", i, r.Status, r.Raw)
				}
			}
			if verified > burstLimit {
				t.Fatalf("%d of 30 guesses verified; want at most %d", verified, burstLimit)
			}
			if !changed {
				r := e.do("POST", "/auth/password", map[string]string{"current_password": pw, "new_password": next}, bearer(stolen.Access)...)
				wantError(t, r, http.StatusTooManyRequests, "too_many_attempts")
			}
		})
	}
}
