package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/users"
)

// AccountStore is a Rotor store with the account-recovery operations.
type AccountStore interface {
	Store
	auth.AccountStore
}

// Outbox reads every message a store holds (each store's test knows how).
type Outbox func() []outbox.Message

// RunAccounts runs the account-recovery contract (auth.AccountStore) against
// stores made by newStore, one per subtest, each with its outbox reader.
func RunAccounts(t *testing.T, newStore func(t *testing.T) (AccountStore, Outbox)) {
	t.Run("create account", func(t *testing.T) { testCreateAccount(newStore(t))(t) })
	t.Run("address taken at signup", func(t *testing.T) { testAddressTaken(newStore(t))(t) })
	t.Run("look-alike usernames", func(t *testing.T) { testAccountSkeletons(newStore(t))(t) })
	t.Run("create account unmailed", func(t *testing.T) { testCreateUnmailed(newStore(t))(t) })
	t.Run("issue token", func(t *testing.T) { testIssueToken(newStore(t))(t) })
	t.Run("use token conditions", func(t *testing.T) { testUseConditions(t, newStore) })
	t.Run("password reset", func(t *testing.T) { testUseReset(newStore(t))(t) })
	t.Run("reset supersedes sessions", func(t *testing.T) { testResetSupersedes(newStore(t))(t) })
	t.Run("address change", func(t *testing.T) { testUseChange(newStore(t))(t) })
	t.Run("racing uses", func(t *testing.T) { testRacingUses(newStore(t))(t) })
	t.Run("password change with its notice", func(t *testing.T) { testChangePasswordNotice(newStore(t))(t) })
	t.Run("password change supersedes sessions", func(t *testing.T) { testChangeSupersedes(newStore(t))(t) })
}

func msg(id string, k outbox.Kind, to string) outbox.Message {
	return outbox.Message{ID: "msg_" + id, Kind: k, To: to, UserID: "usr_x", Data: map[string]string{"ip": "203.0.113.7"}, CreatedAt: t0, NextAt: t0}
}

