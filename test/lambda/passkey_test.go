package lambda_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/descope/virtualwebauthn"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/internal/testpasskey"
	"github.com/rotor-auth/rotor/pkg/totp"
)

// The relying party of the harness is the template's: TestMain gives every
// function PasskeysFunction's passkey variables as template.yaml sets them
// (webauthnVars: ROTOR_WEBAUTHN_RP_ID, ROTOR_WEBAUTHN_ORIGINS,
// ROTOR_PASSKEY_ALLOW_COUNTER_REGRESSION, each a !Ref of a parameter,
// resolved to its default), as a stack deployed with its defaults has
// them, and the virtual browser below runs on the first origin.

// webauthnVars returns PasskeysFunction's ROTOR_WEBAUTHN_* and
// ROTOR_PASSKEY_* variables from template.yaml, resolved with the
// parameters' defaults.
func webauthnVars(root string) (map[string]string, error) {
	top, r, err := newTemplateResolver(root, nil)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	env := mapping(mapping(mapping(mapping(mapping(top, "Resources"), "PasskeysFunction"), "Properties"), "Environment"), "Variables")
	if env == nil {
		return nil, fmt.Errorf("template.yaml: PasskeysFunction has no Environment.Variables")
	}
	for i := 0; i+1 < len(env.Content); i += 2 {
		name := env.Content[i].Value
		if !strings.HasPrefix(name, "ROTOR_WEBAUTHN_") && !strings.HasPrefix(name, "ROTOR_PASSKEY_") {
			continue
		}
		if vars[name], err = r.scalar(env.Content[i+1]); err != nil {
			return nil, fmt.Errorf("template.yaml: PasskeysFunction's %s: %w", name, err)
		}
	}
	if vars["ROTOR_WEBAUTHN_RP_ID"] == "" || vars["ROTOR_WEBAUTHN_ORIGINS"] == "" {
		return nil, fmt.Errorf("template.yaml: PasskeysFunction's relying party is not set: %v", vars)
	}
	return vars, nil
}

// newAuthenticator is a virtual authenticator holding one passkey of the
// user userID, synced (backup eligible and backed up) or device-bound.
func newAuthenticator(userID string, synced bool) *testpasskey.Device {
	d := testpasskey.NewDevice(userID)
	d.Auth.Options.BackupEligible, d.Auth.Options.BackupState = synced, synced
	return d
}

// browserRP is the relying party as the virtual browser sees it: the
// template's RP id, on its first allowed origin.
func browserRP(t *testing.T, e *environment) virtualwebauthn.RelyingParty {
	t.Helper()
	id, origins := e.vars["ROTOR_WEBAUTHN_RP_ID"], strings.Split(e.vars["ROTOR_WEBAUTHN_ORIGINS"], ",")
	if id == "" || strings.TrimSpace(origins[0]) == "" {
		t.Fatalf("the harness gives the functions no relying party: %q %q", id, origins)
	}
	return virtualwebauthn.RelyingParty{ID: id, Name: "Rotor", Origin: strings.TrimSpace(origins[0])}
}

// registerPasskey runs a registration through the real PasskeysFunction
// for the session of access: options, then the authenticator's
// attestation.
func registerPasskey(t *testing.T, rp virtualwebauthn.RelyingParty, access string, a *testpasskey.Device, name string) {
	t.Helper()
	ctx := authContext(t, access)
	bearer := map[string]string{"Authorization": "Bearer " + access}
	r := call(t, "PasskeysFunction", request{method: "POST", path: "/auth/passkeys/register/options", authorizer: ctx, headers: bearer, body: "{}"})
	expectStatus(t, "register options", r, 200)
	opts, err := virtualwebauthn.ParseAttestationOptions(r.Body)
	if err != nil {
		t.Fatalf("creation options %s: %v", r.Body, err)
	}
	if opts.RelyingPartyID != rp.ID {
		t.Fatalf("creation options for RP id %q, want the template's %q", opts.RelyingPartyID, rp.ID)
	}
	att := virtualwebauthn.CreateAttestationResponse(rp, a.Auth, a.Cred, *opts)
	r = call(t, "PasskeysFunction", request{method: "POST", path: "/auth/passkeys/register", authorizer: ctx, headers: bearer,
		body: mustJSON(map[string]any{"credential": json.RawMessage(att), "name": name})})
	expectStatus(t, "register "+name, r, 201)
	a.Auth.AddCredential(a.Cred)
}

// passkeyAssertion asks the real PasskeysFunction for login options and
// returns a's answer to them (its counter moved on, as an authenticator's).
func passkeyAssertion(t *testing.T, rp virtualwebauthn.RelyingParty, a *testpasskey.Device) string {
	t.Helper()
	r := call(t, "PasskeysFunction", request{method: "POST", path: "/auth/passkeys/login/options", body: "{}"})
	expectStatus(t, "login options", r, 200)
	opts, err := virtualwebauthn.ParseAssertionOptions(r.Body)
	if err != nil {
		t.Fatalf("request options %s: %v", r.Body, err)
	}
	if opts.RelyingPartyID != rp.ID || len(opts.AllowCredentials) != 0 {
		t.Fatalf("request options name credentials or another RP id: %s", r.Body)
	}
	a.Cred.Counter++
	return virtualwebauthn.CreateAssertionResponse(rp, a.Auth, a.Cred, *opts)
}

