package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// route is one handler with the method and path API Gateway would give it.
type route struct {
	method, path string
	call         func(*httpapi.API, context.Context, httpapi.Request) (httpapi.Response, error)
}

var fuzzRoutes = []route{
	{http.MethodPost, "/auth/signup", (*httpapi.API).Signup},
	{http.MethodPost, "/auth/login", (*httpapi.API).Login},
	{http.MethodPost, "/auth/refresh", (*httpapi.API).Refresh},
	{http.MethodPost, "/auth/logout", (*httpapi.API).Logout},
	{http.MethodGet, "/auth/sessions", (*httpapi.API).Sessions},
	{http.MethodDelete, "/auth/sessions/{id}", (*httpapi.API).Sessions},
	{http.MethodPost, "/auth/password", (*httpapi.API).Password},
	{http.MethodGet, "/me", (*httpapi.API).Me},
	{http.MethodGet, "/.well-known/jwks.json", (*httpapi.API).JWKS},
	{http.MethodPost, httpapi.RouteEmailVerify, (*httpapi.API).Email},
	{http.MethodPost, httpapi.RouteEmailResend, (*httpapi.API).Email},
	{http.MethodPost, httpapi.RouteEmail, (*httpapi.API).Email},
	{http.MethodPost, httpapi.RoutePasswordForgot, (*httpapi.API).Recovery},
	{http.MethodPost, httpapi.RoutePasswordReset, (*httpapi.API).Recovery},
	{http.MethodPost, httpapi.RouteMFATOTP, (*httpapi.API).MFA},
	{http.MethodDelete, httpapi.RouteMFATOTP, (*httpapi.API).MFA},
	{http.MethodPost, httpapi.RouteMFAConfirm, (*httpapi.API).MFA},
	{http.MethodPost, httpapi.RouteMFARecoveryCodes, (*httpapi.API).MFA},
	{http.MethodPost, httpapi.RouteMFAVerify, (*httpapi.API).MFA},
	{http.MethodPost, httpapi.RouteMFAPasskeyOptions, (*httpapi.API).MFA},
	{http.MethodPost, httpapi.RoutePasskeyRegisterOptions, (*httpapi.API).Passkeys},
	{http.MethodPost, httpapi.RoutePasskeyRegister, (*httpapi.API).Passkeys},
	{http.MethodPost, httpapi.RoutePasskeyLoginOptions, (*httpapi.API).Passkeys},
	{http.MethodPost, httpapi.RoutePasskeyLogin, (*httpapi.API).Passkeys},
	{http.MethodGet, httpapi.RoutePasskeys, (*httpapi.API).Passkeys},
	{http.MethodPatch, httpapi.RoutePasskey, (*httpapi.API).Passkeys},
	{http.MethodDelete, httpapi.RoutePasskey, (*httpapi.API).Passkeys},
	{http.MethodPost, "/oauth/token", (*httpapi.API).Token},
}

// cheapLogins swaps api's argon2id for a fast stand-in and its log for a
// discarding one: the password hash's cost is not what the fuzz targets
// and benchmarks here exercise, and the stand-in keeps thousands of logins
// a second possible.
func cheapLogins(api *httpapi.API) {
	api.Auth.Passwords.KDF = func(pw, salt []byte, _, _ uint32, _ uint8, keyLen uint32) []byte {
		sum := sha256.Sum256(append(append([]byte{}, salt...), pw...))
		return bytes.Repeat(sum[:], int(keyLen)/len(sum)+1)[:keyLen]
	}
	api.Log = slog.New(slog.DiscardHandler)
	api.Auth.Log = api.Log
}

