package sessions

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// TokenPrefix starts every refresh token, so secret scanners can find leaked ones.
const TokenPrefix = "rtr_"

const (
	idLen     = 16 // session id bytes: 128 bits
	secretLen = 32 // refresh secret bytes: 256 bits
)

// ErrMalformedToken means the string cannot be a refresh token at all.
var ErrMalformedToken = errors.New("sessions: malformed refresh token")

// RefreshToken is a parsed refresh token: the session it names and its secret.
type RefreshToken struct {
	SessionID string
	Secret    []byte
}

// String encodes the token as rtr_<base64url(session id || secret)>.
func (t RefreshToken) String() string {
	id, err := base64.RawURLEncoding.DecodeString(t.SessionID)
	if err != nil || len(id) != idLen {
		return ""
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(append(id, t.Secret...))
}

// Hash is what the store keeps instead of the secret.
func (t RefreshToken) Hash() []byte {
	sum := sha256.Sum256(t.Secret)
	return sum[:]
}

// ParseRefreshToken decodes a refresh token without touching any store.
func ParseRefreshToken(s string) (RefreshToken, error) {
	rest, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(idLen+secretLen) {
		return RefreshToken{}, ErrMalformedToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return RefreshToken{}, ErrMalformedToken
	}
	return RefreshToken{
		SessionID: base64.RawURLEncoding.EncodeToString(raw[:idLen]),
		Secret:    raw[idLen:],
	}, nil
}

// successor derives the secret that replaces secret when the session rotates
// with salt. Because it is a function of the presented secret (which the store
// never holds) and the stored salt, a replay inside the grace window can be
// answered with the same new token without storing any plaintext token, and
// a copy of the table alone cannot produce it.
func successor(secret, salt []byte) []byte {
	mac := hmac.New(sha256.New, salt)
	mac.Write([]byte("rotor refresh rotation v1"))
	mac.Write(secret)
	return mac.Sum(nil)
}
