package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rotor-auth/rotor/pkg/outbox"
)

// Email is a rendered message, ready for a transport.
type Email struct {
	// ID is the outbox message's id: the idempotency key a transport passes
	// on where it can (a header, a tag), so a receiver can tell a resend.
	ID      string
	From    string
	To      string
	Subject string
	Text    string
	HTML    string
}

// Transport sends one mail. An error wrapping ErrPermanent means no retry
// can succeed (a rejected address); any other error is retried later.
type Transport interface {
	Send(ctx context.Context, e Email) error
}

// Renderer turns a message and its link token into a mail (Templates).
type Renderer interface {
	Render(m outbox.Message, token string) (Email, error)
}

// TokenMinter mints the link token of a message from its TokenID (and what
// the flow wrote beside it in Data, such as the token's purpose); the
// account flows provide it: the token is derived with the server MAC key,
// so the outbox holds nothing that opens a link.
type TokenMinter interface {
	MintToken(ctx context.Context, m outbox.Message) (string, error)
}

// ErrPermanent marks a transport error that retrying cannot fix.
var ErrPermanent = errors.New("mail: permanent failure")

// Permanent wraps err as a permanent failure.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// Backoff is the retry policy of failed sends.
type Backoff struct {
	Base        time.Duration // the first retry's delay, doubled per attempt
	Max         time.Duration // the cap of the delay
	MaxAttempts int           // attempts (claims) before a message is given up
}

// DefaultBackoff is used when Sender.Backoff is zero.
var DefaultBackoff = Backoff{Base: 30 * time.Second, Max: time.Hour, MaxAttempts: 8}

// Delay is the wait after the attempt-th failed attempt (1-based):
// Base·2^(attempt-1), at most Max.
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Base
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// DefaultLease is how long a claim holds a message when Sender.Lease is 0:
// longer than any send takes, short enough that a crashed sender's message
// goes out again soon (on the next sweep after it ends).
const DefaultLease = 2 * time.Minute

// SweepMargin is how much time before its context's deadline a sweep stops
// starting sends: more than one send may take.
const SweepMargin = 10 * time.Second

// Sender delivers outbox messages. Its fields are read only.
type Sender struct {
	Outbox    outbox.Store
	Transport Transport
	Render    Renderer
	Tokens    TokenMinter // may be nil when no message carries a token
	Now       func() time.Time
	Log       *slog.Logger
	Backoff   Backoff       // DefaultBackoff when zero
	Lease     time.Duration // DefaultLease when 0
	// SweepSize bounds the messages one Sweep reads (100 when 0).
	SweepSize int
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Sender) backoff() Backoff {
	if s.Backoff == (Backoff{}) {
		return DefaultBackoff
	}
	return s.Backoff
}

