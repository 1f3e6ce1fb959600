package throttle

import (
	"context"
	"time"
)

// State is what is stored per attempt key: consecutive failures and the time of
// the last one. The lock is derived from them, so one atomic counter update is
// the only write a failure needs.
type State struct {
	Failures    int
	LastFailure time.Time
}

// Store keeps attempt state per key (see UserKey and friends). RecordFailure
// must be an atomic increment that counts each call exactly once: concurrent
// Lambdas never lose a failure, and a request the store's client resends (its
// answer was lost after the write was applied) never counts one twice, which
// would lock a key early.
type Store interface {
	GetAttempts(ctx context.Context, key string) (State, error)
	RecordFailure(ctx context.Context, key string, now, expires time.Time) (State, error)
	ResetAttempts(ctx context.Context, key string) error
}

// Policy says when and for how long a key is locked.
type Policy struct {
	MaxFailures int           // failures allowed before the first lock
	Base        time.Duration // first lock
	Max         time.Duration // cap
}

// LockFor returns how long after the last failure a key with n
// consecutive failures stays locked: 0 below MaxFailures, then Base doubling
// per failure up to Max.
func (p Policy) LockFor(n int) time.Duration {
	if n < p.MaxFailures {
		return 0
	}
	d := p.Base
	for i := p.MaxFailures; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// RetryAfter returns how long the caller must wait at now; 0 means go ahead.
func (p Policy) RetryAfter(s State, now time.Time) time.Duration {
	until := s.LastFailure.Add(p.LockFor(s.Failures))
	if !now.Before(until) {
		return 0
	}
	return until.Sub(now)
}

// Forget is how long attempt state is kept after the last failure: long
// enough to outlast the longest lock.
func (p Policy) Forget() time.Duration { return 2*p.Max + time.Hour }

// Counter is one attempt key's state under the policy that applies to it.
type Counter struct {
	Key    string
	Policy Policy
	State  State
}

// Longest returns the longest wait any of cs imposes at now (0: go ahead)
// and the index of the counter imposing it (-1 when none does).
func Longest(cs []Counter, now time.Time) (time.Duration, int) {
	wait, at := time.Duration(0), -1
	for i, c := range cs {
		if w := c.Policy.RetryAfter(c.State, now); w > wait {
			wait, at = w, i
		}
	}
	return wait, at
}
