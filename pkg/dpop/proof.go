package dpop

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Type is the "typ" header every proof carries (RFC 9449 §4.2).
const Type = "dpop+jwt"

// HeaderName is the request header a proof travels in; NonceHeader the
// response header a server nonce does (RFC 9449 §4.1, §8).
const (
	HeaderName  = "DPoP"
	NonceHeader = "DPoP-Nonce"
)

// Limits on what a proof may be: a P-256 proof is about 600 bytes and an
// RSA-4096 one under 2 KiB, so MaxLen refuses nothing a client makes.
const (
	MaxLen    = 4096
	maxJTILen = 128
)

// Algorithms are the signature algorithms a proof may use: asymmetric only
// (a proof's key is public by definition; "none" and HMAC are refused before
// any signature is checked). The discovery documents advertise them as
// dpop_signing_alg_values_supported.
var Algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.RS256, jose.PS256}

// AlgorithmNames returns Algorithms as strings, for discovery documents.
func AlgorithmNames() []string {
	names := make([]string, len(Algorithms))
	for i, a := range Algorithms {
		names[i] = string(a)
	}
	return names
}

// Errors of Verify. ErrInvalid (and the errors wrapping it) answers
// invalid_dpop_proof; ErrUseNonce answers use_dpop_nonce with a fresh nonce
// in the DPoP-Nonce header. Each wraps a reason for the log.
var (
	ErrInvalid = errors.New("dpop: invalid proof")
	// ErrReplayed is a proof whose jti was already used within its window.
	ErrReplayed = fmt.Errorf("%w: replayed (jti already used)", ErrInvalid)
	// ErrKeyMismatch is a valid proof by another key than the one the token
	// or session is bound to.
	ErrKeyMismatch = fmt.Errorf("%w: key is not the one the token is bound to", ErrInvalid)
	// ErrUseNonce means the proof lacks the server nonce, or carries one
	// that is stale or not this server's.
	ErrUseNonce = errors.New("dpop: proof needs a fresh server nonce")
)

// Proof is a checked proof.
type Proof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the proof's key, base64url:
	// the value a bound token's cnf.jkt carries and a bound session keeps.
	JKT      string
	ID       string // jti
	IssuedAt time.Time
	Method   string // htm
	URL      string // htu
	Nonce    string
}

// Check is the request a proof must match.
type Check struct {
	Method string // the request's HTTP method
	// URL is the request's absolute URL; the proof's htu must name the same
	// resource (RFC 9449 §4.3: compared without query and fragment, after
	// RFC 3986 syntax- and scheme-based normalization).
	URL string
	// AccessToken, when set, is the token the proof accompanies: the proof's
	// ath must be its hash (a request to a protected resource). Empty at the
	// token endpoint, where no ath is checked.
	AccessToken string
	// JKT, when set, is the thumbprint the proof's key must have: the key a
	// token or session is bound to.
	JKT string
	Now time.Time
}

// ReplayCache spends proof ids. SpendDPoPProof records key until expires and fails with
// ErrReplayed when key is already recorded and not yet expired; it must be
// atomic across every caller that shares it (a conditional write in a store
// shared by all containers; Memory within one process).
type ReplayCache interface {
	SpendDPoPProof(ctx context.Context, key string, expires time.Time) error
}

// Verifier checks proofs.
type Verifier struct {
	// MaxAge is how far in the past a proof's iat may be; Leeway how far in
	// the future (clock skew). Defaults: DefaultMaxAge, DefaultLeeway.
	MaxAge time.Duration
	Leeway time.Duration
	// Replay spends each accepted proof's jti (scoped to its key) until its
	// iat window closes. nil: no replay check (only tests and callers that
	// spend proofs themselves may leave it nil).
	Replay ReplayCache
	// Nonces, when set, makes a server nonce required: a proof without one,
	// or with a stale one, is ErrUseNonce.
	Nonces *Nonces
}

