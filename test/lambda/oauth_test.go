package lambda_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// form is a request with an application/x-www-form-urlencoded body.
func form(path string, v url.Values) request {
	return request{method: "POST", path: path, body: v.Encode(), headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
}

// TestOAuthFunctions runs the token, revoke and discovery binaries: the
// password and refresh_token grants, revocation, and the discovery document
// at the configured issuer.
func TestOAuthFunctions(t *testing.T) {
	e := requireEnv(t)
	signup(t, "oauth-lambda", "correct horse battery")
	r := call(t, "TokenFunction", form("/oauth/token", url.Values{"grant_type": {"password"}, "username": {"oauth-lambda"}, "password": {"correct horse battery"}, "client_id": {"cli"}}))
	first := checkTokenResponse(t, "password grant", r)
	if header(r, "Pragma") != "no-cache" || header(r, "Cache-Control") != "no-store" {
		t.Errorf("password grant headers: %v", r.Headers)
	}
	r = call(t, "TokenFunction", form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.Refresh}}))
	next := checkTokenResponse(t, "refresh_token grant", r)
	r = call(t, "TokenFunction", form("/oauth/token", url.Values{"grant_type": {"password"}, "username": {"oauth-lambda"}, "password": {"wrong password!"}}))
	expectError(t, "wrong password", r, 400, "invalid_grant")

	r = call(t, "RevokeFunction", form("/oauth/revoke", url.Values{"token": {next.Refresh}}))
	expectStatus(t, "revoke", r, 200)
	r = call(t, "TokenFunction", form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next.Refresh}}))
	expectError(t, "refresh after revoke", r, 400, "invalid_grant")

	r = call(t, "DiscoveryFunction", request{method: "GET", path: "/.well-known/openid-configuration"})
	expectStatus(t, "discovery", r, 200)
	iss := e.vars["ROTOR_ISSUER"]
	if r.str("issuer") != iss || r.str("jwks_uri") != iss+"/.well-known/jwks.json" || r.str("token_endpoint") != iss+"/oauth/token" {
		t.Fatalf("discovery: %s (issuer %s)", r.Body, iss)
	}
	if claims := jwtClaims(t, first.Access); claims["iss"] != iss {
		t.Fatalf("token iss %v, want %s", claims["iss"], iss)
	}
}

// TestIssuerFromAPIID: deployed, the API functions' ROTOR_ISSUER holds
// {api_id}; the binary fills it in from the event's requestContext.apiId,
// the same URL the template gives the authorizer, and refuses events from
// another API afterwards.
func TestIssuerFromAPIID(t *testing.T) {
	e := requireEnv(t)
	tmpl := "https://{api_id}.execute-api.us-east-1.amazonaws.com/v1"
	want := "https://ymy8tbxw7b.execute-api.us-east-1.amazonaws.com/v1" // restEvent's apiId
	f := e.startEnv(t, "DiscoveryFunction", "DiscoveryFunction#pinned", map[string]string{"ROTOR_ISSUER": tmpl})
	ev := restEvent(t, request{method: "GET", path: "/.well-known/openid-configuration"})
	raw, ierr := f.invoke(t, ev)
	if ierr != nil {
		t.Fatalf("handler error %v\n%s", ierr, f.log.String())
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	var meta struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil || json.Unmarshal([]byte(resp.Body), &meta) != nil {
		t.Fatalf("answer %s: %v", raw, err)
	}
	if resp.StatusCode != 200 || meta.Issuer != want {
		t.Fatalf("issuer %q (status %d); want %q", meta.Issuer, resp.StatusCode, want)
	}
	ev.RequestContext.APIID = "zzzzzz9999"
	raw, _ = f.invoke(t, ev)
	if err := json.Unmarshal(raw, &resp); err != nil || resp.StatusCode != 500 {
		t.Fatalf("an event from another API: %s; want 500", raw)
	}
}

func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
