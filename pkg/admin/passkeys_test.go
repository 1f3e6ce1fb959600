package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/rotor-auth/rotor/internal/testpasskey"
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
	a := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(p.UserID)})
	resp := virtualwebauthn.CreateAttestationResponse(testpasskey.Local, a, testpasskey.Credential(), *o)
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

// TestRemoveOnePasskey: the operator lists a user's passkeys and removes
// one by id: the others stay, the user is told, every session ends, both
// are audited; another user's passkey id is not found and stays.
func TestRemoveOnePasskey(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		w.verifiedUser(t, "alice", "alice@example.com")
		w.signup(t, "bob")
		p := w.login(t, "alice")
		w.addPasskey(t, "alice", p)
		w.addPasskey(t, "alice", p)
		w.addPasskey(t, "bob", w.login(t, "bob"))
		list, err := w.admin.Passkeys(ctx, "Alice")
		if err != nil || len(list) != 2 || list[0].Name != "key" || list[0].CreatedAt.IsZero() {
			t.Fatalf("list: %+v, %v", list, err)
		}
		bobs, err := w.admin.Passkeys(ctx, "bob")
		if err != nil || len(bobs) != 1 {
			t.Fatalf("bob's list: %+v, %v", bobs, err)
		}
		if _, err := w.admin.RemovePasskey(ctx, "alice", bobs[0].ID); !errors.Is(err, admin.ErrNotFound) {
			t.Fatalf("bob's passkey through alice: %v, want ErrNotFound", err)
		}
		if l, _ := w.admin.Passkeys(ctx, "bob"); len(l) != 1 {
			t.Fatal("bob's passkey removed through alice")
		}
		r, err := w.admin.RemovePasskey(ctx, "alice", list[0].ID)
		if err != nil || r.Removed != 1 || !r.Notified || r.Revoked != 1 || r.UserID != p.UserID {
			t.Fatalf("remove one: %+v, %v", r, err)
		}
		left, err := w.admin.Passkeys(ctx, "alice")
		if err != nil || len(left) != 1 || left[0].ID != list[1].ID {
			t.Fatalf("left: %+v, %v", left, err)
		}
		if w.refreshes(t, &p) {
			t.Fatal("a session of before the removal still refreshes")
		}
		w.lastMail(t, "alice@example.com", outbox.FactorRemoved)
		removals, lists := 0, 0
		for _, a := range w.events(t, "admin_action") {
			if a["who"] != w.admin.Caller {
				t.Fatalf("audit event without the operator: %v", a)
			}
			switch a["action"] {
			case "passkey_remove":
				removals++
			case "passkeys_list":
				lists++
			}
		}
		if removals != 1 || lists != 4 {
			t.Fatalf("audited %d removals and %d listings, want 1 and 4", removals, lists)
		}
		if _, err := w.admin.RemovePasskey(ctx, "alice", list[0].ID); !errors.Is(err, admin.ErrNotFound) {
			t.Fatalf("second removal: %v, want ErrNotFound", err)
		}
	})
}

// TestCLIPasskeysListAndRemoveOne: rotor users passkeys list NAME, then
// remove NAME --id ID (asked first) removes that one.
func TestCLIPasskeysListAndRemoveOne(t *testing.T) {
	w := newCLIWorld(t)
	p := w.login(t, "bob")
	w.addPasskey(t, "bob", p)
	w.addPasskey(t, "bob", p)
	code, out, errs := w.run([]string{"--json", "users", "passkeys", "list", "bob"}, false, "")
	if code != admin.ExitOK {
		t.Fatalf("list: exit %d: %s %s", code, out, errs)
	}
	var list []admin.PasskeyInfo
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("list %s: %v", out, err)
	}
	if code, _, _ := w.run([]string{"users", "passkeys", "remove", "bob", "--id", list[0].ID}, false, ""); code != admin.ExitUsage {
		t.Fatalf("unconfirmed removal: exit %d, want %d", code, admin.ExitUsage)
	}
	if code, out, errs := w.run([]string{"--yes", "users", "passkeys", "remove", "bob", "--id", list[0].ID}, false, ""); code != admin.ExitOK || !strings.Contains(out, "Removed 1 passkey") {
		t.Fatalf("remove one: exit %d: %s %s", code, out, errs)
	}
	code, out, _ = w.run([]string{"users", "passkeys", "list", "bob"}, false, "")
	if code != admin.ExitOK || strings.Contains(out, list[0].ID) || !strings.Contains(out, list[1].ID) {
		t.Fatalf("list after: exit %d: %s", code, out)
	}
	if code, _, _ := w.run([]string{"--yes", "users", "passkeys", "remove", "bob", "--id", list[0].ID}, false, ""); code != admin.ExitNotFound {
		t.Fatalf("second removal: exit %d, want %d", code, admin.ExitNotFound)
	}
}
