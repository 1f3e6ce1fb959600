package faults

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/config"
)

// grace is config.Default().RefreshGrace; the retries below come long after.
const pastGrace = time.Minute

// TestRefreshUnderStoreFaults: a refresh whose rotation stalls, fails, is
// applied with its answer lost, or lands late. The client sees 503 with a
// retry ticket (500 for a plain failure), retries long after the grace
// window, and keeps its session; a bystander session is untouched.
func TestRefreshUnderStoreFaults(t *testing.T) {
	tests := []struct {
		fault      fault
		status     int
		code       string
		land       bool // the held write lands before the client retries
		withTicket bool // the client sends the ticket of the 503
		wait       time.Duration
	}{
		{fault: stall, status: 503, code: "temporarily_unavailable", withTicket: true, wait: pastGrace},
		{fault: fail, status: 500, code: "server_error", wait: pastGrace},
		{fault: loseAnswer, status: 503, code: "temporarily_unavailable", withTicket: true, wait: pastGrace},
		{fault: applyLate, status: 503, code: "temporarily_unavailable", withTicket: true, land: true, wait: pastGrace},
		// A stock client without the ticket, retrying at once: the grace
		// window covers it.
		{fault: loseAnswer, status: 503, code: "temporarily_unavailable", wait: time.Second},
	}
	for _, tc := range tests {
		name := tc.fault.String()
		if !tc.withTicket && tc.fault != fail {
			name += " (retry inside the grace window, no ticket)"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, false)
			e.signup("alice")
			p, bystander := e.login("alice"), e.login("alice")

			e.store.set("RotateSession", tc.fault)
			r := e.refresh(p.Refresh, "")
			wantError(t, r, tc.status, tc.code)
			ticket := r.str("retry_ticket")
			if tc.status == http.StatusServiceUnavailable && ticket == "" {
				t.Fatalf("a 503 to a refresh must carry a retry_ticket: %s", r.Raw)
			}
			e.store.set("RotateSession", healthy)
			if tc.land && e.store.land() != 1 {
				t.Fatal("no write was held to land late")
			}
			e.clock.Advance(tc.wait)
			if !tc.withTicket {
				ticket = ""
			}
			retry := e.refresh(p.Refresh, ticket)
			if retry.Status != http.StatusOK {
				t.Fatalf("the client's retry: %d %s; the session was lost", retry.Status, retry.Raw)
			}
			e.alive(pairOf(t, retry))
			e.alive(bystander)
		})
	}
}

// TestLoginUnderStoreFaults: a login whose read or session write stalls,
// fails or loses its answer gets 503 (500 for a plain failure); the next
// login works and the user's existing session never notices.
func TestLoginUnderStoreFaults(t *testing.T) {
	tests := []struct {
		method string
		fault  fault
		status int
		code   string
	}{
		{"ReserveLogin", stall, 503, "temporarily_unavailable"},
		{"ReserveLogin", fail, 500, "server_error"},
		{"CreateSession", stall, 503, "temporarily_unavailable"},
		{"CreateSession", fail, 500, "server_error"},
		{"CreateSession", loseAnswer, 503, "temporarily_unavailable"},
		{"CreateSession", applyLate, 503, "temporarily_unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.fault.String(), func(t *testing.T) {
			e := newEnv(t, false)
			e.signup("alice")
			existing := e.login("alice")
			e.store.set(tc.method, tc.fault)
			wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "alice", "password": password}), tc.status, tc.code)
			e.store.set(tc.method, healthy)
			e.store.land()
			e.alive(e.login("alice"))
			e.alive(existing)
			// A failed login is not a failed password: no throttling.
			if strings.Contains(e.logs.String(), `"event":"login_failed"`) {
				t.Error("a store fault was counted as a wrong password")
			}
		})
	}
}

