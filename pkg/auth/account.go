package auth

import (
	"context"
	"errors"
	"time"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/password"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// Caller is the authenticated user of a protected route, as the authorizer
// established it from a verified access token.
type Caller struct {
	UserID    string
	Username  string
	SessionID string
}

// SessionView is one session as GET /auth/sessions shows it.
type SessionView struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
	// AMR and AuthTime are how and when the user authenticated to start
	// the session (RFC 8176 values; ["pwd"] for sessions stored before
	// they were recorded).
	AMR      []string  `json:"amr"`
	AuthTime time.Time `json:"auth_time"`
}

// ListSessions lists the caller's live sessions, marking the caller's own.
// The caller's session must be alive (live); the revocation watermark read
// with it filters the list.
func (s *Service) ListSessions(ctx context.Context, c Caller) ([]SessionView, error) {
	now := s.now()
	l, err := s.live(ctx, "list_sessions", c, nil, now)
	if err != nil {
		return nil, err
	}
	list, err := s.Sessions.ListWithWatermark(ctx, l.User.Username, c.UserID, l.Watermark, now)
	if err != nil {
		return nil, storeError(err)
	}
	out := make([]SessionView, 0, len(list))
	for _, x := range list {
		out = append(out, SessionView{
			ID: x.ID, CreatedAt: x.CreatedAt, LastUsedAt: x.LastUsedAt, ExpiresAt: x.ExpiresAt,
			IP: x.IP, UserAgent: x.UserAgent, Current: x.ID == c.SessionID,
			AMR: x.Methods(), AuthTime: x.AuthenticatedAt(),
		})
	}
	return out, nil
}

// EndSession ends one of the caller's sessions (the caller's own too); any
// other id is not found. The caller's session must be alive (live).
func (s *Service) EndSession(ctx context.Context, c Caller, sessionID string) error {
	route := "end_session"
	if sessionID == c.SessionID {
		route = "logout"
	}
	if _, err := s.live(ctx, route, c, nil, s.now()); err != nil {
		return err
	}
	err := s.Sessions.End(ctx, c.UserID, sessionID)
	switch {
	case errors.Is(err, sessions.ErrUnknown):
		return apierr.NotFound.Describe("No such session.").With(err)
	case err != nil:
		return storeError(err)
	}
	s.log().InfoContext(ctx, "session ended", "event", "session_revoked", "reason", "ended_by_user", "user_id", c.UserID, "session_id", sessionID)
	return nil
}

// LogoutAll ends every session of the caller, whose own session must be
// alive (live): a token of an ended session never ends the sessions that
// came after it.
func (s *Service) LogoutAll(ctx context.Context, c Caller) error {
	l, err := s.live(ctx, "logout_all", c, nil, s.now())
	if err != nil {
		return err
	}
	n, err := s.Sessions.EndAll(ctx, l.User.Username, c.UserID)
	if err != nil {
		return storeError(err)
	}
	s.log().InfoContext(ctx, "logout everywhere", "event", "sessions_revoked", "reason", "logout_all", "user_id", c.UserID, "count", n)
	return nil
}

// ChangePassword checks the caller's current password, stores the new one and
// ends every session of the user, the caller's own included
// (ChangePasswordFrom with no client).
func (s *Service) ChangePassword(ctx context.Context, c Caller, current, next string) error {
	return s.ChangePasswordFrom(ctx, c, current, next, Client{})
}

