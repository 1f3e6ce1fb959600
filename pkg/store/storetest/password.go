package storetest

import (
	"context"
	"errors"
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
	if err := st.SetPasswordHash(ctx, "alice", "usr_1", 1, "new-hash", t0.Add(3*time.Minute)); err != nil { // the lock moved the epoch to 1
		t.Fatal(err)
	}
	read("after a password change", t0.Add(3*time.Minute))
	if err := st.SetLocked(ctx, "alice", "usr_1", true, t0.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	read("after a later lock", t0.Add(3*time.Minute))
}

// testPasswordFromStaleEpoch: SetPasswordHash lands only from the epoch the
// change read. A change that checked the password of a record whose
// credentials were replaced meanwhile (another change, an end-all, a lock)
// is ErrStale and changes nothing, so a thief's change in flight never
// overwrites the owner's or sets a password on a locked account.
func testPasswordFromStaleEpoch(t *testing.T, st Store) {
	ctx := context.Background()
	u := users.User{ID: "usr_1", Username: "alice", PasswordHash: "$argon2id$old", CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	read, err := st.GetUser(ctx, "alice") // what the thief's change checked
	if err != nil {
		t.Fatal(err)
	}
	moves := []struct {
		name string
		move func() error
	}{
		{"the owner's change", func() error {
			return st.SetPasswordHash(ctx, "alice", "usr_1", read.Epoch, "$argon2id$owner", t0.Add(time.Minute))
		}},
		{"an end-all", func() error { _, err := st.EndUserSessions(ctx, "alice", "usr_1"); return err }},
		{"a lock", func() error { return st.SetLocked(ctx, "alice", "usr_1", true, t0.Add(2*time.Minute)) }},
	}
	for _, m := range moves {
		before, err := st.GetUser(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if err := m.move(); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if err := st.SetPasswordHash(ctx, "alice", "usr_1", before.Epoch, "$argon2id$thief", t0.Add(3*time.Minute)); !errors.Is(err, users.ErrStale) {
			t.Fatalf("a change that read the epoch before %s: %v, want ErrStale", m.name, err)
		}
		if got, _ := st.GetUser(ctx, "alice"); got.PasswordHash != "$argon2id$owner" || got.Epoch != before.Epoch+1 {
			t.Fatalf("after %s and a stale change: hash %q, epoch %d (was %d)", m.name, got.PasswordHash, got.Epoch, before.Epoch)
		}
	}
	if err := st.SetPasswordHash(ctx, "alice", "usr_other", read.Epoch+3, "$argon2id$thief", t0); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("another id at the current epoch: %v, want ErrNotFound", err)
	}
}
