package lambda_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// methods of the API that one cached authorizer decision must also allow.
var otherMethods = []string{
	apiArn + "/v1/GET/me",
	apiArn + "/v1/GET/auth/sessions",
	apiArn + "/v1/DELETE/auth/sessions/abc123",
	apiArn + "/v1/POST/auth/password",
}

type tokens struct {
	Access, Refresh string
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func signup(t *testing.T, username, password string) string {
	t.Helper()
	r := call(t, "SignupFunction", request{method: "POST", path: "/auth/signup",
		body: mustJSON(map[string]string{"username": username, "password": password})})
	expectStatus(t, "signup", r, 201)
	id := r.str("user_id")
	if id == "" {
		t.Fatalf("signup: no user_id: %s", r.Body)
	}
	return id
}

func login(t *testing.T, username, password string) tokens {
	t.Helper()
	r := call(t, "LoginFunction", request{method: "POST", path: "/auth/login",
		body: mustJSON(map[string]string{"username": username, "password": password})})
	expectStatus(t, "login", r, 200)
	return checkTokenResponse(t, "login", r)
}

func checkTokenResponse(t *testing.T, what string, r response) tokens {
	t.Helper()
	return checkTokenResponseOf(t, what, r, "Bearer")
}

// checkTokenResponseOf checks a token response whose token_type is
// tokenType (Bearer, or DPoP for a session bound to a key).
func checkTokenResponseOf(t *testing.T, what string, r response, tokenType string) tokens {
	t.Helper()
	if r.StatusCode != 200 {
		t.Fatalf("%s: status %d, want 200; body %s", what, r.StatusCode, r.Body)
	}
	tk := tokens{Access: r.str("access_token"), Refresh: r.str("refresh_token")}
	if tk.Access == "" || tk.Refresh == "" {
		t.Fatalf("%s: token response lacks tokens: %s", what, r.Body)
	}
	if !strings.EqualFold(r.str("token_type"), tokenType) {
		t.Fatalf("%s: token_type %q, want %s", what, r.str("token_type"), tokenType)
	}
	if n, _ := r.json["expires_in"].(float64); n <= 0 {
		t.Fatalf("%s: expires_in %v", what, r.json["expires_in"])
	}
	if n, _ := r.json["refresh_token_expires_in"].(float64); n <= 0 {
		t.Fatalf("%s: refresh_token_expires_in %v", what, r.json["refresh_token_expires_in"])
	}
	if strings.Count(tk.Access, ".") != 2 {
		t.Fatalf("%s: access token is not a JWS compact serialization", what)
	}
	return tk
}

// authorize runs the REST TOKEN authorizer and returns its policy, or the
// handler error message.
func authorize(t *testing.T, token string) (policy, string) {
	t.Helper()
	f := requireEnv(t).start(t, "AuthorizerFunction")
	raw, ierr := f.invoke(t, tokenAuthorizerEvent(t, token, apiArn+"/v1/GET/me"))
	if ierr != nil {
		return policy{}, ierr.Message
	}
	var p policy
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("authorizer: %v: %s", err, raw)
	}
	return p, ""
}

func expectAllowWholeAPI(t *testing.T, what string, p policy) {
	t.Helper()
	if p.PrincipalID == "" {
		t.Fatalf("%s: no principalId", what)
	}
	if !p.allows(apiArn + "/v1/GET/me") {
		t.Fatalf("%s: policy does not allow the called method: %+v", what, p.PolicyDocument)
	}
	// API Gateway caches the decision per token for every route: a policy
	// naming only the called method would deny the token's next route.
	for _, m := range otherMethods {
		if !p.allows(m) {
			t.Fatalf("%s: cached policy would deny %s: %+v", what, m, p.PolicyDocument)
		}
	}
}

