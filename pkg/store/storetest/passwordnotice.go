package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/users"
)

// testChangePasswordNotice: ChangePassword writes the new hash and the
// "password changed" notice in one write; a refused change (the epoch
// moved, another user id, no such user) writes neither, and a change never
// lands without its notice.
func testChangePasswordNotice(st AccountStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		u := verified(t, st, "usr_1", "alice", "a@example.com")
		before := len(out())
		at := t0.Add(2 * time.Minute)

		refused := []struct {
			name     string
			username string
			userID   string
			epoch    int64
			want     error
		}{
			{"stale epoch", "alice", "usr_1", u.Epoch + 1, users.ErrStale},
			{"another user id", "alice", "usr_other", u.Epoch, users.ErrNotFound},
			{"no such user", "nobody", "usr_1", u.Epoch, users.ErrNotFound},
		}
		for i, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				m := msg("refused"+string(rune('a'+i)), outbox.PasswordChanged, u.Email)
				err := st.ChangePassword(ctx, tc.username, tc.userID, tc.epoch, "$argon2id$thief", at, m)
				if !errors.Is(err, tc.want) {
					t.Fatalf("ChangePassword = %v, want %v", err, tc.want)
				}
				if got, _ := st.GetUser(ctx, "alice"); got.PasswordHash != u.PasswordHash || got.Epoch != u.Epoch {
					t.Fatalf("a refused change landed: %+v", got)
				}
				if _, ok := ids(out())[m.ID]; ok || len(out()) != before {
					t.Fatal("a refused change wrote its notice")
				}
			})
		}

		notice := msg("changed", outbox.PasswordChanged, u.Email)
		if err := st.ChangePassword(ctx, "alice", "usr_1", u.Epoch, "$argon2id$new", at, notice); err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetUser(ctx, "alice")
		if got.PasswordHash != "$argon2id$new" || got.Epoch != u.Epoch+1 || !got.PasswordChangedAt.Equal(at) || !got.UpdatedAt.Equal(at) {
			t.Fatalf("after the change: %+v", got)
		}
		if m := ids(out())[notice.ID]; m.Kind != outbox.PasswordChanged || m.To != u.Email {
			t.Fatalf("the change's notice is not in the outbox: %+v", m)
		}
		// The same change again (its epoch moved) is stale and adds nothing.
		if err := st.ChangePassword(ctx, "alice", "usr_1", u.Epoch, "$argon2id$new", at, msg("again", outbox.PasswordChanged, u.Email)); !errors.Is(err, users.ErrStale) {
			t.Fatalf("a second change from the old epoch: %v", err)
		}
		if _, ok := ids(out())["msg_again"]; ok {
			t.Fatal("a stale change wrote its notice")
		}
		// Without a message it is SetPasswordHash.
		if err := st.ChangePassword(ctx, "alice", "usr_1", u.Epoch+1, "$argon2id$quiet", at); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetUser(ctx, "alice"); got.PasswordHash != "$argon2id$quiet" || got.Epoch != u.Epoch+2 {
			t.Fatalf("after a change without notice: %+v", got)
		}
	}
}
