package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/mfa"
	"github.com/rotor-auth/rotor/pkg/outbox"
)

// FactorStore is a Rotor store with the second-factor operations.
type FactorStore interface {
	Store
	mfa.Store
}

// RunFactors runs the factors contract (mfa.Store) against stores made by
// newStore, one per subtest, each with its outbox reader.
func RunFactors(t *testing.T, newStore func(t *testing.T) (FactorStore, Outbox)) {
	t.Run("enrol and confirm", func(t *testing.T) { testFactorEnrol(newStore(t))(t) })
	t.Run("a step is accepted once", func(t *testing.T) { testFactorSteps(newStore(t))(t) })
	t.Run("recovery codes", func(t *testing.T) { testFactorCodes(newStore(t))(t) })
	t.Run("challenges", func(t *testing.T) { testFactorChallenges(newStore(t))(t) })
	t.Run("remove", func(t *testing.T) { testFactorRemove(newStore(t))(t) })
	t.Run("racing uses of one step", func(t *testing.T) { testFactorRace(newStore(t))(t) })
}

func pending(userID string) mfa.Factor {
	return mfa.Factor{UserID: userID, Sealed: "v1.0011aabb.sealed-" + userID, CreatedAt: t0.Add(7 * time.Millisecond)}
}

func challenge(t *testing.T, userID string) mfa.Challenge {
	return mfa.Challenge{ID: tokenID(t), UserID: userID, Username: "name-of-" + userID, Epoch: 3, Device: "fp", CreatedAt: t0, ExpiresAt: t0.Add(mfa.TokenTTL)}
}

