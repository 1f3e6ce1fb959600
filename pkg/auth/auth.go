package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/device"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/mfa"
	"github.com/rotor-auth/rotor/pkg/passkey"
	"github.com/rotor-auth/rotor/pkg/password"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/token"
	"github.com/rotor-auth/rotor/pkg/users"
	"github.com/rotor-auth/rotor/pkg/users/names"
)

// LoginStore starts a login in one round trip: it reserves the guess's slot
// under every counter (throttle.Store.Reserve: refused while any is locked,
// else counted before the password is checked) and reads the user (or
// users.ErrNotFound; known user or not, the reservation is made) and the
// revocation watermark (zero when none).
type LoginStore interface {
	ReserveLogin(ctx context.Context, username string, counters []throttle.Counter, now time.Time) (users.User, time.Time, throttle.Reservation, error)
}

// Service runs the flows. Build it once per cold start.
type Service struct {
	Users    users.Store
	Logins   LoginStore
	Attempts throttle.Store
	// Throttle locks a username (for clients without a device token), a
	// device token, and a session's password-change guesses.
	Throttle throttle.Policy
	// IPThrottle locks a source address for clients without a trusted device
	// token (none, or a stale one), across usernames: an IPv4 address, an
	// IPv6 /64.
	IPThrottle throttle.Policy
	// IP56Throttle and IP48Throttle lock the IPv6 /56 and /48 of such a
	// client, counted at the same time as its /64, each with its own budget
	// (zero: not counted).
	IP56Throttle, IP48Throttle throttle.Policy
	// DeviceThrottle locks all of a username's device tokens together, on
	// top of each token's own Throttle (zero: not counted).
	DeviceThrottle throttle.Policy
	// MAC is the server MAC key that tags device tokens.
	MAC       mac.Source
	Sessions  *sessions.Manager
	Passwords *password.Hasher
	Tokens    *token.Issuer
	Log       *slog.Logger     // security events; slog.Default when nil
	Now       func() time.Time // one clock per flow; time.Now when nil
	Rand      io.Reader        // user ids; crypto/rand when nil
	// Accounts holds addresses, one-time tokens and the outbox: the
	// account-recovery flows (nil: those routes answer 500).
	Accounts AccountStore
	// Factors holds the users' second factors and the mfa_token records
	// (nil: no user has MFA, and the MFA routes answer 500).
	Factors mfa.Store
	// MFAIssuer names the service in authenticator apps ("Rotor" when empty).
	MFAIssuer string
	// Passkeys holds the users' passkeys and the ceremonies' challenges;
	// RP runs the ceremonies (nil, either: the passkey routes answer 500).
	Passkeys passkey.Store
	RP       RelyingParty
	// AllowCounterRegression lets a passkey whose signature counter went
	// backwards (a cloned authenticator, or a broken one) sign in anyway;
	// the security event is logged either way. Off: refused.
	AllowCounterRegression bool
	// RequireEmail makes an address required at signup.
	RequireEmail bool
	// MailThrottle bounds the mail sent to one address, whoever asks;
	// MailIPThrottle the mail asked for from one source address.
	MailThrottle, MailIPThrottle throttle.Policy
	// Fingerprint names an unknown username in the security log: a keyed,
	// non-reversible digest (truncated HMAC-SHA256 with a per-deployment
	// key), so a password typed into the username field never reaches the
	// log. Nil leaves the field out, and so does an empty result.
	Fingerprint func(ctx context.Context, username string) string
}

// Pair is a token response: an access token and the refresh token to use next.
type Pair struct {
	AccessToken      string
	AccessExpiresIn  time.Duration
	RefreshToken     string
	RefreshExpiresIn time.Duration
	SessionID        string
	UserID           string
	// DeviceToken is set by a login: the client sends it on its next logins
	// as this username, to be throttled apart from strangers.
	DeviceToken string
	// JKT is the thumbprint of the DPoP key the session is bound to (the
	// access token's cnf.jkt; token_type DPoP), empty for a bearer session.
	JKT string
}

// Client describes who is calling, for the session record and the logs.
type Client = sessions.Meta

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Signup creates an account without an address and returns its user id
// (SignupWithEmail with no address and no client).
func (s *Service) Signup(ctx context.Context, username, pw string) (string, error) {
	return s.SignupWithEmail(ctx, username, pw, "", Client{})
}

