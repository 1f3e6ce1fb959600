package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// strictAPI is an API with no refresh grace window and a named CORS origin: a refresh token that was
// rotated away, or whose session ended, is refused on its next use. A test
// can then prove "nothing was rotated" by refreshing once more.
func strictAPI(t *testing.T) *httpapi.API {
	t.Helper()
	cfg := config.Default()
	cfg.StoreTimeout = time.Minute // a hang guard: no wall clock decides a test (docs/TESTING.md)
	cfg.RefreshGrace = 0
	cfg.CORSAllowOrigin = "https://app.example.com" // the cookie transport needs one origin
	api := testapi.API(t, cfg, testapi.Deps(t, cfg, memory.New(), nil))
	return api
}

// apiError decodes an error response's code and public text.
func apiError(t *testing.T, resp httpapi.Response) (code, description string) {
	t.Helper()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("error body %q: %v", resp.Body, err)
	}
	return body.Error, body.Description
}

// signedIn is one session of the user of creds.
type signedIn struct {
	access, refresh string
	context         map[string]any // what the authorizer would put in requestContext.authorizer
}

// signUp registers the user of creds.
func signUp(t *testing.T, api *httpapi.API) {
	t.Helper()
	if resp, _ := api.Signup(context.Background(), event(t, "/auth/signup", creds)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d %s", resp.StatusCode, resp.Body)
	}
}

// logIn opens a new session for the user of creds.
func logIn(t *testing.T, api *httpapi.API) signedIn {
	t.Helper()
	ctx := context.Background()
	resp, _ := api.Login(ctx, event(t, "/auth/login", creds))
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	claims, err := api.Verifier.Verify(ctx, out.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return signedIn{
		access:  out.AccessToken,
		refresh: out.RefreshToken,
		context: map[string]any{"user_id": claims.Subject, "username": claims.Username, "session_id": claims.SessionID},
	}
}

// stillRefreshes fails the test unless rt is still the session's current
// refresh token: not rotated away, not revoked (the API has no grace window).
func stillRefreshes(t *testing.T, api *httpapi.API, rt string) {
	t.Helper()
	resp, _ := api.Refresh(context.Background(), event(t, "/auth/refresh", `{"refresh_token":"`+rt+`"}`))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the refresh token no longer refreshes (%d %s): a refused request rotated or ended the session", resp.StatusCode, resp.Body)
	}
}

// TestBodyLimit: a body over httpapi.MaxBodyBytes is refused before it is
// decoded, with an error that says why, even when it is a valid request
// padded with whitespace; a body of exactly the limit is served.
func TestBodyLimit(t *testing.T) {
	padded := func(n int) string { return creds + strings.Repeat(" ", n-len(creds)) }
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name    string
		body    string
		base64  bool
		tooBig  bool
		wantLen int // the decoded size, to keep the table honest
	}{
		{name: "valid login padded to the limit", body: padded(httpapi.MaxBodyBytes), wantLen: httpapi.MaxBodyBytes},
		{name: "valid login one byte past the limit", body: padded(httpapi.MaxBodyBytes + 1), tooBig: true, wantLen: httpapi.MaxBodyBytes + 1},
		{name: "valid login padded to 1 MiB", body: padded(1 << 20), tooBig: true, wantLen: 1 << 20},
		{name: "base64 login padded to the limit", body: b64(padded(httpapi.MaxBodyBytes)), base64: true, wantLen: httpapi.MaxBodyBytes},
		{name: "base64 login one byte past the limit", body: b64(padded(httpapi.MaxBodyBytes + 1)), base64: true, tooBig: true, wantLen: httpapi.MaxBodyBytes + 1},
		// Checked before decoding: a huge base64 body is too large, not
		// "invalid base64" after decoding it.
		{name: "1 MiB of invalid base64", body: strings.Repeat("!", 1<<20), base64: true, tooBig: true},
	}
	api := newAPI(t, memory.New())
	ctx := context.Background()
	signUp(t, api)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantLen > 0 {
				n := len(tc.body)
				if tc.base64 {
					n = base64.StdEncoding.DecodedLen(len(tc.body)) - strings.Count(tc.body, "=")
				}
				if n != tc.wantLen {
					t.Fatalf("test body is %d bytes, want %d", n, tc.wantLen)
				}
			}
			req := event(t, "/auth/login", tc.body)
			req.IsBase64Encoded = tc.base64
			resp, err := api.Login(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.tooBig {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("got %d %s; want 200 (the limit is inclusive)", resp.StatusCode, resp.Body)
				}
				return
			}
			code, desc := apiError(t, resp)
			if resp.StatusCode != http.StatusBadRequest || code != "invalid_request" || !strings.Contains(desc, "too large") {
				t.Fatalf("got %d %s; want 400 invalid_request saying the body is too large", resp.StatusCode, resp.Body)
			}
		})
	}
}