// confirmed stores a confirmed factor of userID with codes "h0".."h9",
// LastStep 100.
func confirmed(t *testing.T, st FactorStore, userID string) mfa.Factor {
	t.Helper()
	ctx := context.Background()
	f := pending(userID)
	if err := st.PutFactor(ctx, f); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for i := range 10 {
		codes = append(codes, fmt.Sprintf("k:h%d", i))
	}
	if err := st.UseFactor(ctx, mfa.Use{UserID: userID, CreatedAt: f.CreatedAt, Now: t0, Step: 100, Confirm: true, Codes: codes}); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetFactor(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testFactorEnrol(st FactorStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		if _, err := st.GetFactor(ctx, "usr_f1"); !errors.Is(err, mfa.ErrNoFactor) {
			t.Fatalf("no factor: %v, want ErrNoFactor", err)
		}
		f := pending("usr_f1")
		if err := st.PutFactor(ctx, f); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetFactor(ctx, "usr_f1")
		if err != nil || got.Sealed != f.Sealed || got.Confirmed || !got.CreatedAt.Equal(f.CreatedAt) || got.LastStep != 0 || len(got.Codes) != 0 {
			t.Fatalf("pending: %+v, %v", got, err)
		}
		// A newer enrolment replaces a pending one; a use naming the older
		// one no longer applies.
		newer := f
		newer.Sealed, newer.CreatedAt = "v1.0011aabb.newer", f.CreatedAt.Add(time.Second)
		if err := st.PutFactor(ctx, newer); err != nil {
			t.Fatal(err)
		}
		if err := st.UseFactor(ctx, mfa.Use{UserID: "usr_f1", CreatedAt: f.CreatedAt, Now: t0, Step: 5, Confirm: true, Codes: []string{"k:a"}}); !errors.Is(err, mfa.ErrNoFactor) {
			t.Fatalf("confirm of a replaced enrolment: %v, want ErrNoFactor", err)
		}
		m := msg("f1", outbox.FactorAdded, "a@example.com")
		if err := st.UseFactor(ctx, mfa.Use{UserID: "usr_f1", CreatedAt: newer.CreatedAt, Now: t0.Add(time.Minute), Step: 5, Confirm: true, Codes: []string{"k:a", "k:b"}, Messages: []outbox.Message{m}}); err != nil {
			t.Fatal(err)
		}
		got, err = st.GetFactor(ctx, "usr_f1")
		if err != nil || !got.Confirmed || got.Sealed != newer.Sealed || got.LastStep != 5 || !got.ConfirmedAt.Equal(t0.Add(time.Minute)) || !slices.Equal(sorted(got.Codes), []string{"k:a", "k:b"}) {
			t.Fatalf("confirmed: %+v, %v", got, err)
		}
		if _, ok := ids(out())[m.ID]; !ok {
			t.Fatal("the confirmation's notice is not in the outbox")
		}
		if err := st.UseFactor(ctx, mfa.Use{UserID: "usr_f1", CreatedAt: newer.CreatedAt, Now: t0, Step: 6, Confirm: true}); !errors.Is(err, mfa.ErrEnrolled) {
			t.Fatalf("second confirm: %v, want ErrEnrolled", err)
		}
		if err := st.PutFactor(ctx, pending("usr_f1")); !errors.Is(err, mfa.ErrEnrolled) {
			t.Fatalf("enrol over a confirmed factor: %v, want ErrEnrolled", err)
		}
		if got, _ := st.GetFactor(ctx, "usr_f1"); got.Sealed != newer.Sealed || !got.Confirmed {
			t.Fatalf("a refused enrolment changed the factor: %+v", got)
		}
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func testFactorSteps(st FactorStore, _ Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		f := confirmed(t, st, "usr_f2")
		use := func(step int64) error {
			return st.UseFactor(ctx, mfa.Use{UserID: "usr_f2", CreatedAt: f.CreatedAt, Now: t0, Step: step})
		}
		for _, step := range []int64{100, 99, 1} {
			if err := use(step); !errors.Is(err, mfa.ErrReplayed) {
				t.Fatalf("step %d after 100: %v, want ErrReplayed", step, err)
			}
		}
		if err := use(101); err != nil {
			t.Fatal(err)
		}
		if err := use(101); !errors.Is(err, mfa.ErrReplayed) {
			t.Fatalf("step 101 again: %v, want ErrReplayed", err)
		}
		if got, _ := st.GetFactor(ctx, "usr_f2"); got.LastStep != 101 {
			t.Fatalf("LastStep %d, want 101", got.LastStep)
		}
	}
}

func testFactorCodes(st FactorStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		f := confirmed(t, st, "usr_f3")
		m := msg("f3", outbox.RecoveryCodeUsed, "a@example.com")
		if err := st.UseFactor(ctx, mfa.Use{UserID: "usr_f3", CreatedAt: f.CreatedAt, Now: t0, Code: "k:h3", Messages: []outbox.Message{m}}); err != nil {
			t.Fatal(err)
		}
		if _, ok := ids(out())[m.ID]; !ok {
			t.Fatal("the code's notice is not in the outbox")
		}
		if err := st.UseFactor(ctx, mfa.Use{UserID: "usr_f3", CreatedAt: f.CreatedAt, Now: t0, Code: "k:h3"}); !errors.Is(err, mfa.ErrCodeUsed) {
			t.Fatalf("a code twice: %v, want ErrCodeUsed", err)
		}
		if err := st.UseFactor(ctx, mfa.Use{UserID: "usr_f3", CreatedAt: f.CreatedAt, Now: t0, Code: "k:nope"}); !errors.Is(err, mfa.ErrCodeUsed) {
			t.Fatalf("a code never issued: %v, want ErrCodeUsed", err)
		}
		got, _ := st.GetFactor(ctx, "usr_f3")
		if len(got.Codes) != 9 || slices.Contains(got.Codes, "k:h3") {
			t.Fatalf("codes after one use: %v", got.Codes)
		}
		// Regenerating (with a step) voids the whole old set.
		if err := st.UseFactor(ctx, mfa.Use{UserID: "usr_f3", CreatedAt: f.CreatedAt, Now: t0, Step: 200, Codes: []string{"k:n1", "k:n2"}}); err != nil {
			t.Fatal(err)
		}
		if err := st.UseFactor(ctx, mfa.Use{UserID: "usr_f3", CreatedAt: f.CreatedAt, Now: t0, Code: "k:h4"}); !errors.Is(err, mfa.ErrCodeUsed) {
			t.Fatalf("an old code after regeneration: %v, want ErrCodeUsed", err)
		}
		if err := st.UseFactor(ctx, mfa.Use{UserID: "usr_f3", CreatedAt: f.CreatedAt, Now: t0, Code: "k:n2"}); err != nil {
			t.Fatalf("a new code: %v", err)
		}
	}
}

func testFactorChallenges(st FactorStore, _ Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		f := confirmed(t, st, "usr_f4")
		confirmed(t, st, "usr_f5")
		if _, err := st.GetChallenge(ctx, tokenID(t)); !errors.Is(err, mfa.ErrNoChallenge) {
			t.Fatalf("unknown challenge: %v, want ErrNoChallenge", err)
		}
		c := challenge(t, "usr_f4")
		if err := st.PutChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetChallenge(ctx, c.ID)
		if err != nil || got.UserID != c.UserID || got.Username != c.Username || got.Epoch != 3 || got.Device != "fp" ||
			!got.CreatedAt.Equal(c.CreatedAt) || !got.ExpiresAt.Equal(c.ExpiresAt) || !got.UsedAt.IsZero() {
			t.Fatalf("challenge: %+v, %v", got, err)
		}
		step := int64(101)
		use := func(userID string, created time.Time, now time.Time, step int64) error {
			return st.UseFactor(ctx, mfa.Use{UserID: userID, CreatedAt: created, Now: now, Step: step, Challenge: c.ID})
		}
		f5, _ := st.GetFactor(ctx, "usr_f5")
		if err := use("usr_f5", f5.CreatedAt, t0, step); !errors.Is(err, mfa.ErrNoChallenge) {
			t.Fatalf("another user's challenge: %v, want ErrNoChallenge", err)
		}
		if err := use("usr_f4", f.CreatedAt, c.ExpiresAt, step); !errors.Is(err, mfa.ErrChallengeExpired) {
			t.Fatalf("expired challenge: %v, want ErrChallengeExpired", err)
		}
		// Nothing was written by the refusals: the step is still free.
		if got, _ := st.GetFactor(ctx, "usr_f4"); got.LastStep != 100 {
			t.Fatalf("a refused use moved LastStep to %d", got.LastStep)
		}
		if got, _ := st.GetFactor(ctx, "usr_f5"); got.LastStep != 100 {
			t.Fatalf("a refused use moved the other user's LastStep to %d", got.LastStep)
		}
		if err := use("usr_f4", f.CreatedAt, t0.Add(time.Minute), step); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetChallenge(ctx, c.ID); !got.UsedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("UsedAt %v", got.UsedAt)
		}
		if err := use("usr_f4", f.CreatedAt, t0, step+1); !errors.Is(err, mfa.ErrChallengeUsed) {
			t.Fatalf("challenge reused: %v, want ErrChallengeUsed", err)
		}
		if got, _ := st.GetFactor(ctx, "usr_f4"); got.LastStep != step {
			t.Fatalf("a refused use moved LastStep to %d", got.LastStep)
		}
	}
}

