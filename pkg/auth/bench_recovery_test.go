package auth_test

import (
	"context"
	"fmt"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/users"
)

// BenchmarkRecoveryFlows is the CPU of each account-recovery flow, the
// whole of auth.Service's work on the embedded store (so the figure is
// Rotor's, not a store's): "cpu-ns/op" is the process's CPU time (user +
// system, getrusage) per flow, beside the wall clock, which on a shared
// machine also counts time other processes held the cores. The accounts a
// flow acts on are written straight into the store beforehand (no argon2id),
// so only the flow's own hashing counts. BENCHMARKS.md gives a run.
func BenchmarkRecoveryFlows(b *testing.B) {
	cfg := config.Default()
	cfg.MailLimitPerAddress, cfg.MailLimitPerIP = 1<<30, 1<<30 // the throttle's counting stays in, its locks out
	ctx := context.Background()
	c := auth.Client{IP: "203.0.113.7", UserAgent: "bench"}
	const pw = "correct horse battery"
	setup := func(b *testing.B) (*memory.Store, *auth.Service, func(onetime.Purpose, string) string) {
		st := memory.New()
		d := testapi.Deps(b, cfg, st, slog.New(slog.DiscardHandler))
		ring, err := d.MAC.Keyring(ctx)
		if err != nil {
			b.Fatal(err)
		}
		mint := func(p onetime.Purpose, id string) string {
			tok, err := onetime.Mint(ring, p, id)
			if err != nil {
				b.Fatal(err)
			}
			return tok
		}
		return st, testapi.Service(b, cfg, d), mint
	}
	// account writes user i with address and, for purpose p, a token
	// record of it (the verification record comes with the account).
	account := func(b *testing.B, st *memory.Store, i int, p onetime.Purpose, verified bool) onetime.Record {
		now := time.Now()
		u := users.User{ID: fmt.Sprintf("usr_b%d", i), Username: fmt.Sprintf("bench%d", i), PasswordHash: "$argon2id$bench", CreatedAt: now, UpdatedAt: now, Email: fmt.Sprintf("bench%d@example.com", i)}
		rec, err := onetime.New(onetime.VerifyEmail, u.ID, u.Username, 0, u.Email, now, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.CreateAccount(ctx, u, rec, outbox.Message{}, outbox.Message{}); err != nil {
			b.Fatal(err)
		}
		if verified {
			if _, err := st.UseToken(ctx, onetime.Use{Record: rec, Now: now}); err != nil {
				b.Fatal(err)
			}
		}
		if p == onetime.PasswordReset {
			if rec, err = onetime.New(p, u.ID, u.Username, 0, "", now, nil); err != nil {
				b.Fatal(err)
			}
			if err := st.IssueToken(ctx, rec); err != nil {
				b.Fatal(err)
			}
		}
		return rec
	}

	b.Run("signup with an address", func(b *testing.B) {
		_, svc, _ := setup(b)
		cpuPerOp(b)
		for i := range b.N {
			if _, err := svc.SignupWithEmail(ctx, fmt.Sprintf("new%d", i), pw, fmt.Sprintf("new%d@example.com", i), c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		st, svc, mint := setup(b)
		toks := make([]string, b.N)
		for i := range toks {
			toks[i] = mint(onetime.VerifyEmail, account(b, st, i, onetime.VerifyEmail, false).ID)
		}
		cpuPerOp(b)
		for i := range b.N {
			if err := svc.VerifyEmail(ctx, toks[i], c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("forgot", func(b *testing.B) {
		st, svc, _ := setup(b)
		account(b, st, 0, onetime.VerifyEmail, true)
		cpuPerOp(b)
		for range b.N {
			if err := svc.ForgotPassword(ctx, "bench0", "", c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("forgot, no such account", func(b *testing.B) {
		_, svc, _ := setup(b)
		cpuPerOp(b)
		for range b.N {
			if err := svc.ForgotPassword(ctx, "nobody", "", c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reset", func(b *testing.B) {
		st, svc, mint := setup(b)
		toks := make([]string, b.N)
		for i := range toks {
			toks[i] = mint(onetime.PasswordReset, account(b, st, i, onetime.PasswordReset, true).ID)
		}
		cpuPerOp(b)
		for i := range b.N {
			if err := svc.ResetPassword(ctx, toks[i], "a brand new passphrase", c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// cpuPerOp reports the process's CPU time per iteration as "cpu-ns/op"
// (pkg/authorizer's compare_test.go measures the authorizer the same way).
// Call it after setup; it reports when the benchmark returns.
func cpuPerOp(b *testing.B) {
	b.ResetTimer()
	start := cpuTime(b)
	b.Cleanup(func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		}
	})
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