// Login checks a username and password and starts a session. An unknown user
// and a wrong password get the same error after the same argon2id work, and
// both count towards throttling. deviceToken is what an earlier successful
// login as this username returned, or empty; a valid one is throttled on its
// own, so strangers' failures never lock the owner's devices out.
func (s *Service) Login(ctx context.Context, username, pw, deviceToken string, c Client) (Pair, error) {
	name, err := names.Normalize(username)
	if err != nil {
		return Pair{}, apierr.InvalidRequest.Describe("%s", publicReason(err)).With(err)
	}
	if len(pw) == 0 || len(pw) > password.MaxLength {
		return Pair{}, apierr.InvalidRequest.Describe("password must be 1 to %d bytes", password.MaxLength)
	}
	now := s.now()
	ring, err := s.keyring(ctx)
	if err != nil {
		return Pair{}, err
	}
	counters, dev := s.loginCounters(ring, name, deviceToken, c)
	attrs := func(userID string) []any { return append(s.who(ctx, name, userID), "ip", c.IP) }
	u, revokedBefore, res, err := s.Logins.ReserveLogin(ctx, name, counters, now)
	if err != nil && !errors.Is(err, users.ErrNotFound) {
		return Pair{}, storeError(err)
	}
	trusted := dev != nil
	if trusted && (err != nil || dev.Epoch() != u.Epoch || dev.IssuedAt().Before(revokedBefore)) {
		// A device token of the username under the server key, issued
		// before the credentials changed (a password change or reset, a
		// lock, an end-all) or before a revoke-all: no longer trusted with
		// a budget of its own. Its client is throttled as a stranger is,
		// on its source address too (or whoever kept the tokens of
		// breached accounts would guess at all of them from one address),
		// but, with every other stale token of the username, on one counter
		// under the username limit: not on the username's own, or a
		// stranger who locked that would lock the owner's devices out after
		// every password change. The slots it took under the device
		// counters are given back; the guess is reserved again.
		trusted = false
		s.log().InfoContext(ctx, "stale device token", append([]any{"event", "device_token_stale"}, attrs(u.ID)...)...)
		if res.OK {
			if rerr := s.Attempts.Release(ctx, nil, throttle.Keys(counters)); rerr != nil {
				return Pair{}, storeError(rerr)
			}
		}
		counters = s.strangerCounters(name, c)
		counters[0].Key = throttle.StaleDevicesKey(name)
		if res, err = s.reserve(ctx, counters, now, attrs(u.ID)...); err != nil {
			return Pair{}, err
		}
	} else if err := s.refused(ctx, counters, res, now, attrs(u.ID)...); err != nil {
		return Pair{}, err
	}
	for i := range counters {
		counters[i].State = res.States[i]
	}
	switch {
	case u.ID == "":
		if err := s.Passwords.VerifyDummy(ctx, pw); !errors.Is(err, password.ErrMismatch) {
			return Pair{}, storeError(err)
		}
		return Pair{}, s.loginFailed(ctx, name, "", counters, c)
	}
	// Whether the user has a second factor is read while argon2id runs, for
	// every existing user whatever the password: no latency added, and the
	// same store work for a right and a wrong password.
	type enrolment struct {
		on  bool
		err error
	}
	factor := make(chan enrolment, 1)
	go func() {
		on, err := s.enrolled(ctx, u.ID)
		factor <- enrolment{on, err}
	}()
	if err := s.Passwords.Verify(ctx, pw, u.PasswordHash); err != nil {
		<-factor
		if ctx.Err() != nil {
			return Pair{}, storeError(err)
		}
		if !errors.Is(err, password.ErrMismatch) {
			s.log().ErrorContext(ctx, "stored password hash unreadable", "event", "hash_malformed", "user_id", u.ID)
		}
		return Pair{}, s.loginFailed(ctx, name, u.ID, counters, c)
	}
	mf := <-factor
	if u.Locked {
		// Refused after the same argon2id work and with the same answer and
		// counting as a wrong password, so a lock reveals nothing.
		s.log().WarnContext(ctx, "login of a locked user", "event", "login_locked", "user_id", u.ID, "ip", c.IP)
		return Pair{}, s.loginFailed(ctx, name, u.ID, counters, c)
	}
	if mf.err != nil {
		return Pair{}, storeError(mf.err)
	}
	if mf.on {
		// The password was right: its slots are given back as for a login
		// (while the mfa_token's record is written: one round trip of
		// latency), and the second step is owed. Nothing else is issued (no
		// session, no device token) until VerifyMFA.
		released := make(chan error, 1)
		go func() { released <- s.Attempts.Release(ctx, []string{counters[0].Key}, throttle.Keys(counters[1:])) }()
		err := s.mfaRequired(ctx, ring, u, deviceToken, c, now)
		if rerr := <-released; rerr != nil {
			s.log().WarnContext(ctx, "guess not given back", "event", "throttle_release_failed", "user_id", u.ID, "error", rerr.Error())
		}
		return Pair{}, err
	}
	c.AMR, c.AuthTime = amrPassword, now
	// The right password gives the guess's slots back, concurrently with
	// the session's write (one round trip of latency): it clears the
	// username's (or this device's) failures, and gives back the one slot
	// it took under every other counter; never more, or one account of its
	// own would let an attacker reset the limit of the address it guesses
	// other accounts from.
	released := make(chan error, 1)
	go func() { released <- s.Attempts.Release(ctx, []string{counters[0].Key}, throttle.Keys(counters[1:])) }()
	// The password was the one method this login used (RFC 8176 "pwd").
	c.AMR, c.AuthTime = []string{"pwd"}, now
	iss, err := s.startSession(ctx, u, c, now)
	if rerr := <-released; rerr != nil {
		// Not worth failing a login for: the slot stays counted.
		s.log().WarnContext(ctx, "guess not given back", "event", "throttle_release_failed", "user_id", u.ID, "error", rerr.Error())
	}
	if err != nil {
		return Pair{}, err
	}
	token, err := device.Issue(ring, name, iss.Session.Epoch, now, s.Rand)
	if err != nil {
		return Pair{}, apierr.Internal.With(err)
	}
	s.log().InfoContext(ctx, "login", "event", "login_succeeded", "user_id", u.ID, "session_id", iss.Session.ID, "ip", c.IP, "trusted_device", trusted)
	p, err := s.pair(ctx, iss, now, &u)
	if err != nil {
		return Pair{}, err
	}
	p.DeviceToken = token
	return p, nil
}

