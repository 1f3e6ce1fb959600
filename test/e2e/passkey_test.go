package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/rotor-auth/rotor/internal/testpasskey"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/outbox"
)

// Passkeys over HTTP, on every store, with a virtual authenticator
// (github.com/descope/virtualwebauthn: real attestation and assertion
// responses, ECDSA P-256 signatures, an independent encoder) playing the
// browser and the authenticator.

const (
	pkRPID   = "example.com"
	pkOrigin = "https://app.example.com"
)

// browser is the relying party as the browser sees it: the page's origin
// and the RP id it asks for.
var browser = virtualwebauthn.RelyingParty{ID: pkRPID, Name: "Rotor", Origin: pkOrigin}

func passkeyEnv(t *testing.T, kind string, edit func(*config.Config)) *env {
	return newEnv(t, kind, func(c *config.Config) {
		c.WebAuthnRPID, c.WebAuthnOrigins = pkRPID, []string{pkOrigin}
		c.LoginMaxFailures = 20
		if edit != nil {
			edit(c)
		}
	}, nil)
}

// registerOptions asks for creation options with access.
func (e *env) registerOptions(access string, body map[string]string) response {
	e.t.Helper()
	if body == nil {
		body = map[string]string{}
	}
	return e.do("POST", "/auth/passkeys/register/options", body, bearer(access)...)
}

// attestation is the browser's answer to creation options r, from d as
// seen by rp.
func (e *env) attestation(r response, d *testpasskey.Device, rp virtualwebauthn.RelyingParty) json.RawMessage {
	e.t.Helper()
	if r.Status != http.StatusOK {
		e.t.Fatalf("register options: %d %s", r.Status, r.Raw)
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(r.Raw)
	if err != nil {
		e.t.Fatalf("creation options %s: %v", r.Raw, err)
	}
	return json.RawMessage(virtualwebauthn.CreateAttestationResponse(rp, d.Auth, d.Cred, *opts))
}

func (e *env) register(access string, credential json.RawMessage, name string) response {
	e.t.Helper()
	return e.do("POST", "/auth/passkeys/register", map[string]any{"credential": credential, "name": name}, bearer(access)...)
}

// enrolPasskey registers d for the session of access.
func (e *env) enrolPasskey(access string, d *testpasskey.Device, name string) {
	e.t.Helper()
	r := e.register(access, e.attestation(e.registerOptions(access, nil), d, browser), name)
	if r.Status != http.StatusCreated {
		e.t.Fatalf("register: %d %s", r.Status, r.Raw)
	}
	d.Auth.AddCredential(d.Cred)
}

// assertion is d's answer to fresh login options, as seen by rp.
func (e *env) assertion(d *testpasskey.Device, rp virtualwebauthn.RelyingParty) json.RawMessage {
	e.t.Helper()
	r := e.do("POST", "/auth/passkeys/login/options", map[string]string{})
	if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
		e.t.Fatalf("login options: %d %v %s", r.Status, r.Header, r.Raw)
	}
	opts, err := virtualwebauthn.ParseAssertionOptions(r.Raw)
	if err != nil {
		e.t.Fatalf("request options %s: %v", r.Raw, err)
	}
	if len(opts.AllowCredentials) != 0 || opts.RelyingPartyID != pkRPID {
		e.t.Fatalf("request options name credentials or another RP id: %s", r.Raw)
	}
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(rp, d.Auth, d.Cred, *opts))
}

func (e *env) passkeyLogin(credential json.RawMessage) response {
	e.t.Helper()
	return e.do("POST", "/auth/passkeys/login", map[string]any{"credential": credential})
}

func (e *env) listPasskeys(access string) []map[string]any {
	e.t.Helper()
	r := e.do("GET", "/auth/passkeys", nil, bearer(access)...)
	if r.Status != http.StatusOK {
		e.t.Fatalf("list: %d %s", r.Status, r.Raw)
	}
	var out []map[string]any
	for _, p := range r.Body["passkeys"].([]any) {
		out = append(out, p.(map[string]any))
	}
	return out
}

