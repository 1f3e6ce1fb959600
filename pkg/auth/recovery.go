package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/password"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
	"github.com/rotor-auth/rotor/pkg/users/names"
)

// ForgotPassword queues a password-reset mail for the account named by
// username or, when username is empty, by its verified address email, only
// to its verified address. Whatever the input names (an account with a verified
// address, one without, none), the caller gets the same answer after the
// same store work: one read, one reservation of the mail's slots, one
// conditional write (which, for no account, writes nothing). The mail to
// one address is throttled per address (silently: the answer is the same)
// and per source address (429, which tells nothing about accounts).
func (s *Service) ForgotPassword(ctx context.Context, username, email string, c Client) error {
	st, err := s.accounts()
	if err != nil {
		return err
	}
	var u users.User
	var key string // what the lookup was by, normalised: names the unknown
	if username == "" {
		if key, err = names.NormalizeEmail(email); err != nil {
			return apierr.InvalidRequest.Describe("email must be one address such as name@example.com").With(err)
		}
		u, err = st.UserByEmail(ctx, key)
	} else {
		if key, err = names.Normalize(username); err != nil {
			return apierr.InvalidRequest.Describe("%s", publicReason(err)).With(err)
		}
		u, err = s.Users.GetUser(ctx, key)
	}
	if err != nil && !errors.Is(err, users.ErrNotFound) {
		return storeError(err)
	}
	now := s.now()
	mailable := err == nil && u.Email != "" && u.EmailVerified && !u.Locked
	to, userID := "unknown#"+key, ""
	if mailable {
		to, userID = u.Email, u.ID
	} else {
		// No mail: the same work on a user id no account has, so the
		// conditional write below fails as it would for no account.
		u = users.User{ID: "usr_none", Username: key}
	}
	attrs := append(s.who(ctx, key, userID), "ip", c.IP, "flow", "forgot")
	ok, err := s.reserveMail(ctx, s.mailCounters(to, c), now, attrs...)
	if err != nil || !ok {
		return err
	}
	rec, err := s.newRecord(onetime.PasswordReset, u.ID, u.Username, u.Epoch, "", now)
	if err != nil {
		return err
	}
	m, err := s.message(outbox.PasswordReset, u.Email, u.ID, u.Username, &rec, c, now)
	if err != nil {
		return err
	}
	err = st.IssueToken(ctx, rec, m)
	switch {
	case err == nil:
		s.log().InfoContext(ctx, "password reset mail queued", append([]any{"event", "password_reset_requested"}, attrs...)...)
	case errors.Is(err, users.ErrNotFound), errors.Is(err, onetime.ErrStale):
		s.log().InfoContext(ctx, "password reset for no mailable account", append([]any{"event", "password_reset_unmailable"}, attrs...)...)
	default:
		return storeError(err)
	}
	return nil
}

// ResetPassword sets a new password with a reset link's token: once (a
// conditional write marks it used; of two racing resets exactly one wins),
// within 15 minutes, and only while the account's credential epoch is the
// one the token was issued under (a password change or another reset voids
// it). The write moves the epoch and queues the notice to the verified
// address; then every session of the user ends, and with the epoch every
// device token. A retry of a reset whose sessions were not all ended (the
// store failed after the write) finishes ending them.
func (s *Service) ResetPassword(ctx context.Context, raw, next string, c Client) error {
	if err := password.Check(next); err != nil {
		return apierr.InvalidRequest.Describe("new_password: %s", publicReason(err)).With(err)
	}
	rec, err := s.linkToken(ctx, raw, c, onetime.PasswordReset)
	if err != nil {
		return err
	}
	st, err := s.accounts()
	if err != nil {
		return err
	}
	now := s.now()
	u, err := s.Users.GetUser(ctx, rec.Username)
	switch {
	case errors.Is(err, users.ErrNotFound):
		return s.linkRefused(ctx, "password_reset", rec, onetime.ErrStale)
	case err != nil:
		return storeError(err)
	}
	if !rec.UsedAt.IsZero() {
		// Used already. Only the retry of this very reset (the next epoch,
		// its new password, within the token's lifetime) goes on: to end
		// the sessions the first attempt may have left.
		if u.ID == rec.UserID && u.Epoch == rec.Epoch+1 && now.Sub(rec.UsedAt) <= onetime.ResetTTL &&
			s.Passwords.Verify(ctx, next, u.PasswordHash) == nil {
			return s.endAllAfterReset(ctx, rec, c)
		}
		return s.linkRefused(ctx, "password_reset", rec, onetime.ErrUsed)
	}
	hash, err := s.Passwords.Hash(ctx, next)
	if err != nil {
		return storeError(err)
	}
	use := onetime.Use{Record: rec, Now: now, PasswordHash: hash}
	if u.Email != "" && u.EmailVerified {
		notice, err := s.message(outbox.PasswordWasReset, u.Email, u.ID, u.Username, nil, c, now)
		if err != nil {
			return err
		}
		use.Messages = append(use.Messages, notice)
	}
	if _, err := st.UseToken(ctx, use); err != nil {
		return s.linkRefused(ctx, "password_reset", rec, err)
	}
	return s.endAllAfterReset(ctx, rec, c)
}

