package authorizer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/sessions"
)

// gatewayCache is one API Gateway node's authorizer cache in front of a
// shared (warm) authorizer: it keeps each allowed token's answer for ttl
// from when it got it, as API Gateway's authorizer result TTL does.
type gatewayCache struct {
	ttl   time.Duration
	a     *authorizer.Authorizer
	until map[string]time.Time
}

func (g *gatewayCache) allows(t *testing.T, authorization string, now time.Time) bool {
	t.Helper()
	if u, ok := g.until[authorization]; ok && now.Before(u) {
		return true
	}
	_, err := g.a.Authorize(context.Background(), authorization)
	if err != nil && !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Fatalf("Authorize: %v", err)
	}
	if err == nil && g.ttl > 0 {
		g.until[authorization] = now.Add(g.ttl)
	}
	return err == nil
}

// revocable is a strict-mode session checker whose one session ends at a
// given time, counting its reads.
type revocable struct {
	endsAt time.Time
	reads  int
}

func (r *revocable) Check(_ context.Context, _ string, now time.Time) error {
	r.reads++
	if !now.Before(r.endsAt) {
		return sessions.ErrUnknown
	}
	return nil
}

// TestRevocationBoundAcrossGatewayCaches, as the holder of an access token
// whose session the owner ends (strict sessions): the documented bound is
// that the token is refused everywhere within the authorizer cache TTL of
// the logout. Two API Gateway nodes, each with its own authorizer cache of
// gatewayTTL, share one warm authorizer. Node 1 asks at t0 and caches the
// answer; the session ends just after that check; node 2 first misses at any
// moment m of the attacker's choosing, and would cache whatever the warm
// authorizer answers for gatewayTTL more. A warm cache that kept its entry
// for the whole TTL let node 2 allow the token until almost 2×TTL after the
// logout; the warm cache serves an entry only for TTL - gatewayTTL.
func TestRevocationBoundAcrossGatewayCaches(t *testing.T) {
	const ttl = time.Minute
	f := newFixture(t)
	raw := "Bearer " + f.token(t, now) // exp = now + 15 min: the session check decides
	for _, gatewayTTL := range []time.Duration{0, ttl / 4, ttl / 2, ttl, 2 * ttl} {
		t.Run(fmt.Sprintf("gateway %s", gatewayTTL), func(t *testing.T) {
			// The documented bound is the cache TTL, or API Gateway's own
			// TTL if that is longer: the gateway alone keeps an answer so long.
			bound := max(ttl, gatewayTTL)
			moments := []time.Duration{0, ttl / 2, ttl - gatewayTTL - time.Millisecond, ttl - gatewayTTL, ttl - time.Millisecond, ttl}
			for _, m := range moments {
				if m < 0 {
					continue
				}
				clk := &clock{t: now}
				checker := &revocable{endsAt: now.Add(time.Millisecond)} // the worst moment: just after the first check
				a := f.authorizer(f.src, checker)
				a.Now, a.Verifier.Now = clk.now, clk.now
				a.Cache = &authorizer.Cache{TTL: ttl, GatewayTTL: gatewayTTL}
				nodes := []*gatewayCache{
					{ttl: gatewayTTL, a: a, until: map[string]time.Time{}},
					{ttl: gatewayTTL, a: a, until: map[string]time.Time{}},
				}
				if !nodes[0].allows(t, raw, clk.t) {
					t.Fatal("the live session's token is refused")
				}
				// Node 2's first miss at now+m; then requests through both
				// nodes every 5 s, and at the bound and just after it, until
				// every cache has run out.
				deadline := checker.endsAt.Add(bound)
				var probes []time.Time
				for at := now.Add(m); at.Before(deadline.Add(gatewayTTL + 5*time.Second)); at = at.Add(5 * time.Second) {
					probes = append(probes, at)
				}
				probes = append(probes, deadline, deadline.Add(time.Millisecond))
				slices.SortFunc(probes, time.Time.Compare)
				for i, at := range probes {
					clk.t = at
					for j, n := range nodes {
						if i == 0 && j == 0 {
							continue // node 2 asks first at now+m
						}
						if n.allows(t, raw, at) && !at.Before(deadline) {
							t.Fatalf("node 2 first missed at +%s: node %d allows the token %s after the logout; the bound is %s",
								m, j+1, at.Sub(checker.endsAt), bound)
						}
					}
				}
			}
		})
	}
}

