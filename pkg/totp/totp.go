package totp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	ptotp "github.com/pquerna/otp/totp"
)

// The TOTP parameters every authenticator app expects (RFC 6238 defaults).
const (
	Period     = 30 * time.Second
	Digits     = 6
	Skew       = 1  // steps accepted either side of the current one
	SecretSize = 20 // bytes: 160 bits, RFC 4226's recommendation for SHA-1
)

// ErrBadCode means a code is not six ASCII digits.
var ErrBadCode = errors.New("totp: code must be 6 digits")

// Step returns the TOTP time step of t.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Key is a new TOTP secret and what an authenticator app reads.
type Key struct {
	Secret string // base32, unpadded
	URI    string // otpauth://totp/...
}

// NewKey returns a fresh secret of SecretSize bytes from r (crypto/rand when
// nil) for account at issuer, with its otpauth URI.
func NewKey(issuer, account string, r io.Reader) (Key, error) {
	if r == nil {
		r = rand.Reader
	}
	raw := make([]byte, SecretSize)
	if _, err := io.ReadFull(r, raw); err != nil {
		return Key{}, fmt.Errorf("totp: secret: %w", err)
	}
	k, err := ptotp.Generate(ptotp.GenerateOpts{
		Issuer: issuer, AccountName: account, Secret: raw,
		Period: uint(Period / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return Key{}, fmt.Errorf("totp: key: %w", err)
	}
	return Key{Secret: k.Secret(), URI: k.URL()}, nil
}

// CheckCode reports whether code is well formed: exactly Digits ASCII
// digits.
func CheckCode(code string) error {
	if len(code) != Digits {
		return ErrBadCode
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return ErrBadCode
		}
	}
	return nil
}

// Match returns the latest time step within Skew of now whose code under
// secret is code, and whether there is one. Every step is checked (constant
// time compares, no early exit). The caller accepts the step only if it is
// later than the last one accepted (Store), so a code works once.
func Match(secret, code string, now time.Time) (int64, bool) {
	if CheckCode(code) != nil {
		return 0, false
	}
	opts := hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	cur := Step(now)
	var step int64
	found := false
	for s := cur - Skew; s <= cur+Skew; s++ {
		if s < 0 {
			continue
		}
		ok, err := hotp.ValidateCustom(code, uint64(s), strings.ToUpper(secret), opts)
		if err == nil && ok {
			step, found = s, true
		}
	}
	return step, found
}

// Code returns the code of secret at t (tests and the operator's checks;
// the server never needs to produce one).
func Code(secret string, t time.Time) (string, error) {
	return ptotp.GenerateCodeCustom(secret, t, ptotp.ValidateOpts{Period: uint(Period / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}
