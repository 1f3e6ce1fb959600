package memory

import (
	"context"
	"time"

	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// Reserve implements throttle.Store under the store's one lock.
func (m *Store) Reserve(_ context.Context, counters []throttle.Counter, now time.Time) (throttle.Reservation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reserve(counters, now), nil
}

func (m *Store) reserve(counters []throttle.Counter, now time.Time) throttle.Reservation {
	r := throttle.Reservation{OK: true, States: make([]throttle.State, len(counters))}
	for i, c := range counters {
		r.States[i] = m.attempts[c.Key]
		if c.Policy.Locked(r.States[i], now) {
			r.OK = false
		}
	}
	if !r.OK {
		return r
	}
	for i, c := range counters {
		// A key named twice counts twice, as on the other stores.
		r.States[i] = throttle.Counted(m.attempts[c.Key], now)
		m.attempts[c.Key] = r.States[i]
	}
	return r
}

// Release implements throttle.Store.
func (m *Store) Release(_ context.Context, reset, giveBack []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range reset {
		delete(m.attempts, k)
	}
	for _, k := range giveBack {
		if st, ok := m.attempts[k]; ok {
			m.attempts[k] = throttle.Uncounted(st)
		}
	}
	return nil
}

// ReserveLogin implements auth.LoginStore under the store's one lock: the
// user (users.ErrNotFound when unknown), the revocation watermark, and the
// reservation of the guess under counters.
func (m *Store) ReserveLogin(_ context.Context, username string, counters []throttle.Counter, now time.Time) (users.User, time.Time, throttle.Reservation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reserve(counters, now)
	u, ok := m.users[username]
	if !ok {
		return users.User{}, m.revokedBefore, r, users.ErrNotFound
	}
	return cloneUser(u), m.revokedBefore, r, nil
}
