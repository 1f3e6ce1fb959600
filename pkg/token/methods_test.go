package token_test

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
)

// TestMethodsClaims: the session's authentication methods and time travel
// as "amr" (RFC 8176) and "auth_time" (OIDC Core §2) and come back from
// Verify; a token issued without them has neither (it reads as lacking
// "mfa"); a wrong type or an out-of-range auth_time is an invalid token.
func TestMethodsClaims(t *testing.T) {
	k := generate(t, "ES256")
	src := keys.Static{Current: k}
	ctx := context.Background()
	authTime := now.Add(-3 * time.Minute)
	raw, err := issuer(src).Issue(ctx, token.Subject{UserID: "u", SessionID: "s", AMR: []string{"pwd", "otp", "mfa"}, AuthTime: authTime}, now)
	if err != nil {
		t.Fatal(err)
	}
	p := decodeSegment(t, strings.Split(raw, ".")[1])
	if amr, ok := p["amr"].([]any); !ok || len(amr) != 3 || amr[2] != "mfa" {
		t.Errorf("amr = %#v; want the JSON array [pwd otp mfa]", p["amr"])
	}
	if at, ok := p["auth_time"].(float64); !ok || int64(at) != authTime.Unix() {
		t.Errorf("auth_time = %#v; want %d", p["auth_time"], authTime.Unix())
	}
	c, err := verifier(src, "ES256").Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.AMR, []string{"pwd", "otp", "mfa"}) || !c.HasMethod("mfa") || c.AuthTime == nil || !c.AuthTime.Time.Equal(authTime) {
		t.Errorf("amr %q auth_time %v; want [pwd otp mfa] at %v", c.AMR, c.AuthTime, authTime)
	}

	plain, err := issuer(src).Issue(ctx, token.Subject{UserID: "u", SessionID: "s"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if p := decodeSegment(t, strings.Split(plain, ".")[1]); p["amr"] != nil || p["auth_time"] != nil {
		t.Errorf("a subject without methods gave amr %v auth_time %v", p["amr"], p["auth_time"])
	}
	c, err = verifier(src, "ES256").Verify(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if c.AMR != nil || c.AuthTime != nil || c.HasMethod("mfa") {
		t.Errorf("amr %q auth_time %v from a token without them", c.AMR, c.AuthTime)
	}

	for name, claims := range map[string]map[string]any{
		"amr a string":          {"amr": "mfa"},
		"amr of numbers":        {"amr": []int{1}},
		"auth_time a string":    {"auth_time": "now"},
		"auth_time negative":    {"auth_time": -1},
		"auth_time beyond 2^53": {"auth_time": 9007199254740992},
	} {
		t.Run(name, func(t *testing.T) {
			raw := signMap(t, k, claims)
			if _, err := verifier(src, "ES256").Verify(ctx, raw); !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Verify: %v; want ErrInvalid", err)
			}
		})
	}
}

// TestForgedMethodsRefused: an attacker who holds a password-only token
// and rewrites its payload to claim "mfa" (keeping the signature) is
// refused: amr is covered by the signature like every claim.
func TestForgedMethodsRefused(t *testing.T) {
	k := generate(t, "ES256")
	src := keys.Static{Current: k}
	ctx := context.Background()
	raw, err := issuer(src).Issue(ctx, token.Subject{UserID: "u", SessionID: "s", AMR: []string{"pwd"}, AuthTime: now}, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(payload), `"amr":["pwd"]`, `"amr":["pwd","otp","mfa"]`, 1)
	if forged == string(payload) {
		t.Fatalf("payload %s has no amr to rewrite", payload)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	if c, err := verifier(src, "ES256").Verify(ctx, strings.Join(parts, ".")); !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("Verify of a rewritten amr: %+v, %v; want ErrInvalid", c, err)
	}
}

// signMap signs the claims Issue makes at now, with extra set over them.
func signMap(t *testing.T, k keys.Key, extra map[string]any) string {
	t.Helper()
	c := jwt.MapClaims{"iss": testIssuer, "sub": "u", "sid": "s", "aud": testAudience,
		"exp": now.Add(testTTL).Unix(), "iat": now.Unix(), "jti": "j"}
	for name, v := range extra {
		c[name] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["kid"], tok.Header["typ"] = k.ID, token.Type
	s, err := tok.SignedString(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