// FuzzRoutes calls every route with fuzzed bodies and headers on the
// embedded store, as a signed-in user for the protected routes: no input
// panics or gets a 5xx other than 503, and every error has the contract's
// body.
func FuzzRoutes(f *testing.F) {
	api := newAPI(f, memory.New())
	cheapLogins(api)
	ctx := context.Background()
	resp, err := api.Signup(ctx, fuzzEvent(f, http.MethodPost, "/auth/signup", creds))
	if err != nil || resp.StatusCode != http.StatusCreated {
		f.Fatalf("signup: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	resp, _ = api.Login(ctx, fuzzEvent(f, http.MethodPost, "/auth/login", creds))
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &pair); err != nil || pair.RefreshToken == "" {
		f.Fatalf("login: %d %s", resp.StatusCode, resp.Body)
	}
	claims, err := api.Verifier.Verify(ctx, pair.AccessToken)
	if err != nil {
		f.Fatal(err)
	}
	caller := map[string]any{"user_id": claims.Subject, "username": claims.Username, "session_id": claims.SessionID}

	bodies := []string{
		creds,
		`{"refresh_token":"` + pair.RefreshToken + `"}`,
		// Go's base64 decoder skips newlines: 64 characters that decode short.
		`{"refresh_token":"rtr_` + strings.Repeat("A", 20) + strings.Repeat(`\n`, 66) + `"}`,
		`{"refresh_token":"rtr_` + strings.Repeat("A", 80) + strings.Repeat(`\r`, 6) + `"}`,
		`{"all":true}`,
		`{"current_password":"correct horse battery","new_password":"correct horse battery"}`,
		`{"username":"a","password":1}`,
		`{"username":"alice","password":"x","extra":1}`,
		`{} {}`, `[]`, `null`, ``, `{"username":"\ud800"}`,
		`{"username":"bob","password":"correct horse battery","email":"Bob@Example.com"}`,
		`{"token":"rtp_` + strings.Repeat("A", 43) + `","new_password":"a whole new password"}`,
		`{"token":"rtv_` + strings.Repeat("A", 42) + `\n"}`,
		`{"username":"alice"}`, `{"email":"alice@example.com"}`, `{"username":"alice","email":"a@b.c"}`,
		`{"current_password":"correct horse battery","email":"new@example.com"}`,
		`{}`, `{"code":"123456"}`, `{"code":"12345\u0000"}`, `{"recovery_code":"abcde-fghjk"}`, `{"code":"123456","recovery_code":"x"}`,
		`{"mfa_token":"rtm_` + strings.Repeat("A", 43) + `","code":"123456"}`,
		`{"mfa_token":"rtm_` + strings.Repeat("A", 43) + `","recovery_code":"ABCDE FGHJK","device_token":"rtd_x"}`,
		`grant_type=urn:rotor:params:oauth:grant-type:mfa-otp&mfa_token=rtm_x&otp=123456`,
		`grant_type=urn:rotor:params:oauth:grant-type:mfa-recovery-code&mfa_token=rtm_x&recovery_code=abcde-fghjk`,
		`{"mfa_token":"rtm_` + strings.Repeat("A", 43) + `"}`,
		`{"mfa_token":"rtm_` + strings.Repeat("A", 43) + `","credential":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AAAA"}}}`,
		`{"mfa_token":"rtm_x","credential":null,"code":"123456"}`, `{"mfa_token":"rtm_x","credential":"x"}`,
		`{"name":"laptop"}`, `{"name":"\u0007"}`, `{"credential":[]}`, `{"credential":{}}`,
		`{"credential":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"eyJ9","authenticatorData":"AAAA","signature":"AAAA","userHandle":"AAAA"}}}`,
		`{"credential":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}},"name":"x"}`,
	}
	for i := range fuzzRoutes {
		for _, b := range bodies {
			f.Add(uint8(i), b, "application/json", "", "", "Bearer "+pair.AccessToken, claims.SessionID, false)
		}
	}
	f.Add(uint8(2), `{}`, "application/json", "rotor_refresh="+pair.RefreshToken+"; rotor_csrf=c", "c", "", "", false)
	f.Add(uint8(1), "eyJ9", "application/json; charset=utf-8", "", "", "", "", true)
	f.Add(uint8(0), creds, "text/plain", "", "", "", "", false)
	f.Add(uint8(len(fuzzRoutes)-1), "grant_type=password&username=alice&password=correct+horse+battery", "application/x-www-form-urlencoded", "", "", "", "", false)

	base := event(f, "/", "")
	f.Fuzz(func(t *testing.T, which uint8, body, contentType, cookie, csrf, authorization, id string, b64 bool) {
		r := fuzzRoutes[int(which)%len(fuzzRoutes)]
		req := base
		req.HTTPMethod, req.Path, req.Resource, req.Body = r.method, r.path, r.path, body
		req.RequestContext.Path = "/Prod" + r.path
		req.IsBase64Encoded = b64
		req.Headers = map[string]string{"Content-Type": contentType, "Authorization": authorization}
		if cookie != "" {
			req.Headers["Cookie"], req.Headers[httpapi.CSRFHeader], req.Headers[httpapi.TransportHeader] = cookie, csrf, "cookie"
		}
		req.PathParameters = map[string]string{"id": id}
		req.RequestContext.Authorizer = caller
		resp, err := r.call(api, ctx, req)
		if err != nil {
			t.Fatalf("%s %s: handler error %v (a 502 at API Gateway)", r.method, r.path, err)
		}
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s %s %q: %d %s", r.method, r.path, body, resp.StatusCode, resp.Body)
		}
		if resp.StatusCode >= 400 {
			var e map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &e); err != nil {
				t.Fatalf("%s %s: error body %q: %v", r.method, r.path, resp.Body, err)
			}
			code, _ := e["error"].(string)
			desc, _ := e["error_description"].(string)
			if code == "" || desc == "" {
				t.Fatalf("%s %s: error body %s: want error and error_description", r.method, r.path, resp.Body)
			}
			for k, v := range e {
				if k == "mfa_methods" && code == "mfa_required" {
					if _, ok := v.([]any); ok {
						continue
					}
				}
				if _, ok := v.(string); !ok || (k != "error" && k != "error_description" && k != "retry_ticket" && (k != "mfa_token" || code != "mfa_required")) {
					t.Fatalf("%s %s: error body %s: member %q is not in the contract", r.method, r.path, resp.Body, k)
				}
			}
		} else if resp.Body != "" && !json.Valid([]byte(resp.Body)) {
			t.Fatalf("%s %s: body %q is not JSON", r.method, r.path, resp.Body)
		}
	})
}

func fuzzEvent(t testing.TB, method, path, body string) httpapi.Request {
	req := event(t, path, body)
	req.HTTPMethod = method
	return req
}
