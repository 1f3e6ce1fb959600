package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// Store is what a Rotor store implements.
type Store interface {
	users.Store
	sessions.Store
	throttle.Store
	users.Locker
	// GetLogin is auth.LoginStore: the user and the attempts under each key at once.
	GetLogin(ctx context.Context, username string, keys []string) (users.User, []throttle.State, error)
	// ReserveLogin is auth.LoginStore: the guess reserved, the user and the
	// revocation watermark read, at once.
	ReserveLogin(ctx context.Context, username string, counters []throttle.Counter, now time.Time) (users.User, time.Time, throttle.Reservation, error)
}

// Run runs the contract against stores made by newStore, one per subtest.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("users", func(t *testing.T) { testUsers(t, newStore(t)) })
	t.Run("skeletons", func(t *testing.T) { testSkeletons(t, newStore(t)) })
	t.Run("sessions round trip", func(t *testing.T) { testSessionRoundTrip(t, newStore(t)) })
	t.Run("rotate", func(t *testing.T) { testRotate(t, newStore(t)) })
	t.Run("rotate conditions", func(t *testing.T) { testRotateConditions(t, newStore(t)) })
	t.Run("concurrent rotations", func(t *testing.T) { testConcurrentRotate(t, newStore(t)) })
	t.Run("delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("list and end by user", func(t *testing.T) { testByUser(t, newStore(t)) })
	t.Run("epoch", func(t *testing.T) { testEpoch(t, newStore(t)) })
	t.Run("lock", func(t *testing.T) { testLock(t, newStore(t)) })
	t.Run("revocation watermark", func(t *testing.T) { testWatermark(t, newStore(t)) })
	t.Run("evict", func(t *testing.T) { testEvict(t, newStore(t)) })
	t.Run("attempts", func(t *testing.T) { testAttempts(t, newStore(t)) })
	t.Run("login read", func(t *testing.T) { testGetLogin(t, newStore(t)) })
	t.Run("password changed at", func(t *testing.T) { testPasswordChangedAt(t, newStore(t)) })
	t.Run("password change from a stale epoch", func(t *testing.T) { testPasswordFromStaleEpoch(t, newStore(t)) })
	t.Run("rotate a session of an older epoch", func(t *testing.T) { testSuperseded(t, newStore(t)) })
	t.Run("reserve burst", func(t *testing.T) { testReserveBurst(t, newStore(t)) })
	t.Run("reserve login", func(t *testing.T) { testReserveLogin(t, newStore(t)) })
	t.Run("reserve on a skewed clock", func(t *testing.T) { testReserveSkewedClock(t, newStore(t)) })
	t.Run("authentication methods", func(t *testing.T) { testMethods(t, newStore(t)) })
	t.Run("dpop session key", func(t *testing.T) { testSessionKey(t, newStore(t)) })
}

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newSession returns a new session of userID (not yet stored), creating the
// user "name-of-<userID>" first if needed and reading its current epoch.
func newSession(t *testing.T, st Store, userID string) sessions.Session {
	t.Helper()
	ctx := context.Background()
	name := "name-of-" + userID
	if err := st.CreateUser(ctx, users.User{ID: userID, Username: name, PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	u, err := st.GetUser(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return sessions.Session{
		ID:                base64.RawURLEncoding.EncodeToString(random(t, 16)),
		UserID:            userID,
		Username:          name,
		Epoch:             u.Epoch,
		TokenHash:         random(t, 32),
		CreatedAt:         t0.Add(123 * time.Millisecond),
		LastUsedAt:        t0.Add(123 * time.Millisecond),
		ExpiresAt:         t0.Add(time.Hour),
		AbsoluteExpiresAt: t0.Add(10 * time.Hour),
		IP:                "203.0.113.7",
		UserAgent:         "storetest/1.0",
		AMR:               []string{"pwd", "otp", "mfa"},
		AuthTime:          t0.Add(120 * time.Millisecond),
	}
}

func equalSession(t *testing.T, got, want sessions.Session) {
	t.Helper()
	ok := got.ID == want.ID && got.UserID == want.UserID && got.Username == want.Username && got.Epoch == want.Epoch &&
		bytes.Equal(got.TokenHash, want.TokenHash) && bytes.Equal(got.PrevHash, want.PrevHash) && bytes.Equal(got.Salt, want.Salt) &&
		got.RotatedAt.Equal(want.RotatedAt) && got.Rotations == want.Rotations &&
		got.CreatedAt.Equal(want.CreatedAt) && got.LastUsedAt.Equal(want.LastUsedAt) &&
		got.ExpiresAt.Equal(want.ExpiresAt) && got.AbsoluteExpiresAt.Equal(want.AbsoluteExpiresAt) &&
		got.IP == want.IP && got.UserAgent == want.UserAgent &&
		slices.Equal(got.AMR, want.AMR) && got.AuthTime.Equal(want.AuthTime)
	if !ok {
		t.Fatalf("session differs:\n got %+v\nwant %+v", got, want)
	}
}

func testUsers(t *testing.T, st Store) {
	ctx := context.Background()
	u := users.User{ID: "usr_1", Username: "alice", PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, users.User{ID: "usr_2", Username: "alice", PasswordHash: "other"}); !errors.Is(err, users.ErrTaken) {
		t.Fatalf("second create: %v, want ErrTaken", err)
	}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatalf("re-sent create (a retried request): %v, want success", err)
	}
	got, err := st.GetUser(ctx, "alice")
	if err != nil || got.ID != "usr_1" || got.PasswordHash != u.PasswordHash || !got.CreatedAt.Equal(t0) {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if _, err := st.GetUser(ctx, "bob"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	if err := st.SetPasswordHash(ctx, "alice", "usr_other", 0, "stolen", t0); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("set password with the wrong id: %v", err)
	}
	if err := st.SetPasswordHash(ctx, "alice", "usr_1", 0, "new-hash", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetUser(ctx, "alice"); got.PasswordHash != "new-hash" || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after set password: %+v", got)
	}
}

func testSessionRoundTrip(t *testing.T, st Store) {
	ctx := context.Background()
	s := newSession(t, st, "usr_1")
	if err := st.CreateSession(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctx, s, nil); err != nil {
		t.Fatalf("re-sent create (a retried request): %v, want success", err)
	}
	other := newSession(t, st, "usr_2")
	other.ID = s.ID
	if err := st.CreateSession(ctx, other, nil); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("another session with the same id: %v, want ErrConflict", err)
	}
	got, err := st.GetSession(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	equalSession(t, got, s)
	if _, err := st.GetSession(ctx, "missing"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
}

func rotation(t *testing.T, s sessions.Session, now time.Time) sessions.Rotation {
	return sessions.Rotation{
		SessionID: s.ID, PresentedHash: s.TokenHash, NewHash: random(t, 32), Salt: random(t, 32),
		Now: now, ExpiresAt: now.Add(time.Hour).Truncate(time.Second),
	}
}

func testRotate(t *testing.T, st Store) {
	ctx := context.Background()
	s := newSession(t, st, "usr_1")
	if err := st.CreateSession(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(10*time.Minute + 250*time.Millisecond)
	r := rotation(t, s, now)
	got, err := st.RotateSession(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	want := s
	want.PrevHash, want.TokenHash, want.Salt = s.TokenHash, r.NewHash, r.Salt
	want.RotatedAt, want.LastUsedAt, want.ExpiresAt, want.Rotations = now, now, r.ExpiresAt, 1
	equalSession(t, got, want)
	stored, _ := st.GetSession(ctx, s.ID)
	equalSession(t, stored, want)

	// The old token no longer matches: the write is refused and the current
	// item comes back, so the caller can tell replay from reuse.
	again := rotation(t, s, now.Add(time.Second))
	old, err := st.RotateSession(ctx, again)
	if !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("rotate with superseded hash: %v, want ErrConflict", err)
	}
	equalSession(t, old, want)
}

func testRotateConditions(t *testing.T, st Store) {
	ctx := context.Background()
	cases := []struct {
		name string
		edit func(r *sessions.Rotation, s sessions.Session)
		want error
		prep func(s *sessions.Session) // before the session is stored
	}{
		{"unknown session", func(r *sessions.Rotation, _ sessions.Session) { r.SessionID = "no-such-session" }, sessions.ErrNotFound, nil},
		{"wrong hash", func(r *sessions.Rotation, _ sessions.Session) { r.PresentedHash = random(t, 32) }, sessions.ErrConflict, nil},
		{"idle expired", func(r *sessions.Rotation, s sessions.Session) {
			r.Now = s.ExpiresAt
			r.ExpiresAt = r.Now.Add(time.Hour)
		}, sessions.ErrConflict, nil},
		{"past absolute expiry", func(r *sessions.Rotation, s sessions.Session) { r.ExpiresAt = s.AbsoluteExpiresAt.Add(time.Second) }, sessions.ErrConflict, nil},
		// Idle expiry never passes the absolute one as the manager writes
		// them, but the store must not rely on that: the absolute expiry
		// alone refuses.
		{"absolute expired, idle not", func(r *sessions.Rotation, s sessions.Session) {
			r.Now = s.AbsoluteExpiresAt
			r.ExpiresAt = s.AbsoluteExpiresAt
		}, sessions.ErrConflict, func(s *sessions.Session) { s.ExpiresAt = s.AbsoluteExpiresAt.Add(time.Hour) }},
		{"at absolute expiry", func(r *sessions.Rotation, s sessions.Session) { r.ExpiresAt = s.AbsoluteExpiresAt }, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, st, "usr_1")
			if tc.prep != nil {
				tc.prep(&s)
			}
			if err := st.CreateSession(ctx, s, nil); err != nil {
				t.Fatal(err)
			}
			r := rotation(t, s, t0.Add(time.Minute))
			tc.edit(&r, s)
			got, err := st.RotateSession(ctx, r)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if errors.Is(err, sessions.ErrConflict) {
				equalSession(t, got, s) // unchanged, and returned as it was
				stored, _ := st.GetSession(ctx, s.ID)
				equalSession(t, stored, s)
			}
		})
	}
}

func testConcurrentRotate(t *testing.T, st Store) {
	ctx := context.Background()
	s := newSession(t, st, "usr_1")
	if err := st.CreateSession(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.RotateSession(ctx, rotation(t, s, t0.Add(time.Minute)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, sessions.ErrConflict):
				conflicts++
			default:
				t.Errorf("rotate: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != n-1 {
		t.Fatalf("%d rotations applied and %d refused; want exactly 1 and %d", wins, conflicts, n-1)
	}
	if got, _ := st.GetSession(ctx, s.ID); got.Rotations != 1 {
		t.Fatalf("rotations = %d, want 1", got.Rotations)
	}
}

func testDelete(t *testing.T, st Store) {
	ctx := context.Background()
	s := newSession(t, st, "usr_1")
	if err := st.CreateSession(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession(ctx, s.ID, "usr_2"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("delete as another user: %v", err)
	}
	if err := st.DeleteSessionByToken(ctx, s.ID, random(t, 32)); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("delete with a wrong token: %v", err)
	}
	if _, err := st.GetSession(ctx, s.ID); err != nil {
		t.Fatalf("refused deletes must keep the session: %v", err)
	}
	r := rotation(t, s, t0.Add(time.Minute))
	if _, err := st.RotateSession(ctx, r); err != nil {
		t.Fatal(err)
	}
	// The token just replaced still logs out (a client that lost the refresh answer).
	if err := st.DeleteSessionByToken(ctx, s.ID, s.TokenHash); err != nil {
		t.Fatalf("delete with the previous token: %v", err)
	}
	if _, err := st.GetSession(ctx, s.ID); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}

	s2 := newSession(t, st, "usr_1")
	if err := st.CreateSession(ctx, s2, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSessionByToken(ctx, s2.ID, s2.TokenHash); err != nil {
		t.Fatalf("delete with the current token: %v", err)
	}
	s3 := newSession(t, st, "usr_1")
	if err := st.CreateSession(ctx, s3, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession(ctx, s3.ID, "usr_1"); err != nil {
		t.Fatalf("delete as owner: %v", err)
	}
	if err := st.DeleteSession(ctx, s3.ID, ""); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func testByUser(t *testing.T, st Store) {
	ctx := context.Background()
	mine := map[string]bool{}
	for range 30 { // more than one BatchWriteItem of 25, and many pages of a small BatchSize
		s := newSession(t, st, "usr_me")
		mine[s.ID] = true
		if err := st.CreateSession(ctx, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	other := newSession(t, st, "usr_other")
	if err := st.CreateSession(ctx, other, nil); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListSessions(ctx, "name-of-usr_me", "usr_me")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(mine) {
		t.Fatalf("listed %d sessions, want %d", len(list), len(mine))
	}
	for _, s := range list {
		if !mine[s.ID] || s.UserID != "usr_me" {
			t.Fatalf("listed a session that is not the user's: %+v", s)
		}
	}
	if list, _ := st.ListSessions(ctx, "name-of-usr_me", "usr_other"); len(list) != 0 {
		t.Fatalf("listing with another user's id found %d sessions", len(list))
	}
	// One already ended: it is still listed in the user's record, but gone.
	if err := st.DeleteSession(ctx, list[0].ID, ""); err != nil {
		t.Fatal(err)
	}
	before, _ := st.GetUser(ctx, "name-of-usr_me")
	n, err := st.EndUserSessions(ctx, "name-of-usr_me", "usr_me")
	if err != nil || n != len(mine)-1 {
		t.Fatalf("end all: %d, %v; want %d", n, err, len(mine)-1)
	}
	for id := range mine {
		if _, err := st.GetSession(ctx, id); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("session %s survived the end of all: %v", id, err)
		}
	}
	after, _ := st.GetUser(ctx, "name-of-usr_me")
	if after.Epoch == before.Epoch || len(after.Sessions) != 0 {
		t.Fatalf("after end all: epoch %d (was %d), %d listed; want a new epoch and none", after.Epoch, before.Epoch, len(after.Sessions))
	}
	if list, _ := st.ListSessions(ctx, "name-of-usr_me", "usr_me"); len(list) != 0 {
		t.Fatalf("%d sessions left", len(list))
	}
	if _, err := st.GetSession(ctx, other.ID); err != nil {
		t.Fatalf("another user's session was touched: %v", err)
	}
	if _, err := st.EndUserSessions(ctx, "name-of-usr_other", "usr_me"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("end all with another user's id: %v, want ErrNotFound", err)
	}
	if _, err := st.GetSession(ctx, other.ID); err != nil {
		t.Fatalf("end all with a wrong id touched a session: %v", err)
	}
	if _, err := st.EndUserSessions(ctx, "name-of-nobody", "usr_nobody"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("end all of an unknown user: %v", err)
	}
}

// testEpoch: a session is created only while the epoch its login read is
// current; a password change and an end-all both move it.
// testWatermark: sessions created before the watermark never rotate
// (ErrRevoked, with the session), those created at or after it do; the
// watermark only moves forward and is read with a session.
func testWatermark(t *testing.T, st Store) {
	ctx := context.Background()
	old := newSession(t, st, "usr_w1")
	young := newSession(t, st, "usr_w2")
	young.CreatedAt, young.LastUsedAt = t0.Add(time.Second), t0.Add(time.Second)
	for _, x := range []sessions.Session{old, young} {
		if err := st.CreateSession(ctx, x, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, w, err := st.GetSessionAndWatermark(ctx, old.ID); err != nil || !w.IsZero() {
		t.Fatalf("before any revoke-all: watermark %v, %v; want zero", w, err)
	}
	cut := young.CreatedAt // sessions created before this instant are revoked
	if w, err := st.RevokeBefore(ctx, cut); err != nil || !w.Equal(cut) {
		t.Fatalf("RevokeBefore: %v, %v", w, err)
	}
	if w, err := st.RevokeBefore(ctx, t0); err != nil || !w.Equal(cut) {
		t.Fatalf("an earlier RevokeBefore moved the watermark back: %v, %v", w, err)
	}
	rot := func(x sessions.Session) (sessions.Session, error) {
		return st.RotateSession(ctx, sessions.Rotation{
			SessionID: x.ID, PresentedHash: x.TokenHash, NewHash: random(t, 32), Salt: random(t, 32),
			Now: t0.Add(time.Minute), ExpiresAt: t0.Add(2 * time.Hour),
		})
	}
	if got, err := rot(old); !errors.Is(err, sessions.ErrRevoked) || got.UserID != old.UserID {
		t.Fatalf("rotate a session created before the watermark: %+v, %v; want ErrRevoked with the session", got.UserID, err)
	}
	stale := old
	stale.TokenHash = random(t, 32) // a superseded or replayed token: a conflict anywhere else
	if got, err := rot(stale); !errors.Is(err, sessions.ErrRevoked) || got.UserID != old.UserID {
		t.Fatalf("a conflicting rotation of a session created before the watermark: %+v, %v; want ErrRevoked, not ErrConflict", got.UserID, err)
	}
	if _, err := rot(young); err != nil {
		t.Fatalf("rotate a session created at the watermark: %v", err)
	}
	s, w, err := st.GetSessionAndWatermark(ctx, old.ID)
	if err != nil || s.ID != old.ID || !w.Equal(cut) {
		t.Fatalf("GetSessionAndWatermark: %v %v %v", s.ID, w, err)
	}
	if _, _, err := st.GetSessionAndWatermark(ctx, base64.RawURLEncoding.EncodeToString(random(t, 16))); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("GetSessionAndWatermark of an unknown id: %v, want ErrNotFound", err)
	}
}

// testLock: locking sets the flag (also seen by the login read) and moves
// the epoch, so a session from a login that read the unlocked record is
// refused; unlocking clears the flag; another user id is ErrNotFound.
func testLock(t *testing.T, st Store) {
	ctx := context.Background()
	stale := newSession(t, st, "usr_l")
	other := newSession(t, st, "usr_o")
	if err := st.CreateSession(ctx, other, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.SetLocked(ctx, "name-of-usr_l", "usr_mallory", true, t0); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("lock with the wrong id: %v, want ErrNotFound", err)
	}
	if err := st.SetLocked(ctx, "name-of-nobody", "usr_nobody", true, t0); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("lock of an unknown user: %v, want ErrNotFound", err)
	}
	if err := st.SetLocked(ctx, "name-of-usr_l", "usr_l", true, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	u, _, err := st.GetLogin(ctx, "name-of-usr_l", nil)
	if err != nil || !u.Locked {
		t.Fatalf("after lock: locked=%v err=%v, want locked", u.Locked, err)
	}
	if o, _ := st.GetUser(ctx, "name-of-usr_o"); o.Locked {
		t.Fatal("locking one user locked another")
	}
	if err := st.CreateSession(ctx, stale, nil); !errors.Is(err, sessions.ErrStale) {
		t.Fatalf("create with the epoch read before the lock: %v, want ErrStale", err)
	}
	if _, err := st.GetSession(ctx, other.ID); err != nil {
		t.Fatalf("another user's session after the lock: %v", err)
	}
	if err := st.SetLocked(ctx, "name-of-usr_l", "usr_l", false, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if u, err := st.GetUser(ctx, "name-of-usr_l"); err != nil || u.Locked {
		t.Fatalf("after unlock: locked=%v err=%v", u.Locked, err)
	}
}

func testEpoch(t *testing.T, st Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		move func(t *testing.T) error
	}{
		{"password change", func(*testing.T) error {
			u, err := st.GetUser(ctx, "name-of-usr_e")
			if err != nil {
				return err
			}
			return st.SetPasswordHash(ctx, "name-of-usr_e", "usr_e", u.Epoch, "new-hash", t0.Add(time.Minute))
		}},
		{"end all sessions", func(*testing.T) error {
			_, err := st.EndUserSessions(ctx, "name-of-usr_e", "usr_e")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stale := newSession(t, st, "usr_e") // read the epoch, as a login does
			if err := tc.move(t); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateSession(ctx, stale, nil); !errors.Is(err, sessions.ErrStale) {
				t.Fatalf("create with the old epoch: %v, want ErrStale", err)
			}
			if _, err := st.GetSession(ctx, stale.ID); !errors.Is(err, sessions.ErrNotFound) {
				t.Fatalf("a refused create left a session: %v", err)
			}
			if u, _ := st.GetUser(ctx, "name-of-usr_e"); len(u.Sessions) != 0 {
				t.Fatalf("a refused create left %d list entries", len(u.Sessions))
			}
			fresh := newSession(t, st, "usr_e")
			if err := st.CreateSession(ctx, fresh, nil); err != nil {
				t.Fatalf("create with the new epoch: %v", err)
			}
			if _, err := st.EndUserSessions(ctx, "name-of-usr_e", "usr_e"); err != nil {
				t.Fatal(err)
			}
		})
	}
	wrongOwner := newSession(t, st, "usr_e")
	wrongOwner.UserID = "usr_mallory"
	if err := st.CreateSession(ctx, wrongOwner, nil); !errors.Is(err, sessions.ErrStale) {
		t.Fatalf("create for a username owned by another id: %v, want ErrStale", err)
	}
}

// testEvict: creating a session deletes the evicted ones and drops them from
// the owner's list in the same step.
func testEvict(t *testing.T, st Store) {
	ctx := context.Background()
	var old []sessions.Session
	for range 3 {
		s := newSession(t, st, "usr_v")
		if err := st.CreateSession(ctx, s, nil); err != nil {
			t.Fatal(err)
		}
		old = append(old, s)
	}
	next := newSession(t, st, "usr_v")
	if err := st.CreateSession(ctx, next, []string{old[0].ID, old[1].ID, "never-existed"}); err != nil {
		t.Fatal(err)
	}
	u, _ := st.GetUser(ctx, "name-of-usr_v")
	want := map[string]bool{old[2].ID: true, next.ID: true}
	if len(u.Sessions) != len(want) {
		t.Fatalf("listed %v, want %v", u.Sessions, want)
	}
	for id, created := range u.Sessions {
		if !want[id] {
			t.Fatalf("%s still listed", id)
		}
		if id == next.ID && !created.Equal(next.CreatedAt) {
			t.Fatalf("listed creation %v, want %v", created, next.CreatedAt)
		}
	}
	for _, s := range old[:2] {
		if _, err := st.GetSession(ctx, s.ID); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("evicted session %s survived: %v", s.ID, err)
		}
	}
	if _, err := st.GetSession(ctx, old[2].ID); err != nil {
		t.Fatalf("a session not evicted is gone: %v", err)
	}
}

func testAttempts(t *testing.T, st Store) {
	ctx := context.Background()
	if s, err := st.GetAttempts(ctx, "alice"); err != nil || s.Failures != 0 {
		t.Fatalf("fresh: %+v, %v", s, err)
	}
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.RecordFailure(ctx, "alice", t0.Add(time.Duration(i)*time.Millisecond), t0.Add(time.Hour)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	s, err := st.GetAttempts(ctx, "alice")
	if err != nil || s.Failures != n {
		t.Fatalf("after %d concurrent failures: %+v, %v", n, s, err)
	}
	if s.LastFailure.Before(t0) || s.LastFailure.After(t0.Add(n*time.Millisecond)) {
		t.Fatalf("last failure %v out of range", s.LastFailure)
	}
	if other, _ := st.GetAttempts(ctx, "bob"); other.Failures != 0 {
		t.Fatalf("another username counted: %+v", other)
	}
	if err := st.ResetAttempts(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if s, _ := st.GetAttempts(ctx, "alice"); s.Failures != 0 {
		t.Fatalf("after reset: %+v", s)
	}
}

func testGetLogin(t *testing.T, st Store) {
	ctx := context.Background()
	user, ip, device := throttle.UserKey("alice"), throttle.IPKey("203.0.113.7"), "device#AAAAAAAAAAAAAAAAAAAAAA"
	fail := func(key string, times int, at time.Time) {
		t.Helper()
		for range times {
			if _, err := st.RecordFailure(ctx, key, at, at.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := func(name string, got []throttle.State, failures ...int) {
		t.Helper()
		if len(got) != len(failures) {
			t.Fatalf("%s: %d states, want %d", name, len(got), len(failures))
		}
		for i, f := range failures {
			if got[i].Failures != f || (f > 0 && got[i].LastFailure.IsZero()) {
				t.Fatalf("%s: state %d is %+v, want %d failures", name, i, got[i], f)
			}
		}
	}

	if _, s, err := st.GetLogin(ctx, "alice", []string{user, ip}); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	} else {
		want("unknown user, no attempts", s, 0, 0)
	}
	fail(user, 1, t0)
	fail(ip, 3, t0.Add(time.Second))
	_, s, err := st.GetLogin(ctx, "alice", []string{user, ip})
	if !errors.Is(err, users.ErrNotFound) || !s[0].LastFailure.Equal(t0) || !s[1].LastFailure.Equal(t0.Add(time.Second)) {
		t.Fatalf("unknown user with failures: %+v, %v", s, err)
	}
	want("unknown user with failures", s, 1, 3)

	u := users.User{ID: "usr_1", Username: "alice", PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	fail(device, 2, t0.Add(2*time.Second))
	cases := []struct {
		name     string
		keys     []string
		failures []int
	}{
		{"untrusted client", []string{user, ip}, []int{1, 3}},
		{"order kept", []string{ip, user}, []int{3, 1}},
		{"trusted device", []string{device}, []int{2}},
		{"all kinds and one never seen", []string{device, user, ip, throttle.UserKey("bob")}, []int{2, 1, 3, 0}},
		{"a key twice", []string{ip, ip}, []int{3, 3}},
		{"no keys", nil, nil},
	}
	for _, tc := range cases {
		got, s, err := st.GetLogin(ctx, "alice", tc.keys)
		if err != nil || got.ID != u.ID || got.PasswordHash != u.PasswordHash {
			t.Fatalf("%s: user %+v, %v", tc.name, got, err)
		}
		want(tc.name, s, tc.failures...)
	}
}
