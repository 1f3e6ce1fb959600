package oauth

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// jwtAuthorizer applies the checks API Gateway's HTTP API JWT authorizer
// makes, as AWS documents them in "Control access to HTTP APIs with JWT
// authorizers in API Gateway" (Developer Guide, section "Authorizing API
// requests with a JWT authorizer"):
//
//  1. Check the identitySource for a token: the token alone, or the token
//     prefixed with "Bearer".
//  2. Decode the token.
//  3. Check the token's algorithm and signature with the public key fetched
//     from the issuer's jwks_uri. Currently only RSA-based algorithms are
//     supported.
//  4. Validate claims:
//     kid: the token must have a header claim that matches the key in the
//     jwks_uri that signed the token;
//     iss: must match the issuer configured for the authorizer;
//     aud or client_id: must match one of the audience entries configured
//     for the authorizer (client_id only when aud is absent);
//     exp: must be after the current time in UTC;
//     nbf: must be before the current time in UTC;
//     iat: must be before the current time in UTC;
//     scope or scp: must include at least one of the scopes in the route's
//     authorizationScopes.
//
// The jwks_uri is the one the issuer's OpenID Connect discovery document
// names (<issuer>/.well-known/openid-configuration), which is where the
// authorizer reads it.
type jwtAuthorizer struct {
	Issuer   string
	Audience []string
	Scopes   []string // the route's authorizationScopes; none when empty
	HTTP     *http.Client
	Now      time.Time
}

var errDenied = errors.New("jwt authorizer: unauthorized")

func deny(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errDenied}, args...)...)
}

func (a jwtAuthorizer) authorize(identity string) error {
	tok := strings.TrimPrefix(identity, "Bearer ")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return deny("not a JWS compact token")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims map[string]any
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return deny("header: %v", err)
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return deny("claims: %v", err)
	}
	// Step 3: RSA only, the key named by kid in the issuer's jwks_uri.
	hash, ok := map[string]crypto.Hash{"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512}[hdr.Alg]
	if !ok {
		return deny("alg %q is not RSA-based", hdr.Alg)
	}
	key, err := a.rsaKey(hdr.Kid)
	if err != nil {
		return err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return deny("signature encoding")
	}
	if hash != crypto.SHA256 {
		return deny("only RS256 is exercised here")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, hash, digest[:], sig); err != nil {
		return deny("signature: %v", err)
	}
	// Step 4: the claims.
	if iss, _ := claims["iss"].(string); iss != a.Issuer {
		return deny("iss %q", iss)
	}
	var auds []string
	switch v := claims["aud"].(type) {
	case string:
		auds = []string{v}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				auds = append(auds, s)
			}
		}
	case nil:
		if cid, ok := claims["client_id"].(string); ok {
			auds = []string{cid}
		}
	}
	if !slices.ContainsFunc(auds, func(s string) bool { return slices.Contains(a.Audience, s) }) {
		return deny("aud/client_id %v not in %v", auds, a.Audience)
	}
	now := a.Now.Unix()
	exp, ok := claims["exp"].(float64)
	if !ok || int64(exp) <= now {
		return deny("exp %v is not after now %d", claims["exp"], now)
	}
	if nbf, ok := claims["nbf"].(float64); ok && int64(nbf) >= now {
		return deny("nbf %v is not before now %d", nbf, now)
	}
	if iat, ok := claims["iat"].(float64); ok && int64(iat) >= now {
		return deny("iat %v is not before now %d", iat, now)
	}
	if len(a.Scopes) > 0 {
		raw, _ := claims["scope"].(string)
		if raw == "" {
			raw, _ = claims["scp"].(string)
		}
		if !slices.ContainsFunc(strings.Fields(raw), func(s string) bool { return slices.Contains(a.Scopes, s) }) {
			return deny("scope %q has none of %v", raw, a.Scopes)
		}
	}
	return nil
}

func decodeSegment(seg string, dst any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// rsaKey finds kid in the JWKS that discovery names.
func (a jwtAuthorizer) rsaKey(kid string) (*rsa.PublicKey, error) {
	get := func(u string, dst any) error {
		resp, err := a.HTTP.Get(u)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", u, resp.StatusCode)
		}
		return json.NewDecoder(resp.Body).Decode(dst)
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := get(a.Issuer+"/.well-known/openid-configuration", &meta); err != nil {
		return nil, deny("discovery: %v", err)
	}
	var set struct {
		Keys []struct{ Kty, Kid, N, E string } `json:"keys"`
	}
	if err := get(meta.JWKSURI, &set); err != nil {
		return nil, deny("jwks: %v", err)
	}
	for _, k := range set.Keys {
		if k.Kid != kid || kid == "" {
			continue
		}
		if k.Kty != "RSA" {
			return nil, deny("key %q is %s, not RSA", kid, k.Kty)
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			return nil, deny("key %q: bad n or e", kid)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	}
	return nil, deny("no key %q in the JWKS", kid)
}

// TestJWTAuthorizerRules: Rotor on RS256 issues access tokens that API
// Gateway's JWT authorizer accepts, configured as examples/jwt-authorizer
// configures it (issuer = Rotor's issuer, audience = Rotor's audience, no
// scopes); and the same rules refuse what they should, so the validator
// above is not a rubber stamp.
func TestJWTAuthorizerRules(t *testing.T) {
	s := start(t, true, "RS256")
	s.signup("gateway", "correct horse battery")
	body := s.token("gateway", "correct horse battery")
	tok := body["access_token"].(string)
	ttl := time.Duration(body["expires_in"].(float64)) * time.Second
	// API Gateway sees the token after it was issued: one second later.
	later := time.Now().Add(time.Second)
	ok := jwtAuthorizer{Issuer: s.url, Audience: []string{s.cfg.Audience}, HTTP: s.client, Now: later}
	if err := ok.authorize("Bearer " + tok); err != nil {
		t.Fatalf("Rotor's RS256 token refused: %v", err)
	}
	if err := ok.authorize(tok); err != nil {
		t.Fatalf("the token without the Bearer prefix: %v", err)
	}

	es := start(t, true, "ES256")
	es.signup("gateway", "correct horse battery")
	esTok := es.token("gateway", "correct horse battery")["access_token"].(string)

	tests := []struct {
		name  string
		authz jwtAuthorizer
		token string
	}{
		{"an EC-signed token (RSA only)", jwtAuthorizer{Issuer: es.url, Audience: []string{es.cfg.Audience}, HTTP: es.client, Now: later}, esTok},
		{"another issuer configured", jwtAuthorizer{Issuer: es.url, Audience: ok.Audience, HTTP: s.client, Now: later}, tok},
		{"another audience configured", jwtAuthorizer{Issuer: s.url, Audience: []string{"https://other.example.com"}, HTTP: s.client, Now: later}, tok},
		{"after exp", jwtAuthorizer{Issuer: s.url, Audience: ok.Audience, HTTP: s.client, Now: later.Add(ttl + time.Second)}, tok},
		{"before iat and nbf", jwtAuthorizer{Issuer: s.url, Audience: ok.Audience, HTTP: s.client, Now: later.Add(-time.Hour)}, tok},
		{"a route with scopes (Rotor's tokens carry none)", jwtAuthorizer{Issuer: s.url, Audience: ok.Audience, Scopes: []string{"orders.read"}, HTTP: s.client, Now: later}, tok},
		{"a forged signature", ok, forge(t, tok)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.authz.authorize("Bearer " + tc.token)
			if !errors.Is(err, errDenied) {
				t.Fatalf("authorize = %v; want a denial", err)
			}
			t.Log(err)
		})
	}
}
