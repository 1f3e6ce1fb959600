package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// Bounds of a username, in bytes after normalisation.
const (
	MinUsernameLen = 3
	MaxUsernameLen = 64
)

// Errors of this package. ErrMixedScripts wraps ErrBadUsername.
var (
	ErrNotFound     = errors.New("users: not found")
	ErrTaken        = errors.New("users: username taken")
	ErrBadUsername  = fmt.Errorf("users: username must be %d to %d characters, letters of one script, digits and . _ - @ +", MinUsernameLen, MaxUsernameLen)
	ErrMixedScripts = fmt.Errorf("%w (letters from more than one script)", ErrBadUsername)
)

// User is a stored account.
type User struct {
	ID           string
	Username     string // normalised
	PasswordHash string // argon2id PHC string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Epoch is the credential epoch: every password change and every
	// "end all sessions" moves it, and a session is only ever created while
	// the epoch its login read is still current.
	Epoch int64
	// Sessions lists the user's sessions (id → creation time), kept in the
	// same atomic step as each session is created; ended ones linger until a
	// later login prunes them.
	Sessions map[string]time.Time
}

// Store keeps users, keyed by normalised username.
type Store interface {
	// CreateUser stores u unless its username belongs to another user id
	// (ErrTaken); re-sending the same user (a retried request) succeeds.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the user or ErrNotFound.
	GetUser(ctx context.Context, username string) (User, error)
	// SetPasswordHash replaces the hash of an existing user whose id is userID
	// and moves the user's credential epoch in the same write, so no login
	// that checked the old password can start a session afterwards.
	SetPasswordHash(ctx context.Context, username, userID, hash string, now time.Time) error
}

// Normalize returns the stored form of a username, so that spellings a
// person cannot tell apart never become two accounts:
//
//   - surrounding white space is trimmed, then PRECIS UsernameCaseMapped
//     (RFC 8265 §3.3) applies: fullwidth forms map to their usual width,
//     upper case to lower case (not case folding: "straße" stays distinct
//     from "strasse"), NFC, and the IdentifierClass and Bidi rules;
//   - only letters, combining marks, digits and . _ - @ + remain allowed;
//   - every letter, mark and digit comes from one Unicode script (Common
//     and Inherited aside), so a Cyrillic "а" cannot stand in a Latin name;
//   - the result is 3 to 64 bytes long.
//
// Names made wholly of another script's look-alikes (all-Cyrillic "аре")
// pass: catching those needs the Unicode confusables data (UTS #39).
func Normalize(username string) (string, error) {
	in := strings.TrimSpace(username)
	if !utf8.ValidString(in) || len(in) > 4*MaxUsernameLen {
		return "", ErrBadUsername
	}
	u, err := precis.UsernameCaseMapped.String(in)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadUsername, err)
	}
	if len(u) < MinUsernameLen || len(u) > MaxUsernameLen {
		return "", ErrBadUsername
	}
	script := ""
	for _, r := range u {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@+", r) {
			return "", ErrBadUsername
		}
		s := scriptOf(r)
		switch {
		case s == "Common" || s == "Inherited":
		case script == "":
			script = s
		case s != script:
			return "", ErrMixedScripts
		}
	}
	return u, nil
}

// scriptOf names the Unicode script of r ("Common" when none matches).
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if unicode.IsLetter(r) {
			return "Latin"
		}
		return "Common"
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return "Common"
}
