package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rotor-auth/rotor/pkg/users"
)

// testSkeletons: a username's skeleton (users.User.Skeleton) is as unique as
// the username, atomically. The skeletons are what names.Skeleton gives:
// "martin" and "rnartin" are both "rnartin", "ɑdmin" is "admin".
func testSkeletons(t *testing.T, st Store) {
	ctx := context.Background()
	martin := users.User{ID: "usr_m", Username: "martin", Skeleton: "rnartin", PasswordHash: "$argon2id$m", CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateUser(ctx, martin); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		u    users.User
		err  error
	}{
		{"a look-alike of a taken name", users.User{ID: "usr_rn", Username: "rnartin", Skeleton: "rnartin", PasswordHash: "$argon2id$x"}, users.ErrTaken},
		{"the same name under another skeleton", users.User{ID: "usr_x", Username: "martin", Skeleton: "other", PasswordHash: "$argon2id$x"}, users.ErrTaken},
		{"the first user re-sent (a retried request)", martin, nil},
		{"a name whose skeleton is new", users.User{ID: "usr_mo", Username: "martina", Skeleton: "rnartina", PasswordHash: "$argon2id$x"}, nil},
		// no skeleton: the username stands for it, and is taken as one
		{"no skeleton, a new name", users.User{ID: "usr_plain", Username: "plain", PasswordHash: "$argon2id$x"}, nil},
		{"a skeleton that is a skeleton-less user's name", users.User{ID: "usr_p2", Username: "pIain", Skeleton: "plain", PasswordHash: "$argon2id$x"}, users.ErrTaken},
		{"no skeleton, a name that is another's skeleton", users.User{ID: "usr_r", Username: "rnartin", PasswordHash: "$argon2id$x"}, users.ErrTaken},
	}
	for _, tc := range cases {
		if err := st.CreateUser(ctx, tc.u); !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Fatalf("%s: CreateUser(%s, %q, skeleton %q) = %v, want %v", tc.name, tc.u.ID, tc.u.Username, tc.u.Skeleton, err, tc.err)
		}
	}
	// A look-alike is not an account: its name is unknown.
	if _, err := st.GetUser(ctx, "rnartin"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("get the refused look-alike: %v, want ErrNotFound", err)
	}
	if got, err := st.GetUser(ctx, "martin"); err != nil || got.ID != "usr_m" || got.PasswordHash != martin.PasswordHash {
		t.Fatalf("get martin: %+v, %v", got, err)
	}

	// Racing signups of look-alikes: exactly one wins.
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := users.User{ID: fmt.Sprintf("usr_race%d", i), Username: fmt.Sprintf("race%d", i), Skeleton: "racer", PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0}
			errs[i] = st.CreateUser(ctx, u)
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			if _, err := st.GetUser(ctx, fmt.Sprintf("race%d", i)); err != nil {
				t.Fatalf("the winner race%d: %v", i, err)
			}
		case errors.Is(err, users.ErrTaken):
			if _, err := st.GetUser(ctx, fmt.Sprintf("race%d", i)); !errors.Is(err, users.ErrNotFound) {
				t.Fatalf("a loser race%d was stored: %v", i, err)
			}
		default:
			t.Fatalf("race%d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d look-alikes signed up; want exactly 1", won, n)
	}
}