// TestAccountRoutesUnderStoreFaults: signup, logout, the session list,
// ending a session and a password change, each with its store call stalled:
// the client sees 503, and once the store answers its retry does what it
// asked while every other session lives on.
func TestAccountRoutesUnderStoreFaults(t *testing.T) {
	t.Run("signup, answer lost", func(t *testing.T) {
		e := newEnv(t, false)
		e.store.set("CreateUser", loseAnswer)
		wantError(t, e.do("POST", "/auth/signup", map[string]string{"username": "alice", "password": password}), 503, "temporarily_unavailable")
		e.store.set("CreateUser", healthy)
		// The account exists: the retry is told so, and the password works.
		wantError(t, e.do("POST", "/auth/signup", map[string]string{"username": "alice", "password": password}), 409, "username_taken")
		e.alive(e.login("alice"))
	})
	t.Run("signup, stalled", func(t *testing.T) {
		e := newEnv(t, false)
		e.store.set("CreateUser", stall)
		wantError(t, e.do("POST", "/auth/signup", map[string]string{"username": "alice", "password": password}), 503, "temporarily_unavailable")
		e.store.set("CreateUser", healthy)
		e.signup("alice")
		e.alive(e.login("alice"))
	})
	t.Run("logout", func(t *testing.T) {
		e := newEnv(t, false)
		e.signup("alice")
		p, other := e.login("alice"), e.login("alice")
		e.store.set("DeleteSessionByToken", stall)
		wantError(t, e.do("POST", "/auth/logout", map[string]string{"refresh_token": p.Refresh}), 503, "temporarily_unavailable")
		e.store.set("DeleteSessionByToken", healthy)
		if r := e.do("POST", "/auth/logout", map[string]string{"refresh_token": p.Refresh}); r.Status != http.StatusNoContent {
			t.Fatalf("logout retry: %d %s", r.Status, r.Raw)
		}
		wantError(t, e.refresh(p.Refresh, ""), 401, "invalid_grant")
		e.alive(other)
	})
	t.Run("session list and end", func(t *testing.T) {
		e := newEnv(t, false)
		e.signup("alice")
		p, other := e.login("alice"), e.login("alice")
		auth := []string{"Authorization", "Bearer " + p.Access}
		e.store.set("ListSessions", stall)
		wantError(t, e.do("GET", "/auth/sessions", nil, auth...), 503, "temporarily_unavailable")
		e.store.set("ListSessions", healthy)
		list := e.do("GET", "/auth/sessions", nil, auth...)
		sessions, _ := list.Body["sessions"].([]any)
		if list.Status != http.StatusOK || len(sessions) != 2 {
			t.Fatalf("session list: %d %s", list.Status, list.Raw)
		}
		var otherID string
		for _, s := range sessions {
			m, _ := s.(map[string]any)
			if cur, _ := m["current"].(bool); !cur {
				otherID, _ = m["id"].(string)
			}
		}
		if otherID == "" {
			t.Fatalf("no other session in %s", list.Raw)
		}
		e.store.set("DeleteSession", stall)
		wantError(t, e.do("DELETE", "/auth/sessions/"+otherID, nil, auth...), 503, "temporarily_unavailable")
		e.store.set("DeleteSession", healthy)
		if r := e.do("DELETE", "/auth/sessions/"+otherID, nil, auth...); r.Status != http.StatusNoContent {
			t.Fatalf("end session retry: %d %s", r.Status, r.Raw)
		}
		wantError(t, e.refresh(other.Refresh, ""), 401, "invalid_grant")
		e.alive(p)
	})
	t.Run("password change, stalled", func(t *testing.T) {
		e := newEnv(t, false)
		e.signup("alice")
		p := e.login("alice")
		change := map[string]string{"current_password": password, "new_password": "a brand new passphrase"}
		e.store.set("SetPasswordHash", stall)
		wantError(t, e.do("POST", "/auth/password", change, "Authorization", "Bearer "+p.Access), 503, "temporarily_unavailable")
		e.store.set("SetPasswordHash", healthy)
		// Nothing changed: the old password and the session still work.
		e.alive(e.login("alice"))
		p = e.alive(p)
		if r := e.do("POST", "/auth/password", change, "Authorization", "Bearer "+p.Access); r.Status != http.StatusNoContent {
			t.Fatalf("password change retry: %d %s", r.Status, r.Raw)
		}
		wantError(t, e.refresh(p.Refresh, ""), 401, "invalid_grant")
	})
}

