package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

// setCookies parses a response's Set-Cookie headers by name.
func setCookies(t *testing.T, r response) map[string]*http.Cookie {
	t.Helper()
	out := map[string]*http.Cookie{}
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		out[c.Name] = c
	}
	return out
}

// cookieJar is what a browser would hold for /auth: the two cookies.
type cookieJar struct{ refresh, csrf string }

func (j cookieJar) header() string {
	return httpapi.RefreshCookie + "=" + j.refresh + "; " + httpapi.CSRFCookie + "=" + j.csrf
}

// wantAuthCookies checks both cookies are set as the transport promises and
// returns their values.
func wantAuthCookies(t *testing.T, r response) cookieJar {
	t.Helper()
	cs := setCookies(t, r)
	for _, name := range []string{httpapi.RefreshCookie, httpapi.CSRFCookie} {
		c := cs[name]
		switch {
		case c == nil:
			t.Fatalf("no %s cookie in %v", name, r.Header.Values("Set-Cookie"))
		case c.Value == "" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/auth" || c.MaxAge <= 0:
			t.Fatalf("%s cookie %q: want a value, HttpOnly, Secure, SameSite=Strict, Path=/auth, Max-Age > 0", name, c.Raw)
		}
	}
	return cookieJar{refresh: cs[httpapi.RefreshCookie].Value, csrf: cs[httpapi.CSRFCookie].Value}
}

// TestCookieTransport: a browser client asking for the cookie transport gets
// its refresh token only as an HttpOnly cookie, refreshes and logs out with
// the cookie plus a matching CSRF header, and a missing or wrong CSRF header
// changes nothing.
func TestCookieTransport(t *testing.T) {
	// The cookie transport needs a named CORS origin (TestCookieTransportOrigin).
	e := newEnv(t, "memory", func(c *config.Config) { c.CORSAllowOrigin = "https://app.example.com" }, nil)
	const pw = "correct horse battery"
	e.signup("yvonne", pw)
	transport := []string{httpapi.TransportHeader, "cookie"}

	r := e.do("POST", "/auth/login", map[string]string{"username": "yvonne", "password": pw}, transport...)
	if r.Status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("cookie login: %d %s", r.Status, r.Raw)
	}
	if _, ok := r.Body["refresh_token"]; ok {
		t.Fatalf("cookie login body carries a refresh_token: %s", r.Raw)
	}
	jar := wantAuthCookies(t, r)
	if r.str("csrf_token") == "" || r.str("csrf_token") != jar.csrf {
		t.Fatalf("csrf_token %q in the body; want the rotor_csrf cookie's value %q", r.str("csrf_token"), jar.csrf)
	}
	if strings.Contains(r.Raw, jar.refresh) {
		t.Fatal("the refresh token appears in the body")
	}
	sid := sessionOf(t, jar.refresh)
	rotations := func() int {
		t.Helper()
		s, err := e.store.GetSession(testenv.Context(t), sid)
		if err != nil {
			t.Fatal(err)
		}
		return s.Rotations
	}

	// Refresh with the cookies and the CSRF header: a new refresh cookie.
	e.clock.Advance(time.Minute)
	refresh := func(j cookieJar, extra ...string) response {
		h := append([]string{"Cookie", j.header()}, transport...)
		return e.do("POST", "/auth/refresh", map[string]any{}, append(h, extra...)...)
	}
	r = refresh(jar, httpapi.CSRFHeader, jar.csrf)
	if r.Status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("cookie refresh: %d %s", r.Status, r.Raw)
	}
	if _, ok := r.Body["refresh_token"]; ok {
		t.Fatalf("cookie refresh body carries a refresh_token: %s", r.Raw)
	}
	next := wantAuthCookies(t, r)
	if next.refresh == jar.refresh {
		t.Fatal("cookie refresh did not rotate the refresh token")
	}
	if r.str("csrf_token") != next.csrf {
		t.Fatalf("csrf_token %q; want the cookie's %q", r.str("csrf_token"), next.csrf)
	}
	jar = next

	// Wrong or missing CSRF header: 403, and the session is not rotated.
	before := rotations()
	for name, extra := range map[string][]string{
		"no header":    nil,
		"wrong header": {httpapi.CSRFHeader, "not-the-token"},
		"empty header": {httpapi.CSRFHeader, ""},
		"almost equal": {httpapi.CSRFHeader, jar.csrf + "x"},
	} {
		r := refresh(jar, extra...)
		if r.Status != http.StatusForbidden || r.str("error") != "csrf_failed" {
			t.Fatalf("refresh with %s: %d %s; want 403 csrf_failed", name, r.Status, r.Raw)
		}
		if len(r.Header.Values("Set-Cookie")) != 0 {
			t.Fatalf("refresh with %s set cookies", name)
		}
	}
	if n := rotations(); n != before {
		t.Fatalf("refused refreshes rotated the session: %d rotations, want %d", n, before)
	}
	// Past the grace window, so a rotated-away token would now be reuse.
	e.clock.Advance(time.Minute)
	r = refresh(jar, httpapi.CSRFHeader, jar.csrf)
	if r.Status != http.StatusOK {
		t.Fatalf("the cookie after refused refreshes: %d %s; want 200", r.Status, r.Raw)
	}
	jar = wantAuthCookies(t, r)

	// Logout with a wrong CSRF header: refused, nothing ended.
	logout := func(extra ...string) response {
		h := append([]string{"Cookie", jar.header()}, transport...)
		return e.do("POST", "/auth/logout", map[string]any{}, append(h, extra...)...)
	}
	wantError(t, logout(httpapi.CSRFHeader, "not-the-token"), http.StatusForbidden, "csrf_failed")
	rotations() // fails the test if the session is gone

	// Logout: 204, both cookies cleared, the refresh cookie dead.
	r = logout(httpapi.CSRFHeader, jar.csrf)
	if r.Status != http.StatusNoContent {
		t.Fatalf("cookie logout: %d %s", r.Status, r.Raw)
	}
	cs := setCookies(t, r)
	for _, name := range []string{httpapi.RefreshCookie, httpapi.CSRFCookie} {
		c := cs[name]
		if c == nil || c.MaxAge >= 0 || c.Value != "" || c.Path != "/auth" {
			t.Fatalf("logout: %s cookie %v; want cleared (empty, Max-Age<=0, Path=/auth)", name, c)
		}
		if !strings.Contains(c.Raw, "Max-Age=0") {
			t.Fatalf("logout: %s cookie %q lacks Max-Age=0", name, c.Raw)
		}
	}
	wantError(t, refresh(jar, httpapi.CSRFHeader, jar.csrf), http.StatusUnauthorized, "invalid_grant")
	wantError(t, e.refresh(jar.refresh), http.StatusUnauthorized, "invalid_grant")
}
