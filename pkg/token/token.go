package token

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
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
	// Email and EmailVerified are the account's address when it has one
	// (OIDC's claims), as they were at login.
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	// AMR lists how the user authenticated to start the session (RFC 8176
	// values: "pwd", "otp", "mfa"...), AuthTime when (OIDC Core §2). A
	// refresh keeps both: they describe the login, not the token.
	AMR      []string         `json:"amr,omitempty"`
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	// Confirmation binds the token to a key (RFC 7800's cnf): with DPoP
	// (RFC 9449 §6.1) its jkt is the thumbprint of the key whose proofs
	// must accompany every use. nil for a bearer token.
	Confirmation *Confirmation `json:"cnf,omitempty"`
}

// Confirmation is the cnf claim of a sender-constrained token.
type Confirmation struct {
	JKT string `json:"jkt,omitempty"`
}

// BoundKey returns the thumbprint a DPoP-bound token names, "" for a bearer
// token.
func (c *Claims) BoundKey() string {
	if c.Confirmation == nil {
		return ""
	}
	return c.Confirmation.JKT
}

// HasMethod reports whether the token's amr claim lists m.
func (c *Claims) HasMethod(m string) bool { return slices.Contains(c.AMR, m) }

// Subject is who an access token is for.
type Subject struct {
	UserID    string
	Username  string
	SessionID string
	// Email and EmailVerified become the "email" and "email_verified"
	// claims when Email is set.
	Email         string
	EmailVerified bool
	// AMR and AuthTime become the "amr" and "auth_time" claims when set:
	// the session's authentication methods and time.
	AMR      []string
	AuthTime time.Time
	// JKT, when set, binds the token to a DPoP key: the "cnf" claim
	// {"jkt": JKT}.
	JKT string
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
	// The smallest claims RFC 9068 allows: aud as one string, and no nbf (iat
	// says the same). Every uncached authorization decodes them.
	claims := jwt.MapClaims{
		"iss": i.Issuer,
		"sub": s.UserID,
		"aud": i.Audience,
		"exp": now.Add(i.TTL).Unix(),
		"iat": now.Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti),
		"sid": s.SessionID,
	}
	if s.Username != "" {
		claims["preferred_username"] = s.Username
	}
	if s.Email != "" {
		claims["email"], claims["email_verified"] = s.Email, s.EmailVerified
	}
	if len(s.AMR) > 0 {
		claims["amr"] = s.AMR
	}
	if !s.AuthTime.IsZero() {
		claims["auth_time"] = s.AuthTime.Unix()
	}
	if s.JKT != "" {
		claims["cnf"] = map[string]string{"jkt": s.JKT}
	}
	t := jwt.NewWithClaims(m, claims)
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

// Verifier checks access tokens. It is safe for concurrent use; do not copy
// it after its first Verify.
type Verifier struct {
	Keys     keys.Source
	Alg      string // the only algorithm accepted
	Issuer   string
	Audience string
	Leeway   time.Duration
	Now      func() time.Time // default time.Now

	parserOnce sync.Once
	parser     *jwt.Parser
}

// jwtParser is built once: golang-jwt parses, pins the algorithm and checks the
// signature; Verify checks the claims itself (checkClaims), on a flat struct,
// which costs a fraction of jwt.Validator over jwt.RegisteredClaims.
func (v *Verifier) jwtParser() *jwt.Parser {
	v.parserOnce.Do(func() {
		v.parser = jwt.NewParser(jwt.WithValidMethods([]string{v.Alg}), jwt.WithoutClaimsValidation())
	})
	return v.parser
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
	none := numericDate(math.NaN()) // JSON never decodes to NaN: an absent date
	c := wireClaims{Exp: none, Nbf: none, Iat: none, AuthTime: none}
	_, err := v.jwtParser().ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
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
		if k.Alg == "ES256" {
			// golang-jwt verifies with t.Method once this returns: the same
			// algorithm, without its big.Int garbage (see es256).
			t.Method = es256{}
		}
		return k.Public, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	out := new(verified)
	aud, err := c.audience(&out.aud)
	if err == nil {
		err = v.checkClaims(&c, aud, now())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrInvalid, jwt.ErrTokenInvalidClaims, err)
	}
	if c.Sub == "" || c.Sid == "" {
		return nil, fmt.Errorf("%w: missing sub or sid", ErrInvalid)
	}
	if _, _, err := c.AuthTime.time("auth_time"); err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrInvalid, jwt.ErrTokenInvalidClaims, err)
	}
	return c.claims(out, aud), nil
}