func tokenID(t *testing.T) string {
	id, err := onetime.NewID(nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func record(t *testing.T, p onetime.Purpose, u users.User, email string) onetime.Record {
	return onetime.Record{ID: tokenID(t), Purpose: p, UserID: u.ID, Username: u.Username, Epoch: u.Epoch, Email: email, CreatedAt: t0, ExpiresAt: t0.Add(p.TTL())}
}

func ids(msgs []outbox.Message) map[string]outbox.Message {
	out := map[string]outbox.Message{}
	for _, m := range msgs {
		out[m.ID] = m
	}
	return out
}

// signupWith creates user id/name with address email (fresh) and returns
// it with its verification record.
func signupWith(t *testing.T, st AccountStore, id, name, email string) (users.User, onetime.Record) {
	t.Helper()
	u := users.User{ID: id, Username: name, PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0, Email: email}
	rec := record(t, onetime.VerifyEmail, u, email)
	if err := st.CreateAccount(context.Background(), u, rec, msg("v"+id, outbox.VerifyEmail, email), msg("t"+id, outbox.SignupAttempt, email)); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return u, rec
}

// verified signs up and verifies an address.
func verified(t *testing.T, st AccountStore, id, name, email string) users.User {
	t.Helper()
	_, rec := signupWith(t, st, id, name, email)
	u, err := st.UseToken(context.Background(), onetime.Use{Record: rec, Now: t0.Add(time.Minute)})
	if err != nil || !u.EmailVerified {
		t.Fatalf("verify %s: %+v, %v", email, u, err)
	}
	return u
}

// testCreateAccount: a signup with an address stores the user with the
// address unverified, its verification record and mail in one write; a
// re-sent signup adds nothing; a taken username writes nothing.
func testCreateAccount(st AccountStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		u, rec := signupWith(t, st, "usr_1", "alice", "Alice@example.com")
		got, err := st.GetUser(ctx, "alice")
		if err != nil || got.Email != "Alice@example.com" || got.EmailVerified || got.PendingEmail != "" {
			t.Fatalf("user after signup: %+v, %v", got, err)
		}
		r, err := st.GetToken(ctx, rec.ID)
		if err != nil || r.Purpose != onetime.VerifyEmail || r.UserID != "usr_1" || r.Username != "alice" || r.Email != "Alice@example.com" ||
			!r.ExpiresAt.Equal(rec.ExpiresAt) || !r.CreatedAt.Equal(t0) || !r.UsedAt.IsZero() {
			t.Fatalf("token record: %+v, %v", r, err)
		}
		m := ids(out())
		if len(m) != 1 || m["msg_vusr_1"].Kind != outbox.VerifyEmail || m["msg_vusr_1"].To != "Alice@example.com" || m["msg_vusr_1"].Data["ip"] != "203.0.113.7" {
			t.Fatalf("outbox after signup: %+v", m)
		}
		if err := st.CreateAccount(ctx, u, rec, msg("vusr_1", outbox.VerifyEmail, u.Email), outbox.Message{}); err != nil {
			t.Fatalf("re-sent signup: %v", err)
		}
		other := users.User{ID: "usr_2", Username: "alice", PasswordHash: "x", Email: "bob@example.com"}
		err = st.CreateAccount(ctx, other, record(t, onetime.VerifyEmail, other, other.Email), msg("v2", outbox.VerifyEmail, other.Email), msg("t2", outbox.SignupAttempt, other.Email))
		if !errors.Is(err, users.ErrTaken) {
			t.Fatalf("taken username: %v, want ErrTaken", err)
		}
		if n := len(out()); n != 1 {
			t.Fatalf("%d messages after a re-sent signup and a taken username, want 1", n)
		}
		if _, err := st.GetToken(ctx, "AAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, onetime.ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
		if _, err := st.UserByEmail(ctx, "Alice@example.com"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("unverified address found an account: %v", err)
		}
	}
}

// testAddressTaken: a signup with another account's verified address creates
// the user, writes the owner's notice and no token; an address only
// claimed, not verified, by another account is free (no squatting).
func testAddressTaken(st AccountStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		verified(t, st, "usr_1", "alice", "a@example.com")
		signupWith(t, st, "usr_2", "bob", "b@example.com") // unverified
		before := len(out())
		u := users.User{ID: "usr_3", Username: "mallory", PasswordHash: "x", CreatedAt: t0, UpdatedAt: t0, Email: "a@example.com"}
		rec := record(t, onetime.VerifyEmail, u, u.Email)
		err := st.CreateAccount(ctx, u, rec, msg("v3", outbox.VerifyEmail, u.Email), msg("t3", outbox.SignupAttempt, u.Email))
		if !errors.Is(err, users.ErrEmailTaken) {
			t.Fatalf("signup with a verified address: %v, want ErrEmailTaken", err)
		}
		if got, err := st.GetUser(ctx, "mallory"); err != nil || got.ID != "usr_3" || got.EmailVerified {
			t.Fatalf("the user of a taken address is created all the same: %+v, %v", got, err)
		}
		if _, err := st.GetToken(ctx, rec.ID); !errors.Is(err, onetime.ErrNotFound) {
			t.Fatalf("token stored for a taken address: %v", err)
		}
		m := ids(out())
		if len(m) != before+1 || m["msg_t3"].Kind != outbox.SignupAttempt || m["msg_t3"].To != "a@example.com" {
			t.Fatalf("outbox: want the owner's notice only, got %+v", m)
		}
		if owner, err := st.UserByEmail(ctx, "a@example.com"); err != nil || owner.ID != "usr_1" {
			t.Fatalf("owner of a@: %+v, %v", owner, err)
		}
		// b@ is only claimed by bob's signup: carol may sign up with it and
		// whoever verifies first holds it.
		_, carolRec := signupWith(t, st, "usr_4", "carol", "b@example.com")
		if _, err := st.UseToken(ctx, onetime.Use{Record: carolRec, Now: t0.Add(time.Minute)}); err != nil {
			t.Fatalf("carol verifies b@ first: %v", err)
		}
		if _, err := st.UserByEmail(ctx, "b@example.com"); err != nil {
			t.Fatalf("b@ after carol verified it: %v", err)
		}
	}
}

// testIssueToken: a token record is stored with its mail only while the
// user's epoch is the record's; a change token sets the pending address.
func testIssueToken(st AccountStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		u := verified(t, st, "usr_1", "alice", "a@example.com")
		before := len(out())
		stale := record(t, onetime.PasswordReset, u, "")
		stale.Epoch = u.Epoch - 1
		if err := st.IssueToken(ctx, stale, msg("s", outbox.PasswordReset, u.Email)); !errors.Is(err, onetime.ErrStale) {
			t.Fatalf("stale epoch: %v, want ErrStale", err)
		}
		ghost := record(t, onetime.PasswordReset, users.User{ID: "usr_9", Username: "ghost"}, "")
		if err := st.IssueToken(ctx, ghost, msg("g", outbox.PasswordReset, "g@example.com")); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("unknown user: %v, want ErrNotFound", err)
		}
		wrongID := record(t, onetime.PasswordReset, users.User{ID: "usr_9", Username: "alice"}, "")
		if err := st.IssueToken(ctx, wrongID, msg("w", outbox.PasswordReset, "a@example.com")); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("another user id: %v, want ErrNotFound", err)
		}
		for _, id := range []string{stale.ID, ghost.ID, wrongID.ID} {
			if _, err := st.GetToken(ctx, id); !errors.Is(err, onetime.ErrNotFound) {
				t.Fatalf("refused token stored: %v", err)
			}
		}
		if len(out()) != before {
			t.Fatalf("refused tokens wrote messages")
		}
		rec := record(t, onetime.PasswordReset, u, "")
		for range 2 { // the second: a retried request
			if err := st.IssueToken(ctx, rec, msg("r", outbox.PasswordReset, u.Email)); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := st.GetToken(ctx, rec.ID); err != nil || got.Purpose != onetime.PasswordReset || got.Epoch != u.Epoch {
			t.Fatalf("issued: %+v, %v", got, err)
		}
		if m := ids(out()); len(m) != before+1 || m["msg_r"].To != "a@example.com" {
			t.Fatalf("outbox after issue: %+v", m)
		}
		ch := record(t, onetime.EmailChange, u, "new@example.com")
		if err := st.IssueToken(ctx, ch, msg("c", outbox.VerifyEmail, "new@example.com")); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetUser(ctx, "alice"); got.PendingEmail != "new@example.com" || got.Email != "a@example.com" || !got.EmailVerified {
			t.Fatalf("after starting a change: %+v", got)
		}
	}
}