func ctxString(ctx map[string]any, key string) string {
	switch v := ctx[key].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// TestAuthFlow is the life of a session, each step a real binary under the
// emulator, state in moto.
func TestAuthFlow(t *testing.T) {
	requireEnv(t)
	username := fmt.Sprintf("alice-%d", time.Now().UnixNano())
	const password = "correct horse battery staple 42"

	userID := signup(t, username, password)

	t.Run("signup again is username_taken", func(t *testing.T) {
		r := call(t, "SignupFunction", request{method: "POST", path: "/auth/signup",
			body: mustJSON(map[string]string{"username": username, "password": password})})
		expectError(t, "duplicate signup", r, 409, "username_taken")
	})
	t.Run("wrong password is invalid_credentials", func(t *testing.T) {
		r := call(t, "LoginFunction", request{method: "POST", path: "/auth/login",
			body: mustJSON(map[string]string{"username": username, "password": "wrong " + password})})
		expectError(t, "login with wrong password", r, 401, "invalid_credentials")
	})

	first := login(t, username, password)

	// TOKEN authorizer (the REST API's): Allow on the whole API, with context.
	p, errMsg := authorize(t, "Bearer "+first.Access)
	if errMsg != "" {
		t.Fatalf("authorizer rejected a fresh access token: %q", errMsg)
	}
	expectAllowWholeAPI(t, "TOKEN authorizer", p)
	if got := ctxString(p.Context, "user_id"); got != userID {
		t.Fatalf("authorizer context user_id %q, want %q (context %v)", got, userID, p.Context)
	}
	sessionID := ctxString(p.Context, "session_id")
	if sessionID == "" {
		t.Fatalf("authorizer context has no session_id: %v", p.Context)
	}
	// Step-up at the edge (ROTOR_MFA_ROUTES=POST /payments/*): the password
	// login's token is denied exactly the MFA route, by the policy API
	// Gateway caches for every route; the context says how it logged in.
	if p.allows(apiArn + "/v1/POST/payments/42") {
		t.Fatalf("TOKEN authorizer: a password token's policy allows the MFA route: %+v", p.PolicyDocument)
	}
	if got := ctxString(p.Context, "amr"); got != "pwd" || ctxString(p.Context, "auth_time") == "" {
		t.Fatalf("authorizer context amr %q auth_time %q; want pwd and a time (context %v)", got, ctxString(p.Context, "auth_time"), p.Context)
	}

	t.Run("garbage token is Unauthorized", func(t *testing.T) {
		for _, tok := range []string{
			"Bearer not-a-jwt",
			"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
			"Bearer " + first.Access + "x",
			first.Access, // no "Bearer " prefix
			"",
		} {
			_, msg := authorize(t, tok)
			if msg != "Unauthorized" {
				t.Errorf("token %.20q...: authorizer answer %q, want the error \"Unauthorized\" (API Gateway turns it into 401)", tok, msg)
			}
		}
	})

	authCtx := map[string]any{"principalId": p.PrincipalID}
	for k, v := range p.Context {
		authCtx[k] = v
	}

	t.Run("me reads the authorizer context", func(t *testing.T) {
		r := call(t, "MeFunction", request{method: "GET", path: "/me", authorizer: authCtx})
		expectStatus(t, "me", r, 200)
		if r.str("user_id") != userID || r.str("username") == "" || r.str("session_id") != sessionID {
			t.Fatalf("me: %s, want user_id %s, a username and session_id %s", r.Body, userID, sessionID)
		}
		if header(r, "Access-Control-Allow-Origin") == "" {
			t.Errorf("me: no Access-Control-Allow-Origin header")
		}
	})

	t.Run("sessions lists the current session", func(t *testing.T) {
		r := call(t, "SessionsFunction", request{method: "GET", path: "/auth/sessions", authorizer: authCtx,
			headers: map[string]string{"Authorization": "Bearer " + first.Access}})
		expectStatus(t, "sessions", r, 200)
		list, _ := r.json["sessions"].([]any)
		found := false
		for _, s := range list {
			m, _ := s.(map[string]any)
			if fmt.Sprint(m["id"]) == sessionID {
				found = true
				if cur, _ := m["current"].(bool); !cur {
					t.Errorf("sessions: current session not marked current: %v", m)
				}
			}
		}
		if !found {
			t.Fatalf("sessions: %s does not list session %s", r.Body, sessionID)
		}
	})

	t.Run("REQUEST authorizer allows the same token", func(t *testing.T) {
		f := requireEnv(t).start(t, "AuthorizerFunction")
		raw, ierr := f.invoke(t, requestAuthorizerEvent(t, "Bearer "+first.Access, apiArn+"/v1/GET/me"))
		if ierr != nil {
			t.Fatalf("REQUEST authorizer: error %q", ierr.Message)
		}
		var rp policy
		if err := json.Unmarshal(raw, &rp); err != nil {
			t.Fatalf("REQUEST authorizer: %v: %s", err, raw)
		}
		expectAllowWholeAPI(t, "REQUEST authorizer", rp)
		if ctxString(rp.Context, "user_id") != userID {
			t.Fatalf("REQUEST authorizer context %v", rp.Context)
		}
		raw, ierr = f.invoke(t, requestAuthorizerEvent(t, "Bearer garbage", apiArn+"/v1/GET/me"))
		if ierr == nil || ierr.Message != "Unauthorized" {
			t.Fatalf("REQUEST authorizer with garbage: %s, want the error \"Unauthorized\"", raw)
		}
	})

	t.Run("HTTP API v2 authorizer", func(t *testing.T) {
		f := requireEnv(t).start(t, "AuthorizerFunction")
		raw, ierr := f.invoke(t, httpAPIAuthorizerEvent(t, "Bearer "+first.Access))
		if ierr != nil {
			t.Fatalf("v2 authorizer: error %q", ierr.Message)
		}
		checkV2(t, raw, true, userID)
		raw, ierr = f.invoke(t, httpAPIAuthorizerEvent(t, "Bearer garbage"))
		if ierr != nil {
			if ierr.Message != "Unauthorized" {
				t.Fatalf("v2 authorizer with garbage: error %q, want \"Unauthorized\" or a denial", ierr.Message)
			}
			return
		}
		checkV2(t, raw, false, "")
	})

	// Rolling refresh: a new pair; the old refresh token is no longer current.
	r := call(t, "RefreshFunction", request{method: "POST", path: "/auth/refresh",
		body: mustJSON(map[string]string{"refresh_token": first.Refresh})})
	expectStatus(t, "refresh", r, 200)
	second := checkTokenResponse(t, "refresh", r)
	if second.Refresh == first.Refresh {
		t.Fatalf("refresh returned the same refresh token")
	}
	if p2, msg := authorize(t, "Bearer "+second.Access); msg != "" {
		t.Fatalf("authorizer rejected the refreshed access token: %q", msg)
	} else if ctxString(p2.Context, "session_id") != sessionID {
		t.Fatalf("refresh changed the session: %v, want %s", p2.Context, sessionID)
	}

	r = call(t, "LogoutFunction", request{method: "POST", path: "/auth/logout",
		body: mustJSON(map[string]string{"refresh_token": second.Refresh})})
	expectStatus(t, "logout", r, 204)

	r = call(t, "RefreshFunction", request{method: "POST", path: "/auth/refresh",
		body: mustJSON(map[string]string{"refresh_token": second.Refresh})})
	expectError(t, "refresh after logout", r, 401, "invalid_grant")

	t.Run("malformed refresh is invalid_request", func(t *testing.T) {
		r := call(t, "RefreshFunction", request{method: "POST", path: "/auth/refresh", body: "{not json"})
		expectError(t, "refresh with bad JSON", r, 400, "invalid_request")
	})

	t.Run("password change revokes every session", func(t *testing.T) {
		s1 := login(t, username, password)
		s2 := login(t, username, password)
		pp, msg := authorize(t, "Bearer "+s1.Access)
		if msg != "" {
			t.Fatalf("authorizer: %q", msg)
		}
		ctx := map[string]any{"principalId": pp.PrincipalID}
		for k, v := range pp.Context {
			ctx[k] = v
		}
		const newPassword = "a different horse battery 43"
		r := call(t, "PasswordFunction", request{method: "POST", path: "/auth/password", authorizer: ctx,
			headers: map[string]string{"Authorization": "Bearer " + s1.Access},
			body:    mustJSON(map[string]string{"current_password": password, "new_password": newPassword})})
		expectStatus(t, "password change", r, 204)
		for i, tk := range []tokens{s1, s2} {
			r := call(t, "RefreshFunction", request{method: "POST", path: "/auth/refresh",
				body: mustJSON(map[string]string{"refresh_token": tk.Refresh})})
			expectError(t, fmt.Sprintf("refresh of session %d after password change", i+1), r, 401, "invalid_grant")
		}
		login(t, username, newPassword)
	})
}

// checkV2 accepts either HTTP API answer shape: the simple response
// ({"isAuthorized": ...}) or an IAM policy.
func checkV2(t *testing.T, raw []byte, wantAllow bool, userID string) {
	t.Helper()
	var simple struct {
		IsAuthorized *bool          `json:"isAuthorized"`
		Context      map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &simple); err != nil {
		t.Fatalf("v2 authorizer: %v: %s", err, raw)
	}
	if simple.IsAuthorized != nil {
		if *simple.IsAuthorized != wantAllow {
			t.Fatalf("v2 authorizer: isAuthorized %v, want %v: %s", *simple.IsAuthorized, wantAllow, raw)
		}
		if wantAllow && ctxString(simple.Context, "user_id") != userID {
			t.Fatalf("v2 authorizer context: %s", raw)
		}
		return
	}
	var p policy
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("v2 authorizer: %v: %s", err, raw)
	}
	route := "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/orders"
	if p.allows(route) != wantAllow {
		t.Fatalf("v2 authorizer: allows %s = %v, want %v: %s", route, !wantAllow, wantAllow, raw)
	}
}

