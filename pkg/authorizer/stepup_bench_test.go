package authorizer_test

import (
	"context"
	"testing"
)

// BenchmarkPairedStepUp times, side by side as BenchmarkPaired does (one of
// each per iteration, rotating order, medians), what the route check of
// step-up at the edge costs: the bare signature check of a token carrying
// amr and auth_time; Rotor's whole TOKEN decision without MFA routes; with
// two MFA routes for a password token (the Deny statement built, the
// event's route matched for the log line); and with the routes for an MFA
// token (one amr scan). It reports the medians and their ratios to the
// bare check.
func BenchmarkPairedStepUp(b *testing.B) {
	f := newFixture(b)
	pwd, mfa := f.tokenWith(b, []string{"pwd"}), f.tokenWith(b, []string{"pwd", "otp", "mfa"})
	c := compared{raw: pwd, key: f.key, issuer: "rotor", audience: "rotor-api", now: now}
	plain := c.authorizer()
	routed := f.stepUpAuthorizer(b)
	ctx := context.Background()
	evPwd := shapes[0].event(b, "Bearer "+pwd)
	evMFA := shapes[0].event(b, "Bearer "+mfa)
	invoke := func(a interface {
		Invoke(context.Context, []byte) ([]byte, error)
	}, ev []byte) func() {
		return func() {
			if _, err := a.Invoke(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	ops := []func(){bareVerify(b, c), invoke(plain, evPwd), invoke(routed, evPwd), invoke(routed, evMFA)}
	cpuPerOp(b)
	paired(b, []string{"bare", "no-routes", "routes-pwd", "routes-mfa"}, ops)
}
