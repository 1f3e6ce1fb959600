package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/rotor-auth/rotor/pkg/mac"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

const url0 = "https://api.example.com/auth/refresh"

func p256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustProof(t testing.TB, key crypto.Signer, r Request) string {
	t.Helper()
	if r.Method == "" {
		r.Method = "POST"
	}
	if r.URL == "" {
		r.URL = url0
	}
	if r.Now.IsZero() {
		r.Now = t0
	}
	p, err := NewProof(key, r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func check(c Check) Check {
	if c.Method == "" {
		c.Method = "POST"
	}
	if c.URL == "" {
		c.URL = url0
	}
	if c.Now.IsZero() {
		c.Now = t0
	}
	return c
}

func TestVerifyAcceptsEachAlgorithm(t *testing.T) {
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, key := range map[string]crypto.Signer{"ES256": p256(t), "ES384": ec384, "EdDSA": ed, "PS256": rk} {
		t.Run(name, func(t *testing.T) {
			v := &Verifier{Replay: &Memory{}}
			proof := mustProof(t, key, Request{AccessToken: "at"})
			p, err := v.Verify(context.Background(), proof, check(Check{AccessToken: "at"}))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := KeyThumbprint(key)
			if p.JKT != want || p.Method != "POST" || !p.IssuedAt.Equal(t0) || p.ID == "" {
				t.Fatalf("proof %+v, want jkt %s", p, want)
			}
		})
	}
}

// TestThumbprintRFC7638 is the RFC's own example (§3.1).
func TestThumbprintRFC7638(t *testing.T) {
	const jwkJSON = `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON([]byte(jwkJSON)); err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(&k)
	if err != nil || got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint %q, %v", got, err)
	}
}

// raw assembles a JWS by hand, so the test can make what no honest signer
// would: alg none, an HMAC proof, a private key in the header, a signature
// by another key than the header's.
func raw(t *testing.T, header map[string]any, claims map[string]any, sign func(string) []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign(input))
}

func goodClaims() map[string]any {
	return map[string]any{"jti": "j1", "htm": "POST", "htu": url0, "iat": t0.Unix()}
}

func publicJWK(t *testing.T, pub crypto.PublicKey) map[string]any {
	t.Helper()
	b, err := (&jose.JSONWebKey{Key: pub}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func es256Sign(t *testing.T, key *ecdsa.PrivateKey) func(string) []byte {
	return func(input string) []byte {
		sig, err := jwt.SigningMethodES256.Sign(input, key)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

// TestVerifyRefusesAsTheAttacker: each proof is what someone without the
// client's key, or with a proof made for something else, could send.
func TestVerifyRefusesAsTheAttacker(t *testing.T) {
	key := p256(t)
	other := p256(t)
	jkt, _ := KeyThumbprint(key)
	privJWK, _ := (&jose.JSONWebKey{Key: key}).MarshalJSON()
	var priv map[string]any
	_ = json.Unmarshal(privJWK, &priv)
	cases := map[string]struct {
		proof string
		c     Check
	}{
		"empty":     {"", check(Check{})},
		"garbage":   {"a.b.c", check(Check{})},
		"oversized": {strings.Repeat("a", MaxLen+1), check(Check{})},
		"alg none": {raw(t, map[string]any{"typ": Type, "alg": "none", "jwk": publicJWK(t, key.Public())}, goodClaims(),
			func(string) []byte { return nil }), check(Check{})},
		"HS256 keyed with the public jwk": {raw(t, map[string]any{"typ": Type, "alg": "HS256", "jwk": map[string]any{"kty": "oct", "k": "c2VjcmV0"}}, goodClaims(),
			func(in string) []byte { s, _ := jwt.SigningMethodHS256.Sign(in, []byte("secret")); return s }), check(Check{})},
		"private key in the header": {raw(t, map[string]any{"typ": Type, "alg": "ES256", "jwk": priv}, goodClaims(), es256Sign(t, key)), check(Check{})},
		"no jwk":                    {raw(t, map[string]any{"typ": Type, "alg": "ES256"}, goodClaims(), es256Sign(t, key)), check(Check{})},
		"signed by another key than the header's": {raw(t, map[string]any{"typ": Type, "alg": "ES256", "jwk": publicJWK(t, key.Public())}, goodClaims(), es256Sign(t, other)), check(Check{})},
		"typ JWT": {raw(t, map[string]any{"typ": "JWT", "alg": "ES256", "jwk": publicJWK(t, key.Public())}, goodClaims(), es256Sign(t, key)), check(Check{})},
		"no jti": {raw(t, map[string]any{"typ": Type, "alg": "ES256", "jwk": publicJWK(t, key.Public())},
			map[string]any{"htm": "POST", "htu": url0, "iat": t0.Unix()}, es256Sign(t, key)), check(Check{})},
		"iat a string": {raw(t, map[string]any{"typ": Type, "alg": "ES256", "jwk": publicJWK(t, key.Public())},
			map[string]any{"jti": "x", "htm": "POST", "htu": url0, "iat": "now"}, es256Sign(t, key)), check(Check{})},
		"another method":             {mustProof(t, key, Request{Method: "GET"}), check(Check{})},
		"another path":               {mustProof(t, key, Request{URL: "https://api.example.com/auth/login"}), check(Check{})},
		"another host":               {mustProof(t, key, Request{URL: "https://evil.example.com/auth/refresh"}), check(Check{})},
		"http for https":             {mustProof(t, key, Request{URL: "http://api.example.com/auth/refresh"}), check(Check{})},
		"old iat":                    {mustProof(t, key, Request{Now: t0.Add(-DefaultMaxAge - time.Second)}), check(Check{})},
		"future iat":                 {mustProof(t, key, Request{Now: t0.Add(DefaultLeeway + time.Second)}), check(Check{})},
		"no ath for an access token": {mustProof(t, key, Request{}), check(Check{AccessToken: "at"})},
		"ath of another token":       {mustProof(t, key, Request{AccessToken: "other"}), check(Check{AccessToken: "at"})},
		"another key than the bound": {mustProof(t, other, Request{}), check(Check{JKT: jkt})},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v := &Verifier{Replay: &Memory{}}
			if _, err := v.Verify(context.Background(), tc.proof, tc.c); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
		})
	}
}

func TestVerifyMatchesEquivalentURLs(t *testing.T) {
	key := p256(t)
	for _, u := range []string{
		"https://API.example.com:443/auth/refresh",
		"https://api.example.com/auth/refresh?x=1#frag",
		"https://api.example.com/auth/%72efresh",
	} {
		v := &Verifier{}
		if _, err := v.Verify(context.Background(), mustProof(t, key, Request{URL: u}), check(Check{})); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if SameURL("https://a.example/x", "https://a.example/x/") || SameURL("https://a.example/x", "ftp://a.example/x") || SameURL("https://a.example:8443/x", "https://a.example/x") {
		t.Fatal("different resources compared equal")
	}
}

// TestSameURLKeepsReservedEscapes is the attacker holding an unspent proof
// for one resource and sending it to another whose path differs only by an
// escaped reserved character: /files/a%2Fb is not /files/a/b (RFC 3986
// §2.2, §6.2.2.2: only escapes of unreserved characters may be decoded), so
// the proof must not verify there. Escapes of unreserved characters, the case
// of hex digits and UTF-8 written raw or escaped stay the same resource.
func TestSameURLKeepsReservedEscapes(t *testing.T) {
	for _, pair := range [][2]string{
		{"https://a.example/files/a%2Fb", "https://a.example/files/a/b"},
		{"https://a.example/files/a%2fb", "https://a.example/files/a/b"},
		{"https://a.example/x%3Dy", "https://a.example/x=y"},
		{"https://a.example/x%2By", "https://a.example/x+y"},
		{"https://a.example/x%3By", "https://a.example/x;y"},
		{"https://a.example/x%40y", "https://a.example/x@y"},
		{"https://a.example/x%25y", "https://a.example/x%2525y"},
	} {
		if SameURL(pair[0], pair[1]) || SameURL(pair[1], pair[0]) {
			t.Errorf("%s and %s compared equal", pair[0], pair[1])
		}
	}
	key := p256(t)
	v := &Verifier{Replay: &Memory{}}
	proof := mustProof(t, key, Request{URL: "https://api.example.com/auth%2Frefresh"})
	if _, err := v.Verify(context.Background(), proof, check(Check{})); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a proof for /auth%%2Frefresh at /auth/refresh: %v, want ErrInvalid", err)
	}
	for _, pair := range [][2]string{
		{"https://a.example/%7Ex", "https://a.example/~x"},
		{"https://a.example/a%2fb", "https://a.example/a%2Fb"},
		{"https://a.example/caf%c3%a9", "https://a.example/café"},
		{"https://a.example/a%20b", "https://a.example/a%20b"},
		{"https://a.example/%41", "https://a.example/A"},
	} {
		if !SameURL(pair[0], pair[1]) {
			t.Errorf("%s and %s compared different", pair[0], pair[1])
		}
	}
}

func TestVerifySpendsEachProofOnce(t *testing.T) {
	key := p256(t)
	v := &Verifier{Replay: &Memory{Now: func() time.Time { return t0 }}}
	proof := mustProof(t, key, Request{})
	if _, err := v.Verify(context.Background(), proof, check(Check{})); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), proof, check(Check{Now: t0.Add(time.Second)})); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v, want ErrReplayed", err)
	}
	// Another client's proof with the same jti is not blocked by it.
	if ReplayKey("a", "j") == ReplayKey("b", "j") {
		t.Fatal("replay keys of two keys collide")
	}
}

func TestMemoryFailsClosedWhenFull(t *testing.T) {
	now := t0
	m := &Memory{Max: 2, Now: func() time.Time { return now }}
	ctx := context.Background()
	_ = m.SpendDPoPProof(ctx, "a", t0.Add(time.Minute))
	_ = m.SpendDPoPProof(ctx, "b", t0.Add(time.Minute))
	if err := m.SpendDPoPProof(ctx, "c", t0.Add(time.Minute)); !errors.Is(err, ErrCacheFull) {
		t.Fatalf("full: %v", err)
	}
	now = t0.Add(2 * time.Minute)
	if err := m.SpendDPoPProof(ctx, "c", now.Add(time.Minute)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if err := m.SpendDPoPProof(ctx, "a", now.Add(time.Minute)); err != nil {
		t.Fatalf("an expired key is usable again: %v", err)
	}
}

func TestNonces(t *testing.T) {
	ring, _ := mac.Generate(rand.Reader)
	n := &Nonces{MAC: mac.Static(ring), Period: time.Minute}
	ctx := context.Background()
	key := p256(t)
	v := &Verifier{Nonces: n}
	if _, err := v.Verify(ctx, mustProof(t, key, Request{}), check(Check{})); !errors.Is(err, ErrUseNonce) {
		t.Fatalf("no nonce: %v", err)
	}
	nonce, err := n.Issue(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, mustProof(t, key, Request{Nonce: nonce}), check(Check{})); err != nil {
		t.Fatalf("fresh nonce: %v", err)
	}
	late := t0.Add(time.Minute)
	if _, err := v.Verify(ctx, mustProof(t, key, Request{Nonce: nonce, Now: late}), check(Check{Now: late})); err != nil {
		t.Fatalf("nonce of the previous window: %v", err)
	}
	stale := t0.Add(2 * time.Minute)
	if _, err := v.Verify(ctx, mustProof(t, key, Request{Nonce: nonce, Now: stale}), check(Check{Now: stale})); !errors.Is(err, ErrUseNonce) {
		t.Fatalf("stale nonce: %v", err)
	}
	otherRing, _ := mac.Generate(rand.Reader)
	foreign, _ := (&Nonces{MAC: mac.Static(otherRing), Period: time.Minute}).Issue(ctx, t0)
	if _, err := v.Verify(ctx, mustProof(t, key, Request{Nonce: foreign}), check(Check{})); !errors.Is(err, ErrUseNonce) {
		t.Fatalf("another server's nonce: %v", err)
	}
}

// TestNoncesWithoutAKeyFailClosed: nonces required but no key to make
// them (a deployment whose MAC secret did not load) answer neither a nonce
// nor an acceptance: every proof is an error the caller answers 503.
func TestNoncesWithoutAKeyFailClosed(t *testing.T) {
	ctx := context.Background()
	n := &Nonces{}
	if _, err := n.Issue(ctx, t0); err == nil {
		t.Fatal("a nonce made without a key")
	}
	ring, _ := mac.Generate(rand.Reader)
	nonce, _ := (&Nonces{MAC: mac.Static(ring)}).Issue(ctx, t0)
	v := &Verifier{Nonces: n}
	_, err := v.Verify(ctx, mustProof(t, p256(t), Request{Nonce: nonce}), check(Check{}))
	if err == nil || errors.Is(err, ErrInvalid) || errors.Is(err, ErrUseNonce) {
		t.Fatalf("a proof checked against no nonce key: %v, want an error that is neither a refusal nor a nonce request", err)
	}
}
