package relyingparty_test

import (
	"testing"

	"github.com/descope/virtualwebauthn"
)

// FuzzResponses feeds the two parsers of client input (a registration's
// and an assertion's PublicKeyCredential JSON) anything; what parses is
// verified against a registered credential. Nothing panics, and nothing
// but the genuine answer to the challenge verifies.
func FuzzResponses(f *testing.F) {
	fx := registered(f, virtualwebauthn.AuthenticatorOptions{})
	raw, _, err := fx.rp.RegistrationOptions(user, nil)
	if err != nil {
		f.Fatal(err)
	}
	ao, _ := virtualwebauthn.ParseAttestationOptions(string(raw))
	f.Add(virtualwebauthn.CreateAttestationResponse(browser, fx.auth, fx.cred, *ao))
	lo, _, err := fx.rp.LoginOptions()
	if err != nil {
		f.Fatal(err)
	}
	o, _ := virtualwebauthn.ParseAssertionOptions(string(lo))
	f.Add(virtualwebauthn.CreateAssertionResponse(browser, fx.auth, fx.cred, *o))
	f.Add(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`)
	f.Add(`{}`)
	challenge := []byte("a challenge never issued, 32 b.!")
	f.Fuzz(func(t *testing.T, body string) {
		if r, err := fx.rp.ParseRegistration([]byte(body)); err == nil {
			if _, _, err := fx.rp.VerifyRegistration(user, challenge, r); err == nil {
				t.Fatalf("a registration verified against a challenge never issued: %q", body)
			}
		}
		if r, err := fx.rp.ParseAssertion([]byte(body)); err == nil {
			if _, err := fx.rp.VerifyAssertion(user, fx.pk, challenge, r); err == nil {
				t.Fatalf("an assertion verified against a challenge never issued: %q", body)
			}
		}
	})
}
