package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/users"
)

// AccountBudget is what each account operation may cost a store, in round
// trips to its server.
type AccountBudget struct {
	Create      int // CreateAccount with a fresh address
	CreateTaken int // CreateAccount with another account's verified address
	Issue       int // IssueToken
	Get         int // GetToken
	Verify      int // UseToken of a verification
	Reset       int // UseToken of a reset
	Change      int // UseToken of an address change
	ByEmail     int // UserByEmail
	Add         int // AddMessages
}

// OneRoundTripEach is the budget of a store whose every account operation
// is one statement or one script (PostgreSQL, Redis).
func OneRoundTripEach() AccountBudget {
	return AccountBudget{Create: 1, CreateTaken: 1, Issue: 1, Get: 1, Verify: 1, Reset: 1, Change: 1, ByEmail: 1, Add: 1}
}

// AccountRoundTrips holds st to budget; sent returns the round trips st
// made to its server since sent was last called, counted at the wire.
func AccountRoundTrips(t *testing.T, st AccountStore, sent func() int64, budget AccountBudget) {
	t.Helper()
	ctx := context.Background()
	check := func(op string, want int) {
		t.Helper()
		if got := sent(); got != int64(want) {
			t.Fatalf("%s: %d round trips, want %d", op, got, want)
		}
	}
	sent()
	u := users.User{ID: "usr_1", Username: "alice", PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0, Email: "a@example.com"}
	verify := record(t, onetime.VerifyEmail, u, u.Email)
	if err := st.CreateAccount(ctx, u, verify, msg("v1", outbox.VerifyEmail, u.Email), msg("t1", outbox.SignupAttempt, u.Email)); err != nil {
		t.Fatal(err)
	}
	check("CreateAccount", budget.Create)
	if _, err := st.GetToken(ctx, verify.ID); err != nil {
		t.Fatal(err)
	}
	check("GetToken", budget.Get)
	if _, err := st.UseToken(ctx, onetime.Use{Record: verify, Now: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	check("UseToken (verify)", budget.Verify)
	m := users.User{ID: "usr_2", Username: "mallory", PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0, Email: u.Email}
	if err := st.CreateAccount(ctx, m, record(t, onetime.VerifyEmail, m, m.Email), msg("v2", outbox.VerifyEmail, m.Email), msg("t2", outbox.SignupAttempt, m.Email)); err == nil {
		t.Fatal("a taken address was not reported")
	}
	check("CreateAccount (address taken)", budget.CreateTaken)
	owner, err := st.UserByEmail(ctx, u.Email)
	if err != nil {
		t.Fatal(err)
	}
	check("UserByEmail", budget.ByEmail)
	reset := record(t, onetime.PasswordReset, owner, "")
	if err := st.IssueToken(ctx, reset, msg("r", outbox.PasswordReset, u.Email)); err != nil {
		t.Fatal(err)
	}
	check("IssueToken", budget.Issue)
	after, err := st.UseToken(ctx, onetime.Use{Record: reset, Now: t0.Add(2 * time.Minute), PasswordHash: "$argon2id$new",
		Messages: []outbox.Message{msg("done", outbox.PasswordWasReset, u.Email)}})
	if err != nil {
		t.Fatal(err)
	}
	check("UseToken (reset)", budget.Reset)
	change := record(t, onetime.EmailChange, after, "new@example.com")
	if err := st.IssueToken(ctx, change, msg("c", outbox.VerifyEmail, change.Email)); err != nil {
		t.Fatal(err)
	}
	sent()
	if _, err := st.UseToken(ctx, onetime.Use{Record: change, Now: t0.Add(3 * time.Minute),
		Messages: []outbox.Message{msg("changed", outbox.EmailChanged, u.Email)}}); err != nil {
		t.Fatal(err)
	}
	check("UseToken (change)", budget.Change)
	if err := st.AddMessages(ctx, msg("n1", outbox.PasswordChanged, "new@example.com"), msg("n2", outbox.PasswordChanged, "new@example.com")); err != nil {
		t.Fatal(err)
	}
	check("AddMessages", budget.Add)
}
