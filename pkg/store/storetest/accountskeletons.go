package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/users"
)

// testAccountSkeletons: a signup with an address (CreateAccount) keeps the
// skeleton's uniqueness exactly as CreateUser does, in the same atomic
// write: a look-alike of a taken name is refused whichever operation
// created either of them, with a fresh address or another account's
// verified one, and a refused look-alike stores no user, no token and no
// mail. Of racing look-alikes, one wins. The skeletons are what
// names.Skeleton gives ("martin" and "rnartin" are both "rnartin").
func testAccountSkeletons(st AccountStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		create := func(id, name, skel, email string) (onetime.Record, error) {
			u := users.User{ID: id, Username: name, Skeleton: skel, PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0, Email: email}
			rec := record(t, onetime.VerifyEmail, u, email)
			return rec, st.CreateAccount(ctx, u, rec, msg("v"+id, outbox.VerifyEmail, email), msg("t"+id, outbox.SignupAttempt, email))
		}
		// martin with an address, verified; admin without one (CreateUser).
		rec, err := create("usr_m", "martin", "rnartin", "m@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UseToken(ctx, onetime.Use{Record: rec, Now: t0}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, users.User{ID: "usr_a", Username: "admin", Skeleton: "admin", PasswordHash: "$argon2id$a", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		before := len(out())
		cases := []struct {
			name, id, username, skel, email string
			err                             error
		}{
			{"a look-alike of a name created with an address", "usr_rn", "rnartin", "rnartin", "rn@example.com", users.ErrTaken},
			{"a look-alike of a name created without one", "usr_ad", "ɑdmin", "admin", "ad@example.com", users.ErrTaken},
			{"a look-alike with the verified address of another account", "usr_rn2", "rnartin", "rnartin", "m@example.com", users.ErrTaken},
			{"a look-alike without a skeleton, its name another's skeleton", "usr_rn3", "rnartin", "", "rn3@example.com", users.ErrTaken},
		}
		for _, tc := range cases {
			rec, err := create(tc.id, tc.username, tc.skel, tc.email)
			if !errors.Is(err, tc.err) {
				t.Fatalf("%s: CreateAccount(%q, skeleton %q) = %v, want %v", tc.name, tc.username, tc.skel, err, tc.err)
			}
			if _, err := st.GetUser(ctx, tc.username); !errors.Is(err, users.ErrNotFound) {
				t.Fatalf("%s: the refused look-alike was stored: %v", tc.name, err)
			}
			if _, err := st.GetToken(ctx, rec.ID); !errors.Is(err, onetime.ErrNotFound) {
				t.Fatalf("%s: the refused look-alike's token was stored: %v", tc.name, err)
			}
		}
		if n := len(out()); n != before {
			t.Fatalf("%d messages written for refused look-alikes, want none", n-before)
		}
		// The other way round: CreateUser of a look-alike of a name that
		// CreateAccount created.
		if err := st.CreateUser(ctx, users.User{ID: "usr_rn4", Username: "rnartin", Skeleton: "rnartin", PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0}); !errors.Is(err, users.ErrTaken) {
			t.Fatalf("CreateUser of a look-alike of an account with an address: %v, want ErrTaken", err)
		}
		// A re-sent signup of martin is still a success.
		u := users.User{ID: "usr_m", Username: "martin", Skeleton: "rnartin", PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0, Email: "m@example.com"}
		if err := st.CreateAccount(ctx, u, record(t, onetime.VerifyEmail, u, u.Email), outbox.Message{}, outbox.Message{}); err != nil && !errors.Is(err, users.ErrEmailTaken) {
			t.Fatalf("re-sent signup: %v", err)
		}

		// Racing signups of look-alikes, each with its own address: one wins.
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = create(fmt.Sprintf("usr_race%d", i), fmt.Sprintf("race%d", i), "racer", fmt.Sprintf("race%d@example.com", i))
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			_, getErr := st.GetUser(ctx, fmt.Sprintf("race%d", i))
			switch {
			case err == nil && getErr == nil:
				won++
			case errors.Is(err, users.ErrTaken) && errors.Is(getErr, users.ErrNotFound):
			default:
				t.Fatalf("race%d: create %v, get %v", i, err, getErr)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d look-alikes signed up; want exactly 1", won, n)
		}
	}
}
