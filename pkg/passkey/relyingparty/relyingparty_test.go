package relyingparty_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/rotor-auth/rotor/internal/testpasskey"
	"github.com/rotor-auth/rotor/pkg/passkey"
	"github.com/rotor-auth/rotor/pkg/passkey/relyingparty"
)

var (
	cfg     = relyingparty.Config{ID: "example.com", Origins: []string{"https://app.example.com"}}
	browser = virtualwebauthn.RelyingParty{ID: "example.com", Name: "Rotor", Origin: "https://app.example.com"}
	user    = passkey.User{ID: "usr_1", Username: "alice"}
)

type fixture struct {
	rp   *relyingparty.RelyingParty
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
	pk   passkey.Credential
}

// registered runs a registration through rp with a virtual authenticator.
func registered(t testing.TB, opts virtualwebauthn.AuthenticatorOptions) *fixture {
	t.Helper()
	rp, err := relyingparty.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts.UserHandle = []byte(user.ID)
	f := &fixture{rp: rp, auth: virtualwebauthn.NewAuthenticatorWithOptions(opts), cred: testpasskey.Credential()}
	raw, challenge, err := rp.RegistrationOptions(user, nil)
	if err != nil {
		t.Fatal(err)
	}
	ao, err := virtualwebauthn.ParseAttestationOptions(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	r, err := rp.ParseRegistration([]byte(virtualwebauthn.CreateAttestationResponse(browser, f.auth, f.cred, *ao)))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Challenge) != string(challenge) {
		t.Fatal("the parsed challenge is not the one issued")
	}
	rec, count, err := rp.VerifyRegistration(user, challenge, r)
	if err != nil {
		t.Fatal(err)
	}
	data, err := rec.Encode()
	if err != nil {
		t.Fatal(err)
	}
	f.pk = passkey.Credential{ID: r.CredentialID, UserID: user.ID, Data: data, SignCount: count}
	f.auth.AddCredential(f.cred)
	return f
}

// assert answers fresh login options as seen by b.
func (f *fixture) assert(t testing.TB, b virtualwebauthn.RelyingParty) (passkey.Response, []byte) {
	t.Helper()
	raw, challenge, err := f.rp.LoginOptions()
	if err != nil {
		t.Fatal(err)
	}
	o, err := virtualwebauthn.ParseAssertionOptions(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.rp.ParseAssertion([]byte(virtualwebauthn.CreateAssertionResponse(b, f.auth, f.cred, *o)))
	if err != nil {
		t.Fatal(err)
	}
	return r, challenge
}

func TestCeremonies(t *testing.T) {
	f := registered(t, virtualwebauthn.AuthenticatorOptions{BackupEligible: true})
	rec, err := passkey.DecodeRecord(f.pk.Data)
	if err != nil || rec.Username != "alice" || !rec.BackupEligible || !rec.UserVerified || len(rec.AAGUID) != 32 {
		t.Fatalf("record %+v, %v", rec, err)
	}
	r, challenge := f.assert(t, browser)
	a, err := f.rp.VerifyAssertion(user, f.pk, challenge, r)
	if err != nil || !a.UserVerified || a.Regressed {
		t.Fatalf("assertion %+v, %v", a, err)
	}
	for _, tc := range []struct {
		name string
		rp   virtualwebauthn.RelyingParty
		chal func([]byte) []byte
	}{
		{"another origin", virtualwebauthn.RelyingParty{ID: "example.com", Origin: "https://evil.test"}, nil},
		{"another RP id", virtualwebauthn.RelyingParty{ID: "evil.test", Origin: "https://app.example.com"}, nil},
		{"another challenge", browser, func([]byte) []byte { return []byte("another challenge of 32 bytes!!!") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, challenge := f.assert(t, tc.rp)
			if tc.chal != nil {
				challenge = tc.chal(challenge)
			}
			if _, err := f.rp.VerifyAssertion(user, f.pk, challenge, r); !errors.Is(err, relyingparty.ErrRefused) {
				t.Fatalf("%v, want ErrRefused", err)
			}
		})
	}
	t.Run("another user", func(t *testing.T) {
		r, challenge := f.assert(t, browser)
		other := f.pk
		other.UserID = "usr_2"
		if _, err := f.rp.VerifyAssertion(passkey.User{ID: "usr_2", Username: "mallory"}, other, challenge, r); !errors.Is(err, relyingparty.ErrRefused) {
			t.Fatalf("%v, want ErrRefused", err)
		}
	})
}

func TestCounter(t *testing.T) {
	f := registered(t, virtualwebauthn.AuthenticatorOptions{UserNotVerified: true})
	f.cred.Counter = 10
	f.auth.Credentials[0].Counter = 10
	r, challenge := f.assert(t, browser)
	a, err := f.rp.VerifyAssertion(user, f.pk, challenge, r)
	if err != nil || a.Regressed || a.SignCount != 10 || a.UserVerified {
		t.Fatalf("forward: %+v, %v", a, err)
	}
	f.pk.SignCount = 10
	f.cred.Counter = 9
	r, challenge = f.assert(t, browser)
	if a, err := f.rp.VerifyAssertion(user, f.pk, challenge, r); err != nil || !a.Regressed {
		t.Fatalf("backwards: %+v, %v; want Regressed", a, err)
	}
}

func TestRegistrationRefusals(t *testing.T) {
	rp, err := relyingparty.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []virtualwebauthn.RelyingParty{
		{ID: "example.com", Origin: "https://evil.test"},
		{ID: "evil.test", Origin: "https://app.example.com"},
	} {
		raw, challenge, err := rp.RegistrationOptions(user, nil)
		if err != nil {
			t.Fatal(err)
		}
		ao, _ := virtualwebauthn.ParseAttestationOptions(string(raw))
		auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(user.ID)})
		r, err := rp.ParseRegistration([]byte(virtualwebauthn.CreateAttestationResponse(b, auth, testpasskey.Credential(), *ao)))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := rp.VerifyRegistration(user, challenge, r); !errors.Is(err, relyingparty.ErrRefused) {
			t.Fatalf("%+v: %v, want ErrRefused", b, err)
		}
	}
	if _, err := relyingparty.New(relyingparty.Config{ID: "example.com"}); err == nil {
		t.Fatal("no origins accepted")
	}
}

