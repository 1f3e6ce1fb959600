package token

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rotor-auth/rotor/pkg/keys"
)

// Type is the JWT "typ" header of access tokens (RFC 9068).
const Type = "at+jwt"

// Errors returned by Verify, wrapped with the reason; jwt/v5's own sentinel
// errors (jwt.ErrTokenExpired...) stay reachable with errors.Is.
var (
	ErrInvalid    = errors.New("token: invalid access token")
	ErrUnknownKey = errors.New("token: unknown key id")
)

// Claims are the claims of an access token.
type Claims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Username  string `json:"preferred_username,omitempty"`
}

// Subject is who an access token is for.
type Subject struct {
	UserID    string
	Username  string
	SessionID string
}

func method(alg string) (jwt.SigningMethod, error) {
	switch alg {
	case "ES256":
		return jwt.SigningMethodES256, nil
	case "RS256":
		return jwt.SigningMethodRS256, nil
	case "EdDSA":
		return jwt.SigningMethodEdDSA, nil
	case "HS256":
		return jwt.SigningMethodHS256, nil
	}
	return nil, fmt.Errorf("%w: %q", keys.ErrUnsupported, alg)
}

// Issuer mints access tokens.
type Issuer struct {
	Keys     keys.Source
	Issuer   string
	Audience string
	TTL      time.Duration
	Rand     io.Reader // for jti; crypto/rand when nil
}

// Issue returns a signed access token for s, valid from now for TTL. It
// signs with the key of the set that is active at now (keys.Set.Signing).
func (i *Issuer) Issue(ctx context.Context, s Subject, now time.Time) (string, error) {
	set, err := i.Keys.Keys(ctx)
	if err != nil {
		return "", fmt.Errorf("token: issue: %w", err)
	}
	k := set.Signing(now)
	m, err := method(k.Alg)
	if err != nil {
		return "", err
	}
	r := i.Rand
	if r == nil {
		r = rand.Reader
	}
	jti := make([]byte, 16)
	if _, err := io.ReadFull(r, jti); err != nil {
		return "", fmt.Errorf("token: issue: %w", err)
	}
	now = now.Truncate(time.Second)
	t := jwt.NewWithClaims(m, Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.Issuer,
			Subject:   s.UserID,
			Audience:  jwt.ClaimStrings{i.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(i.TTL)),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        base64.RawURLEncoding.EncodeToString(jti),
		},
		SessionID: s.SessionID,
		Username:  s.Username,
	})
	t.Header["kid"] = k.ID
	t.Header["typ"] = Type
	signed, err := t.SignedString(k.Private)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return signed, nil
}

// Refresher is a key source that can re-read its keys before they expire
// (keys.Cache). A Verifier whose Keys is one asks it once for a token naming
// a key id the cached set lacks; the source bounds how often that reads.
type Refresher interface {
	Refresh(ctx context.Context) (keys.Set, error)
}

var _ Refresher = (*keys.Cache)(nil)

// Verifier checks access tokens.
type Verifier struct {
	Keys     keys.Source
	Alg      string // the only algorithm accepted
	Issuer   string
	Audience string
	Leeway   time.Duration
	Now      func() time.Time // default time.Now
}

// Verify parses and checks a token and returns its claims. Every failure wraps
// ErrInvalid, so callers need one check. A token naming a key id the set
// lacks is checked once more against a refreshed set when Keys is a
// Refresher: the key may be newer than the cached set.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	set, err := v.Keys.Keys(ctx)
	if err != nil {
		// Not the token's fault: the caller must fail closed, not call it invalid.
		return nil, fmt.Errorf("token: verify: %w", err)
	}
	c, err := v.verify(raw, set)
	if r, ok := v.Keys.(Refresher); ok && errors.Is(err, ErrUnknownKey) {
		fresh, rerr := r.Refresh(ctx)
		if rerr != nil {
			return nil, fmt.Errorf("token: verify: %w", rerr)
		}
		c, err = v.verify(raw, fresh)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (v *Verifier) verify(raw string, set keys.Set) (*Claims, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{v.Alg}),
		jwt.WithIssuer(v.Issuer),
		jwt.WithAudience(v.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.Leeway),
		jwt.WithTimeFunc(now),
	)
	var c Claims
	_, err := p.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != Type {
			return nil, fmt.Errorf("token: typ %q is not %s", typ, Type)
		}
		kid, _ := t.Header["kid"].(string)
		k, ok := set.Lookup(kid)
		if !ok {
			return nil, ErrUnknownKey
		}
		if k.Alg != v.Alg || t.Method.Alg() != k.Alg {
			return nil, fmt.Errorf("token: key %s is for %s, token says %s", kid, k.Alg, t.Method.Alg())
		}
		return k.Public, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c.Subject == "" || c.SessionID == "" {
		return nil, fmt.Errorf("%w: missing sub or sid", ErrInvalid)
	}
	return &c, nil
}

// FromHeader returns the token of an "Authorization: Bearer <token>" header
// value. The scheme is matched case-insensitively (RFC 6750 §2.1, RFC 9110 §11.1).
func FromHeader(authorization string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
