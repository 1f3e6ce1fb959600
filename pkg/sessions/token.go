package sessions

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/rotor-auth/rotor/pkg/mac"
)

// TokenPrefix starts every refresh token, so secret scanners can find leaked ones.
const TokenPrefix = "rtr_"

const (
	idLen     = 16 // session id bytes: 128 bits
	secretLen = 32 // refresh secret bytes: 256 bits
	tagLen    = 16 // server MAC tag bytes: 128 bits
	rawLen    = idLen + secretLen + tagLen

	// tagLabel separates refresh-token tags from every other use of the
	// server MAC key.
	tagLabel = "refresh token"
)

// encoding is strict: the last character's unused bits must be zero, so one
// byte string has exactly one spelling.
var encoding = base64.RawURLEncoding.Strict()

// Errors of refresh-token parsing.
var (
	// ErrMalformedToken means the string cannot be a refresh token at all.
	ErrMalformedToken = errors.New("sessions: malformed refresh token")
	// ErrForged means the token is well formed but this server never issued
	// it: its tag does not verify under the server MAC key. It names a real
	// session perhaps (session ids are public), but proves nothing about it.
	ErrForged = errors.New("sessions: refresh token not issued by this server")
)

// RefreshToken is a parsed refresh token: the session it names, its secret,
// and the server's tag over both.
type RefreshToken struct {
	SessionID string
	Secret    []byte
	Tag       []byte
}

// issue returns the token for a session id and secret, tagged with ring.
func issue(ring mac.Keyring, sessionID string, secret []byte) RefreshToken {
	return RefreshToken{SessionID: sessionID, Secret: secret, Tag: ring.Sum(tagLabel, []byte(sessionID), secret)[:tagLen]}
}

// String encodes the token as rtr_<base64url(session id ‖ secret ‖ tag)>.
func (t RefreshToken) String() string {
	id, err := encoding.DecodeString(t.SessionID)
	if err != nil || len(id) != idLen || len(t.Secret) != secretLen || len(t.Tag) != tagLen {
		return ""
	}
	raw := make([]byte, 0, rawLen)
	raw = append(append(append(raw, id...), t.Secret...), t.Tag...)
	return TokenPrefix + encoding.EncodeToString(raw)
}

// Hash is what the store keeps instead of the secret.
func (t RefreshToken) Hash() []byte {
	sum := sha256.Sum256(t.Secret)
	return sum[:]
}

// Genuine reports whether this server issued the token: its tag verifies
// under ring (the current or a previous server MAC key).
func (t RefreshToken) Genuine(ring mac.Keyring) bool {
	return ring.Verify(tagLabel, t.Tag, []byte(t.SessionID), t.Secret)
}

// ParseRefreshToken decodes a refresh token without touching any store or
// key. It accepts exactly the spelling String produces: the prefix, then the
// strict base64url of exactly 64 bytes; anything else (whitespace, padding,
// other alphabets, trailing bits) is ErrMalformedToken.
func ParseRefreshToken(s string) (RefreshToken, error) {
	rest, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok || len(rest) != encoding.EncodedLen(rawLen) {
		return RefreshToken{}, ErrMalformedToken
	}
	raw, err := encoding.DecodeString(rest)
	// The decoder skips \r and \n, so a length check before decoding is not
	// enough: the decoded length and the re-encoding must both match.
	if err != nil || len(raw) != rawLen || encoding.EncodeToString(raw) != rest {
		return RefreshToken{}, ErrMalformedToken
	}
	return RefreshToken{
		SessionID: encoding.EncodeToString(raw[:idLen]),
		Secret:    raw[idLen : idLen+secretLen],
		Tag:       raw[idLen+secretLen:],
	}, nil
}

// ValidSessionID reports whether id has the one format of a session id:
// the base64url of 16 bytes.
func ValidSessionID(id string) bool {
	if len(id) != encoding.EncodedLen(idLen) {
		return false
	}
	b, err := encoding.DecodeString(id)
	return err == nil && len(b) == idLen && encoding.EncodeToString(b) == id
}

// successor derives the secret that replaces secret when the session rotates
// with salt. Because it is a function of the presented secret (which the store
// never holds) and the stored salt, a replay inside the grace window can be
// answered with the same new token without storing any plaintext token, and
// a copy of the table alone cannot produce it.
func successor(secret, salt []byte) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte("rotor refresh rotation v1"))
	m.Write(secret)
	return m.Sum(nil)
}
