package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/passkey"
)

// PasskeyStore is a Rotor store with the passkey operations.
type PasskeyStore interface {
	Store
	passkey.Store
}

// RunPasskeys runs the passkeys contract (passkey.Store) against stores
// made by newStore, one per subtest, each with its outbox reader.
func RunPasskeys(t *testing.T, newStore func(t *testing.T) (PasskeyStore, Outbox)) {
	t.Run("add, get, list, rename, remove", func(t *testing.T) { testPasskeyLifecycle(newStore(t))(t) })
	t.Run("sign count is conditional", func(t *testing.T) { testPasskeyCounter(newStore(t))(t) })
	t.Run("challenge conditions", func(t *testing.T) { testPasskeyChallenge(newStore(t))(t) })
	t.Run("racing uses of one challenge", func(t *testing.T) { testPasskeyChallengeRace(newStore(t))(t) })
	t.Run("racing assertions of one credential", func(t *testing.T) { testPasskeyCounterRace(newStore(t))(t) })
}

func credential(t *testing.T, userID, name string, at time.Time) passkey.Credential {
	return passkey.Credential{
		ID: "cred-" + tokenID(t), UserID: userID, Name: name, Data: []byte(`{"public_key":"pQECAyYgASFYIA"}`),
		SignCount: 7, CreatedAt: at,
	}
}

func samePasskey(a, b passkey.Credential) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.Name == b.Name && string(a.Data) == string(b.Data) &&
		a.SignCount == b.SignCount && a.BackupState == b.BackupState && a.CreatedAt.Equal(b.CreatedAt) && a.LastUsedAt.Equal(b.LastUsedAt)
}

func testPasskeyLifecycle(st PasskeyStore, out Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		if _, err := st.GetPasskey(ctx, "cred-none"); !errors.Is(err, passkey.ErrNoCredential) {
			t.Fatalf("unknown credential: %v, want ErrNoCredential", err)
		}
		if got, err := st.ListPasskeys(ctx, "usr_p1"); err != nil || len(got) != 0 {
			t.Fatalf("no passkeys: %v, %v", got, err)
		}
		a, b := credential(t, "usr_p1", "laptop", t0.Add(time.Minute)), credential(t, "usr_p1", "phone", t0.Add(2*time.Minute))
		other := credential(t, "usr_p2", "theirs", t0)
		m := msg("p1", outbox.FactorAdded, "a@example.com")
		if err := st.AddPasskey(ctx, b, m); err != nil {
			t.Fatal(err)
		}
		if _, ok := ids(out())[m.ID]; !ok {
			t.Fatal("the added passkey's notice is not in the outbox")
		}
		for _, c := range []passkey.Credential{a, other} {
			if err := st.AddPasskey(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		// A credential id is registered once, to anyone.
		stolen := other
		stolen.UserID = "usr_p1"
		if err := st.AddPasskey(ctx, stolen); !errors.Is(err, passkey.ErrCredentialExists) {
			t.Fatalf("an id registered twice: %v, want ErrCredentialExists", err)
		}
		if got, err := st.GetPasskey(ctx, other.ID); err != nil || !samePasskey(got, other) {
			t.Fatalf("get: %+v, %v; want %+v", got, err, other)
		}
		list, err := st.ListPasskeys(ctx, "usr_p1")
		if err != nil || len(list) != 2 || !samePasskey(list[0], a) || !samePasskey(list[1], b) {
			t.Fatalf("list: %+v, %v", list, err)
		}
		if err := st.RenamePasskey(ctx, "usr_p1", other.ID, "mine now"); !errors.Is(err, passkey.ErrNoCredential) {
			t.Fatalf("renaming another user's passkey: %v, want ErrNoCredential", err)
		}
		if err := st.RenamePasskey(ctx, "usr_p1", a.ID, "work laptop"); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetPasskey(ctx, a.ID); got.Name != "work laptop" {
			t.Fatalf("renamed: %q", got.Name)
		}
		if err := st.RemovePasskey(ctx, "usr_p1", other.ID); !errors.Is(err, passkey.ErrNoCredential) {
			t.Fatalf("removing another user's passkey: %v, want ErrNoCredential", err)
		}
		if _, err := st.GetPasskey(ctx, other.ID); err != nil {
			t.Fatalf("a refused removal removed: %v", err)
		}
		rm := msg("p2", outbox.FactorRemoved, "a@example.com")
		if err := st.RemovePasskey(ctx, "usr_p1", a.ID, rm); err != nil {
			t.Fatal(err)
		}
		if _, ok := ids(out())[rm.ID]; !ok {
			t.Fatal("the removal's notice is not in the outbox")
		}
		if err := st.RemovePasskey(ctx, "usr_p1", a.ID); !errors.Is(err, passkey.ErrNoCredential) {
			t.Fatalf("removed twice: %v, want ErrNoCredential", err)
		}
		if _, err := st.GetPasskey(ctx, a.ID); !errors.Is(err, passkey.ErrNoCredential) {
			t.Fatalf("removed credential: %v, want ErrNoCredential", err)
		}
		if list, _ := st.ListPasskeys(ctx, "usr_p1"); len(list) != 1 || list[0].ID != b.ID {
			t.Fatalf("list after removal: %+v", list)
		}
	}
}

func testPasskeyCounter(st PasskeyStore, _ Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		c := credential(t, "usr_p3", "key", t0)
		if err := st.AddPasskey(ctx, c); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Hour)
		if err := st.UsePasskey(ctx, passkey.Use{ID: c.ID, UserID: "usr_p4", From: 7, SignCount: 8, Now: at}); !errors.Is(err, passkey.ErrNoCredential) {
			t.Fatalf("another user's credential: %v, want ErrNoCredential", err)
		}
		if err := st.UsePasskey(ctx, passkey.Use{ID: c.ID, UserID: "usr_p3", From: 6, SignCount: 8, Now: at}); !errors.Is(err, passkey.ErrCounterMoved) {
			t.Fatalf("a stale read: %v, want ErrCounterMoved", err)
		}
		if err := st.UsePasskey(ctx, passkey.Use{ID: c.ID, UserID: "usr_p3", From: 7, SignCount: 9, BackupState: true, Now: at}); err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetPasskey(ctx, c.ID)
		if got.SignCount != 9 || !got.BackupState || !got.LastUsedAt.Equal(at) {
			t.Fatalf("after use: %+v", got)
		}
		if err := st.UsePasskey(ctx, passkey.Use{ID: c.ID, UserID: "usr_p3", From: 7, SignCount: 10, Now: at}); !errors.Is(err, passkey.ErrCounterMoved) {
			t.Fatalf("the same read twice: %v, want ErrCounterMoved", err)
		}
	}
}

