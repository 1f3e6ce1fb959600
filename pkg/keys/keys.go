package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"
)

// Errors returned by this package.
var (
	ErrNoKey       = errors.New("keys: secret holds no signing key yet")
	ErrMalformed   = errors.New("keys: malformed key material")
	ErrUnsupported = errors.New("keys: unsupported algorithm")
)

// Key is one signing key. For asymmetric algorithms Private is a crypto.Signer
// and Public its public half; for HS256 both are the shared secret.
type Key struct {
	ID        string
	Alg       string
	CreatedAt time.Time
	// SignAfter is when the key starts signing. A rotation publishes its key
	// at once but holds back its first signature until every verifier's
	// cache holds the key. Zero (a key written before activation times
	// existed) signs at once.
	SignAfter time.Time
	Private   any
	Public    any
}

// Set is what verification accepts and the JWKS publishes: the current key
// (AWSCURRENT) and the previous one (AWSPREVIOUS), which still verifies the
// tokens it signed. Which of the two signs depends on the time: see Signing.
type Set struct {
	Current  Key
	Previous *Key
}

// Signing returns the key that signs at now: the current key once its
// SignAfter has passed, until then the previous one, so that no token is
// signed with a key a verifier may not have fetched yet. When the current
// key is the only one (the first key of a fresh deploy) it signs at once.
// If two rotations came within one activation delay, neither key is active
// and the previous one, which verifiers have held longer, keeps signing.
func (s Set) Signing(now time.Time) Key {
	if s.Previous == nil || !s.Current.SignAfter.After(now) {
		return s.Current
	}
	return *s.Previous
}

// Lookup returns the key of the set with the given kid.
func (s Set) Lookup(kid string) (Key, bool) {
	if kid == "" {
		return Key{}, false
	}
	if s.Current.ID == kid {
		return s.Current, true
	}
	if s.Previous != nil && s.Previous.ID == kid {
		return *s.Previous, true
	}
	return Key{}, false
}

// secretValue is the JSON stored in one Secrets Manager secret version.
type secretValue struct {
	Kid        string    `json:"kid"`
	Alg        string    `json:"alg"`
	PrivateKey string    `json:"private_key,omitempty"` // PKCS#8 PEM
	Secret     string    `json:"secret,omitempty"`      // base64, HS256 only
	CreatedAt  time.Time `json:"created_at,omitzero"`
	// SignAfter is RFC 3339, parsed apart so that a malformed time is
	// ErrMalformed rather than "no key".
	SignAfter string `json:"sign_after,omitempty"`
}

// Parse turns one secret version into a Key. A value that is not a key JSON
// object at all (the placeholder a fresh secret is created with) gives ErrNoKey.
func Parse(data []byte) (Key, error) {
	var v secretValue
	err := json.Unmarshal(data, &v)
	if v.Kid == "" && v.Alg == "" {
		return Key{}, ErrNoKey
	}
	if err != nil { // a key object with a field of the wrong type
		return Key{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if v.Kid == "" {
		return Key{}, fmt.Errorf("%w: no kid", ErrMalformed)
	}
	k := Key{ID: v.Kid, Alg: v.Alg, CreatedAt: v.CreatedAt}
	if v.SignAfter != "" {
		t, err := time.Parse(time.RFC3339, v.SignAfter)
		if err != nil {
			return Key{}, fmt.Errorf("%w: sign_after: %v", ErrMalformed, err)
		}
		k.SignAfter = t
	}
	if v.Alg == "HS256" {
		secret, err := base64.StdEncoding.DecodeString(v.Secret)
		if err != nil || len(secret) < 32 {
			return Key{}, fmt.Errorf("%w: HS256 secret must be at least 32 bytes of base64", ErrMalformed)
		}
		k.Private, k.Public = secret, secret
		return k, nil
	}
	block, _ := pem.Decode([]byte(v.PrivateKey))
	if block == nil {
		return Key{}, fmt.Errorf("%w: private_key is not PEM", ErrMalformed)
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return Key{}, fmt.Errorf("%w: not a signing key", ErrMalformed)
	}
	if err := checkAlg(v.Alg, signer); err != nil {
		return Key{}, err
	}
	k.Private, k.Public = signer, signer.Public()
	return k, nil
}

func checkAlg(alg string, signer crypto.Signer) error {
	switch p := signer.(type) {
	case *ecdsa.PrivateKey:
		if alg == "ES256" && p.Curve == elliptic.P256() {
			return nil
		}
	case *rsa.PrivateKey:
		if alg == "RS256" && p.N.BitLen() >= 2048 {
			return nil
		}
	case ed25519.PrivateKey:
		if alg == "EdDSA" {
			return nil
		}
	}
	return fmt.Errorf("%w: %s with a %T", ErrUnsupported, alg, signer)
}

// Generate makes a new key for alg, reading randomness from r (crypto/rand when nil).
func Generate(alg string, r io.Reader, now time.Time) (Key, error) {
	if r == nil {
		r = rand.Reader
	}
	k := Key{Alg: alg, CreatedAt: now.UTC().Truncate(time.Second)}
	var signer crypto.Signer
	var err error
	switch alg {
	case "ES256":
		signer, err = ecdsa.GenerateKey(elliptic.P256(), r)
	case "RS256":
		signer, err = rsa.GenerateKey(r, 2048)
	case "EdDSA":
		_, signer, err = ed25519.GenerateKey(r)
	case "HS256":
		secret := make([]byte, 32)
		if _, err := io.ReadFull(r, secret); err != nil {
			return Key{}, fmt.Errorf("keys: generate: %w", err)
		}
		id := make([]byte, 12)
		if _, err := io.ReadFull(r, id); err != nil {
			return Key{}, fmt.Errorf("keys: generate: %w", err)
		}
		k.ID = base64.RawURLEncoding.EncodeToString(id)
		k.Private, k.Public = secret, secret
		return k, nil
	default:
		return Key{}, fmt.Errorf("%w: %q", ErrUnsupported, alg)
	}
	if err != nil {
		return Key{}, fmt.Errorf("keys: generate %s: %w", alg, err)
	}
	der, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return Key{}, fmt.Errorf("keys: generate: %w", err)
	}
	sum := sha256.Sum256(der)
	k.ID = base64.RawURLEncoding.EncodeToString(sum[:12])
	k.Private, k.Public = signer, signer.Public()
	return k, nil
}

// Marshal encodes k as the JSON of one secret version; Parse reverses it.
func (k Key) Marshal() ([]byte, error) {
	v := secretValue{Kid: k.ID, Alg: k.Alg, CreatedAt: k.CreatedAt}
	if !k.SignAfter.IsZero() {
		v.SignAfter = k.SignAfter.UTC().Format(time.RFC3339Nano)
	}
	if secret, ok := k.Private.([]byte); ok {
		v.Secret = base64.StdEncoding.EncodeToString(secret)
	} else {
		der, err := x509.MarshalPKCS8PrivateKey(k.Private)
		if err != nil {
			return nil, fmt.Errorf("keys: marshal: %w", err)
		}
		v.PrivateKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	return json.Marshal(v)
}
