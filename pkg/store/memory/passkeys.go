package memory

import (
	"context"
	"slices"
	"time"

	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/passkey"
)

var _ passkey.Store = (*Store)(nil)

// pkChallenge is a passkey challenge record and when it was used.
type pkChallenge struct {
	passkey.Challenge
	used bool
}

// PutPasskeyChallenge implements passkey.Store.
func (m *Store) PutPasskeyChallenge(_ context.Context, c passkey.Challenge) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.pkChallenges[c.Hash]; ok {
		return passkey.ErrChallengeUsed
	}
	m.pkChallenges[c.Hash] = pkChallenge{Challenge: c}
	return nil
}

// UsePasskeyChallenge implements passkey.Store.
func (m *Store) UsePasskeyChallenge(_ context.Context, hash string, ceremony passkey.Ceremony, userID string, now time.Time) (passkey.Challenge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.pkChallenges[hash]
	switch {
	case !ok || c.Ceremony != ceremony || c.UserID != userID:
		return passkey.Challenge{}, passkey.ErrNoChallenge
	case c.used:
		return passkey.Challenge{}, passkey.ErrChallengeUsed
	case !now.Before(c.ExpiresAt):
		return passkey.Challenge{}, passkey.ErrChallengeExpired
	}
	c.used = true
	m.pkChallenges[hash] = c
	return c.Challenge, nil
}

// AddPasskey implements passkey.Store.
func (m *Store) AddPasskey(_ context.Context, c passkey.Credential, msgs ...outbox.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.passkeys[c.ID]; ok {
		return passkey.ErrCredentialExists
	}
	c.Data = slices.Clone(c.Data)
	m.passkeys[c.ID] = c
	m.addMessages(msgs...)
	return nil
}

// GetPasskey implements passkey.Store.
func (m *Store) GetPasskey(_ context.Context, id string) (passkey.Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.passkeys[id]
	if !ok {
		return passkey.Credential{}, passkey.ErrNoCredential
	}
	c.Data = slices.Clone(c.Data)
	return c, nil
}

// ListPasskeys implements passkey.Store.
func (m *Store) ListPasskeys(_ context.Context, userID string) ([]passkey.Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []passkey.Credential
	for _, c := range m.passkeys {
		if c.UserID == userID {
			c.Data = slices.Clone(c.Data)
			out = append(out, c)
		}
	}
	passkey.SortCredentials(out)
	return out, nil
}

// UsePasskey implements passkey.Store.
func (m *Store) UsePasskey(_ context.Context, u passkey.Use) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.passkeys[u.ID]
	switch {
	case !ok || c.UserID != u.UserID:
		return passkey.ErrNoCredential
	case c.SignCount != u.From:
		return passkey.ErrCounterMoved
	}
	c.SignCount, c.BackupState, c.LastUsedAt = u.SignCount, u.BackupState, u.Now
	m.passkeys[u.ID] = c
	return nil
}

// RenamePasskey implements passkey.Store.
func (m *Store) RenamePasskey(_ context.Context, userID, id, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.passkeys[id]
	if !ok || c.UserID != userID {
		return passkey.ErrNoCredential
	}
	c.Name = name
	m.passkeys[id] = c
	return nil
}

// RemovePasskey implements passkey.Store.
func (m *Store) RemovePasskey(_ context.Context, userID, id string, msgs ...outbox.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.passkeys[id]
	if !ok || c.UserID != userID {
		return passkey.ErrNoCredential
	}
	delete(m.passkeys, id)
	m.addMessages(msgs...)
	return nil
}
