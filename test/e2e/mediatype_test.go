package e2e

import (
	"net/http"
	"testing"

	"github.com/rotor-auth/rotor/internal/testapi"
)

// simplePost sends body to path as a page on another site can without a
// CORS preflight: no Content-Type at all, or text/plain (what fetch with a
// string body sends), with that site's Origin.
func (e *env) simplePost(path, body, contentType string) response {
	e.t.Helper()
	req := testapi.Request(e.t, "POST", e.url+path, body, "Origin", "https://evil.example")
	req.Header.Del("Content-Type")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return e.send(req)
}

// TestJSONRoutesRefuseSimpleRequests, as another site's page: POSTs to the
// JSON routes sent as CORS "simple" requests (no Content-Type, or
// text/plain), which a browser makes without a preflight, are answered 415
// unsupported_media_type and change nothing: no account, no session, no
// logout.
func TestJSONRoutesRefuseSimpleRequests(t *testing.T) {
	const pw = "correct horse battery"
	e := newEnv(t, "memory", nil, nil)
	e.signup("quinn", pw)
	p := e.login("quinn", pw)
	cases := []struct{ path, body string }{
		{"/auth/signup", `{"username":"mallory","password":"correct horse battery"}`},
		{"/auth/login", `{"username":"quinn","password":"correct horse battery"}`},
		{"/auth/refresh", `{"refresh_token":"` + p.Refresh + `"}`},
		{"/auth/logout", `{"refresh_token":"` + p.Refresh + `"}`},
	}
	for _, c := range cases {
		for _, ct := range []string{"", "text/plain;charset=UTF-8"} {
			wantError(t, e.simplePost(c.path, c.body, ct), http.StatusUnsupportedMediaType, "unsupported_media_type")
		}
	}
	r := e.do("GET", "/auth/sessions", nil, "Authorization", "Bearer "+p.Access)
	if list, _ := r.Body["sessions"].([]any); r.Status != http.StatusOK || len(list) != 1 {
		t.Fatalf("sessions after the refused requests: %d %s; want the one session", r.Status, r.Raw)
	}
	if r := e.refresh(p.Refresh); r.Status != http.StatusOK {
		t.Fatalf("refresh after the refused requests: %d %s; want 200 (nothing rotated or ended)", r.Status, r.Raw)
	}
	e.signup("mallory", pw) // the name is still free
}
