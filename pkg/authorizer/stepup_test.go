package authorizer_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/stepup"
)

// stepUpShapes are the three event shapes of a request to POST
// /payments/42, an MFA route, from testdata (AWS's sample events with the
// route changed). otherRoute is an ARN of the same API stage that needs no
// MFA, for the cached-policy checks.
var stepUpShapes = []struct {
	name, file, arn, otherRoute string
}{
	{"REST TOKEN", "stepup-token-post-payments.json", "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/prod/POST/payments/42", "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/prod/GET/payments/42"},
	{"REST REQUEST", "stepup-request-post-payments.json", "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/POST/payments/42", "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/GET/me"},
	{"HTTP API v2", "stepup-v2-post-payments.json", "", ""},
}

const mfaRoutes = "POST /payments/*, DELETE /account"

// tokenWith issues the fixture's subject a token with amr (and auth_time
// when amr is set).
func (f *fixture) tokenWith(t testing.TB, amr []string) string {
	t.Helper()
	sub := subject
	if amr != nil {
		sub.AMR, sub.AuthTime = amr, now.Add(-time.Minute)
	}
	raw, err := f.issuer.Issue(context.Background(), sub, now)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (f *fixture) stepUpAuthorizer(t testing.TB) *authorizer.Authorizer {
	t.Helper()
	a := f.authorizer(f.src, nil)
	rs, err := stepup.Parse(mfaRoutes)
	if err != nil {
		t.Fatal(err)
	}
	a.MFARoutes = rs
	return a
}

// iamAllows evaluates a policy as IAM does for one request ARN: an explicit
// Deny that matches wins, then an Allow that matches; nothing matching denies.
func iamAllows(p events.APIGatewayCustomAuthorizerPolicy, arn string) bool {
	allowedBy := false
	for _, st := range p.Statement {
		if !iamMatchesAny(st.Resource, arn) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowedBy = true
		}
	}
	return allowedBy
}

// TestStepUp: with MFA routes configured, a token whose amr lacks "mfa" (a
// password login, or a token issued before amr existed) is refused on an
// MFA route and allowed elsewhere; a token with "mfa" is allowed on both. On
// REST APIs the refusal is the policy's explicit Deny, which API Gateway
// answers with its ACCESS_DENIED gateway response; on HTTP APIs it is
// isAuthorized false.
func TestStepUp(t *testing.T) {
	f := newFixture(t)
	a := f.stepUpAuthorizer(t)
	tokens := []struct {
		name string
		amr  []string
		mfa  bool
	}{
		{"password", []string{"pwd"}, false},
		{"no amr (issued before it existed)", nil, false},
		{"otp without mfa", []string{"otp"}, false},
		{"mfa", []string{"pwd", "otp", "mfa"}, true},
		{"recovery code", []string{"pwd", "mfa"}, true},
	}
	for _, s := range stepUpShapes {
		for _, tk := range tokens {
			t.Run(s.name+"/"+tk.name, func(t *testing.T) {
				ev := shape{file: s.file}.event(t, "Bearer "+f.tokenWith(t, tk.amr))
				resp, err := handle(t, a, ev)
				if err != nil {
					t.Fatalf("Invoke: %v; a step-up refusal is an answer, not an error (no 401: a refresh would not help)", err)
				}
				switch r := resp.(type) {
				case events.APIGatewayCustomAuthorizerResponse:
					if got := iamAllows(r.PolicyDocument, s.arn); got != tk.mfa {
						t.Errorf("policy %+v allows the MFA route %s: %v; want %v", r.PolicyDocument, s.arn, got, tk.mfa)
					}
					if !iamAllows(r.PolicyDocument, s.otherRoute) {
						t.Errorf("policy %+v denies %s, which needs no MFA", r.PolicyDocument, s.otherRoute)
					}
					if got := r.Context["amr"]; got != strings.Join(tk.amr, " ") && !(tk.amr == nil && got == nil) {
						t.Errorf("context amr = %v; want %q", got, strings.Join(tk.amr, " "))
					}
				case events.APIGatewayV2CustomAuthorizerSimpleResponse:
					if r.IsAuthorized != tk.mfa {
						t.Errorf("isAuthorized = %v on the MFA route; want %v", r.IsAuthorized, tk.mfa)
					}
				}
			})
		}
	}
	t.Run("HTTP API v2/password on another route", func(t *testing.T) {
		ev := shape{file: "apigw-v2-custom-authorizer-v2-request.json"}.event(t, "Bearer "+f.tokenWith(t, []string{"pwd"}))
		resp, err := handle(t, a, ev)
		if err != nil || !resp.(events.APIGatewayV2CustomAuthorizerSimpleResponse).IsAuthorized {
			t.Fatalf("GET /request with a password token: %+v, %v; want allowed", resp, err)
		}
	})
	t.Run("no MFA routes", func(t *testing.T) {
		plain := f.authorizer(f.src, nil)
		for _, s := range stepUpShapes {
			resp, err := handle(t, plain, shape{file: s.file}.event(t, "Bearer "+f.tokenWith(t, []string{"pwd"})))
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := resp.(events.APIGatewayCustomAuthorizerResponse); ok && (len(r.PolicyDocument.Statement) != 1 || !iamAllows(r.PolicyDocument, s.arn)) {
				t.Errorf("%s: policy %+v without MFA routes", s.name, r.PolicyDocument)
			}
			if r, ok := resp.(events.APIGatewayV2CustomAuthorizerSimpleResponse); ok && !r.IsAuthorized {
				t.Errorf("%s: refused without MFA routes", s.name)
			}
		}
	})
}

