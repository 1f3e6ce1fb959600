package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
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
	return e.send(req)
}

// TestDPoPLostResponse: the owner's refresh rotated, its answer never
// arrived; past the grace window (11 s on the server's clock) the owner
// retries the old token with a proof by the session's key and gets the
// session's successor, the same on a second retry; the session goes on.
// The same retry without the proof is reuse: the session ends, as for a
// bearer session.
func TestDPoPLostResponse(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withDPoP(config.DPoPOptional, false), nil)
			e.signup("alice", "correct horse battery")
			k := newDPoPKey(t)
			login := boundPair(t, e.post(k, "/auth/login", map[string]string{"username": "alice", "password": "correct horse battery"}), k)
			old := map[string]string{"refresh_token": login.Refresh}
			lost := boundPair(t, e.post(k, "/auth/refresh", old), k) // the answer that never arrived
			e.clock.Advance(11 * time.Second)
			for i := range 2 {
				again := boundPair(t, e.post(k, "/auth/refresh", old), k)
				if again.Refresh != lost.Refresh {
					t.Fatalf("retry %d past the grace window: another refresh token than the lost one", i)
				}
			}
			next := boundPair(t, e.post(k, "/auth/refresh", map[string]string{"refresh_token": lost.Refresh}), k)
			// The successor was used: the old token is reuse now, key or not.
			wantError(t, e.post(k, "/auth/refresh", old), http.StatusUnauthorized, "invalid_grant")
			if !e.hasEvent("reuse_detected") {
				t.Fatal("no reuse_detected after the successor was used")
			}
			wantError(t, e.post(k, "/auth/refresh", map[string]string{"refresh_token": next.Refresh}), http.StatusUnauthorized, "invalid_grant")

			t.Run("without the key", func(t *testing.T) {
				e.signup("bob", "correct horse battery")
				login := boundPair(t, e.post(k, "/auth/login", map[string]string{"username": "bob", "password": "correct horse battery"}), k)
				lost := boundPair(t, e.post(k, "/auth/refresh", map[string]string{"refresh_token": login.Refresh}), k)
				e.clock.Advance(11 * time.Second)
				wantError(t, e.refresh(login.Refresh), http.StatusUnauthorized, "invalid_grant")
				wantError(t, e.post(k, "/auth/refresh", map[string]string{"refresh_token": lost.Refresh}), http.StatusUnauthorized, "invalid_grant")
			})
		})
	}
}

// TestDPoPLostResponseAfterCredentialChange, as the attacker who holds a
// bound session's superseded refresh token and its key (a stolen device
// whose owner then acted): the owner's refresh rotated and its answer was
// lost, then the owner changed the password or logged out everywhere from
// another session. Past the grace window, the old token with a proof by the
// session's key (the lost-response rule) and the lost successor with one
// are both invalid_grant: the rule answers only a live session of the
// current credential epoch, never resurrects an ended one.
func TestDPoPLostResponseAfterCredentialChange(t *testing.T) {
	const pw, newPW = "correct horse battery", "staple battery horse 2"
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withDPoP(config.DPoPOptional, false), nil)
			for _, c := range []struct {
				user string
				end  func(bearerAccess string) response
			}{
				{"pat", func(at string) response {
					return e.do("POST", "/auth/password", map[string]string{"current_password": pw, "new_password": newPW}, bearer(at)...)
				}},
				{"eve", func(at string) response {
					return e.do("POST", "/auth/logout", map[string]bool{"all": true}, bearer(at)...)
				}},
			} {
				e.signup(c.user, pw)
				k := newDPoPKey(t)
				login := boundPair(t, e.post(k, "/auth/login", map[string]string{"username": c.user, "password": pw}), k)
				old := map[string]string{"refresh_token": login.Refresh}
				lost := boundPair(t, e.post(k, "/auth/refresh", old), k) // the answer that never arrived
				other := e.login(c.user, pw)                             // a bearer session of the owner
				if r := c.end(other.Access); r.Status != http.StatusNoContent {
					t.Fatalf("%s: ending the sessions: %d %s", c.user, r.Status, r.Raw)
				}
				e.clock.Advance(11 * time.Second)
				wantError(t, e.post(k, "/auth/refresh", old), http.StatusUnauthorized, "invalid_grant")
				wantError(t, e.post(k, "/auth/refresh", map[string]string{"refresh_token": lost.Refresh}), http.StatusUnauthorized, "invalid_grant")
				wantError(t, e.post(k, "/auth/refresh", old), http.StatusUnauthorized, "invalid_grant")
			}
		})
	}
}