// ChangePasswordFrom is ChangePassword from client, whom the security notice
// to the user's verified address names.
func (s *Service) ChangePasswordFrom(ctx context.Context, c Caller, current, next string, client Client) error {
	if len(current) == 0 || len(current) > password.MaxLength {
		return apierr.InvalidRequest.Describe("current_password must be 1 to %d bytes", password.MaxLength)
	}
	if err := password.Check(next); err != nil {
		return apierr.InvalidRequest.Describe("new_password: %s", publicReason(err)).With(err)
	}
	u, err := s.Users.GetUser(ctx, c.Username)
	switch {
	case errors.Is(err, users.ErrNotFound):
		return apierr.InvalidToken.With(err)
	case err != nil:
		return storeError(err)
	}
	if u.ID != c.UserID {
		return apierr.InvalidToken.With(errors.New("auth: token subject does not own the username"))
	}
	// The caller's session must be alive (live), with one exception: a
	// session of an older epoch, which the retry of a change that stored
	// the new hash but failed to end the sessions carries (see below), may
	// finish that change (it proves the current password), and only that.
	_, stale := s.checkLive(ctx, c, &u, s.now())
	if stale != nil && !errors.Is(stale, errOldEpoch) {
		return s.refuseDead(ctx, "password", c, stale)
	}
	// The current password is guessable through this route too, by whoever
	// holds an access token, so each session gets the login's few guesses.
	// Counted per session, not per username: a stranger who locked the
	// username's untrusted logins cannot keep the owner from this route.
	// The guess is counted before it is checked, so a burst of them
	// verifies no more than the limit.
	now := s.now()
	guess := []throttle.Counter{{Key: throttle.SessionKey(c.SessionID), Policy: s.Throttle}}
	if _, err := s.reserve(ctx, guess, now, "user_id", c.UserID, "session_id", c.SessionID); err != nil {
		return err
	}
	if err := s.Passwords.Verify(ctx, current, u.PasswordHash); err != nil {
		if ctx.Err() != nil {
			return storeError(err)
		}
		// The retry of a change whose new hash was stored but whose sessions
		// were not all ended (the store failed in between, the client got a
		// 503): finish ending them instead of refusing the retry, or every
		// other session would outlive the change. Such a retry carries the
		// access token of the session that made the change, which the change
		// left in an older epoch (stale), so it comes at most one
		// access-token lifetime after it. Only then is new_password tried,
		// and as the second guess at the password it is: counted before it
		// is checked, like current_password. Tried for any session, or for
		// free, it doubled what each slot verifies.
		if stale != nil && s.changedWithin(u, now) {
			if _, err := s.reserve(ctx, guess, now, "user_id", c.UserID, "session_id", c.SessionID); err != nil {
				return err
			}
			if s.Passwords.Verify(ctx, next, u.PasswordHash) == nil {
				return s.endAllAfterPasswordChange(ctx, u.Username, u.ID)
			}
		}
		s.log().WarnContext(ctx, "password change refused", "event", "password_change_failed", "user_id", u.ID, "session_id", c.SessionID)
		return apierr.InvalidCredentials.Describe("The current password is incorrect.").With(err)
	}
	if stale != nil {
		// The current password is right, but an older epoch's token may
		// not change it again (and end the sessions started since).
		return s.deadToken(ctx, "password", c, stale)
	}
	hash, err := s.Passwords.Hash(ctx, next)
	if err != nil {
		return storeError(err)
	}
	switch err := s.setPasswordWithNotice(ctx, u, hash, client, now); {
	case errors.Is(err, users.ErrStale), errors.Is(err, users.ErrNotFound):
		// The credentials this change checked were replaced while it ran
		// (the owner's change, an end-all, a lock): the caller's session
		// ended with them, and the change never lands after theirs.
		return s.deadToken(ctx, "password", c, errOldEpoch)
	case err != nil:
		return storeError(err)
	}
	return s.endAllAfterPasswordChange(ctx, u.Username, u.ID)
}

// changedWithin reports whether u's password was changed (PasswordChangedAt,
// which only a change sets: not signup, not lock or unlock) no longer than an
// access-token lifetime before now: when a retried change can come.
func (s *Service) changedWithin(u users.User, now time.Time) bool {
	return s.Tokens != nil && !u.PasswordChangedAt.IsZero() && now.Sub(u.PasswordChangedAt) <= s.Tokens.TTL
}

// endAllAfterPasswordChange ends every session of a user whose password was
// just changed (the change moved the credential epoch, so no login that
// checked the old password can start one afterwards).
func (s *Service) endAllAfterPasswordChange(ctx context.Context, username, userID string) error {
	n, err := s.Sessions.EndAll(ctx, username, userID)
	if err != nil {
		return storeError(err)
	}
	s.log().InfoContext(ctx, "password changed", "event", "password_changed", "user_id", userID, "sessions_revoked", n)
	return nil
}

// setPasswordWithNotice stores hash as u's new password
// (users.Store.SetPasswordHash's conditions and errors) with the "your
// password was changed" notice to u's verified address in the same atomic
// write (AccountStore.ChangePassword): a change that lands has its notice
// queued, and a write that fails leaves neither. A user without a verified
// address gets no notice; a service without an AccountStore (tests of the
// login flows) writes none.
func (s *Service) setPasswordWithNotice(ctx context.Context, u users.User, hash string, client Client, now time.Time) error {
	if s.Accounts == nil || u.Email == "" || !u.EmailVerified {
		return s.Users.SetPasswordHash(ctx, u.Username, u.ID, u.Epoch, hash, now)
	}
	m, err := s.message(outbox.PasswordChanged, u.Email, u.ID, u.Username, nil, client, now)
	if err != nil {
		return err
	}
	return s.Accounts.ChangePassword(ctx, u.Username, u.ID, u.Epoch, hash, now, m)
}
