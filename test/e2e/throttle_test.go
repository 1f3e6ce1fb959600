package e2e

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/password"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// throttled is the throttling configuration of these tests: three failures,
// then 2s (the harness's LoginBackoffBase) doubling to 16s. The per-address
// limit (every request here comes from 127.0.0.1) is out of the way; the
// tests of device_test.go exercise it.
func throttled(c *config.Config) {
	c.LoginMaxFailures = 3
	c.LoginBackoffMax = 16 * time.Second
	c.IPMaxFailures = 1000
}

// attempt is what a client can observe of one login answer.
type attempt struct {
	Status     int
	Code       string
	RetryAfter string
}

func (e *env) tryLogin(user, pw string) (attempt, response) {
	e.t.Helper()
	r := e.do("POST", "/auth/login", map[string]string{"username": user, "password": pw})
	return attempt{Status: r.Status, Code: r.str("error"), RetryAfter: r.Header.Get("Retry-After")}, r
}

// retryAfter checks a 429 answer and returns its Retry-After in seconds.
func retryAfter(t *testing.T, a attempt, r response) int {
	t.Helper()
	wantError(t, r, http.StatusTooManyRequests, "too_many_attempts")
	n, err := strconv.Atoi(a.RetryAfter)
	if err != nil || n < 1 {
		t.Fatalf("Retry-After %q is not a whole number of seconds >= 1", a.RetryAfter)
	}
	return n
}

// lockout drives a username through the lockout schedule with wrong
// passwords, probing each lock with probePW, and returns every answer.
func (e *env) lockout(user, probePW string) ([]attempt, []int) {
	e.t.Helper()
	var trace []attempt
	var waits []int
	fail := func() {
		a, r := e.tryLogin(user, "wrong password!")
		wantError(e.t, r, http.StatusUnauthorized, "invalid_credentials")
		if a.RetryAfter != "" {
			e.t.Fatalf("a 401 carries Retry-After %q", a.RetryAfter)
		}
		trace = append(trace, a)
	}
	probe := func() {
		a, r := e.tryLogin(user, probePW)
		waits = append(waits, retryAfter(e.t, a, r))
		trace = append(trace, a)
	}
	for range 3 {
		fail()
	}
	probe()
	// Part of the wait: still locked, for the rest of it.
	e.clock.Advance(time.Second)
	probe()
	e.clock.Advance(time.Duration(waits[len(waits)-1]) * time.Second)
	// Each further failure doubles the lock, up to the cap.
	for range 5 {
		fail()
		probe()
		e.clock.Advance(time.Duration(waits[len(waits)-1]) * time.Second)
	}
	return trace, waits
}

// TestLoginThrottle: after LoginMaxFailures failures a username is locked
// (429 with Retry-After, even for the right password); the lock doubles per
// further failure up to the cap; a success after the lock resets it; and an
// unknown username goes through exactly the same answers.
func TestLoginThrottle(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, throttled, nil)
			const pw = "correct horse battery"
			e.signup("oscar", pw)

			// Three failures, then locked for 2s even with the right password.
			for i := 1; i <= 3; i++ {
				a, r := e.tryLogin("oscar", "wrong password!")
				wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
				if a.RetryAfter != "" {
					t.Fatalf("failure %d: Retry-After %q on a 401", i, a.RetryAfter)
				}
			}
			a, r := e.tryLogin("oscar", pw)
			if n := retryAfter(t, a, r); n != 2 {
				t.Fatalf("first lock: Retry-After %d; want 2", n)
			}
			e.clock.Advance(2 * time.Second)
			e.login("oscar", pw)
			st, err := e.store.GetAttempts(testenv.Context(t), throttle.UserKey("oscar"))
			if err != nil || st.Failures != 0 {
				t.Fatalf("attempts after a successful login: %+v %v; want reset", st, err)
			}
			// Reset: three fresh failures are allowed before the next lock.
			for range 3 {
				_, r := e.tryLogin("oscar", "wrong password!")
				wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
			}
			e.clock.Advance(time.Hour) // unlocked, but the failures are remembered
			a, r = e.tryLogin("oscar", "wrong password!")
			wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
			a, r = e.tryLogin("oscar", pw)
			if n := retryAfter(t, a, r); n != 4 {
				t.Fatalf("fourth consecutive failure: Retry-After %d; want 4", n)
			}
			e.clock.Advance(4 * time.Second)
			e.login("oscar", pw)

			// The schedule, for a known and an unknown username alike.
			e.signup("peggy", pw)
			known, waits := e.lockout("peggy", pw)
			want := []int{2, 1, 4, 8, 16, 16, 16}
			if !slices.Equal(waits, want) {
				t.Fatalf("Retry-After schedule %v; want %v", waits, want)
			}
			unknown, uwaits := e.lockout("nobody-here", pw)
			if !slices.Equal(known, unknown) {
				t.Fatalf("known user's answers differ from an unknown user's:\nknown   %v\nunknown %v", known, unknown)
			}
			if !slices.Equal(uwaits, want) {
				t.Fatalf("unknown user's schedule %v; want %v", uwaits, want)
			}
			e.login("peggy", pw)
		})
	}
}

