package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/users"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// ring is the server MAC key of the tests' managers.
var ring = func() mac.Keyring {
	r, err := mac.NewKeyring(ringKey())
	if err != nil {
		panic(err)
	}
	return r
}()

func newManager(st sessions.Store, grace time.Duration) *sessions.Manager {
	return &sessions.Manager{Store: st, MAC: mac.Static(ring), IdleTTL: 14 * 24 * time.Hour, MaxTTL: 90 * 24 * time.Hour, Grace: grace}
}

// newStore returns an embedded store where user alice (usr_1) exists.
func newStore(t testing.TB) *memory.Store {
	st := memory.New()
	if err := st.CreateUser(context.Background(), users.User{ID: "usr_1", Username: "alice", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	return st
}

func manager(t testing.TB, grace time.Duration) (*sessions.Manager, *memory.Store) {
	st := newStore(t)
	return newManager(st, grace), st
}

// owner reads alice as a login does.
func owner(t testing.TB, st users.Store) sessions.Owner {
	t.Helper()
	u, err := st.GetUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	return sessions.Owner{UserID: u.ID, Username: u.Username, Epoch: u.Epoch, Sessions: u.Sessions}
}

func start(t testing.TB, m *sessions.Manager) sessions.Issued {
	t.Helper()
	iss, err := m.Start(context.Background(), owner(t, m.Store.(users.Store)), sessions.Meta{IP: "192.0.2.1", UserAgent: strings.Repeat("x", 1000)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func TestRefreshTokenFormat(t *testing.T) {
	m, _ := manager(t, 10*time.Second)
	iss := start(t, m)
	tok, err := sessions.ParseRefreshToken(iss.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(iss.RefreshToken, "rtr_") || len(tok.Secret)*8 < 256 || tok.SessionID != iss.Session.ID {
		t.Fatalf("token %q: secret %d bits, session %q", iss.RefreshToken, len(tok.Secret)*8, tok.SessionID)
	}
	if len(iss.Session.UserAgent) > 256 {
		t.Fatalf("user agent kept at %d bytes", len(iss.Session.UserAgent))
	}
	if tok.String() != iss.RefreshToken || !sessions.ValidSessionID(tok.SessionID) || !tok.Genuine(ring) {
		t.Fatalf("token %q does not round-trip, or its session id or tag is off", iss.RefreshToken)
	}
	body := iss.RefreshToken[len(sessions.TokenPrefix):]
	last := body[len(body)-1:]
	// The last character carries 2 bits of data and 4 zero bits; any other
	// character with the same 2 bits decodes to the same bytes unless the
	// decoder is strict.
	sameBits := map[string]string{"A": "B", "Q": "R", "g": "h", "w": "x"}[last]
	bad := []string{
		"", "rtr_", "xyz_" + body, iss.RefreshToken + "A", iss.RefreshToken[:len(iss.RefreshToken)-1] + "*",
		"RTR_" + body, " " + iss.RefreshToken, iss.RefreshToken + "\n", iss.RefreshToken + "=",
		// The newline token of issue 9: padded to the right length with
		// line breaks, which Go's base64 decoder skips.
		"rtr_" + body[:len(body)-4] + "\r\n\r\n",
		"rtr_" + body[:40] + "\n" + body[41:],
	}
	// The standard alphabet instead of the URL one (when the token has a
	// character that differs between them).
	if std := strings.NewReplacer("-", "+", "_", "/").Replace(body); std != body {
		bad = append(bad, "rtr_"+std)
	}
	if sameBits != "" {
		bad = append(bad, iss.RefreshToken[:len(iss.RefreshToken)-1]+sameBits)
	}
	for _, b := range bad {
		if _, err := sessions.ParseRefreshToken(b); !errors.Is(err, sessions.ErrMalformedToken) {
			t.Errorf("ParseRefreshToken(%q) = %v, want ErrMalformedToken", b, err)
		}
	}
}

func TestRotate(t *testing.T) {
	cases := []struct {
		name    string
		grace   time.Duration
		replay  time.Duration // when the first token is presented again
		want    error
		revoked bool
	}{
		{"replay inside grace gets the same token", 10 * time.Second, 9 * time.Second, nil, false},
		{"replay at the edge of grace", 10 * time.Second, 10 * time.Second, nil, false},
		{"replay after grace is reuse", 10 * time.Second, 11 * time.Second, sessions.ErrReused, true},
		{"grace 0 disables replay", 0, 0, sessions.ErrReused, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, st := manager(t, tc.grace)
			iss := start(t, m)
			next, err := m.Rotate(context.Background(), iss.RefreshToken, "", t0.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			again, err := m.Rotate(context.Background(), iss.RefreshToken, "", t0.Add(time.Minute+tc.replay))
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("replay: %v, want %v", err, tc.want)
			}
			if tc.want == nil && (again.RefreshToken != next.RefreshToken || !again.Replayed) {
				t.Fatalf("replay gave %q (replayed=%v), want %q", again.RefreshToken, again.Replayed, next.RefreshToken)
			}
			_, err = st.GetSession(context.Background(), iss.Session.ID)
			if gone := errors.Is(err, sessions.ErrNotFound); gone != tc.revoked {
				t.Fatalf("session revoked = %v, want %v", gone, tc.revoked)
			}
		})
	}
}

func TestLifetimes(t *testing.T) {
	m, _ := manager(t, 10*time.Second)
	ctx := context.Background()

	t.Run("idle expiry", func(t *testing.T) {
		iss := start(t, m)
		if _, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(m.IdleTTL)); !errors.Is(err, sessions.ErrExpired) {
			t.Fatalf("rotate at idle expiry: %v, want ErrExpired", err)
		}
	})
	t.Run("rotation extends idle expiry", func(t *testing.T) {
		iss := start(t, m)
		now := t0.Add(m.IdleTTL - time.Hour)
		next, err := m.Rotate(ctx, iss.RefreshToken, "", now)
		if err != nil {
			t.Fatal(err)
		}
		if want := now.Add(m.IdleTTL).Truncate(time.Second); !next.Session.ExpiresAt.Equal(want) {
			t.Fatalf("expires %v, want %v", next.Session.ExpiresAt, want)
		}
	})
	t.Run("absolute lifetime caps idle extension and is never passed", func(t *testing.T) {
		iss := start(t, m)
		rt := iss.RefreshToken
		now := t0
		for now.Add(m.IdleTTL).Before(iss.Session.AbsoluteExpiresAt) {
			now = now.Add(m.IdleTTL - time.Hour)
			next, err := m.Rotate(ctx, rt, "", now)
			if err != nil {
				t.Fatalf("rotate at %v: %v", now, err)
			}
			rt = next.RefreshToken
		}
		next, err := m.Rotate(ctx, rt, "", now.Add(time.Hour))
		if err != nil {
			t.Fatalf("rotation near the absolute end: %v", err)
		}
		if !next.Session.ExpiresAt.Equal(iss.Session.AbsoluteExpiresAt) {
			t.Fatalf("idle expiry %v passes absolute %v", next.Session.ExpiresAt, iss.Session.AbsoluteExpiresAt)
		}
		if _, err := m.Rotate(ctx, next.RefreshToken, "", iss.Session.AbsoluteExpiresAt); !errors.Is(err, sessions.ErrExpired) {
			t.Fatalf("rotate at absolute expiry: %v, want ErrExpired", err)
		}
	})
}

func TestRevoke(t *testing.T) {
	m, _ := manager(t, 10*time.Second)
	ctx := context.Background()
	iss := start(t, m)
	if err := m.End(ctx, "usr_other", iss.Session.ID); !errors.Is(err, sessions.ErrUnknown) {
		t.Fatalf("another user ending the session: %v", err)
	}
	if _, err := m.Revoke(ctx, iss.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Second)); !errors.Is(err, sessions.ErrUnknown) {
		t.Fatalf("rotate after revoke: %v, want ErrUnknown", err)
	}
	if err := m.Check(ctx, iss.Session.ID, t0); !errors.Is(err, sessions.ErrUnknown) {
		t.Fatalf("check after revoke: %v", err)
	}
}

// A login starts a session; each refresh swaps its token for the next one.
func ExampleManager() {
	st := memory.New()
	ctx := context.Background()
	_ = st.CreateUser(ctx, users.User{ID: "usr_1", Username: "alice"})
	key, _ := mac.Generate(nil)
	m := &sessions.Manager{Store: st, MAC: mac.Static(key), IdleTTL: 14 * 24 * time.Hour, MaxTTL: 90 * 24 * time.Hour, Grace: 10 * time.Second}
	login, _ := m.Start(ctx, sessions.Owner{UserID: "usr_1", Username: "alice"}, sessions.Meta{}, t0)
	next, _ := m.Rotate(ctx, login.RefreshToken, "", t0.Add(time.Minute))
	retry, _ := m.Rotate(ctx, login.RefreshToken, "", t0.Add(time.Minute+time.Second)) // lost response, retried
	_, err := m.Rotate(ctx, login.RefreshToken, "", t0.Add(time.Hour))                 // stolen copy, much later
	fmt.Println(next.RefreshToken != login.RefreshToken, retry.RefreshToken == next.RefreshToken, errors.Is(err, sessions.ErrReused))
	// Output: true true true
}

// BenchmarkRotate is one refresh on the embedded store: derive, hash, write.
func BenchmarkRotate(b *testing.B) {
	m, _ := manager(b, 10*time.Second)
	ctx := context.Background()
	iss := start(b, m)
	rt := iss.RefreshToken
	for i := 0; b.Loop(); i++ {
		next, err := m.Rotate(ctx, rt, "", t0.Add(time.Duration(i)*time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		rt = next.RefreshToken
	}
}

// retrying is a store whose RotateSession is sent twice, as the SDK does
// when the first answer is lost after DynamoDB applied the write.
type retrying struct{ *memory.Store }

func (r retrying) RotateSession(ctx context.Context, rot sessions.Rotation) (sessions.Session, error) {
	if _, err := r.Store.RotateSession(ctx, rot); err != nil {
		return sessions.Session{}, err
	}
	return r.Store.RotateSession(ctx, rot) // the retry sees its own write
}

// TestRotateRetriedWrite: a retried rotation is our own success, even with
// the grace window off, not reuse.
func TestRotateRetriedWrite(t *testing.T) {
	st := retrying{newStore(t)}
	m := newManager(st, 0)
	ctx := context.Background()
	iss := start(t, m)
	next, err := m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("retried rotation: %v", err)
	}
	if _, err := st.GetSession(ctx, iss.Session.ID); err != nil {
		t.Fatalf("session revoked by its own retried write: %v", err)
	}
	if _, err := m.Rotate(ctx, next.RefreshToken, "", t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("the token of the retried rotation: %v", err)
	}
}
