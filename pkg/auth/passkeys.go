package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/device"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/passkey"
	"github.com/rotor-auth/rotor/pkg/users"
)

// RelyingParty runs the WebAuthn ceremonies of the passkey flows (package
// passkey/relyingparty, with go-webauthn). Declared here, so that only the
// function that serves passkeys links the library.
type RelyingParty interface {
	RegistrationOptions(u passkey.User, existing []passkey.Credential) (json.RawMessage, []byte, error)
	ParseRegistration(body []byte) (passkey.Response, error)
	VerifyRegistration(u passkey.User, challenge []byte, r passkey.Response) (passkey.Record, uint32, error)
	LoginOptions() (json.RawMessage, []byte, error)
	MFAOptions(creds []passkey.Credential) (json.RawMessage, []byte, error)
	ParseAssertion(body []byte) (passkey.Response, error)
	VerifyAssertion(u passkey.User, c passkey.Credential, challenge []byte, r passkey.Response) (passkey.Assertion, error)
}

// MaxPasskeyName bounds a passkey's name (characters); MaxPasskeys the
// passkeys of one account (a bound on every listing, exclusion list and
// store item; checked when options are asked for, so two registrations
// racing past it can add one more).
const (
	MaxPasskeyName = 64
	MaxPasskeys    = 20
)

// errNoPasskeys means the service was built without a passkey store or
// relying party.
var errNoPasskeys = errors.New("auth: no passkey store or relying party")

// PasskeyView is one passkey as GET /auth/passkeys shows it.
type PasskeyView struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	AAGUID         string     `json:"aaguid,omitempty"`
	Transports     []string   `json:"transports,omitempty"`
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
	UserVerified   bool       `json:"user_verified"`
}

func (s *Service) passkeys() error {
	if s.Passkeys == nil || s.RP == nil {
		return apierr.Internal.With(errNoPasskeys)
	}
	return nil
}

func viewOf(c passkey.Credential) PasskeyView {
	v := PasskeyView{ID: c.ID, Name: c.Name, CreatedAt: c.CreatedAt, BackupState: c.BackupState}
	if !c.LastUsedAt.IsZero() {
		at := c.LastUsedAt
		v.LastUsedAt = &at
	}
	if r, err := passkey.DecodeRecord(c.Data); err == nil {
		v.AAGUID, v.Transports, v.BackupEligible, v.UserVerified = r.AAGUID, r.Transports, r.BackupEligible, r.UserVerified
	}
	return v
}

// passkeyName checks a name given by the user ("Passkey" when empty).
func passkeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey", nil
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxPasskeyName || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", apierr.InvalidRequest.Describe("name must be 1 to %d printable characters", MaxPasskeyName)
	}
	return name, nil
}

// PasskeyRegistrationOptions starts a passkey registration for the caller:
// the session alive, and its login recent or the current password given
// (as for TOTP enrolment: a stolen access token alone cannot add the
// thief's passkey). The challenge is stored hashed, bound to the
// registration ceremony and to the user, for ChallengeTTL.
func (s *Service) PasskeyRegistrationOptions(ctx context.Context, c Caller, currentPassword string, client Client) (json.RawMessage, error) {
	if err := s.passkeys(); err != nil {
		return nil, err
	}
	now := s.now()
	l, err := s.live(ctx, "passkey_register_options", c, nil, now)
	if err != nil {
		return nil, err
	}
	if err := s.recentAuth(ctx, c, l.User, l.Session.CreatedAt, currentPassword, now); err != nil {
		return nil, err
	}
	existing, err := s.Passkeys.ListPasskeys(ctx, c.UserID)
	if err != nil {
		return nil, storeError(err)
	}
	if len(existing) >= MaxPasskeys {
		return nil, apierr.InvalidRequest.Describe("An account holds at most %d passkeys; remove one first.", MaxPasskeys)
	}
	options, challenge, err := s.RP.RegistrationOptions(passkey.User{ID: c.UserID, Username: l.User.Username}, existing)
	if err != nil {
		return nil, apierr.Internal.With(err)
	}
	ch := passkey.Challenge{Hash: passkey.HashChallenge(challenge), Ceremony: passkey.Register, UserID: c.UserID, CreatedAt: now, ExpiresAt: now.Add(passkey.ChallengeTTL)}
	if err := s.Passkeys.PutPasskeyChallenge(ctx, ch); err != nil {
		return nil, storeError(err)
	}
	s.log().InfoContext(ctx, "passkey registration started", "event", "passkey_register_started", "user_id", c.UserID, "session_id", c.SessionID, "ip", client.IP)
	return options, nil
}