// TestSecretsManagerDown: signing keys unavailable at a cold start make the
// routes that sign or publish keys answer 503, and protected routes are
// refused (never allowed) until Secrets Manager answers. Unavailable at a
// later re-read, the cache keeps the last good keys and nothing changes
// for clients.
func TestSecretsManagerDown(t *testing.T) {
	t.Run("at cold start", func(t *testing.T) {
		e := newEnv(t, true)
		e.signup("alice") // signup signs nothing
		wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "alice", "password": password}), 503, "temporarily_unavailable")
		wantError(t, e.do("GET", "/.well-known/jwks.json", nil), 503, "temporarily_unavailable")
		// The authorizer cannot check a token: it fails, which API
		// Gateway answers with 500. Never an allow.
		if r := e.do("GET", "/me", nil, "Authorization", "Bearer x.y.z"); r.Status != http.StatusInternalServerError {
			t.Fatalf("/me with keys unavailable: %d %s", r.Status, r.Raw)
		}
		e.secrets.setDown(false)
		e.clock.Advance(time.Minute) // the cache's retry interval
		p := e.login("alice")
		if r := e.do("GET", "/.well-known/jwks.json", nil); r.Status != http.StatusOK {
			t.Fatalf("JWKS once Secrets Manager is back: %d %s", r.Status, r.Raw)
		}
		e.alive(p)
	})
	t.Run("at a re-read", func(t *testing.T) {
		e := newEnv(t, false)
		e.signup("alice")
		p := e.login("alice")
		e.secrets.setDown(true)
		e.clock.Advance(6 * time.Minute) // past the key cache's TTL: a re-read is due
		before := e.secrets.n
		p = e.alive(p)
		if e.secrets.n == before {
			t.Fatal("no re-read was attempted")
		}
		if r := e.do("GET", "/.well-known/jwks.json", nil); r.Status != http.StatusOK {
			t.Fatalf("JWKS from the cached keys: %d %s", r.Status, r.Raw)
		}
		e.alive(e.login("alice"))
		e.alive(p)
	})
}

// TestClockJumps: the server's clock jumps forward past the access token's
// lifetime, or backwards. Access tokens it can no longer accept are refused
// with 401 invalid_token, which a client answers with a refresh; the refresh
// works and the session lives. Jumping past the session's idle lifetime ends
// it, as it should.
func TestClockJumps(t *testing.T) {
	tests := []struct {
		name       string
		jump       time.Duration
		accessOK   bool // the access token from before the jump still works
		refreshOK  bool
		refreshErr string
	}{
		{"forward past the access token lifetime", 20 * time.Minute, false, true, ""},
		{"forward within the access token lifetime", 5 * time.Minute, true, true, ""},
		{"backwards within the leeway", -config.Default().ClockLeeway / 2, true, true, ""},
		{"backwards past the leeway", -10 * time.Minute, false, true, ""},
		{"forward past the idle lifetime", 15 * 24 * time.Hour, false, false, "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false)
			e.signup("alice")
			p := e.login("alice")
			e.clock.Advance(tc.jump)
			m := e.do("GET", "/me", nil, "Authorization", "Bearer "+p.Access)
			if tc.accessOK && m.Status != http.StatusOK {
				t.Fatalf("/me after the jump: %d %s", m.Status, m.Raw)
			}
			if !tc.accessOK {
				wantError(t, m, http.StatusUnauthorized, "invalid_token")
			}
			if !tc.refreshOK {
				wantError(t, e.refresh(p.Refresh, ""), http.StatusUnauthorized, tc.refreshErr)
				return
			}
			p = e.alive(p)
			e.clock.Advance(time.Minute)
			e.alive(p)
		})
	}
}