// TestParallelLoginFailures: concurrent failures are all counted (the store's
// increment is atomic), for known and unknown usernames.
func TestParallelLoginFailures(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			// A high limit: every attempt must get to the password check.
			e := newEnv(t, kind, func(c *config.Config) { c.LoginMaxFailures, c.IPMaxFailures = 100, 100 }, nil)
			e.signup("quentin", "correct horse battery")
			for _, user := range []string{"quentin", "nobody-at-all"} {
				const n = 10
				got := together(n, func(i int) response {
					return e.do("POST", "/auth/login", map[string]string{"username": user, "password": fmt.Sprintf("wrong password %d", i)})
				})
				for i, r := range got {
					if r.Status != http.StatusUnauthorized || r.str("error") != "invalid_credentials" {
						t.Fatalf("%s attempt %d: %d %s; want 401 invalid_credentials", user, i, r.Status, r.Raw)
					}
				}
				st, err := e.store.GetAttempts(testenv.Context(t), throttle.UserKey(user))
				// None may be lost (a read-modify-write counter would lose some).
				// More than n is possible only when the SDK re-sends an ADD whose
				// answer was lost, which errs on the side of throttling.
				if err != nil || st.Failures < n || (kind == "memory" && st.Failures != n) {
					t.Fatalf("%s after %d parallel failures: %+v %v; want %d failures", user, n, st, err, n)
				}
			}
		})
	}
}

// countingStore counts the calls that tell the login paths apart: the
// login's one read (which reserves the guess) and any further throttle write.
type countingStore struct {
	apifn.Store
	getUser, recordFailure atomic.Int64
}

func (c *countingStore) ReserveLogin(ctx context.Context, name string, cs []throttle.Counter, now time.Time) (users.User, time.Time, throttle.Reservation, error) {
	c.getUser.Add(1)
	return c.Store.ReserveLogin(ctx, name, cs, now)
}

func (c *countingStore) RecordFailure(ctx context.Context, name string, now, expires time.Time) (throttle.State, error) {
	c.recordFailure.Add(1)
	return c.Store.RecordFailure(ctx, name, now, expires)
}

func (c *countingStore) Reserve(ctx context.Context, cs []throttle.Counter, now time.Time) (throttle.Reservation, error) {
	c.recordFailure.Add(1)
	return c.Store.Reserve(ctx, cs, now)
}

func (c *countingStore) Release(ctx context.Context, reset, giveBack []string) error {
	c.recordFailure.Add(1)
	return c.Store.Release(ctx, reset, giveBack)
}

