package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// formEvent is the sample event carrying a form body.
func formEvent(t *testing.T, path, body string, headers ...string) httpapi.Request {
	t.Helper()
	req := event(t, path, body)
	req.Headers = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	req.MultiValueHeaders = nil
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			delete(req.Headers, headers[i])
			continue
		}
		req.Headers[headers[i]] = headers[i+1]
	}
	return req
}

type oauthAnswer struct {
	status int
	header map[string]string
	body   map[string]any
}

func (a oauthAnswer) str(k string) string { s, _ := a.body[k].(string); return s }

func call(t *testing.T, h httpapi.Handler, req httpapi.Request) oauthAnswer {
	t.Helper()
	resp, err := h(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	out := oauthAnswer{status: resp.StatusCode, header: resp.Headers}
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &out.body); err != nil {
			t.Fatalf("body %q: %v", resp.Body, err)
		}
	}
	if len(resp.MultiValueHeaders["Set-Cookie"]) > 0 {
		t.Errorf("an OAuth endpoint set cookies: %v", resp.MultiValueHeaders["Set-Cookie"])
	}
	return out
}

// oauthFixture is an API with alice signed up.
func oauthFixture(t *testing.T) *httpapi.API {
	t.Helper()
	api := newAPI(t, memory.New())
	if resp, _ := api.Signup(context.Background(), event(t, "/auth/signup", creds)); resp.StatusCode != http.StatusCreated {
		t.Fatal(resp.Body)
	}
	return api
}

const aliceForm = "grant_type=password&username=alice&password=correct+horse+battery"

func TestTokenEndpoint(t *testing.T) {
	api := oauthFixture(t)
	login := call(t, api.Token, formEvent(t, "/oauth/token", aliceForm+"&client_id=my-app"))
	if login.status != http.StatusOK || login.str("access_token") == "" || login.str("refresh_token") == "" || login.str("token_type") != "Bearer" {
		t.Fatalf("password grant: %d %v", login.status, login.body)
	}
	if login.header["Cache-Control"] != "no-store" || login.header["Pragma"] != "no-cache" {
		t.Errorf("RFC 6749 §5.1 headers: %v", login.header)
	}
	rt := login.str("refresh_token")

	tests := []struct {
		name      string
		body      string
		headers   []string
		status    int
		code      string
		challenge string
	}{
		{"refresh", "grant_type=refresh_token&refresh_token=" + url.QueryEscape(rt), nil, 200, "", ""},
		{"replay inside the grace window", "grant_type=refresh_token&refresh_token=" + url.QueryEscape(rt), nil, 200, "", ""},
		{"wrong password is invalid_grant 400", "grant_type=password&username=alice&password=wrong+password+here", nil, 400, "invalid_grant", ""},
		{"unknown refresh token is invalid_grant 400", "grant_type=refresh_token&refresh_token=rtr_AAAA", nil, 400, "invalid_grant", ""},
		{"unsupported grant", "grant_type=client_credentials", nil, 400, "unsupported_grant_type", ""},
		{"authorization_code is unsupported", "grant_type=authorization_code&code=x", nil, 400, "unsupported_grant_type", ""},
		{"missing grant_type", "username=alice", nil, 400, "invalid_request", ""},
		{"empty grant_type counts as omitted", "grant_type=&username=alice", nil, 400, "invalid_request", ""},
		{"repeated parameter", aliceForm + "&password=other", nil, 400, "invalid_request", ""},
		{"missing password", "grant_type=password&username=alice", nil, 400, "invalid_request", ""},
		{"missing refresh_token", "grant_type=refresh_token", nil, 400, "invalid_request", ""},
		{"JSON body refused", `{"grant_type":"password"}`, []string{"Content-Type", "application/json"}, 400, "invalid_request", ""},
		{"no Content-Type refused", aliceForm, []string{"Content-Type", ""}, 400, "invalid_request", ""},
		{"bad escape", "grant_type=%zz", nil, 400, "invalid_request", ""},
		{"not UTF-8", "grant_type=password&username=alice&password=%ff%fe%fd%fc%fb%fa%f9%f8", nil, 400, "invalid_request", ""},
		{"oversized body", aliceForm + "&pad=" + strings.Repeat("a", httpapi.MaxBodyBytes), nil, 400, "invalid_request", ""},
		{"client secret in the form", aliceForm + "&client_id=a&client_secret=s", nil, 401, "invalid_client", ""},
		{"client secret in Basic", aliceForm, []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("a:s"))}, 401, "invalid_client", `Basic realm="rotor"`},
		{"public client in Basic (x/oauth2, requests-oauthlib)", aliceForm, []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("my-app:"))}, 200, "", ""},
		{"two different client ids", aliceForm + "&client_id=b", []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("a:"))}, 400, "invalid_request", ""},
		{"long client_id", aliceForm + "&client_id=" + strings.Repeat("c", 256), nil, 400, "invalid_request", ""},
		{"unknown parameters ignored", aliceForm + "&scope=openid&audience=x", nil, 200, "", ""},
		{"cookie transport header ignored", aliceForm, []string{"X-Rotor-Refresh-Transport", "cookie"}, 200, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := call(t, api.Token, formEvent(t, "/oauth/token", tc.body, tc.headers...))
			if got.status != tc.status || got.str("error") != tc.code {
				t.Fatalf("got %d %v; want %d %q", got.status, got.body, tc.status, tc.code)
			}
			if tc.status == 200 && (got.str("refresh_token") == "" || got.str("access_token") == "") {
				t.Errorf("no tokens in the body: %v", got.body)
			}
			if got.header["WWW-Authenticate"] != tc.challenge {
				t.Errorf("WWW-Authenticate = %q; want %q", got.header["WWW-Authenticate"], tc.challenge)
			}
		})
	}
}

