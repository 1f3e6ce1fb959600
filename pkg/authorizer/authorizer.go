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
	// Cache, when set, reuses this container's own allow decisions for the
	// same token (see Cache); nil: every event is verified.
	Cache *Cache
	Log   *slog.Logger
	Now   func() time.Time
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
func (a *Authorizer) Authorize(ctx context.Context, authorization string) (id Identity, err error) {
	defer func() {
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			// API Gateway answers 500; the alarm on authorizer_error says why.
			a.log().ErrorContext(ctx, "authorization could not be decided", "event", "authorizer_error", "cause", err.Error())
		}
	}()
	raw, ok := token.FromHeader(authorization)
	if !ok {
		return Identity{}, ErrUnauthorized
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	var key CacheKey
	if a.Cache != nil {
		key = KeyOf(raw)
		if id, ok := a.Cache.Get(key, now()); ok {
			return id, nil
		}
	}
	claims, err := a.Verifier.Verify(ctx, raw)
	if errors.Is(err, token.ErrInvalid) {
		// Info, not Debug: the token_refused metric counts these (a burst
		// of forged or stale tokens is worth an alarm); the gateway's
		// validation expression keeps non-JWT garbage from getting here.
		a.log().InfoContext(ctx, "access token refused", "event", "token_refused", "reason", err.Error())
		return Identity{}, ErrUnauthorized
	}
	if err != nil {
		return Identity{}, fmt.Errorf("authorizer: %w", err)
	}
	id = Identity{UserID: claims.Subject, Username: claims.Username, SessionID: claims.SessionID}
	if a.Sessions != nil {
		switch err := a.Sessions.Check(ctx, id.SessionID, now()); {
		case err == nil:
		case isSessionGone(err):
			a.log().InfoContext(ctx, "access token of an ended session", "event", "token_refused", "reason", "session_ended", "session_id", id.SessionID)
			return Identity{}, ErrUnauthorized
		default:
			return Identity{}, fmt.Errorf("authorizer: session check: %w", err)
		}
	}
	if a.Cache != nil && claims.ExpiresAt != nil {
		a.Cache.Put(key, id, claims.ExpiresAt.Time, now())
	}
	return id, nil
}

func isSessionGone(err error) bool {
	return errors.Is(err, sessions.ErrUnknown) || errors.Is(err, sessions.ErrExpired) || errors.Is(err, sessions.ErrRevoked)
}

// Token handles a REST API TOKEN authorizer event.
func (a *Authorizer) Token(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	return a.policy(ctx, ev.AuthorizationToken, ev.MethodArn)
}

// Request handles a REST API REQUEST authorizer event.
func (a *Authorizer) Request(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	return a.policy(ctx, headerValue(ev.Headers, "Authorization"), ev.MethodArn)
}

// HTTPV2 handles an HTTP API authorizer event (payload format 2.0) with a
// simple response; the authorizer must be configured with simple responses.
func (a *Authorizer) HTTPV2(ctx context.Context, ev events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	return a.simple(ctx, ev.Headers, ev.IdentitySource)
}

func (a *Authorizer) policy(ctx context.Context, authorization, methodArn string) (events.APIGatewayCustomAuthorizerResponse, error) {
	id, err := a.Authorize(ctx, authorization)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	return allow(id, methodArn), nil
}

func (a *Authorizer) simple(ctx context.Context, headers map[string]string, identitySource []string) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	auth := headerValue(headers, "Authorization")
	if auth == "" && len(identitySource) > 0 {
		auth = identitySource[0]
	}
	id, err := a.Authorize(ctx, auth)
	if err != nil {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: id.Context()}, nil
}

// event is what Handle reads of the three event shapes: one decode of these
// few fields, not of the whole request context the events carry.
type event struct {
	Version            string            `json:"version"`
	Type               string            `json:"type"`
	AuthorizationToken string            `json:"authorizationToken"`
	MethodArn          string            `json:"methodArn"`
	Headers            map[string]string `json:"headers"`
	IdentitySource     identitySource    `json:"identitySource"`
}

// identitySource is the v2 payload's list of identity values; HTTP API
// payload 1.0 sends one comma-joined string instead, which Handle ignores (it
// reads the header).
type identitySource []string

// UnmarshalJSON keeps the list form and ignores any other.
func (s *identitySource) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '[' {
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

// Handle accepts any of the three event shapes and dispatches on it: the
// Lambda entry point of functions/authorizer.
func (a *Authorizer) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("authorizer: event: %w", err)
	}
	switch {
	case ev.Version == "2.0":
		return a.simple(ctx, ev.Headers, ev.IdentitySource)
	case ev.Type == "TOKEN":
		return a.policy(ctx, ev.AuthorizationToken, ev.MethodArn)
	case ev.Type == "REQUEST":
		return a.policy(ctx, headerValue(ev.Headers, "Authorization"), ev.MethodArn)
	}
	return nil, fmt.Errorf("authorizer: unknown event type %q version %q", ev.Type, ev.Version)
}

// allow builds an Allow policy for every method and path of the API stage the
// request came through. API Gateway caches the policy per token; scoped to one
// route, the cached policy would deny the same token on every other route.
func allow(id Identity, methodArn string) events.APIGatewayCustomAuthorizerResponse {
	// One allocation for the policy's three one-element slices.
	p := &struct {
		statement        [1]events.IAMPolicyStatement
		action, resource [1]string
	}{action: [1]string{"execute-api:Invoke"}, resource: [1]string{APIWildcard(methodArn)}}
	p.statement[0] = events.IAMPolicyStatement{Action: p.action[:], Effect: "Allow", Resource: p.resource[:]}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: id.UserID,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version:   "2012-10-17",
			Statement: p.statement[:],
		},
		Context: id.Context(),
	}
}

// APIWildcard turns arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH
// into arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/*. The request path may
// itself contain ':' (/jobs/42:cancel), so the ARN is split on its first five
// colons, never its last.
func APIWildcard(methodArn string) string {
	i := 0 // index just past the fifth colon
	for range 5 {
		j := strings.IndexByte(methodArn[i:], ':')
		if j < 0 {
			return methodArn
		}
		i += j + 1
	}
	api := strings.IndexByte(methodArn[i:], '/') // API id / stage
	if api < 0 {
		return methodArn
	}
	stage := i + api + 1
	end := strings.IndexByte(methodArn[stage:], '/')
	if end < 0 {
		end = len(methodArn) - stage
	}
	return methodArn[:stage+end] + "/*"
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
