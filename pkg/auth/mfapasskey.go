package auth

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/mfa"
	"github.com/rotor-auth/rotor/pkg/passkey"
	"github.com/rotor-auth/rotor/pkg/users"
)

// MethodPasskey is the mfa_methods entry of a user with passkeys.
const MethodPasskey = "passkey"

// firstStepSlack: a passkey used this close before an mfa_token was made
// (or after) counts as the first step's (the stores keep times to the
// millisecond or finer).
const firstStepSlack = time.Second

// mfaMethods are the second-step methods offered to u: the TOTP factor's,
// and a passkey when u has one.
func (s *Service) mfaMethods(ctx context.Context, u users.User) ([]string, error) {
	methods := append([]string(nil), MFAMethods...)
	if s.Passkeys == nil {
		return methods, nil
	}
	creds, err := s.Passkeys.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, storeError(err)
	}
	if len(creds) > 0 {
		methods = append(methods, MethodPasskey)
	}
	return methods, nil
}

// MFAPasskeyOptions starts a passkey second step: request options whose
// allowCredentials are the passkeys of the mfa_token's user, the challenge
// stored hashed and bound to the mfa ceremony and to that user. The
// mfa_token is checked as /auth/mfa/verify checks it (server key, unused,
// unexpired, this login's device token) but not used: the verify uses it.
// A user without passkeys is 409 mfa_not_enrolled.
func (s *Service) MFAPasskeyOptions(ctx context.Context, raw, deviceToken string, c Client) (json.RawMessage, error) {
	if err := s.passkeys(); err != nil {
		return nil, err
	}
	st, err := s.factors()
	if err != nil {
		return nil, err
	}
	now := s.now()
	_, ch, _, err := s.openMFAToken(ctx, st, raw, deviceToken, c, now)
	if err != nil {
		return nil, err
	}
	creds, err := s.Passkeys.ListPasskeys(ctx, ch.UserID)
	if err != nil {
		return nil, storeError(err)
	}
	if len(creds) == 0 {
		return nil, apierr.MFANotEnrolled.Describe("This account has no passkey.")
	}
	options, challenge, err := s.RP.MFAOptions(creds)
	if err != nil {
		return nil, apierr.Internal.With(err)
	}
	pc := passkey.Challenge{Hash: passkey.HashChallenge(challenge), Ceremony: passkey.MFA, UserID: ch.UserID, CreatedAt: now, ExpiresAt: now.Add(passkey.ChallengeTTL)}
	if err := s.Passkeys.PutPasskeyChallenge(ctx, pc); err != nil {
		return nil, storeError(err)
	}
	return options, nil
}

// mfaPasskeyAMR are the methods of a session whose second step was a
// passkey: the password, the key ("hwk", or "swk" for a synced one),
// "user" when the authenticator verified the user, and "mfa".
func mfaPasskeyAMR(rec passkey.Record, a passkey.Assertion) []string {
	amr := []string{"pwd", passkeyAMR(rec, a)[0]}
	if a.UserVerified {
		amr = append(amr, "user")
	}
	return append(amr, "mfa")
}

// VerifyMFAWithPasskey is a login's second step with a passkey: the
// mfa_token checked as VerifyMFA checks it; the guess counted under the
// user's and the token's counters as a code is; the response's challenge
// one of the mfa challenges of the token's user, unused and unexpired
// (used by this call); the credential one of that user's passkeys; the
// assertion verified and its counter kept as in a passkey login; then the
// mfa_token used. The passkey of a first step (a login without user
// verification) is refused: possession of one key is one factor. Every refusal of the assertion is 401 invalid_passkey.
func (s *Service) VerifyMFAWithPasskey(ctx context.Context, raw string, credential json.RawMessage, deviceToken string, c Client) (Pair, error) {
	if err := s.passkeys(); err != nil {
		return Pair{}, err
	}
	st, err := s.factors()
	if err != nil {
		return Pair{}, err
	}
	now := s.now()
	ring, ch, attrs, err := s.openMFAToken(ctx, st, raw, deviceToken, c, now)
	if err != nil {
		return Pair{}, err
	}
	attrs = append(attrs, "method", MethodPasskey)
	counters := s.guessCounters(ch.UserID, ch.ID)
	if _, err := s.reserve(ctx, counters, now, attrs...); err != nil {
		return Pair{}, err
	}
	refuse := func(reason string, cause error) error {
		s.log().WarnContext(ctx, "passkey second step refused", append([]any{"event", "mfa_failed", "reason", reason, "cause", cause.Error()}, attrs...)...)
		return apierr.InvalidPasskey.With(cause)
	}
	r, cred, err := s.spendAssertion(ctx, credential, passkey.MFA, ch.UserID, now, refuse)
	switch {
	case err != nil:
		return Pair{}, err
	case cred.UserID != ch.UserID:
		return Pair{}, refuse("other_user", errors.New("auth: a passkey of another user"))
	case len(r.UserHandle) > 0 && string(r.UserHandle) != cred.UserID:
		return Pair{}, refuse("user_handle", errors.New("auth: user handle of another user"))
	case !cred.LastUsedAt.IsZero() && !cred.LastUsedAt.Before(ch.CreatedAt.Add(-firstStepSlack)):
		// The passkey was used since the first step began: the first step
		// was this passkey (a login without user verification, whose
		// mfa_token has the same time), and one key is not two factors.
		return Pair{}, refuse("first_factor", errors.New("auth: the passkey of the first step"))
	}
	attrs = append(attrs, "credential", cred.ID)
	u, f, err := s.stepAccount(ctx, st, ch, attrs)
	if err != nil {
		return Pair{}, err
	}
	rec, err := passkey.DecodeRecord(cred.Data)
	if err != nil {
		s.log().ErrorContext(ctx, "passkey record unreadable", append([]any{"event", "passkey_record_malformed"}, attrs...)...)
		return Pair{}, apierr.Internal.With(err)
	}
	a, err := s.RP.VerifyAssertion(passkey.User{ID: u.ID, Username: u.Username}, cred, r.Challenge, r)
	if err != nil {
		return Pair{}, refuse("verification", err)
	}
	if reason, err := s.keepCounter(ctx, cred, a, now, attrs); err != nil {
		if reason == "" {
			return Pair{}, err
		}
		return Pair{}, refuse(reason, err)
	}
	if err := st.UseFactor(ctx, mfa.Use{UserID: u.ID, CreatedAt: f.CreatedAt, Now: now, Challenge: ch.ID}); err != nil {
		return Pair{}, s.used(ctx, err, attrs...)
	}
	c.AMR = mfaPasskeyAMR(rec, a)
	return s.finishMFA(ctx, ring, u, counters, MethodPasskey, c, now)
}