// startSession starts a session for u, whose password was just verified
// against the record read at the start of the login. If the user's
// credentials changed meanwhile (a password change or an end-all moved the
// epoch), the session is not created; the login may go on only if the
// password it verified is still the user's, under the new epoch.
func (s *Service) startSession(ctx context.Context, u users.User, c Client, now time.Time) (sessions.Issued, error) {
	owner := func(u users.User) sessions.Owner {
		return sessions.Owner{UserID: u.ID, Username: u.Username, Epoch: u.Epoch, Sessions: u.Sessions}
	}
	iss, err := s.Sessions.Start(ctx, owner(u), c, now)
	if !errors.Is(err, sessions.ErrStale) {
		if err != nil {
			return sessions.Issued{}, storeError(err)
		}
		return iss, nil
	}
	fresh, err := s.Users.GetUser(ctx, u.Username)
	if err != nil && !errors.Is(err, users.ErrNotFound) {
		return sessions.Issued{}, storeError(err)
	}
	if err != nil || fresh.ID != u.ID || fresh.PasswordHash != u.PasswordHash || fresh.Locked {
		s.log().WarnContext(ctx, "login raced a password change", "event", "login_stale", "user_id", u.ID, "ip", c.IP)
		return sessions.Issued{}, apierr.InvalidCredentials.With(sessions.ErrStale)
	}
	iss, err = s.Sessions.Start(ctx, owner(fresh), c, now)
	if errors.Is(err, sessions.ErrStale) {
		return sessions.Issued{}, apierr.Unavailable.With(err)
	}
	if err != nil {
		return sessions.Issued{}, storeError(err)
	}
	return iss, nil
}

