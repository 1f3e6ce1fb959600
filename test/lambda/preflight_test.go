package lambda_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/httpapi"
)

// TestPreflight: template.yaml sends each path's OPTIONS, without a token, to
// the path's own function; the real binary answers it with the CORS policy
// (test/e2e TestTemplateCORS checks the template's routing and gateway
// responses against the same policy).
func TestPreflight(t *testing.T) {
	requireEnv(t)
	for _, rt := range []struct{ function, path string }{
		{"SignupFunction", "/auth/signup"},
		{"LoginFunction", "/auth/login"},
		{"RefreshFunction", "/auth/refresh"},
		{"LogoutFunction", "/auth/logout"},
		{"JwksFunction", "/.well-known/jwks.json"},
		{"MeFunction", "/me"},
		{"SessionsFunction", "/auth/sessions"},
		{"PasswordFunction", "/auth/password"},
		{"EmailFunction", "/auth/email"},
		{"EmailFunction", "/auth/email/verify"},
		{"EmailFunction", "/auth/email/verify/resend"},
		{"RecoveryFunction", "/auth/password/forgot"},
		{"RecoveryFunction", "/auth/password/reset"},
		{"MfaFunction", "/auth/mfa/totp"},
		{"MfaFunction", "/auth/mfa/verify"},
		{"PasskeysFunction", "/auth/passkeys/login"},
		{"PasskeysFunction", "/auth/passkeys/register"},
	} {
		t.Run(rt.function, func(t *testing.T) {
			r := call(t, rt.function, request{method: "OPTIONS", path: rt.path, headers: map[string]string{
				"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "content-type,x-rotor-refresh-transport,x-csrf-token",
			}})
			expectStatus(t, "OPTIONS "+rt.path, r, 204)
			want := httpapi.PreflightHeaders(header(r, "Access-Control-Allow-Origin"))
			for k, v := range want {
				if got := header(r, k); got != v {
					t.Errorf("OPTIONS %s: %s = %q; want %q", rt.path, k, got, v)
				}
			}
			if header(r, "Access-Control-Allow-Origin") == "" {
				t.Errorf("OPTIONS %s: no Access-Control-Allow-Origin", rt.path)
			}
		})
	}
}
