package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// TestRequestURL: the URL a DPoP proof's htu must name, rebuilt from real
// REST API proxy events: the Host the client called and requestContext.path
// (with the stage of an execute-api URL or a custom domain's base path, which
// the top-level path lacks).
func TestRequestURL(t *testing.T) {
	read := func(file string) httpapi.Request {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var req httpapi.Request
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatal(err)
		}
		return req
	}
	login := read("../../events/login.json")
	custom := read("testdata/apigw-request.json")
	custom.Headers["Host"], custom.Path, custom.RequestContext.Path = "auth.example.com", "/v1/auth/refresh", "/v1/auth/refresh"
	custom.RequestContext.DomainName = "auth.example.com"
	noHost := read("testdata/apigw-request.json")
	delete(noHost.Headers, "Host")
	delete(noHost.MultiValueHeaders, "Host")
	// The attacker's Host: API Gateway routes by the domain it serves, but
	// the Host header it hands over is the client's text (a private API's
	// VPC endpoint, a CDN, an x-apigw-api-id request all carry a Host of the
	// caller's choosing). The gateway's domainName wins, as at the authorizer.
	otherHost := read("testdata/apigw-request.json")
	otherHost.Headers["Host"] = "api.other.example"
	noDomain := read("testdata/apigw-request.json")
	noDomain.RequestContext.DomainName = ""
	local := read("testdata/apigw-request.json")
	local.Headers = map[string]string{"host": "127.0.0.1:3000", "X-Forwarded-Proto": "http"}
	local.RequestContext.DomainName = "127.0.0.1:3000"
	local.RequestContext.Path = "/auth/login"
	for _, tc := range []struct {
		name string
		req  httpapi.Request
		want string
	}{
		{"execute-api URL with its stage", login, "https://abcdef1234.execute-api.us-east-1.amazonaws.com/v1/auth/login"},
		{"custom domain with a base path", custom, "https://auth.example.com/v1/auth/refresh"},
		{"no Host header: the domain name", noHost, "https://gy415nuibc.execute-api.us-east-1.amazonaws.com/hello/world"},
		{"a Host the client chose: the domain name", otherHost, "https://gy415nuibc.execute-api.us-east-1.amazonaws.com/hello/world"},
		{"no domain name: the Host header", noDomain, "https://gy415nuibc.execute-api.us-east-1.amazonaws.com/hello/world"},
		{"the local server (plain HTTP)", local, "http://127.0.0.1:3000/auth/login"},
	} {
		if got := httpapi.RequestURL(tc.req); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestTokenEndpointProofForAnotherAPI is the attacker holding a proof the
// client made for another API (a resource server it also calls, whose
// operator or log leaked it) at a path Rotor also serves: replayed here with
// that API's name in the Host header, it must not verify, since the URL a
// proof is checked against is the gateway's domain name, not the Host text.
// Nothing is issued; the same request with the gateway's own URL is.
func TestTokenEndpointProofForAnotherAPI(t *testing.T) {
	now := time.Now()
	api := dpopAPI(t, config.DPoPOptional, now)
	ctx := context.Background()
	if resp, _ := api.Signup(ctx, event(t, "/auth/signup", creds)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d %s", resp.StatusCode, resp.Body)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	req := event(t, "/auth/login", creds)
	foreign, err := dpop.NewProof(key, dpop.Request{Method: http.MethodPost, URL: "https://api.other.example" + req.RequestContext.Path, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	replayed := req
	replayed.Headers = map[string]string{"Content-Type": "application/json", "Host": "api.other.example", "DPoP": foreign}
	replayed.MultiValueHeaders = nil
	resp, _ := api.Login(ctx, replayed)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `"invalid_dpop_proof"`) {
		t.Fatalf("another API's proof with its Host: %d %s", resp.StatusCode, resp.Body)
	}
	own, err := dpop.NewProof(key, dpop.Request{Method: http.MethodPost, URL: "https://" + req.RequestContext.DomainName + req.RequestContext.Path, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	honest := req
	honest.Headers = map[string]string{"Content-Type": "application/json", "Host": req.Headers["Host"], "DPoP": own}
	honest.MultiValueHeaders = nil
	resp, _ = api.Login(ctx, honest)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"token_type":"DPoP"`) {
		t.Fatalf("a proof for the gateway's URL: %d %s", resp.StatusCode, resp.Body)
	}
}

// dpopAPI is an API with DPoP in mode, its clock fixed at now.
func dpopAPI(t testing.TB, mode string, now time.Time) *httpapi.API {
	t.Helper()
	cfg := config.Default()
	cfg.StoreTimeout = time.Minute
	cfg.DPoP = mode
	api := testapi.API(t, cfg, testapi.Deps(t, cfg, memory.New(), nil))
	api.Auth.Now = func() time.Time { return now }
	return api
}

// TestTokenEndpointProofHeaders: one DPoP header exactly; two (as API
// Gateway hands them over, in multiValueHeaders) are refused even when both
// are valid proofs, and nothing is issued.
func TestTokenEndpointProofHeaders(t *testing.T) {
	now := time.Now()
	api := dpopAPI(t, config.DPoPOptional, now)
	ctx := context.Background()
	if resp, _ := api.Signup(ctx, event(t, "/auth/signup", creds)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d %s", resp.StatusCode, resp.Body)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	req := event(t, "/auth/login", creds)
	proof := func() string {
		p, err := dpop.NewProof(key, dpop.Request{Method: http.MethodPost, URL: httpapi.RequestURL(req), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	two := req
	two.MultiValueHeaders = map[string][]string{"DPoP": {proof(), proof()}}
	two.Headers = map[string]string{"Content-Type": "application/json", "Host": req.Headers["Host"], "DPoP": proof()}
	resp, _ := api.Login(ctx, two)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `"invalid_dpop_proof"`) {
		t.Fatalf("two proofs: %d %s", resp.StatusCode, resp.Body)
	}
	one := req
	one.Headers = map[string]string{"Content-Type": "application/json", "Host": req.Headers["Host"], "dpop": proof()}
	resp, _ = api.Login(ctx, one)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"token_type":"DPoP"`) {
		t.Fatalf("one proof: %d %s", resp.StatusCode, resp.Body)
	}
}

// FuzzTokenDPoP sends fuzzed DPoP headers (and fuzzed bodies) to the token
// endpoints with DPoP optional: no input panics or gets a 5xx other than
// 503, and a refused proof is the contract's invalid_dpop_proof.
func FuzzTokenDPoP(f *testing.F) {
	now := time.Now()
	api := dpopAPI(f, config.DPoPOptional, now)
	cheapLogins(api)
	ctx := context.Background()
	if resp, _ := api.Signup(ctx, event(f, "/auth/signup", creds)); resp.StatusCode != http.StatusCreated {
		f.Fatalf("signup: %d %s", resp.StatusCode, resp.Body)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	routes := []route{
		{http.MethodPost, "/auth/login", (*httpapi.API).Login},
		{http.MethodPost, "/auth/refresh", (*httpapi.API).Refresh},
		{http.MethodPost, "/oauth/token", (*httpapi.API).Token},
		{http.MethodPost, httpapi.RouteMFAVerify, (*httpapi.API).MFA},
		{http.MethodPost, httpapi.RoutePasskeyLogin, (*httpapi.API).Passkeys},
		{http.MethodPost, "/auth/logout", (*httpapi.API).Logout},
	}
	for i, r := range routes {
		req := event(f, r.path, "")
		p, err := dpop.NewProof(key, dpop.Request{Method: r.method, URL: httpapi.RequestURL(req), Now: now})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), creds, p, "")
		f.Add(uint8(i), creds, p+p, "DPoP x")
		f.Add(uint8(i), `{"refresh_token":"rtr_x"}`, strings.Replace(p, ".", "..", 1), "")
	}
	f.Add(uint8(0), creds, "eyJhbGciOiJub25lIiwidHlwIjoiZHBvcCtqd3QifQ.e30.", "")
	f.Fuzz(func(t *testing.T, which uint8, body, proof, authorization string) {
		r := routes[int(which)%len(routes)]
		req := event(t, r.path, body)
		req.HTTPMethod = r.method
		req.Headers = map[string]string{"Content-Type": "application/json", "Host": req.Headers["Host"], "DPoP": proof, "Authorization": authorization}
		if r.path == "/oauth/token" {
			req.Headers["Content-Type"] = "application/x-www-form-urlencoded"
		}
		resp, err := r.call(api, ctx, req)
		if err != nil {
			t.Fatalf("%s: handler error %v", r.path, err)
		}
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s %q: %d %s", r.path, proof, resp.StatusCode, resp.Body)
		}
		var e map[string]any
		if resp.StatusCode >= 400 && (json.Unmarshal([]byte(resp.Body), &e) != nil || e["error"] == nil) {
			t.Fatalf("%s: error body %q", r.path, resp.Body)
		}
	})
}

// BenchmarkRefresh is POST /auth/refresh through the handler on the
// embedded store, without a proof and with one (ES256: the proof's
// signature checked, its jti spent, the session's key in the rotation's
// condition). The client's signing is outside the timer.
func BenchmarkRefresh(b *testing.B) {
	for _, withProof := range []bool{false, true} {
		name := "bearer"
		if withProof {
			name = "dpop"
		}
		b.Run(name, func(b *testing.B) {
			now := time.Now()
			api := dpopAPI(b, config.DPoPOptional, now)
			cheapLogins(api)
			ctx := context.Background()
			if resp, _ := api.Signup(ctx, event(b, "/auth/signup", creds)); resp.StatusCode != http.StatusCreated {
				b.Fatalf("signup: %d", resp.StatusCode)
			}
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			with := func(req httpapi.Request) httpapi.Request {
				req.Headers = map[string]string{"Content-Type": "application/json", "Host": req.Headers["Host"]}
				req.MultiValueHeaders = nil
				if withProof {
					p, err := dpop.NewProof(key, dpop.Request{Method: http.MethodPost, URL: httpapi.RequestURL(req), Now: now})
					if err != nil {
						b.Fatal(err)
					}
					req.Headers["DPoP"] = p
				}
				return req
			}
			resp, _ := api.Login(ctx, with(event(b, "/auth/login", creds)))
			var out struct {
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || out.RefreshToken == "" {
				b.Fatalf("login: %d %s", resp.StatusCode, resp.Body)
			}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				req := with(event(b, "/auth/refresh", `{"refresh_token":"`+out.RefreshToken+`"}`))
				b.StartTimer()
				resp, _ := api.Refresh(ctx, req)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("refresh: %d %s", resp.StatusCode, resp.Body)
				}
				b.StopTimer()
				_ = json.Unmarshal([]byte(resp.Body), &out)
				b.StartTimer()
			}
		})
	}
}

// TestLogoutProofReplayWithDPoPOff is the attacker who captured the owner's
// POST /auth/logout (a bound access token and its proof) on a deployment
// whose token endpoints were switched to ROTOR_DPOP=off after the token was
// bound: the route still checks the proof. Replayed within the proof's
// minute with {"all": true} it would turn the owner's logout of one session
// into the end of every session. It is refused (the token's session ended
// with the owner's request, which the token check reads; the jti is only
// spent in a per-request cache when DPoP is off), and the owner's other
// session goes on.
func TestLogoutProofReplayWithDPoPOff(t *testing.T) {
	now := time.Now()
	api := dpopAPI(t, config.DPoPOptional, now)
	ctx := context.Background()
	if resp, _ := api.Signup(ctx, event(t, "/auth/signup", creds)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d %s", resp.StatusCode, resp.Body)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	login := event(t, "/auth/login", creds)
	p, err := dpop.NewProof(key, dpop.Request{Method: http.MethodPost, URL: httpapi.RequestURL(login), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	login.Headers["DPoP"] = p
	resp, _ := api.Login(ctx, login)
	var bound struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &bound); err != nil || bound.TokenType != "DPoP" {
		t.Fatalf("bound login: %d %s", resp.StatusCode, resp.Body)
	}
	resp, _ = api.Login(ctx, event(t, "/auth/login", creds)) // the owner's other, bearer session
	var other struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &other); err != nil || other.RefreshToken == "" {
		t.Fatalf("bearer login: %d %s", resp.StatusCode, resp.Body)
	}

	api.DPoP = nil // ROTOR_DPOP=off at the token functions
	logout := event(t, "/auth/logout", `{}`)
	proof, err := dpop.NewProof(key, dpop.Request{Method: http.MethodPost, URL: httpapi.RequestURL(logout), AccessToken: bound.AccessToken, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	logout.Headers["Authorization"] = "DPoP " + bound.AccessToken
	logout.Headers["DPoP"] = proof
	if resp, _ := api.Logout(ctx, logout); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("the owner's logout: %d %s", resp.StatusCode, resp.Body)
	}
	replay := logout
	replay.Body = `{"all":true}`
	if resp, _ := api.Logout(ctx, replay); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the replayed proof with all: %d %s, want 401", resp.StatusCode, resp.Body)
	}
	if resp, _ := api.Refresh(ctx, event(t, "/auth/refresh", `{"refresh_token":"`+other.RefreshToken+`"}`)); resp.StatusCode != http.StatusOK {
		t.Fatalf("the owner's other session after the replay: %d %s", resp.StatusCode, resp.Body)
	}
}
