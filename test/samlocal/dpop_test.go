//go:build samlocal

package samlocal_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/dpop"
)

// withParams adds template parameters to a sam command's
// --parameter-overrides (which samArgs always gives).
func withParams(args, params []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if a == "--parameter-overrides" && i+1 < len(out) {
			out[i+1] += " " + strings.Join(params, " ")
			return out
		}
	}
	return append(out, "--parameter-overrides", strings.Join(params, " "))
}

// proved returns headers carrying a fresh proof by key for method and the
// URL the client calls, a.base+path: sam local's gateway passes the Host it
// was called on and X-Forwarded-Proto: http, and its requestContext.path is
// the path called (no stage), so the token functions and the authorizer
// must rebuild exactly this URL. With access, the proof carries its ath and
// the headers its Authorization under the DPoP scheme.
func (a *api) proved(t *testing.T, key *ecdsa.PrivateKey, method, path, access string) map[string]string {
	t.Helper()
	p, err := dpop.NewProof(key, dpop.Request{Method: method, URL: a.base + path, AccessToken: access})
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{"DPoP": p}
	if access != "" {
		h["Authorization"] = "DPoP " + access
	}
	return h
}

// boundPair checks a token response of a session bound to jkt: token_type
// DPoP and cnf.jkt in the access token.
func boundPair(t *testing.T, what string, r reply, jkt string) pair {
	t.Helper()
	expect(t, what, r, 200, "")
	p := pair{access: r.str("access_token"), refresh: r.str("refresh_token")}
	if p.access == "" || p.refresh == "" || r.str("token_type") != "DPoP" {
		t.Fatalf("%s: not a DPoP token response: %s", what, r.body)
	}
	c := claims(t, p.access)
	if cnf, _ := c["cnf"].(map[string]any); cnf["jkt"] != jkt {
		t.Fatalf("%s: access token cnf %v, want jkt %s", what, c["cnf"], jkt)
	}
	p.session = str(c, "sid")
	return p
}

// TestStartAPIDPoP: `sam local start-api` with Dpop=optional, the template's
// REQUEST authorizer (no cache) in front of /me and the token functions
// told ROTOR_DPOP=optional. A login with a proof for the URL called starts
// a session bound to the proof's key (token_type DPoP, cnf.jkt); its token
// with a fresh proof passes the authorizer; without a proof, with the proof
// replayed, or under Bearer it is refused (sam local's 502 for an
// authorizer's Unauthorized); a refresh with a proof stays bound, and the
// stolen refresh token without the key is refused invalid_dpop_proof. A
// login without a proof is a bearer session, whose token still passes.
func TestStartAPIDPoP(t *testing.T) {
	t.Parallel()
	a := startAPIWith(t, "Dpop=optional")
	username := fmt.Sprintf("dora-%d", time.Now().UnixNano())
	const password = "correct horse battery staple 42"
	creds := map[string]string{"username": username, "password": password}
	expect(t, "signup", a.do(t, "POST", "/auth/signup", creds, nil), 201, "")
	plain := tokenPair(t, "login without a proof", a.do(t, "POST", "/auth/login", creds, nil))
	expect(t, "me with a bearer token", a.do(t, "GET", "/me", nil, bearer(plain.access)), 200, "")

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.KeyThumbprint(key)
	if err != nil {
		t.Fatal(err)
	}
	login := boundPair(t, "login with a proof", a.do(t, "POST", "/auth/login", creds, a.proved(t, key, "POST", "/auth/login", "")), jkt)

	h := a.proved(t, key, "GET", "/me", login.access)
	r := a.do(t, "GET", "/me", nil, h)
	expect(t, "me with the bound token and its proof", r, 200, "")
	if r.str("session_id") != login.session {
		t.Fatalf("me: %s, want session %s", r.body, login.session)
	}
	expect(t, "the same proof again", a.do(t, "GET", "/me", nil, h), refusedBySAMLocal, "")
	expect(t, "the bound token without a proof", a.do(t, "GET", "/me", nil, map[string]string{"Authorization": "DPoP " + login.access}), refusedBySAMLocal, "")
	expect(t, "the bound token under Bearer", a.do(t, "GET", "/me", nil, bearer(login.access)), refusedBySAMLocal, "")

	refresh := map[string]string{"refresh_token": login.refresh}
	expect(t, "the bound refresh token without a proof", a.do(t, "POST", "/auth/refresh", refresh, nil), 400, "invalid_dpop_proof")
	next := boundPair(t, "refresh with a proof", a.do(t, "POST", "/auth/refresh", refresh, a.proved(t, key, "POST", "/auth/refresh", "")), jkt)
	if next.session != login.session || next.refresh == login.refresh {
		t.Fatalf("refresh: session %s (want %s), or the same refresh token", next.session, login.session)
	}
	expect(t, "me with the refreshed token and its proof", a.do(t, "GET", "/me", nil, a.proved(t, key, "GET", "/me", next.access)), 200, "")
}
