package lambda_test

import (
	"crypto/ecdsa"
	"encoding/json"
	"testing"

	"github.com/rotor-auth/rotor/pkg/dpop"
)

// dpopHost is the execute-api host the DPoP events were sent to.
const dpopHost = "ymy8tbxw7b.execute-api.us-east-1.amazonaws.com"

// dpopVars configure the authorizer as template.yaml does with Dpop=optional:
// API Gateway's cache off, the warm cache on for token verifications.
var dpopVars = map[string]string{"ROTOR_DPOP": "optional", "ROTOR_GATEWAY_CACHE_TTL": "0s", "ROTOR_AUTHORIZER_CACHE_TTL": "300s"}

// dpopRESTEvent is the REST REQUEST sample for GET /v1/me on dpopHost with
// the given Authorization and DPoP headers.
func dpopRESTEvent(t *testing.T, authorization string, proofs ...string) map[string]any {
	t.Helper()
	b, err := json.Marshal(requestAuthorizerEvent(t, authorization, apiArn+"/v1/GET/me"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	h, mv := ev["headers"].(map[string]any), ev["multiValueHeaders"].(map[string]any)
	h["Host"], mv["Host"] = dpopHost, []string{dpopHost}
	if len(proofs) > 0 {
		h["DPoP"], mv["DPoP"] = proofs[len(proofs)-1], proofs
	}
	ev["requestContext"].(map[string]any)["domainName"] = dpopHost
	return ev
}

// dpopHTTPEvent is the HTTP API 2.0 sample for GET /orders on dpopHost.
func dpopHTTPEvent(t *testing.T, authorization, proof string) map[string]any {
	t.Helper()
	b, err := json.Marshal(httpAPIAuthorizerEvent(t, authorization))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	ev["headers"].(map[string]any)["dpop"] = proof
	ev["requestContext"].(map[string]any)["domainName"] = dpopHost
	return ev
}

func newProof(t *testing.T, key *ecdsa.PrivateKey, method, url, access string) string {
	t.Helper()
	p, err := dpop.NewProof(key, dpop.Request{Method: method, URL: url, AccessToken: access})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDPoPAuthorizer: the real authorizer binary, configured as the
// template does with Dpop on, in two containers sharing the DynamoDB table
// (moto): a token the real login bootstrap bound to a key, with a fresh proof is allowed on REST and HTTP
// API events; the same proof replayed to either container, the token
// without a proof or under Bearer, and on a TOKEN event are refused; and a
// container told API Gateway caches its answers refuses bound tokens. The
// IAM audit (TestMain) checks the proofs' PutItem against the role.
func TestDPoPAuthorizer(t *testing.T) {
	e := requireEnv(t)
	one := e.startProfile(t, "AuthorizerFunction", "AuthorizerFunction#dpop1", "dpop", dpopVars)
	two := e.startProfile(t, "AuthorizerFunction", "AuthorizerFunction#dpop2", "dpop", dpopVars)
	key := newKey(t)
	// A token bound to key by the real login bootstrap (its proof spent).
	login, _ := dpopLogin(t, key)
	access := login.Access
	meURL := "https://" + dpopHost + "/v1/me"

	allowed := func(f *function, what string, ev any) bool {
		t.Helper()
		raw, ierr := f.invoke(t, ev)
		if ierr != nil {
			if ierr.Message != "Unauthorized" {
				t.Fatalf("%s: %s %s; want an answer or Unauthorized\n%s", what, ierr.Type, ierr.Message, f.log.String())
			}
			return false
		}
		var r struct {
			IsAuthorized *bool `json:"isAuthorized"`
			policy
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("%s: %v: %s", what, err, raw)
		}
		if r.IsAuthorized != nil {
			return *r.IsAuthorized
		}
		return r.allows(apiArn + "/v1/GET/me")
	}

	ev := dpopRESTEvent(t, "DPoP "+access, newProof(t, key, "GET", meURL, access))
	if !allowed(one, "bound token with its proof", ev) {
		t.Fatal("a bound token with a fresh proof was refused")
	}
	if allowed(one, "the same proof again", ev) {
		t.Error("a replayed proof was allowed by the same container")
	}
	if allowed(two, "the same proof at another container", ev) {
		t.Error("a replayed proof was allowed by another container sharing the table")
	}
	if !allowed(two, "a fresh proof at the other container", dpopRESTEvent(t, "DPoP "+access, newProof(t, key, "GET", meURL, access))) {
		t.Error("a fresh proof was refused")
	}
	if allowed(one, "no proof", dpopRESTEvent(t, "DPoP "+access)) {
		t.Error("a bound token without a proof was allowed")
	}
	if allowed(one, "under Bearer", dpopRESTEvent(t, "Bearer "+access, newProof(t, key, "GET", meURL, access))) {
		t.Error("a bound token under Bearer was allowed")
	}
	thief := newKey(t)
	if allowed(one, "the thief's proof", dpopRESTEvent(t, "DPoP "+access, newProof(t, thief, "GET", meURL, access))) {
		t.Error("a proof by another key was allowed")
	}
	if allowed(one, "a TOKEN event", tokenAuthorizerEvent(t, "DPoP "+access, apiArn+"/v1/GET/me")) {
		t.Error("a bound token on a TOKEN event was allowed")
	}
	ordersURL := "https://" + dpopHost + "/orders"
	if !allowed(one, "HTTP API 2.0", dpopHTTPEvent(t, "DPoP "+access, newProof(t, key, "GET", ordersURL, access))) {
		t.Error("HTTP API 2.0: a bound token with its proof was refused")
	}

	cached := map[string]string{"ROTOR_GATEWAY_CACHE_TTL": "300s"}
	for k, v := range dpopVars {
		if _, ok := cached[k]; !ok {
			cached[k] = v
		}
	}
	behindCache := e.startProfile(t, "AuthorizerFunction", "AuthorizerFunction#dpopcached", "dpop", cached)
	if allowed(behindCache, "behind a gateway cache", dpopRESTEvent(t, "DPoP "+access, newProof(t, key, "GET", meURL, access))) {
		t.Error("a bound token was allowed by an authorizer whose answers API Gateway caches")
	}
}