// TestDPoPRefreshBurst: the owner's refresh sent several times at once,
// each with its own valid proof by the session's key (a client's retries
// racing, tabs sharing one session), answers every request with the same
// successor (one rotation; the others are the lost-response rule's answer),
// never reuse: the session goes on. The same burst with a copied token and
// the thief's own keys changes nothing and ends nothing. And one proof sent
// to two refreshes at once is accepted at most once.
func TestDPoPRefreshBurst(t *testing.T) {
	const n = 6
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withDPoP(config.DPoPOptional, false), nil)
			e.signup("alice", "correct horse battery")
			k := newDPoPKey(t)
			login := boundPair(t, e.post(k, "/auth/login", map[string]string{"username": "alice", "password": "correct horse battery"}), k)
			body := map[string]string{"refresh_token": login.Refresh}

			// The owner's burst and a thief's (the copied token, the thief's
			// keys), released together.
			thieves := make([]dpopKey, n)
			proofs := make([]string, n)
			for i := range n {
				thieves[i] = newDPoPKey(t)
				proofs[i] = e.proof(k, "/auth/refresh", "")
			}
			got := together(2*n, func(i int) response {
				if i%2 == 1 {
					return e.post(thieves[i/2], "/auth/refresh", body)
				}
				return e.do(http.MethodPost, "/auth/refresh", body, "DPoP", proofs[i/2])
			})
			var next pair
			for i, r := range got {
				if i%2 == 1 {
					if r.Status == http.StatusOK {
						t.Fatalf("thief %d with its own key: %d %s", i/2, r.Status, r.Raw)
					}
					continue
				}
				p := boundPair(t, r, k)
				if next.Refresh == "" {
					next = p
				} else if p.Refresh != next.Refresh {
					t.Fatalf("request %d of the burst: another refresh token than the others", i/2)
				}
			}
			if e.hasEvent("reuse_detected") {
				t.Fatal("reuse_detected for the owner's own burst")
			}
			boundPair(t, e.post(k, "/auth/refresh", map[string]string{"refresh_token": next.Refresh}), k)

			// One proof, two refreshes at once: one may pass, never both.
			login2 := boundPair(t, e.post(k, "/auth/login", map[string]string{"username": "alice", "password": "correct horse battery"}), k)
			one := e.proof(k, "/auth/refresh", "")
			ok := 0
			for _, r := range together(2, func(int) response {
				return e.do(http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": login2.Refresh}, "DPoP", one)
			}) {
				if r.Status == http.StatusOK {
					ok++
				} else if r.str("error") != "invalid_dpop_proof" {
					t.Fatalf("the replayed proof: %d %s, want invalid_dpop_proof", r.Status, r.Raw)
				}
			}
			if ok != 1 {
				t.Fatalf("one proof sent twice at once: %d accepted, want 1", ok)
			}
		})
	}
}

// TestDPoPModes: optional binds a login with a proof and leaves one without
// a bearer session (a proof on its refresh is ignored); required refuses a
// token request without a proof, and a bearer session started before
// (even with a proof); off ignores proofs. Discovery lists the proof
// algorithms unless DPoP is off.
func TestDPoPModes(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withDPoP(config.DPoPOptional, false), nil)
			e.signup("alice", "correct horse battery")
			k := newDPoPKey(t)
			creds := map[string]string{"username": "alice", "password": "correct horse battery"}
			bearer := e.login("alice", "correct horse battery")
			r := e.post(k, "/auth/refresh", map[string]string{"refresh_token": bearer.Refresh})
			bearer = pairOf(t, r) // token_type Bearer: the session stays a bearer one
			if cnfJKT(t, bearer.Access) != "" {
				t.Fatal("a bearer session's access token is bound")
			}
			algs, _ := e.do("GET", "/.well-known/oauth-authorization-server", nil).Body["dpop_signing_alg_values_supported"].([]any)
			if len(algs) == 0 || algs[0] != "ES256" {
				t.Fatalf("discovery lists dpop algorithms %v", algs)
			}
			form := "grant_type=password&client_id=app&username=alice&password=correct+horse+battery"
			boundPair(t, e.do("POST", "/oauth/token", form, "Content-Type", "application/x-www-form-urlencoded", "DPoP", e.proof(k, "/oauth/token", "")), k)

			// The same store, now required: the bearer session is refused
			// (nothing changes), a login without a proof too.
			req := newEnvOn(t, e, withDPoP(config.DPoPRequired, false))
			wantError(t, req.do("POST", "/auth/login", creds), http.StatusBadRequest, "invalid_dpop_proof")
			wantError(t, req.do("POST", "/oauth/token", form, "Content-Type", "application/x-www-form-urlencoded"), http.StatusBadRequest, "invalid_dpop_proof")
			wantError(t, req.refresh(bearer.Refresh), http.StatusBadRequest, "invalid_dpop_proof")
			wantError(t, req.post(k, "/auth/refresh", map[string]string{"refresh_token": bearer.Refresh}), http.StatusBadRequest, "invalid_dpop_proof")
			boundPair(t, req.post(k, "/auth/login", creds), k)
			// Off: proofs ignored, the bearer session goes on.
			off := newEnvOn(t, e, withDPoP(config.DPoPOff, false))
			pairOf(t, off.post(k, "/auth/refresh", map[string]string{"refresh_token": bearer.Refresh}))
			pairOf(t, off.post(k, "/auth/login", creds))
			if _, listed := off.do("GET", "/.well-known/openid-configuration", nil).Body["dpop_signing_alg_values_supported"]; listed {
				t.Fatal("discovery lists dpop algorithms with DPoP off")
			}
		})
	}
}

