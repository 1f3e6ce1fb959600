package authorizer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/token"
)

// The testdata files are AWS's sample events from aws-lambda-go's
// events/testdata, with a bearer token (ACCESS_TOKEN, filled in per test)
// where the sample had its own identity source.
const placeholder = "Bearer ACCESS_TOKEN"

var now = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

var subject = token.Subject{UserID: "user-42", Username: "ada", SessionID: "sess-7"}

type shape struct {
	name      string
	file      string
	methodArn string // "" for HTTP API simple responses
	wildcard  string
	// drop removes every place the shape carries the Authorization header.
	drop func(m map[string]any)
}

var shapes = []shape{
	{
		name: "REST TOKEN", file: "apigw-custom-auth-request.json",
		methodArn: "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/",
		wildcard:  "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/*",
		drop:      func(m map[string]any) { delete(m, "authorizationToken") },
	},
	{
		name: "REST REQUEST", file: "apigw-custom-auth-request-type-request.json",
		methodArn: "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/GET/request",
		wildcard:  "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/*",
		drop: func(m map[string]any) {
			delete(m["headers"].(map[string]any), "Authorization")
			delete(m["multiValueHeaders"].(map[string]any), "Authorization")
		},
	},
	{
		name: "HTTP API v2", file: "apigw-v2-custom-authorizer-v2-request.json",
		drop: func(m map[string]any) {
			delete(m["headers"].(map[string]any), "authorization")
			delete(m, "identitySource")
		},
	},
}

// event returns the shape's sample event with authorization as its
// Authorization header value.
func (s shape) event(t testing.TB, authorization string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", s.file))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), placeholder) {
		t.Fatalf("%s has no %q", s.file, placeholder)
	}
	quoted, _ := json.Marshal(authorization)
	return json.RawMessage(strings.ReplaceAll(string(b), placeholder, string(quoted[1:len(quoted)-1])))
}