// TestCookieCSRFEmptyValues: in the cookie transport an empty CSRF token is
// no token. A request carrying the refresh cookie and no CSRF value on either
// side (cookie and header each absent or empty) is 403 csrf_failed, sets no
// cookie, and neither rotates nor ends the session; so is one with a value on
// one side only.
func TestCookieCSRFEmptyValues(t *testing.T) {
	api := strictAPI(t)
	ctx := context.Background()
	signUp(t, api)
	login := event(t, "/auth/login", creds)
	login.Headers[httpapi.TransportHeader] = "cookie"
	resp, _ := api.Login(ctx, login)
	var refresh, csrf string
	for _, line := range resp.MultiValueHeaders["Set-Cookie"] {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatal(err)
		}
		switch c.Name {
		case httpapi.RefreshCookie:
			refresh = c.Value
		case httpapi.CSRFCookie:
			csrf = c.Value
		}
	}
	if resp.StatusCode != http.StatusOK || refresh == "" || csrf == "" {
		t.Fatalf("cookie login: %d %s %v", resp.StatusCode, resp.Body, resp.MultiValueHeaders)
	}

	absent := (*string)(nil)
	empty, real := new(string), &csrf
	cases := []struct {
		name         string
		cookie, head *string // nil: not sent
	}{
		{"no csrf cookie, no header", absent, absent},
		{"no csrf cookie, empty header", absent, empty},
		{"empty csrf cookie, no header", empty, absent},
		{"empty csrf cookie, empty header", empty, empty},
		{"csrf cookie, no header", real, absent},
		{"csrf cookie, empty header", real, empty},
		{"no csrf cookie, header", absent, real},
		{"empty csrf cookie, header", empty, real},
	}
	routes := []struct {
		name   string
		path   string
		handle httpapi.Handler
	}{
		{"refresh", "/auth/refresh", api.Refresh},
		{"logout", "/auth/logout", api.Logout},
	}
	for _, route := range routes {
		for _, tc := range cases {
			t.Run(route.name+"/"+tc.name, func(t *testing.T) {
				req := event(t, route.path, `{}`)
				req.Headers[httpapi.TransportHeader] = "cookie"
				cookie := httpapi.RefreshCookie + "=" + refresh
				if tc.cookie != nil {
					cookie += "; " + httpapi.CSRFCookie + "=" + *tc.cookie
				}
				req.Headers["Cookie"] = cookie
				if tc.head != nil {
					req.Headers[httpapi.CSRFHeader] = *tc.head
				}
				resp, err := route.handle(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if code, _ := apiError(t, resp); resp.StatusCode != http.StatusForbidden || code != "csrf_failed" {
					t.Fatalf("got %d %s; want 403 csrf_failed", resp.StatusCode, resp.Body)
				}
				if c := resp.MultiValueHeaders["Set-Cookie"]; len(c) != 0 {
					t.Fatalf("a refused request set cookies: %v", c)
				}
			})
		}
	}
	stillRefreshes(t, api, refresh)
}

