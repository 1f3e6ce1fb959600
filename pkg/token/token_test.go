package token_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
)

const (
	testIssuer   = "https://auth.rotor.test"
	testAudience = "rotor-api"
	testLeeway   = 30 * time.Second
	testTTL      = 15 * time.Minute
)

// now is the fixed clock of every test: far from the zero value and from the
// wall clock, so nothing passes by accident.
var now = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

func generate(t testing.TB, alg string) keys.Key {
	t.Helper()
	k, err := keys.Generate(alg, nil, now)
	if err != nil {
		t.Fatalf("Generate(%s): %v", alg, err)
	}
	return k
}

func verifier(src keys.Source, alg string) *token.Verifier {
	return &token.Verifier{
		Keys: src, Alg: alg, Issuer: testIssuer, Audience: testAudience,
		Leeway: testLeeway, Now: func() time.Time { return now },
	}
}

func issuer(src keys.Source) *token.Issuer {
	return &token.Issuer{Keys: src, Issuer: testIssuer, Audience: testAudience, TTL: testTTL}
}

// validClaims are the claims Issue would produce at now.
func validClaims() token.Claims {
	return token.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Subject:   "user-1",
			Audience:  jwt.ClaimStrings{testAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(testTTL)),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        "jti-1",
		},
		SessionID: "session-1",
		Username:  "ada",
	}
}

// sign builds a token by hand, so a test controls every header and claim.
func sign(t *testing.T, m jwt.SigningMethod, key any, header map[string]any, c token.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return s
}

