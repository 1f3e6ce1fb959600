package cached_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/cached"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// clock is a fake clock that also counts its reads: a caller reads it once,
// under the Value's lock, before it decides whether to fetch, wait or return,
// so a test that has seen the read knows the decision saw the state it set.
type clock struct {
	mu    sync.Mutex
	read  *sync.Cond
	t     time.Time
	reads int
}

func newClock() *clock {
	c := &clock{t: epoch}
	c.read = sync.NewCond(&c.mu)
	return c
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	c.read.Broadcast()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// awaitReads blocks until the clock has been read n times in all.
func (c *clock) awaitReads(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.reads < n {
		c.read.Wait()
	}
}

// source is a fake Fetch. It answers what answer last set, read when the
// fetch returns; a fetch that starts while stall is set blocks until stall is
// closed or its ctx ends. Like an SDK call, it fails at once on an ended ctx.
type source struct {
	mu      sync.Mutex
	calls   int
	val     string
	err     error
	stall   chan struct{}
	started chan struct{} // when set, gets a token as each stalled fetch starts
	panics  bool          // a stalled fetch panics when released
}

func (s *source) Fetch(ctx context.Context) (string, error) {
	s.mu.Lock()
	s.calls++
	stall, started, panics := s.stall, s.started, s.panics
	s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if stall != nil {
		if started != nil {
			started <- struct{}{}
		}
		select {
		case <-stall:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if panics {
			panic("fetch panics")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.val, s.err
}

func (s *source) answer(val string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.val, s.err = val, err
}

// stallNext makes the fetches that start from now on block until release.
func (s *source) stallNext() (started <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stall, st := make(chan struct{}), make(chan struct{}, 64)
	s.stall, s.started = stall, st
	return st, func() {
		s.mu.Lock()
		s.stall, s.started = nil, nil
		s.mu.Unlock()
		close(stall)
	}
}

func (s *source) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

var errOutage = errors.New("secrets manager unavailable")

// step is one call in a schedule: advance the clock, set what the source
// answers ("" fails with errOutage), call, and check the value ("" wants
// errOutage) and the total number of fetches so far.
type step struct {
	advance time.Duration
	refresh bool
	answer  string
	want    string
	calls   int
}

func runSteps(t *testing.T, v *cached.Value[string], clk *clock, src *source, steps []step) {
	t.Helper()
	for i, s := range steps {
		clk.Advance(s.advance)
		if s.answer != "" {
			src.answer(s.answer, nil)
		} else {
			src.answer("", errOutage)
		}
		get := v.Get
		if s.refresh {
			get = v.Refresh
		}
		got, err := get(context.Background())
		switch {
		case s.want == "" && (!errors.Is(err, errOutage) || got != ""):
			t.Fatalf("step %d: = %q, %v; want the fetch error", i, got, err)
		case s.want != "" && (err != nil || got != s.want):
			t.Fatalf("step %d: = %q, %v; want %q", i, got, err, s.want)
		}
		if n := src.Calls(); n != s.calls {
			t.Fatalf("step %d: %d fetches; want %d", i, n, s.calls)
		}
	}
}

func TestGetSchedule(t *testing.T) {
	const ttl, retry = 5 * time.Minute, 20 * time.Second
	tests := []struct {
		name  string
		retry time.Duration
		steps []step
	}{
		{"fetch once per TTL", retry, []step{
			{0, false, "v1", "v1", 1},
			{time.Minute, false, "v2", "v1", 1},
			{ttl - time.Minute - time.Nanosecond, false, "v2", "v1", 1},
			{time.Nanosecond, false, "v2", "v2", 2},
			{ttl, false, "v3", "v3", 3},
		}},
		{"last good value served while re-fetch fails, retried after RetryAfter", retry, []step{
			{0, false, "v1", "v1", 1},
			{ttl, false, "", "v1", 2},
			{retry - time.Nanosecond, false, "", "v1", 2},
			{time.Nanosecond, false, "", "v1", 3},
			{retry, false, "v2", "v2", 4},
			{retry, false, "v3", "v2", 4}, // back on the TTL schedule
		}},
		{"default RetryAfter is 10s", 0, []step{
			{0, false, "v1", "v1", 1},
			{ttl, false, "", "v1", 2},
			{10*time.Second - time.Nanosecond, false, "v2", "v1", 2},
			{time.Nanosecond, false, "v2", "v2", 3},
		}},
		{"fails closed with no good value, and retries on the next call", retry, []step{
			{0, false, "", "", 1},
			{0, false, "", "", 2},
			{time.Second, false, "v1", "v1", 3},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk, src := newClock(), &source{}
			v := &cached.Value[string]{Fetch: src.Fetch, TTL: ttl, RetryAfter: tc.retry, Now: clk.Now}
			runSteps(t, v, clk, src, tc.steps)
		})
	}
}

func TestRefreshSchedule(t *testing.T) {
	const ttl, every = 5 * time.Minute, 30 * time.Second
	tests := []struct {
		name  string
		every time.Duration
		steps []step
	}{
		{"at most one refresh read per RefreshEvery", every, []step{
			{0, false, "v1", "v1", 1},
			{time.Nanosecond, true, "v2", "v1", 1}, // the Get read counts
			{every - time.Nanosecond, true, "v2", "v2", 2},
			{0, true, "v3", "v2", 2},
			{every - time.Nanosecond, true, "v3", "v2", 2},
			{time.Nanosecond, true, "v3", "v3", 3},
			{ttl - time.Nanosecond, false, "v4", "v3", 3}, // TTL runs from the refresh read
			{time.Nanosecond, false, "v4", "v4", 4},
		}},
		{"default RefreshEvery is 5s", 0, []step{
			{0, false, "v1", "v1", 1},
			{5*time.Second - time.Nanosecond, true, "v2", "v1", 1},
			{time.Nanosecond, true, "v2", "v2", 2},
		}},
		{"a failed refresh keeps the value and still counts", every, []step{
			{0, false, "v1", "v1", 1},
			{time.Minute, true, "", "v1", 2},
			{every - time.Nanosecond, true, "v2", "v1", 2},
			{time.Nanosecond, true, "v2", "v2", 3},
		}},
		{"refresh with nothing held reads, and fails closed", every, []step{
			{0, true, "", "", 1},
			{0, true, "v1", "v1", 2},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk, src := newClock(), &source{}
			v := &cached.Value[string]{Fetch: src.Fetch, TTL: ttl, RetryAfter: time.Hour, RefreshEvery: tc.every, Now: clk.Now}
			runSteps(t, v, clk, src, tc.steps)
		})
	}
}

type result struct {
	val string
	err error
}

// TestOneFetchAtATime: however many callers arrive while the value is due,
// one fetch runs. Callers holding a value (even past TTL) get it at once
// while that fetch stalls; callers with none wait for it. A caller that
// blocked on a stalled fetch here would hang the test.
func TestOneFetchAtATime(t *testing.T) {
	const n = 8
	tests := []struct {
		name string
		warm bool // a value is held, past its TTL
	}{
		{"cold start: every caller waits for the one fetch", false},
		{"expiry: the callers holding a value are not held up", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk, src := newClock(), &source{val: "v1"}
			v := &cached.Value[string]{Fetch: src.Fetch, TTL: time.Minute, Now: clk.Now}
			wantCalls := 1
			if tc.warm {
				if _, err := v.Get(context.Background()); err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Minute)
				wantCalls = 2
			}
			src.answer("v2", nil)
			started, release := src.stallNext()
			results := make(chan result, n)
			for range n {
				go func() {
					val, err := v.Get(context.Background())
					results <- result{val, err}
				}()
			}
			<-started
			got := map[string]int{}
			if tc.warm {
				for range n - 1 { // all but the one that fetches, while it stalls
					r := <-results
					if r.err != nil || r.val != "v1" {
						t.Fatalf("Get during a stalled re-fetch = %q, %v; want v1 at once", r.val, r.err)
					}
					got[r.val]++
				}
			} else {
				clk.awaitReads(n) // every caller has decided, while the fetch stalls
			}
			release()
			for range n - got["v1"] {
				r := <-results
				if r.err != nil || r.val != "v2" {
					t.Fatalf("Get after the fetch = %q, %v; want v2", r.val, r.err)
				}
			}
			if c := src.Calls(); c != wantCalls {
				t.Fatalf("%d fetches; want %d", c, wantCalls)
			}
			if val, err := v.Get(context.Background()); err != nil || val != "v2" || src.Calls() != wantCalls {
				t.Fatalf("Get after = %q, %v, %d fetches; want v2 cached", val, err, src.Calls())
			}
		})
	}
}

// TestWaitEndsWithContext: a caller that waits on another's stalled fetch
// leaves when its own ctx ends: with the error when it holds no value (fail
// closed), with the value when it holds one. It starts no fetch of its own.
func TestWaitEndsWithContext(t *testing.T) {
	past, cancelPast := context.WithDeadline(context.Background(), epoch)
	defer cancelPast()
	tests := []struct {
		name    string
		warm    bool // v1 is held, and the waiter is a Refresh
		ctx     func(clk *clock) context.Context
		want    string
		wantErr error
	}{
		{"no value, deadline passed", false, func(*clock) context.Context { return past }, "", context.DeadlineExceeded},
		{"no value, cancelled while waiting", false, cancelAfterRead, "", context.Canceled},
		{"refresh holding a value, cancelled while waiting", true, cancelAfterRead, "v1", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk, src := newClock(), &source{val: "v1"}
			v := &cached.Value[string]{Fetch: src.Fetch, TTL: time.Hour, Now: clk.Now}
			wait := v.Get
			if tc.warm {
				if _, err := v.Get(context.Background()); err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Minute)
				wait = v.Refresh
			}
			calls := src.Calls()
			src.answer("v2", nil)
			started, release := src.stallNext()
			first := make(chan result, 1)
			go func() {
				val, err := wait(context.Background())
				first <- result{val, err}
			}()
			<-started
			got, err := wait(tc.ctx(clk))
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Fatalf("waiter = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
			if c := src.Calls(); c != calls+1 {
				t.Fatalf("%d fetches; want %d (the waiter starts none)", c, calls+1)
			}
			release()
			if r := <-first; r.err != nil || r.val != "v2" {
				t.Fatalf("the fetching caller = %q, %v; want v2", r.val, r.err)
			}
		})
	}
}

// cancelAfterRead returns a ctx that is cancelled once the caller using it
// has read the clock, that is, decided to wait.
func cancelAfterRead(clk *clock) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	reads := clk.Reads()
	go func() {
		clk.awaitReads(reads + 1)
		cancel()
	}()
	return ctx
}

