package lambda_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/httpapi"
)

// TestPreflight: template.yaml sends every path's OPTIONS, without a token,
// to PreflightFunction; the real binary answers it with the CORS policy on
// each path (test/e2e TestTemplateCORS checks the template's routing and
// gateway responses against the same policy).
func TestPreflight(t *testing.T) {
	requireEnv(t)
	for _, path := range []string{
		"/auth/signup", "/auth/login", "/auth/refresh", "/auth/logout", "/.well-known/jwks.json",
		"/me", "/auth/sessions", "/auth/sessions/sess_1", "/auth/password",
		"/auth/email", "/auth/email/verify", "/auth/email/verify/resend",
		"/auth/password/forgot", "/auth/password/reset", "/oauth/token", "/oauth/revoke",
		"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
		"/auth/mfa/totp", "/auth/mfa/totp/confirm", "/auth/mfa/recovery-codes", "/auth/mfa/verify", "/auth/mfa/passkey/options",
		"/auth/passkeys", "/auth/passkeys/pk_1", "/auth/passkeys/register/options", "/auth/passkeys/register",
		"/auth/passkeys/login/options", "/auth/passkeys/login",
	} {
		t.Run(path, func(t *testing.T) {
			r := call(t, "PreflightFunction", request{method: "OPTIONS", path: path, headers: map[string]string{
				"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "content-type,x-rotor-refresh-transport,x-csrf-token",
			}})
			expectStatus(t, "OPTIONS "+path, r, 204)
			want := httpapi.PreflightHeaders(header(r, "Access-Control-Allow-Origin"))
			for k, v := range want {
				if got := header(r, k); got != v {
					t.Errorf("OPTIONS %s: %s = %q; want %q", path, k, got, v)
				}
			}
			if header(r, "Access-Control-Allow-Origin") == "" {
				t.Errorf("OPTIONS %s: no Access-Control-Allow-Origin", path)
			}
		})
	}
	// Nothing routes another method here; were one routed by mistake, it is
	// refused, not served.
	expectStatus(t, "GET /me on PreflightFunction", call(t, "PreflightFunction", request{method: "GET", path: "/me"}), 405)
}
