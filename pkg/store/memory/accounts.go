package memory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/users"
)

// CreateAccount implements auth.AccountStore (checked in its tests) under the store's one lock.
func (m *Store) CreateAccount(_ context.Context, u users.User, verify onetime.Record, sent, taken outbox.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u.EmailVerified, u.EmailVerifiedAt, u.PendingEmail = false, time.Time{}, ""
	if created, err := m.insertUser(u); err != nil || !created {
		return err
	}
	if u.Email == "" {
		return nil
	}
	if owner, ok := m.emails[u.Email]; ok && owner != u.Username {
		m.addMessages(taken)
		return users.ErrEmailTaken
	}
	m.tokens[verify.ID] = verify
	m.addMessages(sent)
	return nil
}

// IssueToken implements auth.AccountStore under the store's one lock.
func (m *Store) IssueToken(_ context.Context, rec onetime.Record, msgs ...outbox.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tokens[rec.ID]; ok {
		return nil // a retried request
	}
	u, ok := m.users[rec.Username]
	if !ok || u.ID != rec.UserID {
		return users.ErrNotFound
	}
	if u.Epoch != rec.Epoch {
		return onetime.ErrStale
	}
	if rec.Purpose == onetime.EmailChange {
		u.PendingEmail = rec.Email
		m.users[u.Username] = u
	}
	m.tokens[rec.ID] = rec
	m.addMessages(msgs...)
	return nil
}

// GetToken implements auth.AccountStore.
func (m *Store) GetToken(_ context.Context, id string) (onetime.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.tokens[id]
	if !ok {
		return onetime.Record{}, onetime.ErrNotFound
	}
	return rec, nil
}

// UseToken implements auth.AccountStore under the store's one lock.
func (m *Store) UseToken(_ context.Context, use onetime.Use) (users.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	want := use.Record
	rec, ok := m.tokens[want.ID]
	switch {
	case !ok || rec.Purpose != want.Purpose || rec.UserID != want.UserID:
		return users.User{}, onetime.ErrNotFound
	case !rec.UsedAt.IsZero():
		return users.User{}, onetime.ErrUsed
	case !use.Now.Before(rec.ExpiresAt):
		return users.User{}, onetime.ErrExpired
	}
	u, ok := m.users[rec.Username]
	if !ok || u.ID != rec.UserID {
		return users.User{}, onetime.ErrStale
	}
	claim := func(addr string) error {
		if owner, ok := m.emails[addr]; ok && owner != u.Username {
			return users.ErrEmailTaken
		}
		return nil
	}
	switch rec.Purpose {
	case onetime.VerifyEmail:
		if u.Email != rec.Email {
			return users.User{}, onetime.ErrStale
		}
		if err := claim(rec.Email); err != nil {
			return users.User{}, err
		}
		u.EmailVerified, u.EmailVerifiedAt = true, use.Now
		m.emails[rec.Email] = u.Username
	case onetime.EmailChange:
		if u.Epoch != rec.Epoch || u.PendingEmail != rec.Email {
			return users.User{}, onetime.ErrStale
		}
		if err := claim(rec.Email); err != nil {
			return users.User{}, err
		}
		if u.EmailVerified && m.emails[u.Email] == u.Username {
			delete(m.emails, u.Email)
		}
		u.Email, u.EmailVerified, u.EmailVerifiedAt, u.PendingEmail = rec.Email, true, use.Now, ""
		m.emails[rec.Email] = u.Username
	case onetime.PasswordReset:
		if u.Epoch != rec.Epoch {
			return users.User{}, onetime.ErrStale
		}
		u.PasswordHash, u.UpdatedAt, u.PasswordChangedAt = use.PasswordHash, use.Now, use.Now
		u.Epoch++
	default:
		return users.User{}, onetime.ErrNotFound
	}
	rec.UsedAt = use.Now
	m.tokens[rec.ID] = rec
	m.users[u.Username] = u
	m.addMessages(use.Messages...)
	return cloneUser(u), nil
}

// UserByEmail implements auth.AccountStore.
func (m *Store) UserByEmail(_ context.Context, email string) (users.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name, ok := m.emails[email]
	if !ok {
		return users.User{}, users.ErrNotFound
	}
	u, ok := m.users[name]
	if !ok || u.Email != email || !u.EmailVerified {
		return users.User{}, users.ErrNotFound
	}
	return cloneUser(u), nil
}

// AddMessages implements auth.AccountStore.
func (m *Store) AddMessages(_ context.Context, msgs ...outbox.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addMessages(msgs...)
	return nil
}

// addMessages adds msgs to the outbox (outbox.go's addMessage: a message
// stored already is kept), skipping the empty message (ID "") a throttled
// flow passes for none. The caller holds m.mu.
func (m *Store) addMessages(msgs ...outbox.Message) {
	for _, msg := range msgs {
		if msg.ID != "" {
			m.addMessage(msg)
		}
	}
}

// Messages returns every message of the outbox, oldest first (the local
// mailbox and tests read it).
func (m *Store) Messages() []outbox.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]outbox.Message, 0, len(m.outbox))
	for _, it := range m.outbox {
		out = append(out, cloneMessage(it.msg))
	}
	slices.SortFunc(out, func(a, b outbox.Message) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// ChangePassword implements auth.AccountStore under the store's one lock:
// SetPasswordHash's change and msgs, or neither.
func (m *Store) ChangePassword(_ context.Context, username, userID string, epoch int64, hash string, now time.Time, msgs ...outbox.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[username]
	if !ok || u.ID != userID {
		return users.ErrNotFound
	}
	if u.Epoch != epoch {
		return users.ErrStale
	}
	u.PasswordHash, u.UpdatedAt, u.PasswordChangedAt = hash, now, now
	u.Epoch++
	m.users[username] = u
	m.addMessages(msgs...)
	return nil
}
