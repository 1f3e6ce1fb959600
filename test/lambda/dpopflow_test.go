package lambda_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/totp"
)

// apiURL is the URL a client calls for the events restEvent builds: the
// execute-api host of their Host header and the stage "v1" of their
// requestContext.path. A proof's htu names it, written out here rather
// than taken from pkg/httpapi RequestURL, so a wrong rule there fails.
const apiURL = "https://" + dpopHost + "/v1"

// dpopFunctionVars configure the token functions as template.yaml does with
// Dpop=optional. The grace window is off, so a superseded token presented
// again is judged by the lost-response rule at once, as after an outage
// longer than the window.
var dpopFunctionVars = map[string]string{"ROTOR_DPOP": "optional", "ROTOR_REFRESH_GRACE": "0s"}

// dpopFunction is the running function id configured with
// dpopFunctionVars (instance names a second container of it).
func dpopFunction(t *testing.T, id, instance string) *function {
	t.Helper()
	return requireEnv(t).startProfile(t, id, id+"#dpop"+instance, "dpop", dpopFunctionVars)
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func thumbprint(t *testing.T, key *ecdsa.PrivateKey) string {
	t.Helper()
	jkt, err := dpop.KeyThumbprint(key)
	if err != nil {
		t.Fatal(err)
	}
	return jkt
}

// withProof adds a DPoP header to r: a fresh proof by key for r's method
// and URL (and ath of access, when given).
func withProof(t *testing.T, r request, key *ecdsa.PrivateKey, access string) request {
	t.Helper()
	return withHeader(r, dpop.HeaderName, newProof(t, key, r.method, apiURL+r.path, access))
}

func withHeader(r request, name, value string) request {
	h := map[string]string{}
	for k, v := range r.headers {
		h[k] = v
	}
	h[name] = value
	r.headers = h
	return r
}

// checkBound checks a token response for a session bound to jkt: token_type
// DPoP and an access token whose cnf.jkt is jkt.
func checkBound(t *testing.T, what string, r response, jkt string) tokens {
	t.Helper()
	tk := checkTokenResponseOf(t, what, r, "DPoP")
	cnf, _ := jwtClaims(t, tk.Access)["cnf"].(map[string]any)
	if cnf["jkt"] != jkt {
		t.Fatalf("%s: access token cnf %v, want jkt %s", what, cnf, jkt)
	}
	return tk
}

// dpopLogin signs up a user and logs in through the real login bootstrap
// with a proof by key: a session bound to key, its tokens, and its id.
func dpopLogin(t *testing.T, key *ecdsa.PrivateKey) (tokens, string) {
	t.Helper()
	username := fmt.Sprintf("dora-%d", time.Now().UnixNano())
	const password = "correct horse battery staple 42"
	signup(t, username, password)
	login := request{method: "POST", path: "/auth/login", body: mustJSON(map[string]string{"username": username, "password": password})}
	tk := checkBound(t, "login with a proof", callOn(t, dpopFunction(t, "LoginFunction", ""), withProof(t, login, key, "")), thumbprint(t, key))
	sid, _ := jwtClaims(t, tk.Access)["sid"].(string)
	if sid == "" {
		t.Fatalf("login: the access token names no session: %v", jwtClaims(t, tk.Access))
	}
	return tk, sid
}

// authorizeDPoP runs the REST REQUEST authorizer configured for Dpop=optional
// on GET /v1/me with the given Authorization and proof (none when proof is
// ""), and returns the session it allowed, or "" when it refused.
func authorizeDPoP(t *testing.T, authorization, proof string) string {
	t.Helper()
	f := requireEnv(t).startProfile(t, "AuthorizerFunction", "AuthorizerFunction#dpop1", "dpop", dpopVars)
	var ev map[string]any
	if proof == "" {
		ev = dpopRESTEvent(t, authorization)
	} else {
		ev = dpopRESTEvent(t, authorization, proof)
	}
	raw, ierr := f.invoke(t, ev)
	if ierr != nil {
		if ierr.Message != "Unauthorized" {
			t.Fatalf("authorizer: %s %s; want a policy or Unauthorized\n%s", ierr.Type, ierr.Message, f.log.String())
		}
		return ""
	}
	var p policy
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("authorizer: %v: %s", err, raw)
	}
	if !p.allows(apiArn + "/v1/GET/me") {
		return ""
	}
	return ctxString(p.Context, "session_id")
}