// eventWithout returns the shape's sample event with no Authorization header.
func (s shape) eventWithout(t testing.TB) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(s.event(t, "x"), &m); err != nil {
		t.Fatal(err)
	}
	s.drop(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"x"`) {
		t.Fatalf("%s still carries the header: %s", s.name, b)
	}
	return b
}

type fixture struct {
	key     keys.Key
	foreign keys.Key
	src     keys.Source
	issuer  *token.Issuer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	k, err := keys.Generate("ES256", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := keys.Generate("ES256", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	src := keys.Static{Current: k}
	return &fixture{key: k, foreign: foreign, src: src,
		issuer: &token.Issuer{Keys: src, Issuer: "rotor", Audience: "rotor-api", TTL: 15 * time.Minute}}
}

func (f *fixture) authorizer(src keys.Source, sessions authorizer.SessionChecker) *authorizer.Authorizer {
	return &authorizer.Authorizer{
		Verifier: &token.Verifier{Keys: src, Alg: "ES256", Issuer: "rotor", Audience: "rotor-api",
			Leeway: 30 * time.Second, Now: func() time.Time { return now }},
		Sessions: sessions,
		Log:      slog.New(slog.DiscardHandler),
		Now:      func() time.Time { return now },
	}
}

func (f *fixture) token(t testing.TB, at time.Time) string {
	t.Helper()
	raw, err := f.issuer.Issue(context.Background(), subject, at)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// forged signs valid-looking claims with another key under the real kid.
func (f *fixture) forged(t testing.TB) string {
	t.Helper()
	raw, err := f.issuer.Issue(context.Background(), subject, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(raw, ".")
	sig, err := jwt.SigningMethodES256.Sign(parts[0]+"."+parts[1], f.foreign.Private)
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// allowed reports whether a handler's response lets the request through, in
// the JSON API Gateway reads.
// handle runs the Lambda entry point, Invoke, and decodes its JSON answer
// into the aws-lambda-go type of its shape, as API Gateway reads it: a simple
// response when it says isAuthorized, else a policy.
func handle(t testing.TB, a *authorizer.Authorizer, ev json.RawMessage) (any, error) {
	t.Helper()
	out, err := a.Invoke(context.Background(), ev)
	if err != nil {
		if out != nil {
			t.Errorf("Invoke answered %s with error %v", out, err)
		}
		return nil, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("Invoke answered %q: %v", out, err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields() // every field we send is one API Gateway reads
	if _, ok := probe["isAuthorized"]; ok {
		var r events.APIGatewayV2CustomAuthorizerSimpleResponse
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("simple response %s: %v", out, err)
		}
		return r, nil
	}
	var r events.APIGatewayCustomAuthorizerResponse
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("policy response %s: %v", out, err)
	}
	return r, nil
}

func allowed(t *testing.T, resp any) bool {
	t.Helper()
	if resp == nil {
		return false
	}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), `"Allow"`) || strings.Contains(string(b), `"isAuthorized":true`)
}

func wantContext(t *testing.T, got map[string]any) {
	t.Helper()
	want := map[string]any{"user_id": subject.UserID, "username": subject.Username, "session_id": subject.SessionID}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("context = %v; want %v", got, want)
	}
	for k, v := range got {
		if _, ok := v.(string); !ok {
			t.Errorf("context %s is %T; API Gateway takes only flat string, number and boolean values", k, v)
		}
	}
}

func TestInvokeAllows(t *testing.T) {
	f := newFixture(t)
	a := f.authorizer(f.src, nil)
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			resp, err := handle(t, a, s.event(t, "Bearer "+f.token(t, now)))
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			switch r := resp.(type) {
			case events.APIGatewayCustomAuthorizerResponse:
				if s.methodArn == "" {
					t.Fatalf("REST response for %s", s.name)
				}
				if r.PrincipalID != subject.UserID {
					t.Errorf("principalId = %q; want %q", r.PrincipalID, subject.UserID)
				}
				p := r.PolicyDocument
				if p.Version != "2012-10-17" || len(p.Statement) != 1 {
					t.Fatalf("policy = %+v", p)
				}
				st := p.Statement[0]
				if st.Effect != "Allow" || fmt.Sprint(st.Action) != "[execute-api:Invoke]" {
					t.Errorf("statement = %+v; want Allow execute-api:Invoke", st)
				}
				if fmt.Sprint(st.Resource) != "["+s.wildcard+"]" {
					t.Errorf("resource = %v; want [%s], the whole API stage", st.Resource, s.wildcard)
				}
				wantContext(t, r.Context)
			case events.APIGatewayV2CustomAuthorizerSimpleResponse:
				if s.methodArn != "" {
					t.Fatalf("simple response for %s", s.name)
				}
				if !r.IsAuthorized {
					t.Error("isAuthorized = false")
				}
				wantContext(t, r.Context)
			default:
				t.Fatalf("Invoke returned %T", resp)
			}
		})
	}
}

// TestHTTPV2IdentitySource: an HTTP API sends the identity source even when
// the raw header map does not carry it under the expected name.
func TestHTTPV2IdentitySource(t *testing.T) {
	f := newFixture(t)
	var ev events.APIGatewayV2CustomAuthorizerV2Request
	if err := json.Unmarshal(shapes[2].event(t, "Bearer "+f.token(t, now)), &ev); err != nil {
		t.Fatal(err)
	}
	delete(ev.Headers, "authorization")
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := handle(t, f.authorizer(f.src, nil), raw)
	if r, ok := resp.(events.APIGatewayV2CustomAuthorizerSimpleResponse); err != nil || !ok || !r.IsAuthorized {
		t.Fatalf("v2 event with the token in identitySource only = %+v, %v", resp, err)
	}
}

func TestInvokeRefusesWithUnauthorized(t *testing.T) {
	f := newFixture(t)
	a := f.authorizer(f.src, nil)
	expired := f.token(t, now.Add(-16*time.Minute))
	valid := f.token(t, now)
	noneAlg := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": "rotor", "aud": "rotor-api", "sub": "admin", "sid": "s", "exp": now.Add(time.Hour).Unix()})
		tok.Header["kid"], tok.Header["typ"] = f.key.ID, token.Type
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	otherAudience := func() string {
		i := *f.issuer
		i.Audience = "another-api"
		raw, err := i.Issue(context.Background(), subject, now)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}()
	cases := []struct {
		name          string
		authorization *string // nil: no header at all
	}{
		{"missing header", nil},
		{"empty header", ptr("")},
		{"Bearer without token", ptr("Bearer ")},
		{"no scheme", ptr(valid)},
		{"Basic scheme", ptr("Basic dXNlcjpwYXNzd29yZA==")},
		{"garbage", ptr("Bearer garbage")},
		// A valid token followed by anything is refused: REQUEST and HTTP API
		// v2 events carry the raw header, no identity-source regex in front.
		{"valid token then junk", ptr("Bearer " + valid + " junk")},
		{"valid token twice", ptr("Bearer " + valid + " " + valid)},
		{"valid token comma junk", ptr("Bearer " + valid + ",junk")},
		{"expired", ptr("Bearer " + expired)},
		{"forged signature", ptr("Bearer " + f.forged(t))},
		{"alg none", ptr("Bearer " + noneAlg)},
		{"other audience", ptr("Bearer " + otherAudience)},
		{"refresh token", ptr("Bearer rtr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")},
	}
	for _, s := range shapes {
		for _, tc := range cases {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				ev := s.eventWithout(t)
				if tc.authorization != nil {
					ev = s.event(t, *tc.authorization)
				}
				resp, err := handle(t, a, ev)
				if !errors.Is(err, authorizer.ErrUnauthorized) || err.Error() != "Unauthorized" {
					t.Fatalf("Invoke error = %v; want exactly \"Unauthorized\" (API Gateway's 401)", err)
				}
				if allowed(t, resp) {
					t.Errorf("response %+v allows", resp)
				}
			})
		}
	}
}

func ptr(s string) *string { return &s }

type failingSource struct{ err error }

func (f failingSource) Keys(context.Context) (keys.Set, error) { return keys.Set{}, f.err }

// TestKeysUnavailableFailsClosed: when keys cannot be read the authorizer must
// neither allow nor say "Unauthorized" (clients would refresh and retry in a
// loop, and logs would blame the token); API Gateway answers 500.
func TestKeysUnavailableFailsClosed(t *testing.T) {
	f := newFixture(t)
	outage := errors.New("secrets manager: throttled")
	a := f.authorizer(failingSource{outage}, nil)
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			resp, err := handle(t, a, s.event(t, "Bearer "+f.token(t, now)))
			if err == nil || errors.Is(err, authorizer.ErrUnauthorized) || err.Error() == "Unauthorized" {
				t.Fatalf("Invoke error = %v; want an internal error", err)
			}
			if !errors.Is(err, outage) {
				t.Errorf("Invoke error %q does not wrap the cause", err)
			}
			if allowed(t, resp) {
				t.Errorf("response %+v allows", resp)
			}
		})
	}
}

type fakeSessions struct {
	err   error
	calls []string
	at    []time.Time
}

func (f *fakeSessions) Check(_ context.Context, sessionID string, now time.Time) error {
	f.calls = append(f.calls, sessionID)
	f.at = append(f.at, now)
	return f.err
}

func TestStrictSessions(t *testing.T) {
	f := newFixture(t)
	valid := "Bearer " + f.token(t, now)
	dynamoDown := errors.New("dynamodb: throttled")
	tests := []struct {
		name       string
		check      error
		wantUnauth bool
		wantErr    error
	}{
		{"live session", nil, false, nil},
		{"unknown session", sessions.ErrUnknown, true, nil},
		{"expired session", sessions.ErrExpired, true, nil},
		{"session revoked by revoke-all", sessions.ErrRevoked, true, nil},
		{"wrapped unknown session", fmt.Errorf("store: %w", sessions.ErrUnknown), true, nil},
		{"checker fails", dynamoDown, false, dynamoDown},
	}
	for _, s := range shapes {
		for _, tc := range tests {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				checker := &fakeSessions{err: tc.check}
				resp, err := handle(t, f.authorizer(f.src, checker), s.event(t, valid))
				if len(checker.calls) != 1 || checker.calls[0] != subject.SessionID || !checker.at[0].Equal(now) {
					t.Errorf("checker calls = %v at %v; want one for %q at the authorizer's clock", checker.calls, checker.at, subject.SessionID)
				}
				switch {
				case tc.wantUnauth:
					if !errors.Is(err, authorizer.ErrUnauthorized) || err.Error() != "Unauthorized" {
						t.Fatalf("Invoke error = %v; want Unauthorized", err)
					}
				case tc.wantErr != nil:
					if !errors.Is(err, tc.wantErr) || errors.Is(err, authorizer.ErrUnauthorized) {
						t.Fatalf("Invoke error = %v; want the checker's error, not Unauthorized", err)
					}
				default:
					if err != nil {
						t.Fatalf("Invoke: %v", err)
					}
				}
				if got, want := allowed(t, resp), tc.check == nil; got != want {
					t.Errorf("allowed = %v; want %v", got, want)
				}
			})
		}
	}
}

// TestStrictSessionsOnlyForValidTokens: a bad token is refused before any
// session read, so garbage cannot make the authorizer load the table.
func TestStrictSessionsOnlyForValidTokens(t *testing.T) {
	f := newFixture(t)
	checker := &fakeSessions{}
	a := f.authorizer(f.src, checker)
	for _, auth := range []string{"", "Bearer garbage", "Bearer " + f.forged(t)} {
		if _, err := a.Authorize(context.Background(), auth); !errors.Is(err, authorizer.ErrUnauthorized) {
			t.Fatalf("Authorize(%q) = %v", auth, err)
		}
	}
	if len(checker.calls) != 0 {
		t.Errorf("session checker called %d times for refused tokens", len(checker.calls))
	}
}

// TestNoSessionChecker: with Sessions nil a valid token is trusted until it
// expires, with nothing else consulted.
func TestNoSessionChecker(t *testing.T) {
	f := newFixture(t)
	a := f.authorizer(f.src, nil)
	id, err := a.Authorize(context.Background(), "Bearer "+f.token(t, now))
	if err != nil {
		t.Fatal(err)
	}
	if id != (authorizer.Identity{UserID: subject.UserID, Username: subject.Username, SessionID: subject.SessionID}) {
		t.Errorf("Identity = %+v", id)
	}
}

// TestStrictSessionsDefaultClock: with Now nil the session check runs at
// the wall clock's time.
func TestStrictSessionsDefaultClock(t *testing.T) {
	f := newFixture(t)
	checker := &fakeSessions{}
	a := f.authorizer(f.src, checker)
	a.Now = nil
	before := time.Now()
	if _, err := a.Authorize(context.Background(), "Bearer "+f.token(t, now)); err != nil {
		t.Fatal(err)
	}
	if len(checker.at) != 1 || checker.at[0].Before(before) {
		t.Fatalf("session checked at %v; want once, at the wall clock (not before %v)", checker.at, before)
	}
}

func TestInvokeUnknownEvent(t *testing.T) {
	f := newFixture(t)
	a := f.authorizer(f.src, nil)
	for _, raw := range []string{`{}`, `{"type":"WEBSOCKET"}`, `{"version":"3.0"}`, `not json`, `[]`, `null`,
		// A known shape whose fields have the wrong types.
		`{"version":"2.0","headers":"Bearer x"}`, `{"type":"TOKEN","authorizationToken":"Bearer x","methodArn":5}`, `{"type":"REQUEST","headers":["Bearer x"]}`} {
		resp, err := handle(t, a, json.RawMessage(raw))
		if err == nil || errors.Is(err, authorizer.ErrUnauthorized) {
			t.Errorf("Invoke(%s) = %v, %v; want an error that is not Unauthorized", raw, resp, err)
		}
		if allowed(t, resp) {
			t.Errorf("Invoke(%s) allows", raw)
		}
	}
}

func TestAPIWildcard(t *testing.T) {
	const api = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5"
	tests := []struct {
		methodArn, want string
	}{
		{api + "/prod/GET/", api + "/prod/*"},
		{api + "/prod/GET/me", api + "/prod/*"},
		{api + "/prod/POST/auth/logout", api + "/prod/*"},
		{api + "/prod/DELETE/auth/sessions/3f9a0c", api + "/prod/*"},
		{api + "/prod/GET/v1/orgs/7/projects/9/items/11/comments", api + "/prod/*"},
		{api + "/prod/ANY/proxy/deep/path", api + "/prod/*"},
		{api + "/prod/*/*", api + "/prod/*"},
		{api + "/*/GET/", api + "/*/*"},
		{api + "/$default/GET/me", api + "/$default/*"},
		{api + "/prod/GET/items/urn:isbn:0451450523", api + "/prod/*"},
		{api + "/prod/GET/a:b/c/d", api + "/prod/*"},
		// Shapes no gateway sends: a stage alone still becomes the stage;
		// anything shorter is left as it is (an Allow for nothing real).
		{api + "/prod", api + "/prod/*"},
		{api, api},
		{"arn:aws:execute-api:eu-west-1:123456789012", "arn:aws:execute-api:eu-west-1:123456789012"},
		{"arn:aws-cn:execute-api:cn-north-1:123456789012:abc/stage/GET/x", "arn:aws-cn:execute-api:cn-north-1:123456789012:abc/stage/*"},
		{"arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc/stage/PUT/x/y", "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc/stage/*"},
	}
	for _, tc := range tests {
		t.Run(tc.methodArn, func(t *testing.T) {
			if got := authorizer.APIWildcard(tc.methodArn); got != tc.want {
				t.Errorf("APIWildcard = %q; want %q", got, tc.want)
			}
		})
	}
}

// TestCachedPolicyCoversEveryRoute plays API Gateway's cache: the policy
// returned for the first route a token is used on is reused for every other
// route, so it must allow them all.
func TestCachedPolicyCoversEveryRoute(t *testing.T) {
	f := newFixture(t)
	a := f.authorizer(f.src, nil)
	const api = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/"
	routes := []string{"GET/me", "GET/auth/sessions", "DELETE/auth/sessions/abc", "POST/auth/password", "GET/things/a:b/c", "POST/v1/jobs/42:cancel", "PATCH/x/y/z/w"}
	raw := "Bearer " + f.token(t, now)
	for _, firstRoute := range routes {
		t.Run(firstRoute, func(t *testing.T) {
			ev, err := json.Marshal(events.APIGatewayCustomAuthorizerRequest{
				Type: "TOKEN", AuthorizationToken: raw, MethodArn: api + firstRoute,
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := handle(t, a, ev)
			if err != nil {
				t.Fatal(err)
			}
			resources := resp.(events.APIGatewayCustomAuthorizerResponse).PolicyDocument.Statement[0].Resource
			for _, r := range routes {
				if !iamMatchesAny(resources, api+r) {
					t.Errorf("policy %v cached for %s denies %s", resources, firstRoute, r)
				}
			}
			if iamMatchesAny(resources, "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/other-stage/GET/me") ||
				iamMatchesAny(resources, "arn:aws:execute-api:us-east-1:123456789012:otherapi00/test/GET/me") {
				t.Errorf("policy %v reaches beyond its API stage", resources)
			}
		})
	}
}

// iamMatchesAny matches an ARN against IAM resource patterns ("*" matches
// any run of characters, "?" one character).
func iamMatchesAny(patterns []string, arn string) bool {
	for _, p := range patterns {
		if globMatch(p, arn) {
			return true
		}
	}
	return false
}

func globMatch(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(p[1:], s[1:])
	}
	return s != "" && p[0] == s[0] && globMatch(p[1:], s[1:])
}

func BenchmarkAuthorizeToken(b *testing.B) {
	f := newFixture(b)
	a := f.authorizer(f.src, nil)
	auth := "Bearer " + f.token(b, now)
	ctx := context.Background()
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		if _, err := a.Authorize(ctx, auth); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInvokeTokenEvent(b *testing.B) {
	f := newFixture(b)
	a := f.authorizer(f.src, nil)
	ev := shapes[0].event(b, "Bearer "+f.token(b, now))
	ctx := context.Background()
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		if _, err := a.Invoke(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRefusalsLogToLog: a refused token is logged to the Authorizer's own
// logger (the security log), not to the process default.
func TestRefusalsLogToLog(t *testing.T) {
	f := newFixture(t)
	var buf strings.Builder
	a := f.authorizer(f.src, &fakeSessions{err: sessions.ErrUnknown})
	a.Log = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, err := a.Authorize(context.Background(), "Bearer "+f.token(t, now)); !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Fatalf("Authorize = %v; want ErrUnauthorized", err)
	}
	if !strings.Contains(buf.String(), `"event":"token_refused"`) || !strings.Contains(buf.String(), `"reason":"session_ended"`) {
		t.Fatalf("Log got %q; want the token_refused event", buf.String())
	}
}

// TestContextIsTheJSONContext: the local server hands routes Identity.Context,
// API Gateway the context of Invoke's JSON answer; they must be one object.
func TestContextIsTheJSONContext(t *testing.T) {
	id := authorizer.Identity{UserID: "u-1", Username: "ada", SessionID: "s-1"}
	b, err := json.Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON map[string]any
	if err := json.Unmarshal(b, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(fromJSON) != fmt.Sprint(id.Context()) {
		t.Errorf("JSON context %v; Context() %v", fromJSON, id.Context())
	}
}
