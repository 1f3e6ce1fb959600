package testpasskey_test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"testing"

	"github.com/rotor-auth/rotor/internal/testpasskey"
)

// TestKeyCoordinates: every key's coordinates take 32 bytes, the length a
// COSE P-256 key must have (about one key in 128 has a short one, so 2000
// keys meet one with near certainty).
func TestKeyCoordinates(t *testing.T) {
	for range 2000 {
		k, err := x509.ParsePKCS8PrivateKey(testpasskey.Key())
		if err != nil {
			t.Fatal(err)
		}
		p := k.(*ecdsa.PrivateKey)
		if len(p.X.Bytes()) != 32 || len(p.Y.Bytes()) != 32 {
			t.Fatalf("a key with a short coordinate: x %d y %d bytes", len(p.X.Bytes()), len(p.Y.Bytes()))
		}
	}
}
