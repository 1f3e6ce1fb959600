//go:build samlocal

package samlocal_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
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

// bind re-signs a login's access token, bound to key (cnf.jkt), with the
// deployment's signing key read from moto: the same user, session and
// methods, so strict sessions still find the session. (Binding at login is
// the token functions' part; this test is the authorizer's.)
func bind(t *testing.T, access string, key *ecdsa.PrivateKey) string {
	t.Helper()
	ctx := context.Background()
	set, err := keys.Fetch(ctx, env.secrets, env.vars["ROTOR_SIGNING_SECRET_ID"])
	if err != nil {
		t.Fatal(err)
	}
	var c token.Claims
	if _, _, err := jwt.NewParser().ParseUnverified(access, &c); err != nil {
		t.Fatal(err)
	}
	if c.SessionID == "" || c.Username == "" {
		t.Fatalf("the login's token names no session or username: %s", access)
	}
	var authTime time.Time
	if c.AuthTime != nil {
		authTime = c.AuthTime.Time
	}
	jkt, err := dpop.KeyThumbprint(key)
	if err != nil {
		t.Fatal(err)
	}
	iss := &token.Issuer{Keys: keys.Static(set), Issuer: env.vars["ROTOR_ISSUER"], Audience: env.vars["ROTOR_AUDIENCE"], TTL: 15 * time.Minute}
	raw, err := iss.Issue(ctx, token.Subject{UserID: c.Subject, Username: c.Username, SessionID: c.SessionID, AMR: c.AMR, AuthTime: authTime, JKT: jkt}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestStartAPIDPoP: `sam local start-api` with Dpop=optional runs the
// template's REQUEST authorizer (no cache) in front of /me: a DPoP-bound
// access token with a fresh proof for the URL called passes; the same token
// without a proof, or with the proof replayed, is refused (sam local's 502
// for an authorizer's Unauthorized); a bearer token still passes.
func TestStartAPIDPoP(t *testing.T) {
	t.Parallel()
	a := startAPIWith(t, "Dpop=optional")
	username := fmt.Sprintf("dora-%d", time.Now().UnixNano())
	const password = "correct horse battery staple 42"
	creds := map[string]string{"username": username, "password": password}
	expect(t, "signup", a.do(t, "POST", "/auth/signup", creds, nil), 201, "")
	login := tokenPair(t, "login", a.do(t, "POST", "/auth/login", creds, nil))
	expect(t, "me with a bearer token", a.do(t, "GET", "/me", nil, bearer(login.access)), 200, "")

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bound := bind(t, login.access, key)
	url := a.base + "/me"
	p, err := dpop.NewProof(key, dpop.Request{Method: "GET", URL: url, AccessToken: bound})
	if err != nil {
		t.Fatal(err)
	}
	r := a.do(t, "GET", "/me", nil, map[string]string{"Authorization": "DPoP " + bound, "DPoP": p})
	expect(t, "me with a bound token and its proof", r, 200, "")
	if r.str("session_id") != login.session {
		t.Fatalf("me: %s, want session %s", r.body, login.session)
	}
	expect(t, "the same proof again", a.do(t, "GET", "/me", nil, map[string]string{"Authorization": "DPoP " + bound, "DPoP": p}), refusedBySAMLocal, "")
	expect(t, "the bound token without a proof", a.do(t, "GET", "/me", nil, map[string]string{"Authorization": "DPoP " + bound}), refusedBySAMLocal, "")
	expect(t, "the bound token under Bearer", a.do(t, "GET", "/me", nil, bearer(bound)), refusedBySAMLocal, "")
}
