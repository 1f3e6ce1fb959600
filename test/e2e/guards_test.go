package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/password"
	"github.com/rotor-auth/rotor/pkg/throttle"
)

// TestCookieCSRFEmptyOverHTTP: a browser request carrying the refresh cookie
// but no CSRF value (the rotor_csrf cookie and the X-CSRF-Token header each
// absent or empty) is 403 csrf_failed on refresh and logout, sets no cookie,
// and the session is neither rotated nor ended.
func TestCookieCSRFEmptyOverHTTP(t *testing.T) {
	// No grace window: a token rotated away would be refused on its next
	// use. The cookie transport needs a named CORS origin.
	e := newEnv(t, "memory", func(c *config.Config) {
		c.RefreshGrace = 0
		c.CORSAllowOrigin = "https://app.example.com"
	}, nil)
	const pw = "correct horse battery"
	e.signup("zelda", pw)
	transport := []string{httpapi.TransportHeader, "cookie"}
	jar := wantAuthCookies(t, e.do("POST", "/auth/login", map[string]string{"username": "zelda", "password": pw}, transport...))

	cases := []struct {
		name    string
		cookie  string
		headers []string
	}{
		{"no csrf cookie, no header", httpapi.RefreshCookie + "=" + jar.refresh, nil},
		{"no csrf cookie, empty header", httpapi.RefreshCookie + "=" + jar.refresh, []string{httpapi.CSRFHeader, ""}},
		{"empty csrf cookie, no header", httpapi.RefreshCookie + "=" + jar.refresh + "; " + httpapi.CSRFCookie + "=", nil},
		{"empty csrf cookie, empty header", httpapi.RefreshCookie + "=" + jar.refresh + "; " + httpapi.CSRFCookie + "=", []string{httpapi.CSRFHeader, ""}},
	}
	for _, path := range []string{"/auth/refresh", "/auth/logout"} {
		for _, tc := range cases {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				h := append([]string{"Cookie", tc.cookie}, transport...)
				r := e.do("POST", path, map[string]any{}, append(h, tc.headers...)...)
				wantError(t, r, http.StatusForbidden, "csrf_failed")
				if c := r.Header.Values("Set-Cookie"); len(c) != 0 {
					t.Fatalf("a refused request set cookies: %v", c)
				}
			})
		}
	}
	if r := e.refresh(jar.refresh); r.Status != http.StatusOK {
		t.Fatalf("the refresh cookie after refused requests: %d %s; want 200 (nothing rotated or ended)", r.Status, r.Raw)
	}
}

// TestBodyLimitOverHTTP: a valid login padded with whitespace past
// httpapi.MaxBodyBytes is refused with an error that says the body is too
// large; the same login padded to exactly the limit is served.
func TestBodyLimitOverHTTP(t *testing.T) {
	e := newEnv(t, "memory", nil, nil)
	e.signup("yuki", "correct horse battery")
	login := `{"username":"yuki","password":"correct horse battery"}`
	pad := func(n int) string { return login + strings.Repeat(" ", n-len(login)) }

	r := e.do("POST", "/auth/login", pad(httpapi.MaxBodyBytes+1))
	wantError(t, r, http.StatusBadRequest, "invalid_request")
	if !strings.Contains(r.str("error_description"), "too large") {
		t.Fatalf("error_description %q; want it to say the body is too large", r.str("error_description"))
	}
	if r := e.do("POST", "/auth/login", pad(httpapi.MaxBodyBytes)); r.Status != http.StatusOK {
		t.Fatalf("login padded to exactly the limit: %d %s; want 200", r.Status, r.Raw)
	}
}

// TestBearerWithTrailingJunk: the authorizer refuses a valid access token
// followed by anything, rather than using its first word.
func TestBearerWithTrailingJunk(t *testing.T) {
	e := newEnv(t, "memory", nil, nil)
	e.signup("xena", "correct horse battery")
	p := e.login("xena", "correct horse battery")
	if r := e.me(p.Access); r.Status != http.StatusOK {
		t.Fatalf("/me with the token: %d %s", r.Status, r.Raw)
	}
	for _, junk := range []string{" junk", " " + p.Access, ",junk"} {
		r := e.do("GET", "/me", nil, "Authorization", "Bearer "+p.Access+junk)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("/me with %q after the token: %d %s; want 401", junk, r.Status, r.Raw)
		}
	}
}

// TestChangePasswordBoundsCurrent: a current_password longer than any
// password can be is refused as malformed (400) before any hashing, and is
// not counted as a failed guess.
func TestChangePasswordBoundsCurrent(t *testing.T) {
	e := newEnv(t, "memory", nil, nil)
	const pw = "correct horse battery"
	e.signup("wanda", pw)
	p := e.login("wanda", pw)
	long := strings.Repeat("x", password.MaxLength+1)
	r := e.do("POST", "/auth/password", map[string]string{"current_password": long, "new_password": "another long passphrase"}, bearer(p.Access)...)
	wantError(t, r, http.StatusBadRequest, "invalid_request")
	st, err := e.store.GetAttempts(testenv.Context(t), throttle.SessionKey(sessionOf(t, p.Refresh)))
	if err != nil || st.Failures != 0 {
		t.Fatalf("attempts after a malformed current_password: %+v %v; want none counted", st, err)
	}
	if r := e.me(p.Access); r.Status != http.StatusOK {
		t.Fatalf("/me after the refused change: %d %s", r.Status, r.Raw)
	}
}

// TestLoginPasswordBounds: a password of exactly password.MaxLength bytes
// logs in; one byte more is refused as malformed (400) before any hashing,
// and is not counted as a failed guess.
func TestLoginPasswordBounds(t *testing.T) {
	e := newEnv(t, "memory", nil, nil)
	longest := strings.Repeat("p", password.MaxLength)
	e.signup("vera", longest)
	e.login("vera", longest)
	r := e.do("POST", "/auth/login", map[string]string{"username": "vera", "password": longest + "p"})
	wantError(t, r, http.StatusBadRequest, "invalid_request")
	if st, err := e.store.GetAttempts(testenv.Context(t), throttle.UserKey("vera")); err != nil || st.Failures != 0 {
		t.Fatalf("attempts after an over-long password: %+v %v; want none counted", st, err)
	}
}