// TestRefreshWaitsForFetchInFlight: a Refresh caller wants the newest value,
// so it waits for the fetch in flight rather than return the value held or
// start a second fetch.
func TestRefreshWaitsForFetchInFlight(t *testing.T) {
	clk, src := newClock(), &source{val: "v1"}
	v := &cached.Value[string]{Fetch: src.Fetch, TTL: time.Hour, RefreshEvery: time.Second, Now: clk.Now}
	if _, err := v.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	src.answer("v2", nil)
	started, release := src.stallNext()
	first, second := make(chan result, 1), make(chan result, 1)
	go func() { val, err := v.Refresh(context.Background()); first <- result{val, err} }()
	<-started
	reads := clk.Reads()
	go func() { val, err := v.Refresh(context.Background()); second <- result{val, err} }()
	clk.awaitReads(reads + 1) // the second has decided while the fetch stalls
	if val, err := v.Get(context.Background()); err != nil || val != "v1" {
		t.Fatalf("Get during the refresh = %q, %v; want v1 at once", val, err)
	}
	release()
	for _, r := range []result{<-first, <-second} {
		if r.err != nil || r.val != "v2" {
			t.Fatalf("Refresh = %q, %v; want v2", r.val, r.err)
		}
	}
	if c := src.Calls(); c != 2 {
		t.Fatalf("%d fetches; want 2", c)
	}
}

