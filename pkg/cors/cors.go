package cors

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rotor-auth/rotor/pkg/apierr"
)

// The policy, the one source for every answer: the handlers', the
// preflights', the local server's stand-ins for API Gateway's own answers,
// and template.yaml's GatewayResponses (test/e2e TestTemplateCORS holds the
// template to these). The allowed origin is configuration
// (ROTOR_CORS_ALLOW_ORIGIN, the template's CorsAllowOrigin).
const (
	// AllowHeaders are the request headers a browser may send: the bearer
	// token, JSON bodies, the cookie transport's X-CSRF-Token and
	// X-Rotor-Refresh-Transport (pkg/httpapi CSRFHeader, TransportHeader),
	// and a DPoP-bound client's proof (DPoP).
	AllowHeaders = "Authorization, Content-Type, DPoP, X-CSRF-Token, X-Rotor-Refresh-Transport"
	AllowMethods = "GET, POST, DELETE, OPTIONS"
	// ExposeHeaders are read by clients on 429 and 401, and DPoP-Nonce by a
	// DPoP client told use_dpop_nonce (RFC 9449 §8).
	ExposeHeaders = "Retry-After, WWW-Authenticate, DPoP-Nonce"
	MaxAge        = "600" // seconds a browser keeps a preflight answer
)

// Headers are the CORS headers of every answer for origin ("*" or one
// origin). Credentials (the cookie transport) are allowed only for a named
// origin: browsers refuse them with "*" anyway, and the cookie transport
// refuses to run with "*".
func Headers(origin string) map[string]string {
	h := map[string]string{
		"Access-Control-Allow-Origin":   origin,
		"Access-Control-Expose-Headers": ExposeHeaders,
	}
	if origin != "*" {
		h["Access-Control-Allow-Credentials"] = "true"
	}
	return h
}

// PreflightHeaders are Headers plus what only a preflight (OPTIONS) answer
// needs: the allowed request headers and methods and how long the browser
// may keep the answer.
func PreflightHeaders(origin string) map[string]string {
	h := Headers(origin)
	h["Access-Control-Allow-Headers"] = AllowHeaders
	h["Access-Control-Allow-Methods"] = AllowMethods
	h["Access-Control-Max-Age"] = MaxAge
	return h
}

// Preflight is the answer to a preflight on any path: 204, no body, the
// preflight headers, and what every Rotor answer carries.
func Preflight(origin string) events.APIGatewayProxyResponse {
	h := map[string]string{
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	for k, v := range PreflightHeaders(origin) {
		h[k] = v
	}
	return events.APIGatewayProxyResponse{StatusCode: http.StatusNoContent, Headers: h}
}

// Handler is the preflight function's handler: template.yaml sends every
// path's OPTIONS to it, unauthenticated, so that no route's own function has
// two events on one path (SAM CLI's local gateway would merge them and keep
// one authorizer for both: docs/DEPLOY.md §3). Any other method is refused
// with 405, as no event routes one here.
func Handler(origin string) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		if req.HTTPMethod == http.MethodOptions {
			return Preflight(origin), nil
		}
		h := Headers(origin)
		h["Cache-Control"] = "no-store"
		h["X-Content-Type-Options"] = "nosniff"
		h["Content-Type"] = "application/json"
		h["Allow"] = http.MethodOptions
		body, err := json.Marshal(map[string]string{"error": apierr.MethodNotAllowed.Code, "error_description": apierr.MethodNotAllowed.Description})
		return events.APIGatewayProxyResponse{StatusCode: apierr.MethodNotAllowed.Status, Headers: h, Body: string(body)}, err
	}
}
