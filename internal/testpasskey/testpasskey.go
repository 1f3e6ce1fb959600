package testpasskey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"

	"github.com/descope/virtualwebauthn"
)

// Local is the relying party config.Default names, as the browser sees
// it: RP id localhost, the page on the local server's origin.
var Local = virtualwebauthn.RelyingParty{ID: "localhost", Name: "Rotor", Origin: "http://localhost:3000"}

// Device is one virtual authenticator holding one passkey of one user.
type Device struct {
	Auth virtualwebauthn.Authenticator
	Cred virtualwebauthn.Credential
}

// NewDevice is an authenticator for the user userID (its user handle) and
// a fresh credential, not yet added: add it once the server has accepted
// its attestation. Set Auth.Options (backup flags, user verification)
// before a response: they are read when one is made.
func NewDevice(userID string) *Device {
	return &Device{
		Auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(userID)}),
		Cred: Credential(),
	}
}

// Credential is a fresh EC2 credential on a P-256 key from Key.
func Credential() virtualwebauthn.Credential {
	return virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, Key())
}

// Key is a PKCS #8 P-256 key whose coordinates both take 32 bytes:
// virtualwebauthn writes them with big.Int.Bytes, which drops leading
// zeros, and a COSE key with a short coordinate is (rightly) refused. It
// panics only if the system's random source fails.
func Key() []byte {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(k.X.Bytes()) == 32 && len(k.Y.Bytes()) == 32 {
			der, err := x509.MarshalPKCS8PrivateKey(k)
			if err != nil {
				panic(err)
			}
			return der
		}
	}
}