// RegisterPasskey finishes a registration: the caller's session still
// alive; the response's challenge one of the caller's registration
// challenges, unused and unexpired (used by this call, whatever follows);
// the response verified (origin, RP id, flags, attestation statement). The
// credential and the user's notice are written at once. Nothing else
// changes: no session ends.
func (s *Service) RegisterPasskey(ctx context.Context, c Caller, credential json.RawMessage, name string, client Client) (PasskeyView, error) {
	if err := s.passkeys(); err != nil {
		return PasskeyView{}, err
	}
	name, err := passkeyName(name)
	if err != nil {
		return PasskeyView{}, err
	}
	now := s.now()
	l, err := s.live(ctx, "passkey_register", c, nil, now)
	if err != nil {
		return PasskeyView{}, err
	}
	attrs := []any{"user_id", c.UserID, "session_id", c.SessionID, "ip", client.IP, "flow", "passkey_register"}
	refuse := func(reason string, cause error) error {
		s.log().WarnContext(ctx, "passkey registration refused", append([]any{"event", "passkey_register_refused", "reason", reason, "cause", cause.Error()}, attrs...)...)
		return apierr.InvalidRequest.Describe("The passkey could not be verified; ask for new options and try again.").With(cause)
	}
	r, err := s.RP.ParseRegistration(credential)
	if err != nil {
		return PasskeyView{}, refuse("malformed", err)
	}
	if _, err := s.Passkeys.UsePasskeyChallenge(ctx, passkey.HashChallenge(r.Challenge), passkey.Register, c.UserID, now); err != nil {
		if !isChallengeRefusal(err) {
			return PasskeyView{}, storeError(err)
		}
		return PasskeyView{}, refuse("challenge", err)
	}
	u := passkey.User{ID: c.UserID, Username: l.User.Username}
	rec, count, err := s.RP.VerifyRegistration(u, r.Challenge, r)
	if err != nil {
		return PasskeyView{}, refuse("verification", err)
	}
	data, err := rec.Encode()
	if err != nil {
		return PasskeyView{}, apierr.Internal.With(err)
	}
	cred := passkey.Credential{ID: r.CredentialID, UserID: c.UserID, Name: name, Data: data, SignCount: count, CreatedAt: now}
	m, err := s.notice(outbox.FactorAdded, l.User, fmt.Sprintf("a passkey (%s)", name), client, now)
	if err != nil {
		return PasskeyView{}, err
	}
	switch err := s.Passkeys.AddPasskey(ctx, cred, m); {
	case errors.Is(err, passkey.ErrCredentialExists):
		s.log().WarnContext(ctx, "passkey registered already", append([]any{"event", "passkey_register_refused", "reason", "exists"}, attrs...)...)
		return PasskeyView{}, apierr.PasskeyRegistered.With(err)
	case err != nil:
		return PasskeyView{}, storeError(err)
	}
	s.log().InfoContext(ctx, "passkey added", append([]any{"event", "passkey_added", "credential", cred.ID}, attrs...)...)
	return viewOf(cred), nil
}

func isChallengeRefusal(err error) bool {
	return errors.Is(err, passkey.ErrNoChallenge) || errors.Is(err, passkey.ErrChallengeUsed) || errors.Is(err, passkey.ErrChallengeExpired)
}

// PasskeyLoginOptions starts a discoverable passkey login: request options
// with no credential list (the browser offers what it holds for the RP id,
// conditional UI included), the challenge stored hashed and bound to the
// login ceremony.
func (s *Service) PasskeyLoginOptions(ctx context.Context, client Client) (json.RawMessage, error) {
	if err := s.passkeys(); err != nil {
		return nil, err
	}
	now := s.now()
	options, challenge, err := s.RP.LoginOptions()
	if err != nil {
		return nil, apierr.Internal.With(err)
	}
	ch := passkey.Challenge{Hash: passkey.HashChallenge(challenge), Ceremony: passkey.Login, CreatedAt: now, ExpiresAt: now.Add(passkey.ChallengeTTL)}
	if err := s.Passkeys.PutPasskeyChallenge(ctx, ch); err != nil {
		return nil, storeError(err)
	}
	return options, nil
}

// The authentication methods (RFC 8176) of a passkey session: "hwk" for a
// device-bound key, "swk" for a synced one (backup eligible), "user" and
// "mfa" when the authenticator verified the user (possession and
// knowledge or inherence at once).
func passkeyAMR(rec passkey.Record, a passkey.Assertion) []string {
	key := "hwk"
	if rec.BackupEligible {
		key = "swk"
	}
	if a.UserVerified {
		return []string{key, "user", "mfa"}
	}
	return []string{key}
}

