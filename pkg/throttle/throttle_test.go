package throttle_test

import (
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/throttle"
)

func TestPolicy(t *testing.T) {
	p := throttle.Policy{MaxFailures: 3, Base: time.Second, Max: 10 * time.Second}
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		failures int
		lock     time.Duration
	}{
		{0, 0}, {2, 0}, {3, time.Second}, {4, 2 * time.Second}, {5, 4 * time.Second},
		{6, 8 * time.Second}, {7, 10 * time.Second}, {1000, 10 * time.Second},
	}
	for _, tc := range cases {
		if got := p.LockFor(tc.failures); got != tc.lock {
			t.Errorf("LockFor(%d) = %v, want %v", tc.failures, got, tc.lock)
		}
		s := throttle.State{Failures: tc.failures, LastFailure: t0}
		if got := p.RetryAfter(s, t0.Add(500*time.Millisecond)); got != max(0, tc.lock-500*time.Millisecond) {
			t.Errorf("RetryAfter(%d failures, 0.5s later) = %v", tc.failures, got)
		}
		if got := p.RetryAfter(s, t0.Add(tc.lock)); got != 0 {
			t.Errorf("RetryAfter(%d failures) at the end of the lock = %v, want 0", tc.failures, got)
		}
	}
	if p.Forget() <= p.Max {
		t.Errorf("Forget %v must outlast the longest lock %v", p.Forget(), p.Max)
	}
}
