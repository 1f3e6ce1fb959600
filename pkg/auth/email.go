package auth

import (
	"context"
	"errors"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/password"
	"github.com/rotor-auth/rotor/pkg/users"
	"github.com/rotor-auth/rotor/pkg/users/names"
)

// SignupWithEmail creates an account and returns its user id. With an
// address (required when RequireEmail), the same store write queues the
// verification mail to it; if the address is another account's verified
// address, the account is created all the same, the owner of the address
// gets a "someone tried to sign up with your address" mail instead, and the
// answer is the same: a signup never tells whether an address is in use.
// The mail to one address is throttled (MailThrottle, MailIPThrottle)
// without a word to the caller: a throttled signup still succeeds, unmailed.
func (s *Service) SignupWithEmail(ctx context.Context, username, pw, email string, c Client) (string, error) {
	name, err := names.Normalize(username)
	if err != nil {
		return "", apierr.InvalidRequest.Describe("%s", publicReason(err)).With(err)
	}
	if err := password.Check(pw); err != nil {
		return "", apierr.InvalidRequest.Describe("%s", publicReason(err)).With(err)
	}
	var addr string
	switch {
	case email != "":
		if addr, err = names.NormalizeEmail(email); err != nil {
			return "", apierr.InvalidRequest.Describe("email must be one address such as name@example.com").With(err)
		}
	case s.RequireEmail:
		return "", apierr.InvalidRequest.Describe("Field \"email\" is required.")
	}
	hash, err := s.Passwords.Hash(ctx, pw)
	if err != nil {
		return "", storeError(err)
	}
	id, err := s.newUserID()
	if err != nil {
		return "", apierr.Internal.With(err)
	}
	now := s.now()
	// A look-alike of a taken name (one UTS #39 skeleton) is that name:
	// taken, with an address or without.
	u := users.User{ID: id, Username: name, Skeleton: names.Skeleton(name), PasswordHash: hash, CreatedAt: now, UpdatedAt: now, Email: addr}
	if addr == "" {
		err = s.Users.CreateUser(ctx, u)
	} else {
		err = s.createWithEmail(ctx, u, c)
	}
	switch {
	case errors.Is(err, users.ErrTaken):
		return "", apierr.UsernameTaken.With(err)
	case errors.Is(err, users.ErrEmailTaken):
		s.log().InfoContext(ctx, "signup with an address in use", "event", "signup_email_taken", "user_id", id, "ip", c.IP)
	case err != nil:
		return "", storeError(err)
	}
	s.log().InfoContext(ctx, "signup", "event", "user_created", "user_id", id, "with_email", addr != "")
	return id, nil
}

// createWithEmail stores u with its verification token and mail, or the
// owner's notice when the address is taken (AccountStore.CreateAccount).
func (s *Service) createWithEmail(ctx context.Context, u users.User, c Client) error {
	st, err := s.accounts()
	if err != nil {
		return err
	}
	now := u.CreatedAt
	rec, err := s.newRecord(onetime.VerifyEmail, u.ID, u.Username, 0, u.Email, now)
	if err != nil {
		return err
	}
	sent, err := s.message(outbox.VerifyEmail, u.Email, u.ID, u.Username, &rec, c, now)
	if err != nil {
		return err
	}
	taken, err := s.message(outbox.SignupAttempt, u.Email, "", "", nil, c, now)
	if err != nil {
		return err
	}
	ok, err := s.reserveMail(ctx, s.mailCounters(u.Email, c), now, "user_id", u.ID, "flow", "signup")
	if err != nil && apierr.From(err).Status >= 500 {
		return err
	}
	if !ok {
		// Throttled: the account and its token are stored, no mail is
		// queued (the owner may ask again later: resend).
		sent, taken = outbox.Message{}, outbox.Message{}
	}
	return st.CreateAccount(ctx, u, rec, sent, taken)
}

// VerifyEmail uses a verification link's token (an address's verification
// at signup or resend, or an address change's): the address becomes the
// account's verified address; for a change, the old address gets a notice
// in the same write. Every failure is the same 400 invalid_link_token. Each
// guess is counted under the source address before it is checked.
func (s *Service) VerifyEmail(ctx context.Context, raw string, c Client) error {
	rec, err := s.linkToken(ctx, raw, c, onetime.VerifyEmail, onetime.EmailChange)
	if err != nil {
		return err
	}
	st, err := s.accounts()
	if err != nil {
		return err
	}
	now := s.now()
	use := onetime.Use{Record: rec, Now: now}
	if rec.Purpose == onetime.EmailChange {
		u, err := s.Users.GetUser(ctx, rec.Username)
		if err != nil && !errors.Is(err, users.ErrNotFound) {
			return storeError(err)
		}
		if err == nil && u.Email != "" && u.Email != rec.Email {
			notice, err := s.message(outbox.EmailChanged, u.Email, u.ID, u.Username, nil, c, now)
			if err != nil {
				return err
			}
			notice.Data[DataNewEmail] = MaskEmail(rec.Email)
			use.Messages = append(use.Messages, notice)
		}
	}
	u, err := st.UseToken(ctx, use)
	if err != nil {
		return s.linkRefused(ctx, "verify_email", rec, err)
	}
	s.log().InfoContext(ctx, "email verified", "event", "email_verified", "user_id", u.ID, "change", rec.Purpose == onetime.EmailChange, "ip", c.IP)
	s.linkSucceeded(ctx, c)
	return nil
}

