//go:build samlocal

package samlocal_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// api is a running `sam local start-api`.
type api struct {
	base   string
	client *http.Client
}

// startAPI runs `sam local start-api` on a free port until the test ends.
func startAPI(t *testing.T) *api {
	t.Helper()
	return startAPIWith(t)
}

// startAPIWith is startAPI with template parameters set (Name=value).
func startAPIWith(t *testing.T, params ...string) *api {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	logPath := filepath.Join(env.runDir, fmt.Sprintf("start-api-%d.log", port))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	args := env.samArgs("local", "start-api", "--host", "127.0.0.1", "--port", fmt.Sprint(port))
	if len(params) > 0 {
		args = withParams(args, params)
	}
	cmd := env.command(ctx, args)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("sam local start-api: %v", err)
	}
	if err := env.recordPID(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// Ctrl-C, as a user stops it; then the whole process group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cancel()
			<-exited
		}
		cancel()
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("sam local start-api output:\n%s", b)
			}
		}
	})

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("sam local start-api exited: %v\n%s", err, b)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("sam local start-api did not listen on %s within 3 minutes:\n%s", addr, b)
		}
	}
	return &api{base: "http://" + addr, client: &http.Client{Timeout: 2 * time.Minute}}
}

// reply is one HTTP answer of the local API.
type reply struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r reply) str(k string) string { return str(r.json, k) }

func (a *api) do(t *testing.T, method, path string, body any, headers map[string]string) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &r.json)
	return r
}

func expect(t *testing.T, what string, r reply, status int, errCode string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	if errCode != "" && r.str("error") != errCode {
		t.Fatalf("%s: error %q, want %q: %s", what, r.str("error"), errCode, r.body)
	}
}

func bearer(access string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + access}
}

type pair struct{ access, refresh, session string }

func tokenPair(t *testing.T, what string, r reply) pair {
	t.Helper()
	expect(t, what, r, 200, "")
	p := pair{access: r.str("access_token"), refresh: r.str("refresh_token")}
	if p.access == "" || p.refresh == "" || !strings.EqualFold(r.str("token_type"), "Bearer") {
		t.Fatalf("%s: not a token response: %s", what, r.body)
	}
	if n, _ := r.json["expires_in"].(float64); n <= 0 {
		t.Fatalf("%s: expires_in %v", what, r.json["expires_in"])
	}
	p.session = str(claims(t, p.access), "sid")
	return p
}

// forged keeps a token's header and claims and replaces its signature: it
// passes the template's ValidationExpression, so the authorizer runs and
// refuses it.
func forged(access string) string {
	parts := strings.Split(access, ".")
	return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
}

// refusedBySAMLocal is what `sam local start-api` answers when the authorizer
// refuses a token (returns the error "Unauthorized"): 502, where API Gateway
// answers 401. SAM CLI turns any error a function returns, the authorizer's
// included, into 502 (docs/DEPLOY.md §3).
const refusedBySAMLocal = http.StatusBadGateway