func TestPasskeyFlow(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := passkeyEnv(t, kind, nil)
			const addr = "pk@example.com"
			e.verifiedUser("pk-user", addr)
			p := e.login("pk-user", mfaPW)
			uid := e.me(p.Access).str("user_id")
			d := testpasskey.NewDevice(uid)
			e.enrolPasskey(p.Access, d, "laptop")
			if n := len(e.mails(addr, outbox.FactorAdded)); n != 1 {
				t.Fatalf("%d factor_added notices, want 1", n)
			}
			list := e.listPasskeys(p.Access)
			if len(list) != 1 || list[0]["name"] != "laptop" || list[0]["last_used_at"] != nil || list[0]["backup_eligible"] != false || list[0]["backup_state"] != false {
				t.Fatalf("list: %v", list)
			}
			id := list[0]["id"].(string)

			// Sign in: a token response, a session like a login's.
			r := e.passkeyLogin(e.assertion(d, browser))
			if r.Status != http.StatusOK || r.str("device_token") == "" {
				t.Fatalf("passkey login: %d %s", r.Status, r.Raw)
			}
			q := pairOf(t, r)
			if me := e.me(q.Access); me.Status != http.StatusOK || me.str("user_id") != uid {
				t.Fatalf("/me after passkey login: %d %s", me.Status, me.Raw)
			}
			if rr := e.refresh(q.Refresh); rr.Status != http.StatusOK {
				t.Fatalf("refresh after passkey login: %d %s", rr.Status, rr.Raw)
			}
			if l := e.listPasskeys(p.Access); l[0]["last_used_at"] == nil {
				t.Fatalf("last_used_at not set: %v", l)
			}

			// Rename; a password change keeps the passkeys; remove (a
			// notice, and the passkey signs in no more).
			if r := e.do("PATCH", "/auth/passkeys/"+id, map[string]string{"name": "work laptop"}, bearer(p.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("rename: %d %s", r.Status, r.Raw)
			}
			if r := e.do("POST", "/auth/password", map[string]string{"current_password": mfaPW, "new_password": mfaPW + "-2"}, bearer(p.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("password change: %d %s", r.Status, r.Raw)
			}
			r = e.passkeyLogin(e.assertion(d, browser))
			if r.Status != http.StatusOK {
				t.Fatalf("passkey login after a password change: %d %s", r.Status, r.Raw)
			}
			a := pairOf(t, r)
			if l := e.listPasskeys(a.Access); len(l) != 1 || l[0]["name"] != "work laptop" {
				t.Fatalf("after rename and password change: %v", l)
			}
			if r := e.do("DELETE", "/auth/passkeys/"+id, nil, bearer(a.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("remove: %d %s", r.Status, r.Raw)
			}
			if n := len(e.mails(addr, outbox.FactorRemoved)); n != 1 {
				t.Fatalf("%d factor_removed notices, want 1", n)
			}
			wantError(t, e.passkeyLogin(e.assertion(d, browser)), http.StatusUnauthorized, "invalid_passkey")
			if me := e.me(a.Access); me.Status != http.StatusOK {
				t.Fatalf("removing a passkey ended the session: %d %s", me.Status, me.Raw)
			}
			for _, ev := range []string{"passkey_added", "passkey_removed", "login_succeeded"} {
				if !e.hasEvent(ev) {
					t.Fatalf("no %s security event", ev)
				}
			}
		})
	}
}

