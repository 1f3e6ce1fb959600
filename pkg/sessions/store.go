package sessions

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Errors a Store returns; callers match them with errors.Is.
var (
	ErrNotFound = errors.New("sessions: not found")
	// ErrConflict means a conditional write did not apply; the Store returns
	// the item as it was, so the caller can tell why without another read.
	ErrConflict = errors.New("sessions: condition failed")
	// ErrStale means a session was not created because its owner's credential
	// epoch moved since the login read it: the password changed, or every
	// session was ended, while the login was checking the password.
	ErrStale = errors.New("sessions: owner's credentials changed during the login")
)

// Session is one stored session (refresh-token family).
type Session struct {
	ID       string
	UserID   string
	Username string
	// Epoch is the owner's credential epoch when the session started: a
	// session is only ever created while its owner's epoch still has this value.
	Epoch int64

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

	// AMR lists the authentication methods (RFC 8176) that started the
	// session, AuthTime when they were used. Every rotation keeps both: a
	// refresh is not an authentication, so it neither adds a method nor
	// moves the time. A session stored before they existed has neither;
	// Methods and AuthenticatedAt read it as the password login it was.
	AMR      []string
	AuthTime time.Time

	// JKT is the JWK SHA-256 thumbprint (RFC 7638) of the DPoP key the
	// session is bound to (RFC 9449), set by the login that started it and
	// never changed; empty for a bearer session. Every rotation of a bound
	// session needs a proof by this key.
	JKT string
}

// Methods returns the session's authentication methods: ["pwd"] when none
// were stored, because before they were every session came from a password
// login. The result is the caller's to keep.
func (s Session) Methods() []string {
	if len(s.AMR) == 0 {
		return []string{"pwd"}
	}
	return slices.Clone(s.AMR)
}

// AuthenticatedAt returns when the user authenticated to start the session:
// AuthTime, or CreatedAt for a session stored without it (the login that
// created it was the authentication).
func (s Session) AuthenticatedAt() time.Time {
	if s.AuthTime.IsZero() {
		return s.CreatedAt
	}
	return s.AuthTime
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
	// JKT is the thumbprint of the key whose DPoP proof came with the
	// refresh, empty without one; it must equal the session's JKT (an
	// unbound session's is empty).
	JKT string
}

// Owner is what a login read about the user who starts a session: the
// credential epoch and the sessions the user's record lists (id → creation
// time), live or already ended.
type Owner struct {
	UserID   string
	Username string
	Epoch    int64
	Sessions map[string]time.Time
}

// Store keeps sessions, and each user's list of them and credential epoch in
// the user's record. Implementations (store/memory, store/dynamo) are held
// to one contract by store/storetest.
//
// Every session is created in one atomic step with its entry in its owner's
// list, and only while the owner's epoch is unchanged; ending every session
// of a user first moves the epoch, then deletes what the list names. So the
// list is exact (read strongly consistently from one record), and a login
// that raced a password change can never leave a session behind.
type Store interface {
	// CreateSession stores s, adds it to its owner's session list and deletes
	// the sessions in evict (removing them from the list), in one atomic
	// step, only if the owner (s.Username, s.UserID) still has epoch s.Epoch:
	// ErrStale otherwise, with nothing changed. Its ID must be new
	// (ErrConflict), except that re-sending the same session (a retried
	// request) succeeds.
	CreateSession(ctx context.Context, s Session, evict []string) error
	// RotateSession applies r in one atomic conditional write: it succeeds only
	// if the session exists, its TokenHash equals r.PresentedHash, its JKT
	// equals r.JKT (both empty for a bearer session), it is alive at r.Now
	// and r.ExpiresAt is not past its AbsoluteExpiresAt. On success it
	// returns the updated session; otherwise ErrNotFound, or ErrConflict with
	// the session as it was. A session created before the revocation
	// watermark (RevokeBefore) never rotates and never conflicts: ErrRevoked,
	// with the session (Rotate answers a conflict with a grace replay or a
	// re-sent rotation, which a revoked session must not get). Likewise a
	// session whose Epoch is no longer its owner's (a password change, an
	// end-all or a lock left it behind when the store failed before deleting
	// it): ErrSuperseded, with the session, so it never outlives the change.
	RotateSession(ctx context.Context, r Rotation) (Session, error)
	// RevokeBefore moves the revocation watermark to t, unless it is already
	// later, and returns the watermark in force: every session created before
	// it is revoked, in one write whatever their number.
	RevokeBefore(ctx context.Context, t time.Time) (time.Time, error)
	// GetSessionAndWatermark returns a session (as GetSession, ErrNotFound
	// when unknown) and the revocation watermark (zero when none), read
	// together.
	GetSessionAndWatermark(ctx context.Context, id string) (Session, time.Time, error)
	// GetSession returns a session, expired or not, or ErrNotFound.
	GetSession(ctx context.Context, id string) (Session, error)
	// DeleteSession removes a session if it exists and belongs to userID
	// (any user when userID is empty); ErrNotFound otherwise.
	DeleteSession(ctx context.Context, id, userID string) error
	// DeleteSessionByToken removes a session if hash is its current or previous
	// token hash; ErrNotFound otherwise.
	DeleteSessionByToken(ctx context.Context, id string, hash []byte) error
	// ListSessions returns every stored session the user's list names, expired
	// or not, read strongly consistently.
	ListSessions(ctx context.Context, username, userID string) ([]Session, error)
	// EndUserSessions moves the user's credential epoch (so no login that
	// read the old one can still create a session), then deletes every session
	// the user's list names and removes them from it; it says how many it
	// deleted. ErrNotFound when the user does not exist.
	EndUserSessions(ctx context.Context, username, userID string) (int, error)
}
