package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// testMethods: a session keeps the authentication methods and time it was
// started with through every read and every rotation (a refresh neither
// upgrades nor downgrades them), also in the item a failed rotation returns;
// a session stored without them (as every session stored before they
// existed) reads as a password login at its creation.
func testMethods(t *testing.T, st Store) {
	ctx := context.Background()
	s := newSession(t, st, "usr_1")
	s.AMR, s.AuthTime = []string{"pwd", "otp", "mfa"}, t0.Add(77*time.Millisecond)
	if err := st.CreateSession(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	check := func(step string, got sessions.Session) {
		t.Helper()
		if !slices.Equal(got.AMR, s.AMR) || !got.AuthTime.Equal(s.AuthTime) {
			t.Fatalf("%s: amr %q auth_time %v, want %q %v", step, got.AMR, got.AuthTime, s.AMR, s.AuthTime)
		}
	}
	cur := s
	for i := range 3 {
		r := rotation(t, cur, t0.Add(time.Duration(i+1)*time.Minute))
		got, err := st.RotateSession(ctx, r)
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		check("rotated", got)
		cur = got
	}
	stale := rotation(t, s, t0.Add(time.Hour/2))
	asWas, err := st.RotateSession(ctx, stale)
	if !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("rotate with a superseded hash: %v, want ErrConflict", err)
	}
	check("conflict", asWas)
	got, err := st.GetSession(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("get", got)
	got, _, err = st.GetSessionAndWatermark(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("get with watermark", got)

	// A session stored without methods: nothing invented on the way back.
	old := newSession(t, st, "usr_1")
	old.AMR, old.AuthTime = nil, time.Time{}
	if err := st.CreateSession(ctx, old, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RotateSession(ctx, rotation(t, old, t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListSessions(ctx, s.Username, s.UserID)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %d sessions, %v", len(list), err)
	}
	for _, x := range list {
		switch x.ID {
		case s.ID:
			check("list", x)
		case old.ID:
			if len(x.AMR) != 0 || !x.AuthTime.IsZero() {
				t.Fatalf("session stored without methods lists amr %q auth_time %v", x.AMR, x.AuthTime)
			}
			if !slices.Equal(x.Methods(), []string{"pwd"}) || !x.AuthenticatedAt().Equal(old.CreatedAt) {
				t.Fatalf("session stored without methods reads as %q at %v, want [pwd] at creation", x.Methods(), x.AuthenticatedAt())
			}
		default:
			t.Fatalf("unexpected session %s", x.ID)
		}
	}
}
