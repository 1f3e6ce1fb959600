package sessions_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// TestLive: an account route's check of its caller's session (Live) gives
// the session and the watermark read with it only for the owner's live,
// unrevoked session; any user's with an empty user id (the strict
// authorizer's Check). ListWithWatermark filters with the watermark given.
func TestLive(t *testing.T) {
	ctx := context.Background()
	m, st := manager(t, 0)
	old := start(t, m)
	w, err := m.RevokeAll(ctx, t0.Add(time.Second), t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := m.Start(ctx, owner(t, st), sessions.Meta{}, t0.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Minute)
	cases := []struct {
		name, userID, id string
		now              time.Time
		want             error
	}{
		{"owner's live session", "usr_1", fresh.Session.ID, at, nil},
		{"any user's (strict authorizer)", "", fresh.Session.ID, at, nil},
		{"another user's session", "usr_other", fresh.Session.ID, at, sessions.ErrUnknown},
		{"unknown session", "usr_1", "AAAAAAAAAAAAAAAAAAAAAA", at, sessions.ErrUnknown},
		{"expired", "usr_1", fresh.Session.ID, t0.Add(m.IdleTTL + 3*time.Second), sessions.ErrExpired},
		{"before the watermark", "usr_1", old.Session.ID, at, sessions.ErrRevoked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, before, err := m.Live(ctx, tc.userID, tc.id, tc.now)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("got %v; want %v", err, tc.want)
			}
			if err == nil && (s.ID != tc.id || !before.Equal(w)) {
				t.Fatalf("got session %q, watermark %v; want %q, %v", s.ID, before, tc.id, w)
			}
			if err := m.Check(ctx, tc.id, tc.now); tc.userID == "" && !errors.Is(err, tc.want) {
				t.Fatalf("Check: %v; want %v", err, tc.want)
			}
		})
	}
	list, err := m.ListWithWatermark(ctx, "alice", "usr_1", w, at)
	if err != nil || len(list) != 1 || list[0].ID != fresh.Session.ID {
		t.Fatalf("listed %v (%v); want only the session after the watermark", list, err)
	}
	if list, err := m.ListWithWatermark(ctx, "alice", "usr_1", time.Time{}, at); err != nil || len(list) != 2 {
		t.Fatalf("listed %d (%v) with no watermark; want both", len(list), err)
	}
}
