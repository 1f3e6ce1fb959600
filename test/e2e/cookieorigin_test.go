package e2e

import (
	"net/http"
	"testing"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

// TestCookieTransportOrigin: with the CORS origin "*" the cookie transport
// is refused with a 400 that names the setting, and no cookie is set; with a
// named origin it works and the answer allows credentials.
func TestCookieTransportOrigin(t *testing.T) {
	const pw = "correct horse battery"
	creds := map[string]string{"username": "petra", "password": pw}
	transport := []string{httpapi.TransportHeader, "cookie", "Origin", "https://app.example.com"}

	e := newEnv(t, "memory", nil, nil)
	e.signup("petra", pw)
	r := e.do("POST", "/auth/login", creds, transport...)
	wantError(t, r, http.StatusBadRequest, "invalid_request")
	if c := r.Header.Values("Set-Cookie"); len(c) != 0 {
		t.Fatalf("Set-Cookie %v on a refused cookie login", c)
	}
	if r.Header.Get("Access-Control-Allow-Credentials") != "" || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("origin * answers with %v", corsOf(r.Header))
	}

	named := newEnv(t, "memory", func(c *config.Config) { c.CORSAllowOrigin = "https://app.example.com" }, nil)
	named.signup("petra", pw)
	r = named.do("POST", "/auth/login", creds, transport...)
	if r.Status != http.StatusOK {
		t.Fatalf("cookie login with a named origin: %d %s", r.Status, r.Raw)
	}
	wantAuthCookies(t, r)
	if r.Header.Get("Access-Control-Allow-Credentials") != "true" || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("named origin answers with %v", corsOf(r.Header))
	}
}