// Defaults of the iat window: a proof is made for one request, just before
// it is sent.
const (
	DefaultMaxAge = 60 * time.Second
	DefaultLeeway = 5 * time.Second
)

type claims struct {
	JTI   string          `json:"jti"`
	HTM   string          `json:"htm"`
	HTU   string          `json:"htu"`
	IAT   json.RawMessage `json:"iat"`
	ATH   *string         `json:"ath"`
	Nonce *string         `json:"nonce"`
}

// Verify checks one DPoP header value against the request c describes:
// compact JWS with typ dpop+jwt, an asymmetric alg, a public jwk header whose
// key made the signature, jti, htm and htu matching the request, iat within
// the window, ath when c.AccessToken is set, the key's thumbprint when c.JKT
// is set, and the server nonce when Nonces is set; then it spends the jti.
// Every refusal wraps ErrInvalid, except a missing or stale nonce
// (ErrUseNonce), and a failure of the replay cache itself, which is neither
// (the caller cannot decide: answer 503).
func (v *Verifier) Verify(ctx context.Context, header string, c Check) (Proof, error) {
	p, err := v.parse(header, c)
	if err != nil {
		return Proof{}, err
	}
	if v.Nonces != nil {
		if p.Nonce == "" {
			return Proof{}, fmt.Errorf("%w: no nonce", ErrUseNonce)
		}
		ok, err := v.Nonces.Valid(ctx, p.Nonce, c.Now)
		if err != nil {
			return Proof{}, err
		}
		if !ok {
			return Proof{}, fmt.Errorf("%w: stale or foreign nonce", ErrUseNonce)
		}
	}
	if v.Replay != nil {
		if err := v.Replay.SpendDPoPProof(ctx, ReplayKey(p.JKT, p.ID), p.IssuedAt.Add(v.maxAge())); err != nil {
			return Proof{}, err
		}
	}
	return p, nil
}

func (v *Verifier) maxAge() time.Duration {
	if v.MaxAge > 0 {
		return v.MaxAge
	}
	return DefaultMaxAge
}