// TestCachedPolicyHonoursMFARoutes plays API Gateway's cache as the
// attacker would use it: a password-only token is first sent to a route
// that needs no MFA, and the policy cached for it is then applied to the
// MFA routes (and the other way round). The policy must deny exactly the MFA
// routes wherever it was first made, so no cached Allow opens one; and a
// token with "mfa" is allowed on every route.
func TestCachedPolicyHonoursMFARoutes(t *testing.T) {
	f := newFixture(t)
	a := f.stepUpAuthorizer(t)
	const api = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/"
	routes := map[string]bool{ // route → needs MFA
		"GET/me": false, "GET/payments": false, "POST/payments": false, "GET/payments/1": false,
		"POST/payments/1": true, "POST/payments/1/refund": true, "POST/payments/a:b": true,
		"DELETE/account": true, "DELETE/account/x": false, "GET/account": false, "PATCH/x/y": false,
	}
	for _, tk := range []struct {
		name string
		amr  []string
	}{{"password", []string{"pwd"}}, {"mfa", []string{"pwd", "otp", "mfa"}}} {
		raw := "Bearer " + f.tokenWith(t, tk.amr)
		for first := range routes {
			t.Run(tk.name+"/first "+first, func(t *testing.T) {
				ev, err := json.Marshal(events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: raw, MethodArn: api + first})
				if err != nil {
					t.Fatal(err)
				}
				resp, err := handle(t, a, ev)
				if err != nil {
					t.Fatal(err)
				}
				p := resp.(events.APIGatewayCustomAuthorizerResponse).PolicyDocument
				for r, needsMFA := range routes {
					want := !needsMFA || tk.amr[len(tk.amr)-1] == "mfa"
					if got := iamAllows(p, api+r); got != want {
						t.Errorf("policy cached for %s: %s allowed %v; want %v (policy %+v)", first, r, got, want, p)
					}
				}
				if iamAllows(p, "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/other-stage/GET/me") {
					t.Errorf("policy %+v reaches beyond its API stage", p)
				}
			})
		}
	}
}

