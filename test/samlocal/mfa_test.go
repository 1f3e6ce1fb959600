//go:build samlocal

package samlocal_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// oathtool is Debian's RFC 6238 generator (an implementation independent of
// Rotor's pquerna/otp): the code of the base32 secret at t.
func oathtool(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	out, err := exec.Command("oathtool", "--totp", "-b", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), secret).Output()
	if err != nil {
		t.Fatalf("oathtool (Debian package oathtool; scripts/test.sh installs it): %v", err)
	}
	code := strings.TrimSpace(string(out))
	if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(code) {
		t.Fatalf("oathtool printed %q", out)
	}
	return code
}

// amr is an access token's amr claim.
func amr(t *testing.T, access string) []string {
	t.Helper()
	var methods []string
	list, _ := claims(t, access)["amr"].([]any)
	for _, m := range list {
		s, _ := m.(string)
		methods = append(methods, s)
	}
	return methods
}

// mfaRoutes is the template's MfaRoutes parameter as DEPLOY.md §4 sets it,
// given to the authorizer's `sam local invoke` below.
const mfaRoutes = "POST /payments/*,DELETE /account"

// TestMFAThroughStartAPI: the second factor as a user lives it under `sam
// local start-api` on the template as committed, codes from Debian's
// oathtool: enrol TOTP with the password, confirm with a code, log in in two
// steps (403 mfa_required, then /auth/mfa/verify) to tokens whose amr has
// mfa; a recovery code works once. Then step-up at the edge with the
// template's MfaRoutes parameter: the real authorizer in a Lambda container
// denies a password token the MFA route and allows the MFA token.
// `sam local start-api` itself ignores a policy's Deny (DEPLOY.md §4), so
// that part is the authorizer's policy under `sam local invoke`, as API
// Gateway evaluates it.
func TestMFAThroughStartAPI(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	username := fmt.Sprintf("erin-%d", time.Now().UnixNano())
	const password = "correct horse battery staple 42"
	creds := map[string]string{"username": username, "password": password}

	expect(t, "signup", a.do(t, "POST", "/auth/signup", creds, nil), 201, "")
	pwd := tokenPair(t, "login", a.do(t, "POST", "/auth/login", creds, nil))
	if got := amr(t, pwd.access); !slices.Equal(got, []string{"pwd"}) {
		t.Fatalf("password login: amr %q, want [pwd]", got)
	}

	// Enrol: the current password, then a code from the authenticator app.
	expect(t, "enrol with a wrong password", a.do(t, "POST", "/auth/mfa/totp",
		map[string]string{"current_password": "wrong " + password}, bearer(pwd.access)), 401, "invalid_credentials")
	r := a.do(t, "POST", "/auth/mfa/totp", map[string]string{"current_password": password}, bearer(pwd.access))
	expect(t, "enrol", r, 200, "")
	secret := r.str("secret")
	if secret == "" || !strings.HasPrefix(r.str("otpauth_uri"), "otpauth://totp/") || !strings.Contains(r.str("otpauth_uri"), "secret="+secret) {
		t.Fatalf("enrol: %s", r.body)
	}
	confirmed := time.Now()
	r = a.do(t, "POST", "/auth/mfa/totp/confirm", map[string]string{"code": oathtool(t, secret, confirmed)}, bearer(pwd.access))
	expect(t, "confirm", r, 200, "")
	var codes []string
	for _, c := range r.json["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	if len(codes) != 10 {
		t.Fatalf("confirm: %d recovery codes, want 10: %s", len(codes), r.body)
	}

	// mfaToken logs in with the password: 403 mfa_required, no tokens.
	mfaToken := func(t *testing.T) string {
		t.Helper()
		r := a.do(t, "POST", "/auth/login", creds, nil)
		expect(t, "login of an enrolled user", r, 403, "mfa_required")
		if !strings.HasPrefix(r.str("mfa_token"), "rtm_") || r.json["access_token"] != nil || r.json["refresh_token"] != nil {
			t.Fatalf("login of an enrolled user: %s, want an mfa_token and no tokens", r.body)
		}
		return r.str("mfa_token")
	}
	expect(t, "login with a wrong password", a.do(t, "POST", "/auth/login",
		map[string]string{"username": username, "password": "wrong " + password}, nil), 401, "invalid_credentials")

	// The confirmation accepted this step's code: the next step's (within
	// the ±1 step the server accepts) signs in.
	tok := mfaToken(t)
	expect(t, "verify with a wrong code", a.do(t, "POST", "/auth/mfa/verify",
		map[string]string{"mfa_token": tok, "code": wrongCode(oathtool(t, secret, confirmed.Add(30*time.Second)))}, nil), 400, "invalid_code")
	code := oathtool(t, secret, confirmed.Add(30*time.Second))
	mfa := tokenPair(t, "verify with a code", a.do(t, "POST", "/auth/mfa/verify", map[string]string{"mfa_token": tok, "code": code}, nil))
	if got := amr(t, mfa.access); !slices.Contains(got, "mfa") || !slices.Contains(got, "otp") || !slices.Contains(got, "pwd") {
		t.Fatalf("verify with a code: amr %q, want pwd, otp and mfa", got)
	}
	r = a.do(t, "GET", "/me", nil, bearer(mfa.access))
	expect(t, "me with the MFA token", r, 200, "")

	t.Run("the same code again is refused", func(t *testing.T) {
		expect(t, "verify with the accepted code", a.do(t, "POST", "/auth/mfa/verify",
			map[string]string{"mfa_token": mfaToken(t), "code": code}, nil), 400, "invalid_code")
	})

	t.Run("a recovery code works once", func(t *testing.T) {
		p := tokenPair(t, "verify with a recovery code", a.do(t, "POST", "/auth/mfa/verify",
			map[string]string{"mfa_token": mfaToken(t), "recovery_code": codes[0]}, nil))
		if got := amr(t, p.access); !slices.Contains(got, "mfa") {
			t.Fatalf("verify with a recovery code: amr %q, want mfa", got)
		}
		expect(t, "verify with the same recovery code", a.do(t, "POST", "/auth/mfa/verify",
			map[string]string{"mfa_token": mfaToken(t), "recovery_code": codes[0]}, nil), 400, "invalid_code")
	})

	t.Run("step-up: the authorizer denies a password token the MFA route", func(t *testing.T) {
		route := "POST/payments/42"
		for _, tc := range []struct {
			name   string
			access string
			allow  bool
		}{
			{"password token", pwd.access, false},
			{"MFA token", mfa.access, true},
		} {
			pol := authorizeRoute(t, tc.access, route)
			if got := pol.allowsArn(apiArn + "/v1/" + route); got != tc.allow {
				t.Errorf("%s on %s: allowed %v, want %v: %+v", tc.name, route, got, tc.allow, pol.PolicyDocument)
			}
			// The policy API Gateway caches for the token is right on every
			// route: the others stay open.
			if !pol.allowsArn(apiArn + "/v1/GET/me") {
				t.Errorf("%s: the cached policy would deny GET /me: %+v", tc.name, pol.PolicyDocument)
			}
		}
	})

	// The password session goes on (the enrolling one): its logout ends it.
	expect(t, "logout", a.do(t, "POST", "/auth/logout", map[string]string{"refresh_token": pwd.refresh}, nil), 204, "")
	expect(t, "refresh after logout", a.do(t, "POST", "/auth/refresh", map[string]string{"refresh_token": pwd.refresh}, nil), 401, "invalid_grant")
	tokenPair(t, "refresh of the MFA session", a.do(t, "POST", "/auth/refresh", map[string]string{"refresh_token": mfa.refresh}, nil))
}