func TestVerifyRejectsForgeries(t *testing.T) {
	current := generate(t, "ES256")
	foreignES := generate(t, "ES256")
	foreignRS := generate(t, "RS256")
	src := keys.Static{Current: current}
	v := verifier(src, "ES256")

	pubDER, err := x509.MarshalPKIXPublicKey(current.Public)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hdr := map[string]any{"kid": current.ID, "typ": token.Type}
	good := func(t *testing.T, edit func(*token.Claims)) string {
		c := validClaims()
		if edit != nil {
			edit(&c)
		}
		return sign(t, jwt.SigningMethodES256, current.Private, hdr, c)
	}

	// The unmodified token must verify, or every case below proves nothing.
	if _, err := v.Verify(context.Background(), good(t, nil)); err != nil {
		t.Fatalf("baseline token refused: %v", err)
	}

	tests := []struct {
		name string
		raw  func(t *testing.T) string
		also error // a more specific reason that must be reachable too
	}{
		{name: "alg none", raw: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr, validClaims())
		}},
		{name: "alg none with the signature of a genuine token", raw: func(t *testing.T) string {
			g := strings.Split(good(t, nil), ".")
			n := strings.Split(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr, validClaims()), ".")
			return n[0] + "." + n[1] + "." + g[2]
		}},
		{name: "HS256 keyed with the ES256 public key PEM", raw: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, pubPEM, hdr, validClaims())
		}},
		{name: "HS256 keyed with the ES256 public key DER", raw: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, pubDER, hdr, validClaims())
		}},
		{name: "RS256 under the current kid", raw: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, foreignRS.Private, hdr, validClaims())
		}},
		{name: "foreign ES256 key under the current kid", raw: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, foreignES.Private, hdr, validClaims())
		}, also: jwt.ErrTokenSignatureInvalid},
		{name: "unknown kid", raw: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, foreignES.Private, map[string]any{"kid": foreignES.ID, "typ": token.Type}, validClaims())
		}, also: token.ErrUnknownKey},
		{name: "unknown kid signed by the current key", raw: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, current.Private, map[string]any{"kid": "not-a-kid", "typ": token.Type}, validClaims())
		}, also: token.ErrUnknownKey},
		{name: "missing kid", raw: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, current.Private, map[string]any{"kid": nil, "typ": token.Type}, validClaims())
		}, also: token.ErrUnknownKey},
		{name: "empty kid", raw: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, current.Private, map[string]any{"kid": "", "typ": token.Type}, validClaims())
		}, also: token.ErrUnknownKey},
		{name: "tampered payload", raw: func(t *testing.T) string {
			parts := strings.Split(good(t, nil), ".")
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			forged := bytes.Replace(payload, []byte(`"sub":"user-1"`), []byte(`"sub":"admin"`), 1)
			if bytes.Equal(forged, payload) {
				t.Fatalf("payload %s has no sub to tamper with", payload)
			}
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
		}, also: jwt.ErrTokenSignatureInvalid},
		{name: "expired beyond leeway", raw: func(t *testing.T) string {
			return good(t, func(c *token.Claims) {
				c.IssuedAt = jwt.NewNumericDate(now.Add(-testTTL - testLeeway - time.Second))
				c.NotBefore = c.IssuedAt
				c.ExpiresAt = jwt.NewNumericDate(now.Add(-testLeeway - time.Second))
			})
		}, also: jwt.ErrTokenExpired},
		{name: "nbf in the future beyond leeway", raw: func(t *testing.T) string {
			return good(t, func(c *token.Claims) {
				c.IssuedAt = nil
				c.NotBefore = jwt.NewNumericDate(now.Add(testLeeway + time.Second))
			})
		}, also: jwt.ErrTokenNotValidYet},
		{name: "iat in the future beyond leeway", raw: func(t *testing.T) string {
			return good(t, func(c *token.Claims) {
				c.NotBefore = nil
				c.IssuedAt = jwt.NewNumericDate(now.Add(testLeeway + time.Second))
			})
		}, also: jwt.ErrTokenUsedBeforeIssued},
		{name: "wrong iss", raw: func(t *testing.T) string {
			return good(t, func(c *token.Claims) { c.Issuer = "https://evil.test" })
		}, also: jwt.ErrTokenInvalidIssuer},
		{name: "missing iss", raw: func(t *testing.T) string {
			return good(t, func(c *token.Claims) { c.Issuer = "" })
		}, also: jwt.ErrTokenRequiredClaimMissing},
		{name: "wrong aud", raw: func(t *testing.T) string {
			return good(t, func(c *token.Claims) { c.Audience = jwt.ClaimStrings{"another-api"} })
		}, also: jwt.ErrTokenInvalidAudience},
		{name: "missing aud", raw: func(t *testing.T) string {
			return good(t, func(c *token.Claims) { c.Audience = nil })
		}, also: jwt.ErrTokenRequiredClaimMissing},
		{name: "missing exp", raw: func(t *testing.T) string {
			return good(t, func(c *token.Claims) { c.ExpiresAt = nil })
		}, also: jwt.ErrTokenRequiredClaimMissing},
		{name: "exp beyond what a float64 holds exactly", raw: func(t *testing.T) string {
			return good(t, func(c *token.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Unix(1<<62, 0)) })
		}, also: jwt.ErrInvalidType},
		{name: "typ JWT", raw: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, current.Private, map[string]any{"kid": current.ID, "typ": "JWT"}, validClaims())
		}},
		{name: "typ missing", raw: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, current.Private, map[string]any{"kid": current.ID, "typ": nil}, validClaims())
		}},
		{name: "missing sub", raw: func(t *testing.T) string {
			return good(t, func(c *token.Claims) { c.Subject = "" })
		}},
		{name: "missing sid", raw: func(t *testing.T) string {
			return good(t, func(c *token.Claims) { c.SessionID = "" })
		}},
		{name: "ES256 signature respelt as 65 bytes r‖0x00‖s", raw: func(t *testing.T) string {
			parts := strings.Split(good(t, nil), ".")
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			if err != nil || len(sig) != 64 {
				t.Fatalf("signature %q: %d bytes, %v", parts[2], len(sig), err)
			}
			long := append(append(append([]byte(nil), sig[:32]...), 0), sig[32:]...)
			return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(long)
		}, also: jwt.ErrTokenSignatureInvalid},
		{name: "refresh token used as bearer", raw: func(*testing.T) string {
			return "rtr_" + base64.RawURLEncoding.EncodeToString(make([]byte, 48))
		}, also: jwt.ErrTokenMalformed},
		{name: "empty string", raw: func(*testing.T) string { return "" }, also: jwt.ErrTokenMalformed},
		{name: "two segments", raw: func(t *testing.T) string {
			parts := strings.Split(good(t, nil), ".")
			return parts[0] + "." + parts[1]
		}, also: jwt.ErrTokenMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claims, err := v.Verify(context.Background(), tc.raw(t))
			if !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalid", claims, err)
			}
			if tc.also != nil && !errors.Is(err, tc.also) {
				t.Errorf("Verify error %q does not wrap %q", err, tc.also)
			}
			if claims != nil {
				t.Errorf("Verify returned claims %+v with an error", claims)
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	k := generate(t, "ES256")
	v := verifier(keys.Static{Current: k}, "ES256")
	hdr := map[string]any{"kid": k.ID, "typ": token.Type}
	tests := []struct {
		name string
		edit func(*token.Claims)
	}{
		{"expired within leeway", func(c *token.Claims) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(-testTTL))
			c.NotBefore = c.IssuedAt
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-testLeeway + time.Second))
		}},
		{"nbf and iat ahead within leeway", func(c *token.Claims) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(testLeeway - time.Second))
			c.NotBefore = c.IssuedAt
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validClaims()
			tc.edit(&c)
			if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, k.Private, hdr, c)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// TestVerifyRotation checks the rotation contract: the previous key verifies
