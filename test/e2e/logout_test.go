package e2e

import (
	"net/http"
	"testing"
)

// TestBearerLogoutOfEndedSession: a bearer logout whose session has already
// ended (by a refresh-token logout, or an earlier bearer logout) is 401
// invalid_token as the contract says, not 404.
func TestBearerLogoutOfEndedSession(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			const pw = "correct horse battery"
			e.signup("olga", pw)

			p := e.login("olga", pw)
			if r := e.do("POST", "/auth/logout", map[string]any{}, bearer(p.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("bearer logout: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.do("POST", "/auth/logout", map[string]any{}, bearer(p.Access)...), http.StatusUnauthorized, "invalid_token")

			q := e.login("olga", pw)
			if r := e.do("POST", "/auth/logout", map[string]string{"refresh_token": q.Refresh}); r.Status != http.StatusNoContent {
				t.Fatalf("refresh-token logout: %d %s", r.Status, r.Raw)
			}
			r := e.do("POST", "/auth/logout", map[string]any{}, bearer(q.Access)...)
			wantError(t, r, http.StatusUnauthorized, "invalid_token")
			if r.Header.Get("Access-Control-Allow-Origin") == "" {
				t.Error("the 401 has no Access-Control-Allow-Origin")
			}
		})
	}
}