// TestProtectedRoutesNeedAuthorizerContext: /me, /auth/sessions and
// /auth/password deployed without the authorizer (no identity in the request
// context) answer 401 invalid_token and touch nothing, never serve the
// request anonymously. The same requests with the identity succeed.
func TestProtectedRoutesNeedAuthorizerContext(t *testing.T) {
	api := strictAPI(t)
	ctx := context.Background()
	signUp(t, api)
	u := logIn(t, api)
	sid, _ := u.context["session_id"].(string)
	uid, _ := u.context["user_id"].(string)

	type route struct {
		name   string
		method string
		path   string
		body   string
		params map[string]string
		handle httpapi.Handler
		ok     int
	}
	routes := []route{
		{name: "GET /me", method: http.MethodGet, path: "/me", handle: api.Me, ok: http.StatusOK},
		{name: "GET /auth/sessions", method: http.MethodGet, path: "/auth/sessions", handle: api.Sessions, ok: http.StatusOK},
		{name: "DELETE /auth/sessions/{id}", method: http.MethodDelete, path: "/auth/sessions/" + sid, params: map[string]string{"id": sid}, handle: api.Sessions, ok: http.StatusNoContent},
		{name: "POST /auth/password", method: http.MethodPost, path: "/auth/password", body: `{"current_password":"correct horse battery","new_password":"another long passphrase"}`, handle: api.Password, ok: http.StatusNoContent},
	}
	contexts := []struct {
		name string
		ctx  map[string]any
	}{
		{"no authorizer context", nil},
		{"empty authorizer context", map[string]any{}},
		{"another authorizer's context", map[string]any{"principalId": uid, "clientId": 1}},
		{"user without session", map[string]any{"user_id": uid, "username": "alice"}},
		{"session without user", map[string]any{"session_id": sid, "username": "alice"}},
		{"empty user", map[string]any{"user_id": "", "username": "alice", "session_id": sid}},
		{"empty session", map[string]any{"user_id": uid, "username": "alice", "session_id": ""}},
		{"values not strings", map[string]any{"user_id": 42, "session_id": 7}},
	}
	request := func(t *testing.T, r route, authz map[string]any) httpapi.Request {
		req := event(t, r.path, r.body)
		req.HTTPMethod = r.method
		req.PathParameters = r.params
		req.RequestContext.Authorizer = authz
		return req
	}
	for _, r := range routes {
		for _, c := range contexts {
			t.Run(r.name+"/"+c.name, func(t *testing.T) {
				resp, err := r.handle(ctx, request(t, r, c.ctx))
				if err != nil {
					t.Fatal(err)
				}
				if code, _ := apiError(t, resp); resp.StatusCode != http.StatusUnauthorized || code != "invalid_token" {
					t.Fatalf("got %d %s; want 401 invalid_token", resp.StatusCode, resp.Body)
				}
			})
		}
	}
	// Nothing was touched: the session is alive and the password unchanged.
	stillRefreshes(t, api, u.refresh)
	if resp, _ := api.Login(ctx, event(t, "/auth/login", creds)); resp.StatusCode != http.StatusOK {
		t.Fatalf("login with the old password after refused changes: %d %s", resp.StatusCode, resp.Body)
	}

	// The same requests with the identity are served: the refusals above
	// came from the missing identity, not from the requests.
	u = logIn(t, api)
	// DELETE ends another session of the user's: after its own, the
	// caller's token could change no password (the session has ended).
	other := logIn(t, api)
	for _, r := range routes {
		if r.params != nil {
			r.params = map[string]string{"id": other.context["session_id"].(string)}
		}
		resp, _ := r.handle(ctx, request(t, r, u.context))
		if resp.StatusCode != r.ok {
			t.Fatalf("%s with the authorizer context: %d %s; want %d", r.name, resp.StatusCode, resp.Body, r.ok)
		}
	}
}

// failingKeys is a key source that cannot be read.
type failingKeys struct{}

func (failingKeys) Keys(context.Context) (keys.Set, error) {
	return keys.Set{}, errors.New("keys: secretsmanager: throttled")
}

