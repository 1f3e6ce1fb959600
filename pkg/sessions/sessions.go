package sessions

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rotor-auth/rotor/pkg/mac"
)

// Errors of the refresh flow. Each one means "log in again"; they are distinct
// so the security log can say which.
var (
	ErrUnknown = errors.New("sessions: unknown session")
	ErrExpired = errors.New("sessions: session expired")
	ErrReused  = errors.New("sessions: superseded refresh token reused; session revoked")
	// ErrRevoked means the session was created before the revocation
	// watermark an operator set (rotor revoke-all).
	ErrRevoked = errors.New("sessions: session revoked by revoke-all")
	// ErrSuperseded means the session is of an older credential epoch than
	// its owner's: a password change, an end-all or a lock moved the epoch
	// and the store failed before deleting the session.
	ErrSuperseded = errors.New("sessions: session of an older credential epoch")
	// ErrMalformedTicket means a retry ticket is not one this server hands out.
	ErrMalformedTicket = errors.New("sessions: malformed retry ticket")
	// ErrKeyMismatch means a refresh of a session bound to a DPoP key came
	// without a proof by that key (none, or another key's), or, when the
	// Manager refuses bearer sessions, that the session is bound to no key.
	// Nothing changed: the session neither rotated nor ended, so a thief
	// holding the current token without the key cannot end the owner's
	// session through a refresh.
	ErrKeyMismatch = errors.New("sessions: refresh without a proof by the session's key")
)

// Limits on client-supplied metadata kept with a session.
const (
	maxIPLen        = 64
	maxUserAgentLen = 256
)

// DefaultMaxPerUser is the number of sessions a user keeps when
// Manager.MaxPerUser is zero; a login beyond it ends the oldest.
const DefaultMaxPerUser = 50

// maxPrunePerLogin bounds how many dead entries of the owner's session list
// one login clears, so a login's write stays small.
const maxPrunePerLogin = 10

// Meta describes the client that starts a session.
type Meta struct {
	IP        string
	UserAgent string
	// AMR lists the authentication methods (RFC 8176) that started the session.
	AMR []string
	// AuthTime is when the user last authenticated with those methods.
	AuthTime time.Time
	// JKT is the thumbprint of the DPoP key whose proof came with the login
	// (empty without one): the session is bound to it for its whole life.
	JKT string
}

// Sanitized returns m as a session keeps it: each field valid UTF-8 without
// control characters (each byte that is not UTF-8, and each control, becomes
// U+FFFD), at most 64 bytes of IP and 256 of user agent, cut on a rune
// boundary. Both come from the request, where a client sends any bytes:
// PostgreSQL refuses text that is not UTF-8 (or holds NUL), and every store
// must keep and list the same value, so Start stores only this. AMR and
// AuthTime come from the flow, not the request, and are kept as they are.
func (m Meta) Sanitized() Meta {
	m.IP, m.UserAgent = sanitize(m.IP, maxIPLen), sanitize(m.UserAgent, maxUserAgentLen)
	return m
}

// Manager runs the session lifecycle on a Store.
type Manager struct {
	Store Store
	// MAC tags every refresh token, so a token this server never issued is
	// refused before any store call and never revokes anything.
	MAC        mac.Source
	IdleTTL    time.Duration // refresh token lifetime, extended on each rotation
	MaxTTL     time.Duration // absolute session lifetime, never extended
	Grace      time.Duration // replay window of a superseded token; 0 disables
	MaxPerUser int           // sessions kept per user; DefaultMaxPerUser when 0
	Rand       io.Reader     // crypto/rand when nil
	// RefuseBearer refuses to rotate a session bound to no DPoP key
	// (ROTOR_DPOP=required): a bearer session started before DPoP was
	// required, refreshed with a proof, must not go on as a bearer one.
	// When false, a proof presented for a bearer session is ignored: the
	// session stays bearer (so turning DPoP on logs no one out).
	RefuseBearer bool
}