// TestPasskeyRefusals: what an attacker tries, on every store.
func TestPasskeyRefusals(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := passkeyEnv(t, kind, nil)
			uidA := e.signup("alice", mfaPW)
			pa := e.login("alice", mfaPW)
			da := testpasskey.NewDevice(uidA)
			e.enrolPasskey(pa.Access, da, "alice's key")
			uidB := e.signup("mallory", mfaPW)
			pb := e.login("mallory", mfaPW)
			db := testpasskey.NewDevice(uidB)
			e.enrolPasskey(pb.Access, db, "mallory's key")

			// Phishing: the same passkey asked by another site (origin), or
			// for another RP id, is refused.
			evilOrigin := virtualwebauthn.RelyingParty{ID: pkRPID, Name: "Rotor", Origin: "https://app.example.com.evil.test"}
			wantError(t, e.passkeyLogin(e.assertion(da, evilOrigin)), http.StatusUnauthorized, "invalid_passkey")
			evilRP := virtualwebauthn.RelyingParty{ID: "evil.test", Name: "Rotor", Origin: pkOrigin}
			wantError(t, e.passkeyLogin(e.assertion(da, evilRP)), http.StatusUnauthorized, "invalid_passkey")
			// A registration made on another origin is refused too.
			r := e.register(pa.Access, e.attestation(e.registerOptions(pa.Access, nil), testpasskey.NewDevice(uidA), evilOrigin), "phished")
			wantError(t, r, http.StatusBadRequest, "invalid_request")

			// Replay: an assertion that signed in once signs in no more.
			good := e.assertion(da, browser)
			if r := e.passkeyLogin(good); r.Status != http.StatusOK {
				t.Fatalf("login: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.passkeyLogin(good), http.StatusUnauthorized, "invalid_passkey")
			// Two Lambdas, one assertion: one token response.
			twice := e.assertion(da, browser)
			ok := 0
			for _, r := range together(4, func(int) response { return e.passkeyLogin(twice) }) {
				if r.Status == http.StatusOK {
					ok++
				} else {
					wantError(t, r, http.StatusUnauthorized, "invalid_passkey")
				}
			}
			if ok != 1 {
				t.Fatalf("%d of 4 racing uses of one assertion signed in, want 1", ok)
			}
			// An expired challenge.
			late := e.assertion(da, browser)
			e.clock.Advance(5*time.Minute + time.Second)
			wantError(t, e.passkeyLogin(late), http.StatusUnauthorized, "invalid_passkey")

			// Another user's credential under Alice's user handle: refused.
			forged := testpasskey.NewDevice(uidA)
			forged.Cred = db.Cred
			wantError(t, e.passkeyLogin(e.assertion(forged, browser)), http.StatusUnauthorized, "invalid_passkey")
			// A credential no one registered.
			wantError(t, e.passkeyLogin(e.assertion(testpasskey.NewDevice(uidA), browser)), http.StatusUnauthorized, "invalid_passkey")

			// Challenges are bound: a login's challenge does not register,
			// Mallory's registration challenge does not register for Alice.
			pa = e.login("alice", mfaPW)
			pb = e.login("mallory", mfaPW)
			lo := e.do("POST", "/auth/passkeys/login/options", map[string]string{})
			cross := e.attestation(lo, testpasskey.NewDevice(uidA), browser)
			wantError(t, e.register(pa.Access, cross, "x"), http.StatusBadRequest, "invalid_request")
			theirs := e.attestation(e.registerOptions(pb.Access, nil), testpasskey.NewDevice(uidA), browser)
			wantError(t, e.register(pa.Access, theirs, "x"), http.StatusBadRequest, "invalid_request")
			if l := e.listPasskeys(pa.Access); len(l) != 1 {
				t.Fatalf("a refused registration added a passkey: %v", l)
			}
			// Mallory cannot rename or remove Alice's passkey: 404.
			aliceID := e.listPasskeys(pa.Access)[0]["id"].(string)
			wantError(t, e.do("PATCH", "/auth/passkeys/"+aliceID, map[string]string{"name": "owned"}, bearer(pb.Access)...), http.StatusNotFound, "not_found")
			wantError(t, e.do("DELETE", "/auth/passkeys/"+aliceID, nil, bearer(pb.Access)...), http.StatusNotFound, "not_found")
			if l := e.listPasskeys(pa.Access); len(l) != 1 || l[0]["name"] != "alice's key" {
				t.Fatalf("Alice's passkey after Mallory's attempts: %v", l)
			}
		})
	}
}

