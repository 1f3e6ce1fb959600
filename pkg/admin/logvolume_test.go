package admin_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/token"
)

// TestLogLinesPerFlow holds what the happy path of each hot flow writes to
// CloudWatch Logs, with the logger the functions use (app.Logger: JSON,
// level INFO): nothing for an allowed authorization or a refresh, which
// run for every user every token lifetime, and one line per login and per
// logout. docs/COST.md's log bytes per flow are the sizes it reports
// (go test -run TestLogLinesPerFlow -v ./pkg/admin/). A line added to a hot
// path fails it: at the cost model's workload every 100 bytes on the
// authorizer's path is about 30 GB a month.
func TestLogLinesPerFlow(t *testing.T) {
	w := newWorld(t, memory.New())
	ctx := context.Background()
	w.signup(t, "alice")
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	w.svc.Log = logger
	lines := func(flow string, want int) {
		t.Helper()
		n := strings.Count(buf.String(), "\n")
		t.Logf("%s: %d line(s), %d bytes", flow, n, buf.Len())
		if n != want {
			t.Errorf("%s writes %d line(s), want %d: %s", flow, n, want, buf.String())
		}
		buf.Reset()
	}

	p := w.login(t, "alice")
	lines("login", 1)

	if !w.refreshes(t, &p) {
		t.Fatal("refresh")
	}
	lines("refresh", 0)

	az := &authorizer.Authorizer{
		Verifier: &token.Verifier{Keys: w.svc.Tokens.Keys, Alg: config.Default().SigningAlg, Issuer: w.svc.Tokens.Issuer, Audience: w.svc.Tokens.Audience,
			Now: func() time.Time { return w.now }},
		Log: logger,
		Now: func() time.Time { return w.now },
	}
	if _, err := az.Authorize(ctx, "Bearer "+p.AccessToken); err != nil {
		t.Fatalf("authorize: %v", err)
	}
	lines("authorizer (allowed)", 0)

	if err := w.svc.Logout(ctx, p.RefreshToken); err != nil {
		t.Fatal(err)
	}
	lines("logout", 1)
}
