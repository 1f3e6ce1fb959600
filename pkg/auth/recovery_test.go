package auth_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// traced records the store operations a flow makes, by name, in order.
type traced struct {
	*memory.Store
	mu  sync.Mutex
	ops []string
}

func (s *traced) op(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops = append(s.ops, name)
}

func (s *traced) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ops := s.ops
	s.ops = nil
	return ops
}

func (s *traced) GetUser(ctx context.Context, name string) (users.User, error) {
	s.op("GetUser")
	return s.Store.GetUser(ctx, name)
}

func (s *traced) UserByEmail(ctx context.Context, email string) (users.User, error) {
	s.op("UserByEmail")
	return s.Store.UserByEmail(ctx, email)
}

func (s *traced) Reserve(ctx context.Context, cs []throttle.Counter, now time.Time) (throttle.Reservation, error) {
	s.op("Reserve")
	return s.Store.Reserve(ctx, cs, now)
}

func (s *traced) IssueToken(ctx context.Context, rec onetime.Record, msgs ...outbox.Message) error {
	s.op("IssueToken")
	return s.Store.IssueToken(ctx, rec, msgs...)
}

func (s *traced) GetToken(ctx context.Context, id string) (onetime.Record, error) {
	s.op("GetToken")
	return s.Store.GetToken(ctx, id)
}

// TestForgotSameWorkForEveryInput: forgot makes the same store operations,
// in the same order, whether the input names an account with a verified
// address, one with an unverified address, one without, or none: the work
// (and so the time) tells nothing about who exists.
func TestForgotSameWorkForEveryInput(t *testing.T) {
	st := &traced{Store: memory.New()}
	cfg := config.Default()
	cfg.MailLimitPerAddress, cfg.MailLimitPerIP = 100, 100
	svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, nil))
	ctx := context.Background()
	const pw = "correct horse battery"
	c := auth.Client{IP: "203.0.113.7"}
	if _, err := svc.SignupWithEmail(ctx, "vera", pw, "vera@example.com", c); err != nil {
		t.Fatal(err)
	}
	verifyOnly(t, st, svc, "vera@example.com")
	if _, err := svc.SignupWithEmail(ctx, "una", pw, "una@example.com", c); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Signup(ctx, "nomail", pw); err != nil {
		t.Fatal(err)
	}
	st.take()
	cases := []struct {
		name            string
		username, email string
	}{
		{"verified, by name", "vera", ""},
		{"unverified, by name", "una", ""},
		{"no address, by name", "nomail", ""},
		{"no account, by name", "nobody", ""},
		{"verified, by address", "", "vera@example.com"},
		{"unverified, by address", "", "una@example.com"},
		{"no account, by address", "", "nobody@example.com"},
	}
	want := map[bool][]string{
		true:  {"GetUser", "Reserve", "IssueToken"},
		false: {"UserByEmail", "Reserve", "IssueToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := svc.ForgotPassword(ctx, tc.username, tc.email, c); err != nil {
				t.Fatal(err)
			}
			if got := st.take(); !slices.Equal(got, want[tc.username != ""]) {
				t.Fatalf("store operations %v, want %v", got, want[tc.username != ""])
			}
		})
	}
	mails := 0
	for _, m := range st.Messages() {
		if m.Kind == outbox.PasswordReset {
			mails++
			if m.To != "vera@example.com" {
				t.Fatalf("reset mail to %s", m.To)
			}
		}
	}
	if mails != 2 {
		t.Fatalf("%d reset mails, want 2 (to the verified address)", mails)
	}
}

// verifyOnly verifies addr with the link of its newest verification mail.
func verifyOnly(t *testing.T, st *traced, svc *auth.Service, addr string) {
	t.Helper()
	var last outbox.Message
	for _, m := range st.Messages() {
		if m.To == addr && m.Kind == outbox.VerifyEmail {
			last = m
		}
	}
	ring, err := svc.MAC.Keyring(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := onetime.Mint(ring, onetime.Purpose(last.Data[onetime.PurposeKey]), last.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.VerifyEmail(context.Background(), tok, auth.Client{IP: "203.0.113.7"}); err != nil {
		t.Fatal(err)
	}
}
