package authorizer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/golang-jwt/jwt/v5"

	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
)

// The benchmarks below time one ES256 access token four ways, for the ratios
// in BENCHMARKS.md: the bare signature check, golang-jwt used the usual way,
// Rotor's whole TOKEN event, and a decision cache hit. scripts/bench.sh runs
// them on the token of `go run ./bench/fixture` (ROTOR_BENCH_FIXTURE), the
// one bench/verify.mjs gives aws-jwt-verify; without it they make their own.

// compared is the token all comparison benchmarks verify.
type compared struct {
	raw              string
	key              keys.Key
	issuer, audience string
	now              time.Time
}

func comparedToken(b *testing.B) compared {
	b.Helper()
	path := os.Getenv("ROTOR_BENCH_FIXTURE")
	if path == "" {
		f := newFixture(b)
		return compared{raw: f.token(b, now), key: f.key, issuer: "rotor", audience: "rotor-api", now: now}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var fx struct {
		Token, Issuer, Audience string
		Key                     json.RawMessage
	}
	if err := json.Unmarshal(data, &fx); err != nil {
		b.Fatal(err)
	}
	k, err := keys.Parse(fx.Key)
	if err != nil {
		b.Fatal(err)
	}
	return compared{raw: fx.Token, key: k, issuer: fx.Issuer, audience: fx.Audience, now: time.Now()}
}

func (c compared) authorizer() *authorizer.Authorizer {
	clock := func() time.Time { return c.now }
	return &authorizer.Authorizer{
		Verifier: &token.Verifier{Keys: keys.Static{Current: c.key}, Alg: "ES256", Issuer: c.issuer, Audience: c.audience,
			Leeway: 30 * time.Second, Now: clock},
		Log: slog.New(slog.DiscardHandler),
		Now: clock,
	}
}

// event is a REST TOKEN event carrying the token.
func (c compared) event(b *testing.B) json.RawMessage {
	return shapes[0].event(b, "Bearer "+c.raw)
}

// cpuPerOp reports the process's CPU time (user + system) per iteration as
// "cpu-ns/op" beside the wall-clock ns/op: on a shared machine the wall clock
// also counts time other processes held the cores, CPU time mostly does not.
// Call it after setup; it reports when the benchmark returns.
func cpuPerOp(b *testing.B) {
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

// bareVerify is the floor: SHA-256 of the signing input and one ECDSA P-256
// verification by crypto/ecdsa, with the signature already decoded and
// DER-encoded, the form ecdsa.VerifyASN1 takes without converting.
func bareVerify(b *testing.B, c compared) func() {
	raw := c.raw
	dot := strings.LastIndexByte(raw, '.')
	sig, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
	if err != nil || len(sig) != 64 {
		b.Fatalf("signature: %v (%d bytes)", err, len(sig))
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
	if err != nil {
		b.Fatal(err)
	}
	pub := c.key.Public.(*ecdsa.PublicKey)
	input := []byte(raw[:dot])
	return func() {
		h := sha256.Sum256(input)
		if !ecdsa.VerifyASN1(pub, h[:], der) {
			b.Fatal("signature refused")
		}
	}
}

// golangJWTParse is golang-jwt as its README uses it: a new parser with
// Rotor's options and RegisteredClaims, per token.
func golangJWTParse(b *testing.B, c compared) func() {
	pub := c.key.Public
	clock := func() time.Time { return c.now }
	return func() {
		var claims jwt.RegisteredClaims
		_, err := jwt.ParseWithClaims(c.raw, &claims, func(*jwt.Token) (any, error) { return pub, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(c.issuer), jwt.WithAudience(c.audience),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(clock))
		if err != nil {
			b.Fatal(err)
		}
	}
}

// rotorDecision is Rotor's whole decision: a REST TOKEN event's JSON in, the
// Allow policy's JSON out, no cache.
func rotorDecision(b *testing.B, c compared) func() {
	a := c.authorizer()
	ev := c.event(b)
	ctx := context.Background()
	return func() {
		if _, err := a.Invoke(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func benchOp(b *testing.B, op func(*testing.B, compared) func()) {
	f := op(b, comparedToken(b))
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		f()
	}
}

// BenchmarkBareVerifyES256 times bareVerify.
func BenchmarkBareVerifyES256(b *testing.B) { benchOp(b, bareVerify) }

// BenchmarkGolangJWTParse times golangJWTParse.
func BenchmarkGolangJWTParse(b *testing.B) { benchOp(b, golangJWTParse) }

// BenchmarkRotorTokenEvent times rotorDecision.
func BenchmarkRotorTokenEvent(b *testing.B) { benchOp(b, rotorDecision) }

// BenchmarkPaired runs the three side by side, one of each per iteration in
// a rotating order, and reports the median wall time of each and the ratios
// of the medians. On a shared machine a preemption or a neighbour's burst
// lands on a few operations, which the medians leave out, and a slow drift
// of the machine's speed lands on all three alike: the ratios it reports are
// the steadiest this machine gives. The figures are wall-clock nanoseconds.
func BenchmarkPaired(b *testing.B) {
	c := comparedToken(b)
	paired(b, []string{"bare", "golang-jwt", "rotor"}, []func(){bareVerify(b, c), golangJWTParse(b, c), rotorDecision(b, c)})
}

// paired runs ops side by side, one of each per iteration in a rotating
// order (see BenchmarkPaired for why), and reports the median wall time of
// each, as <name>-p50-ns, and the ratio of each median to the first op's,
// as <name>/<first name>.
func paired(b *testing.B, names []string, ops []func()) {
	times := make([][]time.Duration, len(ops))
	i := 0
	for b.Loop() {
		for k := range ops {
			j := (i + k) % len(ops)
			start := time.Now()
			ops[j]()
			times[j] = append(times[j], time.Since(start))
		}
		i++
	}
	p50 := make([]float64, len(ops))
	for j, t := range times {
		slices.Sort(t)
		p50[j] = float64(t[len(t)/2])
		b.ReportMetric(p50[j], names[j]+"-p50-ns")
	}
	for j := 1; j < len(ops); j++ {
		b.ReportMetric(p50[j]/p50[0], names[j]+"/"+names[0])
	}
}

// BenchmarkHandleTokenEventCached is a decision cache hit: the TOKEN event
// decoded, the token hashed and found, the policy built.
func BenchmarkHandleTokenEventCached(b *testing.B) {
	c := comparedToken(b)
	a := c.authorizer()
	a.Cache = &authorizer.Cache{TTL: time.Minute}
	ev := c.event(b)
	ctx := context.Background()
	if _, err := a.Invoke(ctx, ev); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		if _, err := a.Invoke(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheHit is the lookup alone: hash the token, find its decision.
func BenchmarkCacheHit(b *testing.B) {
	c := comparedToken(b)
	cache := &authorizer.Cache{TTL: time.Minute}
	cache.Put(authorizer.KeyOf(c.raw), authorizer.Identity{UserID: "u"}, c.now.Add(time.Hour), c.now)
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		if _, ok := cache.Get(authorizer.KeyOf(c.raw), c.now); !ok {
			b.Fatal("miss")
		}
	}
}

// BenchmarkLambdaHandlerTyped is the same decision written the usual
// aws-lambda-go way, for comparison with BenchmarkLambdaHandlerInvoke: typed
// events through lambda.NewHandler's reflection (the payload decoded into the
// request type, the response with a map context encoded by reflection).
func BenchmarkLambdaHandlerTyped(b *testing.B) {
	c := comparedToken(b)
	a := c.authorizer()
	h := lambda.NewHandler(func(ctx context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		id, err := a.Authorize(ctx, e.AuthorizationToken)
		if err != nil {
			return events.APIGatewayCustomAuthorizerResponse{}, err
		}
		return events.APIGatewayCustomAuthorizerResponse{
			PrincipalID: id.UserID,
			PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{authorizer.APIWildcard(e.MethodArn)}},
			}},
			Context: id.Context(),
		}, nil
	})
	benchHandler(b, c, h)
}

// BenchmarkLambdaHandlerInvoke is Rotor's decision as Lambda runs it:
// Authorizer is the lambda.Handler, bytes in and out.
func BenchmarkLambdaHandlerInvoke(b *testing.B) {
	c := comparedToken(b)
	benchHandler(b, c, lambda.NewHandler(c.authorizer()))
}

func benchHandler(b *testing.B, c compared, h lambda.Handler) {
	ev := c.event(b)
	ctx := context.Background()
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		if _, err := h.Invoke(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}
