package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/dpop"
)

// RunDPoPProofs runs the DPoP replay contract (dpop.ReplayCache) against
// stores made by newStore, one per subtest: a proof's key is spent once
// across every caller sharing the store, however they race.
func RunDPoPProofs(t *testing.T, newStore func(t *testing.T) dpop.ReplayCache) {
	t.Run("spent once", func(t *testing.T) { testDPoPSpentOnce(t, newStore(t)) })
	t.Run("racing spends of one proof", func(t *testing.T) { testDPoPRace(t, newStore(t)) })
	t.Run("spent again once its window closed", func(t *testing.T) { testDPoPExpired(t, newStore(t)) })
}

// replayKey is a key as dpop.ReplayKey makes them, unique to the test.
func replayKey(t *testing.T) string { return dpop.ReplayKey("jkt-"+tokenID(t), tokenID(t)) }

func testDPoPSpentOnce(t *testing.T, st dpop.ReplayCache) {
	ctx := context.Background()
	a, b := replayKey(t), replayKey(t)
	until := time.Now().Add(time.Minute)
	if err := st.SpendDPoPProof(ctx, a, until); err != nil {
		t.Fatalf("first spend: %v", err)
	}
	if err := st.SpendDPoPProof(ctx, a, until); !errors.Is(err, dpop.ErrReplayed) {
		t.Fatalf("second spend: %v, want ErrReplayed", err)
	}
	if err := st.SpendDPoPProof(ctx, b, until); err != nil {
		t.Fatalf("another key after it: %v", err)
	}
}

// testDPoPRace: twenty callers (twenty containers) spend one captured proof
// at once; exactly one is accepted.
func testDPoPRace(t *testing.T, st dpop.ReplayCache) {
	ctx := context.Background()
	key := replayKey(t)
	until := time.Now().Add(time.Minute)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- st.SpendDPoPProof(ctx, key, until) }()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, dpop.ErrReplayed):
			t.Fatalf("spend: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d racing spends accepted, want 1", ok, n)
	}
}

// testDPoPExpired: a key whose window has closed does not refuse forever
// on the stores that can tell (a store may keep refusing it until its TTL
// removes it: DynamoDB), and never accepts it twice while open.
func testDPoPExpired(t *testing.T, st dpop.ReplayCache) {
	ctx := context.Background()
	key := replayKey(t)
	if err := st.SpendDPoPProof(ctx, key, time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("spend of a closed window: %v", err)
	}
	err := st.SpendDPoPProof(ctx, key, time.Now().Add(time.Minute))
	if err != nil && !errors.Is(err, dpop.ErrReplayed) {
		t.Fatalf("respend: %v", err)
	}
	if err == nil {
		if err := st.SpendDPoPProof(ctx, key, time.Now().Add(time.Minute)); !errors.Is(err, dpop.ErrReplayed) {
			t.Fatalf("spend of a reopened key: %v, want ErrReplayed", err)
		}
	}
}
