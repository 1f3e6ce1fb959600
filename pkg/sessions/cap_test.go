package sessions_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// listCounter counts the reads of whole session lists.
type listCounter struct {
	*memory.Store
	lists int
}

func (c *listCounter) ListSessions(ctx context.Context, username, userID string) ([]sessions.Session, error) {
	c.lists++
	return c.Store.ListSessions(ctx, username, userID)
}

// TestSessionCapCountsOnlyLive, as a user with a cap of 3: sessions that
// ended (logout, End) or idled out, or that a revoke-all ended, take no
// place under the cap, so a login while fewer than 3 are live ends no live
// one, and prunes the dead entries instead. A login below the cap by the
// list alone reads nothing more.
func TestSessionCapCountsOnlyLive(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// kill ends the two younger sessions of three and returns when the
		// next login happens.
		kill func(t *testing.T, m *sessions.Manager, young []sessions.Issued) time.Time
	}{
		{"ended by logout", func(t *testing.T, m *sessions.Manager, young []sessions.Issued) time.Time {
			for _, iss := range young {
				if _, err := m.Revoke(ctx, iss.RefreshToken); err != nil {
					t.Fatal(err)
				}
			}
			return t0.Add(time.Hour)
		}},
		{"ended one by one", func(t *testing.T, m *sessions.Manager, young []sessions.Issued) time.Time {
			for _, iss := range young {
				if err := m.End(ctx, "usr_1", iss.Session.ID); err != nil {
					t.Fatal(err)
				}
			}
			return t0.Add(time.Hour)
		}},
		{"idle expired", func(t *testing.T, m *sessions.Manager, young []sessions.Issued) time.Time {
			return young[1].Session.ExpiresAt.Add(time.Second)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &listCounter{Store: newStore(t)}
			m := newManager(st, 0)
			m.MaxPerUser = 3
			// The oldest session stays live: it is refreshed (its idle
			// expiry extended) before the younger ones idle out.
			a, err := m.Start(ctx, owner(t, st), sessions.Meta{}, t0)
			if err != nil {
				t.Fatal(err)
			}
			var young []sessions.Issued
			for i := 1; i <= 2; i++ {
				iss, err := m.Start(ctx, owner(t, st), sessions.Meta{}, t0.Add(time.Duration(i)*time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				young = append(young, iss)
			}
			if st.lists != 0 {
				t.Fatalf("logins below the cap read %d session lists; want none", st.lists)
			}
			now := tc.kill(t, m, young)
			if a, err = m.Rotate(ctx, a.RefreshToken, "", now.Add(-2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			b, err := m.Start(ctx, owner(t, st), sessions.Meta{}, now)
			if err != nil {
				t.Fatal(err)
			}
			live, err := m.List(ctx, "alice", "usr_1", now)
			if err != nil {
				t.Fatal(err)
			}
			if len(live) != 2 {
				t.Fatalf("%d live sessions after the login; want a and b", len(live))
			}
			for _, iss := range []sessions.Issued{a, b} {
				if err := m.Check(ctx, iss.Session.ID, now); err != nil {
					t.Fatalf("live session %s ended by a login below the cap: %v", iss.Session.ID, err)
				}
			}
			if n := len(owner(t, st).Sessions); n != 2 {
				t.Fatalf("the owner's list names %d sessions; want the 2 live ones (dead entries pruned)", n)
			}
		})
	}

	t.Run("revoke-all", func(t *testing.T) {
		m, st := manager(t, 0)
		m.MaxPerUser = 2
		for i := range 2 {
			if _, err := m.Start(ctx, owner(t, st), sessions.Meta{}, t0.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := m.RevokeAll(ctx, t0.Add(time.Minute), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		b, err := m.Start(ctx, owner(t, st), sessions.Meta{}, t0.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(owner(t, st).Sessions); n != 1 {
			t.Fatalf("the owner's list names %d sessions; want b alone (the revoked ones pruned)", n)
		}
		if err := m.Check(ctx, b.Session.ID, t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the cap holds for live sessions", func(t *testing.T) {
		m, st := manager(t, 0)
		m.MaxPerUser = 2
		var all []sessions.Issued
		for i := range 3 {
			iss, err := m.Start(ctx, owner(t, st), sessions.Meta{}, t0.Add(time.Duration(i)*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, iss)
		}
		if err := m.Check(ctx, all[0].Session.ID, t0.Add(time.Minute)); !errors.Is(err, sessions.ErrUnknown) {
			t.Fatalf("the oldest of 3 live sessions under a cap of 2: %v; want ErrUnknown", err)
		}
		for _, iss := range all[1:] {
			if err := m.Check(ctx, iss.Session.ID, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	})
}