// TestPasskeyCounterRegression: a signature counter going backwards (a
// cloned authenticator) is a security event and, by default, a refusal;
// with ROTOR_PASSKEY_ALLOW_COUNTER_REGRESSION it is logged and let through,
// and the stored counter does not move backwards.
func TestPasskeyCounterRegression(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			for _, allow := range []bool{false, true} {
				e := passkeyEnv(t, kind, func(c *config.Config) { c.PasskeyAllowCounterRegression = allow })
				uid := e.signup("cloned", mfaPW)
				d := testpasskey.NewDevice(uid)
				e.enrolPasskey(e.login("cloned", mfaPW).Access, d, "key")
				d.Cred.Counter = 5
				if r := e.passkeyLogin(e.assertion(d, browser)); r.Status != http.StatusOK {
					t.Fatalf("counter 5: %d %s", r.Status, r.Raw)
				}
				clone := *d
				clone.Cred.Counter = 3
				r := e.passkeyLogin(e.assertion(&clone, browser))
				if !e.hasEvent("passkey_counter_regressed") {
					t.Fatal("no passkey_counter_regressed security event")
				}
				if allow {
					if r.Status != http.StatusOK {
						t.Fatalf("allowed regression: %d %s", r.Status, r.Raw)
					}
					// The stored count stayed 5: 4 is a regression still.
					clone.Cred.Counter = 4
					e.passkeyLogin(e.assertion(&clone, browser))
					if n := countEvents(e, "passkey_counter_regressed"); n != 2 {
						t.Fatalf("%d regression events, want 2", n)
					}
					continue
				}
				wantError(t, r, http.StatusUnauthorized, "invalid_passkey")
				d.Cred.Counter = 6
				if r := e.passkeyLogin(e.assertion(d, browser)); r.Status != http.StatusOK {
					t.Fatalf("the original, counter 6: %d %s", r.Status, r.Raw)
				}
			}
		})
	}
}

// TestPasskeyRegistrationNeedsRecentLogin: a stolen access token whose
// login is older than five minutes cannot register the thief's passkey (nor
// remove the owner's) without the current password.
func TestPasskeyRegistrationNeedsRecentLogin(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := passkeyEnv(t, kind, nil)
			uid := e.signup("victim", mfaPW)
			p := e.login("victim", mfaPW)
			d := testpasskey.NewDevice(uid)
			e.enrolPasskey(p.Access, d, "mine")
			id := e.listPasskeys(p.Access)[0]["id"].(string)
			// Options fetched while the login was recent expire with their
			// challenge: the thief cannot stock them up either.
			early := e.registerOptions(p.Access, nil)
			e.clock.Advance(6 * time.Minute)
			wantError(t, e.registerOptions(p.Access, nil), http.StatusBadRequest, "invalid_request")
			wantError(t, e.registerOptions(p.Access, map[string]string{"current_password": "Pw-wrong-horse-1"}), http.StatusUnauthorized, "invalid_credentials")
			wantError(t, e.register(p.Access, e.attestation(early, testpasskey.NewDevice(uid), browser), "thief"), http.StatusBadRequest, "invalid_request")
			wantError(t, e.do("DELETE", "/auth/passkeys/"+id, map[string]string{}, bearer(p.Access)...), http.StatusBadRequest, "invalid_request")
			if l := e.listPasskeys(p.Access); len(l) != 1 {
				t.Fatalf("passkeys: %v", l)
			}
			// With the password, the owner can.
			r := e.registerOptions(p.Access, map[string]string{"current_password": mfaPW})
			if r := e.register(p.Access, e.attestation(r, testpasskey.NewDevice(uid), browser), "second"); r.Status != http.StatusCreated {
				t.Fatalf("register with the password: %d %s", r.Status, r.Raw)
			}
			if r := e.do("DELETE", "/auth/passkeys/"+id, map[string]string{"current_password": mfaPW}, bearer(p.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("remove with the password: %d %s", r.Status, r.Raw)
			}
		})
	}
}

func countEvents(e *env, ev string) int {
	return strings.Count(e.logs.String(), `"event":"`+ev+`"`)
}

// TestPasskeyAndTOTP: for a user with a TOTP factor, a user-verified
// passkey is both factors at once and signs in; a passkey whose
// authenticator did not verify the user is possession alone, and the
// second step is owed (403 mfa_required, then /auth/mfa/verify).
func TestPasskeyAndTOTP(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := passkeyEnv(t, kind, nil)
			secret, _, p := e.enrolled("two-factors", "")
			uid := e.me(p.Access).str("user_id")
			verified := testpasskey.NewDevice(uid)
			e.enrolPasskey(p.Access, verified, "with PIN")
			if r := e.passkeyLogin(e.assertion(verified, browser)); r.Status != http.StatusOK {
				t.Fatalf("user-verified passkey of a TOTP user: %d %s", r.Status, r.Raw)
			}
			presence := testpasskey.NewDevice(uid)
			presence.Auth.Options.UserNotVerified = true
			e.enrolPasskey(p.Access, presence, "no PIN")
			r := e.passkeyLogin(e.assertion(presence, browser))
			wantError(t, r, http.StatusForbidden, "mfa_required")
			e.nextStep()
			if v := e.verify(map[string]string{"mfa_token": r.str("mfa_token"), "code": e.code(secret)}); v.Status != http.StatusOK {
				t.Fatalf("second step after a passkey: %d %s", v.Status, v.Raw)
			}
		})
	}
}