// TestRefusals: each refusal of the routes, answered with its status and
// code, and nothing else done.
func TestRefusals(t *testing.T) {
	api := strictAPI(t)
	signUp(t, api)
	u := logIn(t, api)
	ctx := context.Background()
	cookie := func(path, body string, headers map[string]string) httpapi.Request {
		req := event(t, path, body)
		req.Headers[httpapi.TransportHeader] = "cookie"
		for k, v := range headers {
			req.Headers[k] = v
		}
		return req
	}
	cases := []struct {
		name   string
		handle httpapi.Handler
		req    httpapi.Request
		status int
		code   string
		says   string // part of the public description
	}{
		{"body is an array", api.Login, event(t, "/auth/login", `[1]`), 400, "invalid_request", "JSON object"},
		{"body is a string", api.Login, event(t, "/auth/login", `"alice"`), 400, "invalid_request", "JSON object"},
		{"field of the wrong type", api.Login, event(t, "/auth/login", `{"username":1,"password":"x"}`), 400, "invalid_request", `username"`},
		{"cookie refresh without the refresh cookie", api.Refresh,
			cookie("/auth/refresh", `{}`, map[string]string{"Cookie": httpapi.CSRFCookie + "=c", httpapi.CSRFHeader: "c"}), 401, "invalid_grant", "cookie"},
		{"cookie logout without the refresh cookie", api.Logout,
			cookie("/auth/logout", `{}`, map[string]string{"Cookie": httpapi.CSRFCookie + "=c", httpapi.CSRFHeader: "c"}), 401, "invalid_grant", "cookie"},
		{"logout with a refresh token and all", api.Logout, event(t, "/auth/logout", `{"refresh_token":"`+u.refresh+`","all":true}`), 400, "invalid_request", "not both"},
		{"logout with nothing", api.Logout, event(t, "/auth/logout", `{}`), 400, "invalid_request", "refresh_token"},
		{"text/plain body", api.Login, func() httpapi.Request {
			req := event(t, "/auth/login", creds)
			req.Headers["Content-Type"] = "text/plain"
			return req
		}(), 415, "unsupported_media_type", "application/json"},
		{"malformed Content-Type", api.Login, func() httpapi.Request {
			req := event(t, "/auth/login", creds)
			req.Headers["Content-Type"] = "application/json; charset"
			return req
		}(), 415, "unsupported_media_type", "application/json"},
		{"logout with a bad bearer token", api.Logout, func() httpapi.Request {
			req := event(t, "/auth/logout", `{"all":true}`)
			req.Headers["Authorization"] = "Bearer " + u.access + "x"
			return req
		}(), 401, "invalid_token", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.handle(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			code, desc := apiError(t, resp)
			if resp.StatusCode != tc.status || code != tc.code || !strings.Contains(desc, tc.says) {
				t.Fatalf("got %d %s; want %d %s saying %q", resp.StatusCode, resp.Body, tc.status, tc.code, tc.says)
			}
			if c, ok := resp.MultiValueHeaders["Set-Cookie"]; ok {
				t.Fatalf("a refusal carries Set-Cookie: %v", c)
			}
		})
	}
	stillRefreshes(t, api, u.refresh)

	t.Run("JWKS with the keys unavailable", func(t *testing.T) {
		broken := *api
		broken.Keys = failingKeys{}
		resp, _ := broken.JWKS(ctx, event(t, "/.well-known/jwks.json", ""))
		if code, _ := apiError(t, resp); resp.StatusCode != 503 || code != "temporarily_unavailable" || strings.Contains(resp.Body, "throttled") {
			t.Fatalf("got %d %s; want 503 temporarily_unavailable, the cause kept inside", resp.StatusCode, resp.Body)
		}
	})
}

// TestCookieLogoutClearsCookies: a cookie logout ends the session and tells
// the browser to drop both cookies at once (Max-Age=0, empty values).
func TestCookieLogoutClearsCookies(t *testing.T) {
	api := strictAPI(t)
	signUp(t, api)
	ctx := context.Background()
	login := event(t, "/auth/login", creds)
	login.Headers[httpapi.TransportHeader] = "cookie"
	resp, _ := api.Login(ctx, login)
	jar := map[string]string{}
	for _, line := range resp.MultiValueHeaders["Set-Cookie"] {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatal(err)
		}
		jar[c.Name] = c.Value
	}
	req := event(t, "/auth/logout", `{}`)
	req.Headers[httpapi.TransportHeader] = "cookie"
	req.Headers["Cookie"] = httpapi.RefreshCookie + "=" + jar[httpapi.RefreshCookie] + "; " + httpapi.CSRFCookie + "=" + jar[httpapi.CSRFCookie]
	req.Headers[httpapi.CSRFHeader] = jar[httpapi.CSRFCookie]
	resp, _ = api.Logout(ctx, req)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("cookie logout: %d %s", resp.StatusCode, resp.Body)
	}
	cleared := map[string]bool{}
	for _, line := range resp.MultiValueHeaders["Set-Cookie"] {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatal(err)
		}
		if c.Value != "" || c.MaxAge >= 0 || !strings.Contains(line, "Max-Age=0") || c.Path != "/Prod/auth" || !c.HttpOnly || !c.Secure {
			t.Errorf("Set-Cookie %q: want an empty, expired, HttpOnly, Secure cookie on /Prod/auth", line)
		}
		cleared[c.Name] = true
	}
	if !cleared[httpapi.RefreshCookie] || !cleared[httpapi.CSRFCookie] || len(cleared) != 2 {
		t.Fatalf("cleared %v; want exactly both cookies", cleared)
	}
	refresh, _ := api.Refresh(ctx, event(t, "/auth/refresh", `{"refresh_token":"`+jar[httpapi.RefreshCookie]+`"}`))
	if refresh.StatusCode != http.StatusUnauthorized {
		t.Fatalf("refresh after cookie logout: %d %s; want 401", refresh.StatusCode, refresh.Body)
	}
}

