package device

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/mac"
)

// Prefix starts every device token, so a leaked one is recognisable.
const Prefix = "rtd_"

const (
	label    = "device" // the mac subkey label: a device tag is nothing else's tag
	nonceLen = 16       // 128 random bits name the device
	stateLen = 16       // the credential epoch and the issue time (Unix ms), 8 bytes each, big-endian
	tagLen   = 16       // 128-bit tag
	rawLen   = nonceLen + stateLen + tagLen
	// encodedLen is the length of a token: the prefix and the unpadded
	// base64url of nonce ‖ epoch ‖ issued ‖ tag.
	encodedLen = len(Prefix) + (8*rawLen+5)/6
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
	state []byte // epoch ‖ issued, under the tag
	tag   []byte
}

// Issue returns a new device token for the normalised username whose
// credential epoch is epoch, issued at now, tagged with ring's current key.
// The epoch and the time are under the tag: the login trusts the token only
// while the user's epoch is still epoch and no revoke-all came after now.
// r is crypto/rand when nil.
func Issue(ring mac.Keyring, username string, epoch int64, now time.Time, r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	raw := make([]byte, nonceLen+stateLen, rawLen)
	if _, err := io.ReadFull(r, raw[:nonceLen]); err != nil {
		return "", fmt.Errorf("device: nonce: %w", err)
	}
	binary.BigEndian.PutUint64(raw[nonceLen:], uint64(epoch))
	binary.BigEndian.PutUint64(raw[nonceLen+8:], uint64(now.UnixMilli()))
	tag := ring.Sum(label, []byte(username), raw[:nonceLen], raw[nonceLen:])[:tagLen]
	return Prefix + encoding.EncodeToString(append(raw, tag...)), nil
}

// Parse reads a token's one spelling: the prefix, then exactly the unpadded
// base64url of 48 bytes, which must re-encode to the same text (so no two
// strings are the same token).
func Parse(s string) (Token, error) {
	if len(s) != encodedLen || !strings.HasPrefix(s, Prefix) {
		return Token{}, ErrMalformed
	}
	raw, err := encoding.DecodeString(s[len(Prefix):])
	if err != nil || len(raw) != rawLen || encoding.EncodeToString(raw) != s[len(Prefix):] {
		return Token{}, ErrMalformed
	}
	return Token{nonce: raw[:nonceLen], state: raw[nonceLen : nonceLen+stateLen], tag: raw[nonceLen+stateLen:]}, nil
}

// Check parses s and verifies it was issued for the normalised username
// under a key of ring. Whether it is still trusted is the caller's to decide
// from its Epoch and IssuedAt.
func Check(ring mac.Keyring, username, s string) (Token, error) {
	t, err := Parse(s)
	if err != nil {
		return Token{}, err
	}
	if !ring.Verify(label, t.tag, []byte(username), t.nonce, t.state) {
		return Token{}, ErrForged
	}
	return t, nil
}

// Epoch is the user's credential epoch when the token was issued.
func (t Token) Epoch() int64 { return int64(binary.BigEndian.Uint64(t.state)) }

// IssuedAt is when the token was issued, to the millisecond.
func (t Token) IssuedAt() time.Time {
	return time.UnixMilli(int64(binary.BigEndian.Uint64(t.state[8:]))).UTC()
}

// Key is the token's throttle key: its failures are counted under it.
// The nonce alone is not a token (the tag needs the server key), so the key
// may be stored and logged.
func (t Token) Key() string { return "device#" + encoding.EncodeToString(t.nonce) }
