//go:build samlocal

package samlocal_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/internal/samlocal"
)

// proxyResponse is a function's answer to an API Gateway proxy event.
type proxyResponse struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
}

// policy is a REST authorizer's answer.
type policy struct {
	PrincipalID    string `json:"principalId"`
	PolicyDocument struct {
		Statement []struct {
			Effect   string `json:"Effect"`
			Resource any    `json:"Resource"`
		} `json:"Statement"`
	} `json:"policyDocument"`
	Context map[string]any `json:"context"`
}

func (p policy) allows() bool {
	for _, s := range p.PolicyDocument.Statement {
		if s.Effect != "Allow" {
			return false
		}
	}
	return len(p.PolicyDocument.Statement) > 0
}

// placeholders are what docs/DEPLOY.md tells a user to replace in events/.
type placeholders struct {
	access, refresh, userID, sessionID, pendingVersion string
}

// event reads events/<name> and fills in the placeholders.
func event(t *testing.T, name string, p placeholders) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(env.root, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(
		"REPLACE_WITH_ACCESS_TOKEN", p.access,
		"REPLACE_WITH_REFRESH_TOKEN", p.refresh,
		"REPLACE_WITH_USER_ID", p.userID,
		"REPLACE_WITH_SESSION_ID", p.sessionID,
		"REPLACE_WITH_PENDING_VERSION_ID", p.pendingVersion,
	).Replace(string(raw))
	if strings.Contains(s, "REPLACE_WITH_") {
		t.Fatalf("events/%s: a placeholder this test does not fill in", name)
	}
	return []byte(s)
}