// checkClaims applies jwt.Validator's rules for the options Rotor pins
// (issuer, audience, exp required, iat checked, leeway) and returns its
// sentinel errors, so errors.Is(err, jwt.ErrTokenExpired) and the like hold.
func (v *Verifier) checkClaims(c *wireClaims, aud []string, now time.Time) error {
	exp, ok, err := c.Exp.time("exp")
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("%w: exp", jwt.ErrTokenRequiredClaimMissing)
	case !now.Before(exp.Add(v.Leeway)):
		return jwt.ErrTokenExpired
	}
	ahead := now.Add(v.Leeway)
	if nbf, ok, err := c.Nbf.time("nbf"); err != nil {
		return err
	} else if ok && ahead.Before(nbf) {
		return jwt.ErrTokenNotValidYet
	}
	if iat, ok, err := c.Iat.time("iat"); err != nil {
		return err
	} else if ok && ahead.Before(iat) {
		return jwt.ErrTokenUsedBeforeIssued
	}
	switch {
	case len(aud) == 0 || len(aud) == 1 && aud[0] == "":
		return fmt.Errorf("%w: aud", jwt.ErrTokenRequiredClaimMissing)
	case !slices.Contains(aud, v.Audience):
		return jwt.ErrTokenInvalidAudience
	}
	if c.Iss == "" {
		return fmt.Errorf("%w: iss", jwt.ErrTokenRequiredClaimMissing)
	}
	if c.Iss != v.Issuer {
		return jwt.ErrTokenInvalidIssuer
	}
	return nil
}

// numericDate is a JWT NumericDate (RFC 7519 §2) as JSON decodes it: seconds,
// possibly fractional; jwt.NumericDate keeps whole seconds, and so does time.
// NaN stands for a date the token does not carry.
type numericDate float64

// maxNumericDate bounds dates to what float64 and int64 hold exactly.
const maxNumericDate = 1 << 53

func (d numericDate) time(name string) (time.Time, bool, error) {
	f := float64(d)
	if math.IsNaN(f) {
		return time.Time{}, false, nil
	}
	if f < 0 || f >= maxNumericDate {
		return time.Time{}, false, fmt.Errorf("%w: %s out of range", jwt.ErrInvalidType, name)
	}
	return time.Unix(int64(math.Floor(f)), 0), true, nil
}

func (d numericDate) jwt() *jwt.NumericDate {
	t, ok, err := d.time("")
	if !ok || err != nil {
		return nil
	}
	return jwt.NewNumericDate(t)
}