// TestCutFetch: a fetch that failed only because its caller's ctx ended says
// nothing about the source. A waiter whose ctx is live fetches again, and the
// cut fetch moves neither the RetryAfter nor the RefreshEvery schedule.
func TestCutFetch(t *testing.T) {
	t.Run("a live waiter fetches again", func(t *testing.T) {
		clk, src := newClock(), &source{val: "v1"}
		v := &cached.Value[string]{Fetch: src.Fetch, TTL: time.Hour, Now: clk.Now}
		started, release := src.stallNext()
		defer release()
		ctx, cancel := context.WithCancel(context.Background())
		first, second := make(chan result, 1), make(chan result, 1)
		go func() { val, err := v.Get(ctx); first <- result{val, err} }()
		<-started
		go func() { val, err := v.Get(context.Background()); second <- result{val, err} }()
		clk.awaitReads(2) // the second waits on the first's fetch
		src.mu.Lock()
		src.stall = nil // the next fetch answers at once
		src.mu.Unlock()
		cancel()
		if r := <-first; !errors.Is(r.err, context.Canceled) {
			t.Fatalf("the cancelled caller = %q, %v; want context.Canceled", r.val, r.err)
		}
		if r := <-second; r.err != nil || r.val != "v1" {
			t.Fatalf("the live waiter = %q, %v; want v1 from a fetch of its own", r.val, r.err)
		}
		if c := src.Calls(); c != 2 {
			t.Fatalf("%d fetches; want 2", c)
		}
	})
	tests := []struct {
		name    string
		refresh bool
		advance time.Duration // from the first read, with TTL 1m and RefreshEvery 1s
	}{
		{"Get: a cut re-fetch is not a failure, the next call fetches", false, time.Minute},
		{"Refresh: a cut refresh is not a read, the next refresh fetches", true, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk, src := newClock(), &source{val: "v1"}
			v := &cached.Value[string]{Fetch: src.Fetch, TTL: time.Minute, RefreshEvery: time.Second, Now: clk.Now}
			get := v.Get
			if tc.refresh {
				get = v.Refresh
			}
			if _, err := v.Get(context.Background()); err != nil {
				t.Fatal(err)
			}
			clk.Advance(tc.advance)
			src.answer("v2", nil)
			cut, cancel := context.WithCancel(context.Background())
			cancel()
			if val, err := get(cut); err != nil || val != "v1" {
				t.Fatalf("cut call = %q, %v; want v1 (kept)", val, err)
			}
			if val, err := get(context.Background()); err != nil || val != "v2" || src.Calls() != 3 {
				t.Fatalf("next call = %q, %v after %d fetches; want v2 from a third", val, err, src.Calls())
			}
		})
	}
}

