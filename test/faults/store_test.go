package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// fault is what the store does to one call.
type fault int

const (
	healthy fault = iota
	// stall never answers: the call returns when the request's deadline
	// passes, as an SDK call to a frozen DynamoDB does.
	stall
	// fail answers at once with an internal error (an AccessDenied, a
	// malformed response): nothing was applied.
	fail
	// loseAnswer applies the call, then loses its answer: the caller sees
	// its deadline pass although the write landed.
	loseAnswer
	// applyLate stalls past the caller's deadline and applies the write only
	// when the test calls land: a write that reached DynamoDB late.
	applyLate
)

func (f fault) String() string {
	return [...]string{"healthy", "stall", "fail", "loseAnswer", "applyLate"}[f]
}

// errInjected is the internal error of a failing call.
var errInjected = errors.New("faults: injected: AccessDeniedException")

// errNoDeadline fails a stalled call that has no deadline instead of hanging
// the test: without one it would hang until the Lambda timeout.
var errNoDeadline = errors.New("faults: a store call without a deadline would hang")

// faulty wraps any store and faults the calls named in its plan; every
// method it does not override passes straight through. The overrides are the
// store calls of the HTTP routes.
type faulty struct {
	apifn.Store

	mu   sync.Mutex
	plan map[string]fault
	late []func()
}

// set faults every later call of method with f (healthy clears it).
func (s *faulty) set(method string, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plan == nil {
		s.plan = map[string]fault{}
	}
	s.plan[method] = f
}

// stalls reports whether some call is set to wait for its deadline (stall,
// applyLate).
func (s *faulty) stalls() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.plan {
		if f == stall || f == applyLate {
			return true
		}
	}
	return false
}

// land applies the writes held by applyLate, in order.
func (s *faulty) land() int {
	s.mu.Lock()
	late := s.late
	s.late = nil
	s.mu.Unlock()
	for _, apply := range late {
		apply()
	}
	return len(late)
}

// call runs one store call under the plan. do must only write through the
// context it is given.
func (s *faulty) call(ctx context.Context, method string, do func(context.Context) error) error {
	s.mu.Lock()
	f := s.plan[method]
	s.mu.Unlock()
	wait := func() error {
		if _, ok := ctx.Deadline(); !ok {
			return errNoDeadline
		}
		<-ctx.Done()
		return fmt.Errorf("operation error DynamoDB: %s: %w", method, ctx.Err())
	}
	switch f {
	case stall:
		return wait()
	case fail:
		return fmt.Errorf("operation error DynamoDB: %s: %w", method, errInjected)
	case loseAnswer:
		_ = do(context.WithoutCancel(ctx))
		return fmt.Errorf("operation error DynamoDB: %s: %w", method, context.DeadlineExceeded)
	case applyLate:
		err := wait()
		if errors.Is(err, errNoDeadline) {
			return err
		}
		bg := context.WithoutCancel(ctx)
		s.mu.Lock()
		s.late = append(s.late, func() { _ = do(bg) })
		s.mu.Unlock()
		return err
	}
	return do(ctx)
}

func (s *faulty) CreateUser(ctx context.Context, u users.User) error {
	return s.call(ctx, "CreateUser", func(ctx context.Context) error { return s.Store.CreateUser(ctx, u) })
}

func (s *faulty) SetPasswordHash(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time) error {
	return s.call(ctx, "SetPasswordHash", func(ctx context.Context) error {
		return s.Store.SetPasswordHash(ctx, username, userID, epoch, hash, now)
	})
}

func (s *faulty) ReserveLogin(ctx context.Context, username string, cs []throttle.Counter, now time.Time) (u users.User, w time.Time, r throttle.Reservation, err error) {
	err = s.call(ctx, "ReserveLogin", func(ctx context.Context) (err error) {
		u, w, r, err = s.Store.ReserveLogin(ctx, username, cs, now)
		return err
	})
	return u, w, r, err
}

func (s *faulty) CreateSession(ctx context.Context, ss sessions.Session, evict []string) error {
	return s.call(ctx, "CreateSession", func(ctx context.Context) error { return s.Store.CreateSession(ctx, ss, evict) })
}

func (s *faulty) RotateSession(ctx context.Context, r sessions.Rotation) (out sessions.Session, err error) {
	err = s.call(ctx, "RotateSession", func(ctx context.Context) (err error) {
		out, err = s.Store.RotateSession(ctx, r)
		return err
	})
	return out, err
}

func (s *faulty) DeleteSessionByToken(ctx context.Context, id string, hash []byte) error {
	return s.call(ctx, "DeleteSessionByToken", func(ctx context.Context) error { return s.Store.DeleteSessionByToken(ctx, id, hash) })
}

func (s *faulty) DeleteSession(ctx context.Context, id, userID string) error {
	return s.call(ctx, "DeleteSession", func(ctx context.Context) error { return s.Store.DeleteSession(ctx, id, userID) })
}

func (s *faulty) ListSessions(ctx context.Context, username, userID string) (out []sessions.Session, err error) {
	err = s.call(ctx, "ListSessions", func(ctx context.Context) (err error) {
		out, err = s.Store.ListSessions(ctx, username, userID)
		return err
	})
	return out, err
}

func (s *faulty) EndUserSessions(ctx context.Context, username, userID string) (n int, err error) {
	err = s.call(ctx, "EndUserSessions", func(ctx context.Context) (err error) {
		n, err = s.Store.EndUserSessions(ctx, username, userID)
		return err
	})
	return n, err
}

// The account-recovery writes (auth.AccountStore): each carries its mail.

func (s *faulty) CreateAccount(ctx context.Context, u users.User, verify onetime.Record, sent, taken outbox.Message) error {
	return s.call(ctx, "CreateAccount", func(ctx context.Context) error { return s.Store.CreateAccount(ctx, u, verify, sent, taken) })
}

func (s *faulty) IssueToken(ctx context.Context, rec onetime.Record, msgs ...outbox.Message) error {
	return s.call(ctx, "IssueToken", func(ctx context.Context) error { return s.Store.IssueToken(ctx, rec, msgs...) })
}

func (s *faulty) UseToken(ctx context.Context, u onetime.Use) (out users.User, err error) {
	err = s.call(ctx, "UseToken", func(ctx context.Context) (err error) {
		out, err = s.Store.UseToken(ctx, u)
		return err
	})
	return out, err
}

func (s *faulty) ChangePassword(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time, msgs ...outbox.Message) error {
	return s.call(ctx, "ChangePassword", func(ctx context.Context) error {
		return s.Store.ChangePassword(ctx, username, userID, epoch, hash, now, msgs...)
	})
}

func (s *faulty) AddMessages(ctx context.Context, msgs ...outbox.Message) error {
	return s.call(ctx, "AddMessages", func(ctx context.Context) error { return s.Store.AddMessages(ctx, msgs...) })
}

var _ apifn.Store = (*faulty)(nil)
