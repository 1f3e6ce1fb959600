package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// bearer is the Authorization header pair for an access token, for e.do.
func bearer(access string) []string { return []string{"Authorization", "Bearer " + access} }

// loginAs logs in with a User-Agent header and returns the pair and its session id.
func (e *env) loginAs(user, pw, userAgent string) (pair, string) {
	e.t.Helper()
	r := e.do("POST", "/auth/login", map[string]string{"username": user, "password": pw}, "User-Agent", userAgent)
	if r.Status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", user, r.Status, r.Raw)
	}
	p := pairOf(e.t, r)
	return p, sessionOf(e.t, p.Refresh)
}

// sessionOf is the session id a refresh token names.
func sessionOf(t *testing.T, refresh string) string {
	t.Helper()
	tok, err := sessions.ParseRefreshToken(refresh)
	if err != nil {
		t.Fatalf("refresh token %q: %v", refresh, err)
	}
	return tok.SessionID
}

// sessionItem is one entry of GET /auth/sessions.
type sessionItem struct {
	ID, IP, UserAgent     string
	CreatedAt, LastUsedAt time.Time
	Current               bool
}

// listSessions calls GET /auth/sessions and decodes the list, checking every
// entry has the fields of the contract.
func (e *env) listSessions(access string) map[string]sessionItem {
	e.t.Helper()
	r := e.do("GET", "/auth/sessions", nil, bearer(access)...)
	if r.Status != http.StatusOK {
		e.t.Fatalf("GET /auth/sessions: %d %s", r.Status, r.Raw)
	}
	raw, ok := r.Body["sessions"].([]any)
	if !ok {
		e.t.Fatalf("GET /auth/sessions: no sessions array: %s", r.Raw)
	}
	out := map[string]sessionItem{}
	for _, x := range raw {
		m, _ := x.(map[string]any)
		for _, k := range []string{"id", "created_at", "last_used_at", "ip", "user_agent", "current"} {
			if _, ok := m[k]; !ok {
				e.t.Fatalf("session entry lacks %q: %s", k, r.Raw)
			}
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		at := func(k string) time.Time {
			v, err := time.Parse(time.RFC3339Nano, str(k))
			if err != nil {
				e.t.Fatalf("session %s: %s=%q: %v", str("id"), k, str(k), err)
			}
			return v
		}
		cur, ok := m["current"].(bool)
		if !ok {
			e.t.Fatalf("session %s: current is not a boolean: %s", str("id"), r.Raw)
		}
		it := sessionItem{ID: str("id"), IP: str("ip"), UserAgent: str("user_agent"), CreatedAt: at("created_at"), LastUsedAt: at("last_used_at"), Current: cur}
		if _, dup := out[it.ID]; dup || it.ID == "" {
			e.t.Fatalf("session id %q empty or listed twice: %s", it.ID, r.Raw)
		}
		out[it.ID] = it
	}
	return out
}

// wantRefreshOK checks a refresh token still works and returns its successor.
func (e *env) wantRefreshOK(what, refresh string) pair {
	e.t.Helper()
	r := e.refresh(refresh)
	if r.Status != http.StatusOK {
		e.t.Fatalf("%s: refresh: %d %s; want 200", what, r.Status, r.Raw)
	}
	return pairOf(e.t, r)
}

// TestListSessions: GET /auth/sessions shows exactly the caller's live
// sessions with the client that opened them, marks only the caller's own as
// current, and leaves out sessions that have idled out.
func TestListSessions(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			const pw = "correct horse battery"
			e.signup("dora", pw)
			e.signup("eve", pw)

			start := e.clock.Now().Truncate(time.Millisecond)
			pa, sa := e.loginAs("dora", pw, "phone/1.0")
			pb, sb := e.loginAs("dora", pw, "laptop/2.0")
			_, sEve := e.loginAs("eve", pw, "eve-agent/1")

			got := e.listSessions(pa.Access)
			if len(got) != 2 {
				t.Fatalf("dora sees %d sessions %v; want her 2", len(got), got)
			}
			if _, ok := got[sEve]; ok {
				t.Fatal("dora's list shows eve's session")
			}
			for id, ua := range map[string]string{sa: "phone/1.0", sb: "laptop/2.0"} {
				s, ok := got[id]
				switch {
				case !ok:
					t.Fatalf("session %s missing from %v", id, got)
				case s.UserAgent != ua:
					t.Errorf("session %s user_agent=%q; want %q", id, s.UserAgent, ua)
				case s.IP != "127.0.0.1":
					t.Errorf("session %s ip=%q; want 127.0.0.1", id, s.IP)
				case !s.CreatedAt.Equal(start) || !s.LastUsedAt.Equal(start):
					t.Errorf("session %s created_at=%s last_used_at=%s; want both %s", id, s.CreatedAt, s.LastUsedAt, start)
				}
			}
			if !got[sa].Current || got[sb].Current {
				t.Fatalf("with session a's token: current a=%v b=%v; want true, false", got[sa].Current, got[sb].Current)
			}
			if got = e.listSessions(pb.Access); got[sa].Current || !got[sb].Current {
				t.Fatalf("with session b's token: current a=%v b=%v; want false, true", got[sa].Current, got[sb].Current)
			}

			// Thirteen days on: a third session starts and a is used, b is not.
			// Two more days: b has idled past the 14-day refresh lifetime.
			e.clock.Advance(13 * 24 * time.Hour)
			_, sc := e.loginAs("dora", pw, "tablet/3.0")
			usedA := e.clock.Now().Truncate(time.Millisecond)
			pa = e.wantRefreshOK("session a", pa.Refresh)
			e.clock.Advance(2 * 24 * time.Hour)
			pa = e.wantRefreshOK("session a", pa.Refresh)

			got = e.listSessions(pa.Access)
			if len(got) != 2 {
				t.Fatalf("after b idled out dora sees %v; want sessions a and c", got)
			}
			if _, ok := got[sb]; ok {
				t.Fatal("the idled-out session b is still listed")
			}
			if s := got[sa]; !s.Current || !s.CreatedAt.Equal(start) || !s.LastUsedAt.After(usedA) {
				t.Errorf("session a: %+v; want current, created %s, used after %s", s, start, usedA)
			}
			if s := got[sc]; s.Current || s.UserAgent != "tablet/3.0" {
				t.Errorf("session c: %+v; want not current, user agent tablet/3.0", s)
			}
			wantError(t, e.refresh(pb.Refresh), http.StatusUnauthorized, "invalid_grant")
		})
	}
}

