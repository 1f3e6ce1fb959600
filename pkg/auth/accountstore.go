package auth

import (
	"context"
	"time"

	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/users"
)

// AccountStore is what the recovery flows (signup with an address,
// verification, forgot and reset, address change) need of a store. Each
// method is ONE atomic store operation (one DynamoDB transaction, one SQL
// transaction, one Lua script; the embedded store under its lock): the mail
// a change carries is written with it (outbox.Message, following
// pkg/outbox's storage layout), or neither is.
//
// Addresses are normalised (names.NormalizeEmail) by the caller. An address
// is "claimed" by the account that verified it: each store keeps an index of
// verified addresses (DynamoDB: an item "email#<address>" in the users
// table holding the username; PostgreSQL: a unique index on the verified
// address; Redis: a key <prefix>e:<address>), and no two accounts ever hold
// the same verified address. An unverified address claims nothing.
//
// Token records (onetime.Record) are keyed by their ID (DynamoDB: items
// "otk#<id>" of the sessions table) and expire: every read checks ExpiresAt
// in code; a store may delete a record (TTL) one day after it expired.
//
// A message whose ID is empty is no message: it is not written (a flow whose
// mail is throttled passes one).
type AccountStore interface {
	// CreateAccount stores the new user u exactly as users.Store.CreateUser
	// does (users.ErrTaken when its username or its skeleton belongs to
	// another user id, checked in the same atomic write; a
	// re-sent create of the same user id writes nothing more and returns
	// nil), with u's Email, EmailVerified false and PendingEmail empty.
	// When u.Email is set:
	//   - if it is no account's verified address, the same write also stores
	//     the token record verify and the message sent; it returns nil;
	//   - if it is another account's verified address, the same write stores
	//     u and the message taken (to the owner of the address) instead of
	//     verify and sent, and it returns users.ErrEmailTaken (the user IS
	//     created). A store that cannot decide in one write may write twice
	//     (its index condition failing first), but never the token then.
	// When u.Email is empty, verify, sent and taken are ignored.
	CreateAccount(ctx context.Context, u users.User, verify onetime.Record, sent, taken outbox.Message) error

	// IssueToken stores the token record rec and the messages msgs, on
	// condition that the user rec.Username exists with id rec.UserID and
	// credential epoch rec.Epoch (users.ErrNotFound when the user is absent
	// or has another id, onetime.ErrStale when the epoch moved; nothing is
	// written then). For onetime.EmailChange the same write sets the user's
	// PendingEmail to rec.Email (a newer change replaces an older one, whose
	// token then fails ErrStale). A record id that exists already is a
	// retried request: nothing more is written, nil.
	IssueToken(ctx context.Context, rec onetime.Record, msgs ...outbox.Message) error

	// GetToken returns the record whose id is id, used or not, expired or
	// not (the caller decides), or onetime.ErrNotFound.
	GetToken(ctx context.Context, id string) (onetime.Record, error)

	// UseToken uses the token u.Record.ID once and applies its effect, in
	// one conditional write, with the messages u.Messages. Conditions,
	// checked in this order, each with its error (nothing is written on
	// any): the record exists (onetime.ErrNotFound) with u.Record.Purpose
	// and u.Record.UserID (onetime.ErrNotFound otherwise), is unused
	// (onetime.ErrUsed), u.Now is before its ExpiresAt (onetime.ErrExpired);
	// its user exists under the record's Username with the record's UserID
	// (onetime.ErrStale otherwise), and
	//   - onetime.VerifyEmail: the user's Email is still the record's Email
	//     (onetime.ErrStale); the address is not another account's verified
	//     address (users.ErrEmailTaken). Effect: EmailVerified true,
	//     EmailVerifiedAt u.Now, the address claimed.
	//   - onetime.EmailChange: the user's epoch is still the record's
	//     (onetime.ErrStale) and PendingEmail is still the record's Email
	//     (onetime.ErrStale); the address is not another account's verified
	//     address (users.ErrEmailTaken). Effect: Email = the record's Email,
	//     EmailVerified true, EmailVerifiedAt u.Now, PendingEmail empty; the
	//     new address claimed, the old one's claim (if it was verified)
	//     released.
	//   - onetime.PasswordReset: the user's epoch is still the record's
	//     (onetime.ErrStale). Effect: exactly users.Store.SetPasswordHash's:
	//     PasswordHash = u.PasswordHash, UpdatedAt and PasswordChangedAt
	//     u.Now, the epoch moved by one.
	// The record is marked used (UsedAt = u.Now) in the same write. Of two
	// racing uses of one token exactly one succeeds; the other gets
	// onetime.ErrUsed (or the error of a condition the winner changed).
	// It returns the user as written.
	UseToken(ctx context.Context, u onetime.Use) (users.User, error)

	// UserByEmail returns the account whose VERIFIED address is email, or
	// users.ErrNotFound (an address nobody verified finds nobody).
	UserByEmail(ctx context.Context, email string) (users.User, error)

	// ChangePassword is users.Store.SetPasswordHash (the same conditions,
	// errors and effect) with the messages msgs (the "password changed"
	// notice) in the same atomic write: the change and its notice, or
	// neither.
	ChangePassword(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time, msgs ...outbox.Message) error

	// AddMessages writes messages to the outbox in one write, for mail that
	// carries no change of its own.
	AddMessages(ctx context.Context, msgs ...outbox.Message) error
}
