package throttle_test

import (
	"slices"
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

func TestKeys(t *testing.T) {
	cases := []struct{ got, want string }{
		{throttle.UserKey("alice"), "user#alice"},
		{throttle.UserKey("ip#10.0.0.1"), "user#ip#10.0.0.1"},
		{throttle.SessionKey("abc"), "session#abc"},
		{throttle.IPKey("203.0.113.7"), "ip#203.0.113.7"},
		{throttle.IPKey("::ffff:203.0.113.7"), "ip#203.0.113.7"},
		{throttle.IPKey("2001:db8:1:2:3:4:5:6"), "ip#2001:db8:1:2::/64"},
		{throttle.IPKey("2001:db8:1:2::ffff"), "ip#2001:db8:1:2::/64"},
		{throttle.IPKey("fe80::1%eth0"), "ip#fe80::/64"},
		{throttle.IPKey(""), "ip#"},
		{throttle.IPKey("not an address"), "ip#not an address"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("key %q; want %q", tc.got, tc.want)
		}
	}
}

// TestIPKeys: an IPv6 address counts under its /64, /56 and /48 at once,
// an IPv4 (or IPv4-mapped) address under itself alone.
func TestIPKeys(t *testing.T) {
	cases := []struct {
		ip   string
		want []string
	}{
		{"203.0.113.7", []string{"ip#203.0.113.7"}},
		{"::ffff:203.0.113.7", []string{"ip#203.0.113.7"}},
		{"2001:db8:1:2:3:4:5:6", []string{"ip#2001:db8:1:2::/64", "ip#2001:db8:1::/56", "ip#2001:db8:1::/48"}},
		{"2001:db8:1:ff02::1", []string{"ip#2001:db8:1:ff02::/64", "ip#2001:db8:1:ff00::/56", "ip#2001:db8:1::/48"}},
		{"fe80::1%eth0", []string{"ip#fe80::/64", "ip#fe80::/56", "ip#fe80::/48"}},
		{"", []string{"ip#"}},
		{"not an address", []string{"ip#not an address"}},
	}
	for _, tc := range cases {
		t.Run(tc.ip, func(t *testing.T) {
			if got := throttle.IPKeys(tc.ip); !slices.Equal(got, tc.want) {
				t.Fatalf("IPKeys(%q) = %q; want %q", tc.ip, got, tc.want)
			}
			if got := throttle.IPKeys(tc.ip)[0]; got != throttle.IPKey(tc.ip) {
				t.Fatalf("first key %q is not IPKey's %q", got, throttle.IPKey(tc.ip))
			}
		})
	}
}

func TestLongest(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	user := throttle.Policy{MaxFailures: 3, Base: time.Second, Max: time.Minute}
	ip := throttle.Policy{MaxFailures: 10, Base: time.Second, Max: time.Minute}
	at := func(n int) throttle.State { return throttle.State{Failures: n, LastFailure: t0} }
	cases := []struct {
		name     string
		counters []throttle.Counter
		wait     time.Duration
		index    int
	}{
		{"none", nil, 0, -1},
		{"below both limits", []throttle.Counter{{Policy: user, State: at(2)}, {Policy: ip, State: at(9)}}, 0, -1},
		{"user locked", []throttle.Counter{{Policy: user, State: at(4)}, {Policy: ip, State: at(9)}}, 2 * time.Second, 0},
		{"ip locked", []throttle.Counter{{Policy: user, State: at(1)}, {Policy: ip, State: at(12)}}, 4 * time.Second, 1},
		{"both: the longer", []throttle.Counter{{Policy: user, State: at(3)}, {Policy: ip, State: at(11)}}, 2 * time.Second, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, i := throttle.Longest(tc.counters, t0)
			if w != tc.wait || i != tc.index {
				t.Fatalf("Longest = %v, %d; want %v, %d", w, i, tc.wait, tc.index)
			}
		})
	}
}

// TestReservationArithmetic: what every store stores for a reservation and a
// give-back, and when it refuses.
func TestReservationArithmetic(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	p := throttle.Policy{MaxFailures: 2, Base: time.Second, Max: time.Minute}
	cases := []struct {
		name    string
		in      throttle.State
		now     time.Time
		locked  bool
		counted throttle.State
		back    throttle.State
	}{
		{"fresh", throttle.State{}, t0, false, throttle.State{Failures: 1, LastFailure: t0}, throttle.State{}},
		{"below the limit", throttle.State{Failures: 1, LastFailure: t0}, t0, false, throttle.State{Failures: 2, LastFailure: t0}, throttle.State{LastFailure: t0}},
		{"at the limit, locked", throttle.State{Failures: 2, LastFailure: t0}, t0.Add(time.Second - time.Millisecond), true, throttle.State{Failures: 3, LastFailure: t0.Add(time.Second - time.Millisecond)}, throttle.State{Failures: 1, LastFailure: t0}},
		{"at the limit, lock over", throttle.State{Failures: 2, LastFailure: t0}, t0.Add(time.Second), false, throttle.State{Failures: 3, LastFailure: t0.Add(time.Second)}, throttle.State{Failures: 1, LastFailure: t0}},
		{"an earlier clock keeps the last failure", throttle.State{Failures: 1, LastFailure: t0}, t0.Add(-time.Second), false, throttle.State{Failures: 2, LastFailure: t0}, throttle.State{LastFailure: t0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Locked(tc.in, tc.now); got != tc.locked {
				t.Errorf("Locked = %v; want %v", got, tc.locked)
			}
			if got := throttle.Counted(tc.in, tc.now); got != tc.counted {
				t.Errorf("Counted = %+v; want %+v", got, tc.counted)
			}
			if got := throttle.Uncounted(tc.in); got != tc.back {
				t.Errorf("Uncounted = %+v; want %+v", got, tc.back)
			}
		})
	}
	if got := throttle.Keys([]throttle.Counter{{Key: "user#a"}, {Key: "ip#b"}}); !slices.Equal(got, []string{"user#a", "ip#b"}) {
		t.Errorf("Keys = %q", got)
	}
	if got := throttle.DevicesKey("a"); got != "devices#a" {
		t.Errorf("DevicesKey = %q", got)
	}
	if got := throttle.StaleDevicesKey("a"); got != "stale#a" {
		t.Errorf("StaleDevicesKey = %q", got)
	}
}