// TestDPoPThroughTheTokenFunctions is a DPoP-bound session's life through
// the real login, refresh, token and logout bootstraps (ROTOR_DPOP=optional)
// and the real authorizer, state in moto: the login's proof binds the
// session (token_type DPoP, cnf.jkt = the key's thumbprint); the authorizer
// allows the bound token with a proof and refuses it without; a stolen
// refresh token without the key (no proof, another key's) is refused with
// invalid_dpop_proof and changes nothing, so the owner refreshes on; a
// refresh whose answer was lost is answered again, with the same successor,
// to the old token and a new proof by the key (without the key it is
// reuse, and the session ends); a proof is spent once
// across containers; the /oauth/token grants bind the same way; logout
// with the bound access token needs its proof; the MFA second step of a
// login made with a proof needs the same key and then binds the session to
// it. Every proof's jti is spent
// in the sessions table (a dpj# PutItem by the function that checked it),
// which the IAM audit (TestMain) holds to each role in template.yaml.
func TestDPoPThroughTheTokenFunctions(t *testing.T) {
	e := requireEnv(t)
	key, thief := newKey(t), newKey(t)
	jkt := thumbprint(t, key)
	first, sid := dpopLogin(t, key)
	refresh := dpopFunction(t, "RefreshFunction", "")
	refreshReq := func(rt string) request {
		return request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": rt})}
	}
	meURL := "https://" + dpopHost + "/v1/me"

	t.Run("login without a proof is a bearer session", func(t *testing.T) {
		username := fmt.Sprintf("bea-%d", time.Now().UnixNano())
		signup(t, username, "correct horse battery staple 42")
		r := callOn(t, dpopFunction(t, "LoginFunction", ""), request{method: "POST", path: "/auth/login",
			body: mustJSON(map[string]string{"username": username, "password": "correct horse battery staple 42"})})
		if _, bound := jwtClaims(t, checkTokenResponse(t, "login without a proof", r).Access)["cnf"]; bound {
			t.Fatal("login without a proof: the access token is bound")
		}
	})

	t.Run("a login proof is spent once across containers", func(t *testing.T) {
		username := fmt.Sprintf("rey-%d", time.Now().UnixNano())
		signup(t, username, "correct horse battery staple 42")
		login := withProof(t, request{method: "POST", path: "/auth/login",
			body: mustJSON(map[string]string{"username": username, "password": "correct horse battery staple 42"})}, key, "")
		checkBound(t, "login", callOn(t, dpopFunction(t, "LoginFunction", ""), login), jkt)
		expectError(t, "the same proof at another login container", callOn(t, dpopFunction(t, "LoginFunction", "2"), login), 400, "invalid_dpop_proof")
	})

	// The edge: the login's bound token needs its proof.
	if got := authorizeDPoP(t, "DPoP "+first.Access, newProof(t, key, "GET", meURL, first.Access)); got != sid {
		t.Fatalf("authorizer: the login's bound token with its proof allowed session %q, want %q", got, sid)
	}
	if authorizeDPoP(t, "DPoP "+first.Access, "") != "" {
		t.Error("authorizer: the login's bound token without a proof was allowed")
	}
	if authorizeDPoP(t, "DPoP "+first.Access, newProof(t, thief, "GET", meURL, first.Access)) != "" {
		t.Error("authorizer: the login's bound token with another key's proof was allowed")
	}
	if authorizeDPoP(t, "Bearer "+first.Access, "") != "" {
		t.Error("authorizer: the login's bound token under Bearer was allowed")
	}

	second := checkBound(t, "refresh with a proof", callOn(t, refresh, withProof(t, refreshReq(first.Refresh), key, "")), jkt)
	if got := authorizeDPoP(t, "DPoP "+second.Access, newProof(t, key, "GET", meURL, second.Access)); got != sid {
		t.Fatalf("authorizer: the refreshed bound token allowed session %q, want %q", got, sid)
	}

	// A thief holding the current refresh token but not the key.
	expectError(t, "the stolen refresh token without a proof", callOn(t, refresh, refreshReq(second.Refresh)), 400, "invalid_dpop_proof")
	expectError(t, "the stolen refresh token with another key's proof", callOn(t, refresh, withProof(t, refreshReq(second.Refresh), thief, "")), 400, "invalid_dpop_proof")
	stolenAtToken := withProof(t, form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second.Refresh}}), thief, "")
	expectError(t, "the stolen refresh token at /oauth/token with another key's proof", callOn(t, dpopFunction(t, "TokenFunction", ""), stolenAtToken), 400, "invalid_dpop_proof")
	// ... changed nothing: the owner refreshes the same token.
	third := checkBound(t, "the owner's refresh after the thief's attempts", callOn(t, refresh, withProof(t, refreshReq(second.Refresh), key, "")), jkt)

	// A lost response: the refresh of third rotated, its answer never reached
	// the client, which retries the old token with a new proof after the
	// grace window (off here). The key proves the owner: the same successor,
	// as often as asked, until the successor is used.
	lost := checkBound(t, "the refresh whose answer is lost", callOn(t, refresh, withProof(t, refreshReq(third.Refresh), key, "")), jkt)
	for i := range 2 {
		again := checkBound(t, "the retry of a lost refresh", callOn(t, refresh, withProof(t, refreshReq(third.Refresh), key, "")), jkt)
		if again.Refresh != lost.Refresh {
			t.Fatalf("retry %d of a lost refresh: a refresh token other than the lost answer's successor", i+1)
		}
		if got := authorizeDPoP(t, "DPoP "+again.Access, newProof(t, key, "GET", meURL, again.Access)); got != sid {
			t.Fatalf("authorizer: the retried refresh's token allowed session %q, want %q", got, sid)
		}
	}
	fourth := checkBound(t, "the successor of the lost answer, used", callOn(t, refresh, withProof(t, refreshReq(lost.Refresh), key, "")), jkt)

	t.Run("a lost response retried without the key is reuse", func(t *testing.T) {
		s, _ := dpopLogin(t, key)
		next := checkBound(t, "refresh", callOn(t, refresh, withProof(t, refreshReq(s.Refresh), key, "")), jkt)
		// Past the grace window (off here), the superseded token without a
		// proof by the session's key is what a thief presents: reuse, the
		// session ends, as for a bearer session.
		expectError(t, "the superseded token without a proof", callOn(t, refresh, refreshReq(s.Refresh)), 401, "invalid_grant")
		expectError(t, "the successor after the reuse", callOn(t, refresh, withProof(t, refreshReq(next.Refresh), key, "")), 401, "invalid_grant")
	})

	logout := request{method: "POST", path: "/auth/logout", body: "{}", headers: map[string]string{"Authorization": "DPoP " + fourth.Access}}
	logoutFn := dpopFunction(t, "LogoutFunction", "")
	expectError(t, "logout with the bound access token and no proof", callOn(t, logoutFn, logout), 401, "invalid_dpop_proof")
	expectError(t, "logout with the bound access token and another key's proof", callOn(t, logoutFn, withProof(t, logout, thief, fourth.Access)), 401, "invalid_dpop_proof")
	expectStatus(t, "logout with the bound access token and its proof", callOn(t, logoutFn, withProof(t, logout, key, fourth.Access)), 204)
	expectError(t, "refresh after logout", callOn(t, refresh, withProof(t, refreshReq(fourth.Refresh), key, "")), 401, "invalid_grant")

	t.Run("oauth token grants bind", func(t *testing.T) {
		username := fmt.Sprintf("oscar-%d", time.Now().UnixNano())
		signup(t, username, "correct horse battery staple 42")
		tokenFn := dpopFunction(t, "TokenFunction", "")
		grant := withProof(t, form("/oauth/token", url.Values{"grant_type": {"password"}, "username": {username}, "password": {"correct horse battery staple 42"}, "client_id": {"cli"}}), key, "")
		p := checkBound(t, "password grant with a proof", callOn(t, tokenFn, grant), jkt)
		expectError(t, "the password grant's proof again", callOn(t, tokenFn, grant), 400, "invalid_dpop_proof")
		rt := func(tok string) request {
			return form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}})
		}
		expectError(t, "refresh_token grant without a proof", callOn(t, tokenFn, rt(p.Refresh)), 400, "invalid_dpop_proof")
		next := checkBound(t, "refresh_token grant with a proof", callOn(t, tokenFn, withProof(t, rt(p.Refresh), key, "")), jkt)
		expectStatus(t, "logout with the refresh token", callOn(t, logoutFn, request{method: "POST", path: "/auth/logout", body: mustJSON(map[string]string{"refresh_token": next.Refresh})}), 204)
		expectError(t, "refresh_token grant after logout", callOn(t, tokenFn, withProof(t, rt(next.Refresh), key, "")), 400, "invalid_grant")
	})

	t.Run("mfa second step binds to the login's key", func(t *testing.T) {
		username := fmt.Sprintf("mia-%d", time.Now().UnixNano())
		const password = "correct horse battery staple 42"
		signup(t, username, password)
		s := login(t, username, password)
		ctx, bearer := authContext(t, s.Access), map[string]string{"Authorization": "Bearer " + s.Access}
		r := call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/totp", authorizer: ctx, headers: bearer, body: "{}"})
		expectStatus(t, "enrol", r, 200)
		code, err := totp.Code(r.str("secret"), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		r = call(t, "MfaFunction", request{method: "POST", path: "/auth/mfa/totp/confirm", authorizer: ctx, headers: bearer, body: mustJSON(map[string]string{"code": code})})
		expectStatus(t, "confirm", r, 200)
		codes, _ := r.json["recovery_codes"].([]any)
		if len(codes) == 0 {
			t.Fatalf("confirm: no recovery codes: %s", r.Body)
		}
		login := request{method: "POST", path: "/auth/login", body: mustJSON(map[string]string{"username": username, "password": password})}
		r = callOn(t, dpopFunction(t, "LoginFunction", ""), withProof(t, login, key, ""))
		expectError(t, "login with a proof of an enrolled user", r, 403, "mfa_required")
		verify := request{method: "POST", path: "/auth/mfa/verify", body: mustJSON(map[string]string{"mfa_token": r.str("mfa_token"), "recovery_code": fmt.Sprint(codes[0])})}
		mfaFn := dpopFunction(t, "MfaFunction", "")
		// A thief with the mfa_token and a recovery code but not the key.
		expectError(t, "the second step without a proof", callOn(t, mfaFn, verify), 401, "invalid_mfa_token")
		expectError(t, "the second step with another key's proof", callOn(t, mfaFn, withProof(t, verify, thief, "")), 401, "invalid_mfa_token")
		bound := checkBound(t, "the second step with the login's key", callOn(t, mfaFn, withProof(t, verify, key, "")), jkt)
		if got := authorizeDPoP(t, "DPoP "+bound.Access, newProof(t, key, "GET", meURL, bound.Access)); got == "" {
			t.Fatal("authorizer: the MFA step's bound token with its proof was refused")
		}
	})

	// Every function that checked a proof spent its jti in the shared table:
	// a dpj# PutItem, recorded by the audit proxy under that function's name
	// (and checked against its role by TestMain's audit).
	for _, id := range []string{"LoginFunction", "RefreshFunction", "TokenFunction", "LogoutFunction", "MfaFunction", "AuthorizerFunction"} {
		requireSpentProofs(t, e, id)
	}
}