// the tokens it signed, and a key that has left the set verifies nothing.
func TestVerifyRotation(t *testing.T) {
	k1, k2, k3 := generate(t, "ES256"), generate(t, "ES256"), generate(t, "ES256")
	ctx := context.Background()
	raw, err := issuer(keys.Static{Current: k1}).Issue(ctx, token.Subject{UserID: "u", SessionID: "s"}, now)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		set  keys.Set
		want error // nil: accepted
	}{
		{"signing key is current", keys.Set{Current: k1}, nil},
		{"signing key is previous", keys.Set{Current: k2, Previous: &k1}, nil},
		{"signing key dropped", keys.Set{Current: k3, Previous: &k2}, token.ErrUnknownKey},
		{"signing key dropped, no previous", keys.Set{Current: k2}, token.ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifier(keys.Static(tc.set), "ES256").Verify(ctx, raw)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, token.ErrInvalid) || !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v; want ErrInvalid and %v", err, tc.want)
			}
		})
	}
}

// TestVerifyPinsAlgorithmOfKey covers a verifier pinned to one algorithm
// whose key set also holds keys of others (an algorithm migration, a
// misconfigured secret): a token must not choose those keys, even when it is
// genuinely signed by them. Here jwt's key-type checks cannot help, so this
// fails if the algorithm pinning is removed.
func TestVerifyPinsAlgorithmOfKey(t *testing.T) {
	es, rs, ed, hs := generate(t, "ES256"), generate(t, "RS256"), generate(t, "EdDSA"), generate(t, "HS256")
	subj := token.Subject{UserID: "u", SessionID: "s"}
	for _, other := range []keys.Key{rs, ed, hs} {
		t.Run(other.Alg, func(t *testing.T) {
			raw, err := issuer(keys.Static{Current: other}).Issue(context.Background(), subj, now)
			if err != nil {
				t.Fatal(err)
			}
			sets := map[string]keys.Set{
				"other key previous": {Current: es, Previous: &other},
				"other key current":  {Current: other, Previous: &es},
			}
			for name, set := range sets {
				if _, err := verifier(keys.Static(set), "ES256").Verify(context.Background(), raw); !errors.Is(err, token.ErrInvalid) {
					t.Errorf("%s: %s token under an ES256 verifier: err = %v; want ErrInvalid", name, other.Alg, err)
				}
			}
			// A key labelled ES256 in the set but holding another kind of key
			// (a hand-edited secret) must not verify the other algorithm either.
			mislabelled := other
			mislabelled.Alg = "ES256"
			if _, err := verifier(keys.Static{Current: mislabelled}, "ES256").Verify(context.Background(), raw); !errors.Is(err, token.ErrInvalid) {
				t.Errorf("%s token verified by a key labelled ES256: err = %v", other.Alg, err)
			}
		})
	}
}

