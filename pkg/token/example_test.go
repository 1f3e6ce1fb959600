package token_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
)

func ExampleIssuer_Issue() {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	// In production the source is a keys.Cache over keys.Fetch.
	k, err := keys.Generate("ES256", nil, now)
	if err != nil {
		panic(err)
	}
	src := keys.Static{Current: k}

	iss := &token.Issuer{Keys: src, Issuer: "https://auth.example.com", Audience: "example-api", TTL: 15 * time.Minute}
	raw, err := iss.Issue(ctx, token.Subject{UserID: "user-42", Username: "ada", SessionID: "sess-7"}, now)
	if err != nil {
		panic(err)
	}

	v := &token.Verifier{
		Keys: src, Alg: "ES256", Issuer: "https://auth.example.com", Audience: "example-api",
		Leeway: 30 * time.Second, Now: func() time.Time { return now.Add(time.Minute) },
	}
	c, err := v.Verify(ctx, raw)
	if err != nil {
		panic(err)
	}
	fmt.Println("iss:", c.Issuer)
	fmt.Println("sub:", c.Subject)
	fmt.Println("aud:", c.Audience)
	fmt.Println("sid:", c.SessionID)
	fmt.Println("preferred_username:", c.Username)
	fmt.Println("expires:", c.ExpiresAt.Time.UTC().Format(time.RFC3339))
	fmt.Println("lifetime:", c.ExpiresAt.Sub(c.IssuedAt.Time))
	// Output:
	// iss: https://auth.example.com
	// sub: user-42
	// aud: [example-api]
	// sid: sess-7
	// preferred_username: ada
	// expires: 2030-01-02T03:19:05Z
	// lifetime: 15m0s
}

func ExampleVerifier_Verify_expired() {
	ctx := context.Background()
	issued := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	k, err := keys.Generate("EdDSA", nil, issued)
	if err != nil {
		panic(err)
	}
	src := keys.Static{Current: k}
	iss := &token.Issuer{Keys: src, Issuer: "rotor", Audience: "api", TTL: 15 * time.Minute}
	raw, err := iss.Issue(ctx, token.Subject{UserID: "u", SessionID: "s"}, issued)
	if err != nil {
		panic(err)
	}
	v := &token.Verifier{
		Keys: src, Alg: "EdDSA", Issuer: "rotor", Audience: "api", Leeway: 30 * time.Second,
		Now: func() time.Time { return issued.Add(time.Hour) },
	}
	_, err = v.Verify(ctx, raw)
	fmt.Println(errors.Is(err, token.ErrInvalid), errors.Is(err, jwt.ErrTokenExpired))
	// Output: true true
}
