package authorizer_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/dpop"
)

// unspent is a replay store that accepts every proof: the benchmarks time
// the authorizer's CPU, and price the store's one conditional write
// separately (docs/COST.md). Never used outside benchmarks.
type unspent struct{}

func (unspent) SpendDPoPProof(context.Context, string, time.Time) error { return nil }

// dpopBench is what the DPoP benchmarks decide: a REST REQUEST event with a
// bearer token, and one with a bound token and its proof (ES256 both).
type dpopBench struct {
	bare             compared
	bearer, bound    json.RawMessage
	plain, withCache *authorizer.Authorizer
}

func newDPoPBench(b *testing.B) dpopBench {
	f := newFixture(b)
	s := dpopShapes[0] // REST REQUEST, the template's authorizer with Dpop on
	h := f.holder(b)
	bearer := f.token(b, now)
	plain := f.dpopAuthorizer(unspent{}, nil)
	withCache := f.dpopAuthorizer(unspent{}, nil)
	withCache.Cache = &authorizer.Cache{TTL: time.Hour}
	d := dpopBench{
		bare:   compared{raw: h.access, key: f.key, issuer: "rotor", audience: "rotor-api", now: now},
		bearer: s.event(b, "Bearer "+bearer),
		bound:  s.event(b, "DPoP "+h.access, proof(b, h.key, s.method, s.url, h.access, now)),
		plain:  plain, withCache: withCache,
	}
	ctx := context.Background()
	for _, a := range []*authorizer.Authorizer{plain, withCache} {
		for _, ev := range []json.RawMessage{d.bearer, d.bound} {
			if _, err := a.Invoke(ctx, ev); err != nil {
				b.Fatalf("setup decision: %v", err)
			}
		}
	}
	return d
}

func (d dpopBench) decide(b *testing.B, a *authorizer.Authorizer, ev json.RawMessage) func() {
	ctx := context.Background()
	return func() {
		if _, err := a.Invoke(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDPoPRequestBearer is a REST REQUEST event with a bearer token:
// what each call costs with Dpop on when the client does not bind.
func BenchmarkDPoPRequestBearer(b *testing.B) {
	d := newDPoPBench(b)
	benchFunc(b, d.decide(b, d.plain, d.bearer))
}

// BenchmarkDPoPRequestProof is a REST REQUEST event with a bound token and
// its proof: the token's check and the proof's (JWS parse, ES256 verify,
// thumbprint, htm/htu/ath/iat), the spend a no-op.
func BenchmarkDPoPRequestProof(b *testing.B) {
	d := newDPoPBench(b)
	benchFunc(b, d.decide(b, d.plain, d.bound))
}

// BenchmarkDPoPRequestProofCachedToken is the same with the token's
// verification in the warm cache: the proof alone is checked.
func BenchmarkDPoPRequestProofCachedToken(b *testing.B) {
	d := newDPoPBench(b)
	benchFunc(b, d.decide(b, d.withCache, d.bound))
}

func benchFunc(b *testing.B, f func()) {
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		f()
	}
}

// BenchmarkDPoPPaired runs, side by side in a rotating order, the bare
// ES256 check, a REST REQUEST decision with a bearer token, one with a bound
// token and its proof, and that one with the token in the warm cache; it
// reports the median wall time of each and their ratios to the bare check
// (see BenchmarkPaired for why medians).
func BenchmarkDPoPPaired(b *testing.B) {
	d := newDPoPBench(b)
	paired(b, []string{"bare", "bearer", "proof", "proof-cached-token"},
		[]func(){bareVerify(b, d.bare), d.decide(b, d.plain, d.bearer), d.decide(b, d.plain, d.bound), d.decide(b, d.withCache, d.bound)})
}

var _ dpop.ReplayCache = unspent{}
