package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// testReserveBurst, as the attacker: 30 parallel guesses against a limit
// of 5 (under a username and an address with a larger limit) are counted
// before they are checked, so exactly 5 get a slot; the refused ones leave
// nothing counted; the next slot comes when the lock ends, one at a time.
func testReserveBurst(t *testing.T, st Store) {
	ctx := context.Background()
	user := throttle.Counter{Key: throttle.UserKey("victim"), Policy: throttle.Policy{MaxFailures: 5, Base: time.Minute, Max: time.Hour}}
	ip := throttle.Counter{Key: throttle.IPKey("198.51.100.1"), Policy: throttle.Policy{MaxFailures: 100, Base: time.Minute, Max: time.Hour}}
	const n = 30
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := st.Reserve(ctx, []throttle.Counter{user, ip}, t0)
			if err != nil {
				t.Error(err)
				return
			}
			if len(r.States) != 2 {
				t.Errorf("%d states for 2 counters", len(r.States))
				return
			}
			if r.OK {
				ok.Add(1)
			} else if !user.Policy.Locked(r.States[0], t0) {
				t.Errorf("refused with the username's state %+v, which is not locked", r.States[0])
			}
		}()
	}
	wg.Wait()
	if got := ok.Load(); got != int64(user.Policy.MaxFailures) {
		t.Fatalf("%d of %d parallel guesses got a slot; want exactly the limit, %d", got, n, user.Policy.MaxFailures)
	}
	for _, c := range []throttle.Counter{user, ip} {
		if s, err := st.GetAttempts(ctx, c.Key); err != nil || s.Failures != 5 || !s.LastFailure.Equal(t0) {
			t.Fatalf("%s after the burst: %+v, %v; want the 5 reserved guesses at %v", c.Key, s, err, t0)
		}
	}
	// Still locked: refused, nothing counted, under either counter.
	if r, err := st.Reserve(ctx, []throttle.Counter{ip, user}, t0.Add(time.Minute-time.Millisecond)); err != nil || r.OK || r.States[0].Failures != 5 || r.States[1].Failures != 5 {
		t.Fatalf("during the lock: %+v, %v; want refused, 5 and 5", r, err)
	}
	// The lock over: one more slot, and the lock doubles.
	end := t0.Add(time.Minute)
	if r, err := st.Reserve(ctx, []throttle.Counter{user, ip}, end); err != nil || !r.OK || r.States[0].Failures != 6 || r.States[1].Failures != 6 || !r.States[0].LastFailure.Equal(end) {
		t.Fatalf("when the lock ends: %+v, %v; want a slot, 6 and 6 failures at %v", r, err, end)
	}
	if r, err := st.Reserve(ctx, []throttle.Counter{user, ip}, end.Add(time.Minute)); err != nil || r.OK {
		t.Fatalf("a minute into the doubled lock: %+v, %v; want refused", r, err)
	}
	// A right guess: the username's failures forgotten, the address's slot
	// given back.
	if err := st.Release(ctx, []string{user.Key}, []string{ip.Key}); err != nil {
		t.Fatal(err)
	}
	if s, _ := st.GetAttempts(ctx, user.Key); s.Failures != 0 {
		t.Fatalf("reset key after release: %+v", s)
	}
	if s, _ := st.GetAttempts(ctx, ip.Key); s.Failures != 5 {
		t.Fatalf("given-back key after release: %+v; want 5", s)
	}
	// Giving back never goes below zero, nor touches a key never seen.
	other := throttle.UserKey("never-seen")
	if err := st.Release(ctx, nil, []string{other, other}); err != nil {
		t.Fatal(err)
	}
	if s, _ := st.GetAttempts(ctx, other); s.Failures != 0 {
		t.Fatalf("a key never seen after a give-back: %+v", s)
	}
}

// testReserveLogin: a login's reservation comes with the user and the
// revocation watermark, known user or not, and refuses as Reserve does.
func testReserveLogin(t *testing.T, st Store) {
	ctx := context.Background()
	user := throttle.Counter{Key: throttle.UserKey("alice"), Policy: throttle.Policy{MaxFailures: 1, Base: time.Minute, Max: time.Hour}}
	ip := throttle.Counter{Key: throttle.IPKey("198.51.100.2"), Policy: throttle.Policy{MaxFailures: 10, Base: time.Minute, Max: time.Hour}}
	_, w, r, err := st.ReserveLogin(ctx, "alice", []throttle.Counter{user, ip}, t0)
	if !errors.Is(err, users.ErrNotFound) || !w.IsZero() || !r.OK || r.States[0].Failures != 1 || r.States[1].Failures != 1 {
		t.Fatalf("unknown user: %v %v %+v; want ErrNotFound, no watermark, a slot counted", err, w, r)
	}
	if err := st.CreateUser(ctx, users.User{ID: "usr_alice", Username: "alice", PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	cut := t0.Add(-time.Hour)
	if _, err := st.RevokeBefore(ctx, cut); err != nil {
		t.Fatal(err)
	}
	u, w, r, err := st.ReserveLogin(ctx, "alice", []throttle.Counter{ip, user}, t0.Add(time.Second))
	if err != nil || u.ID != "usr_alice" || u.PasswordHash != "$argon2id$x" || !w.Equal(cut) {
		t.Fatalf("known user: %+v %v %v", u, w, err)
	}
	if r.OK || r.States[0].Failures != 1 || r.States[1].Failures != 1 {
		t.Fatalf("the username locked: %+v; want refused with nothing counted (1 and 1)", r)
	}
	if _, _, r, err := st.ReserveLogin(ctx, "alice", nil, t0); err != nil || !r.OK || len(r.States) != 0 {
		t.Fatalf("no counters: %+v %v", r, err)
	}
}

// testReserveSkewedClock: Lambdas' clocks differ a little. A counter below
// its limit is never locked, even when its last failure was stamped by a
// clock ahead of this one; at the limit, the lock runs from that stamp.
func testReserveSkewedClock(t *testing.T, st Store) {
	ctx := context.Background()
	c := throttle.Counter{Key: throttle.UserKey("skew"), Policy: throttle.Policy{MaxFailures: 2, Base: time.Minute, Max: time.Hour}}
	if r, err := st.Reserve(ctx, []throttle.Counter{c}, t0.Add(time.Second)); err != nil || !r.OK {
		t.Fatalf("first guess: %+v, %v", r, err)
	}
	r, err := st.Reserve(ctx, []throttle.Counter{c}, t0)
	if err != nil || !r.OK || r.States[0].Failures != 2 {
		t.Fatalf("a guess on a clock a second behind, below the limit: %+v, %v; want a slot", r, err)
	}
	if r, err := st.Reserve(ctx, []throttle.Counter{c}, t0.Add(time.Minute)); err != nil || r.OK {
		t.Fatalf("at the limit, within the lock from the later stamp: %+v, %v; want refused", r, err)
	}
}
