package authorizer_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-jose/go-jose/v4"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/stepup"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/token"
)

// dpopShape is an authorizer event that can carry a DPoP proof: real event
// JSON (testdata/dpop-*.json, AWS's samples placed on a real host and path)
// and the method and URL its client called, which a proof must name.
type dpopShape struct {
	name, file  string
	method, url string
	v2          bool
}

var dpopShapes = []dpopShape{
	// An execute-api URL: the stage is part of the path the client called.
	{name: "REST REQUEST", file: "dpop-rest-request.json", method: "GET",
		url: "https://abcdef1234.execute-api.us-east-1.amazonaws.com/v1/me"},
	// A custom domain with the API mapped under the base path "shop".
	{name: "HTTP API 1.0", file: "dpop-http-v1-request.json", method: "GET",
		url: "https://api.example.com/shop/orders"},
	// An execute-api URL of a named stage.
	{name: "HTTP API 2.0", file: "dpop-http-v2-request.json", method: "GET",
		url: "https://abcdef123.execute-api.us-east-1.amazonaws.com/prod/orders", v2: true},
}

// event returns the shape's event with authorization as its Authorization
// header and proofs as its DPoP headers (none: no DPoP header), as API
// Gateway passes them: REST keeps the last value in headers and all in
// multiValueHeaders; HTTP APIs join repeated headers with commas.
func (s dpopShape) event(t testing.TB, authorization string, proofs ...string) json.RawMessage {
	t.Helper()
	return s.edit(t, func(m map[string]any) {
		h := m["headers"].(map[string]any)
		if s.v2 {
			h["authorization"] = authorization
			m["identitySource"] = []string{authorization}
			delete(h, "dpop")
			if len(proofs) > 0 {
				h["dpop"] = strings.Join(proofs, ",")
			}
			return
		}
		h["Authorization"] = authorization
		delete(h, "DPoP")
		mv, multi := m["multiValueHeaders"].(map[string]any)
		if !multi {
			// HTTP API 1.0 joins repeated headers as 2.0 does.
			if len(proofs) > 0 {
				h["DPoP"] = strings.Join(proofs, ",")
			}
			return
		}
		if len(proofs) > 0 {
			h["DPoP"] = proofs[len(proofs)-1]
		}
		mv["Authorization"] = []string{authorization}
		delete(mv, "DPoP")
		if len(proofs) > 0 {
			mv["DPoP"] = proofs
		}
	})
}