// testUseConditions: every condition of UseToken refuses with its error and
// writes nothing.
func testUseConditions(t *testing.T, newStore func(t *testing.T) (AccountStore, Outbox)) {
	ctx := context.Background()
	cases := []struct {
		name string
		// prepare returns the use to try, after changing the store.
		prepare func(t *testing.T, st AccountStore) onetime.Use
		want    error
	}{
		{"unknown id", func(t *testing.T, st AccountStore) onetime.Use {
			u, _ := signupWith(t, st, "usr_1", "alice", "a@example.com")
			return onetime.Use{Record: record(t, onetime.VerifyEmail, u, u.Email), Now: t0}
		}, onetime.ErrNotFound},
		{"another purpose", func(t *testing.T, st AccountStore) onetime.Use {
			_, rec := signupWith(t, st, "usr_1", "alice", "a@example.com")
			rec.Purpose = onetime.PasswordReset
			return onetime.Use{Record: rec, Now: t0, PasswordHash: "h"}
		}, onetime.ErrNotFound},
		{"another user", func(t *testing.T, st AccountStore) onetime.Use {
			_, rec := signupWith(t, st, "usr_1", "alice", "a@example.com")
			rec.UserID = "usr_2"
			return onetime.Use{Record: rec, Now: t0}
		}, onetime.ErrNotFound},
		{"used", func(t *testing.T, st AccountStore) onetime.Use {
			_, rec := signupWith(t, st, "usr_1", "alice", "a@example.com")
			if _, err := st.UseToken(ctx, onetime.Use{Record: rec, Now: t0}); err != nil {
				t.Fatal(err)
			}
			return onetime.Use{Record: rec, Now: t0.Add(time.Second)}
		}, onetime.ErrUsed},
		{"expired", func(t *testing.T, st AccountStore) onetime.Use {
			_, rec := signupWith(t, st, "usr_1", "alice", "a@example.com")
			return onetime.Use{Record: rec, Now: rec.ExpiresAt}
		}, onetime.ErrExpired},
		{"reset after the epoch moved", func(t *testing.T, st AccountStore) onetime.Use {
			u := verified(t, st, "usr_1", "alice", "a@example.com")
			rec := record(t, onetime.PasswordReset, u, "")
			if err := st.IssueToken(ctx, rec); err != nil {
				t.Fatal(err)
			}
			if err := st.SetPasswordHash(ctx, "alice", "usr_1", u.Epoch, "changed", t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			return onetime.Use{Record: rec, Now: t0.Add(2 * time.Second), PasswordHash: "reset"}
		}, onetime.ErrStale},
		{"verify an address no longer the user's", func(t *testing.T, st AccountStore) onetime.Use {
			u, _ := signupWith(t, st, "usr_1", "alice", "a@example.com")
			rec := record(t, onetime.VerifyEmail, u, "old@example.com")
			if err := st.IssueToken(ctx, rec); err != nil {
				t.Fatal(err)
			}
			return onetime.Use{Record: rec, Now: t0}
		}, onetime.ErrStale},
		{"verify an address another account verified", func(t *testing.T, st AccountStore) onetime.Use {
			_, rec := signupWith(t, st, "usr_1", "alice", "a@example.com")
			verified(t, st, "usr_2", "bob", "a@example.com")
			return onetime.Use{Record: rec, Now: t0.Add(time.Hour)}
		}, users.ErrEmailTaken},
		{"change superseded by a newer change", func(t *testing.T, st AccountStore) onetime.Use {
			u := verified(t, st, "usr_1", "alice", "a@example.com")
			first := record(t, onetime.EmailChange, u, "one@example.com")
			second := record(t, onetime.EmailChange, u, "two@example.com")
			for _, r := range []onetime.Record{first, second} {
				if err := st.IssueToken(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			return onetime.Use{Record: first, Now: t0.Add(time.Hour)}
		}, onetime.ErrStale},
		{"change after the epoch moved", func(t *testing.T, st AccountStore) onetime.Use {
			u := verified(t, st, "usr_1", "alice", "a@example.com")
			rec := record(t, onetime.EmailChange, u, "one@example.com")
			if err := st.IssueToken(ctx, rec); err != nil {
				t.Fatal(err)
			}
			if _, err := st.EndUserSessions(ctx, "alice", "usr_1"); err != nil {
				t.Fatal(err)
			}
			return onetime.Use{Record: rec, Now: t0.Add(time.Hour)}
		}, onetime.ErrStale},
		{"change to an address another account verified", func(t *testing.T, st AccountStore) onetime.Use {
			u := verified(t, st, "usr_1", "alice", "a@example.com")
			verified(t, st, "usr_2", "bob", "b@example.com")
			rec := record(t, onetime.EmailChange, u, "b@example.com")
			if err := st.IssueToken(ctx, rec); err != nil {
				t.Fatal(err)
			}
			return onetime.Use{Record: rec, Now: t0.Add(time.Hour)}
		}, users.ErrEmailTaken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, out := newStore(t)
			use := tc.prepare(t, st)
			before, _ := st.GetUser(ctx, use.Record.Username)
			n := len(out())
			use.Messages = []outbox.Message{msg("notice", outbox.PasswordWasReset, "a@example.com")}
			if _, err := st.UseToken(ctx, use); !errors.Is(err, tc.want) {
				t.Fatalf("UseToken: %v, want %v", err, tc.want)
			}
			after, _ := st.GetUser(ctx, use.Record.Username)
			if after.PasswordHash != before.PasswordHash || after.Epoch != before.Epoch || after.Email != before.Email ||
				after.EmailVerified != before.EmailVerified || after.PendingEmail != before.PendingEmail {
				t.Fatalf("a refused use changed the user:\n%+v\n%+v", before, after)
			}
			if len(out()) != n {
				t.Fatal("a refused use wrote its messages")
			}
		})
	}
}

// testUseReset: a reset sets the hash and moves the epoch like
// SetPasswordHash, marks the token used and writes its notice, at once.
func testUseReset(st AccountStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		u := verified(t, st, "usr_1", "alice", "a@example.com")
		rec := record(t, onetime.PasswordReset, u, "")
		if err := st.IssueToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(5 * time.Minute)
		got, err := st.UseToken(ctx, onetime.Use{Record: rec, Now: at, PasswordHash: "$argon2id$new", Messages: []outbox.Message{msg("done", outbox.PasswordWasReset, u.Email)}})
		if err != nil || got.PasswordHash != "$argon2id$new" || got.Epoch != u.Epoch+1 || !got.PasswordChangedAt.Equal(at) {
			t.Fatalf("reset: %+v, %v", got, err)
		}
		stored, _ := st.GetUser(ctx, "alice")
		if stored.PasswordHash != "$argon2id$new" || stored.Epoch != u.Epoch+1 || !stored.PasswordChangedAt.Equal(at) || !stored.UpdatedAt.Equal(at) || !stored.EmailVerified {
			t.Fatalf("stored after reset: %+v", stored)
		}
		if r, _ := st.GetToken(ctx, rec.ID); !r.UsedAt.Equal(at) {
			t.Fatalf("token not marked used: %+v", r)
		}
		if m := ids(out()); m["msg_done"].Kind != outbox.PasswordWasReset {
			t.Fatalf("notice not written: %+v", m)
		}
		// A session started before the reset (its login read the old epoch)
		// can no longer be created.
		// (A session of another user, made alice's: user ids are unique
		// on PostgreSQL, so newSession cannot create a second usr_1.)
		s := newSession(t, st, "usr_other")
		s.UserID, s.Username, s.Epoch = "usr_1", "alice", u.Epoch
		if err := st.CreateSession(ctx, s, nil); err == nil {
			t.Fatal("a login that read the old epoch started a session after the reset")
		}
	}
}

// testUseChange: a verified change makes the new address the verified one,
// releases the old address and writes the old address's notice.
func testUseChange(st AccountStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		u := verified(t, st, "usr_1", "alice", "old@example.com")
		rec := record(t, onetime.EmailChange, u, "new@example.com")
		if err := st.IssueToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UserByEmail(ctx, "new@example.com"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("pending address found an account: %v", err)
		}
		at := t0.Add(time.Hour)
		got, err := st.UseToken(ctx, onetime.Use{Record: rec, Now: at, Messages: []outbox.Message{msg("changed", outbox.EmailChanged, "old@example.com")}})
		if err != nil || got.Email != "new@example.com" || !got.EmailVerified || !got.EmailVerifiedAt.Equal(at) || got.PendingEmail != "" || got.Epoch != u.Epoch {
			t.Fatalf("change: %+v, %v", got, err)
		}
		if owner, err := st.UserByEmail(ctx, "new@example.com"); err != nil || owner.ID != "usr_1" {
			t.Fatalf("new address: %+v, %v", owner, err)
		}
		// Every read of the user carries the address (login puts it in the
		// access token's claims).
		if l, _, err := st.GetLogin(ctx, "alice", nil); err != nil || l.Email != "new@example.com" || !l.EmailVerified || !l.EmailVerifiedAt.Equal(at) {
			t.Fatalf("GetLogin after the change: %+v, %v", l, err)
		}
		if l, _, _, err := st.ReserveLogin(ctx, "alice", nil, at); err != nil || l.Email != "new@example.com" || !l.EmailVerified {
			t.Fatalf("ReserveLogin after the change: %+v, %v", l, err)
		}
		if _, err := st.UserByEmail(ctx, "old@example.com"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("old address still finds the account: %v", err)
		}
		if m := ids(out()); m["msg_changed"].To != "old@example.com" {
			t.Fatalf("notice to the old address not written: %+v", m)
		}
		// The released address is free for another account to verify.
		verified(t, st, "usr_2", "bob", "old@example.com")
	}
}

