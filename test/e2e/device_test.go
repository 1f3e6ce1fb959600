package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/client"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/device"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/throttle"
)

// The addresses the device tests send from: the owner, an attacker, and
// somewhere else.
const (
	ownerIP    = "127.0.0.1"
	attackerIP = "127.0.0.2"
	elsewhere  = "127.0.0.3"
)

// loginWith logs in sending deviceToken ("" for none) and returns the answer.
func (e *env) loginWith(user, pw, deviceToken string, headers ...string) response {
	e.t.Helper()
	body := map[string]string{"username": user, "password": pw}
	if deviceToken != "" {
		body["device_token"] = deviceToken
	}
	return e.do("POST", "/auth/login", body, headers...)
}

// trustedLogin logs in and returns the pair and the device token issued.
func (e *env) trustedLogin(user, pw, deviceToken string) (pair, string) {
	e.t.Helper()
	r := e.loginWith(user, pw, deviceToken)
	if r.Status != http.StatusOK {
		e.t.Fatalf("login %s with device token %q: %d %s", user, deviceToken, r.Status, r.Raw)
	}
	dt := r.str("device_token")
	if _, err := device.Parse(dt); err != nil {
		e.t.Fatalf("login %s: device_token %q: %v", user, dt, err)
	}
	return pairOf(e.t, r), dt
}

// all reports whether every element of xs satisfies f.
func all(xs []int, f func(int) bool) bool {
	return !slices.ContainsFunc(xs, func(x int) bool { return !f(x) })
}

// forge changes one character of a device token's tag.
func forge(tok string) string {
	i := len(tok) - 5
	c := "A"
	if tok[i] == 'A' {
		c = "B"
	}
	return tok[:i] + c + tok[i+1:]
}

// TestStrangerCannotLockOwnerOut: thirty failed logins by an attacker lock
// the username for every client without a device token (the attacker's
// right guess included), while the owner's device logs in, and the owner's
// session changes the password. A made-up device token, or one issued for
// another username, is no device token.
func TestStrangerCannotLockOwnerOut(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil) // production limits: 5 per username, 20 per address
			const pw, next = "correct horse battery", "a brand new passphrase"
			e.signup("olivia", pw)
			e.signup("mallory", "mallory's own password")
			_, dev := e.trustedLogin("olivia", pw, "")
			_, mallorys := e.trustedLogin("mallory", "mallory's own password", "")

			// 401s until the username locks, 429s from then on. (At most 5
			// 401s: fewer only if the store counted a resent failure twice.)
			attacker := e.from(attackerIP)
			var answers []int
			for range 30 {
				answers = append(answers, attacker.loginWith("olivia", "wrong password!", "").Status)
			}
			n := slices.Index(answers, http.StatusTooManyRequests)
			is := func(status int) func(int) bool { return func(s int) bool { return s == status } }
			if n < 1 || n > 5 || !all(answers[:n], is(http.StatusUnauthorized)) || !all(answers[n:], is(http.StatusTooManyRequests)) {
				t.Fatalf("30 failures: answers %v; want at most 5 × 401, then 429s", answers)
			}

			// The owner's device: in, from anywhere, the attacker's address too.
			p, dev2 := e.trustedLogin("olivia", pw, dev)
			if dev2 == dev {
				t.Fatal("a login returned the same device token again; want a fresh one")
			}
			if r := attacker.loginWith("olivia", pw, dev2); r.Status != http.StatusOK {
				t.Fatalf("the owner's device from the attacker's address: %d %s", r.Status, r.Raw)
			}
			// Everyone else: still locked, even with the right password.
			for name, tok := range map[string]string{
				"no device token":                 "",
				"a forged device token":           forge(dev),
				"another username's device token": mallorys,
				"not a device token at all":       "rtd_x",
			} {
				r := attacker.loginWith("olivia", pw, tok)
				wantError(t, r, http.StatusTooManyRequests, "too_many_attempts")
				if r.Header.Get("Retry-After") == "" {
					t.Fatalf("%s: 429 without Retry-After", name)
				}
				if name != "no device token" {
					wantError(t, e.from(elsewhere).loginWith("olivia", pw, tok), http.StatusTooManyRequests, "too_many_attempts")
				}
			}

			// The owner's session changes the password meanwhile.
			r := e.do("POST", "/auth/password", map[string]string{"current_password": pw, "new_password": next}, bearer(p.Access)...)
			if r.Status != http.StatusNoContent {
				t.Fatalf("password change while untrusted logins are locked: %d %s", r.Status, r.Raw)
			}
			e.trustedLogin("olivia", next, dev2)

			// Device tokens are secrets: never logged.
			for _, tok := range []string{dev, dev2, mallorys} {
				if strings.Contains(e.logs.String(), strings.TrimPrefix(tok, device.Prefix)) {
					t.Fatal("the log contains a device token")
				}
			}
		})
	}
}

