package keys_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/keys"
)

var epoch = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

var algs = []string{"ES256", "RS256", "EdDSA", "HS256"}

func generate(t testing.TB, alg string) keys.Key {
	t.Helper()
	k, err := keys.Generate(alg, nil, epoch)
	if err != nil {
		t.Fatalf("Generate(%s): %v", alg, err)
	}
	return k
}

func samePublic(a, b any) bool {
	if ab, ok := a.([]byte); ok {
		bb, ok := b.([]byte)
		return ok && bytes.Equal(ab, bb)
	}
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

func TestGenerateMarshalParse(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			k := generate(t, alg)
			if k.ID == "" || k.Alg != alg || !k.CreatedAt.Equal(epoch) {
				t.Fatalf("Generate = id %q alg %q created %v", k.ID, k.Alg, k.CreatedAt)
			}
			data, err := k.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			got, err := keys.Parse(data)
			if err != nil {
				t.Fatalf("Parse(Marshal(k)): %v", err)
			}
			if got.ID != k.ID || got.Alg != k.Alg || !got.CreatedAt.Equal(k.CreatedAt) {
				t.Errorf("Parse = id %q alg %q created %v; want %q %q %v", got.ID, got.Alg, got.CreatedAt, k.ID, k.Alg, k.CreatedAt)
			}
			if !samePublic(got.Public, k.Public) || !samePublic(got.Private, k.Private) && alg == "HS256" {
				t.Error("Parse did not give back the same key")
			}
			if s, ok := got.Private.(crypto.Signer); ok && !samePublic(s.Public(), k.Public) {
				t.Error("parsed private key does not match the public key")
			}
			if k2 := generate(t, alg); k2.ID == k.ID {
				t.Errorf("two generated keys share kid %q", k.ID)
			}
		})
	}
}

func TestGenerateUnsupported(t *testing.T) {
	for _, alg := range []string{"", "none", "ES384", "PS256", "HS512", "es256"} {
		if _, err := keys.Generate(alg, nil, epoch); !errors.Is(err, keys.ErrUnsupported) {
			t.Errorf("Generate(%q) = %v; want ErrUnsupported", alg, err)
		}
	}
}

