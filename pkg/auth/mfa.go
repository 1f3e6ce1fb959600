package auth

import (
	"context"
	"errors"
	"time"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/device"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/mfa"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/password"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/totp"
	"github.com/rotor-auth/rotor/pkg/users"
)

// RecentLogin is how recent a session's login must be for enrolment without
// the current password.
const RecentLogin = 5 * time.Minute

// The authentication methods (RFC 8176) of a session.
var (
	amrPassword = []string{"pwd"}
	amrTOTP     = []string{"pwd", "otp", "mfa"}
	amrRecovery = []string{"pwd", "mfa"}
)

// MFAMethods are the second-step methods an mfa_required answer offers.
var MFAMethods = []string{"totp", "recovery_code"}

// errNoFactors means the service was built without an mfa.Store.
var errNoFactors = errors.New("auth: no factor store")

// Data key of the factor notices: what was added or removed.
const DataFactor = "factor"

func (s *Service) factors() (mfa.Store, error) {
	if s.Factors == nil {
		return nil, apierr.Internal.With(errNoFactors)
	}
	return s.Factors, nil
}

// mfaIssuer names the service in authenticator apps.
func (s *Service) mfaIssuer() string {
	if s.MFAIssuer != "" {
		return s.MFAIssuer
	}
	return "Rotor"
}

// Enrolment is a pending TOTP factor as the user's app reads it.
type Enrolment struct {
	Secret string `json:"secret"`
	URI    string `json:"otpauth_uri"`
}

// EnrolTOTP starts a TOTP enrolment for the caller: a fresh secret, sealed
// at rest, pending until ConfirmTOTP. The caller's session must be alive
// and either started by a login within RecentLogin or the current password
// given (counted per session before it is checked, as /auth/password
// counts it). A user with a confirmed factor must remove it first; a
// pending one is replaced.
func (s *Service) EnrolTOTP(ctx context.Context, c Caller, currentPassword string, client Client) (Enrolment, error) {
	st, err := s.factors()
	if err != nil {
		return Enrolment{}, err
	}
	now := s.now()
	l, err := s.live(ctx, "mfa_enrol", c, nil, now)
	if err != nil {
		return Enrolment{}, err
	}
	if err := s.recentAuth(ctx, c, l.User, l.Session.CreatedAt, currentPassword, now); err != nil {
		return Enrolment{}, err
	}
	ring, err := s.keyring(ctx)
	if err != nil {
		return Enrolment{}, err
	}
	key, err := totp.NewKey(s.mfaIssuer(), l.User.Username, s.Rand)
	if err != nil {
		return Enrolment{}, apierr.Internal.With(err)
	}
	sealed, err := mfa.Seal(ring, c.UserID, key.Secret, s.Rand)
	if err != nil {
		return Enrolment{}, apierr.Internal.With(err)
	}
	switch err := st.PutFactor(ctx, mfa.Factor{UserID: c.UserID, Sealed: sealed, CreatedAt: now}); {
	case errors.Is(err, mfa.ErrEnrolled):
		return Enrolment{}, apierr.MFAEnrolled.With(err)
	case err != nil:
		return Enrolment{}, storeError(err)
	}
	s.log().InfoContext(ctx, "mfa enrolment started", "event", "mfa_enrol_started", "user_id", c.UserID, "session_id", c.SessionID, "ip", client.IP)
	return Enrolment{Secret: key.Secret, URI: key.URI}, nil
}

// recentAuth lets a session act on the account's factors when its login is
// recent (within RecentLogin) or the current password is given and right.
func (s *Service) recentAuth(ctx context.Context, c Caller, u users.User, loginAt time.Time, current string, now time.Time) error {
	if current == "" {
		if now.Sub(loginAt) <= RecentLogin {
			return nil
		}
		return apierr.InvalidRequest.Describe("current_password is required: this session's login is older than %d minutes.", int(RecentLogin/time.Minute))
	}
	if len(current) > password.MaxLength {
		return apierr.InvalidRequest.Describe("current_password must be 1 to %d bytes", password.MaxLength)
	}
	return s.checkCurrentPassword(ctx, c, u, current, now, "mfa change refused: wrong password", "mfa_reauth_failed")
}

