package faults

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// The account-recovery routes under store faults. A mail is written in the
// same store operation as what it carries, so a write that never lands
// leaves no mail (the client sees 503 and may retry), and a write whose
// answer is lost leaves exactly one.

// outbox returns every message of e's outbox.
func (e *env) outbox() []outbox.Message {
	e.t.Helper()
	if e.outboxStore == nil {
		return e.store.Store.(*memory.Store).Messages()
	}
	ms, err := e.outboxStore.DueMessages(context.Background(), time.Now().Add(24*365*time.Hour), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}

// messages returns the messages of kind k to address to in e's outbox.
func (e *env) messages(to string, k outbox.Kind) []outbox.Message {
	e.t.Helper()
	var out []outbox.Message
	for _, m := range e.outbox() {
		if m.To == to && m.Kind == k {
			out = append(out, m)
		}
	}
	return out
}

// verifiedUser signs user up with address email and follows the
// verification link, minted from the mail as the sender mints it.
func (e *env) verifiedUser(user, email string) {
	e.t.Helper()
	r := e.do("POST", "/auth/signup", map[string]string{"username": user, "password": password, "email": email})
	if r.Status != http.StatusCreated {
		e.t.Fatalf("signup %s: %d %s", user, r.Status, r.Raw)
	}
	ms := e.messages(email, outbox.VerifyEmail)
	if len(ms) != 1 {
		e.t.Fatalf("%d verification mails to %s", len(ms), email)
	}
	ring, err := e.mac.Keyring(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := onetime.Mint(ring, onetime.Purpose(ms[0].Data[onetime.PurposeKey]), ms[0].TokenID)
	if err != nil {
		e.t.Fatal(err)
	}
	if r := e.do("POST", "/auth/email/verify", map[string]string{"token": tok}); r.Status != http.StatusNoContent {
		e.t.Fatalf("verify %s: %d %s", email, r.Status, r.Raw)
	}
}

// TestRecoveryUnderStoreFaults: signup with an address, forgot and the
// password change, each with its store write stalled (a frozen store) or
// failing: 503 temporarily_unavailable (500 for a plain failure), and no
// mail queued; the retry, once the store answers, queues exactly one.
func TestRecoveryUnderStoreFaults(t *testing.T) {
	signup := map[string]string{"username": "alice", "password": password, "email": "alice@example.com"}
	for _, tc := range []struct {
		fault  fault
		status int
		code   string
	}{
		{stall, 503, "temporarily_unavailable"},
		{fail, 500, "server_error"},
	} {
		t.Run("signup with an address, "+tc.fault.String(), func(t *testing.T) {
			e := newEnv(t, false)
			e.store.set("CreateAccount", tc.fault)
			wantError(t, e.do("POST", "/auth/signup", signup), tc.status, tc.code)
			if n := len(e.store.Store.(*memory.Store).Messages()); n != 0 {
				t.Fatalf("a signup whose write never landed queued %d mails", n)
			}
			e.store.set("CreateAccount", healthy)
			if r := e.do("POST", "/auth/signup", signup); r.Status != http.StatusCreated {
				t.Fatalf("signup retry: %d %s", r.Status, r.Raw)
			}
			if n := len(e.messages("alice@example.com", outbox.VerifyEmail)); n != 1 {
				t.Fatalf("%d verification mails after the retry, want 1", n)
			}
		})

		t.Run("forgot, "+tc.fault.String(), func(t *testing.T) {
			e := newEnv(t, false)
			e.verifiedUser("bob", "bob@example.com")
			e.store.set("IssueToken", tc.fault)
			wantError(t, e.do("POST", "/auth/password/forgot", map[string]string{"username": "bob"}), tc.status, tc.code)
			if n := len(e.messages("bob@example.com", outbox.PasswordReset)); n != 0 {
				t.Fatalf("a forgot whose write never landed queued %d reset mails", n)
			}
			e.store.set("IssueToken", healthy)
			if r := e.do("POST", "/auth/password/forgot", map[string]string{"username": "bob"}); r.Status != http.StatusAccepted {
				t.Fatalf("forgot retry: %d %s", r.Status, r.Raw)
			}
			if n := len(e.messages("bob@example.com", outbox.PasswordReset)); n != 1 {
				t.Fatalf("%d reset mails after the retry, want 1", n)
			}
		})

		t.Run("password change, "+tc.fault.String(), func(t *testing.T) {
			e := newEnv(t, false)
			e.verifiedUser("carol", "carol@example.com")
			p := e.login("carol")
			change := map[string]string{"current_password": password, "new_password": "a brand new passphrase"}
			e.store.set("ChangePassword", tc.fault)
			wantError(t, e.do("POST", "/auth/password", change, "Authorization", "Bearer "+p.Access), tc.status, tc.code)
			if n := len(e.messages("carol@example.com", outbox.PasswordChanged)); n != 0 {
				t.Fatalf("a change that never landed queued %d notices", n)
			}
			e.store.set("ChangePassword", healthy)
			p = e.alive(p) // nothing changed: the old password's session lives
			if r := e.do("POST", "/auth/password", change, "Authorization", "Bearer "+p.Access); r.Status != http.StatusNoContent {
				t.Fatalf("password change retry: %d %s", r.Status, r.Raw)
			}
			if n := len(e.messages("carol@example.com", outbox.PasswordChanged)); n != 1 {
				t.Fatalf("%d notices after the change, want 1", n)
			}
		})
	}

	// The notice is no separate write a failure can drop: with every
	// outbox-only write failing, the change still lands with its notice.
	t.Run("password change, outbox-only writes failing", func(t *testing.T) {
		e := newEnv(t, false)
		e.verifiedUser("dave", "dave@example.com")
		p := e.login("dave")
		e.store.set("AddMessages", fail)
		change := map[string]string{"current_password": password, "new_password": "a brand new passphrase"}
		if r := e.do("POST", "/auth/password", change, "Authorization", "Bearer "+p.Access); r.Status != http.StatusNoContent {
			t.Fatalf("password change: %d %s", r.Status, r.Raw)
		}
		if n := len(e.messages("dave@example.com", outbox.PasswordChanged)); n != 1 {
			t.Fatalf("the password changed with %d notices queued, want 1", n)
		}
	})
}

// TestParallelForgotAnswersLost: sixteen forgot requests for one account at
// once, each write's answer lost (503), each client retrying once the store
// answers: one throttled stream of reset mail, at most the per-recipient
// limit, not sixteen or thirty-two.
func TestParallelForgotAnswersLost(t *testing.T) {
	e := newEnv(t, false)
	e.verifiedUser("bob", "bob@example.com")
	before := len(e.messages("bob@example.com", outbox.PasswordReset))
	e.store.set("IssueToken", loseAnswer)
	forgot := map[string]string{"username": "bob"}
	got := make([]response, 16)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i] = e.do("POST", "/auth/password/forgot", forgot)
		}()
	}
	close(start)
	wg.Wait()
	e.store.set("IssueToken", healthy)
	lost := 0
	for _, r := range got {
		switch r.Status {
		case http.StatusServiceUnavailable:
			lost++
			if r2 := e.do("POST", "/auth/password/forgot", forgot); r2.Status != http.StatusAccepted {
				t.Fatalf("forgot retried after a 503: %d %s", r2.Status, r2.Raw)
			}
		case http.StatusAccepted:
		default:
			t.Fatalf("forgot: %d %s", r.Status, r.Raw)
		}
	}
	if lost == 0 {
		t.Fatal("no write lost its answer: the fault was not injected")
	}
	limit := config.Default().MailLimitPerAddress
	if n := len(e.messages("bob@example.com", outbox.PasswordReset)) - before; n > limit {
		t.Fatalf("%d reset mails to one address from 16 requests and their retries, want at most %d", n, limit)
	}
}