func testFactorRemove(st FactorStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		f := confirmed(t, st, "usr_f6")
		if err := st.UseFactor(ctx, mfa.Use{UserID: "usr_f6", CreatedAt: f.CreatedAt, Now: t0, Step: 100, Remove: true}); !errors.Is(err, mfa.ErrReplayed) {
			t.Fatalf("remove with a used step: %v, want ErrReplayed", err)
		}
		m := msg("f6", outbox.FactorRemoved, "a@example.com")
		if err := st.UseFactor(ctx, mfa.Use{UserID: "usr_f6", CreatedAt: f.CreatedAt, Now: t0, Code: "k:h0", Remove: true, Messages: []outbox.Message{m}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetFactor(ctx, "usr_f6"); !errors.Is(err, mfa.ErrNoFactor) {
			t.Fatalf("after remove: %v, want ErrNoFactor", err)
		}
		if _, ok := ids(out())[m.ID]; !ok {
			t.Fatal("the removal's notice is not in the outbox")
		}
		if err := st.PutFactor(ctx, pending("usr_f6")); err != nil {
			t.Fatalf("enrol again after remove: %v", err)
		}
	}
}

func testFactorRace(st FactorStore, _ Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		f := confirmed(t, st, "usr_f7")
		const n = 12
		var chs []mfa.Challenge
		for range n {
			c := challenge(t, "usr_f7")
			if err := st.PutChallenge(ctx, c); err != nil {
				t.Fatal(err)
			}
			chs = append(chs, c)
		}
		count := func(uses []mfa.Use) (ok int, errs []error) {
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, u := range uses {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					err := st.UseFactor(ctx, u)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						ok++
					} else {
						errs = append(errs, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			return ok, errs
		}
		// One step, n logins (each its own challenge): one token response.
		var uses []mfa.Use
		for _, c := range chs {
			uses = append(uses, mfa.Use{UserID: "usr_f7", CreatedAt: f.CreatedAt, Now: t0, Step: 150, Challenge: c.ID})
		}
		if ok, errs := count(uses); ok != 1 {
			t.Fatalf("%d of %d racing uses of one step succeeded (%v), want 1", ok, n, errs)
		} else {
			for _, err := range errs {
				if !errors.Is(err, mfa.ErrReplayed) {
					t.Fatalf("loser: %v, want ErrReplayed", err)
				}
			}
		}
		// One recovery code, n uses: one.
		uses = nil
		for range n {
			uses = append(uses, mfa.Use{UserID: "usr_f7", CreatedAt: f.CreatedAt, Now: t0, Code: "k:h5"})
		}
		if ok, errs := count(uses); ok != 1 {
			t.Fatalf("%d of %d racing uses of one recovery code succeeded (%v), want 1", ok, n, errs)
		}
		// One challenge, n different steps: one.
		c := challenge(t, "usr_f7")
		if err := st.PutChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		uses = nil
		for i := range n {
			uses = append(uses, mfa.Use{UserID: "usr_f7", CreatedAt: f.CreatedAt, Now: t0, Step: int64(1000 + i), Challenge: c.ID})
		}
		if ok, errs := count(uses); ok != 1 {
			t.Fatalf("%d of %d racing uses of one mfa_token succeeded (%v), want 1", ok, n, errs)
		}
	}
}