// checkCurrentPassword checks current, the caller's current password, as a
// guess counted per session before it is checked (a burst verifies no more
// than the limit; a stranger who locked the username's logins cannot keep
// the owner from the route). A wrong one is logged as event with msg and
// answers invalid_credentials. The password change has its own (its retry
// rule), in account.go.
func (s *Service) checkCurrentPassword(ctx context.Context, c Caller, u users.User, current string, now time.Time, msg, event string) error {
	guess := []throttle.Counter{{Key: throttle.SessionKey(c.SessionID), Policy: s.Throttle}}
	if _, err := s.reserve(ctx, guess, now, "user_id", c.UserID, "session_id", c.SessionID); err != nil {
		return err
	}
	if err := s.Passwords.Verify(ctx, current, u.PasswordHash); err != nil {
		if ctx.Err() != nil {
			return storeError(err)
		}
		s.log().WarnContext(ctx, msg, "event", event, "user_id", u.ID, "session_id", c.SessionID)
		return apierr.InvalidCredentials.Describe("The current password is incorrect.").With(err)
	}
	return nil
}

// proof is a second factor given to a flow: a TOTP code or a recovery code.
type proof struct {
	code, recovery string
}

// checked is a proof that verified against a factor: what the store's
// conditional write must accept.
type checked struct {
	step int64  // the TOTP step, or 0
	hash string // the stored hash of the recovery code, or ""
}

// guessCounters are the counters a second-factor guess takes a slot under:
// the user's, and the mfa_token's when there is one.
func (s *Service) guessCounters(userID, tokenID string) []throttle.Counter {
	cs := []throttle.Counter{{Key: throttle.MFAUserKey(userID), Policy: s.Throttle}}
	if tokenID != "" {
		cs = append(cs, throttle.Counter{Key: throttle.MFATokenKey(tokenID), Policy: s.Throttle})
	}
	return cs
}

// check verifies p against f (whose secret is opened under ring), after the
// caller reserved the guess. A wrong code is 400 invalid_code; its slot
// stays counted. A factor whose key an emergency MAC rotation removed from
// the ring (mfa.ErrKeyGone) answers as a wrong code too — nothing can
// verify against it, and the step after the password must not tell more —
// and logs the security event mfa_key_gone, whose runbook is rotor users
// mfa reset (docs/OPERATIONS.md). Any other unreadable secret (tampered
// with, sealed for another user) is a 500 and mfa_secret_unreadable.
func (s *Service) check(ctx context.Context, ring mac.Keyring, f mfa.Factor, p proof, now time.Time, attrs ...any) (checked, error) {
	if p.recovery != "" {
		code, err := mfa.NormalizeRecoveryCode(p.recovery)
		if err == nil {
			var hash string
			hash, err = mfa.MatchRecoveryCode(ring, f.UserID, code, f.Codes)
			if err == nil {
				return checked{hash: hash}, nil
			}
		}
		if errors.Is(err, mfa.ErrKeyGone) {
			s.keyGone(ctx, "recovery_code", attrs...)
			return checked{}, apierr.InvalidCode.With(err)
		}
		s.log().WarnContext(ctx, "wrong recovery code", append([]any{"event", "mfa_failed", "method", "recovery_code"}, attrs...)...)
		return checked{}, apierr.InvalidCode
	}
	secret, err := mfa.Open(ring, f.UserID, f.Sealed)
	if errors.Is(err, mfa.ErrKeyGone) {
		s.keyGone(ctx, "totp", attrs...)
		return checked{}, apierr.InvalidCode.With(err)
	}
	if err != nil {
		s.log().ErrorContext(ctx, "TOTP secret cannot be opened", append([]any{"event", "mfa_secret_unreadable"}, attrs...)...)
		return checked{}, apierr.Internal.With(err)
	}
	step, ok := totp.Match(secret, p.code, now)
	if !ok {
		s.log().WarnContext(ctx, "wrong TOTP code", append([]any{"event", "mfa_failed", "method", "totp"}, attrs...)...)
		return checked{}, apierr.InvalidCode
	}
	return checked{step: step}, nil
}

