package cached

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero durations of a Value.
const (
	DefaultRetryAfter   = 10 * time.Second
	DefaultRefreshEvery = 5 * time.Second
)

// ErrFetchPanicked is what the callers waiting on a fetch get when Fetch
// panicked (the caller that ran it gets the panic).
var ErrFetchPanicked = errors.New("cached: fetch panicked")

// Value is a value that Fetch reads at most once per TTL. When a re-fetch
// fails it keeps serving the last good value (a key set that was genuine is
// still genuine) and tries again after RetryAfter; with no good value it
// returns the error, so callers fail closed. Refresh reads sooner, at most
// once per RefreshEvery.
//
// No lock is held during a fetch and only one fetch runs at a time. The
// caller that starts it waits for it, bounded by its own ctx; meanwhile a
// caller that has a value, even one past TTL, gets it at once, and a caller
// with none waits for the fetch or its ctx, whichever ends first. A fetch
// that failed only because its caller's ctx ended says nothing about the
// source: it moves neither schedule, and a waiter whose ctx is live fetches
// again.
//
// Set the fields before the first call; do not change them or copy the
// Value afterwards.
type Value[T any] struct {
	// Fetch reads the value from its source; it should return when ctx ends.
	Fetch func(ctx context.Context) (T, error)
	// TTL is how long a good value is used before Get reads it again.
	TTL time.Duration
	// RetryAfter is how long after a failed re-read the last good value is
	// used before Get tries again (DefaultRetryAfter when 0).
	RetryAfter time.Duration
	// RefreshEvery is the least time between the start of one fetch and a
	// fetch that Refresh asks for (DefaultRefreshEvery when 0): however many
	// callers ask, they cause at most one read per interval.
	RefreshEvery time.Duration
	Now          func() time.Time // default time.Now

	good atomic.Pointer[entry[T]] // the last good value; nil before the first

	mu     sync.Mutex
	flight *flight[T] // the fetch in progress, if any
	last   time.Time  // when the last fetch that counts started
}

// entry is a good value and when Get next reads it again: TTL after the read
// that gave it, RetryAfter after a re-read that failed.
type entry[T any] struct {
	val T
	due time.Time
}

// flight is one fetch. val and err are written by the caller that runs it
// and read by the others only once done is closed.
type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
	cut  bool // it failed because its caller's ctx ended: it counts for nothing
}

// Get returns the value, fetching it when it is older than TTL (or, after a
// failed re-fetch, than RetryAfter). With a fresh value it takes no lock and
// allocates nothing.
func (v *Value[T]) Get(ctx context.Context) (T, error) {
	if e := v.good.Load(); e != nil && v.now().Before(e.due) {
		return e.val, nil
	}
	return v.get(ctx, false)
}

// Refresh returns the value as the source has it now: it waits for the fetch
// in flight if there is one, else fetches unless the last fetch started less
// than RefreshEvery ago (then it returns the value held). A failed fetch
// keeps the value held, as in Get.
func (v *Value[T]) Refresh(ctx context.Context) (T, error) { return v.get(ctx, true) }

func (v *Value[T]) get(ctx context.Context, refresh bool) (T, error) {
	for {
		v.mu.Lock()
		t := v.now()
		e := v.good.Load()
		f := v.flight
		switch {
		case f != nil && (refresh || e == nil):
			// Wait for the fetch in flight rather than start another.
			v.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				if e := v.good.Load(); e != nil {
					return e.val, nil
				}
				var zero T
				return zero, ctx.Err()
			}
		case f != nil, !v.due(e, t, refresh):
			v.mu.Unlock()
			return e.val, nil
		default:
			f = &flight[T]{done: make(chan struct{})}
			v.flight = f
			prev := v.last
			v.last = t
			v.mu.Unlock()
			v.run(ctx, f, t, prev)
		}
		switch {
		case f.err == nil:
			return f.val, nil
		case f.cut && ctx.Err() == nil:
			continue // its caller gave up, this one has not: fetch again
		}
		if e := v.good.Load(); e != nil {
			return e.val, nil
		}
		var zero T
		return zero, f.err
	}
}

// run calls Fetch for f, which started at t; prev is when the fetch before it
// started.
func (v *Value[T]) run(ctx context.Context, f *flight[T], t, prev time.Time) {
	f.err = ErrFetchPanicked // replaced unless Fetch panics
	defer v.finish(ctx, f, t, prev)
	f.val, f.err = v.Fetch(ctx)
}

// finish records the outcome of f and lets its waiters go.
func (v *Value[T]) finish(ctx context.Context, f *flight[T], t, prev time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.flight = nil
	switch {
	case f.err == nil:
		v.good.Store(&entry[T]{val: f.val, due: t.Add(v.TTL)})
	case ctx.Err() != nil:
		// Cut short by its caller: neither a read nor a failure of the
		// source, so it changes no schedule.
		f.cut = true
		v.last = prev
	default:
		if e := v.good.Load(); e != nil {
			v.good.Store(&entry[T]{val: e.val, due: t.Add(v.retryAfter())})
		}
	}
	close(f.done)
}

// due reports whether a call at t should fetch, given the entry held.
func (v *Value[T]) due(e *entry[T], t time.Time, refresh bool) bool {
	if e == nil || !t.Before(e.due) {
		return true
	}
	every := v.RefreshEvery
	if every <= 0 {
		every = DefaultRefreshEvery
	}
	return refresh && !t.Before(v.last.Add(every))
}

func (v *Value[T]) retryAfter() time.Duration {
	if v.RetryAfter <= 0 {
		return DefaultRetryAfter
	}
	return v.RetryAfter
}

func (v *Value[T]) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}
