package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/users"
	"github.com/rotor-auth/rotor/pkg/users/names"
)

// Errors of this package; callers match them with errors.Is.
var (
	ErrNotFound = errors.New("admin: not found")
	ErrNoSecret = errors.New("admin: no signing secret configured")
	ErrBadTime  = errors.New("admin: bad time")
	// ErrNoMACSecret means the MAC key secret is not configured.
	ErrNoMACSecret = errors.New("admin: no MAC secret configured")
)

// Store is the part of a Rotor store the admin commands use.
type Store interface {
	sessions.Store
	users.Locker
	GetUser(ctx context.Context, username string) (users.User, error)
}

// Secrets is the part of Secrets Manager a key rotation uses.
type Secrets interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
	RotateSecret(ctx context.Context, in *secretsmanager.RotateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error)
}

// Admin runs the operator's actions. Every action that changes something is
// logged as an "admin_action" event naming Caller; every session it ends is
// logged as "session_revoked" with the reason.
type Admin struct {
	Store    Store
	Secrets  Secrets // nil: key commands fail with ErrNoSecret
	SecretID string  // the signing key secret
	Alg      string  // the signing algorithm of new keys
	// MACSecretID is the server MAC key secret (ROTOR_MAC_SECRET_ID).
	MACSecretID string
	// KeyCacheTTL is how long a warm function keeps the keys and the MAC
	// keyring it read (ROTOR_KEY_CACHE_TTL): how long a retired key may
	// still be accepted somewhere.
	KeyCacheTTL time.Duration
	// Caller names who runs the commands: the AWS identity (STS
	// GetCallerIdentity ARN), or "local".
	Caller string
	Log    *slog.Logger
	// Logs reads the stack's log groups (rotor events); Stack names them.
	Logs  LogsAPI
	Stack string
	Now   func() time.Time // time.Now when nil
	Rand  io.Reader        // crypto/rand when nil
	// AWSNow reads the present from AWS (AWSClock: the Date of a response
	// of a call the CLI makes anyway), not from the operator's clock:
	// revoke-all's default time and its check of --before come from it.
	// Nil: Now (rotor-local, tests).
	AWSNow func(ctx context.Context) (time.Time, error)
}

func (a *Admin) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Admin) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

func (a *Admin) audit(ctx context.Context, action string, attrs ...any) {
	a.log().InfoContext(ctx, "admin action", append([]any{"event", "admin_action", "who", a.Caller, "action", action}, attrs...)...)
}

func (a *Admin) revoked(ctx context.Context, s sessions.Session, reason string) {
	a.log().InfoContext(ctx, "session revoked", "event", "session_revoked", "session_id", s.ID, "user_id", s.UserID, "reason", reason, "who", a.Caller)
}

func (a *Admin) manager() *sessions.Manager { return &sessions.Manager{Store: a.Store} }

// user reads an account by the name an operator typed.
func (a *Admin) user(ctx context.Context, name string) (users.User, error) {
	norm, err := names.Normalize(name)
	if err != nil {
		return users.User{}, fmt.Errorf("%w: user %q: %v", ErrNotFound, name, err)
	}
	u, err := a.Store.GetUser(ctx, norm)
	if errors.Is(err, users.ErrNotFound) {
		return users.User{}, fmt.Errorf("%w: user %q", ErrNotFound, name)
	}
	if err != nil {
		return users.User{}, fmt.Errorf("admin: read user: %w", err)
	}
	return u, nil
}

// Sessions returns the live sessions of the named user, newest first.
func (a *Admin) Sessions(ctx context.Context, name string) ([]sessions.Session, error) {
	u, err := a.user(ctx, name)
	if err != nil {
		return nil, err
	}
	return a.manager().List(ctx, u.Username, u.ID, a.now())
}

// RevokeUser ends every session of the named user (strongly consistent: the
// user's credential epoch moves first, so not even a login in flight can
// leave one behind) and says how many it ended.
func (a *Admin) RevokeUser(ctx context.Context, name string) (int, error) {
	u, err := a.user(ctx, name)
	if err != nil {
		return 0, err
	}
	return a.endAll(ctx, u, "sessions_revoke_user", "admin_revoke_user", nil)
}

