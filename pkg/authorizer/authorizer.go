package authorizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/token"
)

// ErrUnauthorized is the exact error API Gateway maps to a 401 response.
var ErrUnauthorized = errors.New("Unauthorized")

// SessionChecker reports whether a session is still alive; the strict mode
// calls it for every authorization API Gateway has not cached.
type SessionChecker interface {
	Check(ctx context.Context, sessionID string, now time.Time) error
}

// Authorizer verifies access tokens for API Gateway.
type Authorizer struct {
	Verifier *token.Verifier
	Sessions SessionChecker // nil: tokens are trusted until they expire
	Log      *slog.Logger
	Now      func() time.Time
}

// Identity is who a verified token names; it becomes the authorizer context.
type Identity struct {
	UserID    string
	Username  string
	SessionID string
}

// Context is the flat authorizer context routes read (requestContext.authorizer
// for REST APIs, requestContext.authorizer.lambda for HTTP APIs).
func (id Identity) Context() map[string]any {
	return map[string]any{"user_id": id.UserID, "username": id.Username, "session_id": id.SessionID}
}

func (a *Authorizer) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// Authorize checks an Authorization header value. A bad token gives
// ErrUnauthorized; any other error means the check could not be made, and
// the caller must not allow.
func (a *Authorizer) Authorize(ctx context.Context, authorization string) (Identity, error) {
	raw, ok := token.FromHeader(authorization)
	if !ok {
		return Identity{}, ErrUnauthorized
	}
	claims, err := a.Verifier.Verify(ctx, raw)
	if errors.Is(err, token.ErrInvalid) {
		a.log().DebugContext(ctx, "access token refused", "event", "token_refused", "reason", err.Error())
		return Identity{}, ErrUnauthorized
	}
	if err != nil {
		return Identity{}, fmt.Errorf("authorizer: %w", err)
	}
	id := Identity{UserID: claims.Subject, Username: claims.Username, SessionID: claims.SessionID}
	if a.Sessions != nil {
		now := time.Now
		if a.Now != nil {
			now = a.Now
		}
		switch err := a.Sessions.Check(ctx, id.SessionID, now()); {
		case err == nil:
		case isSessionGone(err):
			a.log().InfoContext(ctx, "access token of an ended session", "event", "token_refused", "reason", "session_ended", "session_id", id.SessionID)
			return Identity{}, ErrUnauthorized
		default:
			return Identity{}, fmt.Errorf("authorizer: session check: %w", err)
		}
	}
	return id, nil
}

func isSessionGone(err error) bool {
	return errors.Is(err, sessions.ErrUnknown) || errors.Is(err, sessions.ErrExpired)
}

// Token handles a REST API TOKEN authorizer event.
func (a *Authorizer) Token(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	id, err := a.Authorize(ctx, ev.AuthorizationToken)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	return allow(id, ev.MethodArn), nil
}

// Request handles a REST API REQUEST authorizer event.
func (a *Authorizer) Request(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	id, err := a.Authorize(ctx, headerValue(ev.Headers, "Authorization"))
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	return allow(id, ev.MethodArn), nil
}

// HTTPV2 handles an HTTP API authorizer event (payload format 2.0) with a
// simple response; the authorizer must be configured with simple responses.
func (a *Authorizer) HTTPV2(ctx context.Context, ev events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	auth := headerValue(ev.Headers, "Authorization")
	if auth == "" && len(ev.IdentitySource) > 0 {
		auth = ev.IdentitySource[0]
	}
	id, err := a.Authorize(ctx, auth)
	if err != nil {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: id.Context()}, nil
}

// Handle accepts any of the three event shapes and dispatches on it: the
// Lambda entry point of functions/authorizer.
func (a *Authorizer) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Version            string `json:"version"`
		Type               string `json:"type"`
		AuthorizationToken string `json:"authorizationToken"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("authorizer: event: %w", err)
	}
	switch {
	case probe.Version == "2.0":
		var ev events.APIGatewayV2CustomAuthorizerV2Request
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("authorizer: v2 event: %w", err)
		}
		return a.HTTPV2(ctx, ev)
	case probe.Type == "TOKEN":
		var ev events.APIGatewayCustomAuthorizerRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("authorizer: token event: %w", err)
		}
		return a.Token(ctx, ev)
	case probe.Type == "REQUEST":
		var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("authorizer: request event: %w", err)
		}
		return a.Request(ctx, ev)
	}
	return nil, fmt.Errorf("authorizer: unknown event type %q version %q", probe.Type, probe.Version)
}

// allow builds an Allow policy for every method and path of the API stage the
// request came through. API Gateway caches the policy per token; scoped to one
// route, the cached policy would deny the same token on every other route.
func allow(id Identity, methodArn string) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: id.UserID,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   "Allow",
				Resource: []string{APIWildcard(methodArn)},
			}},
		},
		Context: id.Context(),
	}
}

// APIWildcard turns arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH
// into arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/*. The request path may
// itself contain ':' (/jobs/42:cancel), so the ARN is split on its first five
// colons, never its last.
func APIWildcard(methodArn string) string {
	fields := strings.SplitN(methodArn, ":", 6)
	if len(fields) != 6 {
		return methodArn
	}
	parts := strings.SplitN(fields[5], "/", 3)
	if len(parts) < 2 {
		return methodArn
	}
	return strings.Join(fields[:5], ":") + ":" + parts[0] + "/" + parts[1] + "/*"
}

func headerValue(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
