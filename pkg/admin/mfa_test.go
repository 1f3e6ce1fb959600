package admin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/admin"
	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/totp"
)

// verifiedUser signs up name with address addr and verifies it through the
// mailed link, as its owner would.
func (w *world) verifiedUser(t *testing.T, name, addr string) {
	t.Helper()
	ctx := context.Background()
	if _, err := w.svc.SignupWithEmail(ctx, name, pw, addr, auth.Client{}); err != nil {
		t.Fatal(err)
	}
	m := w.lastMail(t, addr, outbox.VerifyEmail)
	ring, err := w.svc.MAC.Keyring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := onetime.Mint(ring, onetime.Purpose(m.Data[onetime.PurposeKey]), m.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.VerifyEmail(ctx, tok, auth.Client{}); err != nil {
		t.Fatal(err)
	}
}

func (w *world) lastMail(t *testing.T, to string, k outbox.Kind) outbox.Message {
	t.Helper()
	msgs, err := w.svc.Accounts.(outbox.Store).DueMessages(context.Background(), w.now.Add(24*time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var last *outbox.Message
	for i, m := range msgs {
		if m.To == to && m.Kind == k {
			last = &msgs[i]
		}
	}
	if last == nil {
		t.Fatalf("no %s mail to %s", k, to)
	}
	return *last
}

// enrol enrols TOTP for the session of p and confirms it; it returns the
// secret.
func (w *world) enrol(t *testing.T, name string, p auth.Pair) string {
	t.Helper()
	ctx := context.Background()
	c := auth.Caller{UserID: p.UserID, Username: name, SessionID: p.SessionID}
	e, err := w.svc.EnrolTOTP(ctx, c, "", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.Code(e.Secret, w.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.ConfirmTOTP(ctx, c, code, auth.Client{}); err != nil {
		t.Fatal(err)
	}
	return e.Secret
}

// TestResetMFA: the operator's reset removes the factor (the password alone
// logs in again), tells the user, ends every session of the user and is
// audited; a user without a factor is not found.
func TestResetMFA(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		w.verifiedUser(t, "alice", "alice@example.com")
		w.signup(t, "bob")
		p := w.login(t, "alice")
		w.enrol(t, "alice", p)
		var e *apierr.Error
		if _, err := w.svc.Login(ctx, "alice", pw, "", auth.Client{}); !errors.As(err, &e) || e.Code != "mfa_required" {
			t.Fatalf("login of an enrolled user: %v, want mfa_required", err)
		}
		r, err := w.admin.ResetMFA(ctx, "Alice")
		if err != nil || !r.Notified || r.Revoked != 1 || r.UserID != p.UserID {
			t.Fatalf("reset: %+v, %v", r, err)
		}
		if w.refreshes(t, &p) {
			t.Fatal("a session of before the reset still refreshes")
		}
		w.lastMail(t, "alice@example.com", outbox.FactorRemoved)
		w.login(t, "alice")
		if acts := w.events(t, "admin_action"); len(acts) != 1 || acts[0]["action"] != "mfa_reset" || acts[0]["who"] != w.admin.Caller {
			t.Fatalf("audit events: %v", acts)
		}
		if len(w.events(t, "mfa_reset")) != 1 {
			t.Fatal("no mfa_reset security event")
		}
		if _, err := w.admin.ResetMFA(ctx, "bob"); !errors.Is(err, admin.ErrNoFactor) || !errors.Is(err, admin.ErrNotFound) {
			t.Fatalf("reset of a user without a factor: %v, want ErrNoFactor", err)
		}
		if _, err := w.admin.ResetMFA(ctx, "carol"); !errors.Is(err, admin.ErrNotFound) {
			t.Fatalf("reset of an unknown user: %v", err)
		}
	})
}

// TestCLIResetMFA: rotor users mfa reset NAME asks first, then resets.
func TestCLIResetMFA(t *testing.T) {
	w := newCLIWorld(t)
	p := w.login(t, "bob")
	w.enrol(t, "bob", p)
	if code, _, _ := w.run([]string{"users", "mfa", "reset", "bob"}, false, ""); code != admin.ExitUsage {
		t.Fatalf("unconfirmed reset: exit %d, want %d", code, admin.ExitUsage)
	}
	code, out, errs := w.run([]string{"--yes", "users", "mfa", "reset", "bob"}, false, "")
	if code != admin.ExitOK {
		t.Fatalf("reset: exit %d: %s %s", code, out, errs)
	}
	w.login(t, "bob")
	if code, _, _ := w.run([]string{"--yes", "users", "mfa", "reset", "bob"}, false, ""); code != admin.ExitNotFound {
		t.Fatalf("second reset: exit %d, want %d", code, admin.ExitNotFound)
	}
	if code, _, _ := w.run([]string{"--yes", "users", "mfa", "reset"}, false, ""); code != admin.ExitUsage {
		t.Fatalf("reset without a name: exit %d", code)
	}
}
