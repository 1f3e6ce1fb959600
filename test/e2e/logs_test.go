package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/sessions"
)

// TestSecurityLog runs every flow that logs, the failures included, and
// checks the log: one JSON object per line, the security events a monitor
// needs, and no password, refresh token, access token or key material.
func TestSecurityLog(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, func(c *config.Config) { c.LoginMaxFailures = 2 }, nil)
			const pw, newPW, wrongPW = "Pw-correct-horse-1", "Pw-new-staple-22", "Pw-wrong-guess-333"
			secrets := map[string]string{"password": pw, "new password": newPW, "wrong password": wrongPW}
			keep := func(name string, p pair) {
				secrets[name+" access token"] = p.Access
				secrets[name+" access token signature"] = p.Access[strings.LastIndex(p.Access, ".")+1:]
				secrets[name+" refresh token"] = p.Refresh
				secrets[name+" refresh token body"] = strings.TrimPrefix(p.Refresh, sessions.TokenPrefix)
			}

			e.signup("wendy", pw)
			wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "wendy", "password": wrongPW}), http.StatusUnauthorized, "invalid_credentials")
			wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "nobody-wendy", "password": wrongPW}), http.StatusUnauthorized, "invalid_credentials")
			// A password typed into the username field is a valid username.
			const typedPW = "Tr0ub4dor-And-3"
			wantError(t, e.do("POST", "/auth/login", map[string]string{"username": typedPW, "password": wrongPW}), http.StatusUnauthorized, "invalid_credentials")
			usernames := []string{"wendy", "nobody-wendy", typedPW, strings.ToLower(typedPW)}
			p1 := e.login("wendy", pw)
			keep("first", p1)

			e.clock.Advance(time.Minute)
			r := e.refresh(p1.Refresh)
			p2 := pairOf(t, r)
			keep("second", p2)
			e.clock.Advance(2 * time.Second)
			replay := pairOf(t, e.refresh(p1.Refresh)) // inside grace
			keep("replayed", replay)
			e.clock.Advance(time.Minute)
			wantError(t, e.refresh(p1.Refresh), http.StatusUnauthorized, "invalid_grant") // reuse: session revoked

			p3 := e.login("wendy", pw)
			keep("third", p3)
			wantError(t, e.do("POST", "/auth/password", map[string]string{"current_password": wrongPW, "new_password": newPW}, bearer(p3.Access)...), http.StatusUnauthorized, "invalid_credentials")
			if r := e.do("POST", "/auth/password", map[string]string{"current_password": pw, "new_password": newPW}, bearer(p3.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("password change: %d %s", r.Status, r.Raw)
			}
			p4 := e.login("wendy", newPW)
			keep("fourth", p4)
			p5 := e.login("wendy", newPW)
			keep("fifth", p5)
			if r := e.do("POST", "/auth/logout", map[string]string{"refresh_token": p4.Refresh}); r.Status != http.StatusNoContent {
				t.Fatalf("logout: %d %s", r.Status, r.Raw)
			}
			p6 := e.login("wendy", newPW)
			keep("sixth", p6)
			if r := e.do("DELETE", "/auth/sessions/"+sessionOf(t, p5.Refresh), nil, bearer(p6.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("DELETE session: %d %s", r.Status, r.Raw)
			}
			if r := e.do("POST", "/auth/logout", map[string]any{"all": true}, bearer(p6.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("logout all: %d %s", r.Status, r.Raw)
			}

			// Refused requests that carry secrets: they must not echo into the log.
			wantError(t, e.refresh(p6.Refresh), http.StatusUnauthorized, "invalid_grant")
			wantError(t, e.do("POST", "/auth/logout", map[string]string{"refresh_token": p6.Refresh}), http.StatusUnauthorized, "invalid_token")
			wantError(t, e.refresh(p6.Refresh+"x"), http.StatusUnauthorized, "invalid_grant")
			wantError(t, e.me(p6.Access+"x"), http.StatusUnauthorized, "invalid_token")
			wantError(t, e.do("POST", "/auth/login", `{"username":"wendy","password":"`+newPW+`"`), http.StatusBadRequest, "invalid_request")
			wantError(t, e.do("POST", "/auth/login", `{"username":"wendy","password":"`+newPW+`","extra":1}`), http.StatusBadRequest, "invalid_request")
			wantError(t, e.do("POST", "/auth/login", `{"username":"wendy","password":"`+newPW+`"} {}`), http.StatusBadRequest, "invalid_request")
			wantError(t, e.do("POST", "/auth/signup", map[string]string{"username": "xavier", "password": "Pw-shrt"}), http.StatusBadRequest, "invalid_request")
			secrets["short password"] = "Pw-shrt"
			wantError(t, e.do("POST", "/auth/refresh", `{"refresh_token":"`+p6.Refresh+`",}`), http.StatusBadRequest, "invalid_request")

			// Throttling: the second failure locks wendy.
			for range 2 {
				wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "wendy", "password": wrongPW}), http.StatusUnauthorized, "invalid_credentials")
			}
			wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "wendy", "password": newPW}), http.StatusTooManyRequests, "too_many_attempts")

			logs := e.logs.String()
			events := map[string]int{}
			for i, line := range strings.Split(strings.TrimSuffix(logs, "\n"), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("log line %d is not JSON: %v: %q", i+1, err, line)
				}
				if ev, ok := m["event"].(string); ok {
					events[ev]++
				}
			}
			for _, ev := range []string{"user_created", "login_failed", "login_succeeded", "refresh_replayed", "reuse_detected",
				"password_change_failed", "password_changed", "session_revoked", "sessions_revoked", "login_throttled"} {
				if events[ev] == 0 || !strings.Contains(logs, `"event":"`+ev+`"`) {
					t.Errorf("no %q event in the log (events: %v)", ev, events)
				}
			}
			if events["login_failed"] < 4 {
				t.Errorf("%d login_failed events; want one per failed login (4)", events["login_failed"])
			}
			// Unknown names are still told apart, by their keyed fingerprint.
			if !strings.Contains(logs, `"username_fp":"`) {
				t.Error("no login_failed line names an unknown user by username_fp")
			}
			for _, u := range usernames {
				if strings.Contains(logs, u) {
					t.Errorf("the log contains the username %q as typed", u)
				}
			}
			for what, s := range secrets {
				if strings.Contains(logs, s) {
					t.Errorf("the log contains the %s", what)
				}
			}
			if strings.Contains(logs, "PRIVATE KEY") {
				t.Error("the log contains private key material")
			}
			if t.Failed() {
				t.Log(logs)
			}
		})
	}
}