// loginCounters are the attempt keys a login is throttled on, first the one
// a success resets. A client with a device token issued for the username
// under the server key is throttled on that token and on all of the
// username's device tokens together (dev is the token; whether it is still
// trusted is decided on the user's record). Any other client (no token, a
// malformed one, one made up or issued for another username) is a stranger.
func (s *Service) loginCounters(ring mac.Keyring, name, deviceToken string, c Client) ([]throttle.Counter, *device.Token) {
	if deviceToken != "" {
		if t, err := device.Check(ring, name, deviceToken); err == nil {
			counters := []throttle.Counter{{Key: t.Key(), Policy: s.Throttle}}
			if s.DeviceThrottle.MaxFailures > 0 {
				counters = append(counters, throttle.Counter{Key: throttle.DevicesKey(name), Policy: s.DeviceThrottle})
			}
			return counters, &t
		}
	}
	return s.strangerCounters(name, c), nil
}

// strangerCounters throttle a client without a trusted device token on the
// username, shared by all such clients, and on its source address: an IPv4
// address, or an IPv6 /64, /56 and /48 together.
func (s *Service) strangerCounters(name string, c Client) []throttle.Counter {
	counters := []throttle.Counter{{Key: throttle.UserKey(name), Policy: s.Throttle}}
	policies := []throttle.Policy{s.IPThrottle, s.IP56Throttle, s.IP48Throttle}
	for i, k := range throttle.IPKeys(c.IP) {
		if i == 0 || policies[i].MaxFailures > 0 {
			counters = append(counters, throttle.Counter{Key: k, Policy: policies[i]})
		}
	}
	return counters
}

func (s *Service) keyring(ctx context.Context) (mac.Keyring, error) {
	if s.MAC == nil {
		return mac.Keyring{}, apierr.Internal.With(errors.New("auth: no MAC key source"))
	}
	ring, err := s.MAC.Keyring(ctx)
	if err != nil {
		return mac.Keyring{}, apierr.Unavailable.With(fmt.Errorf("auth: MAC key: %w", err))
	}
	return ring, nil
}

// reserve takes a guess's slot under every counter before the guess is
// checked (throttle.Store.Reserve), and returns 429 too_many_attempts with
// the longest wait when any counter is locked. Every guess at a secret goes
// through it: the login's password, the password change's current password,
// and the codes of the flows to come.
func (s *Service) reserve(ctx context.Context, counters []throttle.Counter, now time.Time, attrs ...any) (throttle.Reservation, error) {
	res, err := s.Attempts.Reserve(ctx, counters, now)
	if err != nil {
		return throttle.Reservation{}, storeError(err)
	}
	return res, s.refused(ctx, counters, res, now, attrs...)
}

// refused is nil for a reservation that was made, else the 429 with the
// longest wait, logged.
func (s *Service) refused(ctx context.Context, counters []throttle.Counter, res throttle.Reservation, now time.Time, attrs ...any) error {
	if res.OK {
		return nil
	}
	for i := range counters {
		counters[i].State = res.States[i]
	}
	wait, at := throttle.Longest(counters, now)
	if at < 0 {
		// A store that reserves per counter (DynamoDB) refused on a lock
		// that ended since: the client may try again at once.
		wait, at = time.Second, 0
	}
	k := counters[at]
	attrs = append([]any{"event", "login_throttled", "throttle", label(k.Key), "failures", k.State.Failures, "retry_after_s", int(wait.Seconds() + 0.5)}, attrs...)
	s.log().WarnContext(ctx, "login throttled", attrs...)
	e := *apierr.TooManyAttempts
	e.RetryAfter = wait
	return &e
}

// kind is the kind of an attempt key (user, ip, device, devices, session),
// for logs.
func kind(key string) string {
	k, _, _ := strings.Cut(key, "#")
	return k
}

// label names an attempt key's counter in the log: its kind, and for the
// wider IPv6 blocks their size (ip56, ip48; the /64 is plain ip).
func label(key string) string {
	k := kind(key)
	if _, bits, ok := strings.Cut(key, "/"); ok && k == "ip" && bits != "64" {
		return k + bits
	}
	return k
}

// loginFailed logs a failed login with the failures its reservation counted
// under every counter of the attempt; nothing more is written.
func (s *Service) loginFailed(ctx context.Context, name, userID string, counters []throttle.Counter, c Client) error {
	attrs := append(s.who(ctx, name, userID), "event", "login_failed", "ip", c.IP)
	for _, k := range counters {
		attrs = append(attrs, label(k.Key)+"_failures", k.State.Failures)
	}
	s.log().WarnContext(ctx, "login failed", attrs...)
	return apierr.InvalidCredentials
}

