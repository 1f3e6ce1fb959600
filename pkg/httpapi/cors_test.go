package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// TestPreflight: every route answers its CORS preflight itself, without
// authentication, with the one policy; credentials only for a named origin.
func TestPreflight(t *testing.T) {
	for _, origin := range []string{"*", "https://app.example.com"} {
		t.Run(origin, func(t *testing.T) {
			api := newAPI(t, memory.New())
			api.CORSOrigin = origin
			routes := map[string]httpapi.Handler{
				"/auth/signup": api.Signup, "/auth/login": api.Login, "/auth/refresh": api.Refresh,
				"/auth/logout": api.Logout, "/auth/sessions": api.Sessions, "/auth/password": api.Password,
				"/.well-known/jwks.json": api.JWKS, "/me": api.Me,
			}
			for path, h := range routes {
				req := event(t, path, "")
				req.HTTPMethod = http.MethodOptions
				req.Headers = map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-rotor-refresh-transport"}
				resp, err := h(context.Background(), req)
				if err != nil || resp.StatusCode != http.StatusNoContent || resp.Body != "" {
					t.Fatalf("OPTIONS %s: %d %q %v; want 204, no body", path, resp.StatusCode, resp.Body, err)
				}
				for k, want := range httpapi.PreflightHeaders(origin) {
					if got := resp.Headers[k]; got != want {
						t.Errorf("OPTIONS %s: %s = %q; want %q", path, k, got, want)
					}
				}
				cred, ok := resp.Headers["Access-Control-Allow-Credentials"]
				if named := origin != "*"; ok != named || (named && cred != "true") {
					t.Errorf("OPTIONS %s with origin %s: Access-Control-Allow-Credentials %q (present %v); want true exactly for a named origin", path, origin, cred, ok)
				}
				for _, h := range []string{"Authorization", "Content-Type", httpapi.CSRFHeader, httpapi.TransportHeader} {
					if !strings.Contains(resp.Headers["Access-Control-Allow-Headers"], h) {
						t.Errorf("OPTIONS %s: Access-Control-Allow-Headers %q lacks %s", path, resp.Headers["Access-Control-Allow-Headers"], h)
					}
				}
			}
		})
	}
}

// TestCookieTransportNeedsNamedOrigin: with the CORS origin "*" a request for
// the cookie transport is refused with a 400 that says why, before anything
// is authenticated, rotated or revoked, and no cookie is set.
func TestCookieTransportNeedsNamedOrigin(t *testing.T) {
	api := newAPI(t, memory.New())
	ctx := context.Background()
	if resp, _ := api.Signup(ctx, event(t, "/auth/signup", creds)); resp.StatusCode != http.StatusCreated {
		t.Fatal(resp.Body)
	}
	login, _ := api.Login(ctx, event(t, "/auth/login", creds))
	if login.StatusCode != http.StatusOK {
		t.Fatalf("body-transport login: %d %s", login.StatusCode, login.Body)
	}
	rt := login.Body[strings.Index(login.Body, `"refresh_token":"`)+len(`"refresh_token":"`):]
	rt = rt[:strings.Index(rt, `"`)]

	cases := []struct {
		name, path, body string
		h                httpapi.Handler
	}{
		{"login", "/auth/login", creds, api.Login},
		{"refresh", "/auth/refresh", `{}`, api.Refresh},
		{"refresh with the token in the body", "/auth/refresh", `{"refresh_token":"` + rt + `"}`, api.Refresh},
		{"logout", "/auth/logout", `{}`, api.Logout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := event(t, tc.path, tc.body)
			req.Headers[httpapi.TransportHeader] = "cookie"
			req.Headers["Cookie"] = httpapi.RefreshCookie + "=" + rt + "; " + httpapi.CSRFCookie + "=c"
			req.Headers[httpapi.CSRFHeader] = "c"
			resp, err := tc.h(ctx, req)
			if err != nil || resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `"error":"invalid_request"`) || !strings.Contains(resp.Body, "origin") {
				t.Fatalf("%d %s %v; want 400 invalid_request naming the origin", resp.StatusCode, resp.Body, err)
			}
			if c := resp.MultiValueHeaders["Set-Cookie"]; len(c) != 0 {
				t.Fatalf("Set-Cookie %v on a refused request", c)
			}
		})
	}
	// Nothing was rotated or revoked: the refresh token still works.
	if resp, _ := api.Refresh(ctx, event(t, "/auth/refresh", `{"refresh_token":"`+rt+`"}`)); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh after the refused requests: %d %s", resp.StatusCode, resp.Body)
	}
}
