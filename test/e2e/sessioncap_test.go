package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/config"
)

// TestSessionCapCountsLiveSessions, as the owner of an account: with a cap
// of 3 sessions, sessions that ended (logout) or expired (idle) take no
// place, so a login while fewer than 3 are live ends none of the live ones.
// Counting the user's list as it was (ended and expired entries included),
// the embedded store and DynamoDB ended the oldest live session.
func TestSessionCapCountsLiveSessions(t *testing.T) {
	const pw = "correct horse battery"
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			var idle time.Duration
			e := newEnv(t, kind, func(c *config.Config) { c.MaxSessionsPerUser = 3; idle = c.RefreshTokenTTL }, nil)
			e.signup("vera", pw)
			// keep refreshes a live session, failing if a login ended it.
			keep := func(name string, p *pair) {
				t.Helper()
				r := e.refresh(p.Refresh)
				if r.Status != http.StatusOK {
					t.Fatalf("%s: live session ended by a login below the cap: refresh %d %s", name, r.Status, r.Raw)
				}
				*p = pairOf(t, r)
			}
			logout := func(p pair) {
				t.Helper()
				if r := e.do("POST", "/auth/logout", map[string]string{"refresh_token": p.Refresh}); r.Status != http.StatusNoContent {
					t.Fatalf("logout: %d %s", r.Status, r.Raw)
				}
			}

			// Expired: the oldest session stays live by refreshing; two
			// younger ones idle out.
			a := e.login("vera", pw)
			e.clock.Advance(time.Minute)
			e.login("vera", pw)
			e.login("vera", pw)
			e.clock.Advance(idle - time.Hour)
			keep("a", &a)
			e.clock.Advance(2 * time.Hour) // the two younger ones are dead now
			b := e.login("vera", pw)       // live: a; with b, 2 of 3
			keep("a after the login beside two expired sessions", &a)
			keep("b", &b)

			// Ended: two sessions logged out.
			logout(e.login("vera", pw))
			logout(e.login("vera", pw))
			c := e.login("vera", pw) // live: a, b; with c, 3 of 3
			keep("a after the login beside two ended sessions", &a)
			keep("b after the login beside two ended sessions", &b)
			keep("c", &c)

			// The cap itself still holds: a fourth live session ends the
			// oldest live one, a.
			d := e.login("vera", pw)
			if r := e.refresh(a.Refresh); r.Status != http.StatusUnauthorized {
				t.Fatalf("a fourth live session left the oldest alive: refresh %d %s; want 401", r.Status, r.Raw)
			}
			keep("b after the fourth", &b)
			keep("c after the fourth", &c)
			keep("d", &d)
		})
	}
}