// TestBearerLogoutOfEndedSession: a bearer logout ends the token's session
// (204); the same token again is 401 invalid_token, not a 404 for a
// resource the caller never named.
func TestBearerLogoutOfEndedSession(t *testing.T) {
	api := strictAPI(t)
	signUp(t, api)
	u := logIn(t, api)
	ctx := context.Background()
	logout := func() httpapi.Response {
		req := event(t, "/auth/logout", `{}`)
		req.Headers["Authorization"] = "Bearer " + u.access
		resp, err := api.Logout(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := logout(); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("bearer logout: %d %s; want 204", resp.StatusCode, resp.Body)
	}
	resp := logout()
	if code, _ := apiError(t, resp); resp.StatusCode != http.StatusUnauthorized || code != "invalid_token" {
		t.Fatalf("bearer logout of the ended session: %d %s; want 401 invalid_token", resp.StatusCode, resp.Body)
	}
	refresh, _ := api.Refresh(ctx, event(t, "/auth/refresh", `{"refresh_token":"`+u.refresh+`"}`))
	if refresh.StatusCode != http.StatusUnauthorized {
		t.Fatalf("refresh after bearer logout: %d %s; want 401", refresh.StatusCode, refresh.Body)
	}
}

// TestHeadersFromEitherMap: API Gateway may give a header in headers or
// only in multiValueHeaders; both are read, by name only, and an empty value
// list is no header.
func TestHeadersFromEitherMap(t *testing.T) {
	api := strictAPI(t)
	signUp(t, api)
	ctx := context.Background()
	bare := func(path, body string, multi map[string][]string) httpapi.Request {
		req := event(t, path, body)
		req.Headers = map[string]string{}
		req.MultiValueHeaders = multi
		return req
	}
	t.Run("Content-Type only in multiValueHeaders", func(t *testing.T) {
		resp, _ := api.Login(ctx, bare("/auth/login", creds, map[string][]string{"content-type": {"text/plain"}}))
		if code, _ := apiError(t, resp); resp.StatusCode != http.StatusUnsupportedMediaType || code != "unsupported_media_type" {
			t.Fatalf("got %d %s; want 415: a text/plain body is refused", resp.StatusCode, resp.Body)
		}
	})
	t.Run("application/json only in multiValueHeaders", func(t *testing.T) {
		resp, _ := api.Login(ctx, bare("/auth/login", creds, map[string][]string{"content-type": {"application/json"}}))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %s; want 200", resp.StatusCode, resp.Body)
		}
	})
	t.Run("no Content-Type at all", func(t *testing.T) {
		resp, _ := api.Login(ctx, bare("/auth/login", creds, nil))
		if code, _ := apiError(t, resp); resp.StatusCode != http.StatusUnsupportedMediaType || code != "unsupported_media_type" {
			t.Fatalf("got %d %s; want 415: a JSON route needs application/json", resp.StatusCode, resp.Body)
		}
	})
	t.Run("empty value list", func(t *testing.T) {
		resp, _ := api.Login(ctx, bare("/auth/login", creds, map[string][]string{"Content-Type": {}}))
		if code, _ := apiError(t, resp); resp.StatusCode != http.StatusUnsupportedMediaType || code != "unsupported_media_type" {
			t.Fatalf("got %d %s; want 415: an empty value list is no Content-Type", resp.StatusCode, resp.Body)
		}
	})
	t.Run("another header is not the CSRF header", func(t *testing.T) {
		login := event(t, "/auth/login", creds)
		login.Headers[httpapi.TransportHeader] = "cookie"
		resp, _ := api.Login(ctx, login)
		jar := map[string]string{}
		for _, line := range resp.MultiValueHeaders["Set-Cookie"] {
			c, err := http.ParseSetCookie(line)
			if err != nil {
				t.Fatal(err)
			}
			jar[c.Name] = c.Value
		}
		req := bare("/auth/refresh", `{}`, map[string][]string{"X-Anything": {jar[httpapi.CSRFCookie]}})
		req.Headers[httpapi.TransportHeader] = "cookie"
		req.Headers["Content-Type"] = "application/json"
		req.Headers["Cookie"] = httpapi.RefreshCookie + "=" + jar[httpapi.RefreshCookie] + "; " + httpapi.CSRFCookie + "=" + jar[httpapi.CSRFCookie]
		resp, _ = api.Refresh(ctx, req)
		if code, _ := apiError(t, resp); resp.StatusCode != http.StatusForbidden || code != "csrf_failed" {
			t.Fatalf("got %d %s; want 403 csrf_failed", resp.StatusCode, resp.Body)
		}
	})
}

