package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/users"
)

// testPasswordChangedAt: only SetPasswordHash sets PasswordChangedAt. Signup
// (even one that names a time), lock and unlock move UpdatedAt but leave it
// alone, so they cannot open the window in which /auth/password accepts
// new_password as the retry of a change. Both reads (GetUser and GetLogin)
// return it.
func testPasswordChangedAt(t *testing.T, st Store) {
	ctx := context.Background()
	u := users.User{ID: "usr_1", Username: "alice", PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0, PasswordChangedAt: t0}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	read := func(step string, want time.Time) {
		t.Helper()
		got, err := st.GetUser(ctx, "alice")
		if err != nil || !got.PasswordChangedAt.Equal(want) {
			t.Fatalf("%s: GetUser PasswordChangedAt %v (%v), want %v", step, got.PasswordChangedAt, err, want)
		}
		got, _, err = st.GetLogin(ctx, "alice", nil)
		if err != nil || !got.PasswordChangedAt.Equal(want) {
			t.Fatalf("%s: GetLogin PasswordChangedAt %v (%v), want %v", step, got.PasswordChangedAt, err, want)
		}
	}
	read("after signup", time.Time{})
	if err := st.SetLocked(ctx, "alice", "usr_1", true, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.SetLocked(ctx, "alice", "usr_1", false, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	read("after lock and unlock", time.Time{})
	if err := st.SetPasswordHash(ctx, "alice", "usr_1", "new-hash", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	read("after a password change", t0.Add(3*time.Minute))
	if err := st.SetLocked(ctx, "alice", "usr_1", true, t0.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	read("after a later lock", t0.Add(3*time.Minute))
}
