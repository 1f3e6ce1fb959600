package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Request is what a proof is made for.
type Request struct {
	Method string
	URL    string // query and fragment are dropped
	// AccessToken, when set, is hashed into ath: a request to a protected
	// resource (not to the token endpoint).
	AccessToken string
	Nonce       string // the server's latest DPoP-Nonce, if any
	Now         time.Time
}

// NewProof signs a proof for r with key (ECDSA P-256/384/521, Ed25519 or
// RSA), embedding its public JWK. Each call makes a new random jti.
func NewProof(key crypto.Signer, r Request) (string, error) {
	alg, err := algOf(key)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType(Type)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("dpop: signer: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	htu, ok := normalize(r.URL)
	if !ok {
		return "", fmt.Errorf("dpop: %q is not an absolute http(s) URL", r.URL)
	}
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	cl := map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(jti),
		"htm": r.Method,
		"htu": htu,
		"iat": now.Unix(),
	}
	if r.AccessToken != "" {
		cl["ath"] = TokenHash(r.AccessToken)
	}
	if r.Nonce != "" {
		cl["nonce"] = r.Nonce
	}
	payload, err := json.Marshal(cl)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dpop: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// KeyThumbprint returns the RFC 7638 thumbprint of a signer's public key:
// the cnf.jkt a token bound to it carries.
func KeyThumbprint(key crypto.Signer) (string, error) {
	return Thumbprint(&jose.JSONWebKey{Key: key.Public()})
}

func algOf(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.Public().(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
	case ed25519.PublicKey:
		return jose.EdDSA, nil
	case *rsa.PublicKey:
		return jose.PS256, nil
	}
	return "", errors.New("dpop: unsupported key type")
}