// requireSpentProofs fails the test unless the audit proxy saw function id
// spend a proof: a PutItem of a dpj# item in the sessions table (a function
// keeping spent proofs in its own memory would let a proof through once per
// container).
func requireSpentProofs(t *testing.T, e *environment, id string) {
	t.Helper()
	for c, items := range e.audit.itemsOf() {
		if fn, _, _ := strings.Cut(c.Function, "."); fn != id || c.Action != "dynamodb:PutItem" || c.Resource != tableARN(e.vars["ROTOR_SESSIONS_TABLE"]) {
			continue
		}
		for _, it := range items {
			for _, v := range it {
				if strings.HasPrefix(v, "dpj#") {
					return
				}
			}
		}
	}
	t.Errorf("%s checked proofs but the audit saw no dpj# PutItem of it in the sessions table", id)
}

// TestDPoPNonceThroughTheBootstraps: the real login, refresh and authorizer
// configured as the template configures them with Dpop=optional and
// DpopNonce=true (the audit holds their calls to the roles of that
// configuration: the authorizer then reads the MAC key). A login proof
// without a nonce, or with a made-up one, is 400 use_dpop_nonce with a
// DPoP-Nonce header; with the given nonce the session is bound and the
// answer carries the next nonce; the authorizer, in another process,
// refuses the bound token's proof without a nonce and allows it with the
// token endpoint's (stateless nonces under the shared MAC key); the
// refresh takes it too.
func TestDPoPNonceThroughTheBootstraps(t *testing.T) {
	e := requireEnv(t)
	vars := map[string]string{"ROTOR_DPOP": "optional", "ROTOR_DPOP_NONCE": "true"}
	authzVars := map[string]string{"ROTOR_DPOP_NONCE": "true"}
	for k, v := range dpopVars {
		authzVars[k] = v
	}
	loginFn := e.startProfile(t, "LoginFunction", "LoginFunction#dpopnonce", "dpopnonce", vars)
	refreshFn := e.startProfile(t, "RefreshFunction", "RefreshFunction#dpopnonce", "dpopnonce", vars)
	authz := e.startProfile(t, "AuthorizerFunction", "AuthorizerFunction#dpopnonce", "dpopnonce", authzVars)
	key := newKey(t)
	jkt := thumbprint(t, key)
	proof := func(method, u, access, nonce string) string {
		t.Helper()
		p, err := dpop.NewProof(key, dpop.Request{Method: method, URL: u, AccessToken: access, Nonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	username := fmt.Sprintf("nina-%d", time.Now().UnixNano())
	const password = "correct horse battery staple 42"
	signup(t, username, password)
	login := request{method: "POST", path: "/auth/login", body: mustJSON(map[string]string{"username": username, "password": password})}
	r := callOn(t, loginFn, withHeader(login, dpop.HeaderName, proof("POST", apiURL+"/auth/login", "", "")))
	expectError(t, "login with a proof without a nonce", r, 400, "use_dpop_nonce")
	nonce := header(r, dpop.NonceHeader)
	if nonce == "" {
		t.Fatalf("use_dpop_nonce without a %s header: %v", dpop.NonceHeader, r.Headers)
	}
	expectError(t, "login with a made-up nonce", callOn(t, loginFn, withHeader(login, dpop.HeaderName, proof("POST", apiURL+"/auth/login", "", "made-up"))), 400, "use_dpop_nonce")
	r = callOn(t, loginFn, withHeader(login, dpop.HeaderName, proof("POST", apiURL+"/auth/login", "", nonce)))
	tk := checkBound(t, "login with the nonce", r, jkt)
	if next := header(r, dpop.NonceHeader); next == "" {
		t.Fatalf("a token response with nonces on carries no %s header: %v", dpop.NonceHeader, r.Headers)
	}

	meURL := "https://" + dpopHost + "/v1/me"
	allowed := func(what, p string) bool {
		t.Helper()
		raw, ierr := authz.invoke(t, dpopRESTEvent(t, "DPoP "+tk.Access, p))
		if ierr != nil {
			if ierr.Message != "Unauthorized" {
				t.Fatalf("%s: %s %s\n%s", what, ierr.Type, ierr.Message, authz.log.String())
			}
			return false
		}
		var pol policy
		if err := json.Unmarshal(raw, &pol); err != nil {
			t.Fatalf("%s: %v: %s", what, err, raw)
		}
		return pol.allows(apiArn + "/v1/GET/me")
	}
	if allowed("a proof without a nonce", proof("GET", meURL, tk.Access, "")) {
		t.Error("authorizer with nonces: a proof without a nonce was allowed")
	}
	if !allowed("a proof with the token endpoint's nonce", proof("GET", meURL, tk.Access, nonce)) {
		t.Error("authorizer with nonces: a proof with the token endpoint's nonce was refused")
	}

	refresh := request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": tk.Refresh})}
	expectError(t, "refresh without a nonce", callOn(t, refreshFn, withHeader(refresh, dpop.HeaderName, proof("POST", apiURL+"/auth/refresh", "", ""))), 400, "use_dpop_nonce")
	checkBound(t, "refresh with the nonce", callOn(t, refreshFn, withHeader(refresh, dpop.HeaderName, proof("POST", apiURL+"/auth/refresh", "", nonce))), jkt)
}