// keyGone logs a second factor that can no longer be checked: its key left
// the ring in an emergency MAC rotation. The user cannot pass the step; the
// operator's way out is rotor users mfa reset (after checking who asks).
func (s *Service) keyGone(ctx context.Context, method string, attrs ...any) {
	s.log().ErrorContext(ctx, "second factor stored under a MAC key that is gone (emergency rotation): rotor users mfa reset",
		append([]any{"event", "mfa_key_gone", "method", method}, attrs...)...)
}

// used answers what UseFactor refused.
func (s *Service) used(ctx context.Context, err error, attrs ...any) error {
	switch {
	case errors.Is(err, mfa.ErrReplayed), errors.Is(err, mfa.ErrCodeUsed):
		s.log().WarnContext(ctx, "second factor replayed", append([]any{"event", "mfa_replayed"}, attrs...)...)
		return apierr.InvalidCode.With(err)
	case errors.Is(err, mfa.ErrNoChallenge), errors.Is(err, mfa.ErrChallengeUsed), errors.Is(err, mfa.ErrChallengeExpired):
		s.log().WarnContext(ctx, "mfa_token refused", append([]any{"event", "mfa_token_refused", "reason", err.Error()}, attrs...)...)
		return apierr.InvalidMFAToken.With(err)
	case errors.Is(err, mfa.ErrNoFactor):
		return apierr.MFANotEnrolled.With(err)
	case errors.Is(err, mfa.ErrEnrolled):
		return apierr.MFAEnrolled.With(err)
	}
	return storeError(err)
}

// release gives back the slots a right second factor took (the one slot
// under each counter: never a reset, or the owner's logins would give
// whoever knows the password more guesses).
func (s *Service) release(ctx context.Context, counters []throttle.Counter) {
	if err := s.Attempts.Release(ctx, nil, throttle.Keys(counters)); err != nil {
		s.log().WarnContext(ctx, "guess not given back", "event", "throttle_release_failed", "error", err.Error())
	}
}

// notice is an outbox message of kind k to u's verified address, or none
// (a message with no id, which the stores skip) when u has none.
func (s *Service) notice(k outbox.Kind, u users.User, factor string, c Client, now time.Time) (outbox.Message, error) {
	if u.Email == "" || !u.EmailVerified {
		return outbox.Message{}, nil
	}
	m, err := s.message(k, u.Email, u.ID, u.Username, nil, c, now)
	if err != nil {
		return outbox.Message{}, err
	}
	if factor != "" {
		m.Data[DataFactor] = factor
	}
	return m, nil
}

// factorAct runs an account route's second-factor step for the caller:
// the session alive, the guess reserved under the user's counter, the
// factor read (pending only when pending is true), the proof checked.
func (s *Service) factorAct(ctx context.Context, route string, c Caller, p proof, pending bool) (liveSession, mfa.Factor, checked, mac.Keyring, error) {
	var zero checked
	st, err := s.factors()
	if err != nil {
		return liveSession{}, mfa.Factor{}, zero, mac.Keyring{}, err
	}
	now := s.now()
	l, err := s.live(ctx, route, c, nil, now)
	if err != nil {
		return liveSession{}, mfa.Factor{}, zero, mac.Keyring{}, err
	}
	if p.code != "" && totp.CheckCode(p.code) != nil {
		return liveSession{}, mfa.Factor{}, zero, mac.Keyring{}, apierr.InvalidRequest.Describe("code must be 6 digits")
	}
	f, err := st.GetFactor(ctx, c.UserID)
	switch {
	case errors.Is(err, mfa.ErrNoFactor), err == nil && f.Confirmed == pending:
		if pending && err == nil {
			return liveSession{}, mfa.Factor{}, zero, mac.Keyring{}, apierr.MFAEnrolled
		}
		return liveSession{}, mfa.Factor{}, zero, mac.Keyring{}, apierr.MFANotEnrolled.With(err)
	case err != nil:
		return liveSession{}, mfa.Factor{}, zero, mac.Keyring{}, storeError(err)
	}
	ring, err := s.keyring(ctx)
	if err != nil {
		return liveSession{}, mfa.Factor{}, zero, mac.Keyring{}, err
	}
	counters := s.guessCounters(c.UserID, "")
	if _, err := s.reserve(ctx, counters, now, "user_id", c.UserID, "session_id", c.SessionID, "flow", route); err != nil {
		return liveSession{}, mfa.Factor{}, zero, mac.Keyring{}, err
	}
	ok, err := s.check(ctx, ring, f, p, now, "user_id", c.UserID, "session_id", c.SessionID, "flow", route)
	if err != nil {
		return liveSession{}, mfa.Factor{}, zero, mac.Keyring{}, err
	}
	s.release(ctx, counters)
	return l, f, ok, ring, nil
}

