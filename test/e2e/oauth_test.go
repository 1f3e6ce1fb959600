package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
)

const formType = "application/x-www-form-urlencoded"

// TestOAuthDoorRetryTicket: the token endpoint is the refresh flow behind
// another door, retry tickets included: a refresh_token grant answered 503
// carries retry_ticket, and the same grant sent again with it long after the
// grace window keeps the session, on both stores.
func TestOAuthDoorRetryTicket(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			var st *stall
			e := newEnv(t, kind, nil, func(s apifn.Store) apifn.Store { st = &stall{Store: s}; return st })
			e.signup("alice", "correct horse battery")
			r := e.do("POST", "/oauth/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse battery"}}.Encode(), "Content-Type", formType)
			p := pairOf(t, r)
			st.mu.Lock()
			st.armed = true
			st.mu.Unlock()
			grant := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.Refresh}}
			r = e.do("POST", "/oauth/token", grant.Encode(), "Content-Type", formType)
			wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
			ticket := r.str("retry_ticket")
			if ticket == "" {
				t.Fatalf("a 503 to a refresh_token grant must carry a retry_ticket: %s", r.Raw)
			}
			e.clock.Advance(time.Minute) // far past the 10 s grace window
			grant.Set("retry_ticket", ticket)
			r = e.do("POST", "/oauth/token", grant.Encode(), "Content-Type", formType)
			if r.Status != http.StatusOK {
				t.Fatalf("retry with the ticket: %d %s", r.Status, r.Raw)
			}
			if m := e.me(pairOf(t, r).Access); m.Status != http.StatusOK {
				t.Fatalf("/me with the retried pair: %d", m.Status)
			}
		})
	}
}