func pkcs8(t *testing.T, priv any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func secretJSON(t *testing.T, v map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseErrors(t *testing.T) {
	ec := generate(t, "ES256")
	ed := generate(t, "EdDSA")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := pkcs8(t, ec.Private)
	ecDER, _ := x509.MarshalECPrivateKey(ec.Private.(*ecdsa.PrivateKey))
	sec1PEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
	b64 := base64.StdEncoding.EncodeToString

	tests := []struct {
		name string
		data []byte
		want error
	}{
		// What a fresh secret holds before its first rotation.
		{"random string placeholder", []byte("q9#Lr2!vX8kP0zT5wYbN3mC7"), keys.ErrNoKey},
		{"empty object", []byte(`{}`), keys.ErrNoKey},
		{"empty", nil, keys.ErrNoKey},
		{"null", []byte(`null`), keys.ErrNoKey},
		{"array", []byte(`[]`), keys.ErrNoKey},
		{"other JSON", []byte(`{"password":"hunter22"}`), keys.ErrNoKey},

		{"no kid", secretJSON(t, map[string]any{"alg": "ES256", "private_key": ecPEM}), keys.ErrMalformed},
		{"private key not PEM", secretJSON(t, map[string]any{"kid": "k", "alg": "ES256", "private_key": "MIGHAgEAMBMG"}), keys.ErrMalformed},
		{"PEM of garbage", secretJSON(t, map[string]any{"kid": "k", "alg": "ES256", "private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("garbage")}))}), keys.ErrMalformed},
		{"SEC1 instead of PKCS#8", secretJSON(t, map[string]any{"kid": "k", "alg": "ES256", "private_key": sec1PEM}), keys.ErrMalformed},
		{"HS256 secret not base64", secretJSON(t, map[string]any{"kid": "k", "alg": "HS256", "secret": "!!!"}), keys.ErrMalformed},
		{"HS256 secret 31 bytes", secretJSON(t, map[string]any{"kid": "k", "alg": "HS256", "secret": b64(make([]byte, 31))}), keys.ErrMalformed},
		{"HS256 secret missing", secretJSON(t, map[string]any{"kid": "k", "alg": "HS256"}), keys.ErrMalformed},

		{"ES256 label on an Ed25519 key", secretJSON(t, map[string]any{"kid": "k", "alg": "ES256", "private_key": pkcs8(t, ed.Private)}), keys.ErrUnsupported},
		{"EdDSA label on a P-256 key", secretJSON(t, map[string]any{"kid": "k", "alg": "EdDSA", "private_key": ecPEM}), keys.ErrUnsupported},
		{"RS256 label on a P-256 key", secretJSON(t, map[string]any{"kid": "k", "alg": "RS256", "private_key": ecPEM}), keys.ErrUnsupported},
		{"ES256 with a P-384 key", secretJSON(t, map[string]any{"kid": "k", "alg": "ES256", "private_key": pkcs8(t, p384)}), keys.ErrUnsupported},
		{"RSA 1024 bits", secretJSON(t, map[string]any{"kid": "k", "alg": "RS256", "private_key": pkcs8(t, rsa1024)}), keys.ErrUnsupported},
		{"alg none", secretJSON(t, map[string]any{"kid": "k", "alg": "none", "private_key": ecPEM}), keys.ErrUnsupported},
		{"no alg", secretJSON(t, map[string]any{"kid": "k", "private_key": ecPEM}), keys.ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := keys.Parse(tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %+v, %v; want %v", k, err, tc.want)
			}
			if k.Private != nil || k.Public != nil {
				t.Errorf("Parse returned key material with an error")
			}
		})
	}
}

func TestLookup(t *testing.T) {
	cur, prev := generate(t, "ES256"), generate(t, "ES256")
	tests := []struct {
		name string
		set  keys.Set
		kid  string
		want string // "" when not found
	}{
		{"current", keys.Set{Current: cur, Previous: &prev}, cur.ID, cur.ID},
		{"previous", keys.Set{Current: cur, Previous: &prev}, prev.ID, prev.ID},
		{"unknown", keys.Set{Current: cur, Previous: &prev}, "nope", ""},
		{"no previous", keys.Set{Current: cur}, prev.ID, ""},
		{"empty kid", keys.Set{Current: cur, Previous: &prev}, "", ""},
		{"empty kid on a zero set", keys.Set{}, "", ""},
		{"empty kid against a key without id", keys.Set{Current: keys.Key{Alg: "ES256", Public: cur.Public}}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, ok := tc.set.Lookup(tc.kid)
			if ok != (tc.want != "") || k.ID != tc.want {
				t.Fatalf("Lookup(%q) = %q, %v; want %q", tc.kid, k.ID, ok, tc.want)
			}
		})
	}
}

// jwksJSON returns the set's JWKS as JSON objects, the way a client sees it.
func jwksJSON(t *testing.T, s keys.Set) (string, []map[string]string) {
	t.Helper()
	b, err := json.Marshal(s.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JWKS %s: %v", b, err)
	}
	if doc.Keys == nil {
		t.Fatalf("JWKS %s: \"keys\" must be an array", b)
	}
	return string(b), doc.Keys
}

func b64url(t *testing.T, s string, n int) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("%q is not unpadded base64url: %v", s, err)
	}
	if n > 0 && len(b) != n {
		t.Fatalf("%q decodes to %d bytes; want %d", s, len(b), n)
	}
	return b
}

func TestJWKS(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k := generate(t, alg)
			raw, jwks := jwksJSON(t, keys.Set{Current: k})
			if len(jwks) != 1 {
				t.Fatalf("JWKS %s: want one key", raw)
			}
			j := jwks[0]
			if j["kid"] != k.ID || j["alg"] != alg || j["use"] != "sig" {
				t.Errorf("kid/alg/use = %q %q %q; want %q %q sig", j["kid"], j["alg"], j["use"], k.ID, alg)
			}
			// RFC 7517/7518/8037 private members: none may ever appear.
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
				if _, ok := j[private]; ok {
					t.Errorf("JWKS %s has private member %q", raw, private)
				}
			}
			allowed := map[string]bool{"kty": true, "use": true, "alg": true, "kid": true, "crv": true, "x": true, "y": true, "n": true, "e": true}
			for name := range j {
				if !allowed[name] {
					t.Errorf("JWKS has unexpected member %q", name)
				}
			}
			switch alg {
			case "ES256":
				if j["kty"] != "EC" || j["crv"] != "P-256" || len(j["x"]) != 43 || len(j["y"]) != 43 || j["n"] != "" {
					t.Fatalf("EC JWK = %v", j)
				}
				pt := append(append([]byte{4}, b64url(t, j["x"], 32)...), b64url(t, j["y"], 32)...)
				pub, err := ecdh.P256().NewPublicKey(pt)
				if err != nil {
					t.Fatalf("x, y are not a P-256 point: %v", err)
				}
				want, _ := k.Public.(*ecdsa.PublicKey).ECDH()
				if !pub.Equal(want) {
					t.Error("x, y are not the key's point")
				}
				d := k.Private.(*ecdsa.PrivateKey).D.FillBytes(make([]byte, 32))
				if strings.Contains(raw, base64.RawURLEncoding.EncodeToString(d)) {
					t.Error("JWKS contains the private scalar")
				}
			case "RS256":
				n := new(big.Int).SetBytes(b64url(t, j["n"], 256))
				e := new(big.Int).SetBytes(b64url(t, j["e"], 0))
				pub := k.Public.(*rsa.PublicKey)
				if j["kty"] != "RSA" || n.Cmp(pub.N) != 0 || e.Int64() != int64(pub.E) || j["e"] != "AQAB" || j["crv"] != "" {
					t.Errorf("RSA JWK = %v", j)
				}
				if j["n"][0] == 'A' {
					t.Error("n has a leading zero byte (RFC 7518 §6.3.1.1)")
				}
			case "EdDSA":
				x := b64url(t, j["x"], ed25519.PublicKeySize)
				if j["kty"] != "OKP" || j["crv"] != "Ed25519" || j["y"] != "" || !bytes.Equal(x, k.Public.(ed25519.PublicKey)) {
					t.Errorf("OKP JWK = %v", j)
				}
				seed := k.Private.(ed25519.PrivateKey).Seed()
				if strings.Contains(raw, base64.RawURLEncoding.EncodeToString(seed)) {
					t.Error("JWKS contains the private seed")
				}
			}
		})
	}
}

