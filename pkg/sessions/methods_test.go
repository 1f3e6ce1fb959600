package sessions_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// TestMethodsSurviveRefresh: Start stores the methods and time the login
// proved, and every refresh (rotation, grace replay) hands back the same:
// a refresh neither upgrades a password session to "mfa" nor drops the
// "mfa" of one that had it.
func TestMethodsSurviveRefresh(t *testing.T) {
	for _, amr := range [][]string{{"pwd"}, {"pwd", "otp", "mfa"}} {
		t.Run(amr[len(amr)-1], func(t *testing.T) {
			m, st := manager(t, 10*time.Second)
			ctx := context.Background()
			authTime := t0.Add(-time.Second)
			iss, err := m.Start(ctx, owner(t, st), sessions.Meta{AMR: amr, AuthTime: authTime}, t0)
			if err != nil {
				t.Fatal(err)
			}
			check := func(step string, s sessions.Session) {
				t.Helper()
				if !slices.Equal(s.Methods(), amr) || !s.AuthenticatedAt().Equal(authTime) {
					t.Fatalf("%s: %q at %v; want %q at %v", step, s.Methods(), s.AuthenticatedAt(), amr, authTime)
				}
			}
			check("start", iss.Session)
			for i := range 3 {
				if iss, err = m.Rotate(ctx, iss.RefreshToken, "", t0.Add(time.Duration(i+1)*time.Minute)); err != nil {
					t.Fatal(err)
				}
				check("rotate", iss.Session)
			}
			prev := iss.RefreshToken
			next, err := m.Rotate(ctx, prev, "", t0.Add(10*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			replay, err := m.Rotate(ctx, prev, "", t0.Add(10*time.Minute+time.Second))
			if err != nil || !replay.Replayed || replay.RefreshToken != next.RefreshToken {
				t.Fatalf("grace replay: %+v, %v", replay, err)
			}
			check("grace replay", replay.Session)
		})
	}
}

// TestMethodsOfOldSessions: a session stored before methods were recorded
// reads as the password login at its creation that started it.
func TestMethodsOfOldSessions(t *testing.T) {
	s := sessions.Session{CreatedAt: t0}
	if !slices.Equal(s.Methods(), []string{"pwd"}) || !s.AuthenticatedAt().Equal(t0) {
		t.Fatalf("old session reads as %q at %v; want [pwd] at %v", s.Methods(), s.AuthenticatedAt(), t0)
	}
	s.Methods()[0] = "changed"
	if s.Methods()[0] != "pwd" {
		t.Fatal("Methods shares its default")
	}
}