// who names the user of a login attempt in the log without the username as
// typed: the user id of an existing account, else the name's fingerprint.
func (s *Service) who(ctx context.Context, name, userID string) []any {
	if userID != "" {
		return []any{"user_id", userID}
	}
	if s.Fingerprint != nil {
		if fp := s.Fingerprint(ctx, name); fp != "" {
			return []any{"username_fp", fp}
		}
	}
	return nil
}

// Refresh rotates a refresh token and returns the new pair. ticket is the
// retry ticket of an earlier attempt with the same token that ended in a
// 503, or empty.
func (s *Service) Refresh(ctx context.Context, refreshToken, ticket string) (Pair, error) {
	return s.RefreshWithKey(ctx, refreshToken, ticket, "")
}

// RefreshWithKey is Refresh for a request that came with a valid DPoP proof
// by the key of thumbprint jkt (empty: without one). A session bound to a
// key refreshes only with a proof by that key: without one (or with
// another key's) it is 400 invalid_dpop_proof and nothing changes.
func (s *Service) RefreshWithKey(ctx context.Context, refreshToken, ticket, jkt string) (Pair, error) {
	now := s.now()
	iss, err := s.Sessions.RotateWithKey(ctx, refreshToken, ticket, jkt, now)
	switch {
	case errors.Is(err, sessions.ErrKeyMismatch):
		// The token is genuine and current (or just superseded), the key is
		// not the session's: a stolen token, or a client that lost its key.
		// The session goes on for whoever holds the key.
		reason := "other_key"
		if jkt == "" {
			reason = "no_proof"
		}
		if iss.Session.JKT == "" {
			reason = "bearer_session"
		}
		s.log().WarnContext(ctx, "refresh without the session's DPoP key", "event", "refresh_key_mismatch", "reason", reason, "user_id", iss.Session.UserID, "session_id", iss.Session.ID)
		return Pair{}, apierr.InvalidDPoPProof.With(err)
	case errors.Is(err, sessions.ErrReused):
		s.log().WarnContext(ctx, "refresh token reused; session revoked", "event", "reuse_detected", "user_id", iss.Session.UserID, "session_id", iss.Session.ID)
		return Pair{}, apierr.InvalidGrant.With(err)
	case errors.Is(err, sessions.ErrForged):
		s.forged(ctx, "refresh", refreshToken)
		return Pair{}, apierr.InvalidGrant.With(err)
	case errors.Is(err, sessions.ErrMalformedTicket):
		return Pair{}, apierr.InvalidRequest.Describe("The retry_ticket is malformed.").With(err)
	case errors.Is(err, sessions.ErrMalformedToken), errors.Is(err, sessions.ErrUnknown), errors.Is(err, sessions.ErrExpired):
		return Pair{}, apierr.InvalidGrant.With(err)
	case errors.Is(err, sessions.ErrRevoked):
		s.log().InfoContext(ctx, "refresh of a session ended by revoke-all", "event", "session_revoked", "reason", "revoke_all", "user_id", iss.Session.UserID, "session_id", iss.Session.ID)
		return Pair{}, apierr.InvalidGrant.With(err)
	case errors.Is(err, sessions.ErrSuperseded):
		// Left behind by a password change, an end-all or a lock whose
		// deletes failed: it ended with its owner's old credentials.
		s.log().WarnContext(ctx, "refresh of a session of an older credential epoch", "event", "session_revoked", "reason", "old_epoch", "user_id", iss.Session.UserID, "session_id", iss.Session.ID)
		return Pair{}, apierr.InvalidGrant.With(err)
	case err != nil:
		return Pair{}, retryable(storeError(err), iss.Ticket)
	}
	if iss.Replayed {
		// Inside the grace window, or (a bound session, with its key's
		// proof) a lost answer retried at any time after.
		s.log().InfoContext(ctx, "superseded refresh token answered with its successor", "event", "refresh_replayed", "user_id", iss.Session.UserID, "session_id", iss.Session.ID, "dpop", iss.Session.JKT != "")
	}
	p, err := s.pair(ctx, iss, now, nil)
	if err != nil {
		// The rotation is stored but its token never reaches the client: the
		// ticket lets the client's retry collect it.
		return Pair{}, retryable(err, iss.Ticket)
	}
	return p, nil
}