func TestJWKSNeverPublishesHS256(t *testing.T) {
	hs := generate(t, "HS256")
	es := generate(t, "ES256")
	secret := hs.Private.([]byte)
	tests := []struct {
		name string
		set  keys.Set
		want []string
	}{
		{"HS256 only", keys.Set{Current: hs}, nil},
		{"HS256 previous", keys.Set{Current: es, Previous: &hs}, []string{es.ID}},
		{"HS256 current", keys.Set{Current: hs, Previous: &es}, []string{es.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, jwks := jwksJSON(t, tc.set)
			var kids []string
			for _, j := range jwks {
				kids = append(kids, j["kid"])
			}
			if fmt.Sprint(kids) != fmt.Sprint(tc.want) {
				t.Errorf("JWKS kids = %v; want %v", kids, tc.want)
			}
			for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
				if strings.Contains(raw, enc.EncodeToString(secret)) {
					t.Errorf("JWKS %s contains the HS256 secret", raw)
				}
			}
		})
	}
}

func TestJWKSCurrentAndPrevious(t *testing.T) {
	cur, prev := generate(t, "ES256"), generate(t, "EdDSA")
	_, jwks := jwksJSON(t, keys.Set{Current: cur, Previous: &prev})
	if len(jwks) != 2 || jwks[0]["kid"] != cur.ID || jwks[1]["kid"] != prev.ID {
		t.Fatalf("JWKS = %v; want current %s then previous %s", jwks, cur.ID, prev.ID)
	}
}

// clock is a fake time source a test moves by hand.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// fetcher counts calls and answers with the set or error it is told to.
type fetcher struct {
	mu    sync.Mutex
	calls int
	set   keys.Set
	err   error
}

func (f *fetcher) Fetch(context.Context) (keys.Set, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.set, f.err
}

func (f *fetcher) answer(set keys.Set, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set, f.err = set, err
}

