package onetime

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/outbox"
)

// Purpose says what a token may do; a token of one purpose is malformed for
// every other.
type Purpose string

// The purposes, each with its own prefix and lifetime.
const (
	// VerifyEmail marks the user's address (Record.Email) verified.
	VerifyEmail Purpose = "verify_email"
	// PasswordReset sets a new password and moves the credential epoch.
	PasswordReset Purpose = "password_reset"
	// EmailChange makes the pending new address (Record.Email) the user's
	// verified address.
	EmailChange Purpose = "email_change"
)

// Prefixes of the tokens, so a leaked one is recognisable (refresh tokens
// use "rtr_", device tokens "rtd_").
const (
	VerifyPrefix = "rtv_"
	ResetPrefix  = "rtp_"
	ChangePrefix = "rtc_"
)

// Lifetimes of the tokens.
const (
	VerifyTTL = 24 * time.Hour
	ResetTTL  = 15 * time.Minute
	ChangeTTL = 24 * time.Hour
)

const (
	label  = "onetime" // the mac subkey label: a one-time tag is nothing else's tag
	idLen  = 16        // 128 random bits name the record
	tagLen = 16        // 128-bit tag
	rawLen = idLen + tagLen
	// idTextLen is the length of a record id: unpadded base64url of 16 bytes.
	idTextLen = (8*idLen + 5) / 6
	// bodyLen is the length of a token after its prefix.
	bodyLen = (8*rawLen + 5) / 6
)

var (
	// ErrMalformed means the string is not a token's one spelling (of the
	// purpose asked for).
	ErrMalformed = errors.New("onetime: malformed token")
	// ErrForged means the token is well formed but its tag does not verify:
	// made up, not issued by this server.
	ErrForged = errors.New("onetime: token not issued by this server")
	// ErrNotFound means no record has the token's id (never stored, or
	// expired and removed).
	ErrNotFound = errors.New("onetime: token not found")
	// ErrUsed means the token was used already.
	ErrUsed = errors.New("onetime: token used")
	// ErrExpired means the token's lifetime is over.
	ErrExpired = errors.New("onetime: token expired")
	// ErrStale means what the token was bound to has changed: the user's
	// credential epoch moved (a password change, a newer reset, a lock, an
	// end-all), the user is gone, or the address it names is no longer the
	// user's (verify) or pending one (change).
	ErrStale = errors.New("onetime: token no longer valid for its account")
)

var encoding = base64.RawURLEncoding.Strict()

// Prefix returns the prefix of p's tokens ("" for an unknown purpose).
func (p Purpose) Prefix() string {
	switch p {
	case VerifyEmail:
		return VerifyPrefix
	case PasswordReset:
		return ResetPrefix
	case EmailChange:
		return ChangePrefix
	}
	return ""
}

// TTL returns how long p's tokens live (0 for an unknown purpose).
func (p Purpose) TTL() time.Duration {
	switch p {
	case VerifyEmail:
		return VerifyTTL
	case PasswordReset:
		return ResetTTL
	case EmailChange:
		return ChangeTTL
	}
	return 0
}

// Record is a token as the store keeps it: what it is for, whom, bound to
// what, and whether it was used. It holds no secret: its ID is not a token.
type Record struct {
	// ID is 22 base64url characters of 128 random bits (NewID).
	ID       string
	Purpose  Purpose
	UserID   string
	Username string // normalised: the user's key in the users store
	// Epoch is the user's credential epoch when the token was issued: a
	// reset or change token is void once it moved.
	Epoch int64
	// Email is the address the token verifies: the user's address
	// (VerifyEmail), the new address (EmailChange); empty for a reset.
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time // CreatedAt + the purpose's TTL
	UsedAt    time.Time // zero until used
}

// New returns a record of purpose p for the user, created at now, with a
// fresh id from r (crypto/rand when nil).
func New(p Purpose, userID, username string, epoch int64, email string, now time.Time, r io.Reader) (Record, error) {
	id, err := NewID(r)
	if err != nil {
		return Record{}, err
	}
	return Record{ID: id, Purpose: p, UserID: userID, Username: username, Epoch: epoch, Email: email, CreatedAt: now, ExpiresAt: now.Add(p.TTL())}, nil
}

