package mail_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/rotor-auth/rotor/pkg/mail"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

// BenchmarkSenderSES is the sender's throughput against moto's SES v2: one
// op is one message claimed, rendered, sent and marked sent (the embedded
// outbox, so the figure is the sender and SES, not a store). BENCHMARKS.md
// gives the command and a run.
func BenchmarkSenderSES(b *testing.B) {
	c, _ := sesOnMoto(b, "no-reply@bench.example.com")
	st := memory.New()
	for i := range b.N {
		m := storetest.NewMessage(fmt.Sprintf("msg_bench%07d", i), t0)
		m.To = fmt.Sprintf("bench-%d@example.org", i)
		addMessage(b, st, m)
	}
	s := &mail.Sender{
		Outbox: st, Transport: &mail.SES{API: c}, Render: mustTemplates(b, "Bench <no-reply@bench.example.com>"),
		Tokens: minter{}, Now: (&clock{t: t0}).Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), SweepSize: 1000,
	}
	ctx := context.Background()
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		n, err := s.Sweep(ctx, t0)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("%d of %d sent, none due", sent, b.N)
		}
		sent += n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
}