// TestSessionUserAgent: a session records the user agent API Gateway saw
// (requestContext.identity), falling back to the header.
func TestSessionUserAgent(t *testing.T) {
	api := strictAPI(t)
	signUp(t, api)
	ctx := context.Background()
	for _, tc := range []struct{ identity, header, want string }{
		{"agent-from-identity", "agent-from-header", "agent-from-identity"},
		{"", "agent-from-header", "agent-from-header"},
	} {
		login := event(t, "/auth/login", creds)
		login.RequestContext.Identity.UserAgent = tc.identity
		login.Headers["User-Agent"] = tc.header
		resp, _ := api.Login(ctx, login)
		var out struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("login: %d %s", resp.StatusCode, resp.Body)
		}
		claims, err := api.Verifier.Verify(ctx, out.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		list := event(t, "/auth/sessions", "")
		list.HTTPMethod = http.MethodGet
		list.RequestContext.Authorizer = map[string]any{"user_id": claims.Subject, "username": claims.Username, "session_id": claims.SessionID}
		resp, _ = api.Sessions(ctx, list)
		var got struct {
			Sessions []struct {
				UserAgent string `json:"user_agent"`
				Current   bool   `json:"current"`
			} `json:"sessions"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range got.Sessions {
			if s.Current {
				found = true
				if s.UserAgent != tc.want {
					t.Errorf("identity %q, header %q: session user agent %q; want %q", tc.identity, tc.header, s.UserAgent, tc.want)
				}
			}
		}
		if !found {
			t.Fatalf("no current session in %s", resp.Body)
		}
	}
}

// TestErrorsLoggedOnceAtTheirLevel: the one error path logs a server error
// (5xx) at ERROR with its cause, and a refusal (4xx) at DEBUG only.
func TestErrorsLoggedOnceAtTheirLevel(t *testing.T) {
	var buf strings.Builder
	api := newAPI(t, broken{memory.New()})
	api.Log = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if resp, _ := api.Login(context.Background(), event(t, "/auth/login", creds)); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("login on a broken store: %d", resp.StatusCode)
	}
	if !strings.Contains(buf.String(), `"level":"ERROR"`) || !strings.Contains(buf.String(), "AccessDenied") || strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("a 500 logged %q; want one ERROR line with the cause", buf.String())
	}
	buf.Reset()
	if resp, _ := api.Login(context.Background(), event(t, "/auth/login", `{}`)); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("login without fields: %d", resp.StatusCode)
	}
	if !strings.Contains(buf.String(), `"level":"DEBUG"`) || strings.Contains(buf.String(), `"level":"ERROR"`) {
		t.Fatalf("a 400 logged %q; want DEBUG only", buf.String())
	}
}

// timesOut fails every session delete as a store timeout would.
type timesOut struct{ *memory.Store }

func (timesOut) DeleteSession(context.Context, string, string) error {
	return context.DeadlineExceeded
}

// TestBearerLogoutStoreFailure: a store failure while ending the token's
// session is the server's 503, never a 401 that would tell the client its
// token is bad.
func TestBearerLogoutStoreFailure(t *testing.T) {
	st := memory.New()
	api := newAPI(t, st)
	signUp(t, api)
	u := logIn(t, api)
	failing := newAPI(t, timesOut{st})
	failing.Verifier = api.Verifier
	req := event(t, "/auth/logout", `{}`)
	req.Headers["Authorization"] = "Bearer " + u.access
	resp, _ := failing.Logout(context.Background(), req)
	if code, _ := apiError(t, resp); resp.StatusCode != http.StatusServiceUnavailable || code != "temporarily_unavailable" {
		t.Fatalf("got %d %s; want 503 temporarily_unavailable", resp.StatusCode, resp.Body)
	}
}
