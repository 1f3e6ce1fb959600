package auth

import (
	"context"
	"errors"
	"time"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/users"
)

// errOldEpoch means the caller's session was started under credentials its
// owner has since replaced (a password change, an end-all, a lock) and
// outlived their end: the store failed before deleting it.
var errOldEpoch = errors.New("auth: session of an older credential epoch")

// errNoOwner means the caller's session names a user who does not exist, or
// no longer under the caller's user id.
var errNoOwner = errors.New("auth: session's owner not found")

// liveSession is what live read: the caller's session and the revocation
// watermark with it, and the caller's user.
type liveSession struct {
	Session   sessions.Session
	Watermark time.Time
	User      users.User
}

// live lets an access token act on its account only while its session is
// alive: the session exists, belongs to the token's subject, has not
// expired, was not created before the revocation watermark (revoke-all),
// and is of the owner's current credential epoch. An access token outlives
// its session by up to its lifetime, and these routes (logout, sessions,
// password, every account route) do not rely on the authorizer having
// checked the store. u is the caller's user when the route has read it
// already (nil: read here). A refusal is 401 invalid_token, logged as
// dead_session_token; the route changes nothing.
//
// Cost: one store call for the session and the watermark together, and one
// for the user when u is nil.
func (s *Service) live(ctx context.Context, route string, c Caller, u *users.User, now time.Time) (liveSession, error) {
	l, err := s.checkLive(ctx, c, u, now)
	if err != nil {
		return liveSession{}, s.refuseDead(ctx, route, c, err)
	}
	return l, nil
}

// checkLive is live without the refusal: it returns the cause (a sessions
// error, errOldEpoch, errNoOwner) or a store failure as is.
func (s *Service) checkLive(ctx context.Context, c Caller, u *users.User, now time.Time) (liveSession, error) {
	sess, before, err := s.Sessions.Live(ctx, c.UserID, c.SessionID, now)
	if err != nil {
		return liveSession{}, err
	}
	if u == nil {
		got, err := s.Users.GetUser(ctx, sess.Username)
		switch {
		case errors.Is(err, users.ErrNotFound):
			return liveSession{}, errNoOwner
		case err != nil:
			return liveSession{}, err
		}
		u = &got
	}
	if u.ID != c.UserID {
		return liveSession{}, errNoOwner
	}
	if sess.Epoch != u.Epoch {
		return liveSession{}, errOldEpoch
	}
	return liveSession{Session: sess, Watermark: before, User: *u}, nil
}

// refuseDead turns what checkLive found into the route's answer: a dead
// session is 401 invalid_token (logged), a store failure 503 or 500.
func (s *Service) refuseDead(ctx context.Context, route string, c Caller, err error) error {
	if !dead(err) {
		return storeError(err)
	}
	return s.deadToken(ctx, route, c, err)
}

// dead reports whether a checkLive error means the session has ended (not
// that the store failed).
func dead(err error) bool {
	for _, e := range []error{sessions.ErrUnknown, sessions.ErrExpired, sessions.ErrRevoked, errOldEpoch, errNoOwner} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// deadToken logs and answers an access token whose session has ended.
func (s *Service) deadToken(ctx context.Context, route string, c Caller, cause error) error {
	s.log().WarnContext(ctx, "access token of an ended session", "event", "dead_session_token", "route", route, "reason", deadReason(cause), "user_id", c.UserID, "session_id", c.SessionID)
	return apierr.InvalidToken.Describe("The session of this access token has ended.").With(cause)
}

// deadReason names why a session is no longer alive, for the security log.
func deadReason(err error) string {
	switch {
	case errors.Is(err, sessions.ErrUnknown):
		return "unknown_session"
	case errors.Is(err, sessions.ErrExpired):
		return "expired"
	case errors.Is(err, sessions.ErrRevoked):
		return "revoke_all"
	case errors.Is(err, errOldEpoch):
		return "old_epoch"
	}
	return "no_owner"
}