// endAll ends every session of u, running first (when not nil) between the
// listing and the end: a write that moves the epoch, which on some stores
// (DynamoDB) ends the sessions itself, so EndAll finds none left and the
// listed ones are what ended.
func (a *Admin) endAll(ctx context.Context, u users.User, action, reason string, first func() error) (int, error) {
	listed, err := a.Store.ListSessions(ctx, u.Username, u.ID)
	if err != nil {
		return 0, fmt.Errorf("admin: list sessions: %w", err)
	}
	if first != nil {
		if err := first(); err != nil {
			return 0, err
		}
	}
	n, err := a.manager().EndAll(ctx, u.Username, u.ID)
	if err != nil {
		return n, err
	}
	n = max(n, len(listed))
	for _, s := range listed {
		a.revoked(ctx, s, reason)
	}
	a.audit(ctx, action, "user_id", u.ID, "sessions", n)
	return n, nil
}

// RevokeSession ends one session, whoever owns it.
func (a *Admin) RevokeSession(ctx context.Context, id string) (sessions.Session, error) {
	if !sessions.ValidSessionID(id) {
		return sessions.Session{}, fmt.Errorf("%w: session %q", ErrNotFound, id)
	}
	s, err := a.Store.GetSession(ctx, id)
	if errors.Is(err, sessions.ErrNotFound) {
		return sessions.Session{}, fmt.Errorf("%w: session %q", ErrNotFound, id)
	}
	if err != nil {
		return sessions.Session{}, fmt.Errorf("admin: read session: %w", err)
	}
	if err := a.Store.DeleteSession(ctx, id, ""); err != nil {
		if errors.Is(err, sessions.ErrNotFound) {
			return sessions.Session{}, fmt.Errorf("%w: session %q", ErrNotFound, id)
		}
		return sessions.Session{}, fmt.Errorf("admin: end session: %w", err)
	}
	a.revoked(ctx, s, "admin_revoke_session")
	a.audit(ctx, "sessions_revoke_session", "user_id", s.UserID, "session_id", id, "sessions", 1)
	return s, nil
}

// RevokeAll ends every session created before t (zero: now) in one write,
// whatever their number, by moving the revocation watermark; it returns the
// watermark in force. No such session refreshes from its return; their
// access tokens live on until they expire, or until an emergency key
// rotation (RotateKeys) retires their key; with strict sessions the
// authorizer refuses them once its cache lets it see them again. Each
// session is logged as "session_revoked" (reason revoke_all) by the refresh
// that finds it revoked.
//
// "Now" is AWS's time (AWSNow), never the operator's clock alone: with a
// laptop two minutes slow, the sessions of the last two minutes would
// otherwise survive. Without an answer from AWS it refuses to run.
func (a *Admin) RevokeAll(ctx context.Context, t time.Time) (time.Time, error) {
	local := a.now()
	now := local
	if a.AWSNow != nil {
		var err error
		if now, err = a.AWSNow(ctx); err != nil {
			return time.Time{}, fmt.Errorf("admin: revoke-all takes the time from AWS: %w", err)
		}
	}
	w, err := a.manager().RevokeAll(ctx, t, now)
	if errors.Is(err, sessions.ErrFutureWatermark) {
		return time.Time{}, fmt.Errorf("%w: %v", ErrBadTime, err)
	}
	if err != nil {
		return time.Time{}, err
	}
	a.audit(ctx, "sessions_revoke_all", "before", w, "sessions", "all", "aws_time", now, "local_time", local)
	return w, nil
}

// Lock locks the named user and ends all of its sessions: it cannot log in
// (the login answers as for a wrong password) nor refresh. It says how many
// sessions it ended.
func (a *Admin) Lock(ctx context.Context, name string) (int, error) {
	u, err := a.user(ctx, name)
	if err != nil {
		return 0, err
	}
	// Lock first: a login that read the user before is refused by the
	// epoch the lock moved; then end what exists.
	return a.endAll(ctx, u, "user_lock", "admin_lock_user", func() error {
		if err := a.Store.SetLocked(ctx, u.Username, u.ID, true, a.now()); err != nil {
			return fmt.Errorf("admin: lock: %w", err)
		}
		return nil
	})
}

// Unlock clears the lock of the named user.
func (a *Admin) Unlock(ctx context.Context, name string) error {
	u, err := a.user(ctx, name)
	if err != nil {
		return err
	}
	if err := a.Store.SetLocked(ctx, u.Username, u.ID, false, a.now()); err != nil {
		return fmt.Errorf("admin: unlock: %w", err)
	}
	a.audit(ctx, "user_unlock", "user_id", u.ID, "sessions", 0)
	return nil
}

// Rotation is the outcome of a key rotation.
type Rotation struct {
	Emergency bool   `json:"emergency"`
	VersionID string `json:"version_id"`
	// Kid is the new key's id (known at once only for an emergency
	// rotation; a normal one generates it in the rotation function).
	Kid string `json:"kid,omitempty"`
	// RetiredVersion is the version whose key no longer verifies.
	RetiredVersion string `json:"retired_version,omitempty"`
}