// TestDPoPNonce: with server nonces on, a proof without one is 400
// use_dpop_nonce with a DPoP-Nonce header; the same request with that
// nonce succeeds and its answer carries the next nonce.
func TestDPoPNonce(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withDPoP(config.DPoPOptional, true), nil)
			e.signup("alice", "correct horse battery")
			k := newDPoPKey(t)
			creds := map[string]string{"username": "alice", "password": "correct horse battery"}
			r := e.post(k, "/auth/login", creds)
			wantError(t, r, http.StatusBadRequest, "use_dpop_nonce")
			nonce := r.Header.Get("DPoP-Nonce")
			if nonce == "" {
				t.Fatal("use_dpop_nonce without a DPoP-Nonce header")
			}
			wantError(t, e.do("POST", "/auth/login", creds, "DPoP", e.proof(k, "/auth/login", "bm9wZQ")), http.StatusBadRequest, "use_dpop_nonce")
			r = e.do("POST", "/auth/login", creds, "DPoP", e.proof(k, "/auth/login", nonce))
			p := boundPair(t, r, k)
			if r.Header.Get("DPoP-Nonce") == "" {
				t.Fatal("a token response without the next nonce")
			}
			wantError(t, e.post(k, "/auth/refresh", map[string]string{"refresh_token": p.Refresh}), http.StatusBadRequest, "use_dpop_nonce")
			boundPair(t, e.do("POST", "/auth/refresh", map[string]string{"refresh_token": p.Refresh}, "DPoP", e.proof(k, "/auth/refresh", r.Header.Get("DPoP-Nonce"))), k)
		})
	}
}

// TestDPoPMFAStep: the mfa_token of a login made with a proof is bound to
// its key: the second step without a proof, or with another key's, is
// invalid_mfa_token; with a proof by the login's key the session is bound.
func TestDPoPMFAStep(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withDPoP(config.DPoPOptional, false), nil)
			secret, _, _ := e.enrolled("alice", "")
			k, thief := newDPoPKey(t), newDPoPKey(t)
			r := e.post(k, "/auth/login", map[string]string{"username": "alice", "password": mfaPW})
			wantError(t, r, http.StatusForbidden, "mfa_required")
			tok := r.str("mfa_token")
			e.nextStep()
			body := map[string]string{"mfa_token": tok, "code": e.code(secret)}
			wantError(t, e.verify(body), http.StatusUnauthorized, "invalid_mfa_token")
			wantError(t, e.post(thief, "/auth/mfa/verify", body), http.StatusUnauthorized, "invalid_mfa_token")
			boundPair(t, e.post(k, "/auth/mfa/verify", body), k)
		})
	}
}

// TestDPoPLogout: POST /auth/logout reads a bearer access token itself; a
// bound one works only under the DPoP scheme with a proof by its key for
// this request (ath of the token), never as a Bearer token or with another
// key's proof. A refresh token ends its session without a proof (revocation
// is the safe direction: docs/ARCHITECTURE.md).
func TestDPoPLogout(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withDPoP(config.DPoPOptional, false), nil)
			e.signup("alice", "correct horse battery")
			k, thief := newDPoPKey(t), newDPoPKey(t)
			creds := map[string]string{"username": "alice", "password": "correct horse battery"}
			p := boundPair(t, e.post(k, "/auth/login", creds), k)
			proofFor := func(key dpopKey, at string) string {
				pr, err := dpop.NewProof(key.key, dpop.Request{Method: "POST", URL: e.url + "/auth/logout", AccessToken: at, Now: e.clock.Now()})
				if err != nil {
					t.Fatal(err)
				}
				return pr
			}
			all := map[string]any{"all": true}
			wantError(t, e.do("POST", "/auth/logout", all, "Authorization", "Bearer "+p.Access), http.StatusUnauthorized, "invalid_token")
			wantError(t, e.do("POST", "/auth/logout", all, "Authorization", "DPoP "+p.Access), http.StatusUnauthorized, "invalid_dpop_proof")
			r := e.do("POST", "/auth/logout", all, "Authorization", "DPoP "+p.Access, "DPoP", proofFor(thief, p.Access))
			wantError(t, r, http.StatusUnauthorized, "invalid_dpop_proof")
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `DPoP error="invalid_dpop_proof"`) {
				t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
			}
			wantError(t, e.do("POST", "/auth/logout", all, "Authorization", "DPoP "+p.Access, "DPoP", e.proof(k, "/auth/logout", "")), http.StatusUnauthorized, "invalid_dpop_proof")
			boundPair(t, e.post(k, "/auth/refresh", map[string]string{"refresh_token": p.Refresh}), k) // still alive
			other := boundPair(t, e.post(k, "/auth/login", creds), k)
			if r := e.do("POST", "/auth/logout", map[string]any{}, "Authorization", "DPoP "+p.Access, "DPoP", proofFor(k, p.Access)); r.Status != http.StatusNoContent {
				t.Fatalf("logout with the key's proof: %d %s", r.Status, r.Raw)
			}
			if r := e.do("POST", "/auth/logout", map[string]string{"refresh_token": other.Refresh}); r.Status != http.StatusNoContent {
				t.Fatalf("logout with a bound refresh token: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.post(k, "/auth/refresh", map[string]string{"refresh_token": other.Refresh}), http.StatusUnauthorized, "invalid_grant")
		})
	}
}