func (s *Service) endAllAfterReset(ctx context.Context, rec onetime.Record, c Client) error {
	n, err := s.Sessions.EndAll(ctx, rec.Username, rec.UserID)
	if err != nil {
		return storeError(err)
	}
	s.log().InfoContext(ctx, "password reset", "event", "password_reset", "user_id", rec.UserID, "sessions_revoked", n, "ip", c.IP)
	s.linkSucceeded(ctx, c)
	return nil
}

// linkKey counts the link-token guesses of one source address.
func linkKey(c Client) string { return "link#" + throttle.IPKey(c.IP) }

// linkToken reads a mail link's token of one of purposes and its record.
// The guess is counted under the source address (IPThrottle) before the
// token is checked; the tag is checked before any store read, so a made-up
// token costs a reservation only. Any failure is 400 invalid_link_token.
func (s *Service) linkToken(ctx context.Context, raw string, c Client, purposes ...onetime.Purpose) (onetime.Record, error) {
	if _, err := onetime.Parse(raw); err != nil {
		return onetime.Record{}, apierr.InvalidLink.With(err)
	}
	now := s.now()
	if _, err := s.reserve(ctx, []throttle.Counter{{Key: linkKey(c), Policy: s.IPThrottle}}, now, "ip", c.IP, "flow", "link"); err != nil {
		return onetime.Record{}, err
	}
	ring, err := s.keyring(ctx)
	if err != nil {
		return onetime.Record{}, err
	}
	t, err := onetime.Check(ring, raw, purposes...)
	if err != nil {
		if errors.Is(err, onetime.ErrForged) {
			s.log().WarnContext(ctx, "link token not issued by this server", "event", "link_token_forged", "ip", c.IP)
		}
		return onetime.Record{}, apierr.InvalidLink.With(err)
	}
	st, err := s.accounts()
	if err != nil {
		return onetime.Record{}, err
	}
	rec, err := st.GetToken(ctx, t.ID)
	switch {
	case errors.Is(err, onetime.ErrNotFound):
		return onetime.Record{}, apierr.InvalidLink.With(err)
	case err != nil:
		return onetime.Record{}, storeError(err)
	case rec.Purpose != t.Purpose:
		return onetime.Record{}, apierr.InvalidLink.With(onetime.ErrNotFound)
	}
	return rec, nil
}

// linkRefused answers a token the store refused: 400 invalid_link_token,
// logged with why; a store failure is 503 or 500.
func (s *Service) linkRefused(ctx context.Context, flow string, rec onetime.Record, err error) error {
	for _, e := range []error{onetime.ErrNotFound, onetime.ErrUsed, onetime.ErrExpired, onetime.ErrStale, users.ErrEmailTaken} {
		if errors.Is(err, e) {
			s.log().WarnContext(ctx, "link token refused", "event", "link_token_refused", "flow", flow, "reason", strings.TrimPrefix(strings.TrimPrefix(e.Error(), "onetime: "), "users: "), "user_id", rec.UserID)
			return apierr.InvalidLink.With(err)
		}
	}
	return storeError(err)
}

// linkSucceeded gives back the slot the link's guess took under the source
// address: people behind one address who use their links are not throttled.
func (s *Service) linkSucceeded(ctx context.Context, c Client) {
	if err := s.Attempts.Release(ctx, nil, []string{linkKey(c)}); err != nil {
		s.log().WarnContext(ctx, "guess not given back", "event", "throttle_release_failed", "error", err.Error())
	}
}
