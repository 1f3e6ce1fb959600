package sessions

import (
	"context"
	"errors"
	"time"
)

// Errors a Store returns; callers match them with errors.Is.
var (
	ErrNotFound = errors.New("sessions: not found")
	// ErrConflict means a conditional write did not apply; the Store returns
	// the item as it was, so the caller can tell why without another read.
	ErrConflict = errors.New("sessions: condition failed")
)

// Session is one stored session (refresh-token family).
type Session struct {
	ID       string
	UserID   string
	Username string

	TokenHash []byte    // SHA-256 of the current refresh secret
	PrevHash  []byte    // SHA-256 of the secret the last rotation replaced
	Salt      []byte    // derives the current secret from the previous one
	RotatedAt time.Time // when the current secret replaced the previous one
	Rotations int

	CreatedAt         time.Time
	LastUsedAt        time.Time
	ExpiresAt         time.Time // idle expiry, never past AbsoluteExpiresAt; the TTL attribute
	AbsoluteExpiresAt time.Time

	IP        string
	UserAgent string
}

// Alive reports whether the session may still be used at now. DynamoDB deletes
// expired items only eventually, so every read checks this in code.
func (s Session) Alive(now time.Time) bool {
	return now.Before(s.ExpiresAt) && now.Before(s.AbsoluteExpiresAt)
}

// Rotation is one conditional replacement of a session's current token.
type Rotation struct {
	SessionID     string
	PresentedHash []byte    // must equal the stored TokenHash
	NewHash       []byte    // becomes TokenHash
	Salt          []byte    // becomes Salt
	Now           time.Time // the session must be alive at Now; becomes RotatedAt and LastUsedAt
	ExpiresAt     time.Time // new idle expiry; must not be past AbsoluteExpiresAt
}

// Store keeps sessions. Implementations: store/memory and store/dynamo, both
// held to the same contract by store/storetest.
type Store interface {
	// CreateSession stores a new session; its ID must be new (ErrConflict),
	// except that re-sending the same session (a retried request) succeeds.
	CreateSession(ctx context.Context, s Session) error
	// RotateSession applies r in one atomic conditional write: it succeeds only
	// if the session exists, its TokenHash equals r.PresentedHash, it is alive
	// at r.Now and r.ExpiresAt is not past its AbsoluteExpiresAt. On success it
	// returns the updated session; otherwise ErrNotFound, or ErrConflict with
	// the session as it was.
	RotateSession(ctx context.Context, r Rotation) (Session, error)
	// GetSession returns a session, expired or not, or ErrNotFound.
	GetSession(ctx context.Context, id string) (Session, error)
	// DeleteSession removes a session if it exists and belongs to userID
	// (any user when userID is empty); ErrNotFound otherwise.
	DeleteSession(ctx context.Context, id, userID string) error
	// DeleteSessionByToken removes a session if hash is its current or previous
	// token hash; ErrNotFound otherwise.
	DeleteSessionByToken(ctx context.Context, id string, hash []byte) error
	// ListSessions returns every stored session of a user, expired or not.
	ListSessions(ctx context.Context, userID string) ([]Session, error)
	// DeleteUserSessions removes every session of a user and says how many.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
}