// NewID returns a fresh record id: 22 base64url characters of 128 random
// bits read from r (crypto/rand when nil).
func NewID(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, idLen)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("onetime: id: %w", err)
	}
	return encoding.EncodeToString(b), nil
}

// Mint returns the token of record id for purpose p, tagged with ring's
// current key: the flows never hand it out themselves; the mail sender
// mints it from outbox.Message.TokenID when it renders the link.
func Mint(ring mac.Keyring, p Purpose, id string) (string, error) {
	raw, err := decodeID(id)
	if err != nil || p.Prefix() == "" {
		return "", fmt.Errorf("onetime: mint %q token: %w", p, ErrMalformed)
	}
	tag := ring.Sum(label, []byte(p), raw)[:tagLen]
	return p.Prefix() + encoding.EncodeToString(append(raw, tag...)), nil
}

// Token is a parsed token: its purpose and record id, and the tag Check
// verifies.
type Token struct {
	Purpose Purpose
	ID      string
	raw     []byte
	tag     []byte
}

// Parse reads a token's one spelling: a known purpose's prefix, then exactly
// the unpadded base64url of 32 bytes, which must re-encode to the same text
// (so no two strings are the same token).
func Parse(s string) (Token, error) {
	var p Purpose
	switch {
	case strings.HasPrefix(s, VerifyPrefix):
		p = VerifyEmail
	case strings.HasPrefix(s, ResetPrefix):
		p = PasswordReset
	case strings.HasPrefix(s, ChangePrefix):
		p = EmailChange
	default:
		return Token{}, ErrMalformed
	}
	body := s[len(p.Prefix()):]
	if len(body) != bodyLen {
		return Token{}, ErrMalformed
	}
	raw, err := encoding.DecodeString(body)
	if err != nil || len(raw) != rawLen || encoding.EncodeToString(raw) != body {
		return Token{}, ErrMalformed
	}
	return Token{Purpose: p, ID: encoding.EncodeToString(raw[:idLen]), raw: raw[:idLen], tag: raw[idLen:]}, nil
}

// Check parses s as a token of one of the purposes (ErrMalformed for any
// other: a reset token is no verification token) and verifies its tag under
// a key of ring (ErrForged). It needs no store: a made-up token costs no
// round trip.
func Check(ring mac.Keyring, s string, purposes ...Purpose) (Token, error) {
	t, err := Parse(s)
	if err != nil {
		return Token{}, err
	}
	ok := false
	for _, p := range purposes {
		ok = ok || p == t.Purpose
	}
	if !ok {
		return Token{}, ErrMalformed
	}
	if !ring.Verify(label, t.tag, []byte(t.Purpose), t.raw) {
		return Token{}, ErrForged
	}
	return t, nil
}

func decodeID(id string) ([]byte, error) {
	if len(id) != idTextLen {
		return nil, ErrMalformed
	}
	raw, err := encoding.DecodeString(id)
	if err != nil || len(raw) != idLen || encoding.EncodeToString(raw) != id {
		return nil, ErrMalformed
	}
	return raw, nil
}

// Use is one use of a token: what a store's UseToken checks and writes.
type Use struct {
	// Record is the token's record as read: ID, Purpose, UserID, Username,
	// Epoch and Email are the conditions.
	Record Record
	Now    time.Time
	// PasswordHash is the new password's hash (PasswordReset only).
	PasswordHash string
	// Messages are written with the use: the notice of the change.
	Messages []outbox.Message
}

// PurposeKey is the outbox.Message Data key naming the purpose of the
// message's TokenID: a Minter mints the link's token for it.
const PurposeKey = "token_purpose"

// Minter mints the link token of an outbox message for the mail sender
// (pkg/mail's TokenMinter), with the server MAC key: the token of
// m.TokenID for the purpose m.Data[PurposeKey].
type Minter struct {
	MAC mac.Source
}

// MintToken returns the token m's link carries.
func (mt Minter) MintToken(ctx context.Context, m outbox.Message) (string, error) {
	if mt.MAC == nil {
		return "", errors.New("onetime: mint: no MAC key source")
	}
	ring, err := mt.MAC.Keyring(ctx)
	if err != nil {
		return "", fmt.Errorf("onetime: mint: %w", err)
	}
	return Mint(ring, Purpose(m.Data[PurposeKey]), m.TokenID)
}