// edit returns the shape's event after f changed it.
func (s dpopShape) edit(t testing.TB, f func(m map[string]any)) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", s.file))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// holder is a DPoP client: its key and the access token bound to it.
type holder struct {
	key    *ecdsa.PrivateKey
	jkt    string
	access string
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// holder returns a client with a fresh key and an access token bound to it
// (cnf.jkt), its amr as given.
func (f *fixture) holder(t testing.TB, amr ...string) holder {
	t.Helper()
	k := newKey(t)
	jkt, err := dpop.KeyThumbprint(k)
	if err != nil {
		t.Fatal(err)
	}
	s := subject
	s.JKT, s.AMR = jkt, amr
	raw, err := f.issuer.Issue(context.Background(), s, now)
	if err != nil {
		t.Fatal(err)
	}
	return holder{key: k, jkt: jkt, access: raw}
}

// proof signs a proof with key for method and url, bound to access (ath).
func proof(t testing.TB, key crypto.Signer, method, url, access string, at time.Time) string {
	t.Helper()
	p, err := dpop.NewProof(key, dpop.Request{Method: method, URL: url, AccessToken: access, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// event is h's request in shape s: its token under the DPoP scheme with a
// fresh proof by its key for s's method and URL, made now.
func (h holder) event(t testing.TB, s dpopShape) json.RawMessage {
	t.Helper()
	return s.event(t, "DPoP "+h.access, proof(t, h.key, s.method, s.url, h.access, now))
}

// dpopAuthorizer is the fixture's authorizer checking proofs against
// replay, with API Gateway's cache off.
func (f *fixture) dpopAuthorizer(replay dpop.ReplayCache, log *slog.Logger) *authorizer.Authorizer {
	a := f.authorizer(f.src, nil)
	a.Proofs = &dpop.Verifier{Replay: replay}
	if log != nil {
		a.Log = log
	}
	return a
}

// decide runs Invoke and reports whether it allowed; any error but
// Unauthorized fails the test (a refusal must be API Gateway's 401).
func decide(t *testing.T, a *authorizer.Authorizer, ev json.RawMessage) bool {
	t.Helper()
	resp, err := handle(t, a, ev)
	if err != nil {
		if err != authorizer.ErrUnauthorized || err.Error() != "Unauthorized" {
			t.Fatalf("Invoke error %v; want exactly Unauthorized (API Gateway's 401)", err)
		}
		return false
	}
	return allowed(t, resp)
}

// rawJWS signs header and claims as a compact JWS with sign (nil: no
// signature, as alg "none" has).
func rawJWS(t testing.TB, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	sig := ""
	if sign != nil {
		sig = base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
	}
	return input + "." + sig
}

// TestDPoPBoundTokenAttacks, as the thief of a DPoP-bound access token (and
// of proofs it saw) on each event shape that can carry a proof: the owner's
// request with a fresh proof is allowed; every use without a fresh proof by
// the bound key, for this method, URL and token, is API Gateway's 401.
func TestDPoPBoundTokenAttacks(t *testing.T) {
	f := newFixture(t)
	for _, s := range dpopShapes {
		t.Run(s.name, func(t *testing.T) {
			a := f.dpopAuthorizer(&dpop.Memory{}, nil)
			h := f.holder(t)
			other := f.holder(t) // another client's token and key
			thief := newKey(t)
			dpopAuth := "DPoP " + h.access
			good := func() string { return proof(t, h.key, s.method, s.url, h.access, now) }
			jwk := jose.JSONWebKey{Key: h.key.Public()}
			claims := map[string]any{"jti": "j-1", "htm": s.method, "htu": s.url, "iat": now.Unix(), "ath": dpop.TokenHash(h.access)}
			mac := hmac.New(sha256.New, []byte("a shared secret"))
			hs256 := func(in []byte) []byte { mac.Reset(); mac.Write(in); return mac.Sum(nil) }

			if !decide(t, a, s.event(t, dpopAuth, good())) {
				t.Fatal("the owner's request with a fresh proof was refused")
			}
			cases := []struct {
				name string
				ev   json.RawMessage
			}{
				{"stolen token, no proof", s.event(t, dpopAuth)},
				{"stolen token under Bearer, no proof", s.event(t, "Bearer "+h.access)},
				{"stolen token under Bearer with the owner's fresh proof", s.event(t, "Bearer "+h.access, good())},
				{"proof by the thief's key", s.event(t, dpopAuth, proof(t, thief, s.method, s.url, h.access, now))},
				{"proof by another client's key", s.event(t, dpopAuth, proof(t, other.key, s.method, s.url, h.access, now))},
				{"proof for another method", s.event(t, dpopAuth, proof(t, h.key, "POST", s.url, h.access, now))},
				{"proof for another path", s.event(t, dpopAuth, proof(t, h.key, s.method, s.url+"/other", h.access, now))},
				{"proof for another host", s.event(t, dpopAuth, proof(t, h.key, s.method, strings.Replace(s.url, "https://", "https://evil.", 1), h.access, now))},
				{"proof for http", s.event(t, dpopAuth, proof(t, h.key, s.method, strings.Replace(s.url, "https://", "http://", 1), h.access, now))},
				{"proof for another access token (ath)", s.event(t, dpopAuth, proof(t, h.key, s.method, s.url, other.access, now))},
				{"proof without ath", s.event(t, dpopAuth, proof(t, h.key, s.method, s.url, "", now))},
				{"proof 61 s old", s.event(t, dpopAuth, proof(t, h.key, s.method, s.url, h.access, now.Add(-61*time.Second)))},
				{"proof from the future", s.event(t, dpopAuth, proof(t, h.key, s.method, s.url, h.access, now.Add(time.Minute)))},
				{"alg none", s.event(t, dpopAuth, rawJWS(t, map[string]any{"typ": dpop.Type, "alg": "none", "jwk": jwk}, claims, nil))},
				{"alg HS256", s.event(t, dpopAuth, rawJWS(t, map[string]any{"typ": dpop.Type, "alg": "HS256", "jwk": jwk}, claims, hs256))},
				{"oversized header", s.event(t, dpopAuth, good()+strings.Repeat("A", dpop.MaxLen))},
				{"malformed header", s.event(t, dpopAuth, "not.a.jws")},
				{"garbage header", s.event(t, dpopAuth, "\x00\xff{}")},
				{"two DPoP headers", s.event(t, dpopAuth, good(), good())},
				{"a good proof and a bad one", s.event(t, dpopAuth, good(), "not.a.jws")},
			}
			for _, tc := range cases {
				if decide(t, a, tc.ev) {
					t.Errorf("%s: allowed", tc.name)
				}
			}
		})
	}
}

// TestDPoPReplayedProof, as an attacker who captured a request (token and
// proof) and sends it again, to the same container and to another one: the
// proof's jti is spent in the DynamoDB table both containers share (moto),
// with one conditional write, so only the first use passes.
func TestDPoPReplayedProof(t *testing.T) {
	f := newFixture(t)
	db := testenv.DynamoDB(t)
	shared := dynamo.New(db, testenv.DynamoTables(t, db))
	for _, s := range dpopShapes {
		t.Run(s.name, func(t *testing.T) {
			one, two := f.dpopAuthorizer(shared, nil), f.dpopAuthorizer(shared, nil)
			h := f.holder(t)
			ev := h.event(t, s)
			if !decide(t, one, ev) {
				t.Fatal("the first use was refused")
			}
			if decide(t, one, ev) {
				t.Error("the same proof was allowed twice by one container")
			}
			if decide(t, two, ev) {
				t.Error("the same proof was allowed by a second container sharing the store")
			}
			if !decide(t, two, h.event(t, s)) {
				t.Error("a fresh proof was refused")
			}
		})
	}
}

// TestDPoPUnboundTokenUnderDPoP: a bearer token sent under the DPoP scheme
// (with a valid proof by some key) is refused; under Bearer it is allowed
// unless DPoP is required, where only bound tokens pass.
func TestDPoPUnboundTokenUnderDPoP(t *testing.T) {
	f := newFixture(t)
	for _, s := range dpopShapes {
		t.Run(s.name, func(t *testing.T) {
			a := f.dpopAuthorizer(&dpop.Memory{}, nil)
			bearer := f.token(t, now)
			k := newKey(t)
			if decide(t, a, s.event(t, "DPoP "+bearer, proof(t, k, s.method, s.url, bearer, now))) {
				t.Error("an unbound token under the DPoP scheme was allowed")
			}
			if !decide(t, a, s.event(t, "Bearer "+bearer)) {
				t.Error("a bearer token was refused with DPoP optional")
			}
			a.RequireDPoP = true
			if decide(t, a, s.event(t, "Bearer "+bearer)) {
				t.Error("a bearer token was allowed with DPoP required")
			}
			h := f.holder(t)
			if !decide(t, a, h.event(t, s)) {
				t.Error("a bound token with its proof was refused with DPoP required")
			}
		})
	}
}

// TestDPoPTokenEventRefusesBoundTokens: a TOKEN authorizer sees only the
// Authorization header, never the proof nor the URL, so a bound token is
// refused under either scheme; a bearer token is allowed as ever.
func TestDPoPTokenEventRefusesBoundTokens(t *testing.T) {
	f := newFixture(t)
	a := f.dpopAuthorizer(&dpop.Memory{}, nil)
	tokenShape := shapes[0]
	h := f.holder(t)
	for _, auth := range []string{"DPoP " + h.access, "Bearer " + h.access} {
		if decide(t, a, tokenShape.event(t, auth)) {
			t.Errorf("TOKEN event with %.5s… bound token: allowed", auth)
		}
	}
	if !decide(t, a, tokenShape.event(t, "Bearer "+f.token(t, now))) {
		t.Error("TOKEN event with a bearer token: refused")
	}
}

// TestDPoPGatewayCacheFailsClosed: when API Gateway may cache the answer
// (ROTOR_GATEWAY_CACHE_TTL > 0), a cached Allow would let later requests in
// with no proof checked; the authorizer refuses bound tokens, even with a
// good proof, and logs why.
func TestDPoPGatewayCacheFailsClosed(t *testing.T) {
	f := newFixture(t)
	for _, s := range dpopShapes {
		t.Run(s.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := f.dpopAuthorizer(&dpop.Memory{}, slog.New(slog.NewJSONHandler(&logs, nil)))
			a.GatewayCacheTTL = time.Second
			h := f.holder(t)
			if decide(t, a, h.event(t, s)) {
				t.Fatal("a bound token was allowed behind a gateway cache")
			}
			if !strings.Contains(logs.String(), `"event":"dpop_refused"`) || !strings.Contains(logs.String(), "gateway cache") {
				t.Errorf("refusal not logged with its reason: %s", logs.String())
			}
			if !decide(t, a, s.event(t, "Bearer "+f.token(t, now))) {
				t.Error("a bearer token was refused behind a gateway cache")
			}
		})
	}
}

// TestDPoPNoVerifierRefusesBoundTokens: an authorizer configured with DPoP
// off (no proof verifier) meets a token some token function bound: the
// binding is never dropped, the token is refused.
func TestDPoPNoVerifierRefusesBoundTokens(t *testing.T) {
	f := newFixture(t)
	a := f.authorizer(f.src, nil)
	s := dpopShapes[0]
	h := f.holder(t)
	if decide(t, a, h.event(t, s)) {
		t.Error("a bound token was allowed by an authorizer that checks no proofs")
	}
}

// TestDPoPStepUpStillEnforced: a bound token with a valid proof but without
// "mfa" still gets the Deny of the MFA routes (REST) or is refused on them
// (HTTP API 2.0); with "mfa" it passes.
func TestDPoPStepUpStillEnforced(t *testing.T) {
	f := newFixture(t)
	for _, s := range dpopShapes {
		t.Run(s.name, func(t *testing.T) {
			a := f.dpopAuthorizer(&dpop.Memory{}, nil)
			routes, err := stepup.Parse("GET /*")
			if err != nil {
				t.Fatal(err)
			}
			a.MFARoutes = routes
			pwd := f.holder(t, "pwd")
			resp, err := handle(t, a, pwd.event(t, s))
			if err != nil {
				t.Fatal(err)
			}
			switch r := resp.(type) {
			case events.APIGatewayV2CustomAuthorizerSimpleResponse:
				if r.IsAuthorized {
					t.Error("HTTP API: a bound token without mfa was authorized on an MFA route")
				}
			case events.APIGatewayCustomAuthorizerResponse:
				st := r.PolicyDocument.Statement
				if len(st) != 2 || st[1].Effect != "Deny" {
					t.Errorf("REST: policy %+v; want the Allow and the Deny of the MFA routes", st)
				}
			}
			mfa := f.holder(t, "pwd", "otp", "mfa")
			if !decide(t, a, mfa.event(t, s)) {
				t.Error("a bound token with mfa and its proof was refused")
			}
		})
	}
}

// TestDPoPWarmCacheKeepsOnlyTheToken: the container's decision cache may
// skip the token's signature check, never the proof: a cached bound token
// without a proof, or with a replayed one, is refused.
func TestDPoPWarmCacheKeepsOnlyTheToken(t *testing.T) {
	f := newFixture(t)
	s := dpopShapes[0]
	a := f.dpopAuthorizer(&dpop.Memory{}, nil)
	a.Cache = &authorizer.Cache{TTL: time.Minute}
	h := f.holder(t)
	p := proof(t, h.key, s.method, s.url, h.access, now)
	if !decide(t, a, s.event(t, "DPoP "+h.access, p)) {
		t.Fatal("first use refused")
	}
	if a.Cache.Len() != 1 {
		t.Fatalf("the token's verification was not cached (%d entries)", a.Cache.Len())
	}
	if decide(t, a, s.event(t, "DPoP "+h.access)) {
		t.Error("a cached bound token was allowed without a proof")
	}
	if decide(t, a, s.event(t, "DPoP "+h.access, p)) {
		t.Error("a cached bound token was allowed with a replayed proof")
	}
	if decide(t, a, s.event(t, "Bearer "+h.access)) {
		t.Error("a cached bound token was allowed under Bearer")
	}
	if !decide(t, a, h.event(t, s)) {
		t.Error("a cached bound token with a fresh proof was refused")
	}
}

// TestDPoPNonces: with server nonces on, a proof without one, or with a
// stale or forged one, is refused (ErrUseNonce); with the current nonce of
// the deployment's MAC key it passes.
func TestDPoPNonces(t *testing.T) {
	f := newFixture(t)
	s := dpopShapes[0]
	ring, err := mac.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	nonces := &dpop.Nonces{MAC: mac.Static(ring)}
	a := f.dpopAuthorizer(&dpop.Memory{}, nil)
	a.Proofs.Nonces = nonces
	h := f.holder(t)
	withNonce := func(n string) string {
		p, err := dpop.NewProof(h.key, dpop.Request{Method: s.method, URL: s.url, AccessToken: h.access, Nonce: n, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := context.Background()
	current, err := nonces.Issue(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := nonces.Issue(ctx, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]string{"no nonce": "", "stale nonce": stale, "forged nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		_, err := a.AuthorizeRequest(ctx, authorizer.Request{Authorization: "DPoP " + h.access, Proofs: []string{withNonce(n)}, Method: s.method, URL: s.url})
		if !errors.Is(err, authorizer.ErrUseNonce) {
			t.Errorf("%s: %v; want ErrUseNonce", name, err)
		}
	}
	if !decide(t, a, s.event(t, "DPoP "+h.access, withNonce(current))) {
		t.Error("a proof with the current nonce was refused")
	}
}

// failingReplay is a replay store that cannot answer.
type failingReplay struct{}

func (failingReplay) SpendDPoPProof(context.Context, string, time.Time) error {
	return errors.New("store unavailable")
}

// TestDPoPReplayStoreDownFailsClosed: when the proof's jti cannot be spent
// the authorizer cannot decide: an error other than Unauthorized (API
// Gateway's 500), never an Allow.
func TestDPoPReplayStoreDownFailsClosed(t *testing.T) {
	f := newFixture(t)
	s := dpopShapes[0]
	a := f.dpopAuthorizer(failingReplay{}, nil)
	h := f.holder(t)
	out, err := a.Invoke(context.Background(), h.event(t, s))
	if err == nil || errors.Is(err, authorizer.ErrUnauthorized) {
		t.Fatalf("Invoke = %s, %v; want an internal error", out, err)
	}
}

// TestDPoPRequestURL: the URL the authorizer checks htu against is the one
// the client called, read from each event shape: requestContext.domainName,
// or the Host header when an event has none (an event with neither names no
// URL, and a bound token is refused); https unless X-Forwarded-Proto says
// http.
func TestDPoPRequestURL(t *testing.T) {
	f := newFixture(t)
	for _, s := range dpopShapes {
		t.Run(s.name, func(t *testing.T) {
			a := f.dpopAuthorizer(&dpop.Memory{}, nil)
			h := f.holder(t)
			noDomain := func(m map[string]any) { delete(m["requestContext"].(map[string]any), "domainName") }
			withProof := func(edit func(map[string]any)) json.RawMessage {
				ev := h.event(t, s)
				var m map[string]any
				if err := json.Unmarshal(ev, &m); err != nil {
					t.Fatal(err)
				}
				edit(m)
				b, _ := json.Marshal(m)
				return b
			}
			if !decide(t, a, withProof(noDomain)) {
				t.Error("without requestContext.domainName (Host header): refused")
			}
			noHost := func(m map[string]any) {
				noDomain(m)
				h := m["headers"].(map[string]any)
				delete(h, "Host")
				delete(h, "host")
			}
			if decide(t, a, withProof(noHost)) {
				t.Error("an event naming no host: allowed")
			}
			// A proof made for another API at the same path, replayed here
			// with that API's name as the Host header: the gateway's
			// domainName is the URL, not the client's Host text (the token
			// endpoints read it the same way, httpapi.RequestURL).
			foreignHost := "api.other.example"
			foreignURL := "https://" + foreignHost + s.url[strings.Index(s.url[len("https://"):], "/")+len("https://"):]
			ev := s.event(t, "DPoP "+h.access, proof(t, h.key, s.method, foreignURL, h.access, now))
			var fm map[string]any
			if err := json.Unmarshal(ev, &fm); err != nil {
				t.Fatal(err)
			}
			fh := fm["headers"].(map[string]any)
			delete(fh, "host")
			fh["Host"] = foreignHost
			fb, _ := json.Marshal(fm)
			if decide(t, a, fb) {
				t.Error("another API's proof with its name as the Host: allowed")
			}
			// API Gateway says https; an event saying http (sam local's
			// gateway) needs a proof for http, and the https one fails.
			plain := func(m map[string]any) {
				h := m["headers"].(map[string]any)
				delete(h, "X-Forwarded-Proto")
				h["x-forwarded-proto"] = "http"
			}
			if decide(t, a, withProof(plain)) {
				t.Error("an https proof for an http request: allowed")
			}
			httpURL := strings.Replace(s.url, "https://", "http://", 1)
			ev = s.event(t, "DPoP "+h.access, proof(t, h.key, s.method, httpURL, h.access, now))
			var m map[string]any
			if err := json.Unmarshal(ev, &m); err != nil {
				t.Fatal(err)
			}
			plain(m)
			b, _ := json.Marshal(m)
			if !decide(t, a, b) {
				t.Error("an http proof for an http request (sam local): refused")
			}
		})
	}
}

// TestDPoPRefusalsLogged: every refusal of a bound token's use is one Info
// line with event dpop_refused and a reason (the metric filter counts
// them), never the token or the proof.
func TestDPoPRefusalsLogged(t *testing.T) {
	f := newFixture(t)
	s := dpopShapes[0]
	var logs bytes.Buffer
	a := f.dpopAuthorizer(&dpop.Memory{}, slog.New(slog.NewJSONHandler(&logs, nil)))
	h := f.holder(t)
	p := proof(t, newKey(t), s.method, s.url, h.access, now)
	if decide(t, a, s.event(t, "DPoP "+h.access, p)) {
		t.Fatal("a proof by another key was allowed")
	}
	var line struct {
		Level, Event, Reason string
	}
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if line.Level != "INFO" || line.Event != "dpop_refused" || !strings.Contains(line.Reason, "key") {
		t.Errorf("log line %+v; want INFO dpop_refused with the reason", line)
	}
	if strings.Contains(logs.String(), h.access) || strings.Contains(logs.String(), p) {
		t.Error("the log holds the token or the proof")
	}
}

// TestFromAuthorizationSchemes: both schemes in any case, one b64token.
func TestFromAuthorizationSchemes(t *testing.T) {
	for _, tc := range []struct {
		in, scheme string
		ok         bool
	}{
		{"DPoP abc.def.ghi", token.SchemeDPoP, true},
		{"dpop abc.def.ghi", token.SchemeDPoP, true},
		{"bearer abc.def.ghi", token.SchemeBearer, true},
		{"DPoP abc.def.ghi junk", "", false},
		{"Basic abc", "", false},
		{"DPoP", "", false},
	} {
		scheme, _, ok := token.FromAuthorization(tc.in)
		if ok != tc.ok || scheme != tc.scheme {
			t.Errorf("FromAuthorization(%q) = %q, %v", tc.in, scheme, ok)
		}
	}
}