// TestUnknownUserSameWork: a login for an unknown username is answered like a
// wrong password, after the same store calls (one read, which counted the
// guess for the username and for the source address before it was checked;
// nothing more) and one argon2id evaluation.
// Wall-clock time is too noisy to assert on, so the argon2id work is observed
// through what it cannot avoid: argon2id allocates its m=19 MiB memory matrix
// for every evaluation, and nothing else on the login path comes near that.
// The server runs in this process, so its allocations are ours to count.
func TestUnknownUserSameWork(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			cs := &countingStore{}
			e := newEnv(t, kind, throttled, func(s apifn.Store) apifn.Store { cs.Store = s; return cs })
			e.signup("rupert", "correct horse battery")
			argon := uint64(password.OWASP.Memory) * 1024

			// One login first, so nothing made once per process is counted below.
			e.tryLogin("warm-up-user", "some password")

			type observed struct {
				answer            attempt
				desc              string
				getUser, failures int64
				allocated         uint64
				headers           []string
			}
			observe := func(user string) observed {
				t.Helper()
				g0, f0 := cs.getUser.Load(), cs.recordFailure.Load()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				a, r := e.tryLogin(user, "wrong password!")
				runtime.ReadMemStats(&m1)
				var hs []string
				for k := range r.Header {
					if k != "Date" {
						hs = append(hs, k)
					}
				}
				slices.Sort(hs)
				return observed{answer: a, desc: r.str("error_description"), getUser: cs.getUser.Load() - g0, failures: cs.recordFailure.Load() - f0,
					allocated: m1.TotalAlloc - m0.TotalAlloc, headers: hs}
			}
			for i := 1; i <= 3; i++ {
				known, unknown := observe("rupert"), observe("nobody-known")
				for name, o := range map[string]observed{"known user, wrong password": known, "unknown user": unknown} {
					if o.answer.Status != http.StatusUnauthorized || o.answer.Code != "invalid_credentials" {
						t.Fatalf("failure %d, %s: %+v", i, name, o.answer)
					}
					if o.getUser != 1 || o.failures != 0 {
						t.Errorf("failure %d, %s: %d user reads, %d more throttle writes; want 1 and 0 (the read reserved the guess)", i, name, o.getUser, o.failures)
					}
					if o.allocated < argon || o.allocated >= 2*argon {
						t.Errorf("failure %d, %s: allocated %d bytes; want one argon2id evaluation (%d to %d)", i, name, o.allocated, argon, 2*argon)
					}
				}
				if known.answer != unknown.answer || known.desc != unknown.desc || !slices.Equal(known.headers, unknown.headers) {
					t.Errorf("failure %d: answers differ:\nknown   %+v\nunknown %+v", i, known, unknown)
				}
			}
			// Locked: refused after the one combined read (user and attempts
			// come together), before any hashing, alike.
			known, unknown := observe("rupert"), observe("nobody-known")
			for name, o := range map[string]observed{"known user": known, "unknown user": unknown} {
				if o.answer.Status != http.StatusTooManyRequests || o.getUser != 1 || o.failures != 0 || o.allocated >= argon {
					t.Errorf("locked %s: %+v; want 429 after one read, no failure recorded, no argon2id", name, o)
				}
			}
			if known.answer != unknown.answer || known.desc != unknown.desc || !slices.Equal(known.headers, unknown.headers) {
				t.Errorf("locked answers differ:\nknown   %+v\nunknown %+v", known, unknown)
			}
		})
	}
}

// TestPasswordChangeThrottle: whoever holds an access token cannot guess the
// current password without limit: each session gets the login's few guesses.
// The lock is the session's own: it does not lock the username's logins, and
// a stranger's lock of the username's logins does not lock the route.
func TestPasswordChangeThrottle(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, throttled, nil)
			const pw, next = "correct horse battery", "a brand new passphrase"
			e.signup("grace", pw)
			stolen, own := e.login("grace", pw), e.login("grace", pw)
			change := func(p pair, current, next string) response {
				return e.do("POST", "/auth/password", map[string]string{"current_password": current, "new_password": next}, bearer(p.Access)...)
			}
			for i := range 3 {
				wantError(t, change(stolen, fmt.Sprintf("guess number %d", i), next), http.StatusUnauthorized, "invalid_credentials")
			}
			r := change(stolen, pw, next)
			wantError(t, r, http.StatusTooManyRequests, "too_many_attempts")
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			// Only that session is locked.
			e.login("grace", pw)
			// A stranger locks the username's untrusted logins...
			for range 3 {
				wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "grace", "password": "wrong password!"}), http.StatusUnauthorized, "invalid_credentials")
			}
			wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "grace", "password": pw}), http.StatusTooManyRequests, "too_many_attempts")
			// ...and the owner's session still changes the password.
			if r := change(own, pw, next); r.Status != http.StatusNoContent {
				t.Fatalf("the owner's password change while logins are locked: %d %s", r.Status, r.Raw)
			}
		})
	}
}

// TestPasswordChangeOneGuessPerRequest: new_password is never a free second
// guess at the current one. Outside the window in which a retried change can
// come (an access-token lifetime after the password was set), a request whose
// new_password is the real password is refused and counted like any other.
func TestPasswordChangeOneGuessPerRequest(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, throttled, nil)
			const pw = "correct horse battery"
			e.signup("heidi", pw)
			e.clock.Advance(time.Hour)
			stolen := e.login("heidi", pw)
			guess := func(current string) response {
				return e.do("POST", "/auth/password", map[string]string{"current_password": current, "new_password": pw}, bearer(stolen.Access)...)
			}
			for i := range 3 {
				wantError(t, guess(fmt.Sprintf("guess number %d", i)), http.StatusUnauthorized, "invalid_credentials")
			}
			wantError(t, guess("one more guess"), http.StatusTooManyRequests, "too_many_attempts")
		})
	}
}
