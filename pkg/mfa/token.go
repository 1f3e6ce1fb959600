package mfa

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/mac"
)

// TokenPrefix starts every mfa_token, so a leaked one is recognisable.
const TokenPrefix = "rtm_"

// TokenTTL is how long an mfa_token lives: the second step of one login.
const TokenTTL = 5 * time.Minute

const (
	tokenLabel = "mfa token v1"
	idLen      = 16
	tagLen     = 16
	tokenBody  = (8*(idLen+tagLen) + 5) / 6
)

var encoding = base64.RawURLEncoding.Strict()

// Errors of mfa_tokens.
var (
	// ErrMalformedToken means the string is not an mfa_token's one spelling.
	ErrMalformedToken = errors.New("mfa: malformed mfa_token")
	// ErrForgedToken means its tag does not verify: not issued here.
	ErrForgedToken = errors.New("mfa: mfa_token not issued by this server")
)

// Token is a parsed mfa_token: the id of its Challenge record and its tag.
type Token struct {
	ID  string
	raw []byte
	tag []byte
}

// NewToken returns a fresh mfa_token and the id of the record it names,
// tagged under ring's current key. The record stores only the id.
func NewToken(ring mac.Keyring, r io.Reader) (token, id string, err error) {
	if r == nil {
		r = rand.Reader
	}
	raw := make([]byte, idLen)
	if _, err := io.ReadFull(r, raw); err != nil {
		return "", "", fmt.Errorf("mfa: token: %w", err)
	}
	tag := ring.Sum(tokenLabel, raw)[:tagLen]
	return TokenPrefix + encoding.EncodeToString(append(raw, tag...)), encoding.EncodeToString(raw), nil
}

// ParseToken reads an mfa_token's one spelling: the prefix, then exactly
// the unpadded base64url of 32 bytes, which re-encodes to the same text.
func ParseToken(s string) (Token, error) {
	body, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok || len(body) != tokenBody {
		return Token{}, ErrMalformedToken
	}
	raw, err := encoding.DecodeString(body)
	if err != nil || len(raw) != idLen+tagLen || encoding.EncodeToString(raw) != body {
		return Token{}, ErrMalformedToken
	}
	return Token{ID: encoding.EncodeToString(raw[:idLen]), raw: raw[:idLen], tag: raw[idLen:]}, nil
}

// CheckToken parses s and verifies its tag under a key of ring (no store
// read: a made-up token costs nothing but the parse).
func CheckToken(ring mac.Keyring, s string) (Token, error) {
	t, err := ParseToken(s)
	if err != nil {
		return Token{}, err
	}
	if !ring.Verify(tokenLabel, t.tag, t.raw) {
		return Token{}, ErrForgedToken
	}
	return t, nil
}

// DeviceBinding is what a Challenge keeps of the device token the login
// came with ("" for none): a keyed digest, so the record holds no token.
func DeviceBinding(ring mac.Keyring, deviceToken string) string {
	return LoginBinding(ring, deviceToken, "")
}

// LoginBinding is what a Challenge keeps of the device token and of the
// DPoP key (its JWK thumbprint, RFC 7638) the login came with, either
// empty: a keyed digest of both ("" for neither), so the second step must
// come from the same device token and with a proof by the same key. Without
// a key it is DeviceBinding as it always was.
func LoginBinding(ring mac.Keyring, deviceToken, jkt string) string {
	switch {
	case jkt != "":
		// Device tokens and thumbprints are base64url: a newline parts them.
		return ring.Fingerprint("mfa device dpop", deviceToken+"\n"+jkt)
	case deviceToken != "":
		return ring.Fingerprint("mfa device", deviceToken)
	}
	return ""
}

// BoundTo reports whether deviceToken is the one binding was made of,
// under any key of ring.
func BoundTo(ring mac.Keyring, binding, deviceToken string) bool {
	return BoundToLogin(ring, binding, deviceToken, "")
}

// BoundToLogin reports whether binding is the LoginBinding of deviceToken
// and jkt.
func BoundToLogin(ring mac.Keyring, binding, deviceToken, jkt string) bool {
	if binding == "" || (deviceToken == "" && jkt == "") {
		return binding == "" && deviceToken == "" && jkt == ""
	}
	// Under the current key only: a key rotation inside an mfa_token's five
	// minutes costs that login its second step, nothing more.
	return subtle.ConstantTimeCompare([]byte(LoginBinding(ring, deviceToken, jkt)), []byte(binding)) == 1
}
