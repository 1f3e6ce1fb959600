package lambda_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/totp"
)

// authContext is what API Gateway passes a route from the TOKEN
// authorizer's answer for token.
func authContext(t *testing.T, access string) map[string]any {
	t.Helper()
	p, msg := authorize(t, "Bearer "+access)
	if msg != "" {
		t.Fatalf("authorizer: %q", msg)
	}
	ctx := map[string]any{"principalId": p.PrincipalID}
	for k, v := range p.Context {
		ctx[k] = v
	}
	return ctx
}

// TestWritePaths runs the write paths TestAuthFlow does not, each through
// its real binary, so the IAM audit (iam_test.go) sees every call they
// make: the strict authorizer's session check, ending one session, logout
// of the caller's session and of all sessions, and the second factor from
// enrolment to removal.
func TestWritePaths(t *testing.T) {
	e := requireEnv(t)
	username := fmt.Sprintf("paths-%d", time.Now().UnixNano())
	const password = "correct horse battery staple 44"
	signup(t, username, password)

	t.Run("strict authorizer checks the session", func(t *testing.T) {
		strict := e.startEnv(t, "AuthorizerFunction", "AuthorizerFunction#strict", map[string]string{"ROTOR_STRICT_SESSIONS": "true"})
		s := login(t, username, password)
		raw, ierr := strict.invoke(t, tokenAuthorizerEvent(t, "Bearer "+s.Access, apiArn+"/v1/GET/me"))
		if ierr != nil {
			t.Fatalf("strict authorizer refused a live session: %q\n%s", ierr.Message, strict.log.String())
		}
		var p policy
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		expectAllowWholeAPI(t, "strict authorizer", p)
		r := call(t, "LogoutFunction", request{method: "POST", path: "/auth/logout",
			headers: map[string]string{"Authorization": "Bearer " + s.Access}, body: "{}"})
		expectStatus(t, "logout by bearer", r, 204)
		if _, ierr := strict.invoke(t, tokenAuthorizerEvent(t, "Bearer "+s.Access, apiArn+"/v1/GET/me")); ierr == nil || ierr.Message != "Unauthorized" {
			t.Fatalf("strict authorizer allowed the token of an ended session (error %v)", ierr)
		}
	})

	t.Run("end one session, then all", func(t *testing.T) {
		a := login(t, username, password)
		b := login(t, username, password)
		ctxA, ctxB := authContext(t, a.Access), authContext(t, b.Access)
		// Listing first leaves the container a fresh revocation watermark:
		// the end that follows reads only the caller's session (GetItem).
		r := call(t, "SessionsFunction", request{method: "GET", path: "/auth/sessions", authorizer: ctxA})
		expectStatus(t, "list sessions", r, 200)
		r = call(t, "SessionsFunction", request{method: "DELETE", path: "/auth/sessions/" + ctxString(ctxB, "session_id"),
			resource: "/auth/sessions/{id}", pathParams: map[string]string{"id": ctxString(ctxB, "session_id")}, authorizer: ctxA})
		expectStatus(t, "end another session", r, 204)
		r = call(t, "RefreshFunction", request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": b.Refresh})})
		expectError(t, "refresh of the ended session", r, 401, "invalid_grant")
		r = call(t, "LogoutFunction", request{method: "POST", path: "/auth/logout",
			headers: map[string]string{"Authorization": "Bearer " + a.Access}, body: `{"all":true}`})
		expectStatus(t, "logout all", r, 204)
		r = call(t, "RefreshFunction", request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": a.Refresh})})
		expectError(t, "refresh after logout all", r, 401, "invalid_grant")
	})

	t.Run("second factor", func(t *testing.T) {
		s := login(t, username, password)
		ctx := authContext(t, s.Access)
		bearer := map[string]string{"Authorization": "Bearer " + s.Access}
		r := call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/totp", authorizer: ctx, headers: bearer, body: "{}"})
		expectStatus(t, "enrol", r, 200)
		secret := r.str("secret")
		code := func(at time.Time) string {
			c, err := totp.Code(secret, at)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		// Confirmation ends the user's other sessions (this one's DeleteItem).
		other := login(t, username, password)
		// The previous step's code confirms, this step's regenerates, the
		// next step's finishes a login (each within the ±1 step the server
		// accepts): each code works once. Started early in a step, so that
		// the server's step is still this one when the first code arrives.
		now := time.Now()
		if left := totp.Period - time.Duration(now.UnixNano())%totp.Period; left < 10*time.Second {
			time.Sleep(left)
			now = time.Now()
		}
		r = call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/totp/confirm", authorizer: ctx, headers: bearer,
			body: mustJSON(map[string]string{"code": code(now.Add(-totp.Period))})})
		expectStatus(t, "confirm", r, 200)
		r = call(t, "RefreshFunction", request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": other.Refresh})})
		expectError(t, "refresh of a session older than the factor", r, 401, "invalid_grant")
		r = call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/recovery-codes", authorizer: ctx, headers: bearer,
			body: mustJSON(map[string]string{"code": code(now)})})
		expectStatus(t, "regenerate recovery codes", r, 200)
		codes, _ := r.json["recovery_codes"].([]any)
		if len(codes) < 2 {
			t.Fatalf("recovery codes: %s", r.Body)
		}

		r = call(t, "LoginFunction", request{method: "POST", path: "/auth/login",
			body: mustJSON(map[string]string{"username": username, "password": password})})
		expectError(t, "login of an enrolled user", r, 403, "mfa_required")
		tok := r.str("mfa_token")
		// The passkey second step's options: the mfa_token's record and the
		// user's passkey list read by MfaFunction (none: 409).
		r = call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/passkey/options",
			body: mustJSON(map[string]string{"mfa_token": tok})})
		expectError(t, "passkey options of a user without passkeys", r, 409, "mfa_not_enrolled")
		r = call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/verify",
			body: mustJSON(map[string]string{"mfa_token": tok, "recovery_code": fmt.Sprint(codes[0])})})
		expectStatus(t, "verify with a recovery code", r, 200)
		checkTokenResponse(t, "verify", r)
		secondStep := func(what string, factor map[string]string) response {
			t.Helper()
			r := call(t, "LoginFunction", request{method: "POST", path: "/auth/login",
				body: mustJSON(map[string]string{"username": username, "password": password})})
			expectError(t, what+": login", r, 403, "mfa_required")
			factor["mfa_token"] = r.str("mfa_token")
			return call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/verify", body: mustJSON(factor)})
		}
		expectError(t, "the same recovery code again", secondStep("recovery code again", map[string]string{"recovery_code": fmt.Sprint(codes[0])}), 400, "invalid_code")
		next := code(now.Add(totp.Period))
		r = secondStep("code", map[string]string{"code": next})
		expectStatus(t, "verify with a code", r, 200)
		mfaTokens := checkTokenResponse(t, "verify with a code", r)
		expectError(t, "the same code again", secondStep("code again", map[string]string{"code": next}), 400, "invalid_code")
		// Step-up at the edge (ROTOR_MFA_ROUTES=POST /payments/*): the MFA
		// session's token is allowed the MFA route the password token is
		// denied (TestAuthFlow).
		p, msg := authorize(t, "Bearer "+mfaTokens.Access)
		if msg != "" || !p.allows(apiArn+"/v1/POST/payments/42") {
			t.Fatalf("TOKEN authorizer: the MFA token's policy (error %q) does not allow the MFA route: %+v", msg, p.PolicyDocument)
		}
		if amr := strings.Fields(ctxString(p.Context, "amr")); !slices.Contains(amr, "mfa") || !slices.Contains(amr, "otp") {
			t.Fatalf("authorizer context amr %q, want otp and mfa", amr)
		}

		r = call(t, "MfaFunction", request{method: "DELETE", path: "/auth/mfa/totp", resource: "/auth/mfa/totp", authorizer: ctx, headers: bearer,
			body: mustJSON(map[string]string{"recovery_code": fmt.Sprint(codes[1])})})
		expectStatus(t, "remove the factor", r, 204)
		login(t, username, password)
	})

	// Two password changes back to back: the second finds the revocation
	// watermark the first read still fresh in the warm container
	// (dynamo.WatermarkTTL) and reads only the session (GetItem), the path
	// the first call's BatchGetItem does not take.
	t.Run("password change, twice", func(t *testing.T) {
		s := login(t, username, password)
		ctx := authContext(t, s.Access)
		bearer := map[string]string{"Authorization": "Bearer " + s.Access}
		r := call(t, "PasswordFunction", request{method: "POST", path: "/auth/password", authorizer: ctx, headers: bearer,
			body: mustJSON(map[string]string{"current_password": "wrong " + password, "new_password": "another horse battery 45"})})
		if r.StatusCode < 400 || r.StatusCode >= 500 {
			t.Fatalf("password change with a wrong current password: %d %s", r.StatusCode, r.Body)
		}
		r = call(t, "PasswordFunction", request{method: "POST", path: "/auth/password", authorizer: ctx, headers: bearer,
			body: mustJSON(map[string]string{"current_password": password, "new_password": "another horse battery 45"})})
		expectStatus(t, "password change", r, 204)
		login(t, username, "another horse battery 45")
	})
}