type failingSource struct{ err error }

func (f failingSource) Keys(context.Context) (keys.Set, error) { return keys.Set{}, f.err }

// TestKeysUnavailable: when the keys cannot be read the token is not at fault,
// so the error must not be ErrInvalid (a 401 would make clients refresh in a
// loop, and an authorizer must fail closed instead).
func TestKeysUnavailable(t *testing.T) {
	outage := errors.New("secrets manager: throttled")
	src := failingSource{outage}
	k := generate(t, "ES256")
	raw, err := issuer(keys.Static{Current: k}).Issue(context.Background(), token.Subject{UserID: "u", SessionID: "s"}, now)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := verifier(src, "ES256").Verify(context.Background(), raw)
	if err == nil || claims != nil {
		t.Fatalf("Verify = %+v, %v; want an error", claims, err)
	}
	if errors.Is(err, token.ErrInvalid) {
		t.Errorf("Verify error %q is ErrInvalid; a key outage is not the token's fault", err)
	}
	if !errors.Is(err, outage) {
		t.Errorf("Verify error %q does not wrap the cause", err)
	}
	if _, err := issuer(src).Issue(context.Background(), token.Subject{UserID: "u", SessionID: "s"}, now); !errors.Is(err, outage) {
		t.Errorf("Issue error = %v; want the source's error", err)
	}
}

func TestIssueRandFailure(t *testing.T) {
	i := issuer(keys.Static{Current: generate(t, "EdDSA")})
	i.Rand = iotestErrReader{}
	if _, err := i.Issue(context.Background(), token.Subject{UserID: "u", SessionID: "s"}, now); err == nil {
		t.Fatal("Issue succeeded without randomness for jti")
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA", "HS256"} {
		t.Run(alg, func(t *testing.T) {
			k := generate(t, alg)
			src := keys.Static{Current: k}
			subj := token.Subject{UserID: "user-42", Username: "ada", SessionID: "sess-7"}
			raw, err := issuer(src).Issue(context.Background(), subj, now)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			parts := strings.Split(raw, ".")
			if len(parts) != 3 {
				t.Fatalf("token has %d segments", len(parts))
			}
			h := decodeSegment(t, parts[0])
			if h["alg"] != alg || h["kid"] != k.ID || h["typ"] != "at+jwt" {
				t.Errorf("header = %v; want alg %s, kid %s, typ at+jwt", h, alg, k.ID)
			}
			p := decodeSegment(t, parts[1])
			for _, name := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "sid"} {
				if _, ok := p[name]; !ok {
					t.Errorf("payload %v has no %q", p, name)
				}
			}
			if aud, ok := p["aud"].(string); !ok || aud != testAudience {
				t.Errorf("aud = %#v; want the one string %q (the smallest form)", p["aud"], testAudience)
			}
			if _, ok := p["nbf"]; ok {
				t.Errorf("payload %v carries nbf, which iat already says", p)
			}

			c, err := verifier(src, alg).Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Issuer != testIssuer || c.Subject != subj.UserID || c.SessionID != subj.SessionID || c.Username != subj.Username {
				t.Errorf("claims = %+v; want subject %+v from %s", c, subj, testIssuer)
			}
			if len(c.Audience) != 1 || c.Audience[0] != testAudience {
				t.Errorf("aud = %v; want [%s]", c.Audience, testAudience)
			}
			if !c.IssuedAt.Time.Equal(now) || !c.ExpiresAt.Time.Equal(now.Add(testTTL)) {
				t.Errorf("iat %v exp %v; want %v and %v", c.IssuedAt, c.ExpiresAt, now, now.Add(testTTL))
			}
			if c.ID == "" {
				t.Error("no jti")
			}
			again, err := issuer(src).Issue(context.Background(), subj, now)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := verifier(src, alg).Verify(context.Background(), again)
			if err != nil {
				t.Fatal(err)
			}
			if c2.ID == c.ID {
				t.Errorf("two tokens share jti %q", c.ID)
			}
		})
	}
}

