package authorizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/stepup"
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
	// MFARoutes are the routes a token must have "mfa" in its amr for
	// (step-up at the edge): a REST policy for a token without it denies
	// them and allows the rest of the API; an HTTP API event for one of
	// them is refused. None: every valid token is allowed everywhere.
	MFARoutes stepup.Routes
	// Proofs checks the DPoP proof (RFC 9449) a token bound to a key
	// (cnf.jkt) must come with: its Replay spends each proof's jti in a
	// store every container shares. nil: bound tokens are refused. A bound
	// token is never accepted without its proof, whatever the DPoP mode.
	Proofs *dpop.Verifier
	// RequireDPoP refuses tokens that are not bound to a key
	// (ROTOR_DPOP=required).
	RequireDPoP bool
	// GatewayCacheTTL is how long API Gateway may keep this authorizer's
	// answers (ROTOR_GATEWAY_CACHE_TTL). When it is not 0 a bound token is
	// refused: a cached Allow would let the next requests through with no
	// proof checked, or a replayed one.
	GatewayCacheTTL time.Duration
	Log             *slog.Logger
	Now             func() time.Time
}

// Identity is who a verified token names. Its JSON is the flat authorizer
// context routes read (requestContext.authorizer for REST APIs,
// requestContext.authorizer.lambda for HTTP APIs).
type Identity struct {
	UserID    string `json:"user_id"`
	Username  string `json:"username"`
	SessionID string `json:"session_id"`
	// AMR is the token's amr claim joined by spaces (an authorizer context
	// holds only strings, numbers and booleans), AuthTime its auth_time in
	// Unix seconds as a decimal string; empty for tokens without them.
	AMR      string `json:"amr,omitempty"`
	AuthTime string `json:"auth_time,omitempty"`
	// jkt is the thumbprint of the key the token is bound to (its
	// cnf.jkt), "" for a bearer token. Not in the context: the warm Cache
	// keeps it with the token's verification, so a cached token still needs
	// a proof by its key on every request.
	jkt string
}

// Context is the identity as API Gateway hands the authorizer context to a
// route: the JSON object of Identity as a map (the local server uses it).
func (id Identity) Context() map[string]any {
	m := map[string]any{"user_id": id.UserID, "username": id.Username, "session_id": id.SessionID}
	if id.AMR != "" {
		m["amr"] = id.AMR
	}
	if id.AuthTime != "" {
		m["auth_time"] = id.AuthTime
	}
	return m
}

// MFA reports whether the token's amr lists the method the MFA routes need.
func (id Identity) MFA() bool {
	return stepup.Satisfied(strings.Fields(id.AMR))
}

// identity is who claims name, with their amr and auth_time.
func identity(c *token.Claims) Identity {
	id := Identity{UserID: c.Subject, Username: c.Username, SessionID: c.SessionID, AMR: strings.Join(c.AMR, " "), jkt: c.BoundKey()}
	if c.AuthTime != nil {
		id.AuthTime = strconv.FormatInt(c.AuthTime.Unix(), 10)
	}
	return id
}

func (a *Authorizer) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// Authorize checks an Authorization header value alone: a bearer token (a
// token bound to a key needs its proof, see AuthorizeRequest). A bad token
// gives ErrUnauthorized; any other error means the check could not be made,
// and the caller must not allow.
func (a *Authorizer) Authorize(ctx context.Context, authorization string) (Identity, error) {
	return a.AuthorizeRequest(ctx, Request{Authorization: authorization})
}

