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
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// TestStaleDeviceTokensCountOnTheAddress, as whoever once knew the
// passwords of several accounts (a breach) and kept a device token of each:
// the owners changed their passwords, or an operator locked and unlocked
// them or ran revoke-all, so every token is stale. From one address the
// attacker spreads guesses over the accounts, each under its username's
// limit: the address's limit still counts every one of them, as it counts a
// stranger's, so from the address's budget on every guess is refused before
// its hash is checked. Counted on stale#<name> alone, a stale token was a
// way around the address limit: a full username budget per account held,
// from any one address. The owner's own stale token, from another address,
// still logs in (the address lock is the attacker's, stale#<name> is not
// locked).
func TestStaleDeviceTokensCountOnTheAddress(t *testing.T) {
	const next = "a brand new password"
	events := []struct {
		name string
		// run ends the trust of the account's device tokens and returns its
		// password now.
		run func(t *testing.T, svc *auth.Service, st *memory.Store, clock *time.Time, user string, p auth.Pair) string
	}{
		{"password change", func(t *testing.T, svc *auth.Service, _ *memory.Store, _ *time.Time, user string, p auth.Pair) string {
			if err := svc.ChangePassword(context.Background(), auth.Caller{UserID: p.UserID, Username: user, SessionID: p.SessionID}, alicePW, next); err != nil {
				t.Fatal(err)
			}
			return next
		}},
		{"lock and unlock", func(t *testing.T, _ *auth.Service, st *memory.Store, clock *time.Time, user string, p auth.Pair) string {
			for _, locked := range []bool{true, false} {
				if err := st.SetLocked(context.Background(), user, p.UserID, locked, *clock); err != nil {
					t.Fatal(err)
				}
			}
			return alicePW
		}},
		{"revoke-all", func(t *testing.T, _ *auth.Service, st *memory.Store, clock *time.Time, _ string, _ auth.Pair) string {
			*clock = clock.Add(time.Second)
			if _, err := st.RevokeBefore(context.Background(), *clock); err != nil {
				t.Fatal(err)
			}
			return alicePW
		}},
	}
	const accounts, each = 4, 2 // 8 guesses, 2 a username: under the username limit (3), over the address's (6)
	for _, ev := range events {
		t.Run(ev.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.LoginMaxFailures, cfg.IPMaxFailures = 3, 6
			cfg.LoginBackoffMax, cfg.IPBackoffMax = 16*time.Second, 16*time.Second
			st := memory.New()
			svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, st, nil))
			clock := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
			svc.Now = func() time.Time { return clock }
			ctx := context.Background()
			stale := make([]string, accounts)
			pw := make([]string, accounts)
			for i := range accounts {
				user := fmt.Sprintf("victim-%d", i)
				if _, err := svc.Signup(ctx, user, alicePW); err != nil {
					t.Fatal(err)
				}
				p := login(t, svc, user, alicePW, "", ipB)
				stale[i] = p.DeviceToken
				pw[i] = ev.run(t, svc, st, &clock, user, p)
			}
			budget := cfg.IPMaxFailures
			for g := range accounts * each {
				i := g % accounts
				_, err := svc.Login(ctx, fmt.Sprintf("victim-%d", i), fmt.Sprintf("wrong guess %d", g), stale[i], auth.Client{IP: ipA})
				switch got := apierr.From(err).Status; {
				case got == http.StatusUnauthorized && g < budget:
				case got == http.StatusTooManyRequests && g >= budget:
				default:
					t.Fatalf("guess %d with a stale token from one address: %d (%v); want 401 for the first %d, then 429", g+1, got, err, budget)
				}
			}
			// The owner's stale token from another address is not held back.
			if _, err := svc.Login(ctx, "victim-0", pw[0], stale[0], auth.Client{IP: ipB}); err != nil {
				t.Fatalf("the owner's stale token from another address: %v", err)
			}
		})
	}
}