func (v *Verifier) leeway() time.Duration {
	if v.Leeway > 0 {
		return v.Leeway
	}
	return DefaultLeeway
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// parse does every check of Verify that needs no store: the proof itself and
// its match with the request.
func (v *Verifier) parse(header string, c Check) (Proof, error) {
	if header == "" {
		return Proof{}, invalid("no proof")
	}
	if len(header) > MaxLen {
		return Proof{}, invalid("proof longer than %d bytes", MaxLen)
	}
	jws, err := jose.ParseSignedCompact(header, Algorithms)
	if err != nil {
		return Proof{}, invalid("not a compact JWS with an allowed alg: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return Proof{}, invalid("%d signatures", len(jws.Signatures))
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != Type {
		return Proof{}, invalid("typ %q, want %q", typ, Type)
	}
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return Proof{}, invalid("no public jwk header")
	}
	if !keyFitsAlg(jwk, jose.SignatureAlgorithm(h.Algorithm)) {
		return Proof{}, invalid("jwk of type %T cannot make %s", jwk.Key, h.Algorithm)
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return Proof{}, invalid("signature: %v", err)
	}
	var cl claims
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&cl); err != nil || dec.More() {
		return Proof{}, invalid("claims are not one JSON object")
	}
	jkt, err := Thumbprint(jwk)
	if err != nil {
		return Proof{}, invalid("thumbprint: %v", err)
	}
	p := Proof{JKT: jkt, ID: cl.JTI, Method: cl.HTM, URL: cl.HTU}
	if cl.Nonce != nil {
		p.Nonce = *cl.Nonce
	}
	switch {
	case cl.JTI == "" || len(cl.JTI) > maxJTILen:
		return Proof{}, invalid("jti missing or longer than %d", maxJTILen)
	case cl.HTM != c.Method:
		return Proof{}, invalid("htm %q for a %s request", cl.HTM, c.Method)
	case !SameURL(cl.HTU, c.URL):
		return Proof{}, invalid("htu %q for a request to %q", cl.HTU, c.URL)
	}
	iat, err := numericDate(cl.IAT)
	if err != nil {
		return Proof{}, invalid("iat: %v", err)
	}
	p.IssuedAt = iat
	if iat.Before(c.Now.Add(-v.maxAge())) || iat.After(c.Now.Add(v.leeway())) {
		return Proof{}, invalid("iat %s outside [now-%s, now+%s]", iat.UTC().Format(time.RFC3339), v.maxAge(), v.leeway())
	}
	if c.AccessToken != "" {
		if cl.ATH == nil || *cl.ATH != TokenHash(c.AccessToken) {
			return Proof{}, invalid("ath is not the hash of the access token")
		}
	}
	if c.JKT != "" && jkt != c.JKT {
		return p, ErrKeyMismatch
	}
	return p, nil
}

// numericDate reads a JSON number of seconds (RFC 7519 NumericDate), whole
// or not; anything else is refused.
func numericDate(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 {
		return time.Time{}, errors.New("missing")
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return time.Time{}, errors.New("not a number")
	}
	if f < 0 || f > 1<<40 {
		return time.Time{}, errors.New("out of range")
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
}

// keyFitsAlg reports whether a proof's key type is the one its alg needs, so
// an RSA key cannot be offered under an EC alg (go-jose would refuse the
// signature anyway; this names the reason).
func keyFitsAlg(jwk *jose.JSONWebKey, alg jose.SignatureAlgorithm) bool {
	switch jwk.Key.(type) {
	case *ecdsa.PublicKey:
		return alg == jose.ES256 || alg == jose.ES384 || alg == jose.ES512
	case *rsa.PublicKey:
		return alg == jose.RS256 || alg == jose.PS256
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	}
	return false
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of a key, base64url
// without padding: a session's and a token's cnf.jkt.
func Thumbprint(jwk *jose.JSONWebKey) (string, error) {
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// TokenHash is the ath of an access token: base64url(SHA-256(token)).
func TokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ReplayKey is the key a proof's jti is spent under: the hash of its key's
// thumbprint and the jti, so one client's ids never collide with (or block)
// another's, and the cache holds no client-chosen text.
func ReplayKey(jkt, jti string) string {
	sum := sha256.Sum256([]byte(jkt + "\x00" + jti))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// SameURL reports whether two absolute http(s) URLs name the same resource
// as RFC 9449 §4.3 compares htu: query and fragment ignored, scheme and host
// case-insensitive, default ports dropped, an empty path read as "/", and
// percent-encodings compared decoded only where they encode unreserved
// characters (an escaped "/", "=" or "+" names another resource), with
// upper-case hex digits otherwise.
func SameURL(a, b string) bool {
	na, ok := normalize(a)
	if !ok {
		return false
	}
	nb, ok := normalize(b)
	return ok && na == nb
}

func normalize(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", false
	}
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	// EscapedPath keeps the client's escapes when they are valid (and
	// encodes what must be); normalizePath then decodes only the escapes of
	// unreserved characters. Decoding every escape made /a%2Fb, another
	// resource, the same as /a/b.
	path := normalizePath(u.EscapedPath())
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// normalizePath applies RFC 3986 §6.2.2.1 and §6.2.2.2 to an escaped path:
// escapes of unreserved characters (ALPHA, DIGIT, "-", ".", "_", "~") are
// decoded, every other escape is kept with upper-case hex digits; the rest
// is as written (url.URL.EscapedPath has encoded what must be).
func normalizePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+2 >= len(p) {
			b.WriteByte(p[i])
			continue
		}
		hi, lo := unhex(p[i+1]), unhex(p[i+2])
		if hi < 0 || lo < 0 {
			b.WriteByte(p[i])
			continue
		}
		c := byte(hi<<4 | lo)
		if unreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[hi])
			b.WriteByte(hex[lo])
		}
		i += 2
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
