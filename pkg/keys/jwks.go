package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"math/big"
)

// JWK is the public half of a key as RFC 7517/7518/8037 describe it.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns the public keys of the set. Symmetric (HS256) keys are secret
// and never published, so a set of them yields an empty key list.
func (s Set) JWKS() JWKS {
	out := JWKS{Keys: []JWK{}}
	for _, k := range []*Key{&s.Current, s.Previous} {
		if k == nil {
			continue
		}
		if j, ok := k.jwk(); ok {
			out.Keys = append(out.Keys, j)
		}
	}
	return out
}

func (k Key) jwk() (JWK, bool) {
	b64 := base64.RawURLEncoding.EncodeToString
	j := JWK{Use: "sig", Alg: k.Alg, Kid: k.ID}
	switch p := k.Public.(type) {
	case *ecdsa.PublicKey:
		ecdh, err := p.ECDH()
		if err != nil {
			return JWK{}, false
		}
		pt := ecdh.Bytes() // 0x04 || X || Y, 32 bytes each for P-256
		j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64(pt[1:33]), b64(pt[33:65])
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64(p.N.Bytes()), b64(big.NewInt(int64(p.E)).Bytes())
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(p)
	default:
		return JWK{}, false
	}
	return j, true
}
