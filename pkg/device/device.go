package device

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rotor-auth/rotor/pkg/mac"
)

// Prefix starts every device token, so a leaked one is recognisable.
const Prefix = "rtd_"

const (
	label    = "device" // the mac subkey label: a device tag is nothing else's tag
	nonceLen = 16       // 128 random bits name the device
	tagLen   = 16       // 128-bit tag
	// encodedLen is the length of a token: the prefix and the unpadded
	// base64url of nonce ‖ tag.
	encodedLen = len(Prefix) + (8*(nonceLen+tagLen)+5)/6
)

var (
	// ErrMalformed means the string is not a device token's one spelling.
	ErrMalformed = errors.New("device: malformed token")
	// ErrForged means the token is well formed but its tag does not verify
	// for the username: made up, or issued for another username.
	ErrForged = errors.New("device: token not issued for this username")
)

var encoding = base64.RawURLEncoding.Strict()

// Token is a parsed device token.
type Token struct {
	nonce []byte
	tag   []byte
}

// Issue returns a new device token for the normalised username, tagged with
// ring's current key. r is crypto/rand when nil.
func Issue(ring mac.Keyring, username string, r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	nonce := make([]byte, nonceLen)
	if _, err := io.ReadFull(r, nonce); err != nil {
		return "", fmt.Errorf("device: nonce: %w", err)
	}
	tag := ring.Sum(label, []byte(username), nonce)[:tagLen]
	return Prefix + encoding.EncodeToString(append(nonce, tag...)), nil
}

// Parse reads a token's one spelling: the prefix, then exactly the unpadded
// base64url of 32 bytes, which must re-encode to the same text (so no two
// strings are the same token).
func Parse(s string) (Token, error) {
	if len(s) != encodedLen || !strings.HasPrefix(s, Prefix) {
		return Token{}, ErrMalformed
	}
	raw, err := encoding.DecodeString(s[len(Prefix):])
	if err != nil || len(raw) != nonceLen+tagLen || encoding.EncodeToString(raw) != s[len(Prefix):] {
		return Token{}, ErrMalformed
	}
	return Token{nonce: raw[:nonceLen], tag: raw[nonceLen:]}, nil
}

// Check parses s and verifies it was issued for the normalised username
// under a key of ring. It returns the token's throttle key.
func Check(ring mac.Keyring, username, s string) (string, error) {
	t, err := Parse(s)
	if err != nil {
		return "", err
	}
	if !ring.Verify(label, t.tag, []byte(username), t.nonce) {
		return "", ErrForged
	}
	return t.Key(), nil
}

// Key is the token's throttle key: its failures are counted under it.
// The nonce alone is not a token (the tag needs the server key), so the key
// may be stored and logged.
func (t Token) Key() string { return "device#" + encoding.EncodeToString(t.nonce) }
