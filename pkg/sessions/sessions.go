package sessions

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// Errors of the refresh flow. Each one means "log in again"; they are distinct
// so the security log can say which.
var (
	ErrUnknown = errors.New("sessions: unknown session")
	ErrExpired = errors.New("sessions: session expired")
	ErrReused  = errors.New("sessions: superseded refresh token reused; session revoked")
)

// Limits on client-supplied metadata kept with a session.
const (
	maxIPLen        = 64
	maxUserAgentLen = 256
)

// Meta describes the client that starts a session.
type Meta struct {
	IP        string
	UserAgent string
}

// Manager runs the session lifecycle on a Store.
type Manager struct {
	Store   Store
	IdleTTL time.Duration // refresh token lifetime, extended on each rotation
	MaxTTL  time.Duration // absolute session lifetime, never extended
	Grace   time.Duration // replay window of a superseded token; 0 disables
	Rand    io.Reader     // crypto/rand when nil
}

// Issued is the outcome of a login or a refresh: the session as stored and the
// refresh token the client must use next.
type Issued struct {
	Session      Session
	RefreshToken string
	// Replayed is true when a superseded token was presented inside the grace
	// window and the session's current token was handed out again.
	Replayed bool
}

func (m *Manager) random(n int) ([]byte, error) {
	r := m.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("sessions: random: %w", err)
	}
	return b, nil
}

// Start creates a session for a user who just proved who they are.
func (m *Manager) Start(ctx context.Context, userID, username string, meta Meta, now time.Time) (Issued, error) {
	id, err := m.random(idLen)
	if err != nil {
		return Issued{}, err
	}
	secret, err := m.random(secretLen)
	if err != nil {
		return Issued{}, err
	}
	t := RefreshToken{SessionID: base64.RawURLEncoding.EncodeToString(id), Secret: secret}
	now = now.UTC().Truncate(time.Millisecond)
	abs := now.Add(m.MaxTTL).Truncate(time.Second)
	s := Session{
		ID:                t.SessionID,
		UserID:            userID,
		Username:          username,
		TokenHash:         t.Hash(),
		CreatedAt:         now,
		LastUsedAt:        now,
		ExpiresAt:         minTime(now.Add(m.IdleTTL).Truncate(time.Second), abs),
		AbsoluteExpiresAt: abs,
		IP:                truncate(meta.IP, maxIPLen),
		UserAgent:         truncate(meta.UserAgent, maxUserAgentLen),
	}
	if err := m.Store.CreateSession(ctx, s); err != nil {
		return Issued{}, fmt.Errorf("sessions: start: %w", err)
	}
	return Issued{Session: s, RefreshToken: t.String()}, nil
}

// Rotate exchanges a refresh token for its successor. Exactly one of any number
// of concurrent calls with the same token rotates; the others, and any replay
// inside the grace window, get the same successor. A superseded token outside
// the window revokes the session and returns ErrReused.
func (m *Manager) Rotate(ctx context.Context, raw string, now time.Time) (Issued, error) {
	t, err := ParseRefreshToken(raw)
	if err != nil {
		return Issued{}, err
	}
	// Stores keep event times to the millisecond and expiries to the second
	// (DynamoDB's TTL unit), so both are truncated here, once.
	now = now.UTC().Truncate(time.Millisecond)
	salt, err := m.random(32)
	if err != nil {
		return Issued{}, err
	}
	next := RefreshToken{SessionID: t.SessionID, Secret: successor(t.Secret, salt)}
	r := Rotation{
		SessionID:     t.SessionID,
		PresentedHash: t.Hash(),
		NewHash:       next.Hash(),
		Salt:          salt,
		Now:           now,
		ExpiresAt:     now.Add(m.IdleTTL).Truncate(time.Second),
	}
	// At most two writes: the second only when the idle extension would pass
	// the absolute lifetime, which the first answer tells us.
	for attempt := 0; attempt < 2; attempt++ {
		s, err := m.Store.RotateSession(ctx, r)
		switch {
		case err == nil:
			return Issued{Session: s, RefreshToken: next.String()}, nil
		case errors.Is(err, ErrNotFound):
			return Issued{}, ErrUnknown
		case !errors.Is(err, ErrConflict):
			return Issued{}, fmt.Errorf("sessions: rotate %s: %w", t.SessionID, err)
		}
		// The write did not apply, or it did and this is the SDK's retry of a
		// request whose answer was lost: then s already holds our new hash.
		if subtle.ConstantTimeCompare(s.TokenHash, r.NewHash) == 1 {
			return Issued{Session: s, RefreshToken: next.String()}, nil
		}
		// s is the session as it was.
		if !s.Alive(now) {
			return Issued{}, ErrExpired
		}
		if bytes.Equal(s.TokenHash, r.PresentedHash) {
			if r.ExpiresAt.After(s.AbsoluteExpiresAt) {
				r.ExpiresAt = s.AbsoluteExpiresAt
				continue
			}
			// The token matched and the session was alive, yet the write
			// failed: the item changed between check and write. Treat it
			// like a lost race and look again once.
			continue
		}
		if iss, ok := m.replay(t, s, now); ok {
			return iss, nil
		}
		if err := m.Store.DeleteSession(ctx, s.ID, ""); err != nil && !errors.Is(err, ErrNotFound) {
			return Issued{}, fmt.Errorf("sessions: revoke reused %s: %w", s.ID, err)
		}
		return Issued{Session: s}, ErrReused
	}
	return Issued{}, fmt.Errorf("sessions: rotate %s: %w", t.SessionID, ErrConflict)
}