// retryable adds the retry ticket to a server-side failure of a refresh: the
// rotation may have been stored, so the client's retry must be able to
// collect it (the HTTP layer turns a failure past the deadline into a 503).
func retryable(err error, ticket string) error {
	e := apierr.From(err)
	if e.Status < http.StatusInternalServerError || ticket == "" {
		return err
	}
	return e.WithField("retry_ticket", ticket)
}

// forged logs a well-formed refresh token that this server never issued: it
// changed nothing, but someone is guessing at a session they may know the id of.
func (s *Service) forged(ctx context.Context, flow, raw string) {
	attrs := []any{"event", "refresh_token_forged", "flow", flow}
	if t, err := sessions.ParseRefreshToken(raw); err == nil {
		attrs = append(attrs, "session_id", t.SessionID)
	}
	s.log().WarnContext(ctx, "refresh token not issued by this server", attrs...)
}

// Logout ends the session of a refresh token.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	sess, err := s.Sessions.Revoke(ctx, refreshToken)
	switch {
	case errors.Is(err, sessions.ErrForged):
		s.forged(ctx, "logout", refreshToken)
		return apierr.InvalidToken.Describe("The refresh token is invalid, expired or revoked.").With(err)
	case errors.Is(err, sessions.ErrMalformedToken), errors.Is(err, sessions.ErrUnknown):
		return apierr.InvalidToken.Describe("The refresh token is invalid, expired or revoked.").With(err)
	case err != nil:
		return storeError(err)
	}
	s.log().InfoContext(ctx, "logout", "event", "session_revoked", "reason", "logout", "session_id", sess.ID)
	return nil
}

// pair issues the token response of a session. u is the user a login read
// (nil on a refresh, which reads no user): its address becomes the access
// token's email claims.
func (s *Service) pair(ctx context.Context, iss sessions.Issued, now time.Time, u *users.User) (Pair, error) {
	// amr and auth_time are the session's: a refresh keeps how and when the
	// user authenticated, it never upgrades or downgrades them.
	sub := token.Subject{UserID: iss.Session.UserID, Username: iss.Session.Username, SessionID: iss.Session.ID,
		AMR: iss.Session.Methods(), AuthTime: iss.Session.AuthenticatedAt(), JKT: iss.Session.JKT}
	if u != nil {
		sub.Email, sub.EmailVerified = u.Email, u.EmailVerified
	}
	at, err := s.Tokens.Issue(ctx, sub, now)
	if err != nil {
		return Pair{}, apierr.Unavailable.With(err)
	}
	return Pair{
		AccessToken:      at,
		AccessExpiresIn:  s.Tokens.TTL,
		RefreshToken:     iss.RefreshToken,
		RefreshExpiresIn: iss.Session.ExpiresAt.Sub(now),
		SessionID:        iss.Session.ID,
		UserID:           iss.Session.UserID,
		JKT:              iss.Session.JKT,
	}, nil
}

func (s *Service) newUserID() (string, error) {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("auth: user id: %w", err)
	}
	return "usr_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// storeError turns a store failure into the public error: a timeout or a
// cancelled context is "try again" (503), anything else a 500. The cause is
// kept for the log.
func storeError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return apierr.Unavailable.With(err)
	}
	return apierr.Internal.With(err)
}

// publicReason is the description of a validation error, without its package prefix.
func publicReason(err error) string {
	switch {
	case errors.Is(err, users.ErrBadUsername):
		return fmt.Sprintf("username must be %d to %d characters: letters of one script, digits and . _ - @ +", users.MinUsernameLen, users.MaxUsernameLen)
	case errors.Is(err, password.ErrTooShort):
		return fmt.Sprintf("password must be at least %d bytes", password.MinLength)
	case errors.Is(err, password.ErrTooLong):
		return fmt.Sprintf("password must be at most %d bytes", password.MaxLength)
	case errors.Is(err, password.ErrNotUTF8):
		return "password must be valid UTF-8"
	}
	return "invalid request"
}
