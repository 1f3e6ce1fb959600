package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/users"
)

// RunAccountRaces runs the account store's races against stores made by
// newStore, one per subtest: what a sequential contract cannot see, because
// a store may check a condition on one read and write on another.
func RunAccountRaces(t *testing.T, newStore func(t *testing.T) (AccountStore, Outbox)) {
	t.Run("racing claims of one address", func(t *testing.T) { testRacingClaims(newStore(t))(t) })
	t.Run("reset racing a password change", func(t *testing.T) { testResetRacingChange(newStore(t))(t) })
	t.Run("change racing a reset", func(t *testing.T) { testChangeRacingReset(newStore(t))(t) })
}

// testRacingClaims: sixteen accounts signed up with one address verify it
// at once: exactly one holds it, the others are refused ErrEmailTaken, and
// only the winner's notice is written.
func testRacingClaims(st AccountStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		for round := range 8 { // a race may need several tries to show
			racingClaims(t, st, out, round)
		}
	}
}

func racingClaims(t *testing.T, st AccountStore, out Outbox, round int) {
	ctx := context.Background()
	addr := fmt.Sprintf("shared%d@example.com", round)
	recs := make([]onetime.Record, 16)
	for i := range recs {
		_, recs[i] = signupWith(t, st, fmt.Sprintf("usr_%d_%d", round, i), fmt.Sprintf("user%d", i+16*round), addr)
	}
	n := len(out())
	errs := make([]error, len(recs))
	var wg sync.WaitGroup
	for i := range recs {
		wg.Go(func() {
			_, errs[i] = st.UseToken(ctx, onetime.Use{Record: recs[i], Now: t0.Add(time.Minute),
				Messages: []outbox.Message{msg(fmt.Sprintf("claim%d-%d", round, i), outbox.EmailChanged, addr)}})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("user%d and user%d both verified %s", won, i, addr)
		case err == nil:
			won = i
		case !errors.Is(err, users.ErrEmailTaken):
			t.Fatalf("user%d: %v, want ErrEmailTaken", i, err)
		}
	}
	if won < 0 {
		t.Fatal("nobody verified the address")
	}
	owner, err := st.UserByEmail(ctx, addr)
	if err != nil || owner.Username != fmt.Sprintf("user%d", won+16*round) {
		t.Fatalf("owner %+v (%v), want user%d", owner, err, won)
	}
	for i := range recs {
		u, _ := st.GetUser(ctx, fmt.Sprintf("user%d", i+16*round))
		if u.EmailVerified != (i == won) {
			t.Fatalf("user%d verified %v, winner user%d", i, u.EmailVerified, won)
		}
		r, _ := st.GetToken(ctx, recs[i].ID)
		if r.UsedAt.IsZero() != (i != won) {
			t.Fatalf("user%d's token used at %v, winner user%d", i, r.UsedAt, won)
		}
	}
	if got := len(out()) - n; got != 1 {
		t.Fatalf("%d messages written, want the winner's 1", got)
	}
}

// testResetRacingChange: a reset and a password change read the same epoch
// and write at once, many times over. Both writes are conditional on that
// epoch (onetime.ErrStale, users.ErrStale), so exactly one of them lands:
// the epoch moves once, to the winner's hash, and the token is used only
// when the reset won.
func testResetRacingChange(st AccountStore, _ Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		verified(t, st, "usr_1", "alice", "a@example.com")
		for round := range 8 {
			u, err := st.GetUser(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			rec := record(t, onetime.PasswordReset, u, "")
			if err := st.IssueToken(ctx, rec); err != nil {
				t.Fatal(err)
			}
			var resetErr, changeErr error
			var wg sync.WaitGroup
			wg.Go(func() {
				_, resetErr = st.UseToken(ctx, onetime.Use{Record: rec, Now: t0.Add(time.Minute), PasswordHash: fmt.Sprintf("reset-%d", round)})
			})
			wg.Go(func() {
				changeErr = st.SetPasswordHash(ctx, "alice", "usr_1", u.Epoch, fmt.Sprintf("change-%d", round), t0.Add(time.Minute))
			})
			wg.Wait()
			after, _ := st.GetUser(ctx, "alice")
			want := ""
			switch {
			case resetErr != nil && !errors.Is(resetErr, onetime.ErrStale):
				t.Fatalf("round %d: reset: %v, want success or ErrStale", round, resetErr)
			case changeErr != nil && !errors.Is(changeErr, users.ErrStale):
				t.Fatalf("round %d: change: %v, want success or ErrStale", round, changeErr)
			case (resetErr == nil) == (changeErr == nil):
				t.Fatalf("round %d: reset %v, change %v: want exactly one to land", round, resetErr, changeErr)
			case resetErr == nil:
				want = fmt.Sprintf("reset-%d", round)
			default:
				want = fmt.Sprintf("change-%d", round)
			}
			if after.Epoch != u.Epoch+1 || after.PasswordHash != want {
				t.Fatalf("round %d: epoch %d -> %d, hash %q, want one move to %q", round, u.Epoch, after.Epoch, after.PasswordHash, want)
			}
			if r, _ := st.GetToken(ctx, rec.ID); r.UsedAt.IsZero() != (resetErr != nil) {
				t.Fatalf("round %d: token used at %v, reset error %v", round, r.UsedAt, resetErr)
			}
		}
	}
}

// testChangeRacingReset: an address change and a reset started on the same
// epoch are used at once, many times over: the reset moves the epoch, so at
// most one of them may win when the reset comes first, and the address and
// password are each written by their own winner only.
func testChangeRacingReset(st AccountStore, _ Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		verified(t, st, "usr_1", "alice", "a0@example.com")
		for round := range 8 {
			u, err := st.GetUser(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			newAddr := fmt.Sprintf("a%d@example.com", round+1)
			change := record(t, onetime.EmailChange, u, newAddr)
			reset := record(t, onetime.PasswordReset, u, "")
			for _, r := range []onetime.Record{change, reset} {
				if err := st.IssueToken(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			var changeErr, resetErr error
			var wg sync.WaitGroup
			wg.Go(func() { _, changeErr = st.UseToken(ctx, onetime.Use{Record: change, Now: t0.Add(time.Minute)}) })
			wg.Go(func() {
				_, resetErr = st.UseToken(ctx, onetime.Use{Record: reset, Now: t0.Add(time.Minute), PasswordHash: fmt.Sprintf("reset-%d", round)})
			})
			wg.Wait()
			if resetErr != nil {
				t.Fatalf("round %d: reset: %v (an address change does not move the epoch)", round, resetErr)
			}
			after, _ := st.GetUser(ctx, "alice")
			if after.Epoch != u.Epoch+1 || after.PasswordHash != fmt.Sprintf("reset-%d", round) {
				t.Fatalf("round %d: after the reset: %+v", round, after)
			}
			switch {
			case changeErr == nil && (after.Email != newAddr || !after.EmailVerified || after.PendingEmail != ""):
				t.Fatalf("round %d: change won but the user is %+v", round, after)
			case changeErr != nil && !errors.Is(changeErr, onetime.ErrStale):
				t.Fatalf("round %d: change: %v, want success or ErrStale", round, changeErr)
			case changeErr != nil && (after.Email == newAddr || after.PendingEmail != newAddr):
				t.Fatalf("round %d: a refused change wrote: %+v", round, after)
			}
			if changeErr == nil {
				if owner, err := st.UserByEmail(ctx, newAddr); err != nil || owner.ID != "usr_1" {
					t.Fatalf("round %d: new address: %+v, %v", round, owner, err)
				}
			}
		}
	}
}