// LoginWithPasskey signs in with a passkey: the response's challenge one
// of the login challenges, unused and unexpired (used by this call); the
// credential the one the response names, its user handle the owner's; the
// owner existing, not locked; the assertion verified (origin, RP id,
// challenge, signature, flags); the signature counter moved forward (a
// regression is a security event, refused unless AllowCounterRegression)
// and stored on condition that it is still the one read. A user with a
// TOTP factor whose authenticator did not verify the user owes the second
// step: 403 mfa_required, as after a right password. The session starts as
// a login's does. Every refusal is 401 invalid_passkey.
func (s *Service) LoginWithPasskey(ctx context.Context, credential json.RawMessage, deviceToken string, c Client) (Pair, error) {
	if err := s.passkeys(); err != nil {
		return Pair{}, err
	}
	now := s.now()
	attrs := []any{"ip", c.IP, "flow", "passkey_login"}
	refuse := func(reason string, cause error, more ...any) error {
		s.log().WarnContext(ctx, "passkey login refused", append(append([]any{"event", "passkey_login_refused", "reason", reason, "cause", cause.Error()}, attrs...), more...)...)
		return apierr.InvalidPasskey.With(cause)
	}
	r, cred, err := s.spendAssertion(ctx, credential, passkey.Login, "", now, func(reason string, cause error) error { return refuse(reason, cause) })
	if err != nil {
		return Pair{}, err
	}
	attrs = append(attrs, "user_id", cred.UserID, "credential", cred.ID)
	if string(r.UserHandle) != cred.UserID {
		return Pair{}, refuse("user_handle", errors.New("auth: user handle of another user"))
	}
	rec, err := passkey.DecodeRecord(cred.Data)
	if err != nil {
		s.log().ErrorContext(ctx, "passkey record unreadable", append([]any{"event", "passkey_record_malformed"}, attrs...)...)
		return Pair{}, apierr.Internal.With(err)
	}
	u, err := s.Users.GetUser(ctx, rec.Username)
	switch {
	case errors.Is(err, users.ErrNotFound):
		return Pair{}, refuse("no_user", err)
	case err != nil:
		return Pair{}, storeError(err)
	case u.ID != cred.UserID:
		return Pair{}, refuse("no_user", users.ErrNotFound)
	}
	a, err := s.RP.VerifyAssertion(passkey.User{ID: u.ID, Username: u.Username}, cred, r.Challenge, r)
	if err != nil {
		return Pair{}, refuse("verification", err)
	}
	if u.Locked {
		return Pair{}, refuse("locked", errors.New("auth: user locked"))
	}
	if reason, err := s.keepCounter(ctx, cred, a, now, attrs); err != nil {
		if reason == "" {
			return Pair{}, err
		}
		return Pair{}, refuse(reason, err)
	}
	ring, err := s.keyring(ctx)
	if err != nil {
		return Pair{}, err
	}
	if !a.UserVerified {
		on, err := s.enrolled(ctx, u.ID)
		if err != nil {
			return Pair{}, storeError(err)
		}
		if on {
			// Possession alone: the second factor is owed, as after a right
			// password.
			return Pair{}, s.mfaRequired(ctx, ring, u, deviceToken, c, now)
		}
	}
	c.AMR, c.AuthTime = passkeyAMR(rec, a), now
	iss, err := s.startSession(ctx, u, c, now)
	if err != nil {
		return Pair{}, err
	}
	dev, err := device.Issue(ring, u.Username, iss.Session.Epoch, now, s.Rand)
	if err != nil {
		return Pair{}, apierr.Internal.With(err)
	}
	s.log().InfoContext(ctx, "login", "event", "login_succeeded", "user_id", u.ID, "session_id", iss.Session.ID, "ip", c.IP, "method", "passkey", "user_verified", a.UserVerified)
	p, err := s.pair(ctx, iss, now, &u)
	if err != nil {
		return Pair{}, err
	}
	p.DeviceToken = dev
	return p, nil
}

// spendAssertion parses an assertion, uses (spends) the challenge it
// answers for ceremony (bound to userID when not empty) before anything is
// verified, and reads the credential it names. refuse turns a refusal's
// reason into the caller's answer; a store failure is a storeError.
//
// The credential is read while the challenge is being used: one round
// trip of latency instead of two. The read changes nothing and its result
// is looked at only once the challenge is spent, so a response is still
// verified at most once, and a refused challenge refuses whatever the read
// found.
func (s *Service) spendAssertion(ctx context.Context, credential json.RawMessage, ceremony passkey.Ceremony, userID string, now time.Time, refuse func(reason string, cause error) error) (passkey.Response, passkey.Credential, error) {
	r, err := s.RP.ParseAssertion(credential)
	if err != nil {
		return r, passkey.Credential{}, refuse("malformed", err)
	}
	type read struct {
		cred passkey.Credential
		err  error
	}
	got := make(chan read, 1)
	go func() {
		cred, err := s.Passkeys.GetPasskey(ctx, r.CredentialID)
		got <- read{cred, err}
	}()
	_, err = s.Passkeys.UsePasskeyChallenge(ctx, passkey.HashChallenge(r.Challenge), ceremony, userID, now)
	c := <-got
	if err != nil {
		if !isChallengeRefusal(err) {
			return r, passkey.Credential{}, storeError(err)
		}
		return r, passkey.Credential{}, refuse("challenge", err)
	}
	switch {
	case errors.Is(c.err, passkey.ErrNoCredential):
		return r, passkey.Credential{}, refuse("unknown_credential", c.err)
	case c.err != nil:
		return r, passkey.Credential{}, storeError(c.err)
	}
	return r, c.cred, nil
}