// TestWarmCacheServesWithinItsShare: the warm cache still answers, without a
// session read, for TTL - GatewayTTL after a decision, and keeps nothing when
// API Gateway's cache spends the whole bound.
func TestWarmCacheServesWithinItsShare(t *testing.T) {
	const ttl = time.Minute
	f := newFixture(t)
	raw := "Bearer " + f.token(t, now)
	for _, tc := range []struct {
		gatewayTTL time.Duration
		share      time.Duration
	}{
		{0, ttl},
		{ttl / 4, ttl * 3 / 4},
		{ttl, 0},
		{2 * ttl, 0},
	} {
		t.Run(fmt.Sprintf("gateway %s", tc.gatewayTTL), func(t *testing.T) {
			clk := &clock{t: now}
			checker := &revocable{endsAt: now.Add(time.Hour)}
			a := f.authorizer(f.src, checker)
			a.Now, a.Verifier.Now = clk.now, clk.now
			a.Cache = &authorizer.Cache{TTL: ttl, GatewayTTL: tc.gatewayTTL}
			for _, at := range []time.Duration{0, tc.share - time.Millisecond, tc.share} {
				if at < 0 {
					continue
				}
				clk.t = now.Add(at)
				if _, err := a.Authorize(context.Background(), raw); err != nil {
					t.Fatal(err)
				}
			}
			want := 2 // the first decision, and the one at the end of the share
			if tc.share == 0 {
				want = 2 // nothing kept: each of the two distinct calls reads
			}
			if checker.reads != want {
				t.Fatalf("%d session reads; want %d (the warm cache serves for %s)", checker.reads, want, tc.share)
			}
			if tc.share == 0 && a.Cache.Len() != 0 {
				t.Fatalf("the warm cache holds %d decisions; want none", a.Cache.Len())
			}
		})
	}
}

// policyGateway is one API Gateway node in front of a REST TOKEN
// authorizer with result caching: it keeps the policy the authorizer
// returned for an Authorization value for ttl and evaluates every request
// ARN against it, the authorizer invoked only on a miss.
type policyGateway struct {
	ttl     time.Duration
	a       *authorizer.Authorizer
	cached  map[string]events.APIGatewayCustomAuthorizerPolicy
	until   map[string]time.Time
	invokes int
}

func (g *policyGateway) allows(t *testing.T, authorization, methodArn string, now time.Time) bool {
	t.Helper()
	if u, ok := g.until[authorization]; !ok || !now.Before(u) {
		g.invokes++
		ev, err := json.Marshal(events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: authorization, MethodArn: methodArn})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := handle(t, g.a, ev)
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		g.cached[authorization] = resp.(events.APIGatewayCustomAuthorizerResponse).PolicyDocument
		g.until[authorization] = now.Add(g.ttl)
	}
	return iamAllows(g.cached[authorization], methodArn)
}

// TestStepUpThroughGatewayPolicyCache, as the holder of a password
// login's token facing a REST API whose gateway caches policies for 60 s:
// whatever route they call first (an ordinary one, to get an Allow
// cached), every later call within the TTL is answered from that one
// cached policy, and the MFA routes stay refused while the rest stay open;
// the owner's MFA token, cached the same way, opens all of them.
func TestStepUpThroughGatewayPolicyCache(t *testing.T) {
	f := newFixture(t)
	const api = "arn:aws:execute-api:eu-west-1:123456789012:abc1234567/prod/"
	calls := []struct {
		route    string
		needsMFA bool
	}{
		{"GET/me", false}, {"POST/payments/1", true}, {"GET/payments/1", false},
		{"DELETE/account", true}, {"POST/payments/1/refund", true}, {"GET/me", false},
	}
	for _, tk := range []struct {
		name string
		amr  []string
		mfa  bool
	}{{"password", []string{"pwd"}, false}, {"mfa", []string{"pwd", "otp", "mfa"}, true}} {
		for first := range calls {
			t.Run(fmt.Sprintf("%s/first %s", tk.name, calls[first].route), func(t *testing.T) {
				g := &policyGateway{ttl: time.Minute, a: f.stepUpAuthorizer(t),
					cached: map[string]events.APIGatewayCustomAuthorizerPolicy{}, until: map[string]time.Time{}}
				raw := "Bearer " + f.tokenWith(t, tk.amr)
				order := append(slices.Clone(calls[first:]), calls[:first]...)
				for i, c := range order {
					at := now.Add(time.Duration(i) * 5 * time.Second)
					if got, want := g.allows(t, raw, api+c.route, at), !c.needsMFA || tk.mfa; got != want {
						t.Errorf("%s at +%ds: allowed %v; want %v", c.route, i*5, got, want)
					}
				}
				if g.invokes != 1 {
					t.Errorf("%d authorizer invocations; want 1 (every other call from the cache)", g.invokes)
				}
			})
		}
	}
}
