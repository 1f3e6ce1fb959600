package mfa

import (
	"context"
	"errors"
	"time"

	"github.com/rotor-auth/rotor/pkg/outbox"
)

// Factor is a user's TOTP factor as a store keeps it: the secret sealed
// (Seal), never in clear; the last time step accepted; the keyed hashes of
// the unused recovery codes.
type Factor struct {
	UserID string
	// Sealed is the TOTP secret as Seal returned it.
	Sealed string
	// Confirmed is set once a code proved the user's app holds the secret;
	// until then the factor is pending and logins ignore it.
	Confirmed bool
	// CreatedAt names this enrolment (a pending factor replaced by a newer
	// enrolment has another): every Use is conditional on it.
	CreatedAt   time.Time
	ConfirmedAt time.Time
	// LastStep is the last TOTP time step accepted (0: none): a code of
	// this step or an earlier one is refused.
	LastStep int64
	// Codes are the keyed hashes (HashRecoveryCode) of the unused recovery
	// codes.
	Codes []string
}

// Challenge is the record of an mfa_token: the login whose password was
// right, waiting for its second step. It holds no secret.
type Challenge struct {
	ID       string // the token's id (Token.ID)
	UserID   string
	Username string // normalised
	// Epoch is the user's credential epoch at the login: the session the
	// second step starts is refused once it moved.
	Epoch int64
	// Device is DeviceBinding of the login's device token.
	Device    string
	CreatedAt time.Time
	ExpiresAt time.Time // CreatedAt + TokenTTL
	UsedAt    time.Time // zero until used
}

// Use is one conditional write to a user's factor: a proof (a TOTP step or
// a recovery code) accepted once, and what it does.
type Use struct {
	UserID string
	// CreatedAt is the factor's CreatedAt as read: the write applies only
	// to that enrolment (ErrNoFactor otherwise).
	CreatedAt time.Time
	Now       time.Time
	// Step, when > 0, is a TOTP step to accept: only if it is later than
	// the factor's LastStep (ErrReplayed), which becomes Step.
	Step int64
	// Code, when set, is the stored hash of a recovery code to spend: only
	// if the factor still holds it (ErrCodeUsed); it is removed.
	Code string
	// Challenge, when set, is the id of an mfa_token record of UserID to
	// use in the same write: it must exist, be unused (ErrChallengeUsed)
	// and unexpired at Now (ErrChallengeExpired); it is marked used.
	Challenge string
	// Confirm makes a pending factor confirmed (ErrEnrolled if it is
	// already), with ConfirmedAt = Now.
	Confirm bool
	// Codes, when not nil, replaces the recovery-code set (confirm,
	// regenerate).
	Codes []string
	// Sealed, when set, replaces the sealed secret (re-sealed under the
	// current key).
	Sealed string
	// Remove deletes the factor (after checking the proof, if any).
	Remove bool
	// Messages are written to the outbox in the same write.
	Messages []outbox.Message
}

// Errors of a Store.
var (
	// ErrNoFactor: the user has no factor, or not the one read (CreatedAt).
	ErrNoFactor = errors.New("mfa: no such factor")
	// ErrEnrolled: the user has a confirmed factor already.
	ErrEnrolled = errors.New("mfa: factor already confirmed")
	// ErrReplayed: the TOTP step is not later than the last accepted one.
	ErrReplayed = errors.New("mfa: code used already")
	// ErrCodeUsed: the recovery code is not (or no longer) in the set.
	ErrCodeUsed = errors.New("mfa: recovery code used already")
	// ErrNoChallenge: no mfa_token record has this id (for this user).
	ErrNoChallenge = errors.New("mfa: no such mfa_token")
	// ErrChallengeUsed: the mfa_token was used already.
	ErrChallengeUsed = errors.New("mfa: mfa_token used already")
	// ErrChallengeExpired: the mfa_token's lifetime is over.
	ErrChallengeExpired = errors.New("mfa: mfa_token expired")
)

// Store keeps factors and mfa_token records. Each method is one atomic
// store operation (a DynamoDB transaction or conditional write, an SQL
// transaction, a Lua script; the embedded store under its lock).
type Store interface {
	// GetFactor returns the user's factor, pending or confirmed, or
	// ErrNoFactor.
	GetFactor(ctx context.Context, userID string) (Factor, error)
	// PutFactor stores a new pending factor f, replacing a pending one, on
	// condition that the user has no confirmed factor (ErrEnrolled).
	PutFactor(ctx context.Context, f Factor) error
	// UseFactor applies u in one conditional write: the conditions in the
	// order of Use's fields, each with its error, and nothing is written on
	// any. Of two racing uses of one step, one code or one challenge,
	// exactly one succeeds.
	UseFactor(ctx context.Context, u Use) error
	// PutChallenge stores a new mfa_token record (ErrChallengeUsed if its
	// id exists: never, ids are random).
	PutChallenge(ctx context.Context, c Challenge) error
	// GetChallenge returns the record whose id is id, used or expired or
	// not (the caller decides), or ErrNoChallenge.
	GetChallenge(ctx context.Context, id string) (Challenge, error)
}
