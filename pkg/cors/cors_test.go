package cors_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rotor-auth/rotor/pkg/cors"
)

// TestHandler: the preflight function answers OPTIONS on any path, without
// authentication, with the one policy (credentials only for a named
// origin), and refuses every other method: no event routes one to it, and a
// request it cannot serve must not look served.
func TestHandler(t *testing.T) {
	for _, origin := range []string{"*", "https://app.example.com"} {
		t.Run(origin, func(t *testing.T) {
			h := cors.Handler(origin)
			for _, path := range []string{"/auth/login", "/me", "/auth/sessions/sess_1", "/oauth/token", "/.well-known/jwks.json"} {
				resp, err := h(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: http.MethodOptions, Path: path, Headers: map[string]string{
					"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
					"Access-Control-Request-Headers": "authorization,content-type,x-csrf-token,x-rotor-refresh-transport",
				}})
				if err != nil || resp.StatusCode != http.StatusNoContent || resp.Body != "" {
					t.Fatalf("OPTIONS %s: %d %q %v; want 204, no body", path, resp.StatusCode, resp.Body, err)
				}
				if !maps.Equal(resp.Headers, cors.Preflight(origin).Headers) {
					t.Errorf("OPTIONS %s: headers %v; want %v", path, resp.Headers, cors.Preflight(origin).Headers)
				}
				for k, want := range cors.PreflightHeaders(origin) {
					if resp.Headers[k] != want {
						t.Errorf("OPTIONS %s: %s = %q; want %q", path, k, resp.Headers[k], want)
					}
				}
				cred, ok := resp.Headers["Access-Control-Allow-Credentials"]
				if named := origin != "*"; ok != named || (named && cred != "true") {
					t.Errorf("OPTIONS %s with origin %s: Access-Control-Allow-Credentials %q (present %v); want true exactly for a named origin", path, origin, cred, ok)
				}
				for _, hdr := range []string{"Authorization", "Content-Type", "DPoP", "X-CSRF-Token", "X-Rotor-Refresh-Transport"} {
					if !strings.Contains(resp.Headers["Access-Control-Allow-Headers"], hdr) {
						t.Errorf("OPTIONS %s: Access-Control-Allow-Headers %q lacks %s", path, resp.Headers["Access-Control-Allow-Headers"], hdr)
					}
				}
			}
			for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
				resp, err := h(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: method, Path: "/me"})
				if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
					t.Fatalf("%s /me: %d %v; want 405", method, resp.StatusCode, err)
				}
				var body map[string]string
				if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body["error"] != "method_not_allowed" || body["error_description"] == "" {
					t.Errorf("%s /me: body %q; want the error shape with method_not_allowed", method, resp.Body)
				}
				if resp.Headers["Access-Control-Allow-Origin"] != origin || resp.Headers["Allow"] != http.MethodOptions {
					t.Errorf("%s /me: headers %v; want the CORS headers and Allow: OPTIONS", method, resp.Headers)
				}
			}
		})
	}
}