// ResendVerification queues a new verification mail for the caller's
// unverified address (or the pending address of a change), throttled per
// address and per source address (429 when locked). A caller with nothing
// to verify gets the same answer and no mail.
func (s *Service) ResendVerification(ctx context.Context, c Caller, client Client) error {
	st, err := s.accounts()
	if err != nil {
		return err
	}
	now := s.now()
	l, err := s.live(ctx, "email_verify_resend", c, nil, now)
	if err != nil {
		return err
	}
	u := l.User
	p, to := onetime.VerifyEmail, u.Email
	switch {
	case u.PendingEmail != "":
		p, to = onetime.EmailChange, u.PendingEmail
	case u.Email == "" || u.EmailVerified:
		return nil
	}
	counters := s.mailCounters(to, client)
	if _, err := s.reserve(ctx, counters, now, "user_id", u.ID, "flow", "resend"); err != nil {
		return err
	}
	rec, err := s.newRecord(p, u.ID, u.Username, u.Epoch, to, now)
	if err != nil {
		return err
	}
	m, err := s.message(outbox.VerifyEmail, to, u.ID, u.Username, &rec, client, now)
	if err != nil {
		return err
	}
	if err := st.IssueToken(ctx, rec, m); err != nil {
		if errors.Is(err, onetime.ErrStale) || errors.Is(err, users.ErrNotFound) {
			return s.deadToken(ctx, "email_verify_resend", c, err)
		}
		return storeError(err)
	}
	s.log().InfoContext(ctx, "verification mail queued", "event", "email_verification_sent", "user_id", u.ID, "change", p == onetime.EmailChange)
	return nil
}

// ChangeEmail starts a change of the caller's address: the current
// password is checked (a guess counted per session before it is checked, as
// on /auth/password), and a verification mail goes to the new address; the
// change applies when that link is used, and the old address gets a notice
// then. The caller's session must be alive.
func (s *Service) ChangeEmail(ctx context.Context, c Caller, current, email string, client Client) error {
	if len(current) == 0 || len(current) > password.MaxLength {
		return apierr.InvalidRequest.Describe("current_password must be 1 to %d bytes", password.MaxLength)
	}
	addr, err := names.NormalizeEmail(email)
	if err != nil {
		return apierr.InvalidRequest.Describe("email must be one address such as name@example.com").With(err)
	}
	st, err := s.accounts()
	if err != nil {
		return err
	}
	now := s.now()
	l, err := s.live(ctx, "email_change", c, nil, now)
	if err != nil {
		return err
	}
	u := l.User
	if err := s.checkCurrentPassword(ctx, c, u, current, now, "email change refused", "email_change_failed"); err != nil {
		return err
	}
	if addr == u.Email && u.EmailVerified {
		return nil
	}
	if _, err := s.reserve(ctx, s.mailCounters(addr, client), now, "user_id", u.ID, "flow", "email_change"); err != nil {
		return err
	}
	rec, err := s.newRecord(onetime.EmailChange, u.ID, u.Username, u.Epoch, addr, now)
	if err != nil {
		return err
	}
	m, err := s.message(outbox.VerifyEmail, addr, u.ID, u.Username, &rec, client, now)
	if err != nil {
		return err
	}
	if err := st.IssueToken(ctx, rec, m); err != nil {
		if errors.Is(err, onetime.ErrStale) || errors.Is(err, users.ErrNotFound) {
			return s.deadToken(ctx, "email_change", c, err)
		}
		return storeError(err)
	}
	s.log().InfoContext(ctx, "email change started", "event", "email_change_started", "user_id", u.ID, "session_id", c.SessionID)
	return nil
}

// Email returns the caller's address and whether it is verified ("" when
// the account has none, or the username is no longer the caller's).
func (s *Service) Email(ctx context.Context, c Caller) (string, bool, error) {
	u, err := s.Users.GetUser(ctx, c.Username)
	switch {
	case errors.Is(err, users.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, storeError(err)
	case u.ID != c.UserID:
		return "", false, nil
	}
	return u.Email, u.EmailVerified, nil
}
