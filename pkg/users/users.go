package users

import (
	"context"
	"errors"
	"fmt"
	"time"
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
	// ErrStale means the user's credential epoch is no longer the one a
	// change read: a password change, an end-all or a lock came in between.
	ErrStale = errors.New("users: credentials changed meanwhile")
	// ErrEmailTaken means the address is the verified address of another
	// account. The flows never tell a caller so: a signup answers as for a
	// fresh address and the owner of the address gets a mail instead.
	ErrEmailTaken = errors.New("users: email address taken")
)

// User is a stored account.
type User struct {
	ID           string
	Username     string // normalised
	PasswordHash string // argon2id PHC string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// PasswordChangedAt is when the password was last changed
	// (SetPasswordHash), zero if never since signup. Unlike UpdatedAt, which
	// signup and lock/unlock move too, only a real change sets it: it opens
	// the window in which /auth/password may finish a retried change.
	PasswordChangedAt time.Time
	// Epoch is the credential epoch: every password change and every
	// "end all sessions" moves it, and a session is only ever created while
	// the epoch its login read is still current.
	Epoch int64
	// Sessions lists the user's sessions (id → creation time), kept in the
	// same atomic step as each session is created; ended ones linger until a
	// later login prunes them.
	Sessions map[string]time.Time
	// Locked is set by an operator (rotor users lock): a locked user cannot
	// log in, and locking ended every session, so none can refresh.
	Locked bool
	// Skeleton is the UTS #39 skeleton of Username (names.Skeleton): no two
	// users share one, so a look-alike of a name is that name, taken. Empty
	// means Username itself (a caller that never takes a typed name).
	// CreateUser keeps it; GetUser need not read it back.
	Skeleton string

	// Email is the account's address, normalised (NormalizeEmail), or
	// empty. Verified or not, it is the address mail goes to; only a
	// verified one receives a password reset. Unique among the verified
	// addresses of all accounts: verification claims it (an unverified
	// address claims nothing, so nobody can squat an address by signing up
	// with it).
	Email string
	// EmailVerified is set once the owner of Email followed a verification
	// link, at EmailVerifiedAt.
	EmailVerified   bool
	EmailVerifiedAt time.Time
	// PendingEmail is the new address of a change the user started
	// (POST /auth/email), until its verification makes it Email.
	PendingEmail string
}

// Store keeps users, keyed by normalised username.
type Store interface {
	// CreateUser stores u unless its username or its skeleton belongs to
	// another user id (ErrTaken), in one atomic step, so of two racing
	// look-alikes one wins; re-sending the same user (a retried request)
	// succeeds.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the user or ErrNotFound.
	GetUser(ctx context.Context, username string) (User, error)
	// SetPasswordHash replaces the hash of an existing user whose id is userID
	// and moves the user's credential epoch in the same write, so no login
	// that checked the old password can start a session afterwards. It does
	// so only while the epoch is still epoch, the one of the record whose
	// password the change checked (ErrStale otherwise): a change that checked
	// credentials replaced meanwhile (another change, an end-all, a lock)
	// never lands after them. It sets UpdatedAt and PasswordChangedAt to now;
	// nothing else sets the latter.
	SetPasswordHash(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time) error
}

// SkeletonOf is the skeleton a store keys u under: u.Skeleton, or its
// username when that is empty.
func SkeletonOf(u User) string {
	if u.Skeleton == "" {
		return u.Username
	}
	return u.Skeleton
}

// Locker locks and unlocks accounts (the admin CLI).
type Locker interface {
	// SetLocked sets the Locked flag of the user whose id is userID
	// (ErrNotFound otherwise). Locking also moves the credential epoch in the
	// same write, so a login that read the unlocked record cannot start a
	// session afterwards.
	SetLocked(ctx context.Context, username, userID string, locked bool, now time.Time) error
}