// TestRegistrationCredProps: browsers answer the credProps extension the
// options ask for (Chromium found it: a session rebuilt without it refused
// the answer as unsolicited).
func TestRegistrationCredProps(t *testing.T) {
	rp, err := relyingparty.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, challenge, err := rp.RegistrationOptions(user, nil)
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		Extensions map[string]any `json:"extensions"`
	}
	if err := json.Unmarshal(raw, &opts); err != nil || opts.Extensions["credProps"] != true {
		t.Fatalf("options ask for %v, want credProps", opts.Extensions)
	}
	ao, _ := virtualwebauthn.ParseAttestationOptions(string(raw))
	auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(user.ID)})
	var resp map[string]any
	if err := json.Unmarshal([]byte(virtualwebauthn.CreateAttestationResponse(browser, auth, testpasskey.Credential(), *ao)), &resp); err != nil {
		t.Fatal(err)
	}
	resp["clientExtensionResults"] = map[string]any{"credProps": map[string]any{"rk": true}}
	body, _ := json.Marshal(resp)
	r, err := rp.ParseRegistration(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rp.VerifyRegistration(user, challenge, r); err != nil {
		t.Fatalf("a registration answering credProps: %v", err)
	}
}

// TestMFAOptions: the second step's options name exactly the given
// credentials, and an answer to them verifies as a login's does; with no
// credential there are no options.
func TestMFAOptions(t *testing.T) {
	f := registered(t, virtualwebauthn.AuthenticatorOptions{})
	raw, challenge, err := f.rp.MFAOptions([]passkey.Credential{f.pk})
	if err != nil {
		t.Fatal(err)
	}
	o, err := virtualwebauthn.ParseAssertionOptions(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.AllowCredentials) != 1 || o.AllowCredentials[0] != f.pk.ID || o.RelyingPartyID != "example.com" {
		t.Fatalf("options %s", raw)
	}
	r, err := f.rp.ParseAssertion([]byte(virtualwebauthn.CreateAssertionResponse(browser, f.auth, f.cred, *o)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rp.VerifyAssertion(user, f.pk, challenge, r); err != nil {
		t.Fatalf("answer to the mfa options: %v", err)
	}
	if _, _, err := f.rp.MFAOptions(nil); err == nil {
		t.Fatal("options with no credential to allow")
	}
}