// Issued is the outcome of a login or a refresh: the session as stored and the
// refresh token the client must use next.
type Issued struct {
	Session      Session
	RefreshToken string
	// Replayed is true when a superseded token was presented inside the grace
	// window and the session's current token was handed out again.
	Replayed bool
	// Ticket names the rotation a refresh attempted; it is set even when
	// Rotate fails. A client whose refresh ended without an answer it could
	// use (a 503: the store may have applied the write late) sends it back
	// with the same refresh token, and Rotate re-sends the very same rotation:
	// if the first write landed, the retry finds it as its own and gets its
	// token, however long after the grace window; if not, the retry applies it.
	Ticket string
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

func (m *Manager) keyring(ctx context.Context) (mac.Keyring, error) {
	if m.MAC == nil {
		return mac.Keyring{}, errors.New("sessions: no MAC key source")
	}
	ring, err := m.MAC.Keyring(ctx)
	if err != nil {
		return mac.Keyring{}, fmt.Errorf("sessions: MAC key: %w", err)
	}
	return ring, nil
}

// parse checks a presented refresh token: its syntax, then that this server
// issued it. Neither touches the store.
func (m *Manager) parse(ctx context.Context, raw string) (RefreshToken, mac.Keyring, error) {
	t, err := ParseRefreshToken(raw)
	if err != nil {
		return RefreshToken{}, mac.Keyring{}, err
	}
	ring, err := m.keyring(ctx)
	if err != nil {
		return RefreshToken{}, mac.Keyring{}, err
	}
	if !t.Genuine(ring) {
		return RefreshToken{}, mac.Keyring{}, ErrForged
	}
	return t, ring, nil
}

// Start creates a session for owner, who just proved who they are with the
// credentials of owner.Epoch. It fails with ErrStale when the epoch moved
// meanwhile. Beyond MaxPerUser sessions the oldest are ended.
func (m *Manager) Start(ctx context.Context, owner Owner, meta Meta, now time.Time) (Issued, error) {
	ring, err := m.keyring(ctx)
	if err != nil {
		return Issued{}, err
	}
	id, err := m.random(idLen)
	if err != nil {
		return Issued{}, err
	}
	secret, err := m.random(secretLen)
	if err != nil {
		return Issued{}, err
	}
	t := issue(ring, encoding.EncodeToString(id), secret)
	now = now.UTC().Truncate(time.Millisecond)
	abs := now.Add(m.MaxTTL).Truncate(time.Second)
	s := Session{
		ID:                t.SessionID,
		UserID:            owner.UserID,
		Username:          owner.Username,
		Epoch:             owner.Epoch,
		TokenHash:         t.Hash(),
		CreatedAt:         now,
		LastUsedAt:        now,
		ExpiresAt:         minTime(now.Add(m.IdleTTL).Truncate(time.Second), abs),
		AbsoluteExpiresAt: abs,
	}
	meta = meta.Sanitized()
	s.IP, s.UserAgent = meta.IP, meta.UserAgent
	s.AMR = slices.Clone(meta.AMR)
	s.JKT = meta.JKT
	if !meta.AuthTime.IsZero() {
		s.AuthTime = meta.AuthTime.UTC().Truncate(time.Millisecond)
	}
	evict, err := m.evictions(ctx, owner, now)
	if err != nil {
		return Issued{}, err
	}
	if err := m.Store.CreateSession(ctx, s, evict); err != nil {
		return Issued{}, fmt.Errorf("sessions: start: %w", err)
	}
	return Issued{Session: s, RefreshToken: t.String()}, nil
}

// evictions returns the sessions a new one of owner's displaces: listed
// sessions that are dead, a few at a time, and the oldest live ones beyond
// MaxPerUser-1, so the user never has more than MaxPerUser live sessions.
// Only live sessions count against the cap (alive, not ended, not before the
// revocation watermark): the list also names sessions that ended or expired
// since (on DynamoDB and the embedded store a logout leaves its entry; an
// idle session's row or key outlives it), and counting them would end a
// live session of a user below the cap. The list alone tells only which
// entries are certainly dead (older than MaxTTL); when the others reach the
// cap, the sessions themselves are read (List) to tell the live ones: a
// login below the cap makes no extra read.
func (m *Manager) evictions(ctx context.Context, owner Owner, now time.Time) ([]string, error) {
	type entry struct {
		id      string
		created time.Time
	}
	var live, dead []entry
	for id, created := range owner.Sessions {
		if !now.Before(created.Add(m.MaxTTL)) {
			dead = append(dead, entry{id, created})
		} else {
			live = append(live, entry{id, created})
		}
	}
	limit := m.MaxPerUser
	if limit <= 0 {
		limit = DefaultMaxPerUser
	}
	if len(live) > limit-1 {
		alive, err := m.List(ctx, owner.Username, owner.UserID, now)
		if err != nil {
			return nil, fmt.Errorf("sessions: start: count live sessions: %w", err)
		}
		isAlive := make(map[string]bool, len(alive))
		for _, s := range alive {
			isAlive[s.ID] = true
		}
		listed := live
		live = live[:0:0]
		for _, e := range listed {
			if isAlive[e.id] {
				live = append(live, e)
			} else {
				dead = append(dead, e)
			}
		}
	}
	byAge := func(a, b entry) int { return a.created.Compare(b.created) }
	slices.SortFunc(dead, byAge)
	slices.SortFunc(live, byAge)
	var out []string
	for _, e := range dead[:min(len(dead), maxPrunePerLogin)] {
		out = append(out, e.id)
	}
	if over := len(live) - (limit - 1); over > 0 {
		for _, e := range live[:over] {
			out = append(out, e.id)
		}
	}
	return out, nil
}

// Rotate exchanges a refresh token for its successor. Exactly one of any number
// of concurrent calls with the same token rotates; the others, and any replay
// inside the grace window, get the same successor. A superseded token outside
// the window revokes the session and returns ErrReused; a token this server
// never issued is ErrForged and changes nothing. ticket, when not empty, is
// the Ticket of an earlier attempt with the same token, whose rotation is
// re-sent (see Issued.Ticket).
func (m *Manager) Rotate(ctx context.Context, raw, ticket string, now time.Time) (Issued, error) {
	return m.RotateWithKey(ctx, raw, ticket, "", now)
}

// RotateWithKey is Rotate for a refresh that came with a DPoP proof by the
// key of thumbprint jkt (empty: without a proof). A session bound to a key
// rotates only with a proof by that key: the key is in the same conditional
// write, so a refresh without it (or with another key's proof) changes
// nothing and returns ErrKeyMismatch, and a refresh without a proof costs
// no more than before. A superseded token presented with a proof by the
// session's key is the owner, whose answer was lost: it gets the same
// successor, however long after the rotation, until the successor is used
// (the lost-response rule; without the key the grace window applies, and
// after it the token is reuse, as for a bearer session).
func (m *Manager) RotateWithKey(ctx context.Context, raw, ticket, jkt string, now time.Time) (Issued, error) {
	t, ring, err := m.parse(ctx, raw)
	if err != nil {
		return Issued{}, err
	}
	var salt []byte
	if ticket != "" {
		if salt, err = encoding.DecodeString(ticket); err != nil || len(salt) != 32 || encoding.EncodeToString(salt) != ticket {
			return Issued{}, ErrMalformedTicket
		}
	} else if salt, err = m.random(32); err != nil {
		return Issued{}, err
	}
	ticket = encoding.EncodeToString(salt)
	// Stores keep event times to the millisecond and expiries to the second
	// (DynamoDB's TTL unit), so both are truncated here, once.
	now = now.UTC().Truncate(time.Millisecond)
	next := issue(ring, t.SessionID, successor(t.Secret, salt))
	r := Rotation{
		SessionID:     t.SessionID,
		PresentedHash: t.Hash(),
		NewHash:       next.Hash(),
		Salt:          salt,
		Now:           now,
		ExpiresAt:     now.Add(m.IdleTTL).Truncate(time.Second),
		JKT:           jkt,
	}
	// At most two writes: the second only when the idle extension would pass
	// the absolute lifetime, which the first answer tells us (and one more
	// when a proof came for a bearer session, written again without it).
	for attempt, writes := 0, 2; attempt < writes; attempt++ {
		s, err := m.Store.RotateSession(ctx, r)
		switch {
		case err == nil:
			return Issued{Session: s, RefreshToken: next.String(), Ticket: ticket}, nil
		case errors.Is(err, ErrNotFound):
			return Issued{}, ErrUnknown
		case errors.Is(err, ErrRevoked), errors.Is(err, ErrSuperseded):
			return Issued{Session: s}, err
		case !errors.Is(err, ErrConflict):
			return Issued{Ticket: ticket}, fmt.Errorf("sessions: rotate %s: %w", t.SessionID, err)
		}
		// s is the session as it was.
		if !s.Alive(now) {
			return Issued{}, ErrExpired
		}
		if s.JKT != r.JKT {
			if s.JKT == "" {
				// A proof for a bearer session: ignored (the session
				// stays bearer), unless bearer sessions are refused.
				if m.RefuseBearer {
					return Issued{Session: s}, ErrKeyMismatch
				}
				r.JKT = ""
				writes++
				continue
			}
			// A bound session without its key's proof. The current token,
			// the previous one inside the grace window, or this very
			// rotation re-sent: refused, nothing changes. An older token,
			// or the previous one after the window: reuse, below.
			if m.keyless(t, r, s, now) {
				return Issued{Session: s}, ErrKeyMismatch
			}
		} else if s.JKT != "" {
			// The session's key: a superseded token is the owner whose
			// answer was lost, whatever the time since the rotation.
			if iss, ok := m.successorOf(ring, t, s); ok {
				return iss, nil
			}
		}
		// The write did not apply now, but this very rotation already did: the
		// SDK's retry of a request whose answer was lost, or a client's retry
		// with the ticket of an attempt whose write landed late.
		if subtle.ConstantTimeCompare(s.TokenHash, r.NewHash) == 1 {
			return Issued{Session: s, RefreshToken: next.String(), Ticket: ticket}, nil
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
		if iss, ok := m.replay(ring, t, s, now); ok {
			return iss, nil
		}
		// A genuine token of this session that is no longer current: theft or
		// a lost response outside the grace window.
		if err := m.Store.DeleteSession(ctx, s.ID, ""); err != nil && !errors.Is(err, ErrNotFound) {
			return Issued{}, fmt.Errorf("sessions: revoke reused %s: %w", s.ID, err)
		}
		return Issued{Session: s}, ErrReused
	}
	return Issued{Ticket: ticket}, fmt.Errorf("sessions: rotate %s: %w", t.SessionID, ErrConflict)
}

// keyless reports whether a refresh of a bound session without its key's
// proof is refused without change (true) rather than treated as reuse: the
// token is the session's current one, this very rotation re-sent, or the
// previous one inside the grace window.
func (m *Manager) keyless(t RefreshToken, r Rotation, s Session, now time.Time) bool {
	if bytes.Equal(s.TokenHash, r.PresentedHash) || subtle.ConstantTimeCompare(s.TokenHash, r.NewHash) == 1 {
		return true
	}
	return m.Grace > 0 && len(s.PrevHash) > 0 && subtle.ConstantTimeCompare(s.PrevHash, t.Hash()) == 1 &&
		now.Sub(s.RotatedAt) <= m.Grace
}

// replay answers a superseded token presented inside the grace window with the
// session's current token, re-derived from the presented secret.
func (m *Manager) replay(ring mac.Keyring, t RefreshToken, s Session, now time.Time) (Issued, bool) {
	if m.Grace <= 0 || now.Sub(s.RotatedAt) > m.Grace {
		return Issued{}, false
	}
	return m.successorOf(ring, t, s)
}

// successorOf answers the token the session's last rotation replaced with
// the session's current token, re-derived from the presented secret and the
// stored salt; false when t is not that token (or the current one is not
// its successor).
func (m *Manager) successorOf(ring mac.Keyring, t RefreshToken, s Session) (Issued, bool) {
	if len(s.PrevHash) == 0 || subtle.ConstantTimeCompare(s.PrevHash, t.Hash()) != 1 {
		return Issued{}, false
	}
	cur := issue(ring, s.ID, successor(t.Secret, s.Salt))
	if subtle.ConstantTimeCompare(cur.Hash(), s.TokenHash) != 1 {
		return Issued{}, false
	}
	return Issued{Session: s, RefreshToken: cur.String(), Replayed: true}, true
}

// Revoke ends the session of a refresh token (logout). The current token, or
// the one it just replaced, is accepted; a token this server never issued is
// ErrForged and touches nothing.
func (m *Manager) Revoke(ctx context.Context, raw string) (Session, error) {
	t, _, err := m.parse(ctx, raw)
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

// EndAll ends every session of a user and says how many there were. Once it
// returns, no session created before it, nor by a login that read the user
// before it, can refresh.
func (m *Manager) EndAll(ctx context.Context, username, userID string) (int, error) {
	n, err := m.Store.EndUserSessions(ctx, username, userID)
	if err != nil {
		return n, fmt.Errorf("sessions: end all of %s: %w", userID, err)
	}
	return n, nil
}

// List returns the user's live sessions, newest first: alive, and not
// created before the revocation watermark (a revoke-all ended those). It
// reads the watermark with one of the listed sessions; a caller that has
// it already (Live) uses ListWithWatermark instead.
func (m *Manager) List(ctx context.Context, username, userID string, now time.Time) ([]Session, error) {
	return m.list(ctx, username, userID, now, nil)
}

// ListWithWatermark is List with the revocation watermark before already
// read (by Live, which checked the caller's own session with it): one store
// call fewer.
func (m *Manager) ListWithWatermark(ctx context.Context, username, userID string, before, now time.Time) ([]Session, error) {
	return m.list(ctx, username, userID, now, &before)
}

func (m *Manager) list(ctx context.Context, username, userID string, now time.Time, watermark *time.Time) ([]Session, error) {
	all, err := m.Store.ListSessions(ctx, username, userID)
	if err != nil {
		return nil, fmt.Errorf("sessions: list %s: %w", userID, err)
	}
	live := all[:0]
	for _, s := range all {
		if s.Alive(now) && s.UserID == userID {
			live = append(live, s)
		}
	}
	if len(live) > 0 {
		var before time.Time
		if watermark != nil {
			before = *watermark
		} else {
			// The watermark is read with a session; any of the user's will do.
			_, before, err = m.Store.GetSessionAndWatermark(ctx, live[0].ID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("sessions: list %s: watermark: %w", userID, err)
			}
		}
		kept := live[:0]
		for _, s := range live {
			if !s.CreatedAt.Before(before) {
				kept = append(kept, s)
			}
		}
		live = kept
	}
	sort.Slice(live, func(i, j int) bool { return live[i].CreatedAt.After(live[j].CreatedAt) })
	return live, nil
}

// Check reports whether a session exists, is alive and was not created
// before the revocation watermark (the strict authorizer).
func (m *Manager) Check(ctx context.Context, sessionID string, now time.Time) error {
	_, _, err := m.Live(ctx, "", sessionID, now)
	return err
}

// Live returns a session of userID (any user's when userID is empty) and
// the revocation watermark in force, read together in one store call, if
// the session exists and belongs to userID (ErrUnknown otherwise), is alive
// at now (ErrExpired) and was not created before the watermark
// (ErrRevoked). Whether it is of its owner's current credential epoch is
// for the caller, who reads the owner, to tell (Session.Epoch).
func (m *Manager) Live(ctx context.Context, userID, sessionID string, now time.Time) (Session, time.Time, error) {
	s, before, err := m.Store.GetSessionAndWatermark(ctx, sessionID)
	if errors.Is(err, ErrNotFound) {
		return Session{}, time.Time{}, ErrUnknown
	}
	if err != nil {
		return Session{}, time.Time{}, fmt.Errorf("sessions: check %s: %w", sessionID, err)
	}
	if userID != "" && s.UserID != userID {
		return Session{}, time.Time{}, ErrUnknown
	}
	if !s.Alive(now) {
		return s, before, ErrExpired
	}
	if s.CreatedAt.Before(before) {
		return s, before, ErrRevoked
	}
	return s, before, nil
}

// RevokeAll ends every session created before t (zero: now) by moving the
// revocation watermark: one write, whatever the number of sessions. From
// its return no such session refreshes, and the strict authorizer refuses
// their access tokens. The watermark only moves forward; it returns the one
// in force. A t in the future is refused: it would refuse the sessions of
// logins to come.
func (m *Manager) RevokeAll(ctx context.Context, t, now time.Time) (time.Time, error) {
	if t.IsZero() {
		t = now
	}
	if t.After(now) {
		return time.Time{}, fmt.Errorf("%w: %s is in the future", ErrFutureWatermark, t.Format(time.RFC3339))
	}
	w, err := m.Store.RevokeBefore(ctx, t.UTC().Truncate(time.Millisecond))
	if err != nil {
		return time.Time{}, fmt.Errorf("sessions: revoke all: %w", err)
	}
	return w, nil
}

// ErrFutureWatermark refuses a revoke-all time after the present.
var ErrFutureWatermark = errors.New("sessions: revoke-all time in the future")

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// sanitize returns s as valid UTF-8 without controls, at most n bytes: each
// invalid byte and each control rune becomes U+FFFD, and the text ends
// before the first rune that would pass n. It writes at most n bytes,
// however long s is, and returns s itself when it is already clean.
func sanitize(s string, n int) string {
	if len(s) <= n && strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), n))
	for _, r := range s {
		if unsafeRune(r) {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unsafeRune reports whether r stands for a byte that is not UTF-8 (ranging
// over a string yields U+FFFD for one) or is a control character.
func unsafeRune(r rune) bool { return r == utf8.RuneError || unicode.IsControl(r) }