// keepCounter records an accepted assertion a of cred: the signature
// counter moved forward, or, when it regressed (a security event), refused
// unless AllowCounterRegression, and never stored backwards; the write is
// conditional on the count read. A refusal returns its reason; a store
// failure an empty one.
func (s *Service) keepCounter(ctx context.Context, cred passkey.Credential, a passkey.Assertion, now time.Time, attrs []any) (string, error) {
	count := a.SignCount
	if a.Regressed {
		// Two copies of the key exist, or the authenticator is broken: the
		// owner and whoever holds the copy cannot be told apart.
		s.log().ErrorContext(ctx, "passkey signature counter went backwards", append([]any{"event", "passkey_counter_regressed", "stored", cred.SignCount, "presented", a.SignCount, "refused", !s.AllowCounterRegression}, attrs...)...)
		if !s.AllowCounterRegression {
			return "counter_regressed", errors.New("auth: signature counter went backwards")
		}
		count = cred.SignCount // never moved backwards
	}
	switch err := s.Passkeys.UsePasskey(ctx, passkey.Use{ID: cred.ID, UserID: cred.UserID, From: cred.SignCount, SignCount: count, BackupState: a.BackupState, Now: now}); {
	case errors.Is(err, passkey.ErrCounterMoved), errors.Is(err, passkey.ErrNoCredential):
		return "raced", err
	case err != nil:
		return "", storeError(err)
	}
	return "", nil
}

// ListPasskeys lists the caller's passkeys, oldest first.
func (s *Service) ListPasskeys(ctx context.Context, c Caller) ([]PasskeyView, error) {
	if err := s.passkeys(); err != nil {
		return nil, err
	}
	if _, err := s.live(ctx, "passkey_list", c, nil, s.now()); err != nil {
		return nil, err
	}
	list, err := s.Passkeys.ListPasskeys(ctx, c.UserID)
	if err != nil {
		return nil, storeError(err)
	}
	views := make([]PasskeyView, 0, len(list))
	for _, cred := range list {
		views = append(views, viewOf(cred))
	}
	return views, nil
}

// RenamePasskey renames one of the caller's passkeys (404 for any other id).
func (s *Service) RenamePasskey(ctx context.Context, c Caller, id, name string) error {
	if err := s.passkeys(); err != nil {
		return err
	}
	name, err := passkeyName(name)
	if err != nil {
		return err
	}
	if _, err := s.live(ctx, "passkey_rename", c, nil, s.now()); err != nil {
		return err
	}
	switch err := s.Passkeys.RenamePasskey(ctx, c.UserID, id, name); {
	case errors.Is(err, passkey.ErrNoCredential):
		return apierr.NotFound.With(err)
	case err != nil:
		return storeError(err)
	}
	return nil
}

// RemovePasskey removes one of the caller's passkeys (404 for any other
// id), with the same recent authentication as a registration: a stolen
// access token alone cannot strip the owner's passkeys. The notice is
// written with the removal; nothing else ends. Every Rotor account has a
// password, so a passkey is never an account's last way in.
func (s *Service) RemovePasskey(ctx context.Context, c Caller, id, currentPassword string, client Client) error {
	if err := s.passkeys(); err != nil {
		return err
	}
	now := s.now()
	l, err := s.live(ctx, "passkey_remove", c, nil, now)
	if err != nil {
		return err
	}
	if err := s.recentAuth(ctx, c, l.User, l.Session.CreatedAt, currentPassword, now); err != nil {
		return err
	}
	cred, err := s.Passkeys.GetPasskey(ctx, id)
	switch {
	case errors.Is(err, passkey.ErrNoCredential) || (err == nil && cred.UserID != c.UserID):
		return apierr.NotFound
	case err != nil:
		return storeError(err)
	}
	m, err := s.notice(outbox.FactorRemoved, l.User, fmt.Sprintf("a passkey (%s)", cred.Name), client, now)
	if err != nil {
		return err
	}
	switch err := s.Passkeys.RemovePasskey(ctx, c.UserID, id, m); {
	case errors.Is(err, passkey.ErrNoCredential):
		return apierr.NotFound.With(err)
	case err != nil:
		return storeError(err)
	}
	s.log().InfoContext(ctx, "passkey removed", "event", "passkey_removed", "user_id", c.UserID, "session_id", c.SessionID, "ip", client.IP, "credential", id)
	return nil
}