// newEnvOn starts another server on e's store, clock, log and server MAC
// key (so e's refresh tokens are genuine there), with e's test config edited
// by edit: the same deployment after a configuration change.
func newEnvOn(t *testing.T, e *env, edit func(*config.Config)) *env {
	t.Helper()
	cfg := config.Default()
	cfg.LoginBackoffBase = 2 * time.Second
	cfg.StoreTimeout = 30 * time.Second
	edit(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := testapi.Deps(t, cfg, e.store, e.logs.Logger(slog.LevelDebug))
	d.MAC = e.mac
	c := *e
	c.url = testapi.Serve(t, cfg, d, testapi.API(t, cfg, d), e.clock.Now)
	return &c
}

// dpopTables are the PostgreSQL tables of DPoP (the spent proofs).
var dpopTables = []string{"dpop_proofs"}

// TestDPoPNothingAtRest: after a DPoP login and refreshes, the store holds
// the sessions' key thumbprints and the spent proofs' keys, and neither a
// refresh token nor a proof (nor its jti) in any form: a reader of the
// store gets nothing to present.
func TestDPoPNothingAtRest(t *testing.T) {
	for _, kind := range []string{"dynamodb", "postgres", "redis"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withDPoP(config.DPoPOptional, false), nil)
			e.signup("alice", "correct horse battery")
			k := newDPoPKey(t)
			secrets := map[string]string{}
			proof := e.proof(k, "/auth/login", "")
			p := boundPair(t, e.do("POST", "/auth/login", map[string]string{"username": "alice", "password": "correct horse battery"}, "DPoP", proof), k)
			secrets["login proof"], secrets["first refresh token"] = proof, p.Refresh
			e.do("POST", "/auth/login", map[string]string{"username": "alice", "password": "wrong password!"}) // fills the attempts
			for i := range 2 {
				proof = e.proof(k, "/auth/refresh", "")
				p = boundPair(t, e.do("POST", "/auth/refresh", map[string]string{"refresh_token": p.Refresh}, "DPoP", proof), k)
				secrets[fmt.Sprintf("refresh proof %d", i)], secrets[fmt.Sprintf("refresh token %d", i)] = proof, p.Refresh
			}
			for name, pr := range map[string]string{"login": secrets["login proof"], "refresh": proof} {
				parts := strings.Split(pr, ".")
				raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
				var c struct {
					JTI string `json:"jti"`
				}
				if err := json.Unmarshal(raw, &c); err != nil || c.JTI == "" {
					t.Fatalf("%s proof: no jti", name)
				}
				secrets[name+" proof's jti"] = c.JTI
				secrets[name+" proof's signature"] = parts[2]
			}
			records := storedValues(t, e, "outbox", "onetime_tokens", "mfa_factors", "mfa_tokens")
			bound, spent := false, 0
			for _, rec := range records {
				for what, s := range secrets {
					if strings.Contains(rec, s) {
						t.Errorf("%s holds the %s", rec[:strings.Index(rec, " | ")], what)
					}
				}
				bound = bound || strings.Contains(rec, k.jkt)
				if strings.HasPrefix(rec, "dpop_proofs |") || strings.Contains(rec, "dpj#") || strings.Contains(rec, ":dpj:") {
					spent++
				}
			}
			if !bound || spent < 3 {
				t.Fatalf("the scan found the session's key %v and %d spent proofs: it proves nothing\n%s", bound, spent, strings.Join(records, "\n"))
			}
		})
	}
}