// wrongCode is a six-digit code other than code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// apiArn is the API of events/authorizer-request.json.
const apiArn = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234"

// authorizeRoute runs the template's authorizer under `sam local invoke`,
// with MfaRoutes set, on events/authorizer-request.json sent to route
// ("METHOD/path") with access.
func authorizeRoute(t *testing.T, access, route string) policy {
	t.Helper()
	method, path, _ := strings.Cut(route, "/")
	path = "/" + path
	var ev map[string]any
	if err := json.Unmarshal(event(t, "authorizer-request.json", placeholders{access: access}), &ev); err != nil {
		t.Fatal(err)
	}
	ev["methodArn"] = apiArn + "/v1/" + route
	ev["path"], ev["resource"], ev["httpMethod"] = path, path, method
	rc := ev["requestContext"].(map[string]any)
	rc["path"], rc["resourcePath"], rc["httpMethod"] = "/v1"+path, path, method
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	raw, ierr := env.invoke(t, "AuthorizerFunction", b, `MfaRoutes="`+mfaRoutes+`"`)
	if ierr != nil {
		t.Fatalf("authorizer on %s: error %q (%s)", route, ierr.Message, ierr.Type)
	}
	var pol policy
	if err := json.Unmarshal(raw, &pol); err != nil {
		t.Fatalf("authorizer on %s: %v: %s", route, err, raw)
	}
	return pol
}

// allowsArn evaluates the policy for a method ARN as IAM does: an explicit
// Deny wins, else an Allow is needed.
func (p policy) allowsArn(arn string) bool {
	allowed := false
	for _, s := range p.PolicyDocument.Statement {
		if !resourceMatches(s.Resource, arn) {
			continue
		}
		if s.Effect == "Deny" {
			return false
		}
		allowed = allowed || s.Effect == "Allow"
	}
	return allowed
}

// resourceMatches: IAM's wildcards, * any run of characters and ? one.
func resourceMatches(resource any, arn string) bool {
	var patterns []string
	switch r := resource.(type) {
	case string:
		patterns = []string{r}
	case []any:
		for _, x := range r {
			s, _ := x.(string)
			patterns = append(patterns, s)
		}
	}
	for _, p := range patterns {
		re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(p)) + "$"
		if regexp.MustCompile(re).MatchString(arn) {
			return true
		}
	}
	return false
}