// TestPasskeyLimit: an account holds at most auth.MaxPasskeys passkeys.
func TestPasskeyLimit(t *testing.T) {
	e := passkeyEnv(t, "memory", nil)
	uid := e.signup("collector", mfaPW)
	p := e.login("collector", mfaPW)
	for range auth.MaxPasskeys {
		e.enrolPasskey(p.Access, testpasskey.NewDevice(uid), "key")
	}
	wantError(t, e.registerOptions(p.Access, nil), http.StatusBadRequest, "invalid_request")
	if l := e.listPasskeys(p.Access); len(l) != auth.MaxPasskeys {
		t.Fatalf("%d passkeys, want %d", len(l), auth.MaxPasskeys)
	}
}

// passkeyTables are the PostgreSQL tables of passkeys (migration 008).
var passkeyTables = []string{"passkeys", "passkey_challenges"}

// TestPasskeySecretsNotAtRest: after registrations and logins, nothing
// the store holds answers a challenge: no challenge is stored in any form
// a client sees (base64url) or in raw bytes (hex), only its SHA-256; the
// credentials are public keys and the records are there to be scanned.
func TestPasskeySecretsNotAtRest(t *testing.T) {
	for _, kind := range []string{"dynamodb", "postgres", "redis"} {
		t.Run(kind, func(t *testing.T) {
			e := passkeyEnv(t, kind, nil)
			uid := e.signup("at-rest", mfaPW)
			p := e.login("at-rest", mfaPW)
			var challenges []string
			opts := e.registerOptions(p.Access, nil)
			challenges = append(challenges, opts.str("challenge"))
			d := testpasskey.NewDevice(uid)
			if r := e.register(p.Access, e.attestation(opts, d, browser), "key"); r.Status != http.StatusCreated {
				t.Fatalf("register: %d %s", r.Status, r.Raw)
			}
			d.Auth.AddCredential(d.Cred)
			for range 2 {
				a := e.assertion(d, browser)
				var parsed struct {
					Response struct {
						ClientDataJSON string `json:"clientDataJSON"`
					} `json:"response"`
				}
				if err := json.Unmarshal(a, &parsed); err != nil {
					t.Fatal(err)
				}
				cd, err := base64.RawURLEncoding.DecodeString(parsed.Response.ClientDataJSON)
				if err != nil {
					t.Fatal(err)
				}
				var clientData struct {
					Challenge string `json:"challenge"`
				}
				if err := json.Unmarshal(cd, &clientData); err != nil {
					t.Fatal(err)
				}
				challenges = append(challenges, clientData.Challenge)
				if r := e.passkeyLogin(a); r.Status != http.StatusOK {
					t.Fatalf("login: %d %s", r.Status, r.Raw)
				}
			}
			// One more login challenge, never answered: still only hashed.
			lo := e.do("POST", "/auth/passkeys/login/options", map[string]string{})
			challenges = append(challenges, lo.str("challenge"))
			// No password guess failed and no mail was sent: those tables are
			// the other scans' to fill.
			all := strings.Join(storedValues(t, e, "outbox", "onetime_tokens", "mfa_factors", "mfa_tokens", "login_attempts"), "\n")
			for _, c := range challenges {
				raw, err := base64.RawURLEncoding.DecodeString(c)
				if err != nil || len(raw) < 16 {
					t.Fatalf("challenge %q", c)
				}
				sum := sha256.Sum256(raw)
				if !strings.Contains(all, hex.EncodeToString(sum[:])) {
					t.Fatalf("the hash of challenge %s is not in the scan: the scan misses the challenge records", c)
				}
				for what, s := range map[string]string{"base64url": c, "hex": hex.EncodeToString(raw)} {
					if strings.Contains(all, s) {
						t.Errorf("the store holds a challenge (%s)", what)
					}
				}
			}
			if !strings.Contains(all, e.listPasskeys(p.Access)[0]["id"].(string)) {
				t.Fatal("the credential is not in the scan")
			}
		})
	}
}