// RotateKeys rotates the signing key. A normal rotation asks Secrets Manager
// to run the stack's rotation function (keys.Rotator): the new key is
// published at once and signs after the activation delay, and the old key
// keeps verifying as AWSPREVIOUS. An emergency rotation writes a new key that
// signs at once as AWSCURRENT and removes AWSPREVIOUS, so the key set holds
// only the new key: every access token signed before stops verifying once
// the verifiers' key caches expire (ROTOR_KEY_CACHE_TTL).
func (a *Admin) RotateKeys(ctx context.Context, emergency bool) (Rotation, error) {
	if a.Secrets == nil || a.SecretID == "" {
		return Rotation{}, ErrNoSecret
	}
	if !emergency {
		out, err := a.Secrets.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(a.SecretID), RotateImmediately: aws.Bool(true)})
		if err != nil {
			return Rotation{}, fmt.Errorf("admin: rotate secret: %w", err)
		}
		r := Rotation{VersionID: aws.ToString(out.VersionId)}
		a.audit(ctx, "keys_rotate", "version", r.VersionID, "emergency", false)
		return r, nil
	}
	desc, err := a.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(a.SecretID)})
	if err != nil {
		return Rotation{}, fmt.Errorf("admin: describe secret: %w", err)
	}
	old := ""
	for id, stages := range desc.VersionIdsToStages {
		if slices.Contains(stages, "AWSCURRENT") {
			old = id
		}
	}
	k, err := keys.Generate(a.Alg, a.Rand, a.now())
	if err != nil {
		return Rotation{}, err
	}
	k.SignAfter = k.CreatedAt // signs at once: the old key is compromised
	value, err := k.Marshal()
	if err != nil {
		return Rotation{}, err
	}
	token := make([]byte, 16)
	if _, err := io.ReadFull(a.rand(), token); err != nil {
		return Rotation{}, fmt.Errorf("admin: version id: %w", err)
	}
	version := hex.EncodeToString(token)
	// AWSCURRENT moves to the new version and Secrets Manager moves
	// AWSPREVIOUS to the old one; removing AWSPREVIOUS then leaves the new
	// key alone in the set keys.Fetch reads.
	if _, err := a.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(a.SecretID), ClientRequestToken: aws.String(version),
		SecretString: aws.String(string(value)), VersionStages: []string{"AWSCURRENT"},
	}); err != nil {
		return Rotation{}, fmt.Errorf("admin: put emergency key: %w", err)
	}
	r := Rotation{Emergency: true, VersionID: version, Kid: k.ID}
	if old != "" {
		if _, err := a.Secrets.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
			SecretId: aws.String(a.SecretID), VersionStage: aws.String("AWSPREVIOUS"), RemoveFromVersionId: aws.String(old),
		}); err != nil {
			return r, fmt.Errorf("admin: retire the previous key (the new key signs, the old one still verifies): %w", err)
		}
		r.RetiredVersion = old
	}
	a.audit(ctx, "keys_rotate", "version", version, "kid", k.ID, "retired_version", old, "emergency", true)
	return r, nil
}

// retire returns the retired keys of the version a normal rotation writes:
// the current version's key (which becomes AWSPREVIOUS now: named here too,
// so that a rotation run at the same instant, which read the same versions
// and moves AWSPREVIOUS past it, loses no key; the keyring keeps it once),
// the previous version's key (which loses its AWSPREVIOUS label now), and
// the retired keys of both, each once, the newest first, at most
// mac.MaxRetired (the oldest go).
func retire(cur, prev mac.Secret, hasPrev bool) [][]byte {
	all := [][]byte{cur.Key}
	if hasPrev {
		all = append(all, prev.Key)
	}
	all = append(all, cur.Retired...)
	if hasPrev {
		all = append(all, prev.Retired...)
	}
	seen := map[string]bool{}
	var out [][]byte
	for _, k := range all {
		if !seen[string(k)] && len(out) < mac.MaxRetired {
			seen[string(k)] = true
			out = append(out, k)
		}
	}
	return out
}

func (a *Admin) rand() io.Reader {
	if a.Rand != nil {
		return a.Rand
	}
	return rand.Reader
}