// ConfirmTOTP confirms the caller's pending factor with a code from the app
// and returns the recovery codes, shown this once; the store keeps only
// their keyed hashes. The code's step is the first one accepted.
func (s *Service) ConfirmTOTP(ctx context.Context, c Caller, code string, client Client) ([]string, error) {
	l, f, ok, ring, err := s.factorAct(ctx, "mfa_confirm", c, proof{code: code}, true)
	if err != nil {
		return nil, err
	}
	codes, hashes, err := s.newCodes(ring, c.UserID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	m, err := s.notice(outbox.FactorAdded, l.User, "an authenticator app (TOTP)", client, now)
	if err != nil {
		return nil, err
	}
	err = s.Factors.UseFactor(ctx, mfa.Use{UserID: c.UserID, CreatedAt: f.CreatedAt, Now: now, Step: ok.step, Confirm: true, Codes: hashes, Messages: []outbox.Message{m}})
	if err != nil {
		return nil, s.used(ctx, err, "user_id", c.UserID, "flow", "mfa_confirm")
	}
	n := s.endOthers(ctx, l, c, now)
	s.log().InfoContext(ctx, "second factor added", "event", "mfa_enrolled", "method", "totp", "user_id", c.UserID, "session_id", c.SessionID, "ip", client.IP, "sessions_revoked", n)
	return codes, nil
}

// endOthers ends every session of the caller's user but the caller's own,
// once a factor is confirmed: a session a thief started with the password
// alone (or a refresh token taken before) must not outlive the factor that
// was added to shut them out. The caller's session, which just proved the
// factor, goes on. Failures are logged: the factor is confirmed already,
// and the user can end the sessions (logout-all) themselves.
func (s *Service) endOthers(ctx context.Context, l liveSession, c Caller, now time.Time) int {
	fail := func(err error) {
		s.log().ErrorContext(ctx, "sessions not ended after MFA enrolment", "event", "mfa_sessions_not_ended", "user_id", c.UserID, "cause", err.Error())
	}
	list, err := s.Sessions.ListWithWatermark(ctx, l.User.Username, c.UserID, l.Watermark, now)
	if err != nil {
		fail(err)
		return 0
	}
	n := 0
	for _, x := range list {
		if x.ID == c.SessionID {
			continue
		}
		switch err := s.Sessions.End(ctx, c.UserID, x.ID); {
		case err == nil:
			n++
		case !errors.Is(err, sessions.ErrUnknown):
			fail(err)
		}
	}
	return n
}

func (s *Service) newCodes(ring mac.Keyring, userID string) (codes, hashes []string, err error) {
	codes, err = mfa.NewRecoveryCodes(s.Rand)
	if err != nil {
		return nil, nil, apierr.Internal.With(err)
	}
	for _, code := range codes {
		n, _ := mfa.NormalizeRecoveryCode(code)
		hashes = append(hashes, mfa.HashRecoveryCode(ring, userID, n))
	}
	return codes, hashes, nil
}

// RegenerateRecoveryCodes replaces the caller's recovery codes with a new
// set (the old set is void in the same write) on a current TOTP code, and
// tells the user.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, c Caller, code string, client Client) ([]string, error) {
	l, f, ok, ring, err := s.factorAct(ctx, "mfa_recovery_codes", c, proof{code: code}, false)
	if err != nil {
		return nil, err
	}
	codes, hashes, err := s.newCodes(ring, c.UserID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	m, err := s.notice(outbox.FactorAdded, l.User, "a new set of recovery codes (the old set no longer works)", client, now)
	if err != nil {
		return nil, err
	}
	if err := s.Factors.UseFactor(ctx, mfa.Use{UserID: c.UserID, CreatedAt: f.CreatedAt, Now: now, Step: ok.step, Codes: hashes, Messages: []outbox.Message{m}}); err != nil {
		return nil, s.used(ctx, err, "user_id", c.UserID, "flow", "mfa_recovery_codes")
	}
	s.log().InfoContext(ctx, "recovery codes regenerated", "event", "mfa_recovery_codes_regenerated", "user_id", c.UserID, "session_id", c.SessionID, "ip", client.IP)
	return codes, nil
}

// RemoveTOTP removes the caller's factor on a current TOTP code or an
// unused recovery code (spent by the removal), and tells the user.
func (s *Service) RemoveTOTP(ctx context.Context, c Caller, code, recovery string, client Client) error {
	l, f, ok, _, err := s.factorAct(ctx, "mfa_remove", c, proof{code: code, recovery: recovery}, false)
	if err != nil {
		return err
	}
	now := s.now()
	m, err := s.notice(outbox.FactorRemoved, l.User, "an authenticator app (TOTP)", client, now)
	if err != nil {
		return err
	}
	if err := s.Factors.UseFactor(ctx, mfa.Use{UserID: c.UserID, CreatedAt: f.CreatedAt, Now: now, Step: ok.step, Code: ok.hash, Remove: true, Messages: []outbox.Message{m}}); err != nil {
		return s.used(ctx, err, "user_id", c.UserID, "flow", "mfa_remove")
	}
	s.log().InfoContext(ctx, "second factor removed", "event", "mfa_removed", "user_id", c.UserID, "session_id", c.SessionID, "ip", client.IP, "with_recovery_code", ok.hash != "")
	return nil
}

// enrolled reports whether userID has a confirmed factor (a store failure
// is returned as is).
func (s *Service) enrolled(ctx context.Context, userID string) (bool, error) {
	if s.Factors == nil {
		return false, nil
	}
	f, err := s.Factors.GetFactor(ctx, userID)
	if errors.Is(err, mfa.ErrNoFactor) {
		return false, nil
	}
	return err == nil && f.Confirmed, err
}

// mfaRequired ends the first step of an enrolled user's login: an
// mfa_token bound to the user, the credential epoch, the login's device
// token and the key of its DPoP proof (c.JKT), stored as a record (id only; the token is MAC'd), answered as 403
// mfa_required.
func (s *Service) mfaRequired(ctx context.Context, ring mac.Keyring, u users.User, deviceToken string, c Client, now time.Time) error {
	tok, id, err := mfa.NewToken(ring, s.Rand)
	if err != nil {
		return apierr.Internal.With(err)
	}
	ch := mfa.Challenge{ID: id, UserID: u.ID, Username: u.Username, Epoch: u.Epoch, Device: mfa.LoginBinding(ring, deviceToken, c.JKT), CreatedAt: now, ExpiresAt: now.Add(mfa.TokenTTL)}
	if err := s.Factors.PutChallenge(ctx, ch); err != nil {
		return storeError(err)
	}
	methods, err := s.mfaMethods(ctx, u)
	if err != nil {
		return err
	}
	s.log().InfoContext(ctx, "second factor required", "event", "mfa_required", "user_id", u.ID, "ip", c.IP)
	return apierr.MFARequired.WithField("mfa_token", tok).WithList("mfa_methods", methods...)
}

// refuseMFAToken logs why an mfa_token is refused and answers 401
// invalid_mfa_token.
func (s *Service) refuseMFAToken(ctx context.Context, reason string, cause error, attrs []any) error {
	s.log().WarnContext(ctx, "mfa_token refused", append([]any{"event", "mfa_token_refused", "reason", reason}, attrs...)...)
	return apierr.InvalidMFAToken.With(cause)
}

// openMFAToken is what every second step checks of an mfa_token before a
// guess is counted: it verifies under the server key (no store read
// otherwise) and names a record unused, unexpired and bound to this
// login's device token. It does not use the record: the step's own store
// write does, with the proof.
func (s *Service) openMFAToken(ctx context.Context, st mfa.Store, raw, deviceToken string, c Client, now time.Time) (mac.Keyring, mfa.Challenge, []any, error) {
	if _, err := mfa.ParseToken(raw); err != nil {
		return mac.Keyring{}, mfa.Challenge{}, nil, apierr.InvalidMFAToken.With(err)
	}
	ring, err := s.keyring(ctx)
	if err != nil {
		return mac.Keyring{}, mfa.Challenge{}, nil, err
	}
	t, err := mfa.CheckToken(ring, raw)
	if err != nil {
		s.log().WarnContext(ctx, "mfa_token not issued by this server", "event", "mfa_token_forged", "ip", c.IP)
		return mac.Keyring{}, mfa.Challenge{}, nil, apierr.InvalidMFAToken.With(err)
	}
	ch, err := st.GetChallenge(ctx, t.ID)
	switch {
	case errors.Is(err, mfa.ErrNoChallenge):
		return mac.Keyring{}, mfa.Challenge{}, nil, apierr.InvalidMFAToken.With(err)
	case err != nil:
		return mac.Keyring{}, mfa.Challenge{}, nil, storeError(err)
	}
	attrs := []any{"user_id", ch.UserID, "ip", c.IP, "flow", "mfa_verify"}
	switch {
	case !ch.UsedAt.IsZero():
		err = s.refuseMFAToken(ctx, "used", mfa.ErrChallengeUsed, attrs)
	case !now.Before(ch.ExpiresAt):
		err = s.refuseMFAToken(ctx, "expired", mfa.ErrChallengeExpired, attrs)
	case !mfa.BoundToLogin(ring, ch.Device, deviceToken, c.JKT):
		// The device token, and the DPoP key of a login made with a
		// proof: a stolen mfa_token is no use without the login's key.
		err = s.refuseMFAToken(ctx, "other_device", errors.New("auth: mfa_token of another device token or DPoP key"), attrs)
	}
	if err != nil {
		return mac.Keyring{}, mfa.Challenge{}, nil, err
	}
	return ring, ch, attrs, nil
}

// stepAccount reads the user and the factor of an mfa_token's record at
// once (one round trip of latency) and refuses the token when the user is
// gone, locked or of another credential epoch (a password change or reset,
// an end-all or a lock since the login: whatever it granted ended with
// it), or has no confirmed factor.
func (s *Service) stepAccount(ctx context.Context, st mfa.Store, ch mfa.Challenge, attrs []any) (users.User, mfa.Factor, error) {
	var f mfa.Factor
	var ferr error
	read := make(chan struct{})
	go func() {
		defer close(read)
		f, ferr = st.GetFactor(ctx, ch.UserID)
	}()
	u, err := s.Users.GetUser(ctx, ch.Username)
	<-read
	switch {
	case errors.Is(err, users.ErrNotFound):
		return users.User{}, mfa.Factor{}, s.refuseMFAToken(ctx, "no_user", err, attrs)
	case err != nil:
		return users.User{}, mfa.Factor{}, storeError(err)
	case u.ID != ch.UserID || u.Epoch != ch.Epoch || u.Locked:
		return users.User{}, mfa.Factor{}, s.refuseMFAToken(ctx, "stale", users.ErrStale, attrs)
	}
	switch {
	case errors.Is(ferr, mfa.ErrNoFactor) || (ferr == nil && !f.Confirmed):
		return users.User{}, mfa.Factor{}, s.refuseMFAToken(ctx, "no_factor", mfa.ErrNoFactor, attrs)
	case ferr != nil:
		return users.User{}, mfa.Factor{}, storeError(ferr)
	}
	return u, f, nil
}

// VerifyMFA is a login's second step: the mfa_token of its mfa_required
// answer and a TOTP code or a recovery code. The token must verify under
// the server key (no store read otherwise), name an unused, unexpired record
// of this login's device token and of the user's current credential epoch.
// The guess takes a slot under the user's and the token's counters before
// it is checked; the store accepts the code's time step (or spends the
// recovery code) and uses the token in one conditional write, so of two
// racing verifies of one code exactly one gets a token response. The
// session starts as a login's does, with the methods used.
func (s *Service) VerifyMFA(ctx context.Context, raw, code, recovery, deviceToken string, c Client) (Pair, error) {
	st, err := s.factors()
	if err != nil {
		return Pair{}, err
	}
	if (code == "") == (recovery == "") {
		return Pair{}, apierr.InvalidRequest.Describe(`Send "code" or "recovery_code", one of them.`)
	}
	if code != "" && totp.CheckCode(code) != nil {
		return Pair{}, apierr.InvalidRequest.Describe("code must be 6 digits")
	}
	now := s.now()
	ring, ch, attrs, err := s.openMFAToken(ctx, st, raw, deviceToken, c, now)
	if err != nil {
		return Pair{}, err
	}
	counters := s.guessCounters(ch.UserID, ch.ID)
	if _, err := s.reserve(ctx, counters, now, attrs...); err != nil {
		return Pair{}, err
	}
	u, f, err := s.stepAccount(ctx, st, ch, attrs)
	if err != nil {
		return Pair{}, err
	}
	ok, err := s.check(ctx, ring, f, proof{code: code, recovery: recovery}, now, attrs...)
	if err != nil {
		return Pair{}, err
	}
	use := mfa.Use{UserID: u.ID, CreatedAt: f.CreatedAt, Now: now, Step: ok.step, Code: ok.hash, Challenge: ch.ID}
	amr, method := amrTOTP, "totp"
	if ok.hash != "" {
		amr, method = amrRecovery, "recovery_code"
		m, err := s.notice(outbox.RecoveryCodeUsed, u, "", c, now)
		if err != nil {
			return Pair{}, err
		}
		use.Messages = append(use.Messages, m)
	} else if !mfa.Current(ring, f.Sealed) {
		// Sealed under a previous MAC key: re-sealed under the current one
		// in the same write, so the old key can leave the ring.
		if secret, err := mfa.Open(ring, u.ID, f.Sealed); err == nil {
			use.Sealed, _ = mfa.Seal(ring, u.ID, secret, s.Rand)
		}
	}
	if err := st.UseFactor(ctx, use); err != nil {
		return Pair{}, s.used(ctx, err, attrs...)
	}
	if ok.hash != "" {
		s.log().WarnContext(ctx, "recovery code used", "event", "mfa_recovery_code_used", "user_id", u.ID, "ip", c.IP, "codes_left", len(f.Codes)-1)
	}
	c.AMR = amr
	return s.finishMFA(ctx, ring, u, counters, method, c, now)
}

// finishMFA ends a right second step: the guess slots given back while the
// session starts as a login's does (one round trip of latency for both),
// with c.AMR, and a device token issued.
func (s *Service) finishMFA(ctx context.Context, ring mac.Keyring, u users.User, counters []throttle.Counter, method string, c Client, now time.Time) (Pair, error) {
	released := make(chan struct{})
	go func() { defer close(released); s.release(ctx, counters) }()
	c.AuthTime = now
	iss, err := s.startSession(ctx, u, c, now)
	<-released
	if err != nil {
		return Pair{}, err
	}
	dev, err := device.Issue(ring, u.Username, iss.Session.Epoch, now, s.Rand)
	if err != nil {
		return Pair{}, apierr.Internal.With(err)
	}
	s.log().InfoContext(ctx, "login", "event", "login_succeeded", "user_id", u.ID, "session_id", iss.Session.ID, "ip", c.IP, "mfa", method)
	p, err := s.pair(ctx, iss, now, &u)
	if err != nil {
		return Pair{}, err
	}
	p.DeviceToken = dev
	return p, nil
}