// TestEndSession: DELETE /auth/sessions/{id} ends exactly that session of
// the caller; an unknown id and another user's session are both 404.
func TestEndSession(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			const pw = "correct horse battery"
			e.signup("frank", pw)
			e.signup("grace", pw)
			pa, _ := e.loginAs("frank", pw, "a")
			pb, sb := e.loginAs("frank", pw, "b")
			pc, _ := e.loginAs("frank", pw, "c")
			pg, sg := e.loginAs("grace", pw, "g")

			if r := e.do("DELETE", "/auth/sessions/"+sb, nil, bearer(pa.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("DELETE own session: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.refresh(pb.Refresh), http.StatusUnauthorized, "invalid_grant")
			pa = e.wantRefreshOK("the caller's session", pa.Refresh)
			pc = e.wantRefreshOK("the third session", pc.Refresh)
			if got := e.listSessions(pa.Access); len(got) != 2 {
				t.Fatalf("after ending b, frank lists %v; want 2 sessions", got)
			}

			// Gone already, never existed, or someone else's: all the same 404.
			for name, id := range map[string]string{"ended": sb, "unknown": "AAAAAAAAAAAAAAAAAAAAAA", "garbage": "no-such-session", "another user's": sg} {
				r := e.do("DELETE", "/auth/sessions/"+id, nil, bearer(pa.Access)...)
				if r.Status != http.StatusNotFound || r.str("error") != "not_found" {
					t.Errorf("DELETE %s session: %d %s; want 404 not_found", name, r.Status, r.Raw)
				}
			}
			pg = e.wantRefreshOK("grace's session after frank tried to end it", pg.Refresh)
			if e.me(pg.Access).Status != http.StatusOK {
				t.Fatal("grace's access token refused")
			}
			e.wantRefreshOK("frank's session", pa.Refresh)
			e.wantRefreshOK("frank's third session", pc.Refresh)
		})
	}
}