func TestFromHeader(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Basic dXNlcjpwdw==", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"abc.def.ghi", "", false},
		{"", "", false},
		// Exactly one b64token (RFC 6750 §2.1): trailing words are refused,
		// never dropped.
		{"Bearer abc.def.ghi junk", "", false},
		{"Bearer abc.def.ghi abc.def.ghi", "", false},
		{"Bearer abc.def.ghi,junk", "", false},
		{"Bearer abc\tjunk", "", false},
		{"Bearer\tabc", "", false},
		{"Bearer a-b.c_d~e+f/g==", "a-b.c_d~e+f/g==", true},
		{"Bearer azAZ09", "azAZ09", true},
		{"Bearer a`b", "", false},
		{"Bearer a{b", "", false},
		{"Bearer a@b", "", false},
		{"Bearer a[b", "", false},
		{"Bearer a:b", "", false},
		{"Bearer a*b", "", false},
		{"Bearer ==", "", false},
		{"Bearer a=b", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := token.FromHeader(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("FromHeader(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestIssueSigningKey: the issuer signs with the key active at the time it
// is given, so a rotated-in key signs only from its sign_after.
func TestIssueSigningKey(t *testing.T) {
	prev, cur := generate(t, "EdDSA"), generate(t, "EdDSA")
	cur.SignAfter = now.Add(10 * time.Minute)
	src := keys.Static{Current: cur, Previous: &prev}
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"before the new key's sign_after", now, prev.ID},
		{"a second before", cur.SignAfter.Add(-time.Second), prev.ID},
		{"at sign_after", cur.SignAfter, cur.ID},
		{"after", cur.SignAfter.Add(time.Hour), cur.ID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := issuer(src).Issue(context.Background(), token.Subject{UserID: "u", SessionID: "s"}, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			tok, _, err := jwt.NewParser().ParseUnverified(raw, &token.Claims{})
			if err != nil {
				t.Fatal(err)
			}
			if kid := tok.Header["kid"]; kid != tc.want {
				t.Errorf("signed with %v; want %s", kid, tc.want)
			}
		})
	}
}

// countingFetcher is a key store that counts reads.
type countingFetcher struct {
	mu    sync.Mutex
	calls int
	set   keys.Set
}

func (f *countingFetcher) Fetch(context.Context) (keys.Set, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.set, nil
}

func (f *countingFetcher) reads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// TestVerifyRefreshesOnUnknownKid: a token signed with a key newer than the
// verifier's cached set verifies after one re-read, and tokens with made-up
// key ids cost at most one read per RefreshEvery however many arrive.
func TestVerifyRefreshesOnUnknownKid(t *testing.T) {
	k1, k2, stranger := generate(t, "EdDSA"), generate(t, "EdDSA"), generate(t, "EdDSA")
	const every = 5 * time.Second
	clk := now
	setup := func() (*countingFetcher, *token.Verifier) {
		clk = now
		f := &countingFetcher{set: keys.Set{Current: k1}}
		c := &keys.Cache{Fetch: f.Fetch, TTL: 5 * time.Minute, RefreshEvery: every, Now: func() time.Time { return clk }}
		v := verifier(c, "EdDSA")
		v.Now = func() time.Time { return clk }
		if _, err := c.Keys(context.Background()); err != nil {
			t.Fatal(err)
		}
		return f, v
	}
	signed := func(k keys.Key, kid string) string {
		c := validClaims()
		c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(clk), jwt.NewNumericDate(clk), jwt.NewNumericDate(clk.Add(testTTL))
		return sign(t, jwt.SigningMethodEdDSA, k.Private, map[string]any{"kid": kid, "typ": token.Type}, c)
	}
	randomKid := func() string {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}

	t.Run("a key newer than the cache", func(t *testing.T) {
		f, v := setup()
		f.set = keys.Set{Current: k2, Previous: &k1}
		// Within RefreshEvery of the last read, no re-read: refused.
		clk = clk.Add(every - time.Second)
		if _, err := v.Verify(context.Background(), signed(k2, k2.ID)); !errors.Is(err, token.ErrUnknownKey) || f.reads() != 1 {
			t.Fatalf("within RefreshEvery of the last read: %v after %d reads; want ErrUnknownKey and no re-read", err, f.reads())
		}
		clk = clk.Add(time.Second)
		if _, err := v.Verify(context.Background(), signed(k2, k2.ID)); err != nil {
			t.Fatalf("token of a key the cache has not read yet: %v", err)
		}
		if n := f.reads(); n != 2 {
			t.Errorf("%d reads; want 2 (the first and one re-read)", n)
		}
		if _, err := v.Verify(context.Background(), signed(k2, k2.ID)); err != nil || f.reads() != 2 {
			t.Errorf("second token: %v after %d reads; want no further read", err, f.reads())
		}
	})
	t.Run("known kid with a bad signature reads nothing", func(t *testing.T) {
		f, v := setup()
		if _, err := v.Verify(context.Background(), signed(stranger, k1.ID)); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			t.Fatalf("Verify = %v; want a bad signature", err)
		}
		if n := f.reads(); n != 1 {
			t.Errorf("%d reads; want 1", n)
		}
	})
	t.Run("a source that cannot refresh", func(t *testing.T) {
		v := verifier(keys.Static{Current: k1}, "EdDSA")
		if _, err := v.Verify(context.Background(), signed(k2, k2.ID)); !errors.Is(err, token.ErrUnknownKey) {
			t.Fatalf("Verify = %v; want ErrUnknownKey", err)
		}
	})
	t.Run("flood of unknown kids", func(t *testing.T) {
		f, v := setup()
		const steps, perStep = 24, 200
		for i := range steps {
			if i > 0 {
				clk = clk.Add(every / 2)
			}
			var wg sync.WaitGroup
			for range perStep {
				raw := signed(stranger, randomKid())
				wg.Go(func() {
					if _, err := v.Verify(context.Background(), raw); !errors.Is(err, token.ErrUnknownKey) {
						t.Errorf("Verify = %v; want ErrUnknownKey", err)
					}
				})
			}
			wg.Wait()
			elapsed := clk.Sub(now)
			if want := 1 + int(elapsed/every); f.reads() != want {
				t.Fatalf("after %v and %d tokens with unknown kids: %d reads; want %d (the first, then one per %v)",
					elapsed, (i+1)*perStep, f.reads(), want, every)
			}
		}
	})
}

// TestVerifyAudienceForms: aud is one string or an array of strings (RFC 7519
// §4.1.3); Rotor's audience must be one of them, and any other JSON there is
// refused as a wrong type, never read as "no audience" or as a match.
func TestVerifyAudienceForms(t *testing.T) {
	k := generate(t, "ES256")
	v := verifier(keys.Static{Current: k}, "ES256")
	signMap := func(t *testing.T, aud any) string {
		t.Helper()
		c := jwt.MapClaims{"iss": testIssuer, "sub": "user-1", "sid": "session-1",
			"exp": now.Add(testTTL).Unix(), "iat": now.Unix(), "jti": "j"}
		if aud != nil {
			c["aud"] = aud
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
		tok.Header["kid"], tok.Header["typ"] = k.ID, token.Type
		s, err := tok.SignedString(k.Private)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name string
		aud  any
		want error // nil: accepted
		list []string
	}{
		{"one string", testAudience, nil, []string{testAudience}},
		{"array of one", []string{testAudience}, nil, []string{testAudience}},
		{"array with ours second", []string{"other-api", testAudience}, nil, []string{"other-api", testAudience}},
		{"other string", "other-api", jwt.ErrTokenInvalidAudience, nil},
		{"empty string", "", jwt.ErrTokenRequiredClaimMissing, nil},
		{"empty array", []string{}, jwt.ErrTokenRequiredClaimMissing, nil},
		{"absent", nil, jwt.ErrTokenRequiredClaimMissing, nil},
		{"number", 5, jwt.ErrInvalidType, nil},
		{"object", map[string]any{"aud": testAudience}, jwt.ErrInvalidType, nil},
		{"array holding a number beside ours", []any{testAudience, 7}, jwt.ErrInvalidType, nil},
		{"array of arrays", []any{[]string{testAudience}}, jwt.ErrInvalidType, nil},
		{"true", true, jwt.ErrInvalidType, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), signMap(t, tc.aud))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if !slices.Equal(c.Audience, tc.list) {
					t.Errorf("Audience = %v; want %v", c.Audience, tc.list)
				}
				return
			}
			if !errors.Is(err, token.ErrInvalid) || !errors.Is(err, tc.want) || c != nil {
				t.Errorf("Verify = %+v, %v; want ErrInvalid wrapping %v", c, err, tc.want)
			}
		})
	}
}

