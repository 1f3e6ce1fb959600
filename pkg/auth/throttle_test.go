package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/device"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

const (
	alicePW = "correct horse battery"
	bobPW   = "battery staple horse"
	wrongPW = "wrong password!"
	ipA     = "198.51.100.7"
	ipB     = "203.0.113.9"
)

// step is one login attempt and the status it must get.
type step struct {
	user, pw string
	device   string // "owner", "bob", "forged", "malformed", "stolen" (see tokens), or ""
	ip       string
	times    int // repeat; 1 when 0
	want     int
}

func fails(times int, user, dev, ip string, want int) step {
	return step{user: user, pw: wrongPW, device: dev, ip: ip, times: times, want: want}
}

// TestThrottleDecision: which counters a login is throttled on. Username
// limit 3 failures, source-address limit 6, locks from 1s doubling to 16s;
// the clock never moves, so every lock holds.
func TestThrottleDecision(t *testing.T) {
	const ok, bad, locked = http.StatusOK, http.StatusUnauthorized, http.StatusTooManyRequests
	cases := []struct {
		name  string
		steps []step
	}{
		{"stranger's failures lock untrusted clients, not the owner's device", []step{
			fails(3, "alice", "", ipA, bad),
			fails(27, "alice", "", ipB, locked),
			{user: "alice", pw: alicePW, ip: ipB, want: locked},
			{user: "alice", pw: alicePW, device: "owner", ip: ipB, want: ok},
			{user: "alice", pw: alicePW, ip: ipB, want: locked},
		}},
		{"the owner's device works from the attacker's own address", []step{
			fails(6, "alice", "", ipA, 0), // the first 3 answer 401, then 429
			{user: "alice", pw: alicePW, device: "owner", ip: ipA, want: ok},
		}},
		{"another username's device token is untrusted", []step{
			fails(3, "alice", "", ipA, bad),
			{user: "alice", pw: alicePW, device: "bob", ip: ipB, want: locked},
		}},
		{"a forged device token is untrusted", []step{
			fails(3, "alice", "", ipA, bad),
			{user: "alice", pw: alicePW, device: "forged", ip: ipB, want: locked},
			{user: "alice", pw: alicePW, device: "malformed", ip: ipB, want: locked},
		}},
		{"a device token's own failures lock it, and only it", []step{
			fails(3, "alice", "stolen", ipA, bad),
			{user: "alice", pw: alicePW, device: "stolen", ip: ipA, want: locked},
			{user: "alice", pw: alicePW, device: "owner", ip: ipA, want: ok},
			{user: "alice", pw: alicePW, ip: ipB, want: ok},
		}},
		{"a device token's failures never count for the username", []step{
			fails(3, "alice", "stolen", ipA, bad),
			fails(3, "alice", "", ipB, bad),
			{user: "alice", pw: alicePW, ip: ipB, want: locked},
		}},
		{"the source-address limit trips across usernames", []step{
			fails(2, "carol", "", ipA, bad),
			fails(2, "dave", "", ipA, bad),
			fails(2, "nobody-at-all", "", ipA, bad),
			{user: "alice", pw: alicePW, ip: ipA, want: locked},
			{user: "bob", pw: bobPW, ip: ipA, want: locked},
			{user: "alice", pw: alicePW, ip: ipB, want: ok},
			{user: "alice", pw: alicePW, device: "owner", ip: ipA, want: ok},
		}},
		{"IPv6 addresses in one /64 share a counter", []step{
			fails(3, "carol", "", "2001:db8:1:2::1", bad),
			fails(3, "dave", "", "2001:db8:1:2:ffff::9", bad),
			{user: "alice", pw: alicePW, ip: "2001:db8:1:2::abcd", want: locked},
			{user: "alice", pw: alicePW, ip: "2001:db8:1:3::1", want: ok},
		}},
		{"a success does not reset the source address's failures", []step{
			fails(3, "carol", "", ipA, bad),
			fails(2, "dave", "", ipA, bad),
			{user: "bob", pw: bobPW, ip: ipA, want: ok},
			fails(1, "erin", "", ipA, bad),
			{user: "alice", pw: alicePW, ip: ipA, want: locked},
		}},
		{"an untrusted success resets the username's failures", []step{
			fails(2, "alice", "", ipA, bad),
			{user: "alice", pw: alicePW, ip: ipB, want: ok},
			fails(2, "alice", "", ipA, bad),
			{user: "alice", pw: alicePW, ip: ipB, want: ok},
		}},
		{"unknown and known usernames get the same answers", []step{
			fails(3, "alice", "", ipA, bad),
			fails(3, "nobody-at-all", "", ipB, bad),
			fails(1, "alice", "", ipA, locked),
			fails(1, "nobody-at-all", "", ipB, locked),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := newThrottled(t)
			ctx := context.Background()
			tokens := map[string]string{
				"owner":     login(t, svc, "alice", alicePW, "", "192.0.2.1").DeviceToken,
				"stolen":    login(t, svc, "alice", alicePW, "", "192.0.2.1").DeviceToken,
				"bob":       login(t, svc, "bob", bobPW, "", "192.0.2.1").DeviceToken,
				"malformed": "rtd_not-a-token",
			}
			tokens["forged"] = forge(tokens["owner"])
			for i, st := range tc.steps {
				for n := range max(st.times, 1) {
					_, err := svc.Login(ctx, st.user, st.pw, tokens[st.device], auth.Client{IP: st.ip})
					got := http.StatusOK
					if err != nil {
						got = apierr.From(err).Status
					}
					if st.want != 0 && got != st.want {
						t.Fatalf("step %d (%s as %s, device %q, from %s), attempt %d: %d; want %d", i, st.pw, st.user, st.device, st.ip, n+1, got, st.want)
					}
				}
			}
		})
	}
}