// TestTokenEndpointSharesRotation: the two doors are one implementation: a
// refresh token rotated at /auth/refresh is superseded at /oauth/token too,
// and its reuse there revokes the session for both.
func TestTokenEndpointSharesRotation(t *testing.T) {
	api := oauthFixture(t)
	api.Auth.Sessions.Grace = 0
	ctx := context.Background()
	login := call(t, api.Token, formEvent(t, "/oauth/token", aliceForm))
	old := login.str("refresh_token")
	resp, _ := api.Refresh(ctx, event(t, "/auth/refresh", `{"refresh_token":"`+old+`"}`))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("JSON refresh: %d %s", resp.StatusCode, resp.Body)
	}
	var next struct {
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &next)
	reuse := call(t, api.Token, formEvent(t, "/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(old)))
	if reuse.status != http.StatusBadRequest || reuse.str("error") != "invalid_grant" {
		t.Fatalf("reuse of a superseded token: %d %v", reuse.status, reuse.body)
	}
	after := call(t, api.Token, formEvent(t, "/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(next.RefreshToken)))
	if after.status != http.StatusBadRequest {
		t.Fatalf("the current token still works after reuse was detected: %d %v", after.status, after.body)
	}
}

// TestTokenEndpointSharesThrottle: failures at either door count together.
func TestTokenEndpointSharesThrottle(t *testing.T) {
	api := oauthFixture(t)
	ctx := context.Background()
	bad := `{"username":"alice","password":"wrong password here"}`
	for i := 0; i < api.Auth.Throttle.MaxFailures; i++ {
		if resp, _ := api.Login(ctx, event(t, "/auth/login", bad)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i, resp.StatusCode, resp.Body)
		}
	}
	got := call(t, api.Token, formEvent(t, "/oauth/token", aliceForm))
	if got.status != http.StatusTooManyRequests || got.header["Retry-After"] == "" {
		t.Fatalf("after %d failures at /auth/login the token endpoint gave %d %v", api.Auth.Throttle.MaxFailures, got.status, got.body)
	}
}

func TestRevokeEndpoint(t *testing.T) {
	api := oauthFixture(t)
	login := call(t, api.Token, formEvent(t, "/oauth/token", aliceForm))
	rt, at := login.str("refresh_token"), login.str("access_token")
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"revoke", "token=" + url.QueryEscape(rt) + "&token_type_hint=refresh_token", 200, ""},
		{"again: unknown tokens are 200 too", "token=" + url.QueryEscape(rt), 200, ""},
		{"garbage", "token=nonsense", 200, ""},
		{"a valid access token is not revocable", "token=" + at + "&token_type_hint=access_token", 400, "unsupported_token_type"},
		{"missing token", "token_type_hint=refresh_token", 400, "invalid_request"},
		{"repeated token", "token=a&token=b", 400, "invalid_request"},
		{"client secret", "token=a&client_secret=s", 401, "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := call(t, api.Revoke, formEvent(t, "/oauth/revoke", tc.body))
			if got.status != tc.status || got.str("error") != tc.code {
				t.Fatalf("got %d %v; want %d %q", got.status, got.body, tc.status, tc.code)
			}
		})
	}
	after := call(t, api.Token, formEvent(t, "/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(rt)))
	if after.status != http.StatusBadRequest || after.str("error") != "invalid_grant" {
		t.Fatalf("refresh after revocation: %d %v", after.status, after.body)
	}
}

func TestDiscovery(t *testing.T) {
	api := oauthFixture(t)
	api.Issuer, api.SigningAlg = "https://abcdefghij.execute-api.eu-west-1.amazonaws.com/v1", "RS256"
	got := call(t, api.Discovery, event(t, "/.well-known/openid-configuration", ""))
	if got.status != http.StatusOK {
		t.Fatalf("%d %v", got.status, got.body)
	}
	want := map[string]any{
		"issuer":                                api.Issuer,
		"jwks_uri":                              api.Issuer + "/.well-known/jwks.json",
		"token_endpoint":                        api.Issuer + "/oauth/token",
		"revocation_endpoint":                   api.Issuer + "/oauth/revoke",
		"grant_types_supported":                 []any{"password", "refresh_token", "urn:rotor:params:oauth:grant-type:mfa-otp", "urn:rotor:params:oauth:grant-type:mfa-recovery-code"},
		"response_types_supported":              []any{},
		"subject_types_supported":               []any{"public"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
		"token_endpoint_auth_methods_supported": []any{"none"},
	}
	for k, v := range want {
		g, _ := json.Marshal(got.body[k])
		w, _ := json.Marshal(v)
		if string(g) != string(w) {
			t.Errorf("%s = %s; want %s", k, g, w)
		}
	}
}

// TestOAuthPreflight: the OAuth routes answer their CORS preflight like
// every other route (the local server sends each path's OPTIONS to its
// handler; template.yaml to PreflightFunction, which answers the same).
func TestOAuthPreflight(t *testing.T) {
	api := oauthFixture(t)
	for path, h := range map[string]httpapi.Handler{"/oauth/token": api.Token, "/oauth/revoke": api.Revoke, "/.well-known/openid-configuration": api.Discovery} {
		req := event(t, path, "")
		req.HTTPMethod = http.MethodOptions
		resp, err := h(context.Background(), req)
		if err != nil || resp.StatusCode != http.StatusNoContent || resp.Body != "" {
			t.Fatalf("OPTIONS %s: %d %q %v", path, resp.StatusCode, resp.Body, err)
		}
		for k, want := range httpapi.PreflightHeaders(api.CORSOrigin) {
			if resp.Headers[k] != want {
				t.Errorf("OPTIONS %s: %s = %q; want %q", path, k, resp.Headers[k], want)
			}
		}
	}
}

// TestTokenEndpointDeviceToken: the password grant hands out a device token
// like /auth/login, in the body, and takes it back as a form parameter: a
// stranger's failures that lock the username out do not lock out the device.
func TestTokenEndpointDeviceToken(t *testing.T) {
	api := oauthFixture(t)
	first := call(t, api.Token, formEvent(t, "/oauth/token", aliceForm))
	device := first.str("device_token")
	if first.status != http.StatusOK || device == "" {
		t.Fatalf("password grant: %d %v; want a device_token", first.status, first.body)
	}
	for i := 0; i < api.Auth.Throttle.MaxFailures; i++ {
		call(t, api.Token, formEvent(t, "/oauth/token", "grant_type=password&username=alice&password=wrong+password+here"))
	}
	if got := call(t, api.Token, formEvent(t, "/oauth/token", aliceForm)); got.status != http.StatusTooManyRequests {
		t.Fatalf("without the device token after %d failures: %d %v; want 429", api.Auth.Throttle.MaxFailures, got.status, got.body)
	}
	got := call(t, api.Token, formEvent(t, "/oauth/token", aliceForm+"&device_token="+url.QueryEscape(device)))
	if got.status != http.StatusOK {
		t.Fatalf("with the device token: %d %v", got.status, got.body)
	}
}
