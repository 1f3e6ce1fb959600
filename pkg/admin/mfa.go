package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rotor-auth/rotor/pkg/mfa"
	"github.com/rotor-auth/rotor/pkg/outbox"
)

// ErrNoFactor means the user has no second factor to reset.
var ErrNoFactor = fmt.Errorf("%w: the user has no second factor", ErrNotFound)

// MFAReset is the outcome of an operator's reset of a user's factor.
type MFAReset struct {
	UserID   string `json:"user_id"`
	Notified bool   `json:"notified"` // a notice went to the user's verified address
	Revoked  int    `json:"revoked"`  // sessions ended
}

// ResetMFA removes the named user's second factor (pending or confirmed,
// with its recovery codes) for someone who lost both their authenticator
// and their codes, after the operator has verified who they are: the one
// door round the second factor, so it is audited, tells the user (a notice
// to the verified address, written with the removal) and ends every
// session of the user (the credential epoch moves: no mfa_token or device
// token issued before survives).
func (a *Admin) ResetMFA(ctx context.Context, name string) (MFAReset, error) {
	st, ok := a.Store.(mfa.Store)
	if !ok {
		return MFAReset{}, fmt.Errorf("admin: the %T store keeps no factors", a.Store)
	}
	u, err := a.user(ctx, name)
	if err != nil {
		return MFAReset{}, err
	}
	f, err := st.GetFactor(ctx, u.ID)
	if errors.Is(err, mfa.ErrNoFactor) {
		return MFAReset{}, fmt.Errorf("%w: user %q", ErrNoFactor, name)
	}
	if err != nil {
		return MFAReset{}, fmt.Errorf("admin: read factor: %w", err)
	}
	now := a.now()
	r := MFAReset{UserID: u.ID}
	var msgs []outbox.Message
	if u.Email != "" && u.EmailVerified {
		m, err := a.notice(u.Email, u.ID, u.Username, now)
		if err != nil {
			return MFAReset{}, err
		}
		msgs, r.Notified = append(msgs, m), true
	}
	if err := st.UseFactor(ctx, mfa.Use{UserID: u.ID, CreatedAt: f.CreatedAt, Now: now, Remove: true, Messages: msgs}); err != nil {
		return MFAReset{}, fmt.Errorf("admin: remove factor: %w", err)
	}
	a.log().WarnContext(ctx, "second factor reset by an operator", "event", "mfa_reset", "user_id", u.ID, "who", a.Caller, "confirmed", f.Confirmed, "notified", r.Notified)
	r.Revoked, err = a.endAll(ctx, u, "mfa_reset", "admin_mfa_reset", nil)
	return r, err
}

// notice is the factor_removed message to a user's verified address. It
// names an operator as the one who acted, never the operator's identity.
func (a *Admin) notice(to, userID, username string, now time.Time) (outbox.Message, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(a.rand(), b); err != nil {
		return outbox.Message{}, fmt.Errorf("admin: message id: %w", err)
	}
	return outbox.Message{
		ID: "msg_" + base64.RawURLEncoding.EncodeToString(b), Kind: outbox.FactorRemoved, To: to, UserID: userID,
		Data: map[string]string{
			"at": now.UTC().Format(time.RFC3339), "username": username, "ip": "", "user_agent": "an operator of the service",
			"factor": "your second factor and recovery codes, reset by an operator at your request",
		},
		CreatedAt: now, NextAt: now,
	}, nil
}
