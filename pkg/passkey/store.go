package passkey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/outbox"
)

// ChallengeTTL is how long a ceremony's challenge can be answered.
const ChallengeTTL = 5 * time.Minute

// Ceremony names what a challenge was issued for: an answer to it is
// accepted only by that ceremony.
type Ceremony string

// The ceremonies.
const (
	Register Ceremony = "register"
	Login    Ceremony = "login"
	MFA      Ceremony = "mfa"
)

// Credential is one passkey of a user as a store keeps it. Nothing in it
// lets a reader sign in: the public key verifies, it does not sign.
type Credential struct {
	// ID is the credential id, base64url without padding (as the browser's
	// PublicKeyCredential.id spells it).
	ID     string
	UserID string
	// Name is the user's label for it ("work laptop").
	Name string
	// Data is the credential's fixed part as Encode wrote it: public key,
	// AAGUID, transports, attestation type, backup eligibility.
	Data []byte
	// SignCount is the authenticator's signature counter as last accepted
	// (0 for authenticators that keep none).
	SignCount uint32
	// BackupState is the backup-state flag of the last assertion (a synced
	// passkey).
	BackupState bool
	CreatedAt   time.Time
	LastUsedAt  time.Time // zero until first used
}

// Challenge is the record of a challenge handed to a client. The
// challenge itself is not stored: Hash is its SHA-256 (HashChallenge), so
// a reader of the store cannot answer it.
type Challenge struct {
	Hash     string
	Ceremony Ceremony
	// UserID binds a registration (and an MFA step) to its user; empty for
	// a discoverable login, where the credential names its user.
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time // CreatedAt + ChallengeTTL
}

// Use records an accepted assertion of a credential.
type Use struct {
	ID     string
	UserID string
	// From is the sign count as read: the write applies only if the stored
	// count is still From (ErrCounterMoved otherwise), so two racing
	// assertions cannot both move it.
	From        uint32
	SignCount   uint32
	BackupState bool
	Now         time.Time
}

// Errors of a Store.
var (
	// ErrNoCredential: no credential has this id (for this user).
	ErrNoCredential = errors.New("passkey: no such credential")
	// ErrCredentialExists: the credential id is registered already (to
	// anyone).
	ErrCredentialExists = errors.New("passkey: credential registered already")
	// ErrCounterMoved: the sign count changed since it was read.
	ErrCounterMoved = errors.New("passkey: sign count changed")
	// ErrNoChallenge: no challenge of this ceremony (and user) has this hash.
	ErrNoChallenge = errors.New("passkey: no such challenge")
	// ErrChallengeUsed: the challenge was answered already.
	ErrChallengeUsed = errors.New("passkey: challenge used already")
	// ErrChallengeExpired: the challenge's lifetime is over.
	ErrChallengeExpired = errors.New("passkey: challenge expired")
)

// HashChallenge is the store's name for a challenge: hex SHA-256 of its
// bytes. Challenges are 32 random bytes, so a plain hash cannot be
// reversed.
func HashChallenge(challenge []byte) string {
	h := sha256.Sum256(challenge)
	return hex.EncodeToString(h[:])
}

// Store keeps passkeys and challenges. Each method is one atomic store
// operation (a DynamoDB transaction or conditional write, an SQL
// statement, a Lua script; the embedded store under its lock).
type Store interface {
	// PutPasskeyChallenge stores a new challenge record (ErrChallengeUsed
	// if its hash exists: never, challenges are random).
	PutPasskeyChallenge(ctx context.Context, c Challenge) error
	// UsePasskeyChallenge marks the challenge whose hash is hash used, on
	// condition that it exists for ceremony and userID (ErrNoChallenge),
	// is unused (ErrChallengeUsed) and unexpired at now
	// (ErrChallengeExpired), and returns it. Of two racing uses exactly
	// one succeeds.
	UsePasskeyChallenge(ctx context.Context, hash string, ceremony Ceremony, userID string, now time.Time) (Challenge, error)
	// AddPasskey stores a new credential (ErrCredentialExists if its id is
	// taken) and msgs in the same write.
	AddPasskey(ctx context.Context, c Credential, msgs ...outbox.Message) error
	// GetPasskey returns the credential whose id is id, or ErrNoCredential.
	GetPasskey(ctx context.Context, id string) (Credential, error)
	// ListPasskeys returns the user's credentials, oldest first.
	ListPasskeys(ctx context.Context, userID string) ([]Credential, error)
	// UsePasskey records an accepted assertion (ErrNoCredential,
	// ErrCounterMoved).
	UsePasskey(ctx context.Context, u Use) error
	// RenamePasskey sets the name of the user's credential id
	// (ErrNoCredential).
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// RemovePasskey deletes the user's credential id (ErrNoCredential) and
	// writes msgs in the same write.
	RemovePasskey(ctx context.Context, userID, id string, msgs ...outbox.Message) error
}

// SortCredentials orders a listing oldest first (ties by id), as every
// store returns it.
func SortCredentials(cs []Credential) {
	slices.SortFunc(cs, func(a, b Credential) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