// TestDeviceTokenLocksItself: a device token that collects failures (stolen,
// say) gets locked like a username: its own failures lock only it, never the
// username's other clients or the owner's other devices.
func TestDeviceTokenLocksItself(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			const pw = "correct horse battery"
			e.signup("petra", pw)
			_, stolen := e.trustedLogin("petra", pw, "")
			_, kept := e.trustedLogin("petra", pw, "")

			thief := e.from(attackerIP)
			for i := range 5 {
				// 401s until the token locks (a resent failure counted twice
				// locks it one early).
				if r := thief.loginWith("petra", "wrong password!", stolen); r.Status != http.StatusUnauthorized && (i < 3 || r.Status != http.StatusTooManyRequests) {
					t.Fatalf("failure %d with the stolen token: %d %s", i+1, r.Status, r.Raw)
				}
			}
			r := thief.loginWith("petra", pw, stolen)
			wantError(t, r, http.StatusTooManyRequests, "too_many_attempts")
			wantError(t, e.loginWith("petra", pw, stolen), http.StatusTooManyRequests, "too_many_attempts")

			e.trustedLogin("petra", pw, kept) // the owner's other device
			e.trustedLogin("petra", pw, "")   // an untrusted client: the username was never counted
			st, err := e.store.GetAttempts(testenv.Context(t), throttle.UserKey("petra"))
			if err != nil || st.Failures != 0 {
				t.Fatalf("the username's attempts after a device's failures: %+v %v; want none", st, err)
			}
			// Once the lock has passed, the token's owner gets in, and the
			// right password clears its failures.
			e.clock.Advance(time.Hour)
			e.trustedLogin("petra", pw, stolen)
			wantError(t, thief.loginWith("petra", "wrong password!", stolen), http.StatusUnauthorized, "invalid_credentials")
		})
	}
}

// TestAddressLimit: one source address's failures across usernames (known
// and unknown alike) lock every login from it without a device token; other
// addresses and trusted devices are not affected.
func TestAddressLimit(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil) // 20 failures per address, then 2s doubling
			const pw = "correct horse battery"
			e.signup("quinn", pw)
			e.signup("rosa", pw)
			_, dev := e.trustedLogin("quinn", pw, "")

			// 20 failures from one address, each username well below its own
			// limit (2 each for the known ones).
			sprayer := e.from(attackerIP)
			for i := range 20 {
				user := fmt.Sprintf("nobody-%d", i)
				if i < 4 {
					user = []string{"quinn", "rosa"}[i%2]
				}
				// 401s (the last few may be 429 if a resent failure was
				// counted twice).
				if r := sprayer.loginWith(user, "wrong password!", ""); r.Status != http.StatusUnauthorized && (i < 16 || r.Status != http.StatusTooManyRequests) {
					t.Fatalf("failure %d from one address: %d %s", i+1, r.Status, r.Raw)
				}
			}
			// Locked for every username from there, even one never tried.
			for _, user := range []string{"rosa", "quinn", "nobody-never-tried"} {
				r := sprayer.loginWith(user, pw, "")
				retryAfter(t, attempt{Status: r.Status, Code: r.str("error"), RetryAfter: r.Header.Get("Retry-After")}, r)
			}
			e.from(elsewhere).login("rosa", pw)
			if r := sprayer.loginWith("quinn", pw, dev); r.Status != http.StatusOK {
				t.Fatalf("a trusted device from the locked address: %d %s", r.Status, r.Raw)
			}
		})
	}
}

// TestDeviceCookie: with the cookie transport the device token travels only
// as an HttpOnly cookie on /auth, never in the body, and a login that sends
// the cookie is trusted.
func TestDeviceCookie(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, func(c *config.Config) { c.CORSAllowOrigin = "https://app.example.com" }, nil)
			const pw = "correct horse battery"
			e.signup("sasha", pw)
			transport := []string{httpapi.TransportHeader, "cookie"}
			r := e.loginWith("sasha", pw, "", transport...)
			if r.Status != http.StatusOK {
				t.Fatalf("cookie login: %d %s", r.Status, r.Raw)
			}
			if _, ok := r.Body["device_token"]; ok {
				t.Fatalf("the cookie transport put the device token in the body: %s", r.Raw)
			}
			c := setCookies(t, r)[httpapi.DeviceCookie]
			if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/auth" || c.MaxAge <= 0 {
				t.Fatalf("device cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/auth, Max-Age > 0", c)
			}
			if _, err := device.Parse(c.Value); err != nil {
				t.Fatalf("device cookie value: %v", err)
			}
			attacker := e.from(attackerIP)
			for range 6 {
				attacker.loginWith("sasha", "wrong password!", "")
			}
			wantError(t, e.loginWith("sasha", pw, "", transport...), http.StatusTooManyRequests, "too_many_attempts")
			r = e.loginWith("sasha", pw, "", append(transport, "Cookie", httpapi.DeviceCookie+"="+c.Value)...)
			if r.Status != http.StatusOK {
				t.Fatalf("cookie login with the device cookie while the username is locked: %d %s", r.Status, r.Raw)
			}
			if setCookies(t, r)[httpapi.DeviceCookie] == nil {
				t.Fatal("a trusted login did not renew the device cookie")
			}
			forged := httpapi.DeviceCookie + "=" + forge(c.Value)
			wantError(t, e.loginWith("sasha", pw, "", append(transport, "Cookie", forged)...), http.StatusTooManyRequests, "too_many_attempts")
		})
	}
}

// TestGoClientKeepsDevice: the Go client keeps the device token of its
// login and sends it on the next, so a stranger's lock does not stop it.
func TestGoClientKeepsDevice(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			const pw = "correct horse battery"
			e.signup("tomas", pw)
			ctx := testenv.Context(t)
			tr := &client.Transport{BaseURL: e.url, Store: &client.MemoryStore{}, Devices: &client.MemoryDevices{}}
			if err := tr.Login(ctx, "tomas", pw); err != nil {
				t.Fatal(err)
			}
			if err := tr.Logout(ctx); err != nil {
				t.Fatal(err)
			}
			for range 6 {
				e.from(attackerIP).loginWith("tomas", "wrong password!", "")
			}
			fresh := &client.Transport{BaseURL: e.url, Store: &client.MemoryStore{}}
			var apiErr *client.APIError
			if err := fresh.Login(ctx, "tomas", pw); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("a client without the device token: %v; want 429", err)
			}
			if err := tr.Login(ctx, "tomas", pw); err != nil {
				t.Fatalf("the client that logged in before: %v", err)
			}
		})
	}
}