func passkeyLogin(t *testing.T, assertion string) response {
	t.Helper()
	return call(t, "PasskeysFunction", request{method: "POST", path: "/auth/passkeys/login",
		body: mustJSON(map[string]any{"credential": json.RawMessage(assertion)})})
}

// TestPasskeyCeremony is a passkey's life through the real binaries under
// the emulator, state in moto, every AWS call seen by the IAM audit: a user
// with a verified address registers a device-bound and a synced passkey
// from a session with a recent login, logs out, and signs in with each (a
// token response whose amr names the key's kind, a session the authorizer
// and a refresh accept); the same assertion replayed is refused (its
// challenge is spent); the passkeys are listed, renamed and one removed
// (it signs in no more); each addition and the removal is a notice the
// mailer delivers. Then the second step: with TOTP enrolled, a password
// login owes a second factor and a passkey gives it (MfaFunction).
func TestPasskeyCeremony(t *testing.T) {
	e := requireEnv(t)
	rp := browserRP(t, e)
	ctx := context.Background()
	ses := sesv2.NewFromConfig(testenv.AWSConfig(e.motoURL))
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("lambda-passkey.example.com")}); err != nil {
		t.Fatal(err)
	}
	mailer := e.startEnv(t, "MailerFunction", "MailerFunction#passkey", map[string]string{
		"ROTOR_MAIL_TRANSPORT": "ses",
		"ROTOR_MAIL_FROM":      "Example <no-reply@lambda-passkey.example.com>",
		"ROTOR_APP_URL":        "https://app.example.com",
	})
	sweep := func() {
		t.Helper()
		if _, ierr := mailer.invoke(t, map[string]any{"source": "aws.events", "detail-type": "Scheduled Event", "detail": map[string]any{}}); ierr != nil {
			t.Fatalf("sweep: %v", ierr)
		}
	}
	username := fmt.Sprintf("passkey-%d", time.Now().UnixNano())
	to := username + "@example.org"
	const password = "correct horse battery staple 46"
	r := call(t, "SignupFunction", request{method: "POST", path: "/auth/signup",
		body: mustJSON(map[string]string{"username": username, "password": password, "email": to})})
	expectStatus(t, "signup with an address", r, 201)
	uid := r.str("user_id")
	sweep()
	r = call(t, "EmailFunction", request{method: "POST", path: "/auth/email/verify", body: mustJSON(map[string]string{"token": sesToken(t, e.motoURL, to, "rtv_", 1)})})
	expectStatus(t, "verify the address", r, 204)

	s := login(t, username, password)
	bound, synced := newAuthenticator(uid, false), newAuthenticator(uid, true)
	registerPasskey(t, rp, s.Access, bound, "security key")
	registerPasskey(t, rp, s.Access, synced, "phone")
	r = call(t, "LogoutFunction", request{method: "POST", path: "/auth/logout", body: mustJSON(map[string]string{"refresh_token": s.Refresh})})
	expectStatus(t, "logout", r, 204)

	var p tokens
	for _, tc := range []struct {
		name string
		a    *testpasskey.Device
		amr  []string
	}{
		{"device-bound", bound, []string{"hwk", "user", "mfa"}},
		{"synced", synced, []string{"swk", "user", "mfa"}},
	} {
		assertion := passkeyAssertion(t, rp, tc.a)
		r := passkeyLogin(t, assertion)
		expectStatus(t, tc.name+" passkey login", r, 200)
		p = checkTokenResponse(t, tc.name+" passkey login", r)
		if r.str("device_token") == "" {
			t.Fatalf("%s passkey login: no device token: %s", tc.name, r.Body)
		}
		if c := jwtClaims(t, p.Access); c["sub"] != uid || !slices.Equal(amrOf(c), tc.amr) {
			t.Fatalf("%s passkey login: sub %v amr %v, want %s %v", tc.name, c["sub"], c["amr"], uid, tc.amr)
		}
		if ctx := authContext(t, p.Access); ctxString(ctx, "user_id") != uid {
			t.Fatalf("%s passkey login: the authorizer's context %v", tc.name, ctx)
		}
		// The same assertion again: its challenge was spent by the login.
		expectError(t, tc.name+" replayed assertion", passkeyLogin(t, assertion), 401, "invalid_passkey")
	}
	// With a DPoP proof (the function told ROTOR_DPOP=optional), a passkey
	// login binds its session to the proof's key; a proof by the key then
	// refreshes it.
	dk := newKey(t)
	r = callOn(t, dpopFunction(t, "PasskeysFunction", ""), withProof(t, request{method: "POST", path: "/auth/passkeys/login",
		body: mustJSON(map[string]any{"credential": json.RawMessage(passkeyAssertion(t, rp, synced))})}, dk, ""))
	dp := checkBound(t, "passkey login with a proof", r, thumbprint(t, dk))
	checkBound(t, "refresh of a bound passkey session", callOn(t, dpopFunction(t, "RefreshFunction", ""), withProof(t, request{method: "POST", path: "/auth/refresh",
		body: mustJSON(map[string]string{"refresh_token": dp.Refresh})}, dk, "")), thumbprint(t, dk))
	requireSpentProofs(t, e, "PasskeysFunction")

	r = call(t, "RefreshFunction", request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": p.Refresh})})
	expectStatus(t, "refresh of a passkey session", r, 200)
	p = checkTokenResponse(t, "refresh of a passkey session", r)

	actx := authContext(t, p.Access)
	bearer := map[string]string{"Authorization": "Bearer " + p.Access}
	list := func() []map[string]any {
		t.Helper()
		r := call(t, "PasskeysFunction", request{method: "GET", path: "/auth/passkeys", authorizer: actx, headers: bearer})
		expectStatus(t, "list", r, 200)
		var out []map[string]any
		for _, v := range r.json["passkeys"].([]any) {
			out = append(out, v.(map[string]any))
		}
		return out
	}
	l := list()
	if len(l) != 2 || l[0]["name"] != "security key" || l[1]["name"] != "phone" || l[0]["last_used_at"] == nil ||
		l[0]["backup_eligible"] != false || l[1]["backup_eligible"] != true || l[1]["backup_state"] != true {
		t.Fatalf("list: %v", l)
	}
	id := l[0]["id"].(string)
	one := func(method string, body any) request {
		return request{method: method, path: "/auth/passkeys/" + id, resource: "/auth/passkeys/{id}",
			pathParams: map[string]string{"id": id}, authorizer: actx, headers: bearer, body: mustJSON(body)}
	}
	expectStatus(t, "rename", call(t, "PasskeysFunction", one("PATCH", map[string]string{"name": "desk key"})), 204)
	if l := list(); l[0]["name"] != "desk key" {
		t.Fatalf("list after rename: %v", l)
	}
	// Removal: the session began with a passkey login a moment ago, a
	// recent authentication.
	expectStatus(t, "remove", call(t, "PasskeysFunction", one("DELETE", map[string]string{})), 204)
	if l := list(); len(l) != 1 || l[0]["name"] != "phone" {
		t.Fatalf("list after removal: %v", l)
	}
	expectError(t, "login with the removed passkey", passkeyLogin(t, passkeyAssertion(t, rp, bound)), 401, "invalid_passkey")
	sweep()
	if n := sesMails(t, e.motoURL, to); n != 4 {
		t.Fatalf("moto's SES holds %d mails to %s; want 4 (verification, two passkeys added, one removed)", n, to)
	}

	// The second step. A passkey not used since (the one of a first step
	// is refused as the second), TOTP enrolled and confirmed from the
	// passkey session.
	spare := newAuthenticator(uid, false)
	registerPasskey(t, rp, p.Access, spare, "spare key")
	r = call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/totp", authorizer: actx, headers: bearer, body: "{}"})
	expectStatus(t, "enrol TOTP", r, 200)
	code, err := totp.Code(r.str("secret"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r = call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/totp/confirm", authorizer: actx, headers: bearer,
		body: mustJSON(map[string]string{"code": code})})
	expectStatus(t, "confirm TOTP", r, 200)
	r = call(t, "LoginFunction", request{method: "POST", path: "/auth/login",
		body: mustJSON(map[string]string{"username": username, "password": password})})
	expectError(t, "password login of a TOTP user", r, 403, "mfa_required")
	if !slices.Contains(r.json["mfa_methods"].([]any), any("passkey")) {
		t.Fatalf("mfa_methods of a user with passkeys: %s", r.Body)
	}
	tok := r.str("mfa_token")
	r = call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/passkey/options", body: mustJSON(map[string]string{"mfa_token": tok})})
	expectStatus(t, "second step's options", r, 200)
	opts, err := virtualwebauthn.ParseAssertionOptions(r.Body)
	if err != nil {
		t.Fatalf("request options %s: %v", r.Body, err)
	}
	if len(opts.AllowCredentials) != 2 {
		t.Fatalf("second step's options allow %d credentials, want the user's 2: %s", len(opts.AllowCredentials), r.Body)
	}
	spare.Cred.Counter++
	r = call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/verify",
		body: mustJSON(map[string]any{"mfa_token": tok, "credential": json.RawMessage(virtualwebauthn.CreateAssertionResponse(rp, spare.Auth, spare.Cred, *opts))})})
	expectStatus(t, "second step with a passkey", r, 200)
	if c := jwtClaims(t, checkTokenResponse(t, "second step with a passkey", r).Access); !slices.Equal(amrOf(c), []string{"pwd", "hwk", "user", "mfa"}) {
		t.Fatalf("second step with a passkey: amr %v", c["amr"])
	}
}

// amrOf is a token's amr claim.
func amrOf(claims map[string]any) []string {
	var amr []string
	list, _ := claims["amr"].([]any)
	for _, m := range list {
		s, _ := m.(string)
		amr = append(amr, s)
	}
	return amr
}