// audience returns the aud claim, one string or an array of strings (RFC
// 7519 §4.1.3), as a list; any other JSON there is a wrong type. aud is
// decoded as any, once with the rest of the claims: a type with its own
// UnmarshalJSON would scan and decode its bytes a second time. The one-string
// form is returned in one.
func (c *wireClaims) audience(one *[1]string) ([]string, error) {
	switch aud := c.Aud.(type) {
	case nil:
		return nil, nil
	case string:
		one[0] = aud
		return one[:], nil
	case []any:
		out := make([]string, len(aud))
		for i, a := range aud {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("%w: aud holds %T", jwt.ErrInvalidType, a)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: aud is %T", jwt.ErrInvalidType, c.Aud)
}

// wireClaims is the JSON of an access token's claims in flat fields: golang-jwt
// decodes it (ParseWithClaims), Verify checks it, then returns Claims.
type wireClaims struct {
	Iss      string        `json:"iss"`
	Sub      string        `json:"sub"`
	Aud      any           `json:"aud"` // see audience
	Exp      numericDate   `json:"exp"`
	Nbf      numericDate   `json:"nbf"`
	Iat      numericDate   `json:"iat"`
	Jti      string        `json:"jti"`
	Sid      string        `json:"sid"`
	Username string        `json:"preferred_username"`
	Email    string        `json:"email"`
	Verified bool          `json:"email_verified"`
	AMR      []string      `json:"amr"`
	AuthTime numericDate   `json:"auth_time"`
	Cnf      *Confirmation `json:"cnf"`
}

// verified is what Verify returns, in one allocation: the Claims, their
// four dates and a one-string audience.
type verified struct {
	claims                  Claims
	exp, nbf, iat, authTime jwt.NumericDate
	aud                     [1]string
}

// claims fills out with c as Claims (aud as audience returned it) and
// returns them.
func (c *wireClaims) claims(out *verified, aud []string) *Claims {
	date := func(d numericDate, into *jwt.NumericDate) *jwt.NumericDate {
		t, ok, _ := d.time("")
		if !ok {
			return nil
		}
		into.Time = t
		return into
	}
	out.claims = Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    c.Iss,
			Subject:   c.Sub,
			Audience:  aud,
			ExpiresAt: date(c.Exp, &out.exp),
			NotBefore: date(c.Nbf, &out.nbf),
			IssuedAt:  date(c.Iat, &out.iat),
			ID:        c.Jti,
		},
		SessionID:     c.Sid,
		Username:      c.Username,
		Email:         c.Email,
		EmailVerified: c.Verified,
		AMR:           c.AMR,
		AuthTime:      date(c.AuthTime, &out.authTime),
		Confirmation:  c.Cnf,
	}
	return &out.claims
}

// The jwt.Claims methods; golang-jwt calls them only when it validates claims,
// which Verify does itself.

func (c *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.Exp.jwt(), nil }
func (c *wireClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.Nbf.jwt(), nil }
func (c *wireClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.Iat.jwt(), nil }
func (c *wireClaims) GetIssuer() (string, error)                   { return c.Iss, nil }
func (c *wireClaims) GetSubject() (string, error)                  { return c.Sub, nil }
func (c *wireClaims) GetAudience() (jwt.ClaimStrings, error) {
	aud, err := c.audience(new([1]string))
	return jwt.ClaimStrings(aud), err
}

var _ jwt.Claims = (*wireClaims)(nil)

// The schemes of an Authorization header that carry an access token: RFC
// 6750's bearer token and RFC 9449 §7.1's DPoP-bound token.
const (
	SchemeBearer = "Bearer"
	SchemeDPoP   = "DPoP"
)

// FromHeader returns the token of an "Authorization: Bearer <token>" header
// value. The scheme is matched case-insensitively (RFC 6750 §2.1, RFC 9110 §11.1).
// Exactly one token in the b64token syntax of RFC 6750 §2.1 must follow:
// "Bearer <jwt> junk" is refused, never cut down to its first word, because
// REST REQUEST and HTTP API authorizer events reach here unfiltered.
func FromHeader(authorization string) (string, bool) {
	scheme, tok, ok := FromAuthorization(authorization)
	if !ok || scheme != SchemeBearer {
		return "", false
	}
	return tok, true
}

// FromAuthorization returns the scheme (SchemeBearer or SchemeDPoP, matched
// case-insensitively) and the token of an Authorization header value, with
// the same syntax rules as FromHeader: the two schemes share RFC 6750's
// b64token (RFC 9449 §7.1).
func FromAuthorization(authorization string) (scheme, tok string, ok bool) {
	scheme, tok, ok = strings.Cut(strings.TrimSpace(authorization), " ")
	switch {
	case !ok:
		return "", "", false
	case strings.EqualFold(scheme, SchemeBearer):
		scheme = SchemeBearer
	case strings.EqualFold(scheme, SchemeDPoP):
		scheme = SchemeDPoP
	default:
		return "", "", false
	}
	tok = strings.TrimLeft(tok, " ")
	if !isB64Token(tok) {
		return "", "", false
	}
	return scheme, tok, true
}

// isB64Token reports whether s is an RFC 6750 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		if !b64TokenChars[body[i]] {
			return false
		}
	}
	return true
}

// b64TokenChars marks the bytes of b64token's first part: a table, because
// every uncached authorization walks each byte of its token through it.
var b64TokenChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", byte(c)) >= 0
	}
	return t
}()
