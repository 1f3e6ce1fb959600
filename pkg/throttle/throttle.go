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
//
// Reserve and Release are how a guess is counted: before it is checked.
type Store interface {
	GetAttempts(ctx context.Context, key string) (State, error)
	RecordFailure(ctx context.Context, key string, now, expires time.Time) (State, error)
	ResetAttempts(ctx context.Context, key string) error
	// Reserve takes one guess's slot under every counter (each under its
	// own Policy; Counter.State is ignored) in one atomic step, before the
	// guess is checked: if any counter is locked at now (RetryAfter > 0) it
	// counts nothing and refuses; otherwise it counts a failure at now on
	// every counter (kept until now + Policy.Forget()). So N parallel guesses
	// against a limit of MaxFailures are refused from the (MaxFailures+1)th
	// on, whatever their number. A wrong guess then needs no further write.
	// A store that cannot make it atomic across counters (DynamoDB) makes
	// it atomic per counter and gives back the slots it took when another
	// counter refuses; the bound holds per counter either way. A request the
	// store's client resends counts once.
	Reserve(ctx context.Context, counters []Counter, now time.Time) (Reservation, error)
	// Release ends the reservation of a guess that needs no counting (it
	// was right, or it was reserved under counters that turned out not to
	// apply): the failures under the keys of reset are forgotten (as
	// ResetAttempts), every key of giveBack gives back the one slot the
	// reservation took (never below 0). A resent request gives back once.
	Release(ctx context.Context, reset, giveBack []string) error
}

// Reservation is what Reserve did.
type Reservation struct {
	// OK says the guess may be checked: it is counted under every counter.
	OK bool
	// States are the counters' states, in their order: with this guess
	// counted when OK, as found (one of them locked) when not.
	States []State
}

// Locked reports whether s is locked under p at now: Reserve refuses then.
func (p Policy) Locked(s State, now time.Time) bool { return p.RetryAfter(s, now) > 0 }

// Counted returns s with one more failure at now: what Reserve stores.
func Counted(s State, now time.Time) State {
	s.Failures++
	if now.After(s.LastFailure) {
		s.LastFailure = now
	}
	return s
}

// Uncounted returns s with one slot given back: what Release stores under a
// key of giveBack.
func Uncounted(s State) State {
	if s.Failures > 0 {
		s.Failures--
	}
	return s
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
// Below the limit nothing waits, whatever the clocks: a last failure
// stamped by a clock ahead of now's is no lock.
func (p Policy) RetryAfter(s State, now time.Time) time.Duration {
	lock := p.LockFor(s.Failures)
	if lock <= 0 {
		return 0
	}
	until := s.LastFailure.Add(lock)
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

// Keys returns the keys of cs, in order.
func Keys(cs []Counter) []string {
	keys := make([]string, len(cs))
	for i, c := range cs {
		keys[i] = c.Key
	}
	return keys
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