// TestWarmCacheKeepsTheMethods: the warm container's decision cache holds
// the identity with its amr, so a cached decision for a password token
// still refuses the MFA route, and one for an MFA token still allows it.
func TestWarmCacheKeepsTheMethods(t *testing.T) {
	f := newFixture(t)
	a := f.stepUpAuthorizer(t)
	a.Cache = &authorizer.Cache{TTL: time.Minute}
	for _, tk := range []struct {
		amr  []string
		want bool
	}{{[]string{"pwd"}, false}, {[]string{"pwd", "otp", "mfa"}, true}} {
		raw := "Bearer " + f.tokenWith(t, tk.amr)
		for i := range 2 { // the second answer comes from the cache
			resp, err := handle(t, a, shape{file: "stepup-v2-post-payments.json"}.event(t, raw))
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.(events.APIGatewayV2CustomAuthorizerSimpleResponse).IsAuthorized; got != tk.want {
				t.Errorf("amr %q, answer %d: isAuthorized %v; want %v", tk.amr, i, got, tk.want)
			}
		}
	}
}

// TestStepUpLogged: a refusal on an MFA route is logged as step_up_required
// (the metric filter's event), naming no token.
func TestStepUpLogged(t *testing.T) {
	f := newFixture(t)
	a := f.stepUpAuthorizer(t)
	var buf strings.Builder
	a.Log = slog.New(slog.NewJSONHandler(&buf, nil))
	raw := f.tokenWith(t, []string{"pwd"})
	if _, err := handle(t, a, shape{file: "stepup-token-post-payments.json"}.event(t, "Bearer "+raw)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"event":"step_up_required"`) || !strings.Contains(buf.String(), `"path":"/payments/42"`) || strings.Contains(buf.String(), raw) {
		t.Fatalf("log %q; want one step_up_required line for /payments/42 without the token", buf.String())
	}
}

// TestMethodAndPath splits method ARNs, including paths with ':' and the
// root resource.
func TestMethodAndPath(t *testing.T) {
	for _, tc := range []struct{ arn, method, path string }{
		{"arn:aws:execute-api:us-east-1:123456789012:abc/prod/POST/payments/42", "POST", "/payments/42"},
		{"arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/", "GET", "/"},
		{"arn:aws:execute-api:us-east-1:123456789012:abc/$default/GET", "GET", "/"},
		{"arn:aws:execute-api:us-east-1:123456789012:abc/prod/POST/jobs/42:cancel", "POST", "/jobs/42:cancel"},
	} {
		m, p, ok := authorizer.MethodAndPath(tc.arn)
		if !ok || m != tc.method || p != tc.path {
			t.Errorf("MethodAndPath(%s) = %q %q %v; want %q %q", tc.arn, m, p, ok, tc.method, tc.path)
		}
	}
	for _, arn := range []string{"", "arn:aws:execute-api:us-east-1:123456789012:abc", "arn:aws:execute-api:us-east-1:123456789012:abc/prod", "arn:aws:execute-api:us-east-1:123456789012:abc/prod/"} {
		if m, p, ok := authorizer.MethodAndPath(arn); ok {
			t.Errorf("MethodAndPath(%q) = %q %q; want no route", arn, m, p)
		}
	}
}

// TestHTTPAPIWithoutRouteArnFailsClosed: an HTTP API event whose routeArn
// is missing names no route; with MFA routes configured a token without
// "mfa" is refused rather than allowed on a route it cannot tell.
func TestHTTPAPIWithoutRouteArnFailsClosed(t *testing.T) {
	f := newFixture(t)
	a := f.stepUpAuthorizer(t)
	var m map[string]any
	if err := json.Unmarshal(shape{file: "stepup-v2-post-payments.json"}.event(t, "Bearer "+f.tokenWith(t, []string{"pwd"})), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "routeArn")
	ev, _ := json.Marshal(m)
	resp, err := handle(t, a, ev)
	if err != nil {
		t.Fatal(err)
	}
	if resp.(events.APIGatewayV2CustomAuthorizerSimpleResponse).IsAuthorized {
		t.Fatal("allowed an HTTP API request without routeArn")
	}
}