// proxy invokes a function with an API Gateway event and checks the status.
func proxy(t *testing.T, id, name string, p placeholders, want int) (proxyResponse, map[string]any) {
	t.Helper()
	raw, ierr := env.invoke(t, id, event(t, name, p))
	if ierr != nil {
		t.Fatalf("%s with events/%s: error %q (%s)", id, name, ierr.Message, ierr.Type)
	}
	var r proxyResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s: %v: %s", id, err, raw)
	}
	if r.StatusCode != want {
		t.Fatalf("%s with events/%s: status %d, want %d: %s", id, name, r.StatusCode, want, r.Body)
	}
	body := map[string]any{}
	if r.Body != "" {
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatalf("%s: body is not a JSON object: %q", id, r.Body)
		}
	}
	return r, body
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// claims reads an access token's payload (the authorizer verified it).
func claims(t *testing.T, access string) map[string]any {
	t.Helper()
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a compact JWS: %q", access)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestInvoke runs every function under `sam local invoke` with its event
// from events/, placeholders filled in as docs/DEPLOY.md says, in the order a
// session lives. Every file in events/ is used once (each invocation is a
// container start under emulation, so there are no more than that).
func TestInvoke(t *testing.T) {
	t.Parallel()
	used := map[string]bool{}
	use := func(name string) string { used[name] = true; return name }
	var p placeholders

	_, jwks := proxy(t, "JwksFunction", use("jwks.json"), p, 200)
	keys, _ := jwks["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("jwks: want one key, got %v", jwks)
	}
	if k, _ := keys[0].(map[string]any); k["kty"] != "EC" || k["crv"] != "P-256" || k["d"] != nil {
		t.Fatalf("jwks: want a public P-256 key, got %v", k)
	}

	// Every path's CORS preflight goes to one function, without a token.
	r, _ := proxy(t, "PreflightFunction", use("preflight.json"), p, 204)
	if r.Headers["Access-Control-Allow-Origin"] != env.vars["ROTOR_CORS_ALLOW_ORIGIN"] || !strings.Contains(r.Headers["Access-Control-Allow-Headers"], "Authorization") {
		t.Fatalf("preflight: headers %v, want the CORS policy for %s", r.Headers, env.vars["ROTOR_CORS_ALLOW_ORIGIN"])
	}

	_, b := proxy(t, "SignupFunction", use("signup.json"), p, 201)
	p.userID = str(b, "user_id")
	if !strings.HasPrefix(p.userID, "usr_") {
		t.Fatalf("signup: user_id %q", p.userID)
	}
	_, b = proxy(t, "LoginFunction", use("login.json"), p, 200)
	p.access, p.refresh = str(b, "access_token"), str(b, "refresh_token")
	if p.access == "" || p.refresh == "" || !strings.EqualFold(str(b, "token_type"), "Bearer") {
		t.Fatalf("login: not a token response: %v", b)
	}
	p.sessionID = str(claims(t, p.access), "sid")
	if p.sessionID == "" {
		t.Fatalf("login: access token has no sid: %v", claims(t, p.access))
	}

	t.Run("authorizer, REST TOKEN: Allow with the session in the context", func(t *testing.T) {
		raw, ierr := env.invoke(t, "AuthorizerFunction", event(t, use("authorizer-token.json"), p))
		if ierr != nil {
			t.Fatalf("error %q", ierr.Message)
		}
		var pol policy
		if err := json.Unmarshal(raw, &pol); err != nil || !pol.allows() || pol.PrincipalID != p.userID || pol.Context["session_id"] != p.sessionID {
			t.Fatalf("want Allow for %s with session_id %s, got %s", p.userID, p.sessionID, raw)
		}
	})
	t.Run("authorizer, REST REQUEST: a forged token ends with the error Unauthorized", func(t *testing.T) {
		raw, ierr := env.invoke(t, "AuthorizerFunction", event(t, use("authorizer-request.json"), placeholders{access: forged(p.access)}))
		if ierr == nil || ierr.Message != "Unauthorized" {
			t.Fatalf("want the error Unauthorized (API Gateway's 401), got %s", raw)
		}
	})
	t.Run("authorizer, HTTP API payload 2.0: allowed", func(t *testing.T) {
		raw, ierr := env.invoke(t, "AuthorizerFunction", event(t, use("authorizer-http-v2.json"), p))
		if ierr != nil {
			t.Fatalf("error %q", ierr.Message)
		}
		var simple struct {
			IsAuthorized *bool `json:"isAuthorized"`
		}
		var pol policy
		if json.Unmarshal(raw, &simple) != nil || (simple.IsAuthorized == nil && (json.Unmarshal(raw, &pol) != nil || !pol.allows())) ||
			(simple.IsAuthorized != nil && !*simple.IsAuthorized) {
			t.Fatalf("want an allowing answer, got %s", raw)
		}
	})

	_, b = proxy(t, "MeFunction", use("me.json"), p, 200)
	if str(b, "user_id") != p.userID || str(b, "session_id") != p.sessionID || str(b, "username") != "alice" {
		t.Fatalf("me: %v, want user %s, session %s, alice", b, p.userID, p.sessionID)
	}
	_, b = proxy(t, "SessionsFunction", use("sessions-list.json"), p, 200)
	if list, _ := b["sessions"].([]any); len(list) != 1 || fmt.Sprint(list[0].(map[string]any)["id"]) != p.sessionID {
		t.Fatalf("sessions: %v, want the one session %s", b, p.sessionID)
	}

	_, b = proxy(t, "RefreshFunction", use("refresh.json"), p, 200)
	if str(b, "refresh_token") == "" || str(b, "refresh_token") == p.refresh || str(b, "access_token") == "" {
		t.Fatalf("refresh: %v, want a new pair", b)
	}
	p.refresh = str(b, "refresh_token")
	_, b = proxy(t, "TokenFunction", use("token.json"), p, 200)
	if str(b, "refresh_token") == "" || str(b, "refresh_token") == p.refresh || !strings.EqualFold(str(b, "token_type"), "Bearer") {
		t.Fatalf("oauth token (refresh grant): %v, want a new pair", b)
	}
	p.refresh = str(b, "refresh_token")
	// Account recovery: forgot answers 202 whatever the account (its mail
	// waits in the outbox); a malformed link token is 400 invalid_link_token.
	proxy(t, "RecoveryFunction", use("password-forgot.json"), p, 202)
	_, b = proxy(t, "EmailFunction", use("email-verify.json"), p, 400)
	if str(b, "error") != "invalid_link_token" {
		t.Fatalf("verify with a malformed token: %v, want invalid_link_token", b)
	}
	// MFA: a login's second step with a malformed mfa_token is 401
	// invalid_mfa_token, before any store read.
	_, b = proxy(t, "MfaFunction", use("mfa-verify.json"), p, 401)
	if str(b, "error") != "invalid_mfa_token" {
		t.Fatalf("mfa verify with a malformed token: %v, want invalid_mfa_token", b)
	}
	// Passkeys: discoverable login options carry a challenge (stored
	// hashed); an assertion that does not parse is 401 invalid_passkey.
	_, b = proxy(t, "PasskeysFunction", use("passkeys-login-options.json"), p, 200)
	if str(b, "challenge") == "" || str(b, "rpId") == "" {
		t.Fatalf("passkey login options: %v, want a challenge and an rpId", b)
	}
	_, b = proxy(t, "PasskeysFunction", use("passkeys-login.json"), p, 401)
	if str(b, "error") != "invalid_passkey" {
		t.Fatalf("passkey login with a malformed credential: %v, want invalid_passkey", b)
	}
	proxy(t, "LogoutFunction", use("logout.json"), p, 204)
	// RFC 7009: revoking a token that no longer works is a success too.
	proxy(t, "RevokeFunction", use("revoke.json"), p, 200)
	_, b = proxy(t, "DiscoveryFunction", use("discovery.json"), p, 200)
	if str(b, "issuer") != env.vars["ROTOR_ISSUER"] || str(b, "token_endpoint") == "" {
		t.Fatalf("discovery: %v, want issuer %s and a token_endpoint", b, env.vars["ROTOR_ISSUER"])
	}

	// The session is gone: its access token, though the authorizer still
	// vouches for it until it expires, acts on nothing (issue 19: every
	// account route checks that the token's session is alive).
	_, b = proxy(t, "SessionsFunction", use("sessions-delete.json"), p, 401)
	if str(b, "error") != "invalid_token" {
		t.Fatalf("deleting with an ended session's token: %v, want invalid_token", b)
	}
	// A new login's token changes the password, which ends every session.
	_, b = proxy(t, "LoginFunction", use("login.json"), p, 200)
	if p.access = str(b, "access_token"); p.access == "" {
		t.Fatalf("login again: not a token response: %v", b)
	}
	p.sessionID = str(claims(t, p.access), "sid") // the authorizer's context in password.json
	proxy(t, "PasswordFunction", use("password.json"), p, 204)

	t.Run("rotation promotes the pending key", func(t *testing.T) {
		rotate(t, use)
	})

	t.Run("the mailer's sweep delivers the outbox through SES", func(t *testing.T) {
		mailSweep(t, use)
	})

	entries, err := os.ReadDir(filepath.Join(env.root, "events"))
	if err != nil {
		t.Fatal(err)
	}
	var unused []string
	for _, e := range entries {
		if !used[e.Name()] {
			unused = append(unused, e.Name())
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("events without a sam local invoke in this test: %v", unused)
	}
	if missed := env.notInvoked(t); len(missed) > 0 {
		t.Errorf("functions of template.yaml this test never invoked (add an event to events/ and a step here): %v", missed)
	}
}

// rotate runs the rotation function's steps on a pending version (the one
// Secrets Manager would have created) and checks the key in force changed.
func rotate(t *testing.T, use func(string) string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	secretID := env.vars["ROTOR_SIGNING_SECRET_ID"]
	before, err := env.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		t.Fatal(err)
	}
	// Secrets Manager's RotateSecret labels a new version AWSPENDING before it
	// calls the function; moto cannot call it, so the test makes that version.
	value, kid, err := samlocal.SigningKey()
	if err != nil {
		t.Fatal(err)
	}
	version := fmt.Sprintf("00000000-0000-4000-8000-%012d", time.Now().UnixNano()%1e12)
	if _, err := env.secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(secretID), ClientRequestToken: aws.String(version),
		SecretString: aws.String(value), VersionStages: []string{"AWSPENDING"},
	}); err != nil {
		t.Fatal(err)
	}
	p := placeholders{pendingVersion: version}
	name := use("rotatekey.json")
	// The file's step (createSecret) finds the pending version made, then the
	// last step makes it current.
	for _, step := range []string{"", "finishSecret"} {
		ev := map[string]string{}
		if err := json.Unmarshal(event(t, name, p), &ev); err != nil {
			t.Fatal(err)
		}
		if step != "" {
			ev["Step"] = step
		}
		b, _ := json.Marshal(ev)
		if raw, ierr := env.invoke(t, "RotateKeyFunction", b); ierr != nil {
			t.Fatalf("%s: error %q: %s", ev["Step"], ierr.Message, raw)
		}
	}
	// By stage: moto's GetSecretValue without one keeps answering with the
	// version created first, whatever carries AWSCURRENT.
	desc, err := env.secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(desc.VersionIdsToStages[version], "AWSCURRENT") || !slices.Contains(desc.VersionIdsToStages[aws.ToString(before.VersionId)], "AWSPREVIOUS") {
		t.Fatalf("after finishSecret: stages %v, want %s AWSCURRENT and %s AWSPREVIOUS", desc.VersionIdsToStages, version, aws.ToString(before.VersionId))
	}
	kids := map[string]bool{}
	for _, stage := range []string{"AWSCURRENT", "AWSPREVIOUS"} {
		out, err := env.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionStage: aws.String(stage)})
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		var k struct{ Kid string }
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &k); err != nil {
			t.Fatal(err)
		}
		kids[stage] = k.Kid == kid
	}
	if !kids["AWSCURRENT"] || kids["AWSPREVIOUS"] {
		t.Fatalf("after rotation: want the new key %s current and the old one previous", kid)
	}
}