// TestFetchPanics: a panicking Fetch panics its own caller, fails its
// waiters closed and leaves no fetch in flight behind.
func TestFetchPanics(t *testing.T) {
	clk, src := newClock(), &source{val: "v1", panics: true}
	v := &cached.Value[string]{Fetch: src.Fetch, TTL: time.Hour, Now: clk.Now}
	started, release := src.stallNext()
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_, _ = v.Get(context.Background())
	}()
	<-started
	waiter := make(chan result, 1)
	go func() { val, err := v.Get(context.Background()); waiter <- result{val, err} }()
	clk.awaitReads(2)
	release()
	if p := <-panicked; p == nil {
		t.Fatal("the fetching caller did not panic")
	}
	if r := <-waiter; !errors.Is(r.err, cached.ErrFetchPanicked) {
		t.Fatalf("waiter = %q, %v; want ErrFetchPanicked", r.val, r.err)
	}
	src.mu.Lock()
	src.panics = false
	src.mu.Unlock()
	if val, err := v.Get(context.Background()); err != nil || val != "v1" {
		t.Fatalf("Get after the panic = %q, %v; want v1", val, err)
	}
}

// TestGetFreshDoesNotAllocate: the fresh read is on the authorizer's path of
// every token verification.
func TestGetFreshDoesNotAllocate(t *testing.T) {
	v := &cached.Value[string]{Fetch: (&source{val: "v1"}).Fetch, TTL: time.Hour}
	ctx := context.Background()
	if _, err := v.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = v.Get(ctx) }); n != 0 {
		t.Fatalf("Get of a fresh value: %v allocations; want 0", n)
	}
}

// BenchmarkGetFresh is the hot path: a fresh value read by many goroutines.
func BenchmarkGetFresh(b *testing.B) {
	v := &cached.Value[string]{Fetch: (&source{val: "v1"}).Fetch, TTL: time.Hour}
	ctx := context.Background()
	if _, err := v.Get(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Get(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