// TestStartAPI is the life of a session through `sam local start-api`: every
// protected route passes the real authorizer, state lives in moto.
func TestStartAPI(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	username := fmt.Sprintf("bob-%d", time.Now().UnixNano())
	const password = "correct horse battery staple 42"
	const newPassword = "a different horse battery 43"
	creds := func(pw string) map[string]string { return map[string]string{"username": username, "password": pw} }

	r := a.do(t, "GET", "/.well-known/jwks.json", nil, nil)
	expect(t, "jwks", r, 200, "")
	if keys, _ := r.json["keys"].([]any); len(keys) == 0 {
		t.Fatalf("jwks: no keys: %s", r.body)
	}

	r = a.do(t, "POST", "/auth/signup", creds(password), nil)
	expect(t, "signup", r, 201, "")
	userID := r.str("user_id")
	expect(t, "signup again", a.do(t, "POST", "/auth/signup", creds(password), nil), 409, "username_taken")
	expect(t, "login with a wrong password", a.do(t, "POST", "/auth/login", creds("wrong "+password), nil), 401, "invalid_credentials")

	first := tokenPair(t, "login", a.do(t, "POST", "/auth/login", creds(password), nil))

	r = a.do(t, "GET", "/me", nil, bearer(first.access))
	expect(t, "me", r, 200, "")
	if r.str("user_id") != userID || r.str("username") != username || r.str("session_id") != first.session {
		t.Fatalf("me: %s, want %s %s %s", r.body, userID, username, first.session)
	}
	if r.header.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("me: no Access-Control-Allow-Origin")
	}

	t.Run("no token is 401", func(t *testing.T) {
		expect(t, "me without Authorization", a.do(t, "GET", "/me", nil, nil), 401, "")
	})
	t.Run("a token not matching the ValidationExpression is 401", func(t *testing.T) {
		expect(t, "me with Bearer not-a-jwt", a.do(t, "GET", "/me", nil, bearer("not-a-jwt")), 401, "")
	})
	t.Run("a forged token is refused: 502 under sam local", func(t *testing.T) {
		expect(t, "me with a forged signature", a.do(t, "GET", "/me", nil, bearer(forged(first.access))), refusedBySAMLocal, "")
	})

	second := tokenPair(t, "refresh", a.do(t, "POST", "/auth/refresh", map[string]string{"refresh_token": first.refresh}, nil))
	if second.refresh == first.refresh || second.session != first.session {
		t.Fatalf("refresh: want a new refresh token in the same session, got %+v after %+v", second, first)
	}
	replay := tokenPair(t, "grace replay", a.do(t, "POST", "/auth/refresh", map[string]string{"refresh_token": first.refresh}, nil))
	if replay.refresh != second.refresh {
		t.Fatalf("grace replay: refresh token %q, want the one the first refresh gave (%q)", replay.refresh, second.refresh)
	}
	expect(t, "me after refresh", a.do(t, "GET", "/me", nil, bearer(second.access)), 200, "")

	r = a.do(t, "GET", "/auth/sessions", nil, bearer(second.access))
	expect(t, "sessions", r, 200, "")
	list, _ := r.json["sessions"].([]any)
	if len(list) != 1 {
		t.Fatalf("sessions: %s, want one", r.body)
	}
	if s, _ := list[0].(map[string]any); s["id"] != first.session || s["current"] != true {
		t.Fatalf("sessions: %s, want %s marked current", r.body, first.session)
	}

	expect(t, "logout", a.do(t, "POST", "/auth/logout", map[string]string{"refresh_token": second.refresh}, nil), 204, "")
	expect(t, "refresh after logout", a.do(t, "POST", "/auth/refresh", map[string]string{"refresh_token": second.refresh}, nil), 401, "invalid_grant")
	// env.local.json sets ROTOR_STRICT_SESSIONS: the authorizer sees the session is gone.
	expect(t, "me after logout", a.do(t, "GET", "/me", nil, bearer(second.access)), refusedBySAMLocal, "")

	t.Run("ending a session by id", func(t *testing.T) {
		s1 := tokenPair(t, "login 1", a.do(t, "POST", "/auth/login", creds(password), nil))
		s2 := tokenPair(t, "login 2", a.do(t, "POST", "/auth/login", creds(password), nil))
		expect(t, "delete session 2", a.do(t, "DELETE", "/auth/sessions/"+s2.session, nil, bearer(s1.access)), 204, "")
		expect(t, "delete it again", a.do(t, "DELETE", "/auth/sessions/"+s2.session, nil, bearer(s1.access)), 404, "not_found")
		expect(t, "refresh of the ended session", a.do(t, "POST", "/auth/refresh", map[string]string{"refresh_token": s2.refresh}, nil), 401, "invalid_grant")
		expect(t, "refresh of the other one", a.do(t, "POST", "/auth/refresh", map[string]string{"refresh_token": s1.refresh}, nil), 200, "")
	})

	t.Run("password change ends every session", func(t *testing.T) {
		s1 := tokenPair(t, "login 1", a.do(t, "POST", "/auth/login", creds(password), nil))
		s2 := tokenPair(t, "login 2", a.do(t, "POST", "/auth/login", creds(password), nil))
		expect(t, "password change", a.do(t, "POST", "/auth/password",
			map[string]string{"current_password": password, "new_password": newPassword}, bearer(s1.access)), 204, "")
		expect(t, "refresh of another session", a.do(t, "POST", "/auth/refresh", map[string]string{"refresh_token": s2.refresh}, nil), 401, "invalid_grant")
		expect(t, "me with the changing session's token", a.do(t, "GET", "/me", nil, bearer(s1.access)), refusedBySAMLocal, "")
		expect(t, "login with the old password", a.do(t, "POST", "/auth/login", creds(password), nil), 401, "invalid_credentials")
		tokenPair(t, "login with the new password", a.do(t, "POST", "/auth/login", creds(newPassword), nil))
	})

	t.Run("cookie transport", func(t *testing.T) {
		cookieTransport(t, a, creds(newPassword))
	})
}