// testRacingUses: sixteen uses of one reset token at once: exactly one
// wins, and the epoch moves once.
func testRacingUses(st AccountStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		u := verified(t, st, "usr_1", "alice", "a@example.com")
		rec := record(t, onetime.PasswordReset, u, "")
		if err := st.IssueToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
		n := len(out())
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = st.UseToken(ctx, onetime.Use{Record: rec, Now: t0.Add(time.Minute), PasswordHash: fmt.Sprintf("hash-%d", i),
					Messages: []outbox.Message{msg(fmt.Sprintf("n%d", i), outbox.PasswordWasReset, u.Email)}})
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("uses %d and %d both won", won, i)
			case err == nil:
				won = i
			case !errors.Is(err, onetime.ErrUsed) && !errors.Is(err, onetime.ErrStale):
				t.Fatalf("use %d: %v", i, err)
			}
		}
		got, _ := st.GetUser(ctx, "alice")
		if won < 0 || got.PasswordHash != fmt.Sprintf("hash-%d", won) || got.Epoch != u.Epoch+1 {
			t.Fatalf("winner %d, user %+v", won, got)
		}
		if len(out()) != n+1 {
			t.Fatalf("%d notices written, want 1", len(out())-n)
		}
	}
}

// testCreateUnmailed: a throttled signup passes empty messages: the user and
// the token are stored, no message is.
func testCreateUnmailed(st AccountStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		u := users.User{ID: "usr_1", Username: "alice", PasswordHash: "x", CreatedAt: t0, UpdatedAt: t0, Email: "a@example.com"}
		rec := record(t, onetime.VerifyEmail, u, u.Email)
		if err := st.CreateAccount(ctx, u, rec, outbox.Message{}, outbox.Message{}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetToken(ctx, rec.ID); err != nil {
			t.Fatalf("token of an unmailed signup: %v", err)
		}
		if m := out(); len(m) != 0 {
			t.Fatalf("empty messages written: %+v", m)
		}
	}
}
