package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/internal/testpasskey"
	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/passkey"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// A passkey ceremony's use of a challenge and its read of the credential
// are a pair (calls.call): a login or a second step makes them at the same
// time; a registration uses its challenge alone.
func (c *calls) UsePasskeyChallenge(ctx context.Context, hash string, ceremony passkey.Ceremony, userID string, now time.Time) (ch passkey.Challenge, err error) {
	pair := "credential"
	if ceremony == passkey.Register {
		pair = ""
	}
	c.call("challenge", pair, func() { ch, err = c.Store.UsePasskeyChallenge(ctx, hash, ceremony, userID, now) })
	return ch, err
}
func (c *calls) GetPasskey(ctx context.Context, id string) (cred passkey.Credential, err error) {
	c.call("credential", "challenge", func() { cred, err = c.Store.GetPasskey(ctx, id) })
	return cred, err
}
func (c *calls) UsePasskey(ctx context.Context, u passkey.Use) error {
	c.n.Add(1)
	return c.Store.UsePasskey(ctx, u)
}

// TestPasskeyLoginRoundTrips holds a passkey login to four sequential
// store round trips: the challenge used while the credential is read, the
// user, the sign count, the session. Made one after the other, the first
// two each wait in vain for the other (a minute) and count twice. A
// replayed assertion costs the one overlapping pair, and is refused.
func TestPasskeyLoginRoundTrips(t *testing.T) {
	st := &calls{Store: memory.New(), alone: map[string]bool{"create": true}}
	cfg := config.Default()
	svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, nil))
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	ctx := context.Background()
	if _, err := svc.Signup(ctx, "alice", alicePW); err != nil {
		t.Fatal(err)
	}
	p, err := svc.Login(ctx, "alice", alicePW, "", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	caller := auth.Caller{UserID: p.UserID, Username: "alice", SessionID: p.SessionID}
	authn := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(p.UserID)})
	cred := testpasskey.Credential()
	raw, err := svc.PasskeyRegistrationOptions(ctx, caller, "", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	co, err := virtualwebauthn.ParseAttestationOptions(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RegisterPasskey(ctx, caller, json.RawMessage(virtualwebauthn.CreateAttestationResponse(testpasskey.Local, authn, cred, *co)), "key", auth.Client{}); err != nil {
		t.Fatal(err)
	}
	authn.AddCredential(cred)

	raw, err = svc.PasskeyLoginOptions(ctx, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	ro, err := virtualwebauthn.ParseAssertionOptions(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	a := json.RawMessage(virtualwebauthn.CreateAssertionResponse(testpasskey.Local, authn, cred, *ro))
	if n := st.count(func() { _, err = svc.LoginWithPasskey(ctx, a, "", auth.Client{}) }); err != nil || n != 4 {
		t.Fatalf("passkey login: %d sequential store round trips (%v), want 4", n, err)
	}
	var ae *apierr.Error
	if n := st.count(func() { _, err = svc.LoginWithPasskey(ctx, a, "", auth.Client{}) }); !errors.As(err, &ae) || ae.Code != "invalid_passkey" || n != 1 {
		t.Fatalf("replayed assertion: %d sequential store round trips (%v), want 1 and invalid_passkey", n, err)
	}
}
