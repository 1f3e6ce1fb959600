package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/sessions"
)

// TestDeadTokenCannotTouchNewSessions, as the thief who kept an access
// token: the owner ends every session (a password change, a logout-all, an
// operator's revoke-all, an operator's lock then unlock, or a password
// change whose end of the sessions failed, leaving the thief's session of
// the older credential epoch behind), then logs in on two devices. The
// thief's token, within its lifetime, lists nothing, ends nothing and
// changes no password: bearer logout (one and all), GET /auth/sessions,
// DELETE /auth/sessions/{id} of the owner's new session and POST
// /auth/password all answer 401 invalid_token, and the owner's two new
// sessions still refresh. With strict sessions on and off: these routes
// check the session themselves, whatever the authorizer did.
func TestDeadTokenCannotTouchNewSessions(t *testing.T) {
	const (
		user  = "alice"
		pw    = "correct horse battery"
		newPW = "a whole new password"
	)
	ctx := context.Background()
	type end struct {
		name string
		// run ends every session of the owner, acting with owner's token,
		// and returns the password the owner logs in with afterwards.
		run func(t *testing.T, e *env, f *failEndAll, owner pair) string
	}
	ends := []end{
		{"password change", func(t *testing.T, e *env, _ *failEndAll, owner pair) string {
			if r := e.do("POST", "/auth/password", map[string]string{"current_password": pw, "new_password": newPW}, bearer(owner.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("password change: %d %s", r.Status, r.Raw)
			}
			return newPW
		}},
		{"logout all", func(t *testing.T, e *env, _ *failEndAll, owner pair) string {
			if r := e.do("POST", "/auth/logout", map[string]any{"all": true}, bearer(owner.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("logout all: %d %s", r.Status, r.Raw)
			}
			return pw
		}},
		{"revoke-all", func(t *testing.T, e *env, _ *failEndAll, _ pair) string {
			e.clock.Advance(time.Second) // the sessions so far come before it
			if _, err := (&sessions.Manager{Store: e.store}).RevokeAll(ctx, time.Time{}, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Second) // the owner's next logins come after it
			return pw
		}},
		{"lock and unlock", func(t *testing.T, e *env, _ *failEndAll, _ pair) string {
			u, err := e.store.GetUser(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			// As rotor users lock does: lock (moving the epoch), end all.
			if err := e.store.SetLocked(ctx, u.Username, u.ID, true, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := (&sessions.Manager{Store: e.store}).EndAll(ctx, u.Username, u.ID); err != nil {
				t.Fatal(err)
			}
			if err := e.store.SetLocked(ctx, u.Username, u.ID, false, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
			return pw
		}},
		{"password change, sessions not ended", func(t *testing.T, e *env, f *failEndAll, owner pair) string {
			f.mu.Lock()
			f.armed = true
			f.mu.Unlock()
			r := e.do("POST", "/auth/password", map[string]string{"current_password": pw, "new_password": newPW}, bearer(owner.Access)...)
			wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
			return newPW
		}},
	}
	for _, mode := range []struct {
		name string
		edit func(*config.Config)
	}{{"default", nil}, {"strict", strict}} {
		t.Run(mode.name, func(t *testing.T) {
			for _, kind := range stores {
				t.Run(kind, func(t *testing.T) {
					for _, how := range ends {
						t.Run(how.name, func(t *testing.T) {
							var f *failEndAll
							e := newEnv(t, kind, mode.edit, func(s apifn.Store) apifn.Store { f = &failEndAll{Store: s}; return f })
							e.signup(user, pw)
							thief, _ := e.loginAs(user, pw, "thief")
							owner, _ := e.loginAs(user, pw, "owner")

							current := how.run(t, e, f, owner)
							d1p, d1 := e.loginAs(user, current, "device 1")
							d2p, d2 := e.loginAs(user, current, "device 2")

							attacks := []struct {
								name         string
								method, path string
								body         any
							}{
								{"list sessions", "GET", "/auth/sessions", nil},
								{"end the owner's new session", "DELETE", "/auth/sessions/" + d1, nil},
								{"end another new session", "DELETE", "/auth/sessions/" + d2, nil},
								{"bearer logout", "POST", "/auth/logout", map[string]any{}},
								{"bearer logout all", "POST", "/auth/logout", map[string]any{"all": true}},
								// Even with the current password: a dead token
								// changes nothing.
								{"password change", "POST", "/auth/password", map[string]string{"current_password": current, "new_password": "the thief's password"}},
							}
							for _, a := range attacks {
								t.Run(a.name, func(t *testing.T) {
									wantError(t, e.do(a.method, a.path, a.body, bearer(thief.Access)...), http.StatusUnauthorized, "invalid_token")
								})
							}
							if !strings.Contains(e.logs.String(), `"event":"dead_session_token"`) {
								t.Errorf("no dead_session_token event in the log:\n%s", e.logs.String())
							}

							// The owner's two new sessions are untouched: both
							// refresh, both are listed, the password is theirs.
							e.wantRefreshOK("device 1 after the thief's attempts", d1p.Refresh)
							p2 := e.wantRefreshOK("device 2 after the thief's attempts", d2p.Refresh)
							got := e.listSessions(p2.Access)
							if _, ok := got[d1]; !ok {
								t.Fatalf("the owner's list lacks device 1: %v", got)
							}
							if _, ok := got[d2]; !ok {
								t.Fatalf("the owner's list lacks device 2: %v", got)
							}
							e.login(user, current)
						})
					}
				})
			}
		})
	}
}