// gatewayUnauthorized is `sam local start-api`'s own 401 for a protected
// route called without the authorizer's identity source (the Authorization
// header): its body, as API Gateway's is its gateway response. A 401 from a
// function instead has Rotor's error shape, and means the route ran without
// its authorizer.
const gatewayUnauthorized = "Unauthorized"

// TestStartAPIRestarts: the template as committed keeps every protected
// route behind the authorizer and every preflight open, however SAM CLI
// orders its events, across three starts of `sam local start-api` (each a
// new Python process, a new hash seed, a new order). With a preflight event
// on a protected route's own function, SAM CLI merged the two into one route
// with one authorizer, and at random either the route ran without the
// authorizer (its function refused a good token: 401) or its preflight
// needed a token (aws/aws-sam-cli#9165).
func TestStartAPIRestarts(t *testing.T) {
	t.Parallel()
	username := fmt.Sprintf("carol-%d", time.Now().UnixNano())
	passwords := []string{"correct horse battery staple 42", "a different horse battery 43"}
	creds := func(pw string) map[string]string { return map[string]string{"username": username, "password": pw} }
	var userID string
	for start := 1; start <= 3; start++ {
		t.Run(fmt.Sprintf("start %d", start), func(t *testing.T) {
			a := startAPI(t)
			password, next := passwords[start%2], passwords[(start+1)%2]
			if start == 1 {
				r := a.do(t, "POST", "/auth/signup", creds(password), nil)
				expect(t, "signup", r, 201, "")
				userID = r.str("user_id")
			}
			s1 := tokenPair(t, "login", a.do(t, "POST", "/auth/login", creds(password), nil))
			s2 := tokenPair(t, "second login", a.do(t, "POST", "/auth/login", creds(password), nil))

			// Each protected path: its preflight needs no token, the route
			// refuses a request without one at the gateway, and lets a good
			// token through the authorizer.
			for _, path := range []string{"/me", "/auth/sessions", "/auth/sessions/" + s2.session, "/auth/password"} {
				r := a.do(t, "OPTIONS", path, nil, map[string]string{
					"Origin": webOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type",
				})
				expect(t, "preflight "+path+" without a token", r, 204, "")
				if got := r.header.Get("Access-Control-Allow-Origin"); got != webOrigin {
					t.Errorf("preflight %s: Access-Control-Allow-Origin %q, want %q", path, got, webOrigin)
				}
			}
			for _, rt := range []struct{ method, path string }{
				{"GET", "/me"}, {"GET", "/auth/sessions"}, {"DELETE", "/auth/sessions/" + s2.session}, {"POST", "/auth/password"},
			} {
				var body any
				if rt.method == "POST" {
					body = map[string]string{"current_password": password, "new_password": next}
				}
				r := a.do(t, rt.method, rt.path, body, nil)
				expect(t, rt.method+" "+rt.path+" without a token", r, 401, "")
				if r.str("message") != gatewayUnauthorized {
					t.Fatalf("%s %s without a token: 401 %s, want the gateway's (%q): the route ran without its authorizer", rt.method, rt.path, r.body, gatewayUnauthorized)
				}
			}

			r := a.do(t, "GET", "/me", nil, bearer(s1.access))
			expect(t, "me", r, 200, "")
			if r.str("user_id") != userID || r.str("session_id") != s1.session {
				t.Fatalf("me: %s, want user %s, session %s", r.body, userID, s1.session)
			}
			r = a.do(t, "GET", "/auth/sessions", nil, bearer(s1.access))
			expect(t, "sessions", r, 200, "")
			if list, _ := r.json["sessions"].([]any); len(list) < 2 {
				t.Fatalf("sessions: %s, want both logins", r.body)
			}
			expect(t, "end the second session", a.do(t, "DELETE", "/auth/sessions/"+s2.session, nil, bearer(s1.access)), 204, "")
			expect(t, "password change", a.do(t, "POST", "/auth/password",
				map[string]string{"current_password": password, "new_password": next}, bearer(s1.access)), 204, "")
			expect(t, "login with the new password", a.do(t, "POST", "/auth/login", creds(next), nil), 200, "")
		})
		if t.Failed() {
			return
		}
	}
}