// replay answers a superseded token presented inside the grace window with the
// session's current token, re-derived from the presented secret.
func (m *Manager) replay(t RefreshToken, s Session, now time.Time) (Issued, bool) {
	if m.Grace <= 0 || len(s.PrevHash) == 0 || subtle.ConstantTimeCompare(s.PrevHash, t.Hash()) != 1 {
		return Issued{}, false
	}
	if now.Sub(s.RotatedAt) > m.Grace {
		return Issued{}, false
	}
	cur := RefreshToken{SessionID: s.ID, Secret: successor(t.Secret, s.Salt)}
	if subtle.ConstantTimeCompare(cur.Hash(), s.TokenHash) != 1 {
		return Issued{}, false
	}
	return Issued{Session: s, RefreshToken: cur.String(), Replayed: true}, true
}

// Revoke ends the session of a refresh token (logout). The current token, or
// the one it just replaced, is accepted.
func (m *Manager) Revoke(ctx context.Context, raw string) (Session, error) {
	t, err := ParseRefreshToken(raw)
	if err != nil {
		return Session{}, err
	}
	if err := m.Store.DeleteSessionByToken(ctx, t.SessionID, t.Hash()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Session{}, ErrUnknown
		}
		return Session{}, fmt.Errorf("sessions: revoke %s: %w", t.SessionID, err)
	}
	return Session{ID: t.SessionID}, nil
}

// End ends one session of a user; another user's session is ErrUnknown.
func (m *Manager) End(ctx context.Context, userID, sessionID string) error {
	if err := m.Store.DeleteSession(ctx, sessionID, userID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrUnknown
		}
		return fmt.Errorf("sessions: end %s: %w", sessionID, err)
	}
	return nil
}

// EndAll ends every session of a user and says how many there were.
func (m *Manager) EndAll(ctx context.Context, userID string) (int, error) {
	n, err := m.Store.DeleteUserSessions(ctx, userID)
	if err != nil {
		return n, fmt.Errorf("sessions: end all of %s: %w", userID, err)
	}
	return n, nil
}

// List returns the user's live sessions, newest first.
func (m *Manager) List(ctx context.Context, userID string, now time.Time) ([]Session, error) {
	all, err := m.Store.ListSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("sessions: list %s: %w", userID, err)
	}
	live := all[:0]
	for _, s := range all {
		if s.Alive(now) {
			live = append(live, s)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].CreatedAt.After(live[j].CreatedAt) })
	return live, nil
}

// Check reports whether a session exists and is alive (the strict authorizer).
func (m *Manager) Check(ctx context.Context, sessionID string, now time.Time) error {
	s, err := m.Store.GetSession(ctx, sessionID)
	if errors.Is(err, ErrNotFound) {
		return ErrUnknown
	}
	if err != nil {
		return fmt.Errorf("sessions: check %s: %w", sessionID, err)
	}
	if !s.Alive(now) {
		return ErrExpired
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