func pkChallenge(t *testing.T, c passkey.Ceremony, userID string) passkey.Challenge {
	return passkey.Challenge{Hash: passkey.HashChallenge([]byte(tokenID(t))), Ceremony: c, UserID: userID, CreatedAt: t0, ExpiresAt: t0.Add(passkey.ChallengeTTL)}
}

func testPasskeyChallenge(st PasskeyStore, _ Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		reg := pkChallenge(t, passkey.Register, "usr_p5")
		login := pkChallenge(t, passkey.Login, "")
		for _, c := range []passkey.Challenge{reg, login} {
			if err := st.PutPasskeyChallenge(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.PutPasskeyChallenge(ctx, reg); !errors.Is(err, passkey.ErrChallengeUsed) {
			t.Fatalf("a hash stored twice: %v, want ErrChallengeUsed", err)
		}
		refusals := []struct {
			name     string
			hash     string
			ceremony passkey.Ceremony
			userID   string
			now      time.Time
			want     error
		}{
			{"unknown", passkey.HashChallenge([]byte("never issued")), passkey.Register, "usr_p5", t0, passkey.ErrNoChallenge},
			{"another ceremony", reg.Hash, passkey.Login, "", t0, passkey.ErrNoChallenge},
			{"another user", reg.Hash, passkey.Register, "usr_p6", t0, passkey.ErrNoChallenge},
			{"a login's as a registration", login.Hash, passkey.Register, "usr_p5", t0, passkey.ErrNoChallenge},
			{"a login's as an mfa step", login.Hash, passkey.MFA, "", t0, passkey.ErrNoChallenge},
			{"expired", reg.Hash, passkey.Register, "usr_p5", reg.ExpiresAt, passkey.ErrChallengeExpired},
		}
		for _, tc := range refusals {
			if _, err := st.UsePasskeyChallenge(ctx, tc.hash, tc.ceremony, tc.userID, tc.now); !errors.Is(err, tc.want) {
				t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		// The refusals wrote nothing: the challenge is still good once.
		got, err := st.UsePasskeyChallenge(ctx, reg.Hash, passkey.Register, "usr_p5", reg.ExpiresAt.Add(-time.Millisecond))
		if err != nil || got.UserID != "usr_p5" || got.Ceremony != passkey.Register || !got.CreatedAt.Equal(reg.CreatedAt) || !got.ExpiresAt.Equal(reg.ExpiresAt) {
			t.Fatalf("use: %+v, %v", got, err)
		}
		if _, err := st.UsePasskeyChallenge(ctx, reg.Hash, passkey.Register, "usr_p5", t0); !errors.Is(err, passkey.ErrChallengeUsed) {
			t.Fatalf("used twice: %v, want ErrChallengeUsed", err)
		}
		if _, err := st.UsePasskeyChallenge(ctx, login.Hash, passkey.Login, "", t0); err != nil {
			t.Fatalf("the login's: %v", err)
		}
	}
}

// testPasskeyChallengeRace: many uses of one challenge at once, exactly
// one accepted.
func testPasskeyChallengeRace(st PasskeyStore, _ Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		c := pkChallenge(t, passkey.Login, "")
		if err := st.PutPasskeyChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		errs := race(16, func() error {
			_, err := st.UsePasskeyChallenge(ctx, c.Hash, passkey.Login, "", t0)
			return err
		})
		if ok, used := count(errs, passkey.ErrChallengeUsed); ok != 1 || used != 15 {
			t.Fatalf("racing uses: %d accepted, %d refused as used, want 1 and 15 (%v)", ok, used, errs)
		}
	}
}

// testPasskeyCounterRace: many assertions read the same count, exactly
// one moves it.
func testPasskeyCounterRace(st PasskeyStore, _ Outbox) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := context.Background()
		c := credential(t, "usr_p7", "key", t0)
		if err := st.AddPasskey(ctx, c); err != nil {
			t.Fatal(err)
		}
		errs := race(16, func() error {
			return st.UsePasskey(ctx, passkey.Use{ID: c.ID, UserID: "usr_p7", From: 7, SignCount: 8, Now: t0})
		})
		if ok, moved := count(errs, passkey.ErrCounterMoved); ok != 1 || moved != 15 {
			t.Fatalf("racing assertions: %d accepted, %d refused, want 1 and 15 (%v)", ok, moved, errs)
		}
	}
}

func race(n int, f func() error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// count returns how many errs are nil and how many are want (the caller
// prints errs when the sums are off).
func count(errs []error, want error) (ok, refused int) {
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, want):
			refused++
		}
	}
	return ok, refused
}