// TestVerifyDateBounds: a NumericDate is a date from 0 (the epoch, which
// RFC 7519 allows) up to, not including, 2^53 seconds, the largest range
// float64 and int64 both hold exactly; outside it a date is a wrong type,
// never a time read from a rounded or wrapped number.
func TestVerifyDateBounds(t *testing.T) {
	k := generate(t, "ES256")
	v := verifier(keys.Static{Current: k}, "ES256")
	const last = float64(1<<53 - 1)
	tests := []struct {
		name  string
		dates map[string]any // over exp, iat: now+TTL, now
		want  error          // nil: accepted
	}{
		{"iat and nbf at the epoch", map[string]any{"iat": 0, "nbf": 0}, nil},
		{"exp at the last date", map[string]any{"exp": last}, nil},
		{"exp at 2^53", map[string]any{"exp": float64(1 << 53)}, jwt.ErrInvalidType},
		{"iat at 2^53", map[string]any{"iat": float64(1 << 53)}, jwt.ErrInvalidType},
		{"iat before the epoch", map[string]any{"iat": -1}, jwt.ErrInvalidType},
		{"nbf before the epoch", map[string]any{"nbf": -0.5}, jwt.ErrInvalidType},
		{"exp at the epoch", map[string]any{"exp": 0, "iat": 0}, jwt.ErrTokenExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := jwt.MapClaims{"iss": testIssuer, "sub": "user-1", "sid": "session-1", "aud": testAudience,
				"exp": now.Add(testTTL).Unix(), "iat": now.Unix(), "jti": "j"}
			for name, d := range tc.dates {
				c[name] = d
			}
			tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
			tok.Header["kid"], tok.Header["typ"] = k.ID, token.Type
			raw, err := tok.SignedString(k.Private)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(context.Background(), raw)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, token.ErrInvalid) || !errors.Is(err, tc.want) || got != nil {
				t.Errorf("Verify = %+v, %v; want ErrInvalid wrapping %v", got, err, tc.want)
			}
		})
	}
}

// TestBoundTokenCarriesCnf: a token issued for a DPoP key names its
// thumbprint in cnf.jkt (RFC 9449 §6.1), and Verify hands it back; a bearer
// token has none.
func TestBoundTokenCarriesCnf(t *testing.T) {
	k := generate(t, "ES256")
	src := keys.Static(keys.Set{Current: k})
	for _, jkt := range []string{"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", ""} {
		raw, err := issuer(src).Issue(t.Context(), token.Subject{UserID: "u", SessionID: "s", JKT: jkt}, now)
		if err != nil {
			t.Fatal(err)
		}
		c, err := verifier(src, "ES256").Verify(t.Context(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if c.BoundKey() != jkt {
			t.Fatalf("BoundKey %q, want %q", c.BoundKey(), jkt)
		}
	}
}
