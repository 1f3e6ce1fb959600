package admin_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/rotor-auth/rotor/pkg/admin"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/outbox"
)

// addPasskey registers a passkey for the session of p through the flows,
// with a virtual authenticator on the local server's relying party.
func (w *world) addPasskey(t *testing.T, name string, p auth.Pair) {
	t.Helper()
	ctx := context.Background()
	c := auth.Caller{UserID: p.UserID, Username: name, SessionID: p.SessionID}
	raw, err := w.svc.PasskeyRegistrationOptions(ctx, c, "", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	o, err := virtualwebauthn.ParseAttestationOptions(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	var der []byte
	for der == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(k.X.Bytes()) == 32 && len(k.Y.Bytes()) == 32 { // virtualwebauthn drops leading zeros
			der, _ = x509.MarshalPKCS8PrivateKey(k)
		}
	}
	rp := virtualwebauthn.RelyingParty{ID: "localhost", Name: "Rotor", Origin: "http://localhost:3000"}
	a := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(p.UserID)})
	resp := virtualwebauthn.CreateAttestationResponse(rp, a, virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der), *o)
	if _, err := w.svc.RegisterPasskey(ctx, c, json.RawMessage(resp), "key", auth.Client{}); err != nil {
		t.Fatal(err)
	}
}

// TestRemovePasskeys: the operator removes every passkey of a user, tells
// the user once, ends every session and is audited; a user without a
// passkey, or unknown, is not found.
func TestRemovePasskeys(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		w.verifiedUser(t, "alice", "alice@example.com")
		w.signup(t, "bob")
		p := w.login(t, "alice")
		w.addPasskey(t, "alice", p)
		w.addPasskey(t, "alice", p)
		r, err := w.admin.RemovePasskeys(ctx, "Alice")
		if err != nil || r.Removed != 2 || !r.Notified || r.Revoked != 1 || r.UserID != p.UserID {
			t.Fatalf("remove: %+v, %v", r, err)
		}
		list, err := w.svc.Passkeys.ListPasskeys(ctx, p.UserID)
		if err != nil || len(list) != 0 {
			t.Fatalf("passkeys left: %v, %v", list, err)
		}
		if w.refreshes(t, &p) {
			t.Fatal("a session of before the removal still refreshes")
		}
		w.lastMail(t, "alice@example.com", outbox.FactorRemoved)
		if acts := w.events(t, "admin_action"); len(acts) != 1 || acts[0]["action"] != "passkeys_remove" || acts[0]["who"] != w.admin.Caller {
			t.Fatalf("audit events: %v", acts)
		}
		if _, err := w.admin.RemovePasskeys(ctx, "alice"); !errors.Is(err, admin.ErrNoPasskeys) {
			t.Fatalf("second removal: %v, want ErrNoPasskeys", err)
		}
		if _, err := w.admin.RemovePasskeys(ctx, "bob"); !errors.Is(err, admin.ErrNotFound) {
			t.Fatalf("a user without passkeys: %v, want ErrNotFound", err)
		}
		if _, err := w.admin.RemovePasskeys(ctx, "carol"); !errors.Is(err, admin.ErrNotFound) {
			t.Fatalf("an unknown user: %v", err)
		}
	})
}

// TestCLIRemovePasskeys: rotor users passkeys remove NAME asks first.
func TestCLIRemovePasskeys(t *testing.T) {
	w := newCLIWorld(t)
	w.addPasskey(t, "bob", w.login(t, "bob"))
	if code, _, _ := w.run([]string{"users", "passkeys", "remove", "bob"}, false, ""); code != admin.ExitUsage {
		t.Fatalf("unconfirmed removal: exit %d, want %d", code, admin.ExitUsage)
	}
	if code, out, errs := w.run([]string{"--yes", "users", "passkeys", "remove", "bob"}, false, ""); code != admin.ExitOK {
		t.Fatalf("remove: exit %d: %s %s", code, out, errs)
	}
	if code, _, _ := w.run([]string{"--yes", "users", "passkeys", "remove", "bob"}, false, ""); code != admin.ExitNotFound {
		t.Fatalf("second removal: exit %d, want %d", code, admin.ExitNotFound)
	}
}
