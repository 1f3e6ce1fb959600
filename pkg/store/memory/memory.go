package memory

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/rotor-auth/rotor/pkg/mfa"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/passkey"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

var (
	_ users.Store    = (*Store)(nil)
	_ sessions.Store = (*Store)(nil)
	_ throttle.Store = (*Store)(nil)
	_ users.Locker   = (*Store)(nil)
)

// Store is safe for concurrent use. The zero value is not usable: call New.
type Store struct {
	mu       sync.Mutex
	users    map[string]users.User
	skels    map[string]string // skeleton → user id
	sessions map[string]sessions.Session
	attempts map[string]throttle.State
	outbox   map[string]outboxItem
	// tokens are the one-time token records by id; emails the verified
	// addresses (address → username).
	tokens map[string]onetime.Record
	emails map[string]string
	// factors are the users' second factors by user id; challenges the
	// mfa_token records by id.
	factors    map[string]mfa.Factor
	challenges map[string]mfa.Challenge
	// passkeys are the passkey credentials by credential id; pkChallenges
	// the passkey challenge records by hash.
	passkeys     map[string]passkey.Credential
	pkChallenges map[string]pkChallenge
	// dpopProofs are the spent DPoP proofs' replay keys and their expiry.
	dpopProofs map[string]time.Time
	dpopSpends int
	// revokedBefore is the revocation watermark (sessions.Store.RevokeBefore).
	revokedBefore time.Time
}

// New returns an empty store.
func New() *Store {
	return &Store{
		users:    map[string]users.User{},
		skels:    map[string]string{},
		sessions: map[string]sessions.Session{},
		attempts: map[string]throttle.State{},
		outbox:   map[string]outboxItem{},
		tokens:   map[string]onetime.Record{},
		emails:   map[string]string{},

		factors:    map[string]mfa.Factor{},
		challenges: map[string]mfa.Challenge{},

		passkeys:     map[string]passkey.Credential{},
		pkChallenges: map[string]pkChallenge{},

		dpopProofs: map[string]time.Time{},
	}
}

// CreateUser implements users.Store.
func (m *Store) CreateUser(_ context.Context, u users.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.insertUser(u)
	return err
}

// insertUser stores a new user u with a fresh credential epoch, under m.mu:
// ErrTaken when its username or skeleton belongs to another user id. A
// retried request (the same id) keeps what the first one stored and
// reports created false.
func (m *Store) insertUser(u users.User) (created bool, err error) {
	if old, ok := m.users[u.Username]; ok {
		if old.ID != u.ID {
			return false, users.ErrTaken
		}
		return false, nil // a retried request: keep what the first one stored
	}
	skel := users.SkeletonOf(u)
	if _, ok := m.skels[skel]; ok {
		return false, users.ErrTaken // a look-alike's: ours would hold the username
	}
	u.Epoch, u.Sessions, u.PasswordChangedAt = 0, map[string]time.Time{}, time.Time{}
	m.users[u.Username] = u
	m.skels[skel] = u.ID
	return true, nil
}

// GetUser implements users.Store.
func (m *Store) GetUser(_ context.Context, username string) (users.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[username]
	if !ok {
		return users.User{}, users.ErrNotFound
	}
	return cloneUser(u), nil
}

// SetPasswordHash implements users.Store.
func (m *Store) SetPasswordHash(_ context.Context, username, userID string, epoch int64, hash string, now time.Time) error {
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
	return nil
}

// SetLocked implements users.Locker.
func (m *Store) SetLocked(_ context.Context, username, userID string, locked bool, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[username]
	if !ok || u.ID != userID {
		return users.ErrNotFound
	}
	u.Locked, u.UpdatedAt = locked, now
	if locked {
		u.Epoch++
	}
	m.users[username] = u
	return nil
}

// CreateSession implements sessions.Store.
func (m *Store) CreateSession(_ context.Context, s sessions.Session, evict []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.sessions[s.ID]; ok {
		if !bytes.Equal(old.TokenHash, s.TokenHash) {
			return sessions.ErrConflict
		}
		return nil // a retried request
	}
	u, ok := m.users[s.Username]
	if !ok || u.ID != s.UserID || u.Epoch != s.Epoch {
		return sessions.ErrStale
	}
	for _, id := range evict {
		delete(m.sessions, id)
		delete(u.Sessions, id)
	}
	u.Sessions[s.ID] = s.CreatedAt
	m.sessions[s.ID] = clone(s)
	return nil
}

