//go:build samlocal

package samlocal_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"gopkg.in/yaml.v3"

	"github.com/rotor-auth/rotor/internal/testpasskey"
)

// templateRP is the passkey relying party `sam local` gives PasskeysFunction:
// the built template's defaults of WebAuthnRpId and WebAuthnOrigins (the
// test overrides only Architecture; env.local.json sets neither variable,
// so the template's !Ref of each parameter stands), the virtual browser on
// the first origin.
func templateRP(t *testing.T) virtualwebauthn.RelyingParty {
	t.Helper()
	raw, err := os.ReadFile(env.template)
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Parameters map[string]struct {
			Default string `yaml:"Default"`
		} `yaml:"Parameters"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("%s: %v", env.template, err)
	}
	id, origins := tpl.Parameters["WebAuthnRpId"].Default, tpl.Parameters["WebAuthnOrigins"].Default
	origin := strings.TrimSpace(strings.Split(origins, ",")[0])
	if id == "" || origin == "" {
		t.Fatalf("%s: no default WebAuthnRpId (%q) or WebAuthnOrigins (%q)", env.template, id, origins)
	}
	return virtualwebauthn.RelyingParty{ID: id, Name: "Rotor", Origin: origin}
}

// TestPasskeyThroughStartAPI: a passkey ceremony under `sam local
// start-api` on the template as committed, a virtual authenticator
// (github.com/descope/virtualwebauthn) as the browser on the template's
// origin: a registration from a fresh password session (through the real
// authorizer), logout, a discoverable passkey login (a token response
// with amr hwk, user, mfa), the same assertion replayed (refused), and the
// listing with the new session's token.
func TestPasskeyThroughStartAPI(t *testing.T) {
	t.Parallel()
	rp := templateRP(t)
	a := startAPI(t)
	username := fmt.Sprintf("erin-%d", time.Now().UnixNano())
	const password = "correct horse battery staple 47"
	creds := map[string]string{"username": username, "password": password}

	r := a.do(t, "POST", "/auth/signup", creds, nil)
	expect(t, "signup", r, 201, "")
	uid := r.str("user_id")
	p := tokenPair(t, "login", a.do(t, "POST", "/auth/login", creds, nil))

	d := testpasskey.NewDevice(uid)
	r = a.do(t, "POST", "/auth/passkeys/register/options", map[string]string{}, bearer(p.access))
	expect(t, "register options", r, 200, "")
	co, err := virtualwebauthn.ParseAttestationOptions(string(r.body))
	if err != nil || co.RelyingPartyID != rp.ID {
		t.Fatalf("creation options (%v), want RP id %q: %s", err, rp.ID, r.body)
	}
	att := json.RawMessage(virtualwebauthn.CreateAttestationResponse(rp, d.Auth, d.Cred, *co))
	expect(t, "register", a.do(t, "POST", "/auth/passkeys/register", map[string]any{"credential": att, "name": "sam key"}, bearer(p.access)), 201, "")
	d.Auth.AddCredential(d.Cred)
	expect(t, "logout", a.do(t, "POST", "/auth/logout", map[string]string{"refresh_token": p.refresh}, nil), 204, "")

	r = a.do(t, "POST", "/auth/passkeys/login/options", map[string]string{}, nil)
	expect(t, "login options", r, 200, "")
	ro, err := virtualwebauthn.ParseAssertionOptions(string(r.body))
	if err != nil || ro.RelyingPartyID != rp.ID || len(ro.AllowCredentials) != 0 {
		t.Fatalf("request options (%v): %s", err, r.body)
	}
	d.Cred.Counter++
	assertion := json.RawMessage(virtualwebauthn.CreateAssertionResponse(rp, d.Auth, d.Cred, *ro))
	q := tokenPair(t, "passkey login", a.do(t, "POST", "/auth/passkeys/login", map[string]any{"credential": assertion}, nil))
	c := claims(t, q.access)
	var amr []string
	for _, m := range c["amr"].([]any) {
		amr = append(amr, m.(string))
	}
	if str(c, "sub") != uid || !slices.Equal(amr, []string{"hwk", "user", "mfa"}) {
		t.Fatalf("passkey login: sub %v amr %v, want %s [hwk user mfa]", c["sub"], amr, uid)
	}
	expect(t, "replayed assertion", a.do(t, "POST", "/auth/passkeys/login", map[string]any{"credential": assertion}, nil), 401, "invalid_passkey")

	r = a.do(t, "GET", "/auth/passkeys", nil, bearer(q.access))
	expect(t, "list", r, 200, "")
	list, _ := r.json["passkeys"].([]any)
	if len(list) != 1 {
		t.Fatalf("list: %s", r.body)
	}
	if pk := list[0].(map[string]any); pk["name"] != "sam key" || pk["last_used_at"] == nil {
		t.Fatalf("list: %s", r.body)
	}
}
