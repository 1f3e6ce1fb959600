package throttle_test

import (
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/throttle"
)

// TestForgetOutlastsEveryLock: attempt state is kept longer than the longest
// lock, whatever the cap, or a locked username would be forgotten (and
// unlocked) early.
func TestForgetOutlastsEveryLock(t *testing.T) {
	for _, max := range []time.Duration{time.Second, 15 * time.Minute, 2 * time.Hour, 24 * time.Hour} {
		p := throttle.Policy{MaxFailures: 5, Base: time.Second, Max: max}
		if f := p.Forget(); f < 2*max {
			t.Errorf("Forget with a %v cap = %v; want at least twice the cap", max, f)
		}
	}
}
