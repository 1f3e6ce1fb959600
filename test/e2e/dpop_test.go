package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/dpop"
)

// dpopKey is a client's DPoP key pair and its thumbprint.
type dpopKey struct {
	key *ecdsa.PrivateKey
	jkt string
}

func newDPoPKey(t *testing.T) dpopKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.KeyThumbprint(k)
	if err != nil {
		t.Fatal(err)
	}
	return dpopKey{k, jkt}
}

// proof is a proof by k for a POST to path on e, made at e's clock.
func (e *env) proof(k dpopKey, path, nonce string) string {
	e.t.Helper()
	p, err := dpop.NewProof(k.key, dpop.Request{Method: http.MethodPost, URL: e.url + path, Nonce: nonce, Now: e.clock.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// post sends a JSON POST with a fresh proof by k.
func (e *env) post(k dpopKey, path string, body any) response {
	e.t.Helper()
	return e.do(http.MethodPost, path, body, "DPoP", e.proof(k, path, ""))
}

// boundPair checks a token response is DPoP-bound to k: token_type DPoP and
// the access token's cnf.jkt.
func boundPair(t *testing.T, r response, k dpopKey) pair {
	t.Helper()
	p := pair{Access: r.str("access_token"), Refresh: r.str("refresh_token")}
	if r.Status != http.StatusOK || p.Access == "" || p.Refresh == "" || r.str("token_type") != "DPoP" {
		t.Fatalf("not a DPoP token response: %d %s", r.Status, r.Raw)
	}
	if got := cnfJKT(t, p.Access); got != k.jkt {
		t.Fatalf("access token cnf.jkt %q, want %q", got, k.jkt)
	}
	return p
}

// cnfJKT reads an access token's cnf.jkt (its signature is the server's
// business; here only the claim matters).
func cnfJKT(t *testing.T, at string) string {
	t.Helper()
	parts := strings.Split(at, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a JWS", at)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c.Cnf.JKT
}

func withDPoP(mode string, nonce bool) func(*config.Config) {
	return func(c *config.Config) { c.DPoP, c.DPoPNonce = mode, nonce }
}

// forgedProof is a proof of alg (none, HS256) with k's public key in its
// header: refused before any signature is checked.
func forgedProof(t *testing.T, e *env, k dpopKey, alg string) string {
	t.Helper()
	jwk, err := json.Marshal(jose.JSONWebKey{Key: k.key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(map[string]any{"typ": dpop.Type, "alg": alg, "jwk": json.RawMessage(jwk)}) + "." +
		enc(map[string]any{"jti": "forged-" + alg, "htm": "POST", "htu": e.url + "/auth/refresh", "iat": e.clock.Now().Unix()})
	switch alg {
	case "none":
		return input + "."
	default:
		// HMAC keyed with the public key's JSON: the algorithm confusion a
		// verifier that trusts the header's alg would accept.
		m := hmac.New(sha256.New, jwk)
		m.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
}

// TestDPoPStolenRefreshToken, as the attacker who copied a DPoP-bound
// session's refresh token but not its key: every refresh without a valid
// proof by the session's key is 400 invalid_dpop_proof and changes nothing
// (the owner refreshes with that very token afterwards), whatever the
// attacker sends: no proof, a proof by another key (a key swap), a replayed
// proof, a proof for another URL or method, an old iat, alg none or HS256,
// an oversized or malformed header, two headers.
func TestDPoPStolenRefreshToken(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withDPoP(config.DPoPOptional, false), nil)
			e.signup("alice", "correct horse battery")
			owner, thief := newDPoPKey(t), newDPoPKey(t)
			p := boundPair(t, e.post(owner, "/auth/login", map[string]string{"username": "alice", "password": "correct horse battery"}), owner)
			body := map[string]string{"refresh_token": p.Refresh}

			spent := e.proof(owner, "/auth/refresh", "")
			p = boundPair(t, e.do("POST", "/auth/refresh", body, "DPoP", spent), owner)
			body = map[string]string{"refresh_token": p.Refresh}

			old := e.clock.Now().Add(-2 * time.Minute)
			oldProof, err := dpop.NewProof(owner.key, dpop.Request{Method: "POST", URL: e.url + "/auth/refresh", Now: old})
			if err != nil {
				t.Fatal(err)
			}
			getProof, err := dpop.NewProof(owner.key, dpop.Request{Method: "GET", URL: e.url + "/auth/refresh", Now: e.clock.Now()})
			if err != nil {
				t.Fatal(err)
			}
			attacks := []struct {
				name    string
				headers []string
			}{
				{"no proof", nil},
				{"the thief's own key", []string{"DPoP", e.proof(thief, "/auth/refresh", "")}},
				{"a replayed proof (jti spent)", []string{"DPoP", spent}},
				{"a proof for another URL", []string{"DPoP", e.proof(owner, "/auth/login", "")}},
				{"a proof for another method", []string{"DPoP", getProof}},
				{"an old iat", []string{"DPoP", oldProof}},
				{"alg none", []string{"DPoP", forgedProof(t, e, owner, "none")}},
				{"alg HS256", []string{"DPoP", forgedProof(t, e, owner, "HS256")}},
				{"oversized", []string{"DPoP", strings.Repeat("A", dpop.MaxLen+1)}},
				{"malformed", []string{"DPoP", "not.a.proof"}},
			}
			for _, a := range attacks {
				r := e.do("POST", "/auth/refresh", body, a.headers...)
				if r.Status != http.StatusBadRequest || r.str("error") != "invalid_dpop_proof" {
					t.Fatalf("%s: %d %s, want 400 invalid_dpop_proof", a.name, r.Status, r.Raw)
				}
			}
			// Two proofs in one request: refused, even if one is good.
			req := map[string]string{"refresh_token": p.Refresh}
			r := e.doMulti("POST", "/auth/refresh", req, "DPoP", e.proof(owner, "/auth/refresh", ""), e.proof(owner, "/auth/refresh", ""))
			wantError(t, r, http.StatusBadRequest, "invalid_dpop_proof")
			// The token endpoint for the OAuth clients, the same rule.
			form := "grant_type=refresh_token&client_id=app&refresh_token=" + p.Refresh
			r = e.do("POST", "/oauth/token", form, "Content-Type", "application/x-www-form-urlencoded", "DPoP", e.proof(thief, "/oauth/token", ""))
			wantError(t, r, http.StatusBadRequest, "invalid_dpop_proof")
			if e.hasEvent("reuse_detected") {
				t.Fatal("a refused proof counted as reuse")
			}
			// Nothing changed: the owner refreshes with the very token the
			// thief presented, with its key.
			next := boundPair(t, e.post(owner, "/auth/refresh", body), owner)
			boundPair(t, e.post(owner, "/auth/refresh", map[string]string{"refresh_token": next.Refresh}), owner)
		})
	}
}

// doMulti sends one header twice (two values).
func (e *env) doMulti(method, path string, body any, name string, values ...string) response {
	e.t.Helper()
	extra := make([]string, 0, 2*len(values))
	for _, v := range values {
		extra = append(extra, name, v)
	}
	req := testapi.Request(e.t, method, e.url+path, body)
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Add(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	e.conform(req, resp, raw)
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}