// TestJWKS serves the public half of the key that moto holds.
func TestJWKS(t *testing.T) {
	requireEnv(t)
	r := call(t, "JwksFunction", request{method: "GET", path: "/.well-known/jwks.json"})
	expectStatus(t, "jwks", r, 200)
	keys, _ := r.json["keys"].([]any)
	if len(keys) == 0 {
		t.Fatalf("jwks: no keys: %s", r.Body)
	}
	for _, k := range keys {
		m, _ := k.(map[string]any)
		if m["kid"] == nil || m["kty"] != "EC" || m["crv"] != "P-256" {
			t.Errorf("jwks: unexpected key %v", m)
		}
		if _, leaked := m["d"]; leaked {
			t.Fatalf("jwks: private key material in %v", m)
		}
	}
}

// baselineID names the baseline binary in cold-start records.
const baselineID = "Baseline"

// coldAnswer is what a function must answer to its cold-start request: a
// proxy response's status and error code, or a handler error.
type coldAnswer struct {
	status  int
	code    string // error code of a proxy response; "" when it succeeds
	failure string // part of the handler error's message; "" for a response
}

// coldStartRequest is the cheap request each function gets for its cold
// start, and the answer it must give.
func coldStartRequest(t *testing.T, e *environment, id string) (any, *coldAnswer) {
	t.Helper()
	// Malformed JSON: answered with 400 before any hashing or storage.
	malformed := restEvent(t, request{method: "POST", path: "/auth/x", body: "{"})
	switch id {
	case "SignupFunction", "LoginFunction", "RefreshFunction", "LogoutFunction":
		return malformed, &coldAnswer{status: 400, code: "invalid_request"}
	case "PasswordFunction":
		// A protected route without an authorizer context is refused first.
		return malformed, &coldAnswer{status: 401, code: "invalid_token"}
	case "MeFunction", "SessionsFunction":
		return restEvent(t, request{method: "GET", path: "/me"}), &coldAnswer{status: 401, code: "invalid_token"}
	case "JwksFunction":
		return restEvent(t, request{method: "GET", path: "/me"}), &coldAnswer{status: 200}
	case "AuthorizerFunction":
		return tokenAuthorizerEvent(t, "Bearer x.y.z", apiArn+"/v1/GET/me"), &coldAnswer{failure: "Unauthorized"}
	case "RotateKeyFunction":
		// Not a pending version: the function refuses after reading the secret.
		return map[string]string{"Step": "testSecret", "SecretId": e.vars["ROTOR_SIGNING_SECRET_ID"], "ClientRequestToken": "00000000-0000-0000-0000-000000000000"},
			&coldAnswer{failure: "not pending rotation"}
	case "TokenFunction", "RevokeFunction":
		return malformed, &coldAnswer{status: 400, code: "invalid_request"}
	case "EmailFunction":
		// Verification needs no bearer: malformed JSON is refused first.
		return restEvent(t, request{method: "POST", path: "/auth/email/verify", resource: "/auth/email/verify", body: "{"}), &coldAnswer{status: 400, code: "invalid_request"}
	case "RecoveryFunction":
		return restEvent(t, request{method: "POST", path: "/auth/password/forgot", resource: "/auth/password/forgot", body: "{"}), &coldAnswer{status: 400, code: "invalid_request"}
	case "MfaFunction":
		// The second step needs no bearer: malformed JSON is refused first.
		return restEvent(t, request{method: "POST", path: "/auth/mfa/verify", resource: "/auth/mfa/verify", body: "{"}), &coldAnswer{status: 400, code: "invalid_request"}
	case "PasskeysFunction":
		// A login needs no bearer: malformed JSON is refused first.
		return restEvent(t, request{method: "POST", path: "/auth/passkeys/login", resource: "/auth/passkeys/login", body: "{"}), &coldAnswer{status: 400, code: "invalid_request"}
	case "DiscoveryFunction":
		return restEvent(t, request{method: "GET", path: "/.well-known/oauth-authorization-server"}), &coldAnswer{status: 200}
	case "PreflightFunction":
		return restEvent(t, request{method: "OPTIONS", path: "/auth/login"}), &coldAnswer{status: 204}
	case "MailerFunction":
		// Neither a stream batch nor the schedule: refused before any store call.
		return map[string]string{"source": "aws.s3"}, &coldAnswer{failure: "unknown event"}
	case baselineID:
		return map[string]string{}, nil
	}
	t.Fatalf("no cold-start request for %s: add one with the answer it must give", id)
	return nil, nil
}