func TestCache(t *testing.T) {
	k1, k2, k3 := generate(t, "EdDSA"), generate(t, "EdDSA"), generate(t, "EdDSA")
	outage := errors.New("secrets manager unavailable")
	const ttl, retry = 5 * time.Minute, 20 * time.Second

	type step struct {
		advance time.Duration
		set     *keys.Key // what the fetch answers; nil: it fails
		wantKid string    // "" : Keys must fail
		calls   int       // total fetches so far
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"fetch once per TTL", []step{
			{0, &k1, k1.ID, 1},
			{time.Minute, &k2, k1.ID, 1},
			{ttl - time.Minute - time.Nanosecond, &k2, k1.ID, 1},
			{time.Nanosecond, &k2, k2.ID, 2},
			{ttl - time.Second, &k3, k2.ID, 2},
			{time.Second, &k3, k3.ID, 3},
		}},
		{"last good set served while re-fetch fails, retried after RetryAfter", []step{
			{0, &k1, k1.ID, 1},
			{ttl, nil, k1.ID, 2},
			{retry - time.Nanosecond, nil, k1.ID, 2},
			{time.Nanosecond, nil, k1.ID, 3},
			{retry, &k2, k2.ID, 4},
			{retry, &k3, k2.ID, 4}, // back on the TTL schedule
		}},
		{"fails closed with no good set, and retries on the next call", []step{
			{0, nil, "", 1},
			{0, nil, "", 2},
			{time.Second, &k1, k1.ID, 3},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: epoch}
			f := &fetcher{}
			c := &keys.Cache{Fetch: f.Fetch, TTL: ttl, RetryAfter: retry, Now: clk.Now}
			for i, s := range tc.steps {
				clk.Advance(s.advance)
				if s.set != nil {
					f.answer(keys.Set{Current: *s.set}, nil)
				} else {
					f.answer(keys.Set{}, outage)
				}
				got, err := c.Keys(context.Background())
				switch {
				case s.wantKid == "" && !errors.Is(err, outage):
					t.Fatalf("step %d: Keys = %q, %v; want the fetch error", i, got.Current.ID, err)
				case s.wantKid != "" && (err != nil || got.Current.ID != s.wantKid):
					t.Fatalf("step %d: Keys = %q, %v; want %q", i, got.Current.ID, err, s.wantKid)
				}
				if f.calls != s.calls {
					t.Fatalf("step %d: %d fetches; want %d", i, f.calls, s.calls)
				}
			}
		})
	}
}

func TestCacheDefaultRetryAfter(t *testing.T) {
	k := generate(t, "EdDSA")
	clk := &clock{t: epoch}
	f := &fetcher{set: keys.Set{Current: k}}
	c := &keys.Cache{Fetch: f.Fetch, TTL: time.Minute, Now: clk.Now}
	if _, err := c.Keys(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.answer(keys.Set{}, errors.New("down"))
	clk.Advance(time.Minute)
	if _, err := c.Keys(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10*time.Second - time.Nanosecond)
	_, _ = c.Keys(context.Background())
	if f.calls != 2 {
		t.Fatalf("%d fetches before the default 10s retry; want 2", f.calls)
	}
	clk.Advance(time.Nanosecond)
	_, _ = c.Keys(context.Background())
	if f.calls != 3 {
		t.Fatalf("%d fetches after the default 10s retry; want 3", f.calls)
	}
}

// TestCacheConcurrent: a cold start with many concurrent requests fetches once.
func TestCacheConcurrent(t *testing.T) {
	k := generate(t, "EdDSA")
	f := &fetcher{set: keys.Set{Current: k}}
	c := &keys.Cache{Fetch: f.Fetch, TTL: time.Minute}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if s, err := c.Keys(context.Background()); err != nil || s.Current.ID != k.ID {
				t.Errorf("Keys = %q, %v", s.Current.ID, err)
			}
		})
	}
	wg.Wait()
	if f.calls != 1 {
		t.Errorf("%d fetches; want 1", f.calls)
	}
}