// TestLogoutAll: a bearer logout with {"all": true} ends every session of the
// user and no one else's; with {} only the caller's own.
func TestLogoutAll(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			const pw = "correct horse battery"
			e.signup("heidi", pw)
			e.signup("ivan", pw)
			var hs []pair
			for range 4 {
				p, _ := e.loginAs("heidi", pw, "ua")
				hs = append(hs, p)
			}
			pi, _ := e.loginAs("ivan", pw, "ua")

			// {} with a bearer: the caller's session only.
			if r := e.do("POST", "/auth/logout", map[string]any{}, bearer(hs[3].Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("bearer logout: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.refresh(hs[3].Refresh), http.StatusUnauthorized, "invalid_grant")
			for i := range 3 {
				hs[i] = e.wantRefreshOK("another session after a bearer logout", hs[i].Refresh)
			}

			// Both a refresh token and all: refused, nothing ended.
			wantError(t, e.do("POST", "/auth/logout", map[string]any{"refresh_token": hs[0].Refresh, "all": true}, bearer(hs[0].Access)...), http.StatusBadRequest, "invalid_request")
			hs[0] = e.wantRefreshOK("session after a refused logout", hs[0].Refresh)

			// all: every one of the (at least three) remaining sessions.
			if r := e.do("POST", "/auth/logout", map[string]any{"all": true}, bearer(hs[1].Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("logout all: %d %s", r.Status, r.Raw)
			}
			for i := range 3 {
				wantError(t, e.refresh(hs[i].Refresh), http.StatusUnauthorized, "invalid_grant")
			}
			pi = e.wantRefreshOK("ivan's session after heidi's logout-all", pi.Refresh)
			if got := e.listSessions(pi.Access); len(got) != 1 {
				t.Fatalf("ivan lists %v; want his one session", got)
			}
		})
	}
}

// TestChangePassword: a wrong current password or a weak new one changes
// nothing; a change ends every session of the user and only of that user, and
// only the new password logs in.
func TestChangePassword(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			const oldPW, newPW = "correct horse battery", "staple battery horse 2"
			e.signup("judy", oldPW)
			e.signup("mallory", oldPW)
			var js []pair
			for range 3 {
				p, _ := e.loginAs("judy", oldPW, "ua")
				js = append(js, p)
			}
			pm, _ := e.loginAs("mallory", oldPW, "ua")
			change := func(current, next string) response {
				return e.do("POST", "/auth/password", map[string]string{"current_password": current, "new_password": next}, bearer(js[0].Access)...)
			}

			wantError(t, change("wrong password!!", newPW), http.StatusUnauthorized, "invalid_credentials")
			wantError(t, change(oldPW, "short"), http.StatusBadRequest, "invalid_request")
			wantError(t, change(oldPW, ""), http.StatusBadRequest, "invalid_request")
			for i := range js {
				js[i] = e.wantRefreshOK("session after a refused password change", js[i].Refresh)
			}
			// js[0].Access is now the access token of a refreshed pair.
			if r := change(oldPW, newPW); r.Status != http.StatusNoContent {
				t.Fatalf("password change: %d %s", r.Status, r.Raw)
			}
			for i := range js {
				wantError(t, e.refresh(js[i].Refresh), http.StatusUnauthorized, "invalid_grant")
			}
			wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "judy", "password": oldPW}), http.StatusUnauthorized, "invalid_credentials")
			e.login("judy", newPW)
			e.wantRefreshOK("mallory's session after judy's password change", pm.Refresh)
			e.login("mallory", oldPW)
		})
	}
}

// TestProtectedRoutesRefuse: every route behind the authorizer answers a
// missing or bad bearer token with 401 invalid_token and CORS headers, so a
// browser client can read the answer and refresh.
func TestProtectedRoutesRefuse(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			e.signup("kim", "correct horse battery")
			p := e.login("kim", "correct horse battery")
			// The signature of a real token, flipped: well-formed, badly signed.
			forged := []byte(p.Access)
			if forged[len(forged)-2] == 'A' {
				forged[len(forged)-2] = 'B'
			} else {
				forged[len(forged)-2] = 'A'
			}
			routes := []struct{ method, path string }{
				{"GET", "/me"}, {"GET", "/auth/sessions"}, {"DELETE", "/auth/sessions/" + sessionOf(t, p.Refresh)}, {"POST", "/auth/password"},
			}
			auths := map[string][]string{
				"no header":    nil,
				"empty bearer": {"Authorization", "Bearer "},
				"not a jwt":    {"Authorization", "Bearer not-a-token"},
				"forged":       {"Authorization", "Bearer " + string(forged)},
				"basic":        {"Authorization", "Basic a2ltOnB3"},
				"refresh":      {"Authorization", "Bearer " + p.Refresh},
			}
			for _, rt := range routes {
				for name, h := range auths {
					var body any
					if rt.method == "POST" {
						body = map[string]string{"current_password": "correct horse battery", "new_password": "another good one"}
					}
					r := e.do(rt.method, rt.path, body, h...)
					if r.Status != http.StatusUnauthorized || r.str("error") != "invalid_token" {
						t.Errorf("%s %s with %s: %d %s; want 401 invalid_token", rt.method, rt.path, name, r.Status, r.Raw)
					}
					if r.Header.Get("Access-Control-Allow-Origin") == "" {
						t.Errorf("%s %s with %s: no Access-Control-Allow-Origin", rt.method, rt.path, name)
					}
				}
			}
			// Logout checks a bearer itself; a bad one is the same 401.
			r := e.do("POST", "/auth/logout", map[string]any{"all": true}, "Authorization", "Bearer "+string(forged))
			wantError(t, r, http.StatusUnauthorized, "invalid_token")
			if r.Header.Get("Access-Control-Allow-Origin") == "" {
				t.Error("logout with a forged bearer: no Access-Control-Allow-Origin")
			}
			// Nothing above changed anything.
			e.wantRefreshOK("session after refused requests", p.Refresh)
			e.login("kim", "correct horse battery")
		})
	}
}
