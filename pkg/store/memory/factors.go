package memory

import (
	"context"
	"slices"

	"github.com/rotor-auth/rotor/pkg/mfa"
)

var _ mfa.Store = (*Store)(nil)

// GetFactor implements mfa.Store.
func (m *Store) GetFactor(_ context.Context, userID string) (mfa.Factor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.factors[userID]
	if !ok {
		return mfa.Factor{}, mfa.ErrNoFactor
	}
	f.Codes = slices.Clone(f.Codes)
	return f, nil
}

// PutFactor implements mfa.Store.
func (m *Store) PutFactor(_ context.Context, f mfa.Factor) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.factors[f.UserID]; ok && old.Confirmed {
		return mfa.ErrEnrolled
	}
	f.Confirmed, f.LastStep, f.Codes = false, 0, nil
	m.factors[f.UserID] = f
	return nil
}

// UseFactor implements mfa.Store: every condition checked under the lock
// before anything is written.
func (m *Store) UseFactor(_ context.Context, u mfa.Use) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.factors[u.UserID]
	if !ok || !f.CreatedAt.Equal(u.CreatedAt) {
		return mfa.ErrNoFactor
	}
	if u.Step > 0 && u.Step <= f.LastStep {
		return mfa.ErrReplayed
	}
	at := -1
	if u.Code != "" {
		if at = slices.Index(f.Codes, u.Code); at < 0 {
			return mfa.ErrCodeUsed
		}
	}
	var c mfa.Challenge
	if u.Challenge != "" {
		c, ok = m.challenges[u.Challenge]
		switch {
		case !ok || c.UserID != u.UserID:
			return mfa.ErrNoChallenge
		case !c.UsedAt.IsZero():
			return mfa.ErrChallengeUsed
		case !u.Now.Before(c.ExpiresAt):
			return mfa.ErrChallengeExpired
		}
	}
	if u.Confirm && f.Confirmed {
		return mfa.ErrEnrolled
	}
	if u.Challenge != "" {
		c.UsedAt = u.Now
		m.challenges[c.ID] = c
	}
	for _, msg := range u.Messages {
		if msg.ID != "" {
			m.addMessage(msg)
		}
	}
	if u.Remove {
		delete(m.factors, u.UserID)
		return nil
	}
	if u.Step > 0 {
		f.LastStep = u.Step
	}
	if at >= 0 {
		f.Codes = slices.Delete(slices.Clone(f.Codes), at, at+1)
	}
	if u.Confirm {
		f.Confirmed, f.ConfirmedAt = true, u.Now
	}
	if u.Codes != nil {
		f.Codes = slices.Clone(u.Codes)
	}
	if u.Sealed != "" {
		f.Sealed = u.Sealed
	}
	m.factors[u.UserID] = f
	return nil
}

// PutChallenge implements mfa.Store.
func (m *Store) PutChallenge(_ context.Context, c mfa.Challenge) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.challenges[c.ID]; ok {
		return mfa.ErrChallengeUsed
	}
	m.challenges[c.ID] = c
	return nil
}

// GetChallenge implements mfa.Store.
func (m *Store) GetChallenge(_ context.Context, id string) (mfa.Challenge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.challenges[id]
	if !ok {
		return mfa.Challenge{}, mfa.ErrNoChallenge
	}
	return c, nil
}