func TestSigning(t *testing.T) {
	at := func(k keys.Key, signAfter time.Time) keys.Key { k.SignAfter = signAfter; return k }
	cur, prev := generate(t, "EdDSA"), generate(t, "EdDSA")
	tests := []struct {
		name string
		set  keys.Set
		want string
	}{
		{"current active", keys.Set{Current: at(cur, epoch.Add(-time.Minute)), Previous: &prev}, cur.ID},
		{"current activates at this instant", keys.Set{Current: at(cur, epoch), Previous: &prev}, cur.ID},
		{"current not active yet: previous signs", keys.Set{Current: at(cur, epoch.Add(time.Nanosecond)), Previous: &prev}, prev.ID},
		{"current without sign_after (old format)", keys.Set{Current: cur, Previous: &prev}, cur.ID},
		{"first key, not active yet, no previous", keys.Set{Current: at(cur, epoch.Add(time.Hour))}, cur.ID},
		{"two rotations within one delay: the older key signs", keys.Set{Current: at(cur, epoch.Add(time.Hour)), Previous: ptr(at(prev, epoch.Add(time.Minute)))}, prev.ID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.set.Signing(epoch); got.ID != tc.want {
				t.Errorf("Signing = %s; want %s", got.ID, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestSignAfterFormat(t *testing.T) {
	k := generate(t, "EdDSA")
	k.SignAfter = epoch.Add(15 * time.Minute)
	data, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["sign_after"] != "2031-03-14T15:24:26Z" {
		t.Errorf("sign_after = %v; want RFC 3339 2031-03-14T15:24:26Z", raw["sign_after"])
	}
	got, err := keys.Parse(data)
	if err != nil || !got.SignAfter.Equal(k.SignAfter) {
		t.Fatalf("Parse = %v, %v; want sign_after %v", got.SignAfter, err, k.SignAfter)
	}

	k.SignAfter = time.Time{}
	old, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(old), "sign_after") {
		t.Errorf("a key without activation time is written with one: %s", old)
	}
	if got, err := keys.Parse(old); err != nil || !got.SignAfter.IsZero() {
		t.Errorf("Parse of a key without sign_after = %v, %v; want zero (signs at once)", got.SignAfter, err)
	}

	for _, bad := range []string{"tomorrow", "2031-03-14 15:24:26", "1710000000"} {
		raw["sign_after"] = bad
		if _, err := keys.Parse(secretJSON(t, raw)); !errors.Is(err, keys.ErrMalformed) {
			t.Errorf("Parse with sign_after %q = %v; want ErrMalformed", bad, err)
		}
	}
	raw["sign_after"] = 1710000000
	if _, err := keys.Parse(secretJSON(t, raw)); !errors.Is(err, keys.ErrMalformed) {
		t.Errorf("Parse with a numeric sign_after = %v; want ErrMalformed", err)
	}
}

// TestCacheRefresh: Refresh re-reads at once when the last read is at least
// RefreshEvery old, and otherwise serves the cache: a flood of refreshes is
// one read per interval, whatever the TTL.
func TestCacheRefresh(t *testing.T) {
	k1, k2 := generate(t, "EdDSA"), generate(t, "EdDSA")
	const ttl, every = 5 * time.Minute, 5 * time.Second
	outage := errors.New("secrets manager unavailable")

	type step struct {
		advance time.Duration
		refresh bool
		set     *keys.Key // what the fetch answers; nil: it fails
		wantKid string
		calls   int
	}
	tests := []struct {
		name  string
		every time.Duration // 0: the default, 5s
		steps []step
	}{
		{"refresh reads a newer key before the TTL", every, []step{
			{0, false, &k1, k1.ID, 1},
			{time.Minute, true, &k2, k2.ID, 2},
			{time.Minute, false, &k1, k2.ID, 2}, // the refresh restarted the TTL
		}},
		{"at most one read per interval", every, []step{
			{0, false, &k1, k1.ID, 1},
			{every - time.Nanosecond, true, &k2, k1.ID, 1},
			{time.Nanosecond, true, &k2, k2.ID, 2},
			{0, true, &k2, k2.ID, 2},
			{every - time.Nanosecond, true, &k2, k2.ID, 2},
			{time.Nanosecond, true, &k2, k2.ID, 3},
		}},
		{"default interval is 5s", 0, []step{
			{0, true, &k1, k1.ID, 1},
			{5*time.Second - time.Nanosecond, true, &k2, k1.ID, 1},
			{time.Nanosecond, true, &k2, k2.ID, 2},
		}},
		{"a failed refresh keeps the set and still counts", every, []step{
			{0, false, &k1, k1.ID, 1},
			{time.Minute, true, nil, k1.ID, 2},
			{every - time.Nanosecond, true, &k2, k1.ID, 2},
			{time.Nanosecond, true, &k2, k2.ID, 3},
		}},
		{"refresh with nothing cached reads, and fails closed", every, []step{
			{0, true, nil, "", 1},
			{0, true, &k1, k1.ID, 2},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: epoch}
			f := &fetcher{}
			c := &keys.Cache{Fetch: f.Fetch, TTL: ttl, RefreshEvery: tc.every, Now: clk.Now}
			for i, s := range tc.steps {
				clk.Advance(s.advance)
				if s.set != nil {
					f.answer(keys.Set{Current: *s.set}, nil)
				} else {
					f.answer(keys.Set{}, outage)
				}
				get := c.Keys
				if s.refresh {
					get = c.Refresh
				}
				got, err := get(context.Background())
				switch {
				case s.wantKid == "" && !errors.Is(err, outage):
					t.Fatalf("step %d: = %q, %v; want the fetch error", i, got.Current.ID, err)
				case s.wantKid != "" && (err != nil || got.Current.ID != s.wantKid):
					t.Fatalf("step %d: = %q, %v; want %q", i, got.Current.ID, err, s.wantKid)
				}
				if f.calls != s.calls {
					t.Fatalf("step %d: %d fetches; want %d", i, f.calls, s.calls)
				}
			}
		})
	}
}

// TestCacheStalledRefetch: while a re-fetch stalls (Secrets Manager hangs),
// Keys answers at once from the set held, which is still genuine; the caller
// that started the re-fetch gets the new set when it ends. A Keys call that
// queued behind the stalled fetch would hang this test.
func TestCacheStalledRefetch(t *testing.T) {
	k1, k2 := generate(t, "EdDSA"), generate(t, "EdDSA")
	clk := &clock{t: epoch}
	started, release := make(chan struct{}), make(chan struct{})
	calls := 0
	c := &keys.Cache{TTL: time.Minute, Now: clk.Now, Fetch: func(context.Context) (keys.Set, error) {
		if calls++; calls == 1 {
			return keys.Set{Current: k1}, nil
		}
		close(started)
		<-release
		return keys.Set{Current: k2}, nil
	}}
	ctx := context.Background()
	if _, err := c.Keys(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	refetched := make(chan string, 1)
	go func() {
		s, _ := c.Keys(ctx)
		refetched <- s.Current.ID
	}()
	<-started
	for range 3 {
		if s, err := c.Keys(ctx); err != nil || s.Current.ID != k1.ID {
			t.Fatalf("Keys during a stalled re-fetch = %q, %v; want the held %q", s.Current.ID, err, k1.ID)
		}
	}
	close(release)
	if id := <-refetched; id != k2.ID {
		t.Fatalf("the re-fetching caller got %q; want %q", id, k2.ID)
	}
	if s, _ := c.Keys(ctx); s.Current.ID != k2.ID || calls != 2 {
		t.Fatalf("Keys after = %q with %d fetches; want %q from 2", s.Current.ID, calls, k2.ID)
	}
}

// TestCacheFreshDoesNotAllocate: Keys of a fresh set is on the authorizer's
// path of every token verification.
func TestCacheFreshDoesNotAllocate(t *testing.T) {
	c := &keys.Cache{Fetch: (&fetcher{set: keys.Set{Current: generate(t, "EdDSA")}}).Fetch, TTL: time.Hour}
	ctx := context.Background()
	if _, err := c.Keys(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Keys(ctx) }); n != 0 {
		t.Fatalf("Keys of a fresh set: %v allocations; want 0", n)
	}
}

// BenchmarkCacheKeys is Keys of a fresh set from many goroutines, as a warm
// verifier calls it once per token.
func BenchmarkCacheKeys(b *testing.B) {
	c := &keys.Cache{Fetch: (&fetcher{set: keys.Set{Current: generate(b, "EdDSA")}}).Fetch, TTL: time.Hour}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Keys(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