// AuthorizeRequest checks a request's access token and, for a token bound to
// a key, its DPoP proof. A refused token or proof gives an error wrapping
// ErrUnauthorized (ErrInvalidProof or ErrUseNonce for a proof); any other
// error means the check could not be made, and the caller must not allow.
func (a *Authorizer) AuthorizeRequest(ctx context.Context, r Request) (id Identity, err error) {
	defer func() {
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			// API Gateway answers 500; the alarm on authorizer_error says why.
			a.log().ErrorContext(ctx, "authorization could not be decided", "event", "authorizer_error", "cause", err.Error())
		}
	}()
	scheme, raw, ok := token.FromAuthorization(r.Authorization)
	if !ok {
		return Identity{}, ErrUnauthorized
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	var key CacheKey
	cached := false
	if a.Cache != nil {
		key = KeyOf(raw)
		id, cached = a.Cache.Get(key, now())
	}
	if !cached {
		if id, err = a.verify(ctx, raw, key, now); err != nil {
			return Identity{}, err
		}
	}
	// The token is good; the request must still be one its binding allows.
	// The proof is checked on every request, cached token or not.
	if err := a.checkBinding(ctx, scheme, raw, id, r, now()); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// verify checks the token itself (signature, claims and, in strict mode, its
// session) and caches the verification when the Cache is on.
func (a *Authorizer) verify(ctx context.Context, raw string, key CacheKey, now func() time.Time) (Identity, error) {
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
	id := identity(claims)
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

// event is what Invoke reads of the three event shapes (REST TOKEN, REST
// REQUEST and HTTP API payload 1.0, HTTP API payload 2.0): one decode of
// these few fields, not of the whole request context the events carry.
type event struct {
	Version            string          `json:"version"`
	Type               string          `json:"type"`
	AuthorizationToken string          `json:"authorizationToken"`
	MethodArn          string          `json:"methodArn"`
	Headers            headers         `json:"headers"`
	MultiValueHeaders  json.RawMessage `json:"multiValueHeaders"` // read only for a DPoP header's values
	IdentitySource     identitySource  `json:"identitySource"`
	RouteArn           string          `json:"routeArn"` // HTTP API: the methodArn's shape
	HTTPMethod         string          `json:"httpMethod"`
	RawPath            string          `json:"rawPath"` // HTTP API 2.0
	RequestContext     requestContext  `json:"requestContext"`
}

// requestContext is what Invoke reads of an event's request context: where
// the client sent the request, for the DPoP proof's htm and htu.
type requestContext struct {
	// Path is the REST (and HTTP API 1.0) request path as the client sent
	// it: with the stage of an execute-api URL, with the base path of a
	// custom domain.
	Path       string `json:"path"`
	DomainName string `json:"domainName"`
	HTTPMethod string `json:"httpMethod"`
	HTTP       struct {
		Method string `json:"method"`
	} `json:"http"` // HTTP API 2.0
}

// headers are the few headers Invoke reads of an event's headers map, the
// names matched in any case (encoding/json matches a key to a field
// case-insensitively, and skips the rest unread: a REQUEST event carries
// every header of the request, the authorizer needs four).
type headers struct {
	Authorization   string `json:"authorization"`
	DPoP            string `json:"dpop"`
	Host            string `json:"host"`
	XForwardedProto string `json:"x-forwarded-proto"`
}

// identitySource is the v2 payload's list of identity values; HTTP API
// payload 1.0 sends one comma-joined string instead, which Invoke ignores (it
// reads the header).
type identitySource []string

// UnmarshalJSON keeps the list form and ignores any other.
func (s *identitySource) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '[' {
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

// Invoke is the Lambda entry point of functions/authorizer (it makes
// Authorizer a lambda.Handler): the event's JSON in, the response's JSON out.
// It accepts any of the three event shapes and answers each in its own
// format: an IAM policy for REST APIs, a simple response for HTTP APIs. A
// refused token is ErrUnauthorized, which API Gateway turns into a 401; any
// other error means no decision could be made (API Gateway answers 500).
//
// Decoding the event and encoding the answer here, rather than through
// aws-lambda-go's reflection, is one decode and one encode per decision,
// and the answer's structs (below) keep the context a flat struct, not a map.
func (a *Authorizer) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("authorizer: event: %w", err)
	}
	var r Request
	switch {
	case ev.Version == "2.0":
		r.Authorization = ev.Headers.Authorization
		if r.Authorization == "" && len(ev.IdentitySource) > 0 {
			r.Authorization = ev.IdentitySource[0]
		}
	case ev.Type == "TOKEN":
		// The event has no other header and no URL: a bound token is
		// refused (AuthorizeRequest), a bearer token checked as ever.
		r.Authorization = ev.AuthorizationToken
	case ev.Type == "REQUEST":
		r.Authorization = ev.Headers.Authorization
	default:
		return nil, fmt.Errorf("authorizer: unknown event type %q version %q", ev.Type, ev.Version)
	}
	if ev.Type != "TOKEN" {
		r.Proofs = ev.proofs()
		r.Method, r.URL = ev.request()
	}
	id, err := a.AuthorizeRequest(ctx, r)
	if errors.Is(err, ErrUnauthorized) {
		// API Gateway answers 401 only for this exact message.
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	arn := ev.MethodArn
	if ev.Version == "2.0" {
		arn = ev.RouteArn
	}
	// A token without "mfa" when some routes need it: refused on those.
	stepUp, onMFARoute := len(a.MFARoutes) > 0 && !id.MFA(), false
	if stepUp {
		method, path, ok := MethodAndPath(arn)
		// An ARN that does not parse names no route: fail closed.
		onMFARoute = !ok || a.MFARoutes.Requires(method, path)
		if onMFARoute {
			// Info: the step_up_required metric counts these.
			a.log().InfoContext(ctx, "route needs a multi-factor login", "event", "step_up_required",
				"user_id", id.UserID, "session_id", id.SessionID, "method", method, "path", path)
		}
	}
	if ev.Version == "2.0" {
		// An HTTP API caches a simple response per identity source, not per
		// route: with MFA routes its identity source must hold
		// $context.routeKey too, or its caching must be off (DEPLOY.md).
		return json.Marshal(&SimpleResponse{IsAuthorized: !onMFARoute, Context: id})
	}
	p := allow(id, arn)
	if stepUp {
		// API Gateway caches this policy per token and applies it to every
		// route of the API: Allow the stage, Deny exactly the MFA routes,
		// so a cached answer is right on every route.
		p.PolicyDocument.Statement = append(p.PolicyDocument.Statement, Statement{
			Action: [1]string{"execute-api:Invoke"}, Effect: "Deny",
			Resource: a.MFARoutes.Resources(strings.TrimSuffix(APIWildcard(arn), "*")),
		})
	}
	return json.Marshal(p)
}

// MethodAndPath splits a method or route ARN
// (arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH) into its
// method and its path ("/" and what follows the method; "/" when none).
func MethodAndPath(arn string) (method, path string, ok bool) {
	stage := strings.TrimSuffix(APIWildcard(arn), "*")
	if stage == arn || !strings.HasPrefix(arn, stage) {
		return "", "", false
	}
	rest := arn[len(stage):]
	method, path, found := strings.Cut(rest, "/")
	if method == "" {
		return "", "", false
	}
	if !found {
		return method, "/", true
	}
	return method, "/" + path, true
}

// PolicyResponse is a REST API authorizer's answer: who the caller is, the
// IAM policy API Gateway enforces (and caches per token), and the context
// routes read. Its JSON is the shape of aws-lambda-go's
// events.APIGatewayCustomAuthorizerResponse.
type PolicyResponse struct {
	PrincipalID    string   `json:"principalId"`
	PolicyDocument Policy   `json:"policyDocument"`
	Context        Identity `json:"context"`
}

// Policy is an IAM policy document: the Allow of the whole API stage, and
// for a token without "mfa" when there are MFA routes, the Deny of those.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement.
type Statement struct {
	Action   [1]string `json:"Action"`
	Effect   string    `json:"Effect"`
	Resource []string  `json:"Resource"`
}

// SimpleResponse is an HTTP API authorizer's simple response (payload 2.0):
// the authorizer must be configured with simple responses enabled. Its JSON
// is the shape of events.APIGatewayV2CustomAuthorizerSimpleResponse.
type SimpleResponse struct {
	IsAuthorized bool     `json:"isAuthorized"`
	Context      Identity `json:"context"`
}

// allow builds an Allow policy for every method and path of the API stage the
// request came through. API Gateway caches the policy per token; scoped to one
// route, the cached policy would deny the same token on every other route.
func allow(id Identity, methodArn string) *PolicyResponse {
	return &PolicyResponse{
		PrincipalID: id.UserID,
		PolicyDocument: Policy{
			Version: "2012-10-17",
			Statement: []Statement{{
				Action:   [1]string{"execute-api:Invoke"},
				Effect:   "Allow",
				Resource: []string{APIWildcard(methodArn)},
			}},
		},
		Context: id,
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
