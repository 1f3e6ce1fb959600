package admin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/admin"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// TestRevokeAllTakesAWSTime: the operator's laptop is two minutes slow. A
// session created 60 s before rotor revoke-all (by the functions, whose
// clock is AWS's) is revoked all the same: the watermark is AWS's time, read
// from the Date of an STS response (moto's, the machine's real clock), not
// the laptop's. Without an answer from AWS, revoke-all refuses to run.
func TestRevokeAllTakesAWSTime(t *testing.T) {
	ctx := testenv.Context(t)
	w := newWorld(t, memory.New())
	real := time.Now().UTC()
	w.now = real.Add(-60 * time.Second)
	w.signup(t, "alice")
	p := w.login(t, "alice") // created a minute before the command
	w.now = real

	slow := func() time.Time { return time.Now().Add(-2 * time.Minute) }
	w.admin.Now = slow
	clock := &admin.AWSClock{Local: slow}
	ac := testenv.AWSConfig(testenv.MotoURL(t))
	ac.HTTPClient = clock.HTTPClient(nil)
	identity := sts.NewFromConfig(ac)
	w.admin.AWSNow = func(ctx context.Context) (time.Time, error) { return clock.NowFrom(ctx, identity) }

	wm, err := w.admin.RevokeAll(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !wm.After(real.Add(-60 * time.Second)) {
		t.Fatalf("watermark %s: not after the session's creation %s (laptop clock %s)", wm, real.Add(-60*time.Second), slow())
	}
	strict := &sessions.Manager{Store: w.admin.Store}
	if err := strict.Check(ctx, p.SessionID, w.now); !errors.Is(err, sessions.ErrRevoked) {
		t.Fatalf("a session created 60 s before revoke-all, laptop 2 min slow: %v, want ErrRevoked", err)
	}
	if w.refreshes(t, &p) {
		t.Fatal("a session created 60 s before revoke-all still refreshes")
	}

	// --before is checked against AWS's clock too: 30 s ago is the past
	// (though after the laptop's now), 30 s ahead is refused.
	if _, err := w.admin.RevokeAll(ctx, real.Add(-30*time.Second)); err != nil {
		t.Fatalf("--before 30 s ago by AWS's clock: %v", err)
	}
	if _, err := w.admin.RevokeAll(ctx, time.Now().Add(30*time.Second)); !errors.Is(err, admin.ErrBadTime) {
		t.Fatalf("--before 30 s ahead of AWS: %v, want ErrBadTime", err)
	}

	// No answer from AWS: no revoke-all on the laptop's clock.
	dead := &admin.AWSClock{Local: slow}
	down := testenv.AWSConfig("http://127.0.0.1:1")
	down.HTTPClient = dead.HTTPClient(nil)
	down.RetryMaxAttempts = 1
	unreachable := sts.NewFromConfig(down)
	w.admin.AWSNow = func(ctx context.Context) (time.Time, error) { return dead.NowFrom(ctx, unreachable) }
	if _, err := w.admin.RevokeAll(ctx, time.Time{}); !errors.Is(err, admin.ErrNoAWSTime) {
		t.Fatalf("revoke-all without AWS's time: %v, want ErrNoAWSTime", err)
	}
}