// checkColdAnswer fails the test unless a function answered as it must.
func checkColdAnswer(t *testing.T, id string, want coldAnswer, raw []byte, ierr *invocationError) {
	t.Helper()
	switch {
	case want.failure != "":
		if ierr == nil || !strings.Contains(ierr.Message, want.failure) {
			t.Errorf("%s: answered %s; want a handler error containing %q", id, raw, want.failure)
		}
	case ierr != nil:
		t.Errorf("%s: handler error %q (%s); want status %d", id, ierr.Message, ierr.Type, want.status)
	default:
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		var body struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Errorf("%s: not a proxy response: %v: %s", id, err, raw)
			return
		}
		_ = json.Unmarshal([]byte(resp.Body), &body)
		if resp.StatusCode != want.status || body.Error != want.code {
			t.Errorf("%s: status %d error %q; want %d %q (body %s)", id, resp.StatusCode, body.Error, want.status, want.code, resp.Body)
		}
	}
}

// TestColdStarts starts a fresh emulator for each function (and the
// baseline, when ROTOR_COLDSTART_BASELINE names one), sends one cheap request
// and checks the answer, recording the cold start for coldstart.txt;
// ROTOR_COLDSTART_RUNS rounds, each over every function in turn.
func TestColdStarts(t *testing.T) {
	e := requireEnv(t)
	ids := functionIDs
	if os.Getenv("ROTOR_COLDSTART_BASELINE") != "" {
		ids = append([]string{baselineID}, functionIDs...)
	}
	runs := 1
	if n, err := strconv.Atoi(os.Getenv("ROTOR_COLDSTART_RUNS")); err == nil && n > 0 {
		runs = n
	}
	for run := range runs {
		for _, id := range ids {
			event, want := coldStartRequest(t, e, id)
			f := e.startAs(t, id, fmt.Sprintf("%s#cold%d", id, run))
			raw, ierr := f.invoke(t, event)
			if want != nil {
				checkColdAnswer(t, id, *want, raw, ierr)
			}
			initMS, firstMS, ok := f.coldStart()
			if !ok {
				t.Errorf("%s: no REPORT line in the emulator output:\n%s", id, f.log.String())
				continue
			}
			rec := coldStartRecord{id: id, size: f.size, initMS: initMS, firstMS: firstMS, keysMS: f.keysMS(), wall: f.firstInvoke}
			e.mu.Lock()
			e.coldStarts = append(e.coldStarts, rec)
			e.mu.Unlock()
			e.stop(fmt.Sprintf("%s#cold%d", id, run))
			t.Logf("%-20s %9d bytes  first invocation %7.2f ms (keys %.2f ms; emulator Init Duration %.2f ms)  wall %v", id, f.size, firstMS, rec.keysMS, initMS, f.firstInvoke.Round(time.Millisecond))
		}
	}
}
