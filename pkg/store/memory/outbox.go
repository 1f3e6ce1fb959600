package memory

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/outbox"
)

var _ outbox.Store = (*Store)(nil)

// outboxItem is a stored message and the lease under which it was last
// marked: a resent mark (the same lease) succeeds without counting twice.
type outboxItem struct {
	msg    outbox.Message
	marked time.Time
}

// AddMessage puts msg in the outbox as a new waiting message (NextAt =
// CreatedAt when zero). A message already stored under msg.ID is kept: the
// write is a retry. The flows add messages under the store's lock, in the
// same write as what they carry (addMessage); this is for tests and tools.
func (m *Store) AddMessage(_ context.Context, msg outbox.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addMessage(msg)
	return nil
}

// addMessage adds msg; the caller holds m.mu.
func (m *Store) addMessage(msg outbox.Message) {
	if _, ok := m.outbox[msg.ID]; ok {
		return
	}
	if msg.NextAt.IsZero() {
		msg.NextAt = msg.CreatedAt
	}
	msg.Attempts, msg.LeaseUntil, msg.SentAt, msg.Failed, msg.LastError = 0, time.Time{}, time.Time{}, false, ""
	m.outbox[msg.ID] = outboxItem{msg: cloneMessage(msg)}
}

// DueMessages implements outbox.Store.
func (m *Store) DueMessages(_ context.Context, now time.Time, limit int) ([]outbox.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []outbox.Message
	for _, it := range m.outbox {
		if it.msg.Waiting() && !it.msg.NextAt.After(now) && !it.msg.LeaseUntil.After(now) {
			due = append(due, cloneMessage(it.msg))
		}
	}
	slices.SortFunc(due, func(a, b outbox.Message) int {
		if c := a.NextAt.Compare(b.NextAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if limit > 0 && len(due) > limit {
		due = due[:limit]
	}
	return due, nil
}

// ClaimMessage implements outbox.Store.
func (m *Store) ClaimMessage(_ context.Context, id string, now, leaseUntil time.Time) (outbox.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.outbox[id]
	switch {
	case !ok:
		return outbox.Message{}, outbox.ErrNotFound
	case !it.msg.Waiting() || it.msg.LeaseUntil.After(now):
		return outbox.Message{}, outbox.ErrClaimed
	}
	it.msg.LeaseUntil = leaseUntil
	it.msg.Attempts++
	m.outbox[id] = it
	return cloneMessage(it.msg), nil
}

// MarkSent implements outbox.Store.
func (m *Store) MarkSent(_ context.Context, id string, leaseUntil, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, err := m.leased(id, leaseUntil)
	if err != nil {
		return noErrIfResent(err)
	}
	it.msg.SentAt, it.msg.LeaseUntil, it.msg.LastError = now, time.Time{}, ""
	it.marked = leaseUntil
	m.outbox[id] = it
	return nil
}

// MarkFailed implements outbox.Store.
func (m *Store) MarkFailed(_ context.Context, id string, leaseUntil, nextAt time.Time, permanent bool, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, err := m.leased(id, leaseUntil)
	if err != nil {
		return noErrIfResent(err)
	}
	it.msg.LeaseUntil, it.msg.LastError = time.Time{}, reason
	if permanent {
		it.msg.Failed = true
	} else {
		it.msg.NextAt = nextAt
	}
	it.marked = leaseUntil
	m.outbox[id] = it
	return nil
}

// errResent is leased's answer to a mark already made under the same lease.
var errResent = errors.New("memory: mark resent")

func noErrIfResent(err error) error {
	if errors.Is(err, errResent) {
		return nil
	}
	return err
}

// leased returns message id when leaseUntil is its lease and it waits; the
// caller holds m.mu.
func (m *Store) leased(id string, leaseUntil time.Time) (outboxItem, error) {
	it, ok := m.outbox[id]
	switch {
	case !ok:
		return outboxItem{}, outbox.ErrNotFound
	case leaseUntil.IsZero():
		return outboxItem{}, outbox.ErrClaimed
	case it.msg.Waiting() && it.msg.LeaseUntil.Equal(leaseUntil):
		return it, nil
	case it.marked.Equal(leaseUntil):
		return outboxItem{}, errResent
	}
	return outboxItem{}, outbox.ErrClaimed
}

func cloneMessage(msg outbox.Message) outbox.Message {
	msg.Data = maps.Clone(msg.Data)
	return msg
}