// RotateSession implements sessions.Store.
func (m *Store) RotateSession(_ context.Context, r sessions.Rotation) (sessions.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[r.SessionID]
	if !ok {
		return sessions.Session{}, sessions.ErrNotFound
	}
	if s.CreatedAt.Before(m.revokedBefore) {
		return clone(s), sessions.ErrRevoked
	}
	if u, ok := m.users[s.Username]; !ok || u.ID != s.UserID || u.Epoch != s.Epoch {
		return clone(s), sessions.ErrSuperseded
	}
	if !bytes.Equal(s.TokenHash, r.PresentedHash) || s.JKT != r.JKT || !s.Alive(r.Now) || r.ExpiresAt.After(s.AbsoluteExpiresAt) {
		return clone(s), sessions.ErrConflict
	}
	s.PrevHash, s.TokenHash, s.Salt = s.TokenHash, r.NewHash, r.Salt
	s.RotatedAt, s.LastUsedAt, s.ExpiresAt = r.Now, r.Now, r.ExpiresAt
	s.Rotations++
	m.sessions[s.ID] = s
	return clone(s), nil
}

// RevokeBefore implements sessions.Store.
func (m *Store) RevokeBefore(_ context.Context, t time.Time) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.After(m.revokedBefore) {
		m.revokedBefore = t
	}
	return m.revokedBefore, nil
}

// GetSessionAndWatermark implements sessions.Store.
func (m *Store) GetSessionAndWatermark(_ context.Context, id string) (sessions.Session, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return sessions.Session{}, m.revokedBefore, sessions.ErrNotFound
	}
	return clone(s), m.revokedBefore, nil
}

// GetSession implements sessions.Store.
func (m *Store) GetSession(_ context.Context, id string) (sessions.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return sessions.Session{}, sessions.ErrNotFound
	}
	return clone(s), nil
}

// DeleteSession implements sessions.Store.
func (m *Store) DeleteSession(_ context.Context, id, userID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok || (userID != "" && s.UserID != userID) {
		return sessions.ErrNotFound
	}
	delete(m.sessions, id)
	return nil
}

// DeleteSessionByToken implements sessions.Store.
func (m *Store) DeleteSessionByToken(_ context.Context, id string, hash []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok || !(bytes.Equal(s.TokenHash, hash) || bytes.Equal(s.PrevHash, hash)) {
		return sessions.ErrNotFound
	}
	delete(m.sessions, id)
	return nil
}

// ListSessions implements sessions.Store.
func (m *Store) ListSessions(_ context.Context, username, userID string) ([]sessions.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[username]
	if !ok || u.ID != userID {
		return nil, nil
	}
	var out []sessions.Session
	for id := range u.Sessions {
		if s, ok := m.sessions[id]; ok {
			out = append(out, clone(s))
		}
	}
	return out, nil
}

// EndUserSessions implements sessions.Store.
func (m *Store) EndUserSessions(_ context.Context, username, userID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[username]
	if !ok || u.ID != userID {
		return 0, sessions.ErrNotFound
	}
	u.Epoch++
	n := 0
	for id := range u.Sessions {
		if _, ok := m.sessions[id]; ok {
			delete(m.sessions, id)
			n++
		}
		delete(u.Sessions, id)
	}
	m.users[username] = u
	return n, nil
}

// GetLogin implements auth.LoginStore.
func (m *Store) GetLogin(_ context.Context, username string, keys []string) (users.User, []throttle.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	states := make([]throttle.State, len(keys))
	for i, k := range keys {
		states[i] = m.attempts[k]
	}
	u, ok := m.users[username]
	if !ok {
		return users.User{}, states, users.ErrNotFound
	}
	return cloneUser(u), states, nil
}

// GetAttempts implements throttle.Store.
func (m *Store) GetAttempts(_ context.Context, key string) (throttle.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts[key], nil
}

// RecordFailure implements throttle.Store.
func (m *Store) RecordFailure(_ context.Context, key string, now, _ time.Time) (throttle.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.attempts[key]
	st.Failures++
	st.LastFailure = now
	m.attempts[key] = st
	return st, nil
}

// ResetAttempts implements throttle.Store.
func (m *Store) ResetAttempts(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.attempts, key)
	return nil
}

// cloneUser copies the session list so callers never share it with the store.
func cloneUser(u users.User) users.User {
	u.Sessions = maps.Clone(u.Sessions)
	return u
}

// clone copies the byte slices so callers never share memory with the store.
func clone(s sessions.Session) sessions.Session {
	s.TokenHash = bytes.Clone(s.TokenHash)
	s.PrevHash = bytes.Clone(s.PrevHash)
	s.Salt = bytes.Clone(s.Salt)
	s.AMR = slices.Clone(s.AMR)
	return s
}
