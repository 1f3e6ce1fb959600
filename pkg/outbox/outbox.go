package outbox

import (
	"context"
	"errors"
	"time"
)

// Kind says what a message tells its reader; each kind has its templates.
type Kind string

// The kinds of message.
const (
	// VerifyEmail carries a link that verifies the address it is sent to
	// (at signup, on a resend, and to the new address of a change).
	VerifyEmail Kind = "verify_email"
	// PasswordReset carries a link to set a new password.
	PasswordReset Kind = "password_reset"
	// SignupAttempt tells an address's owner that someone tried to sign up
	// with it (the signup answered as if it were new).
	SignupAttempt Kind = "signup_attempt"
	// PasswordChanged, PasswordWasReset and EmailChanged are security
	// notices: they name when and from where, and how to react.
	PasswordChanged  Kind = "password_changed"
	PasswordWasReset Kind = "password_reset_done"
	EmailChanged     Kind = "email_changed"
	// FactorAdded, FactorRemoved and RecoveryCodeUsed are the MFA notices.
	FactorAdded      Kind = "factor_added"
	FactorRemoved    Kind = "factor_removed"
	RecoveryCodeUsed Kind = "recovery_code_used"
)

// Message is one mail in the outbox.
type Message struct {
	// ID is the idempotency key: new per message ("msg_" + 22 base64url
	// characters of 128 random bits); the sender marks it sent under it.
	ID     string
	Kind   Kind
	To     string // the normalised address
	UserID string
	// TokenID names the one-time token a link in the message carries
	// (empty: no link). Not a secret: the token is derived from it.
	TokenID string
	// Data are the template's fields, never a secret: "ip", "user_agent",
	// "at" (RFC 3339), "new_email", "username"...
	Data      map[string]string
	CreatedAt time.Time

	// Delivery state, kept by the sender.
	Attempts   int
	NextAt     time.Time // not sent before; a new message: CreatedAt
	LeaseUntil time.Time // a sender holds it until then
	SentAt     time.Time // zero until sent
	Failed     bool      // given up (a permanent failure or too many attempts)
	LastError  string
}

// Waiting reports whether m still has to be sent.
func (m Message) Waiting() bool { return m.SentAt.IsZero() && !m.Failed }

// Errors of a Store.
var (
	// ErrNotFound: no message has this id.
	ErrNotFound = errors.New("outbox: message not found")
	// ErrClaimed: the message is sent, failed, or leased by another sender
	// (a conditional write refused the claim or the mark).
	ErrClaimed = errors.New("outbox: message sent, failed or held by another sender")
)

// Store is what a sender needs of the outbox. The flows add messages in
// their own atomic writes (each store's account code), never through it.
type Store interface {
	// DueMessages returns up to limit waiting messages whose NextAt and
	// LeaseUntil are not after now, oldest NextAt first.
	DueMessages(ctx context.Context, now time.Time, limit int) ([]Message, error)
	// ClaimMessage leases a waiting message until leaseUntil, with one
	// conditional write: ErrClaimed when it is sent, failed or leased past
	// now; ErrNotFound when unknown. It returns the message as leased.
	ClaimMessage(ctx context.Context, id string, now, leaseUntil time.Time) (Message, error)
	// MarkSent records a delivery, on condition that the lease given by
	// ClaimMessage (leaseUntil) is still the message's (ErrClaimed otherwise).
	MarkSent(ctx context.Context, id string, leaseUntil, now time.Time) error
	// MarkFailed records a failed attempt under the same condition: the
	// message waits again until nextAt, or, when permanent, is given up.
	MarkFailed(ctx context.Context, id string, leaseUntil, nextAt time.Time, permanent bool, reason string) error
}