// Deliver sends message id unless it is sent, failed or held by another
// sender: claim (a conditional write: one claimer wins), render, send, mark
// sent under the claim's lease. A send that fails is marked for a retry
// after the backoff, or given up (permanent, or the last attempt) and
// logged as "mail_failed". Deliver returns an error only when the store
// fails, so the caller (a stream) retries; that retry finds the lease held
// and sends nothing.
func (s *Sender) Deliver(ctx context.Context, id string) error {
	now := s.now()
	lease := s.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	// Every store keeps milliseconds: the mark names the lease as stored.
	leaseUntil := now.Add(lease).Truncate(time.Millisecond)
	m, err := s.Outbox.ClaimMessage(ctx, id, now, leaseUntil)
	switch {
	case errors.Is(err, outbox.ErrClaimed), errors.Is(err, outbox.ErrNotFound):
		s.log().Debug("mail not claimed", "message_id", id, "reason", err.Error())
		return nil
	case err != nil:
		return fmt.Errorf("mail: deliver %s: %w", id, err)
	}
	b := s.backoff()
	if m.Attempts > b.MaxAttempts {
		return s.fail(ctx, m, leaseUntil, fmt.Errorf("gave up after %d attempts: %s", m.Attempts-1, m.LastError))
	}
	e, err := s.build(ctx, m)
	if err == nil {
		err = s.Transport.Send(ctx, e)
	}
	if err != nil {
		if errors.Is(err, ErrPermanent) || errors.Is(err, ErrTemplate) || errors.Is(err, ErrNoToken) || m.Attempts >= b.MaxAttempts {
			return s.fail(ctx, m, leaseUntil, err)
		}
		next := s.now().Add(b.Delay(m.Attempts))
		s.log().Warn("mail send failed, will retry", "event", "mail_retry", "message_id", m.ID, "kind", string(m.Kind),
			"attempt", m.Attempts, "retry_at", next.UTC().Format(time.RFC3339), "error", err.Error())
		if err := s.Outbox.MarkFailed(ctx, m.ID, leaseUntil, next, false, err.Error()); err != nil && !errors.Is(err, outbox.ErrClaimed) {
			return fmt.Errorf("mail: deliver %s: mark failed: %w", id, err)
		}
		return nil
	}
	if err := s.Outbox.MarkSent(ctx, m.ID, leaseUntil, s.now()); err != nil {
		if errors.Is(err, outbox.ErrClaimed) {
			// The lease ended before the mark (a stalled send): another
			// sender may send it again. Rare; said in the log.
			s.log().Warn("mail sent after its lease ended", "event", "mail_lease_lost", "message_id", m.ID, "kind", string(m.Kind))
			return nil
		}
		return fmt.Errorf("mail: deliver %s: mark sent: %w", id, err)
	}
	s.log().Info("mail sent", "event", "mail_sent", "message_id", m.ID, "kind", string(m.Kind), "attempt", m.Attempts)
	return nil
}

// build mints m's link token (when it has one) and renders it.
func (s *Sender) build(ctx context.Context, m outbox.Message) (Email, error) {
	token := ""
	if m.TokenID != "" {
		if s.Tokens == nil {
			return Email{}, fmt.Errorf("%w: no token minter", ErrNoToken)
		}
		var err error
		if token, err = s.Tokens.MintToken(ctx, m); err != nil {
			return Email{}, fmt.Errorf("mail: mint token: %w", err)
		}
	}
	e, err := s.Render.Render(m, token)
	if err != nil {
		return Email{}, err
	}
	e.ID = m.ID
	return e, nil
}

// fail gives m up and logs the security-relevant event "mail_failed" (a
// user did not get a reset link or a notice): the metric filter of
// template.yaml counts it.
func (s *Sender) fail(ctx context.Context, m outbox.Message, leaseUntil time.Time, cause error) error {
	s.log().Error("mail given up", "event", "mail_failed", "message_id", m.ID, "kind", string(m.Kind),
		"user_id", m.UserID, "attempts", m.Attempts, "error", cause.Error())
	if err := s.Outbox.MarkFailed(ctx, m.ID, leaseUntil, time.Time{}, true, cause.Error()); err != nil && !errors.Is(err, outbox.ErrClaimed) {
		return fmt.Errorf("mail: deliver %s: mark failed: %w", m.ID, err)
	}
	return nil
}

// Sweep delivers the messages due at now: those whose hand-off to the
// sender was lost (a stream record dropped, a write on a store without a
// stream), whose retry time has come, or whose sender died holding them.
// It returns how many it found; it goes on past a failed message and
// returns the first error.
func (s *Sender) Sweep(ctx context.Context, now time.Time) (int, error) {
	size := s.SweepSize
	if size <= 0 {
		size = 100
	}
	due, err := s.Outbox.DueMessages(ctx, now, size)
	if err != nil {
		return 0, fmt.Errorf("mail: sweep: %w", err)
	}
	var first error
	for _, m := range due {
		if err := ctx.Err(); err != nil {
			return len(due), err
		}
		// A function stopped by its timeout between a send and its mark
		// would send that mail twice: no new send starts near the end.
		if d, ok := ctx.Deadline(); ok && time.Until(d) < SweepMargin {
			s.log().Info("sweep stopped before the deadline", "left", len(due))
			return len(due), first
		}
		if err := s.Deliver(ctx, m.ID); err != nil && first == nil {
			first = err
		}
	}
	return len(due), first
}
