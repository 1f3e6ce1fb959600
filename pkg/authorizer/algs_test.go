package authorizer_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
)

// The benchmarks below hold the authorizer's decision against the bare
// signature check of its own algorithm, for each asymmetric algorithm Rotor
// signs with (ES256, EdDSA, RS256): the P1 ratios and the cheapest authorizer
// in BENCHMARKS.md. Each makes its own key and token.

var benchAlgs = []string{"ES256", "EdDSA", "RS256"}

// algToken is one access token of alg with the authorizer that accepts it.
type algToken struct {
	alg string
	raw string
	key keys.Key
}

func newAlgToken(b *testing.B, alg string) algToken {
	b.Helper()
	k, err := keys.Generate(alg, nil, now)
	if err != nil {
		b.Fatal(err)
	}
	iss := &token.Issuer{Keys: keys.Static{Current: k}, Issuer: "rotor", Audience: "rotor-api", TTL: 15 * time.Minute}
	raw, err := iss.Issue(context.Background(), subject, now)
	if err != nil {
		b.Fatal(err)
	}
	return algToken{alg: alg, raw: raw, key: k}
}

func (t algToken) authorizer() *authorizer.Authorizer {
	clock := func() time.Time { return now }
	return &authorizer.Authorizer{
		Verifier: &token.Verifier{Keys: keys.Static{Current: t.key}, Alg: t.alg, Issuer: "rotor", Audience: "rotor-api",
			Leeway: 30 * time.Second, Now: clock},
		Log: slog.New(slog.DiscardHandler),
		Now: clock,
	}
}

// bare is the floor for t's algorithm: the signature already decoded (and,
// for ES256, DER-encoded), then the hash and the standard library's verify.
func (t algToken) bare(b *testing.B) func() {
	dot := strings.LastIndexByte(t.raw, '.')
	sig, err := base64.RawURLEncoding.DecodeString(t.raw[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	input := []byte(t.raw[:dot])
	switch pub := t.key.Public.(type) {
	case *ecdsa.PublicKey:
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
		if err != nil {
			b.Fatal(err)
		}
		return func() {
			h := sha256.Sum256(input)
			if !ecdsa.VerifyASN1(pub, h[:], der) {
				b.Fatal("signature refused")
			}
		}
	case ed25519.PublicKey:
		return func() {
			if !ed25519.Verify(pub, input, sig) {
				b.Fatal("signature refused")
			}
		}
	case *rsa.PublicKey:
		return func() {
			h := sha256.Sum256(input)
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Fatalf("%s: public key %T", t.alg, t.key.Public)
	return nil
}

// decision is the whole uncached decision: TOKEN event JSON in, policy out.
func (t algToken) decision(b *testing.B) func() {
	a := t.authorizer()
	ev := shapes[0].event(b, "Bearer "+t.raw)
	ctx := context.Background()
	return func() {
		if _, err := a.Invoke(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// cached is a warm decision cache hit for the same event.
func (t algToken) cached(b *testing.B) func() {
	a := t.authorizer()
	a.Cache = &authorizer.Cache{TTL: time.Minute}
	ev := shapes[0].event(b, "Bearer "+t.raw)
	ctx := context.Background()
	if _, err := a.Invoke(ctx, ev); err != nil {
		b.Fatal(err)
	}
	return func() {
		if _, err := a.Invoke(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAlg times, per algorithm, the bare check, the decision and a
// cache hit, each as its own sub-benchmark with CPU time per operation.
func BenchmarkAlg(b *testing.B) {
	for _, alg := range benchAlgs {
		for _, op := range []struct {
			name string
			f    func(algToken, *testing.B) func()
		}{{"bare", algToken.bare}, {"decision", algToken.decision}, {"cached", algToken.cached}} {
			b.Run(alg+"/"+op.name, func(b *testing.B) {
				f := op.f(newAlgToken(b, alg), b)
				b.ReportAllocs()
				cpuPerOp(b)
				for b.Loop() {
					f()
				}
			})
		}
	}
}

// BenchmarkAlgPaired runs, per algorithm, the bare check, the decision and a
// cache hit one after another in a rotating order, and reports the median
// wall time of each and the ratios of the medians to the bare check (as
// BenchmarkPaired does for ES256 against golang-jwt).
func BenchmarkAlgPaired(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			t := newAlgToken(b, alg)
			paired(b, []string{"bare", "decision", "cached"}, []func(){t.bare(b), t.decision(b), t.cached(b)})
		})
	}
}