// MACRotation is the outcome of a MAC key rotation.
type MACRotation struct {
	Emergency bool   `json:"emergency"`
	VersionID string `json:"version_id"`
	// RetiredVersions are the versions whose keys no longer verify.
	RetiredVersions []string `json:"retired_versions,omitempty"`
	// RetiredKeys is how many keys older than the new AWSPREVIOUS one the
	// new version keeps only to open the TOTP secrets and recovery codes
	// stored under them (0 after an emergency rotation, which voids those).
	RetiredKeys int `json:"retired_keys"`
	// RefusedWithin bounds when every warm function refuses what the
	// retired keys tagged: the key cache lifetime, counted from the return
	// of RotateMAC (a function whose re-read of the secret fails keeps its
	// keyring and retries every 10 s until one succeeds).
	RefusedWithin time.Duration `json:"refused_within_ns,omitempty"`
}

// RotateMAC puts a new random server MAC key in the MAC secret. Normally
// the key it replaces stays as AWSPREVIOUS and still verifies, so nobody is
// logged out, and the key that was AWSPREVIOUS moves to the new version's
// retired keys (mac.Secret): retired keys never tag nor verify a token, they
// only derive the keys that open a TOTP secret sealed, or match a recovery
// code hashed, under them, so a factor unused through any number of normal
// rotations still works. An emergency rotation (the key leaked) writes the
// new key with no retired keys and then removes AWSPREVIOUS, so that the
// secret holds the new key alone: every refresh token and device token
// tagged before stops verifying once the functions' keyring caches expire
// (KeyCacheTTL) — every user logs in again, which is the price of ending
// what the leaked key can forge — and every TOTP factor and recovery code
// stored before is void (its owner needs rotor users mfa reset): the
// leaked key, or one before it, would open them.
func (a *Admin) RotateMAC(ctx context.Context, emergency bool) (MACRotation, error) {
	if a.Secrets == nil || a.MACSecretID == "" {
		return MACRotation{}, ErrNoMACSecret
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(a.rand(), key); err != nil {
		return MACRotation{}, fmt.Errorf("admin: MAC key: %w", err)
	}
	token := make([]byte, 16)
	if _, err := io.ReadFull(a.rand(), token); err != nil {
		return MACRotation{}, fmt.Errorf("admin: version id: %w", err)
	}
	version := hex.EncodeToString(token)
	next := mac.Secret{Key: []byte(hex.EncodeToString(key))}
	if !emergency {
		// Read before writing: a secret that cannot be read is not
		// rotated, or the keys it retires would be lost.
		cur, prev, hasPrev, err := mac.FetchSecret(ctx, a.Secrets, a.MACSecretID)
		if err != nil {
			return MACRotation{}, fmt.Errorf("admin: read MAC secret (nothing rotated): %w", err)
		}
		next.Retired = retire(cur, prev, hasPrev)
	}
	// AWSCURRENT moves to the new version; Secrets Manager moves
	// AWSPREVIOUS to the version that was current (the key before it, if
	// any, loses its label at once).
	if _, err := a.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(a.MACSecretID), ClientRequestToken: aws.String(version),
		SecretString: aws.String(next.Value()), VersionStages: []string{"AWSCURRENT"},
	}); err != nil {
		return MACRotation{}, fmt.Errorf("admin: put MAC key: %w", err)
	}
	r := MACRotation{Emergency: emergency, VersionID: version}
	if len(next.Retired) > 1 {
		r.RetiredKeys = len(next.Retired) - 1 // the first is the new AWSPREVIOUS
	}
	if !emergency {
		a.audit(ctx, "mac_rotate", "version", version, "emergency", false, "retired_keys", r.RetiredKeys)
		return r, nil
	}
	desc, err := a.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(a.MACSecretID)})
	if err != nil {
		return r, fmt.Errorf("admin: describe MAC secret (the new key tags, the old one still verifies): %w", err)
	}
	for id, stages := range desc.VersionIdsToStages {
		if id == version || !slices.Contains(stages, "AWSPREVIOUS") {
			continue
		}
		if _, err := a.Secrets.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
			SecretId: aws.String(a.MACSecretID), VersionStage: aws.String("AWSPREVIOUS"), RemoveFromVersionId: aws.String(id),
		}); err != nil {
			return r, fmt.Errorf("admin: retire the previous MAC key (the new key tags, the old one still verifies): %w", err)
		}
		r.RetiredVersions = append(r.RetiredVersions, id)
	}
	r.RefusedWithin = a.KeyCacheTTL
	a.audit(ctx, "mac_rotate", "version", version, "retired_versions", r.RetiredVersions, "emergency", true, "refused_within", r.RefusedWithin.String())
	return r, nil
}
