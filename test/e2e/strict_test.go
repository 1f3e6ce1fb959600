package e2e

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/sessions"
)

// sessionReads counts GetSessionAndWatermark: the one read the strict
// authorizer makes (the session and the revoke-all watermark together).
type sessionReads struct {
	apifn.Store
	n atomic.Int64
}

func (s *sessionReads) GetSessionAndWatermark(ctx context.Context, id string) (sessions.Session, time.Time, error) {
	s.n.Add(1)
	return s.Store.GetSessionAndWatermark(ctx, id)
}

func strict(c *config.Config) { c.StrictSessions = true }

// TestStrictSessions: with StrictSessions the authorizer refuses the access
// token of an ended session at once, whichever way it ended, and keeps
// accepting the tokens of live sessions.
func TestStrictSessions(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			reads := &sessionReads{}
			e := newEnv(t, kind, strict, func(s apifn.Store) apifn.Store { reads.Store = s; return reads })
			const pw = "correct horse battery"
			e.signup("sybil", pw)
			e.signup("trent", pw)
			a, _ := e.loginAs("sybil", pw, "a")
			b, sb := e.loginAs("sybil", pw, "b")
			c, _ := e.loginAs("sybil", pw, "c")
			other, _ := e.loginAs("trent", pw, "t")

			before := reads.n.Load()
			for _, p := range []pair{a, b, c, other} {
				if r := e.me(p.Access); r.Status != http.StatusOK {
					t.Fatalf("strict /me with a live session: %d %s", r.Status, r.Raw)
				}
			}
			if n := reads.n.Load() - before; n < 4 {
				t.Fatalf("strict authorizer read %d sessions for 4 requests; want at least 4", n)
			}

			// Logout with the refresh token: that access token is dead at once.
			if r := e.do("POST", "/auth/logout", map[string]string{"refresh_token": a.Refresh}); r.Status != http.StatusNoContent {
				t.Fatalf("logout: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.me(a.Access), http.StatusUnauthorized, "invalid_token")
			if e.me(b.Access).Status != http.StatusOK {
				t.Fatal("another session's access token refused after logout")
			}

			// Ended from another session with DELETE /auth/sessions/{id}.
			if r := e.do("DELETE", "/auth/sessions/"+sb, nil, bearer(c.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("DELETE session: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.me(b.Access), http.StatusUnauthorized, "invalid_token")
			wantError(t, e.do("GET", "/auth/sessions", nil, bearer(b.Access)...), http.StatusUnauthorized, "invalid_token")
			if e.me(c.Access).Status != http.StatusOK {
				t.Fatal("the caller's own access token refused after ending another session")
			}

			// A password change ends every session, the caller's included.
			if r := e.do("POST", "/auth/password", map[string]string{"current_password": pw, "new_password": "a brand new password"}, bearer(c.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("password change: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.me(c.Access), http.StatusUnauthorized, "invalid_token")
			if e.me(other.Access).Status != http.StatusOK {
				t.Fatal("another user's access token refused after a password change")
			}

			// A session that idled out is refused while its access token is
			// still within lifetime and leeway: a short idle lifetime, for this.
			short := newEnv(t, kind, func(c *config.Config) {
				strict(c)
				c.AccessTokenTTL = 10 * time.Minute
				c.RefreshTokenTTL = 10*time.Minute + 10*time.Second
				c.ClockLeeway = 30 * time.Second // the token outlives the session by the leeway
			}, nil)
			short.signup("victor", pw)
			v, _ := short.loginAs("victor", pw, "v")
			short.clock.Advance(10*time.Minute + 15*time.Second) // session over; token inside exp+leeway
			wantError(t, short.me(v.Access), http.StatusUnauthorized, "invalid_token")
			wantError(t, short.refresh(v.Refresh), http.StatusUnauthorized, "invalid_grant")
		})
	}
}

// TestNonStrictSessions: by default the authorizer trusts a verified token
// until it expires and never reads the store, so an ended session's access
// token keeps working for the rest of its lifetime.
func TestNonStrictSessions(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			reads := &sessionReads{}
			e := newEnv(t, kind, nil, func(s apifn.Store) apifn.Store { reads.Store = s; return reads })
			const pw = "correct horse battery"
			e.signup("uma", pw)
			a, _ := e.loginAs("uma", pw, "a")
			b, sb := e.loginAs("uma", pw, "b")
			c, _ := e.loginAs("uma", pw, "c")

			if r := e.do("POST", "/auth/logout", map[string]string{"refresh_token": a.Refresh}); r.Status != http.StatusNoContent {
				t.Fatalf("logout: %d %s", r.Status, r.Raw)
			}
			// DELETE reads the caller's session (its own liveness check),
			// not the authorizer: counted from after it.
			if r := e.do("DELETE", "/auth/sessions/"+sb, nil, bearer(c.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("DELETE session: %d %s", r.Status, r.Raw)
			}
			before := reads.n.Load()
			for i := range 3 {
				for name, p := range map[string]pair{"logged out": a, "deleted": b, "live": c} {
					if r := e.me(p.Access); r.Status != http.StatusOK {
						t.Fatalf("/me #%d with the %s session's access token: %d %s; want 200 until expiry", i, name, r.Status, r.Raw)
					}
				}
				e.clock.Advance(4 * time.Minute)
			}
			if n := reads.n.Load() - before; n != 0 {
				t.Fatalf("the default authorizer read the store %d times; want 0", n)
			}
			// Past the 15-minute lifetime and the leeway: refused.
			e.clock.Advance(4 * time.Minute)
			for _, p := range []pair{a, b, c} {
				wantError(t, e.me(p.Access), http.StatusUnauthorized, "invalid_token")
			}
		})
	}
}