// forge changes one character of a token's tag.
func forge(tok string) string {
	i := len(tok) - 5
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func newThrottled(t *testing.T) *auth.Service {
	t.Helper()
	cfg := config.Default()
	cfg.LoginMaxFailures, cfg.IPMaxFailures = 3, 6
	cfg.LoginBackoffMax, cfg.IPBackoffMax = 16*time.Second, 16*time.Second
	svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, memory.New(), nil))
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	for user, pw := range map[string]string{"alice": alicePW, "bob": bobPW} {
		if _, err := svc.Signup(context.Background(), user, pw); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

func login(t *testing.T, svc *auth.Service, user, pw, dev, ip string) auth.Pair {
	t.Helper()
	p, err := svc.Login(context.Background(), user, pw, dev, auth.Client{IP: ip})
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	if _, err := device.Parse(p.DeviceToken); err != nil {
		t.Fatalf("login %s: device token %q: %v", user, p.DeviceToken, err)
	}
	return p
}

// TestDeviceTokenNeedsTheKey: without the server MAC key a login fails
// closed, issuing nothing.
func TestDeviceTokenNeedsTheKey(t *testing.T) {
	svc := newThrottled(t)
	svc.MAC = nil
	p, err := svc.Login(context.Background(), "alice", alicePW, "", auth.Client{IP: ipA})
	if err == nil || apierr.From(err).Status != http.StatusInternalServerError || p.DeviceToken != "" {
		t.Fatalf("login without a MAC key source: %+v, %v", p, err)
	}
}

// TestIPv6BlocksCountTogether, as an attacker holding one /48: 300 guesses,
// each from a fresh /64 (and spread over its /56s), each at another
// username. Each /64 and /56 stays under its budget, but the /48 counts them
// all: from the /48's budget on, every guess is refused before its hash is
// checked. Counted per /64 alone, the /48 was 65,536 fresh budgets.
func TestIPv6BlocksCountTogether(t *testing.T) {
	svc := newThrottled(t) // address budget 6 per /64, so 24 per /56, 96 per /48
	ctx := context.Background()
	const budget48 = 96
	verified := 0
	for i := range 300 {
		ip := fmt.Sprintf("2001:db8:77:%02x%02x::%x", i%256, i/256, i+1)
		_, err := svc.Login(ctx, fmt.Sprintf("target-%d", i), wrongPW, "", auth.Client{IP: ip})
		switch got := apierr.From(err).Status; {
		case got == http.StatusUnauthorized && i < budget48:
			verified++
		case got == http.StatusTooManyRequests && i >= budget48:
		default:
			t.Fatalf("guess %d from %s: %d (%v); want 401 for the first %d, then 429", i, ip, got, err, budget48)
		}
	}
	// Another /48 is not held back.
	if _, err := svc.Login(ctx, "alice", alicePW, "", auth.Client{IP: "2001:db8:78::1"}); err != nil {
		t.Fatalf("from another /48: %v", err)
	}
}

// TestDeviceTokensShareOneBudget, as the holder of many device tokens of one
// username (taken from the owner's devices and backups, or forged with a
// leaked MAC key): each token has its own few guesses, but all of the
// username's tokens together get the device budget (DeviceBudget: 4 × the
// username limit, 12 here). Two guesses with each of 20 tokens: the first 12
// are verified, every later one is refused before its hash is checked, and
// so is the right password with a token never used. Counted per token alone,
// the 20 tokens were 40 verified guesses, and the right one got in.
func TestDeviceTokensShareOneBudget(t *testing.T) {
	const budget = 4 * 3 // newThrottled: LoginMaxFailures 3, DeviceMaxFailures unset
	svc := newThrottled(t)
	ctx := context.Background()
	tokens := make([]string, 21)
	for i := range tokens {
		tokens[i] = login(t, svc, "alice", alicePW, "", "192.0.2.1").DeviceToken
	}
	verified := 0
	for i, tok := range tokens[:20] {
		for n := range 2 {
			_, err := svc.Login(ctx, "alice", wrongPW, tok, auth.Client{IP: ipA})
			switch s := apierr.From(err).Status; s {
			case http.StatusUnauthorized:
				verified++
			case http.StatusTooManyRequests:
			default:
				t.Fatalf("token %d, guess %d: %v", i+1, n+1, err)
			}
		}
	}
	if verified != budget {
		t.Fatalf("%d guesses verified with 20 device tokens; want the device budget, %d", verified, budget)
	}
	if _, err := svc.Login(ctx, "alice", alicePW, tokens[20], auth.Client{IP: ipB}); apierr.From(err).Status != http.StatusTooManyRequests {
		t.Fatalf("the right password with an unused token after the budget: %v; want 429", err)
	}
}