// cookieTransport: the browser's preflight, then login, refresh and logout
// with the refresh token in an HttpOnly cookie and a double-submit CSRF token.
func cookieTransport(t *testing.T, a *api, creds map[string]string) {
	const origin = webOrigin
	for _, path := range []string{"/auth/login", "/auth/refresh", "/auth/logout"} {
		r := a.do(t, "OPTIONS", path, nil, map[string]string{
			"Origin":                         origin,
			"Access-Control-Request-Method":  "POST",
			"Access-Control-Request-Headers": "content-type,x-csrf-token,x-rotor-refresh-transport",
		})
		if r.status != 200 && r.status != 204 {
			t.Fatalf("preflight %s: status %d: %s", path, r.status, r.body)
		}
		if o := r.header.Get("Access-Control-Allow-Origin"); o != origin {
			t.Errorf("preflight %s: Access-Control-Allow-Origin %q, want %q", path, o, origin)
		}
		if c := r.header.Get("Access-Control-Allow-Credentials"); c != "true" {
			t.Errorf("preflight %s: Access-Control-Allow-Credentials %q, want true (the refresh cookie is a credential)", path, c)
		}
		if m := strings.ToUpper(r.header.Get("Access-Control-Allow-Methods")); !strings.Contains(m, "POST") {
			t.Errorf("preflight %s: Access-Control-Allow-Methods %q lacks POST", path, m)
		}
		allowed := strings.ToLower(r.header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"content-type", "x-csrf-token", "x-rotor-refresh-transport"} {
			if !strings.Contains(allowed, h) {
				t.Errorf("preflight %s: Access-Control-Allow-Headers %q lacks %s: a browser would not send the cookie transport's request", path, allowed, h)
			}
		}
	}

	transport := map[string]string{"X-Rotor-Refresh-Transport": "cookie", "Origin": origin}
	r := a.do(t, "POST", "/auth/login", creds, transport)
	expect(t, "cookie login", r, 200, "")
	if r.str("refresh_token") != "" || r.str("csrf_token") == "" || r.str("access_token") == "" {
		t.Fatalf("cookie login: want an access token and a CSRF token, no refresh token in the body: %s", r.body)
	}
	jar := cookies(t, "cookie login", r)
	if jar["rotor_csrf"] != r.str("csrf_token") {
		t.Fatalf("cookie login: rotor_csrf cookie %q, body csrf_token %q", jar["rotor_csrf"], r.str("csrf_token"))
	}
	cookieHeader := func(jar map[string]string) string {
		return "rotor_refresh=" + jar["rotor_refresh"] + "; rotor_csrf=" + jar["rotor_csrf"]
	}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{}
		for k, v := range transport {
			h[k] = v
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}

	expect(t, "cookie refresh without X-CSRF-Token", a.do(t, "POST", "/auth/refresh", map[string]string{},
		with(map[string]string{"Cookie": cookieHeader(jar)})), 403, "csrf_failed")
	r = a.do(t, "POST", "/auth/refresh", map[string]string{},
		with(map[string]string{"Cookie": cookieHeader(jar), "X-CSRF-Token": jar["rotor_csrf"]}))
	expect(t, "cookie refresh", r, 200, "")
	next := cookies(t, "cookie refresh", r)
	if next["rotor_refresh"] == jar["rotor_refresh"] {
		t.Fatalf("cookie refresh: the refresh cookie did not roll")
	}
	r = a.do(t, "POST", "/auth/logout", map[string]string{},
		with(map[string]string{"Cookie": cookieHeader(next), "X-CSRF-Token": next["rotor_csrf"]}))
	expect(t, "cookie logout", r, 204, "")
	for _, c := range r.header.Values("Set-Cookie") {
		if !strings.Contains(c, "Max-Age=0") {
			t.Errorf("cookie logout: %q does not clear the cookie", c)
		}
	}
	expect(t, "refresh after cookie logout", a.do(t, "POST", "/auth/refresh", map[string]string{"refresh_token": next["rotor_refresh"]}, nil), 401, "invalid_grant")
}

// cookies reads the transport's two cookies and checks their attributes.
func cookies(t *testing.T, what string, r reply) map[string]string {
	t.Helper()
	jar := map[string]string{}
	resp := http.Response{Header: r.header}
	for _, c := range resp.Cookies() {
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || !strings.HasSuffix(c.Path, "/auth") {
			t.Errorf("%s: cookie %s lacks HttpOnly, Secure, SameSite=Strict or Path=.../auth: %s", what, c.Name, c.Raw)
		}
		jar[c.Name] = c.Value
	}
	if jar["rotor_refresh"] == "" || jar["rotor_csrf"] == "" {
		t.Fatalf("%s: want cookies rotor_refresh and rotor_csrf, got Set-Cookie %q", what, r.header.Values("Set-Cookie"))
	}
	return jar
}
